package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/auth"
)

type caseJSON struct {
	ID               string `json:"id"`
	PersonID         string `json:"personId"`
	OrganizationID   string `json:"organizationId"`
	DistrictCode     string `json:"districtCode"`
	MunicipalityCode string `json:"municipalityCode"`
	Phase            string `json:"phase"`
	Version          int    `json:"version"`
	Etag             string `json:"etag"`
}

func TestCasesOverREST(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		n.createDistrict(t, "cremasco", "019035", "019004")
		op := n.token(t, auth.Principal{Subject: "op-a", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}})
		other := n.token(t, auth.Principal{Subject: "op-b", Organization: "org-b", Roles: []string{auth.RolePartnerOperator}})
		region := n.token(t, auth.Principal{Subject: "ra", Territory: "03", Roles: []string{auth.RoleRegionAdmin}})
		dadmin := n.token(t, auth.Principal{Subject: "da", Territory: "019", Roles: []string{auth.RoleDistrictAdmin}})

		r := n.do(t, "POST", "/v1/persons", op, map[string]any{"givenName": "Amina", "nationality": "Marocco", "legalBasis": "LEGAL_BASIS_PUBLIC_TASK"})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "nationality") {
			t.Errorf("a person with a nationality not ISO 3166-1 = %d %s, want 400 naming nationality", r.status, r.body)
		}
		r = n.do(t, "POST", "/v1/persons", op, map[string]any{"givenName": "Amina"})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "legal") {
			t.Errorf("personal data without a legal basis = %d %s, want 400", r.status, r.body)
		}
		r = n.do(t, "POST", "/v1/persons", op, map[string]any{"givenName": "Amina", "nationality": "MA", "languages": []string{"ar", "fr"},
			"legalBasis": "LEGAL_BASIS_PUBLIC_TASK"})
		if r.status != http.StatusCreated {
			t.Fatalf("create person = %d %s", r.status, r.body)
		}
		person := decode[map[string]any](t, r)

		r = n.do(t, "POST", "/v1/cases", op, map[string]any{"personId": person["id"], "municipalityCode": "019035", "districtCode": "cremasco",
			"category": "CATEGORY_RENEWAL", "needs": []string{"documents"}})
		if r.status != http.StatusCreated || r.header.Get("Location") != "/v1/cases/"+decode[caseJSON](t, r).ID || r.header.Get("ETag") != `"1"` {
			t.Fatalf("create case = %d %v %s, want 201 with Location and ETag", r.status, r.header, r.body)
		}
		if r.status != http.StatusCreated {
			t.Fatalf("create case = %d %s", r.status, r.body)
		}
		k := decode[caseJSON](t, r)
		if k.Phase != "PHASE_INTAKE" || k.Etag != "1" || k.OrganizationID != "org-a" {
			t.Errorf("created case = %+v, want intake, etag 1, org-a", k)
		}
		r = n.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": "999999", "category": "CATEGORY_RENEWAL"})
		if r.status != http.StatusBadRequest {
			t.Errorf("a case in an unknown municipality = %d %s, want 400", r.status, r.body)
		}

		if r = n.do(t, "GET", "/v1/cases/"+k.ID, other, nil); r.status != http.StatusNotFound {
			t.Errorf("another organization's GET = %d, want 404", r.status)
		}
		if r = n.do(t, "GET", "/v1/cases", region, nil); r.status != http.StatusForbidden {
			t.Errorf("a region admin's list = %d, want 403", r.status)
		}
		if r = n.do(t, "PATCH", "/v1/cases/"+k.ID+"?updateMask=needs", op, map[string]any{"needs": []string{"language"}, "etag": "7"}); r.status != http.StatusConflict {
			t.Errorf("PATCH with a stale etag = %d %s, want 409", r.status, r.body)
		}
		r = n.do(t, "PATCH", "/v1/cases/"+k.ID+"?updateMask=needs", op, map[string]any{"needs": []string{"language"}, "etag": "1"})
		if r.status != http.StatusOK || decode[caseJSON](t, r).Etag != "2" {
			t.Errorf("PATCH = %d %s, want 200 at etag 2", r.status, r.body)
		}
		r = n.do(t, "POST", "/v1/cases/"+k.ID+":transition", op, map[string]any{"phase": "PHASE_DELIVERY"})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "from intake to delivery") {
			t.Errorf("an invalid transition = %d %s, want 400 naming both phases", r.status, r.body)
		}
		r = n.do(t, "POST", "/v1/cases/"+k.ID+":transition", op, map[string]any{"phase": "PHASE_TAKEN_IN_CHARGE", "reason": "documents checked"})
		if r.status != http.StatusOK || decode[caseJSON](t, r).Phase != "PHASE_TAKEN_IN_CHARGE" {
			t.Errorf("transition = %d %s", r.status, r.body)
		}
		r = n.do(t, "POST", "/v1/cases/"+k.ID+"/events", op, map[string]any{"consultation": map[string]any{
			"requesterMunicipalityCode": "019021", "topic": "permesso per attesa occupazione", "minutesSpent": 45}})
		if r.status != http.StatusOK {
			t.Errorf("add consultation = %d %s", r.status, r.body)
		}
		r = n.do(t, "GET", "/v1/cases/"+k.ID+"/events", op, nil)
		if events := decode[map[string][]map[string]any](t, r)["events"]; r.status != http.StatusOK || len(events) != 2 {
			t.Errorf("events = %d %s, want the phase change and the consultation", r.status, r.body)
		}

		items := []map[string]any{}
		for i := range 3 {
			items = append(items, map[string]any{"case": map[string]any{"source": "sil", "externalId": fmt.Sprint(i),
				"municipalityCode": "019035", "category": "CATEGORY_HOUSING"}})
		}
		items = append(items, map[string]any{"case": map[string]any{"source": "sil", "externalId": "bad", "municipalityCode": "12", "category": "CATEGORY_HOUSING"}})
		for round, want := range []string{"UPSERT_OUTCOME_CREATED", "UPSERT_OUTCOME_UNCHANGED"} {
			r = n.do(t, "POST", "/v1/cases:batchUpsert", op, map[string]any{"items": items})
			res := decode[map[string][]map[string]any](t, r)["results"]
			if r.status != http.StatusOK || len(res) != 4 {
				t.Fatalf("batchUpsert round %d = %d %s", round, r.status, r.body)
			}
			for i, x := range res[:3] {
				if x["outcome"] != want {
					t.Errorf("round %d item %d = %v, want %s", round, i, x, want)
				}
			}
			if res[3]["outcome"] != "UPSERT_OUTCOME_INVALID" || res[3]["field"] != "case.municipality_code" {
				t.Errorf("round %d invalid item = %v", round, res[3])
			}
		}

		r = n.do(t, "GET", "/v1/caseChanges?pageSize=100", op, nil)
		changes := decode[map[string]any](t, r)
		if list, _ := changes["changes"].([]any); r.status != http.StatusOK || len(list) != 7 {
			t.Errorf("caseChanges = %d %s, want person + 3 writes of the case + 3 synced", r.status, r.body)
		}
		if r = n.do(t, "GET", "/v1/caseChanges", other, nil); r.status != http.StatusOK || strings.Contains(string(r.body), k.ID) {
			t.Errorf("another organization's feed = %d %s, want none of org-a's cases", r.status, r.body)
		}
		r = n.do(t, "GET", "/v1/auditEvents?recordId="+k.ID, dadmin, nil)
		if events := decode[map[string][]map[string]any](t, r)["events"]; r.status != http.StatusOK || len(events) < 4 {
			t.Errorf("the district admin's audit log of the case = %d %s", r.status, r.body)
		}
		if r = n.do(t, "GET", "/v1/auditEvents", op, nil); r.status != http.StatusForbidden {
			t.Errorf("an operator's audit log = %d, want 403", r.status)
		}
		if r = n.do(t, "DELETE", "/v1/cases/"+k.ID, op, nil); r.status != http.StatusNoContent {
			t.Errorf("delete = %d %s", r.status, r.body)
		}
		if r = n.do(t, "GET", "/v1/cases/"+k.ID, op, nil); r.status != http.StatusNotFound {
			t.Errorf("GET after delete = %d, want 404", r.status)
		}
		// Names and free text never reach a span.
		for _, s := range n.spans.Ended() {
			text := s.Name()
			for _, kv := range s.Attributes() {
				text += " " + kv.Value.Emit()
			}
			for _, ev := range s.Events() {
				text += " " + ev.Name
				for _, kv := range ev.Attributes {
					text += " " + kv.Value.Emit()
				}
			}
			for _, secret := range []string{"Amina", "permesso per attesa"} {
				if strings.Contains(text, secret) {
					t.Errorf("span %q carries %q", s.Name(), secret)
				}
			}
		}
	})
}

