// Package hsds serves the directory's read endpoints of the Open Referral HSDS 3.1 API
// under /hsds/: /hsds/, /hsds/services[/{id}], /hsds/organizations[/{id}],
// /hsds/taxonomies, /hsds/taxonomy_terms and /hsds/service_at_locations, with the
// query parameters search, page, per_page, taxonomy_term_id, taxonomy_id,
// organization_id, modified_after, minimal, full, full_service, postcode and proximity.
//
// It reads through the directory's gRPC API (in process or remote), so every call passes
// the same interceptors as any other. Decisions where HSDS is silent or does not fit:
//   - Text is returned in one language: the `locale` parameter (a Ponte extension),
//     default Italian, with the fallbacks of the directory's locale rule.
//   - Ids HSDS requires on nested records Ponte does not keep as records (phones,
//     schedules, languages, addresses, attributes...) are derived from the owner's id
//     ("<service id>/phones/0"): stable while the record does not change.
//   - Taxonomy terms are linked to services as HSDS attributes with link_entity
//     "service"; a taxonomy is the set of terms with one `taxonomy` value.
//   - Weekly openings are WEEKLY schedules with byday; an exception is a schedule valid
//     on its date only (valid_from = valid_to), with description "closed" when closed.
//   - minimal=true returns id, name, status and last_modified (name and status are
//     required by the schema).
//   - postcode keeps services with a location at that postal code; proximity (metres)
//     needs postcode and keeps services within that distance of the centroid of the
//     directory's located places with that postcode.
//   - A request reads at most maxScan records of each kind: these endpoints are for
//     interoperability on a district's or region's directory, not for bulk export.
//   - Phone extensions are numbers, as the HSDS schema types them.
//   - Lists of services are what the directory's search finds, in its ranking:
//     inactive and defunct services are left out (read them by id).
//
// Decode and Import read HSDS JSON (an organization package, a service list, one service
// or organization, or a page of them) into the directory, idempotently by id: missing
// records are created, changed ones replaced with their current etag, equal ones left
// alone (no change-log entry). The document's text is taken in one locale (Italian by
// default) plus Ponte's "ponte_translation" attributes; translations of other locales
// already in the directory are kept. Ponte's own attributes are read back
// ("ponte_istat_municipality", "ponte_organization_type", "ponte_target_group"); any
// other attribute with a taxonomy term classifies the service and brings the term.
// What Ponte does not model is dropped, with a warning where data is malformed:
// alternate names of services and locations, additional URLs, wait time, accreditations,
// assurance, licences, alerts, service areas, funding, cost options, programs,
// capacities, metadata, non-weekly (MONTHLY) schedules and the iCal fields beyond
// freq/byday/opens_at/closes_at/valid_from/valid_to, phone numbers that are not numbers,
// coordinates outside WGS 84 ranges. Times are cut to HH:MM.
package hsds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/problem"
	"github.com/ponte-network/ponte/libs/textfold"

	"github.com/ponte-network/ponte/services/directory"
)

// Version is the HSDS version these endpoints speak.
const Version = "3.1"

// Paging bounds.
const (
	defaultPerPage = 50
	maxPerPage     = 1000
	maxScan        = 10000
)

// Handler serves the HSDS read endpoints; mount it at "/hsds/".
func Handler(client directoryv1.DirectoryServiceClient) http.Handler {
	h := &handler{c: client}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hsds/{$}", h.root)
	mux.HandleFunc("GET /hsds/services", h.services)
	mux.HandleFunc("GET /hsds/services/{id}", h.service)
	mux.HandleFunc("GET /hsds/organizations", h.organizations)
	mux.HandleFunc("GET /hsds/organizations/{id}", h.organization)
	mux.HandleFunc("GET /hsds/taxonomies", h.taxonomies)
	mux.HandleFunc("GET /hsds/taxonomy_terms", h.taxonomyTerms)
	mux.HandleFunc("GET /hsds/service_at_locations", h.serviceAtLocations)
	mux.HandleFunc("/hsds/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "no such HSDS endpoint", "")
	})
	return mux
}

