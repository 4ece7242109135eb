package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ponte-network/ponte/libs/auth"
)

type serviceJSON struct {
	ID             string            `json:"id"`
	OrganizationID string            `json:"organizationId"`
	Name           map[string]string `json:"name"`
	Description    map[string]string `json:"description"`
	Etag           string            `json:"etag"`
}

type searchJSON struct {
	Results []struct {
		Service           serviceJSON `json:"service"`
		DistanceKm        float64     `json:"distanceKm"`
		NearestLocationID string      `json:"nearestLocationId"`
	} `json:"results"`
	NextPageToken  string `json:"nextPageToken"`
	TotalSize      int    `json:"totalSize"`
	TaxonomyFacets []struct {
		Value string `json:"value"`
		Label string `json:"label"`
		Count int    `json:"count"`
	} `json:"taxonomyFacets"`
	MunicipalityFacets []struct {
		Value string `json:"value"`
		Label string `json:"label"`
		Count int    `json:"count"`
	} `json:"municipalityFacets"`
}

type changesJSON struct {
	Changes []struct {
		Position string         `json:"position"`
		Topic    string         `json:"topic"`
		Key      string         `json:"key"`
		Op       string         `json:"op"`
		Payload  map[string]any `json:"payload"`
	} `json:"changes"`
	NextAfter string `json:"nextAfter"`
}

func (s searchJSON) ids() []string {
	out := []string{}
	for _, r := range s.Results {
		out = append(out, r.Service.ID)
	}
	return out
}

// seedDirectory writes a small directory: a taxonomy, two organizations, three
// locations (Crema and Cremona in Lombardy, Sona in Veneto) and three services.
func seedDirectory(t *testing.T, n *node, admin, partner string) {
	t.Helper()
	monday := func(opens, closes string) map[string]any {
		return map[string]any{"weekday": "WEEKDAY_MONDAY", "opensAt": opens, "closesAt": closes}
	}
	writes := []struct {
		path, token string
		body        any
	}{
		{"/v1/taxonomyTerms", admin, map[string]any{"id": "ponte:language", "taxonomy": "ponte", "name": map[string]string{"it": "Lingua", "en": "Language"}}},
		{"/v1/taxonomyTerms", admin, map[string]any{"id": "ponte:l2", "taxonomy": "ponte", "parentId": "ponte:language", "name": map[string]string{
			"it": "Corsi di italiano L2", "en": "Italian language courses", "fr": "Cours d'italien", "ar": "دورات اللغة الإيطالية"}}},
		{"/v1/taxonomyTerms", admin, map[string]any{"id": "ponte:health", "taxonomy": "ponte", "name": map[string]string{"it": "Salute", "en": "Health", "fr": "Santé"}}},
		{"/v1/organizations", partner, map[string]any{"id": "caritas-crema", "name": map[string]string{"it": "Caritas Crema"},
			"type": "ORGANIZATION_TYPE_FAITH_COMMUNITY", "municipalityCode": "019035"}},
		{"/v1/organizations", admin, map[string]any{"id": "cittimm", "name": map[string]string{"it": "CittImm Sona"}, "municipalityCode": "023083"}},
		{"/v1/locations", partner, map[string]any{"id": "loc-crema", "organizationId": "caritas-crema", "municipalityCode": "019035",
			"latitude": 45.3627, "longitude": 9.6843, "address": map[string]any{"address1": "Via Goldaniga 11", "city": "Crema", "postalCode": "26013"}}},
		{"/v1/locations", partner, map[string]any{"id": "loc-cremona", "organizationId": "caritas-crema", "municipalityCode": "019036",
			"latitude": 45.1336, "longitude": 10.0247}},
		{"/v1/locations", admin, map[string]any{"id": "loc-sona", "organizationId": "cittimm", "municipalityCode": "023083",
			"latitude": 45.4326, "longitude": 10.8361}},
		{"/v1/services", partner, map[string]any{"id": "l2-crema", "organizationId": "caritas-crema",
			"name":        map[string]string{"it": "Scuola di italiano per adulti", "en": "Italian school for adults", "ar": "مدرسة اللغة الإيطالية"},
			"description": map[string]string{"it": "Corsi gratuiti, livelli A1-B1"}, "taxonomyTermIds": []string{"ponte:l2"},
			"languages": []string{"it", "ar"}, "targetGroups": []string{"adults"}, "free": true,
			"serviceAtLocations": []map[string]any{{"locationId": "loc-crema"}},
			"schedules":          []map[string]any{monday("09:00", "12:00"), {"exceptionDate": "2026-12-07", "closed": true}}}},
		{"/v1/services", partner, map[string]any{"id": "clinic-cremona", "organizationId": "caritas-crema",
			"name": map[string]string{"it": "Ambulatorio STP", "fr": "Dispensaire"}, "taxonomyTermIds": []string{"ponte:health"},
			"languages": []string{"it", "en", "fr", "ar"}, "targetGroups": []string{"people-without-residence-permit"},
			"serviceAtLocations": []map[string]any{{"locationId": "loc-cremona", "schedules": []map[string]any{monday("14:00", "18:00")}}}}},
		{"/v1/services", admin, map[string]any{"id": "l2-sona", "organizationId": "cittimm",
			"name": map[string]string{"it": "Italiano per donne"}, "taxonomyTermIds": []string{"ponte:l2"},
			"languages": []string{"it", "uk"}, "targetGroups": []string{"women"},
			"serviceAtLocations": []map[string]any{{"locationId": "loc-sona"}}}},
		{"/v1/territories", admin, map[string]any{"code": "ambito-cremasco", "name": "Ambito Cremasco", "municipalityCodes": []string{"019035", "019003"}}},
	}
	for _, w := range writes {
		if r := n.do(t, "POST", w.path, w.token, w.body); r.status != http.StatusCreated {
			t.Fatalf("POST %s = %d %s", w.path, r.status, r.body)
		}
	}
}

