package disclosure

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// person is one anonymous fact of the differencing test.
type person struct {
	municipality int
	sex          int
	key          uint32
}

// The test's territory: 12 municipalities in 4 districts and 3 provinces that cut
// across them, as ambiti and provinces do.
var (
	districtOf = []int{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}
	provinceOf = []int{0, 0, 1, 1, 1, 1, 2, 2, 0, 0, 2, 2}
)

// catalogQuery is one of the queries the differencing test publishes: its group_by as a
// function from a person to the codes of each dimension.
type catalogQuery struct {
	name  string
	sizes []int
	codes func(p person) []int
}

var catalogQueries = []catalogQuery{
	{"total", nil, func(person) []int { return nil }},
	{"by sex", []int{3}, func(p person) []int { return []int{p.sex} }},
	{"by municipality", []int{12}, func(p person) []int { return []int{p.municipality} }},
	{"by district", []int{4}, func(p person) []int { return []int{districtOf[p.municipality]} }},
	{"by province", []int{3}, func(p person) []int { return []int{provinceOf[p.municipality]} }},
	{"by district and sex", []int{4, 3}, func(p person) []int { return []int{districtOf[p.municipality], p.sex} }},
	{"by province and sex", []int{3, 3}, func(p person) []int { return []int{provinceOf[p.municipality], p.sex} }},
}

// publishedCell is what an answer shows of a cell, and the persons it covers (which
// the test knows and the attacker does not).
type publishedCell struct {
	persons   []int
	value     int64 // the true count
	shown     int64 // the published figure, when published
	published bool
}

// publish answers q over people with the given protection: the leaf cells and every
// margin, each cell with the persons it covers.
func publish(t *testing.T, cfg Config, people []person, q catalogQuery, protect func(*Table)) []publishedCell {
	t.Helper()
	dims := make([]Dimension, len(q.sizes))
	for i, n := range q.sizes {
		dims[i] = flat(fmt.Sprint(i), n)
	}
	c, err := NewCube(dims)
	if err != nil {
		t.Fatal(err)
	}
	members := make([][]int, len(c.Table.Cells))
	for i, p := range people {
		leaf := c.Index(q.codes(p)...)
		cell := &c.Table.Cells[leaf]
		cell.Value++
		cell.Contributors++
		cell.Key += p.key
		members[leaf] = append(members[leaf], i)
	}
	c.Aggregate()
	// Every cell covers the persons of the leaves below it.
	for i := range c.Table.Cells {
		coords := c.Coords(i)
		for j := range c.Table.Cells {
			if len(members[j]) == 0 || j == i {
				continue
			}
			below := true
			for d, x := range c.Coords(j) {
				if coords[d] != x && coords[d] != q.sizes[d] { // q.sizes[d] is the total code
					below = false
				}
			}
			if below && !isLeafOf(c, i) {
				members[i] = append(members[i], members[j]...)
			}
		}
	}
	protect(&c.Table)
	out := make([]publishedCell, len(c.Table.Cells))
	for i, cell := range c.Table.Cells {
		ps := slices.Clone(members[i])
		slices.Sort(ps)
		out[i] = publishedCell{persons: ps, value: cell.Value, published: !cell.Status.Suppressed(), shown: cfg.Perturb(cell.Value, cell.Key)}
	}
	return out
}

func isLeafOf(c *Cube, i int) bool {
	for d, x := range c.Coords(i) {
		if x == len(c.Dims[d].Codes)-1 {
			return false
		}
	}
	return true
}

// preimage is the range of true counts an attacker who knows Perturb (but not the keys)
// can tell from a published figure: every count that some key publishes as shown. The
// keys are sampled finely enough to hit every deviation the table allows.
func preimage(cfg Config, shown int64) (lo, hi int64) {
	memo := [2]int64{cfg.Threshold, shown}
	if r, ok := preimages.Load(memo); ok {
		return r.([2]int64)[0], r.([2]int64)[1]
	}
	defer func() { preimages.Store(memo, [2]int64{lo, hi}) }()
	lo, hi = -1, -1
	for n := max(0, shown-20); n <= shown+20; n++ {
		for i := range uint32(1024) {
			if cfg.Perturb(n, i<<22|1<<21) == shown {
				if lo < 0 {
					lo = n
				}
				hi = n
				break
			}
		}
	}
	return lo, hi
}

// preimages memoizes preimage: it is a pure function of the threshold and the figure.
var preimages sync.Map

// differences returns, for every published cell A of one answer and every set of
// published cells of another answer that partitions part of A's persons, the interval
// the attacker derives for the persons of A outside them, with its true value.
type derived struct {
	what     string
	truth    int64
	low, hig int64
}

func differences(cfg Config, exact bool, qa, qb string, a, b []publishedCell) []derived {
	var out []derived
	for ai, A := range a {
		if !A.published || len(A.persons) == 0 {
			continue
		}
		// The cells of b inside A, when they partition A.
		var inside []publishedCell
		covered := 0
		for _, B := range b {
			if len(B.persons) == 0 || !subset(B.persons, A.persons) || len(B.persons) == len(A.persons) {
				continue
			}
			inside = append(inside, B)
			covered += len(B.persons)
		}
		if covered != len(A.persons) || !disjoint(inside) {
			continue
		}
		lo, hi := bounds(cfg, exact, A)
		var truth int64
		for _, B := range inside {
			if !B.published {
				truth += B.value
				continue
			}
			blo, bhi := bounds(cfg, exact, B)
			lo, hi = lo-bhi, hi-blo
		}
		out = append(out, derived{what: fmt.Sprintf("%s cell %d minus the published cells of %s", qa, ai, qb), truth: truth, low: max(lo, 0), hig: hi})
	}
	return out
}

