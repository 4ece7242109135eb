package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/ponte-network/ponte/libs/auth"
)

// demoLoader returns what every --demo loader calls the services with: an in-process
// connection (through every interceptor, like any client) and ctx carrying a short-lived
// admin token minted with the development key. The caller closes the connection.
func (a *App) demoLoader(ctx context.Context) (context.Context, *grpc.ClientConn, error) {
	if a.devKey == nil {
		return nil, nil, errors.New("--demo needs the development key (no --jwt-keys-file or --jwks-url)")
	}
	tok, err := auth.MintHS256(a.devKey, auth.Principal{Subject: "ponte-demo-loader", Roles: []string{auth.RoleAdmin}},
		DevIssuer, 10*time.Minute, time.Now())
	if err != nil {
		return nil, nil, fmt.Errorf("demo loader token: %w", err)
	}
	conn, err := a.srv.InProcessConn()
	if err != nil {
		return nil, nil, err
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), conn, nil
}
