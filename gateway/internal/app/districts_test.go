package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
)

// createDistrict creates a district in the node's directory and waits until the cases
// service's copy knows it (it follows the directory's change feed, so it learns of the
// district a moment later). The probe is a case write that passes the district check
// and then fails on a person that does not exist, so it writes nothing.
func (n *node) createDistrict(t testing.TB, code string, municipalities ...string) {
	t.Helper()
	admin := n.token(t, auth.Principal{Subject: "district-maker", Roles: []string{auth.RoleAdmin}})
	r := n.do(t, "POST", "/v1/territories", admin, map[string]any{"code": code, "name": code, "municipalityCodes": municipalities})
	if !isCreated(r.status) {
		t.Fatalf("create district %s = %d %s", code, r.status, r.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := n.do(t, "POST", "/v1/cases", admin, map[string]any{"personId": "no-such-person", "districtCode": code,
			"municipalityCode": municipalities[0], "category": "CATEGORY_OTHER"})
		if strings.Contains(string(r.body), "person") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cases service did not learn district %s within 10 s: last probe %d %s", code, r.status, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCasesLearnTheDistrictsFromTheDirectory(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		op := n.token(t, auth.Principal{Subject: "op", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}})
		district := n.token(t, auth.Principal{Subject: "do", Territory: "cremasco", Roles: []string{auth.RoleDistrictOperator}})
		// Before the district exists: the case belongs to no district.
		r := n.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": "019035", "category": "CATEGORY_OTHER"})
		before := decode[caseJSON](t, r)
		if !isCreated(r.status) || before.DistrictCode != "" {
			t.Fatalf("case before the district exists = %d %s, want 200 without district", r.status, r.body)
		}
		r = n.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": "019035", "districtCode": "cremasco", "category": "CATEGORY_OTHER"})
		if r.status != http.StatusBadRequest || !hasInvalidParam(r.problem, "case.districtCode") {
			t.Errorf("a case in a district the directory does not know = %d %s, want 400 naming case.districtCode", r.status, r.body)
		}
		n.createDistrict(t, "cremasco", "019035", "019004")
		r = n.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": "019004", "category": "CATEGORY_OTHER"})
		if after := decode[caseJSON](t, r); !isCreated(r.status) || after.DistrictCode != "cremasco" {
			t.Errorf("a case after the district exists = %d %s, want its district derived", r.status, r.body)
		}
		r = n.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": "019021", "districtCode": "cremasco", "category": "CATEGORY_OTHER"})
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "does not contain") {
			t.Errorf("a district that does not contain the municipality = %d %s, want 400", r.status, r.body)
		}
		// The district's staff see the case of its municipality written before the district existed.
		if r := n.do(t, "GET", "/v1/cases/"+before.ID, district, nil); r.status != http.StatusOK {
			t.Errorf("the district operator's GET of a case in its municipality without district_code = %d %s, want 200", r.status, r.body)
		}
	})
}

func TestCaseWritesAnswer503WhenTheDirectoryIsLostAndReadsWork(t *testing.T) {
	t.Parallel()
	directoryNode := startNode(t, "", "-target=directory")
	casesNode := startNode(t, "", "-target=cases,gateway", "--directory-endpoint="+directoryNode.grpc,
		"--data-dir="+directoryNode.dataDir, "--cases-districts-max-stale=1s")
	op := casesNode.token(t, auth.Principal{Subject: "op", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}})
	r := casesNode.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": "023083", "category": "CATEGORY_OTHER"})
	if !isCreated(r.status) {
		t.Fatalf("a case while the directory is up = %d %s", r.status, r.body)
	}
	k := decode[caseJSON](t, r)
	directoryNode.stop()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r = casesNode.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": "023083", "category": "CATEGORY_OTHER"})
		if r.status == http.StatusServiceUnavailable {
			break
		}
		if !isCreated(r.status) || time.Now().After(deadline) {
			t.Fatalf("a case write after the directory stopped = %d %s, want 200 within the bound, then 503", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := casesNode.do(t, "GET", "/v1/cases/"+k.ID, op, nil); r.status != http.StatusOK {
		t.Errorf("a read while the directory is lost = %d %s, want 200", r.status, r.body)
	}
	r = casesNode.do(t, "PATCH", "/v1/cases/"+k.ID+"?updateMask=needs", op, map[string]any{"needs": []string{"documents"}})
	if r.status != http.StatusOK {
		t.Errorf("an update that does not move the case while the directory is lost = %d %s, want 200", r.status, r.body)
	}
}

// isCreated reports whether a create answered success (201 Created, or 200 from an edge
// that answers creates so).
func isCreated(status int) bool { return status == http.StatusCreated || status == http.StatusOK }
