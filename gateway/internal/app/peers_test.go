package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/config"
	"github.com/ponte-network/ponte/libs/telemetry"
)

// whoami answers UnaryCall with the subject of the caller.
type whoami struct {
	testpb.UnimplementedTestServiceServer
}

func (whoami) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	p, _ := auth.FromContext(ctx)
	return &testpb.SimpleResponse{Username: p.Subject}, nil
}

// newPeerApp builds (not starts) a process running the directory only, with whoami
// registered and callable by service:cases.
func newPeerApp(t *testing.T, args ...string) *App {
	t.Helper()
	var cfg config.Serve
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.RegisterServe(fs)
	args = append([]string{"--grpc-addr=127.0.0.1:0", "--http-addr=127.0.0.1:0", "--data-dir=" + t.TempDir(), "--target=directory"}, args...)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	tel, err := telemetry.New(t.Context(), telemetry.Config{ServiceName: "ponte-test", LogOutput: io.Discard, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(t.Context(), cfg, Options{Version: "test", Telemetry: tel})
	if err != nil {
		t.Fatal(err)
	}
	testpb.RegisterTestServiceServer(a.srv.Registrar(), whoami{})
	a.addPolicy(map[string]auth.Rule{"/grpc.testing.TestService/UnaryCall": {Services: []string{"cases"}}})
	return a
}

// run starts a and serves until the test ends.
func run(t *testing.T, a *App) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestServiceConnCallsAsTheServicePrincipalWithTheDevelopmentKey(t *testing.T) {
	t.Parallel()
	a := newPeerApp(t)
	run(t, a)
	for _, tt := range []struct {
		name, caller, wantSubject string
		wantCode                  codes.Code
	}{
		{"cases calls a method that admits service:cases", "cases", "service:cases", codes.OK},
		{"reporting cannot call a method that admits only service:cases", "reporting", "", codes.PermissionDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := a.serviceConn(t.Context(), tt.caller, "directory")
			if err != nil {
				t.Fatalf("serviceConn: %v", err)
			}
			resp, err := testpb.NewTestServiceClient(conn).UnaryCall(t.Context(), &testpb.SimpleRequest{})
			if status.Code(err) != tt.wantCode || resp.GetUsername() != tt.wantSubject {
				t.Errorf("UnaryCall = %q, %v; want %q, %v", resp.GetUsername(), err, tt.wantSubject, tt.wantCode)
			}
		})
	}
}

func TestServiceConnNeedsTheTargetHereOrAnEndpoint(t *testing.T) {
	t.Parallel()
	a := newPeerApp(t)
	_, err := a.serviceConn(t.Context(), "reporting", "cases")
	if err == nil || !strings.Contains(err.Error(), "--cases-endpoint") {
		t.Errorf("serviceConn to a service neither here nor given an endpoint: %v, want an error naming --cases-endpoint", err)
	}
}

// esKeyFile writes the PEM public key of a fresh P-256 key and returns the private key.
func esKeyFile(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "idp.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return key, path
}

func TestServiceTokensWithoutDevelopmentKeyOrProviderRefuseToStart(t *testing.T) {
	t.Parallel()
	_, keys := esKeyFile(t)
	a := newPeerApp(t, "--jwt-keys-file="+keys)
	_, err := a.serviceConn(t.Context(), "cases", "directory")
	if err == nil || !strings.Contains(err.Error(), "--service-token-url") {
		t.Errorf("serviceConn in production without a token source: %v, want an error naming --service-token-url", err)
	}
}

func TestServiceConnCallsWithTheIdentityProvidersClientCredentialsToken(t *testing.T) {
	t.Parallel()
	key, keys := esKeyFile(t)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		if id != "ponte-cases" || secret != "cases-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		now := time.Now()
		tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
			"sub": "service:cases", "roles": []string{"service"}, "iss": "https://idp.test",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}).SignedString(key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(idp.Close)
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "cases"), []byte("cases-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newPeerApp(t, "--jwt-keys-file="+keys, "--jwt-issuer=https://idp.test",
		"--service-token-url="+idp.URL, "--service-client-secret-file="+filepath.Join(secrets, "{service}"))
	run(t, a)
	conn, err := a.serviceConn(t.Context(), "cases", "directory")
	if err != nil {
		t.Fatalf("serviceConn: %v", err)
	}
	resp, err := testpb.NewTestServiceClient(conn).UnaryCall(t.Context(), &testpb.SimpleRequest{})
	if err != nil || resp.GetUsername() != "service:cases" {
		t.Errorf("UnaryCall = %q, %v; want service:cases", resp.GetUsername(), err)
	}
}
