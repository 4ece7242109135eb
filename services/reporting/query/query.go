// Package query answers an indicator query from the rollups: it reads the rollup rows
// (or person presences, for distinct counts) of the period, never the facts; groups them
// into a cube over the period and the requested dimensions with every margin; and hands
// the cube to disclosure control before anything leaves. Territory levels above the
// municipality (province, region) are derived from the ISTAT catalog, so facts keep
// only the municipality and the network's district.
//
// Periods: a day, an ISO 8601 week ("2026-W02"), a month ("2026-01"), a quarter
// ("2026-Q1") or a year, all civil periods in Europe/Rome. A query reads the month
// rollups when its granularity is a month or longer and its range covers whole months,
// the day rollups otherwise. Every period of the range is a row, empty ones included;
// along other dimensions only the codes that occur appear.
package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/disclosure"
	"github.com/ponte-network/ponte/services/reporting/store"
)

// Granularity is the length of a row's period.
type Granularity int

// The granularities.
const (
	Day Granularity = iota + 1
	Week
	Month
	Quarter
	Year
)

// Total is the code of a margin in every dimension (SDMX's "_T").
const Total = "_T"

// MaxYears bounds a query's range.
const MaxYears = 10

// Request is a query as the API receives it.
type Request struct {
	Indicator   catalog.Indicator
	From, To    string // YYYY-MM-DD
	Granularity Granularity
	GroupBy     []string
	Filters     []string // "dim:code,code"
	// Scope restricts the facts to a territory: a district code or an ISTAT region,
	// province or municipality code; empty: everything.
	Scope string
}

// Reader is what a query reads: the store's rollups.
type Reader interface {
	Counts(ctx context.Context, kind string, from, to int32, monthly bool) ([]store.CountRow, error)
	Persons(ctx context.Context, kind string, from, to int32) ([]store.PersonRow, error)
}

// Cell is one cell of an answer.
type Cell struct {
	Codes  []string
	Value  float64 // the published figure (meaningless when suppressed)
	Status disclosure.Status
	Reason disclosure.Reason
	// Raw is the cell before disclosure control, for federation's export only.
	Raw disclosure.Cell
	// Sketch is, in raw answers of distinct-person indicators, a HyperLogLog++ sketch
	// (precision 14) of the cell's pseudonyms, for a region node to merge.
	Sketch []byte
}

// Answer is an indicator's protected answer.
type Answer struct {
	Columns []string // "period" then the group_by dimensions
	Rows    []Cell   // cells without any total
	Totals  []Cell   // margins and the grand total
}

// Engine answers queries.
type Engine struct {
	Reader     Reader
	Territory  *territory.Catalog
	Disclosure disclosure.Config

	// cells memoizes attrs: the same cells recur across periods and queries.
	mu    sync.RWMutex
	cells map[string]map[string]string
}

// maxMemoCells bounds the memo of decoded cells; it is emptied when full.
const maxMemoCells = 1 << 18

// parsed is a validated request.
type parsed struct {
	ind      catalog.Indicator
	from, to int32
	gran     Granularity
	groupBy  []string
	filters  map[string][]string
	monthly  bool
	periods  []string
	scope    string
}

// Run answers the request, protected. Invalid requests are InvalidArgument statuses
// naming the field.
func (e *Engine) Run(ctx context.Context, req Request) (Answer, error) {
	p, err := e.parse(req)
	if err != nil {
		return Answer{}, err
	}
	cube, extra, err := e.cube(ctx, p)
	if err != nil {
		return Answer{}, err
	}
	if p.ind.Authorities {
		// Counts of public authorities, not persons: published exactly (docs/reporting.md).
		return e.answer(p, cube, extra, false), nil
	}
	if p.ind.Measure == catalog.Median {
		// A median is no sum of its parts: no relation links its cells, each is
		// published or not on the number of its contributors alone.
		for i := range cube.Table.Cells {
			c := &cube.Table.Cells[i]
			if c.Contributors > 0 {
				c.Status, c.Reason = e.Disclosure.MedianStatus(c.Contributors)
			}
		}
	} else if _, err := e.Disclosure.ProtectCube(cube); err != nil {
		return Answer{}, fmt.Errorf("protect answer: %w", err)
	}
	return e.answer(p, cube, extra, true), nil
}

