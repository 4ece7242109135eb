package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"

	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"

	"github.com/ponte-network/ponte/libs/auth"
)

// TestKeptAnswersReachTheEdgeRendered: the REST edge gets a kept answer as the JSON of
// the whole reply (edgejson), and what it writes is what protojson writes of the reply a
// plain gRPC client gets — on the first request and on those served from the cache, and
// after the facts change.
func TestKeptAnswersReachTheEdgeRendered(t *testing.T) {
	t.Parallel()
	n := startNode(t, "")
	n.createDistrict(t, "cremasco", "019035", "019004")
	op := n.token(t, auth.Principal{Subject: "op-a", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}})
	admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
	analyst := n.token(t, auth.Principal{Subject: "an", Territory: "03", Roles: []string{auth.RoleRegionAnalyst}})
	addCases := func(municipality string, k int) {
		for range k {
			if r := n.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": municipality, "category": "CATEGORY_RENEWAL"}); r.status != http.StatusCreated {
				t.Fatalf("create case = %d %s", r.status, r.body)
			}
		}
	}
	addCases("019035", 12)
	addCases("019004", 2)
	waitIngested(t, n, admin, 14)

	conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := reportingv1.NewReportingServiceClient(conn)
	year := time.Now().In(time.FixedZone("CET", 3600)).Format("2006")
	req := &reportingv1.QueryIndicatorRequest{Id: "cases_opened", From: year + "-01-01", To: year + "-12-31",
		Granularity: reportingv1.Granularity_GRANULARITY_MONTH, GroupBy: []string{"municipality"}}
	path := fmt.Sprintf("/v1/indicators/cases_opened:query?from=%s&to=%s&granularity=GRANULARITY_MONTH&groupBy=municipality", req.From, req.To)
	same := func(t *testing.T) {
		t.Helper()
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+analyst)
		plain, err := client.QueryIndicator(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(plain.GetRows()) == 0 {
			t.Fatal("the plain reply has no rows")
		}
		want, err := protojson.Marshal(plain)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 { // computed or kept, then kept
			r := n.do(t, "GET", path, analyst, nil)
			if r.status != http.StatusOK {
				t.Fatalf("REST query = %d %s", r.status, r.body)
			}
			var got, exp any
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &exp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, exp) {
				t.Fatalf("request %d: the edge wrote\n%s\nprotojson of the plain reply is\n%s", i, r.body, want)
			}
		}
	}
	same(t)
	addCases("019035", 3) // the facts move: the kept answer and its rendering are replaced
	waitIngested(t, n, admin, 17)
	same(t)
}
