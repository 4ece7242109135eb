package web

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
)

// sessionCookie is the observatory's session: the signed and encrypted bearer token the
// dashboard forwards to reporting on the reader's behalf.
const sessionCookie = "ponte_observatory"

// Session is who signed in to the observatory.
type Session struct {
	// Token is the bearer token reporting verifies (from the identity provider, or
	// minted with the development key).
	Token string
	// Name is what the page shows of the reader (their subject, or the dev role).
	Name string
	// Expiry is when the token, and so the session, ends.
	Expiry time.Time
}

// Sessions keeps sessions in cookies: HttpOnly, SameSite=Lax, Secure except over plain
// HTTP on loopback (development), encrypted (AES-256) and authenticated (HMAC-SHA256)
// with keys derived from one secret, so that any replica with the same secret reads
// them and nothing is kept on the server.
type Sessions struct {
	codec *securecookie.SecureCookie
}

// NewSessions derives the cookie keys from secret (at least 32 bytes).
func NewSessions(secret []byte) (*Sessions, error) {
	if len(secret) < 32 {
		return nil, errors.New("observatory session secret: at least 32 bytes")
	}
	hashKey := sha256.Sum256(append([]byte("ponte observatory session hmac\x00"), secret...))
	blockKey := sha256.Sum256(append([]byte("ponte observatory session aes\x00"), secret...))
	codec := securecookie.New(hashKey[:], blockKey[:])
	codec.MaxLength(8192)
	codec.SetSerializer(securecookie.JSONEncoder{})
	return &Sessions{codec: codec}, nil
}

// secure reports whether cookies must be Secure: always, except for plain HTTP to a
// loopback address (a developer's browser on their own machine).
func secure(r *http.Request) bool {
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return true
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// Save writes s as the session cookie.
func (ss *Sessions) Save(w http.ResponseWriter, r *http.Request, s Session) error {
	return ss.set(w, r, sessionCookie, "/observatory", s, s.Expiry)
}

// Load reads the session; ok is false without a valid, unexpired one.
func (ss *Sessions) Load(r *http.Request) (Session, bool) {
	var s Session
	if !ss.get(r, sessionCookie, &s) || time.Now().After(s.Expiry) || s.Token == "" {
		return Session{}, false
	}
	return s, true
}

// Clear removes the session cookie.
func (ss *Sessions) Clear(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/observatory", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
}

func (ss *Sessions) set(w http.ResponseWriter, r *http.Request, name, path string, v any, expiry time.Time) error {
	enc, err := ss.codec.Encode(name, v)
	if err != nil {
		return fmt.Errorf("encode %s cookie: %w", name, err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: enc, Path: path, Expires: expiry,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (ss *Sessions) get(r *http.Request, name string, v any) bool {
	c, err := r.Cookie(name)
	if err != nil {
		return false
	}
	return ss.codec.Decode(name, c.Value, v) == nil
}