type handler struct {
	c directoryv1.DirectoryServiceClient
}

// badParam is a query parameter the request got wrong.
type badParam struct{ name, reason string }

func (e *badParam) Error() string { return e.name + ": " + e.reason }

func writeProblem(w http.ResponseWriter, r *http.Request, code int, detail, param string) {
	p := problem.Problem{Type: "about:blank", Title: http.StatusText(code), Status: code, Detail: detail}
	if param != "" {
		p.InvalidParams = []problem.InvalidParam{{Name: param, Reason: detail}}
	}
	problem.Write(w, r, p)
}

// fail writes err as a problem: bad parameters as 400, gRPC statuses by their code.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	var bp *badParam
	if errors.As(err, &bp) {
		writeProblem(w, r, http.StatusBadRequest, bp.reason, bp.name)
		return
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.NotFound:
			writeProblem(w, r, http.StatusNotFound, st.Message(), "")
			return
		case codes.InvalidArgument:
			writeProblem(w, r, http.StatusBadRequest, st.Message(), "")
			return
		}
	}
	writeProblem(w, r, http.StatusInternalServerError, "the directory could not answer", "")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (h *handler) root(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"version":     Version,
		"profile":     "https://docs.openreferral.org/en/latest/hsds/",
		"openapi_url": "/openapi.json",
	})
}

// params are the parsed query parameters.
type params struct {
	search, taxonomyTermID, taxonomyID, organizationID, postcode, locale string
	page, perPage                                                        int
	modifiedAfter                                                        *time.Time
	minimal, full, fullService                                           bool
	proximity                                                            float64
}

func parseParams(r *http.Request) (params, error) {
	q := r.URL.Query()
	p := params{
		search: q.Get("search"), taxonomyTermID: q.Get("taxonomy_term_id"), taxonomyID: q.Get("taxonomy_id"),
		organizationID: q.Get("organization_id"), postcode: q.Get("postcode"), locale: q.Get("locale"),
		page: 1, perPage: defaultPerPage,
	}
	intParam := func(name string, min, max int, dst *int) error {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < min || n > max {
				return &badParam{name, fmt.Sprintf("must be a whole number from %d to %d", min, max)}
			}
			*dst = n
		}
		return nil
	}
	if err := intParam("page", 1, maxScan, &p.page); err != nil {
		return p, err
	}
	if err := intParam("per_page", 1, maxPerPage, &p.perPage); err != nil {
		return p, err
	}
	for name, dst := range map[string]*bool{"minimal": &p.minimal, "full": &p.full, "full_service": &p.fullService} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return p, &badParam{name, "must be true or false"}
			}
			*dst = b
		}
	}
	if v := q.Get("modified_after"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return p, &badParam{"modified_after", "must be an RFC 3339 date-time"}
		}
		p.modifiedAfter = &t
	}
	if v := q.Get("proximity"); v != "" {
		m, err := strconv.ParseFloat(v, 64)
		if err != nil || m <= 0 || m > 200000 {
			return p, &badParam{"proximity", "must be metres, more than 0 and at most 200000"}
		}
		if p.postcode == "" {
			return p, &badParam{"proximity", "needs postcode"}
		}
		p.proximity = m
	}
	if len(p.search) > 200 {
		return p, &badParam{"search", "must be at most 200 characters"}
	}
	if p.locale != "" && !validLocale(p.locale) {
		return p, &badParam{"locale", "must be an ISO 639 code such as it, en or ar"}
	}
	return p, nil
}

func validLocale(s string) bool {
	if len(s) < 2 || len(s) > 6 {
		return false
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z') && !(i >= 2 && (r == '-' || (r >= 'A' && r <= 'Z'))) {
			return false
		}
	}
	return true
}

