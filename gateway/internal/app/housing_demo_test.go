package app_test

import (
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
)

// TestDemoHousing starts a node with --demo: the fictional owners, homes and requests of
// the demo districts are there, a desk of the province of Cremona sees its own, and a
// demo household gets a ranked list of homes.
func TestDemoHousing(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", "--demo")
	desk := n.token(t, auth.Principal{Subject: "desk", Territory: "019", Roles: []string{auth.RoleDistrictOperator}})
	// The demo loads after the directory's, which takes long on a busy machine.
	deadline := time.Now().Add(4 * time.Minute)
	var reqs []map[string]any
	for {
		reqs = decode[map[string][]map[string]any](t, n.do(t, "GET", "/v1/housingRequests?pageSize=1000", desk, nil))["housingRequests"]
		if len(reqs) >= 24 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(reqs) != 24 {
		t.Fatalf("the desk of the province of Cremona sees %d demo requests, want 24 (three districts of eight)", len(reqs))
	}
	homes := decode[map[string][]map[string]any](t, n.do(t, "GET", "/v1/homes?pageSize=1000", desk, nil))["homes"]
	if len(homes) != 48 {
		t.Errorf("the desk sees %d demo homes, want 48", len(homes))
	}
	matched := 0
	for _, r := range reqs {
		m := decode[matchJSON](t, n.do(t, "POST", "/v1/housingRequests/"+r["id"].(string)+":match", desk, map[string]any{}))
		if len(m.Matches) > 0 {
			matched++
		}
		if m.Candidates != 48 {
			t.Errorf("a match considered %d homes, want the desk's 48", m.Candidates)
		}
	}
	if matched < len(reqs)/2 {
		t.Errorf("only %d of %d demo households have a matching home: the tour would find nothing to sign", matched, len(reqs))
	}
}
