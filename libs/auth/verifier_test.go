package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/ponte-network/ponte/libs/auth"
)

// jwksServer serves a JWKS document that the test may replace.
type jwksServer struct {
	mu   sync.Mutex
	body []byte
	*httptest.Server
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

func newVerifier(t *testing.T, cfg auth.VerifierConfig) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func TestVerifierAcceptsTokensFromEveryKeySource(t *testing.T) {
	t.Parallel()
	k := testKeys()
	rsaPEM := writeFile(t, "rsa.pem", pemPublicKeys(t, &k.rsa.PublicKey))
	mixedPEM := writeFile(t, "keys.pem", pemPublicKeys(t, &k.rsa2.PublicKey, &k.ec.PublicKey, &k.rsa.PublicKey))
	jwksFile := writeFile(t, "jwks.json", jwksJSON(t,
		jwk{kid: "rsa-1", alg: jwkset.AlgRS256, key: &k.rsa.PublicKey},
		jwk{kid: "ec-1", alg: jwkset.AlgES256, key: &k.ec.PublicKey},
	))
	server := newJWKSServer(t, jwksJSON(t,
		jwk{kid: "rsa-1", alg: jwkset.AlgRS256, key: &k.rsa.PublicKey},
		jwk{kid: "ec-1", alg: jwkset.AlgES256, key: &k.ec.PublicKey},
	))
	certPEM := writeFile(t, "cert.pem", selfSignedCert(t, k.ec))

	tests := []struct {
		name  string
		cfg   auth.VerifierConfig
		token string
	}{
		{"an HS256 token signed with the shared key is accepted",
			auth.VerifierConfig{HMACKey: k.hmac},
			sign(t, jwt.SigningMethodHS256, k.hmac, "", validClaims())},
		{"an RS256 token is accepted with a PEM keys file",
			auth.VerifierConfig{KeysFile: rsaPEM},
			sign(t, jwt.SigningMethodRS256, k.rsa, "", validClaims())},
		{"an RS256 token is accepted when its key is the last of several PEM blocks",
			auth.VerifierConfig{KeysFile: mixedPEM},
			sign(t, jwt.SigningMethodRS256, k.rsa, "", validClaims())},
		{"an ES256 token is accepted with a PEM keys file",
			auth.VerifierConfig{KeysFile: mixedPEM},
			sign(t, jwt.SigningMethodES256, k.ec, "", validClaims())},
		{"an ES256 token is accepted with a PEM certificate",
			auth.VerifierConfig{KeysFile: certPEM},
			sign(t, jwt.SigningMethodES256, k.ec, "", validClaims())},
		{"a PEM key is tried even when the token names a kid",
			auth.VerifierConfig{KeysFile: rsaPEM},
			sign(t, jwt.SigningMethodRS256, k.rsa, "some-kid", validClaims())},
		{"an RS256 token is accepted with a JWKS file",
			auth.VerifierConfig{KeysFile: jwksFile},
			sign(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", validClaims())},
		{"an ES256 token is accepted with a JWKS file",
			auth.VerifierConfig{KeysFile: jwksFile},
			sign(t, jwt.SigningMethodES256, k.ec, "ec-1", validClaims())},
		{"a token without kid is checked against every JWKS key",
			auth.VerifierConfig{KeysFile: jwksFile},
			sign(t, jwt.SigningMethodES256, k.ec, "", validClaims())},
		{"an RS256 token is accepted with a JWKS URL",
			auth.VerifierConfig{JWKSURL: server.URL},
			sign(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", validClaims())},
		{"an ES256 token is accepted with a JWKS URL",
			auth.VerifierConfig{JWKSURL: server.URL},
			sign(t, jwt.SigningMethodES256, k.ec, "ec-1", validClaims())},
		{"an HS256 token is accepted when asymmetric keys are configured too",
			auth.VerifierConfig{HMACKey: k.hmac, KeysFile: jwksFile, JWKSURL: server.URL},
			sign(t, jwt.SigningMethodHS256, k.hmac, "", validClaims())},
		{"issuer and audience are accepted when they match",
			auth.VerifierConfig{HMACKey: k.hmac, Issuer: "https://id.example.org", Audience: "ponte"},
			sign(t, jwt.SigningMethodHS256, k.hmac, "", validClaims())},
		{"an expired token is accepted within the leeway",
			auth.VerifierConfig{HMACKey: k.hmac, Leeway: time.Minute},
			sign(t, jwt.SigningMethodHS256, k.hmac, "", func() tokenClaims {
				c := validClaims()
				c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-30 * time.Second))
				return c
			}())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := newVerifier(t, tt.cfg).Verify(t.Context(), tt.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := auth.Principal{Subject: "user-42", Organization: "org-caritas-bg", Territory: "030", Roles: []string{"district_operator"}}
			if p.Subject != want.Subject || p.Organization != want.Organization || p.Territory != want.Territory || !slices.Equal(p.Roles, want.Roles) {
				t.Errorf("Verify = %+v, want %+v", *p, want)
			}
		})
	}
}

func TestVerifierRejectsBadTokens(t *testing.T) {
	t.Parallel()
	k := testKeys()
	rsaPEMBytes := pemPublicKeys(t, &k.rsa.PublicKey)
	rsaPEM := writeFile(t, "rsa.pem", rsaPEMBytes)
	jwksFile := writeFile(t, "jwks.json", jwksJSON(t,
		jwk{kid: "rsa-1", alg: jwkset.AlgRS256, key: &k.rsa.PublicKey},
		jwk{kid: "ec-1", alg: jwkset.AlgES256, key: &k.ec.PublicKey},
	))
	withClaims := func(edit func(*tokenClaims)) tokenClaims {
		c := validClaims()
		edit(&c)
		return c
	}
	hs := func(c tokenClaims) string { return sign(t, jwt.SigningMethodHS256, k.hmac, "", c) }
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		cfg     auth.VerifierConfig
		token   string
		wantErr error // nil: any error
	}{
		{"an expired token is rejected",
			auth.VerifierConfig{HMACKey: k.hmac},
			hs(withClaims(func(c *tokenClaims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) })),
			jwt.ErrTokenExpired},
		{"a token without expiry is rejected",
			auth.VerifierConfig{HMACKey: k.hmac},
			hs(withClaims(func(c *tokenClaims) { c.ExpiresAt = nil })),
			jwt.ErrTokenRequiredClaimMissing},
		{"a token not yet valid is rejected",
			auth.VerifierConfig{HMACKey: k.hmac},
			hs(withClaims(func(c *tokenClaims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)) })),
			jwt.ErrTokenNotValidYet},
		{"a token issued in the future is rejected",
			auth.VerifierConfig{HMACKey: k.hmac},
			hs(withClaims(func(c *tokenClaims) { c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour)) })),
			jwt.ErrTokenUsedBeforeIssued},
		{"a token from another issuer is rejected",
			auth.VerifierConfig{HMACKey: k.hmac, Issuer: "https://id.ponte.example"},
			hs(validClaims()),
			jwt.ErrTokenInvalidIssuer},
		{"a token for another audience is rejected",
			auth.VerifierConfig{HMACKey: k.hmac, Audience: "reporting"},
			hs(validClaims()),
			jwt.ErrTokenInvalidAudience},
		{"a token without audience is rejected when one is required",
			auth.VerifierConfig{HMACKey: k.hmac, Audience: "ponte"},
			hs(withClaims(func(c *tokenClaims) { c.Audience = nil })),
			jwt.ErrTokenRequiredClaimMissing},
		{"a token without subject is rejected",
			auth.VerifierConfig{HMACKey: k.hmac},
			hs(withClaims(func(c *tokenClaims) { c.Subject = "" })),
			nil},
		{"an HS256 token signed with another key is rejected",
			auth.VerifierConfig{HMACKey: k.hmac},
			sign(t, jwt.SigningMethodHS256, k.hmac2, "", validClaims()),
			jwt.ErrTokenSignatureInvalid},
		{"an RS256 token signed with another key is rejected",
			auth.VerifierConfig{KeysFile: rsaPEM},
			sign(t, jwt.SigningMethodRS256, k.rsa2, "", validClaims()),
			jwt.ErrTokenSignatureInvalid},
		{"an ES256 token signed with another key is rejected",
			auth.VerifierConfig{KeysFile: jwksFile},
			sign(t, jwt.SigningMethodES256, k.ec2, "ec-1", validClaims()),
			jwt.ErrTokenSignatureInvalid},
		{"a token naming an unknown kid is rejected",
			auth.VerifierConfig{KeysFile: jwksFile},
			sign(t, jwt.SigningMethodRS256, k.rsa, "rsa-unknown", validClaims()),
			jwt.ErrTokenUnverifiable},
		{"an ES256 token naming an RSA key's kid is rejected",
			auth.VerifierConfig{KeysFile: jwksFile},
			sign(t, jwt.SigningMethodES256, k.ec, "rsa-1", validClaims()),
			jwt.ErrTokenUnverifiable},
		{"an RS256 token signed with a weak 1024-bit key is rejected",
			auth.VerifierConfig{KeysFile: writeFile(t, "weak.json", jwksJSON(t, jwk{kid: "weak", alg: jwkset.AlgRS256, key: &weakRSA.PublicKey}))},
			sign(t, jwt.SigningMethodRS256, weakRSA, "weak", validClaims()),
			jwt.ErrTokenUnverifiable},
		{`a token with alg "none" is rejected`,
			auth.VerifierConfig{HMACKey: k.hmac, KeysFile: rsaPEM},
			sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", validClaims()),
			jwt.ErrTokenSignatureInvalid},
		{"an HS256 token signed with the RSA public key as secret is rejected (alg confusion)",
			auth.VerifierConfig{KeysFile: rsaPEM},
			sign(t, jwt.SigningMethodHS256, rsaPEMBytes, "", validClaims()),
			jwt.ErrTokenSignatureInvalid},
		{"an HS256 token signed with the RSA public key is rejected even when HS256 is accepted",
			auth.VerifierConfig{HMACKey: k.hmac, KeysFile: rsaPEM},
			sign(t, jwt.SigningMethodHS256, rsaPEMBytes, "", validClaims()),
			jwt.ErrTokenSignatureInvalid},
		{"an HS256 token signed with the JWKS's RSA key as secret is rejected (alg confusion)",
			auth.VerifierConfig{KeysFile: jwksFile},
			sign(t, jwt.SigningMethodHS256, x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey), "rsa-1", validClaims()),
			jwt.ErrTokenSignatureInvalid},
		{"an RS256 token is rejected when only the HMAC key is configured",
			auth.VerifierConfig{HMACKey: k.hmac},
			sign(t, jwt.SigningMethodRS256, k.rsa, "", validClaims()),
			jwt.ErrTokenSignatureInvalid},
		{"an RS384 token is rejected",
			auth.VerifierConfig{KeysFile: rsaPEM},
			sign(t, jwt.SigningMethodRS384, k.rsa, "", validClaims()),
			jwt.ErrTokenSignatureInvalid},
		{"a token with a tampered payload is rejected",
			auth.VerifierConfig{HMACKey: k.hmac},
			tamper(t, hs(validClaims())),
			jwt.ErrTokenSignatureInvalid},
		{"a string that is not a JWT is rejected",
			auth.VerifierConfig{HMACKey: k.hmac},
			"not-a-token",
			jwt.ErrTokenMalformed},
		{"a huge token is rejected before parsing",
			auth.VerifierConfig{HMACKey: k.hmac},
			strings.Repeat("a", 64<<10),
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := newVerifier(t, tt.cfg).Verify(t.Context(), tt.token)
			if err == nil {
				t.Fatalf("Verify = %+v, want an error", *p)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify error = %v, want %v", err, tt.wantErr)
			}
			if len(tt.token) > 20 && strings.Contains(err.Error(), tt.token) {
				t.Errorf("Verify error echoes the token: %v", err)
			}
		})
	}
}

