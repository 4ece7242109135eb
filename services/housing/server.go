package housing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"
	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/pagetoken"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/libs/updatemask"
	"github.com/ponte-network/ponte/libs/validate"
	"github.com/ponte-network/ponte/services/housing/match"
	"github.com/ponte-network/ponte/services/housing/store"
)

type server struct {
	housingv1.UnimplementedHousingServiceServer
	store   store.Store
	catalog *territory.Catalog
	cases   casesv1.CaseServiceClient
	places  *match.Places
	now     func() time.Time
	rome    *time.Location
	index   *index
}

const (
	defaultPageSize  = 100
	defaultMatchSize = 20
)

func pageSize(n int32, def int) int {
	if n <= 0 {
		return def
	}
	return int(n)
}

// today is the civil date in Europe/Rome.
func (s *server) today() string { return s.now().In(s.rome).Format(time.DateOnly) }

// caller is the authenticated caller: who they are and what they reach.
type caller struct {
	p     *auth.Principal
	actor store.Actor
	scope store.Scope
}

// territoryScope sets the desk part of sc for a territory claim: a district code, or an
// ISTAT region, province or municipality code.
func (s *server) territoryScope(code string, sc *store.Scope) {
	level, istat := s.catalog.LevelOf(code)
	switch {
	case !istat:
		sc.Districts = []string{code}
	case level == territory.LevelRegion:
		for _, p := range s.catalog.Provinces() {
			if p.RegionCode == code {
				sc.MunicipalityPrefixes = append(sc.MunicipalityPrefixes, p.Code)
			}
		}
		if len(sc.MunicipalityPrefixes) == 0 {
			sc.MunicipalityPrefixes = []string{"-"} // a region without provinces reaches nothing
		}
	default:
		sc.MunicipalityPrefixes = []string{code}
	}
}

// who returns the caller and their scope (see the package doc).
func (s *server) who(ctx context.Context) (caller, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return caller{}, grpcerr.PermissionDenied("housing needs an authenticated caller")
	}
	method, _ := grpc.Method(ctx)
	c := caller{p: p, actor: store.Actor{Subject: p.Subject, Organization: p.Organization, Method: method}}
	if p.HasRole(auth.RoleAdmin) {
		c.scope = store.Scope{All: true, DeskOrganization: p.Organization}
		return c, nil
	}
	reaches := false
	if p.HasRole(auth.RolePartnerAdmin, auth.RolePartnerOperator) && p.Organization != "" {
		c.scope.Organization = p.Organization
		reaches = true
	}
	if p.HasRole(auth.RoleDistrictAdmin, auth.RoleDistrictOperator) && p.Territory != "" {
		s.territoryScope(p.Territory, &c.scope)
		c.scope.DeskOrganization = ownerKey(p)
		reaches = true
	}
	if !reaches {
		return caller{}, grpcerr.PermissionDenied("your roles give access to no housing record")
	}
	return c, nil
}

// ownerKey is the organization recorded on what a desk registers: its organization, or
// "territory:<code>" for district staff without one.
func ownerKey(p *auth.Principal) string {
	if p.Organization != "" {
		return p.Organization
	}
	return "territory:" + p.Territory
}

// desk returns the caller when they are housing desk staff (or admin).
func (s *server) desk(ctx context.Context) (caller, error) {
	c, err := s.who(ctx)
	if err != nil {
		return c, err
	}
	if !c.scope.Desk() {
		return c, grpcerr.PermissionDenied("owners, homes and the workflow are for the housing desk (district staff)")
	}
	return c, nil
}

// callerDistrict is the caller's district code, when their territory is one.
func (s *server) callerDistrict(c caller) string {
	if c.p.Territory == "" || !c.p.HasRole(auth.RoleDistrictAdmin, auth.RoleDistrictOperator) {
		return ""
	}
	if _, istat := s.catalog.LevelOf(c.p.Territory); istat {
		return ""
	}
	return c.p.Territory
}

// ---------------------------------------------------------------- validation

