// Package storetest is the conformance suite every housing store runs (Run): the
// records, the scopes, the audit log, the state machines of the workflow, the change
// feed's boundary and the guarantee that a home is never let twice nor a household
// housed twice under concurrent signings.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"

	"github.com/ponte-network/ponte/services/housing/store"
)

// Run runs the suite; newStore returns an empty store, closed by the test's cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("records", func(t *testing.T) { t.Parallel(); testRecords(t, newStore(t)) })
	t.Run("scopes", func(t *testing.T) { t.Parallel(); testScopes(t, newStore(t)) })
	t.Run("workflow", func(t *testing.T) { t.Parallel(); testWorkflow(t, newStore(t)) })
	t.Run("invalid steps", func(t *testing.T) { t.Parallel(); testInvalidSteps(t, newStore(t)) })
	t.Run("tenancy", func(t *testing.T) { t.Parallel(); testTenancy(t, newStore(t)) })
	t.Run("concurrent signings of one home", func(t *testing.T) { t.Parallel(); testRaceHome(t, newStore(t)) })
	t.Run("concurrent signings for one household", func(t *testing.T) { t.Parallel(); testRaceRequest(t, newStore(t)) })
	t.Run("feed carries no personal data", func(t *testing.T) { t.Parallel(); testFeed(t, newStore(t)) })
}

const (
	district      = "ambito-cremasco"
	otherDistrict = "ambito-cremonese"
	crema         = "019035"
	cremona       = "019036"
	ownerName     = "Giuseppina Verdi-Fittizia"
	ownerEmail    = "g.verdi@example.invalid"
	address       = "Via dei Tigli 17, interno 4"
	caseSecret    = "case-7a1f-secret"
	noteSecret    = "parla solo arabo, figlio disabile"
)

var (
	desk      = store.Scope{Districts: []string{district}, DeskOrganization: "comune-crema"}
	otherDesk = store.Scope{Districts: []string{otherDistrict}, DeskOrganization: "comune-cremona"}
	actor     = store.Actor{Subject: "op-1", Organization: "comune-crema", Method: "/ponte.housing.v1.HousingService/Test"}
)

func ctx(t *testing.T) context.Context { return t.Context() }

// must returns v, or panics on err: Go cannot pass a (value, error) pair beside t, and a
// panic fails the run with the line that failed.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}

func wantKind(t *testing.T, err, kind error, about string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want %v", about, err, kind)
	}
}

func newOwner(t *testing.T, st store.Store, districtCode string) *housingv1.Owner {
	t.Helper()
	return must(st.CreateOwner(ctx(t), actor, &housingv1.Owner{
		DisplayName: ownerName, Email: ownerEmail, Consent: true, ConsentTime: timestamppb.Now(),
		ReachedVia: housingv1.ReachChannel_REACH_CHANNEL_MUNICIPALITY, OrganizationId: "comune-crema", DistrictCode: districtCode,
		Notes: noteSecret,
	}))
}

func newHome(t *testing.T, st store.Store, s store.Scope, owner string, municipality string) *housingv1.Home {
	t.Helper()
	return must(st.CreateHome(ctx(t), actor, s, &housingv1.Home{
		OwnerId: owner, MunicipalityCode: municipality, Address: address, Bedrooms: 2, FloorAreaM2: 70,
		RentCents: 45000, ChargesCents: 5000, AvailableFrom: "2026-11-01", Notes: noteSecret,
		ContractTypes:  []housingv1.ContractType{housingv1.ContractType_CONTRACT_TYPE_AGREED_3_2, housingv1.ContractType_CONTRACT_TYPE_FREE_4_4},
		OrganizationId: "comune-crema",
	}))
}

func newRequest(t *testing.T, st store.Store, caseID, districtCode string) *housingv1.HousingRequest {
	t.Helper()
	return must(st.CreateRequest(ctx(t), actor, &housingv1.HousingRequest{
		CaseId: caseID, Household: &housingv1.Household{Adults: 2, Children: 1}, MaxRentCents: 70000,
		PreferredMunicipalities: []string{crema}, MunicipalityCode: crema, DistrictCode: districtCode,
		ContractTypes: []housingv1.ContractType{housingv1.ContractType_CONTRACT_TYPE_AGREED_3_2}, OrganizationId: "comune-crema",
		Notes: noteSecret,
	}))
}

