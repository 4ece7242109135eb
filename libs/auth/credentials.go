package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/grpc/credentials"
)

// DevServiceTokenTTL is how long a development service token minted by DevServiceTokens lives;
// a fresh one is minted when less than serviceTokenEarly of it remains.
const DevServiceTokenTTL = 10 * time.Minute

// serviceTokenEarly is how long before its expiry a service token is replaced, so that a
// call never leaves with a token that expires in flight or on a slightly faster clock.
const serviceTokenEarly = time.Minute

// ServiceCredentials attach a service principal's bearer token to every call of a gRPC
// connection (grpc.WithPerRPCCredentials) or of one call (grpc.PerRPCCredentials).
type ServiceCredentials struct {
	tokens oauth2.TokenSource
	secure bool
}

var _ credentials.PerRPCCredentials = (*ServiceCredentials)(nil)

// NewServiceCredentials attaches the tokens of src, which must cache and refresh them
// (oauth2.ReuseTokenSource, or what DevServiceTokens and ClientCredentialsTokens return).
// requireTLS refuses to send them over a connection without transport security.
func NewServiceCredentials(src oauth2.TokenSource, requireTLS bool) *ServiceCredentials {
	return &ServiceCredentials{tokens: src, secure: requireTLS}
}

// GetRequestMetadata returns the authorization header of the current token.
func (c *ServiceCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := c.tokens.Token()
	if err != nil {
		return nil, fmt.Errorf("service token: %w", err)
	}
	if tok.AccessToken == "" {
		return nil, errors.New("service token: identity provider returned an empty access token")
	}
	return map[string]string{"authorization": "Bearer " + tok.AccessToken}, nil
}

// RequireTransportSecurity reports whether the token may only travel over TLS.
func (c *ServiceCredentials) RequireTransportSecurity() bool { return c.secure }

// devTokens mints service tokens with the development key.
type devTokens struct {
	key       []byte
	principal Principal
	issuer    string
	now       func() time.Time
}

func (d *devTokens) Token() (*oauth2.Token, error) {
	now := d.now()
	signed, err := MintHS256(d.key, d.principal, d.issuer, DevServiceTokenTTL, now)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: signed, TokenType: "Bearer", Expiry: now.Add(DevServiceTokenTTL)}, nil
}

// DevServiceTokens mints tokens for ServicePrincipal(name) with the development key, each
// valid DevServiceTokenTTL and replaced a minute before it expires; now nil = time.Now.
func DevServiceTokens(key []byte, name, issuer string, now func() time.Time) (oauth2.TokenSource, error) {
	if !ValidServiceName(name) {
		return nil, fmt.Errorf("service tokens: %q is not a service name", name)
	}
	if len(key) < minHMACKeyLen {
		return nil, fmt.Errorf("service tokens: HMAC key has %d bytes, want at least %d", len(key), minHMACKeyLen)
	}
	if now == nil {
		now = time.Now
	}
	src := &devTokens{key: key, principal: ServicePrincipal(name), issuer: issuer, now: now}
	return &earlyReuse{src: src, now: now}, nil
}

// earlyReuse caches a token until serviceTokenEarly before its expiry, on its own clock
// (oauth2.ReuseTokenSource reads the wall clock, which a test cannot move).
type earlyReuse struct {
	src oauth2.TokenSource
	now func() time.Time

	mu  sync.Mutex // one refresh at a time
	tok *oauth2.Token
}

func (r *earlyReuse) Token() (*oauth2.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tok != nil && r.now().Before(r.tok.Expiry.Add(-serviceTokenEarly)) {
		return r.tok, nil
	}
	tok, err := r.src.Token()
	if err != nil {
		return nil, err
	}
	r.tok = tok
	return tok, nil
}

// ClientCredentials says how a service obtains its tokens from the identity provider
// (OAuth2 client credentials grant, RFC 6749 §4.4).
type ClientCredentials struct {
	TokenURL         string   // the provider's token endpoint
	ClientID         string   // this service's client; "{service}" is replaced by the service name
	ClientSecretFile string   // file holding the client secret; "{service}" is replaced likewise
	Scopes           []string // scopes to ask for, if the provider needs them
	Audience         string   // "audience" parameter, if the provider needs one (Auth0, Keycloak)
}

// Configured reports whether a token endpoint is set.
func (c ClientCredentials) Configured() bool { return c.TokenURL != "" }

// ClientCredentialsTokens returns the tokens of service name from the identity provider,
// cached and refreshed before expiry. The provider must issue them with subject
// "service:<name>" and roles ["service"] (see docs/security.md). ctx carries the HTTP
// client, if any (oauth2.HTTPClient), and must outlive the source.
func ClientCredentialsTokens(ctx context.Context, c ClientCredentials, name string) (oauth2.TokenSource, error) {
	if !ValidServiceName(name) {
		return nil, fmt.Errorf("service tokens: %q is not a service name", name)
	}
	if !strings.HasPrefix(c.TokenURL, "https://") && !strings.HasPrefix(c.TokenURL, "http://") {
		return nil, errors.New("--service-token-url must be an http(s) URL")
	}
	clientID := strings.ReplaceAll(c.ClientID, "{service}", name)
	if clientID == "" {
		return nil, errors.New("--service-client-id is required with --service-token-url")
	}
	if c.ClientSecretFile == "" {
		return nil, errors.New("--service-client-secret-file is required with --service-token-url")
	}
	path := strings.ReplaceAll(c.ClientSecretFile, "{service}", name)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("service %s client secret: %w", name, err)
	}
	secret := strings.TrimSpace(string(raw))
	if secret == "" {
		return nil, fmt.Errorf("service %s client secret: %s is empty", name, path)
	}
	cfg := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: c.TokenURL, Scopes: c.Scopes}
	if c.Audience != "" {
		cfg.EndpointParams = map[string][]string{"audience": {c.Audience}}
	}
	return oauth2.ReuseTokenSourceWithExpiry(nil, cfg.TokenSource(ctx), serviceTokenEarly), nil
}
