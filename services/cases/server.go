package cases

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/pagetoken"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/libs/updatemask"
	"github.com/ponte-network/ponte/libs/validate"
	"github.com/ponte-network/ponte/services/cases/districts"
	"github.com/ponte-network/ponte/services/cases/store"
)

type server struct {
	casesv1.UnimplementedCaseServiceServer
	store     store.Store
	catalog   *territory.Catalog
	districts districts.Source
}

const (
	defaultPageSize = 100
	sourcePonte     = "ponte"
)

func pageSize(n int32) int {
	if n <= 0 {
		return defaultPageSize
	}
	return int(n)
}

// caller is the authenticated caller: who they are and what they reach.
type caller struct {
	p     *auth.Principal
	actor store.Actor
	scope store.Scope
}

// territoryScope returns the scope of the cases within territory code: a district code,
// or an ISTAT region, province or municipality code.
func (s *server) territoryScope(code string) store.Scope {
	level, istat := s.catalog.LevelOf(code)
	if !istat {
		// The district's municipalities as last known: reads keep working while the
		// copy is stale; before its first catch-up only the district_code matches.
		ms, _ := s.districts.Last().Municipalities(code)
		return store.Scope{Districts: []string{code}, Municipalities: ms}
	}
	if level == territory.LevelRegion {
		var prefixes []string
		for _, p := range s.catalog.Provinces() {
			if p.RegionCode == code {
				prefixes = append(prefixes, p.Code)
			}
		}
		if len(prefixes) == 0 {
			prefixes = []string{"-"} // a region without provinces reaches nothing
		}
		return store.Scope{MunicipalityPrefixes: prefixes}
	}
	return store.Scope{MunicipalityPrefixes: []string{code}}
}

// who returns the caller and their scope (see the package doc); region roles and
// mediators reach nothing and are refused.
func (s *server) who(ctx context.Context) (caller, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return caller{}, grpcerr.PermissionDenied("cases need an authenticated caller")
	}
	method, _ := grpc.Method(ctx)
	c := caller{p: p, actor: store.Actor{Subject: p.Subject, Organization: p.Organization, Method: method}}
	if p.HasRole(auth.RoleAdmin) {
		c.scope = store.Scope{All: true, PersonOwner: p.Organization}
		return c, nil
	}
	reaches := false
	if p.HasRole(auth.RolePartnerAdmin, auth.RolePartnerOperator) && p.Organization != "" {
		c.scope.Organization = p.Organization
		c.scope.PersonOwner = p.Organization
		reaches = true
	}
	if p.HasRole(auth.RoleDistrictAdmin, auth.RoleDistrictOperator) && p.Territory != "" {
		t := s.territoryScope(p.Territory)
		c.scope.Districts, c.scope.Municipalities, c.scope.MunicipalityPrefixes = t.Districts, t.Municipalities, t.MunicipalityPrefixes
		if c.scope.PersonOwner == "" {
			c.scope.PersonOwner = cmpOr(p.Organization, "territory:"+p.Territory)
		}
		reaches = true
	}
	if !reaches {
		return caller{}, grpcerr.PermissionDenied("your roles give access to no case and no person")
	}
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ---------------------------------------------------------------- validation

func (s *server) checkPerson(p *casesv1.Person) error {
	bad := validate.Message("person", p)
	validate.Municipality(&bad, s.catalog, "person.residence_municipality_code", p.GetResidenceMunicipalityCode())
	personal := p.GetGivenName() != "" || p.GetFamilyName() != "" || p.GetBirthDate() != "" || p.GetSex() != 0 ||
		p.GetNationality() != "" || len(p.GetLanguages()) > 0 || p.GetResidenceMunicipalityCode() != "" || p.GetTaxCode() != ""
	if personal && p.GetLegalBasis() == casesv1.LegalBasis_LEGAL_BASIS_UNSPECIFIED {
		bad.Add("person.legal_basis", "personal data needs a legal basis")
	}
	if p.GetLegalBasis() == casesv1.LegalBasis_LEGAL_BASIS_CONSENT && p.GetConsentTime() == nil {
		bad.Add("person.consent_time", "consent as legal basis needs the time of consent")
	}
	return bad.Err()
}

func (s *server) caseViolations(field string, k *casesv1.Case) grpcerr.Violations {
	bad := validate.Message(field, k)
	validate.Municipality(&bad, s.catalog, field+".municipality_code", k.GetMunicipalityCode())
	return bad
}