func contract() *housingv1.Contract {
	return &housingv1.Contract{Type: housingv1.ContractType_CONTRACT_TYPE_AGREED_3_2, StartDate: "2026-12-15", RentCents: 45000, ChargesCents: 5000}
}

func propose(t *testing.T, st store.Store, req, home string) *housingv1.Proposal {
	t.Helper()
	return must(st.CreateProposal(ctx(t), actor, desk, &housingv1.Proposal{HousingRequestId: req, HomeId: home}))
}

func homeStatus(t *testing.T, st store.Store, id string) housingv1.HomeStatus {
	t.Helper()
	return must(st.GetHome(ctx(t), actor, store.Scope{All: true}, id)).GetStatus()
}

func requestStatus(t *testing.T, st store.Store, id string) housingv1.RequestStatus {
	t.Helper()
	return must(st.GetRequest(ctx(t), actor, store.Scope{All: true}, id)).GetStatus()
}

func proposalStatus(t *testing.T, st store.Store, id string) housingv1.ProposalStatus {
	t.Helper()
	return must(st.GetProposal(ctx(t), actor, store.Scope{All: true}, id)).GetStatus()
}

func testRecords(t *testing.T, st store.Store) {
	o := newOwner(t, st, district)
	if o.Version != 1 || o.Etag != "1" || o.EngagementStatus != housingv1.EngagementStatus_ENGAGEMENT_STATUS_CONTACTED {
		t.Errorf("new owner = %+v", o)
	}
	_, err := st.CreateOwner(ctx(t), actor, &housingv1.Owner{Id: o.Id, DisplayName: "x", Consent: true, ConsentTime: timestamppb.Now()})
	wantKind(t, err, store.ErrAlreadyExists, "an owner with a taken id")

	h := newHome(t, st, desk, o.Id, crema)
	if h.Status != housingv1.HomeStatus_HOME_STATUS_AVAILABLE || h.DistrictCode != district {
		t.Errorf("a new home is available in its owner's district: %+v", h)
	}
	got := must(st.GetHome(ctx(t), actor, desk, h.Id))
	if got.Address != address || got.Version != 1 {
		t.Errorf("home read back = %+v", got)
	}
	up := must(st.UpdateHome(ctx(t), actor, desk, h.Id, func(cur *housingv1.Home) (*housingv1.Home, error) {
		cur.RentCents = 43000
		cur.Status = housingv1.HomeStatus_HOME_STATUS_LET // ignored: status moves by the workflow only
		return cur, nil
	}))
	if up.RentCents != 43000 || up.Version != 2 || up.Status != housingv1.HomeStatus_HOME_STATUS_AVAILABLE {
		t.Errorf("updated home = %+v", up)
	}
	_, err = st.CreateHome(ctx(t), actor, desk, &housingv1.Home{OwnerId: "nobody", MunicipalityCode: crema, Address: "x", RentCents: 1, FloorAreaM2: 30,
		AvailableFrom: "2026-01-01", ContractTypes: []housingv1.ContractType{1}})
	wantKind(t, err, store.ErrFailedPrecondition, "a home of an unknown owner")

	r := newRequest(t, st, "case-1", district)
	if r.Status != housingv1.RequestStatus_REQUEST_STATUS_OPEN {
		t.Errorf("a new request is open: %+v", r)
	}
	_, err = st.CreateRequest(ctx(t), actor, &housingv1.HousingRequest{CaseId: "case-1", Household: &housingv1.Household{Adults: 1},
		MaxRentCents: 1, MunicipalityCode: crema, DistrictCode: district, ContractTypes: []housingv1.ContractType{1}})
	wantKind(t, err, store.ErrAlreadyExists, "a second live request for one case")

	hs := must(st.ListHomes(ctx(t), actor, desk, store.ListFilter{Status: int32(housingv1.HomeStatus_HOME_STATUS_AVAILABLE)}))
	if len(hs) != 1 {
		t.Errorf("available homes = %d, want 1", len(hs))
	}
	if n := must(st.AuditCount(ctx(t), h.Id, store.ActionRead)); n != 2 {
		t.Errorf("home reads audited = %d, want 2 (a get and a list)", n)
	}
	if n := must(st.AuditCount(ctx(t), o.Id, store.ActionCreate)); n != 1 {
		t.Errorf("owner creation audited = %d, want 1", n)
	}
	m := must(st.Matchable(ctx(t)))
	if len(m.Homes) != 1 || len(m.Requests) != 1 || m.Head == 0 {
		t.Errorf("matchable = %d homes, %d requests, head %d", len(m.Homes), len(m.Requests), m.Head)
	}
}

