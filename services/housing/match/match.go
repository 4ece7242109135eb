// Package match ranks homes for a household and households for a home, as a pure
// function: coordinated-entry style, hard constraints first, then a score made of
// explained terms. The same pair always gets the same answer.
//
// # Hard constraints, in this order
//
// A candidate failing several is counted once, under the first it fails:
//
//  1. size: household members (adults + children) above the home's capacity: two per
//     bedroom, and two in a studio.
//  2. floor_area: below the Italian minimum for the household (DM 5 July 1975): 28 m²
//     for one person, 38 for two, then 14 m² per person up to four and 10 for each more.
//  3. budget: rent plus charges above the household's maximum.
//  4. needs: a step-free home or a furnished one was needed and this one is not.
//  5. availability: free only after the household's wanted-by date.
//  6. contract_type: no contract type both the owner accepts and the household can sign.
//  7. distance: farther than max_distance_km from every preferred municipality (when the
//     household gave both). A home whose distance is unknown is not excluded.
//  8. status (reverse match only reads open requests, direct only available homes; the
//     caller filters).
//
// # Score: 0 to 100, the sum of these terms
//
//   - location, up to 30: the first preferred municipality 30, each later one 2 less
//     (never under 20); another municipality up to 20, falling linearly to 0 at
//     max_distance_km (50 km when not given); 0 when its distance is unknown; 30 when the
//     household prefers no municipality.
//   - budget, up to 25: 25 while rent plus charges is at most 70% of the maximum, then
//     falling linearly to 5 at 100%: the lower the share of income, the safer the lease.
//   - size, up to 20: 20 for the bedrooms the household needs (half its members, rounded
//     up), 15 for a studio that holds it, 5 less for each spare bedroom (homes too large
//     cost more to heat and are better given to larger households).
//   - availability, up to 15: 15 when free now, one less per two weeks of wait.
//   - contract, up to 10: 10 when an agreed-rent 3+2 contract is possible (lower rent,
//     tax relief for both parties: what social rental agencies aim for), else 5.
//   - guarantees, 0 or less: 10 less for each guarantee the owner asks and the household
//     cannot offer (it may still be negotiated, often with the network's fund).
//
// # Order
//
// Homes: score descending, then monthly cost ascending, then available-from ascending,
// then id. Requests: score descending, then wanted-by ascending (none last), then the
// request's creation, then id.
//
// # Distance
//
// Distances are great-circle kilometres between municipality centroids (Places). No
// public source of centroids for all 7,904 municipalities could be brought onto the build
// machines, so Ponte embeds those of the demo districts (DefaultPlaces) and a deployment
// adds its own; between municipalities without a centroid the distance is unknown, which
// scores 0 and never excludes.
package match

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"
)

// Set is a set of small enum values (contract types, guarantees) as a bit mask.
type Set uint16

// SetOf returns the set holding values.
func SetOf[E ~int32](values ...E) Set {
	var s Set
	for _, v := range values {
		if v > 0 && v < 16 {
			s |= 1 << uint(v)
		}
	}
	return s
}

// Has reports whether s holds v.
func (s Set) Has(v int32) bool { return v > 0 && v < 16 && s&(1<<uint(v)) != 0 }

// Home is what matching reads of a home.
type Home struct {
	// What every candidate's check reads comes first, in one cache line: a match scans
	// 20,000 homes, and the strings below are read only for the ranked few.
	MonthlyCostCents int64 // rent plus charges
	Bedrooms         int32
	FloorAreaM2      int32
	// Precomputed by callers that match often (0: derived from the fields below):
	AvailableDay    int32 // Day(AvailableFrom)
	Place           int32 // Places.ID(Municipality)
	ContractTypes   Set   // of housingv1.ContractType
	GuaranteesAsked Set   // of housingv1.Guarantee
	Furnished       bool
	StepFree        bool

	ID            string
	Municipality  string // ISTAT code
	District      string // for the caller's scope (Options.KeepHome)
	AvailableFrom string // YYYY-MM-DD
}

// Request is what matching reads of a housing request.
type Request struct {
	ID                string
	Members           int32 // adults plus children
	MaxCostCents      int64
	Preferred         []string // ISTAT codes, most wanted first
	MaxDistanceKm     int32    // 0: distance only scores
	NeedStepFree      bool
	NeedFurnished     bool
	WantedBy          string // YYYY-MM-DD; empty: no date
	WantedByDay       int32  // Day(WantedBy), precomputed (0: derived from WantedBy)
	ContractTypes     Set
	GuaranteesOffered Set
	CreatedUs         int64 // creation time, for the reverse order
	// Where the request is followed and who opened it, for the caller's scope
	// (Options.KeepRequest).
	District, Municipality, Organization string
}

