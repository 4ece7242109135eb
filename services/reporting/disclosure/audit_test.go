package disclosure

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// flat is a dimension of n values and their total.
func flat(name string, n int) Dimension {
	d := Dimension{Name: name}
	g := Group{Total: n}
	for i := range n {
		d.Codes = append(d.Codes, fmt.Sprintf("%s%d", name, i))
		g.Parts = append(g.Parts, i)
	}
	d.Codes = append(d.Codes, name+"_T")
	d.Groups = []Group{g}
	return d
}

// territory is a territory dimension with two trees over the same municipalities, as
// Italy has them: municipalities into districts into the region, and municipalities into
// provinces into the region. muns[i] gives municipality i's district and province.
func territory(districts, provinces int, muns [][2]int) Dimension {
	d := Dimension{Name: "territory"}
	for i := range muns {
		d.Codes = append(d.Codes, fmt.Sprintf("m%d", i))
	}
	distAt, provAt := len(d.Codes), len(d.Codes)+districts
	for i := range districts {
		d.Codes = append(d.Codes, fmt.Sprintf("d%d", i))
	}
	for i := range provinces {
		d.Codes = append(d.Codes, fmt.Sprintf("p%d", i))
	}
	region := len(d.Codes)
	d.Codes = append(d.Codes, "region")
	byDist, byProv := make([][]int, districts), make([][]int, provinces)
	for i, m := range muns {
		byDist[m[0]] = append(byDist[m[0]], i)
		byProv[m[1]] = append(byProv[m[1]], i)
	}
	rd, rp := Group{Total: region}, Group{Total: region}
	for i, parts := range byDist {
		d.Groups = append(d.Groups, Group{Total: distAt + i, Parts: parts})
		rd.Parts = append(rd.Parts, distAt+i)
	}
	for i, parts := range byProv {
		d.Groups = append(d.Groups, Group{Total: provAt + i, Parts: parts})
		rp.Parts = append(rp.Parts, provAt+i)
	}
	d.Groups = append(d.Groups, rd, rp)
	return d
}

// randomCube fills the leaves of a cube over dims with counts that are small often
// enough to need suppression everywhere.
func randomCube(t *testing.T, rng *rand.Rand, dims []Dimension) *Cube {
	t.Helper()
	c, err := NewCube(dims)
	if err != nil {
		t.Fatal(err)
	}
	leaves := make([]map[int]bool, len(dims))
	for d, dim := range dims {
		leaves[d] = map[int]bool{}
		totals := map[int]bool{}
		for _, g := range dim.Groups {
			totals[g.Total] = true
		}
		for i := range dim.Codes {
			if !totals[i] {
				leaves[d][i] = true
			}
		}
	}
	for i := range c.Table.Cells {
		leaf := true
		for d, x := range c.Coords(i) {
			leaf = leaf && leaves[d][x]
		}
		if !leaf {
			continue
		}
		var v int64
		switch r := rng.IntN(10); {
		case r < 3:
			v = 0
		case r < 7:
			v = 1 + rng.Int64N(4) // below the threshold
		default:
			v = 5 + rng.Int64N(30)
		}
		c.Table.Cells[i] = Cell{Value: v, Contributors: v, Key: rng.Uint32()}
	}
	c.Aggregate()
	if err := c.Table.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// auditWidths checks that every suppressed cell's interval is as wide as its protection
// and returns the cells that are not.
func auditWidths(t *testing.T, c Config, tb *Table) []string {
	t.Helper()
	ivs, err := Audit(tb)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	var narrow []string
	for cell, iv := range ivs {
		if iv.Width() < c.protection(tb.Cells[cell])-1e-6 {
			narrow = append(narrow, fmt.Sprintf("cell %d (value %d, %s): [%.2f, %.2f]", cell, tb.Cells[cell].Value, tb.Cells[cell].Status, iv.Low, iv.High))
		}
	}
	return narrow
}

func TestProtectedTablesPassTheLinearProgrammingAudit(t *testing.T) {
	t.Parallel()
	muns := [][2]int{{0, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 1}, {2, 1}, {2, 2}, {2, 2}}
	tests := []struct {
		name string
		dims func() []Dimension
	}{
		{"a one-way table with its total", func() []Dimension { return []Dimension{flat("sex", 3)} }},
		{"a two-way table of months by sex with both margins", func() []Dimension { return []Dimension{flat("month", 4), flat("sex", 3)} }},
		{"a three-way table of months by districts by sex", func() []Dimension {
			return []Dimension{flat("month", 2), flat("district", 3), flat("sex", 2)}
		}},
		{"municipalities with their districts, provinces and region", func() []Dimension {
			return []Dimension{territory(3, 3, muns)}
		}},
		{"municipalities and both territory trees by sex", func() []Dimension {
			return []Dimension{territory(3, 3, muns), flat("sex", 2)}
		}},
	}
	cfg, err := NewConfig(5)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(15) {
				rng := rand.New(rand.NewPCG(seed, 7))
				c := randomCube(t, rng, tt.dims())
				rep, err := cfg.Protect(&c.Table)
				if err != nil {
					t.Fatal(err)
				}
				if rep.UnauditedCell > 0 {
					t.Fatalf("seed %d: %d suppressed cells in groups too large to audit: make the table smaller", seed, rep.UnauditedCell)
				}
				if narrow := auditWidths(t, cfg, &c.Table); len(narrow) > 0 {
					t.Fatalf("seed %d: an attacker narrows suppressed cells below the threshold: %v", seed, narrow)
				}
			}
		})
	}
}

