package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
)

// loadKeysFile reads the public keys at path: a JWKS document when the file starts with "{",
// otherwise one or more PEM blocks ("PUBLIC KEY", "RSA PUBLIC KEY" or "CERTIFICATE").
func loadKeysFile(path string) ([]crypto.PublicKey, jwkset.Storage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read keys file: %w", err)
	}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '{' {
		set, err := parseJWKS(trimmed)
		if err != nil {
			return nil, nil, fmt.Errorf("keys file %s: %w", path, err)
		}
		return nil, set, nil
	}
	keys, err := parsePEMKeys(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	return keys, nil, nil
}

func parseJWKS(raw []byte) (jwkset.Storage, error) {
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	set := kf.Storage()
	all, err := set.KeyReadAll(context.Background())
	if err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	if len(all) == 0 {
		return nil, errors.New("parse JWKS: no usable key")
	}
	return set, nil
}

func parsePEMKeys(raw []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for n := 1; ; n++ {
		var block *pem.Block
		block, raw = pem.Decode(raw)
		if block == nil {
			break
		}
		k, err := parsePEMBlock(block)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", n, block.Type, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM block and not a JWKS document")
	}
	return keys, nil
}

func parsePEMBlock(block *pem.Block) (crypto.PublicKey, error) {
	var (
		key any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			key = cert.PublicKey
		}
	default:
		// Private keys included: a verifier must never be handed one.
		return nil, errors.New("want a public key or a certificate")
	}
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key has %d bits, want at least %d", k.N.BitLen(), minRSABits)
		}
		return k, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("ECDSA key is not on curve P-256 (ES256)")
		}
		return k, nil
	default:
		return nil, fmt.Errorf("unsupported key type %T: want RSA or ECDSA P-256", key)
	}
}
