package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"golang.org/x/text/language"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/ponte-network/ponte/libs/problem"
)

// HTTP semantics (RFC 9110, 9111) given to every route the edge mounts, from the route table
// read from the protos' http rules — nothing is written per route:
//
//   - HEAD is answered on every GET route; a path that exists but not for the method answers
//     405 with Allow, and OPTIONS answers 204 with Allow.
//   - A body that is not JSON (Content-Type other than application/json or a +json type)
//     is 415; a chunked body over the limit is 413 like a declared one.
//   - A record (a message with an etag field) is answered with an ETag header; If-Match on
//     PATCH and DELETE becomes the request's etag, and a stale one answers 412.
//   - A create (POST Create* on a collection whose record has a GET route) answers 201 with
//     Location; a DELETE whose answer is empty answers 204.
//   - Answers of services with personal data (all but publicRecords) carry
//     Cache-Control: no-store. Reads of public records (directory, territories, HSDS) are
//     cacheable for a minute, revalidated with ETag / If-None-Match (304).
//   - On routes that take a locale, Accept-Language chooses it when the query does not, and
//     Content-Language says which was asked for; Vary: Accept-Language tells caches.

// publicMaxAge is how long a cache may keep a public read without revalidating: directory
// edits show within a minute, and revalidation is a cheap 304.
const publicMaxAge = 60

// exchange is what the semantics layer knows about one request; the forward-response option
// and the error handler read it from the context.
type exchange struct {
	route   *route
	vars    map[string]string
	locale  string // the locale asked for (query or Accept-Language), "" for none
	ifMatch bool   // the request's etag came from If-Match
}

type exchangeKey struct{}

func exchangeFrom(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// httpSemantics applies the rules above in front of next (the edge's ServeMux).
func httpSemantics(table *routeTable, maxBody int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, vars, allowed := table.lookup(r.Method, r.URL.EscapedPath())
		if rt == nil {
			switch {
			case len(allowed) > 0 && r.Method == http.MethodOptions:
				w.Header().Set("Allow", strings.Join(append(allowed, http.MethodOptions), ", "))
				w.WriteHeader(http.StatusNoContent)
			case len(allowed) > 0:
				w.Header().Set("Allow", strings.Join(append(allowed, http.MethodOptions), ", "))
				refuse(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("This path does not accept the %s method: see Allow.", clipMethod(r.Method)))
			case (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(r.URL.Path, "/hsds/"):
				openToBrowsers(w, r)
				serveCacheable(w, r, next, nil)
			default:
				next.ServeHTTP(w, r)
			}
			return
		}
		x := &exchange{route: rt, vars: vars}
		r2 := r.Clone(r.Context())
		if r.Method == http.MethodHead {
			r2.Method = http.MethodGet
		}
		if rt.body != "" && !prepareBody(w, r2, maxBody) {
			return
		}
		if !applyIfMatch(w, r2, x, maxBody) {
			return
		}
		if rt.locale {
			negotiateLocale(r2, x)
			w.Header().Add("Vary", "Accept-Language")
		}
		r2 = r2.WithContext(context.WithValue(r2.Context(), exchangeKey{}, x))
		if r.Method == http.MethodHead && rt.streaming {
			// The headers are all a HEAD wants of a stream: end it at its first flush.
			ctx, cancel := context.WithCancel(r2.Context())
			defer cancel()
			w = &flushCancel{ResponseWriter: w, cancel: cancel}
			r2 = r2.WithContext(ctx)
		}
		switch {
		case !publicRecords[rt.service]:
			w.Header().Set("Cache-Control", "no-store")
			next.ServeHTTP(w, r2)
		case rt.verb == http.MethodGet && !rt.streaming:
			openToBrowsers(w, r)
			serveCacheable(w, r2, next, x)
		default:
			next.ServeHTTP(w, r2)
		}
	})
}

// openToBrowsers lets any web page read a public answer (Open Referral asks public directory
// APIs to be open to browser clients): Access-Control-Allow-Origin: *, never with credentials.
// An origin listed in --cors-origins keeps the answer the CORS layer gave it; authenticated
// routes stay limited to --cors-origins.
func openToBrowsers(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") == "" || w.Header().Get("Access-Control-Allow-Origin") != "" {
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Add("Vary", "Origin")
}