// mayWrite refuses a case that would lie outside the caller's reach.
func (c caller) mayWrite(k *casesv1.Case) error {
	if c.scope.CoversCase(k) {
		return nil
	}
	return grpcerr.PermissionDenied(fmt.Sprintf("you may not write cases of organization %q, district %q, municipality %s",
		k.GetOrganizationId(), k.GetDistrictCode(), k.GetMunicipalityCode()))
}

// defaults fills a new case's organization from the caller; its district is derived
// from its municipality (place).
func (s *server) defaults(c caller, k *casesv1.Case) {
	if k.OrganizationId == "" {
		k.OrganizationId = c.p.Organization
	}
}

// serverChosenID refuses an id in a create request: ids are the server's (see the
// package doc, "No existence oracle"), so that an id taken elsewhere cannot be probed.
func serverChosenID(field, id string) error {
	if id == "" {
		return nil
	}
	return grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: field, Description: "ids are assigned by the server: leave it empty"})
}

// applyMask applies an update's field mask (libs/updatemask); the id, version, etag and
// times are never taken from the request, nor the fields named in skip.
func applyMask[T proto.Message](before, m T, mask *fieldmaskpb.FieldMask, skip ...protoreflect.Name) (T, error) {
	return updatemask.Apply(before, m, mask, append([]protoreflect.Name{"id", "etag", "version", "create_time", "update_time"}, skip...)...)
}

func conflictIfStale(kind, id, etag, current string) error {
	if etag != "" && etag != current {
		return storage.FieldErrorf(store.ErrConflict, "etag", "%s %s is at version %s, not %s", kind, id, current, etag)
	}
	return nil
}

// ---------------------------------------------------------------- persons

