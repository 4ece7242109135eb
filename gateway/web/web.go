// Package web serves Ponte's public pages from the REST edge: the multilingual directory
// of the services of the territory, for migrants on a phone and for the desks that help
// them. Pages are rendered on the server (html/template) and work without JavaScript;
// htmx, vendored in assets/, only swaps the results in place and keeps the URL, and a few
// lines of ponte.js ask the browser for the reader's position when they press "near me".
//
// The pages are a client of the directory like any other: they call its public gRPC
// methods (SearchServices, GetService, GetLocation, GetOrganization, ListTaxonomyTerms,
// ListTerritories) through the connection the edge already has, so authentication,
// validation and tracing run as for a REST call. The URL holds the whole query
// (q, cat, mun, language, open, at, near, r, page, hl), so a result page can be shared
// or bookmarked. The interface language is hl when given, else the best match of
// Accept-Language among Locales, else Italian; a service's own text is shown in that
// locale, and where the directory has no translation the Italian (or first available)
// text is shown and marked as such, with its lang attribute.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/klauspost/compress/gzhttp"
	"google.golang.org/grpc"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// Config is what the pages need.
type Config struct {
	// Conn reaches the directory service (in process or remote).
	Conn *grpc.ClientConn
	// Logger receives failures of the directory (never the query: it may say who the
	// reader is looking for help with).
	Logger *slog.Logger
	// Now is the clock ("open now", today's hours); nil = time.Now.
	Now func() time.Time
}

// Handler serves the pages.
type Handler struct {
	dir     directoryv1.DirectoryServiceClient
	terr    directoryv1.TerritoryServiceClient
	log     *slog.Logger
	now     func() time.Time
	cat     *catalog
	tpl     *template.Template
	assets  http.Handler
	terms   *termCache
	version string // of the assets, in their URLs so that they can be cached for good
	handler http.Handler
}

// IsPage reports whether path is one of the pages' (the directory's, the observatory's
// or their assets): they check their own parameters and answer bad ones with an HTML
// page, so the edge's JSON-speaking guards leave them to it.
func IsPage(path string) bool {
	return path == "/" || strings.HasPrefix(path, "/services/") || strings.HasPrefix(path, "/assets/") ||
		path == "/observatory" || strings.HasPrefix(path, "/observatory/")
}

// Routes are the path patterns the pages answer, for mounting on the edge's mux.
var Routes = []string{"GET /{$}", "GET /services/{id}", "GET /assets/"}

// New builds the pages' handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Conn == nil || cfg.Logger == nil {
		return nil, errors.New("web: a directory connection and a logger are required")
	}
	cat, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		dir:  directoryv1.NewDirectoryServiceClient(cfg.Conn),
		terr: directoryv1.NewTerritoryServiceClient(cfg.Conn),
		log:  cfg.Logger,
		now:  cfg.Now,
		cat:  cat,
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.terms = newTermCache(h.dir, time.Minute)
	sub, err := fs.Sub(assetFiles, "assets")
	if err != nil {
		return nil, fmt.Errorf("web assets: %w", err)
	}
	if h.version, err = assetsVersion(sub); err != nil {
		return nil, err
	}
	h.assets = http.StripPrefix("/assets/"+h.version+"/", immutable(http.FileServerFS(sub)))
	h.tpl, err = template.New("pages").Funcs(template.FuncMap{
		"asset": func(name string) string { return "/assets/" + h.version + "/" + name },
		"join":  strings.Join,
		// swap marks a page's language switch for htmx's out-of-band swap.
		"swap": func(p *searchPage) *searchPage { c := *p; c.Swap = true; return &c },
		"suggestURL": func(p *searchPage, code string) string {
			q := p.Query
			q.Municipality, q.Page = code, ""
			return "/?" + q.Values(p.T.Locale, false).Encode()
		},
		// detailURL links a result to its page, with the way back to this very search.
		"detailURL": func(p *searchPage, id string) string {
			return "/services/" + url.PathEscape(id) + "?" +
				url.Values{"hl": {p.T.Locale}, "back": {"/?" + p.Query.Values(p.T.Locale, true).Encode()}}.Encode()
		},
		"hours": func(p *searchPage, d DayHours) withT[DayHours] { return withT[DayHours]{T: p.T, H: d} },
		"fb":    func(p *detailPage, t Text) textWithT { return textWithT{T: p.T, Text: t} },
		"week":  func(p *detailPage, rows []WeekRow) weekWithT { return weekWithT{T: p.T, Rows: rows} },
		// The observatory's: an indicator's texts in the page's locale, a figure, a
		// dimension's name.
		"title": func(p *dashboardPage, ind *reportingv1.Indicator) string {
			return localized(p.T, ind.GetTitle())
		},
		"definition": func(p *dashboardPage, ind *reportingv1.Indicator) string {
			return localized(p.T, ind.GetDefinition())
		},
		"fig": func(p *dashboardPage, f any) withF {
			switch v := f.(type) {
			case *figure:
				return withF{T: p.T, F: *v}
			case figure:
				return withF{T: p.T, F: v}
			}
			return withF{T: p.T, F: figure{Status: "empty"}}
		},
		"dimName": func(p *dashboardPage, dim string) string { return p.T.Msg("obs_dim_" + dim) },
	}).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	h.handler = h.mux()
	return h, nil
}

// ServeHTTP routes a request to its page; responses are compressed when the browser
// accepts it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.handler.ServeHTTP(w, r)
}

func (h *Handler) mux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.search)
	mux.HandleFunc("GET /services/{id}", h.detail)
	mux.Handle("GET /assets/", h.assets)
	return gzhttp.GzipHandler(securityHeaders(mux))
}

// securityHeaders: scripts and styles only from the edge itself (no inline code), no
// framing, no referrer leaving with the query, and the reader's position asked only by
// this origin.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Permissions-Policy", "geolocation=(self)")
		next.ServeHTTP(w, r)
	})
}

// immutable marks versioned assets as cacheable for a year.
func immutable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		next.ServeHTTP(w, r)
	})
}

// render writes a page; a template failure is logged and answered 500 with a plain text
// (the template is ours, so this is a bug, not the reader's doing).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b strings.Builder
	if err := h.tpl.ExecuteTemplate(&b, name, data); err != nil {
		h.log.ErrorContext(r.Context(), "web: render page", slog.String("template", name), slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Vary", "Accept-Language, HX-Request")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// Values that sub-templates need with the page's translator.
type (
	withT[V any] struct {
		T T
		H V
	}
	textWithT struct {
		T    T
		Text Text
	}
	weekWithT struct {
		T    T
		Rows []WeekRow
	}
	withF struct {
		T T
		F figure
	}
)

// localized picks an indicator text in the page's locale (Italian or English).
func localized(t T, txt *reportingv1.LocalizedText) string {
	if t.Locale == "it" && txt.GetIt() != "" {
		return txt.GetIt()
	}
	if txt.GetEn() != "" {
		return txt.GetEn()
	}
	return txt.GetIt()
}

// assetsVersion is a short hash of every asset, so that their URLs change when they do.
func assetsVersion(assets fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(assets, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("web assets: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}
