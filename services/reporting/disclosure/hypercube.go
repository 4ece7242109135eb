package disclosure

import (
	"cmp"
	"math"
	"slices"
)

// Hypercube certificates: how Protect vouches for groups of suppressed cells too large to
// audit by linear programming (in the spirit of τ-ARGUS's hypercube method, GHMITER).
//
// In a cube, pick for a suppressed cell x one "edge" per dimension: a second code of that
// dimension whose unit change, together with x's, keeps every group of the dimension
// balanced — a sibling with the opposite sign (a part of the same group: +1 on one, −1
// on the other), or the group's total with the same sign (+1 on a part and on its
// total). The product of the edges is a direction d over 2^k cells (the corners) with
// every relation of the cube summing to zero along it. When every corner is suppressed,
// an attacker who knows every published cell exactly cannot tell the true values from
// values + t·d for any t keeping the corners non-negative: t ∈ [−min(+corners),
// min(−corners)]. Every corner's interval is therefore at least min(+corners) +
// min(−corners) wide: a lower bound of what the linear program would find, so a
// certificate at least as wide as the cell's protection is proof that the cell is
// protected. Repair, where no suppressed hypercube is wide enough, suppresses the
// missing corners of the cheapest hypercube that is.

// edge is one dimension's step of a hypercube: the partner code and the sign of the
// partner's change relative to the cell's code.
type edge struct {
	code int
	sign int
}

// cubeEdges lists, for every code of every dimension, the balanced edges it has.
type cubeEdges [][][]edge

// newCubeEdges finds the edges of every code: for code a and candidate b, the unit
// vector +1 at a and ±1 at b must satisfy every group of the dimension (the parts' sum
// equals the total).
func newCubeEdges(c *Cube) cubeEdges {
	out := make(cubeEdges, len(c.Dims))
	for d, dim := range c.Dims {
		out[d] = make([][]edge, len(dim.Codes))
		// For a code, its groups as part (+1 contributes to the sum) and as total.
		asPart := make([][]int, len(dim.Codes))
		asTotal := make([][]int, len(dim.Codes))
		for gi, g := range dim.Groups {
			asTotal[g.Total] = append(asTotal[g.Total], gi)
			for _, p := range g.Parts {
				asPart[p] = append(asPart[p], gi)
			}
		}
		balanced := func(a, b, sign int) bool {
			// every group: sum over parts of v − v[total] = 0, with v[a]=1, v[b]=sign.
			touched := append(append(append(append([]int(nil), asPart[a]...), asTotal[a]...), asPart[b]...), asTotal[b]...)
			slices.Sort(touched)
			for _, gi := range slices.Compact(touched) {
				sum := 0
				if slices.Contains(asPart[a], gi) {
					sum++
				}
				if slices.Contains(asTotal[a], gi) {
					sum--
				}
				if slices.Contains(asPart[b], gi) {
					sum += sign
				}
				if slices.Contains(asTotal[b], gi) {
					sum -= sign
				}
				if sum != 0 {
					return false
				}
			}
			return true
		}
		for a := range dim.Codes {
			if len(asPart[a]) == 0 && len(asTotal[a]) == 0 {
				continue // in no group: the dimension needs no step at this code
			}
			// Candidates share a group with a: its siblings, its totals, its parts.
			cand := map[int]bool{}
			for _, gi := range append(append([]int(nil), asPart[a]...), asTotal[a]...) {
				g := dim.Groups[gi]
				cand[g.Total] = true
				for _, p := range g.Parts {
					cand[p] = true
				}
			}
			delete(cand, a)
			bs := make([]int, 0, len(cand))
			for b := range cand {
				bs = append(bs, b)
			}
			slices.Sort(bs)
			for _, b := range bs {
				for _, sign := range []int{-1, 1} {
					if balanced(a, b, sign) {
						out[d][a] = append(out[d][a], edge{code: b, sign: sign})
					}
				}
			}
		}
	}
	return out
}

// hypercube is a certificate: the corners (cell indexes) with their signs.
type hypercube struct {
	corners []int
	signs   []int
}

// width is the interval every corner is certified to have, over values.
func (h hypercube) width(cells []Cell) float64 {
	plus, minus := math.Inf(1), math.Inf(1)
	for k, c := range h.corners {
		v := float64(cells[c].Value)
		if h.signs[k] > 0 {
			plus = math.Min(plus, v)
		} else {
			minus = math.Min(minus, v)
		}
	}
	return plus + minus
}

// cost is what suppressing the hypercube's published corners gives up: how many, and
// their total value.
func (h hypercube) cost(cells []Cell) (n int, value int64) {
	for _, c := range h.corners {
		if !cells[c].Status.Suppressed() {
			n++
			value += cells[c].Value
		}
	}
	return n, value
}

// maxSearch bounds the steps one search takes (partial hypercubes looked at).
const maxSearch = 1 << 14

// certifier finds hypercubes of one cube.
type certifier struct {
	cube  *Cube
	edges cubeEdges
}

