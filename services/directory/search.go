package directory

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/edgejson"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/pagetoken"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/directory/searchindex"
)

// Search defaults and bounds.
const (
	defaultSearchSize = 20
	defaultFacetSize  = 20
	defaultRadiusKM   = 10
	maxRadiusKM       = 200
)

// TargetGroups are the target groups a service may name and search may filter by: the
// codes of the built-in target-group vocabulary (seed.TargetGroups).
var TargetGroups = []string{
	"adults", "minors", "unaccompanied-minors", "young-people", "women", "families", "asylum-seekers", "refugees", "temporary-protection", "people-without-residence-permit", "elderly", "people-with-disabilities", "newly-arrived", "workers",
}

// parseNear reads "lat,lon".
func parseNear(s string) (searchindex.Point, bool) {
	latS, lonS, ok := strings.Cut(s, ",")
	if !ok {
		return searchindex.Point{}, false
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(latS), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(lonS), 64)
	if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return searchindex.Point{}, false
	}
	return searchindex.Point{Lat: lat, Lon: lon}, true
}

// facetList labels the facets of a search for the response.
func facetList(facets []searchindex.Facet, label func(string) string) []*directoryv1.FacetCount {
	out := make([]*directoryv1.FacetCount, len(facets))
	for i, f := range facets {
		out[i] = &directoryv1.FacetCount{Value: f.Value, Label: label(f.Value), Count: int32(f.Count)}
	}
	return out
}

// withEncodedService sets a result's service to an already encoded directoryv1.Service
// without decoding it: as an unknown field with the service field's number, which
// protobuf's encoder writes out verbatim, so the result's encoding, and what any client
// decodes, is that of a result whose service field holds the message. A page of search
// results then costs no decoding and re-encoding of its services on the server. Only the
// encoded result carries the service: in-process callers of SearchServices must not read
// results' Service (every caller goes through gRPC).
func withEncodedService(r *directoryv1.SearchResult, service []byte) {
	const serviceField = 1 // SearchResult.service
	b := protowire.AppendTag(nil, serviceField, protowire.BytesType)
	r.ProtoReflect().SetUnknown(protowire.AppendBytes(b, service))
}

// territoryFilter sets the query's territory for a code; false if the code is unknown.
func (s *directoryServer) territoryFilter(code string, q *searchindex.Query) (bool, error) {
	q.Territory = true
	if level, ok := s.catalog.LevelOf(code); ok {
		switch level {
		case territory.LevelMunicipality:
			q.Municipalities = []string{code}
		case territory.LevelProvince:
			q.Provinces = []string{code}
		case territory.LevelRegion:
			q.Regions = []string{code}
		}
		return true, nil
	}
	d, ok := s.index.District(code)
	if !ok {
		return false, nil
	}
	q.Municipalities = d.Municipalities
	return true, nil
}

// SearchServices implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) SearchServices(ctx context.Context, req *directoryv1.SearchServicesRequest) (*directoryv1.SearchServicesResponse, error) {
	var bad grpcerr.Violations
	q := searchindex.Query{Language: req.GetLanguage(), TargetGroup: req.GetTargetGroup(), Locale: req.GetLocale()}
	var hasWords bool
	q.Tokens, hasWords = s.index.Analyzer().Query(req.GetQ())
	q.NoMatch = hasWords && len(q.Tokens) == 0
	if g := req.GetTargetGroup(); g != "" && !slices.Contains(TargetGroups, g) {
		bad.Add("target_group", "unknown target group %q: one of %s", g, strings.Join(TargetGroups, ", "))
	}
	if req.GetNear() != "" {
		near, ok := parseNear(req.GetNear())
		if !ok {
			bad.Add("near", "give \"lat,lon\" in decimal degrees, latitude within ±90 and longitude within ±180")
		}
		q.Near = &near
	}
	radius := req.GetRadiusKm()
	switch {
	case radius != 0 && q.Near == nil:
		bad.Add("radius_km", "needs near")
	case radius == 0:
		radius = defaultRadiusKM
	case radius < 0 || radius > maxRadiusKM:
		bad.Add("radius_km", "must be more than 0 and at most %d", maxRadiusKM)
	}
	q.RadiusKM = radius
	if err := currentIndex(ctx, s.index); err != nil {
		return nil, err
	}
	for i, id := range req.GetTaxonomy() {
		if _, ok := s.index.Term(id); !ok {
			bad.Add(fmt.Sprintf("taxonomy[%d]", i), "unknown taxonomy term %q", id)
		}
	}
	q.Terms = req.GetTaxonomy()
	if code := req.GetTerritory(); code != "" {
		ok, err := s.territoryFilter(code, &q)
		if err != nil {
			return nil, err
		}
		if !ok {
			bad.Add("territory", "unknown territory %q", code)
		}
	}
	openTime := ""
	if req.GetOpenAt() != nil {
		q.OpenAt = req.GetOpenAt().AsTime()
		openTime = q.OpenAt.UTC().Format(time.RFC3339)
	}
	taxonomy := slices.Clone(req.GetTaxonomy())
	slices.Sort(taxonomy)
	query := pagetoken.Query("search", strings.Join(q.Tokens, " "), strconv.FormatBool(q.NoMatch), strings.Join(taxonomy, ","),
		req.GetTerritory(), req.GetLanguage(), req.GetTargetGroup(), openTime, req.GetNear(), strconv.FormatFloat(radius, 'g', -1, 64), req.GetLocale())
	cursor, err := pagetoken.Decode(req.GetPageToken(), query)
	offset, convErr := strconv.Atoi(cursor)
	if err != nil || (cursor != "" && (convErr != nil || offset < 0)) {
		bad.Add("page_token", "does not belong to this query: start again without it")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	q.Offset, q.Limit = offset, int(req.GetPageSize())
	if q.Limit == 0 {
		q.Limit = defaultSearchSize
	}

	q.Render = edgejson.Requested(ctx) // the REST edge: services come rendered as JSON
	q.FacetSize = int(req.GetFacetSize())
	if q.FacetSize == 0 {
		q.FacetSize = defaultFacetSize
	}
	res := s.index.Search(q)
	resp := &directoryv1.SearchServicesResponse{
		TotalSize: int32(res.Total),
		TaxonomyFacets: facetList(res.TermFacets, func(id string) string {
			if t, ok := s.index.Term(id); ok {
				return Text(t.Names, req.GetLocale())
			}
			return id
		}),
		MunicipalityFacets: facetList(res.MunicipalityFacets, func(code string) string {
			m, _ := s.catalog.Municipality(code)
			return m.Name
		}),
	}
	for _, h := range res.Hits {
		hit := &directoryv1.SearchResult{}
		switch {
		case h.Rendered != nil:
			edgejson.Attach(hit, h.Rendered) // the JSON of hit.service (renderPage)
		case h.Localized || req.GetLocale() == "":
			withEncodedService(hit, h.Service)
		default:
			full := &directoryv1.Service{}
			if err := proto.Unmarshal(h.Service, full); err != nil {
				return nil, grpcerr.From(fmt.Errorf("search: service %s: %w", h.ID, err))
			}
			localize(full, req.GetLocale())
			hit.Service = full
		}
		if q.Near != nil {
			hit.DistanceKm, hit.NearestLocationId = math.Round(h.DistanceKM*1000)/1000, h.NearestLocation
		}
		resp.Results = append(resp.Results, hit)
	}
	if end := offset + len(res.Hits); end < res.Total {
		resp.NextPageToken = pagetoken.Encode(query, strconv.Itoa(end))
	}
	return resp, nil
}
