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
	if r.status != http.StatusOK {
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
