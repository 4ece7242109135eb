package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Rome on machines without a zone database

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/pagetoken"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/libs/textfold"
	"github.com/ponte-network/ponte/services/directory/store"
)

// Search defaults and bounds.
const (
	defaultSearchSize = 20
	defaultRadiusKM   = 10
	maxRadiusKM       = 200
)

// TargetGroups are the target groups a service may name and search may filter by: the
// codes of the built-in target-group vocabulary (seed.TargetGroups).
var TargetGroups = []string{
	"adults", "minors", "unaccompanied-minors", "young-people", "women", "families", "asylum-seekers", "refugees", "temporary-protection", "people-without-residence-permit", "elderly", "people-with-disabilities", "newly-arrived", "workers",
}

// rome is the time zone schedules are read in.
var rome = mustLoadLocation("Europe/Rome")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // embedded by time/tzdata
	}
	return loc
}

// point is a WGS 84 coordinate.
type point struct{ lat, lon float64 }

// distanceKM is the great-circle (haversine) distance between a and b.
func distanceKM(a, b point) float64 {
	const earthRadiusKM = 6371.0088
	rad := math.Pi / 180
	dLat, dLon := (b.lat-a.lat)*rad, (b.lon-a.lon)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.lat*rad)*math.Cos(b.lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKM * math.Asin(math.Min(1, math.Sqrt(h)))
}

// boxAround returns a latitude/longitude rectangle holding the circle of radius km
// around p, with a margin; near the poles or the antimeridian it spans every longitude.
func boxAround(p point, km float64) *store.Box {
	const kmPerDegree = 111.0 // a little under the real 111.32: the box errs on the large side
	dLat := km / kmPerDegree * 1.01
	b := &store.Box{MinLat: max(p.lat-dLat, -90), MaxLat: min(p.lat+dLat, 90), MinLon: -180, MaxLon: 180}
	if c := math.Cos((math.Abs(p.lat) + dLat) * math.Pi / 180); c > 0.01 {
		dLon := dLat / c
		if p.lon-dLon >= -180 && p.lon+dLon <= 180 {
			b.MinLon, b.MaxLon = p.lon-dLon, p.lon+dLon
		}
	}
	return b
}

// parseNear reads "lat,lon".
func parseNear(s string) (point, bool) {
	latS, lonS, ok := strings.Cut(s, ",")
	if !ok {
		return point{}, false
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(latS), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(lonS), 64)
	if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return point{}, false
	}
	return point{lat, lon}, true
}

// openAt reports whether schedules say "open" at t (read in Europe/Rome): on a date with
// exceptions only the exceptions count (closed, or their hours); otherwise a weekly
// opening of that weekday, valid on that date, whose [opens_at, closes_at) holds t.
func openAt(scheds []*directoryv1.Schedule, t time.Time) bool {
	local := t.In(rome)
	date, hm := local.Format("2006-01-02"), local.Format("15:04")
	within := func(sc *directoryv1.Schedule) bool {
		return sc.GetOpensAt() != "" && sc.GetOpensAt() <= hm && hm < sc.GetClosesAt()
	}
	exception := false
	for _, sc := range scheds {
		if sc.GetExceptionDate() == date {
			exception = true
			if !sc.GetClosed() && within(sc) {
				return true
			}
		}
	}
	if exception {
		return false
	}
	weekday := int32(local.Weekday())
	if weekday == 0 {
		weekday = 7 // ISO 8601: Sunday is 7
	}
	for _, sc := range scheds {
		if int32(sc.GetWeekday()) == weekday && within(sc) &&
			(sc.GetValidFrom() == "" || sc.GetValidFrom() <= date) && (sc.GetValidTo() == "" || date <= sc.GetValidTo()) {
			return true
		}
	}
	return false
}

// candidate is a service that passed the store's filters, with its locations.
type candidate struct {
	rec store.Record
	// svc holds only what filtering, ranking and facets read (id, names, terms, places
	// and schedules), decoded cheaply; the results of the page are decoded in full.
	svc       *directoryv1.Service
	locations map[string]*directoryv1.Location
	distance  float64 // to near, when given
	nearest   string
	nameTier  int    // 0: every query word is in a name; 1: otherwise
	sortName  string // folded display name
}