func (s *server) homeViolations(h *housingv1.Home) grpcerr.Violations {
	bad := validate.Message("home", h)
	validate.Municipality(&bad, s.catalog, "home.municipality_code", h.GetMunicipalityCode())
	validate.CivilDate(&bad, "home.available_from", h.GetAvailableFrom())
	return bad
}

func (s *server) requestViolations(r *housingv1.HousingRequest) grpcerr.Violations {
	bad := validate.Message("housing_request", r)
	validate.Municipality(&bad, s.catalog, "housing_request.municipality_code", r.GetMunicipalityCode())
	for i, m := range r.GetPreferredMunicipalities() {
		validate.Municipality(&bad, s.catalog, fmt.Sprintf("housing_request.preferred_municipalities[%d]", i), m)
	}
	validate.CivilDate(&bad, "housing_request.wanted_by", r.GetWantedBy())
	return bad
}

func conflictIfStale(what, id, sent, current string) error {
	if sent != "" && sent != current {
		return storage.FieldErrorf(store.ErrConflict, "etag", "%s %s is at version %s, not %s", what, id, current, sent)
	}
	return nil
}

// applyMask applies an update's field mask; output-only fields are never taken.
func applyMask[T proto.Message](cur, m T, mask *fieldmaskpb.FieldMask, immutable ...protoreflect.Name) (T, error) {
	immutable = append(immutable, "id", "version", "etag", "create_time", "update_time", "organization_id")
	return updatemask.Apply(cur, m, mask, immutable...)
}

func decodeToken(tok, query string) (string, error) {
	if tok == "" {
		return "", nil
	}
	cur, err := pagetoken.Decode(tok, query)
	if err != nil {
		return "", grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "page_token", Description: "not a token of this query"})
	}
	return cur, nil
}

// page reads one page with list (asked for one more than size) and returns it with the
// next page's token.
func page[T any](query, token string, size int, id func(T) string, list func(f store.ListFilter) ([]T, error), f store.ListFilter) ([]T, string, error) {
	after, err := decodeToken(token, query)
	if err != nil {
		return nil, "", err
	}
	f.After, f.Limit = after, size+1
	recs, err := list(f)
	if err != nil {
		return nil, "", grpcerr.From(err)
	}
	if len(recs) > size {
		return recs[:size], pagetoken.Encode(query, id(recs[size-1])), nil
	}
	return recs, "", nil
}

// ---------------------------------------------------------------- owners

// ListOwners implements housingv1.HousingServiceServer.
func (s *server) ListOwners(ctx context.Context, req *housingv1.ListOwnersRequest) (*housingv1.ListOwnersResponse, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	os, next, err := page(pagetoken.Query("owners"), req.GetPageToken(), pageSize(req.GetPageSize(), defaultPageSize), (*housingv1.Owner).GetId,
		func(f store.ListFilter) ([]*housingv1.Owner, error) {
			return s.store.ListOwners(ctx, c.actor, c.scope, f)
		}, store.ListFilter{})
	if err != nil {
		return nil, err
	}
	return &housingv1.ListOwnersResponse{Owners: os, NextPageToken: next}, nil
}

// GetOwner implements housingv1.HousingServiceServer.
func (s *server) GetOwner(ctx context.Context, req *housingv1.GetOwnerRequest) (*housingv1.Owner, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.store.GetOwner(ctx, c.actor, c.scope, req.GetId())
	return o, grpcerr.From(err)
}

func (s *server) checkOwnerDistrict(c caller, o *housingv1.Owner) error {
	if o.DistrictCode == "" || c.scope.All || slices.Contains(c.scope.Districts, o.DistrictCode) {
		return nil
	}
	return grpcerr.PermissionDenied(fmt.Sprintf("you may not register owners of district %q", o.DistrictCode))
}

// CreateOwner implements housingv1.HousingServiceServer.
func (s *server) CreateOwner(ctx context.Context, req *housingv1.CreateOwnerRequest) (*housingv1.Owner, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	o := proto.CloneOf(req.GetOwner())
	o.OrganizationId, o.Version, o.Etag, o.CreateTime, o.UpdateTime = ownerKey(c.p), 0, "", nil, nil
	if o.DistrictCode == "" {
		o.DistrictCode = s.callerDistrict(c)
	}
	if err := s.checkOwnerDistrict(c, o); err != nil {
		return nil, err
	}
	out, err := s.store.CreateOwner(ctx, c.actor, o)
	return out, grpcerr.From(err)
}

