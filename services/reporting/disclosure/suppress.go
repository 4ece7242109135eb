package disclosure

import (
	"cmp"
	"fmt"
	"slices"
)

// Report says what Protect did, for metrics and tests.
type Report struct {
	Primary          int // cells suppressed as too small
	Secondary        int // cells suppressed as complements
	LPGroups         int // connected groups of suppressed cells audited by linear programming
	LPRepairs        int // complements added because an audited interval was too narrow
	HypercubeCells   int // suppressed cells of larger groups vouched for by a hypercube certificate
	HypercubeRepairs int // hypercubes suppressed because no suppressed one was wide enough
	UnauditedCell    int // suppressed cells neither audited nor certified
}

// Protect decides the status of every cell of t: primary suppression, then secondary
// suppression until every relation protects its suppressed cells, then the linear
// programming audit and repair of each small group of suppressed cells (see the package
// comment). Larger groups keep the heuristic's guarantee only: answers are cubes, and
// ProtectCube certifies those too. It returns an error only for a malformed table.
func (c Config) Protect(t *Table) (Report, error) {
	return c.protect(t, nil)
}

// ProtectCube is Protect for a cube, where every group of suppressed cells is vouched
// for: groups up to MaxLPCells by the linear programming audit, larger ones by hypercube
// certificates (see hypercube.go), repaired until every suppressed cell has one.
func (c Config) ProtectCube(cube *Cube) (Report, error) {
	return c.protect(&cube.Table, &certifier{cube: cube, edges: newCubeEdges(cube)})
}

func (c Config) protect(t *Table, cert *certifier) (Report, error) {
	if c.Threshold < MinThreshold {
		return Report{}, fmt.Errorf("%w, got %d", ErrThreshold, c.Threshold)
	}
	if err := t.Validate(); err != nil {
		return Report{}, fmt.Errorf("protect table: %w", err)
	}
	p := newProtector(c, t)
	var rep Report
	for i := range t.Cells {
		cell := &t.Cells[i]
		cell.Status, cell.Reason = StatusPublished, ReasonNone
		if cell.Contributors > 0 && cell.Contributors < c.Threshold {
			cell.Status, cell.Reason = StatusPrimary, ReasonBelowThreshold
			rep.Primary++
			p.touch(i)
		}
	}
	p.settle()
	maxLP := c.MaxLPCells
	if maxLP == 0 {
		maxLP = DefaultMaxLPCells
	}
	if t.Inexact {
		maxLP = -1
	}
	// Each repair suppresses at least one more cell, so this ends after at most
	// len(Cells) rounds. A group that passed stays passed while its cells stay the same:
	// the published cells of its relations cannot change without one of them joining it.
	// A certified cell stays certified: suppressing more cells keeps its hypercube.
	passed := map[string]bool{}
	certified := map[int]bool{}
	enough := func(cell int) float64 { return c.protection(t.Cells[cell]) }
	for maxLP > 0 || cert != nil {
		repaired := false
		rep.LPGroups, rep.UnauditedCell, rep.HypercubeCells = 0, 0, 0
		for _, group := range p.groups() {
			if len(group) > maxLP {
				if cert == nil {
					rep.UnauditedCell += len(group)
					continue
				}
				for _, cell := range group {
					if certified[cell] || cert.certified(cell, enough(cell)) {
						certified[cell] = true
						rep.HypercubeCells++
						continue
					}
					if cert.repair(cell, enough(cell), p.suppress) {
						rep.HypercubeRepairs++
					} else if !p.widen([]int{cell}) {
						rep.UnauditedCell++
						continue
					} else {
						rep.LPRepairs++
					}
					repaired = true // the others of the group are looked at still: a
					// certificate only needs suppressed cells, so suppressing more keeps it
				}
				continue
			}
			rep.LPGroups++
			sig := fmt.Sprint(group)
			if passed[sig] {
				continue
			}
			iv, err := intervals(t, group, enough)
			if err != nil {
				// A numerically failed audit cannot vouch for the group: widen it.
				if p.widen(group) {
					rep.LPRepairs++
					repaired = true
				}
				continue
			}
			ok := true
			for k, cell := range group {
				if iv[k].Width() >= c.protection(t.Cells[cell])-1e-6 {
					continue
				}
				ok = false
				if p.widen(group) {
					rep.LPRepairs++
					repaired = true
				}
				break // the group changed: audit it again
			}
			passed[sig] = ok
		}
		if !repaired {
			break
		}
		p.settle()
	}
	for _, cell := range t.Cells {
		if cell.Status == StatusSecondary {
			rep.Secondary++
		}
	}
	return rep, nil
}

// protector keeps the state of one Protect call.
type protector struct {
	c       Config
	t       *Table
	member  [][]int // relations of each cell
	queue   []int   // relations to check
	queued  []bool
	ordered []int // scratch
}

