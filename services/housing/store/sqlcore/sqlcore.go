// Package sqlcore is the housing store written once for both databases (the kit of
// libs/storage/sqlstore): the same tables on PostgreSQL and SQLite, records as protojson
// documents beside the columns queries filter on, "?" placeholders.
//
// The workflow runs in write transactions that read the records, check the state
// machine and write them back with version-checked UPDATEs. On PostgreSQL two signings
// of one home race for its row: the second UPDATE waits for the first to commit, finds
// the version moved and the transaction is run again, now reading the home as let and
// refusing with FailedPrecondition. Rows are locked in one order (home, request, then
// proposals by id) so concurrent steps cannot deadlock. SQLite serialises writes. Unique
// partial indexes on both back the guarantees (see the migrations).
package sqlcore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/sqlstore"
	"github.com/ponte-network/ponte/services/housing/store"
)

// Schema is the PostgreSQL schema the housing service keeps its tables in.
const Schema = "housing"

//go:embed migrations
var migrationFiles embed.FS

// Migrations are the housing store's migrations, in the schema "housing" on PostgreSQL.
func Migrations() storage.Migrations {
	m := storage.EmbeddedMigrations(Schema, migrationFiles, "migrations")
	m.AppendOnly = []string{"audit_events"}
	return m
}

// Open opens the configured database and applies the migrations.
func Open(ctx context.Context, cfg storage.Config) (*Core, error) {
	db, err := sqlstore.Open(ctx, cfg, Migrations())
	if err != nil {
		return nil, err
	}
	return New(db), nil
}

// Migrate applies the migrations without serving.
func Migrate(ctx context.Context, cfg storage.Config) error {
	return storage.Migrate(ctx, cfg, Migrations())
}

// Core implements store.Store on a sqlstore.DB.
type Core struct {
	db sqlstore.DB
}

var _ store.Store = (*Core)(nil)

// New returns the store on db.
func New(db sqlstore.DB) *Core { return &Core{db: db} }

// Changes implements store.Store.
func (c *Core) Changes() changelog.Feed { return c.db.Feed() }

// Ready implements store.Store.
func (c *Core) Ready(ctx context.Context) error { return c.db.Ready(ctx) }

// Close implements store.Store.
func (c *Core) Close() error { return c.db.Close() }

// maxAttempts bounds how often a write that lost a race is run again.
const maxAttempts = 8

// write runs fn in a write transaction, again when a version-checked UPDATE lost a race.
func (c *Core) write(ctx context.Context, fn func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error) error {
	var err error
	for range maxAttempts {
		err = c.db.Write(ctx, fn)
		if !errors.Is(err, errRace) {
			return err
		}
	}
	return storage.Errorf(store.ErrConflict, "the records changed under too many concurrent writes: try again")
}

func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

func tail(f store.ListFilter) string {
	if f.Limit > 0 {
		return " LIMIT " + strconv.Itoa(f.Limit)
	}
	return ""
}

func failed(format string, args ...any) error {
	return storage.Errorf(store.ErrFailedPrecondition, format, args...)
}

// state names an enum value for messages: HOME_STATUS_LET → "let".
func state[E interface{ String() string }](e E, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(e.String(), prefix))
}

func homeState(s housingv1.HomeStatus) string       { return state(s, "HOME_STATUS_") }
func requestState(s housingv1.RequestStatus) string { return state(s, "REQUEST_STATUS_") }
func proposalState(s housingv1.ProposalStatus) string {
	return state(s, "PROPOSAL_STATUS_")
}

// ---------------------------------------------------------------- audit

type auditRow struct {
	action, recordType, recordID, district, municipality string
}

var auditColumns = []string{"time_us", "subject", "organization_id", "method", "action", "record_type", "record_id", "district_code", "municipality_code"}

func audit(ctx context.Context, q sqlstore.Q, a store.Actor, rows ...auditRow) error {
	if len(rows) == 0 {
		return nil
	}
	now := nowUs()
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = []any{now, a.Subject, a.Organization, a.Method, r.action, r.recordType, r.recordID, r.district, r.municipality}
	}
	if err := sqlstore.InsertRows(ctx, q, "audit_events", auditColumns, values); err != nil {
		return fmt.Errorf("append audit events: %w", err)
	}
	return nil
}

// auditRead records reads; the data is returned only once its entries committed.
func (c *Core) auditRead(ctx context.Context, a store.Actor, rows []auditRow) error {
	if len(rows) == 0 {
		return nil
	}
	return c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
		return audit(ctx, q, a, rows...)
	})
}

func ownerAudit(action string, o *housingv1.Owner) auditRow {
	return auditRow{action, store.RecordOwner, o.GetId(), o.GetDistrictCode(), ""}
}

func homeAudit(action string, h *housingv1.Home) auditRow {
	return auditRow{action, store.RecordHome, h.GetId(), h.GetDistrictCode(), h.GetMunicipalityCode()}
}

func requestAudit(action string, r *housingv1.HousingRequest) auditRow {
	return auditRow{action, store.RecordRequest, r.GetId(), r.GetDistrictCode(), r.GetMunicipalityCode()}
}

func tenancyAudit(action string, t *housingv1.Tenancy) auditRow {
	return auditRow{action, store.RecordTenancy, t.GetId(), t.GetDistrictCode(), t.GetMunicipalityCode()}
}

