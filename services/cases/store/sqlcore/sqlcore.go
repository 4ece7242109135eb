// Package sqlcore is the cases store written once for both databases, on the storage kit
// (libs/storage/sqlstore): the tables are the same on PostgreSQL and SQLite (times as
// Unix microseconds, booleans as 0/1, records as protojson documents beside the columns
// queries filter on), the SQL uses "?" placeholders (the PostgreSQL adapter numbers
// them), so the two stores give the same answers by construction. Open opens it on
// either database; the migrations of each dialect are under migrations/.
package sqlcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/sqlstore"
	"github.com/ponte-network/ponte/services/cases/store"
)

// Core implements store.Store on a DB.
type Core struct {
	db sqlstore.DB
}

var _ store.Store = (*Core)(nil)

// New returns the store on db.
func New(db sqlstore.DB) *Core { return &Core{db: db} }

func nowUs() int64 { return time.Now().UnixMicro() }

func ts(us int64) *timestamppb.Timestamp { return timestamppb.New(time.UnixMicro(us).UTC()) }

var marshal = protojson.MarshalOptions{}

// ---------------------------------------------------------------- scopes

// caseCond is the SQL condition of a case (alias c) lying within s.
func caseCond(s store.Scope, args *[]any) string {
	if s.All {
		return "1 = 1"
	}
	var parts []string
	if s.Organization != "" {
		parts = append(parts, "c.organization_id = ?")
		*args = append(*args, s.Organization)
	}
	if len(s.Districts) > 0 {
		parts = append(parts, "c.district_code IN ("+sqlstore.Placeholders(len(s.Districts))+")")
		for _, d := range s.Districts {
			*args = append(*args, d)
		}
	}
	if len(s.Municipalities) > 0 {
		parts = append(parts, "c.municipality_code IN ("+sqlstore.Placeholders(len(s.Municipalities))+")")
		for _, m := range s.Municipalities {
			*args = append(*args, m)
		}
	}
	for _, p := range s.MunicipalityPrefixes {
		if p == "" {
			continue
		}
		parts = append(parts, "c.municipality_code LIKE ?")
		*args = append(*args, p+"%")
	}
	if len(parts) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// personCond is the SQL condition of a person (alias p) lying within s.
func personCond(s store.Scope, args *[]any) string {
	if s.All {
		return "1 = 1"
	}
	var parts []string
	if s.PersonOwner != "" {
		parts = append(parts, "p.organization_id = ?")
		*args = append(*args, s.PersonOwner)
	}
	parts = append(parts, "EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id AND c.person_owner = p.organization_id AND c.deleted = 0 AND "+caseCond(s, args)+")")
	return "(" + strings.Join(parts, " OR ") + ")"
}

// ---------------------------------------------------------------- audit

type auditRow struct {
	action, recordType, recordID, district, municipality string
}

var auditColumns = []string{"time_us", "subject", "organization_id", "method", "action", "record_type", "record_id", "district_code", "municipality_code"}

func (c *Core) audit(ctx context.Context, q sqlstore.Q, a store.Actor, rows []auditRow) error {
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

// auditRead records reads outside a transaction: the data is returned only once its
// audit entries committed.
func (c *Core) auditRead(ctx context.Context, a store.Actor, rows []auditRow) error {
	if len(rows) == 0 {
		return nil
	}
	return c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, _ changelog.Appender) error {
		return c.audit(ctx, q, a, rows)
	})
}

func caseAudit(action string, k *casesv1.Case) auditRow {
	return auditRow{action, store.RecordCase, k.GetId(), k.GetDistrictCode(), k.GetMunicipalityCode()}
}

