package cases

import (
	"context"
	"fmt"

	"github.com/ponte-network/ponte/services/cases/districts"
)

// testDistricts are the districts the service's tests know, as the directory would
// describe them: Cremasco groups Crema (019035) and Bagnolo Cremasco (019004); Sona
// (023083) has a district of its own; Casalmaggiore (019021) lies in none.
func testDistricts() districts.Static {
	return districts.Static{S: districts.NewSnapshot([]districts.District{
		{Code: "cremasco", Municipalities: []string{"019035", "019004"}},
		{Code: "sona", Municipalities: []string{"023083"}},
	}, []string{"org-a", "org-b"}, 1)}
}

// staleDistricts is the state of a districts.Copy that lost the directory longer than
// its bound ago: Current refuses, Last still answers.
type staleDistricts struct{ last *districts.Snapshot }

func (s staleDistricts) Current(context.Context) (*districts.Snapshot, error) {
	return nil, fmt.Errorf("%w (since a while)", districts.ErrStale)
}
func (s staleDistricts) Last() *districts.Snapshot { return s.last }
