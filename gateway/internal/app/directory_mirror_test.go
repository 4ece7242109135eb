package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
)

// recordJSON is the part of a directory record the mirror tests read.
type recordJSON struct {
	ID     string            `json:"id"`
	Etag   string            `json:"etag"`
	Origin string            `json:"origin"`
	Name   map[string]string `json:"name"`
}

// eventually polls cond until it holds, failing the test with cond's last report after
// 20s: mirroring is asynchronous, so tests wait for its outcome rather than for a time.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, report := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after 20s: %s", what, report)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hasRecord waits until n serves path with origin and a name (Italian) containing name.
func hasRecord(t *testing.T, n *node, path, origin, name string) recordJSON {
	t.Helper()
	var got recordJSON
	eventually(t, path+" mirrored from "+origin, func() (bool, string) {
		r := n.do(t, "GET", path, "", nil)
		if r.status != 200 {
			return false, fmt.Sprintf("status %d", r.status)
		}
		got = decode[recordJSON](t, r)
		return got.Origin == origin && strings.Contains(got.Name["it"], name), string(r.body)
	})
	return got
}

// lacksRecord waits until n answers 404 for path.
func lacksRecord(t *testing.T, n *node, path string) {
	t.Helper()
	eventually(t, path+" gone", func() (bool, string) {
		r := n.do(t, "GET", path, "", nil)
		return r.status == 404, fmt.Sprintf("status %d", r.status)
	})
}

func TestDirectoryMirror(t *testing.T) {
	t.Parallel()
	for _, st := range []struct {
		name     string
		database func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
	} {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			testDirectoryMirror(t, st.database)
		})
	}
}