// personPlaces returns, per person, the distinct districts and municipalities of their
// live cases, in case order.
func personPlaces(ctx context.Context, q sqlstore.Q, refs []store.PersonRef) (map[store.PersonRef][][2]string, error) {
	ids := make([]string, 0, len(refs))
	for _, r := range refs {
		if !slices.Contains(ids, r.ID) {
			ids = append(ids, r.ID)
		}
	}
	out := map[store.PersonRef][][2]string{}
	err := sqlstore.EachIn(q, "person_id", ids, func(cond string, args []any) error {
		return q.Query(ctx, `SELECT person_id, person_owner, district_code, municipality_code FROM cases
			WHERE deleted = 0 AND `+cond+` ORDER BY id`, args,
			func(scan func(...any) error) error {
				var p store.PersonRef
				var d, m string
				if err := scan(&p.ID, &p.Owner, &d, &m); err != nil {
					return err
				}
				if pl := [2]string{d, m}; !slices.Contains(out[p], pl) {
					out[p] = append(out[p], pl)
				}
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("read places of persons: %w", err)
	}
	return out, nil
}

// personAudits are the audit rows of action on persons ids: one per place (district
// and municipality) of each person's live cases, so that every territory that can see
// the person finds the entry in its audit log; one without place for a person with no
// live case.
func personAudits(ctx context.Context, q sqlstore.Q, action string, refs []store.PersonRef) ([]auditRow, error) {
	places, err := personPlaces(ctx, q, refs)
	if err != nil {
		return nil, err
	}
	rows := make([]auditRow, 0, len(refs))
	for _, r := range refs {
		pls := places[r]
		if len(pls) == 0 {
			pls = [][2]string{{"", ""}}
		}
		for _, pl := range pls {
			rows = append(rows, auditRow{action, store.RecordPerson, r.ID, pl[0], pl[1]})
		}
	}
	return rows, nil
}

// RecordAudit implements store.Store.
func (c *Core) RecordAudit(ctx context.Context, a store.Actor, action, recordType, recordID string, places ...store.Place) error {
	if len(places) == 0 {
		places = []store.Place{{}}
	}
	rows := make([]auditRow, len(places))
	for i, pl := range places {
		rows[i] = auditRow{action, recordType, recordID, pl.District, pl.Municipality}
	}
	return c.auditRead(ctx, a, rows)
}

// ListAuditEvents implements store.Store.
func (c *Core) ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]*casesv1.AuditEvent, error) {
	var args []any
	conds := []string{"id > ?"}
	args = append(args, f.After)
	if !f.All {
		var parts []string
		if len(f.Districts) > 0 {
			parts = append(parts, "district_code IN ("+sqlstore.Placeholders(len(f.Districts))+")")
			for _, d := range f.Districts {
				args = append(args, d)
			}
		}
		if len(f.Municipalities) > 0 {
			parts = append(parts, "municipality_code IN ("+sqlstore.Placeholders(len(f.Municipalities))+")")
			for _, m := range f.Municipalities {
				args = append(args, m)
			}
		}
		for _, p := range f.MunicipalityPrefixes {
			parts = append(parts, "municipality_code LIKE ?")
			args = append(args, p+"%")
		}
		if len(parts) == 0 {
			return nil, nil
		}
		conds = append(conds, "("+strings.Join(parts, " OR ")+")")
	}
	if f.RecordID != "" {
		conds = append(conds, "record_id = ?")
		args = append(args, f.RecordID)
	}
	if f.Subject != "" {
		conds = append(conds, "subject = ?")
		args = append(args, f.Subject)
	}
	query := `SELECT id, time_us, subject, organization_id, method, action, record_type, record_id, district_code, municipality_code
		FROM audit_events WHERE ` + strings.Join(conds, " AND ") + ` ORDER BY id`
	if f.Limit > 0 {
		query += " LIMIT " + strconv.Itoa(f.Limit)
	}
	var out []*casesv1.AuditEvent
	err := c.db.Read().Query(ctx, query, args, func(scan func(...any) error) error {
		e := &casesv1.AuditEvent{}
		var t int64
		if err := scan(&e.Id, &t, &e.Subject, &e.OrganizationId, &e.Method, &e.Action, &e.RecordType, &e.RecordId, &e.DistrictCode, &e.MunicipalityCode); err != nil {
			return err
		}
		e.Time = ts(t)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return out, nil
}

// ---------------------------------------------------------------- persons

const personCols = `p.id, p.organization_id, p.version, p.deleted, p.create_us, p.update_us, p.doc`

func scanPerson(scan func(...any) error) (*casesv1.Person, bool, error) {
	var id, org, doc string
	var version, deleted, created, updated int64
	if err := scan(&id, &org, &version, &deleted, &created, &updated, &doc); err != nil {
		return nil, false, err
	}
	p := &casesv1.Person{}
	if err := protojson.Unmarshal([]byte(doc), p); err != nil {
		return nil, false, fmt.Errorf("person %s document: %w", id, err)
	}
	p.Id, p.OrganizationId, p.Version = id, org, int32(version)
	p.Etag = strconv.FormatInt(version, 10)
	p.CreateTime, p.UpdateTime = ts(created), ts(updated)
	return p, deleted != 0, nil
}

func personDoc(p *casesv1.Person) (string, error) {
	p = cloneBare(p)
	raw, err := marshal.Marshal(p)
	return string(raw), err
}

func cloneBare(p *casesv1.Person) *casesv1.Person {
	q := &casesv1.Person{}
	*q = casesv1.Person{
		Id: p.GetId(), OrganizationId: p.GetOrganizationId(), GivenName: p.GetGivenName(), FamilyName: p.GetFamilyName(),
		BirthDate: p.GetBirthDate(), Sex: p.GetSex(), Nationality: p.GetNationality(), Languages: p.GetLanguages(),
		ResidenceMunicipalityCode: p.GetResidenceMunicipalityCode(), TaxCode: p.GetTaxCode(),
		LegalBasis: p.GetLegalBasis(), ConsentTime: p.GetConsentTime(),
	}
	return q
}

func personChange(p *casesv1.Person, op changelog.Op) changelog.Entry {
	payload, _ := json.Marshal(map[string]string{"organizationId": p.GetOrganizationId()})
	return changelog.Entry{Topic: store.TopicPerson, Key: p.GetId(), Op: op, Payload: payload}
}

// CreatePerson implements store.Store.
func (c *Core) CreatePerson(ctx context.Context, a store.Actor, p *casesv1.Person) (*casesv1.Person, error) {
	p = cloneBare(p)
	if p.Id == "" {
		p.Id = uuid.NewString()
	}
	doc, err := personDoc(p)
	if err != nil {
		return nil, fmt.Errorf("person document: %w", err)
	}
	now := nowUs()
	err = c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		_, err := q.Exec(ctx, `INSERT INTO persons (id, organization_id, version, deleted, create_us, update_us, doc) VALUES (?, ?, 1, 0, ?, ?, ?)`,
			p.Id, p.OrganizationId, now, now, doc)
		if errors.Is(err, sqlstore.ErrUnique) {
			return storage.FieldErrorf(store.ErrAlreadyExists, "person.id", "person %s already exists", p.Id)
		}
		if err != nil {
			return fmt.Errorf("insert person: %w", err)
		}
		log.Append(personChange(p, changelog.OpUpsert))
		return c.audit(ctx, q, a, []auditRow{{action: store.ActionCreate, recordType: store.RecordPerson, recordID: p.Id}})
	})
	if err != nil {
		return nil, err
	}
	p.Version, p.Etag, p.CreateTime, p.UpdateTime = 1, "1", ts(now), ts(now)
	return p, nil
}

func (c *Core) persons(ctx context.Context, q sqlstore.Q, s store.Scope, where string, args []any, tail string) ([]*casesv1.Person, error) {
	cond := personCond(s, &args)
	var out []*casesv1.Person
	err := q.Query(ctx, `SELECT `+personCols+` FROM persons p WHERE p.deleted = 0 AND `+where+` AND `+cond+` ORDER BY p.id, p.organization_id`+tail, args,
		func(scan func(...any) error) error {
			p, _, err := scanPerson(scan)
			if err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read persons: %w", err)
	}
	return out, nil
}

func personNotFound(id string) error {
	return storage.Errorf(store.ErrNotFound, "person %s not found", id)
}

// Why pickOwner chose no person.
var (
	errNoPerson        = errors.New("no such person within reach")
	errAmbiguousPerson = errors.New("several persons within reach share the id")
)

// pickOwner chooses, among the owners of the live persons within reach that share an
// id, the one a reference with owner want names (see store.PersonRef): want itself;
// without want, the caller's own namespace own, else the only one.
func pickOwner(owners []string, own, want string) (string, error) {
	switch {
	case want != "":
		if slices.Contains(owners, want) {
			return want, nil
		}
		return "", errNoPerson
	case len(owners) == 0:
		return "", errNoPerson
	case slices.Contains(owners, own):
		return own, nil
	case len(owners) > 1:
		return "", errAmbiguousPerson
	}
	return owners[0], nil
}

// person returns the live person within s that ref names.
func (c *Core) person(ctx context.Context, q sqlstore.Q, s store.Scope, ref store.PersonRef) (*casesv1.Person, error) {
	ps, err := c.persons(ctx, q, s, "p.id = ?", []any{ref.ID}, "")
	if err != nil {
		return nil, err
	}
	owners := make([]string, len(ps))
	for i, p := range ps {
		owners[i] = p.OrganizationId
	}
	owner, err := pickOwner(owners, s.PersonOwner, ref.Owner)
	switch {
	case errors.Is(err, errAmbiguousPerson):
		return nil, storage.FieldErrorf(store.ErrAmbiguousPerson, "organization_id",
			"several persons within your reach have id %s: name the owner (organization_id)", ref.ID)
	case err != nil:
		return nil, personNotFound(ref.ID)
	}
	return ps[slices.Index(owners, owner)], nil
}

// GetPerson implements store.Store.
func (c *Core) GetPerson(ctx context.Context, a store.Actor, s store.Scope, ref store.PersonRef) (*casesv1.Person, error) {
	p, err := c.person(ctx, c.db.Read(), s, ref)
	if err != nil {
		return nil, err
	}
	if err := c.auditPersons(ctx, a, []*casesv1.Person{p}); err != nil {
		return nil, err
	}
	return p, nil
}

func refOf(p *casesv1.Person) store.PersonRef {
	return store.PersonRef{ID: p.GetId(), Owner: p.GetOrganizationId()}
}

func (c *Core) auditPersons(ctx context.Context, a store.Actor, ps []*casesv1.Person) error {
	if len(ps) == 0 {
		return nil
	}
	refs := make([]store.PersonRef, len(ps))
	for i, p := range ps {
		refs[i] = refOf(p)
	}
	rows, err := personAudits(ctx, c.db.Read(), store.ActionRead, refs)
	if err != nil {
		return err
	}
	return c.auditRead(ctx, a, rows)
}

// ListPersons implements store.Store.
func (c *Core) ListPersons(ctx context.Context, a store.Actor, s store.Scope, after store.PersonRef, limit int) ([]*casesv1.Person, error) {
	tail := ""
	if limit > 0 {
		tail = " LIMIT " + strconv.Itoa(limit)
	}
	ps, err := c.persons(ctx, c.db.Read(), s, "(p.id > ? OR (p.id = ? AND p.organization_id > ?))", []any{after.ID, after.ID, after.Owner}, tail)
	if err != nil {
		return nil, err
	}
	if err := c.auditPersons(ctx, a, ps); err != nil {
		return nil, err
	}
	return ps, nil
}

// UpdatePerson implements store.Store.
func (c *Core) UpdatePerson(ctx context.Context, a store.Actor, s store.Scope, ref store.PersonRef, fn store.PersonMutator) (*casesv1.Person, error) {
	var out *casesv1.Person
	err := c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		cur, err := c.person(ctx, q, s, ref)
		if err != nil {
			return err
		}
		key := refOf(cur)
		next, err := fn(proto.CloneOf(cur)) // a copy: cur is compared with the result
		if err != nil {
			return err
		}
		next = cloneBare(next)
		next.Id, next.OrganizationId = cur.Id, cur.OrganizationId
		doc, err := personDoc(next)
		if err != nil {
			return fmt.Errorf("person document: %w", err)
		}
		if same, err := personDoc(cur); err == nil && same == doc {
			// Nothing changes: no new version, no feed entry, no write in the audit log;
			// the person is returned, so the read is audited.
			out = cur
			rows, err := personAudits(ctx, q, store.ActionRead, []store.PersonRef{key})
			if err != nil {
				return err
			}
			return c.audit(ctx, q, a, rows)
		}
		now := nowUs()
		n, err := q.Exec(ctx, `UPDATE persons SET version = version + 1, update_us = ?, doc = ?
			WHERE organization_id = ? AND id = ? AND version = ? AND deleted = 0`,
			now, doc, key.Owner, key.ID, cur.Version)
		if err != nil {
			return fmt.Errorf("update person: %w", err)
		}
		if n == 0 {
			return storage.Errorf(store.ErrConflict, "person %s was changed meanwhile: read it again", key.ID)
		}
		next.Version = cur.Version + 1
		next.Etag = strconv.Itoa(int(next.Version))
		next.CreateTime, next.UpdateTime = cur.CreateTime, ts(now)
		out = next
		log.Append(personChange(next, changelog.OpUpsert))
		rows, err := personAudits(ctx, q, store.ActionUpdate, []store.PersonRef{key})
		if err != nil {
			return err
		}
		return c.audit(ctx, q, a, rows)
	})
	return out, err
}

