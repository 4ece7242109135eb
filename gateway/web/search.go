package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/textfold"
)

// pageSize is how many services a result page shows.
const pageSize = 10

// Radii are the choices of the "within" selector, in km.
var Radii = []int{2, 5, 10, 25, 50}

// SpokenLanguages are the languages offered in the "language spoken" selector: those
// most asked for at the network's desks (ISO 639-1, or 639-3 where there is none).
var SpokenLanguages = []string{"ar", "bn", "en", "es", "ff", "fr", "hi", "pa", "ps", "pt", "ro", "ru", "sq", "ti", "uk", "ur", "wo", "zh"}

// Query is a search as the URL holds it.
type Query struct {
	Q            string // free text
	Category     string // taxonomy term id
	Municipality string // name or ISTAT code, as typed
	Language     string // language spoken, ISO 639
	OpenNow      bool
	At           string // "2026-11-24T10:00", Europe/Rome, from <input type=datetime-local>
	Near         string // "lat,lon"
	RadiusKm     int
	Page         string // page token
}

var (
	nearPattern = regexp.MustCompile(`^-?[0-9]{1,2}(\.[0-9]{1,7})?,-?[0-9]{1,3}(\.[0-9]{1,7})?$`)
	langPattern = regexp.MustCompile(`^[a-z]{2,3}$`)
)

// maxParam bounds every parameter: the longest legitimate one is a page token.
const maxParam = 1024

// parseQuery reads the search from the URL; problems are returned as messages naming
// the parameter, for a 400 page, and never reach the directory.
func parseQuery(v url.Values) (Query, []string) {
	var bad []string
	get := func(name string) string {
		s := strings.TrimSpace(v.Get(name))
		switch {
		case len(s) > maxParam:
			bad = append(bad, name+": too long")
			return ""
		case !utf8.ValidString(s):
			bad = append(bad, name+": not valid UTF-8 text")
			return ""
		case strings.ContainsRune(s, 0):
			bad = append(bad, name+": contains a NUL character")
			return ""
		}
		return s
	}
	q := Query{
		Q: get("q"), Category: get("cat"), Municipality: get("mun"), Language: get("language"),
		OpenNow: get("open") == "now", At: get("at"), Near: get("near"), Page: get("page"),
	}
	if utf8.RuneCountInString(q.Q) > 200 {
		bad = append(bad, "q: at most 200 characters")
	}
	if utf8.RuneCountInString(q.Municipality) > 100 {
		bad = append(bad, "mun: at most 100 characters")
	}
	if q.Language != "" && !langPattern.MatchString(q.Language) {
		bad = append(bad, "language: an ISO 639 code such as ar")
	}
	if q.Near != "" && !nearPattern.MatchString(q.Near) {
		bad = append(bad, "near: latitude,longitude in decimal degrees")
	}
	if q.At != "" {
		if _, err := time.ParseInLocation("2006-01-02T15:04", q.At, rome); err != nil {
			bad = append(bad, "at: a date and time such as 2026-11-24T10:00")
		}
	}
	if r := get("r"); r != "" {
		n, err := strconv.Atoi(r)
		if err != nil || n < 1 || n > 200 {
			bad = append(bad, "r: a radius in km from 1 to 200")
		}
		q.RadiusKm = n
	}
	return q, bad
}

// Values is the query as URL parameters, without the page token unless withPage; hl is
// kept so that a shared link opens in the same language.
func (q Query) Values(hl string, withPage bool) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", q.Q)
	set("cat", q.Category)
	set("mun", q.Municipality)
	set("language", q.Language)
	if q.OpenNow {
		v.Set("open", "now")
	}
	set("at", q.At)
	set("near", q.Near)
	if q.RadiusKm > 0 {
		v.Set("r", strconv.Itoa(q.RadiusKm))
	}
	if withPage {
		set("page", q.Page)
	}
	set("hl", hl)
	return v
}

// Empty reports whether the reader has asked nothing yet (the first visit).
func (q Query) Empty() bool {
	return q.Q == "" && q.Category == "" && q.Municipality == "" && q.Language == "" && !q.OpenNow && q.At == "" && q.Near == ""
}

// Result is one service in the result list.
type Result struct {
	ID        string
	Name      Text
	Summary   Text
	Distance  string // "1.2", empty when not searched near
	Today     DayHours
	Phones    []Phone
	Address   string
	Languages []string // names in the page's locale
}

// Text is a service's text in the page's locale, or a fallback marked as such.
type Text struct {
	Value    string
	Lang     string // the locale of Value
	Fallback bool   // Value is not in the page's locale
}

// Phone is a number to call.
type Phone struct {
	Number string // as written
	Tel    string // for tel: links, digits and a leading +
}

