package sqlstore_test

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/sqlstore"
	"github.com/ponte-network/ponte/libs/storage/storagetest"
)

//go:embed testdata
var testdata embed.FS

func migrations(t testing.TB) storage.Migrations {
	t.Helper()
	pg, err := fs.Sub(testdata, "testdata/postgres")
	if err != nil {
		t.Fatal(err)
	}
	lite, err := fs.Sub(testdata, "testdata/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	return storage.Migrations{Schema: "sqlstoretest", Postgres: pg, SQLite: lite}
}

func open(t *testing.T, newConfig storagetest.NewConfig) sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), newConfig(t), migrations(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Ready(context.Background()); err != nil {
		t.Fatalf("not ready: %v", err)
	}
	return db
}

func TestAdapters(t *testing.T) {
	t.Parallel()
	storagetest.Both(t, migrations(t), func(t *testing.T, newConfig storagetest.NewConfig) {
		ctx := context.Background()
		insert := func(db sqlstore.DB, id, owner string, qty, start, end int64) error {
			return db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
				_, err := q.Exec(ctx, `INSERT INTO items (id, owner_id, qty, start_us, end_us) VALUES (?, ?, ?, ?, ?)`, id, owner, qty, start, end)
				return err
			})
		}
		seed := func(t *testing.T) sqlstore.DB {
			db := open(t, newConfig)
			if err := db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
				_, err := q.Exec(ctx, `INSERT INTO owners (id) VALUES (?), (?)`, "o1", "o2")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if err := insert(db, "a", "o1", 1, 0, 10); err != nil {
				t.Fatal(err)
			}
			return db
		}
		violations := []struct {
			name                   string
			id, owner              string
			qty, start, end        int64
			want                   error
			postgresOnly           bool
			wantConstraintContains string
		}{
			{name: "a duplicate key is ErrUnique", id: "a", owner: "o1", qty: 1, start: 20, end: 30, want: sqlstore.ErrUnique},
			{name: "an unknown owner is ErrForeignKey", id: "b", owner: "nobody", qty: 1, start: 20, end: 30, want: sqlstore.ErrForeignKey},
			{name: "a negative quantity is ErrCheck", id: "b", owner: "o1", qty: -1, start: 20, end: 30, want: sqlstore.ErrCheck},
			{name: "an overlapping range is ErrExclusion with the constraint's name", id: "b", owner: "o1", qty: 1, start: 5, end: 15,
				want: sqlstore.ErrExclusion, postgresOnly: true, wantConstraintContains: "items_no_overlap"},
		}
		for _, tt := range violations {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				db := seed(t)
				if tt.postgresOnly && db.Dialect() != sqlstore.DialectPostgres {
					t.Skip("SQLite has no exclusion constraints: services check in the write transaction")
				}
				err := insert(db, tt.id, tt.owner, tt.qty, tt.start, tt.end)
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				var ce *sqlstore.ConstraintError
				if !errors.As(err, &ce) || ce.Constraint == "" && db.Dialect() == sqlstore.DialectPostgres {
					t.Fatalf("err = %#v, want a *ConstraintError naming its constraint", err)
				}
				if tt.wantConstraintContains != "" && sqlstore.Constraint(err) != tt.wantConstraintContains {
					t.Errorf("constraint = %q, want %q", sqlstore.Constraint(err), tt.wantConstraintContains)
				}
			})
		}

		t.Run("a failed write leaves nothing behind", func(t *testing.T) {
			t.Parallel()
			db := seed(t)
			err := db.Write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
				if _, err := q.Exec(ctx, `INSERT INTO items (id, owner_id, qty, start_us, end_us) VALUES (?, ?, ?, ?, ?)`, "c", "o2", 1, 0, 1); err != nil {
					return err
				}
				log.Append(changelog.Entry{Topic: "items", Key: "c", Op: changelog.OpUpsert})
				_, err := q.Exec(ctx, `INSERT INTO items (id, owner_id, qty, start_us, end_us) VALUES (?, ?, ?, ?, ?)`, "a", "o2", 1, 0, 1)
				return err
			})
			if !errors.Is(err, sqlstore.ErrUnique) {
				t.Fatalf("err = %v", err)
			}
			if n := count(t, db, `SELECT count(*) FROM items WHERE id = ?`, "c"); n != 0 {
				t.Errorf("%d rows of the failed transaction kept", n)
			}
			if h, err := db.Feed().Head(ctx); err != nil || h != 0 {
				t.Errorf("change log head = %d, %v; want 0", h, err)
			}
		})

		t.Run("rows inserted in bulk are read back through long IN lists", func(t *testing.T) {
			t.Parallel()
			db := seed(t)
			const n = 1234
			rows := make([][]any, n)
			ids := make([]string, n)
			for i := range rows {
				ids[i] = fmt.Sprintf("bulk-%04d", i)
				rows[i] = []any{ids[i], "o2", int64(i), int64(100 + 2*i), int64(101 + 2*i)}
			}
			if err := db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
				return sqlstore.InsertRows(ctx, q, "items", []string{"id", "owner_id", "qty", "start_us", "end_us"}, rows)
			}); err != nil {
				t.Fatal(err)
			}
			var sum, seen int64
			q := db.Read()
			err := sqlstore.EachIn(q, "id", append(ids, "missing"), func(cond string, args []any) error {
				return q.Query(ctx, `SELECT qty FROM items WHERE owner_id = ? AND `+cond, append([]any{"o2"}, args...),
					func(scan func(...any) error) error {
						var v int64
						if err := scan(&v); err != nil {
							return err
						}
						seen++
						sum += v
						return nil
					})
			})
			if err != nil {
				t.Fatal(err)
			}
			if seen != n || sum != n*(n-1)/2 {
				t.Errorf("read %d rows back summing %d, want %d summing %d", seen, sum, n, n*(n-1)/2)
			}
		})
	})
}

func count(t *testing.T, db sqlstore.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Read().Query(context.Background(), query, args, func(scan func(...any) error) error { return scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNumbered(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"placeholders are numbered in order", "SELECT * FROM t WHERE a = ? AND b IN (?, ?)", "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"},
		{"a query without placeholders is unchanged", "SELECT 1", "SELECT 1"},
		{"non-ASCII text survives", "SELECT 'città' WHERE x = ?", "SELECT 'città' WHERE x = $1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := sqlstore.Numbered(tt.in); got != tt.want {
				t.Errorf("Numbered(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "", 1: "?", 3: "?, ?, ?"} {
		if got := sqlstore.Placeholders(n); got != want {
			t.Errorf("Placeholders(%d) = %q, want %q", n, got, want)
		}
	}
}