func bounds(cfg Config, exact bool, c publishedCell) (int64, int64) {
	if exact {
		return c.shown, c.shown
	}
	return preimage(cfg, c.shown)
}

func subset(small, big []int) bool {
	for _, x := range small {
		if _, ok := slices.BinarySearch(big, x); !ok {
			return false
		}
	}
	return true
}

func disjoint(cells []publishedCell) bool {
	seen := map[int]bool{}
	for _, c := range cells {
		for _, p := range c.persons {
			if seen[p] {
				return false
			}
			seen[p] = true
		}
	}
	return true
}

func TestDifferencingCatalogQueriesFindsNoCountBelowTheThreshold(t *testing.T) {
	t.Parallel()
	cfg, _ := NewConfig(5)
	protect := func(tb *Table) {
		if _, err := cfg.Protect(tb); err != nil {
			t.Fatal(err)
		}
	}
	naiveLeaks := 0
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 3))
		var people []person
		for m := range 12 {
			// Some municipalities have a handful of persons, others dozens.
			n := rng.IntN(4)
			if rng.IntN(3) > 0 {
				n = 5 + rng.IntN(25)
			}
			for range n {
				people = append(people, person{municipality: m, sex: rng.IntN(3), key: rng.Uint32()})
			}
		}
		answers := map[string][]publishedCell{}
		unperturbed := map[string][]publishedCell{}
		for _, q := range catalogQueries {
			answers[q.name] = publish(t, cfg, people, q, protect)
			naive := publish(t, cfg, people, q, func(tb *Table) { naive(tb, cfg.Threshold, true) })
			for i := range naive {
				naive[i].shown = naive[i].value
			}
			unperturbed[q.name] = naive
		}
		for _, qa := range catalogQueries {
			for _, qb := range catalogQueries {
				if qa.name == qb.name {
					continue
				}
				for _, d := range differences(cfg, false, qa.name, qb.name, answers[qa.name], answers[qb.name]) {
					if d.truth > 0 && d.truth < cfg.Threshold && d.low > 0 && d.hig-d.low < cfg.Threshold {
						t.Errorf("seed %d: %s: %d persons, the attacker narrows them to [%d, %d]", seed, d.what, d.truth, d.low, d.hig)
					}
				}
				for _, d := range differences(cfg, true, qa.name, qb.name, unperturbed[qa.name], unperturbed[qb.name]) {
					if d.truth > 0 && d.truth < cfg.Threshold && d.low == d.truth && d.hig == d.truth {
						naiveLeaks++
					}
				}
			}
		}
	}
	if naiveLeaks == 0 {
		t.Fatal("unperturbed suppression was expected to leak by differencing on these tables; the test no longer shows the danger")
	}
	t.Logf("unperturbed suppression gave away %d counts below the threshold by differencing", naiveLeaks)
}

func TestPerturbationIsBoundedSymmetricAndNeverBelowTheThreshold(t *testing.T) {
	t.Parallel()
	for _, threshold := range []int64{3, 5, 10} {
		cfg, err := NewConfig(threshold)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(threshold), 1))
		for value := int64(0); value < 60; value++ {
			var sum int64
			const draws = 4000
			for range draws {
				key := rng.Uint32()
				got := cfg.Perturb(value, key)
				if got != cfg.Perturb(value, key) {
					t.Fatalf("Perturb(%d, %d) is not deterministic", value, key)
				}
				switch {
				case value == 0 && got != 0:
					t.Fatalf("threshold %d: zero published as %d", threshold, got)
				case value >= threshold && got < threshold:
					t.Fatalf("threshold %d: %d published as %d, below the threshold", threshold, value, got)
				case abs(got-value) > cfg.Deviation():
					t.Fatalf("threshold %d: %d published as %d, beyond the deviation %d", threshold, value, got, cfg.Deviation())
				}
				sum += got - value
			}
			if mean := float64(sum) / draws; mean > 0.15 || mean < -0.15 {
				t.Fatalf("threshold %d: value %d has mean deviation %.2f", threshold, value, mean)
			}
		}
		// Every published figure stands for at least Deviation()+1 true counts.
		for shown := threshold; shown < 60; shown++ {
			if lo, hi := preimage(cfg, shown); hi-lo < cfg.Deviation() {
				t.Fatalf("threshold %d: published %d pins the count to [%d, %d]", threshold, shown, lo, hi)
			}
		}
	}
}

func TestConfigRefusesAThresholdBelowThree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		threshold int64
		want      int64
		wantErr   bool
	}{
		{"no threshold means the default of five", 0, 5, false},
		{"three is the smallest threshold allowed", 3, 3, false},
		{"two is refused", 2, 0, true},
		{"a negative threshold is refused", -1, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := NewConfig(tt.threshold)
			if (err != nil) != tt.wantErr || cfg.Threshold != tt.want {
				t.Fatalf("NewConfig(%d) = %+v, %v", tt.threshold, cfg, err)
			}
		})
	}
}
