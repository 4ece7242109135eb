// Package problem writes RFC 9457 problem details (application/problem+json) at the REST edge,
// mapped from gRPC statuses and their details, for grpc-gateway's error and routing handlers.
package problem

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrBodyTimeout is what the edge's body reader returns when a client sends its request
// body too slowly; a decoder's InvalidArgument carrying this message becomes 408.
var ErrBodyTimeout = errors.New("request body not received in time")

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// typeBlank is the problem type when no more specific type URI applies (RFC 9457 §4.2.1).
const typeBlank = "about:blank"

// maxDetailRunes bounds a detail or reason taken from an error message.
const maxDetailRunes = 300

// maxNameRunes bounds a field name taken from client input.
const maxNameRunes = 80

// Bounds of a problem document, as the OpenAPI document's Problem schema states them.
const (
	// MaxInvalidParams is the most invalid_params entries a problem lists.
	MaxInvalidParams = 100
	// MaxInstanceBytes bounds instance, the request's escaped path.
	MaxInstanceBytes = 2048
)

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type          string         `json:"type"`                     // "about:blank" unless a specific type URI applies
	Title         string         `json:"title"`                    // HTTP status text
	Status        int            `json:"status"`                   // HTTP status code
	Detail        string         `json:"detail,omitempty"`         // what went wrong, for a human
	Instance      string         `json:"instance,omitempty"`       // the request path
	Code          string         `json:"code,omitempty"`           // gRPC code name, e.g. "INVALID_ARGUMENT"
	Reason        string         `json:"reason,omitempty"`         // errdetails.ErrorInfo reason if any
	InvalidParams []InvalidParam `json:"invalid_params,omitempty"` // one per field violation
	TraceID       string         `json:"trace_id,omitempty"`       // from the request's OpenTelemetry span context if valid
	// RetryAfter is the Retry-After header, in seconds, of a 503 or 429; 0 = the default
	// (DefaultRetryAfter for a 503, none otherwise). From the status's errdetails.RetryInfo.
	RetryAfter int `json:"-"`
}

// DefaultRetryAfter is the Retry-After, in seconds, of a 503 that does not say: long
// enough for a database failover or a restart, short enough for a person waiting.
const DefaultRetryAfter = 5

// InvalidParam is one invalid request field: its JSON path and why it is invalid.
type InvalidParam struct {
	Name   string `json:"name"`   // JSON field path, e.g. "territory.displayName" or "languages[1]"; empty for the message as a whole
	Reason string `json:"reason"` // why the value is invalid
}

// genericDetails replaces the message of statuses whose message is about the server, not the
// request: it may hold SQL, addresses or stack traces, and the client cannot act on it.
var genericDetails = map[codes.Code]string{
	codes.Unknown:          "The server failed to complete the request.",
	codes.Internal:         "The server failed to complete the request.",
	codes.DataLoss:         "The server failed to complete the request.",
	codes.Unavailable:      "The service is unavailable; try again later.",
	codes.DeadlineExceeded: "The request did not complete in time.",
	codes.Canceled:         "The request was canceled.",
}

// FromStatus maps a gRPC status and its details to a problem document, never showing server-side messages.
func FromStatus(st *status.Status) Problem {
	// HTTP status as grpc-gateway maps codes; BadRequest and protovalidate violations become
	// InvalidParams, the ErrorInfo reason becomes Reason.
	c := st.Code() // nil-safe: a nil status is OK
	if c == codes.OK || c > codes.Unauthenticated {
		// An error handler was called without an error, or with a code gRPC does not define.
		c = codes.Unknown
	}
	httpStatus := runtime.HTTPStatusFromCode(c)
	p := Problem{
		Type:   typeBlank,
		Title:  statusTitle(httpStatus),
		Status: httpStatus,
		Code:   codeName(c),
	}
	if generic, ok := genericDetails[c]; ok {
		p.Detail = generic
	} else {
		p.Detail = clip(st.Message(), maxDetailRunes)
	}

	details := st.Details()
	// A server may send the same violations twice, as errdetails.BadRequest for gRPC
	// clients and as protovalidate's Violations: list each field and reason once.
	seen := map[InvalidParam]bool{}
	addParam := func(ip InvalidParam) {
		if !seen[ip] && len(p.InvalidParams) < MaxInvalidParams {
			seen[ip] = true
			p.InvalidParams = append(p.InvalidParams, ip)
		}
	}
	for _, d := range details {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if p.Reason == "" {
				p.Reason = clip(d.GetReason(), maxDetailRunes)
			}
		case *errdetails.RetryInfo:
			if secs := int(math.Ceil(d.GetRetryDelay().AsDuration().Seconds())); secs > 0 && secs <= 3600 {
				p.RetryAfter = secs
			}
		case *errdetails.BadRequest:
			for _, fv := range d.GetFieldViolations() {
				addParam(InvalidParam{
					Name:   clip(jsonPath(fv.GetField()), maxNameRunes),
					Reason: clip(fv.GetDescription(), maxDetailRunes),
				})
			}
		case *validate.Violations:
			for _, v := range d.GetViolations() {
				addParam(InvalidParam{
					Name:   clip(violationPath(v.GetField()), maxNameRunes),
					Reason: clip(v.GetMessage(), maxDetailRunes),
				})
			}
		}
	}
	if c == codes.InvalidArgument && len(details) == 0 && st.Message() == ErrBodyTimeout.Error() {
		p.Status, p.Title = http.StatusRequestTimeout, statusTitle(http.StatusRequestTimeout)
		p.Detail = "The request body did not arrive in time."
		return p
	}
	if c == codes.InvalidArgument && len(details) == 0 {
		if detail, param, ok := gatewayInputError(st.Message()); ok {
			p.Detail = detail
			if param != nil {
				p.InvalidParams = append(p.InvalidParams, *param)
			}
		}
	}
	return p
}