// UpdateOwner implements housingv1.HousingServiceServer.
func (s *server) UpdateOwner(ctx context.Context, req *housingv1.UpdateOwnerRequest) (*housingv1.Owner, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	m := req.GetOwner()
	if m.GetId() != "" && m.GetId() != req.GetId() {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "owner.id", Description: "differs from the id of the path"})
	}
	out, err := s.store.UpdateOwner(ctx, c.actor, c.scope, req.GetId(), func(cur *housingv1.Owner) (*housingv1.Owner, error) {
		if err := conflictIfStale("owner", cur.GetId(), m.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		next, err := applyMask(cur, m, req.GetUpdateMask())
		if err != nil {
			return nil, err
		}
		if err := validate.Message("owner", next).Err(); err != nil {
			return nil, err
		}
		return next, s.checkOwnerDistrict(c, next)
	})
	return out, grpcerr.From(err)
}

// ---------------------------------------------------------------- homes

// ListHomes implements housingv1.HousingServiceServer.
func (s *server) ListHomes(ctx context.Context, req *housingv1.ListHomesRequest) (*housingv1.ListHomesResponse, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	f := store.ListFilter{Status: int32(req.GetStatus()), Owner: req.GetOwnerId()}
	hs, next, err := page(pagetoken.Query("homes", req.GetStatus().String(), req.GetOwnerId()), req.GetPageToken(),
		pageSize(req.GetPageSize(), defaultPageSize), (*housingv1.Home).GetId,
		func(f store.ListFilter) ([]*housingv1.Home, error) {
			return s.store.ListHomes(ctx, c.actor, c.scope, f)
		}, f)
	if err != nil {
		return nil, err
	}
	return &housingv1.ListHomesResponse{Homes: hs, NextPageToken: next}, nil
}

// GetHome implements housingv1.HousingServiceServer.
func (s *server) GetHome(ctx context.Context, req *housingv1.GetHomeRequest) (*housingv1.Home, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	h, err := s.store.GetHome(ctx, c.actor, c.scope, req.GetId())
	return h, grpcerr.From(err)
}

// CreateHome implements housingv1.HousingServiceServer.
func (s *server) CreateHome(ctx context.Context, req *housingv1.CreateHomeRequest) (*housingv1.Home, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	h := proto.CloneOf(req.GetHome())
	h.OrganizationId, h.Status, h.Version, h.Etag, h.CreateTime, h.UpdateTime = ownerKey(c.p), 0, 0, "", nil, nil
	if err := s.homeViolations(h).Err(); err != nil {
		return nil, err
	}
	if h.DistrictCode == "" {
		h.DistrictCode = s.callerDistrict(c)
	}
	out, err := s.store.CreateHome(ctx, c.actor, c.scope, h)
	return out, grpcerr.From(err)
}

// UpdateHome implements housingv1.HousingServiceServer.
func (s *server) UpdateHome(ctx context.Context, req *housingv1.UpdateHomeRequest) (*housingv1.Home, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	m := req.GetHome()
	if m.GetId() != "" && m.GetId() != req.GetId() {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "home.id", Description: "differs from the id of the path"})
	}
	out, err := s.store.UpdateHome(ctx, c.actor, c.scope, req.GetId(), func(cur *housingv1.Home) (*housingv1.Home, error) {
		if err := conflictIfStale("home", cur.GetId(), m.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		next, err := applyMask(cur, m, req.GetUpdateMask(), "owner_id", "status")
		if err != nil {
			return nil, err
		}
		return next, s.homeViolations(next).Err()
	})
	return out, grpcerr.From(err)
}

// WithdrawHome implements housingv1.HousingServiceServer.
func (s *server) WithdrawHome(ctx context.Context, req *housingv1.WithdrawHomeRequest) (*housingv1.Home, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	h, err := s.store.WithdrawHome(ctx, c.actor, c.scope, req.GetId(), req.GetEtag())
	return h, grpcerr.From(err)
}

