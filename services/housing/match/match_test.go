package match_test

import (
	"fmt"
	"slices"
	"testing"

	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"

	"github.com/ponte-network/ponte/services/housing/match"
)

const (
	crema       = "019035"
	pandino     = "019067"
	castelleone = "019025"
	cremona     = "019036"
	sona        = "023083"
	unmapped    = "001001" // Agliè: no centroid in the table
)

var (
	free     = match.SetOf(housingv1.ContractType_CONTRACT_TYPE_FREE_4_4)
	agreed   = match.SetOf(housingv1.ContractType_CONTRACT_TYPE_AGREED_3_2)
	transit  = match.SetOf(housingv1.ContractType_CONTRACT_TYPE_TRANSITIONAL)
	deposit  = match.SetOf(housingv1.Guarantee_GUARANTEE_DEPOSIT)
	guaranty = match.SetOf(housingv1.Guarantee_GUARANTEE_GUARANTOR)
)

// home returns a two-bedroom home in Crema at 500 euro, free now, 4+4 or 3+2.
func home(id string, edit func(*match.Home)) match.Home {
	h := match.Home{ID: id, Municipality: crema, Bedrooms: 2, FloorAreaM2: 70, MonthlyCostCents: 50000,
		AvailableFrom: "2026-11-01", ContractTypes: free | agreed}
	if edit != nil {
		edit(&h)
	}
	return h
}

// family is a household of two adults and two children, 750 euro at most, preferring
// Crema then Pandino, signing 4+4 or 3+2, with a deposit.
func family(edit func(*match.Request)) match.Request {
	r := match.Request{ID: "req", Members: 4, MaxCostCents: 75000, Preferred: []string{crema, pandino},
		ContractTypes: free | agreed, GuaranteesOffered: deposit}
	if edit != nil {
		edit(&r)
	}
	return r
}

func opts() match.Options {
	return match.Options{Today: "2026-12-01", Places: match.DefaultPlaces()}
}

