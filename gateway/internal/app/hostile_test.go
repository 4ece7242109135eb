package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/auth"
)

// TestHostileStringsAreRefusedNamingTheParameter sends invalid UTF-8 and NUL bytes where
// an attacker would — path and query parameters of public and authenticated routes, JSON
// bodies, one item of a batch, gRPC requests — on both stores: every answer is a 400 (or
// InvalidArgument) naming the parameter, never a 500, and a batch commits its other items.
func TestHostileStringsAreRefusedNamingTheParameter(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		admin := n.token(t, auth.Principal{Subject: "admin", Roles: []string{auth.RoleAdmin}})
		op := n.token(t, auth.Principal{Subject: "op-a", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}})
		tests := []struct {
			name, method, path, token string
			body                      any
			param                     string
		}{
			{"invalid UTF-8 in the public search's query", "GET", "/v1/services:search?q=%FF", "", nil, "q"},
			{"a NUL in the public search's query", "GET", "/v1/services:search?q=caf%00", "", nil, "q"},
			{"invalid UTF-8 in a query parameter's name", "GET", "/v1/services:search?%FF=1", "", nil, "\uFFFD"},
			{"a NUL as a public record's id", "GET", "/v1/services/%00", "", nil, "id"},
			{"invalid UTF-8 as a territory's code", "GET", "/v1/territories/%FF", "", nil, "code"},
			{"invalid UTF-8 as a case id", "GET", "/v1/cases/%C3", op, nil, "id"},
			{"a NUL in a list's filter", "GET", "/v1/cases?pageToken=%00", op, nil, "pageToken"},
			{"a NUL in a path no route matches", "GET", "/v1/nowhere/%00", "", nil, "path"},
			{"a NUL in an HSDS path", "GET", "/hsds/services/%00", "", nil, "path"},
			{"invalid UTF-8 in an HSDS query", "GET", "/hsds/services?taxonomy_term_id=%FF", "", nil, "taxonomy_term_id"},
			{"a NUL in a JSON body's field", "POST", "/v1/territories", admin,
				map[string]any{"code": "ambito-nul", "name": "Ambito\u0000", "municipalityCodes": []string{"019036"}}, "name"},
			{"a NUL in a person's name", "POST", "/v1/persons", op,
				map[string]any{"givenName": "A\u0000", "legalBasis": "LEGAL_BASIS_PUBLIC_TASK"}, "givenName"},
			{"a birth date that does not exist", "POST", "/v1/persons", op,
				map[string]any{"givenName": "Amina", "birthDate": "2099-02-31", "legalBasis": "LEGAL_BASIS_PUBLIC_TASK"}, "birthDate"},
		}
		for _, tt := range tests {
			r := n.do(t, tt.method, tt.path, tt.token, tt.body)
			if r.status != http.StatusBadRequest || r.problem == nil {
				t.Errorf("%s: %s %s = %d %s, want 400 problem+json", tt.name, tt.method, tt.path, r.status, r.body)
				continue
			}
			if !hasInvalidParamSuffix(r.problem, tt.param) {
				t.Errorf("%s: problem %s does not name %q", tt.name, r.body, tt.param)
			}
		}

		// One hostile item of a batch is answered invalid; the others are written.
		items := []map[string]any{
			{"case": map[string]any{"source": "sil", "externalId": "h-1", "municipalityCode": "019035", "category": "CATEGORY_HOUSING"}},
			{"case": map[string]any{"source": "sil", "externalId": "\u0000", "municipalityCode": "019035", "category": "CATEGORY_HOUSING"}},
			{"case": map[string]any{"source": "sil", "externalId": "h-3", "municipalityCode": "019035", "category": "CATEGORY_HOUSING", "needs": []string{"\xff"}}},
			{"case": map[string]any{"source": "sil", "externalId": "h-4", "municipalityCode": "019035", "category": "CATEGORY_HOUSING"}},
		}
		r := n.do(t, "POST", "/v1/cases:batchUpsert", op, map[string]any{"items": items})
		res := decode[map[string][]map[string]any](t, r)["results"]
		if r.status != http.StatusOK || len(res) != 4 {
			t.Fatalf("batch with a NUL item = %d %s, want 200 with 4 results", r.status, r.body)
		}
		for i, want := range []string{"UPSERT_OUTCOME_CREATED", "UPSERT_OUTCOME_INVALID", "UPSERT_OUTCOME_INVALID", "UPSERT_OUTCOME_CREATED"} {
			if res[i]["outcome"] != want {
				t.Errorf("batch item %d = %v, want %s", i, res[i], want)
			}
		}
		if res[1]["field"] != "case.external_id" {
			t.Errorf("the NUL item names %v, want case.external_id", res[1]["field"])
		}

		// gRPC callers get InvalidArgument naming the field.
		conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+admin)
		_, err = directoryv1.NewDirectoryServiceClient(conn).GetService(ctx, &directoryv1.GetServiceRequest{Id: "svc\x00"})
		if !namesField(err, "id") {
			t.Errorf("gRPC GetService with a NUL id = %v, want InvalidArgument naming id", err)
		}
		_, err = directoryv1.NewDirectoryServiceClient(conn).SearchServices(ctx, &directoryv1.SearchServicesRequest{Q: "a\x00"})
		if !namesField(err, "q") {
			t.Errorf("gRPC SearchServices with a NUL q = %v, want InvalidArgument naming q", err)
		}
	})
}