func reasons(rs []match.Reason) []*housingv1.Reason {
	out := make([]*housingv1.Reason, len(rs))
	for i, r := range rs {
		out[i] = &housingv1.Reason{Code: r.Code, Points: int32(r.Points), Message: r.Message}
	}
	return out
}

func exclusions(es []match.Exclusion) []*housingv1.Exclusion {
	out := make([]*housingv1.Exclusion, len(es))
	for i, e := range es {
		out[i] = &housingv1.Exclusion{Constraint: e.Constraint, Count: int32(e.Count)}
	}
	return out
}

func (s *server) options(limit int) match.Options {
	return match.Options{Today: s.today(), Limit: limit, Places: s.places}
}

// MatchHome implements housingv1.HousingServiceServer.
func (s *server) MatchHome(ctx context.Context, req *housingv1.MatchHomeRequest) (*housingv1.MatchHomeResponse, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.index.sync(ctx); err != nil {
		return nil, grpcerr.From(err)
	}
	h, ok := s.index.home(req.GetId())
	if !ok || !c.scope.CoversPlace(h.District, h.Municipality) {
		// Not available, or not within reach: say which, through the store.
		cur, err := s.store.GetHome(ctx, c.actor, c.scope, req.GetId())
		if err != nil {
			return nil, grpcerr.From(err)
		}
		return nil, grpcerr.From(storage.Errorf(store.ErrFailedPrecondition, "home %s is %s: only available homes are matched",
			cur.GetId(), strings.ToLower(strings.TrimPrefix(cur.GetStatus().String(), "HOME_STATUS_"))))
	}
	opt := s.options(pageSize(req.GetPageSize(), defaultMatchSize))
	if !c.scope.All {
		opt.KeepRequest = func(r *match.Request) bool {
			return c.scope.CoversPlace(r.District, r.Municipality) || (c.scope.Organization != "" && r.Organization == c.scope.Organization)
		}
	}
	var rk match.Ranking
	s.index.withRequests(func(rs []match.Request) { rk = match.Requests(h, rs, opt) })
	resp := &housingv1.MatchHomeResponse{Candidates: int32(rk.Candidates), Eligible: int32(rk.Eligible), Exclusions: exclusions(rk.Exclusions)}
	for _, r := range rk.Results {
		m, _ := s.index.request(r.ID)
		resp.Matches = append(resp.Matches, &housingv1.RequestMatch{HousingRequestId: r.ID, Score: int32(r.Score), Reasons: reasons(r.Reasons),
			HouseholdSize: m.Members, WantedBy: m.WantedBy})
	}
	return resp, nil
}

// ---------------------------------------------------------------- requests

// ListHousingRequests implements housingv1.HousingServiceServer.
func (s *server) ListHousingRequests(ctx context.Context, req *housingv1.ListHousingRequestsRequest) (*housingv1.ListHousingRequestsResponse, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	f := store.ListFilter{Status: int32(req.GetStatus()), Case: req.GetCaseId()}
	rs, next, err := page(pagetoken.Query("requests", req.GetStatus().String(), req.GetCaseId()), req.GetPageToken(),
		pageSize(req.GetPageSize(), defaultPageSize), (*housingv1.HousingRequest).GetId,
		func(f store.ListFilter) ([]*housingv1.HousingRequest, error) {
			return s.store.ListRequests(ctx, c.actor, c.scope, f)
		}, f)
	if err != nil {
		return nil, err
	}
	return &housingv1.ListHousingRequestsResponse{HousingRequests: rs, NextPageToken: next}, nil
}

// GetHousingRequest implements housingv1.HousingServiceServer.
func (s *server) GetHousingRequest(ctx context.Context, req *housingv1.GetHousingRequestRequest) (*housingv1.HousingRequest, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.store.GetRequest(ctx, c.actor, c.scope, req.GetId())
	return r, grpcerr.From(err)
}

