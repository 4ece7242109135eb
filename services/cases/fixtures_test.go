package cases

import "github.com/ponte-network/ponte/services/cases/districts"

// testDistricts are the districts the service's tests know, as the directory would
// describe them: Cremasco groups Crema (019035) and Bagnolo Cremasco (019004); Sona
// (023083) has a district of its own; Casalmaggiore (019021) lies in none.
func testDistricts() districts.Static {
	return districts.Static{S: districts.NewSnapshot([]districts.District{
		{Code: "cremasco", Municipalities: []string{"019035", "019004"}},
		{Code: "sona", Municipalities: []string{"023083"}},
	}, []string{"org-a", "org-b"}, 1)}
}