// Reason is one term of a score.
type Reason struct {
	Code    string
	Points  int
	Message string
}

// Result is one ranked candidate.
type Result struct {
	ID         string // the home's or the request's
	Score      int
	DistanceKm int // -1: unknown or no preference
	Reasons    []Reason
}

// Exclusion counts the candidates a hard constraint excluded.
type Exclusion struct {
	Constraint string
	Count      int
}

// Ranking is a match's answer.
type Ranking struct {
	Results    []Result // at most Options.Limit, best first
	Candidates int      // candidates considered
	Eligible   int      // candidates passing every hard constraint
	Exclusions []Exclusion
}

// Options are what a match needs besides the pair.
type Options struct {
	Today  string // YYYY-MM-DD, Europe/Rome
	Limit  int    // most results; <= 0 means 20
	Places *Places
	// KeepHome and KeepRequest, when set, say which candidates the caller may see; the
	// others are not considered at all (nor counted).
	KeepHome    func(*Home) bool
	KeepRequest func(*Request) bool
}

// The hard constraints, in the order they are checked.
const (
	cSize = iota
	cFloorArea
	cBudget
	cNeeds
	cAvailability
	cContract
	cDistance
	nConstraints
)

// Constraints names the hard constraints in the order they are checked.
var Constraints = [nConstraints]string{"size", "floor_area", "budget", "needs", "availability", "contract_type", "distance"}

const defaultDistanceKm = 50

// Capacity is how many people a home with bedrooms holds: two per bedroom, two in a studio.
func Capacity(bedrooms int32) int32 { return max(2, 2*bedrooms) }

// MinFloorArea is the least floor area in m² for a household of n (DM 5 July 1975).
func MinFloorArea(n int32) int32 {
	switch {
	case n <= 1:
		return 28
	case n == 2:
		return 38
	}
	return 14*min(n, 4) + 10*max(n-4, 0)
}

// pair is one evaluation: the constraint failed (-1 none), the score and the distance.
type pair struct {
	failed  int
	score   int
	dist    int     // rounded km, -1 unknown
	rawDist float64 // km, -1 unknown or no preference
	today   string
	terms   [nTerms]int
}

// evaluator holds what does not change across a match's candidates.
type evaluator struct {
	opt     Options
	today   int // days since the epoch
	wanted  int // the request's wanted-by day in Homes (one request), 0 none
	dist    map[string]float64
	byPlace []float64 // memo by Home.Place; -2 not computed
	rankBy  []int8    // memo by Home.Place of the rank among the preferred; -1 none
}

func newEvaluator(opt Options) *evaluator {
	if opt.Limit <= 0 {
		opt.Limit = 20
	}
	return &evaluator{opt: opt, today: days(opt.Today)}
}

// days returns the days since 1970-01-01 of a YYYY-MM-DD date, or -1.
func days(date string) int {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return -1
	}
	return int(t.Unix() / 86400)
}

// Day is the number of days since 1970-01-01 of a YYYY-MM-DD date (for Home.AvailableDay
// and Request.WantedByDay); 0 when date is empty or not a date.
func Day(date string) int32 {
	if d := days(date); d > 0 {
		return int32(d)
	}
	return 0
}

func availableDay(h *Home) int {
	if h.AvailableDay > 0 {
		return int(h.AvailableDay)
	}
	return days(h.AvailableFrom)
}

// wantedDay is the request's wanted-by day, or 0 for none.
func wantedDay(r *Request) int {
	if r.WantedByDay > 0 {
		return int(r.WantedByDay)
	}
	if r.WantedBy == "" {
		return 0
	}
	return max(0, days(r.WantedBy))
}