func testScopes(t *testing.T, st store.Store) {
	o := newOwner(t, st, district)
	h := newHome(t, st, desk, o.Id, crema)
	r := newRequest(t, st, "case-1", district)
	tests := []struct {
		name string
		call func() error
	}{
		{"another district's desk cannot read the owner", func() error { _, err := st.GetOwner(ctx(t), actor, otherDesk, o.Id); return err }},
		{"another district's desk cannot read the home", func() error { _, err := st.GetHome(ctx(t), actor, otherDesk, h.Id); return err }},
		{"another district's desk cannot read the request", func() error { _, err := st.GetRequest(ctx(t), actor, otherDesk, r.Id); return err }},
		{"another district's desk cannot update the home", func() error {
			_, err := st.UpdateHome(ctx(t), actor, otherDesk, h.Id, func(c *housingv1.Home) (*housingv1.Home, error) { return c, nil })
			return err
		}},
		{"another district's desk cannot propose the home", func() error {
			_, err := st.CreateProposal(ctx(t), actor, otherDesk, &housingv1.Proposal{HousingRequestId: r.Id, HomeId: h.Id})
			return err
		}},
		{"a partner of another organization cannot read the request", func() error {
			_, err := st.GetRequest(ctx(t), actor, store.Scope{Organization: "caritas"}, r.Id)
			return err
		}},
		{"a partner cannot read homes", func() error {
			_, err := st.GetHome(ctx(t), actor, store.Scope{Organization: "comune-crema"}, h.Id)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantKind(t, tt.call(), store.ErrNotFound, tt.name) })
	}
	if _, err := st.GetRequest(ctx(t), actor, store.Scope{Organization: "comune-crema"}, r.Id); err != nil {
		t.Errorf("the partner that opened the request cannot read it: %v", err)
	}
	if _, err := st.GetHome(ctx(t), actor, store.Scope{MunicipalityPrefixes: []string{"019"}}, h.Id); err != nil {
		t.Errorf("a desk of the province cannot read a home of its municipality: %v", err)
	}
	if hs := must(st.ListHomes(ctx(t), actor, otherDesk, store.ListFilter{})); len(hs) != 0 {
		t.Errorf("another district lists %d homes", len(hs))
	}
	_, err := st.CreateHome(ctx(t), actor, otherDesk, &housingv1.Home{OwnerId: o.Id, MunicipalityCode: cremona, Address: "x", RentCents: 1,
		FloorAreaM2: 30, AvailableFrom: "2026-01-01", ContractTypes: []housingv1.ContractType{1}})
	wantKind(t, err, store.ErrFailedPrecondition, "another district registering a home of an owner it cannot see")
}

