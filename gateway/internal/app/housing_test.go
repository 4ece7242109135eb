package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
)

type homeMatchJSON struct {
	HomeID  string `json:"homeId"`
	Score   int    `json:"score"`
	Reasons []struct {
		Code    string `json:"code"`
		Points  int    `json:"points"`
		Message string `json:"message"`
	} `json:"reasons"`
}

type matchJSON struct {
	Matches    []homeMatchJSON `json:"matches"`
	Candidates int             `json:"candidates"`
	Eligible   int             `json:"eligible"`
	Exclusions []struct {
		Constraint string `json:"constraint"`
		Count      int    `json:"count"`
	} `json:"exclusions"`
}

func matchedHomes(m matchJSON) []string {
	var out []string
	for _, x := range m.Matches {
		out = append(out, x.HomeID)
	}
	return out
}

// TestHousingOverREST walks the housing desk's path through the REST edge: an owner and
// their homes, a request for a household with a case, matching, a viewing, the signing;
// then the home is let and absent from other matches. And what attackers try.
func TestHousingOverREST(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		n.createDistrict(t, "ambito-cremasco", "019035", "019004")
		n.createDistrict(t, "ambito-cremonese", "019036")
		desk := n.token(t, auth.Principal{Subject: "desk-1", Organization: "comune-crema", Territory: "ambito-cremasco", Roles: []string{auth.RoleDistrictOperator}})
		otherDesk := n.token(t, auth.Principal{Subject: "desk-2", Organization: "comune-cremona", Territory: "ambito-cremonese", Roles: []string{auth.RoleDistrictOperator}})
		partner := n.token(t, auth.Principal{Subject: "p-1", Organization: "caritas-crema", Roles: []string{auth.RolePartnerOperator}})
		region := n.token(t, auth.Principal{Subject: "ra", Territory: "03", Roles: []string{auth.RoleRegionAdmin}})
		reporting := n.token(t, auth.ServicePrincipal("reporting"))
		mediators := n.token(t, auth.ServicePrincipal("mediators"))

		newCase := func(tok string) string {
			t.Helper()
			r := n.do(t, "POST", "/v1/cases", tok, map[string]any{"municipalityCode": "019035", "category": "CATEGORY_HOUSING"})
			if r.status != http.StatusCreated {
				t.Fatalf("create case = %d %s", r.status, r.body)
			}
			return decode[map[string]any](t, r)["id"].(string)
		}
		post := func(path, tok string, body any) map[string]any {
			t.Helper()
			r := n.do(t, "POST", path, tok, body)
			if r.status != http.StatusOK && r.status != http.StatusCreated {
				t.Fatalf("POST %s = %d %s", path, r.status, r.body)
			}
			return decode[map[string]any](t, r)
		}

		owner := post("/v1/owners", desk, map[string]any{"displayName": "Laura Fittizia", "email": "laura@example.invalid",
			"consent": true, "consentTime": "2026-11-20T10:00:00Z", "reachedVia": "REACH_CHANNEL_MUNICIPALITY"})
		if owner["districtCode"] != "ambito-cremasco" || owner["organizationId"] != "comune-crema" {
			t.Errorf("owner = %v, want the desk's district and organization", owner)
		}
		home := func(rent int, bedrooms int) string {
			h := post("/v1/homes", desk, map[string]any{"ownerId": owner["id"], "municipalityCode": "019035", "address": "Via dei Mille 3",
				"bedrooms": bedrooms, "floorAreaM2": 40 + 20*bedrooms, "rentCents": rent, "chargesCents": 4000, "availableFrom": "2026-11-01",
				"contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}})
			if h["status"] != "HOME_STATUS_AVAILABLE" {
				t.Errorf("new home = %v", h)
			}
			return h["id"].(string)
		}
		best, second, tooSmall := home(40000, 2), home(52000, 2), home(30000, 0)

		caseA, caseB := newCase(desk), newCase(desk)
		request := func(caseID string) string {
			r := post("/v1/housingRequests", desk, map[string]any{"caseId": caseID, "household": map[string]any{"adults": 2, "children": 1},
				"maxRentCents": 70000, "preferredMunicipalities": []string{"019035"}, "municipalityCode": "019035",
				"contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}})
			return r["id"].(string)
		}
		reqA, reqB := request(caseA), request(caseB)

		// Another district's desk cannot attach a case it cannot see.
		r := n.do(t, "POST", "/v1/housingRequests", otherDesk, map[string]any{"caseId": caseA, "household": map[string]any{"adults": 1},
			"maxRentCents": 50000, "municipalityCode": "019036", "contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "case") {
			t.Errorf("a request for a case the caller cannot see = %d %s, want 400 naming the case", r.status, r.body)
		}
		// A case gets one live request.
		r = n.do(t, "POST", "/v1/housingRequests", desk, map[string]any{"caseId": caseA, "household": map[string]any{"adults": 1},
			"maxRentCents": 50000, "municipalityCode": "019035", "contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}})
		if r.status != http.StatusConflict {
			t.Errorf("a second live request for one case = %d %s, want 409", r.status, r.body)
		}

		m := decode[matchJSON](t, n.do(t, "POST", "/v1/housingRequests/"+reqA+":match", desk, map[string]any{}))
		if got := matchedHomes(m); !slices.Equal(got, []string{best, second}) {
			t.Fatalf("match = %v (%+v), want the cheaper home first, then the dearer", got, m)
		}
		if m.Candidates != 3 || m.Eligible != 2 || len(m.Exclusions) != 1 || m.Exclusions[0].Constraint != "size" || m.Exclusions[0].Count != 1 {
			t.Errorf("match counts = %+v, want 3 candidates, 2 eligible, the studio excluded by size", m)
		}
		if len(m.Matches[0].Reasons) == 0 || m.Matches[0].Reasons[0].Code != "preferred_municipality" {
			t.Errorf("the best match's reasons = %+v", m.Matches[0].Reasons)
		}
		_ = tooSmall

		prop := post("/v1/proposals", desk, map[string]any{"housingRequestId": reqA, "homeId": best})
		if prop["status"] != "PROPOSAL_STATUS_PROPOSED" || prop["score"] == nil {
			t.Errorf("proposal = %v", prop)
		}
		other := post("/v1/proposals", desk, map[string]any{"housingRequestId": reqB, "homeId": best})
		view := post("/v1/viewings", desk, map[string]any{"proposalId": prop["id"], "startTime": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)})
		view = post("/v1/viewings/"+view["id"].(string)+":recordOutcome", desk, map[string]any{"outcome": "VIEWING_OUTCOME_BOTH_INTERESTED"})
		if view["status"] != "VIEWING_STATUS_DONE" {
			t.Errorf("viewing = %v", view)
		}
		contract := map[string]any{"type": "CONTRACT_TYPE_AGREED_3_2", "startDate": "2026-12-15", "rentCents": 40000, "chargesCents": 4000}
		r = n.do(t, "POST", "/v1/proposals/"+other["id"].(string)+":signContract", desk, map[string]any{"contract": contract})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "reserved") {
			t.Errorf("signing another household's proposal of a reserved home = %d %s, want 400 saying it is reserved", r.status, r.body)
		}
		tenancy := post("/v1/proposals/"+prop["id"].(string)+":signContract", desk, map[string]any{"contract": contract,
			"guarantee": map[string]any{"fund": "crema-fondo-garanzia", "capCents": 300000}})
		if tenancy["status"] != "TENANCY_STATUS_RUNNING" || tenancy["homeId"] != best {
			t.Errorf("tenancy = %v", tenancy)
		}
		h := decode[map[string]any](t, n.do(t, "GET", "/v1/homes/"+best, desk, nil))
		if h["status"] != "HOME_STATUS_LET" {
			t.Errorf("the signed home is %v, want let", h["status"])
		}
		if got := decode[map[string]any](t, n.do(t, "GET", "/v1/proposals/"+other["id"].(string), desk, nil)); got["status"] != "PROPOSAL_STATUS_SUPERSEDED" {
			t.Errorf("the other household's proposal = %v, want superseded", got["status"])
		}
		r = n.do(t, "POST", "/v1/proposals/"+prop["id"].(string)+":signContract", desk, map[string]any{"contract": contract})
		if r.status != http.StatusBadRequest {
			t.Errorf("signing again = %d %s, want 400", r.status, r.body)
		}
		m = decode[matchJSON](t, n.do(t, "POST", "/v1/housingRequests/"+reqB+":match", desk, map[string]any{}))
		if got := matchedHomes(m); !slices.Equal(got, []string{second}) {
			t.Errorf("another household's match = %v, want only the home still available (the let one absent)", got)
		}
		r = n.do(t, "POST", "/v1/housingRequests/"+reqA+":match", desk, map[string]any{})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "housed") {
			t.Errorf("matching a housed request = %d %s, want 400 saying it is housed", r.status, r.body)
		}
		rm := decode[map[string]any](t, n.do(t, "POST", "/v1/homes/"+second+":match", desk, map[string]any{}))
		if ms, _ := rm["matches"].([]any); len(ms) != 1 || ms[0].(map[string]any)["housingRequestId"] != reqB {
			t.Errorf("reverse match = %v, want the one open request", rm)
		}
		ev := post("/v1/tenancies/"+tenancy["id"].(string)+"/events", desk, map[string]any{"guaranteePayment": map[string]any{"amountCents": 40000}})
		if ev["author"] != "desk-1" {
			t.Errorf("tenancy event = %v", ev)
		}

		// The feed is for reporting: no personal data, and nobody else.
		r = n.do(t, "GET", "/v1/housingChanges?pageSize=1000", reporting, nil)
		if r.status != http.StatusOK || strings.Contains(string(r.body), "Via dei Mille") || strings.Contains(string(r.body), "laura@") ||
			strings.Contains(string(r.body), caseA) || !strings.Contains(string(r.body), "tenancy") {
			t.Errorf("feed for reporting = %d %.300s", r.status, r.body)
		}

		attacks := []struct {
			name   string
			method string
			path   string
			token  string
			body   any
			want   int
		}{
			{"another district's desk cannot read the home", "GET", "/v1/homes/" + best, otherDesk, nil, http.StatusNotFound},
			{"another district's desk cannot match the request", "POST", "/v1/housingRequests/" + reqB + ":match", otherDesk, map[string]any{}, http.StatusNotFound},
			{"another district's desk cannot sign", "POST", "/v1/proposals/" + other["id"].(string) + ":signContract", otherDesk, map[string]any{"contract": contract}, http.StatusNotFound},
			{"a partner cannot list homes", "GET", "/v1/homes", partner, nil, http.StatusForbidden},
			{"a partner cannot read another organization's request", "GET", "/v1/housingRequests/" + reqB, partner, nil, http.StatusNotFound},
			{"a region admin sees nothing here", "GET", "/v1/housingRequests", region, nil, http.StatusForbidden},
			{"a desk cannot read the feed", "GET", "/v1/housingChanges", desk, nil, http.StatusForbidden},
			{"another service cannot read the feed", "GET", "/v1/housingChanges", mediators, nil, http.StatusForbidden},
			{"no token, no homes", "GET", "/v1/homes", "", nil, http.StatusUnauthorized},
			{"a NUL byte in an address is refused", "POST", "/v1/homes", desk, map[string]any{"ownerId": owner["id"], "municipalityCode": "019035",
				"address": "Via\u0000Roma", "floorAreaM2": 40, "rentCents": 1000, "availableFrom": "2026-11-01", "contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}}, http.StatusBadRequest},
			{"invalid UTF-8 is refused", "POST", "/v1/owners", desk, "{\"displayName\":\"\xff\xfe\",\"consent\":true}", http.StatusBadRequest},
			{"a malformed body is refused", "POST", "/v1/homes", desk, "{\"ownerId\":", http.StatusBadRequest},
			{"an oversized body is refused", "POST", "/v1/owners", desk, `{"displayName":"` + strings.Repeat("a", 2<<20) + `"}`, http.StatusRequestEntityTooLarge},
			{"a date that is not a calendar day is refused", "POST", "/v1/homes", desk, map[string]any{"ownerId": owner["id"], "municipalityCode": "019035",
				"address": "Via Roma 1", "floorAreaM2": 40, "rentCents": 1000, "availableFrom": "2026-02-30", "contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}}, http.StatusBadRequest},
			{"an unknown municipality is refused", "POST", "/v1/homes", desk, map[string]any{"ownerId": owner["id"], "municipalityCode": "999999",
				"address": "Via Roma 1", "floorAreaM2": 40, "rentCents": 1000, "availableFrom": "2026-02-03", "contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}}, http.StatusBadRequest},
			{"a home of another district's owner is refused", "POST", "/v1/homes", otherDesk, map[string]any{"ownerId": owner["id"], "municipalityCode": "019036",
				"address": "Via Roma 1", "floorAreaM2": 40, "rentCents": 1000, "availableFrom": "2026-02-03", "contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}}, http.StatusBadRequest},
			{"a guarantee payment above the cap is refused", "POST", "/v1/tenancies/" + tenancy["id"].(string) + "/events", desk,
				map[string]any{"guaranteePayment": map[string]any{"amountCents": 270000}}, http.StatusBadRequest},
		}
		for _, a := range attacks {
			t.Run(a.name, func(t *testing.T) {
				r := n.do(t, a.method, a.path, a.token, a.body)
				if r.status != a.want {
					t.Errorf("%s %s = %d %.300s, want %d", a.method, a.path, r.status, r.body, a.want)
				}
				if r.status >= 400 && r.problem == nil {
					t.Errorf("the error is not problem+json: %.200s", r.body)
				}
			})
		}

		// Households racing for the last home through the edge: one signs, the others are told why.
		var reqs []string
		for range 6 {
			reqs = append(reqs, request(newCase(desk)))
		}
		var props []string
		for _, id := range reqs {
			props = append(props, post("/v1/proposals", desk, map[string]any{"housingRequestId": id, "homeId": second})["id"].(string))
		}
		var wg sync.WaitGroup
		codes := make([]int, len(props))
		for i, p := range props {
			wg.Go(func() {
				codes[i] = n.do(t, "POST", "/v1/proposals/"+p+":signContract", desk, map[string]any{"contract": contract}).status
			})
		}
		wg.Wait()
		won := 0
		for _, c := range codes {
			switch c {
			case http.StatusOK:
				won++
			case http.StatusBadRequest:
			default:
				t.Errorf("a losing signing answered %d, want 400", c)
			}
		}
		if won != 1 {
			t.Errorf("%d households signed for one home (%v), want 1", won, codes)
		}
		tl := decode[map[string][]map[string]any](t, n.do(t, "GET", "/v1/tenancies", desk, nil))["tenancies"]
		if len(tl) != 2 {
			t.Errorf("%d tenancies, want 2 (%s)", len(tl), fmt.Sprint(tl))
		}
	})
}

// TestHousingSplitFromCases runs housing and cases in two processes: housing reads the
// case of a request from the remote cases service with the caller's own token, so the
// desk that may see the case attaches it and another desk cannot.
func TestHousingSplitFromCases(t *testing.T) {
	t.Parallel()
	casesNode := startNode(t, "", "-target=cases,directory,gateway")
	casesNode.createDistrict(t, "ambito-cremasco", "019035")
	casesNode.createDistrict(t, "ambito-cremonese", "019036")
	// The same data directory: one development key, each service its own store file.
	edge := startNode(t, "", "-target=housing,gateway", "--cases-endpoint="+casesNode.grpc, "--data-dir="+casesNode.dataDir)
	desk := edge.token(t, auth.Principal{Subject: "desk-1", Territory: "ambito-cremasco", Roles: []string{auth.RoleDistrictOperator}})
	otherDesk := edge.token(t, auth.Principal{Subject: "desk-2", Territory: "ambito-cremonese", Roles: []string{auth.RoleDistrictOperator}})
	r := edge.do(t, "POST", "/v1/cases", desk, map[string]any{"municipalityCode": "019035", "category": "CATEGORY_HOUSING"})
	if r.status != http.StatusCreated {
		t.Fatalf("create case through the edge = %d %s", r.status, r.body)
	}
	caseID := decode[map[string]any](t, r)["id"].(string)
	body := func(municipality string) map[string]any {
		return map[string]any{"caseId": caseID, "household": map[string]any{"adults": 1}, "maxRentCents": 50000,
			"municipalityCode": municipality, "contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}}
	}
	if r := edge.do(t, "POST", "/v1/housingRequests", otherDesk, body("019036")); r.status != http.StatusBadRequest {
		t.Errorf("another desk attaching the case = %d %s, want 400", r.status, r.body)
	}
	if r := edge.do(t, "POST", "/v1/housingRequests", desk, body("019035")); r.status != http.StatusCreated {
		t.Errorf("the desk attaching its case across processes = %d %s, want 201", r.status, r.body)
	}
}
