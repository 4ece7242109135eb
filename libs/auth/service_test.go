package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ponte-network/ponte/libs/auth"
)

// servicePolicy admits service:reporting on UnaryCall beside operators, and no service
// on the other methods.
var servicePolicy = auth.Policy{
	testServicePrefix + "UnaryCall":           {Roles: []string{auth.RoleDistrictOperator}, Services: []string{"reporting"}},
	testServicePrefix + "CacheableUnaryCall":  {Public: true},
	testServicePrefix + "EmptyCall":           {}, // admin only
	testServicePrefix + "StreamingOutputCall": {Roles: []string{auth.RoleMediator}, Services: []string{"housing"}},
}

func TestServicePrincipalsPassOnlyTheRulesThatListThem(t *testing.T) {
	t.Parallel()
	key := testKeys().hmac
	conn := startServerWith(t, newVerifier(t, auth.VerifierConfig{HMACKey: key}), servicePolicy)
	mint := func(p auth.Principal) string {
		tok, err := auth.MintHS256(key, p, "", time.Hour, time.Now())
		if err != nil {
			t.Fatalf("MintHS256: %v", err)
		}
		return "Bearer " + tok
	}
	reporting := mint(auth.ServicePrincipal("reporting"))
	housing := mint(auth.ServicePrincipal("housing"))
	tests := []struct {
		name        string
		call        call
		token       string
		wantCode    codes.Code
		wantSubject string
	}{
		{"a service principal may call a method whose rule lists it", unaryCall, reporting, codes.OK, "service:reporting"},
		{"a service principal may open a stream whose rule lists it", streamCall, housing, codes.OK, "service:housing"},
		{"a service principal cannot call a method that lists another service", unaryCall, housing, codes.PermissionDenied, ""},
		{"a service principal cannot open a stream that lists another service", streamCall, reporting, codes.PermissionDenied, ""},
		{"a service principal cannot call an admin-only method", adminOnlyCall, reporting, codes.PermissionDenied, ""},
		{"a service principal may call a public method", publicCall, reporting, codes.OK, "service:reporting"},
		{"a user with role service but a user's subject is refused", unaryCall,
			mint(auth.Principal{Subject: "reporting", Roles: []string{auth.RoleService}}), codes.Unauthenticated, ""},
		{"a user with role service and subject service: without a name is refused", unaryCall,
			mint(auth.Principal{Subject: "service:", Roles: []string{auth.RoleService}}), codes.Unauthenticated, ""},
		{"a service subject with an invalid name is refused", unaryCall,
			mint(auth.Principal{Subject: "service:Reporting!", Roles: []string{auth.RoleService}}), codes.Unauthenticated, ""},
		{"a service subject without role service is refused even as an operator", unaryCall,
			mint(auth.Principal{Subject: "service:reporting", Roles: []string{auth.RoleDistrictOperator}}), codes.Unauthenticated, ""},
		{"a service principal that also holds admin is refused", adminOnlyCall,
			mint(auth.Principal{Subject: "service:reporting", Roles: []string{auth.RoleService, auth.RoleAdmin}}), codes.Unauthenticated, ""},
		{"a service principal with a territory is refused", unaryCall,
			mint(auth.Principal{Subject: "service:reporting", Territory: "03", Roles: []string{auth.RoleService}}), codes.Unauthenticated, ""},
		{"a service principal with an organization is refused", unaryCall,
			mint(auth.Principal{Subject: "service:reporting", Organization: "org-1", Roles: []string{auth.RoleService}}), codes.Unauthenticated, ""},
		{"a half service token is refused on a public method too", publicCall,
			mint(auth.Principal{Subject: "bot", Roles: []string{auth.RoleService}}), codes.Unauthenticated, ""},
		{"an operator still passes a rule that also lists a service", unaryCall,
			mint(auth.Principal{Subject: "op-1", Roles: []string{auth.RoleDistrictOperator}}), codes.OK, "op-1"},
		{"an admin still passes a rule that lists services", streamCall,
			mint(auth.Principal{Subject: "admin-1", Roles: []string{auth.RoleAdmin}}), codes.OK, "admin-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", tt.token)
			subject, err := tt.call(ctx, conn)
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.wantCode)
			}
			if subject != tt.wantSubject {
				t.Errorf("handler saw subject %q, want %q", subject, tt.wantSubject)
			}
		})
	}
}

