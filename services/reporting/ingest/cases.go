package ingest

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/services/reporting/store"
)

// SourceCases is the name of the case feed's cursor.
const SourceCases = "cases"

// CaseFeed is the part of the cases API reporting reads.
type CaseFeed interface {
	ListReportingCases(ctx context.Context, req *casesv1.ListReportingCasesRequest, opts ...grpc.CallOption) (*casesv1.ListReportingCasesResponse, error)
}

// CaseSource reads cases' reporting projection (ListReportingCases): the case feed with
// each case's person's sex and citizenship, which only service:reporting may read.
type CaseSource struct {
	Feed CaseFeed
	Keys Keys
}

// Name implements Source.
func (CaseSource) Name() string { return SourceCases }

// Read implements Source.
func (s CaseSource) Read(ctx context.Context, after int64, page *Page) (Read, error) {
	resp, err := s.Feed.ListReportingCases(ctx, &casesv1.ListReportingCasesRequest{After: after, PageSize: PageSize})
	if err != nil {
		return Read{}, fmt.Errorf("read the case feed: %w", err)
	}
	return readEntries("case", resp.GetNextAfter(), resp.GetHead(), resp.GetCases(), page,
		func(rc *casesv1.ReportingCase) ([]store.Change, error) { return CaseFacts(s.Keys, rc, page.Prior) })
}