// ListPersons implements casesv1.CaseServiceServer.
func (s *server) ListPersons(ctx context.Context, req *casesv1.ListPersonsRequest) (*casesv1.ListPersonsResponse, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	query := pagetoken.Query("persons")
	cursor, err := decodeToken(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	// The cursor is the last person's id and owner: ids are unique per owner only, and
	// ids never hold a "/".
	var after store.PersonRef
	after.ID, after.Owner, _ = strings.Cut(cursor, "/")
	size := pageSize(req.GetPageSize())
	ps, err := s.store.ListPersons(ctx, c.actor, c.scope, after, size+1)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	resp := &casesv1.ListPersonsResponse{Persons: ps}
	if len(ps) > size {
		resp.Persons = ps[:size]
		last := ps[size-1]
		resp.NextPageToken = pagetoken.Encode(query, last.GetId()+"/"+last.GetOrganizationId())
	}
	return resp, nil
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

// GetPerson implements casesv1.CaseServiceServer.
func (s *server) GetPerson(ctx context.Context, req *casesv1.GetPersonRequest) (*casesv1.Person, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetPerson(ctx, c.actor, c.scope, store.PersonRef{ID: req.GetId(), Owner: req.GetOrganizationId()})
	return p, grpcerr.From(err)
}

// CreatePerson implements casesv1.CaseServiceServer.
func (s *server) CreatePerson(ctx context.Context, req *casesv1.CreatePersonRequest) (*casesv1.Person, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	p := proto.CloneOf(req.GetPerson())
	p.OrganizationId = c.scope.PersonOwner
	if err := s.checkPerson(p); err != nil {
		return nil, err
	}
	out, err := s.store.CreatePerson(ctx, c.actor, p)
	return out, grpcerr.From(err)
}

// UpdatePerson implements casesv1.CaseServiceServer.
func (s *server) UpdatePerson(ctx context.Context, req *casesv1.UpdatePersonRequest) (*casesv1.Person, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	m := req.GetPerson()
	if m.GetId() != "" && m.GetId() != req.GetId() {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "person.id", Description: "differs from the id of the path"})
	}
	ref := store.PersonRef{ID: req.GetId(), Owner: req.GetOrganizationId()}
	out, err := s.store.UpdatePerson(ctx, c.actor, c.scope, ref, func(cur *casesv1.Person) (*casesv1.Person, error) {
		if err := conflictIfStale("person", cur.GetId(), m.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		next, err := applyMask(cur, m, req.GetUpdateMask(), "organization_id")
		if err != nil {
			return nil, err
		}
		return next, s.checkPerson(next)
	})
	return out, grpcerr.From(err)
}

// DeletePerson implements casesv1.CaseServiceServer.
func (s *server) DeletePerson(ctx context.Context, req *casesv1.DeletePersonRequest) (*emptypb.Empty, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	ref := store.PersonRef{ID: req.GetId(), Owner: req.GetOrganizationId()}
	if err := s.store.DeletePerson(ctx, c.actor, c.scope, ref, req.GetEtag()); err != nil {
		return nil, grpcerr.From(err)
	}
	return &emptypb.Empty{}, nil
}

// ---------------------------------------------------------------- cases

// ListCases implements casesv1.CaseServiceServer.
func (s *server) ListCases(ctx context.Context, req *casesv1.ListCasesRequest) (*casesv1.ListCasesResponse, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	f := store.CaseFilter{
		Phase: req.GetPhase(), Category: req.GetCategory(), OrganizationID: req.GetOrganizationId(), PersonID: req.GetPersonId(),
	}
	if t := req.GetTerritory(); t != "" {
		ts := s.territoryScope(t)
		f.Territory = &ts
	}
	since := ""
	if req.GetUpdateTimeSince() != nil {
		f.UpdatedSinceUs = req.GetUpdateTimeSince().AsTime().UnixMicro()
		since = strconv.FormatInt(f.UpdatedSinceUs, 10)
	}
	query := pagetoken.Query("cases", req.GetPhase().String(), req.GetCategory().String(), req.GetTerritory(),
		req.GetOrganizationId(), req.GetPersonId(), since)
	if f.After, err = decodeToken(req.GetPageToken(), query); err != nil {
		return nil, err
	}
	size := pageSize(req.GetPageSize())
	f.Limit = size + 1
	ks, err := s.store.ListCases(ctx, c.actor, c.scope, f)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	resp := &casesv1.ListCasesResponse{Cases: ks}
	if len(ks) > size {
		resp.Cases = ks[:size]
		resp.NextPageToken = pagetoken.Encode(query, ks[size-1].GetId())
	}
	return resp, nil
}

// GetCase implements casesv1.CaseServiceServer.
func (s *server) GetCase(ctx context.Context, req *casesv1.GetCaseRequest) (*casesv1.Case, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	k, err := s.store.GetCase(ctx, c.actor, c.scope, req.GetId())
	return k, grpcerr.From(err)
}

// CreateCase implements casesv1.CaseServiceServer.
func (s *server) CreateCase(ctx context.Context, req *casesv1.CreateCaseRequest) (*casesv1.Case, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	if err := serverChosenID("case.id", req.GetCase().GetId()); err != nil {
		return nil, err
	}
	k := proto.CloneOf(req.GetCase())
	k.Phase, k.AgeBand = casesv1.Phase_PHASE_INTAKE, ""
	s.defaults(c, k)
	if err := s.caseViolations("case", k).Err(); err != nil {
		return nil, err
	}
	if (k.Source == "") != (k.ExternalId == "") {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "case.external_id", Description: "source and external_id go together"})
	}
	if err := s.placeErr(c, &snapshots{ctx: ctx, src: s.districts}, k, nil); err != nil {
		return nil, err
	}
	if err := c.mayWrite(k); err != nil {
		return nil, err
	}
	out, err := s.store.CreateCase(ctx, c.actor, c.scope, k)
	return out, grpcerr.From(err)
}

// UpdateCase implements casesv1.CaseServiceServer.
func (s *server) UpdateCase(ctx context.Context, req *casesv1.UpdateCaseRequest) (*casesv1.Case, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	m := req.GetCase()
	if m.GetId() != "" && m.GetId() != req.GetId() {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "case.id", Description: "differs from the id of the path"})
	}
	snaps := &snapshots{ctx: ctx, src: s.districts}
	out, err := s.store.UpdateCase(ctx, c.actor, c.scope, req.GetId(), func(cur *casesv1.Case) (*casesv1.Case, *casesv1.CaseEvent, error) {
		if err := conflictIfStale("case", cur.GetId(), m.GetEtag(), cur.GetEtag()); err != nil {
			return nil, nil, err
		}
		next, err := applyMask(cur, m, req.GetUpdateMask(), "phase", "age_band")
		if err != nil {
			return nil, nil, err
		}
		if err := s.caseViolations("case", next).Err(); err != nil {
			return nil, nil, err
		}
		if err := s.placeErr(c, snaps, next, cur); err != nil {
			return nil, nil, err
		}
		return next, nil, c.mayWrite(next)
	})
	return out, grpcerr.From(err)
}

