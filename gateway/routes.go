package gateway

import (
	"net/url"
	"sort"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// route is one REST route of a service, read from its proto's google.api.http rules: what the
// edge needs to give every route the same HTTP semantics without code per route.
type route struct {
	verb     string // HTTP method
	template string // as written in the proto: "/v1/cases/{id}"
	segs     []tmplSeg
	verbSuff string // the custom method after ':' ("transition"), "" for none
	service  string // service module: "cases"
	rpc      protoreflect.MethodDescriptor
	body     string // "" (no body), "*" or the request field the body fills

	// etagInQuery: If-Match becomes the request's etag query parameter (DELETE).
	etagInQuery bool
	// etagInBody: If-Match becomes the etag field of the JSON body (PATCH of a resource).
	etagInBody bool
	// locale: the request takes a locale, which Accept-Language may choose.
	locale bool
	// streaming: the answer is a stream of messages (a :watch route).
	streaming bool
	// location, for a create, is the GET route of the created record.
	location *route
}

// tmplSeg is one segment of a path template: a literal, or a wildcard ("*", or "**" for any
// number of segments) that a variable may capture.
type tmplSeg struct {
	lit     string
	wild    bool
	multi   bool
	varName string // the capturing variable, on its segments
}

// routeTable holds every route of the services the edge mounts.
type routeTable struct{ routes []*route }

// newRouteTable reads the http rules of the gRPC services of the given service modules
// (proto packages ponte.<module>.v1) from the registered descriptors.
func newRouteTable(modules []string) *routeTable {
	want := map[string]bool{}
	for _, m := range modules {
		want["ponte."+m+".v1"] = true
	}
	t := &routeTable{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !want[string(fd.Package())] {
			return true
		}
		module := strings.Split(string(fd.Package()), ".")[1]
		svcs := fd.Services()
		for i := range svcs.Len() {
			methods := svcs.Get(i).Methods()
			for j := range methods.Len() {
				m := methods.Get(j)
				rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
				if rule == nil {
					continue
				}
				for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
					if rt := newRoute(module, m, r); rt != nil {
						t.routes = append(t.routes, rt)
					}
				}
			}
		}
		return true
	})
	sort.SliceStable(t.routes, func(i, j int) bool { return t.routes[i].template < t.routes[j].template })
	for _, r := range t.routes {
		if r.verb == "POST" && r.verbSuff == "" && strings.HasPrefix(string(r.rpc.Name()), "Create") {
			r.location = t.recordRoute(r)
		}
	}
	return t
}

func newRoute(module string, m protoreflect.MethodDescriptor, r *annotations.HttpRule) *route {
	var verb, tmpl string
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		verb, tmpl = "GET", p.Get
	case *annotations.HttpRule_Post:
		verb, tmpl = "POST", p.Post
	case *annotations.HttpRule_Patch:
		verb, tmpl = "PATCH", p.Patch
	case *annotations.HttpRule_Put:
		verb, tmpl = "PUT", p.Put
	case *annotations.HttpRule_Delete:
		verb, tmpl = "DELETE", p.Delete
	case *annotations.HttpRule_Custom:
		verb, tmpl = p.Custom.GetKind(), p.Custom.GetPath()
	default:
		return nil
	}
	segs, suffix, ok := parseTemplate(tmpl)
	if !ok {
		return nil
	}
	rt := &route{verb: verb, template: tmpl, segs: segs, verbSuff: suffix, service: module, rpc: m,
		body: r.GetBody(), streaming: m.IsStreamingServer()}
	in := m.Input()
	rt.locale = in.Fields().ByName("locale") != nil
	switch {
	case verb == "DELETE" && isString(in.Fields().ByName("etag")):
		rt.etagInQuery = true
	case verb == "PATCH" && rt.body == "*":
		rt.etagInBody = isString(in.Fields().ByName("etag"))
	case verb == "PATCH" && rt.body != "":
		if f := in.Fields().ByName(protoreflect.Name(rt.body)); f != nil && f.Message() != nil {
			rt.etagInBody = isString(f.Message().Fields().ByName("etag"))
		}
	}
	return rt
}

func isString(f protoreflect.FieldDescriptor) bool {
	return f != nil && f.Kind() == protoreflect.StringKind && !f.IsList()
}

// recordRoute finds the GET route of the record a create makes: the create's template with
// one more variable segment ("/v1/cases" → "/v1/cases/{id}").
func (t *routeTable) recordRoute(create *route) *route {
	for _, r := range t.routes {
		if r.verb != "GET" || r.verbSuff != "" || r.service != create.service || len(r.segs) != len(create.segs)+1 {
			continue
		}
		last := r.segs[len(r.segs)-1]
		if !last.wild || last.multi || last.varName == "" || !sameSegs(r.segs[:len(create.segs)], create.segs) {
			continue
		}
		if r.rpc.Output().FullName() == create.rpc.Output().FullName() {
			return r
		}
	}
	return nil
}