func TestTheHeuristicAloneHoldsOnOneAndTwoWayTables(t *testing.T) {
	t.Parallel()
	cfg := Config{Threshold: 5, MaxLPCells: -1}
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 11))
		c := randomCube(t, rng, []Dimension{flat("month", 6), flat("sex", 3)})
		if _, err := cfg.Protect(&c.Table); err != nil {
			t.Fatal(err)
		}
		if narrow := auditWidths(t, cfg, &c.Table); len(narrow) > 0 {
			t.Fatalf("seed %d: %v", seed, narrow)
		}
	}
}

// naive is how a first implementation suppresses: primary cells, then, when asked, one
// more cell in every relation left with a single suppressed cell.
func naive(tb *Table, threshold int64, secondary bool) {
	for i := range tb.Cells {
		if c := tb.Cells[i]; c.Contributors > 0 && c.Contributors < threshold {
			tb.Cells[i].Status = StatusPrimary
		}
	}
	for changed := secondary; changed; {
		changed = false
		for _, rel := range tb.Relations {
			members := append([]int{rel.Total}, rel.Parts...)
			n, cheapest := 0, -1
			for _, m := range members {
				if tb.Cells[m].Status.Suppressed() {
					n++
				} else if cheapest < 0 || tb.Cells[m].Value < tb.Cells[cheapest].Value {
					cheapest = m
				}
			}
			if n == 1 && cheapest >= 0 {
				tb.Cells[cheapest].Status = StatusSecondary
				changed = true
			}
		}
	}
}

func TestNaiveSuppressionLeaksWhereProtectDoesNot(t *testing.T) {
	t.Parallel()
	cfg, _ := NewConfig(5)
	tests := []struct {
		name      string
		table     func() *Table
		secondary bool
	}{
		{"primary suppression alone: the total minus the published parts gives the cell", func() *Table {
			return row([]int64{2, 10, 7}, nil, false)
		}, false},
		{"two small cells suppressed together still sum to less than the threshold", func() *Table {
			return row([]int64{1, 1, 10, 12}, nil, false)
		}, true},
		{"a small cell hidden behind a zero is still known to be below three", func() *Table {
			return row([]int64{2, 0, 30}, nil, false)
		}, true},
		{"a two-way table where every row and column has two suppressed cells", func() *Table {
			c, _ := NewCube([]Dimension{flat("r", 3), flat("c", 3)})
			for i, v := range []int64{1, 40, 1, 30, 1, 30, 1, 30, 1} {
				c.Table.Cells[c.Index(i/3, i%3)] = Cell{Value: v, Contributors: v}
			}
			c.Aggregate()
			return &c.Table
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			leaky := tt.table()
			naive(leaky, cfg.Threshold, tt.secondary)
			if narrow := auditWidths(t, cfg, leaky); len(narrow) == 0 {
				t.Fatal("the naive method was expected to leak on this table; the test no longer shows the danger")
			}
			safe := tt.table()
			if _, err := cfg.Protect(safe); err != nil {
				t.Fatal(err)
			}
			if narrow := auditWidths(t, cfg, safe); len(narrow) > 0 {
				t.Fatalf("Protect leaks: %v", narrow)
			}
		})
	}
}

func BenchmarkProtect(b *testing.B) {
	cfg, _ := NewConfig(5)
	t := &testing.T{}
	rng := rand.New(rand.NewPCG(1, 2))
	base := randomCube(t, rng, []Dimension{flat("month", 12), flat("district", 12), flat("sex", 3)})
	for b.Loop() {
		tb := Table{Cells: append([]Cell(nil), base.Table.Cells...), Relations: base.Table.Relations}
		if _, err := cfg.Protect(&tb); err != nil {
			b.Fatal(err)
		}
	}
}