// page writes one HSDS page of items.
func page[T any](w http.ResponseWriter, p params, items []T) {
	total := len(items)
	pages := (total + p.perPage - 1) / p.perPage
	start := min((p.page-1)*p.perPage, total)
	end := min(start+p.perPage, total)
	contents := items[start:end]
	if contents == nil {
		contents = []T{}
	}
	writeJSON(w, map[string]any{
		"total_items": total, "total_pages": pages, "page_number": p.page, "size": len(contents),
		"first_page": p.page == 1, "last_page": p.page >= pages, "empty": total == 0, "contents": contents,
	})
}

// snapshot is what one request reads of the directory.
type snapshot struct {
	orgs  map[string]*directoryv1.Organization
	locs  map[string]*directoryv1.Location
	terms map[string]*directoryv1.TaxonomyTerm
}

func (h *handler) snapshot(ctx context.Context, locale string) (*snapshot, error) {
	s := &snapshot{orgs: map[string]*directoryv1.Organization{}, locs: map[string]*directoryv1.Location{}, terms: map[string]*directoryv1.TaxonomyTerm{}}
	for tok, n := "", 0; n < maxScan; n += maxPerPage {
		resp, err := h.c.ListOrganizations(ctx, &directoryv1.ListOrganizationsRequest{PageSize: maxPerPage, PageToken: tok, Locale: locale})
		if err != nil {
			return nil, err
		}
		for _, o := range resp.GetOrganizations() {
			s.orgs[o.GetId()] = o
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	for tok, n := "", 0; n < maxScan; n += maxPerPage {
		resp, err := h.c.ListLocations(ctx, &directoryv1.ListLocationsRequest{PageSize: maxPerPage, PageToken: tok, Locale: locale})
		if err != nil {
			return nil, err
		}
		for _, l := range resp.GetLocations() {
			s.locs[l.GetId()] = l
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	terms, err := h.allTerms(ctx, locale)
	if err != nil {
		return nil, err
	}
	for _, t := range terms {
		s.terms[t.GetId()] = t
	}
	return s, nil
}

func (h *handler) allTerms(ctx context.Context, locale string) ([]*directoryv1.TaxonomyTerm, error) {
	var out []*directoryv1.TaxonomyTerm
	for tok, n := "", 0; n < maxScan; n += maxPerPage {
		resp, err := h.c.ListTaxonomyTerms(ctx, &directoryv1.ListTaxonomyTermsRequest{PageSize: maxPerPage, PageToken: tok, Locale: locale})
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetTaxonomyTerms()...)
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	return out, nil
}

// matchingServices returns the services that pass p's filters, ranked as the
// directory's search ranks them.
func (h *handler) matchingServices(ctx context.Context, p params, s *snapshot) ([]*directoryv1.Service, error) {
	req := &directoryv1.SearchServicesRequest{Q: p.search, Locale: p.locale, PageSize: maxPerPage}
	if p.taxonomyTermID != "" {
		if s.terms[p.taxonomyTermID] == nil {
			return nil, &badParam{"taxonomy_term_id", fmt.Sprintf("unknown taxonomy term %q", p.taxonomyTermID)}
		}
		req.Taxonomy = []string{p.taxonomyTermID}
	}
	var out []*directoryv1.Service
	for n := 0; n < maxScan; n += maxPerPage {
		resp, err := h.c.SearchServices(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, r := range resp.GetResults() {
			if keepService(r.GetService(), p, s) {
				out = append(out, r.GetService())
			}
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	return out, nil
}

func keepService(sv *directoryv1.Service, p params, s *snapshot) bool {
	if p.organizationID != "" && sv.GetOrganizationId() != p.organizationID {
		return false
	}
	if p.modifiedAfter != nil && sv.GetUpdateTime().AsTime().Before(*p.modifiedAfter) {
		return false
	}
	if p.taxonomyID != "" && !slices.ContainsFunc(sv.GetTaxonomyTermIds(), func(id string) bool {
		return s.terms[id] != nil && s.terms[id].GetTaxonomy() == p.taxonomyID
	}) {
		return false
	}
	if p.postcode != "" {
		if p.proximity > 0 {
			c, ok := s.centroid(p.postcode)
			return ok && slices.ContainsFunc(sv.GetServiceAtLocations(), func(sal *directoryv1.ServiceAtLocation) bool {
				l := s.locs[sal.GetLocationId()]
				return l != nil && l.Latitude != nil && l.Longitude != nil &&
					distanceMetres(c, [2]float64{l.GetLatitude(), l.GetLongitude()}) <= p.proximity
			})
		}
		return slices.ContainsFunc(sv.GetServiceAtLocations(), func(sal *directoryv1.ServiceAtLocation) bool {
			l := s.locs[sal.GetLocationId()]
			return l != nil && l.GetAddress().GetPostalCode() == p.postcode
		})
	}
	return true
}

// centroid is the mean position of the located places with postal code pc.
func (s *snapshot) centroid(pc string) ([2]float64, bool) {
	var sum [2]float64
	n := 0
	for _, l := range s.locs {
		if l.GetAddress().GetPostalCode() == pc && l.Latitude != nil && l.Longitude != nil {
			sum[0] += l.GetLatitude()
			sum[1] += l.GetLongitude()
			n++
		}
	}
	if n == 0 {
		return sum, false
	}
	return [2]float64{sum[0] / float64(n), sum[1] / float64(n)}, true
}

func distanceMetres(a, b [2]float64) float64 {
	rad := math.Pi / 180
	dLat, dLon := (b[0]-a[0])*rad, (b[1]-a[1])*rad
	x := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a[0]*rad)*math.Cos(b[0]*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * 6371008.8 * math.Asin(math.Min(1, math.Sqrt(x)))
}

func (h *handler) services(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	s, err := h.snapshot(r.Context(), p.locale)
	if err != nil {
		fail(w, r, err)
		return
	}
	svcs, err := h.matchingServices(r.Context(), p, s)
	if err != nil {
		fail(w, r, err)
		return
	}
	items := make([]map[string]any, 0, len(svcs))
	for _, sv := range svcs {
		switch {
		case p.minimal:
			items = append(items, map[string]any{"id": sv.GetId(), "name": directory.Text(sv.GetName(), p.locale), "status": serviceStatus(sv), "last_modified": ts(sv.GetUpdateTime())})
		case p.full:
			items = append(items, s.service(sv, p.locale))
		default:
			items = append(items, s.serviceSummary(sv, p.locale))
		}
	}
	page(w, p, items)
}

func (h *handler) service(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	sv, err := h.c.GetService(r.Context(), &directoryv1.GetServiceRequest{Id: r.PathValue("id"), Locale: p.locale})
	if err != nil {
		fail(w, r, err)
		return
	}
	s, err := h.snapshot(r.Context(), p.locale)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeJSON(w, s.service(sv, p.locale))
}

func (h *handler) organizations(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	s, err := h.snapshot(r.Context(), p.locale)
	if err != nil {
		fail(w, r, err)
		return
	}
	ids := make([]string, 0, len(s.orgs))
	for id, o := range s.orgs {
		if p.search == "" || containsFold(directory.Text(o.GetName(), p.locale)+" "+o.GetAlternateName()+" "+directory.Text(o.GetDescription(), p.locale), p.search) {
			ids = append(ids, id)
		}
	}
	if p.taxonomyTermID != "" || p.taxonomyID != "" {
		svcs, err := h.matchingServices(r.Context(), params{taxonomyTermID: p.taxonomyTermID, taxonomyID: p.taxonomyID, locale: p.locale}, s)
		if err != nil {
			fail(w, r, err)
			return
		}
		with := map[string]bool{}
		for _, sv := range svcs {
			with[sv.GetOrganizationId()] = true
		}
		ids = slices.DeleteFunc(ids, func(id string) bool { return !with[id] })
	}
	sort.Strings(ids)
	items := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		if p.full {
			items = append(items, s.organization(s.orgs[id], p.locale, nil))
		} else {
			items = append(items, s.organizationSummary(s.orgs[id], p.locale))
		}
	}
	page(w, p, items)
}

func (h *handler) organization(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := h.c.GetOrganization(r.Context(), &directoryv1.GetOrganizationRequest{Id: r.PathValue("id"), Locale: p.locale})
	if err != nil {
		fail(w, r, err)
		return
	}
	s, err := h.snapshot(r.Context(), p.locale)
	if err != nil {
		fail(w, r, err)
		return
	}
	svcs, err := h.matchingServices(r.Context(), params{organizationID: o.GetId(), locale: p.locale}, s)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := s.organization(o, p.locale, nil)
	services := make([]map[string]any, 0, len(svcs))
	for _, sv := range svcs {
		if p.fullService {
			services = append(services, s.service(sv, p.locale))
		} else {
			services = append(services, s.serviceSummary(sv, p.locale))
		}
	}
	out["services"] = services
	writeJSON(w, out)
}

func (h *handler) taxonomies(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	terms, err := h.allTerms(r.Context(), p.locale)
	if err != nil {
		fail(w, r, err)
		return
	}
	var names []string
	for _, t := range terms {
		if t.GetTaxonomy() != "" && !slices.Contains(names, t.GetTaxonomy()) && (p.search == "" || containsFold(t.GetTaxonomy(), p.search)) {
			names = append(names, t.GetTaxonomy())
		}
	}
	sort.Strings(names)
	items := make([]map[string]any, 0, len(names))
	for _, n := range names {
		items = append(items, map[string]any{"id": n, "name": n, "description": "Taxonomy " + n + " of the Ponte directory"})
	}
	page(w, p, items)
}

func (h *handler) taxonomyTerms(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	terms, err := h.allTerms(r.Context(), p.locale)
	if err != nil {
		fail(w, r, err)
		return
	}
	q := r.URL.Query()
	topOnly, _ := strconv.ParseBool(q.Get("top_only"))
	items := []map[string]any{}
	for _, t := range terms {
		switch {
		case p.taxonomyID != "" && t.GetTaxonomy() != p.taxonomyID,
			q.Get("parent_id") != "" && t.GetParentId() != q.Get("parent_id"),
			topOnly && t.GetParentId() != "",
			p.search != "" && !containsFold(directory.Text(t.GetName(), p.locale)+" "+t.GetCode(), p.search):
			continue
		}
		items = append(items, term(t, p.locale))
	}
	page(w, p, items)
}

func (h *handler) serviceAtLocations(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	s, err := h.snapshot(r.Context(), p.locale)
	if err != nil {
		fail(w, r, err)
		return
	}
	svcs, err := h.matchingServices(r.Context(), p, s)
	if err != nil {
		fail(w, r, err)
		return
	}
	items := []map[string]any{}
	for _, sv := range svcs {
		for i, sal := range sv.GetServiceAtLocations() {
			if p.postcode != "" && p.proximity == 0 && s.locs[sal.GetLocationId()].GetAddress().GetPostalCode() != p.postcode {
				continue
			}
			item := s.serviceAtLocation(sv, i, sal, p.locale)
			if p.full {
				item["service"] = s.serviceSummary(sv, p.locale)
			} else {
				item["service"] = map[string]any{"id": sv.GetId(), "name": directory.Text(sv.GetName(), p.locale), "status": serviceStatus(sv)}
			}
			items = append(items, item)
		}
	}
	page(w, p, items)
}

// containsFold: sub occurs in s, ignoring case and accents.
func containsFold(s, sub string) bool { return textfold.Contains(s, sub) }

func ts(t *timestamppb.Timestamp) string {
	return t.AsTime().UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