// withCallerCredentials forwards the caller's bearer token to another service, so that
// it answers what the caller may see, not what this service may.
func withCallerCredentials(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	out := metadata.MD{}
	if v := md.Get("authorization"); len(v) > 0 {
		out.Set("authorization", v...)
	}
	return metadata.NewOutgoingContext(ctx, out)
}

// checkCase reads the request's case from the cases service as the caller.
func (s *server) checkCase(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := s.cases.GetCase(withCallerCredentials(ctx), &casesv1.GetCaseRequest{Id: id})
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.NotFound, codes.PermissionDenied, codes.Unauthenticated, codes.InvalidArgument:
		return grpcerr.From(storage.FieldErrorf(store.ErrFailedPrecondition, "housing_request.case_id",
			"case %s is not among the cases you may see", id))
	}
	return status.Error(codes.Unavailable, "the cases service could not be asked about the case: try again")
}

// CreateHousingRequest implements housingv1.HousingServiceServer.
func (s *server) CreateHousingRequest(ctx context.Context, req *housingv1.CreateHousingRequestRequest) (*housingv1.HousingRequest, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	r := proto.CloneOf(req.GetHousingRequest())
	r.OrganizationId, r.Status, r.CloseReason = ownerKey(c.p), 0, 0
	r.Version, r.Etag, r.CreateTime, r.UpdateTime = 0, "", nil, nil
	if c.p.Organization == "" && !c.scope.Desk() {
		return nil, grpcerr.PermissionDenied("opening a housing request needs an organization or a territory")
	}
	if r.DistrictCode == "" {
		r.DistrictCode = s.callerDistrict(c)
	}
	if err := s.requestViolations(r).Err(); err != nil {
		return nil, err
	}
	if !c.scope.CoversRequest(r) {
		return nil, grpcerr.PermissionDenied(fmt.Sprintf("you may not open housing requests of district %q, municipality %s", r.DistrictCode, r.MunicipalityCode))
	}
	if err := s.checkCase(ctx, r.CaseId); err != nil {
		return nil, err
	}
	out, err := s.store.CreateRequest(ctx, c.actor, r)
	return out, grpcerr.From(err)
}

// UpdateHousingRequest implements housingv1.HousingServiceServer.
func (s *server) UpdateHousingRequest(ctx context.Context, req *housingv1.UpdateHousingRequestRequest) (*housingv1.HousingRequest, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	m := req.GetHousingRequest()
	if m.GetId() != "" && m.GetId() != req.GetId() {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "housing_request.id", Description: "differs from the id of the path"})
	}
	out, err := s.store.UpdateRequest(ctx, c.actor, c.scope, req.GetId(), func(cur *housingv1.HousingRequest) (*housingv1.HousingRequest, error) {
		if err := conflictIfStale("housing request", cur.GetId(), m.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		next, err := applyMask(cur, m, req.GetUpdateMask(), "case_id", "status", "close_reason")
		if err != nil {
			return nil, err
		}
		return next, s.requestViolations(next).Err()
	})
	return out, grpcerr.From(err)
}

// CloseHousingRequest implements housingv1.HousingServiceServer.
func (s *server) CloseHousingRequest(ctx context.Context, req *housingv1.CloseHousingRequestRequest) (*housingv1.HousingRequest, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.store.CloseRequest(ctx, c.actor, c.scope, req.GetId(), req.GetReason(), req.GetEtag())
	return r, grpcerr.From(err)
}