// DeleteCase implements casesv1.CaseServiceServer.
func (s *server) DeleteCase(ctx context.Context, req *casesv1.DeleteCaseRequest) (*emptypb.Empty, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteCase(ctx, c.actor, c.scope, req.GetId(), req.GetEtag()); err != nil {
		return nil, grpcerr.From(err)
	}
	return &emptypb.Empty{}, nil
}

// TransitionCase implements casesv1.CaseServiceServer.
func (s *server) TransitionCase(ctx context.Context, req *casesv1.TransitionCaseRequest) (*casesv1.Case, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.store.UpdateCase(ctx, c.actor, c.scope, req.GetId(), func(cur *casesv1.Case) (*casesv1.Case, *casesv1.CaseEvent, error) {
		if err := conflictIfStale("case", cur.GetId(), req.GetEtag(), cur.GetEtag()); err != nil {
			return nil, nil, err
		}
		from, to := cur.GetPhase(), req.GetPhase()
		if !CanTransition(from, to) {
			return nil, nil, storage.FieldErrorf(store.ErrFailedPrecondition, "phase",
				"a case cannot move from %s to %s", phaseName(from), phaseName(to))
		}
		cur.Phase = to
		ev := &casesv1.CaseEvent{Kind: &casesv1.CaseEvent_PhaseChange{PhaseChange: &casesv1.PhaseChange{From: from, To: to, Reason: req.GetReason()}}}
		return cur, ev, nil
	})
	return out, grpcerr.From(err)
}

func phaseName(p casesv1.Phase) string {
	return strings.ToLower(strings.TrimPrefix(p.String(), "PHASE_"))
}

// ---------------------------------------------------------------- events

// ListCaseEvents implements casesv1.CaseServiceServer.
func (s *server) ListCaseEvents(ctx context.Context, req *casesv1.ListCaseEventsRequest) (*casesv1.ListCaseEventsResponse, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	query := pagetoken.Query("events", req.GetCaseId())
	cur, err := decodeToken(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	var after int64
	if cur != "" {
		if after, err = strconv.ParseInt(cur, 10, 64); err != nil {
			return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "page_token", Description: "not a token of this query"})
		}
	}
	size := pageSize(req.GetPageSize())
	evs, err := s.store.ListCaseEvents(ctx, c.actor, c.scope, req.GetCaseId(), after, size+1)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	resp := &casesv1.ListCaseEventsResponse{Events: evs}
	if len(evs) > size {
		resp.Events = evs[:size]
		resp.NextPageToken = pagetoken.Encode(query, evs[size-1].GetId())
	}
	return resp, nil
}

// CreateCaseEvent implements casesv1.CaseServiceServer.
func (s *server) CreateCaseEvent(ctx context.Context, req *casesv1.CreateCaseEventRequest) (*casesv1.CaseEvent, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	ev := req.GetEvent()
	var bad grpcerr.Violations
	if ev.GetPhaseChange() != nil {
		bad.Add("event.phase_change", "phases change through TransitionCase")
	}
	validate.Municipality(&bad, s.catalog, "event.consultation.requester_municipality_code", ev.GetConsultation().GetRequesterMunicipalityCode())
	if err := bad.Err(); err != nil {
		return nil, err
	}
	out, err := s.store.AddCaseEvent(ctx, c.actor, c.scope, req.GetCaseId(), ev)
	return out, grpcerr.From(err)
}

// ---------------------------------------------------------------- sync

