// Package sqlcore is the mediators store written once for both databases, on the storage
// kit (libs/storage/sqlstore): records as protojson documents beside the columns queries
// filter on, times as Unix microseconds, "?" placeholders. The double-booking guarantee
// is the database's: on PostgreSQL two exclusion constraints (migrations/postgres), on
// SQLite the same predicate checked inside the serialised write transaction; the check
// runs on PostgreSQL too, for a precise error before the constraint has to fire.
package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/sqlstore"
	"github.com/ponte-network/ponte/services/mediators/store"
)

// Core implements store.Store on a sqlstore.DB.
type Core struct {
	db      sqlstore.DB
	loc     *time.Location
	decoded decodedMediators
}

var _ store.Store = (*Core)(nil)

// New returns the store on db; loc is the time zone of dates and months.
func New(db sqlstore.DB, loc *time.Location) *Core {
	if loc == nil {
		loc = time.UTC
	}
	return &Core{db: db, loc: loc}
}

// DB is the database the store runs on.
func (c *Core) DB() sqlstore.DB { return c.db }

var (
	marshal   = protojson.MarshalOptions{}
	unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

func nowUs() int64 { return time.Now().UnixMicro() }

func ts(us int64) *timestamppb.Timestamp { return timestamppb.New(time.UnixMicro(us).UTC()) }

func etag(v int64) string { return strconv.FormatInt(v, 10) }

// ---------------------------------------------------------------- audit

const auditInsert = `INSERT INTO audit_events (time_us, subject, organization_id, method, action, mediator_id) VALUES `

func audit(ctx context.Context, q sqlstore.Q, a store.Actor, action string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	now := nowUs()
	rows := make([][]any, len(ids))
	for i, id := range ids {
		rows[i] = []any{now, a.Subject, a.Organization, a.Method, action, id}
	}
	if err := sqlstore.InsertRows(ctx, q, "audit_events", []string{"time_us", "subject", "organization_id", "method", "action", "mediator_id"}, rows); err != nil {
		return fmt.Errorf("append audit events: %w", err)
	}
	return nil
}

// auditRead records reads: the data is returned only once its audit entries committed.
func (c *Core) auditRead(ctx context.Context, a store.Actor, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
		return audit(ctx, q, a, "read", ids...)
	})
}

