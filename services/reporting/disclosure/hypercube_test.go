package disclosure

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// narrowCells solves the attacker's interval of every suppressed cell of tb by linear
// programming, as Audit does, but stops solving a cell once the solutions found show it
// at least as wide as its protection (so large groups can be audited in a test), and
// returns the cells that are narrower.
func narrowCells(t *testing.T, c Config, tb *Table) []string {
	t.Helper()
	p := newProtector(c, tb)
	enough := func(cell int) float64 { return c.protection(tb.Cells[cell]) }
	var narrow []string
	for _, group := range p.groups() {
		iv, err := intervals(tb, group, enough)
		if err != nil {
			t.Fatalf("audit: %v", err)
		}
		for k, cell := range group {
			if iv[k].Width() < enough(cell)-1e-6 {
				narrow = append(narrow, fmt.Sprintf("cell %d (value %d, %s): [%.2f, %.2f]", cell, tb.Cells[cell].Value, tb.Cells[cell].Status, iv[k].Low, iv[k].High))
			}
		}
	}
	return narrow
}

func TestProtectCubeVouchesForLargeGroups(t *testing.T) {
	t.Parallel()
	cfg, err := NewConfig(5)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxLPCells = 8 // every real group is larger: the certificates do the work
	tests := []struct {
		name string
		dims func() []Dimension
	}{
		{"months by districts by sex", func() []Dimension { return []Dimension{flat("month", 6), flat("district", 8), flat("sex", 3)} }},
		{"months by municipalities", func() []Dimension { return []Dimension{flat("month", 12), flat("municipality", 20)} }},
		{"four dimensions", func() []Dimension {
			return []Dimension{flat("quarter", 2), flat("district", 3), flat("sex", 2), flat("age", 3)}
		}},
		{"a dimension with a single code, equal to its total", func() []Dimension {
			return []Dimension{flat("month", 8), flat("district", 6), flat("sex", 1)}
		}},
	}
	// The heuristic alone must leak somewhere, or these tables do not show the danger.
	var leaked atomic.Int64
	t.Cleanup(func() {
		if leaked.Load() == 0 {
			t.Error("the heuristic alone protected every table: the test no longer shows what the certificates add")
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			leaks := 0
			for seed := range uint64(4) {
				rng := rand.New(rand.NewPCG(seed, 23))
				base := randomCube(t, rng, tt.dims())
				heuristic := Table{Cells: append([]Cell(nil), base.Table.Cells...), Relations: base.Table.Relations}
				if _, err := cfg.Protect(&heuristic); err != nil {
					t.Fatal(err)
				}
				if len(narrowCells(t, cfg, &heuristic)) > 0 {
					leaks++
				}
				rep, err := cfg.ProtectCube(base)
				if err != nil {
					t.Fatal(err)
				}
				if rep.UnauditedCell > 0 {
					t.Errorf("seed %d: %d suppressed cells neither audited nor certified (%+v)", seed, rep.UnauditedCell, rep)
				}
				if narrow := narrowCells(t, cfg, &base.Table); len(narrow) > 0 {
					t.Fatalf("seed %d: an attacker narrows suppressed cells below the threshold: %v (%+v)", seed, narrow, rep)
				}
			}
			t.Logf("the heuristic alone leaked in %d of 4 tables", leaks)
			leaked.Add(int64(leaks))
		})
	}
}

func TestAHypercubeCertificateIsALowerBoundOfTheAudit(t *testing.T) {
	t.Parallel()
	// A 2×2 block of suppressed cells in a 3×3 table with margins: the rectangle
	// (0,0) (0,1) (1,0) (1,1) moves by t ∈ [−min(+), min(−)].
	c, err := NewCube([]Dimension{flat("r", 3), flat("c", 3)})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []int64{2, 6, 30, 7, 3, 30, 30, 30, 30} {
		c.Table.Cells[c.Index(i/3, i%3)] = Cell{Value: v, Contributors: v}
	}
	c.Aggregate()
	for _, co := range [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
		c.Table.Cells[c.Index(co[0], co[1])].Status = StatusSecondary
	}
	h := &certifier{cube: c, edges: newCubeEdges(c)}
	// + corners (0,0)=2 and (1,1)=3, − corners (0,1)=6 and (1,0)=7: width 2+6 = 8.
	if !h.certified(c.Index(0, 0), 8) || h.certified(c.Index(0, 0), 8.5) {
		t.Fatal("the rectangle's certificate should be exactly 8 wide")
	}
	ivs, err := Audit(&c.Table)
	if err != nil {
		t.Fatal(err)
	}
	if w := ivs[c.Index(0, 0)].Width(); w < 8-1e-6 {
		t.Fatalf("the audit's interval is %.2f wide, narrower than the certificate", w)
	}
}

func BenchmarkProtectCube(b *testing.B) {
	cfg, _ := NewConfig(5)
	t := &testing.T{}
	for _, size := range []struct{ months, districts, sexes int }{{12, 12, 3}, {13, 36, 4}} {
		b.Run(fmt.Sprintf("%dx%dx%d", size.months, size.districts, size.sexes), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			base := randomCube(t, rng, []Dimension{flat("month", size.months), flat("district", size.districts), flat("sex", size.sexes)})
			for b.Loop() {
				c := *base
				c.Table = Table{Cells: append([]Cell(nil), base.Table.Cells...), Relations: base.Table.Relations}
				start := time.Now()
				if _, err := cfg.ProtectCube(&c); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/protect")
			}
		})
	}
}
