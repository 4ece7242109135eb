package reporting

import (
	"bytes"
	"context"
	"fmt"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/edgejson"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/disclosure"
	"github.com/ponte-network/ponte/services/reporting/export"
	"github.com/ponte-network/ponte/services/reporting/federation"
	"github.com/ponte-network/ponte/services/reporting/ingest"
	"github.com/ponte-network/ponte/services/reporting/query"
	"github.com/ponte-network/ponte/services/reporting/store"
)

type server struct {
	reportingv1.UnimplementedReportingServiceServer
	store   store.Store
	catalog *catalog.Catalog
	engine  *query.Engine
	follow  *ingest.Follower
	region  *federation.Region // set on a region node
	cache   answerCache
}

// reach is what a caller may query: every indicator or only the public ones, over a
// territory ("" for the whole node).
type reach struct {
	all   bool
	scope string
}

func (s *server) reach(ctx context.Context) reach {
	p, ok := auth.FromContext(ctx)
	switch {
	case !ok:
		return reach{}
	case p.HasRole(auth.RoleAdmin):
		return reach{all: true}
	case p.HasRole(auth.RoleRegionAdmin, auth.RoleRegionAnalyst, auth.RoleDistrictAdmin, auth.RoleDistrictOperator) && p.Territory != "":
		return reach{all: true, scope: p.Territory}
	}
	return reach{}
}

// indicator returns the indicator id if the caller may see it; NOT_FOUND otherwise, so
// that private indicators do not reveal themselves.
func (s *server) indicator(r reach, id string) (catalog.Indicator, error) {
	ind, ok := s.catalog.Get(id)
	if !ok || (!r.all && !ind.Public) {
		return catalog.Indicator{}, status.Errorf(codes.NotFound, "no indicator %q", id)
	}
	return ind, nil
}

func toProto(ind catalog.Indicator) *reportingv1.Indicator {
	return &reportingv1.Indicator{
		Id:            ind.ID,
		Title:         &reportingv1.LocalizedText{It: ind.Title.It, En: ind.Title.En},
		Definition:    &reportingv1.LocalizedText{It: ind.Definition.It, En: ind.Definition.En},
		Unit:          ind.Unit,
		Measure:       reportingv1.Measure(ind.Measure),
		Dimensions:    ind.Dimensions,
		Public:        ind.Public,
		Source:        ind.Source,
		AmifIndicator: ind.AMIF,
	}
}

// ListIndicators implements reportingv1.ReportingServiceServer.
func (s *server) ListIndicators(ctx context.Context, req *reportingv1.ListIndicatorsRequest) (*reportingv1.ListIndicatorsResponse, error) {
	r := s.reach(ctx)
	out := &reportingv1.ListIndicatorsResponse{}
	for _, ind := range s.catalog.All() {
		if (r.all && !req.GetPublicOnly()) || ind.Public {
			out.Indicators = append(out.Indicators, toProto(ind))
		}
	}
	return out, nil
}

// GetIndicator implements reportingv1.ReportingServiceServer.
func (s *server) GetIndicator(ctx context.Context, req *reportingv1.GetIndicatorRequest) (*reportingv1.Indicator, error) {
	ind, err := s.indicator(s.reach(ctx), req.GetId())
	if err != nil {
		return nil, err
	}
	return toProto(ind), nil
}

type spec interface {
	GetId() string
	GetFrom() string
	GetTo() string
	GetGranularity() reportingv1.Granularity
	GetGroupBy() []string
	GetFilter() []string
}

func (s *server) run(ctx context.Context, req spec, raw bool) (catalog.Indicator, query.Answer, error) {
	ind, ans, _, err := s.answer(ctx, req, raw, "")
	return ind, ans, err
}

// answer runs a query: on a region node from its districts (with the nodes missing),
// else from the local rollups; raw answers (for a region) skip disclosure control and
// cover territory.
func (s *server) answer(ctx context.Context, req spec, raw bool, territory string) (catalog.Indicator, query.Answer, []federation.Missing, error) {
	ind, ans, missing, _, err := s.keptAnswer(ctx, req, raw, territory)
	return ind, ans, missing, err
}

