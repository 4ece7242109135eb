// Package cases is the cases service: the people the network follows, their cases
// through the phases, what happened on each, and the sync with the districts' own case
// systems. New builds it; Register is the only door in.
//
// # Model
//
//   - A person has a pseudonymous id (a UUID unless given) and optional personal data
//     (names, birth date, sex, nationality ISO 3166-1 alpha-2, languages ISO 639,
//     residence municipality ISTAT, tax code) with the GDPR legal basis and consent time.
//     Personal data without a legal basis is refused. Deleting a person erases their
//     data and keeps a tombstone (id, owner, version); their cases keep the id.
//   - A person's organization_id is who registered them: the caller's organization, or
//     "territory:<code>" for district staff without one. It decides who sees the person
//     besides those who see one of their cases.
//   - A case has an optional person (consultations about a situation need none), an
//     id (a UUIDv7 the server assigns), an owning organization (default: the caller's),
//     a district (derived from the municipality; see Tenancy), an ISTAT municipality
//     (required, checked against the
//     catalog), a category from the built-in taxonomy, need codes, a phase, an assigned
//     operator (token subject), source + external_id (unique per key owner; "ponte"
//     and the id when created here) and a version. The etag is the version as a decimal string; a
//     stale etag is refused with ABORTED (409).
//   - Events (consultation, intervention, referral, note, issue tag; phase changes are
//     recorded by TransitionCase only) have sequential ids and are listed oldest first.
//
// # Phases
//
// intake → taken_in_charge → planning → delivery → monitoring → closed, one step
// forward at a time. Back-steps allowed: taken_in_charge → intake, planning →
// taken_in_charge, delivery → planning, monitoring → delivery (the situation changed).
// Any open phase may go straight to closed (the person left, the need vanished), and
// closed → taken_in_charge reopens. Anything else is FAILED_PRECONDITION naming both
// phases. A case is created in intake. Batch upserts mirror the district system's
// phase as sent, without the state machine: that system is the source of truth for
// its cases, and refusing its phases would break the sync.
//
// # Who sees what
//
// partner_admin and partner_operator: the cases of their organization. district_admin
// and district_operator: the cases of their territory — the token's territory claim is
// a district code (cases with that district_code, and cases in the district's
// municipalities whatever district_code they carry) or an ISTAT region, province or
// municipality code (cases whose municipality lies within it). A caller holding both
// kinds of role sees both sets. admin: everything. region_admin, region_analyst and
// mediator: no case and no person (PERMISSION_DENIED by the method policy). A person
// is visible through a live case the caller sees, or when registered by the caller's
// organization (territory). Records outside the caller's reach are NOT_FOUND, so ids
// do not leak; writing a case so that it leaves one's reach is PERMISSION_DENIED.
//
// # Tenancy on writes
//
// Every write that places a case (create, batch item, an update of its municipality,
// district or organization) follows three rules, per item in a batch:
//   - district_code must name a district of the directory that contains the case's
//     municipality. Left empty, it is derived: the one district containing the
//     municipality; none when no district groups it (the case belongs to no district,
//     reached by organization and ISTAT territory only); when several do (a directory
//     mirroring more than one network), the write is refused asking to name one. An
//     update that moves the municipality without naming a district derives it again.
//   - organization_id must be the caller's own organization (the default), unless the
//     caller is an admin or a district_admin, who may give a case to any organization
//     the directory lists (PERMISSION_DENIED for others; an unknown one is invalid).
//   - the result must lie within the caller's reach (PERMISSION_DENIED; in a batch the
//     item is invalid, with the field and the reason).
//
// The districts and organizations come from the directory over gRPC, called as the
// service principal service:cases: a local copy (package districts) catches up with
// the directory's change feed (ListChanges) and follows it (WatchChanges), never a
// call per request. While the feed is lost the copy is trusted for
// --cases-districts-max-stale (2 minutes); after that, and before the first catch-up
// (writes wait up to 5 s for it at start), writes that place a case answer UNAVAILABLE;
// other writes and every read keep working on the last copy.
//
// # No existence oracle
//
// A record outside the caller's reach answers exactly as a missing one on every write
// path. Case ids are the server's: a create request naming one is refused whether or
// not it exists (INVALID_ARGUMENT), so another organization's case id cannot be probed.
// Person ids may be chosen (pseudonymous ids shared across district nodes, which
// reporting's federation counts once) and are unique per owner — the organization
// that registered the person, or "territory:<code>": CreatePerson with an id another
// owner registered creates the caller's own person, as with an id nobody has. A
// person id in a request names the person of the caller's own namespace if there is
// one, else the only one with that id within reach; a reader who reaches several
// (a district admin, two organizations having chosen the same id) names the owner
// (organization_id; person_organization_id on a case), else INVALID_ARGUMENT. Cases
// carry the owner of their person, so a case always names one person.
// A case's source + external_id is unique per key owner — the writer's organization,
// or "territory:<code>" for district staff without one — and batches look keys up in
// the caller's namespace only: another owner's key is simply another key, and the
// same key sent by two organizations makes two cases. So a district system syncing
// under one identity finds its cases again, and no key reveals another's. Moving a
// case to another organization keeps its key with its first owner.
//
// # Audit
//
// Every read and write of a person or a case (gets, list results one entry per
// record, event reads and writes, batch writes) appends to the append-only table
// cases.audit_events (a trigger refuses UPDATE and DELETE): time, subject,
// organization, gRPC method, action, record type and id, and the district and
// municipality of the case (of the person's first live case for persons), which is
// what ListAuditEvents filters a district_admin's territory by. Writes are audited in
// their transaction; reads just after reading and before answering, so no data leaves
// without its entry. Change-feed reads are audited once per call (record type
// "case_feed", record id "<after>-<next_after>"). Unchanged batch items are not
// audited (nothing was written). Names, tax codes and free text are never logged nor
// put in spans: handlers log nothing about records, SQL spans carry no arguments.
//
// # Sync and the reporting boundary
//
// BatchUpsertCases takes up to 1000 items keyed by source + external_id in one
// transaction. When two batches create the same key at once (PostgreSQL), the loser's
// transaction runs again and its item comes back unchanged or updated, never a
// whole-batch conflict. Each valid item is created, updated, or left unchanged when its content
// (every field but id, version, etag and times; an unset phase keeps the stored one)
// hashes as stored; expected_version (when not 0) must equal the stored version, else
// the item is a conflict; a key whose case was deleted is a conflict; an invalid item
// (rules, unknown municipality, unknown person, outside the caller's reach) is reported
// with its reason and field and does not stop the others.
//
// The change feed (ListCaseChanges, WatchCaseChanges, topics "case" and "person") is
// what district systems and reporting read. A "case" entry's payload is the Case
// message — which by construction holds no personal data: no names, birth date, tax
// code or free text, only codes, the pseudonymous person id, the operator's subject
// and age_band; tombstones carry the case's last state, so readers can drop it. A
// "person" entry carries only {"organizationId"}. Reporting derives its anonymous
// facts from this feed alone (counts by phase, category, municipality, district,
// needs, age band): the one person-level fact it needs, the age band, is computed by
// the store from the birth date when the case is created or its person changes (the
// band at intake; it does not follow later birthdays or corrections of the birth
// date), so the birth date itself never leaves the persons table. Sex and nationality
// are deliberately not in this feed: with a municipality they would single people out in
// small towns. ListReportingCases (reporting.go) is the same log with each case's
// person's sex and citizenship, for service:reporting alone, which publishes them only
// through disclosure control; each such read is audited. The boundary is tested (TestFeedCarriesNoPersonalData). Event writes do
// not enter the feed: they carry free text. Each caller reads only the entries of cases within their reach; "person"
// entries only admins and the organization (territory) that registered the person.
//
// # CSV import and throughput
//
// `ponte cases import --source NAME FILE.csv` (ImportCSV, columns in CSVColumns) sends
// the rows through BatchUpsertCases in batches of 500; rows that do not parse are
// rejected locally, the others by the service; the summary names every rejected line
// (the header is line 1). Re-running it is safe: unchanged rows stay unchanged.
//
// BatchUpsertCases works by sets: items are checked in parallel; one lookup of the
// batch's keys (on PostgreSQL one index probe per key, so its cost does not follow the
// table's size whatever the planner's statistics say) and one of its persons; one COPY
// (PostgreSQL) or multi-row INSERTs (SQLite) for the new cases and one for their audit
// rows; one UPDATE per changed case. Documents and change payloads are written by a
// hand-rolled protojson encoder (appendCaseJSON, tested field by field against protojson);
// new case ids are UUIDv7, so that their index entries append.
//
// BenchmarkBatchUpsertVsCopy compares the rate of new cases over gRPC with PostgreSQL
// loading the very rows the sync wrote — cases, audit rows, change-log entries — by COPY
// into tables with the same keys and indexes, committed per 1000 cases: the real limit
// of a correct sync (target: 60% of it). Measured once on the shared 2-core machine under
// a load average of about 20 (six engineers' tests): one batch at a time 7,900 cases/s
// against 11,200 for COPY (71%); two in flight 5,500 against 13,900 (40%, the machine's
// contention at its worst); one COPY of the case rows into an unindexed table, the
// earlier reference, 185,000-190,000 rows/s. See docs/benchmarks.md.
package cases