// ErrNotFederated is returned for a raw answer of an indicator whose cells a region
// cannot sum (medians, rates).
var ErrNotFederated = errors.New("medians and rates are not federated yet")

// Federated reports whether a region node can answer ind from its districts' sums.
func Federated(ind catalog.Indicator) bool {
	return ind.Measure != catalog.Median && ind.Measure != catalog.Rate
}

// Raw answers the request without disclosure control, for a region node's federation.
func (e *Engine) Raw(ctx context.Context, req Request) (Answer, error) {
	p, err := e.parse(req)
	if err != nil {
		return Answer{}, err
	}
	if !Federated(p.ind) {
		return Answer{}, ErrNotFederated
	}
	cube, extra, err := e.cube(ctx, p)
	if err != nil {
		return Answer{}, err
	}
	persons := extra.persons
	ans := e.answer(p, cube, extra, false)
	if persons != nil {
		all := append(ans.Rows, ans.Totals...)
		for k, c := range all {
			set := persons[cube.Index(codeIndexes(cube, c.Codes)...)]
			if len(set) == 0 {
				continue
			}
			sk := hyperloglog.New14()
			for person := range set {
				sk.Insert([]byte(person))
			}
			b, err := sk.MarshalBinary()
			if err != nil {
				return Answer{}, fmt.Errorf("sketch: %w", err)
			}
			all[k].Sketch = b
		}
		ans.Rows, ans.Totals = all[:len(ans.Rows)], all[len(ans.Rows):]
	}
	return ans, nil
}

func invalid(field, format string, args ...any) error {
	return grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

func (e *Engine) parse(req Request) (parsed, error) {
	p := parsed{ind: req.Indicator, gran: req.Granularity, filters: map[string][]string{}, scope: req.Scope}
	if p.gran == 0 {
		p.gran = Month
	}
	from, err := time.Parse(time.DateOnly, req.From)
	if err != nil {
		return p, invalid("from", "from must be a real date, YYYY-MM-DD")
	}
	to, err := time.Parse(time.DateOnly, req.To)
	if err != nil {
		return p, invalid("to", "to must be a real date, YYYY-MM-DD")
	}
	if to.Before(from) {
		return p, invalid("to", "to must not be before from")
	}
	if to.After(from.AddDate(MaxYears, 0, 0)) {
		return p, invalid("to", "a query spans at most %d years", MaxYears)
	}
	p.from, p.to = int32(from.Unix()/86400), int32(to.Unix()/86400)
	p.monthly = p.gran >= Month && from.Day() == 1 && to.AddDate(0, 0, 1).Day() == 1
	seenTerritory := false
	for _, dim := range req.GroupBy {
		if !p.ind.Allows(dim) {
			return p, invalid("group_by", "indicator %s cannot be broken down by %q", p.ind.ID, dim)
		}
		if slices.Contains(catalog.TerritoryDims, dim) {
			if seenTerritory {
				return p, invalid("group_by", "group by one territory level at a time")
			}
			seenTerritory = true
		}
		p.groupBy = append(p.groupBy, dim)
	}
	for _, f := range req.Filters {
		dim, codes, ok := strings.Cut(f, ":")
		if !ok || codes == "" {
			return p, invalid("filter", "a filter is dimension:code,code")
		}
		if !p.ind.Allows(dim) {
			return p, invalid("filter", "indicator %s cannot be filtered by %q", p.ind.ID, dim)
		}
		p.filters[dim] = append(p.filters[dim], strings.Split(codes, ",")...)
	}
	for d := p.from; d <= p.to; d++ {
		label := periodLabel(d, p.gran)
		if len(p.periods) == 0 || p.periods[len(p.periods)-1] != label {
			p.periods = append(p.periods, label)
		}
	}
	return p, nil
}

// periodLabel names the period of the given granularity containing day.
func periodLabel(day int32, g Granularity) string {
	t := store.Date(day)
	switch g {
	case Day:
		return t.Format(time.DateOnly)
	case Week:
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case Quarter:
		return fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())+2)/3)
	case Year:
		return fmt.Sprintf("%04d", t.Year())
	default:
		return t.Format("2006-01")
	}
}