func auditAll[T any](action string, recs []T, row func(string, T) auditRow) []auditRow {
	out := make([]auditRow, len(recs))
	for i, r := range recs {
		out[i] = row(action, r)
	}
	return out
}

// RecordAudit implements store.Store.
func (c *Core) RecordAudit(ctx context.Context, a store.Actor, action, recordType, recordID string) error {
	return c.auditRead(ctx, a, []auditRow{{action: action, recordType: recordType, recordID: recordID}})
}

// AuditCount implements store.Store.
func (c *Core) AuditCount(ctx context.Context, recordID, action string) (int, error) {
	n := 0
	err := c.db.Read().Query(ctx, `SELECT COUNT(*) FROM audit_events WHERE record_id = ? AND action = ?`, []any{recordID, action},
		func(scan func(...any) error) error { return scan(&n) })
	if err != nil {
		return 0, fmt.Errorf("count audit events: %w", err)
	}
	return n, nil
}

// ---------------------------------------------------------------- owners

// CreateOwner implements store.Store.
func (c *Core) CreateOwner(ctx context.Context, a store.Actor, o *housingv1.Owner) (*housingv1.Owner, error) {
	if o.Id == "" {
		o.Id = newID()
	}
	if o.EngagementStatus == housingv1.EngagementStatus_ENGAGEMENT_STATUS_UNSPECIFIED {
		o.EngagementStatus = housingv1.EngagementStatus_ENGAGEMENT_STATUS_CONTACTED
	}
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		if err := owners.insert(ctx, q, log, o, nowUs()); err != nil {
			if errors.Is(err, sqlstore.ErrUnique) {
				return storage.FieldErrorf(store.ErrAlreadyExists, "owner.id", "owner %s already exists", o.Id)
			}
			return fmt.Errorf("insert owner: %w", err)
		}
		return audit(ctx, q, a, ownerAudit(store.ActionCreate, o))
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// GetOwner implements store.Store.
func (c *Core) GetOwner(ctx context.Context, a store.Actor, s store.Scope, id string) (*housingv1.Owner, error) {
	o, err := owners.get(ctx, c.db.Read(), &s, id)
	if err != nil {
		return nil, err
	}
	return o, c.auditRead(ctx, a, []auditRow{ownerAudit(store.ActionRead, o)})
}

// ListOwners implements store.Store.
func (c *Core) ListOwners(ctx context.Context, a store.Actor, s store.Scope, f store.ListFilter) ([]*housingv1.Owner, error) {
	os, err := owners.list(ctx, c.db.Read(), &s, "r.id > ?", []any{f.After}, tail(f))
	if err != nil {
		return nil, err
	}
	return os, c.auditRead(ctx, a, auditAll(store.ActionRead, os, ownerAudit))
}

// UpdateOwner implements store.Store.
func (c *Core) UpdateOwner(ctx context.Context, a store.Actor, s store.Scope, id string, fn store.OwnerMutator) (*housingv1.Owner, error) {
	var out *housingv1.Owner
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		cur, err := owners.get(ctx, q, &s, id)
		if err != nil {
			return err
		}
		next, err := fn(proto.CloneOf(cur))
		if err != nil {
			return err
		}
		next.Id, next.OrganizationId = cur.Id, cur.OrganizationId
		if err := owners.update(ctx, q, log, next, cur.Version, cur.CreateTime, nowUs()); err != nil {
			return err
		}
		out = next
		return audit(ctx, q, a, ownerAudit(store.ActionUpdate, next))
	})
	return out, err
}

// ---------------------------------------------------------------- homes