import (
	"context"
	"errors"

	"google.golang.org/grpc"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/cases/districts"
	"github.com/ponte-network/ponte/services/cases/store"
	"github.com/ponte-network/ponte/services/cases/store/sqlcore"
)

// Deps is what the cases service needs from the process.
type Deps struct {
	Store   store.Store
	Catalog *territory.Catalog
	// Districts is the local copy of the directory's districts (districts.Copy, kept
	// current from the directory's change feed).
	Districts districts.Source
}

// Service implements the cases gRPC service.
type Service struct {
	server *server
	store  store.Store
}

// New builds the service.
func New(deps Deps) (*Service, error) {
	if deps.Store == nil || deps.Catalog == nil || deps.Districts == nil {
		return nil, errors.New("cases: store, territory catalog and districts are required")
	}
	return &Service{server: &server{store: deps.Store, catalog: deps.Catalog, districts: deps.Districts}, store: deps.Store}, nil
}

// ServiceNames are the full gRPC names of the service, for health checks.
var ServiceNames = []string{casesv1.CaseService_ServiceDesc.ServiceName}

// Register registers the gRPC service on r.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	casesv1.RegisterCaseServiceServer(r, s.server)
}

// Ready reports whether the service can serve: its store is reachable and migrated.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ready(ctx) }