func TestDirectorySearchOverREST(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		partner := n.token(t, auth.Principal{Subject: "p1", Organization: "caritas-crema", Roles: []string{auth.RolePartnerAdmin}})
		seedDirectory(t, n, admin, partner)

		tests := []struct {
			name  string
			query string
			want  []string // in rank order
		}{
			{"an English query finds the L2 courses through the taxonomy labels", "q=Italian+course", []string{"l2-sona", "l2-crema"}},
			{"a French query finds them too", "q=" + url.QueryEscape("cours d'italien"), []string{"l2-sona", "l2-crema"}},
			{"case and accents are ignored", "q=SANTE", []string{"clinic-cremona"}},
			{"a name match ranks before a description or label match", "q=italiano", []string{"l2-sona", "l2-crema"}},
			{"a province includes its municipalities", "territory=019", []string{"clinic-cremona", "l2-crema"}},
			{"a region includes everything under it", "territory=05", []string{"l2-sona"}},
			{"a district includes its municipalities", "territory=ambito-cremasco", []string{"l2-crema"}},
			{"a language spoken at the service", "language=ar", []string{"clinic-cremona", "l2-crema"}},
			{"a target group", "target_group=women", []string{"l2-sona"}},
			{"a parent term finds its children's services", "taxonomy=ponte:language", []string{"l2-sona", "l2-crema"}},
			{"open on a Monday morning in Rome time", "open_at=" + url.QueryEscape("2026-11-23T09:30:00+01:00"), []string{"l2-crema"}},
			{"open on a Monday afternoon, given in UTC", "open_at=2026-11-23T15:00:00Z", []string{"clinic-cremona"}},
			{"an exception closes a Monday", "open_at=" + url.QueryEscape("2026-12-07T10:00:00+01:00"), []string{}},
			{"near sorts by distance within the radius", "near=45.36,9.68&radius_km=50", []string{"l2-crema", "clinic-cremona"}},
			{"filters combine", "q=italiano&territory=03&language=ar", []string{"l2-crema"}},
		}
		for _, tt := range tests {
			r := n.do(t, "GET", "/v1/services:search?"+tt.query, "", nil)
			if r.status != 200 {
				t.Errorf("%s: status %d %s", tt.name, r.status, r.body)
				continue
			}
			got := decode[searchJSON](t, r)
			if !reflect.DeepEqual(got.ids(), tt.want) || got.TotalSize != len(tt.want) {
				t.Errorf("%s: got %v (total %d), want %v", tt.name, got.ids(), got.TotalSize, tt.want)
			}
		}

		near := decode[searchJSON](t, n.do(t, "GET", "/v1/services:search?near=45.36,9.68&radius_km=50", "", nil))
		if len(near.Results) == 2 && (near.Results[0].DistanceKm > 1 || near.Results[1].DistanceKm < 30 || near.Results[1].DistanceKm > 45 || near.Results[1].NearestLocationID != "loc-cremona") {
			t.Errorf("distances = %+v, want about 0.3 km to Crema and about 37 km to Cremona", near.Results)
		}

		// The returned language: one entry, the requested locale or the Italian fallback.
		en := decode[searchJSON](t, n.do(t, "GET", "/v1/services:search?territory=019&locale=en", "", nil))
		for _, res := range en.Results {
			want := map[string]map[string]string{
				"l2-crema":       {"en": "Italian school for adults"},
				"clinic-cremona": {"it": "Ambulatorio STP"},
			}[res.Service.ID]
			if !reflect.DeepEqual(res.Service.Name, want) {
				t.Errorf("locale=en name of %s = %v, want %v", res.Service.ID, res.Service.Name, want)
			}
		}
		if f := en.TaxonomyFacets; len(f) != 2 || f[0].Value != "ponte:health" || f[0].Count != 1 || f[0].Label != "Health" {
			t.Errorf("taxonomy facets = %+v, want health and l2 once each, labelled in English", f)
		}
		if f := en.MunicipalityFacets; len(f) != 2 || f[0].Value != "019035" || f[0].Label != "Crema" || f[1].Value != "019036" {
			t.Errorf("municipality facets = %+v, want Crema and Cremona once each", f)
		}
		one := decode[searchJSON](t, n.do(t, "GET", "/v1/services:search?territory=019&facet_size=1", "", nil))
		if len(one.TaxonomyFacets) != 1 || len(one.MunicipalityFacets) != 1 || one.MunicipalityFacets[0].Value != "019035" {
			t.Errorf("facet_size=1 facets = %+v, %+v; want the first of each", one.TaxonomyFacets, one.MunicipalityFacets)
		}
		all := decode[searchJSON](t, n.do(t, "GET", "/v1/services:search?territory=019035", "", nil))
		if len(all.Results) != 1 || len(all.Results[0].Service.Name) != 3 {
			t.Errorf("without locale every translation comes back: %+v", all.Results)
		}

		// A result is the service as GET returns it, etag and times included, in every
		// translation or in one locale (the edge writes the directory's rendering of it),
		// also right after an update.
		sameAsGet := func(when string) {
			t.Helper()
			for _, locale := range []string{"", "en", "ar", "en"} { // en twice: the second from the kept rendering
				var found struct {
					Results []struct {
						Service json.RawMessage `json:"service"`
					} `json:"results"`
				}
				if err := json.Unmarshal(n.do(t, "GET", "/v1/services:search?territory=019036&locale="+locale, "", nil).body, &found); err != nil || len(found.Results) != 1 {
					t.Fatalf("%s, locale %q: search for the clinic: %v, %d results", when, locale, err, len(found.Results))
				}
				got := n.do(t, "GET", "/v1/services/clinic-cremona?locale="+locale, "", nil)
				if !jsonEqual(t, found.Results[0].Service, got.body) {
					t.Errorf("%s, locale %q: search result %s, GET %s", when, locale, found.Results[0].Service, got.body)
				}
			}
		}
		sameAsGet("after the seed")
		if r := n.do(t, "PATCH", "/v1/services/clinic-cremona", partner, map[string]any{"free": true}); r.status != 200 {
			t.Fatalf("PATCH clinic = %d %s", r.status, r.body)
		}
		sameAsGet("after an update")

		// Paging one by one visits every match once, in rank order.
		var paged []string
		tok := ""
		for range 5 {
			page := decode[searchJSON](t, n.do(t, "GET", "/v1/services:search?page_size=1&page_token="+url.QueryEscape(tok), "", nil))
			paged = append(paged, page.ids()...)
			if tok = page.NextPageToken; tok == "" {
				break
			}
		}
		if want := []string{"clinic-cremona", "l2-sona", "l2-crema"}; !reflect.DeepEqual(paged, want) {
			t.Errorf("paged = %v, want %v (ordered by name in the fallback locale)", paged, want)
		}
	})
}