// CreateHome implements store.Store.
func (c *Core) CreateHome(ctx context.Context, a store.Actor, s store.Scope, h *housingv1.Home) (*housingv1.Home, error) {
	if h.Id == "" {
		h.Id = newID()
	}
	h.Status = housingv1.HomeStatus_HOME_STATUS_AVAILABLE
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		o, err := owners.get(ctx, q, &s, h.OwnerId)
		if errors.Is(err, store.ErrNotFound) {
			return storage.FieldErrorf(store.ErrFailedPrecondition, "home.owner_id", "owner %s not found", h.OwnerId)
		}
		if err != nil {
			return err
		}
		if h.DistrictCode == "" {
			h.DistrictCode = o.DistrictCode
		}
		if !s.CoversPlace(h.DistrictCode, h.MunicipalityCode) {
			return storage.Errorf(store.ErrFailedPrecondition, "you may not register homes of district %q, municipality %s", h.DistrictCode, h.MunicipalityCode)
		}
		if err := homes.insert(ctx, q, log, h, nowUs()); err != nil {
			if errors.Is(err, sqlstore.ErrUnique) {
				return storage.FieldErrorf(store.ErrAlreadyExists, "home.id", "home %s already exists", h.Id)
			}
			return fmt.Errorf("insert home: %w", err)
		}
		return audit(ctx, q, a, homeAudit(store.ActionCreate, h))
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// GetHome implements store.Store.
func (c *Core) GetHome(ctx context.Context, a store.Actor, s store.Scope, id string) (*housingv1.Home, error) {
	h, err := homes.get(ctx, c.db.Read(), &s, id)
	if err != nil {
		return nil, err
	}
	return h, c.auditRead(ctx, a, []auditRow{homeAudit(store.ActionRead, h)})
}

// ListHomes implements store.Store.
func (c *Core) ListHomes(ctx context.Context, a store.Actor, s store.Scope, f store.ListFilter) ([]*housingv1.Home, error) {
	where, args := "r.id > ?", []any{f.After}
	if f.Status != 0 {
		where += " AND r.status = ?"
		args = append(args, f.Status)
	}
	if f.Owner != "" {
		where += " AND r.owner_id = ?"
		args = append(args, f.Owner)
	}
	hs, err := homes.list(ctx, c.db.Read(), &s, where, args, tail(f))
	if err != nil {
		return nil, err
	}
	return hs, c.auditRead(ctx, a, auditAll(store.ActionRead, hs, homeAudit))
}

// UpdateHome implements store.Store.
func (c *Core) UpdateHome(ctx context.Context, a store.Actor, s store.Scope, id string, fn store.HomeMutator) (*housingv1.Home, error) {
	var out *housingv1.Home
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		cur, err := homes.get(ctx, q, &s, id)
		if err != nil {
			return err
		}
		next, err := fn(proto.CloneOf(cur))
		if err != nil {
			return err
		}
		next.Id, next.OwnerId, next.OrganizationId, next.Status = cur.Id, cur.OwnerId, cur.OrganizationId, cur.Status
		if !s.CoversPlace(next.DistrictCode, next.MunicipalityCode) {
			return storage.Errorf(store.ErrFailedPrecondition, "you may not move a home to district %q, municipality %s", next.DistrictCode, next.MunicipalityCode)
		}
		if err := homes.update(ctx, q, log, next, cur.Version, cur.CreateTime, nowUs()); err != nil {
			return err
		}
		out = next
		return audit(ctx, q, a, homeAudit(store.ActionUpdate, next))
	})
	return out, err
}

// WithdrawHome implements store.Store.
func (c *Core) WithdrawHome(ctx context.Context, a store.Actor, s store.Scope, id, etag string) (*housingv1.Home, error) {
	var out *housingv1.Home
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		h, err := homes.get(ctx, q, &s, id)
		if err != nil {
			return err
		}
		if etag != "" && etag != h.Etag {
			return storage.FieldErrorf(store.ErrConflict, "etag", "home %s is at version %s, not %s", id, h.Etag, etag)
		}
		if h.Status != housingv1.HomeStatus_HOME_STATUS_AVAILABLE {
			return failed("home %s is %s: only an available home can be withdrawn (decline its accepted proposal, or end its tenancy)", id, homeState(h.Status))
		}
		now := nowUs()
		prev := h.Version
		h.Status = housingv1.HomeStatus_HOME_STATUS_WITHDRAWN
		if err := homes.update(ctx, q, log, h, prev, h.CreateTime, now); err != nil {
			return err
		}
		if err := c.supersede(ctx, q, log, "r.home_id = ?", id, "", now); err != nil {
			return err
		}
		out = h
		return audit(ctx, q, a, homeAudit(store.ActionUpdate, h))
	})
	return out, err
}

// supersede marks the live proposals passing where (but keep) superseded, in id order.
func (c *Core) supersede(ctx context.Context, q sqlstore.Q, log changelog.Appender, where string, arg any, keep string, now int64) error {
	ps, err := proposals.list(ctx, q, nil, where+" AND r.status IN (1, 2)", []any{arg}, "")
	if err != nil {
		return err
	}
	return c.supersedeAll(ctx, q, log, ps, keep, now)
}