func testWorkflow(t *testing.T, st store.Store) {
	o := newOwner(t, st, district)
	h := newHome(t, st, desk, o.Id, crema)
	h2 := newHome(t, st, desk, o.Id, crema)
	r := newRequest(t, st, "case-1", district)
	r2 := newRequest(t, st, "case-2", district)
	p := propose(t, st, r.Id, h.Id)
	pOtherHome := propose(t, st, r.Id, h2.Id)
	pOtherReq := propose(t, st, r2.Id, h.Id)
	if p.Status != housingv1.ProposalStatus_PROPOSAL_STATUS_PROPOSED {
		t.Fatalf("new proposal = %v", p.Status)
	}
	_, err := st.CreateProposal(ctx(t), actor, desk, &housingv1.Proposal{HousingRequestId: r.Id, HomeId: h.Id})
	wantKind(t, err, store.ErrFailedPrecondition, "proposing the same home to the same request twice")

	v := must(st.CreateViewing(ctx(t), actor, desk, &housingv1.Viewing{ProposalId: p.Id, StartTime: timestamppb.New(time.Now().Add(48 * time.Hour))}))
	v = must(st.RecordViewingOutcome(ctx(t), actor, desk, v.Id, housingv1.ViewingOutcome_VIEWING_OUTCOME_BOTH_INTERESTED))
	if v.Status != housingv1.ViewingStatus_VIEWING_STATUS_DONE {
		t.Errorf("viewing = %v", v.Status)
	}
	if s := homeStatus(t, st, h.Id); s != housingv1.HomeStatus_HOME_STATUS_RESERVED {
		t.Errorf("after both were interested the home is %v, want reserved", s)
	}
	if s := requestStatus(t, st, r.Id); s != housingv1.RequestStatus_REQUEST_STATUS_MATCHED {
		t.Errorf("after both were interested the request is %v, want matched", s)
	}
	_, err = st.SignContract(ctx(t), actor, desk, pOtherReq.Id, contract(), nil, "2026-12-01")
	wantKind(t, err, store.ErrFailedPrecondition, "signing another household's proposal of a reserved home")

	ten := must(st.SignContract(ctx(t), actor, desk, p.Id, contract(), &housingv1.GuaranteeFund{Fund: "crema-fondo", CapCents: 300000}, "2026-12-01"))
	if ten.Status != housingv1.TenancyStatus_TENANCY_STATUS_RUNNING || ten.HomeId != h.Id || ten.HousingRequestId != r.Id || ten.MunicipalityCode != crema {
		t.Errorf("tenancy = %+v", ten)
	}
	for _, c := range []struct {
		name string
		got  fmt.Stringer
		want fmt.Stringer
	}{
		{"the home is let", homeStatus(t, st, h.Id), housingv1.HomeStatus_HOME_STATUS_LET},
		{"the request is housed", requestStatus(t, st, r.Id), housingv1.RequestStatus_REQUEST_STATUS_HOUSED},
		{"the proposal is signed", proposalStatus(t, st, p.Id), housingv1.ProposalStatus_PROPOSAL_STATUS_SIGNED},
		{"the household's other proposal is superseded", proposalStatus(t, st, pOtherHome.Id), housingv1.ProposalStatus_PROPOSAL_STATUS_SUPERSEDED},
		{"the home's other proposal is superseded", proposalStatus(t, st, pOtherReq.Id), housingv1.ProposalStatus_PROPOSAL_STATUS_SUPERSEDED},
		{"the other home stays available", homeStatus(t, st, h2.Id), housingv1.HomeStatus_HOME_STATUS_AVAILABLE},
		{"the other request stays open", requestStatus(t, st, r2.Id), housingv1.RequestStatus_REQUEST_STATUS_OPEN},
	} {
		if c.got.String() != c.want.String() {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	m := must(st.Matchable(ctx(t)))
	for _, mh := range m.Homes {
		if mh.Id == h.Id {
			t.Error("the let home is still matchable")
		}
	}
	// Declining an accepted proposal releases the home and the request.
	p2 := propose(t, st, r2.Id, h2.Id)
	v2 := must(st.CreateViewing(ctx(t), actor, desk, &housingv1.Viewing{ProposalId: p2.Id, StartTime: timestamppb.Now()}))
	must(st.RecordViewingOutcome(ctx(t), actor, desk, v2.Id, housingv1.ViewingOutcome_VIEWING_OUTCOME_BOTH_INTERESTED))
	d := must(st.DeclineProposal(ctx(t), actor, desk, p2.Id, housingv1.Party_PARTY_OWNER))
	if d.Status != housingv1.ProposalStatus_PROPOSAL_STATUS_DECLINED || d.DeclinedBy != housingv1.Party_PARTY_OWNER {
		t.Errorf("declined proposal = %+v", d)
	}
	if homeStatus(t, st, h2.Id) != housingv1.HomeStatus_HOME_STATUS_AVAILABLE || requestStatus(t, st, r2.Id) != housingv1.RequestStatus_REQUEST_STATUS_OPEN {
		t.Error("declining an accepted proposal did not release the home and the request")
	}
	// Closing a matched request releases its reserved home.
	p3 := propose(t, st, r2.Id, h2.Id)
	v3 := must(st.CreateViewing(ctx(t), actor, desk, &housingv1.Viewing{ProposalId: p3.Id, StartTime: timestamppb.Now()}))
	must(st.RecordViewingOutcome(ctx(t), actor, desk, v3.Id, housingv1.ViewingOutcome_VIEWING_OUTCOME_BOTH_INTERESTED))
	cl := must(st.CloseRequest(ctx(t), actor, desk, r2.Id, housingv1.CloseReason_CLOSE_REASON_FOUND_ELSEWHERE, ""))
	if cl.Status != housingv1.RequestStatus_REQUEST_STATUS_CLOSED || cl.CloseReason != housingv1.CloseReason_CLOSE_REASON_FOUND_ELSEWHERE {
		t.Errorf("closed request = %+v", cl)
	}
	if homeStatus(t, st, h2.Id) != housingv1.HomeStatus_HOME_STATUS_AVAILABLE || proposalStatus(t, st, p3.Id) != housingv1.ProposalStatus_PROPOSAL_STATUS_SUPERSEDED {
		t.Error("closing a matched request did not release its home")
	}
	// Once closed, the case may open a new request.
	newRequest(t, st, "case-2", district)
}

func testInvalidSteps(t *testing.T, st store.Store) {
	o := newOwner(t, st, district)
	h := newHome(t, st, desk, o.Id, crema)
	hw := newHome(t, st, desk, o.Id, crema)
	r := newRequest(t, st, "case-1", district)
	r2 := newRequest(t, st, "case-2", district)
	p := propose(t, st, r.Id, h.Id)
	pw := propose(t, st, r2.Id, hw.Id)
	must(st.WithdrawHome(ctx(t), actor, desk, hw.Id, ""))
	must(st.SignContract(ctx(t), actor, desk, p.Id, contract(), nil, "2026-12-01"))
	wrongType := contract()
	wrongType.Type = housingv1.ContractType_CONTRACT_TYPE_STUDENT
	h3 := newHome(t, st, desk, o.Id, crema)
	p3 := propose(t, st, r2.Id, h3.Id)
	tests := []struct {
		name string
		call func() error
		kind error
	}{
		{"a signed proposal cannot be signed again", func() error {
			_, err := st.SignContract(ctx(t), actor, desk, p.Id, contract(), nil, "2026-12-01")
			return err
		}, store.ErrFailedPrecondition},
		{"a let home cannot be proposed", func() error {
			_, err := st.CreateProposal(ctx(t), actor, desk, &housingv1.Proposal{HousingRequestId: r2.Id, HomeId: h.Id})
			return err
		}, store.ErrFailedPrecondition},
		{"a housed request cannot get proposals", func() error {
			_, err := st.CreateProposal(ctx(t), actor, desk, &housingv1.Proposal{HousingRequestId: r.Id, HomeId: h3.Id})
			return err
		}, store.ErrFailedPrecondition},
		{"a let home cannot be withdrawn", func() error { _, err := st.WithdrawHome(ctx(t), actor, desk, h.Id, ""); return err }, store.ErrFailedPrecondition},
		{"a withdrawn home's proposal was superseded and cannot be signed", func() error {
			_, err := st.SignContract(ctx(t), actor, desk, pw.Id, contract(), nil, "2026-12-01")
			return err
		}, store.ErrFailedPrecondition},
		{"a housed request cannot be closed", func() error {
			_, err := st.CloseRequest(ctx(t), actor, desk, r.Id, housingv1.CloseReason_CLOSE_REASON_OTHER, "")
			return err
		}, store.ErrFailedPrecondition},
		{"a signed proposal cannot be declined", func() error {
			_, err := st.DeclineProposal(ctx(t), actor, desk, p.Id, housingv1.Party_PARTY_HOUSEHOLD)
			return err
		}, store.ErrFailedPrecondition},
		{"a contract type the household cannot sign is refused", func() error {
			_, err := st.SignContract(ctx(t), actor, desk, p3.Id, wrongType, nil, "2026-12-01")
			return err
		}, store.ErrFailedPrecondition},
		{"a stale etag on withdrawing is a conflict", func() error { _, err := st.WithdrawHome(ctx(t), actor, desk, h3.Id, "99"); return err }, store.ErrConflict},
		{"an unknown proposal is not found", func() error {
			_, err := st.SignContract(ctx(t), actor, desk, "nope", contract(), nil, "2026-12-01")
			return err
		}, store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			wantKind(t, err, tt.kind, tt.name)
			if msg := err.Error(); strings.Contains(strings.ToLower(msg), "sql") || strings.Contains(msg, "constraint") {
				t.Errorf("the message leaks internals: %q", msg)
			}
		})
	}
	if proposalStatus(t, st, p3.Id) != housingv1.ProposalStatus_PROPOSAL_STATUS_PROPOSED || homeStatus(t, st, h3.Id) != housingv1.HomeStatus_HOME_STATUS_AVAILABLE {
		t.Error("a refused signing changed the records")
	}
}

func testTenancy(t *testing.T, st store.Store) {
	o := newOwner(t, st, district)
	h := newHome(t, st, desk, o.Id, crema)
	r := newRequest(t, st, "case-1", district)
	p := propose(t, st, r.Id, h.Id)
	ten := must(st.SignContract(ctx(t), actor, desk, p.Id, contract(), &housingv1.GuaranteeFund{Fund: "crema-fondo", CapCents: 100000}, "2026-12-01"))
	must(st.AddTenancyEvent(ctx(t), actor, desk, ten.Id, &housingv1.TenancyEvent{Kind: &housingv1.TenancyEvent_CheckIn{CheckIn: &housingv1.CheckIn{Ok: true}}}))
	must(st.AddTenancyEvent(ctx(t), actor, desk, ten.Id, &housingv1.TenancyEvent{Kind: &housingv1.TenancyEvent_Registration{Registration: &housingv1.Registration{Date: "2026-12-20"}}}))
	must(st.AddTenancyEvent(ctx(t), actor, desk, ten.Id, &housingv1.TenancyEvent{Kind: &housingv1.TenancyEvent_GuaranteePayment{GuaranteePayment: &housingv1.GuaranteePayment{AmountCents: 60000}}}))
	_, err := st.AddTenancyEvent(ctx(t), actor, desk, ten.Id, &housingv1.TenancyEvent{Kind: &housingv1.TenancyEvent_GuaranteePayment{GuaranteePayment: &housingv1.GuaranteePayment{AmountCents: 50000}}})
	wantKind(t, err, store.ErrFailedPrecondition, "a payment above the fund's cap")
	got := must(st.GetTenancy(ctx(t), actor, desk, ten.Id))
	if len(got.Events) != 3 || got.Guarantee.PaidCents != 60000 || got.Contract.RegistrationDate != "2026-12-20" || got.Events[0].Author != actor.Subject {
		t.Errorf("tenancy = %+v", got)
	}
	_, err = st.EndTenancy(ctx(t), actor, desk, ten.Id, "2026-01-01", housingv1.EndReason_END_REASON_TERM, false)
	wantKind(t, err, store.ErrFailedPrecondition, "ending before the start")
	end := must(st.EndTenancy(ctx(t), actor, desk, ten.Id, "2027-06-30", housingv1.EndReason_END_REASON_TENANT_NOTICE, false))
	if end.Status != housingv1.TenancyStatus_TENANCY_STATUS_ENDED || homeStatus(t, st, h.Id) != housingv1.HomeStatus_HOME_STATUS_AVAILABLE {
		t.Errorf("after the end: tenancy %v, home %v", end.Status, homeStatus(t, st, h.Id))
	}
	_, err = st.EndTenancy(ctx(t), actor, desk, ten.Id, "2027-06-30", housingv1.EndReason_END_REASON_TERM, false)
	wantKind(t, err, store.ErrFailedPrecondition, "ending twice")
	// The home handed back can be let again, to another household.
	r2 := newRequest(t, st, "case-2", district)
	must(st.SignContract(ctx(t), actor, desk, propose(t, st, r2.Id, h.Id).Id, contract(), nil, "2027-07-01"))
}

// race signs every proposal at once from its own goroutine and returns how many won.
func race(t *testing.T, st store.Store, ps []*housingv1.Proposal) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	start := make(chan struct{})
	for _, p := range ps {
		wg.Go(func() {
			<-start
			_, err := st.SignContract(context.WithoutCancel(ctx(t)), actor, desk, p.Id, contract(), nil, "2026-12-01")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrFailedPrecondition):
			default:
				t.Errorf("a losing signing failed with %v, want FailedPrecondition", err)
			}
		})
	}
	close(start)
	wg.Wait()
	return won
}

