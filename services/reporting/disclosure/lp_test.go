package disclosure

import (
	"math"
	"testing"
)

// row builds a one-dimensional table: parts then their total, with the given parts
// suppressed (as primary) and the total suppressed when suppressTotal.
func row(values []int64, suppressed []int, suppressTotal bool) *Table {
	t := &Table{}
	var sum int64
	rel := Relation{Total: len(values)}
	for i, v := range values {
		t.Cells = append(t.Cells, Cell{Value: v, Contributors: v})
		rel.Parts = append(rel.Parts, i)
		sum += v
	}
	t.Cells = append(t.Cells, Cell{Value: sum, Contributors: sum})
	t.Relations = []Relation{rel}
	for _, i := range suppressed {
		t.Cells[i].Status = StatusPrimary
	}
	if suppressTotal {
		t.Cells[len(values)].Status = StatusSecondary
	}
	return t
}

func TestAuditDerivesTheIntervalsAnAttackerCan(t *testing.T) {
	t.Parallel()
	two := func() *Table { // 2x2 with margins; cells (0,0) and (1,1) of values 3 and 4 suppressed
		c, err := NewCube([]Dimension{
			{Name: "r", Codes: []string{"a", "b", "T"}, Groups: []Group{{Total: 2, Parts: []int{0, 1}}}},
			{Name: "c", Codes: []string{"x", "y", "T"}, Groups: []Group{{Total: 2, Parts: []int{0, 1}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range []int64{3, 10, 20, 4} {
			c.Table.Cells[c.Index(i/2, i%2)] = Cell{Value: v, Contributors: v}
		}
		c.Aggregate()
		return &c.Table
	}
	tests := []struct {
		name  string
		table func() *Table
		cell  int
		want  Interval
	}{
		{"a single suppressed part is recovered exactly from the total", func() *Table { return row([]int64{2, 10, 7}, []int{0}, false) }, 0, Interval{2, 2}},
		{"two suppressed parts are known only by their sum", func() *Table { return row([]int64{1, 1, 10}, []int{0, 1}, false) }, 0, Interval{0, 2}},
		{"a suppressed total leaves a suppressed part unbounded above", func() *Table { return row([]int64{2, 10, 7}, []int{0}, true) }, 0, Interval{0, math.Inf(1)}},
		{"in a two-way table only the other diagonal cell bounds a suppressed pair", func() *Table {
			tb := two()
			tb.Cells[0].Status = StatusPrimary   // (a,x) = 3
			tb.Cells[4].Status = StatusSecondary // (b,y) = 4, but then (a,y) and (b,x) are recoverable
			tb.Cells[1].Status = StatusSecondary // (a,y) = 10
			tb.Cells[3].Status = StatusSecondary // (b,x) = 20
			return tb
		}, 0, Interval{0, 13}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := tt.table()
			if err := tb.Validate(); err != nil {
				t.Fatal(err)
			}
			got, err := Audit(tb)
			if err != nil {
				t.Fatal(err)
			}
			iv := got[tt.cell]
			if math.Abs(iv.Low-tt.want.Low) > 1e-6 || !(math.IsInf(tt.want.High, 1) && math.IsInf(iv.High, 1) || math.Abs(iv.High-tt.want.High) < 1e-6) {
				t.Fatalf("interval of cell %d = %+v, want %+v", tt.cell, iv, tt.want)
			}
		})
	}
}