// BatchUpsertCases implements casesv1.CaseServiceServer.
func (s *server) BatchUpsertCases(ctx context.Context, req *casesv1.BatchUpsertCasesRequest) (*casesv1.BatchUpsertCasesResponse, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	items := req.GetItems()
	snap, err := s.districts.Current(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	snaps := &snapshots{snap: snap, done: true} // read-only from here: shared by the workers
	results := make([]*casesv1.CaseUpsertResult, len(items))
	checked := make([]*casesv1.Case, len(items))
	// Items are checked in parallel (validation is most of a batch's CPU time on the
	// service's side); each goroutine writes only its own items' slots.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(items)/100))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(items); i += workers {
				checked[i], results[i] = s.checkUpsert(c, snaps, int32(i), items[i])
			}
		})
	}
	wg.Wait()
	var valid []store.UpsertItem
	for i, k := range checked {
		if k != nil {
			valid = append(valid, store.UpsertItem{Index: int32(i), Case: k, ExpectedVersion: items[i].GetExpectedVersion()})
		}
	}
	if len(valid) > 0 {
		done, err := s.store.BatchUpsertCases(ctx, c.actor, c.scope, valid)
		if err != nil {
			return nil, grpcerr.From(err)
		}
		for _, r := range done {
			results[r.GetIndex()] = r
		}
	}
	return &casesv1.BatchUpsertCasesResponse{Results: results}, nil
}

// checkUpsert completes and checks item it of a batch: the case to write, or the item's
// invalid result.
func (s *server) checkUpsert(c caller, snaps *snapshots, idx int32, it *casesv1.CaseUpsert) (*casesv1.Case, *casesv1.CaseUpsertResult) {
	k := proto.CloneOf(it.GetCase())
	if k == nil {
		k = &casesv1.Case{}
	}
	k.Id, k.Version, k.Etag, k.CreateTime, k.UpdateTime, k.AgeBand = "", 0, "", nil, nil, ""
	s.defaults(c, k)
	bad := s.caseViolations("case", k)
	if k.GetSource() == "" {
		bad.Add("case.source", "is required in a batch")
	}
	if k.GetExternalId() == "" {
		bad.Add("case.external_id", "is required in a batch")
	}
	if len(bad) > 0 {
		return nil, &casesv1.CaseUpsertResult{Index: idx, Outcome: casesv1.UpsertOutcome_UPSERT_OUTCOME_INVALID,
			Field: bad[0].Field, Reason: bad[0].Description}
	}
	// snaps is resolved: place cannot fail for want of districts here.
	if v, _ := s.place(c, snaps, k, nil); v != nil {
		return nil, &casesv1.CaseUpsertResult{Index: idx, Outcome: casesv1.UpsertOutcome_UPSERT_OUTCOME_INVALID,
			Field: v.Field, Reason: v.Description}
	}
	if !c.scope.CoversCase(k) {
		return nil, &casesv1.CaseUpsertResult{Index: idx, Outcome: casesv1.UpsertOutcome_UPSERT_OUTCOME_INVALID,
			Field: "case.municipality_code", Reason: "the case would lie outside your reach"}
	}
	return k, nil
}

// visible reports whether the caller may see entry e of the change feed.
func (c caller) visible(e changelog.Entry) bool {
	ok, _ := c.visibleAt(e)
	return ok
}

// visibleAt is visible, and for a case entry the place it lies in.
func (c caller) visibleAt(e changelog.Entry) (bool, store.Place) {
	switch e.Topic {
	case store.TopicCase:
		k := &casesv1.Case{}
		if err := protojson.Unmarshal(e.Payload, k); err != nil {
			return false, store.Place{}
		}
		return c.scope.CoversCase(k), store.Place{District: k.GetDistrictCode(), Municipality: k.GetMunicipalityCode()}
	case store.TopicPerson:
		if c.scope.All {
			return true, store.Place{}
		}
		var p struct {
			OrganizationID string `json:"organizationId"`
		}
		return json.Unmarshal(e.Payload, &p) == nil && p.OrganizationID != "" && p.OrganizationID == c.scope.PersonOwner, store.Place{}
	case store.TopicCaseEvent:
		return false, store.Place{} // for the reporting projection only: events are not in the sync feed
	}
	return false, store.Place{}
}

func toChange(e changelog.Entry) (*casesv1.CaseChange, error) {
	ch := &casesv1.CaseChange{Position: e.Position, Topic: e.Topic, Key: e.Key, Op: string(e.Op), Time: timestamppb.New(e.Time)}
	if e.Topic == store.TopicCase && len(e.Payload) > 0 {
		ch.Payload = &structpb.Struct{}
		if err := protojson.Unmarshal(e.Payload, ch.Payload); err != nil {
			return nil, fmt.Errorf("change %d payload: %w", e.Position, err)
		}
	}
	return ch, nil
}

