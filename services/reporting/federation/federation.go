// Package federation answers a region node's queries from its district nodes, as
// Thanos and Prometheus federation do, and like them says what is missing rather than
// failing.
//
// The region asks every district node's reporting, in parallel and within a deadline,
// for the unprotected cells of the same query (ExportAggregates, which admits only the
// reporting service principal), sums them cell by cell — values, contributors and cell
// keys modulo 2^32 — and only then applies disclosure control, on the summed table: a
// municipality with three persons in each of two districts is published at the region
// (six), and one with two persons in all is suppressed there as everywhere. District
// nodes send cells, never facts, and the region keeps nothing.
//
// Distinct persons are not additive across districts (a person served in two districts
// is one person): districts send, for every cell, a HyperLogLog++ sketch of its
// pseudonyms (github.com/axiomhq/hyperloglog, precision 14: 16,384 registers, a
// standard error of about 0.8%; below a few hundred persons the sparse representation
// counts almost exactly), the region merges the sketches and publishes the estimate. A
// person counts once only if the districts give them the same pseudonym: the nodes of a
// region share the reporting secret, and the person the same id (as a regional case
// system syncing them with their id does); persons registered separately in two nodes
// remain two.
//
// A district that does not answer within the deadline, or answers an error, is left
// out: the answer is marked incomplete and names it with the reason.
package federation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/axiomhq/hyperloglog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"

	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/disclosure"
	"github.com/ponte-network/ponte/services/reporting/query"
)

// Exporter is the part of a district node's reporting API the region calls.
type Exporter interface {
	ExportAggregates(ctx context.Context, req *reportingv1.ExportAggregatesRequest, opts ...grpc.CallOption) (*reportingv1.ExportAggregatesResponse, error)
}

// Node is one district node.
type Node struct {
	Name   string
	Client Exporter
}

// Missing is a node the answer lacks.
type Missing struct {
	Node, Reason string
}

// DefaultDeadline is how long the region waits for its districts.
const DefaultDeadline = 3 * time.Second

// Region answers from its district nodes.
type Region struct {
	Nodes      []Node
	Deadline   time.Duration // 0: DefaultDeadline
	Disclosure disclosure.Config
}

// summed is one cell summed over the nodes.
type summed struct {
	codes        []string
	value        int64
	contributors int64
	key          uint32
	sketch       *hyperloglog.Sketch
}

// Query answers req for ind from the districts, protected after summing.
func (r *Region) Query(ctx context.Context, ind catalog.Indicator, req *reportingv1.ExportAggregatesRequest) (query.Answer, []Missing, error) {
	deadline := r.Deadline
	if deadline <= 0 {
		deadline = DefaultDeadline
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	replies := make([]*reportingv1.ExportAggregatesResponse, len(r.Nodes))
	errs := make([]error, len(r.Nodes))
	var wg sync.WaitGroup
	for i, n := range r.Nodes {
		wg.Go(func() { replies[i], errs[i] = n.Client.ExportAggregates(ctx, req) })
	}
	wg.Wait()
	var missing []Missing
	var columns []string
	cells := map[string]*summed{}
	for i, n := range r.Nodes {
		if errs[i] != nil {
			missing = append(missing, Missing{Node: n.Name, Reason: reason(errs[i])})
			continue
		}
		rep := replies[i]
		if columns == nil {
			columns = rep.GetColumns()
		} else if !slices.Equal(columns, rep.GetColumns()) {
			missing = append(missing, Missing{Node: n.Name, Reason: "answered with other columns"})
			continue
		}
		for _, a := range rep.GetAggregates() {
			if len(a.GetCodes()) != len(columns) {
				return query.Answer{}, nil, fmt.Errorf("node %s: a cell with %d codes for %d columns", n.Name, len(a.GetCodes()), len(columns))
			}
			k := strings.Join(a.GetCodes(), "\x1f")
			c := cells[k]
			if c == nil {
				c = &summed{codes: a.GetCodes()}
				cells[k] = c
			}
			c.value += a.GetValue()
			c.contributors += a.GetContributors()
			c.key += a.GetCellKey()
			if len(a.GetSketch()) > 0 {
				sk := hyperloglog.New14()
				if err := sk.UnmarshalBinary(a.GetSketch()); err != nil {
					return query.Answer{}, nil, fmt.Errorf("node %s: sketch: %w", n.Name, err)
				}
				if c.sketch == nil {
					c.sketch = sk
				} else if err := c.sketch.Merge(sk); err != nil {
					return query.Answer{}, nil, fmt.Errorf("node %s: merge sketch: %w", n.Name, err)
				}
			}
		}
	}
	if columns == nil {
		return query.Answer{Columns: append([]string{"period"}, req.GetGroupBy()...)}, missing, nil
	}
	ans, err := r.protect(ind, columns, cells)
	return ans, missing, err
}

// reason says in general terms why a node is missing.
func reason(err error) string {
	st, _ := status.FromError(err)
	return strings.ToLower(strings.ReplaceAll(st.Code().String(), "_", " ")) // "deadline exceeded", "unavailable"
}

// protect builds the summed table over the codes that occur and protects it.
func (r *Region) protect(ind catalog.Indicator, columns []string, cells map[string]*summed) (query.Answer, error) {
	codes := make([][]string, len(columns))
	for _, c := range cells {
		for d, code := range c.codes {
			if code != query.Total && !slices.Contains(codes[d], code) {
				codes[d] = append(codes[d], code)
			}
		}
	}
	dims := make([]disclosure.Dimension, len(columns))
	index := make([]map[string]int, len(columns))
	for d, name := range columns {
		slices.Sort(codes[d])
		dims[d] = query.FlatDim(name, codes[d])
		index[d] = map[string]int{}
		for i, code := range dims[d].Codes {
			index[d][code] = i
		}
	}
	cube, err := disclosure.NewCube(dims)
	if err != nil {
		return query.Answer{}, fmt.Errorf("region answer: %w", err)
	}
	distinct := ind.Measure == catalog.DistinctPersons
	cube.Table.Inexact = distinct
	for _, c := range cells {
		co := make([]int, len(c.codes))
		for d, code := range c.codes {
			co[d] = index[d][code]
		}
		cell := &cube.Table.Cells[cube.Index(co...)]
		cell.Value, cell.Contributors, cell.Key = c.value, c.contributors, c.key
		if distinct && c.sketch != nil {
			est := int64(c.sketch.Estimate())
			cell.Value, cell.Contributors = est, est
		}
	}
	if ind.Authorities {
		for i := range cube.Table.Cells {
			cube.Table.Cells[i].Status = disclosure.StatusPublished
		}
	} else if _, err := r.Disclosure.ProtectCube(cube); err != nil {
		return query.Answer{}, fmt.Errorf("protect region answer: %w", err)
	}
	ans := query.Answer{Columns: columns}
	for i, cell := range cube.Table.Cells {
		co := cube.Coords(i)
		out := query.Cell{Codes: make([]string, len(co)), Status: cell.Status, Reason: cell.Reason}
		total := false
		for d, x := range co {
			out.Codes[d] = dims[d].Codes[x]
			total = total || x == len(dims[d].Codes)-1
		}
		if !cell.Status.Suppressed() {
			out.Value = query.Value(r.Disclosure, ind, cell)
		}
		if total {
			ans.Totals = append(ans.Totals, out)
		} else {
			ans.Rows = append(ans.Rows, out)
		}
	}
	return ans, nil
}
