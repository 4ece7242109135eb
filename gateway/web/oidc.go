package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig is the deployment's OpenID Connect provider, for signing in to the
// observatory by the authorization code flow with PKCE.
type OIDCConfig struct {
	Issuer       string // the provider's issuer URL (discovery at /.well-known/openid-configuration)
	ClientID     string
	ClientSecret string   // empty for a public client (PKCE alone)
	RedirectURL  string   // https://edge.example.org/observatory/callback
	Scopes       []string // besides openid
}

// oidcFlowCookie holds, for ten minutes, what the callback must check: state, nonce and
// the PKCE verifier.
const oidcFlowCookie = "ponte_oidc_flow"

type oidcFlow struct {
	State, Nonce, Verifier string
}

// oidcClient discovers the provider on first use (so that a provider down at start does
// not stop the edge) and then keeps its configuration.
type oidcClient struct {
	cfg OIDCConfig

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func (c *oidcClient) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.oauth != nil {
		return c.oauth, c.verifier, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(ctx, c.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("discover OpenID provider: %w", err)
	}
	c.oauth = &oauth2.Config{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, RedirectURL: c.cfg.RedirectURL,
		Endpoint: provider.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, c.cfg.Scopes...),
	}
	c.verifier = provider.Verifier(&oidc.Config{ClientID: c.cfg.ClientID})
	return c.oauth, c.verifier, nil
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// start sends the reader to the provider, keeping state, nonce and verifier in a
// short-lived cookie.
func (c *oidcClient) start(w http.ResponseWriter, r *http.Request, ss *Sessions) error {
	oauth, _, err := c.discover(r.Context())
	if err != nil {
		return err
	}
	f := oidcFlow{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier()}
	if err := ss.set(w, r, oidcFlowCookie, "/observatory", f, time.Now().Add(10*time.Minute)); err != nil {
		return err
	}
	http.Redirect(w, r, oauth.AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce)), http.StatusFound)
	return nil
}

// errSignIn is a sign-in the reader must start again (expired, replayed or forged).
var errSignIn = errors.New("the sign-in could not be completed; start it again")

// finish checks the provider's answer and returns the session: the access token is
// what the dashboard forwards to reporting, so the provider must issue access tokens
// that Ponte's services verify (JWTs of the issuer and keys they are configured with).
func (c *oidcClient) finish(r *http.Request, ss *Sessions) (Session, error) {
	var f oidcFlow
	if !ss.get(r, oidcFlowCookie, &f) || f.State == "" || r.URL.Query().Get("state") != f.State {
		return Session{}, errSignIn
	}
	if e := r.URL.Query().Get("error"); e != "" {
		return Session{}, fmt.Errorf("%w (the provider answered %q)", errSignIn, e)
	}
	oauth, verifier, err := c.discover(r.Context())
	if err != nil {
		return Session{}, err
	}
	tok, err := oauth.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return Session{}, fmt.Errorf("%w: code exchange: %v", errSignIn, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(r.Context(), raw)
	if err != nil {
		return Session{}, fmt.Errorf("%w: ID token: %v", errSignIn, err)
	}
	if idt.Nonce != f.Nonce {
		return Session{}, fmt.Errorf("%w: nonce mismatch", errSignIn)
	}
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
	}
	_ = idt.Claims(&claims)
	s := Session{Token: tok.AccessToken, Name: claims.PreferredUsername, Expiry: tok.Expiry}
	if s.Name == "" {
		s.Name = idt.Subject
	}
	if s.Expiry.IsZero() || s.Expiry.After(idt.Expiry) {
		s.Expiry = idt.Expiry
	}
	return s, nil
}
