// Package store is the directory's repository interface and its errors. Implementations
// (postgres, sqlite) must pass storetest.Run.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
)

// Errors a Store returns, wrapped or as *storage.Error.
var (
	ErrNotFound           = storage.ErrNotFound
	ErrAlreadyExists      = storage.ErrAlreadyExists
	ErrFailedPrecondition = storage.ErrFailedPrecondition
)

// TopicDistrict is the change-log topic of district records; payload: the District as JSON.
const TopicDistrict = "district"

// District is an ambito territoriale: a named group of municipalities within one region.
type District struct {
	Code           string    `json:"code"`
	Name           string    `json:"name"`
	RegionCode     string    `json:"region_code"`
	Municipalities []string  `json:"municipalities"` // six-digit ISTAT codes, sorted
	CreateTime     time.Time `json:"create_time"`
}

// Store keeps the directory's records.
type Store interface {
	// CreateDistrict stores d (its CreateTime is set by the store) and records it in the
	// change log in the same transaction. It must return ErrAlreadyExists if the code is
	// taken, and a *storage.Error of kind ErrFailedPrecondition naming the field
	// "territory.municipality_codes" if a municipality already belongs to another
	// district; then nothing is written.
	CreateDistrict(ctx context.Context, d District) (District, error)
	// GetDistrict must return ErrNotFound if there is no district with that code.
	GetDistrict(ctx context.Context, code string) (District, error)
	// ListDistricts returns every district, ordered by code, with sorted municipalities.
	ListDistricts(ctx context.Context) ([]District, error)
	// Records keeps organizations, services, locations and taxonomy terms.
	Records
	// Mirror applies the changes of upstream directory nodes.
	Mirror
	// Changes is the directory's change feed.
	Changes() changelog.Feed
	// Ready returns nil when the store is reachable and its schema is current.
	Ready(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// ChangeEntry is the change-log entry that records d's creation or update.
func ChangeEntry(d District) changelog.Entry {
	payload, err := json.Marshal(d)
	if err != nil { // a District always marshals
		panic(err)
	}
	return changelog.Entry{Topic: TopicDistrict, Key: d.Code, Op: changelog.OpUpsert, Payload: payload}
}

// MunicipalityTakenError is the error a store returns when municipality already belongs
// to district.
func MunicipalityTakenError(municipality, district string) error {
	return storage.FieldErrorf(ErrFailedPrecondition, "territory.municipality_codes",
		"municipality %s already belongs to district %s", municipality, district)
}

// Kind is the type of a directory record; it is also its change-log topic.
type Kind string

// The kinds of directory records.
const (
	KindOrganization Kind = "organization"
	KindService      Kind = "service"
	KindLocation     Kind = "location"
	KindTaxonomyTerm Kind = "taxonomy_term"
)

// ErrConflict is returned for a stale etag.
var ErrConflict = storage.ErrConflict

// Ref is a reference from a record to another record that must exist when the record
// is written (a service's taxonomy terms and locations, a term's parent...). Field is
// the request field named in the error when it does not.
type Ref struct {
	Kind  Kind
	ID    string
	Field string
}

// Record is one organization, service, location or taxonomy term: its document (the
// record as protojson, owned by the caller) and the columns the store indexes.
type Record struct {
	Kind           Kind
	ID             string
	OrganizationID string // owner; empty for built-in taxonomy terms
	Doc            []byte // protojson of the record, without etag and times
	Etag           string // set by the store on every write
	CreateTime     time.Time
	UpdateTime     time.Time
	// Origin is the upstream node the record is mirrored from; empty for this node's own.
	Origin string

	// Municipality, Province, Region: ISTAT codes of a location or an organization's
	// seat, which authorization reads.
	Municipality, Province, Region string
	// Refs are the records this one points to; the store checks they exist and keeps
	// them so that search can follow them and delete can refuse to orphan them.
	Refs []Ref
}

// ListFilter selects records for ListRecords, in id order.
type ListFilter struct {
	OrganizationID string // only this owner's records; empty: all
	After          string // only ids greater than this
	Limit          int    // at most this many; <= 0: all
}

// Records is the part of the store that keeps organizations, services, locations and
// taxonomy terms. Every write appends to the change log in its transaction, with the
// record's kind as topic, its id as key, and its document with etag and times as
// payload (upserts) or no payload (deletes).
type Records interface {
	// CreateRecord stores r and returns it with Etag and times set. It must return
	// ErrAlreadyExists if a record of that kind has that id, and a *storage.Error of
	// kind ErrFailedPrecondition naming the Ref's Field if a Ref does not exist.
	CreateRecord(ctx context.Context, r Record) (Record, error)
	// GetRecord must return ErrNotFound if there is no such record.
	GetRecord(ctx context.Context, kind Kind, id string) (Record, error)
	// GetRecords returns the records of kind with the given ids that exist, in id order.
	GetRecords(ctx context.Context, kind Kind, ids []string) ([]Record, error)
	// ListRecords returns records of kind in id order.
	ListRecords(ctx context.Context, kind Kind, f ListFilter) ([]Record, error)
	// UpdateRecord replaces the record r.Kind/r.ID. It must return ErrNotFound if it does
	// not exist, ErrConflict if etag is not empty and not the current etag, and the
	// errors of CreateRecord for its Refs.
	UpdateRecord(ctx context.Context, r Record, etag string) (Record, error)
	// DeleteRecord deletes a record. It must return ErrNotFound if it does not exist,
	// ErrConflict for a stale non-empty etag, and ErrFailedPrecondition if another
	// record refers to it or (organizations) is owned by it.
	DeleteRecord(ctx context.Context, kind Kind, id, etag string) error
}

// RecordChange is the change-log entry of a record's creation or update: its document
// with etag and times merged in.
func RecordChange(r Record) changelog.Entry {
	return changelog.Entry{Topic: string(r.Kind), Key: r.ID, Op: changelog.OpUpsert, Payload: r.Payload()}
}

// Payload is r's document with its etag and times, as the change log and readers see it.
func (r Record) Payload() []byte {
	var doc map[string]any
	if err := json.Unmarshal(r.Doc, &doc); err != nil || doc == nil {
		doc = map[string]any{}
	}
	doc["etag"] = r.Etag
	doc["createTime"] = r.CreateTime.UTC().Format(time.RFC3339Nano)
	doc["updateTime"] = r.UpdateTime.UTC().Format(time.RFC3339Nano)
	if r.Origin != "" {
		doc["origin"] = r.Origin
	}
	out, err := json.Marshal(doc)
	if err != nil { // a map of JSON values always marshals
		panic(err)
	}
	return out
}

// RecordDelete is the change-log entry of a record's deletion.
func RecordDelete(kind Kind, id string) changelog.Entry {
	return changelog.Entry{Topic: string(kind), Key: id, Op: changelog.OpDelete}
}

// NewEtag returns the etag of a record written at t with document doc.
func NewEtag(doc []byte, t time.Time) string {
	h := sha256.New()
	h.Write(doc)
	h.Write([]byte(t.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// UnknownRefError is the error for a Ref that does not exist.
func UnknownRefError(ref Ref) error {
	return storage.FieldErrorf(ErrFailedPrecondition, ref.Field, "unknown %s %q", strings.ReplaceAll(string(ref.Kind), "_", " "), ref.ID)
}

// InUseError is the error for deleting a record that others refer to.
func InUseError(kind Kind, id string, byKind Kind, byID string) error {
	return storage.Errorf(ErrFailedPrecondition, "%s %q is still used by %s %q", strings.ReplaceAll(string(kind), "_", " "), id, strings.ReplaceAll(string(byKind), "_", " "), byID)
}

// MirrorChange is one change of an upstream directory node, to apply on this one.
type MirrorChange struct {
	// Upstream is the upstream's name; upserted records get it as their Origin.
	Upstream string
	// Position is the change's position in the upstream's log: the cursor after it.
	Position int64
	// Op: changelog.OpUpsert stores Record, changelog.OpDelete deletes Kind/ID, empty
	// only advances the cursor (changes that are not mirrored, such as districts).
	Op   changelog.Op
	Kind Kind
	ID   string
	// Record is the upserted record as the upstream has it: its Etag and times are kept.
	Record Record
}

// MirrorOutcome says what ApplyMirrorChange did.
type MirrorOutcome string

// The outcomes of ApplyMirrorChange.
const (
	// MirrorApplied: the record was upserted or deleted (a delete of a record this node
	// does not have is applied as nothing), and the change logged on this node.
	MirrorApplied MirrorOutcome = "applied"
	// MirrorSkipped: only the cursor moved (no Op).
	MirrorSkipped MirrorOutcome = "skipped"
	// MirrorCollision: this node has a record of that kind and id with another origin
	// (its own, or another upstream's); it was left alone and the cursor moved.
	MirrorCollision MirrorOutcome = "collision"
	// MirrorDuplicate: the change is at or before the stored cursor; nothing was done.
	MirrorDuplicate MirrorOutcome = "duplicate"
)

// Mirror is the part of the store that applies upstream changes.
type Mirror interface {
	// MirrorCursor returns the position of the last change of upstream applied here, 0
	// when none.
	MirrorCursor(ctx context.Context, upstream string) (int64, error)
	// ApplyMirrorChange applies c and moves upstream's cursor to c.Position in one
	// transaction, so that a change is never applied twice nor skipped across crashes.
	// Upserts replace the record (columns, references and document, with the upstream's
	// etag and times) with Origin c.Upstream, without checking references (the upstream
	// did); deletes remove it without checking who refers to it. Both append to this
	// node's change log. See MirrorOutcome for what is left alone.
	ApplyMirrorChange(ctx context.Context, c MirrorChange) (MirrorOutcome, error)
}
