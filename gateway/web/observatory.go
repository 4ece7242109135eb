package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"

	"github.com/ponte-network/ponte/libs/territory"
)

// ObservatoryConfig is what the observatory dashboard needs.
type ObservatoryConfig struct {
	// Conn reaches the reporting service (in process or remote).
	Conn *grpc.ClientConn
	// Logger receives failures (never a token or a figure).
	Logger *slog.Logger
	// Catalog names ISTAT codes.
	Catalog *territory.Catalog
	// SessionSecret encrypts and signs the session cookie (at least 32 bytes; the same
	// on every replica).
	SessionSecret []byte
	// OIDC, when set, is the sign-in through the deployment's identity provider.
	OIDC *OIDCConfig
	// DevSignIn, when set (development mode only), mints a token for a role and a
	// territory chosen on the sign-in page.
	DevSignIn func(role, territory, organization string) (token string, ttl time.Duration, err error)
	// Now is the clock (default periods); nil = time.Now.
	Now func() time.Time
}

// Observatory serves /observatory: the indicators of reporting, for the Region and the
// districts, after sign-in. Reporting decides what each reader may see (a region
// analyst their region, a district role their district); the dashboard forwards the
// reader's token and shows what comes back, suppressed cells as suppressed with the
// reason, never as zero.
type Observatory struct {
	rep      reportingv1.ReportingServiceClient
	log      *slog.Logger
	catalog  *territory.Catalog
	sessions *Sessions
	oidc     *oidcClient
	dev      func(role, territory, organization string) (string, time.Duration, error)
	now      func() time.Time
	cat      *catalog
	tpl      *template.Template
	version  string
	handler  http.Handler
}

// ObservatoryRoutes are the path patterns of the dashboard.
var ObservatoryRoutes = []string{"GET /observatory", "GET /observatory/signin", "POST /observatory/signin",
	"GET /observatory/callback", "POST /observatory/signout", "GET /observatory/export"}

// NewObservatory builds the dashboard; assets and templates are the public pages'.
func (h *Handler) NewObservatory(cfg ObservatoryConfig) (*Observatory, error) {
	if cfg.Conn == nil || cfg.Logger == nil || cfg.Catalog == nil {
		return nil, errors.New("observatory: a reporting connection, a logger and the territory catalog are required")
	}
	ss, err := NewSessions(cfg.SessionSecret)
	if err != nil {
		return nil, err
	}
	o := &Observatory{
		rep: reportingv1.NewReportingServiceClient(cfg.Conn), log: cfg.Logger, catalog: cfg.Catalog,
		sessions: ss, dev: cfg.DevSignIn, now: cfg.Now, cat: h.cat, tpl: h.tpl, version: h.version,
	}
	if cfg.OIDC != nil {
		o.oidc = &oidcClient{cfg: *cfg.OIDC}
	}
	if o.now == nil {
		o.now = time.Now
	}
	o.handler = o.routes()
	return o, nil
}

// ServeHTTP routes the dashboard's requests.
func (o *Observatory) ServeHTTP(w http.ResponseWriter, r *http.Request) { o.handler.ServeHTTP(w, r) }

func (o *Observatory) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /observatory", o.dashboard)
	mux.HandleFunc("GET /observatory/signin", o.signinPage)
	mux.HandleFunc("POST /observatory/signin", o.signin)
	mux.HandleFunc("GET /observatory/callback", o.callback)
	mux.HandleFunc("POST /observatory/signout", o.signout)
	mux.HandleFunc("GET /observatory/export", o.export)
	return securityHeaders(noStore(mux))
}

// noStore: the dashboard's answers depend on who signed in; nothing is cached. Its URLs
// carry no personal data, so the browser may send the Origin of same-origin requests
// (which "no-referrer" would blank), for the sign-in's origin check.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// locale of the dashboard: Italian or English, like the indicator catalog.
func (o *Observatory) locale(r *http.Request) string {
	if loc := o.cat.pick(r); loc == "it" || loc == "en" {
		return loc
	}
	return "en"
}

// sameOrigin refuses a form post from another site (with SameSite=Lax cookies as the
// first line of defence): by the browser's Sec-Fetch-Site when it sends one, else by the
// Origin header; a post with neither (not a browser's) passes, an opaque "null" origin
// does not.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

type signinPage struct {
	T       T
	Locales []localeLink
	Swap    bool
	OIDC    bool
	Dev     bool
	Roles   []string
	Problem string
}

// devRoles are the roles the development sign-in offers: those that read indicators.
var devRoles = []string{"region_analyst", "region_admin", "district_admin", "district_operator", "admin"}

