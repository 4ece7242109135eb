// Package store is the housing service's repository interface. Its one implementation,
// sqlcore, runs the same SQL on PostgreSQL and on the embedded SQLite store; both must
// pass storetest.Run.
//
// Every method takes the Actor (who calls, through which method) and, for records that
// exist, the Scope (what the caller may reach); a record outside the scope is not found.
// Reads and writes of owners, homes (their address), housing requests and tenancies
// append to the audit log: writes in their transaction, reads after reading and before
// returning.
//
// The workflow's state machines are checked inside the write transactions, on the rows
// as they are when the transaction writes (a version-checked UPDATE; a write that lost a
// race re-reads and is checked again), and backed by unique partial indexes on both
// stores: one running tenancy per home, one tenancy per request, one accepted proposal
// per home and per request, one live request per case.
package store

import (
	"context"
	"slices"
	"strings"

	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
)

// Errors a Store returns, wrapped or as *storage.Error.
var (
	// ErrNotFound: no such record within the caller's scope.
	ErrNotFound = storage.ErrNotFound
	// ErrAlreadyExists: the id is taken, or the case already has a live request.
	ErrAlreadyExists = storage.ErrAlreadyExists
	// ErrConflict: a stale etag.
	ErrConflict = storage.ErrConflict
	// ErrFailedPrecondition: the step is not allowed in the records' states.
	ErrFailedPrecondition = storage.ErrFailedPrecondition
)

// Change-log topics. Payloads are the records as protojson without personal data
// (Redact*).
const (
	TopicOwner       = "owner"
	TopicHome        = "home"
	TopicRequest     = "housing_request"
	TopicProposal    = "proposal"
	TopicViewing     = "viewing"
	TopicTenancy     = "tenancy"
	TopicTenancyStep = "tenancy_event"
)

// Audit actions and record types.
const (
	ActionRead   = "read"
	ActionCreate = "create"
	ActionUpdate = "update"

	RecordOwner   = "owner"
	RecordHome    = "home"
	RecordRequest = "housing_request"
	RecordTenancy = "tenancy"
	RecordFeed    = "housing_feed"
)

// Actor is who is calling and through which method: what the audit log records.
type Actor struct {
	Subject      string
	Organization string
	Method       string
}

// Scope is what a caller may reach. The desk part (All, Districts, MunicipalityPrefixes)
// reaches the homes, proposals, viewings, tenancies and requests of those districts or of
// the municipalities with those code prefixes, and the owners of those districts or
// registered by DeskOrganization; Organization (a partner) reaches the requests it
// opened. The zero Scope reaches nothing.
type Scope struct {
	All                  bool
	Districts            []string
	MunicipalityPrefixes []string
	DeskOrganization     string
	Organization         string
}

// Desk reports whether s has a desk part.
func (s Scope) Desk() bool {
	return s.All || len(s.Districts) > 0 || len(s.MunicipalityPrefixes) > 0
}

// CoversPlace reports whether the desk part of s reaches district or municipality.
func (s Scope) CoversPlace(district, municipality string) bool {
	if s.All || (district != "" && slices.Contains(s.Districts, district)) {
		return true
	}
	for _, p := range s.MunicipalityPrefixes {
		if p != "" && strings.HasPrefix(municipality, p) {
			return true
		}
	}
	return false
}

// CoversRequest reports whether s reaches r.
func (s Scope) CoversRequest(r *housingv1.HousingRequest) bool {
	return s.CoversPlace(r.GetDistrictCode(), r.GetMunicipalityCode()) ||
		(s.Organization != "" && r.GetOrganizationId() == s.Organization)
}

// ListFilter selects records for the List methods, in id order.
type ListFilter struct {
	After  string
	Limit  int
	Status int32  // the record's status enum; 0 any
	Owner  string // homes: of this owner
	Case   string // requests: of this case
	Home   string // proposals: of this home
	Req    string // proposals: of this request
	Prop   string // viewings: of this proposal
}

// Mutator functions compute a record's next state from its current one; their error is
// returned as is and nothing is written.
type (
	OwnerMutator   func(cur *housingv1.Owner) (*housingv1.Owner, error)
	HomeMutator    func(cur *housingv1.Home) (*housingv1.Home, error)
	RequestMutator func(cur *housingv1.HousingRequest) (*housingv1.HousingRequest, error)
)

// Matchable is what the matching read model starts from: the log position it was read
// at and the available homes and open requests.
type Matchable struct {
	Head     int64
	Homes    []*housingv1.Home
	Requests []*housingv1.HousingRequest
}

