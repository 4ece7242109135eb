// Package store is the cases service's repository interface. Its implementation,
// sqlcore, is one SQL core on both databases (PostgreSQL and the embedded SQLite, through
// libs/storage/sqlstore) and must pass storetest.Run on both.
//
// Every method takes the Actor (who calls, through which method) and, for records that
// already exist, the Scope (which records the caller may reach). A record outside the
// scope is reported as not found. Every read and write of a person or a case appends to
// the audit log: writes in their transaction, reads after reading and before returning,
// so no data leaves the store without its audit entry.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
)

// Errors a Store returns, wrapped or as *storage.Error.
var (
	// ErrNotFound: no such record within the caller's scope.
	ErrNotFound = storage.ErrNotFound
	// ErrAlreadyExists: the id or source + external_id is taken.
	ErrAlreadyExists = storage.ErrAlreadyExists
	// ErrConflict: a stale etag or a concurrent write.
	ErrConflict = storage.ErrConflict
	// ErrFailedPrecondition: the write is refused in the record's state.
	ErrFailedPrecondition = storage.ErrFailedPrecondition
)

// Change-log topics.
const (
	// TopicCase: key the case id; payload the case as protojson (it holds no personal
	// data), for deletes its last state.
	TopicCase = "case"
	// TopicPerson: key the person id; payload {"organizationId": ...} only.
	TopicPerson = "person"
	// TopicCaseEvent: an event was added to a case; key the case id, payload the case
	// as for TopicCase. Only the reporting projection reads these entries (it sends the
	// anonymous part of the case's events); the sync feed leaves them out, as events
	// were never part of it.
	TopicCaseEvent = "case_event"
)

// Audit actions.
const (
	// ActionRead: the record's data was returned to the caller.
	ActionRead = "read"
	// ActionCreate: the record was created.
	ActionCreate = "create"
	// ActionUpdate: the record (or, for cases, its events) was written.
	ActionUpdate = "update"
	// ActionDelete: the record was deleted (tombstoned).
	ActionDelete = "delete"
)

// Audit record types.
const (
	// RecordPerson: a person.
	RecordPerson = "person"
	// RecordCase: a case.
	RecordCase = "case"
	// RecordCaseFeed is a read of the case change feed; its record id is the range read.
	RecordCaseFeed = "case_feed"
)

// Place is where a record lies, as the audit log files it.
type Place struct {
	District, Municipality string
}

// Actor is who is calling and through which method: what the audit log records.
type Actor struct {
	Subject      string
	Organization string
	Method       string
}

// Scope is the set of cases a caller may reach: those of Organization, those of one of
// Districts, those in one of Municipalities (the municipalities of a district token's
// district, whatever district_code the case carries), and those whose municipality code
// starts with one of MunicipalityPrefixes (a province code, or a municipality code). All
// reaches everything; the zero Scope reaches nothing. A person is within the scope when
// PersonOwner registered them or a live case of theirs is.
type Scope struct {
	All                  bool
	Organization         string
	PersonOwner          string // the owner key of the persons the caller registers; also the namespace of its case keys
	Districts            []string
	Municipalities       []string
	MunicipalityPrefixes []string
}

// Covers reports whether a case owned by org in district and municipality is within s.
func (s Scope) Covers(org, district, municipality string) bool {
	if s.All || (s.Organization != "" && org == s.Organization) {
		return true
	}
	if district != "" && slices.Contains(s.Districts, district) {
		return true
	}
	if municipality != "" && slices.Contains(s.Municipalities, municipality) {
		return true
	}
	for _, p := range s.MunicipalityPrefixes {
		if p != "" && strings.HasPrefix(municipality, p) {
			return true
		}
	}
	return false
}

// CoversCase reports whether c is within s.
func (s Scope) CoversCase(c *casesv1.Case) bool {
	return s.Covers(c.GetOrganizationId(), c.GetDistrictCode(), c.GetMunicipalityCode())
}

// CaseFilter selects cases for ListCases, in id order.
type CaseFilter struct {
	Phase          casesv1.Phase
	Category       casesv1.Category
	Territory      *Scope // when set: only cases within it as well
	OrganizationID string
	PersonID       string
	UpdatedSinceUs int64 // only cases written at or after (Unix microseconds); 0: any
	After          string
	Limit          int
}

// AuditFilter selects audit events, in id order.
type AuditFilter struct {
	All                  bool     // every event (admin)
	Districts            []string // events on records of these districts
	Municipalities       []string // or of these municipalities
	MunicipalityPrefixes []string // or of municipalities with these prefixes
	RecordID             string
	Subject              string
	After                int64
	Limit                int
}

// UpsertItem is one valid item of a batch, checked and completed by the service.
type UpsertItem struct {
	Index           int32
	Case            *casesv1.Case // source and external_id set
	ExpectedVersion int32
}

// CaseMutator computes a case's next state from its current one, and optionally an event
// to record with it. Its error is returned as is and nothing is written.
type CaseMutator func(current *casesv1.Case) (*casesv1.Case, *casesv1.CaseEvent, error)

// PersonRef names a person: person ids are unique per owner (Person.organization_id).
// An empty Owner names the person with ID in the caller's own namespace
// (Scope.PersonOwner) if there is one, else the only one with ID within the caller's
// scope; several such are ErrAmbiguousPerson, naming the field "organization_id".
type PersonRef struct {
	ID    string
	Owner string
}

// ErrAmbiguousPerson is the kind of error of a PersonRef without owner that names
// several persons within reach: an invalid argument, since the caller must say which.
var ErrAmbiguousPerson = storage.ErrInvalidArgument