func (o *Observatory) signinPage(w http.ResponseWriter, r *http.Request) {
	o.renderSignin(w, r, http.StatusOK, "")
}

func (o *Observatory) renderSignin(w http.ResponseWriter, r *http.Request, code int, problem string) {
	loc := o.locale(r)
	p := signinPage{T: o.cat.translator(loc), OIDC: o.oidc != nil, Dev: o.dev != nil, Roles: devRoles, Problem: problem}
	p.Locales = observatoryLocales(r, loc)
	o.render(w, r, code, "signin.html", p)
}

var devTerritory = regexp.MustCompile(`^(?:[0-9]{2}|[0-9]{3}|[0-9]{6}|[a-z][a-z0-9-]{1,39})$`)

func (o *Observatory) signin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site sign-in refused", http.StatusForbidden)
		return
	}
	if r.FormValue("method") == "oidc" && o.oidc != nil {
		if err := o.oidc.start(w, r, o.sessions); err != nil {
			o.log.WarnContext(r.Context(), "observatory: OpenID provider unreachable", slog.String("error", err.Error()))
			o.renderSignin(w, r, http.StatusServiceUnavailable, o.cat.translator(o.locale(r)).Msg("obs_provider_down"))
		}
		return
	}
	if o.dev == nil {
		o.renderSignin(w, r, http.StatusBadRequest, "")
		return
	}
	role, terr, org := r.FormValue("role"), strings.TrimSpace(r.FormValue("territory")), strings.TrimSpace(r.FormValue("organization"))
	if !slices.Contains(devRoles, role) || (terr != "" && !devTerritory.MatchString(terr)) || len(org) > 64 {
		o.renderSignin(w, r, http.StatusBadRequest, o.cat.translator(o.locale(r)).Msg("obs_bad_signin"))
		return
	}
	tok, ttl, err := o.dev(role, terr, org)
	if err != nil {
		o.log.ErrorContext(r.Context(), "observatory: development sign-in", slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	name := role
	if terr != "" {
		name += " · " + terr
	}
	if err := o.sessions.Save(w, r, Session{Token: tok, Name: name, Expiry: o.now().Add(ttl)}); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/observatory?hl="+o.locale(r), http.StatusSeeOther)
}

func (o *Observatory) callback(w http.ResponseWriter, r *http.Request) {
	if o.oidc == nil {
		http.NotFound(w, r)
		return
	}
	s, err := o.oidc.finish(r, o.sessions)
	if err != nil {
		o.log.WarnContext(r.Context(), "observatory: sign-in refused", slog.String("error", err.Error()))
		o.renderSignin(w, r, http.StatusBadRequest, o.cat.translator(o.locale(r)).Msg("obs_signin_again"))
		return
	}
	if err := o.sessions.Save(w, r, s); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/observatory", http.StatusSeeOther)
}

func (o *Observatory) signout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site sign-out refused", http.StatusForbidden)
		return
	}
	o.sessions.Clear(w, r)
	http.Redirect(w, r, "/observatory/signin", http.StatusSeeOther)
}

// withToken is ctx carrying the reader's token to reporting.
func withToken(ctx context.Context, s Session) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.Token)
}

// obsQuery is the dashboard's question as its URL holds it.
type obsQuery struct {
	Indicator, From, To, Granularity, By string
}

var granularities = map[string]reportingv1.Granularity{
	"day": reportingv1.Granularity_GRANULARITY_DAY, "week": reportingv1.Granularity_GRANULARITY_WEEK,
	"month": reportingv1.Granularity_GRANULARITY_MONTH, "quarter": reportingv1.Granularity_GRANULARITY_QUARTER,
	"year": reportingv1.Granularity_GRANULARITY_YEAR,
}