// Write sends p as application/problem+json, filling Type, Title, Instance and TraceID when empty.
func Write(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Status < 400 || p.Status > 599 {
		p.Status = http.StatusInternalServerError
	}
	if p.Type == "" {
		p.Type = typeBlank
	}
	if p.Title == "" {
		p.Title = statusTitle(p.Status)
	}
	if r != nil {
		if p.Instance == "" {
			p.Instance = r.URL.EscapedPath() // ASCII: bytes are characters
			if len(p.Instance) > MaxInstanceBytes {
				p.Instance = p.Instance[:MaxInstanceBytes]
			}
		}
		if p.TraceID == "" {
			p.TraceID = spanTraceID(r.Context())
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		// Problem holds only strings and ints: this cannot happen, but never send a half answer.
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Retry-After") == "" { // RFC 9110 §10.2.3: when a client may try again
		switch {
		case p.RetryAfter > 0 && (p.Status == http.StatusServiceUnavailable || p.Status == http.StatusTooManyRequests):
			h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
		case p.Status == http.StatusServiceUnavailable:
			h.Set("Retry-After", strconv.Itoa(DefaultRetryAfter))
		}
	}
	if p.Status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" { // RFC 9110 §15.5.2 requires it
		h.Set("WWW-Authenticate", "Bearer")
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(body) // the client is gone if this fails; nothing left to tell it
}

// statusTitle is the HTTP status text, including grpc-gateway's 499 for a canceled request.
func statusTitle(httpStatus int) string {
	if httpStatus == 499 {
		return "Client Closed Request"
	}
	if t := http.StatusText(httpStatus); t != "" {
		return t
	}
	return "Error " + strconv.Itoa(httpStatus)
}

// violationPath renders a protovalidate field path with JSON names: `items[0].displayName`,
// `labels["k"]`.
func violationPath(fp *validate.FieldPath) string {
	var b strings.Builder
	for i, e := range fp.GetElements() {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(jsonPath(e.GetFieldName()))
		switch s := e.GetSubscript().(type) {
		case *validate.FieldPathElement_Index:
			b.WriteString("[" + strconv.FormatUint(s.Index, 10) + "]")
		case *validate.FieldPathElement_BoolKey:
			b.WriteString("[" + strconv.FormatBool(s.BoolKey) + "]")
		case *validate.FieldPathElement_IntKey:
			b.WriteString("[" + strconv.FormatInt(s.IntKey, 10) + "]")
		case *validate.FieldPathElement_UintKey:
			b.WriteString("[" + strconv.FormatUint(s.UintKey, 10) + "]")
		case *validate.FieldPathElement_StringKey:
			b.WriteString("[" + strconv.Quote(clip(s.StringKey, maxNameRunes)) + "]")
		}
	}
	return b.String()
}

// jsonPath turns the proto field names of a dotted path into their default JSON names the way
// protojson does ("display_name" → "displayName"), leaving subscripts ("[...]") untouched.
// A field with a custom json_name keeps its proto name: the path carries no message type.
func jsonPath(path string) string {
	var b strings.Builder
	b.Grow(len(path))
	var inBracket, inQuote, escaped, underscore bool
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case inQuote:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inQuote = false
			}
		case inBracket:
			switch c {
			case '"':
				inQuote = true
			case ']':
				inBracket = false
			}
		case c == '[':
			inBracket = true
		case c == '_':
			underscore = true
			continue
		case underscore && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		underscore = false
		b.WriteByte(c)
	}
	return b.String()
}

// clip collapses white space in s and cuts it to at most n runes, marking a cut with "…".
func clip(s string, n int) string {
	cut := false
	if limit := 4 * (n + 1); len(s) > limit {
		// Cut huge input before working on it; the tail would be dropped anyway.
		s, cut = strings.ToValidUTF8(s[:limit], ""), true
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) < n || (!cut && utf8.RuneCountInString(s) == n) {
		if cut {
			return s + "…"
		}
		return s
	}
	end := 0
	for range n - 1 {
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
	}
	return s[:end] + "…"
}