const racers = 12

func testRaceHome(t *testing.T, st store.Store) {
	o := newOwner(t, st, district)
	h := newHome(t, st, desk, o.Id, crema)
	var ps []*housingv1.Proposal
	for i := range racers {
		r := newRequest(t, st, fmt.Sprintf("case-%d", i), district)
		ps = append(ps, propose(t, st, r.Id, h.Id))
	}
	if won := race(t, st, ps); won != 1 {
		t.Fatalf("%d households signed for one home, want 1", won)
	}
	ts := must(st.ListTenancies(ctx(t), actor, desk, store.ListFilter{}))
	if len(ts) != 1 {
		t.Errorf("%d tenancies of one home", len(ts))
	}
	housed := must(st.ListRequests(ctx(t), actor, desk, store.ListFilter{Status: int32(housingv1.RequestStatus_REQUEST_STATUS_HOUSED)}))
	if len(housed) != 1 {
		t.Errorf("%d requests housed", len(housed))
	}
}

func testRaceRequest(t *testing.T, st store.Store) {
	o := newOwner(t, st, district)
	r := newRequest(t, st, "case-1", district)
	var ps []*housingv1.Proposal
	for range racers {
		ps = append(ps, propose(t, st, r.Id, newHome(t, st, desk, o.Id, crema).Id))
	}
	if won := race(t, st, ps); won != 1 {
		t.Fatalf("one household signed %d leases, want 1", won)
	}
	let := must(st.ListHomes(ctx(t), actor, desk, store.ListFilter{Status: int32(housingv1.HomeStatus_HOME_STATUS_LET)}))
	if len(let) != 1 {
		t.Errorf("%d homes let to one household", len(let))
	}
}