// hasInvalidParamSuffix reports whether the problem lists an invalid parameter whose name
// is name or ends with "."+name.
func hasInvalidParamSuffix(problem map[string]any, name string) bool {
	params, _ := problem["invalid_params"].([]any)
	for _, p := range params {
		got, _ := p.(map[string]any)["name"].(string)
		if got == name || strings.HasSuffix(got, "."+name) {
			return true
		}
	}
	return false
}

// namesField reports whether err is InvalidArgument with a field violation of field.
func namesField(err error, field string) bool {
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		return false
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				if fv.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}

// rawBytes is a gRPC codec that sends a request's bytes as they are, like a client with a
// broken encoder, and decodes nothing.
type rawBytes struct{}

func (rawBytes) Name() string { return "proto" }

func (rawBytes) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}

func (rawBytes) Unmarshal(mem.BufferSlice, any) error { return nil }

// TestUndecodableGRPCRequestsAreInvalidArgument sends a hand-encoded GetTerritory whose
// code is not UTF-8, which grpc-go's decoder refuses: INVALID_ARGUMENT naming code, not
// INTERNAL.
func TestUndecodableGRPCRequestsAreInvalidArgument(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", "-target=directory")
	conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out []byte
	err = conn.Invoke(context.Background(), "/ponte.directory.v1.TerritoryService/GetTerritory",
		[]byte{0x0a, 0x03, '0', 0xff, '3'}, &out, grpc.ForceCodecV2(rawBytes{}))
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("GetTerritory with code 0\\xff3 = %v, want InvalidArgument", err)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 && br.GetFieldViolations()[0].GetField() == "code" {
			return
		}
	}
	t.Errorf("GetTerritory with code 0\\xff3 = %v, want a field violation naming code", st.Details())
}

// TestABatchItemWithAnUnknownEnumNameIsInvalidAlone: protojson refuses a whole body for
// one unknown enum name; in a batch only that item is invalid, naming the field, and the
// others are written. Outside a batch the request is still refused whole (400).
func TestABatchItemWithAnUnknownEnumNameIsInvalidAlone(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		op := n.token(t, auth.Principal{Subject: "op-e", Organization: "org-e", Roles: []string{auth.RolePartnerOperator}})
		item := func(external, category string, extra map[string]any) map[string]any {
			c := map[string]any{"source": "sil", "externalId": external, "municipalityCode": "019035", "category": category}
			for k, v := range extra {
				c[k] = v
			}
			return map[string]any{"case": c}
		}
		items := []map[string]any{
			item("e-1", "CATEGORY_HOUSING", nil),
			item("e-2", "CATEGORY_NOPE", nil),
			item("e-3", "housing", nil),
			item("e-4", "CATEGORY_HOUSING", map[string]any{"phase": "PHASE_NOWHERE"}),
			item("e-5", "CATEGORY_OTHER", nil),
		}
		r := n.do(t, "POST", "/v1/cases:batchUpsert", op, map[string]any{"items": items})
		res := decode[map[string][]map[string]any](t, r)["results"]
		if r.status != http.StatusOK || len(res) != len(items) {
			t.Fatalf("batch with unknown enum names = %d %s, want 200 with %d results", r.status, r.body, len(items))
		}
		want := []struct{ outcome, field string }{
			{"UPSERT_OUTCOME_CREATED", ""},
			{"UPSERT_OUTCOME_INVALID", "case.category"},
			{"UPSERT_OUTCOME_INVALID", "case.category"},
			{"UPSERT_OUTCOME_INVALID", "case.phase"},
			{"UPSERT_OUTCOME_CREATED", ""},
		}
		for i, w := range want {
			if res[i]["outcome"] != w.outcome || (w.field != "" && res[i]["field"] != w.field) {
				t.Errorf("batch item %d = %v, want %s naming %q", i, res[i], w.outcome, w.field)
			}
		}
		// Outside a batch an unknown name refuses the request.
		r = n.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": "019035", "category": "CATEGORY_NOPE"})
		if r.status != http.StatusBadRequest {
			t.Errorf("a create with an unknown category = %d %s, want 400", r.status, r.body)
		}
		// A body that is not the message at all is still refused whole.
		r = n.do(t, "POST", "/v1/cases:batchUpsert", op, map[string]any{"items": []map[string]any{item("e-6", "CATEGORY_NOPE", map[string]any{"nosuch": 1})}})
		if r.status != http.StatusBadRequest {
			t.Errorf("a batch with an unknown field = %d %s, want 400", r.status, r.body)
		}
	})
}