// distance is the km from the home's municipality to the nearest preferred one, or -1.
// When memo is set, results are kept per municipality (one request, many homes).
func (e *evaluator) distance(r *Request, municipality string, place int32, memo bool) float64 {
	if memo && place > 0 {
		if e.byPlace == nil {
			e.byPlace = make([]float64, e.opt.Places.Len()+1)
			for i := range e.byPlace {
				e.byPlace[i] = -2 // not computed yet
			}
		}
		if int(place) < len(e.byPlace) {
			if d := e.byPlace[place]; d > -2 {
				return d
			}
			d := e.distance(r, municipality, 0, false)
			e.byPlace[place] = d
			return d
		}
	}
	if memo {
		if d, ok := e.dist[municipality]; ok {
			return d
		}
	}
	best := -1.0
	for _, p := range r.Preferred {
		if p == municipality {
			best = 0
			break
		}
		if d, ok := e.opt.Places.Distance(p, municipality); ok && (best < 0 || d < best) {
			best = d
		}
	}
	if memo {
		if e.dist == nil {
			e.dist = map[string]float64{}
		}
		e.dist[municipality] = best
	}
	return best
}

// preferredRank is the position of h's municipality among r's preferred ones, or -1.
func (e *evaluator) preferredRank(r *Request, h *Home, memo bool) int {
	if !memo || h.Place <= 0 || int(h.Place) > e.opt.Places.Len() {
		return slices.Index(r.Preferred, h.Municipality)
	}
	if e.rankBy == nil {
		e.rankBy = make([]int8, e.opt.Places.Len()+1)
		for i := range e.rankBy {
			e.rankBy[i] = -1
		}
		for i, m := range r.Preferred {
			if id := e.opt.Places.ID(m); id > 0 && e.rankBy[id] < 0 {
				e.rankBy[id] = int8(i)
			}
		}
	}
	return int(e.rankBy[h.Place])
}

// eval checks the hard constraints and computes the score; with why set, it also
// explains each term.
// hard returns the first of the constraints 1-6 that h fails for r (-1: none), given r's
// wanted-by day and minimum floor area; distance is checked by eval.
func hard(r *Request, h *Home, wanted int, minArea int32) int {
	switch {
	case r.Members > Capacity(h.Bedrooms):
		return cSize
	case h.FloorAreaM2 < minArea:
		return cFloorArea
	case h.MonthlyCostCents > r.MaxCostCents:
		return cBudget
	case r.NeedStepFree && !h.StepFree, r.NeedFurnished && !h.Furnished:
		return cNeeds
	case wanted > 0 && availableDay(h) > wanted:
		return cAvailability
	case h.ContractTypes&r.ContractTypes == 0:
		return cContract
	}
	return -1
}

func (e *evaluator) eval(r *Request, h *Home, memo bool) pair {
	n := r.Members
	wanted := e.wanted
	if !memo {
		wanted = wantedDay(r)
	}
	if c := hard(r, h, wanted, MinFloorArea(n)); c >= 0 {
		return pair{failed: c}
	}
	d := -1.0
	if len(r.Preferred) > 0 {
		d = e.distance(r, h.Municipality, h.Place, memo)
		if r.MaxDistanceKm > 0 && d > float64(r.MaxDistanceKm) {
			return pair{failed: cDistance}
		}
	}
	p := pair{failed: -1, dist: -1, rawDist: d, today: e.opt.Today}
	if d >= 0 {
		p.dist = int(math.Round(d))
	}
	t := &p.terms
	// location
	switch {
	case len(r.Preferred) == 0:
		t[tLocation] = 30
	case d == 0 && e.preferredRank(r, h, memo) >= 0:
		t[tLocation] = max(20, 30-2*e.preferredRank(r, h, memo))
	case d < 0:
		t[tLocation] = 0
	default:
		limit := float64(cmp.Or(r.MaxDistanceKm, defaultDistanceKm))
		t[tLocation] = int(math.Round(20 * max(0, limit-d) / limit))
	}
	// budget
	if cost, most := h.MonthlyCostCents, r.MaxCostCents; cost*10 <= most*7 {
		t[tBudget] = 25
	} else {
		t[tBudget] = 5 + int(20*(most-cost)*10/(3*most))
	}
	// size
	switch spare := h.Bedrooms - (n+1)/2; {
	case spare < 0:
		t[tSize] = 15
	default:
		t[tSize] = max(0, 20-5*int(spare))
	}
	// availability: dates compare as strings; only a later one is parsed
	t[tAvailability] = 15
	if from := availableDay(h); from > e.today && e.today >= 0 {
		t[tAvailability] = max(0, 15-(from-e.today)/14)
	}
	// contract
	t[tContract] = 5
	if (h.ContractTypes & r.ContractTypes).Has(int32(housingv1.ContractType_CONTRACT_TYPE_AGREED_3_2)) {
		t[tContract] = 10
	}
	// guarantees
	for missing := h.GuaranteesAsked &^ r.GuaranteesOffered; missing != 0; missing &= missing - 1 {
		t[tGuarantees] -= 10
	}
	sum := 0
	for _, v := range t {
		sum += v
	}
	p.score = max(0, min(100, sum))
	return p
}

