package config

import (
	"errors"
	"flag"
	"strings"
)

// Observatory configures the observatory dashboard's sign-in (served at /observatory by
// the edge when reporting is mounted).
type Observatory struct {
	// SessionKeyFile holds the secret (at least 32 bytes) that encrypts and signs the
	// dashboard's session cookies; the same file on every replica. Empty: derived from the
	// development key, or random at each start (sessions end with the process).
	SessionKeyFile string
	// OIDCIssuer is the OpenID Connect provider readers sign in with; empty: no
	// provider (development sign-in only, with the development key).
	OIDCIssuer           string
	OIDCClientID         string
	OIDCClientSecretFile string
	// OIDCRedirectURL is where the provider sends readers back; empty: --public-url +
	// /observatory/callback.
	OIDCRedirectURL string
	OIDCScopes      string // comma-separated, besides openid
}

// RegisterObservatory adds the observatory's flags to fs.
func (o *Observatory) RegisterObservatory(fs *flag.FlagSet) {
	fs.StringVar(&o.SessionKeyFile, "observatory-session-key-file", "", "file with the secret (32+ bytes) of the observatory's session cookies, the same on every replica; empty: derived from the development key, else random per start")
	fs.StringVar(&o.OIDCIssuer, "oidc-issuer", "", "OpenID Connect provider (issuer URL) readers sign in to /observatory with; its access tokens must verify with --jwks-url/--jwt-keys-file")
	fs.StringVar(&o.OIDCClientID, "oidc-client-id", "ponte-observatory", "OAuth2 client id of the observatory at the provider")
	fs.StringVar(&o.OIDCClientSecretFile, "oidc-client-secret-file", "", "file holding the observatory's client secret (empty: a public client, PKCE only)")
	fs.StringVar(&o.OIDCRedirectURL, "oidc-redirect-url", "", "where the provider returns readers; empty: --public-url + /observatory/callback")
	fs.StringVar(&o.OIDCScopes, "oidc-scopes", "profile", "scopes asked besides openid, comma-separated")
}

// validate checks the observatory's flags against the API's public URL.
func (o *Observatory) validate(publicURL string) error {
	if o.OIDCIssuer == "" {
		return nil
	}
	var errs []error
	if !strings.HasPrefix(o.OIDCIssuer, "https://") && !strings.HasPrefix(o.OIDCIssuer, "http://") {
		errs = append(errs, errors.New("--oidc-issuer must be an http(s) URL"))
	}
	if o.OIDCRedirectURL == "" && publicURL == "" {
		errs = append(errs, errors.New("--oidc-issuer needs --oidc-redirect-url or --public-url"))
	}
	return errors.Join(errs...)
}

// RedirectURL is where the provider sends readers back.
func (o *Observatory) RedirectURL(publicURL string) string {
	if o.OIDCRedirectURL != "" {
		return o.OIDCRedirectURL
	}
	return strings.TrimSuffix(publicURL, "/") + "/observatory/callback"
}