func testFeed(t *testing.T, st store.Store) {
	o := newOwner(t, st, district)
	h := newHome(t, st, desk, o.Id, crema)
	r := newRequest(t, st, caseSecret, district)
	p := propose(t, st, r.Id, h.Id)
	ten := must(st.SignContract(ctx(t), actor, desk, p.Id, contract(), nil, "2026-12-01"))
	must(st.AddTenancyEvent(ctx(t), actor, desk, ten.Id, &housingv1.TenancyEvent{Note: noteSecret,
		Kind: &housingv1.TenancyEvent_Arrears{Arrears: &housingv1.Arrears{AmountCents: 45000, Months: 1}}}))
	entries := must(st.Changes().List(ctx(t), 0, 1000))
	topics := map[string]int{}
	for _, e := range entries {
		topics[e.Topic]++
		for _, secret := range []string{ownerName, ownerEmail, address, caseSecret, noteSecret} {
			if strings.Contains(string(e.Payload), secret) {
				t.Errorf("feed entry %d (%s) carries %q: %s", e.Position, e.Topic, secret, e.Payload)
			}
		}
	}
	for _, topic := range []string{store.TopicOwner, store.TopicHome, store.TopicRequest, store.TopicProposal, store.TopicTenancy, store.TopicTenancyStep} {
		if topics[topic] == 0 {
			t.Errorf("no %s entry in the feed (%v)", topic, topics)
		}
	}
}