func (c *Core) supersedeAll(ctx context.Context, q sqlstore.Q, log changelog.Appender, ps []*housingv1.Proposal, keep string, now int64) error {
	slices.SortFunc(ps, func(a, b *housingv1.Proposal) int { return strings.Compare(a.Id, b.Id) })
	for _, p := range ps {
		if p.Id == keep {
			continue
		}
		prev := p.Version
		p.Status = housingv1.ProposalStatus_PROPOSAL_STATUS_SUPERSEDED
		if err := proposals.update(ctx, q, log, p, prev, p.CreateTime, now); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------- requests

// CreateRequest implements store.Store.
func (c *Core) CreateRequest(ctx context.Context, a store.Actor, r *housingv1.HousingRequest) (*housingv1.HousingRequest, error) {
	if r.Id == "" {
		r.Id = newID()
	}
	r.Status, r.CloseReason = housingv1.RequestStatus_REQUEST_STATUS_OPEN, 0
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		if err := requests.insert(ctx, q, log, r, nowUs()); err != nil {
			if errors.Is(err, sqlstore.ErrUnique) {
				if strings.Contains(sqlstore.Constraint(err), "case") {
					return storage.FieldErrorf(store.ErrAlreadyExists, "housing_request.case_id", "case %s already has an open or matched housing request", r.CaseId)
				}
				return storage.FieldErrorf(store.ErrAlreadyExists, "housing_request.id", "housing request %s already exists", r.Id)
			}
			return fmt.Errorf("insert housing request: %w", err)
		}
		return audit(ctx, q, a, requestAudit(store.ActionCreate, r))
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// GetRequest implements store.Store.
func (c *Core) GetRequest(ctx context.Context, a store.Actor, s store.Scope, id string) (*housingv1.HousingRequest, error) {
	r, err := requests.get(ctx, c.db.Read(), &s, id)
	if err != nil {
		return nil, err
	}
	return r, c.auditRead(ctx, a, []auditRow{requestAudit(store.ActionRead, r)})
}

// ListRequests implements store.Store.
func (c *Core) ListRequests(ctx context.Context, a store.Actor, s store.Scope, f store.ListFilter) ([]*housingv1.HousingRequest, error) {
	where, args := "r.id > ?", []any{f.After}
	if f.Status != 0 {
		where += " AND r.status = ?"
		args = append(args, f.Status)
	}
	if f.Case != "" {
		where += " AND r.case_id = ?"
		args = append(args, f.Case)
	}
	rs, err := requests.list(ctx, c.db.Read(), &s, where, args, tail(f))
	if err != nil {
		return nil, err
	}
	return rs, c.auditRead(ctx, a, auditAll(store.ActionRead, rs, requestAudit))
}

// UpdateRequest implements store.Store.
func (c *Core) UpdateRequest(ctx context.Context, a store.Actor, s store.Scope, id string, fn store.RequestMutator) (*housingv1.HousingRequest, error) {
	var out *housingv1.HousingRequest
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		cur, err := requests.get(ctx, q, &s, id)
		if err != nil {
			return err
		}
		next, err := fn(proto.CloneOf(cur))
		if err != nil {
			return err
		}
		next.Id, next.CaseId, next.OrganizationId = cur.Id, cur.CaseId, cur.OrganizationId
		next.Status, next.CloseReason = cur.Status, cur.CloseReason
		if !s.CoversRequest(next) {
			return storage.Errorf(store.ErrFailedPrecondition, "you may not move a request to district %q, municipality %s", next.DistrictCode, next.MunicipalityCode)
		}
		if err := requests.update(ctx, q, log, next, cur.Version, cur.CreateTime, nowUs()); err != nil {
			return err
		}
		out = next
		return audit(ctx, q, a, requestAudit(store.ActionUpdate, next))
	})
	return out, err
}

// CloseRequest implements store.Store.
func (c *Core) CloseRequest(ctx context.Context, a store.Actor, s store.Scope, id string, reason housingv1.CloseReason, etag string) (*housingv1.HousingRequest, error) {
	var out *housingv1.HousingRequest
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		r, err := requests.get(ctx, q, &s, id)
		if err != nil {
			return err
		}
		if etag != "" && etag != r.Etag {
			return storage.FieldErrorf(store.ErrConflict, "etag", "housing request %s is at version %s, not %s", id, r.Etag, etag)
		}
		if r.Status != housingv1.RequestStatus_REQUEST_STATUS_OPEN && r.Status != housingv1.RequestStatus_REQUEST_STATUS_MATCHED {
			return failed("housing request %s is %s: only an open or matched request can be closed", id, requestState(r.Status))
		}
		live, err := proposals.list(ctx, q, nil, "r.request_id = ? AND r.status IN (1, 2)", []any{id}, "")
		if err != nil {
			return err
		}
		now := nowUs()
		// A reserved home is released first: rows are written home, request, proposals.
		for _, p := range live {
			if p.Status != housingv1.ProposalStatus_PROPOSAL_STATUS_ACCEPTED {
				continue
			}
			if err := c.setHome(ctx, q, log, p.HomeId, housingv1.HomeStatus_HOME_STATUS_RESERVED, housingv1.HomeStatus_HOME_STATUS_AVAILABLE, now); err != nil {
				return err
			}
		}
		prev := r.Version
		r.Status, r.CloseReason = housingv1.RequestStatus_REQUEST_STATUS_CLOSED, reason
		if err := requests.update(ctx, q, log, r, prev, r.CreateTime, now); err != nil {
			return err
		}
		if err := c.supersedeAll(ctx, q, log, live, "", now); err != nil {
			return err
		}
		out = r
		return audit(ctx, q, a, requestAudit(store.ActionUpdate, r))
	})
	return out, err
}

// setHome moves a home from one status to another (errRace if it is not in from).
func (c *Core) setHome(ctx context.Context, q sqlstore.Q, log changelog.Appender, id string, from, to housingv1.HomeStatus, now int64) error {
	h, err := homes.get(ctx, q, nil, id)
	if err != nil {
		return err
	}
	if h.Status != from {
		return errRace
	}
	prev := h.Version
	h.Status = to
	return homes.update(ctx, q, log, h, prev, h.CreateTime, now)
}

// ---------------------------------------------------------------- proposals