// DeletePerson implements store.Store.
func (c *Core) DeletePerson(ctx context.Context, a store.Actor, s store.Scope, ref store.PersonRef, etag string) error {
	return c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		cur, err := c.person(ctx, q, s, ref)
		if err != nil {
			return err
		}
		key := refOf(cur)
		if etag != "" && etag != cur.Etag {
			return storage.FieldErrorf(store.ErrConflict, "etag", "person %s is at version %s, not %s", key.ID, cur.Etag, etag)
		}
		doc, err := personDoc(&casesv1.Person{Id: cur.Id, OrganizationId: cur.OrganizationId})
		if err != nil {
			return fmt.Errorf("person document: %w", err)
		}
		n, err := q.Exec(ctx, `UPDATE persons SET version = version + 1, deleted = 1, update_us = ?, doc = ?
			WHERE organization_id = ? AND id = ? AND version = ?`,
			nowUs(), doc, key.Owner, key.ID, cur.Version)
		if err != nil {
			return fmt.Errorf("delete person: %w", err)
		}
		if n == 0 {
			return storage.Errorf(store.ErrConflict, "person %s was changed meanwhile: read it again", key.ID)
		}
		log.Append(personChange(cur, changelog.OpDelete))
		rows, err := personAudits(ctx, q, store.ActionDelete, []store.PersonRef{key})
		if err != nil {
			return err
		}
		return c.audit(ctx, q, a, rows)
	})
}

