package gateway

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

// searchPageFields are the JSON names, by message, of the fields appendSearchPage
// writes, in the messages' order.
func searchPageFields() map[proto.Message][]string {
	return map[proto.Message][]string{
		&directoryv1.SearchServicesResponse{}: {"results", "nextPageToken", "totalSize", "taxonomyFacets", "municipalityFacets"},
		&directoryv1.SearchResult{}:           {"service", "distanceKm", "nearestLocationId"},
		&directoryv1.FacetCount{}:             {"value", "label", "count"},
	}
}

// searchPageByHand reports whether a page of search results has exactly the fields
// appendSearchPage writes (from the messages' descriptors): a field added later is then
// never dropped, as pages go through protojson until appendSearchPage writes it too.
func searchPageByHand() bool {
	for m, want := range searchPageFields() {
		fields := m.ProtoReflect().Descriptor().Fields()
		var got []string
		for i := range fields.Len() {
			got = append(got, fields.Get(i).JSONName())
		}
		if !slices.Equal(got, want) {
			return false
		}
	}
	return true
}

// appendSearchPage appends r as protojson writes it (the same JSON value, whatever the
// spacing), the service of result i being rendered[i]: protojson's reflection costs more
// per page than the rendered services it would be written around. ok is false, and out
// is to be discarded, for a value it leaves to protojson: a service that came decoded, a
// number protojson writes with an exponent or as a string, text that is not UTF-8.
func appendSearchPage(out []byte, r *directoryv1.SearchServicesResponse, rendered [][]byte) (_ []byte, ok bool) {
	w := pageWriter{out: out, ok: true}
	w.open('{')
	if len(r.Results) > 0 {
		w.name("results")
		w.open('[')
		for i, res := range r.Results {
			w.comma()
			w.open('{')
			switch {
			case rendered[i] != nil:
				w.name("service")
				w.raw(rendered[i])
			case res.Service != nil:
				return out, false
			}
			if d := res.GetDistanceKm(); d != 0 {
				w.name("distanceKm")
				w.double(d)
			}
			if id := res.GetNearestLocationId(); id != "" {
				w.name("nearestLocationId")
				w.string(id)
			}
			w.close('}')
		}
		w.close(']')
	}
	if t := r.GetNextPageToken(); t != "" {
		w.name("nextPageToken")
		w.string(t)
	}
	if n := r.GetTotalSize(); n != 0 {
		w.name("totalSize")
		w.int(n)
	}
	for _, list := range []struct {
		name   string
		facets []*directoryv1.FacetCount
	}{{"taxonomyFacets", r.GetTaxonomyFacets()}, {"municipalityFacets", r.GetMunicipalityFacets()}} {
		if len(list.facets) == 0 {
			continue
		}
		w.name(list.name)
		w.open('[')
		for _, f := range list.facets {
			w.comma()
			w.open('{')
			if v := f.GetValue(); v != "" {
				w.name("value")
				w.string(v)
			}
			if l := f.GetLabel(); l != "" {
				w.name("label")
				w.string(l)
			}
			if n := f.GetCount(); n != 0 {
				w.name("count")
				w.int(n)
			}
			w.close('}')
		}
		w.close(']')
	}
	w.close('}')
	return w.out, w.ok
}

// pageWriter appends JSON: members and elements are separated by commas as they come.
type pageWriter struct {
	out   []byte
	first bool // nothing written yet in the current object or array
	ok    bool // every value was one it writes as protojson does
}

func (w *pageWriter) open(c byte) {
	w.out = append(w.out, c)
	w.first = true
}

func (w *pageWriter) close(c byte) {
	w.out = append(w.out, c)
	w.first = false
}

// comma separates the next member or element from the one before.
func (w *pageWriter) comma() {
	if !w.first {
		w.out = append(w.out, ',')
	}
	w.first = false
}

// name writes a member's name (JSON names of Ponte's fields need no escaping).
func (w *pageWriter) name(n string) {
	w.comma()
	w.out = append(append(append(w.out, '"'), n...), `":`...)
}

func (w *pageWriter) raw(b []byte) { w.out = append(w.out, b...) }

func (w *pageWriter) int(n int32) { w.out = strconv.AppendInt(w.out, int64(n), 10) }

// double writes d as protojson does between 1e-6 and 1e21 (strconv's 'f' format);
// others (exponents, NaN, infinities) are left to protojson.
func (w *pageWriter) double(d float64) {
	if a := math.Abs(d); math.IsNaN(d) || a < 1e-6 || a >= 1e21 {
		w.ok = false
		return
	}
	w.out = strconv.AppendFloat(w.out, d, 'f', -1, 64)
}

// string writes s quoted, escaping what JSON requires (as protojson: quote, backslash and
// control characters); text that is not UTF-8, which protojson refuses, is left to it.
func (w *pageWriter) string(s string) {
	if !utf8.ValidString(s) {
		w.ok = false
		return
	}
	const hex = "0123456789abcdef"
	w.out = append(w.out, '"')
	start := 0
	for i := range len(s) {
		c := s[i]
		if c >= ' ' && c != '"' && c != '\\' {
			continue
		}
		w.out = append(w.out, s[start:i]...)
		switch c {
		case '"', '\\':
			w.out = append(w.out, '\\', c)
		case '\n':
			w.out = append(w.out, '\\', 'n')
		case '\r':
			w.out = append(w.out, '\\', 'r')
		case '\t':
			w.out = append(w.out, '\\', 't')
		default:
			w.out = append(w.out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	w.out = append(append(w.out, s[start:]...), '"')
}