// keptAnswer is answer, with the holder of the kept answer's rendering when it came from
// the answer cache (nil otherwise).
func (s *server) keptAnswer(ctx context.Context, req spec, raw bool, territory string) (catalog.Indicator, query.Answer, []federation.Missing, *rendered, error) {
	r := s.reach(ctx)
	if raw {
		r = reach{all: true, scope: territory}
	}
	ind, err := s.indicator(r, req.GetId())
	if err != nil {
		return ind, query.Answer{}, nil, nil, err
	}
	if !query.Federated(ind) && (raw || s.region != nil) {
		return ind, query.Answer{}, nil, nil, status.Errorf(codes.FailedPrecondition, "indicator %s is not federated yet: query it on the district nodes", ind.ID)
	}
	if s.region != nil && !raw {
		ans, missing, err := s.region.Query(ctx, ind, &reportingv1.ExportAggregatesRequest{
			Id: req.GetId(), From: req.GetFrom(), To: req.GetTo(), Granularity: req.GetGranularity(),
			GroupBy: req.GetGroupBy(), Filter: req.GetFilter(), Territory: r.scope,
		})
		if err != nil {
			return ind, ans, nil, nil, grpcerr.From(fmt.Errorf("federated query %s: %w", ind.ID, err))
		}
		return ind, ans, missing, nil, nil
	}
	q := query.Request{
		Indicator: ind, From: req.GetFrom(), To: req.GetTo(), Granularity: query.Granularity(req.GetGranularity()),
		GroupBy: req.GetGroupBy(), Filters: req.GetFilter(), Scope: r.scope,
	}
	var ans query.Answer
	var kept *rendered
	if raw {
		ans, err = s.engine.Raw(ctx, q)
	} else {
		key := fmt.Sprintf("%s|%s|%s|%d|%q|%q|%s", ind.ID, q.From, q.To, q.Granularity, q.GroupBy, q.Filters, q.Scope)
		ans, kept, err = s.cache.get(ctx, s.store, key, func() (query.Answer, error) { return s.engine.Run(ctx, q) })
	}
	if err != nil {
		if _, isStatus := status.FromError(err); isStatus {
			return ind, ans, nil, nil, err
		}
		return ind, ans, nil, nil, grpcerr.From(fmt.Errorf("query %s: %w", ind.ID, err))
	}
	return ind, ans, nil, kept, nil
}

func cellProto(c query.Cell) *reportingv1.Cell {
	out := &reportingv1.Cell{Codes: c.Codes, Reason: string(c.Reason)}
	switch c.Status {
	case disclosure.StatusPrimary:
		out.Status = reportingv1.CellStatus_CELL_STATUS_PRIMARY
	case disclosure.StatusSecondary:
		out.Status = reportingv1.CellStatus_CELL_STATUS_SECONDARY
	default:
		out.Status = reportingv1.CellStatus_CELL_STATUS_PUBLISHED
		v := c.Value
		out.Value = &v
	}
	return out
}

// QueryIndicator implements reportingv1.ReportingServiceServer. To the REST edge
// (edgejson.Requested) a kept answer is sent rendered: an empty reply carrying the JSON
// of the whole reply (the contract of QueryIndicatorResponse with edgejson).
func (s *server) QueryIndicator(ctx context.Context, req *reportingv1.QueryIndicatorRequest) (*reportingv1.QueryIndicatorResponse, error) {
	ind, ans, missing, kept, err := s.keptAnswer(ctx, req, false, "")
	if err != nil {
		return nil, err
	}
	build := func() proto.Message { return s.queryResponse(ind, ans, missing) }
	if kept != nil && edgejson.Requested(ctx) {
		att, err := kept.attachment(build)
		if err != nil {
			return nil, grpcerr.From(fmt.Errorf("render answer %s: %w", ind.ID, err))
		}
		out := &reportingv1.QueryIndicatorResponse{}
		edgejson.Attach(out, att)
		return out, nil
	}
	return s.queryResponse(ind, ans, missing), nil
}

