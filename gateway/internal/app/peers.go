package app

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/config"
)

// serviceConn returns a connection to the service target on which every call carries a
// token of the service principal caller ("service:<caller>"): the in-process connection
// when target runs in this process, else one to --<target>-endpoint. The connection is
// closed when the process stops. A module calls this in its Start and builds the target's
// generated client on it; the target's policy must list caller in the Services of the
// methods it calls.
func (a *App) serviceConn(ctx context.Context, caller, target string) (*grpc.ClientConn, error) {
	tokens, err := a.serviceTokens(ctx, caller)
	if err != nil {
		return nil, err
	}
	creds := grpc.WithPerRPCCredentials(auth.NewServiceCredentials(tokens, false))
	selected, err := a.manager.Resolve(a.cfg.TargetList())
	if err != nil {
		return nil, err
	}
	var conn *grpc.ClientConn
	endpoint := ""
	if e, ok := a.cfg.Endpoints[target]; ok && e != nil {
		endpoint = *e
	}
	switch {
	case slices.Contains(selected, target):
		conn, err = a.srv.InProcessConn(creds)
	case endpoint != "":
		conn, err = a.dialRemote(endpoint, creds)
		if err == nil {
			a.addReady(target+" (remote, for "+caller+")", remoteReady(conn, target))
		}
	default:
		return nil, fmt.Errorf("%s needs the %s service: run it in this process (-target) or set --%s-endpoint", caller, target, target)
	}
	if err != nil {
		return nil, fmt.Errorf("%s → %s: %w", caller, target, err)
	}
	a.onClose(conn.Close)
	return conn, nil
}

// hasService reports whether target runs in this process or has a --<target>-endpoint:
// whether a module that can do without it (reporting without a feed) should connect.
func (a *App) hasService(target string) (bool, error) {
	selected, err := a.manager.Resolve(a.cfg.TargetList())
	if err != nil {
		return false, err
	}
	e, ok := a.cfg.Endpoints[target]
	return slices.Contains(selected, target) || (ok && e != nil && *e != ""), nil
}

// serviceTokens is where the service principal name gets its tokens: the identity
// provider by client credentials when --service-token-url is set, else minted with the
// development key; with neither, a service that calls another cannot start.
func (a *App) serviceTokens(ctx context.Context, name string) (oauth2.TokenSource, error) {
	st := a.cfg.Auth.ServiceTokens
	switch {
	case st.TokenURL != "":
		return auth.ClientCredentialsTokens(context.WithoutCancel(ctx), auth.ClientCredentials{
			TokenURL: st.TokenURL, ClientID: st.ClientID, ClientSecretFile: st.ClientSecretFile,
			Scopes: config.SplitList(st.Scopes), Audience: st.Audience,
		}, name)
	case a.devKey != nil:
		return auth.DevServiceTokens(a.devKey, name, DevIssuer, nil)
	default:
		return nil, fmt.Errorf("the %s service calls other services as service:%s, but no service token source is configured: "+
			"set --service-token-url, --service-client-id and --service-client-secret-file (OAuth2 client credentials at the identity provider that issues your --jwks-url/--jwt-keys-file tokens)", name, name)
	}
}