func TestDirectoryWritesOverREST(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		partner := n.token(t, auth.Principal{Subject: "p1", Organization: "caritas-crema", Roles: []string{auth.RolePartnerAdmin}})
		otherPartner := n.token(t, auth.Principal{Subject: "p2", Organization: "cittimm", Roles: []string{auth.RolePartnerOperator}})
		districtCremona := n.token(t, auth.Principal{Subject: "d1", Organization: "ats", Territory: "019", Roles: []string{auth.RoleDistrictAdmin}})
		districtVerona := n.token(t, auth.Principal{Subject: "d2", Organization: "ulss9", Territory: "023", Roles: []string{auth.RoleDistrictAdmin}})
		districtCremasco := n.token(t, auth.Principal{Subject: "d3", Organization: "ats", Territory: "ambito-cremasco", Roles: []string{auth.RoleDistrictAdmin}})
		seedDirectory(t, n, admin, partner)

		page := decode[searchJSON](t, n.do(t, "GET", "/v1/services:search?page_size=1", "", nil))
		before := decode[changesJSON](t, n.do(t, "GET", "/v1/directory/changes?page_size=1000", "", nil))
		svc := func(extra map[string]any) map[string]any {
			m := map[string]any{"organizationId": "caritas-crema", "name": map[string]string{"it": "Nuovo servizio"}}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}

		bad := []struct {
			name      string
			method    string
			path      string
			token     string
			body      any
			wantParam string // "" = only the status is checked
			status    int
		}{
			{"an unknown taxonomy term is refused naming the field", "POST", "/v1/services", partner,
				svc(map[string]any{"taxonomyTermIds": []string{"ponte:l2", "ponte:nothing"}}), "service.taxonomyTermIds[1]", 400},
			{"an unknown location is refused naming the field", "POST", "/v1/services", partner,
				svc(map[string]any{"serviceAtLocations": []map[string]any{{"locationId": "nowhere"}}}), "service.serviceAtLocations[0].locationId", 400},
			{"a name over 300 characters is refused", "POST", "/v1/services", partner,
				svc(map[string]any{"name": map[string]string{"it": strings.Repeat("x", 301)}}), "service.name", 400},
			{"a latitude out of range is refused", "POST", "/v1/locations", partner,
				map[string]any{"organizationId": "caritas-crema", "municipalityCode": "019035", "latitude": 95, "longitude": 9}, "location.latitude", 400},
			{"a latitude without longitude is refused", "POST", "/v1/locations", partner,
				map[string]any{"organizationId": "caritas-crema", "municipalityCode": "019035", "latitude": 45}, "location.longitude", 400},
			{"an unknown municipality is refused", "POST", "/v1/locations", partner,
				map[string]any{"organizationId": "caritas-crema", "municipalityCode": "019999"}, "location.municipalityCode", 400},
			{"a closing time before the opening is refused", "POST", "/v1/services", partner,
				svc(map[string]any{"schedules": []map[string]any{{"weekday": "WEEKDAY_FRIDAY", "opensAt": "12:00", "closesAt": "09:00"}}}), "service.schedules[0].closesAt", 400},
			{"an unknown target group is refused", "POST", "/v1/services", partner,
				svc(map[string]any{"targetGroups": []string{"martians"}}), "service.targetGroups[0]", 400},
			{"a malformed language code is refused", "POST", "/v1/services", partner,
				svc(map[string]any{"languages": []string{"Italian"}}), "service.languages[0]", 400},
			{"malformed coordinates are refused", "GET", "/v1/services:search?near=north", "", nil, "near", 400},
			{"coordinates out of range are refused", "GET", "/v1/services:search?near=95,10", "", nil, "near", 400},
			{"a radius over 200 km is refused", "GET", "/v1/services:search?near=45,9&radius_km=500", "", nil, "radiusKm", 400},
			{"a radius without near is refused", "GET", "/v1/services:search?radius_km=5", "", nil, "radiusKm", 400},
			{"an unknown taxonomy in search is refused", "GET", "/v1/services:search?taxonomy=ponte:nothing", "", nil, "taxonomy[0]", 400},
			{"an unknown territory is refused", "GET", "/v1/services:search?territory=ambito-nowhere", "", nil, "territory", 400},
			{"a page token from another query is refused", "GET", "/v1/services:search?q=italiano&page_token=" + url.QueryEscape(page.NextPageToken), "", nil, "pageToken", 400},
			{"a query over 200 characters is refused", "GET", "/v1/services:search?q=" + strings.Repeat("a", 201), "", nil, "q", 400},
			{"a page size over 1000 is refused", "GET", "/v1/services?page_size=1001", "", nil, "pageSize", 400},
			{"writing without a token is 401", "POST", "/v1/services", "", svc(nil), "", 401},
			{"another organization's operator may not add services: 403", "POST", "/v1/services", otherPartner, svc(nil), "", 403},
			{"a district admin of Verona may not edit a Crema service: 403", "PATCH", "/v1/services/l2-crema", districtVerona,
				map[string]any{"description": map[string]string{"it": "x"}}, "", 403},
			{"a partner may not write built-in terms: 403", "POST", "/v1/taxonomyTerms", partner,
				map[string]any{"id": "ponte:new", "name": map[string]string{"it": "Nuovo"}}, "", 403},
			{"a district admin of Verona may not register an organization seated in Crema: 403", "POST", "/v1/organizations", districtVerona,
				map[string]any{"id": "assoc-crema", "name": map[string]string{"it": "Associazione"}, "municipalityCode": "019035"}, "", 403},
			{"a partner may not register another organization: 403", "POST", "/v1/organizations", partner,
				map[string]any{"id": "someone-else", "name": map[string]string{"it": "Altro"}}, "", 403},
			{"a partner operator may not register organizations: 403", "POST", "/v1/organizations", otherPartner,
				map[string]any{"id": "cittimm-2", "name": map[string]string{"it": "Altro"}}, "", 403},
			{"an id taken is 409", "POST", "/v1/services", partner, svc(map[string]any{"id": "l2-crema"}), "", 409},
			{"a PATCH body id other than the path's is refused", "PATCH", "/v1/services/l2-crema", partner,
				map[string]any{"id": "clinic-cremona", "free": true}, "service.id", 400},
			{"an unknown field in the mask is refused", "PATCH", "/v1/services/l2-crema?update_mask=colour", partner,
				map[string]any{"free": true}, "updateMask", 400},
			{"a stale etag is 409", "PATCH", "/v1/services/l2-crema", partner,
				map[string]any{"description": map[string]string{"it": "x"}, "etag": "0000"}, "", 409},
			{"a term in use cannot be deleted", "DELETE", "/v1/taxonomyTerms/ponte:l2", admin, nil, "", 400},
			{"an unknown service is 404", "GET", "/v1/services/nothing", "", nil, "", 404},
		}
		for _, tt := range bad {
			r := n.do(t, tt.method, tt.path, tt.token, tt.body)
			if r.status != tt.status || r.problem == nil {
				t.Errorf("%s: status = %d, want a %d problem: %s", tt.name, r.status, tt.status, r.body)
				continue
			}
			if tt.wantParam != "" && !hasInvalidParamPrefix(r.problem, tt.wantParam) {
				t.Errorf("%s: problem does not name %s: %s", tt.name, tt.wantParam, r.body)
			}
		}
		after := decode[changesJSON](t, n.do(t, "GET", "/v1/directory/changes?page_size=1000", "", nil))
		if len(after.Changes) != len(before.Changes) {
			t.Fatalf("refused requests wrote %d changes", len(after.Changes)-len(before.Changes))
		}

		// Updates: a field mask from the PATCH body, the etag checked, writers by territory.
		cur := decode[serviceJSON](t, n.do(t, "GET", "/v1/services/l2-crema", "", nil))
		r := n.do(t, "PATCH", "/v1/services/l2-crema", districtCremona, map[string]any{"description": map[string]string{"it": "Nuovi corsi", "en": "New courses"}, "etag": cur.Etag})
		if r.status != 200 {
			t.Fatalf("district admin of Cremona PATCH = %d %s", r.status, r.body)
		}
		upd := decode[serviceJSON](t, r)
		if upd.Etag == cur.Etag || upd.Description["en"] != "New courses" || !reflect.DeepEqual(upd.Name, cur.Name) {
			t.Errorf("updated = %+v, want a new etag, the new description and the name untouched", upd)
		}
		if r := n.do(t, "PATCH", "/v1/services/l2-crema", partner, map[string]any{"description": map[string]string{"it": "x"}, "etag": cur.Etag}); r.status != 409 {
			t.Errorf("PATCH with the etag of before = %d, want 409", r.status)
		}
		if r := n.do(t, "PATCH", "/v1/services/l2-crema", districtCremasco, `{"free":false}`, "Content-Type", "application/merge-patch+json"); r.status != 200 {
			t.Errorf("a district admin of the district holding Crema PATCH = %d %s", r.status, r.body)
		}
		if r := n.do(t, "PATCH", "/v1/services/clinic-cremona", districtCremasco, map[string]any{"free": true}); r.status != 403 {
			t.Errorf("a district admin of Cremasco editing a Cremona service = %d, want 403", r.status)
		}
		if r := n.do(t, "POST", "/v1/organizations", districtCremona, map[string]any{"id": "assoc-crema", "name": map[string]string{"it": "Associazione", "uk": "Асоціація"},
			"municipalityCode": "019035", "type": "ORGANIZATION_TYPE_ASSOCIATION"}); r.status != http.StatusCreated {
			t.Errorf("a district admin of Cremona registers an organization seated in Crema = %d %s", r.status, r.body)
		}
		if got := decode[map[string]any](t, n.do(t, "GET", "/v1/organizations/assoc-crema?locale=uk", "", nil)); fmt.Sprint(got["name"]) != "map[uk:Асоціація]" {
			t.Errorf("organization in Ukrainian = %v", got["name"])
		}
		if got := decode[map[string]any](t, n.do(t, "GET", "/v1/organizations/assoc-crema?locale=zh", "", nil)); fmt.Sprint(got["name"]) != "map[it:Associazione]" {
			t.Errorf("organization in Chinese falls back to Italian: %v", got["name"])
		}
		// A defunct service is not found by search, but still read by id.
		if r := n.do(t, "POST", "/v1/services", partner, map[string]any{"id": "old-desk", "organizationId": "caritas-crema",
			"name": map[string]string{"it": "Sportello chiuso"}, "status": "defunct"}); r.status != http.StatusCreated {
			t.Fatalf("create a defunct service = %d %s", r.status, r.body)
		}
		if got := decode[searchJSON](t, n.do(t, "GET", "/v1/services:search?q=sportello", "", nil)); len(got.Results) != 0 {
			t.Errorf("search found the defunct service: %v", got.ids())
		}
		if r := n.do(t, "GET", "/v1/services/old-desk", "", nil); r.status != 200 {
			t.Errorf("GET the defunct service = %d", r.status)
		}
		if r := n.do(t, "DELETE", "/v1/services/old-desk", partner, nil); r.status != http.StatusNoContent {
			t.Errorf("DELETE the defunct service = %d %s", r.status, r.body)
		}
		// The search index follows updates.
		if got := decode[searchJSON](t, n.do(t, "GET", "/v1/services:search?q=new+courses", "", nil)); !reflect.DeepEqual(got.ids(), []string{"l2-crema"}) {
			t.Errorf("search after update = %v", got.ids())
		}

		// An organization adds its own term under a built-in one.
		if r := n.do(t, "POST", "/v1/taxonomyTerms", partner, map[string]any{"id": "caritas:doposcuola", "parentId": "ponte:language",
			"organizationId": "caritas-crema", "name": map[string]string{"it": "Doposcuola"}}); r.status != http.StatusCreated {
			t.Errorf("partner adds its own term = %d %s", r.status, r.body)
		}

		// Deletes, and the change feed records them.
		if r := n.do(t, "DELETE", "/v1/services/l2-crema", otherPartner, nil); r.status != 403 {
			t.Errorf("another organization's delete = %d, want 403", r.status)
		}
		if r := n.do(t, "DELETE", "/v1/services/l2-crema", partner, nil); r.status != http.StatusNoContent {
			t.Fatalf("delete = %d %s", r.status, r.body)
		}
		if r := n.do(t, "GET", "/v1/services/l2-crema", "", nil); r.status != 404 {
			t.Errorf("deleted service GET = %d, want 404", r.status)
		}
		feed := decode[changesJSON](t, n.do(t, "GET", "/v1/directory/changes?page_size=1000", "", nil))
		topics := map[string]bool{}
		for _, c := range feed.Changes {
			topics[c.Topic+" "+c.Op] = true
		}
		for _, want := range []string{"organization upsert", "location upsert", "taxonomy_term upsert", "service upsert", "service delete", "district upsert"} {
			if !topics[want] {
				t.Errorf("change feed lacks %q: %v", want, topics)
			}
		}
		last := feed.Changes[len(feed.Changes)-1]
		if last.Topic != "service" || last.Key != "l2-crema" || last.Op != "delete" || feed.NextAfter != last.Position {
			t.Errorf("last change = %+v (next after %s), want the delete of l2-crema", last, feed.NextAfter)
		}
		var keys []string
		for _, c := range feed.Changes {
			if c.Topic == "service" && c.Op == "upsert" && c.Key == "l2-crema" {
				keys = append(keys, fmt.Sprint(c.Payload["description"]))
			}
		}
		if len(keys) != 3 {
			t.Errorf("l2-crema upserts = %d, want create and two updates", len(keys))
		}
		list := decode[struct {
			Services []serviceJSON `json:"services"`
		}](t, n.do(t, "GET", "/v1/services?organization_id=caritas-crema", "", nil))
		var ids []string
		for _, s := range list.Services {
			ids = append(ids, s.ID)
		}
		sort.Strings(ids)
		if !slices.Equal(ids, []string{"clinic-cremona"}) {
			t.Errorf("services of caritas-crema = %v", ids)
		}
	})
}

func hasInvalidParamPrefix(problem map[string]any, prefix string) bool {
	params, _ := problem["invalid_params"].([]any)
	for _, p := range params {
		if m, _ := p.(map[string]any); strings.HasPrefix(fmt.Sprint(m["name"]), prefix) {
			return true
		}
	}
	return false
}

// jsonEqual reports whether two JSON documents hold the same values.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}
