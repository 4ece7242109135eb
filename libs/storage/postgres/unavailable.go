package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ponte-network/ponte/libs/storage/internal/kinds"
)

// SQLSTATEs that say the server cannot serve now, besides class 08 (connection exception).
const (
	pgAdminShutdown      = "57P01"
	pgCrashShutdown      = "57P02"
	pgCannotConnectNow   = "57P03"
	pgTooManyConnections = "53300"
)

// MapUnavailable wraps err in storage.ErrUnavailable when it says the server cannot be
// reached now — connection refused or lost, the server shutting down, starting up or
// refusing connections — so that callers answer UNAVAILABLE (retry later) rather than
// INTERNAL. Other errors, nil and context errors are returned unchanged. Every store on
// PostgreSQL passes its errors through it once (DB does for its transactions and feed).
func MapUnavailable(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, kinds.Unavailable) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"),
			pgErr.Code == pgAdminShutdown, pgErr.Code == pgCrashShutdown,
			pgErr.Code == pgCannotConnectNow, pgErr.Code == pgTooManyConnections:
			return fmt.Errorf("%w: %w", kinds.Unavailable, err)
		}
		return err
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", kinds.Unavailable, err)
	}
	return err
}