// serviceOpenAt: open at t at any of its places, by the schedules of the
// service-at-location, else of the service, else of the location; a service with no
// places is open by its own schedules. No schedules: not open (unknown is not open).
func (c *candidate) openAt(t time.Time) bool {
	if len(c.svc.GetServiceAtLocations()) == 0 {
		return openAt(c.svc.GetSchedules(), t)
	}
	for _, sal := range c.svc.GetServiceAtLocations() {
		scheds := sal.GetSchedules()
		if len(scheds) == 0 {
			scheds = c.svc.GetSchedules()
		}
		if l := c.locations[sal.GetLocationId()]; len(scheds) == 0 && l != nil {
			scheds = l.GetSchedules()
		}
		if openAt(scheds, t) {
			return true
		}
	}
	return false
}

// nearestTo sets distance and nearest from the service's located places; false if none.
func (c *candidate) nearestTo(p point) bool {
	found := false
	for _, sal := range c.svc.GetServiceAtLocations() {
		l := c.locations[sal.GetLocationId()]
		if l == nil || l.Latitude == nil || l.Longitude == nil {
			continue
		}
		d := distanceKM(p, point{l.GetLatitude(), l.GetLongitude()})
		if !found || d < c.distance || (d == c.distance && l.GetId() < c.nearest) {
			c.distance, c.nearest, found = d, l.GetId(), true
		}
	}
	return found
}

// rank orders candidates deterministically: by distance when near was given; otherwise
// services whose name holds every query word before the others; then by folded name in
// the requested locale; then by id.
func rank(cs []*candidate, byDistance bool) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if byDistance && a.distance != b.distance {
			return a.distance < b.distance
		}
		if a.nameTier != b.nameTier {
			return a.nameTier < b.nameTier
		}
		if a.sortName != b.sortName {
			return a.sortName < b.sortName
		}
		return a.svc.GetId() < b.svc.GetId()
	})
}

// facets counts the candidates per taxonomy term and per municipality, most first, then
// by value.
func facets(cs []*candidate) (terms, municipalities map[string]int) {
	terms, municipalities = map[string]int{}, map[string]int{}
	for _, c := range cs {
		for _, t := range c.svc.GetTaxonomyTermIds() {
			terms[t]++
		}
		seen := map[string]bool{}
		for _, sal := range c.svc.GetServiceAtLocations() {
			if l := c.locations[sal.GetLocationId()]; l != nil && !seen[l.GetMunicipalityCode()] {
				seen[l.GetMunicipalityCode()] = true
				municipalities[l.GetMunicipalityCode()]++
			}
		}
	}
	return terms, municipalities
}

