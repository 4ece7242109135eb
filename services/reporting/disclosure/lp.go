package disclosure

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// Interval is the range an attacker can derive for a suppressed cell.
type Interval struct {
	Low, High float64 // High is +Inf when nothing bounds the cell from above
}

// Width is High - Low.
func (iv Interval) Width() float64 { return iv.High - iv.Low }

// Audit returns, for every suppressed cell of t (in index order, as a map from index to
// interval), the interval an attacker derives by linear programming from every
// published cell and every relation, taking the published values as exact and every
// cell as non-negative. It is the disclosure audit: tests assert its widths, and
// Protect runs it on small groups.
func Audit(t *Table) (map[int]Interval, error) {
	p := newProtector(Config{Threshold: MinThreshold}, t)
	out := map[int]Interval{}
	for _, group := range p.groups() {
		iv, err := intervals(t, group, nil)
		if err != nil {
			return nil, err
		}
		for k, cell := range group {
			out[cell] = iv[k]
		}
	}
	for i, c := range t.Cells {
		if _, ok := out[i]; !ok && c.Status.Suppressed() {
			out[i] = Interval{Low: 0, High: inf} // in no relation: nothing bounds it
		}
	}
	return out, nil
}

// intervals solves, for each cell of group (suppressed cells linked by relations), its
// minimum and maximum subject to every relation touching the group, with published
// cells fixed at their values and all cells non-negative. When enough is not nil, a
// cell whose values over the solutions already found span at least enough(cell) is
// not solved for: its interval is then that span, a lower bound of the true one.
func intervals(t *Table, group []int, enough func(cell int) float64) ([]Interval, error) {
	index := make(map[int]int, len(group))
	for k, c := range group {
		index[c] = k
	}
	n := len(group)
	var rows [][]float64
	for _, rel := range t.Relations {
		row := make([]float64, n+1) // coefficients, then the right-hand side
		touched := false
		add := func(cell int, sign float64) {
			if k, ok := index[cell]; ok {
				row[k] += sign
				touched = true
			} else {
				row[n] -= sign * float64(t.Cells[cell].Value)
			}
		}
		for _, part := range rel.Parts {
			add(part, 1)
		}
		add(rel.Total, -1)
		if touched {
			rows = append(rows, row)
		}
	}
	rows, err := independentRows(rows, n)
	if err != nil {
		return nil, err
	}
	out := make([]Interval, n)
	if len(rows) == 0 {
		for k := range out {
			out[k] = Interval{Low: 0, High: inf}
		}
		return out, nil
	}
	// The simplex runs with gonum's own start; where its phase one (a single artificial
	// column) fails on the degenerate systems tables make ("matrix singular"), again from
	// the identity basis of one artificial variable per row (rows signed so that b ≥ 0),
	// priced at bigM so that every optimum has them at zero.
	m := len(rows)
	a := mat.NewDense(m, n+m, nil)
	b := make([]float64, m)
	basis := make([]int, m)
	for i, row := range rows {
		sign := 1.0
		if row[n] < 0 {
			sign = -1
		}
		for j := range n {
			a.Set(i, j, sign*row[j])
		}
		a.Set(i, n+i, 1)
		b[i] = sign * row[n]
		basis[i] = n + i
	}
	plain := mat.NewDense(m, n, nil)
	for i, row := range rows {
		plain.SetRow(i, row[:n])
	}
	plainB := make([]float64, m)
	for i, row := range rows {
		plainB[i] = row[n]
	}
	solve := func(c []float64) (float64, []float64, error) {
		f, x, err := lp.Simplex(c[:n], plain, plainB, 1e-10, nil)
		if err == nil || errors.Is(err, lp.ErrUnbounded) {
			return f, x, err
		}
		f, x, err = lp.Simplex(c, a, b, 1e-10, basis)
		if err != nil {
			return 0, nil, err
		}
		for _, art := range x[n:] {
			if art > 1e-6 {
				return 0, nil, errors.New("audit: the published values contradict the relations")
			}
		}
		return f, x[:n], nil
	}
	// points are solutions of the system: the true values, then each optimum found.
	truth := make([]float64, n)
	for k, cell := range group {
		truth[k] = float64(t.Cells[cell].Value)
	}
	points := [][]float64{truth}
	c := make([]float64, n+m)
	for j := n; j < n+m; j++ {
		c[j] = bigM
	}
	for k := range group {
		if enough != nil {
			lo, hi := truth[k], truth[k]
			for _, pt := range points {
				lo, hi = math.Min(lo, pt[k]), math.Max(hi, pt[k])
			}
			if hi-lo >= enough(group[k])-1e-6 {
				out[k] = Interval{Low: lo, High: hi}
				continue
			}
		}
		c[k] = 1
		low, lowX, err := solve(c)
		if err != nil {
			return nil, fmt.Errorf("audit cell %d: minimum: %w", group[k], err)
		}
		points = append(points, lowX)
		c[k] = -1
		negHigh, highX, err := solve(c)
		if err == nil {
			points = append(points, highX)
		}
		high := -negHigh
		switch {
		case errors.Is(err, lp.ErrUnbounded):
			high = inf
		case err != nil:
			return nil, fmt.Errorf("audit cell %d: maximum: %w", group[k], err)
		}
		c[k] = 0
		out[k] = Interval{Low: math.Max(0, low), High: high}
	}
	return out, nil
}

// bigM prices the artificial variables of intervals' simplex: far above any value a
// cell of a table can take, so no optimum keeps one above zero.
const bigM = 1e7

// independentRows reduces the system rows (n coefficients and a right-hand side each)
// to linearly independent rows spanning the same solutions, as the simplex requires:
// the relations of a table with margins are always dependent.
func independentRows(rows [][]float64, n int) ([][]float64, error) {
	const eps = 1e-9
	var out [][]float64
	col := 0
	for r := 0; r < len(rows) && col < n; col++ {
		pivot, best := -1, eps
		for i := r; i < len(rows); i++ {
			if v := math.Abs(rows[i][col]); v > best {
				pivot, best = i, v
			}
		}
		if pivot < 0 {
			continue
		}
		rows[r], rows[pivot] = rows[pivot], rows[r]
		// Scale the pivot row to 1: the reduced system keeps small, exact coefficients
		// (relations are 0/±1), which the simplex's basis factorisations need.
		if f := rows[r][col]; f != 1 {
			for j := col; j <= n; j++ {
				rows[r][j] /= f
			}
		}
		for i := range rows {
			if i == r || rows[i][col] == 0 {
				continue
			}
			f := rows[i][col] / rows[r][col]
			for j := col; j <= n; j++ {
				rows[i][j] -= f * rows[r][j]
			}
		}
		r++
		out = rows[:r]
	}
	// Rows left over are all zero in the coefficients: their right-hand side must be too.
	for _, row := range rows[len(out):] {
		if math.Abs(row[n]) > 1e-6 {
			return nil, errors.New("audit: the published values contradict the relations")
		}
	}
	return out, nil
}