// monthLabel names the period of the given granularity containing month m.
func monthLabel(m int32, g Granularity) string {
	first := time.Date(int(m/12), time.Month(m%12+1), 1, 0, 0, 0, 0, time.UTC)
	return periodLabel(int32(first.Unix()/86400), g)
}

// attrs returns the dimension values of a cell, with the territory levels the ISTAT
// catalog derives from its municipality.
func (e *Engine) attrs(cell string) map[string]string {
	e.mu.RLock()
	a, ok := e.cells[cell]
	e.mu.RUnlock()
	if ok {
		return a // shared: read only
	}
	a = e.decode(cell)
	e.mu.Lock()
	if e.cells == nil || len(e.cells) >= maxMemoCells {
		e.cells = make(map[string]map[string]string)
	}
	e.cells[cell] = a
	e.mu.Unlock()
	return a
}

func (e *Engine) decode(cell string) map[string]string {
	a := store.DecodeCell(cell)
	if m, ok := e.Territory.Municipality(a[catalog.DimMunicipality]); ok {
		a[catalog.DimProvince], a[catalog.DimRegion] = m.ProvinceCode, m.RegionCode
	}
	return a
}

// keep reports whether a fact with attributes a is in the query.
func (e *Engine) keep(p parsed, a map[string]string) bool {
	for dim, want := range p.ind.Where {
		if a[dim] != want {
			return false
		}
	}
	for dim, codes := range p.filters {
		if !slices.Contains(codes, a[dim]) {
			return false
		}
	}
	if p.scope != "" && a[catalog.DimDistrict] != p.scope && !e.Territory.Within(a[catalog.DimMunicipality], p.scope) {
		return false
	}
	return true
}

// leaf is one row read, placed in the answer.
type leaf struct {
	codes []string // period, then group_by values
	row   store.CountRow
	pres  store.PersonRow
}

// extra is what a cube's cells need besides their values: the persons of each cell
// (distinct counts, for sketches) and the numerators of rates.
type extra struct {
	persons    []map[string]struct{}
	numerators []int64
}