// queryResponse is the reply of QueryIndicator for an answer.
func (s *server) queryResponse(ind catalog.Indicator, ans query.Answer, missing []federation.Missing) *reportingv1.QueryIndicatorResponse {
	out := &reportingv1.QueryIndicatorResponse{
		IndicatorId: ind.ID, Unit: ind.Unit, Columns: ans.Columns,
		Threshold: s.engine.Disclosure.Threshold, MaxDeviation: s.engine.Disclosure.Deviation(),
		Incomplete: len(missing) > 0,
	}
	for _, m := range missing {
		out.Missing = append(out.Missing, &reportingv1.MissingNode{Node: m.Node, Reason: m.Reason})
	}
	for _, c := range ans.Rows {
		out.Rows = append(out.Rows, cellProto(c))
	}
	for _, c := range ans.Totals {
		out.Totals = append(out.Totals, cellProto(c))
	}
	return out
}

// ExportIndicator implements reportingv1.ReportingServiceServer.
func (s *server) ExportIndicator(ctx context.Context, req *reportingv1.ExportIndicatorRequest) (*httpbody.HttpBody, error) {
	ind, ans, err := s.run(ctx, req, false)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	write := export.CSV
	if req.GetFormat() == "sdmx-csv" {
		write = export.SDMX
	}
	if err := write(&buf, ind, ans); err != nil {
		return nil, grpcerr.From(fmt.Errorf("write %s: %w", ind.ID, err))
	}
	return &httpbody.HttpBody{ContentType: "text/csv; charset=utf-8", Data: buf.Bytes()}, nil
}

// ExportAggregates implements reportingv1.ReportingServiceServer: the raw cells, for a
// region node's reporting service principal (the policy admits no one else).
func (s *server) ExportAggregates(ctx context.Context, req *reportingv1.ExportAggregatesRequest) (*reportingv1.ExportAggregatesResponse, error) {
	p, _ := auth.FromContext(ctx)
	if name, ok := p.ServiceName(); !ok || name != "reporting" {
		return nil, grpcerr.PermissionDenied("only a region node's reporting service reads aggregates")
	}
	_, ans, _, err := s.answer(ctx, req, true, req.GetTerritory())
	if err != nil {
		return nil, err
	}
	out := &reportingv1.ExportAggregatesResponse{Columns: ans.Columns}
	for _, c := range append(ans.Rows, ans.Totals...) {
		if c.Raw.Value == 0 && c.Raw.Contributors == 0 {
			continue
		}
		out.Aggregates = append(out.Aggregates, &reportingv1.Aggregate{
			Codes: c.Codes, Value: c.Raw.Value, Contributors: c.Raw.Contributors, CellKey: c.Raw.Key, Sketch: c.Sketch,
		})
	}
	return out, nil
}

// RebuildFacts implements reportingv1.ReportingServiceServer.
func (s *server) RebuildFacts(ctx context.Context, _ *reportingv1.RebuildFactsRequest) (*reportingv1.IngestionStatus, error) {
	if err := s.follow.Rebuild(ctx, s.store.Reset); err != nil {
		if _, isStatus := status.FromError(err); isStatus {
			return nil, err
		}
		return nil, grpcerr.From(fmt.Errorf("rebuild facts: %w", err))
	}
	return s.GetIngestionStatus(ctx, nil)
}

// GetIngestionStatus implements reportingv1.ReportingServiceServer.
func (s *server) GetIngestionStatus(ctx context.Context, _ *reportingv1.GetIngestionStatusRequest) (*reportingv1.IngestionStatus, error) {
	cursors, err := s.store.Cursors(ctx)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	out := &reportingv1.IngestionStatus{}
	for _, c := range cursors {
		st := &reportingv1.SourceStatus{Source: c.Source, Cursor: c.Position, Head: c.Head, ReadTime: timestamppb.New(c.ReadTime)}
		if !c.EntryTime.IsZero() {
			st.LastEntryTime = timestamppb.New(c.EntryTime)
		}
		out.Sources = append(out.Sources, st)
	}
	return out, nil
}
