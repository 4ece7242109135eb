// Package hsds serves the directory's read endpoints of the Open Referral HSDS 3.1 API
// under /hsds/: /hsds/, /hsds/services[/{id}], /hsds/organizations[/{id}],
// /hsds/taxonomies[/{id}], /hsds/taxonomy_terms[/{id}],
// /hsds/service_at_locations[/{id}] and /hsds/status, with the query parameters search,
// page, per_page, taxonomy_term_id, taxonomy_id, organization_id, modified_after,
// minimal, full, full_service, postcode, proximity, top_only and parent_id.
//
// It reads through the directory's gRPC API (in process or remote), so every call passes
// the same interceptors as any other. Decisions where HSDS is silent or does not fit:
//   - Text is returned in one language: the `locale` parameter (a Ponte extension),
//     default Italian, with the fallbacks of the directory's locale rule.
//   - Every id is a UUID (HSDS says "format": "uuid"; see ID): a record's internal id
//     when it is one, else the UUIDv5 of its key ("service/l2-crema") under Namespace;
//     records HSDS wants that Ponte does not keep as such (phones, schedules, languages,
//     addresses, attributes, services at locations...) get the UUIDv5 of their owner's
//     key and place ("service/l2-crema/phones/0", "service/l2-crema/at/loc-crema"):
//     the same on every node and run, stable while the record does not change. Paths
//     and filters take these UUIDs, and the internal ids as well.
//   - Taxonomy terms are linked to services as HSDS attributes with link_entity
//     "service"; a taxonomy is the set of terms with one `taxonomy` value. A built-in
//     vocabulary (package seed) is one taxonomy whether its terms carry its code or its
//     id, with the vocabulary's id, name and description; any other value is a taxonomy
//     named by that value. An unknown taxonomy_id is a 400, as an unknown
//     taxonomy_term_id is.
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
// Export carries, for a record whose HSDS id is derived, its internal id in a "ponte_id"
// attribute (and a term's in the value of the attribute that links it); Decode gives the
// record that id back only when the UUID is the one derived from it, so a document that
// did not come from Ponte cannot rename records.
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
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
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

// Options are what the HSDS endpoints say about where they are served.
type Options struct {
	// PublicURL is the URL clients reach the edge at (--public-url); the meta endpoint's
	// openapi_url is built on it. Empty: on the scheme and Host of each request (a
	// development edge: behind a proxy, set it).
	PublicURL string
	// OpenAPIPath is the path of the OpenAPI document of these endpoints on the edge.
	OpenAPIPath string
}

// Handler serves the HSDS read endpoints; mount it at "/hsds/".
func Handler(client directoryv1.DirectoryServiceClient, opts Options) http.Handler {
	h := &handler{c: client, opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hsds/{$}", h.root)
	mux.HandleFunc("GET /hsds/status", h.status)
	mux.HandleFunc("GET /hsds/services", h.services)
	mux.HandleFunc("GET /hsds/services/{id}", h.service)
	mux.HandleFunc("GET /hsds/organizations", h.organizations)
	mux.HandleFunc("GET /hsds/organizations/{id}", h.organization)
	mux.HandleFunc("GET /hsds/taxonomies", h.taxonomies)
	mux.HandleFunc("GET /hsds/taxonomies/{id}", h.taxonomy)
	mux.HandleFunc("GET /hsds/taxonomy_terms", h.taxonomyTerms)
	mux.HandleFunc("GET /hsds/taxonomy_terms/{id}", h.taxonomyTerm)
	mux.HandleFunc("GET /hsds/service_at_locations", h.serviceAtLocations)
	mux.HandleFunc("GET /hsds/service_at_locations/{id}", h.serviceAtLocation)
	mux.HandleFunc("/hsds/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "no such HSDS endpoint", "")
	})
	return mux
}

