package web

import (
	"slices"
	"strconv"

	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"
)

// totalCode marks a margin in a cell's codes.
const totalCode = "_T"

// figure is one published or suppressed value, as the dashboard shows it: never a
// suppressed cell as zero.
type figure struct {
	Value     *float64 `json:"value"` // nil when suppressed
	Status    string   `json:"status"`
	Text      string   `json:"-"`
	Secondary bool     `json:"-"`
}

func newFigure(c *reportingv1.Cell) figure {
	f := figure{Status: "published"}
	switch c.GetStatus() {
	case reportingv1.CellStatus_CELL_STATUS_PRIMARY:
		f.Status = "primary"
	case reportingv1.CellStatus_CELL_STATUS_SECONDARY:
		f.Status, f.Secondary = "secondary", true
	default:
		if c.Value != nil {
			v := c.GetValue()
			f.Value = &v
			f.Text = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return f
}

// series is a line or a set of bars.
type series struct {
	Labels  []string `json:"labels"`
	Figures []figure `json:"figures"`
}

// dashboard is an answer laid out for the page: the figures over time, by the chosen
// dimension, the table of both, and the grand total.
type dashboard struct {
	Columns   []string
	OverTime  series            // one figure per period (the period margin when grouped)
	ByDim     series            // one figure per value of the dimension (its margin)
	Periods   []string          // table rows
	DimValues []string          // table columns (codes)
	DimLabels []string          // their names
	Table     map[string]figure // key period+"\x00"+code
	Total     *figure
	Unit      string
	Threshold int64
	Deviation int64
	Missing   []*reportingv1.MissingNode
}

// layout arranges an answer with at most one dimension besides the period. label names
// a dimension's code for the reader.
func layout(resp *reportingv1.QueryIndicatorResponse, label func(code string) string) dashboard {
	d := dashboard{
		Columns: resp.GetColumns(), Unit: resp.GetUnit(), Threshold: resp.GetThreshold(),
		Deviation: resp.GetMaxDeviation(), Missing: resp.GetMissing(), Table: map[string]figure{},
	}
	grouped := len(d.Columns) > 1
	periods := map[string]bool{}
	values := map[string]bool{}
	for _, c := range resp.GetRows() {
		codes := c.GetCodes()
		if len(codes) == 0 {
			continue
		}
		periods[codes[0]] = true
		if !grouped {
			d.OverTime.Labels = append(d.OverTime.Labels, codes[0])
			d.OverTime.Figures = append(d.OverTime.Figures, newFigure(c))
			continue
		}
		if len(codes) > 1 {
			values[codes[1]] = true
			d.Table[codes[0]+"\x00"+codes[1]] = newFigure(c)
		}
	}
	for _, c := range resp.GetTotals() {
		codes := c.GetCodes()
		switch {
		case !slices.ContainsFunc(codes, func(s string) bool { return s != totalCode }):
			f := newFigure(c)
			d.Total = &f
		case grouped && len(codes) > 1 && codes[1] == totalCode:
			d.OverTime.Labels = append(d.OverTime.Labels, codes[0])
			d.OverTime.Figures = append(d.OverTime.Figures, newFigure(c))
		case grouped && len(codes) > 1 && codes[0] == totalCode:
			values[codes[1]] = true
			d.ByDim.Labels = append(d.ByDim.Labels, label(codes[1]))
			d.ByDim.Figures = append(d.ByDim.Figures, newFigure(c))
		}
	}
	d.Periods = sortedKeys(periods)
	d.DimValues = sortedKeys(values)
	for _, v := range d.DimValues {
		d.DimLabels = append(d.DimLabels, label(v))
	}
	return d
}

// Cell returns the table's figure of a period and a code.
func (d dashboard) Cell(period, code string) figure {
	f, ok := d.Table[period+"\x00"+code]
	if !ok {
		return figure{Status: "empty"}
	}
	return f
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
