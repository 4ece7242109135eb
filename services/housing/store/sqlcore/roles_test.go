package sqlcore_test

import (
	"context"
	"testing"

	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/services/housing/store/sqlcore"
)

// TestTheServingRoleCannotRewriteTheAuditTrail: migrated by the owner with a serving
// role, the store opens as that role, and the role may not truncate, update, delete or
// unprotect audit_events.
func TestTheServingRoleCannotRewriteTheAuditTrail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ownerURL := pgtest.NewDatabase(t)
	role, roleURL := pgtest.ServeRole(t, ownerURL)
	if err := sqlcore.Migrate(ctx, storage.Config{DatabaseURL: ownerURL, ServeRole: role}); err != nil {
		t.Fatalf("ponte migrate as the owner: %v", err)
	}
	st, err := sqlcore.Open(ctx, storage.Config{DatabaseURL: roleURL})
	if err != nil {
		t.Fatalf("ponte serve as the serving role: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	pgtest.RequireAppendOnly(t, roleURL, sqlcore.Schema, "audit_events")
}