// ---------------------------------------------------------------- cases

const caseCols = `c.id, c.version, c.deleted, c.create_us, c.update_us, c.content_hash, c.doc, c.person_owner`

type caseRow struct {
	c       *casesv1.Case
	deleted bool
	hash    string
}

func scanCase(scan func(...any) error) (caseRow, error) {
	var id, hash, doc, personOwner string
	var version, deleted, created, updated int64
	if err := scan(&id, &version, &deleted, &created, &updated, &hash, &doc, &personOwner); err != nil {
		return caseRow{}, err
	}
	k := &casesv1.Case{}
	if err := protojson.Unmarshal([]byte(doc), k); err != nil {
		return caseRow{}, fmt.Errorf("case %s document: %w", id, err)
	}
	k.Id, k.Version, k.PersonOrganizationId = id, int32(version), personOwner
	k.Etag = strconv.FormatInt(version, 10)
	k.CreateTime, k.UpdateTime = ts(created), ts(updated)
	return caseRow{c: k, deleted: deleted != 0, hash: hash}, nil
}

// caseDoc is the stored document of k: the case without version, etag and times (they
// live in columns).
func caseDoc(k *casesv1.Case) (string, error) {
	raw, err := appendCaseJSON(make([]byte, 0, 256), k, false)
	return string(raw), err
}

// caseChange is the change-log entry of k: the whole Case as protojson.
func caseChange(k *casesv1.Case, op changelog.Op) (changelog.Entry, error) {
	payload, err := appendCaseJSON(make([]byte, 0, 384), k, true)
	if err != nil {
		return changelog.Entry{}, fmt.Errorf("case payload: %w", err)
	}
	return changelog.Entry{Topic: store.TopicCase, Key: k.GetId(), Op: op, Payload: payload}, nil
}