func sameSegs(a, b []tmplSeg) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// parseTemplate parses a google.api.http path template: literals, "*", "**", {var} and
// {var=sub/*/pattern}, and a final ":verb".
func parseTemplate(tmpl string) ([]tmplSeg, string, bool) {
	if !strings.HasPrefix(tmpl, "/") {
		return nil, "", false
	}
	path, suffix := tmpl[1:], ""
	if i := strings.LastIndexByte(path, ':'); i >= 0 && !strings.Contains(path[i:], "}") && !strings.Contains(path[i:], "/") {
		path, suffix = path[:i], path[i+1:]
	}
	var segs []tmplSeg
	for path != "" {
		var part string
		if path[0] == '{' {
			end := strings.IndexByte(path, '}')
			if end < 0 {
				return nil, "", false
			}
			part, path = path[:end+1], strings.TrimPrefix(path[end+1:], "/")
			name, sub, hasSub := strings.Cut(part[1:len(part)-1], "=")
			if !hasSub {
				sub = "*"
			}
			for _, s := range strings.Split(sub, "/") {
				segs = append(segs, segOf(s, name))
			}
			continue
		}
		part, path, _ = strings.Cut(path, "/")
		segs = append(segs, segOf(part, ""))
	}
	return segs, suffix, true
}

func segOf(s, varName string) tmplSeg {
	switch s {
	case "*":
		return tmplSeg{wild: true, varName: varName}
	case "**":
		return tmplSeg{wild: true, multi: true, varName: varName}
	}
	return tmplSeg{lit: s, varName: varName}
}

// match reports whether path (escaped, as in URL.EscapedPath) matches r, and the values of its
// variables.
func (r *route) match(path string) (map[string]string, bool) {
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	path = path[1:]
	suffix := ""
	if i := strings.LastIndexByte(path, ':'); i >= 0 && !strings.Contains(path[i:], "/") {
		path, suffix = path[:i], path[i+1:]
	}
	if suffix != r.verbSuff {
		if r.verbSuff != "" || suffix == "" {
			return nil, false
		}
		// No verb in the template: the colon belongs to the last segment.
		path, suffix = path+":"+suffix, ""
	}
	parts := strings.Split(path, "/")
	if path == "" {
		parts = nil
	}
	vars := map[string]string{}
	add := func(name, v string) {
		if name == "" {
			return
		}
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		if prev, ok := vars[name]; ok {
			vars[name] = prev + "/" + v
		} else {
			vars[name] = v
		}
	}
	i := 0
	for k, s := range r.segs {
		switch {
		case s.multi:
			rest := len(r.segs) - k - 1
			n := len(parts) - i - rest
			if n < 0 {
				return nil, false
			}
			add(s.varName, strings.Join(parts[i:i+n], "/"))
			i += n
		case i >= len(parts):
			return nil, false
		case s.wild:
			if parts[i] == "" {
				return nil, false
			}
			add(s.varName, parts[i])
			i++
		default:
			if parts[i] != s.lit {
				return nil, false
			}
			i++
		}
	}
	if i != len(parts) {
		return nil, false
	}
	return vars, true
}

// literals counts the literal segments of r: the more, the more specific.
func (r *route) literals() int {
	n := 0
	for _, s := range r.segs {
		if !s.wild {
			n++
		}
	}
	if r.verbSuff != "" {
		n++
	}
	return n
}

// lookup returns the route for method and path (HEAD as GET), with its variables, and the
// methods that path accepts; r is nil when none matches method.
func (t *routeTable) lookup(method, path string) (r *route, vars map[string]string, allowed []string) {
	if method == "HEAD" {
		method = "GET"
	}
	seen := map[string]bool{}
	for _, c := range t.routes {
		v, ok := c.match(path)
		if !ok {
			continue
		}
		if !seen[c.verb] {
			seen[c.verb] = true
			allowed = append(allowed, c.verb)
		}
		if c.verb == method && (r == nil || c.literals() > r.literals()) {
			r, vars = c, v
		}
	}
	if seen["GET"] {
		allowed = append(allowed, "HEAD")
	}
	sort.Strings(allowed)
	return r, vars, allowed
}

// fill writes the template of r with vars, from the created record's fields and the
// request's path variables.
func (r *route) fill(vars func(name string) string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(r.segs); i++ {
		s := r.segs[i]
		b.WriteByte('/')
		if s.varName == "" {
			b.WriteString(s.lit)
			continue
		}
		v := vars(s.varName)
		if v == "" {
			return "", false
		}
		parts := strings.Split(v, "/")
		for k, part := range parts {
			parts[k] = url.PathEscape(part)
		}
		b.WriteString(strings.Join(parts, "/"))
		for i+1 < len(r.segs) && r.segs[i+1].varName == s.varName {
			i++ // a multi-segment variable was written whole
		}
	}
	if r.verbSuff != "" {
		b.WriteString(":" + r.verbSuff)
	}
	return b.String(), true
}