func testDirectoryMirror(t *testing.T, database func(t *testing.T) string) {
	cremasco, casalasco := startNode(t, database(t)), startNode(t, database(t))
	root := auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}}
	write := func(n *node, method, path string, body any) {
		t.Helper()
		if r := n.do(t, method, path, n.token(t, root), body); r.status/100 != 2 {
			t.Fatalf("%s %s = %d %s", method, path, r.status, r.body)
		}
	}
	write(cremasco, "POST", "/v1/organizations", map[string]any{"id": "crema-org", "name": map[string]string{"it": "Caritas Crema"}, "municipalityCode": "019035"})
	write(cremasco, "POST", "/v1/taxonomyTerms", map[string]any{"id": "crema-term", "taxonomy": "crema", "organizationId": "crema-org", "name": map[string]string{"it": "Doposcuola"}})
	write(cremasco, "POST", "/v1/locations", map[string]any{"id": "crema-loc", "organizationId": "crema-org", "municipalityCode": "019035",
		"name": map[string]string{"it": "Sede di Crema"}, "latitude": 45.3627, "longitude": 9.6843})
	write(cremasco, "POST", "/v1/services", map[string]any{"id": "crema-l2", "organizationId": "crema-org",
		"name": map[string]string{"it": "Scuola di italiano"}, "taxonomyTermIds": []string{"crema-term"}, "languages": []string{"it", "ar"},
		"serviceAtLocations": []map[string]any{{"locationId": "crema-loc"}}})
	write(casalasco, "POST", "/v1/organizations", map[string]any{"id": "casal-org", "name": map[string]string{"it": "Comune di Casalmaggiore"}, "municipalityCode": "019021"})
	write(casalasco, "POST", "/v1/services", map[string]any{"id": "casal-help", "organizationId": "casal-org", "name": map[string]string{"it": "Sportello stranieri"}})

	regionDir, regionDB := t.TempDir(), database(t)
	regionArgs := []string{"--data-dir=" + regionDir, "--directory-mirror=cremasco=" + cremasco.grpc + ",casalasco=" + casalasco.grpc}

	t.Run("the region follows its districts", func(t *testing.T) {
		region := startNode(t, regionDB, regionArgs...)
		regionAdmin := region.token(t, root)
		hasRecord(t, region, "/v1/services/crema-l2", "cremasco", "Scuola di italiano")
		hasRecord(t, region, "/v1/services/casal-help", "casalasco", "Sportello stranieri")
		hasRecord(t, region, "/v1/taxonomyTerms/crema-term", "cremasco", "Doposcuola")
		// Search finds mirrored services, following their mirrored terms and locations.
		eventually(t, "search on the region", func() (bool, string) {
			r := region.do(t, "GET", "/v1/services:search?q=doposcuola&territory=019035&language=ar", "", nil)
			return r.status == 200 && strings.Contains(string(r.body), `"crema-l2"`), string(r.body)
		})

		// An update at the origin arrives with the origin's etag.
		write(cremasco, "PATCH", "/v1/services/crema-l2", map[string]any{"name": map[string]string{"it": "Scuola serale di italiano"}})
		upstream := decode[recordJSON](t, cremasco.do(t, "GET", "/v1/services/crema-l2", "", nil))
		if got := hasRecord(t, region, "/v1/services/crema-l2", "cremasco", "serale"); got.Etag != upstream.Etag {
			t.Errorf("mirrored etag = %q, want the origin's %q", got.Etag, upstream.Etag)
		}

		// The region refuses to write what it mirrors, naming the record and its origin.
		refusals := []struct {
			name, method, path string
			body               any
		}{
			{"an update of a mirrored service", "PATCH", "/v1/services/crema-l2", map[string]any{"name": map[string]string{"it": "x"}}},
			{"a delete of a mirrored organization", "DELETE", "/v1/organizations/casal-org", nil},
			{"a create with a mirrored id", "POST", "/v1/organizations", map[string]any{"id": "crema-org", "name": map[string]string{"it": "x"}}},
		}
		for _, tt := range refusals {
			r := region.do(t, tt.method, tt.path, regionAdmin, tt.body)
			detail := fmt.Sprint(r.problem["detail"])
			if r.status != 400 || !strings.Contains(detail, "is mirrored from") || !strings.Contains(detail, "change it at its origin") {
				t.Errorf("%s: %s %s = %d %s, want 400 naming the origin", tt.name, tt.method, tt.path, r.status, r.body)
			}
		}

		// An id the region already holds as its own is left alone when a district reuses it.
		write(region, "POST", "/v1/organizations", map[string]any{"id": "dup-org", "name": map[string]string{"it": "Regione"}})
		write(casalasco, "POST", "/v1/organizations", map[string]any{"id": "dup-org", "name": map[string]string{"it": "Distretto"}})
		write(casalasco, "POST", "/v1/organizations", map[string]any{"id": "casal-late", "name": map[string]string{"it": "Dopo"}})
		hasRecord(t, region, "/v1/organizations/casal-late", "casalasco", "Dopo")
		hasRecord(t, region, "/v1/organizations/dup-org", "", "Regione")

		// Deletes follow.
		write(cremasco, "DELETE", "/v1/services/crema-l2", nil)
		lacksRecord(t, region, "/v1/services/crema-l2")
	})

	// While the region is down the districts go on: a delete, an update, a create.
	write(cremasco, "DELETE", "/v1/locations/crema-loc", nil)
	write(casalasco, "PATCH", "/v1/services/casal-help", map[string]any{"name": map[string]string{"it": "Sportello stranieri e famiglie"}})
	write(casalasco, "POST", "/v1/services", map[string]any{"id": "casal-new", "organizationId": "casal-org", "name": map[string]string{"it": "Doposcuola"}})

	t.Run("a restarted region resumes from its cursor", func(t *testing.T) {
		region := startNode(t, regionDB, regionArgs...)
		lacksRecord(t, region, "/v1/locations/crema-loc")
		hasRecord(t, region, "/v1/services/casal-help", "casalasco", "famiglie")
		hasRecord(t, region, "/v1/services/casal-new", "casalasco", "Doposcuola")
		hasRecord(t, region, "/v1/organizations/crema-org", "cremasco", "Caritas Crema")

		// Nothing was applied twice: the region's own log holds each change once.
		r := region.do(t, "GET", "/v1/directory/changes?page_size=1000", "", nil)
		if r.status != 200 {
			t.Fatalf("changes = %d %s", r.status, r.body)
		}
		count := map[string]int{}
		for _, c := range decode[changesJSON](t, r).Changes {
			count[c.Op+" "+c.Topic+" "+c.Key]++
		}
		for key, want := range map[string]int{
			"upsert organization crema-org": 1, "upsert service crema-l2": 2, "delete service crema-l2": 1,
			"upsert location crema-loc": 1, "delete location crema-loc": 1, "upsert service casal-help": 2,
			"upsert service casal-new": 1, "upsert organization dup-org": 1, "upsert organization casal-late": 1,
		} {
			if count[key] != want {
				t.Errorf("region's change log has %q %d times, want %d", key, count[key], want)
			}
		}
	})
}
