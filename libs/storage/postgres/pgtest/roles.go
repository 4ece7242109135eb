package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ServeRole creates a login role for one test, as an operator would for `ponte serve`
// (storage.Config.ServeRole), and drops it with its grants in t.Cleanup. It returns the
// role's name and ownerURL with the role as its user.
func ServeRole(t testing.TB, ownerURL string) (role, roleURL string) {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	role = "ponte_serve_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, ownerURL)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		for _, s := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	})
	u, err := url.Parse(ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return role, u.String()
}

// RequireAppendOnly fails t unless the role of roleURL is refused (insufficient_privilege,
// SQLSTATE 42501) every way of rewriting schema.table: truncating it, updating or deleting
// its rows, disabling or dropping its append-only trigger (named <table>_append_only),
// dropping the table, creating tables in the schema.
func RequireAppendOnly(t *testing.T, roleURL, schema, table string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, roleURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	q := schema + "." + table
	for _, stmt := range []string{
		"TRUNCATE " + q,
		"UPDATE " + q + " SET subject = 'someone else'",
		"DELETE FROM " + q,
		"ALTER TABLE " + q + " DISABLE TRIGGER " + table + "_append_only",
		"DROP TRIGGER " + table + "_append_only ON " + q,
		"DROP TABLE " + q,
		"DELETE FROM " + schema + ".goose_db_version",
		"CREATE TABLE " + schema + ".shadow (id int)",
	} {
		_, err := conn.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s as the serving role: %v, want insufficient_privilege (42501)", stmt, err)
		}
	}
}