func TestCasesWatchOverGRPC(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		n.createDistrict(t, "cremasco", "019035", "019004")
		tok := n.token(t, auth.Principal{Subject: "sil", Territory: "cremasco", Roles: []string{auth.RoleDistrictOperator}})
		conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := casesv1.NewCaseServiceClient(conn)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)

		if _, err := client.ListCases(ctx, &casesv1.ListCasesRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("ListCases without a token: %v, want Unauthenticated", err)
		}
		var items []*casesv1.CaseUpsert
		for i := range 20 {
			items = append(items, &casesv1.CaseUpsert{Case: &casesv1.Case{Source: "sil", ExternalId: fmt.Sprint(i), MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_EMPLOYMENT}})
		}
		res, err := client.BatchUpsertCases(authed, &casesv1.BatchUpsertCasesRequest{Items: items})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.BatchUpsertCases(authed, &casesv1.BatchUpsertCasesRequest{}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("an empty batch: %v, want InvalidArgument", err)
		}

		// A watcher reads 8 entries and dies; restarted from its cursor it sees the rest,
		// including a tombstone written while it was down.
		watch := func(after int64, want int) ([]*casesv1.CaseChange, int64) {
			t.Helper()
			wctx, stop := context.WithCancel(authed)
			defer stop()
			stream, err := client.WatchCaseChanges(wctx, &casesv1.WatchCaseChangesRequest{After: after})
			if err != nil {
				t.Fatal(err)
			}
			var got []*casesv1.CaseChange
			for len(got) < want {
				ch, err := stream.Recv()
				if err != nil {
					t.Fatalf("Recv: %v", err)
				}
				got = append(got, ch)
				after = ch.Position
			}
			return got, after
		}
		first, cursor := watch(0, 8)
		if _, err := client.DeleteCase(authed, &casesv1.DeleteCaseRequest{Id: res.Results[0].Id}); err != nil {
			t.Fatal(err)
		}
		rest, _ := watch(cursor, 13)
		seen := map[string]bool{}
		for _, ch := range append(first, rest...) {
			if ch.Op == "upsert" {
				seen[ch.Key] = true
			}
		}
		last := rest[len(rest)-1]
		if len(seen) != 20 || last.Op != "delete" || last.Key != res.Results[0].Id {
			t.Errorf("watched %d cases, last %v; want 20 and the tombstone", len(seen), last)
		}
	})
}