func (e *Engine) cube(ctx context.Context, p parsed) (*disclosure.Cube, extra, error) {
	var leaves []leaf
	distinct := p.ind.Measure == catalog.DistinctPersons
	place := func(period string, cell string) ([]string, bool) {
		a := e.attrs(cell)
		if !e.keep(p, a) {
			return nil, false
		}
		codes := []string{period}
		for _, dim := range p.groupBy {
			v := a[dim]
			if v == "" {
				v = "_U" // SDMX: unknown
			}
			codes = append(codes, v)
		}
		return codes, true
	}
	if distinct {
		rows, err := e.Reader.Persons(ctx, p.ind.Kind, p.from, p.to)
		if err != nil {
			return nil, extra{}, err
		}
		for _, r := range rows {
			if codes, ok := place(periodLabel(r.Day, p.gran), r.Cell); ok {
				leaves = append(leaves, leaf{codes: codes, pres: r})
			}
		}
	} else {
		from, to := p.from, p.to
		rows, err := e.Reader.Counts(ctx, p.ind.Kind, from, to, p.monthly)
		if err != nil {
			return nil, extra{}, err
		}
		for _, r := range rows {
			label := periodLabel(r.Period, p.gran)
			if p.monthly {
				label = monthLabel(r.Period, p.gran)
			}
			if codes, ok := place(label, r.Cell); ok {
				leaves = append(leaves, leaf{codes: codes, row: r})
			}
		}
	}
	// Dimensions: every period, then the codes that occur, sorted, each with its total.
	dims := []disclosure.Dimension{flatDim("period", p.periods)}
	for i, dim := range p.groupBy {
		var codes []string
		for _, l := range leaves {
			codes = append(codes, l.codes[i+1])
		}
		slices.Sort(codes)
		dims = append(dims, flatDim(dim, slices.Compact(codes)))
	}
	size := 1
	for _, d := range dims {
		size *= len(d.Codes)
		if size > disclosure.MaxCubeCells {
			return nil, extra{}, invalid("group_by", "the answer would be too large: narrow the period or the breakdown")
		}
	}
	cube, err := disclosure.NewCube(dims)
	if err != nil {
		return nil, extra{}, fmt.Errorf("build the answer's cube: %w", err)
	}
	index := make([]map[string]int, len(dims))
	for d, dim := range dims {
		index[d] = make(map[string]int, len(dim.Codes))
		for i, c := range dim.Codes {
			index[d][c] = i
		}
	}
	coords := func(codes []string) []int {
		out := make([]int, len(codes))
		for d, c := range codes {
			out[d] = index[d][c]
		}
		return out
	}
	cells := cube.Table.Cells
	switch p.ind.Measure {
	case catalog.Median:
		return cube, extra{}, e.medians(cube, dims, leaves, coords)
	case catalog.Rate:
		// The denominators are the cube (protected as counts); the numerators, the sums
		// of the facts' quantities, are aggregated alike beside it.
		num, err := disclosure.NewCube(dims)
		if err != nil {
			return nil, extra{}, fmt.Errorf("build the answer's cube: %w", err)
		}
		for _, l := range leaves {
			i := cube.Index(coords(l.codes)...)
			cells[i].Value += l.row.N
			cells[i].Contributors += l.row.N
			cells[i].Key += l.row.KeySum
			num.Table.Cells[i].Value += l.row.Sum
			num.Table.Cells[i].Contributors += l.row.N
		}
		cube.Aggregate()
		num.Aggregate()
		out := extra{numerators: make([]int64, len(cells))}
		for i, c := range num.Table.Cells {
			out.numerators[i] = c.Value
		}
		return cube, out, nil
	}
	if !distinct {
		for _, l := range leaves {
			c := &cells[cube.Index(coords(l.codes)...)]
			v := l.row.N
			if p.ind.Measure == catalog.Sum {
				v = l.row.Sum
			}
			c.Value += v
			c.Contributors += l.row.N
			c.Key += l.row.KeySum
		}
		cube.Aggregate()
		return cube, extra{}, nil
	}
	// Distinct persons: each cell, margins included, counts its persons once.
	cube.Table.Inexact = true
	seen := make([]map[string]struct{}, len(cells))
	for _, l := range leaves {
		leafCoords := coords(l.codes)
		target := make([]int, len(leafCoords))
		for mask := 0; mask < 1<<len(leafCoords); mask++ {
			for d := range leafCoords {
				if mask&(1<<d) != 0 {
					target[d] = len(dims[d].Codes) - 1 // the total
				} else {
					target[d] = leafCoords[d]
				}
			}
			i := cube.Index(target...)
			if seen[i] == nil {
				seen[i] = map[string]struct{}{}
			}
			if _, dup := seen[i][l.pres.Person]; dup {
				continue
			}
			seen[i][l.pres.Person] = struct{}{}
			cells[i].Value++
			cells[i].Contributors++
			cells[i].Key += l.pres.PersonKey
		}
	}
	return cube, extra{persons: seen}, nil
}

// medians sets each cell of the cube, margins included, to the median of the values
// of its facts: a median indicator's facts carry their value in the cell (dimension
// catalog.DimValue), so the rollup rows are the distribution of the values. The lower
// median is taken for an even number of facts. Contributors are the facts.
func (e *Engine) medians(cube *disclosure.Cube, dims []disclosure.Dimension, leaves []leaf, coords func([]string) []int) error {
	cells := cube.Table.Cells
	dist := make([]map[int64]int64, len(cells))
	for _, l := range leaves {
		v, err := strconv.ParseInt(e.attrs(l.row.Cell)[catalog.DimValue], 10, 64)
		if err != nil {
			return fmt.Errorf("fact cell %q without a value: %w", l.row.Cell, err)
		}
		leafCoords := coords(l.codes)
		target := make([]int, len(leafCoords))
		for mask := 0; mask < 1<<len(leafCoords); mask++ {
			for d := range leafCoords {
				if mask&(1<<d) != 0 {
					target[d] = len(dims[d].Codes) - 1
				} else {
					target[d] = leafCoords[d]
				}
			}
			i := cube.Index(target...)
			if dist[i] == nil {
				dist[i] = map[int64]int64{}
			}
			dist[i][v] += l.row.N
			cells[i].Contributors += l.row.N
			cells[i].Key += l.row.KeySum
		}
	}
	for i, d := range dist {
		cells[i].Value = lowerMedian(d)
	}
	return nil
}