// Policy says who may call each method: partner and district staff (admin always
// passes); the audit log district_admin. Row-level rules are checked in the handlers.
func Policy() auth.Policy {
	const svc = "/ponte.cases.v1.CaseService/"
	staff := auth.Rule{Roles: []string{auth.RolePartnerAdmin, auth.RolePartnerOperator, auth.RoleDistrictAdmin, auth.RoleDistrictOperator}}
	p := auth.Policy{
		svc + "ListAuditEvents": {Roles: []string{auth.RoleDistrictAdmin}},
		// Sex and citizenship for the funder's breakdowns: the reporting service only.
		svc + "ListReportingCases": {Services: []string{reportingService}},
	}
	for _, m := range []string{
		"ListPersons", "GetPerson", "CreatePerson", "UpdatePerson", "DeletePerson",
		"ListCases", "GetCase", "CreateCase", "UpdateCase", "DeleteCase", "TransitionCase",
		"ListCaseEvents", "CreateCaseEvent", "BatchUpsertCases", "ListCaseChanges", "WatchCaseChanges",
	} {
		p[svc+m] = staff
	}
	return p
}

// StoreConfig says where the service keeps its data: the one storage configuration
// every Ponte service takes.
type StoreConfig = storage.Config

// OpenStore opens the configured store (PostgreSQL, or the embedded store when no
// database URL is given) and applies its migrations.
func OpenStore(ctx context.Context, cfg StoreConfig) (store.Store, error) {
	st, err := sqlcore.Open(ctx, cfg)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return st, nil
}

// MigrateStore applies the service's migrations without serving.
func MigrateStore(ctx context.Context, cfg StoreConfig) error {
	return sqlcore.Migrate(ctx, cfg)
}
