package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/store"
)

// SourceMediators is the name of the mediators feed's cursor.
const SourceMediators = "mediators"

// MediatorFeed is the part of the mediators API reporting reads: the booking change
// feed, whose entries are anonymous facts (BookingFact: codes, dates and minutes; no
// mediator, names, addresses, links, notes or organizations). Only service:reporting
// (and admin) may read it.
type MediatorFeed interface {
	ListMediatorChanges(ctx context.Context, req *mediatorsv1.ListMediatorChangesRequest, opts ...grpc.CallOption) (*mediatorsv1.ListMediatorChangesResponse, error)
}

// MediatorSource reads the mediators' booking feed.
type MediatorSource struct {
	Feed MediatorFeed
	Keys Keys
}

// Name implements Source.
func (MediatorSource) Name() string { return SourceMediators }

// Read implements Source.
func (s MediatorSource) Read(ctx context.Context, after int64, page *Page) (Read, error) {
	resp, err := s.Feed.ListMediatorChanges(ctx, &mediatorsv1.ListMediatorChangesRequest{After: after, PageSize: PageSize})
	if err != nil {
		return Read{}, fmt.Errorf("read the mediators feed: %w", err)
	}
	return readEntries("mediators", resp.GetNextAfter(), resp.GetHead(), resp.GetChanges(), page,
		func(ch *mediatorsv1.MediatorChange) ([]store.Change, error) {
			if ch.GetBooking() == nil {
				return nil, nil // another topic
			}
			return BookingFacts(s.Keys, ch.GetBooking())
		})
}

// civilDay returns the day number of a YYYY-MM-DD civil date.
func civilDay(date string) (int32, error) {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return 0, fmt.Errorf("date %q: %w", date, err)
	}
	return int32(t.Unix() / 86400), nil
}

// BookingFacts returns the changes one booking entry makes. Every fact of a booking is
// dated by the day of its meeting (Europe/Rome, as statements are) and placed in the
// booking's municipality, district, language, service type, requesting organization
// type and mode; a booking has no person. The facts:
//
//   - mediation_delivered ("booking:<id>:delivered"), while completed: its actual
//     minutes (the planned ones if none were recorded).
//   - mediation_closed ("booking:<id>:closed"), while completed, cancelled or no-show:
//     quantity 1 if completed, else 0 — the fulfilment rate's denominator and numerator.
//   - mediation_lead_time ("booking:<id>:lead_time"), once a mediator was assigned: the
//     hours from the request to the first assignment, rounded up, as its value.
//
// A later entry replaces them (a rescheduled booking moves to its new day), and a fact
// whose condition no longer holds is deleted.
func BookingFacts(k Keys, b *mediatorsv1.BookingFact) ([]store.Change, error) {
	id := b.GetBookingId()
	if id == "" {
		return nil, errors.New("booking entry without an id")
	}
	delivered, closed, lead := "booking:"+id+":delivered", "booking:"+id+":closed", "booking:"+id+":lead_time"
	day, err := civilDay(b.GetDate())
	if err != nil {
		return nil, err
	}
	dims := map[string]string{
		catalog.DimMunicipality: b.GetMunicipalityCode(),
		catalog.DimDistrict:     b.GetDistrictCode(),
		catalog.DimLanguage:     b.GetLanguage(),
		catalog.DimServiceType:  enumCode(b.GetServiceType().String(), "SERVICE_TYPE_"),
		catalog.DimOrgType:      enumCode(b.GetRequestingOrganizationType().String(), "ORGANIZATION_TYPE_"),
		catalog.DimMode:         enumCode(b.GetMode().String(), "MODE_"),
	}
	for d, v := range dims {
		if v == "unspecified" {
			dims[d] = ""
		}
	}
	cell, err := store.EncodeCell(dims)
	if err != nil {
		return nil, err
	}
	fact := func(factID, kind, cell string, quantity int64) store.Change {
		return store.Change{ID: factID, Fact: &store.Fact{Kind: kind, Day: day, Cell: cell, Key: k.Record(factID), Quantity: quantity}}
	}
	var out []store.Change
	state := b.GetState()
	completed := state == mediatorsv1.BookingState_BOOKING_STATE_COMPLETED
	if completed {
		minutes := int64(b.GetActualMinutes())
		if minutes <= 0 {
			minutes = int64(b.GetPlannedMinutes())
		}
		out = append(out, fact(delivered, catalog.KindMediationDelivered, cell, minutes))
	} else {
		out = append(out, store.Change{ID: delivered})
	}
	switch state {
	case mediatorsv1.BookingState_BOOKING_STATE_COMPLETED, mediatorsv1.BookingState_BOOKING_STATE_CANCELLED, mediatorsv1.BookingState_BOOKING_STATE_NO_SHOW:
		q := int64(0)
		if completed {
			q = 1
		}
		out = append(out, fact(closed, catalog.KindMediationClosed, cell, q))
	default:
		out = append(out, store.Change{ID: closed})
	}
	if b.GetFulfilled() {
		secs := max(0, b.GetLeadTimeSeconds())
		hours := (secs + 3599) / 3600
		dims[catalog.DimValue] = strconv.FormatInt(hours, 10)
		valued, err := store.EncodeCell(dims)
		if err != nil {
			return nil, err
		}
		out = append(out, fact(lead, catalog.KindMediationAssigned, valued, secs))
	} else {
		out = append(out, store.Change{ID: lead})
	}
	return out, nil
}