func facetList(counts map[string]int, label func(string) string) []*directoryv1.FacetCount {
	out := make([]*directoryv1.FacetCount, 0, len(counts))
	for v, n := range counts {
		out = append(out, &directoryv1.FacetCount{Value: v, Label: label(v), Count: int32(n)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// territoryFilter sets the store filter for a territory code.
func (s *directoryServer) territoryFilter(ctx context.Context, code string, f *store.SearchFilter) (bool, error) {
	if level, ok := s.catalog.LevelOf(code); ok {
		switch level {
		case territory.LevelMunicipality:
			f.Municipalities = []string{code}
		case territory.LevelProvince:
			f.Provinces = []string{code}
		case territory.LevelRegion:
			f.Regions = []string{code}
		}
		return true, nil
	}
	d, err := s.store.GetDistrict(ctx, code)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, grpcerr.From(err)
	}
	f.Municipalities = d.Municipalities
	return true, nil
}

// SearchServices implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) SearchServices(ctx context.Context, req *directoryv1.SearchServicesRequest) (*directoryv1.SearchServicesResponse, error) {
	var bad grpcerr.Violations
	f := store.SearchFilter{Words: words(req.GetQ()), Language: req.GetLanguage(), TargetGroup: req.GetTargetGroup()}
	if g := req.GetTargetGroup(); g != "" && !slices.Contains(TargetGroups, g) {
		bad.Add("target_group", "unknown target group %q: one of %s", g, strings.Join(TargetGroups, ", "))
	}
	var near point
	hasNear := req.GetNear() != ""
	if hasNear {
		var ok bool
		if near, ok = parseNear(req.GetNear()); !ok {
			bad.Add("near", "give \"lat,lon\" in decimal degrees, latitude within ±90 and longitude within ±180")
		}
	}
	radius := req.GetRadiusKm()
	switch {
	case radius != 0 && !hasNear:
		bad.Add("radius_km", "needs near")
	case radius == 0:
		radius = defaultRadiusKM
	case radius < 0 || radius > maxRadiusKM:
		bad.Add("radius_km", "must be more than 0 and at most %d", maxRadiusKM)
	}
	if hasNear && len(bad) == 0 {
		f.Box = boxAround(near, radius)
	}
	termRecords, err := s.store.ListRecords(ctx, store.KindTaxonomyTerm, store.ListFilter{})
	if err != nil {
		return nil, grpcerr.From(err)
	}
	terms := map[string]*directoryv1.TaxonomyTerm{}
	children := map[string][]string{}
	for _, r := range termRecords {
		t, err := decodeTerm(r)
		if err != nil {
			return nil, grpcerr.From(err)
		}
		terms[t.GetId()] = t
		children[t.GetParentId()] = append(children[t.GetParentId()], t.GetId())
	}
	for i, id := range req.GetTaxonomy() {
		if terms[id] == nil {
			bad.Add(fmt.Sprintf("taxonomy[%d]", i), "unknown taxonomy term %q", id)
			continue
		}
		// The term and its descendants.
		for queue := []string{id}; len(queue) > 0; queue = queue[1:] {
			if !slices.Contains(f.TaxonomyTermIDs, queue[0]) {
				f.TaxonomyTermIDs = append(f.TaxonomyTermIDs, queue[0])
				queue = append(queue, children[queue[0]]...)
			}
		}
	}
	if code := req.GetTerritory(); code != "" {
		ok, err := s.territoryFilter(ctx, code, &f)
		if err != nil {
			return nil, err
		}
		if !ok {
			bad.Add("territory", "unknown territory %q", code)
		}
	}
	openTime := ""
	if req.GetOpenAt() != nil {
		openTime = req.GetOpenAt().AsTime().UTC().Format(time.RFC3339)
	}
	taxonomy := slices.Clone(req.GetTaxonomy())
	slices.Sort(taxonomy)
	query := pagetoken.Query("search", strings.Join(f.Words, " "), strings.Join(taxonomy, ","), req.GetTerritory(),
		req.GetLanguage(), req.GetTargetGroup(), openTime, req.GetNear(), strconv.FormatFloat(radius, 'g', -1, 64), req.GetLocale())
	cursor, err := pagetoken.Decode(req.GetPageToken(), query)
	offset, convErr := strconv.Atoi(cursor)
	if err != nil || (cursor != "" && (convErr != nil || offset < 0)) {
		bad.Add("page_token", "does not belong to this query: start again without it")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}

	records, err := s.store.SearchServices(ctx, f)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	matched, err := s.candidates(ctx, records, req.GetLocale(), f.Words)
	if err != nil {
		return nil, err
	}
	kept := matched[:0]
	for _, c := range matched {
		if st := c.svc.GetStatus(); st == "inactive" || st == "defunct" {
			continue // search finds what people can use; List and Get still show these
		}
		if req.GetOpenAt() != nil && !c.openAt(req.GetOpenAt().AsTime()) {
			continue
		}
		if hasNear && (!c.nearestTo(near) || c.distance > radius) {
			continue
		}
		kept = append(kept, c)
	}
	rank(kept, hasNear)

	termCounts, munCounts := facets(kept)
	resp := &directoryv1.SearchServicesResponse{
		TotalSize: int32(len(kept)),
		TaxonomyFacets: facetList(termCounts, func(id string) string {
			if t := terms[id]; t != nil {
				return Text(t.GetName(), req.GetLocale())
			}
			return id
		}),
		MunicipalityFacets: facetList(munCounts, func(code string) string {
			m, _ := s.catalog.Municipality(code)
			return m.Name
		}),
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = defaultSearchSize
	}
	start := min(offset, len(kept))
	end := min(start+size, len(kept))
	for _, c := range kept[start:end] {
		full, err := decodeService(c.rec)
		if err != nil {
			return nil, grpcerr.From(err)
		}
		localize(full, req.GetLocale())
		res := &directoryv1.SearchResult{Service: full}
		if hasNear {
			res.DistanceKm, res.NearestLocationId = math.Round(c.distance*1000)/1000, c.nearest
		}
		resp.Results = append(resp.Results, res)
	}
	if end < len(kept) {
		resp.NextPageToken = pagetoken.Encode(query, strconv.Itoa(end))
	}
	return resp, nil
}

// candidates decodes the store's matches and loads their locations.
func (s *directoryServer) candidates(ctx context.Context, records []store.Record, locale string, ws []string) ([]*candidate, error) {
	out := make([]*candidate, 0, len(records))
	var locIDs []string
	for _, r := range records {
		sv, err := decodeSearchFields(r)
		if err != nil {
			return nil, grpcerr.From(err)
		}
		c := &candidate{rec: r, svc: sv, locations: map[string]*directoryv1.Location{}, nameTier: 1}
		c.nameTier = 0
		if len(ws) > 0 {
			names := foldAll(nil, sv.GetName())
			for _, w := range ws {
				if !strings.Contains(names, w) {
					c.nameTier = 1
				}
			}
		}
		c.sortName = sortKey(Text(sv.GetName(), locale))
		for _, sal := range sv.GetServiceAtLocations() {
			locIDs = append(locIDs, sal.GetLocationId())
		}
		out = append(out, c)
	}
	slices.Sort(locIDs)
	locIDs = slices.Compact(locIDs)
	locs := map[string]*directoryv1.Location{}
	for chunk := range slices.Chunk(locIDs, 500) {
		rs, err := s.store.GetRecords(ctx, store.KindLocation, chunk)
		if err != nil {
			return nil, grpcerr.From(err)
		}
		for _, r := range rs {
			l, err := decodeLocation(r)
			if err != nil {
				return nil, grpcerr.From(err)
			}
			locs[l.GetId()] = l
		}
	}
	for _, c := range out {
		for _, sal := range c.svc.GetServiceAtLocations() {
			if l := locs[sal.GetLocationId()]; l != nil {
				c.locations[l.GetId()] = l
			}
		}
	}
	return out, nil
}

// searchFields is the part of a stored service document search reads, decoded with
// encoding/json: several times cheaper than decoding the whole record with protojson,
// which matters when a broad query matches thousands of services.
type searchFields struct {
	ID                 string            `json:"id"`
	Status             string            `json:"status"`
	Name               map[string]string `json:"name"`
	TaxonomyTermIDs    []string          `json:"taxonomyTermIds"`
	Schedules          []searchSchedule  `json:"schedules"`
	ServiceAtLocations []struct {
		LocationID string           `json:"locationId"`
		Schedules  []searchSchedule `json:"schedules"`
	} `json:"serviceAtLocations"`
}

type searchSchedule struct {
	Weekday       string `json:"weekday"`
	OpensAt       string `json:"opensAt"`
	ClosesAt      string `json:"closesAt"`
	ValidFrom     string `json:"validFrom"`
	ValidTo       string `json:"validTo"`
	ExceptionDate string `json:"exceptionDate"`
	Closed        bool   `json:"closed"`
}

func schedulesProto(ss []searchSchedule) []*directoryv1.Schedule {
	out := make([]*directoryv1.Schedule, len(ss))
	for i, s := range ss {
		out[i] = &directoryv1.Schedule{Weekday: directoryv1.Weekday(directoryv1.Weekday_value[s.Weekday]), OpensAt: s.OpensAt,
			ClosesAt: s.ClosesAt, ValidFrom: s.ValidFrom, ValidTo: s.ValidTo, ExceptionDate: s.ExceptionDate, Closed: s.Closed}
	}
	return out
}

// decodeSearchFields returns a Service holding only the fields search reads.
func decodeSearchFields(r store.Record) (*directoryv1.Service, error) {
	var f searchFields
	if err := json.Unmarshal(r.Doc, &f); err != nil {
		return nil, fmt.Errorf("decode service %s: %w", r.ID, err)
	}
	sv := &directoryv1.Service{Id: r.ID, Status: f.Status, Name: f.Name, TaxonomyTermIds: f.TaxonomyTermIDs, Schedules: schedulesProto(f.Schedules)}
	for _, sal := range f.ServiceAtLocations {
		sv.ServiceAtLocations = append(sv.ServiceAtLocations, &directoryv1.ServiceAtLocation{LocationId: sal.LocationID, Schedules: schedulesProto(sal.Schedules)})
	}
	return sv, nil
}

// sortKey is textfold.Fold(s), computed without its Unicode machinery when s is ASCII
// (most names): ranking folds the name of every match.
func sortKey(s string) string {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return textfold.Fold(s)
		}
	}
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}
