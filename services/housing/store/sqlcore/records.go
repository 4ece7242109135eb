package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/sqlstore"
	"github.com/ponte-network/ponte/services/housing/store"
)

func nowUs() int64 { return time.Now().UnixMicro() }

func ts(us int64) *timestamppb.Timestamp { return timestamppb.New(time.UnixMicro(us).UTC()) }

var (
	marshal   = protojson.MarshalOptions{}
	unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// errRace is returned inside a write when a version-checked UPDATE found the row
// changed: the whole transaction is run again on the rows as they are now.
var errRace = errors.New("record changed by a concurrent write")

// kind describes one record table: its filter columns (after id), how to read them from
// the record, and its output-only metadata.
type kind[T proto.Message] struct {
	table   string
	name    string   // for messages: "home"
	cols    []string // filter columns after id, before version, written by every write
	fixed   []string // columns written only when inserting (the place of a proposal's home)
	vals    func(T) []any
	id      func(T) string
	meta    func(T, int32, *timestamppb.Timestamp, *timestamppb.Timestamp)
	version func(T) int32
	new     func() T
	topic   string
	redact  func(T) proto.Message
	scope   func(s store.Scope, args *[]any) string // condition on alias r
}

func (k *kind[T]) selectCols() string {
	return "r.id, r.version, r.create_us, r.update_us, r.doc"
}

// list reads the records passing where (on alias r) and the scope, in id order.
func (k *kind[T]) list(ctx context.Context, q sqlstore.Q, s *store.Scope, where string, args []any, tail string) ([]T, error) {
	cond := "1 = 1"
	if s != nil {
		cond = k.scope(*s, &args)
	}
	var out []T
	err := q.Query(ctx, `SELECT `+k.selectCols()+` FROM `+k.table+` r WHERE `+where+` AND `+cond+` ORDER BY r.id`+tail, args,
		func(scan func(...any) error) error {
			var id, doc string
			var version, created, updated int64
			if err := scan(&id, &version, &created, &updated, &doc); err != nil {
				return err
			}
			rec := k.new()
			if err := unmarshal.Unmarshal([]byte(doc), rec); err != nil {
				return fmt.Errorf("%s %s document: %w", k.name, id, err)
			}
			k.meta(rec, int32(version), ts(created), ts(updated))
			out = append(out, rec)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read %ss: %w", k.name, err)
	}
	return out, nil
}

func (k *kind[T]) notFound(id string) error {
	return storage.Errorf(store.ErrNotFound, "%s %s not found", k.name, id)
}

// get reads one record within s (s nil: any).
func (k *kind[T]) get(ctx context.Context, q sqlstore.Q, s *store.Scope, id string) (T, error) {
	recs, err := k.list(ctx, q, s, "r.id = ?", []any{id}, "")
	if err != nil {
		var zero T
		return zero, err
	}
	if len(recs) == 0 {
		var zero T
		return zero, k.notFound(id)
	}
	return recs[0], nil
}

func (k *kind[T]) doc(rec T) (string, error) {
	c := proto.Clone(rec).(T)
	k.meta(c, 0, nil, nil)
	raw, err := marshal.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("%s document: %w", k.name, err)
	}
	return string(raw), nil
}

func (k *kind[T]) change(rec T) (changelog.Entry, error) {
	payload, err := marshal.Marshal(k.redact(rec))
	if err != nil {
		return changelog.Entry{}, fmt.Errorf("%s change: %w", k.name, err)
	}
	return changelog.Entry{Topic: k.topic, Key: k.id(rec), Op: changelog.OpUpsert, Payload: payload}, nil
}

// insert stores rec at version 1 and appends its change.
// fixed holds the values of k.fixed.
func (k *kind[T]) insert(ctx context.Context, q sqlstore.Q, log changelog.Appender, rec T, now int64, fixed ...any) error {
	doc, err := k.doc(rec)
	if err != nil {
		return err
	}
	cols := append(append(append([]string{"id"}, k.cols...), k.fixed...), "version", "create_us", "update_us", "doc")
	args := append(append(append([]any{k.id(rec)}, k.vals(rec)...), fixed...), 1, now, now, doc)
	_, err = q.Exec(ctx, `INSERT INTO `+k.table+` (`+strings.Join(cols, ", ")+`) VALUES (`+sqlstore.Placeholders(len(cols))+`)`, args...)
	if err != nil {
		return err
	}
	k.meta(rec, 1, ts(now), ts(now))
	e, err := k.change(rec)
	if err != nil {
		return err
	}
	log.Append(e)
	return nil
}

// update writes rec over the stored version prev (errRace if it moved) and appends its change.
func (k *kind[T]) update(ctx context.Context, q sqlstore.Q, log changelog.Appender, rec T, prev int32, created *timestamppb.Timestamp, now int64) error {
	doc, err := k.doc(rec)
	if err != nil {
		return err
	}
	sets := make([]string, 0, len(k.cols)+3)
	for _, c := range k.cols {
		sets = append(sets, c+" = ?")
	}
	sets = append(sets, "version = ?", "update_us = ?", "doc = ?")
	args := append(k.vals(rec), prev+1, now, doc, k.id(rec), prev)
	n, err := q.Exec(ctx, `UPDATE `+k.table+` SET `+strings.Join(sets, ", ")+` WHERE id = ? AND version = ?`, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return errRace
	}
	k.meta(rec, prev+1, created, ts(now))
	e, err := k.change(rec)
	if err != nil {
		return err
	}
	log.Append(e)
	return nil
}

func etagOf(v int32) string { return strconv.Itoa(int(v)) }

// placeCond is the desk part of s on a table with district_code and municipality_code.
func placeCond(s store.Scope, args *[]any, extra ...string) string {
	if s.All {
		return "1 = 1"
	}
	parts := extra
	if len(s.Districts) > 0 {
		parts = append(parts, "r.district_code IN ("+sqlstore.Placeholders(len(s.Districts))+")")
		for _, d := range s.Districts {
			*args = append(*args, d)
		}
	}
	for _, p := range s.MunicipalityPrefixes {
		if p == "" {
			continue
		}
		parts = append(parts, "r.municipality_code LIKE ?")
		*args = append(*args, p+"%")
	}
	if len(parts) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

var owners = &kind[*housingv1.Owner]{
	table: "owners", name: "owner", topic: store.TopicOwner,
	cols: []string{"organization_id", "district_code", "status"},
	vals: func(o *housingv1.Owner) []any {
		return []any{o.GetOrganizationId(), o.GetDistrictCode(), int32(o.GetEngagementStatus())}
	},
	id: (*housingv1.Owner).GetId,
	meta: func(o *housingv1.Owner, v int32, c, u *timestamppb.Timestamp) {
		o.Version, o.CreateTime, o.UpdateTime, o.Etag = v, c, u, ""
		if v > 0 {
			o.Etag = etagOf(v)
		}
	},
	version: (*housingv1.Owner).GetVersion,
	new:     func() *housingv1.Owner { return &housingv1.Owner{} },
	redact:  func(o *housingv1.Owner) proto.Message { return store.RedactOwner(o) },
	scope: func(s store.Scope, args *[]any) string {
		if s.All {
			return "1 = 1"
		}
		var parts []string
		if len(s.Districts) > 0 {
			parts = append(parts, "r.district_code IN ("+sqlstore.Placeholders(len(s.Districts))+")")
			for _, d := range s.Districts {
				*args = append(*args, d)
			}
		}
		if s.DeskOrganization != "" {
			parts = append(parts, "r.organization_id = ?")
			*args = append(*args, s.DeskOrganization)
		}
		if len(parts) == 0 {
			return "1 = 0"
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	},
}

var homes = &kind[*housingv1.Home]{
	table: "homes", name: "home", topic: store.TopicHome,
	cols: []string{"owner_id", "organization_id", "district_code", "municipality_code", "status"},
	vals: func(h *housingv1.Home) []any {
		return []any{h.GetOwnerId(), h.GetOrganizationId(), h.GetDistrictCode(), h.GetMunicipalityCode(), int32(h.GetStatus())}
	},
	id: (*housingv1.Home).GetId,
	meta: func(h *housingv1.Home, v int32, c, u *timestamppb.Timestamp) {
		h.Version, h.CreateTime, h.UpdateTime, h.Etag = v, c, u, ""
		if v > 0 {
			h.Etag = etagOf(v)
		}
	},
	version: (*housingv1.Home).GetVersion,
	new:     func() *housingv1.Home { return &housingv1.Home{} },
	redact:  func(h *housingv1.Home) proto.Message { return store.RedactHome(h) },
	scope:   func(s store.Scope, args *[]any) string { return placeCond(s, args) },
}

var requests = &kind[*housingv1.HousingRequest]{
	table: "requests", name: "housing request", topic: store.TopicRequest,
	cols: []string{"case_id", "organization_id", "district_code", "municipality_code", "status"},
	vals: func(r *housingv1.HousingRequest) []any {
		return []any{r.GetCaseId(), r.GetOrganizationId(), r.GetDistrictCode(), r.GetMunicipalityCode(), int32(r.GetStatus())}
	},
	id: (*housingv1.HousingRequest).GetId,
	meta: func(r *housingv1.HousingRequest, v int32, c, u *timestamppb.Timestamp) {
		r.Version, r.CreateTime, r.UpdateTime, r.Etag = v, c, u, ""
		if v > 0 {
			r.Etag = etagOf(v)
		}
	},
	version: (*housingv1.HousingRequest).GetVersion,
	new:     func() *housingv1.HousingRequest { return &housingv1.HousingRequest{} },
	redact:  func(r *housingv1.HousingRequest) proto.Message { return store.RedactRequest(r) },
	scope: func(s store.Scope, args *[]any) string {
		if s.Organization == "" {
			return placeCond(s, args)
		}
		*args = append(*args, s.Organization)
		return placeCond(s, args, "r.organization_id = ?")
	},
}

var proposals = &kind[*housingv1.Proposal]{
	table: "proposals", name: "proposal", topic: store.TopicProposal,
	cols:  []string{"request_id", "home_id", "status"},
	fixed: []string{"district_code", "municipality_code"},
	vals: func(p *housingv1.Proposal) []any {
		return []any{p.GetHousingRequestId(), p.GetHomeId(), int32(p.GetStatus())}
	},
	id: (*housingv1.Proposal).GetId,
	meta: func(p *housingv1.Proposal, v int32, c, u *timestamppb.Timestamp) {
		p.Version, p.CreateTime, p.UpdateTime = v, c, u
	},
	version: (*housingv1.Proposal).GetVersion,
	new:     func() *housingv1.Proposal { return &housingv1.Proposal{} },
	redact:  func(p *housingv1.Proposal) proto.Message { return p },
	scope:   func(s store.Scope, args *[]any) string { return placeCond(s, args) },
}

var viewings = &kind[*housingv1.Viewing]{
	table: "viewings", name: "viewing", topic: store.TopicViewing,
	cols:  []string{"proposal_id", "status"},
	fixed: []string{"district_code", "municipality_code"},
	vals: func(v *housingv1.Viewing) []any {
		return []any{v.GetProposalId(), int32(v.GetStatus())}
	},
	id: (*housingv1.Viewing).GetId,
	meta: func(v *housingv1.Viewing, ver int32, c, u *timestamppb.Timestamp) {
		v.Version, v.CreateTime, v.UpdateTime = ver, c, u
	},
	version: (*housingv1.Viewing).GetVersion,
	new:     func() *housingv1.Viewing { return &housingv1.Viewing{} },
	redact:  func(v *housingv1.Viewing) proto.Message { return v },
	scope:   func(s store.Scope, args *[]any) string { return placeCond(s, args) },
}

var tenancies = &kind[*housingv1.Tenancy]{
	table: "tenancies", name: "tenancy", topic: store.TopicTenancy,
	cols: []string{"proposal_id", "request_id", "home_id", "district_code", "municipality_code", "status"},
	vals: func(t *housingv1.Tenancy) []any {
		return []any{t.GetProposalId(), t.GetHousingRequestId(), t.GetHomeId(), t.GetDistrictCode(), t.GetMunicipalityCode(), int32(t.GetStatus())}
	},
	id: (*housingv1.Tenancy).GetId,
	meta: func(t *housingv1.Tenancy, v int32, c, u *timestamppb.Timestamp) {
		t.Version, t.CreateTime, t.UpdateTime = v, c, u
	},
	version: (*housingv1.Tenancy).GetVersion,
	new:     func() *housingv1.Tenancy { return &housingv1.Tenancy{} },
	redact:  func(t *housingv1.Tenancy) proto.Message { return store.RedactTenancy(t) },
	scope:   func(s store.Scope, args *[]any) string { return placeCond(s, args) },
}