// searchPage is what the search template shows.
type searchPage struct {
	T          T
	Query      Query
	Problems   []string
	Failure    string
	Categories []termOption
	Languages  []option
	Radii      []int
	Locales    []localeLink
	Asked      bool
	Total      int32
	Results    []Result
	Next       string // URL of the next page
	First      string // URL of the first page, on later pages
	Suggest    []option
	Municipal  string // the resolved municipality's name
	Swap       bool   // the language switch is swapped out of band (htmx)
}

type option struct{ Value, Label string }

type localeLink struct {
	Locale, Name, URL string
	Current           bool
	Dir               string
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	loc := h.cat.pick(r)
	t := h.cat.translator(loc)
	q, problems := parseQuery(r.URL.Query())
	p := &searchPage{T: t, Query: q, Problems: problems, Radii: Radii, Asked: !q.Empty()}
	p.Locales = h.localeLinks(r, loc)
	p.Languages = languageOptions(t)
	p.Categories = h.terms.options(r.Context(), loc)
	status := http.StatusOK
	switch {
	case len(problems) > 0:
		status = http.StatusBadRequest
	case p.Asked:
		status = h.runSearch(r.Context(), p)
	}
	name := "search.html"
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" {
		name = "results.html" // htmx swaps only the results
		// and shows the canonical URL of the search (no empty parameters).
		w.Header().Set("HX-Push-Url", "/?"+q.Values(loc, true).Encode())
	}
	h.render(w, r, status, name, p)
}

// runSearch asks the directory and fills p; it returns the page's HTTP status.
func (h *Handler) runSearch(ctx context.Context, p *searchPage) int {
	q, t := p.Query, p.T
	req := &directoryv1.SearchServicesRequest{
		Q: q.Q, Language: q.Language, Near: q.Near, Locale: t.Locale, PageSize: pageSize, PageToken: q.Page, FacetSize: 1,
	}
	if q.Category != "" {
		req.Taxonomy = []string{q.Category}
	}
	if q.Near != "" {
		req.RadiusKm = float64(cmpOr(q.RadiusKm, 10))
	}
	switch {
	case q.At != "":
		at, _ := time.ParseInLocation("2006-01-02T15:04", q.At, rome) // checked by parseQuery
		req.OpenAt = timestamppb.New(at)
	case q.OpenNow:
		req.OpenAt = timestamppb.New(h.now())
	}
	if q.Municipality != "" {
		code, name, suggest, err := h.resolveMunicipality(ctx, q.Municipality)
		if err != nil {
			return h.failed(ctx, p, err)
		}
		if code == "" {
			p.Suggest = suggest
			if len(suggest) == 0 {
				p.Problems = append(p.Problems, t.Msg("unknown_municipality", "name", q.Municipality))
			}
			return http.StatusOK
		}
		req.Territory, p.Municipal = code, name
	}
	resp, err := h.dir.SearchServices(ctx, req)
	if err != nil {
		return h.failed(ctx, p, err)
	}
	p.Total = resp.GetTotalSize()
	p.Results = h.results(ctx, t, resp.GetResults(), q.Near != "")
	if tok := resp.GetNextPageToken(); tok != "" {
		next := q
		next.Page = tok
		p.Next = "/?" + next.Values(t.Locale, true).Encode()
	}
	if q.Page != "" {
		p.First = "/?" + q.Values(t.Locale, false).Encode()
	}
	return http.StatusOK
}

// failed turns a directory error into the page's message and status: the reader's
// mistakes as 400 with the fields named, an unreachable directory as 503, anything else
// logged (without the query) and answered 502.
func (h *Handler) failed(ctx context.Context, p *searchPage, err error) int {
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument:
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					p.Problems = append(p.Problems, v.GetField()+": "+v.GetDescription())
				}
			}
		}
		if len(p.Problems) == 0 {
			p.Problems = append(p.Problems, st.Message())
		}
		return http.StatusBadRequest
	case codes.Unavailable, codes.DeadlineExceeded:
		p.Failure = p.T.Msg("search_failed")
		return http.StatusServiceUnavailable
	}
	h.log.ErrorContext(ctx, "web: directory call failed", "code", st.Code().String())
	p.Failure = p.T.Msg("search_failed")
	return http.StatusBadGateway
}