// parseObsQuery reads the question, with defaults: the last twelve whole months by
// month, no breakdown.
func parseObsQuery(v url.Values, now time.Time) (obsQuery, []string) {
	local := now.In(rome)
	first := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, rome)
	q := obsQuery{
		Indicator: v.Get("indicator"), From: v.Get("from"), To: v.Get("to"),
		Granularity: v.Get("granularity"), By: v.Get("by"),
	}
	if q.From == "" {
		q.From = first.AddDate(-1, 0, 0).Format(time.DateOnly)
	}
	if q.To == "" {
		q.To = local.Format(time.DateOnly)
	}
	if q.Granularity == "" {
		q.Granularity = "month"
	}
	var bad []string
	for name, val := range map[string]string{"indicator": q.Indicator, "by": q.By} {
		if val != "" && !regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`).MatchString(val) {
			bad = append(bad, name+": not a known name")
		}
	}
	from, errFrom := time.ParseInLocation(time.DateOnly, q.From, rome)
	to, errTo := time.ParseInLocation(time.DateOnly, q.To, rome)
	if errFrom != nil {
		bad = append(bad, "from: a date such as 2026-01-01")
	}
	if errTo != nil {
		bad = append(bad, "to: a date such as 2026-12-31")
	}
	if errFrom == nil && errTo == nil && to.Before(from) {
		bad = append(bad, "to: not before from")
	}
	if _, ok := granularities[q.Granularity]; !ok {
		bad = append(bad, "granularity: day, week, month, quarter or year")
	}
	slices.Sort(bad)
	return q, bad
}

func (q obsQuery) values(hl string) url.Values {
	v := url.Values{"indicator": {q.Indicator}, "from": {q.From}, "to": {q.To}, "granularity": {q.Granularity}, "hl": {hl}}
	if q.By != "" {
		v.Set("by", q.By)
	}
	return v
}

type dashboardPage struct {
	T           T
	Locales     []localeLink
	Swap        bool
	Name        string
	Query       obsQuery
	Problems    []string
	Failure     string
	Indicators  []*reportingv1.Indicator
	Current     *reportingv1.Indicator
	Dims        []option
	Granularity []option
	Data        *dashboard
	ChartJSON   template.JS // json.Marshal escapes <, > and &: safe inside <script>
	CSV, SDMX   string
}

func (o *Observatory) dashboard(w http.ResponseWriter, r *http.Request) {
	s, ok := o.sessions.Load(r)
	if !ok {
		http.Redirect(w, r, "/observatory/signin?hl="+o.locale(r), http.StatusSeeOther)
		return
	}
	loc := o.locale(r)
	t := o.cat.translator(loc)
	q, problems := parseObsQuery(r.URL.Query(), o.now())
	p := &dashboardPage{T: t, Locales: observatoryLocales(r, loc), Name: s.Name, Query: q, Problems: problems}
	for _, g := range []string{"day", "week", "month", "quarter", "year"} {
		p.Granularity = append(p.Granularity, option{Value: g, Label: t.Msg("obs_" + g)})
	}
	ctx := withToken(r.Context(), s)
	list, err := o.rep.ListIndicators(ctx, &reportingv1.ListIndicatorsRequest{})
	if err != nil {
		o.answerError(w, r, p, err)
		return
	}
	p.Indicators = list.GetIndicators()
	if len(p.Indicators) == 0 {
		p.Failure = t.Msg("obs_no_indicators")
		o.render(w, r, http.StatusOK, "observatory.html", p)
		return
	}
	if p.Query.Indicator == "" {
		p.Query.Indicator = p.Indicators[0].GetId()
	}
	for _, ind := range p.Indicators {
		if ind.GetId() == p.Query.Indicator {
			p.Current = ind
		}
	}
	if p.Current == nil {
		p.Problems = append(p.Problems, "indicator: not one you may read")
		p.Query.Indicator = p.Indicators[0].GetId()
		p.Current = p.Indicators[0]
	}
	for _, d := range p.Current.GetDimensions() {
		p.Dims = append(p.Dims, option{Value: d, Label: t.Msg("obs_dim_" + d)})
	}
	if p.Query.By != "" && !slices.Contains(p.Current.GetDimensions(), p.Query.By) {
		p.Problems = append(p.Problems, "by: not a dimension of this indicator")
	}
	if len(p.Problems) > 0 {
		o.render(w, r, http.StatusBadRequest, "observatory.html", p)
		return
	}
	q = p.Query // with the indicator chosen by default
	req := &reportingv1.QueryIndicatorRequest{Id: q.Indicator, From: q.From, To: q.To, Granularity: granularities[q.Granularity]}
	if q.By != "" {
		req.GroupBy = []string{q.By}
	}
	resp, err := o.rep.QueryIndicator(ctx, req)
	if err != nil {
		o.answerError(w, r, p, err)
		return
	}
	d := layout(resp, func(code string) string { return o.codeLabel(t, q.By, code) })
	p.Data = &d
	chart, err := json.Marshal(map[string]any{
		"overTime": d.OverTime, "byDim": d.ByDim, "unit": d.Unit,
		"labels": map[string]string{"suppressed": t.Msg("obs_suppressed"), "overTime": t.Msg("obs_over_time"), "byDim": t.Msg("obs_by_dim")},
	})
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.ChartJSON = template.JS(chart)
	v := q.values(loc)
	v.Set("format", "csv")
	p.CSV = "/observatory/export?" + v.Encode()
	v.Set("format", "sdmx-csv")
	p.SDMX = "/observatory/export?" + v.Encode()
	o.render(w, r, http.StatusOK, "observatory.html", p)
}

// codeLabel names a dimension's code: ISTAT territories by name, sex in words.
func (o *Observatory) codeLabel(t T, dim, code string) string {
	switch dim {
	case "municipality":
		if m, ok := o.catalog.Municipality(code); ok {
			return m.Name
		}
	case "province":
		if p, ok := o.catalog.Province(code); ok {
			return p.Name
		}
	case "region":
		if r, ok := o.catalog.Region(code); ok {
			return r.Name
		}
	case "sex":
		switch code {
		case "F", "M", "O":
			return t.Msg("obs_sex_" + code)
		}
	}
	return code
}

// answerError shows reporting's refusal: a session reporting no longer accepts sends the
// reader to sign in again.
func (o *Observatory) answerError(w http.ResponseWriter, r *http.Request, p *dashboardPage, err error) {
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unauthenticated:
		o.sessions.Clear(w, r)
		http.Redirect(w, r, "/observatory/signin?hl="+p.T.Locale, http.StatusSeeOther)
		return
	case codes.PermissionDenied:
		p.Failure = p.T.Msg("obs_denied")
		o.render(w, r, http.StatusForbidden, "observatory.html", p)
	case codes.InvalidArgument:
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					p.Problems = append(p.Problems, v.GetField()+": "+v.GetDescription())
				}
			}
		}
		if len(p.Problems) == 0 {
			p.Problems = []string{st.Message()}
		}
		o.render(w, r, http.StatusBadRequest, "observatory.html", p)
	case codes.Unavailable, codes.DeadlineExceeded:
		p.Failure = p.T.Msg("search_failed")
		o.render(w, r, http.StatusServiceUnavailable, "observatory.html", p)
	default:
		o.log.ErrorContext(r.Context(), "observatory: reporting call failed", slog.String("code", st.Code().String()))
		p.Failure = p.T.Msg("search_failed")
		o.render(w, r, http.StatusBadGateway, "observatory.html", p)
	}
}

// export streams what the dashboard shows as CSV or SDMX-CSV, from reporting's export.
func (o *Observatory) export(w http.ResponseWriter, r *http.Request) {
	s, ok := o.sessions.Load(r)
	if !ok {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	q, problems := parseObsQuery(r.URL.Query(), o.now())
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "sdmx-csv" {
		problems = append(problems, "format: csv or sdmx-csv")
	}
	if q.Indicator == "" {
		problems = append(problems, "indicator: required")
	}
	if len(problems) > 0 {
		http.Error(w, strings.Join(problems, "\n"), http.StatusBadRequest)
		return
	}
	req := &reportingv1.ExportIndicatorRequest{Id: q.Indicator, From: q.From, To: q.To, Granularity: granularities[q.Granularity], Format: format}
	if q.By != "" {
		req.GroupBy = []string{q.By}
	}
	body, err := o.rep.ExportIndicator(withToken(r.Context(), s), req)
	if err != nil {
		st := status.Convert(err)
		code := map[codes.Code]int{codes.InvalidArgument: 400, codes.PermissionDenied: 403, codes.NotFound: 404, codes.Unauthenticated: 401, codes.Unavailable: 503}[st.Code()]
		if code == 0 {
			code = http.StatusBadGateway
		}
		http.Error(w, st.Message(), code)
		return
	}
	ct := body.GetContentType()
	if ct == "" {
		ct = "text/csv; charset=utf-8"
	}
	ext := ".csv"
	if format == "sdmx-csv" {
		ext = ".sdmx.csv"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s_%s_%s%s"`, q.Indicator, q.From, q.To, ext))
	_, _ = w.Write(body.GetData())
}

// observatoryLocales is the language switch of the dashboard: Italian and English.
func observatoryLocales(r *http.Request, current string) []localeLink {
	var out []localeLink
	for _, loc := range []string{"it", "en"} {
		v := r.URL.Query()
		v.Set("hl", loc)
		name := map[string]string{"it": "Italiano", "en": "English"}[loc]
		out = append(out, localeLink{Locale: loc, Name: name, URL: r.URL.Path + "?" + v.Encode(), Current: loc == current, Dir: "ltr"})
	}
	return out
}

func (o *Observatory) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b strings.Builder
	if err := o.tpl.ExecuteTemplate(&b, name, data); err != nil {
		o.log.ErrorContext(r.Context(), "observatory: render page", slog.String("template", name), slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}
