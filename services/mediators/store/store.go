// Package store is the mediators service's repository interface. Its implementation,
// sqlcore, is one SQL core on both databases (PostgreSQL and the embedded SQLite,
// through libs/storage/sqlstore) and must pass storetest.Run on both.
//
// The store keeps the records and their guarantees; deciding who may do what, and
// which mediator takes a booking, is the service's (package assign). Two guarantees
// live here because only the database can keep them under concurrent writes: a
// mediator never holds two overlapping bookings, nor two in-person bookings in
// different municipalities closer than the travel buffer (PostgreSQL: exclusion
// constraints; SQLite: a check in the serialised write transaction), and a closed
// statement month never changes.
package store

import (
	"context"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
)

// Errors a Store returns, wrapped or as *storage.Error.
var (
	ErrNotFound           = storage.ErrNotFound
	ErrAlreadyExists      = storage.ErrAlreadyExists
	ErrConflict           = storage.ErrConflict
	ErrFailedPrecondition = storage.ErrFailedPrecondition
)

// TopicBooking is the change-log topic of bookings; the payload is a BookingFact.
const TopicBooking = "booking"

// Actor is who calls, for the audit log.
type Actor struct {
	Subject      string
	Organization string
	Method       string
}

// SlotError is a booking refused because the mediator's time is taken: Rule is
// "overlap" or "travel_buffer" (the assign package's rule names).
type SlotError struct{ Rule string }

// Error says which rule refused the booking.
func (e *SlotError) Error() string {
	if e.Rule == "travel_buffer" {
		return "the mediator has an in-person booking elsewhere too close to this one to travel"
	}
	return "the mediator holds another booking at this time"
}

// Unwrap makes a SlotError a failed precondition.
func (e *SlotError) Unwrap() error { return ErrFailedPrecondition }

// Slot is how a booking occupies its mediator's time: the columns the database's
// guarantees are computed on.
type Slot struct {
	Start, End   time.Time
	Municipality string
	InPerson     bool
	// Buffer is the travel buffer kept around an in-person booking.
	Buffer time.Duration
}

// MediatorFilter narrows ListMediators.
type MediatorFilter struct {
	IDs       []string // only these (nil = all)
	Districts []string // serving one of these (nil = any)
	Language  string
	After     string // page: ids after this
	Limit     int
}

// BookingFilter narrows ListBookings; empty fields do not filter.
type BookingFilter struct {
	MediatorID     string
	RequestingOrgs []string // one of these
	Districts      []string // one of these
	Municipalities []string // ISTAT prefixes, one of these
	State          mediatorsv1.BookingState
	SeriesID       string
	StartAfter     time.Time // inclusive
	StartBefore    time.Time // exclusive
	// Page: bookings after (AfterStart, AfterID) in (start, id) order.
	AfterStart time.Time
	AfterID    string
	Limit      int
}

// Closed is a closed month of a district.
type Closed struct {
	District string
	Month    string
	Time     time.Time
	By       string
	Total    int64
}

// FrozenLine is a statement line as a closed month keeps it.
type FrozenLine struct {
	MediatorID string
	Payer      string
	Line       *mediatorsv1.StatementLine
}

// AuditEvent is one read or write of a mediator's personal data.
type AuditEvent = mediatorsv1.MediatorAuditEvent

// MaxBookingMinutes is the longest a booking lasts (Booking.duration_minutes' bound; on
// PostgreSQL a CHECK of the bookings table too): reads of the bookings around a time
// look back no further than this from its start.
const MaxBookingMinutes = 480

