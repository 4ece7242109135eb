package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

// detailPage is what the detail template shows: one service, every place it is
// delivered at, in the page's locale. It prints as a one-page sheet (print CSS).
type detailPage struct {
	T              T
	Locales        []localeLink
	Back           string
	Failure        string
	NotFound       bool
	ID             string
	Name           Text
	Description    Text
	Eligibility    Text
	Application    Text
	Fees           Text
	Free           bool
	Interpretation Text
	Documents      []Text
	Languages      []string
	Phones         []Phone
	Email          string
	URL            string
	Organization   Text
	Places         []place
	Hours          []WeekRow // the service's own hours, when it has no place
	Updated        string
	Swap           bool // the language switch is swapped out of band (htmx)
}

// place is one location of the service with its hours.
type place struct {
	Name       Text
	Address    string
	Phones     []Phone
	Hours      []WeekRow
	Wheelchair bool
	MapsQuery  string
}

func (h *Handler) detail(w http.ResponseWriter, r *http.Request) {
	loc := h.cat.pick(r)
	t := h.cat.translator(loc)
	p := &detailPage{T: t, Locales: h.localeLinks(r, loc), Back: "/?hl=" + loc}
	if back := r.URL.Query().Get("back"); strings.HasPrefix(back, "/?") && !strings.HasPrefix(back, "//") && utf8.ValidString(back) && len(back) < maxParam {
		p.Back = back // only a path of this site: never an open redirect
	}
	id := r.PathValue("id")
	if !utf8.ValidString(id) || strings.ContainsRune(id, 0) || len(id) > 64 {
		p.NotFound = true
		h.render(w, r, http.StatusNotFound, "detail.html", p)
		return
	}
	ctx := r.Context()
	s, err := h.dir.GetService(ctx, &directoryv1.GetServiceRequest{Id: id, Locale: loc})
	if err != nil {
		switch status.Code(err) {
		case codes.NotFound, codes.InvalidArgument:
			p.NotFound = true
			h.render(w, r, http.StatusNotFound, "detail.html", p)
		case codes.Unavailable, codes.DeadlineExceeded:
			p.Failure = t.Msg("search_failed")
			h.render(w, r, http.StatusServiceUnavailable, "detail.html", p)
		default:
			h.log.ErrorContext(ctx, "web: get service failed", "code", status.Code(err).String())
			p.Failure = t.Msg("search_failed")
			h.render(w, r, http.StatusBadGateway, "detail.html", p)
		}
		return
	}
	p.ID = s.GetId()
	p.Name = pickText(s.GetName(), loc)
	p.Description = pickText(s.GetDescription(), loc)
	p.Eligibility = pickText(s.GetEligibility(), loc)
	p.Application = pickText(s.GetApplicationProcess(), loc)
	p.Fees = pickText(s.GetFees(), loc)
	p.Free = s.GetFree()
	p.Interpretation = pickText(s.GetInterpretationServices(), loc)
	for _, d := range s.GetRequiredDocuments() {
		p.Documents = append(p.Documents, pickText(d.GetDocument(), loc))
	}
	for _, code := range s.GetLanguages() {
		p.Languages = append(p.Languages, t.LanguageName(code))
	}
	p.Phones = phones(s.GetPhones())
	p.Email = s.GetEmail()
	if u := s.GetUrl(); strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		p.URL = u
	}
	if ut := s.GetUpdateTime(); ut != nil {
		p.Updated = ut.AsTime().In(rome).Format("02/01/2006")
	}

	sals := s.GetServiceAtLocations()
	locs := make([]*directoryv1.Location, len(sals))
	var org *directoryv1.Organization
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	g.Go(func() error {
		o, err := h.dir.GetOrganization(gctx, &directoryv1.GetOrganizationRequest{Id: s.GetOrganizationId(), Locale: loc})
		if err == nil {
			org = o
		}
		return nil
	})
	for i, sal := range sals {
		g.Go(func() error {
			l, err := h.dir.GetLocation(gctx, &directoryv1.GetLocationRequest{Id: sal.GetLocationId(), Locale: loc})
			if err == nil {
				locs[i] = l
			}
			return nil
		})
	}
	_ = g.Wait()
	if org != nil {
		p.Organization = pickText(org.GetName(), loc)
	}
	now := h.now()
	for _, l := range locs {
		if l == nil {
			continue
		}
		pl := place{
			Name: pickText(l.GetName(), loc), Address: address(l), Phones: phones(l.GetPhones()),
			Hours: weekHours(schedulesAt(s, l), now), Wheelchair: l.GetWheelchairAccessible(),
		}
		pl.MapsQuery = pl.Address
		p.Places = append(p.Places, pl)
	}
	if len(p.Places) == 0 && len(s.GetSchedules()) > 0 {
		p.Hours = weekHours(s.GetSchedules(), now)
	}
	h.render(w, r, http.StatusOK, "detail.html", p)
}
