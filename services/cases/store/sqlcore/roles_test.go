package sqlcore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/storage/storagetest"
	"github.com/ponte-network/ponte/services/cases/store"
	"github.com/ponte-network/ponte/services/cases/store/sqlcore"
)

func TestTheServingRoleCannotRewriteTheAuditTrail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	serve, ownerURL := storagetest.ServingRole(t, sqlcore.Migrations())
	roleURL := serve.DatabaseURL
	// ponte serve as the serving role: the schema is current, so it opens without DDL.
	st, err := sqlcore.Open(ctx, serve)
	if err != nil {
		t.Fatalf("ponte serve as the serving role: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	actor := store.Actor{Subject: "op", Method: "/test/CreateCase"}
	k, err := st.CreateCase(ctx, actor, store.Scope{All: true}, &casesv1.Case{MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_OTHER})
	if err != nil {
		t.Fatalf("the serving role writes a case: %v", err)
	}
	if _, err := st.GetCase(ctx, actor, store.Scope{All: true}, k.Id); err != nil {
		t.Fatalf("the serving role reads a case: %v", err)
	}
	if evs, err := st.ListAuditEvents(ctx, store.AuditFilter{All: true}); err != nil || len(evs) != 2 {
		t.Fatalf("the serving role's audit trail = %v, %v; want the create and the read", evs, err)
	}
	conn, err := pgx.Connect(ctx, roleURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })
	tests := []struct {
		name, sql string
	}{
		{"it cannot truncate the audit trail", "TRUNCATE cases.audit_events"},
		{"it cannot update audit rows", "UPDATE cases.audit_events SET subject = 'someone else'"},
		{"it cannot delete audit rows", "DELETE FROM cases.audit_events"},
		{"it cannot disable the append-only trigger", "ALTER TABLE cases.audit_events DISABLE TRIGGER audit_events_append_only"},
		{"it cannot drop the append-only trigger", "DROP TRIGGER audit_events_append_only ON cases.audit_events"},
		{"it cannot drop the audit table", "DROP TABLE cases.audit_events"},
		{"it cannot replace the trigger's function", "CREATE OR REPLACE FUNCTION cases.audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"},
		{"it cannot rewrite the migration versions", "DELETE FROM cases.goose_db_version"},
		{"it cannot create tables in the schema", "CREATE TABLE cases.shadow (id int)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conn.Exec(ctx, tt.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Errorf("%s: %v, want insufficient_privilege (42501)", tt.sql, err)
			}
		})
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM cases.audit_events").Scan(&n); err != nil || n != 2 {
		t.Errorf("audit rows after the attempts = %d, %v; want the 2 written", n, err)
	}
	// Without a separate role, the owner that serves can: the separation is what protects.
	owner, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, "ALTER TABLE cases.audit_events DISABLE TRIGGER audit_events_append_only"); err != nil {
		t.Errorf("the owner disabling the trigger: %v, want it allowed (the owner is not the serving role)", err)
	}
}