func newProtector(c Config, t *Table) *protector {
	p := &protector{c: c, t: t, member: make([][]int, len(t.Cells)), queued: make([]bool, len(t.Relations))}
	for r, rel := range t.Relations {
		p.member[rel.Total] = append(p.member[rel.Total], r)
		for _, part := range rel.Parts {
			p.member[part] = append(p.member[part], r)
		}
	}
	return p
}

// touch queues the relations of a newly suppressed cell.
func (p *protector) touch(cell int) {
	for _, r := range p.member[cell] {
		if !p.queued[r] {
			p.queued[r] = true
			p.queue = append(p.queue, r)
		}
	}
}

// suppress marks cell as a complement and queues its relations.
func (p *protector) suppress(cell int) {
	p.t.Cells[cell].Status, p.t.Cells[cell].Reason = StatusSecondary, ReasonComplement
	p.touch(cell)
}

// settle suppresses complements until every queued relation protects its cells.
func (p *protector) settle() {
	for len(p.queue) > 0 {
		r := p.queue[0]
		p.queue = p.queue[1:]
		p.queued[r] = false
		if cell, ok := p.complement(r); ok {
			p.suppress(cell)
			if !p.queued[r] { // check the relation again: one complement may not be enough
				p.queued[r] = true
				p.queue = append(p.queue, r)
			}
		}
	}
}

// complement returns the cell relation r must suppress next, if r does not yet protect
// its suppressed cells: at least two suppressed cells, and when the total is published,
// suppressed parts that together weigh at least the protection each of them needs.
func (p *protector) complement(r int) (int, bool) {
	rel := p.t.Relations[r]
	cells := p.t.Cells
	suppressed, mass, need := 0, int64(0), 0.0
	for _, part := range rel.Parts {
		if cells[part].Status.Suppressed() {
			suppressed++
			mass += cells[part].Value
			need = max(need, p.c.protection(cells[part]))
		}
	}
	totalSuppressed := cells[rel.Total].Status.Suppressed()
	if totalSuppressed {
		suppressed++
	}
	switch {
	case suppressed == 0:
		return 0, false
	case suppressed >= 2 && (totalSuppressed || float64(mass) >= need-1e-9):
		return 0, false
	}
	deficit := need - float64(mass)
	// Candidates: the published non-zero parts, cheapest first.
	p.ordered = p.ordered[:0]
	for _, part := range rel.Parts {
		if !cells[part].Status.Suppressed() && cells[part].Value > 0 {
			p.ordered = append(p.ordered, part)
		}
	}
	slices.SortFunc(p.ordered, func(a, b int) int {
		return cmp.Or(cmp.Compare(cells[a].Value, cells[b].Value), cmp.Compare(a, b))
	})
	for _, part := range p.ordered {
		if float64(cells[part].Value) >= deficit {
			return part, true
		}
	}
	if n := len(p.ordered); n > 0 {
		// No single part covers the deficit: take the largest and look again.
		return p.ordered[n-1], true
	}
	if !totalSuppressed {
		return rel.Total, true
	}
	// Only zero parts are left: one of them still makes the count two.
	for _, part := range rel.Parts {
		if !cells[part].Status.Suppressed() {
			return part, true
		}
	}
	return 0, false
}

// widen suppresses the cheapest published cell in any relation of the group's cells,
// non-zero ones first (a zero adds no uncertainty), and reports whether it found one.
func (p *protector) widen(group []int) bool {
	cells := p.t.Cells
	best := -1
	better := func(c int) bool {
		if best < 0 {
			return true
		}
		if (cells[c].Value > 0) != (cells[best].Value > 0) {
			return cells[c].Value > 0
		}
		return cells[c].Value < cells[best].Value || (cells[c].Value == cells[best].Value && c < best)
	}
	for _, cell := range group {
		for _, r := range p.member[cell] {
			rel := p.t.Relations[r]
			if c := rel.Total; !cells[c].Status.Suppressed() && better(c) {
				best = c
			}
			for _, c := range rel.Parts {
				if !cells[c].Status.Suppressed() && better(c) {
					best = c
				}
			}
		}
	}
	if best < 0 {
		return false
	}
	p.suppress(best)
	return true
}

// groups returns the suppressed cells that take part in relations, grouped into the
// connected sets that share relations (an attacker's equations link only within one).
func (p *protector) groups() [][]int {
	cells := p.t.Cells
	parent := make(map[int]int)
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, rel := range p.t.Relations {
		first := -1
		for _, c := range append([]int{rel.Total}, rel.Parts...) {
			if !cells[c].Status.Suppressed() {
				continue
			}
			if _, ok := parent[c]; !ok {
				parent[c] = c
			}
			if first < 0 {
				first = c
				continue
			}
			if a, b := find(first), find(c); a != b {
				parent[max(a, b)] = min(a, b)
			}
		}
	}
	byRoot := map[int][]int{}
	for c := range parent {
		root := find(c)
		byRoot[root] = append(byRoot[root], c)
	}
	out := make([][]int, 0, len(byRoot))
	for _, g := range byRoot {
		slices.Sort(g)
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b []int) int { return cmp.Compare(a[0], b[0]) })
	return out
}