// PersonMutator computes a person's next state from their current one.
type PersonMutator func(current *casesv1.Person) (*casesv1.Person, error)

// Store keeps persons, cases, their events and the audit log.
type Store interface {
	// CreatePerson stores p (id generated when empty) in the namespace of its owner
	// (p.OrganizationId); ErrAlreadyExists if that owner has the id already.
	CreatePerson(ctx context.Context, a Actor, p *casesv1.Person) (*casesv1.Person, error)
	// GetPerson returns the live person within s that ref names, else ErrNotFound.
	GetPerson(ctx context.Context, a Actor, s Scope, ref PersonRef) (*casesv1.Person, error)
	// ListPersons returns the live persons within s after after, in (id, owner) order.
	ListPersons(ctx context.Context, a Actor, s Scope, after PersonRef, limit int) ([]*casesv1.Person, error)
	// UpdatePerson replaces the live person within s that ref names by fn's result, with
	// version + 1.
	UpdatePerson(ctx context.Context, a Actor, s Scope, ref PersonRef, fn PersonMutator) (*casesv1.Person, error)
	// DeletePerson erases a person's data, keeping a tombstone; ErrConflict for a stale
	// non-empty etag.
	DeletePerson(ctx context.Context, a Actor, s Scope, ref PersonRef, etag string) error

	// CreateCase stores c (id generated when empty; source "ponte" and external_id the id
	// when empty) with version 1. ErrAlreadyExists if the id or source+external_id is
	// taken; a FailedPrecondition on case.person_id if the person is not a live person
	// within s.
	CreateCase(ctx context.Context, a Actor, s Scope, c *casesv1.Case) (*casesv1.Case, error)
	// GetCase returns a live case within s, else ErrNotFound.
	GetCase(ctx context.Context, a Actor, s Scope, id string) (*casesv1.Case, error)
	// ListCases returns the live cases within s that pass f, in id order.
	ListCases(ctx context.Context, a Actor, s Scope, f CaseFilter) ([]*casesv1.Case, error)
	// UpdateCase replaces a live case within s by fn's result, with version + 1, and
	// records fn's event if any.
	UpdateCase(ctx context.Context, a Actor, s Scope, id string, fn CaseMutator) (*casesv1.Case, error)
	// DeleteCase marks a case deleted (a tombstone in the change log).
	DeleteCase(ctx context.Context, a Actor, s Scope, id, etag string) error
	// AddCaseEvent records ev on a live case within s.
	AddCaseEvent(ctx context.Context, a Actor, s Scope, caseID string, ev *casesv1.CaseEvent) (*casesv1.CaseEvent, error)
	// ListCaseEvents returns a live case's events with ids (decimal sequence numbers) above after, oldest first.
	ListCaseEvents(ctx context.Context, a Actor, s Scope, caseID string, after int64, limit int) ([]*casesv1.CaseEvent, error)
	// ReportingEvents returns the events of each named case, live or deleted, oldest
	// first, keyed by case id (a case without events is absent). Only the reporting
	// projection calls it, which keeps the anonymous part of each event.
	ReportingEvents(ctx context.Context, caseIDs []string) (map[string][]*casesv1.CaseEvent, error)
	// BatchUpsertCases creates or updates each item by source+external_id in one
	// transaction and returns one result per item, in order.
	BatchUpsertCases(ctx context.Context, a Actor, s Scope, items []UpsertItem) ([]*casesv1.CaseUpsertResult, error)

	// RecordAudit appends audit events not tied to one record (change-feed reads).
	// One event per place, so that each territory the records read lie in finds it; one
	// without place when none is given.
	RecordAudit(ctx context.Context, a Actor, action, recordType, recordID string, places ...Place) error
	// ListAuditEvents returns the audit events that pass f, oldest first.
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]*casesv1.AuditEvent, error)

	// Changes is the case change feed.
	Changes() changelog.Feed
	// Ready returns nil when the store is reachable and its schema is current.
	Ready(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// AgeBand is the age band, at time at, of a person born on birthDate (YYYY-MM-DD):
// "0-17", "18-24", "25-34", "35-49", "50-64" or "65+"; empty when birthDate is not a date.
func AgeBand(birthDate string, at time.Time) string {
	born, err := time.Parse(time.DateOnly, birthDate)
	if err != nil {
		return ""
	}
	at = at.UTC()
	age := at.Year() - born.Year()
	if at.Month() < born.Month() || at.Month() == born.Month() && at.Day() < born.Day() {
		age-- // not yet had this year's birthday
	}
	switch {
	case age < 18:
		return "0-17"
	case age < 25:
		return "18-24"
	case age < 35:
		return "25-34"
	case age < 50:
		return "35-49"
	case age < 65:
		return "50-64"
	}
	return "65+"
}

// ContentHash is the hash of what a batch upsert compares: the case without its id,
// version, etag, times and age band.
func ContentHash(c *casesv1.Case) string {
	c = &casesv1.Case{ // a shallow copy of the compared fields: cheaper than a deep clone
		PersonId: c.GetPersonId(), OrganizationId: c.GetOrganizationId(), DistrictCode: c.GetDistrictCode(),
		MunicipalityCode: c.GetMunicipalityCode(), Category: c.GetCategory(), Needs: c.GetNeeds(), Phase: c.GetPhase(),
		AssignedOperator: c.GetAssignedOperator(), Source: c.GetSource(), ExternalId: c.GetExternalId(),
	}

	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil { // a Case always marshals
		panic(err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:16])
}
