package disclosure

import (
	"testing"
)

func TestProtectMarksEachSuppressedCellAndWhy(t *testing.T) {
	t.Parallel()
	cfg, _ := NewConfig(5)
	type want struct {
		status Status
		reason Reason
	}
	pub, prim, sec := want{StatusPublished, ReasonNone}, want{StatusPrimary, ReasonBelowThreshold}, want{StatusSecondary, ReasonComplement}
	tests := []struct {
		name   string
		values []int64 // parts; the last cell of the table is their total
		want   []want  // parts then total
	}{
		{"a table without small cells is published whole", []int64{5, 10, 20}, []want{pub, pub, pub, pub}},
		{"zero cells are published: an empty cell reveals nobody", []int64{0, 10, 20}, []want{pub, pub, pub, pub}},
		{"a small cell takes the smallest part that covers the threshold as its complement", []int64{2, 30, 7, 9}, []want{prim, pub, sec, pub, pub}},
		{"two small cells that sum below the threshold take a third", []int64{1, 1, 6, 40}, []want{prim, prim, sec, pub, pub}},
		{"a small cell beside zeros only takes the total", []int64{2, 0, 0}, []want{prim, pub, pub, prim}},
		{"a small total and its small parts are all primary", []int64{1, 2}, []want{prim, prim, prim}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := row(tt.values, nil, false)
			if _, err := cfg.Protect(tb); err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				if got := (want{tb.Cells[i].Status, tb.Cells[i].Reason}); got != w {
					t.Errorf("cell %d (value %d) = %v/%q, want %v/%q", i, tb.Cells[i].Value, got.status, got.reason, w.status, w.reason)
				}
			}
		})
	}
}

func TestProtectContributorsDecideSumsNotTheirValue(t *testing.T) {
	t.Parallel()
	cfg, _ := NewConfig(5)
	// Mediation minutes: 600 minutes by 2 mediators is as disclosive as 2 persons.
	tb := &Table{
		Cells:     []Cell{{Value: 600, Contributors: 2}, {Value: 900, Contributors: 9}, {Value: 1200, Contributors: 12}, {Value: 2700, Contributors: 23}},
		Relations: []Relation{{Total: 3, Parts: []int{0, 1, 2}}},
	}
	if _, err := cfg.Protect(tb); err != nil {
		t.Fatal(err)
	}
	if tb.Cells[0].Status != StatusPrimary || tb.Cells[1].Status != StatusSecondary {
		t.Fatalf("statuses = %v %v, want primary and its complement", tb.Cells[0].Status, tb.Cells[1].Status)
	}
	if narrow := auditWidths(t, cfg, tb); len(narrow) > 0 {
		t.Fatalf("an attacker narrows the minutes below five mediators' worth: %v", narrow)
	}
}

func TestProtectRefusesMalformedTables(t *testing.T) {
	t.Parallel()
	cfg, _ := NewConfig(5)
	tests := []struct {
		name  string
		table Table
	}{
		{"a relation whose parts do not sum to its total", Table{Cells: []Cell{{Value: 1}, {Value: 3}}, Relations: []Relation{{Total: 1, Parts: []int{0}}}}},
		{"a relation naming a cell that does not exist", Table{Cells: []Cell{{Value: 1}}, Relations: []Relation{{Total: 0, Parts: []int{4}}}}},
		{"a negative value", Table{Cells: []Cell{{Value: -1}}}},
		{"a relation that counts a cell twice", Table{Cells: []Cell{{Value: 1}, {Value: 2}}, Relations: []Relation{{Total: 1, Parts: []int{0, 0}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := cfg.Protect(&tt.table); err == nil {
				t.Fatal("Protect accepted a malformed table")
			}
		})
	}
	if _, err := (Config{Threshold: 2}).Protect(&Table{}); err == nil {
		t.Fatal("Protect ran with a threshold below three")
	}
}

func TestMediansOverFewPersonsAreSuppressed(t *testing.T) {
	t.Parallel()
	cfg, _ := NewConfig(5)
	tests := []struct {
		name    string
		persons int64
		want    Status
	}{
		{"a median over four persons is suppressed", 4, StatusPrimary},
		{"a median over five persons is published", 5, StatusPublished},
		{"a median over nobody is suppressed", 0, StatusPrimary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, _ := cfg.MedianStatus(tt.persons); got != tt.want {
				t.Fatalf("MedianStatus(%d) = %v, want %v", tt.persons, got, tt.want)
			}
		})
	}
}

func TestCubeRelationsCoverEveryMarginAndTerritoryLevel(t *testing.T) {
	t.Parallel()
	muns := [][2]int{{0, 0}, {0, 1}, {1, 1}}
	c, err := NewCube([]Dimension{territory(2, 2, muns), flat("sex", 2)})
	if err != nil {
		t.Fatal(err)
	}
	// 3 municipalities + 2 districts + 2 provinces + region = 8 codes; sex 3 codes.
	if len(c.Table.Cells) != 24 {
		t.Fatalf("cells = %d, want 24", len(c.Table.Cells))
	}
	// Territory groups (2 districts, 2 provinces, region twice) at 3 sex codes, plus
	// the sex margin at 8 territory codes.
	if len(c.Table.Relations) != 6*3+8 {
		t.Fatalf("relations = %d, want %d", len(c.Table.Relations), 6*3+8)
	}
	for m, v := range []int64{3, 4, 5} {
		c.Table.Cells[c.Index(m, 0)] = Cell{Value: v, Contributors: v, Key: 1}
		c.Table.Cells[c.Index(m, 1)] = Cell{Value: 10 * v, Contributors: 10 * v, Key: 2}
	}
	c.Aggregate()
	if err := c.Table.Validate(); err != nil {
		t.Fatalf("aggregated cube breaks its relations: %v", err)
	}
	region, total := 7, 2
	if got := c.Table.Cells[c.Index(region, total)]; got.Value != 132 || got.Key != 9 {
		t.Fatalf("region total = %+v, want value 132 and key 9", got)
	}
}