// Store keeps the housing desk's records and its audit log.
type Store interface {
	// CreateOwner stores o (id generated when empty) at version 1; ErrAlreadyExists if
	// the id is taken.
	CreateOwner(ctx context.Context, a Actor, o *housingv1.Owner) (*housingv1.Owner, error)
	// GetOwner returns an owner within s, else ErrNotFound.
	GetOwner(ctx context.Context, a Actor, s Scope, id string) (*housingv1.Owner, error)
	// ListOwners returns the owners within s that pass f.
	ListOwners(ctx context.Context, a Actor, s Scope, f ListFilter) ([]*housingv1.Owner, error)
	// UpdateOwner replaces an owner within s by fn's result, with version + 1.
	UpdateOwner(ctx context.Context, a Actor, s Scope, id string, fn OwnerMutator) (*housingv1.Owner, error)

	// CreateHome stores h as available; its owner must be within s (else a
	// FailedPrecondition on home.owner_id); an empty district is the owner's.
	CreateHome(ctx context.Context, a Actor, s Scope, h *housingv1.Home) (*housingv1.Home, error)
	// GetHome returns a home within s, else ErrNotFound.
	GetHome(ctx context.Context, a Actor, s Scope, id string) (*housingv1.Home, error)
	// ListHomes returns the homes within s that pass f.
	ListHomes(ctx context.Context, a Actor, s Scope, f ListFilter) ([]*housingv1.Home, error)
	// UpdateHome replaces a home within s by fn's result (status and owner kept).
	UpdateHome(ctx context.Context, a Actor, s Scope, id string, fn HomeMutator) (*housingv1.Home, error)
	// WithdrawHome withdraws an available home and supersedes its live proposals;
	// FailedPrecondition in any other status, ErrConflict for a stale non-empty etag.
	WithdrawHome(ctx context.Context, a Actor, s Scope, id, etag string) (*housingv1.Home, error)

	// CreateRequest stores r as open; ErrAlreadyExists when its case has another open or
	// matched request.
	CreateRequest(ctx context.Context, a Actor, r *housingv1.HousingRequest) (*housingv1.HousingRequest, error)
	// GetRequest returns a request within s, else ErrNotFound.
	GetRequest(ctx context.Context, a Actor, s Scope, id string) (*housingv1.HousingRequest, error)
	// ListRequests returns the requests within s that pass f.
	ListRequests(ctx context.Context, a Actor, s Scope, f ListFilter) ([]*housingv1.HousingRequest, error)
	// UpdateRequest replaces a request within s by fn's result (status, case kept).
	UpdateRequest(ctx context.Context, a Actor, s Scope, id string, fn RequestMutator) (*housingv1.HousingRequest, error)
	// CloseRequest closes an open or matched request with reason and supersedes its live
	// proposals (releasing a reserved home); FailedPrecondition otherwise.
	CloseRequest(ctx context.Context, a Actor, s Scope, id string, reason housingv1.CloseReason, etag string) (*housingv1.HousingRequest, error)

	// CreateProposal proposes an available home within s to an open request within s;
	// FailedPrecondition otherwise, or when the pair already has a live proposal.
	CreateProposal(ctx context.Context, a Actor, s Scope, p *housingv1.Proposal) (*housingv1.Proposal, error)
	// GetProposal returns a proposal whose home is within s.
	GetProposal(ctx context.Context, a Actor, s Scope, id string) (*housingv1.Proposal, error)
	// ListProposals returns the proposals within s that pass f.
	ListProposals(ctx context.Context, a Actor, s Scope, f ListFilter) ([]*housingv1.Proposal, error)
	// DeclineProposal declines a proposed or accepted proposal (releasing the home and
	// the request it held).
	DeclineProposal(ctx context.Context, a Actor, s Scope, id string, by housingv1.Party) (*housingv1.Proposal, error)
	// SignContract signs a proposed or accepted proposal: the home becomes let, the
	// request housed, a running tenancy is stored, the other live proposals of the home
	// and of the request are superseded. FailedPrecondition when the home is not
	// available (or reserved for this proposal) or the request not open (or matched by
	// it), also when a concurrent signing won.
	SignContract(ctx context.Context, a Actor, s Scope, id string, c *housingv1.Contract, g *housingv1.GuaranteeFund, today string) (*housingv1.Tenancy, error)

	// CreateViewing schedules a viewing of a live proposal within s.
	CreateViewing(ctx context.Context, a Actor, s Scope, v *housingv1.Viewing) (*housingv1.Viewing, error)
	// ListViewings returns the viewings within s that pass f.
	ListViewings(ctx context.Context, a Actor, s Scope, f ListFilter) ([]*housingv1.Viewing, error)
	// RecordViewingOutcome records a scheduled viewing's outcome and applies it to the
	// proposal (accepted: reserve the home and match the request; declined: decline).
	RecordViewingOutcome(ctx context.Context, a Actor, s Scope, id string, o housingv1.ViewingOutcome) (*housingv1.Viewing, error)

	// GetTenancy returns a tenancy within s with its events.
	GetTenancy(ctx context.Context, a Actor, s Scope, id string) (*housingv1.Tenancy, error)
	// ListTenancies returns the tenancies within s that pass f, without events.
	ListTenancies(ctx context.Context, a Actor, s Scope, f ListFilter) ([]*housingv1.Tenancy, error)
	// AddTenancyEvent records ev on a running tenancy within s; a guarantee payment
	// beyond the fund's cap, or without a fund, is a FailedPrecondition.
	AddTenancyEvent(ctx context.Context, a Actor, s Scope, tenancyID string, ev *housingv1.TenancyEvent) (*housingv1.TenancyEvent, error)
	// EndTenancy ends a running tenancy: the home is available again, or withdrawn.
	EndTenancy(ctx context.Context, a Actor, s Scope, id, endDate string, reason housingv1.EndReason, withdraw bool) (*housingv1.Tenancy, error)

	// Matchable reads the available homes and open requests with the log position.
	Matchable(ctx context.Context) (Matchable, error)
	// RecordAudit appends an audit entry not tied to one record (feed reads).
	RecordAudit(ctx context.Context, a Actor, action, recordType, recordID string) error
	// AuditCount counts the audit entries of a record with an action, for tests and checks.
	AuditCount(ctx context.Context, recordID, action string) (int, error)

	// Changes is the housing change feed.
	Changes() changelog.Feed
	// Ready returns nil when the store is reachable and its schema is current.
	Ready(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}