// ListCaseChanges implements casesv1.CaseServiceServer.
func (s *server) ListCaseChanges(ctx context.Context, req *casesv1.ListCaseChangesRequest) (*casesv1.ListCaseChangesResponse, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := s.store.Changes().List(ctx, req.GetAfter(), pageSize(req.GetPageSize()))
	if err != nil {
		return nil, grpcerr.From(fmt.Errorf("read case changes: %w", err))
	}
	resp := &casesv1.ListCaseChangesResponse{NextAfter: req.GetAfter()}
	// The read is audited once per place of the cases returned, so that each
	// territory's audit log shows who read its cases from the feed.
	var places []store.Place
	for _, e := range entries {
		resp.NextAfter = e.Position
		ok, pl := c.visibleAt(e)
		if !ok {
			continue
		}
		if pl != (store.Place{}) && !slices.Contains(places, pl) {
			places = append(places, pl)
		}
		ch, err := toChange(e)
		if err != nil {
			return nil, grpcerr.From(err)
		}
		resp.Changes = append(resp.Changes, ch)
	}
	rng := fmt.Sprintf("%d-%d", req.GetAfter(), resp.NextAfter)
	if err := s.store.RecordAudit(ctx, c.actor, store.ActionRead, store.RecordCaseFeed, rng, places...); err != nil {
		return nil, grpcerr.From(err)
	}
	return resp, nil
}

// WatchCaseChanges implements casesv1.CaseServiceServer.
func (s *server) WatchCaseChanges(req *casesv1.WatchCaseChangesRequest, stream grpc.ServerStreamingServer[casesv1.CaseChange]) error {
	ctx := stream.Context()
	c, err := s.who(ctx)
	if err != nil {
		return err
	}
	rng := fmt.Sprintf("%d-", req.GetAfter())
	if err := s.store.RecordAudit(ctx, c.actor, store.ActionRead, store.RecordCaseFeed, rng); err != nil {
		return grpcerr.From(err)
	}
	// Besides the entry at the start, the first entry of each place sent is audited
	// under that place before it is sent (see ListCaseChanges).
	seen := map[store.Place]bool{}
	err = s.store.Changes().Watch(ctx, req.GetAfter(), func(e changelog.Entry) error {
		ok, pl := c.visibleAt(e)
		if !ok {
			return nil
		}
		if pl != (store.Place{}) && !seen[pl] {
			seen[pl] = true
			if err := s.store.RecordAudit(ctx, c.actor, store.ActionRead, store.RecordCaseFeed, fmt.Sprintf("%d-", e.Position-1), pl); err != nil {
				return err
			}
		}
		ch, err := toChange(e)
		if err != nil {
			return err
		}
		return stream.Send(ch)
	})
	return grpcerr.From(err)
}

// ---------------------------------------------------------------- audit

// ListAuditEvents implements casesv1.CaseServiceServer.
func (s *server) ListAuditEvents(ctx context.Context, req *casesv1.ListAuditEventsRequest) (*casesv1.ListAuditEventsResponse, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, grpcerr.PermissionDenied("the audit log needs an authenticated caller")
	}
	f := store.AuditFilter{RecordID: req.GetRecordId(), Subject: req.GetSubject()}
	switch {
	case p.HasRole(auth.RoleAdmin):
		f.All = true
	case p.HasRole(auth.RoleDistrictAdmin) && p.Territory != "":
		t := s.territoryScope(p.Territory)
		f.Districts, f.Municipalities, f.MunicipalityPrefixes = t.Districts, t.Municipalities, t.MunicipalityPrefixes
	default:
		return nil, grpcerr.PermissionDenied("the audit log is for district admins of a territory and admins")
	}
	query := pagetoken.Query("audit", req.GetRecordId(), req.GetSubject())
	cur, err := decodeToken(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	if cur != "" {
		if f.After, err = strconv.ParseInt(cur, 10, 64); err != nil {
			return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "page_token", Description: "not a token of this query"})
		}
	}
	size := pageSize(req.GetPageSize())
	f.Limit = size + 1
	evs, err := s.store.ListAuditEvents(ctx, f)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	resp := &casesv1.ListAuditEventsResponse{Events: evs}
	if len(evs) > size {
		resp.Events = evs[:size]
		resp.NextPageToken = pagetoken.Encode(query, strconv.FormatInt(evs[size-1].GetId(), 10))
	}
	return resp, nil
}