type handler struct {
	c    directoryv1.DirectoryServiceClient
	opts Options
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

func (h *handler) root(w http.ResponseWriter, r *http.Request) {
	m := map[string]any{
		"version": Version,
		"profile": "https://docs.openreferral.org/en/latest/hsds/",
	}
	if h.opts.OpenAPIPath != "" {
		m["openapi_url"] = h.baseURL(r) + h.opts.OpenAPIPath
	}
	writeJSON(w, m)
}

// status answers, as the Italian guidelines' /status does, problem+json with 200 when the
// directory behind these endpoints answers, 503 otherwise.
func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	if _, err := h.c.ListTaxonomyTerms(r.Context(), &directoryv1.ListTaxonomyTermsRequest{PageSize: 1}); err != nil {
		writeProblem(w, r, http.StatusServiceUnavailable, "the directory does not answer", "")
		return
	}
	w.Header().Set("Content-Type", problem.ContentType)
	_, _ = w.Write([]byte(`{"type":"about:blank","title":"OK","status":200,"detail":"ready"}` + "\n"))
}

// baseURL is the absolute URL of the edge: the configured public URL, else the scheme
// and Host of the request (a Host that is not a host[:port] is taken as localhost).
func (h *handler) baseURL(r *http.Request) string {
	if h.opts.PublicURL != "" {
		return strings.TrimSuffix(h.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if u, err := url.Parse(scheme + "://" + host); err != nil || u.Host != host || host == "" || u.User != nil {
		host = "localhost"
	}
	return scheme + "://" + host
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
	// byHSDS maps the HSDS id of every organization, location and term to its internal id.
	byHSDS map[string]string
}

// resolve returns the internal id of the record of kind that id names, by its HSDS id
// (a UUID) or by its internal id; false if there is none.
func (s *snapshot) resolve(kind, id string) (string, bool) {
	has := func(x string) bool {
		switch kind {
		case kindOrganization:
			return s.orgs[x] != nil
		case kindLocation:
			return s.locs[x] != nil
		case kindTerm:
			return s.terms[x] != nil
		}
		return false
	}
	if has(id) {
		return id, true
	}
	if x, ok := s.byHSDS[kind+" "+strings.ToLower(id)]; ok {
		return x, true
	}
	return "", false
}

// taxonomies returns the taxonomies of the snapshot's terms, by HSDS id.
func (s *snapshot) taxonomies() map[string]taxonomyInfo {
	out := map[string]taxonomyInfo{}
	for _, t := range s.terms {
		if t.GetTaxonomy() != "" {
			tx := taxonomyOf(t.GetTaxonomy())
			out[tx.ID] = tx
		}
	}
	return out
}

// taxonomy returns the taxonomy that id names: by its HSDS id or by the value its terms
// carry ("ponte-services").
func (s *snapshot) taxonomy(id string) (taxonomyInfo, bool) {
	for _, tx := range s.taxonomies() {
		if strings.EqualFold(tx.ID, id) || tx.Code == id {
			return tx, true
		}
	}
	return taxonomyInfo{}, false
}

func (h *handler) snapshot(ctx context.Context, locale string) (*snapshot, error) {
	s := &snapshot{orgs: map[string]*directoryv1.Organization{}, locs: map[string]*directoryv1.Location{},
		terms: map[string]*directoryv1.TaxonomyTerm{}, byHSDS: map[string]string{}}
	for tok, n := "", 0; n < maxScan; n += maxPerPage {
		resp, err := h.c.ListOrganizations(ctx, &directoryv1.ListOrganizationsRequest{PageSize: maxPerPage, PageToken: tok, Locale: locale})
		if err != nil {
			return nil, err
		}
		for _, o := range resp.GetOrganizations() {
			s.orgs[o.GetId()] = o
			s.byHSDS[kindOrganization+" "+strings.ToLower(ID(kindOrganization, o.GetId()))] = o.GetId()
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
			s.byHSDS[kindLocation+" "+strings.ToLower(ID(kindLocation, l.GetId()))] = l.GetId()
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
		s.byHSDS[kindTerm+" "+strings.ToLower(ID(kindTerm, t.GetId()))] = t.GetId()
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
	if err := p.resolve(s); err != nil {
		return nil, err
	}
	if p.taxonomyTermID != "" {
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
		return s.terms[id] != nil && s.terms[id].GetTaxonomy() != "" && taxonomyOf(s.terms[id].GetTaxonomy()).ID == p.taxonomyID
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

// begin parses a read's parameters and takes the snapshot of the directory in the
// requested locale, answering the problem itself (and returning ok false) when either fails.
func (h *handler) begin(w http.ResponseWriter, r *http.Request) (params, *snapshot, bool) {
	p, err := parseParams(r)
	if err != nil {
		fail(w, r, err)
		return p, nil, false
	}
	s, err := h.snapshot(r.Context(), p.locale)
	if err != nil {
		fail(w, r, err)
		return p, nil, false
	}
	return p, s, true
}

func (h *handler) services(w http.ResponseWriter, r *http.Request) {
	p, s, ok := h.begin(w, r)
	if !ok {
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
			items = append(items, map[string]any{"id": ID(kindService, sv.GetId()), "name": directory.Text(sv.GetName(), p.locale), "status": serviceStatus(sv), "last_modified": ts(sv.GetUpdateTime())})
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
	sv, err := h.getService(r.Context(), r.PathValue("id"), p.locale)
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
	p, s, ok := h.begin(w, r)
	if !ok {
		return
	}
	if err := p.resolve(s); err != nil {
		fail(w, r, err)
		return
	}
	ids := make([]string, 0, len(s.orgs))
	for id, o := range s.orgs {
		if p.search == "" || containsFold(directory.Text(o.GetName(), p.locale)+" "+o.GetAlternateName()+" "+directory.Text(o.GetDescription(), p.locale), p.search) {
			ids = append(ids, id)
		}
	}
	var byOrg map[string][]*directoryv1.Service
	if p.taxonomyTermID != "" || p.taxonomyID != "" || p.full || p.fullService {
		svcs, err := h.matchingServices(r.Context(), params{taxonomyTermID: p.taxonomyTermID, taxonomyID: p.taxonomyID, locale: p.locale}, s)
		if err != nil {
			fail(w, r, err)
			return
		}
		byOrg = map[string][]*directoryv1.Service{}
		for _, sv := range svcs {
			byOrg[sv.GetOrganizationId()] = append(byOrg[sv.GetOrganizationId()], sv)
		}
		if p.taxonomyTermID != "" || p.taxonomyID != "" {
			ids = slices.DeleteFunc(ids, func(id string) bool { return len(byOrg[id]) == 0 })
		}
	}
	sort.Strings(ids)
	items := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		if p.full || p.fullService {
			items = append(items, s.organizationWithServices(s.orgs[id], byOrg[id], p.fullService, p.locale))
		} else {
			items = append(items, s.organizationSummary(s.orgs[id], p.locale))
		}
	}
	page(w, p, items)
}

func (h *handler) organization(w http.ResponseWriter, r *http.Request) {
	p, s, ok := h.begin(w, r)
	if !ok {
		return
	}
	id, ok := s.resolve(kindOrganization, r.PathValue("id"))
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "no such organization", "")
		return
	}
	svcs, err := h.matchingServices(r.Context(), params{organizationID: id, locale: p.locale}, s)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeJSON(w, s.organizationWithServices(s.orgs[id], svcs, p.fullService, p.locale))
}

// organizationWithServices is the fully nested organization with its services, in full
// when full is set, else as summaries.
func (s *snapshot) organizationWithServices(o *directoryv1.Organization, svcs []*directoryv1.Service, full bool, locale string) map[string]any {
	out := s.organization(o, locale, nil)
	services := make([]map[string]any, 0, len(svcs))
	for _, sv := range svcs {
		if full {
			services = append(services, s.service(sv, locale))
		} else {
			services = append(services, s.serviceSummary(sv, locale))
		}
	}
	out["services"] = services
	return out
}

// taxonomyRecord is the HSDS taxonomy record of tx.
func taxonomyRecord(tx taxonomyInfo) map[string]any {
	m := map[string]any{"id": tx.ID, "name": tx.Name, "description": tx.Description}
	put(m, "version", tx.Version)
	return m
}

func (h *handler) taxonomies(w http.ResponseWriter, r *http.Request) {
	p, s, ok := h.begin(w, r)
	if !ok {
		return
	}
	var list []taxonomyInfo
	for _, tx := range s.taxonomies() {
		if p.search == "" || containsFold(tx.Name+" "+tx.Code+" "+tx.Description, p.search) {
			list = append(list, tx)
		}
	}
	slices.SortFunc(list, func(a, b taxonomyInfo) int { return strings.Compare(a.Name+"\x00"+a.ID, b.Name+"\x00"+b.ID) })
	items := make([]map[string]any, 0, len(list))
	for _, tx := range list {
		items = append(items, taxonomyRecord(tx))
	}
	page(w, p, items)
}

func (h *handler) taxonomy(w http.ResponseWriter, r *http.Request) {
	_, s, ok := h.begin(w, r)
	if !ok {
		return
	}
	tx, ok := s.taxonomy(r.PathValue("id"))
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "no such taxonomy", "")
		return
	}
	writeJSON(w, taxonomyRecord(tx))
}

func (h *handler) taxonomyTerms(w http.ResponseWriter, r *http.Request) {
	p, s, ok := h.begin(w, r)
	if !ok {
		return
	}
	if err := p.resolve(s); err != nil {
		fail(w, r, err)
		return
	}
	q := r.URL.Query()
	var topOnly bool
	if v := q.Get("top_only"); v != "" {
		var err error
		if topOnly, err = strconv.ParseBool(v); err != nil {
			fail(w, r, &badParam{"top_only", "must be true or false"})
			return
		}
	}
	parent := q.Get("parent_id")
	if parent != "" {
		if parent, ok = s.resolve(kindTerm, parent); !ok {
			fail(w, r, &badParam{"parent_id", fmt.Sprintf("unknown taxonomy term %q", q.Get("parent_id"))})
			return
		}
	}
	ids := make([]string, 0, len(s.terms))
	for id := range s.terms {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	items := []map[string]any{}
	for _, id := range ids {
		t := s.terms[id]
		switch {
		case p.taxonomyID != "" && (t.GetTaxonomy() == "" || taxonomyOf(t.GetTaxonomy()).ID != p.taxonomyID),
			parent != "" && t.GetParentId() != parent,
			topOnly && t.GetParentId() != "",
			p.search != "" && !containsFold(directory.Text(t.GetName(), p.locale)+" "+t.GetCode(), p.search):
			continue
		}
		items = append(items, term(t, p.locale))
	}
	page(w, p, items)
}

func (h *handler) taxonomyTerm(w http.ResponseWriter, r *http.Request) {
	p, s, ok := h.begin(w, r)
	if !ok {
		return
	}
	id, ok := s.resolve(kindTerm, r.PathValue("id"))
	if !ok {
		writeProblem(w, r, http.StatusNotFound, "no such taxonomy term", "")
		return
	}
	writeJSON(w, term(s.terms[id], p.locale))
}

func (h *handler) serviceAtLocations(w http.ResponseWriter, r *http.Request) {
	p, s, ok := h.begin(w, r)
	if !ok {
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
			items = append(items, s.serviceAtLocationWithService(sv, i, sal, p.full, p.locale))
		}
	}
	page(w, p, items)
}

// serviceAtLocationWithService is the service at a location with its service: its summary
// when full is set, else its id, name and status.
func (s *snapshot) serviceAtLocationWithService(sv *directoryv1.Service, i int, sal *directoryv1.ServiceAtLocation, full bool, locale string) map[string]any {
	item := s.serviceAtLocation(sv, i, sal, locale)
	if full {
		item["service"] = s.serviceSummary(sv, locale)
	} else {
		item["service"] = map[string]any{"id": ID(kindService, sv.GetId()), "name": directory.Text(sv.GetName(), locale), "status": serviceStatus(sv)}
	}
	return item
}

func (h *handler) serviceAtLocation(w http.ResponseWriter, r *http.Request) {
	p, err := parseParams(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	want := strings.ToLower(r.PathValue("id"))
	if !isUUID(want) {
		writeProblem(w, r, http.StatusNotFound, "no such service at location", "")
		return
	}
	var found *directoryv1.Service
	var at int
	err = h.eachService(r.Context(), func(sv *directoryv1.Service) bool {
		for i, sal := range sv.GetServiceAtLocations() {
			if subID(salKey(sv.GetId(), sal.GetLocationId())) == want {
				found, at = sv, i
				return false
			}
		}
		return true
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	if found == nil {
		writeProblem(w, r, http.StatusNotFound, "no such service at location", "")
		return
	}
	sv, err := h.c.GetService(r.Context(), &directoryv1.GetServiceRequest{Id: found.GetId(), Locale: p.locale})
	if err != nil {
		fail(w, r, err)
		return
	}
	s, err := h.snapshot(r.Context(), p.locale)
	if err != nil {
		fail(w, r, err)
		return
	}
	if at >= len(sv.GetServiceAtLocations()) {
		writeProblem(w, r, http.StatusNotFound, "no such service at location", "")
		return
	}
	writeJSON(w, s.serviceAtLocationWithService(sv, at, sv.GetServiceAtLocations()[at], true, p.locale))
}

// eachService calls f with every service (at most maxScan), inactive and defunct ones
// too, until f returns false.
func (h *handler) eachService(ctx context.Context, f func(*directoryv1.Service) bool) error {
	for tok, n := "", 0; n < maxScan; n += maxPerPage {
		resp, err := h.c.ListServices(ctx, &directoryv1.ListServicesRequest{PageSize: maxPerPage, PageToken: tok})
		if err != nil {
			return err
		}
		for _, sv := range resp.GetServices() {
			if !f(sv) {
				return nil
			}
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			return nil
		}
	}
	return nil
}

// getService reads the service that id names: by its internal id, or by its HSDS id.
func (h *handler) getService(ctx context.Context, id, locale string) (*directoryv1.Service, error) {
	sv, err := h.c.GetService(ctx, &directoryv1.GetServiceRequest{Id: id, Locale: locale})
	if status.Code(err) != codes.NotFound || !isUUID(id) {
		return sv, err
	}
	want, internal := strings.ToLower(id), ""
	if err := h.eachService(ctx, func(sv *directoryv1.Service) bool {
		if strings.ToLower(ID(kindService, sv.GetId())) == want {
			internal = sv.GetId()
			return false
		}
		return true
	}); err != nil {
		return nil, err
	}
	if internal == "" {
		return nil, status.Error(codes.NotFound, "no such service")
	}
	return h.c.GetService(ctx, &directoryv1.GetServiceRequest{Id: internal, Locale: locale})
}

// resolve turns the filters that name records into the ids the directory knows: a
// taxonomy term (by HSDS or internal id) into its internal id, a taxonomy (by HSDS id or
// the value its terms carry) into its HSDS id, an organization into its internal id. An
// unknown term or taxonomy is a bad parameter; an unknown organization matches nothing.
func (p *params) resolve(s *snapshot) error {
	if p.taxonomyTermID != "" {
		id, ok := s.resolve(kindTerm, p.taxonomyTermID)
		if !ok {
			return &badParam{"taxonomy_term_id", fmt.Sprintf("unknown taxonomy term %q", p.taxonomyTermID)}
		}
		p.taxonomyTermID = id
	}
	if p.taxonomyID != "" {
		tx, ok := s.taxonomy(p.taxonomyID)
		if !ok {
			return &badParam{"taxonomy_id", fmt.Sprintf("unknown taxonomy %q", p.taxonomyID)}
		}
		p.taxonomyID = tx.ID
	}
	if p.organizationID != "" {
		if id, ok := s.resolve(kindOrganization, p.organizationID); ok {
			p.organizationID = id
		}
	}
	return nil
}

// containsFold: sub occurs in s, ignoring case and accents.
func containsFold(s, sub string) bool { return textfold.Contains(s, sub) }

func ts(t *timestamppb.Timestamp) string {
	return t.AsTime().UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
