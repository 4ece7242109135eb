package auth_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
)

func TestMintHS256RoundTripsThroughVerify(t *testing.T) {
	t.Parallel()
	key := testKeys().hmac
	want := auth.Principal{Subject: "op-7", Organization: "asst-bergamo", Territory: "0301", Roles: []string{auth.RoleDistrictOperator, auth.RoleMediator}}
	token, err := auth.MintHS256(key, want, "ponte-dev", time.Hour, time.Now())
	if err != nil {
		t.Fatalf("MintHS256: %v", err)
	}
	v := newVerifier(t, auth.VerifierConfig{HMACKey: key, Issuer: "ponte-dev"})
	got, err := v.Verify(t.Context(), token)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Subject != want.Subject || got.Organization != want.Organization || got.Territory != want.Territory || !slices.Equal(got.Roles, want.Roles) {
		t.Errorf("Verify = %+v, want %+v", *got, want)
	}
}

func TestMintHS256RefusesUnsafeInput(t *testing.T) {
	t.Parallel()
	key := testKeys().hmac
	tests := []struct {
		name string
		key  []byte
		p    auth.Principal
		ttl  time.Duration
	}{
		{"a short key is refused", []byte("short"), auth.Principal{Subject: "a"}, time.Hour},
		{"a principal without subject is refused", key, auth.Principal{}, time.Hour},
		{"a token that never expires is refused", key, auth.Principal{Subject: "a"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := auth.MintHS256(tt.key, tt.p, "", tt.ttl, time.Now()); err == nil {
				t.Fatal("MintHS256 succeeded, want an error")
			}
		})
	}
}

func TestMintedTokenExpiresAfterTTL(t *testing.T) {
	t.Parallel()
	key := testKeys().hmac
	token, err := auth.MintHS256(key, auth.Principal{Subject: "a"}, "", time.Minute, time.Now().Add(-2*time.Minute))
	if err != nil {
		t.Fatalf("MintHS256: %v", err)
	}
	if _, err := newVerifier(t, auth.VerifierConfig{HMACKey: key}).Verify(t.Context(), token); err == nil {
		t.Fatal("Verify accepted an expired minted token")
	}
}

func TestDevKeyIsCreatedOnceWithMode0600AndReused(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "nested")
	first, err := auth.LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatalf("first LoadOrCreateDevKey: %v", err)
	}
	if len(first) != 32 {
		t.Errorf("key has %d bytes, want 32", len(first))
	}
	info, err := os.Stat(filepath.Join(dir, "dev-signing.key"))
	if err != nil {
		t.Fatalf("stat key file: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %o, want 600", mode)
	}
	second, err := auth.LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatalf("second LoadOrCreateDevKey: %v", err)
	}
	if !bytes.Equal(first, second) {
		t.Error("second call returned another key")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only the key file", len(entries))
	}
}

func TestConcurrentFirstRunsAgreeOnOneDevKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 16
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := auth.LoadOrCreateDevKey(dir)
			if err != nil {
				t.Errorf("LoadOrCreateDevKey: %v", err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("caller %d got a different key", i)
		}
	}
}

func TestTruncatedDevKeyIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dev-signing.key"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoadOrCreateDevKey(dir); err == nil {
		t.Fatal("LoadOrCreateDevKey accepted a 5-byte key")
	}
}