// MatchHousingRequest implements housingv1.HousingServiceServer.
func (s *server) MatchHousingRequest(ctx context.Context, req *housingv1.MatchHousingRequestRequest) (*housingv1.MatchHousingRequestResponse, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.index.sync(ctx); err != nil {
		return nil, grpcerr.From(err)
	}
	r, ok := s.index.request(req.GetId())
	if !ok || !(c.scope.CoversPlace(r.District, r.Municipality) || (c.scope.Organization != "" && r.Organization == c.scope.Organization)) {
		cur, err := s.store.GetRequest(ctx, c.actor, c.scope, req.GetId())
		if err != nil {
			return nil, grpcerr.From(err)
		}
		return nil, grpcerr.From(storage.Errorf(store.ErrFailedPrecondition, "housing request %s is %s: only open requests are matched",
			cur.GetId(), strings.ToLower(strings.TrimPrefix(cur.GetStatus().String(), "REQUEST_STATUS_"))))
	}
	opt := s.options(pageSize(req.GetPageSize(), defaultMatchSize))
	if !c.scope.All {
		opt.KeepHome = func(h *match.Home) bool { return c.scope.CoversPlace(h.District, h.Municipality) }
	}
	var rk match.Ranking
	resp := &housingv1.MatchHousingRequestResponse{}
	s.index.withHomes(func(hs []match.Home, at map[string]int) {
		rk = match.Homes(r, hs, opt)
		// The homes' figures are read while the index is locked.
		for _, res := range rk.Results {
			h := hs[at[res.ID]]
			resp.Matches = append(resp.Matches, &housingv1.HomeMatch{HomeId: res.ID, Score: int32(res.Score), Reasons: reasons(res.Reasons),
				DistanceKm: int32(res.DistanceKm), MunicipalityCode: h.Municipality, Bedrooms: h.Bedrooms, MonthlyCostCents: h.MonthlyCostCents})
		}
	})
	resp.Candidates, resp.Eligible, resp.Exclusions = int32(rk.Candidates), int32(rk.Eligible), exclusions(rk.Exclusions)
	return resp, nil
}

// ---------------------------------------------------------------- proposals

// ListProposals implements housingv1.HousingServiceServer.
func (s *server) ListProposals(ctx context.Context, req *housingv1.ListProposalsRequest) (*housingv1.ListProposalsResponse, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	f := store.ListFilter{Home: req.GetHomeId(), Req: req.GetHousingRequestId()}
	ps, next, err := page(pagetoken.Query("proposals", req.GetHomeId(), req.GetHousingRequestId()), req.GetPageToken(),
		pageSize(req.GetPageSize(), defaultPageSize), (*housingv1.Proposal).GetId,
		func(f store.ListFilter) ([]*housingv1.Proposal, error) {
			return s.store.ListProposals(ctx, c.actor, c.scope, f)
		}, f)
	if err != nil {
		return nil, err
	}
	return &housingv1.ListProposalsResponse{Proposals: ps, NextPageToken: next}, nil
}

// GetProposal implements housingv1.HousingServiceServer.
func (s *server) GetProposal(ctx context.Context, req *housingv1.GetProposalRequest) (*housingv1.Proposal, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetProposal(ctx, c.actor, c.scope, req.GetId())
	return p, grpcerr.From(err)
}

// CreateProposal implements housingv1.HousingServiceServer. The proposal keeps the match
// score of the pair when proposed (0 when the pair fails a hard constraint: the desk may
// still propose it, knowing why).
func (s *server) CreateProposal(ctx context.Context, req *housingv1.CreateProposalRequest) (*housingv1.Proposal, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetProposal()
	p := &housingv1.Proposal{HousingRequestId: in.GetHousingRequestId(), HomeId: in.GetHomeId()}
	if err := s.index.sync(ctx); err != nil {
		return nil, grpcerr.From(err)
	}
	r, rok := s.index.request(p.HousingRequestId)
	h, hok := s.index.home(p.HomeId)
	if rok && hok {
		if failed, res := match.Explain(r, h, s.options(1)); failed == "" {
			p.Score = int32(res.Score)
		}
	}
	out, err := s.store.CreateProposal(ctx, c.actor, c.scope, p)
	return out, grpcerr.From(err)
}

// DeclineProposal implements housingv1.HousingServiceServer.
func (s *server) DeclineProposal(ctx context.Context, req *housingv1.DeclineProposalRequest) (*housingv1.Proposal, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.store.DeclineProposal(ctx, c.actor, c.scope, req.GetId(), req.GetParty())
	return p, grpcerr.From(err)
}

