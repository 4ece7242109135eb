package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// devKeyFile is the dev signing key's file name inside the data directory.
const devKeyFile = "dev-signing.key"

// mintClaims is the payload MintHS256 signs: roles always as a JSON array.
type mintClaims struct {
	jwt.RegisteredClaims
	Organization string   `json:"org,omitempty"`
	Territory    string   `json:"territory,omitempty"`
	Roles        []string `json:"roles"`
}

// MintHS256 signs a token for p with key, valid from now for ttl; for dev tokens and tests.
func MintHS256(key []byte, p Principal, issuer string, ttl time.Duration, now time.Time) (string, error) {
	switch {
	case len(key) < minHMACKeyLen:
		return "", fmt.Errorf("mint token: HMAC key has %d bytes, want at least %d", len(key), minHMACKeyLen)
	case p.Subject == "":
		return "", errors.New("mint token: principal has no subject")
	case ttl <= 0:
		return "", errors.New("mint token: ttl must be positive")
	}
	roles := p.Roles
	if roles == nil {
		roles = []string{}
	}
	c := mintClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   p.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Organization: p.Organization,
		Territory:    p.Territory,
		Roles:        roles,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return signed, nil
}

// LoadOrCreateDevKey reads <dataDir>/dev-signing.key, or creates it (32 random bytes, mode 0600) if missing.
func LoadOrCreateDevKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, devKeyFile)
	key, err := readDevKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create dev key: %w", err)
	}
	key = make([]byte, minHMACKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("create dev key: %w", err)
	}
	// Write a complete temporary file, then link it into place: the link fails if another
	// process created the key meanwhile, and nobody ever reads a half-written key.
	tmp, err := os.CreateTemp(dataDir, devKeyFile+".*.tmp") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("create dev key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create dev key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create dev key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("create dev key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readDevKey(path)
		}
		return nil, fmt.Errorf("create dev key: %w", err)
	}
	return key, nil
}

func readDevKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dev key: %w", err)
	}
	if len(key) < minHMACKeyLen {
		return nil, fmt.Errorf("read dev key %s: %d bytes, want at least %d", path, len(key), minHMACKeyLen)
	}
	return key, nil
}