// CreateProposal implements store.Store.
func (c *Core) CreateProposal(ctx context.Context, a store.Actor, s store.Scope, p *housingv1.Proposal) (*housingv1.Proposal, error) {
	p.Id = newID()
	p.Status, p.DeclinedBy = housingv1.ProposalStatus_PROPOSAL_STATUS_PROPOSED, 0
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		h, err := homes.get(ctx, q, &s, p.HomeId)
		if err != nil {
			return storage.FieldErrorf(store.ErrNotFound, "proposal.home_id", "home %s not found", p.HomeId)
		}
		r, err := requests.get(ctx, q, &s, p.HousingRequestId)
		if err != nil {
			return storage.FieldErrorf(store.ErrNotFound, "proposal.housing_request_id", "housing request %s not found", p.HousingRequestId)
		}
		if h.Status != housingv1.HomeStatus_HOME_STATUS_AVAILABLE {
			return storage.FieldErrorf(store.ErrFailedPrecondition, "proposal.home_id", "home %s is %s: only an available home can be proposed", h.Id, homeState(h.Status))
		}
		if r.Status != housingv1.RequestStatus_REQUEST_STATUS_OPEN {
			return storage.FieldErrorf(store.ErrFailedPrecondition, "proposal.housing_request_id", "housing request %s is %s: homes are proposed to open requests", r.Id, requestState(r.Status))
		}
		if err := proposals.insert(ctx, q, log, p, nowUs(), h.DistrictCode, h.MunicipalityCode); err != nil {
			if errors.Is(err, sqlstore.ErrUnique) {
				return failed("home %s is already proposed to housing request %s", h.Id, r.Id)
			}
			return fmt.Errorf("insert proposal: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// GetProposal implements store.Store.
func (c *Core) GetProposal(ctx context.Context, _ store.Actor, s store.Scope, id string) (*housingv1.Proposal, error) {
	return proposals.get(ctx, c.db.Read(), &s, id)
}

// ListProposals implements store.Store.
func (c *Core) ListProposals(ctx context.Context, _ store.Actor, s store.Scope, f store.ListFilter) ([]*housingv1.Proposal, error) {
	where, args := "r.id > ?", []any{f.After}
	if f.Home != "" {
		where += " AND r.home_id = ?"
		args = append(args, f.Home)
	}
	if f.Req != "" {
		where += " AND r.request_id = ?"
		args = append(args, f.Req)
	}
	return proposals.list(ctx, c.db.Read(), &s, where, args, tail(f))
}

func live(p *housingv1.Proposal) bool {
	return p.Status == housingv1.ProposalStatus_PROPOSAL_STATUS_PROPOSED || p.Status == housingv1.ProposalStatus_PROPOSAL_STATUS_ACCEPTED
}

// decline declines a live proposal, releasing what an accepted one held.
func (c *Core) decline(ctx context.Context, q sqlstore.Q, log changelog.Appender, p *housingv1.Proposal, by housingv1.Party, now int64) error {
	if !live(p) {
		return failed("proposal %s is %s: only a proposed or accepted proposal can be declined", p.Id, proposalState(p.Status))
	}
	if p.Status == housingv1.ProposalStatus_PROPOSAL_STATUS_ACCEPTED {
		if err := c.setHome(ctx, q, log, p.HomeId, housingv1.HomeStatus_HOME_STATUS_RESERVED, housingv1.HomeStatus_HOME_STATUS_AVAILABLE, now); err != nil {
			return err
		}
		if err := c.setRequest(ctx, q, log, p.HousingRequestId, housingv1.RequestStatus_REQUEST_STATUS_MATCHED, housingv1.RequestStatus_REQUEST_STATUS_OPEN, now); err != nil {
			return err
		}
	}
	prev := p.Version
	p.Status, p.DeclinedBy = housingv1.ProposalStatus_PROPOSAL_STATUS_DECLINED, by
	return proposals.update(ctx, q, log, p, prev, p.CreateTime, now)
}

func (c *Core) setRequest(ctx context.Context, q sqlstore.Q, log changelog.Appender, id string, from, to housingv1.RequestStatus, now int64) error {
	r, err := requests.get(ctx, q, nil, id)
	if err != nil {
		return err
	}
	if r.Status != from {
		return errRace
	}
	prev := r.Version
	r.Status = to
	return requests.update(ctx, q, log, r, prev, r.CreateTime, now)
}

// DeclineProposal implements store.Store.
func (c *Core) DeclineProposal(ctx context.Context, _ store.Actor, s store.Scope, id string, by housingv1.Party) (*housingv1.Proposal, error) {
	var out *housingv1.Proposal
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		p, err := proposals.get(ctx, q, &s, id)
		if err != nil {
			return err
		}
		if err := c.decline(ctx, q, log, p, by, nowUs()); err != nil {
			return err
		}
		out = p
		return nil
	})
	return out, err
}

// accept accepts a proposal: its home reserved, its request matched.
func (c *Core) accept(ctx context.Context, q sqlstore.Q, log changelog.Appender, p *housingv1.Proposal, now int64) error {
	switch p.Status {
	case housingv1.ProposalStatus_PROPOSAL_STATUS_ACCEPTED:
		return nil
	case housingv1.ProposalStatus_PROPOSAL_STATUS_PROPOSED:
	default:
		return failed("proposal %s is %s: only a proposed one can be accepted", p.Id, proposalState(p.Status))
	}
	h, err := homes.get(ctx, q, nil, p.HomeId)
	if err != nil {
		return err
	}
	if h.Status != housingv1.HomeStatus_HOME_STATUS_AVAILABLE {
		return failed("home %s is %s: it cannot be reserved for this proposal", h.Id, homeState(h.Status))
	}
	r, err := requests.get(ctx, q, nil, p.HousingRequestId)
	if err != nil {
		return err
	}
	if r.Status != housingv1.RequestStatus_REQUEST_STATUS_OPEN {
		return failed("housing request %s is %s: it cannot be matched to this proposal", r.Id, requestState(r.Status))
	}
	hv, rv := h.Version, r.Version
	h.Status = housingv1.HomeStatus_HOME_STATUS_RESERVED
	if err := homes.update(ctx, q, log, h, hv, h.CreateTime, now); err != nil {
		return err
	}
	r.Status = housingv1.RequestStatus_REQUEST_STATUS_MATCHED
	if err := requests.update(ctx, q, log, r, rv, r.CreateTime, now); err != nil {
		return err
	}
	prev := p.Version
	p.Status = housingv1.ProposalStatus_PROPOSAL_STATUS_ACCEPTED
	if err := proposals.update(ctx, q, log, p, prev, p.CreateTime, now); err != nil {
		if errors.Is(err, sqlstore.ErrUnique) {
			return failed("home %s or housing request %s already has an accepted proposal", h.Id, r.Id)
		}
		return err
	}
	return nil
}

// SignContract implements store.Store.
func (c *Core) SignContract(ctx context.Context, a store.Actor, s store.Scope, id string, k *housingv1.Contract, g *housingv1.GuaranteeFund, today string) (*housingv1.Tenancy, error) {
	var out *housingv1.Tenancy
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		p, err := proposals.get(ctx, q, &s, id)
		if err != nil {
			return err
		}
		if !live(p) {
			return failed("proposal %s is %s: only a proposed or accepted proposal can be signed", id, proposalState(p.Status))
		}
		accepted := p.Status == housingv1.ProposalStatus_PROPOSAL_STATUS_ACCEPTED
		h, err := homes.get(ctx, q, nil, p.HomeId)
		if err != nil {
			return err
		}
		if !(h.Status == housingv1.HomeStatus_HOME_STATUS_AVAILABLE || accepted && h.Status == housingv1.HomeStatus_HOME_STATUS_RESERVED) {
			return failed("home %s is %s: a home is let to one household at a time", h.Id, homeState(h.Status))
		}
		r, err := requests.get(ctx, q, nil, p.HousingRequestId)
		if err != nil {
			return err
		}
		if !(r.Status == housingv1.RequestStatus_REQUEST_STATUS_OPEN || accepted && r.Status == housingv1.RequestStatus_REQUEST_STATUS_MATCHED) {
			return failed("housing request %s is %s: a household is housed once", r.Id, requestState(r.Status))
		}
		if !slices.Contains(h.ContractTypes, k.Type) || !slices.Contains(r.ContractTypes, k.Type) {
			return storage.FieldErrorf(store.ErrFailedPrecondition, "contract.type", "contract type %s is not one the owner accepts and the household can sign", k.Type)
		}
		now := nowUs()
		hv, rv, pv := h.Version, r.Version, p.Version
		h.Status = housingv1.HomeStatus_HOME_STATUS_LET
		if err := homes.update(ctx, q, log, h, hv, h.CreateTime, now); err != nil {
			return err
		}
		r.Status = housingv1.RequestStatus_REQUEST_STATUS_HOUSED
		if err := requests.update(ctx, q, log, r, rv, r.CreateTime, now); err != nil {
			return err
		}
		others, err := proposals.list(ctx, q, nil, "(r.home_id = ? OR r.request_id = ?) AND r.status IN (1, 2) AND r.id <> ?", []any{h.Id, r.Id, p.Id}, "")
		if err != nil {
			return err
		}
		p.Status = housingv1.ProposalStatus_PROPOSAL_STATUS_SIGNED
		// Proposals in id order: p among the others.
		all := append(others, p)
		slices.SortFunc(all, func(a, b *housingv1.Proposal) int { return strings.Compare(a.Id, b.Id) })
		for _, o := range all {
			if o == p {
				if err := proposals.update(ctx, q, log, p, pv, p.CreateTime, now); err != nil {
					return err
				}
				continue
			}
			if err := c.supersedeAll(ctx, q, log, []*housingv1.Proposal{o}, "", now); err != nil {
				return err
			}
		}
		t := &housingv1.Tenancy{
			Id: newID(), ProposalId: p.Id, HomeId: h.Id, HousingRequestId: r.Id, Contract: k, Guarantee: g,
			Status:           housingv1.TenancyStatus_TENANCY_STATUS_RUNNING,
			MunicipalityCode: h.MunicipalityCode, DistrictCode: h.DistrictCode,
			DaysToContract: int32(time.UnixMicro(now).Sub(r.CreateTime.AsTime()) / (24 * time.Hour)),
		}
		if g != nil {
			g.PaidCents = 0
		}
		if err := tenancies.insert(ctx, q, log, t, now); err != nil {
			if errors.Is(err, sqlstore.ErrUnique) {
				return failed("home %s is already let, or housing request %s already housed", h.Id, r.Id)
			}
			return fmt.Errorf("insert tenancy: %w", err)
		}
		out = t
		return audit(ctx, q, a, tenancyAudit(store.ActionCreate, t), homeAudit(store.ActionUpdate, h), requestAudit(store.ActionUpdate, r))
	})
	return out, err
}

