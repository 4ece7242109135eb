package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// Test keys are generated once: RSA generation is slow under -race.
var testKeys = sync.OnceValue(func() (k struct {
	rsa, rsa2 *rsa.PrivateKey
	ec, ec2   *ecdsa.PrivateKey
	hmac      []byte
	hmac2     []byte
}) {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var err error
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.ec2, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.hmac = []byte("0123456789abcdef0123456789abcdef")
	k.hmac2 = []byte("fedcba9876543210fedcba9876543210")
	return k
})

// tokenClaims is a token payload as an identity provider would write it.
type tokenClaims struct {
	jwt.RegisteredClaims
	Org       string   `json:"org,omitempty"`
	Territory string   `json:"territory,omitempty"`
	Roles     []string `json:"roles,omitempty"`
}

// validClaims returns claims valid for an hour around now.
func validClaims() tokenClaims {
	now := time.Now()
	return tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "https://id.example.org",
			Subject:   "user-42",
			Audience:  jwt.ClaimStrings{"ponte"},
			IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		},
		Org:       "org-caritas-bg",
		Territory: "030",
		Roles:     []string{"district_operator"},
	}
}

// sign signs c with method and key, setting the "kid" header when kid is not empty.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign test token: %v", err)
	}
	return s
}

// writeFile writes data to name in a fresh temporary directory and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	return path
}

// pemPublicKeys encodes the public keys as concatenated PKIX "PUBLIC KEY" blocks.
func pemPublicKeys(t *testing.T, keys ...any) []byte {
	t.Helper()
	var out []byte
	for _, k := range keys {
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatalf("marshal public key: %v", err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	return out
}

// jwk describes one key of a test JWKS.
type jwk struct {
	kid string
	alg jwkset.ALG
	key any // public key
}

// jwksJSON encodes keys as a public JWKS document.
func jwksJSON(t *testing.T, keys ...jwk) []byte {
	t.Helper()
	store := jwkset.NewMemoryStorage()
	for _, k := range keys {
		j, err := jwkset.NewJWKFromKey(k.key, jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: k.alg, USE: jwkset.UseSig},
		})
		if err != nil {
			t.Fatalf("new JWK: %v", err)
		}
		if err := store.KeyWrite(context.Background(), j); err != nil {
			t.Fatalf("write JWK: %v", err)
		}
	}
	raw, err := store.JSONPublic(context.Background())
	if err != nil {
		t.Fatalf("encode JWKS: %v", err)
	}
	return raw
}
