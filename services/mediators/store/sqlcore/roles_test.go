package sqlcore_test

import (
	"context"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/libs/storage/storagetest"
	"github.com/ponte-network/ponte/services/mediators/store/sqlcore"
)

// TestTheServingRoleCannotRewriteTheAuditTrail: migrated by the owner with a serving
// role, the store opens as that role, and the role may not truncate, update, delete or
// unprotect audit_events.
func TestTheServingRoleCannotRewriteTheAuditTrail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	serve, _ := storagetest.ServingRole(t, sqlcore.Migrations())
	st, err := sqlcore.Open(ctx, serve, time.UTC)
	if err != nil {
		t.Fatalf("ponte serve as the serving role: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	pgtest.RequireAppendOnly(t, serve.DatabaseURL, sqlcore.Schema, "audit_events")
}