// search walks the hypercubes through cell (the cell first, sign +1), one dimension at a
// time, taking in dimension d the partners cand returns; keep(partial) prunes a partial
// hypercube (its corners so far: the corners only grow, so a width only shrinks and a
// cost only grows), and done receives each complete one. A dimension in which the cell's
// code is in no group takes no step; one where it is in a group but has no balanced
// partner leaves no hypercube.
func (h *certifier) search(cell int, cand func(d int, es []edge) []edge, keep func(hypercube) bool, done func(hypercube)) {
	x := h.cube.Coords(cell)
	steps := make([][]edge, len(x))
	for d := range x {
		es := h.edges[d][x[d]]
		if len(es) == 0 {
			if h.hasGroup(d, x[d]) {
				return
			}
			continue
		}
		if steps[d] = cand(d, es); len(steps[d]) == 0 {
			return
		}
	}
	budget := maxSearch
	var rec func(d int, hc hypercube)
	rec = func(d int, hc hypercube) {
		if budget <= 0 {
			return
		}
		budget--
		if d == len(x) {
			done(hc)
			return
		}
		if steps[d] == nil {
			rec(d+1, hc)
			return
		}
		n := len(hc.corners)
		for _, e := range steps[d] {
			// Every corner so far has x[d] in dimension d: moving it to e.code shifts
			// its index by the same amount.
			shift := (e.code - x[d]) * h.cube.strides[d]
			next := hypercube{corners: make([]int, 2*n), signs: make([]int, 2*n)}
			copy(next.corners, hc.corners)
			copy(next.signs, hc.signs)
			for k := range n {
				next.corners[n+k] = hc.corners[k] + shift
				next.signs[n+k] = hc.signs[k] * e.sign
			}
			if keep(next) {
				rec(d+1, next)
			}
		}
	}
	start := hypercube{corners: []int{cell}, signs: []int{1}}
	if keep(start) {
		rec(0, start)
	}
}

func (h *certifier) hasGroup(d, code int) bool {
	for _, g := range h.cube.Dims[d].Groups {
		if g.Total == code || slices.Contains(g.Parts, code) {
			return true
		}
	}
	return false
}

// neighbour is the cell next to cell along dimension d at code.
func (h *certifier) neighbour(cell, d, code int) int {
	x := h.cube.Coords(cell)
	return cell + (code-x[d])*h.cube.strides[d]
}

// certified reports whether some hypercube of suppressed cells through cell is at least
// need wide.
func (h *certifier) certified(cell int, need float64) bool {
	cells := h.cube.Table.Cells
	ok := false
	h.search(cell, func(d int, es []edge) []edge {
		// Only partners whose neighbour is suppressed can make a suppressed hypercube.
		var out []edge
		for _, e := range es {
			if cells[h.neighbour(cell, d, e.code)].Status.Suppressed() {
				out = append(out, e)
			}
		}
		return out
	}, func(hc hypercube) bool {
		if ok {
			return false
		}
		for _, c := range hc.corners {
			if !cells[c].Status.Suppressed() {
				return false
			}
		}
		return hc.width(cells) >= need-1e-6
	}, func(hypercube) { ok = true })
	return ok
}

// candidatesPerDim bounds the partners a repair tries per dimension.
const candidatesPerDim = 6

// repair suppresses the published corners of the cheapest hypercube through cell at
// least need wide, and reports whether it found one to suppress.
func (h *certifier) repair(cell int, need float64, suppress func(int)) bool {
	cells := h.cube.Table.Cells
	var best hypercube
	bestN, bestV := -1, int64(0)
	h.search(cell, func(d int, es []edge) []edge {
		// The cheapest partners first: suppressed neighbours cost nothing, then small
		// non-zero ones; zero neighbours add no width.
		type scored struct {
			e    edge
			free bool
			v    int64
		}
		var sc []scored
		for _, e := range es {
			c := cells[h.neighbour(cell, d, e.code)]
			if c.Value > 0 {
				sc = append(sc, scored{e, c.Status.Suppressed(), c.Value})
			}
		}
		slices.SortStableFunc(sc, func(a, b scored) int {
			if a.free != b.free {
				if a.free {
					return -1
				}
				return 1
			}
			return cmp.Compare(a.v, b.v)
		})
		var out []edge
		for i := 0; i < len(sc) && i < candidatesPerDim; i++ {
			out = append(out, sc[i].e)
		}
		return out
	}, func(hc hypercube) bool {
		if hc.width(cells) < need-1e-6 {
			return false
		}
		n, v := hc.cost(cells)
		return bestN < 0 || n < bestN || (n == bestN && v < bestV)
	}, func(hc hypercube) {
		n, v := hc.cost(cells)
		if bestN < 0 || n < bestN || (n == bestN && v < bestV) {
			best, bestN, bestV = hc, n, v
		}
	})
	if bestN <= 0 {
		return false // none found (bestN < 0), or one already suppressed (0: nothing to do)
	}
	for _, c := range best.corners {
		if !cells[c].Status.Suppressed() {
			suppress(c)
		}
	}
	return true
}