// SignContract implements housingv1.HousingServiceServer.
func (s *server) SignContract(ctx context.Context, req *housingv1.SignContractRequest) (*housingv1.Tenancy, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	k := proto.CloneOf(req.GetContract())
	var bad grpcerr.Violations
	validate.CivilDate(&bad, "contract.start_date", k.GetStartDate())
	validate.CivilDate(&bad, "contract.registration_date", k.GetRegistrationDate())
	if err := bad.Err(); err != nil {
		return nil, err
	}
	var g *housingv1.GuaranteeFund
	if req.GetGuarantee() != nil {
		g = proto.CloneOf(req.GetGuarantee())
	}
	t, err := s.store.SignContract(ctx, c.actor, c.scope, req.GetId(), k, g, s.today())
	return t, grpcerr.From(err)
}

// ---------------------------------------------------------------- viewings

// ListViewings implements housingv1.HousingServiceServer.
func (s *server) ListViewings(ctx context.Context, req *housingv1.ListViewingsRequest) (*housingv1.ListViewingsResponse, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	vs, next, err := page(pagetoken.Query("viewings", req.GetProposalId()), req.GetPageToken(),
		pageSize(req.GetPageSize(), defaultPageSize), (*housingv1.Viewing).GetId,
		func(f store.ListFilter) ([]*housingv1.Viewing, error) {
			return s.store.ListViewings(ctx, c.actor, c.scope, f)
		}, store.ListFilter{Prop: req.GetProposalId()})
	if err != nil {
		return nil, err
	}
	return &housingv1.ListViewingsResponse{Viewings: vs, NextPageToken: next}, nil
}

// CreateViewing implements housingv1.HousingServiceServer.
func (s *server) CreateViewing(ctx context.Context, req *housingv1.CreateViewingRequest) (*housingv1.Viewing, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetViewing()
	if !in.GetStartTime().IsValid() {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "viewing.start_time", Description: "is not a valid time"})
	}
	v := &housingv1.Viewing{ProposalId: in.GetProposalId(), StartTime: in.GetStartTime()}
	out, err := s.store.CreateViewing(ctx, c.actor, c.scope, v)
	return out, grpcerr.From(err)
}

// RecordViewingOutcome implements housingv1.HousingServiceServer.
func (s *server) RecordViewingOutcome(ctx context.Context, req *housingv1.RecordViewingOutcomeRequest) (*housingv1.Viewing, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.store.RecordViewingOutcome(ctx, c.actor, c.scope, req.GetId(), req.GetOutcome())
	return v, grpcerr.From(err)
}

// ---------------------------------------------------------------- tenancies

// ListTenancies implements housingv1.HousingServiceServer.
func (s *server) ListTenancies(ctx context.Context, req *housingv1.ListTenanciesRequest) (*housingv1.ListTenanciesResponse, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	ts, next, err := page(pagetoken.Query("tenancies", req.GetStatus().String()), req.GetPageToken(),
		pageSize(req.GetPageSize(), defaultPageSize), (*housingv1.Tenancy).GetId,
		func(f store.ListFilter) ([]*housingv1.Tenancy, error) {
			return s.store.ListTenancies(ctx, c.actor, c.scope, f)
		}, store.ListFilter{Status: int32(req.GetStatus())})
	if err != nil {
		return nil, err
	}
	return &housingv1.ListTenanciesResponse{Tenancies: ts, NextPageToken: next}, nil
}

// GetTenancy implements housingv1.HousingServiceServer.
func (s *server) GetTenancy(ctx context.Context, req *housingv1.GetTenancyRequest) (*housingv1.Tenancy, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.store.GetTenancy(ctx, c.actor, c.scope, req.GetId())
	return t, grpcerr.From(err)
}