// ListAuditEvents implements store.Store.
func (c *Core) ListAuditEvents(ctx context.Context, mediatorID string, after int64, limit int) ([]*store.AuditEvent, error) {
	where, args := "id > ?", []any{after}
	if mediatorID != "" {
		where += " AND mediator_id = ?"
		args = append(args, mediatorID)
	}
	var out []*store.AuditEvent
	err := c.db.Read().Query(ctx, `SELECT id, time_us, subject, organization_id, method, action, mediator_id
		FROM audit_events WHERE `+where+` ORDER BY id LIMIT ?`, append(args, limit),
		func(scan func(...any) error) error {
			e := &store.AuditEvent{}
			var us int64
			if err := scan(&e.Id, &us, &e.Subject, &e.OrganizationId, &e.Method, &e.Action, &e.MediatorId); err != nil {
				return err
			}
			e.Time = ts(us)
			out = append(out, e)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return out, nil
}

// ---------------------------------------------------------------- mediators

func (c *Core) writeMediatorIndex(ctx context.Context, q sqlstore.Q, m *mediatorsv1.Mediator) error {
	if _, err := q.Exec(ctx, `DELETE FROM mediator_districts WHERE mediator_id = ?`, m.GetId()); err != nil {
		return fmt.Errorf("clear mediator districts: %w", err)
	}
	if _, err := q.Exec(ctx, `DELETE FROM mediator_languages WHERE mediator_id = ?`, m.GetId()); err != nil {
		return fmt.Errorf("clear mediator languages: %w", err)
	}
	var districts [][]any
	for _, d := range m.GetDistrictCodes() {
		districts = append(districts, []any{m.GetId(), d})
	}
	if err := sqlstore.InsertRows(ctx, q, "mediator_districts", []string{"mediator_id", "district_code"}, districts); err != nil {
		return fmt.Errorf("insert mediator districts: %w", err)
	}
	seen := map[string]bool{}
	var langs [][]any
	for _, l := range m.GetLanguages() {
		if !seen[l.GetCode()] {
			seen[l.GetCode()] = true
			langs = append(langs, []any{m.GetId(), l.GetCode()})
		}
	}
	if err := sqlstore.InsertRows(ctx, q, "mediator_languages", []string{"mediator_id", "language"}, langs); err != nil {
		return fmt.Errorf("insert mediator languages: %w", err)
	}
	return nil
}

// CreateMediator implements store.Store.
func (c *Core) CreateMediator(ctx context.Context, a store.Actor, m *mediatorsv1.Mediator) (*mediatorsv1.Mediator, error) {
	m = proto.Clone(m).(*mediatorsv1.Mediator)
	if m.Id == "" {
		m.Id = uuid.NewString()
	}
	now := nowUs()
	m.CreateTime, m.UpdateTime, m.Etag = ts(now), ts(now), etag(1)
	doc, err := marshal.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode mediator: %w", err)
	}
	err = c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
		_, err := q.Exec(ctx, `INSERT INTO mediators (id, tax_code, status, version, create_us, update_us, doc) VALUES (?, ?, ?, 1, ?, ?, ?)`,
			m.Id, m.TaxCode, int32(m.Status), now, now, string(doc))
		if errors.Is(err, sqlstore.ErrUnique) {
			if strings.Contains(sqlstore.Constraint(err), "tax_code") {
				return storage.FieldErrorf(store.ErrAlreadyExists, "mediator.tax_code", "a mediator with this tax code is already registered")
			}
			return storage.FieldErrorf(store.ErrAlreadyExists, "mediator.id", "mediator %s already exists", m.Id)
		}
		if err != nil {
			return fmt.Errorf("insert mediator: %w", err)
		}
		if err := c.writeMediatorIndex(ctx, q, m); err != nil {
			return err
		}
		return audit(ctx, q, a, "create", m.Id)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// scanMediator reads a row of (id, doc) into a mediator, decoded through c.decoded.
func (c *Core) scanMediator(scan func(...any) error) (*mediatorsv1.Mediator, error) {
	var id, doc string
	if err := scan(&id, &doc); err != nil {
		return nil, err
	}
	return c.decoded.mediator(id, doc)
}

// decodedMediators keeps the last decoded form of each mediator's stored document. Every
// assignment reads its candidates' documents, and parsing them again was two thirds of
// an assignment's CPU (BenchmarkMediatorsAutoAssignREST's profile); a copy of a message
// already decoded costs a fraction of that. An entry serves only a document identical,
// byte for byte, to the one it was decoded from, so it can never be stale, whichever node
// wrote the row. It holds one entry per mediator of the register (mediators are never
// deleted, only suspended), a few kilobytes each.
type decodedMediators struct {
	mu   sync.Mutex
	byID map[string]decodedMediator
}

type decodedMediator struct {
	doc string
	m   *mediatorsv1.Mediator
}

// mediator returns the mediator that doc encodes: a copy of the cached one when doc is
// the document it was decoded from, else doc decoded (and cached).
func (d *decodedMediators) mediator(id, doc string) (*mediatorsv1.Mediator, error) {
	d.mu.Lock()
	e, ok := d.byID[id]
	d.mu.Unlock()
	if ok && e.doc == doc {
		return proto.CloneOf(e.m), nil
	}
	m := &mediatorsv1.Mediator{}
	if err := unmarshal.Unmarshal([]byte(doc), m); err != nil {
		return nil, fmt.Errorf("decode mediator: %w", err)
	}
	d.mu.Lock()
	if d.byID == nil {
		d.byID = map[string]decodedMediator{}
	}
	d.byID[id] = decodedMediator{doc: doc, m: proto.CloneOf(m)}
	d.mu.Unlock()
	return m, nil
}

func (c *Core) mediator(ctx context.Context, q sqlstore.Q, id string) (*mediatorsv1.Mediator, error) {
	var m *mediatorsv1.Mediator
	err := q.Query(ctx, `SELECT id, doc FROM mediators WHERE id = ?`, []any{id}, func(scan func(...any) error) error {
		var err error
		m, err = c.scanMediator(scan)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read mediator: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("mediator %s: %w", id, store.ErrNotFound)
	}
	return m, nil
}

// GetMediator implements store.Store.
func (c *Core) GetMediator(ctx context.Context, a store.Actor, id string, auditRead bool) (*mediatorsv1.Mediator, error) {
	m, err := c.mediator(ctx, c.db.Read(), id)
	if err != nil {
		return nil, err
	}
	if auditRead {
		if err := c.auditRead(ctx, a, id); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ListMediators implements store.Store.
func (c *Core) ListMediators(ctx context.Context, a store.Actor, f store.MediatorFilter, auditRead bool) ([]*mediatorsv1.Mediator, error) {
	conds, args := []string{"m.id > ?"}, []any{f.After}
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			return nil, nil
		}
		conds = append(conds, "m.id IN ("+sqlstore.Placeholders(len(f.IDs))+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	if f.Districts != nil {
		if len(f.Districts) == 0 {
			return nil, nil
		}
		conds = append(conds, "EXISTS (SELECT 1 FROM mediator_districts d WHERE d.mediator_id = m.id AND d.district_code IN ("+sqlstore.Placeholders(len(f.Districts))+"))")
		for _, d := range f.Districts {
			args = append(args, d)
		}
	}
	if f.Language != "" {
		conds = append(conds, "EXISTS (SELECT 1 FROM mediator_languages l WHERE l.mediator_id = m.id AND l.language = ?)")
		args = append(args, f.Language)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []*mediatorsv1.Mediator
	err := c.db.Read().Query(ctx, `SELECT m.id, m.doc FROM mediators m WHERE `+strings.Join(conds, " AND ")+` ORDER BY m.id LIMIT ?`,
		append(args, limit), func(scan func(...any) error) error {
			m, err := c.scanMediator(scan)
			if err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("list mediators: %w", err)
	}
	if auditRead && len(out) > 0 {
		ids := make([]string, len(out))
		for i, m := range out {
			ids[i] = m.GetId()
		}
		if err := c.auditRead(ctx, a, ids...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UpdateMediator implements store.Store.
func (c *Core) UpdateMediator(ctx context.Context, a store.Actor, id string, fn func(*mediatorsv1.Mediator) (*mediatorsv1.Mediator, error)) (*mediatorsv1.Mediator, error) {
	var out *mediatorsv1.Mediator
	err := c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
		cur, err := c.mediator(ctx, q, id)
		if err != nil {
			return err
		}
		version, _ := strconv.ParseInt(cur.GetEtag(), 10, 64)
		next, err := fn(proto.Clone(cur).(*mediatorsv1.Mediator))
		if err != nil {
			return err
		}
		next.Id, next.CreateTime = cur.Id, cur.CreateTime
		now := nowUs()
		next.UpdateTime, next.Etag = ts(now), etag(version+1)
		doc, err := marshal.Marshal(next)
		if err != nil {
			return fmt.Errorf("encode mediator: %w", err)
		}
		n, err := q.Exec(ctx, `UPDATE mediators SET tax_code = ?, status = ?, version = ?, update_us = ?, doc = ? WHERE id = ? AND version = ?`,
			next.TaxCode, int32(next.Status), version+1, now, string(doc), id, version)
		if errors.Is(err, sqlstore.ErrUnique) {
			return storage.FieldErrorf(store.ErrAlreadyExists, "mediator.tax_code", "a mediator with this tax code is already registered")
		}
		if err != nil {
			return fmt.Errorf("update mediator: %w", err)
		}
		if n != 1 {
			return storage.FieldErrorf(store.ErrConflict, "etag", "mediator %s changed meanwhile", id)
		}
		if err := c.writeMediatorIndex(ctx, q, next); err != nil {
			return err
		}
		out = next
		return audit(ctx, q, a, "update", id)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetCalendarToken implements store.Store.
func (c *Core) SetCalendarToken(ctx context.Context, id, hash string) error {
	return c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
		n, err := q.Exec(ctx, `UPDATE mediators SET calendar_token_hash = ? WHERE id = ?`, hash, id)
		if err != nil {
			return fmt.Errorf("set calendar token: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("mediator %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// CalendarTokenHash implements store.Store.
func (c *Core) CalendarTokenHash(ctx context.Context, id string) (string, error) {
	var hash string
	found := false
	err := c.db.Read().Query(ctx, `SELECT calendar_token_hash FROM mediators WHERE id = ?`, []any{id}, func(scan func(...any) error) error {
		found = true
		return scan(&hash)
	})
	if err != nil {
		return "", fmt.Errorf("read calendar token: %w", err)
	}
	if !found {
		return "", fmt.Errorf("mediator %s: %w", id, store.ErrNotFound)
	}
	return hash, nil
}

// Changes implements store.Store.
func (c *Core) Changes() changelog.Feed { return c.db.Feed() }

// Ready implements store.Store.
func (c *Core) Ready(ctx context.Context) error { return c.db.Ready(ctx) }

// Close implements store.Store.
func (c *Core) Close() error { return c.db.Close() }
