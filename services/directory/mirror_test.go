package directory

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/directory/store"
	"github.com/ponte-network/ponte/services/directory/store/sqlite"
)

// newTestService is a directory on a fresh embedded store.
func newTestService(t *testing.T, c *territory.Catalog) *Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config(filepath.Join(t.TempDir(), "directory.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := New(Deps{Store: st, Catalog: c})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// serveOn serves svc's gRPC services on addr ("127.0.0.1:0" for any port) until stop.
func serveOn(t *testing.T, svc *Service, addr string) (string, func()) {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	svc.Register(srv)
	go func() { _ = srv.Serve(lis) }()
	return lis.Addr().String(), srv.Stop
}

// waitFor polls cond until it holds, failing after 20s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after 20s", what)
		}
	}
}

func TestMirrorFollowsAnUpstreamAcrossItsRestart(t *testing.T) {
	t.Parallel()
	catalog, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	upstream, region := newTestService(t, catalog), newTestService(t, catalog)
	admin := auth.NewContext(context.Background(), &auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
	createOrg := func(id string) {
		t.Helper()
		if _, err := upstream.directory.CreateOrganization(admin, &directoryv1.CreateOrganizationRequest{
			Organization: &directoryv1.Organization{Id: id, Name: map[string]string{"it": id}, MunicipalityCode: "019035"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	has := func(id string) func() bool {
		return func() bool {
			r, err := region.store.GetRecord(context.Background(), store.KindOrganization, id)
			return err == nil && r.Origin == "cremasco"
		}
	}
	createOrg("org-a")
	addr, stop := serveOn(t, upstream, "127.0.0.1:0")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- region.Mirror(ctx, "cremasco", directoryv1.NewDirectoryServiceClient(conn)) }()
	waitFor(t, "org-a mirrored", has("org-a"))
	if r, _ := region.store.GetRecord(context.Background(), store.KindOrganization, "org-a"); r.Municipality != "019035" || r.Province != "019" {
		t.Errorf("mirrored organization columns = %+v, want its seat's territory", r)
	}

	// The upstream goes away, changes while down, and comes back on the same address.
	stop()
	createOrg("org-b")
	_, stop = serveOn(t, upstream, addr)
	defer func() { stop() }()
	waitFor(t, "org-b mirrored after the upstream's restart", has("org-b"))
	createOrg("org-c")
	waitFor(t, "org-c mirrored live", has("org-c"))

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Mirror returned %v on cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Mirror did not return after its context was cancelled")
	}
	head, err := upstream.store.Changes().Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := region.store.MirrorCursor(context.Background(), "cremasco"); err != nil || cur != head {
		t.Errorf("cursor = %d, %v; want the upstream's head %d", cur, err, head)
	}
}