// resolveMunicipality turns what the reader typed into an ISTAT code: a code as is, a
// name that matches one municipality exactly (ignoring case and accents) or the only one
// containing it; otherwise up to six suggestions.
func (h *Handler) resolveMunicipality(ctx context.Context, typed string) (code, name string, suggest []option, err error) {
	if len(typed) == 6 && strings.Trim(typed, "0123456789") == "" {
		t, err := h.terr.GetTerritory(ctx, &directoryv1.GetTerritoryRequest{Code: typed})
		if status.Code(err) == codes.NotFound {
			return "", "", nil, nil
		}
		if err != nil {
			return "", "", nil, err
		}
		return t.GetCode(), t.GetName(), nil, nil
	}
	resp, err := h.terr.ListTerritories(ctx, &directoryv1.ListTerritoriesRequest{Level: "municipality", Q: typed, PageSize: 200})
	if err != nil {
		return "", "", nil, err
	}
	ts := resp.GetTerritories()
	want := textfold.Fold(typed)
	for _, t := range ts {
		if textfold.Fold(t.GetName()) == want {
			return t.GetCode(), t.GetName(), nil, nil
		}
	}
	if len(ts) == 1 {
		return ts[0].GetCode(), ts[0].GetName(), nil, nil
	}
	// Names that begin with what was typed first, then the most populous: "crem"
	// suggests Crema and Cremona before Cremenaga.
	slices.SortStableFunc(ts, func(a, b *directoryv1.Territory) int {
		pa, pb := strings.HasPrefix(textfold.Fold(a.GetName()), want), strings.HasPrefix(textfold.Fold(b.GetName()), want)
		if pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.GetPopulation(), a.GetPopulation())
	})
	for _, t := range ts[:min(len(ts), 6)] {
		label := t.GetName()
		if t.GetProvinceAbbreviation() != "" {
			label += " (" + t.GetProvinceAbbreviation() + ")"
		}
		suggest = append(suggest, option{Value: t.GetCode(), Label: label})
	}
	return "", "", suggest, nil
}

// results builds the result list, fetching each result's place (nearest, or first) in
// parallel.
func (h *Handler) results(ctx context.Context, t T, rs []*directoryv1.SearchResult, near bool) []Result {
	out := make([]Result, len(rs))
	places := make([]*directoryv1.Location, len(rs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, r := range rs {
		id := r.GetNearestLocationId()
		if id == "" && len(r.GetService().GetServiceAtLocations()) > 0 {
			id = r.GetService().GetServiceAtLocations()[0].GetLocationId()
		}
		if id == "" {
			continue
		}
		g.Go(func() error {
			l, err := h.dir.GetLocation(gctx, &directoryv1.GetLocationRequest{Id: id, Locale: t.Locale})
			if err == nil {
				places[i] = l
			}
			return nil // a result without its address is still a result
		})
	}
	_ = g.Wait()
	now := h.now()
	for i, r := range rs {
		s := r.GetService()
		res := Result{
			ID:      s.GetId(),
			Name:    pickText(s.GetName(), t.Locale),
			Summary: summary(pickText(s.GetDescription(), t.Locale)),
		}
		if near {
			res.Distance = strconv.FormatFloat(math.Round(r.GetDistanceKm()*10)/10, 'f', 1, 64)
		}
		res.Today = hoursOn(schedulesAt(s, places[i]), now)
		res.Phones = phones(s.GetPhones())
		if l := places[i]; l != nil {
			res.Address = address(l)
			if len(res.Phones) == 0 {
				res.Phones = phones(l.GetPhones())
			}
		}
		for _, code := range s.GetLanguages() {
			res.Languages = append(res.Languages, t.LanguageName(code))
		}
		out[i] = res
	}
	return out
}

// schedulesAt returns the schedules that hold for s at l: those of the
// service-at-location, else of the service, else of the location (as the search does).
func schedulesAt(s *directoryv1.Service, l *directoryv1.Location) []*directoryv1.Schedule {
	if l != nil {
		for _, sal := range s.GetServiceAtLocations() {
			if sal.GetLocationId() == l.GetId() && len(sal.GetSchedules()) > 0 {
				return sal.GetSchedules()
			}
		}
	}
	if len(s.GetSchedules()) > 0 || l == nil {
		return s.GetSchedules()
	}
	return l.GetSchedules()
}

// pickText returns the text of a localized map the directory sent for locale: it keeps
// the key of the locale it returned, so a fallback is known.
func pickText(m map[string]string, locale string) Text {
	if v, ok := m[locale]; ok {
		return Text{Value: v, Lang: locale}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if i := slices.Index(keys, "it"); i > 0 {
		keys[0], keys[i] = keys[i], keys[0]
	}
	if len(keys) == 0 {
		return Text{}
	}
	return Text{Value: m[keys[0]], Lang: keys[0], Fallback: true}
}

// summary cuts a description to its first sentence or 200 characters.
func summary(t Text) Text {
	s := t.Value
	if i := strings.Index(s, ". "); i > 0 && i < 200 {
		s = s[:i+1]
	} else if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:199]) + "…"
	}
	t.Value = s
	return t
}