// Store keeps the mediators service's records.
type Store interface {
	// CreateMediator inserts m (its id set). ErrAlreadyExists if the id or the tax code
	// is taken. Audited as "create".
	CreateMediator(ctx context.Context, a Actor, m *mediatorsv1.Mediator) (*mediatorsv1.Mediator, error)
	// GetMediator returns a mediator, or ErrNotFound. audit records the read.
	GetMediator(ctx context.Context, a Actor, id string, audit bool) (*mediatorsv1.Mediator, error)
	// ListMediators returns mediators by id. audit records a read of each.
	ListMediators(ctx context.Context, a Actor, f MediatorFilter, audit bool) ([]*mediatorsv1.Mediator, error)
	// UpdateMediator runs fn on the current mediator in a write transaction and stores
	// what it returns (fn's error is returned as is). Audited as "update".
	UpdateMediator(ctx context.Context, a Actor, id string, fn func(cur *mediatorsv1.Mediator) (*mediatorsv1.Mediator, error)) (*mediatorsv1.Mediator, error)
	// SetCalendarToken stores the hash of a mediator's calendar secret.
	SetCalendarToken(ctx context.Context, id, hash string) error
	// CalendarTokenHash returns it ("" if none), or ErrNotFound.
	CalendarTokenHash(ctx context.Context, id string) (string, error)

	// CreateBookings inserts a booking or a series, all or none, with their slots. A
	// requestID already used by the first booking's requesting organization returns the
	// bookings created then, unchanged.
	CreateBookings(ctx context.Context, a Actor, requestID string, bs []*mediatorsv1.Booking, slots []Slot) ([]*mediatorsv1.Booking, error)
	// GetBooking returns a booking, or ErrNotFound.
	GetBooking(ctx context.Context, id string) (*mediatorsv1.Booking, error)
	// ListBookings returns bookings by start time, then id.
	ListBookings(ctx context.Context, f BookingFilter) ([]*mediatorsv1.Booking, error)
	// UpdateBooking runs fn on the current booking in a write transaction and stores what
	// it returns with its slot: fn's error is returned as is; a *SlotError if the
	// mediator's time is taken (never two overlapping bookings, nor in-person bookings
	// in different municipalities closer than the buffer); ErrConflict if etag is given
	// and stale. The change feed gets the booking's fact.
	UpdateBooking(ctx context.Context, a Actor, id, etag string, fn func(cur *mediatorsv1.Booking) (*mediatorsv1.Booking, Slot, error)) (*mediatorsv1.Booking, error)
	// MediatorBookings returns the bookings that hold the time of the given mediators
	// and overlap [from, to), by mediator.
	MediatorBookings(ctx context.Context, ids []string, from, to time.Time) (map[string][]*mediatorsv1.Booking, error)
	// MonthMinutes returns, per mediator, the planned minutes of the bookings holding
	// their time in month (YYYY-MM).
	MonthMinutes(ctx context.Context, ids []string, month string) (map[string]int, error)

	// BillableBookings returns the bookings of district in the given months that may
	// produce statement lines (completed, cancelled, no-show, with a mediator).
	BillableBookings(ctx context.Context, district string, months []string) ([]*mediatorsv1.Booking, error)
	// BookingDistricts returns the districts with bookings in months.
	BookingDistricts(ctx context.Context, months []string) ([]string, error)
	// ClosedMonths returns the closed months of district, oldest first.
	ClosedMonths(ctx context.Context, district string) ([]Closed, error)
	// FrozenLines returns the lines of a closed month.
	FrozenLines(ctx context.Context, district, month string) ([]FrozenLine, error)
	// Billed returns what closed months paid for the bookings.
	Billed(ctx context.Context, ids []string) (map[string]int64, error)
	// CloseMonth freezes a month's lines: it runs compute in a write transaction (so
	// that nothing changes between computing and freezing), stores the lines and adds
	// each line's amount to what was billed for its booking. ErrAlreadyExists if closed.
	CloseMonth(ctx context.Context, c Closed, compute func(ctx context.Context) ([]FrozenLine, error)) (Closed, error)

	// ListAuditEvents returns the audit log, oldest first, after id after.
	ListAuditEvents(ctx context.Context, mediatorID string, after int64, limit int) ([]*AuditEvent, error)

	// Changes is the change feed.
	Changes() changelog.Feed
	// Ready reports whether the store can serve.
	Ready(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Fact is a booking as the change feed carries it: no names, addresses, links, notes or
// mediator; only what reporting counts.
func Fact(b *mediatorsv1.Booking, loc *time.Location) *mediatorsv1.BookingFact {
	f := &mediatorsv1.BookingFact{
		BookingId:                  b.GetId(),
		State:                      b.GetState(),
		Language:                   b.GetLanguage(),
		DistrictCode:               b.GetDistrictCode(),
		MunicipalityCode:           b.GetMunicipalityCode(),
		ServiceType:                b.GetServiceType(),
		RequestingOrganizationType: b.GetRequestingOrganizationType(),
		Mode:                       b.GetMode(),
		Date:                       b.GetStartTime().AsTime().In(loc).Format(time.DateOnly),
		PlannedMinutes:             b.GetDurationMinutes(),
		Cancellation:               b.GetCancellation().GetKind(),
	}
	if c := b.GetCompletion(); c != nil && c.GetActualStartTime() != nil && c.GetActualEndTime() != nil {
		f.ActualMinutes = int32(c.GetActualEndTime().AsTime().Sub(c.GetActualStartTime().AsTime()) / time.Minute)
	}
	create := b.GetCreateTime().AsTime()
	for _, t := range b.GetTransitions() {
		if t.GetTo() == mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED {
			f.Fulfilled = true
			f.LeadTimeSeconds = int64(t.GetTime().AsTime().Sub(create) / time.Second)
			break
		}
	}
	return f
}

// FactEntry is the change-log entry of a booking.
func FactEntry(b *mediatorsv1.Booking, loc *time.Location) changelog.Entry {
	payload, _ := protojson.Marshal(Fact(b, loc)) // a generated message always marshals
	return changelog.Entry{Topic: TopicBooking, Key: b.GetId(), Op: changelog.OpUpsert, Payload: payload}
}