// The terms of a score, in the order they are explained.
const (
	tLocation = iota
	tBudget
	tSize
	tAvailability
	tContract
	tGuarantees
	nTerms
)

// explain returns the reasons of an eligible pair's score.
func explain(r *Request, h *Home, p pair) []Reason {
	t := p.terms
	n := r.Members
	why := make([]Reason, 0, nTerms)
	add := func(code string, points int, format string, args ...any) {
		why = append(why, Reason{Code: code, Points: points, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case len(r.Preferred) == 0:
		add("location", t[tLocation], "the household prefers no municipality")
	case p.rawDist == 0 && slices.Contains(r.Preferred, h.Municipality):
		add("preferred_municipality", t[tLocation], "in the household's preferred municipality number %d", slices.Index(r.Preferred, h.Municipality)+1)
	case p.rawDist < 0:
		add("distance", 0, "distance to the preferred municipalities unknown")
	default:
		add("distance", t[tLocation], "%d km from the nearest preferred municipality", p.dist)
	}
	add("budget", t[tBudget], "rent and charges %d%% of the household's maximum", h.MonthlyCostCents*100/r.MaxCostCents)
	switch spare := h.Bedrooms - (n+1)/2; {
	case spare < 0:
		add("size", t[tSize], "a studio for %d", n)
	case spare == 0:
		add("size", t[tSize], "%d bedrooms for %d people", h.Bedrooms, n)
	default:
		add("size", t[tSize], "%d bedrooms for %d people: %d spare", h.Bedrooms, n, spare)
	}
	if h.AvailableFrom > p.today && days(p.today) >= 0 {
		add("availability", t[tAvailability], "available from %s", h.AvailableFrom)
	} else {
		add("availability", 15, "available now")
	}
	if t[tContract] == 10 {
		add("contract_type", 10, "an agreed-rent 3+2 contract is possible")
	} else {
		add("contract_type", 5, "possible contracts: %s", contractNames(h.ContractTypes&r.ContractTypes))
	}
	if missing := h.GuaranteesAsked &^ r.GuaranteesOffered; missing != 0 {
		var names []string
		for g := int32(1); g < 16; g++ {
			if missing.Has(g) {
				names = append(names, guaranteeName(g))
			}
		}
		add("guarantees", t[tGuarantees], "the owner asks what the household cannot offer: %s", strings.Join(names, ", "))
	}
	return why
}

func contractNames(s Set) string {
	var names []string
	for _, v := range []housingv1.ContractType{housingv1.ContractType_CONTRACT_TYPE_FREE_4_4,
		housingv1.ContractType_CONTRACT_TYPE_TRANSITIONAL, housingv1.ContractType_CONTRACT_TYPE_STUDENT} {
		if s.Has(int32(v)) {
			names = append(names, map[housingv1.ContractType]string{
				housingv1.ContractType_CONTRACT_TYPE_FREE_4_4:     "4+4 free market",
				housingv1.ContractType_CONTRACT_TYPE_TRANSITIONAL: "transitional",
				housingv1.ContractType_CONTRACT_TYPE_STUDENT:      "student",
			}[v])
		}
	}
	return strings.Join(names, ", ")
}

func guaranteeName(g int32) string {
	switch housingv1.Guarantee(g) {
	case housingv1.Guarantee_GUARANTEE_DEPOSIT:
		return "a deposit"
	case housingv1.Guarantee_GUARANTEE_GUARANTOR:
		return "a guarantor"
	case housingv1.Guarantee_GUARANTEE_EMPLOYMENT_CONTRACT:
		return "an employment contract"
	case housingv1.Guarantee_GUARANTEE_FUND:
		return "a guarantee fund"
	}
	return "guarantee " + fmt.Sprint(g)
}

// ranked is an eligible candidate while the ranking is built.
type ranked struct {
	i     int
	score int
	dist  int
}

// topK keeps the best k candidates under less, in order.
func topK(k int, less func(a, b ranked) bool) (push func(ranked), out func() []ranked) {
	top := make([]ranked, 0, k+1)
	push = func(c ranked) {
		if len(top) == k && !less(c, top[k-1]) {
			return
		}
		at, _ := slices.BinarySearchFunc(top, c, func(a, b ranked) int {
			if less(a, b) {
				return -1
			}
			return 1
		})
		top = slices.Insert(top, at, c)
		if len(top) > k {
			top = top[:k]
		}
	}
	return push, func() []ranked { return top }
}

func exclusions(counts *[nConstraints]int) []Exclusion {
	var out []Exclusion
	for c, n := range counts {
		if n > 0 {
			out = append(out, Exclusion{Constraint: Constraints[c], Count: n})
		}
	}
	return out
}

// Homes ranks homes for r. The caller passes only available homes within its reach.
func Homes(r Request, homes []Home, opt Options) Ranking {
	e := newEvaluator(opt)
	e.wanted = wantedDay(&r)
	minArea := MinFloorArea(r.Members)
	var counts [nConstraints]int
	less := func(a, b ranked) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		ha, hb := &homes[a.i], &homes[b.i]
		if ha.MonthlyCostCents != hb.MonthlyCostCents {
			return ha.MonthlyCostCents < hb.MonthlyCostCents
		}
		if da, db := availableDay(ha), availableDay(hb); da != db {
			return da < db
		}
		return ha.ID < hb.ID
	}
	push, top := topK(e.opt.Limit, less)
	eligible, candidates := 0, 0
	for i := range homes {
		if opt.KeepHome != nil && !opt.KeepHome(&homes[i]) {
			continue
		}
		candidates++
		if c := hard(&r, &homes[i], e.wanted, minArea); c >= 0 { // most homes: no scoring
			counts[c]++
			continue
		}
		p := e.eval(&r, &homes[i], true)
		if p.failed >= 0 {
			counts[p.failed]++
			continue
		}
		eligible++
		push(ranked{i: i, score: p.score, dist: p.dist})
	}
	out := Ranking{Candidates: candidates, Eligible: eligible, Exclusions: exclusions(&counts)}
	for _, c := range top() {
		p := e.eval(&r, &homes[c.i], true)
		out.Results = append(out.Results, Result{ID: homes[c.i].ID, Score: p.score, DistanceKm: p.dist, Reasons: explain(&r, &homes[c.i], p)})
	}
	return out
}

// Requests ranks the requests h fits. The caller passes only open requests within its reach.
func Requests(h Home, reqs []Request, opt Options) Ranking {
	e := newEvaluator(opt)
	var counts [nConstraints]int
	less := func(a, b ranked) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		ra, rb := &reqs[a.i], &reqs[b.i]
		if ra.WantedBy != rb.WantedBy {
			switch {
			case ra.WantedBy == "":
				return false
			case rb.WantedBy == "":
				return true
			}
			return ra.WantedBy < rb.WantedBy
		}
		if ra.CreatedUs != rb.CreatedUs {
			return ra.CreatedUs < rb.CreatedUs
		}
		return ra.ID < rb.ID
	}
	push, top := topK(e.opt.Limit, less)
	eligible, candidates := 0, 0
	for i := range reqs {
		if opt.KeepRequest != nil && !opt.KeepRequest(&reqs[i]) {
			continue
		}
		candidates++
		p := e.eval(&reqs[i], &h, false)
		if p.failed >= 0 {
			counts[p.failed]++
			continue
		}
		eligible++
		push(ranked{i: i, score: p.score, dist: p.dist})
	}
	out := Ranking{Candidates: candidates, Eligible: eligible, Exclusions: exclusions(&counts)}
	for _, c := range top() {
		p := e.eval(&reqs[c.i], &h, false)
		out.Results = append(out.Results, Result{ID: reqs[c.i].ID, Score: p.score, DistanceKm: p.dist, Reasons: explain(&reqs[c.i], &h, p)})
	}
	return out
}

// Explain evaluates one pair: the first hard constraint it fails ("" when none), and
// otherwise its score and reasons.
func Explain(r Request, h Home, opt Options) (failed string, res Result) {
	e := newEvaluator(opt)
	p := e.eval(&r, &h, false)
	if p.failed >= 0 {
		return Constraints[p.failed], Result{ID: h.ID, DistanceKm: -1}
	}
	return "", Result{ID: h.ID, Score: p.score, DistanceKm: p.dist, Reasons: explain(&r, &h, p)}
}
