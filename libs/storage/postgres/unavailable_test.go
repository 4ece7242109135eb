package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/postgres"
)

func TestMapUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A real connection failure: nothing listens on port 1.
	_, refused := pgconn.Connect(ctx, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	if refused == nil {
		t.Fatal("a connection to port 1 succeeded")
	}
	cases := []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"a refused connection is unavailable", refused, true},
		{"a refused connection wrapped with context is unavailable", fmt.Errorf("query records: %w", refused), true},
		{"the server shutting down (57P01) is unavailable", &pgconn.PgError{Code: "57P01"}, true},
		{"the server starting up (57P03) is unavailable", &pgconn.PgError{Code: "57P03"}, true},
		{"too many connections (53300) is unavailable", &pgconn.PgError{Code: "53300"}, true},
		{"a connection exception (08006) is unavailable", &pgconn.PgError{Code: "08006"}, true},
		{"a unique violation is not", &pgconn.PgError{Code: "23505"}, false},
		{"a syntax error is not", &pgconn.PgError{Code: "42601"}, false},
		{"a cancelled context is not", context.Canceled, false},
		{"a deadline is not", fmt.Errorf("list: %w", context.DeadlineExceeded), false},
		{"any other error is not", errors.New("boom"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := postgres.MapUnavailable(c.err)
			if errors.Is(got, storage.ErrUnavailable) != c.unavailable {
				t.Errorf("MapUnavailable(%v) = %v, unavailable %v, want %v", c.err, got, !c.unavailable, c.unavailable)
			}
			if !errors.Is(got, c.err) {
				t.Errorf("MapUnavailable(%v) = %v no longer wraps the cause", c.err, got)
			}
		})
	}
	if postgres.MapUnavailable(nil) != nil {
		t.Error("MapUnavailable(nil) != nil")
	}
}