// Two organizations choosing one person id each get a person of their own over REST; a
// district admin who reaches both names the owner with ?organizationId=.
func TestPersonIDsArePerOwnerOverREST(t *testing.T) {
	t.Parallel()
	n := startNode(t, "")
	n.createDistrict(t, "cremasco", "019035", "019004")
	dadmin := n.token(t, auth.Principal{Subject: "da", Territory: "cremasco", Roles: []string{auth.RoleDistrictAdmin}})
	for _, org := range []string{"org-a", "org-b"} {
		tok := n.token(t, auth.Principal{Subject: "op-" + org, Organization: org, Roles: []string{auth.RolePartnerOperator}})
		r := n.do(t, "POST", "/v1/persons", tok, map[string]any{"id": "p-17", "givenName": org, "legalBasis": "LEGAL_BASIS_PUBLIC_TASK"})
		if r.status != http.StatusCreated {
			t.Fatalf("%s creates p-17 = %d %s, want 201 whoever else chose the id", org, r.status, r.body)
		}
		r = n.do(t, "POST", "/v1/cases", tok, map[string]any{"personId": "p-17", "municipalityCode": "019035", "category": "CATEGORY_RENEWAL"})
		if k := decode[map[string]any](t, r); r.status != http.StatusCreated || k["personOrganizationId"] != org {
			t.Fatalf("%s's case for p-17 = %d %s, want 201 naming its own person", org, r.status, r.body)
		}
		if r = n.do(t, "GET", "/v1/persons/p-17", tok, nil); r.status != http.StatusOK || decode[map[string]any](t, r)["givenName"] != org {
			t.Errorf("%s reads p-17 = %d %s, want its own", org, r.status, r.body)
		}
	}
	r := n.do(t, "GET", "/v1/persons/p-17", dadmin, nil)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "organization") {
		t.Errorf("the district admin reads p-17 without owner = %d %s, want 400 naming organization_id", r.status, r.body)
	}
	r = n.do(t, "GET", "/v1/persons/p-17?organizationId=org-b", dadmin, nil)
	if r.status != http.StatusOK || decode[map[string]any](t, r)["givenName"] != "org-b" {
		t.Errorf("the district admin reads org-b's p-17 = %d %s", r.status, r.body)
	}
}