func refuse(w http.ResponseWriter, r *http.Request, code int, detail string) {
	problem.Write(w, r, problem.Problem{Status: code, Detail: detail})
}

func clipMethod(m string) string {
	if len(m) > 16 {
		return m[:16]
	}
	return m
}

// prepareBody refuses a body that is not JSON (415) and reads a chunked body up to the limit,
// so that one over it is 413 like a declared one rather than a decoding error.
func prepareBody(w http.ResponseWriter, r *http.Request, maxBody int64) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		w.Header().Set("Accept", "application/json")
		refuse(w, r, http.StatusUnsupportedMediaType, "The request body must be JSON: send Content-Type: application/json.")
		return false
	}
	if r.ContentLength >= 0 || r.Body == nil || r.Body == http.NoBody {
		return true
	}
	body, ok := readLimited(w, r, maxBody)
	if ok {
		setBody(r, body)
	}
	return ok
}

func readLimited(w http.ResponseWriter, r *http.Request, maxBody int64) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	switch {
	case err != nil:
		refuse(w, r, http.StatusBadRequest, "The request body could not be read.")
		return nil, false
	case int64(len(body)) > maxBody:
		refuse(w, r, http.StatusRequestEntityTooLarge, "request body is larger than the limit of "+strconv.FormatInt(maxBody, 10)+" bytes")
		return nil, false
	}
	return body, true
}

func setBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r.TransferEncoding = nil
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// applyIfMatch turns If-Match into the request's etag: a query parameter for DELETE, the
// body's etag field for PATCH. "*" asks only that the record exist, which the call checks
// anyway; a weak tag never matches (RFC 9110 13.1.1), so it is 412 at once.
func applyIfMatch(w http.ResponseWriter, r *http.Request, x *exchange, maxBody int64) bool {
	raw := strings.TrimSpace(r.Header.Get("If-Match"))
	if raw == "" || raw == "*" || !(x.route.etagInQuery || x.route.etagInBody) {
		return true
	}
	first, _, _ := strings.Cut(raw, ",") // the record has one current etag: the first is tried
	first = strings.TrimSpace(first)
	if strings.HasPrefix(first, "W/") {
		refuse(w, r, http.StatusPreconditionFailed, "If-Match needs a strong entity tag; weak ones never match.")
		return false
	}
	tag, ok := unquoteETag(first)
	if !ok {
		refuse(w, r, http.StatusBadRequest, `If-Match must be an entity tag in quotes, as ETag sent it: "3".`)
		return false
	}
	x.ifMatch = true
	if x.route.etagInQuery {
		q := r.URL.Query()
		if cur := q.Get("etag"); cur != "" && cur != tag {
			refuse(w, r, http.StatusBadRequest, "If-Match and the etag parameter differ.")
			return false
		}
		q.Set("etag", tag)
		r.URL.RawQuery = q.Encode()
		return true
	}
	body, ok := readLimited(w, r, maxBody)
	if !ok {
		return false
	}
	var fields map[string]json.RawMessage
	if len(bytes.TrimSpace(body)) == 0 {
		fields = map[string]json.RawMessage{}
	} else if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		// Not a JSON object: the decoder will say what is wrong with it.
		setBody(r, body)
		return true
	}
	if cur, ok := fields["etag"]; ok {
		var s string
		if json.Unmarshal(cur, &s) == nil && s != "" && s != tag {
			refuse(w, r, http.StatusBadRequest, "If-Match and the body's etag differ.")
			return false
		}
	}
	fields["etag"], _ = json.Marshal(tag)
	out, err := json.Marshal(fields)
	if err != nil {
		refuse(w, r, http.StatusBadRequest, "The request body is not valid JSON.")
		return false
	}
	setBody(r, out)
	return true
}

// unquoteETag returns the record etag an entity tag names: "3" → 3, and "3;fr" (a localized
// rendering of the record at etag 3) → 3.
func unquoteETag(t string) (string, bool) {
	if len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' {
		return "", false
	}
	t = t[1 : len(t)-1]
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return t, t != ""
}