func TestServiceNameOfPrincipals(t *testing.T) {
	t.Parallel()
	reporting := auth.ServicePrincipal("reporting")
	tests := []struct {
		name     string
		p        *auth.Principal
		wantName string
		wantOK   bool
	}{
		{"a service principal names its service", &reporting, "reporting", true},
		{"a user is no service", &auth.Principal{Subject: "u", Roles: []string{auth.RoleAdmin}}, "", false},
		{"a service subject without the role is no service", &auth.Principal{Subject: "service:reporting"}, "", false},
		{"the role without the subject prefix is no service", &auth.Principal{Subject: "reporting", Roles: []string{auth.RoleService}}, "", false},
		{"a nil principal is no service", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, ok := tt.p.ServiceName()
			if name != tt.wantName || ok != tt.wantOK {
				t.Errorf("ServiceName() = %q, %v; want %q, %v", name, ok, tt.wantName, tt.wantOK)
			}
		})
	}
}

func TestPolicyValidateRefusesBadServiceRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		policy  auth.Policy
		wantErr string
	}{
		{"a policy listing valid services is valid", auth.Policy{"/a/B": {Services: []string{"reporting", "housing"}}}, ""},
		{"a service name with capitals is refused", auth.Policy{"/a/B": {Services: []string{"Reporting"}}}, "not a service name"},
		{"a service name with the prefix is refused", auth.Policy{"/a/B": {Services: []string{"service:reporting"}}}, "not a service name"},
		{"role service among Roles is refused", auth.Policy{"/a/B": {Roles: []string{auth.RoleService}}}, "Services"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.policy.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func TestDevServiceTokensAreReusedThenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	key := testKeys().hmac
	clk := &clock{now: time.Now()}
	src, err := auth.DevServiceTokens(key, "cases", "ponte-dev", clk.Now)
	if err != nil {
		t.Fatalf("DevServiceTokens: %v", err)
	}
	first, err := src.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	clk.Add(auth.DevServiceTokenTTL - 2*time.Minute)
	if again, _ := src.Token(); again.AccessToken != first.AccessToken {
		t.Error("a token with two minutes left was replaced; want it reused")
	}
	clk.Add(90 * time.Second) // 30 s left: inside the refresh margin
	fresh, err := src.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if fresh.AccessToken == first.AccessToken {
		t.Fatal("a token 30 s from expiry was reused; want a fresh one")
	}
	if !fresh.Expiry.After(clk.Now().Add(auth.DevServiceTokenTTL - time.Second)) {
		t.Errorf("fresh token expires at %v, want a full TTL from now", fresh.Expiry)
	}
	// The first token (minted at the wall clock's now) is a valid service principal.
	v := newVerifier(t, auth.VerifierConfig{HMACKey: key, Issuer: "ponte-dev"})
	p, err := v.Verify(t.Context(), first.AccessToken)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if name, ok := p.ServiceName(); !ok || name != "cases" {
		t.Errorf("ServiceName() = %q, %v; want cases, true", name, ok)
	}
}

func TestDevServiceTokensRefuseBadInput(t *testing.T) {
	t.Parallel()
	if _, err := auth.DevServiceTokens(testKeys().hmac, "Cases", "", nil); err == nil {
		t.Error("DevServiceTokens accepted an invalid service name")
	}
	if _, err := auth.DevServiceTokens([]byte("short"), "cases", "", nil); err == nil {
		t.Error("DevServiceTokens accepted a short key")
	}
}

func TestServiceCredentialsAttachTheServiceTokenToEveryCall(t *testing.T) {
	t.Parallel()
	key := testKeys().hmac
	src, err := auth.DevServiceTokens(key, "reporting", "", nil)
	if err != nil {
		t.Fatalf("DevServiceTokens: %v", err)
	}
	conn := startServerWith(t, newVerifier(t, auth.VerifierConfig{HMACKey: key}), servicePolicy,
		grpc.WithPerRPCCredentials(auth.NewServiceCredentials(src, false)))
	for range 3 {
		subject, err := unaryCall(t.Context(), conn)
		if err != nil {
			t.Fatalf("UnaryCall as service:reporting: %v", err)
		}
		if subject != "service:reporting" {
			t.Fatalf("handler saw %q, want service:reporting", subject)
		}
	}
	if _, err := streamCall(t.Context(), conn); status.Code(err) != codes.PermissionDenied {
		t.Errorf("stream not listing reporting: %v, want PermissionDenied", err)
	}
}

// tokenEndpoint is an OAuth2 token endpoint that grants one client the client-credentials flow.
func tokenEndpoint(t *testing.T, clientID, secret, accessToken string) (*httptest.Server, *int) {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		id, sec, ok := r.BasicAuth()
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
		if !ok || id != clientID || sec != secret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": accessToken, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestClientCredentialsTokensComeFromTheIdentityProvider(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cases.secret"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, calls := tokenEndpoint(t, "ponte-cases", "s3cret", "idp-token-1")
	cfg := auth.ClientCredentials{TokenURL: srv.URL, ClientID: "ponte-{service}", ClientSecretFile: filepath.Join(dir, "{service}.secret")}
	src, err := auth.ClientCredentialsTokens(context.Background(), cfg, "cases")
	if err != nil {
		t.Fatalf("ClientCredentialsTokens: %v", err)
	}
	creds := auth.NewServiceCredentials(src, false)
	for range 3 {
		md, err := creds.GetRequestMetadata(t.Context())
		if err != nil {
			t.Fatalf("GetRequestMetadata: %v", err)
		}
		if md["authorization"] != "Bearer idp-token-1" {
			t.Fatalf("authorization = %q, want the provider's token", md["authorization"])
		}
	}
	if *calls != 1 {
		t.Errorf("token endpoint called %d times for 3 calls, want 1 (token reused until near expiry)", *calls)
	}

	wrong, _ := tokenEndpoint(t, "ponte-cases", "other", "never")
	cfg.TokenURL = wrong.URL
	src, err = auth.ClientCredentialsTokens(context.Background(), cfg, "cases")
	if err != nil {
		t.Fatalf("ClientCredentialsTokens: %v", err)
	}
	if _, err := auth.NewServiceCredentials(src, false).GetRequestMetadata(t.Context()); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("refused client: err = %v, want an error that does not echo the secret", err)
	}
}

