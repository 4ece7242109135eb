package hsds_test

import (
	"testing"

	"github.com/ponte-network/ponte/services/directory/hsds"
)

// FuzzDecode feeds arbitrary JSON to the HSDS decoder: it never panics, and what it
// accepts holds only records with an id.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"id":"org-1","name":"Comune","services":[{"id":"svc-1","name":"Sportello","status":"active"}]}`,
		`[{"id":"svc-1","name":"Sportello","organization_id":"org-1"}]`,
		`{"id":"\u0000","name":"\ud800"}`,
		`{"id":"org-1","locations":[{"id":"loc-1","latitude":"x","addresses":[{}]}]}`,
		`{"id":"svc","schedules":[{"valid_from":"2099-02-31","byday":"ZZ","opens_at":"25:00"}]}`,
		`[]`, `null`, `{`, `"x"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := hsds.Decode(raw, "it")
		if err != nil || b == nil {
			return
		}
		for _, o := range b.Organizations {
			if o.GetId() == "" {
				t.Errorf("decoded an organization without an id from %q", raw)
			}
		}
		for _, s := range b.Services {
			if s.GetId() == "" {
				t.Errorf("decoded a service without an id from %q", raw)
			}
		}
	})
}