// ---------------------------------------------------------------- viewings

// CreateViewing implements store.Store.
func (c *Core) CreateViewing(ctx context.Context, _ store.Actor, s store.Scope, v *housingv1.Viewing) (*housingv1.Viewing, error) {
	v.Id = newID()
	v.Status, v.Outcome = housingv1.ViewingStatus_VIEWING_STATUS_SCHEDULED, 0
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		p, err := proposals.get(ctx, q, &s, v.ProposalId)
		if err != nil {
			return storage.FieldErrorf(store.ErrNotFound, "viewing.proposal_id", "proposal %s not found", v.ProposalId)
		}
		if !live(p) {
			return storage.FieldErrorf(store.ErrFailedPrecondition, "viewing.proposal_id", "proposal %s is %s: viewings are for proposed or accepted proposals", p.Id, proposalState(p.Status))
		}
		var district, municipality string
		err = q.Query(ctx, `SELECT district_code, municipality_code FROM proposals WHERE id = ?`, []any{p.Id},
			func(scan func(...any) error) error { return scan(&district, &municipality) })
		if err != nil {
			return fmt.Errorf("read proposal place: %w", err)
		}
		if err := viewings.insert(ctx, q, log, v, nowUs(), district, municipality); err != nil {
			return fmt.Errorf("insert viewing: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// ListViewings implements store.Store.
func (c *Core) ListViewings(ctx context.Context, _ store.Actor, s store.Scope, f store.ListFilter) ([]*housingv1.Viewing, error) {
	where, args := "r.id > ?", []any{f.After}
	if f.Prop != "" {
		where += " AND r.proposal_id = ?"
		args = append(args, f.Prop)
	}
	return viewings.list(ctx, c.db.Read(), &s, where, args, tail(f))
}

// RecordViewingOutcome implements store.Store.
func (c *Core) RecordViewingOutcome(ctx context.Context, _ store.Actor, s store.Scope, id string, o housingv1.ViewingOutcome) (*housingv1.Viewing, error) {
	var out *housingv1.Viewing
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		v, err := viewings.get(ctx, q, &s, id)
		if err != nil {
			return err
		}
		if v.Status != housingv1.ViewingStatus_VIEWING_STATUS_SCHEDULED {
			return failed("viewing %s is %s: only a scheduled viewing gets an outcome", id, state(v.Status, "VIEWING_STATUS_"))
		}
		now := nowUs()
		if o != housingv1.ViewingOutcome_VIEWING_OUTCOME_NO_SHOW && o != housingv1.ViewingOutcome_VIEWING_OUTCOME_CANCELLED {
			p, err := proposals.get(ctx, q, nil, v.ProposalId)
			if err != nil {
				return err
			}
			switch o {
			case housingv1.ViewingOutcome_VIEWING_OUTCOME_BOTH_INTERESTED:
				err = c.accept(ctx, q, log, p, now)
			case housingv1.ViewingOutcome_VIEWING_OUTCOME_HOUSEHOLD_DECLINED:
				err = c.decline(ctx, q, log, p, housingv1.Party_PARTY_HOUSEHOLD, now)
			default:
				err = c.decline(ctx, q, log, p, housingv1.Party_PARTY_OWNER, now)
			}
			if err != nil {
				return err
			}
		}
		prev := v.Version
		v.Status, v.Outcome = housingv1.ViewingStatus_VIEWING_STATUS_DONE, o
		if o == housingv1.ViewingOutcome_VIEWING_OUTCOME_CANCELLED {
			v.Status = housingv1.ViewingStatus_VIEWING_STATUS_CANCELLED
		}
		if err := viewings.update(ctx, q, log, v, prev, v.CreateTime, now); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}

// ---------------------------------------------------------------- tenancies

func (c *Core) events(ctx context.Context, q sqlstore.Q, id string) ([]*housingv1.TenancyEvent, error) {
	var out []*housingv1.TenancyEvent
	err := q.Query(ctx, `SELECT seq, doc FROM tenancy_events WHERE tenancy_id = ? ORDER BY seq`, []any{id},
		func(scan func(...any) error) error {
			var seq int64
			var doc string
			if err := scan(&seq, &doc); err != nil {
				return err
			}
			e := &housingv1.TenancyEvent{}
			if err := unmarshal.Unmarshal([]byte(doc), e); err != nil {
				return fmt.Errorf("tenancy event %d document: %w", seq, err)
			}
			e.Id = strconv.FormatInt(seq, 10)
			out = append(out, e)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read tenancy events: %w", err)
	}
	return out, nil
}

// GetTenancy implements store.Store.
func (c *Core) GetTenancy(ctx context.Context, a store.Actor, s store.Scope, id string) (*housingv1.Tenancy, error) {
	t, err := tenancies.get(ctx, c.db.Read(), &s, id)
	if err != nil {
		return nil, err
	}
	if t.Events, err = c.events(ctx, c.db.Read(), id); err != nil {
		return nil, err
	}
	return t, c.auditRead(ctx, a, []auditRow{tenancyAudit(store.ActionRead, t)})
}

// ListTenancies implements store.Store.
func (c *Core) ListTenancies(ctx context.Context, a store.Actor, s store.Scope, f store.ListFilter) ([]*housingv1.Tenancy, error) {
	where, args := "r.id > ?", []any{f.After}
	if f.Status != 0 {
		where += " AND r.status = ?"
		args = append(args, f.Status)
	}
	ts, err := tenancies.list(ctx, c.db.Read(), &s, where, args, tail(f))
	if err != nil {
		return nil, err
	}
	return ts, c.auditRead(ctx, a, auditAll(store.ActionRead, ts, tenancyAudit))
}

// AddTenancyEvent implements store.Store.
func (c *Core) AddTenancyEvent(ctx context.Context, a store.Actor, s store.Scope, id string, ev *housingv1.TenancyEvent) (*housingv1.TenancyEvent, error) {
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		t, err := tenancies.get(ctx, q, &s, id)
		if err != nil {
			return err
		}
		now := nowUs()
		ev.Id, ev.TenancyId, ev.Author = "", id, a.Subject
		if ev.OccurTime == nil {
			ev.OccurTime = ts(now)
		}
		changed := false
		switch k := ev.Kind.(type) {
		case *housingv1.TenancyEvent_GuaranteePayment:
			if t.Guarantee == nil {
				return storage.FieldErrorf(store.ErrFailedPrecondition, "event.guarantee_payment", "tenancy %s has no guarantee fund", id)
			}
			if t.Guarantee.PaidCents+k.GuaranteePayment.AmountCents > t.Guarantee.CapCents {
				return storage.FieldErrorf(store.ErrFailedPrecondition, "event.guarantee_payment.amount_cents",
					"the fund would pay %d cents, above its cap of %d", t.Guarantee.PaidCents+k.GuaranteePayment.AmountCents, t.Guarantee.CapCents)
			}
			t.Guarantee.PaidCents += k.GuaranteePayment.AmountCents
			changed = true
		case *housingv1.TenancyEvent_Registration:
			t.Contract.RegistrationDate = k.Registration.Date
			changed = true
		}
		if t.Status != housingv1.TenancyStatus_TENANCY_STATUS_RUNNING && ev.GetCheckIn() != nil {
			return failed("tenancy %s has ended: no more check-ins", id)
		}
		if changed {
			if err := tenancies.update(ctx, q, log, t, t.Version, t.CreateTime, now); err != nil {
				return err
			}
		}
		doc, err := marshal.Marshal(ev)
		if err != nil {
			return fmt.Errorf("tenancy event document: %w", err)
		}
		var seq int64
		err = q.Query(ctx, `INSERT INTO tenancy_events (tenancy_id, create_us, doc) VALUES (?, ?, ?) RETURNING seq`, []any{id, now, string(doc)},
			func(scan func(...any) error) error { return scan(&seq) })
		if err != nil {
			return fmt.Errorf("insert tenancy event: %w", err)
		}
		ev.Id = strconv.FormatInt(seq, 10)
		payload, err := marshal.Marshal(store.RedactTenancyEvent(ev))
		if err != nil {
			return fmt.Errorf("tenancy event change: %w", err)
		}
		log.Append(changelog.Entry{Topic: store.TopicTenancyStep, Key: id + "/" + ev.Id, Op: changelog.OpUpsert, Payload: payload})
		return audit(ctx, q, a, tenancyAudit(store.ActionUpdate, t))
	})
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// EndTenancy implements store.Store.
func (c *Core) EndTenancy(ctx context.Context, a store.Actor, s store.Scope, id, endDate string, reason housingv1.EndReason, withdraw bool) (*housingv1.Tenancy, error) {
	var out *housingv1.Tenancy
	err := c.write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		t, err := tenancies.get(ctx, q, &s, id)
		if err != nil {
			return err
		}
		if t.Status != housingv1.TenancyStatus_TENANCY_STATUS_RUNNING {
			return failed("tenancy %s has already ended", id)
		}
		if endDate < t.GetContract().GetStartDate() {
			return storage.FieldErrorf(store.ErrFailedPrecondition, "end_date", "the tenancy cannot end before its start, %s", t.GetContract().GetStartDate())
		}
		now := nowUs()
		to := housingv1.HomeStatus_HOME_STATUS_AVAILABLE
		if withdraw {
			to = housingv1.HomeStatus_HOME_STATUS_WITHDRAWN
		}
		if err := c.setHome(ctx, q, log, t.HomeId, housingv1.HomeStatus_HOME_STATUS_LET, to, now); err != nil {
			return err
		}
		prev := t.Version
		t.Status, t.EndDate, t.EndReason = housingv1.TenancyStatus_TENANCY_STATUS_ENDED, endDate, reason
		if err := tenancies.update(ctx, q, log, t, prev, t.CreateTime, now); err != nil {
			return err
		}
		out = t
		return audit(ctx, q, a, tenancyAudit(store.ActionUpdate, t))
	})
	return out, err
}

// ---------------------------------------------------------------- matching

// Matchable implements store.Store.
func (c *Core) Matchable(ctx context.Context) (store.Matchable, error) {
	head, err := c.db.Feed().Head(ctx)
	if err != nil {
		return store.Matchable{}, fmt.Errorf("read the change log head: %w", err)
	}
	hs, err := homes.list(ctx, c.db.Read(), nil, "r.status = ?", []any{int32(housingv1.HomeStatus_HOME_STATUS_AVAILABLE)}, "")
	if err != nil {
		return store.Matchable{}, err
	}
	rs, err := requests.list(ctx, c.db.Read(), nil, "r.status = ?", []any{int32(housingv1.RequestStatus_REQUEST_STATUS_OPEN)}, "")
	if err != nil {
		return store.Matchable{}, err
	}
	return store.Matchable{Head: head, Homes: hs, Requests: rs}, nil
}