// lowerMedian is the lower median of a distribution (value → how many times).
func lowerMedian(dist map[int64]int64) int64 {
	var n int64
	values := make([]int64, 0, len(dist))
	for v, k := range dist {
		values = append(values, v)
		n += k
	}
	if n == 0 {
		return 0
	}
	slices.Sort(values)
	rank := (n + 1) / 2 // 1-based rank of the lower median
	for _, v := range values {
		if rank <= dist[v] {
			return v
		}
		rank -= dist[v]
	}
	return values[len(values)-1]
}

// codeIndexes returns the cube coordinates of a cell's codes.
func codeIndexes(c *disclosure.Cube, codes []string) []int {
	out := make([]int, len(codes))
	for d, code := range codes {
		out[d] = slices.Index(c.Dims[d].Codes, code)
	}
	return out
}

// FlatDim is a dimension of the given codes and their total (Total), as answers have.
func FlatDim(name string, codes []string) disclosure.Dimension { return flatDim(name, codes) }

func flatDim(name string, codes []string) disclosure.Dimension {
	d := disclosure.Dimension{Name: name, Codes: append(slices.Clone(codes), Total)}
	if len(codes) == 0 {
		return d // nothing occurs: the total alone
	}
	g := disclosure.Group{Total: len(codes)}
	for i := range codes {
		g.Parts = append(g.Parts, i)
	}
	d.Groups = []disclosure.Group{g}
	return d
}

func (e *Engine) answer(p parsed, cube *disclosure.Cube, x extra, protected bool) Answer {
	ans := Answer{Columns: append([]string{"period"}, p.groupBy...)}
	for i, cell := range cube.Table.Cells {
		co := cube.Coords(i)
		codes := make([]string, len(co))
		isTotal := false
		for d, x := range co {
			codes[d] = cube.Dims[d].Codes[x]
			isTotal = isTotal || x == len(cube.Dims[d].Codes)-1
		}
		out := Cell{Codes: codes, Status: cell.Status, Reason: cell.Reason, Raw: cell}
		if protected && !cell.Status.Suppressed() {
			out.Value = Value(e.Disclosure, p.ind, cell)
			if p.ind.Measure == catalog.Rate {
				out.Value = 0
				if cell.Value > 0 {
					out.Value = float64(x.numerators[i]) / float64(cell.Value)
				}
			}
		}
		if !protected {
			out.Status, out.Reason = disclosure.StatusPublished, disclosure.ReasonNone
			out.Value = float64(cell.Value)
		}
		if isTotal {
			ans.Totals = append(ans.Totals, out)
		} else {
			ans.Rows = append(ans.Rows, out)
		}
	}
	return ans
}

// Value is the published figure of a cell: counts perturbed by their cell key, sums as
// they are (minutes shown in hours when the unit says so), counts of authorities exact.
func Value(cfg disclosure.Config, ind catalog.Indicator, c disclosure.Cell) float64 {
	if ind.Authorities {
		return float64(c.Value) // authorities, not persons: exact
	}
	switch ind.Measure {
	case catalog.Median:
		return float64(c.Value)
	case catalog.Sum:
		if ind.Unit == "hours" {
			return float64(c.Value) / 60
		}
		return float64(c.Value)
	default:
		return float64(cfg.Perturb(c.Value, c.Key))
	}
}

// ErrUnknownIndicator is returned for an indicator the catalog does not have.
var ErrUnknownIndicator = errors.New("unknown indicator")
