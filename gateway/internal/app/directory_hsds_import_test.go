package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/services/directory/hsds"
)

func TestHSDSImportRoundTrip(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(hsdsTestdata, "example_service_full.json"))
	if err != nil {
		t.Fatal(err)
	}
	stores(t, func(t *testing.T, n *node) {
		admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := directoryv1.NewDirectoryServiceClient(conn)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin)

		bundle, err := hsds.Decode(raw, "en")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range hsds.Import(ctx, client, bundle, nil) {
			if r.Outcome != hsds.Created {
				t.Errorf("first import: %s %s %s %v", r.Kind, r.ID, r.Outcome, r.Err)
			}
		}
		head := decode[changesJSON](t, n.do(t, "GET", "/v1/directory/changes?page_size=1000", "", nil))

		r := n.do(t, "GET", "/hsds/services/ac148810-d857-441c-9679-408f346de14b?locale=en", "", nil)
		if r.status != 200 {
			t.Fatalf("GET imported service = %d %s", r.status, r.body)
		}
		validateHSDS(t, "service.json", r.body)
		got := decode[map[string]any](t, r)
		var want map[string]any
		if err := jsonUnmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		// The fields Ponte models come back as they went in.
		for _, field := range []string{"id", "name", "description", "url", "email", "status", "interpretation_services",
			"application_process", "fees_description", "eligibility_description", "minimum_age", "maximum_age"} {
			if !reflect.DeepEqual(got[field], want[field]) {
				t.Errorf("%s = %v, want %v", field, got[field], want[field])
			}
		}
		org := got["organization"].(map[string]any)
		wantOrg := want["organization"].(map[string]any)
		for _, field := range []string{"id", "name", "description", "email", "website"} {
			if org[field] != wantOrg[field] {
				t.Errorf("organization.%s = %v, want %v", field, org[field], wantOrg[field])
			}
		}
		checks := []struct{ name, path, want string }{
			{"the phone number", "phones", "+44 1234 234567"},
			{"the phone extension", "phones", "extension:100"},
			{"the spoken language", "languages", "code:ur"},
			{"the weekly opening on Thursday", "schedules", "byday:TH"},
			{"the weekly opening on Friday", "schedules", "byday:FR"},
			{"the opening time", "schedules", "opens_at:10:00"},
			{"the location", "service_at_locations", "3a19ff88-4620-4d17-9830-ac1d859eb5d5"},
			{"the location's address", "service_at_locations", "1-30 Main Street"},
			{"the location's name", "service_at_locations", "MyCity Civic Center"},
			{"the taxonomy term", "attributes", "3f7b145d-84af-42d7-8fae-eaca714b02b2"},
			{"the required document", "required_documents", "Any official identification document"},
			{"the contact", "contacts", "Ann Persona"},
		}
		for _, c := range checks {
			if s := flatten(got[c.path]); !strings.Contains(s, c.want) {
				t.Errorf("%s: %s lacks %q: %s", c.name, c.path, c.want, s)
			}
		}

		// A second import of the same document changes nothing and writes no change.
		again, err := hsds.Decode(raw, "en")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range hsds.Import(ctx, client, again, nil) {
			if r.Outcome != hsds.Unchanged {
				t.Errorf("second import: %s %s %s %v", r.Kind, r.ID, r.Outcome, r.Err)
			}
		}
		if after := decode[changesJSON](t, n.do(t, "GET", "/v1/directory/changes?page_size=1000", "", nil)); len(after.Changes) != len(head.Changes) {
			t.Errorf("the second import wrote %d changes", len(after.Changes)-len(head.Changes))
		}

		// A changed document updates the record in place.
		changed, err := hsds.Decode([]byte(strings.Replace(string(raw), "Community Counselling", "Community Counselling Plus", 1)), "en")
		if err != nil {
			t.Fatal(err)
		}
		outcomes := map[string]hsds.Outcome{}
		for _, r := range hsds.Import(ctx, client, changed, nil) {
			outcomes[r.Kind+" "+r.ID] = r.Outcome
		}
		if outcomes["service ac148810-d857-441c-9679-408f346de14b"] != hsds.Updated {
			t.Errorf("outcomes of a changed import = %v, want the service updated", outcomes)
		}
	})
}