func TestClientCredentialsTokensRefuseIncompleteConfigs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     auth.ClientCredentials
		service string
		wantErr string
	}{
		{"a token URL that is not http(s) is refused", auth.ClientCredentials{TokenURL: "ftp://idp", ClientID: "c", ClientSecretFile: secret}, "cases", "--service-token-url"},
		{"a missing client id is refused", auth.ClientCredentials{TokenURL: "https://idp/token", ClientSecretFile: secret}, "cases", "--service-client-id"},
		{"a missing secret file is refused", auth.ClientCredentials{TokenURL: "https://idp/token", ClientID: "c"}, "cases", "--service-client-secret-file"},
		{"an unreadable secret file is refused", auth.ClientCredentials{TokenURL: "https://idp/token", ClientID: "c", ClientSecretFile: filepath.Join(dir, "none")}, "cases", "client secret"},
		{"an empty secret file is refused", auth.ClientCredentials{TokenURL: "https://idp/token", ClientID: "c", ClientSecretFile: empty}, "cases", "is empty"},
		{"an invalid service name is refused", auth.ClientCredentials{TokenURL: "https://idp/token", ClientID: "c", ClientSecretFile: secret}, "Cases", "not a service name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := auth.ClientCredentialsTokens(context.Background(), tt.cfg, tt.service)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}