func (c *Core) cases(ctx context.Context, q sqlstore.Q, s store.Scope, where string, args []any, tail string) ([]caseRow, error) {
	cond := caseCond(s, &args)
	var out []caseRow
	err := q.Query(ctx, `SELECT `+caseCols+` FROM cases c WHERE `+where+` AND `+cond+` ORDER BY c.id`+tail, args,
		func(scan func(...any) error) error {
			r, err := scanCase(scan)
			if err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	return out, nil
}

func caseNotFound(id string) error {
	return storage.Errorf(store.ErrNotFound, "case %s not found", id)
}

// resolveCasePerson sets k.PersonOrganizationId to the owner of the live person within s
// that k's person_id (and person_organization_id, when given) names, and k.AgeBand to
// that person's age band now; a person that does not exist and one outside s are
// refused alike.
func (c *Core) resolveCasePerson(ctx context.Context, q sqlstore.Q, s store.Scope, k *casesv1.Case) error {
	if k.PersonId == "" {
		k.PersonOrganizationId, k.AgeBand = "", ""
		return nil
	}
	p, err := c.person(ctx, q, s, store.PersonRef{ID: k.PersonId, Owner: k.PersonOrganizationId})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return personMissing(k.PersonId)
	case errors.Is(err, store.ErrAmbiguousPerson):
		return storage.FieldErrorf(store.ErrAmbiguousPerson, "case.person_organization_id",
			"several persons within your reach have id %s: name the owner (person_organization_id)", k.PersonId)
	case err != nil:
		return err
	}
	k.PersonOrganizationId, k.AgeBand = p.OrganizationId, store.AgeBand(p.GetBirthDate(), time.Now())
	return nil
}

func personMissing(id string) error {
	return storage.FieldErrorf(store.ErrFailedPrecondition, "case.person_id", "person %s does not exist or is not visible to you", id)
}

// insertCase writes a new case (version 1), its key owned by owner, and its change and
// audit entries; k's person is resolved (resolveCasePerson or batchPersons.resolve).
func (c *Core) insertCase(ctx context.Context, q sqlstore.Q, a store.Actor, log changelog.Appender, owner string, k *casesv1.Case) error {
	doc, err := caseDoc(k)
	if err != nil {
		return fmt.Errorf("case document: %w", err)
	}
	now := nowUs()
	_, err = q.Exec(ctx, `INSERT INTO cases (id, person_id, organization_id, district_code, municipality_code, category, phase,
		source, external_id, version, deleted, create_us, update_us, content_hash, doc, key_owner, person_owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?, ?, ?, ?, ?)`,
		k.Id, k.PersonId, k.OrganizationId, k.DistrictCode, k.MunicipalityCode, int64(k.Category), int64(k.Phase),
		k.Source, k.ExternalId, now, now, store.ContentHash(k), doc, owner, k.PersonOrganizationId)
	if errors.Is(err, sqlstore.ErrUnique) {
		return storage.FieldErrorf(store.ErrAlreadyExists, "case.id", "case %s (or %s/%s) already exists", k.Id, k.Source, k.ExternalId)
	}
	if err != nil {
		return fmt.Errorf("insert case: %w", err)
	}
	k.Version, k.Etag, k.CreateTime, k.UpdateTime = 1, "1", ts(now), ts(now)
	e, err := caseChange(k, changelog.OpUpsert)
	if err != nil {
		return err
	}
	log.Append(e)
	return c.audit(ctx, q, a, []auditRow{caseAudit(store.ActionCreate, k)})
}

// updateCase writes next over cur (version + 1) and its change and audit entries; a
// concurrent write since cur was read is a conflict.
func (c *Core) updateCase(ctx context.Context, q sqlstore.Q, a store.Actor, log changelog.Appender, cur, next *casesv1.Case) error {
	next.Id, next.CreateTime = cur.Id, cur.CreateTime
	if next.PersonId == cur.PersonId && next.PersonOrganizationId == cur.PersonOrganizationId {
		next.AgeBand = cur.AgeBand // the same person: the band of when they were set
	} // else next's person was resolved, its age band with it

	doc, err := caseDoc(next)
	if err != nil {
		return fmt.Errorf("case document: %w", err)
	}
	now := nowUs()
	n, err := q.Exec(ctx, `UPDATE cases SET person_id = ?, person_owner = ?, organization_id = ?, district_code = ?, municipality_code = ?,
		category = ?, phase = ?, source = ?, external_id = ?, version = version + 1, update_us = ?, content_hash = ?, doc = ?
		WHERE id = ? AND version = ? AND deleted = 0`,
		next.PersonId, next.PersonOrganizationId, next.OrganizationId, next.DistrictCode, next.MunicipalityCode, int64(next.Category), int64(next.Phase),
		next.Source, next.ExternalId, now, store.ContentHash(next), doc, cur.Id, cur.Version)
	if errors.Is(err, sqlstore.ErrUnique) {
		return storage.FieldErrorf(store.ErrAlreadyExists, "case.external_id", "another case has source %s and external id %s", next.Source, next.ExternalId)
	}
	if err != nil {
		return fmt.Errorf("update case: %w", err)
	}
	if n == 0 {
		return storage.Errorf(store.ErrConflict, "case %s was changed meanwhile: read it again", cur.Id)
	}
	next.Version = cur.Version + 1
	next.Etag = strconv.Itoa(int(next.Version))
	next.UpdateTime = ts(now)
	e, err := caseChange(next, changelog.OpUpsert)
	if err != nil {
		return err
	}
	log.Append(e)
	return c.audit(ctx, q, a, []auditRow{caseAudit(store.ActionUpdate, next)})
}

// CreateCase implements store.Store.
func (c *Core) CreateCase(ctx context.Context, a store.Actor, s store.Scope, k *casesv1.Case) (*casesv1.Case, error) {
	k = cloneCase(k)
	if k.Id == "" {
		k.Id = newCaseID()
	}
	if k.Source == "" {
		k.Source = "ponte"
	}
	if k.ExternalId == "" {
		k.ExternalId = k.Id
	}
	err := c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		if err := c.resolveCasePerson(ctx, q, s, k); err != nil {
			return err
		}
		return c.insertCase(ctx, q, a, log, s.PersonOwner, k)
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// newCaseID is a new case's id: a UUIDv7, so ids grow with time and a batch's new cases
// (and their audit rows) land at the right end of the indexes on id instead of on
// random pages of them. (The creation time it carries is in the case anyway.)
func newCaseID() string {
	id, err := uuid.NewV7()
	if err != nil { // only when the system's random source fails
		return uuid.NewString()
	}
	return id.String()
}

func cloneCase(k *casesv1.Case) *casesv1.Case {
	d := &casesv1.Case{}
	*d = casesv1.Case{
		Id: k.GetId(), PersonId: k.GetPersonId(), OrganizationId: k.GetOrganizationId(), DistrictCode: k.GetDistrictCode(),
		MunicipalityCode: k.GetMunicipalityCode(), Category: k.GetCategory(), Needs: append([]string(nil), k.GetNeeds()...), Phase: k.GetPhase(),
		AssignedOperator: k.GetAssignedOperator(), Source: k.GetSource(), ExternalId: k.GetExternalId(),
		Version: k.GetVersion(), Etag: k.GetEtag(), CreateTime: k.GetCreateTime(), UpdateTime: k.GetUpdateTime(), AgeBand: k.GetAgeBand(),
		PersonOrganizationId: k.GetPersonOrganizationId(),
	}
	return d
}

// GetCase implements store.Store.
func (c *Core) GetCase(ctx context.Context, a store.Actor, s store.Scope, id string) (*casesv1.Case, error) {
	rows, err := c.cases(ctx, c.db.Read(), s, "c.deleted = 0 AND c.id = ?", []any{id}, "")
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, caseNotFound(id)
	}
	if err := c.auditRead(ctx, a, []auditRow{caseAudit(store.ActionRead, rows[0].c)}); err != nil {
		return nil, err
	}
	return rows[0].c, nil
}

// ListCases implements store.Store.
func (c *Core) ListCases(ctx context.Context, a store.Actor, s store.Scope, f store.CaseFilter) ([]*casesv1.Case, error) {
	conds := []string{"c.deleted = 0", "c.id > ?"}
	args := []any{f.After}
	if f.Phase != 0 {
		conds = append(conds, "c.phase = ?")
		args = append(args, int64(f.Phase))
	}
	if f.Category != 0 {
		conds = append(conds, "c.category = ?")
		args = append(args, int64(f.Category))
	}
	if f.OrganizationID != "" {
		conds = append(conds, "c.organization_id = ?")
		args = append(args, f.OrganizationID)
	}
	if f.PersonID != "" {
		conds = append(conds, "c.person_id = ?")
		args = append(args, f.PersonID)
	}
	if f.UpdatedSinceUs != 0 {
		conds = append(conds, "c.update_us >= ?")
		args = append(args, f.UpdatedSinceUs)
	}
	if f.Territory != nil {
		conds = append(conds, caseCond(*f.Territory, &args))
	}
	tail := ""
	if f.Limit > 0 {
		tail = " LIMIT " + strconv.Itoa(f.Limit)
	}
	rows, err := c.cases(ctx, c.db.Read(), s, strings.Join(conds, " AND "), args, tail)
	if err != nil {
		return nil, err
	}
	out := make([]*casesv1.Case, len(rows))
	audits := make([]auditRow, len(rows))
	for i, r := range rows {
		out[i] = r.c
		audits[i] = caseAudit(store.ActionRead, r.c)
	}
	if err := c.auditRead(ctx, a, audits); err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateCase implements store.Store.
func (c *Core) UpdateCase(ctx context.Context, a store.Actor, s store.Scope, id string, fn store.CaseMutator) (*casesv1.Case, error) {
	var out *casesv1.Case
	err := c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		rows, err := c.cases(ctx, q, s, "c.deleted = 0 AND c.id = ?", []any{id}, "")
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return caseNotFound(id)
		}
		cur := rows[0].c
		next, ev, err := fn(cloneCase(cur))
		if err != nil {
			return err
		}
		next = cloneCase(next)
		switch {
		case next.PersonId == "":
			next.PersonOrganizationId = ""
		case next.PersonId == cur.PersonId && next.PersonOrganizationId == "":
			next.PersonOrganizationId = cur.PersonOrganizationId // the same person
		case next.PersonId != cur.PersonId && next.PersonOrganizationId == cur.PersonOrganizationId:
			// Another person, the owner not named anew: resolved afresh (store.PersonRef).
			next.PersonOrganizationId = ""
		}
		if next.PersonId != cur.PersonId || next.PersonOrganizationId != cur.PersonOrganizationId {
			if err := c.resolveCasePerson(ctx, q, s, next); err != nil {
				return err
			}
		}
		if ev == nil && store.ContentHash(next) == rows[0].hash && next.PersonOrganizationId == cur.PersonOrganizationId {
			// Nothing changes: no new version, no feed entry, no write in the audit log;
			// the case is returned, so the read is audited.
			out = cur
			return c.audit(ctx, q, a, []auditRow{caseAudit(store.ActionRead, cur)})
		}
		if err := c.updateCase(ctx, q, a, log, cur, next); err != nil {
			return err
		}
		if ev != nil {
			if _, err := c.insertEvent(ctx, q, a, id, ev); err != nil {
				return err
			}
		}
		out = next
		return nil
	})
	return out, err
}