// CreateTenancyEvent implements housingv1.HousingServiceServer.
func (s *server) CreateTenancyEvent(ctx context.Context, req *housingv1.CreateTenancyEventRequest) (*housingv1.TenancyEvent, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	ev := proto.CloneOf(req.GetEvent())
	var bad grpcerr.Violations
	validate.CivilDate(&bad, "event.registration.date", ev.GetRegistration().GetDate())
	if ev.OccurTime != nil && !ev.OccurTime.IsValid() {
		bad.Add("event.occur_time", "is not a valid time")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	out, err := s.store.AddTenancyEvent(ctx, c.actor, c.scope, req.GetTenancyId(), ev)
	return out, grpcerr.From(err)
}

// EndTenancy implements housingv1.HousingServiceServer.
func (s *server) EndTenancy(ctx context.Context, req *housingv1.EndTenancyRequest) (*housingv1.Tenancy, error) {
	c, err := s.desk(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcerr.Violations
	validate.CivilDate(&bad, "end_date", req.GetEndDate())
	if err := bad.Err(); err != nil {
		return nil, err
	}
	t, err := s.store.EndTenancy(ctx, c.actor, c.scope, req.GetId(), req.GetEndDate(), req.GetReason(), req.GetWithdrawHome())
	return t, grpcerr.From(err)
}

// ---------------------------------------------------------------- change feed

// feedReader refuses anyone but admin and service:reporting (the policy lets only those
// through; this says so again where the data leaves).
func (s *server) feedReader(ctx context.Context) (store.Actor, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return store.Actor{}, grpcerr.PermissionDenied("the housing feed needs an authenticated caller")
	}
	name, isService := p.ServiceName()
	if !(isService && name == "reporting") && !p.HasRole(auth.RoleAdmin) {
		return store.Actor{}, grpcerr.PermissionDenied("the housing feed is for reporting and admins")
	}
	method, _ := grpc.Method(ctx)
	return store.Actor{Subject: p.Subject, Organization: p.Organization, Method: method}, nil
}

func toChange(e changelog.Entry) (*housingv1.HousingChange, error) {
	ch := &housingv1.HousingChange{Position: e.Position, Topic: e.Topic, Key: e.Key, Op: string(e.Op), Time: timestamppb.New(e.Time)}
	if len(e.Payload) > 0 {
		ch.Payload = &structpb.Struct{}
		if err := protojson.Unmarshal(e.Payload, ch.Payload); err != nil {
			return nil, fmt.Errorf("change %d payload: %w", e.Position, err)
		}
	}
	return ch, nil
}

// ListHousingChanges implements housingv1.HousingServiceServer.
func (s *server) ListHousingChanges(ctx context.Context, req *housingv1.ListHousingChangesRequest) (*housingv1.ListHousingChangesResponse, error) {
	a, err := s.feedReader(ctx)
	if err != nil {
		return nil, err
	}
	head, err := s.store.Changes().Head(ctx)
	if err != nil {
		return nil, grpcerr.From(fmt.Errorf("read housing feed head: %w", err))
	}
	entries, err := s.store.Changes().List(ctx, req.GetAfter(), pageSize(req.GetPageSize(), defaultPageSize))
	if err != nil {
		return nil, grpcerr.From(fmt.Errorf("read housing changes: %w", err))
	}
	resp := &housingv1.ListHousingChangesResponse{NextAfter: req.GetAfter(), Head: head}
	for _, e := range entries {
		resp.NextAfter = e.Position
		ch, err := toChange(e)
		if err != nil {
			return nil, grpcerr.From(err)
		}
		resp.Changes = append(resp.Changes, ch)
	}
	rng := fmt.Sprintf("%d-%d", req.GetAfter(), resp.NextAfter)
	if err := s.store.RecordAudit(ctx, a, store.ActionRead, store.RecordFeed, rng); err != nil {
		return nil, grpcerr.From(err)
	}
	return resp, nil
}

// WatchHousingChanges implements housingv1.HousingServiceServer.
func (s *server) WatchHousingChanges(req *housingv1.WatchHousingChangesRequest, stream grpc.ServerStreamingServer[housingv1.HousingChange]) error {
	ctx := stream.Context()
	a, err := s.feedReader(ctx)
	if err != nil {
		return err
	}
	if err := s.store.RecordAudit(ctx, a, store.ActionRead, store.RecordFeed, fmt.Sprintf("%d-", req.GetAfter())); err != nil {
		return grpcerr.From(err)
	}
	err = s.store.Changes().Watch(ctx, req.GetAfter(), func(e changelog.Entry) error {
		ch, err := toChange(e)
		if err != nil {
			return err
		}
		return stream.Send(ch)
	})
	return grpcerr.From(err)
}