func phones(ps []*directoryv1.Phone) []Phone {
	var out []Phone
	for _, p := range ps {
		tel := strings.Map(func(r rune) rune {
			if (r >= '0' && r <= '9') || r == '+' {
				return r
			}
			return -1
		}, p.GetNumber())
		if tel != "" {
			out = append(out, Phone{Number: p.GetNumber(), Tel: tel})
		}
	}
	return out
}

func address(l *directoryv1.Location) string {
	a := l.GetAddress()
	parts := []string{a.GetAddress_1()}
	city := strings.TrimSpace(a.GetPostalCode() + " " + a.GetCity())
	parts = append(parts, city)
	var keep []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ", ")
}

func languageOptions(t T) []option {
	out := make([]option, 0, len(SpokenLanguages))
	for _, code := range SpokenLanguages {
		out = append(out, option{Value: code, Label: t.LanguageName(code)})
	}
	slices.SortFunc(out, func(a, b option) int { return strings.Compare(textfold.Fold(a.Label), textfold.Fold(b.Label)) })
	return out
}

// localeLinks are the language switch: the same URL in every locale.
func (h *Handler) localeLinks(r *http.Request, current string) []localeLink {
	out := make([]localeLink, 0, len(Locales))
	for _, loc := range Locales {
		v := r.URL.Query()
		v.Set("hl", loc)
		if !utf8.ValidString(v.Encode()) {
			v = url.Values{"hl": {loc}}
		}
		dir := "ltr"
		if rtl[loc] {
			dir = "rtl"
		}
		out = append(out, localeLink{Locale: loc, Name: h.cat.messages[loc]["lang_name"], URL: r.URL.Path + "?" + v.Encode(), Current: loc == current, Dir: dir})
	}
	return out
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// termOption is a category of the selector, children indented under their parent.
type termOption struct {
	Value, Label string
	Child        bool
}

// termCache keeps the taxonomy's labels per locale for a short while: the selector is
// on every page and the taxonomy rarely changes.
type termCache struct {
	dir directoryv1.DirectoryServiceClient
	ttl time.Duration

	mu      sync.Mutex
	byLocal map[string]termEntry
}

type termEntry struct {
	at   time.Time
	opts []termOption
}

func newTermCache(dir directoryv1.DirectoryServiceClient, ttl time.Duration) *termCache {
	return &termCache{dir: dir, ttl: ttl, byLocal: map[string]termEntry{}}
}

// options returns the categories in locale: top-level terms, each followed by its
// children, by label. A failure leaves the selector empty (the search still works).
func (c *termCache) options(ctx context.Context, locale string) []termOption {
	c.mu.Lock()
	e, ok := c.byLocal[locale]
	c.mu.Unlock()
	if ok && time.Since(e.at) < c.ttl {
		return e.opts
	}
	opts, err := c.load(ctx, locale)
	if err != nil {
		return e.opts // stale or none
	}
	c.mu.Lock()
	c.byLocal[locale] = termEntry{at: time.Now(), opts: opts}
	c.mu.Unlock()
	return opts
}

func (c *termCache) load(ctx context.Context, locale string) ([]termOption, error) {
	var terms []*directoryv1.TaxonomyTerm
	token := ""
	for range 20 { // at most 20 pages of 1000: a taxonomy is far smaller
		resp, err := c.dir.ListTaxonomyTerms(ctx, &directoryv1.ListTaxonomyTermsRequest{PageSize: 1000, PageToken: token, Locale: locale})
		if err != nil {
			return nil, fmt.Errorf("list taxonomy terms: %w", err)
		}
		terms = append(terms, resp.GetTaxonomyTerms()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(terms) == 0 {
		return nil, errors.New("no taxonomy terms")
	}
	label := func(t *directoryv1.TaxonomyTerm) string { return pickText(t.GetName(), locale).Value }
	byLabel := func(a, b *directoryv1.TaxonomyTerm) int {
		return strings.Compare(textfold.Fold(label(a)), textfold.Fold(label(b)))
	}
	children := map[string][]*directoryv1.TaxonomyTerm{}
	var roots []*directoryv1.TaxonomyTerm
	for _, t := range terms {
		if t.GetParentId() == "" {
			roots = append(roots, t)
		} else {
			children[t.GetParentId()] = append(children[t.GetParentId()], t)
		}
	}
	slices.SortFunc(roots, byLabel)
	var out []termOption
	for _, root := range roots {
		out = append(out, termOption{Value: root.GetId(), Label: label(root)})
		kids := children[root.GetId()]
		slices.SortFunc(kids, byLabel)
		for _, k := range kids {
			out = append(out, termOption{Value: k.GetId(), Label: label(k), Child: true})
		}
	}
	return out, nil
}