// DeleteCase implements store.Store.
func (c *Core) DeleteCase(ctx context.Context, a store.Actor, s store.Scope, id, etag string) error {
	return c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		rows, err := c.cases(ctx, q, s, "c.deleted = 0 AND c.id = ?", []any{id}, "")
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return caseNotFound(id)
		}
		cur := rows[0].c
		if etag != "" && etag != cur.Etag {
			return storage.FieldErrorf(store.ErrConflict, "etag", "case %s is at version %s, not %s", id, cur.Etag, etag)
		}
		now := nowUs()
		n, err := q.Exec(ctx, `UPDATE cases SET version = version + 1, deleted = 1, update_us = ? WHERE id = ? AND version = ?`, now, id, cur.Version)
		if err != nil {
			return fmt.Errorf("delete case: %w", err)
		}
		if n == 0 {
			return storage.Errorf(store.ErrConflict, "case %s was changed meanwhile: read it again", id)
		}
		cur.Version++
		cur.Etag = strconv.Itoa(int(cur.Version))
		cur.UpdateTime = ts(now)
		e, err := caseChange(cur, changelog.OpDelete)
		if err != nil {
			return err
		}
		log.Append(e)
		return c.audit(ctx, q, a, []auditRow{caseAudit(store.ActionDelete, cur)})
	})
}