func TestHSDSExportImportsIntoAnotherNode(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, from *node) {
		admin := from.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		partner := from.token(t, auth.Principal{Subject: "p1", Organization: "caritas-crema", Roles: []string{auth.RolePartnerAdmin}})
		seedDirectory(t, from, admin, partner)
		if r := from.do(t, "PATCH", "/v1/organizations/caritas-crema", partner, map[string]any{"description": map[string]string{"it": "Aiuto", "ar": "مساعدة"}}); r.status != 200 {
			t.Fatalf("PATCH organization = %d %s", r.status, r.body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a shared CI machine starts the second node slowly
		defer cancel()
		client := func(n *node) directoryv1.DirectoryServiceClient {
			conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return directoryv1.NewDirectoryServiceClient(conn)
		}
		var doc strings.Builder
		if err := hsds.Export(ctx, client(from), &doc); err != nil {
			t.Fatal(err)
		}

		// The export is HSDS 3.1, formats asserted: every id a UUID.
		var exported []json.RawMessage
		if err := json.Unmarshal([]byte(doc.String()), &exported); err != nil || len(exported) != 2 {
			t.Fatalf("export = %d organizations (%v), want 2", len(exported), err)
		}
		for _, o := range exported {
			validateHSDSAnswer(t, "organization.json", o)
		}
		if !strings.Contains(doc.String(), hsdsID("service/l2-crema")) || strings.Contains(doc.String(), `"id":"l2-crema"`) {
			t.Errorf("export does not name l2-crema by its UUID")
		}
		// Imported again where it came from, it finds every record under its own id and
		// changes nothing — but l2-crema's "free", for which HSDS has no field.
		fromAdmin := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin)
		back, err := hsds.Decode([]byte(doc.String()), "it")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range hsds.Import(fromAdmin, client(from), back, nil) {
			want := hsds.Unchanged
			if r.Kind == "service" && r.ID == "l2-crema" {
				want = hsds.Updated
			}
			if r.Outcome != want {
				t.Errorf("import of the export into its own node: %s %s %s %v, want %s", r.Kind, r.ID, r.Outcome, r.Err, want)
			}
		}

		to := startNode(t, "")
		toAdmin := to.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		b, err := hsds.Decode([]byte(doc.String()), "it")
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Warnings) > 0 {
			t.Errorf("decoding the export warned: %v", b.Warnings)
		}
		authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+toAdmin)
		for _, r := range hsds.Import(authed, client(to), b, nil) {
			if r.Outcome != hsds.Created {
				t.Errorf("import of the export: %s %s %s %v", r.Kind, r.ID, r.Outcome, r.Err)
			}
		}

		type kept struct {
			Name               map[string]string `json:"name"`
			Description        map[string]string `json:"description"`
			Type               string            `json:"type"`
			MunicipalityCode   string            `json:"municipalityCode"`
			Latitude           float64           `json:"latitude"`
			Address            map[string]any    `json:"address"`
			OrganizationID     string            `json:"organizationId"`
			Languages          []string          `json:"languages"`
			TargetGroups       []string          `json:"targetGroups"`
			TaxonomyTermIDs    []string          `json:"taxonomyTermIds"`
			ServiceAtLocations []map[string]any  `json:"serviceAtLocations"`
			Schedules          []map[string]any  `json:"schedules"`
		}
		for _, path := range []string{
			"/v1/services/l2-crema", "/v1/services/clinic-cremona", "/v1/services/l2-sona",
			"/v1/organizations/caritas-crema", "/v1/organizations/cittimm",
			"/v1/locations/loc-crema", "/v1/locations/loc-sona",
		} {
			want := decode[kept](t, from.do(t, "GET", path, "", nil))
			got := decode[kept](t, to.do(t, "GET", path, "", nil))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s on the other node = %+v, want %+v", path, got, want)
			}
		}
	})
}