// negotiateLocale sets the locale query parameter from Accept-Language when the query has
// none: the language of the tag the client prefers most ("fr-CH;q=0.9" → "fr"); the service
// falls back to Italian for texts it does not have in it.
func negotiateLocale(r *http.Request, x *exchange) {
	q := r.URL.Query()
	if l := q.Get("locale"); l != "" {
		x.locale = l
		return
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil {
		return
	}
	for _, t := range tags {
		base, conf := t.Base()
		if conf == language.No || t == language.Und {
			continue
		}
		x.locale = base.String()
		q.Set("locale", x.locale)
		r.URL.RawQuery = q.Encode()
		return
	}
}

// forwardResponse is the grpc-gateway forward-response option that sets ETag, Location,
// Content-Language and the status of creates and deletes.
func forwardResponse(ctx context.Context, w http.ResponseWriter, msg proto.Message) error {
	x := exchangeFrom(ctx)
	if x == nil || msg == nil { // nil: a stream is starting
		return nil
	}
	if etag := etagOf(msg); etag != "" {
		w.Header().Set("ETag", entityTag(etag, x.locale))
	}
	if x.locale != "" {
		w.Header().Set("Content-Language", x.locale)
	}
	switch {
	case x.route.location != nil:
		rec := msg.ProtoReflect()
		loc, ok := x.route.location.fill(func(name string) string {
			if f := rec.Descriptor().Fields().ByName(protoreflect.Name(name)); isString(f) {
				if v := rec.Get(f).String(); v != "" {
					return v
				}
			}
			return x.vars[name]
		})
		if ok {
			w.Header().Set("Location", loc)
		}
		w.WriteHeader(http.StatusCreated)
	case x.route.verb == http.MethodDelete:
		if _, empty := msg.(*emptypb.Empty); empty {
			w.Header().Del("Content-Type")
			w.WriteHeader(http.StatusNoContent)
		}
	}
	return nil
}

// entityTag quotes a record's etag as an ETag, marked with the locale of a localized rendering
// (its bytes differ from the full record's).
func entityTag(etag, locale string) string {
	if locale != "" {
		etag += ";" + locale
	}
	return `"` + strings.ReplaceAll(etag, `"`, "") + `"`
}

// etagOf returns the etag field of a record, "" for messages without one.
func etagOf(msg proto.Message) string {
	m := msg.ProtoReflect()
	if f := m.Descriptor().Fields().ByName("etag"); isString(f) {
		return m.Get(f).String()
	}
	return ""
}

// errorHandler is problem.ErrorHandler, with a stale etag sent as If-Match answered 412.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if x := exchangeFrom(ctx); x != nil && x.ifMatch && status.Code(err) == codes.Aborted {
		err = &runtime.HTTPStatusError{HTTPStatus: http.StatusPreconditionFailed, Err: err}
	}
	problem.ErrorHandler(ctx, mux, m, w, r, err)
}

// serveCacheable serves a public read with a caching policy: the answer is buffered, given an
// ETag (the record's, or a digest of the bytes) and answered 304 when If-None-Match has it.
func serveCacheable(w http.ResponseWriter, r *http.Request, next http.Handler, _ *exchange) {
	cw := &bufferedWriter{header: w.Header(), status: http.StatusOK}
	next.ServeHTTP(cw, r)
	h := w.Header()
	if cw.status != http.StatusOK {
		w.WriteHeader(cw.status)
		_, _ = w.Write(cw.body.Bytes())
		return
	}
	etag := h.Get("ETag")
	if etag == "" {
		sum := sha256.Sum256(cw.body.Bytes())
		etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
		h.Set("ETag", etag)
	}
	switch {
	case r.Header.Get("Authorization") != "":
		h.Set("Cache-Control", "private, no-cache")
	case h.Get(StaleHeader) != "":
		// Served while the store is down: a cache must not keep it past the outage.
		h.Set("Cache-Control", "public, no-cache")
	default:
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(publicMaxAge))
	}
	if noneMatch(r.Header.Get("If-None-Match"), etag) {
		h.Del("Content-Type")
		h.Del("Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(cw.body.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(cw.body.Bytes())
}

// noneMatch reports whether If-None-Match names etag (weak comparison, RFC 9110 13.1.2).
func noneMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == want {
			return true
		}
	}
	return false
}

// bufferedWriter keeps an answer to give it caching headers before it is sent.
type bufferedWriter struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

// flushCancel ends a streamed answer to HEAD at its first flush.
type flushCancel struct {
	http.ResponseWriter
	cancel context.CancelFunc
}

func (f *flushCancel) Flush() {
	if fl, ok := f.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
	f.cancel()
}

func (f *flushCancel) Unwrap() http.ResponseWriter { return f.ResponseWriter }