// ---------------------------------------------------------------- events

func (c *Core) insertEvent(ctx context.Context, q sqlstore.Q, a store.Actor, caseID string, ev *casesv1.CaseEvent) (*casesv1.CaseEvent, error) {
	ev = cloneEvent(ev)
	ev.Id, ev.CaseId, ev.Author = "", caseID, a.Subject
	now := nowUs()
	if ev.OccurTime == nil {
		ev.OccurTime = ts(now)
	}
	ev.CreateTime = ts(now)
	raw, err := marshal.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("event document: %w", err)
	}
	var seq int64
	err = q.Query(ctx, `INSERT INTO case_events (case_id, create_us, doc) VALUES (?, ?, ?) RETURNING seq`,
		[]any{caseID, now, string(raw)}, func(scan func(...any) error) error { return scan(&seq) })
	if err != nil {
		return nil, fmt.Errorf("insert case event: %w", err)
	}
	ev.Id = strconv.FormatInt(seq, 10)
	return ev, nil
}

func cloneEvent(ev *casesv1.CaseEvent) *casesv1.CaseEvent {
	raw, err := marshal.Marshal(ev)
	if err != nil {
		panic(err) // an event always marshals
	}
	out := &casesv1.CaseEvent{}
	if err := protojson.Unmarshal(raw, out); err != nil {
		panic(err)
	}
	return out
}

// AddCaseEvent implements store.Store.
func (c *Core) AddCaseEvent(ctx context.Context, a store.Actor, s store.Scope, caseID string, ev *casesv1.CaseEvent) (*casesv1.CaseEvent, error) {
	var out *casesv1.CaseEvent
	err := c.db.Write(ctx, func(ctx context.Context, q sqlstore.Q, log changelog.Appender) error {
		rows, err := c.cases(ctx, q, s, "c.deleted = 0 AND c.id = ?", []any{caseID}, "")
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return caseNotFound(caseID)
		}
		out, err = c.insertEvent(ctx, q, a, caseID, ev)
		if err != nil {
			return err
		}
		// The entry tells the reporting projection that the case has a new event; the
		// case itself is unchanged (same version).
		e, err := caseChange(rows[0].c, changelog.OpUpsert)
		if err != nil {
			return err
		}
		e.Topic = store.TopicCaseEvent
		log.Append(e)
		return c.audit(ctx, q, a, []auditRow{caseAudit(store.ActionUpdate, rows[0].c)})
	})
	return out, err
}

