package gateway

import (
	"fmt"
	"google.golang.org/genproto/googleapis/api/httpbody"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"

	"github.com/ponte-network/ponte/libs/edgejson"
)

// jsonMarshaler is grpc-gateway's JSONPb, writing a response message into one buffer
// sized from the message: JSONPb grows protojson's output from nothing and then copies it
// into a second buffer, which for a page of search results is several times the
// response's size in garbage per request. A page of search results whose services came
// rendered (package edgejson) is written around their JSON; an indicator's answer that
// came rendered is written as it came.
type jsonMarshaler struct {
	runtime.JSONPb
	// pageByHand: pages of search results are written by appendSearchPage (their
	// messages have the fields it writes; see searchPageByHand).
	pageByHand bool
}

// newJSONMarshaler returns the edge's marshaler, with edgejson's options: what services
// render for the edge is what it would write itself.
func newJSONMarshaler() *jsonMarshaler {
	m := &jsonMarshaler{}
	m.MarshalOptions = edgejson.Options()
	m.DiscardUnknown = false // in requests, unknown fields are an error
	m.pageByHand = searchPageByHand()
	return m
}

// ContentType implements runtime.Marshaler: a google.api.HttpBody (a file, as
// reporting's CSV exports) is sent with its own type.
func (m *jsonMarshaler) ContentType(v any) string {
	if b, ok := v.(*httpbody.HttpBody); ok {
		return b.GetContentType()
	}
	return m.JSONPb.ContentType(v)
}

// Marshal implements runtime.Marshaler.
func (m *jsonMarshaler) Marshal(v any) ([]byte, error) {
	if b, ok := v.(*httpbody.HttpBody); ok {
		return b.GetData(), nil
	}
	p, ok := v.(proto.Message)
	if !ok || m.Indent != "" {
		return m.JSONPb.Marshal(v)
	}
	if r, ok := p.(*directoryv1.SearchServicesResponse); ok && !m.EmitUnpopulated && !m.UseProtoNames {
		if out, ok, err := m.marshalSearch(r); ok || err != nil {
			return out, err
		}
	}
	if r, ok := p.(*reportingv1.QueryIndicatorResponse); ok && !m.EmitUnpopulated && !m.UseProtoNames {
		// A kept answer comes as the JSON of the whole reply (reporting's contract).
		if j, found := edgejson.Take(r); found {
			return j, nil
		}
	}
	// JSON of a message is usually under twice its binary size (field names, quoted
	// numbers and base64 are longer; absent fields are not written by either).
	out, err := m.MarshalOptions.MarshalAppend(make([]byte, 0, 2*proto.Size(p)+64), p)
	if err != nil {
		return nil, fmt.Errorf("marshal response: %w", err)
	}
	return out, nil
}

// marshalSearch writes a page of search results whose services came rendered, around
// their renderings (appendSearchPage); ok is false (and nothing is written) when no
// service came rendered. A page appendSearchPage leaves to protojson (an odd value, a
// service that came decoded, a field it does not write) gets its renderings decoded back
// into its results first: slower, and rare.
func (m *jsonMarshaler) marshalSearch(r *directoryv1.SearchServicesResponse) (out []byte, ok bool, err error) {
	rendered := make([][]byte, len(r.Results))
	size := 0
	for i, res := range r.Results {
		if j, found := edgejson.Take(res); found && res.Service == nil {
			rendered[i], ok = j, true
			size += len(j)
		}
	}
	if !ok {
		return nil, false, nil
	}
	if m.pageByHand {
		facets := len(r.TaxonomyFacets) + len(r.MunicipalityFacets)
		if out, ok := appendSearchPage(make([]byte, 0, size+96*len(r.Results)+96*facets+256), r, rendered); ok {
			return out, true, nil
		}
	}
	for i, j := range rendered {
		if j == nil {
			continue
		}
		svc := &directoryv1.Service{}
		if err := m.UnmarshalOptions.Unmarshal(j, svc); err != nil {
			return nil, true, fmt.Errorf("marshal response: rendered service: %w", err)
		}
		r.Results[i].Service = svc
	}
	return nil, false, nil
}