func ids(rs []match.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func excl(r match.Ranking) map[string]int {
	out := map[string]int{}
	for _, e := range r.Exclusions {
		out[e.Constraint] = e.Count
	}
	return out
}

func TestHardConstraints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  match.Request
		home match.Home
		want string // the constraint failed; "" none
	}{
		{"a family of four fits two bedrooms", family(nil), home("h", nil), ""},
		{"a family of five does not fit two bedrooms", family(func(r *match.Request) { r.Members = 5 }), home("h", nil), "size"},
		{"a couple fits a studio of 38 m²", family(func(r *match.Request) { r.Members = 2 }), home("h", func(h *match.Home) { h.Bedrooms, h.FloorAreaM2 = 0, 38 }), ""},
		{"a couple does not fit a studio of 30 m²", family(func(r *match.Request) { r.Members = 2 }), home("h", func(h *match.Home) { h.Bedrooms, h.FloorAreaM2 = 0, 30 }), "floor_area"},
		{"four people need 56 m²", family(nil), home("h", func(h *match.Home) { h.FloorAreaM2 = 55 }), "floor_area"},
		{"rent plus charges above the maximum is out", family(nil), home("h", func(h *match.Home) { h.MonthlyCostCents = 75001 }), "budget"},
		{"rent plus charges at the maximum is in", family(nil), home("h", func(h *match.Home) { h.MonthlyCostCents = 75000 }), ""},
		{"a wheelchair user needs a step-free home", family(func(r *match.Request) { r.NeedStepFree = true }), home("h", nil), "needs"},
		{"a household without furniture needs a furnished home", family(func(r *match.Request) { r.NeedFurnished = true }), home("h", func(h *match.Home) { h.StepFree = true }), "needs"},
		{"a home free after the wanted-by date is out", family(func(r *match.Request) { r.WantedBy = "2027-01-31" }), home("h", func(h *match.Home) { h.AvailableFrom = "2027-02-01" }), "availability"},
		{"a home free on the wanted-by date is in", family(func(r *match.Request) { r.WantedBy = "2027-02-01" }), home("h", func(h *match.Home) { h.AvailableFrom = "2027-02-01" }), ""},
		{"an owner accepting only transitional leases does not suit a family signing 4+4", family(nil), home("h", func(h *match.Home) { h.ContractTypes = transit }), "contract_type"},
		{"a home 40 km away is out at 20 km at most", family(func(r *match.Request) { r.MaxDistanceKm = 20 }), home("h", func(h *match.Home) { h.Municipality = cremona }), "distance"},
		{"a home 10 km away is in at 20 km at most", family(func(r *match.Request) { r.MaxDistanceKm = 20 }), home("h", func(h *match.Home) { h.Municipality = castelleone }), ""},
		{"a home of unknown distance is not excluded", family(func(r *match.Request) { r.MaxDistanceKm = 20 }), home("h", func(h *match.Home) { h.Municipality = unmapped }), ""},
		{"the first failed constraint is reported", family(func(r *match.Request) { r.Members = 9 }), home("h", func(h *match.Home) { h.MonthlyCostCents = 1e6 }), "size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _ := match.Explain(tt.req, tt.home, opts())
			if got != tt.want {
				t.Errorf("failed constraint = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestScoreReasons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		req   match.Request
		home  match.Home
		score int
		want  []match.Reason // code and points, in order; messages checked when set
	}{
		{"a perfect home scores 100", family(nil), home("h", nil), 100, []match.Reason{
			{Code: "preferred_municipality", Points: 30, Message: "in the household's preferred municipality number 1"},
			{Code: "budget", Points: 25, Message: "rent and charges 66% of the household's maximum"},
			{Code: "size", Points: 20, Message: "2 bedrooms for 4 people"},
			{Code: "availability", Points: 15, Message: "available now"},
			{Code: "contract_type", Points: 10, Message: "an agreed-rent 3+2 contract is possible"},
		}},
		{"the second preferred municipality scores 28", family(nil), home("h", func(h *match.Home) { h.Municipality = pandino }), 98, []match.Reason{
			{Code: "preferred_municipality", Points: 28}, {Code: "budget", Points: 25}, {Code: "size", Points: 20},
			{Code: "availability", Points: 15}, {Code: "contract_type", Points: 10},
		}},
		{"a home 10 km from Crema scores 16 of 20 distance points", family(nil), home("h", func(h *match.Home) { h.Municipality = castelleone }), 86, []match.Reason{
			{Code: "distance", Points: 16, Message: "10 km from the nearest preferred municipality"}, {Code: "budget", Points: 25},
			{Code: "size", Points: 20}, {Code: "availability", Points: 15}, {Code: "contract_type", Points: 10},
		}},
		{"an unmapped municipality scores no location points", family(nil), home("h", func(h *match.Home) { h.Municipality = unmapped }), 70, []match.Reason{
			{Code: "distance", Points: 0, Message: "distance to the preferred municipalities unknown"}, {Code: "budget", Points: 25},
			{Code: "size", Points: 20}, {Code: "availability", Points: 15}, {Code: "contract_type", Points: 10},
		}},
		{"a home at the whole budget scores 5 for it", family(nil), home("h", func(h *match.Home) { h.MonthlyCostCents = 75000 }), 80, []match.Reason{
			{Code: "preferred_municipality", Points: 30}, {Code: "budget", Points: 5, Message: "rent and charges 100% of the household's maximum"},
			{Code: "size", Points: 20}, {Code: "availability", Points: 15}, {Code: "contract_type", Points: 10},
		}},
		{"two spare bedrooms cost 10", family(func(r *match.Request) { r.Members = 2 }), home("h", func(h *match.Home) { h.Bedrooms = 3 }), 90, []match.Reason{
			{Code: "preferred_municipality", Points: 30}, {Code: "budget", Points: 25},
			{Code: "size", Points: 10, Message: "3 bedrooms for 2 people: 2 spare"}, {Code: "availability", Points: 15}, {Code: "contract_type", Points: 10},
		}},
		{"a home free in eight weeks loses four availability points", family(nil), home("h", func(h *match.Home) { h.AvailableFrom = "2027-01-26" }), 96, []match.Reason{
			{Code: "preferred_municipality", Points: 30}, {Code: "budget", Points: 25}, {Code: "size", Points: 20},
			{Code: "availability", Points: 11, Message: "available from 2027-01-26"}, {Code: "contract_type", Points: 10},
		}},
		{"free market only scores 5 for the contract", family(nil), home("h", func(h *match.Home) { h.ContractTypes = free }), 95, []match.Reason{
			{Code: "preferred_municipality", Points: 30}, {Code: "budget", Points: 25}, {Code: "size", Points: 20},
			{Code: "availability", Points: 15}, {Code: "contract_type", Points: 5, Message: "possible contracts: 4+4 free market"},
		}},
		{"a guarantor the household cannot offer costs 10", family(nil), home("h", func(h *match.Home) { h.GuaranteesAsked = deposit | guaranty }), 90, []match.Reason{
			{Code: "preferred_municipality", Points: 30}, {Code: "budget", Points: 25}, {Code: "size", Points: 20},
			{Code: "availability", Points: 15}, {Code: "contract_type", Points: 10},
			{Code: "guarantees", Points: -10, Message: "the owner asks what the household cannot offer: a guarantor"},
		}},
		{"no preferred municipality scores full location points", family(func(r *match.Request) { r.Preferred = nil }), home("h", func(h *match.Home) { h.Municipality = sona }), 100, []match.Reason{
			{Code: "location", Points: 30}, {Code: "budget", Points: 25}, {Code: "size", Points: 20},
			{Code: "availability", Points: 15}, {Code: "contract_type", Points: 10},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			failed, res := match.Explain(tt.req, tt.home, opts())
			if failed != "" {
				t.Fatalf("excluded by %s", failed)
			}
			if res.Score != tt.score {
				t.Errorf("score = %d, want %d (reasons %+v)", res.Score, tt.score, res.Reasons)
			}
			if len(res.Reasons) != len(tt.want) {
				t.Fatalf("reasons = %+v, want %+v", res.Reasons, tt.want)
			}
			sum := 0
			for i, w := range tt.want {
				got := res.Reasons[i]
				sum += got.Points
				if got.Code != w.Code || got.Points != w.Points || (w.Message != "" && got.Message != w.Message) {
					t.Errorf("reason %d = %+v, want %+v", i, got, w)
				}
			}
			if min(100, max(0, sum)) != res.Score {
				t.Errorf("reasons add up to %d, score is %d", sum, res.Score)
			}
		})
	}
}

func TestHomesOrder(t *testing.T) {
	t.Parallel()
	homes := []match.Home{
		home("far", func(h *match.Home) { h.Municipality = cremona }), // 40 km: 4 location points
		home("best", nil), // 100
		home("pricier-twin", func(h *match.Home) { h.MonthlyCostCents = 50500; h.Municipality = pandino }),   // 98, costs more
		home("twin", func(h *match.Home) { h.Municipality = pandino }),                                       // 98
		home("later-twin", func(h *match.Home) { h.Municipality = pandino; h.AvailableFrom = "2026-11-20" }), // 98, later but both free now
		home("too-small", func(h *match.Home) { h.Bedrooms = 1 }),
		home("too-dear", func(h *match.Home) { h.MonthlyCostCents = 90000 }),
		home("too-late", func(h *match.Home) { h.AvailableFrom = "2027-06-01" }),
		home("b-same", func(h *match.Home) { h.Municipality = pandino }), // 98, same as twin: id decides
	}
	req := family(func(r *match.Request) { r.WantedBy = "2027-03-01" })
	got := match.Homes(req, homes, opts())
	want := []string{"best", "b-same", "twin", "later-twin", "pricier-twin", "far"}
	if !slices.Equal(ids(got.Results), want) {
		t.Errorf("order = %v, want %v", ids(got.Results), want)
	}
	if got.Candidates != 9 || got.Eligible != 6 {
		t.Errorf("candidates %d eligible %d, want 9 and 6", got.Candidates, got.Eligible)
	}
	if e := excl(got); e["size"] != 1 || e["budget"] != 1 || e["availability"] != 1 || len(e) != 3 {
		t.Errorf("exclusions = %v", got.Exclusions)
	}
	// The same input in another order gives the same answer.
	slices.Reverse(homes)
	again := match.Homes(req, homes, opts())
	if fmt.Sprint(again) != fmt.Sprint(got) {
		t.Errorf("the ranking depends on the input order:\n%v\n%v", again, got)
	}
}

func TestHomesLimit(t *testing.T) {
	t.Parallel()
	var homes []match.Home
	for i := range 50 {
		homes = append(homes, home(fmt.Sprintf("h%02d", i), func(h *match.Home) { h.MonthlyCostCents = int64(40000 + 100*i) }))
	}
	got := match.Homes(family(nil), homes, match.Options{Today: "2026-12-01", Limit: 5})
	if want := []string{"h00", "h01", "h02", "h03", "h04"}; !slices.Equal(ids(got.Results), want) {
		t.Errorf("top five = %v, want %v", ids(got.Results), want)
	}
	if got.Eligible != 50 {
		t.Errorf("eligible = %d, want 50", got.Eligible)
	}
}

func TestRequestsOrder(t *testing.T) {
	t.Parallel()
	h := home("h", func(h *match.Home) { h.Bedrooms = 1; h.FloorAreaM2 = 45 })
	reqs := []match.Request{
		family(func(r *match.Request) { r.ID = "family-of-four" }), // size
		family(func(r *match.Request) {
			r.ID = "couple-late"
			r.Members = 2
			r.WantedBy = "2027-04-01"
			r.CreatedUs = 1
		}),
		family(func(r *match.Request) {
			r.ID = "couple-urgent"
			r.Members = 2
			r.WantedBy = "2027-01-01"
			r.CreatedUs = 2
		}),
		family(func(r *match.Request) { r.ID = "couple-no-date"; r.Members = 2; r.CreatedUs = 0 }),
		family(func(r *match.Request) { r.ID = "single-first"; r.Members = 1; r.CreatedUs = 5 }),
		family(func(r *match.Request) { r.ID = "single-second"; r.Members = 1; r.CreatedUs = 6 }),
		family(func(r *match.Request) { r.ID = "poor"; r.Members = 1; r.MaxCostCents = 30000 }), // budget
		family(func(r *match.Request) {
			r.ID = "elsewhere"
			r.Members = 1
			r.Preferred = []string{sona}
			r.MaxDistanceKm = 30
		}), // distance
	}
	got := match.Requests(h, reqs, opts())
	want := []string{"couple-urgent", "couple-late", "couple-no-date", "single-first", "single-second"}
	if !slices.Equal(ids(got.Results), want) {
		t.Errorf("order = %v, want %v", ids(got.Results), want)
	}
	if e := excl(got); e["size"] != 1 || e["budget"] != 1 || e["distance"] != 1 || got.Eligible != 5 || got.Candidates != 8 {
		t.Errorf("exclusions = %v eligible %d", got.Exclusions, got.Eligible)
	}
}

func TestMinFloorArea(t *testing.T) {
	t.Parallel()
	for n, want := range map[int32]int32{1: 28, 2: 38, 3: 42, 4: 56, 5: 66, 6: 76} {
		if got := match.MinFloorArea(n); got != want {
			t.Errorf("MinFloorArea(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	p := match.DefaultPlaces()
	d, ok := p.Distance(crema, cremona)
	if !ok || d < 35 || d > 42 {
		t.Errorf("Crema–Cremona = %.1f km (%v), want about 38", d, ok)
	}
	if _, ok := p.Distance(crema, unmapped); ok {
		t.Error("a municipality without centroid has a distance")
	}
}

func BenchmarkHomes(b *testing.B) {
	places := match.DefaultPlaces()
	codes := []string{crema, pandino, castelleone, cremona, sona, unmapped}
	homes := make([]match.Home, 20000)
	for i := range homes {
		homes[i] = home(fmt.Sprintf("h%05d", i), func(h *match.Home) {
			h.Municipality = codes[i%len(codes)]
			h.Bedrooms = int32(i % 4)
			h.FloorAreaM2 = int32(30 + i%90)
			h.MonthlyCostCents = int64(30000 + (i*37)%80000)
		})
	}
	for i := range homes { // as the service's index holds them
		homes[i].AvailableDay, homes[i].Place = match.Day(homes[i].AvailableFrom), places.ID(homes[i].Municipality)
	}
	req := family(nil)
	b.ResetTimer()
	for b.Loop() {
		match.Homes(req, homes, match.Options{Today: "2026-12-01", Places: places})
	}
}

func TestPrecomputedFieldsGiveTheSameRanking(t *testing.T) {
	t.Parallel()
	places := match.DefaultPlaces()
	var plain, pre []match.Home
	for i, m := range []string{crema, pandino, castelleone, cremona, unmapped, sona} {
		for j := range 5 {
			h := home(fmt.Sprintf("h%d-%d", i, j), func(h *match.Home) {
				h.Municipality, h.AvailableFrom, h.MonthlyCostCents = m, fmt.Sprintf("2027-0%d-1%d", 1+j, i), int64(40000+1000*j)
			})
			plain = append(plain, h)
			h.AvailableDay, h.Place = match.Day(h.AvailableFrom), places.ID(h.Municipality)
			pre = append(pre, h)
		}
	}
	req := family(func(r *match.Request) { r.WantedBy = "2027-04-01"; r.MaxDistanceKm = 30 })
	a, b := match.Homes(req, plain, opts()), match.Homes(req, pre, opts())
	req.WantedByDay = match.Day(req.WantedBy)
	c := match.Homes(req, pre, opts())
	if fmt.Sprint(a) != fmt.Sprint(b) || fmt.Sprint(a) != fmt.Sprint(c) {
		t.Errorf("precomputed days and places change the ranking:\n%v\n%v\n%v", a, b, c)
	}
	if len(a.Results) == 0 || len(a.Exclusions) == 0 {
		t.Errorf("the case exercises nothing: %+v", a)
	}
}

func TestKeepLimitsTheCandidates(t *testing.T) {
	t.Parallel()
	homes := []match.Home{home("mine", nil), home("theirs", func(h *match.Home) { h.District = "other" }), home("mine-too", func(h *match.Home) { h.Bedrooms = 0 })}
	opt := opts()
	opt.KeepHome = func(h *match.Home) bool { return h.District == "" }
	got := match.Homes(family(nil), homes, opt)
	if !slices.Equal(ids(got.Results), []string{"mine"}) || got.Candidates != 2 || got.Eligible != 1 || excl(got)["size"] != 1 {
		t.Errorf("got %+v", got)
	}
}
