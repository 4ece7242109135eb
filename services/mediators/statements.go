package mediators

import (
	"context"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/services/mediators/billing"
	"github.com/ponte-network/ponte/services/mediators/store"
)

// maxClosedRun bounds how many closed months before an open one are searched for
// corrections (two years).
const maxClosedRun = 24

// monthEntries computes the lines of month for district: frozen when closed, else the
// month's bookings and the corrections of the closed months just before it.
func (s *server) monthEntries(ctx context.Context, c caller, district, month string) ([]billing.Entry, bool, error) {
	closed, err := s.store.ClosedMonths(ctx, district)
	if err != nil {
		return nil, false, err
	}
	isClosed := map[string]bool{}
	for _, cl := range closed {
		isClosed[cl.Month] = true
	}
	if isClosed[month] {
		frozen, err := s.store.FrozenLines(ctx, district, month)
		if err != nil {
			return nil, false, err
		}
		out := make([]billing.Entry, len(frozen))
		for i, f := range frozen {
			out[i] = billing.Entry{MediatorID: f.MediatorID, Payer: f.Payer, District: district, Line: f.Line}
		}
		return out, true, nil
	}
	var run []string
	for m := billing.PreviousMonth(month); isClosed[m] && len(run) < maxClosedRun; m = billing.PreviousMonth(m) {
		run = append(run, m)
	}
	bs, err := s.store.BillableBookings(ctx, district, append([]string{month}, run...))
	if err != nil {
		return nil, false, err
	}
	cards, _, err := s.cardsOf(ctx, c, bs)
	if err != nil {
		return nil, false, err
	}
	var ids []string
	for _, b := range bs {
		ids = append(ids, b.GetId())
	}
	billed, err := s.store.Billed(ctx, ids)
	if err != nil {
		return nil, false, err
	}
	return billing.MonthLines(billing.Input{
		Month: month, District: district, Bookings: bs, ClosedBefore: run, Cards: cards, Billed: billed, Location: s.deps.Location,
	}), false, nil
}

// cardsOf returns the rate cards and names of the bookings' mediators.
func (s *server) cardsOf(ctx context.Context, c caller, bs []*mediatorsv1.Booking) (map[string][]*mediatorsv1.RateCard, map[string]string, error) {
	seen := map[string]bool{}
	var ids []string
	for _, b := range bs {
		if id := b.GetMediatorId(); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	cards, names := map[string][]*mediatorsv1.RateCard{}, map[string]string{}
	if len(ids) == 0 {
		return cards, names, nil
	}
	ms, err := s.store.ListMediators(ctx, c.actor, store.MediatorFilter{IDs: ids, Limit: len(ids)}, false)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range ms {
		cards[m.GetId()], names[m.GetId()] = m.GetRateCards(), m.GetDisplayName()
	}
	return cards, names, nil
}

// ListStatements implements mediatorsv1.MediatorServiceServer.
func (s *server) ListStatements(ctx context.Context, req *mediatorsv1.ListStatementsRequest) (*httpbody.HttpBody, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	month := req.GetMonth()
	mediator, payer, district := req.GetMediator(), req.GetPayer(), req.GetDistrictCode()
	switch {
	case c.admin:
	case c.districtAdmin && len(c.districts) > 0:
		if district == "" && len(c.districts) == 1 {
			district = c.districts[0]
		}
		if district == "" || !c.coversPlace(district, "") {
			return nil, grpcerr.PermissionDenied("district admins read the statements of their district")
		}
	case c.mediator != "" && !c.districtStaff && c.org == "":
		if mediator != "" && mediator != c.mediator {
			return nil, grpcerr.PermissionDenied("a mediator reads their own statements")
		}
		mediator = c.mediator
	case c.org != "" && c.p.HasRole(auth.RolePartnerAdmin):
		if payer != "" && payer != c.org {
			return nil, grpcerr.PermissionDenied("an organization reads the statements it pays")
		}
		payer = c.org
	default:
		return nil, grpcerr.PermissionDenied("statements are for district admins, paying organizations and mediators")
	}
	districts := []string{district}
	if district == "" {
		months := []string{month}
		for m, i := month, 0; i < maxClosedRun; i++ {
			m = billing.PreviousMonth(m)
			months = append(months, m)
		}
		if districts, err = s.store.BookingDistricts(ctx, months); err != nil {
			return nil, grpcerr.From(err)
		}
	}
	report := &mediatorsv1.StatementReport{Month: month, Closed: len(districts) > 0}
	var all []billing.Entry
	for _, d := range districts {
		entries, closed, err := s.monthEntries(ctx, c, d, month)
		if err != nil {
			return nil, grpcerr.From(err)
		}
		report.Closed = report.Closed && closed
		for _, e := range entries {
			if (mediator == "" || e.MediatorID == mediator) && (payer == "" || e.Payer == payer) {
				all = append(all, e)
			}
		}
	}
	var ids []*mediatorsv1.Booking
	for _, e := range all {
		ids = append(ids, &mediatorsv1.Booking{MediatorId: e.MediatorID})
	}
	_, names, err := s.cardsOf(ctx, c, ids)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	report.Statements = billing.Group(all, names)
	for _, st := range report.Statements {
		report.TotalCents += st.GetTotalCents()
	}
	if req.GetFormat() == "csv" {
		data, err := billing.CSV(report)
		if err != nil {
			return nil, grpcerr.From(err)
		}
		return &httpbody.HttpBody{ContentType: "text/csv; charset=utf-8", Data: data}, nil
	}
	data, err := protojson.Marshal(report)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	return &httpbody.HttpBody{ContentType: "application/json", Data: data}, nil
}

// CloseStatementMonth implements mediatorsv1.MediatorServiceServer.
func (s *server) CloseStatementMonth(ctx context.Context, req *mediatorsv1.CloseStatementMonthRequest) (*mediatorsv1.StatementMonth, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	district := req.GetDistrictCode()
	if district == "" && c.districtAdmin && len(c.districts) == 1 {
		district = c.districts[0]
	}
	if district == "" {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "district_code", Description: "is required"})
	}
	if !c.admin && !(c.districtAdmin && c.coversPlace(district, "")) {
		return nil, grpcerr.PermissionDenied("district admins close the months of their district")
	}
	now := s.deps.Now()
	if req.GetMonth() >= now.In(s.deps.Location).Format("2006-01") {
		return nil, grpcerr.From(storage.FieldErrorf(store.ErrFailedPrecondition, "month", "%s has not ended yet", req.GetMonth()))
	}
	cl, err := s.store.CloseMonth(ctx, store.Closed{District: district, Month: req.GetMonth(), Time: now, By: c.p.Subject},
		func(ctx context.Context) ([]store.FrozenLine, error) {
			entries, closed, err := s.monthEntries(ctx, c, district, req.GetMonth())
			if err != nil {
				return nil, err
			}
			if closed {
				return nil, storage.FieldErrorf(store.ErrAlreadyExists, "month", "%s is already closed for district %s", req.GetMonth(), district)
			}
			out := make([]store.FrozenLine, len(entries))
			for i, e := range entries {
				out[i] = store.FrozenLine{MediatorID: e.MediatorID, Payer: e.Payer, Line: e.Line}
			}
			return out, nil
		})
	if err != nil {
		return nil, grpcerr.From(err)
	}
	return &mediatorsv1.StatementMonth{Month: cl.Month, DistrictCode: cl.District, CloseTime: timestamppb.New(cl.Time), ClosedBy: cl.By, TotalCents: cl.Total}, nil
}
