package app

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/ponte-network/ponte/gateway"
	"github.com/ponte-network/ponte/gateway/web"
	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/config"
)

// devSignInTTL is how long a development sign-in to the observatory lasts.
const devSignInTTL = 8 * time.Hour

// observatory configures the dashboard's sign-in: the session secret from its file, else
// derived from the development key, else random for this process (with a warning:
// sessions then end with it and replicas do not share them); the OpenID Connect provider
// when --oidc-issuer is set; the development sign-in with the development key.
func (a *App) observatory() (gateway.Observatory, error) {
	oc := a.cfg.Observatory
	var obs gateway.Observatory
	switch {
	case oc.SessionKeyFile != "":
		secret, err := os.ReadFile(oc.SessionKeyFile)
		if err != nil {
			return obs, fmt.Errorf("--observatory-session-key-file: %w", err)
		}
		obs.SessionSecret = []byte(strings.TrimSpace(string(secret)))
	case a.devKey != nil:
		sum := sha256.Sum256(append([]byte("ponte observatory sessions\x00"), a.devKey...))
		obs.SessionSecret = sum[:]
	default:
		obs.SessionSecret = make([]byte, 32)
		_, _ = rand.Read(obs.SessionSecret)
		a.tel.Logger.Warn("no --observatory-session-key-file: observatory sessions end when this process does and are not shared by replicas")
	}
	if oc.OIDCIssuer != "" {
		secret := ""
		if oc.OIDCClientSecretFile != "" {
			raw, err := os.ReadFile(oc.OIDCClientSecretFile)
			if err != nil {
				return obs, fmt.Errorf("--oidc-client-secret-file: %w", err)
			}
			secret = strings.TrimSpace(string(raw))
		}
		obs.OIDC = &web.OIDCConfig{
			Issuer: oc.OIDCIssuer, ClientID: oc.OIDCClientID, ClientSecret: secret,
			RedirectURL: oc.RedirectURL(a.cfg.API.PublicURL), Scopes: config.SplitList(oc.OIDCScopes),
		}
	}
	if a.devKey != nil {
		key := a.devKey
		obs.DevSignIn = func(role, territory, org string) (string, time.Duration, error) {
			p := auth.Principal{Subject: "dev-" + role, Roles: []string{role}, Territory: territory, Organization: org}
			tok, err := auth.MintHS256(key, p, DevIssuer, devSignInTTL, time.Now())
			return tok, devSignInTTL, err
		}
		a.tel.Logger.Debug("observatory: development sign-in enabled", slog.String("path", "/observatory/signin"))
	}
	return obs, nil
}