func TestNewVerifierRejectsUnusableConfigs(t *testing.T) {
	t.Parallel()
	k := testKeys()
	privDER, err := x509.MarshalPKCS8PrivateKey(k.ec)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  auth.VerifierConfig
	}{
		{"a config without any key source is refused", auth.VerifierConfig{Issuer: "x"}},
		{"an HMAC key shorter than 32 bytes is refused", auth.VerifierConfig{HMACKey: []byte("secret")}},
		{"a missing keys file is refused", auth.VerifierConfig{KeysFile: "/nonexistent/keys.pem"}},
		{"a keys file holding a private key is refused", auth.VerifierConfig{
			KeysFile: writeFile(t, "priv.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))}},
		{"a keys file with a P-384 key is refused", auth.VerifierConfig{
			KeysFile: writeFile(t, "p384.pem", pemPublicKeys(t, &p384.PublicKey))}},
		{"a keys file that is neither PEM nor JWKS is refused", auth.VerifierConfig{
			KeysFile: writeFile(t, "junk.txt", []byte("hello"))}},
		{"a JWKS file without keys is refused", auth.VerifierConfig{
			KeysFile: writeFile(t, "empty.json", []byte(`{"keys": []}`))}},
		{"a relative JWKS URL is refused", auth.VerifierConfig{JWKSURL: "/jwks.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := auth.NewVerifier(t.Context(), tt.cfg); err == nil {
				t.Fatal("NewVerifier succeeded, want an error")
			}
		})
	}
}

func TestVerifierRefreshesJWKSURLForAnUnknownKid(t *testing.T) {
	t.Parallel()
	k := testKeys()
	server := newJWKSServer(t, jwksJSON(t, jwk{kid: "old", alg: jwkset.AlgRS256, key: &k.rsa.PublicKey}))
	v := newVerifier(t, auth.VerifierConfig{JWKSURL: server.URL})

	// The identity provider rotates to a new key after the verifier has fetched the set.
	server.set(jwksJSON(t,
		jwk{kid: "old", alg: jwkset.AlgRS256, key: &k.rsa.PublicKey},
		jwk{kid: "new", alg: jwkset.AlgES256, key: &k.ec.PublicKey},
	))
	if _, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodES256, k.ec, "new", validClaims())); err != nil {
		t.Fatalf("Verify with the rotated key: %v", err)
	}
	if _, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodRS256, k.rsa, "old", validClaims())); err != nil {
		t.Fatalf("Verify with the old key: %v", err)
	}
}

func TestVerifierIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	k := testKeys()
	server := newJWKSServer(t, jwksJSON(t, jwk{kid: "rsa-1", alg: jwkset.AlgRS256, key: &k.rsa.PublicKey}))
	v := newVerifier(t, auth.VerifierConfig{HMACKey: k.hmac, JWKSURL: server.URL})
	tokens := []string{
		sign(t, jwt.SigningMethodHS256, k.hmac, "", validClaims()),
		sign(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", validClaims()),
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 20 {
				if _, err := v.Verify(context.Background(), tokens[i%len(tokens)]); err != nil {
					t.Errorf("Verify: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// tamper replaces a token's payload with one naming another subject, keeping the signature.
func tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	other := strings.Split(sign(t, jwt.SigningMethodHS256, testKeys().hmac2, "", func() tokenClaims {
		c := validClaims()
		c.Subject = "someone-else"
		c.Roles = []string{"admin"}
		return c
	}()), ".")
	return parts[0] + "." + other[1] + "." + parts[2]
}

// selfSignedCert returns a PEM certificate for key.
func selfSignedCert(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