// ListCaseEvents implements store.Store.
func (c *Core) ListCaseEvents(ctx context.Context, a store.Actor, s store.Scope, caseID string, after int64, limit int) ([]*casesv1.CaseEvent, error) {
	rows, err := c.cases(ctx, c.db.Read(), s, "c.deleted = 0 AND c.id = ?", []any{caseID}, "")
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, caseNotFound(caseID)
	}
	query := `SELECT seq, doc FROM case_events WHERE case_id = ? AND seq > ? ORDER BY seq`
	if limit > 0 {
		query += " LIMIT " + strconv.Itoa(limit)
	}
	var out []*casesv1.CaseEvent
	err = c.db.Read().Query(ctx, query, []any{caseID, after}, func(scan func(...any) error) error {
		var seq int64
		var doc string
		if err := scan(&seq, &doc); err != nil {
			return err
		}
		ev := &casesv1.CaseEvent{}
		if err := protojson.Unmarshal([]byte(doc), ev); err != nil {
			return fmt.Errorf("event %d document: %w", seq, err)
		}
		ev.Id = strconv.FormatInt(seq, 10)
		out = append(out, ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list case events: %w", err)
	}
	if err := c.auditRead(ctx, a, []auditRow{caseAudit(store.ActionRead, rows[0].c)}); err != nil {
		return nil, err
	}
	return out, nil
}

// ReportingEvents implements store.Store.
func (c *Core) ReportingEvents(ctx context.Context, caseIDs []string) (map[string][]*casesv1.CaseEvent, error) {
	out := map[string][]*casesv1.CaseEvent{}
	if len(caseIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(caseIDs))
	for i, id := range caseIDs {
		args[i] = id
	}
	query := `SELECT seq, case_id, doc FROM case_events WHERE case_id IN (` + sqlstore.Placeholders(len(caseIDs)) + `) ORDER BY seq`
	err := c.db.Read().Query(ctx, query, args, func(scan func(...any) error) error {
		var seq int64
		var caseID, doc string
		if err := scan(&seq, &caseID, &doc); err != nil {
			return err
		}
		ev := &casesv1.CaseEvent{}
		if err := protojson.Unmarshal([]byte(doc), ev); err != nil {
			return fmt.Errorf("event %d document: %w", seq, err)
		}
		ev.Id = strconv.FormatInt(seq, 10)
		out[caseID] = append(out[caseID], ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the events of %d cases: %w", len(caseIDs), err)
	}
	return out, nil
}

// ---------------------------------------------------------------- batch upsert

func result(idx int32, o casesv1.UpsertOutcome, id string, version int32, reason, field string) *casesv1.CaseUpsertResult {
	return &casesv1.CaseUpsertResult{Index: idx, Outcome: o, Id: id, Version: version, Reason: reason, Field: field}
}

func (c *Core) upsertOne(ctx context.Context, q sqlstore.Q, a store.Actor, s store.Scope, log changelog.Appender, it store.UpsertItem, persons batchPersons) (*casesv1.CaseUpsertResult, error) {
	k := cloneCase(it.Case)
	var cur *caseRow
	err := q.Query(ctx, `SELECT `+caseCols+` FROM cases c WHERE c.key_owner = ? AND c.source = ? AND c.external_id = ?`, []any{s.PersonOwner, k.Source, k.ExternalId},
		func(scan func(...any) error) error {
			r, err := scanCase(scan)
			cur = &r
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("read case %s/%s: %w", k.Source, k.ExternalId, err)
	}
	if refused := persons.resolve(s, it, k); refused != nil {
		return refused, nil
	}
	if cur == nil {
		if it.ExpectedVersion != 0 {
			return result(it.Index, casesv1.UpsertOutcome_UPSERT_OUTCOME_CONFLICT, "", 0,
				fmt.Sprintf("the case does not exist, expected version %d", it.ExpectedVersion), "expected_version"), nil
		}
		k.Id = newCaseID()
		if k.Phase == casesv1.Phase_PHASE_UNSPECIFIED {
			k.Phase = casesv1.Phase_PHASE_INTAKE
		}
		if err := c.insertCase(ctx, q, a, log, s.PersonOwner, k); err != nil {
			return nil, err
		}
		return result(it.Index, casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED, k.Id, k.Version, "", ""), nil
	}
	return c.upsertExisting(ctx, q, a, s, log, it, k, *cur)
}

// upsertExisting applies item it (its case k) to the stored case cur.
func (c *Core) upsertExisting(ctx context.Context, q sqlstore.Q, a store.Actor, s store.Scope, log changelog.Appender, it store.UpsertItem, k *casesv1.Case, cur caseRow) (*casesv1.CaseUpsertResult, error) {
	old := cur.c
	switch {
	case !s.CoversCase(old):
		return result(it.Index, casesv1.UpsertOutcome_UPSERT_OUTCOME_INVALID, "", 0,
			"a case with this source and external id exists outside your reach", "case.external_id"), nil
	case cur.deleted:
		return result(it.Index, casesv1.UpsertOutcome_UPSERT_OUTCOME_CONFLICT, old.Id, old.Version,
			"the case was deleted", ""), nil
	case it.ExpectedVersion != 0 && it.ExpectedVersion != old.Version:
		return result(it.Index, casesv1.UpsertOutcome_UPSERT_OUTCOME_CONFLICT, old.Id, old.Version,
			fmt.Sprintf("the case is at version %d, expected %d", old.Version, it.ExpectedVersion), "expected_version"), nil
	}
	if k.Phase == casesv1.Phase_PHASE_UNSPECIFIED {
		k.Phase = old.Phase
	}
	k.Id = old.Id
	if store.ContentHash(k) == cur.hash && k.PersonOrganizationId == old.PersonOrganizationId {
		return result(it.Index, casesv1.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED, old.Id, old.Version, "", ""), nil
	}
	if err := c.updateCase(ctx, q, a, log, old, k); err != nil {
		return nil, err
	}
	return result(it.Index, casesv1.UpsertOutcome_UPSERT_OUTCOME_UPDATED, k.Id, k.Version, "", ""), nil
}

// ---------------------------------------------------------------- the rest

// Changes implements store.Store.
func (c *Core) Changes() changelog.Feed { return c.db.Feed() }

// Ready implements store.Store.
func (c *Core) Ready(ctx context.Context) error { return c.db.Ready(ctx) }

// Close implements store.Store.
func (c *Core) Close() error { return c.db.Close() }
