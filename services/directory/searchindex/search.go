package searchindex

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Rome on machines without a zone database

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/ponte-network/ponte/libs/textfold"
)

// Point is a WGS 84 coordinate.
type Point struct{ Lat, Lon float64 }

// Query is a search. Zero fields do not filter.
type Query struct {
	// Tokens (from Analyzer.Query): each must begin a token of the service's own text or
	// of the text of one of its taxonomy terms. NoMatch: the query had only stop words.
	Tokens  []string
	NoMatch bool
	// Terms: the service has one of these terms or one of their descendants.
	Terms []string
	// Municipalities, Provinces, Regions (ORed): the service has a place in one of them.
	// Territory set with all three empty (a district without municipalities) matches nothing.
	Territory                          bool
	Municipalities, Provinces, Regions []string
	Language                           string
	TargetGroup                        string
	// OpenAt, when not zero: open then at one of its places (see OpenAt).
	OpenAt time.Time
	// Near, when not nil: a located place within RadiusKM; results by distance.
	Near     *Point
	RadiusKM float64
	// Locale orders names; Offset and Limit page the ranked results.
	Locale        string
	Offset, Limit int
	// FacetSize bounds each facet list to its most frequent values (0: every value).
	FacetSize int
	// Render asks for Hit.Rendered (an index made WithRenderer).
	Render bool
}

// Hit is a service of the page.
type Hit struct {
	ID string
	// Service is the service as the index holds it (binary protobuf of a
	// directoryv1.Service, with etag and times): the same version its match was decided on.
	// Localized: it is localized to Query.Locale (an index made WithLocalizer).
	Service   []byte
	Localized bool
	// Rendered is Service rendered (Query.Render), nil when it could not be.
	Rendered []byte
	// DistanceKM and NearestLocation: to Query.Near, when given.
	DistanceKM      float64
	NearestLocation string
}

// Result is a search's page, with the total and the facets of every match.
type Result struct {
	Total int
	Hits  []Hit
	// TermFacets and MunicipalityFacets count the matches per taxonomy term they have and
	// per municipality where they have a place: the most frequent first (ties: by value),
	// at most Query.FacetSize of each.
	TermFacets, MunicipalityFacets []Facet
}

// Facet is a value of a facet and how many matches have it.
type Facet struct {
	Value string
	Count int
}

// candidate is a match being ranked.
// It is small (24 bytes) because a broad search makes thousands.
type candidate struct {
	// key is the tier (bit 32: 0 when every query word begins a word of its name, else
	// 1) and the rank (rank.go) in one number, which orders candidates as the ranking
	// does when every candidate has a rank and distance does not count.
	key      uint64
	distance float64 // to Query.Near
	ord      uint32
	rank     uint32 // of its name in the query's locale, or noRank
}

// tier returns the candidate's tier (see key).
func (c candidate) tier() uint64 { return c.key >> 32 }

// Search runs q on the index as it is (call Sync first). Ranking is deterministic: by
// distance when Near is given; then services whose name holds every query word; then by
// folded name in the locale (else Italian, else the first locale); then by id.
func (x *Index) Search(q Query) Result {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var res Result
	if q.NoMatch {
		return res
	}
	// The matches: the intersection of every filter, smallest first, so that no broad list
	// is copied, without the inactive services (usually none: taking them out costs less
	// than intersecting with the active ones).
	var musts []*roaring.Bitmap
	none := false
	must := func(bs ...*roaring.Bitmap) {
		switch u := union(bs); {
		case u == nil || u.IsEmpty():
			none = true
		default:
			musts = append(musts, u)
		}
	}
	for _, tok := range q.Tokens {
		must(x.matching(tok))
	}
	if len(q.Terms) > 0 {
		must(x.postings(x.byTerm, x.descendants(q.Terms))...)
	}
	if q.Territory {
		var bs []*roaring.Bitmap
		bs = append(bs, x.postings(x.byMunicipality, q.Municipalities)...)
		bs = append(bs, x.postings(x.byProvince, q.Provinces)...)
		bs = append(bs, x.postings(x.byRegion, q.Regions)...)
		must(bs...)
	}
	if q.Language != "" {
		must(x.byLanguage[q.Language])
	}
	if q.TargetGroup != "" {
		must(x.byGroup[q.TargetGroup])
	}
	set := roaring.New()
	switch {
	case none:
	case len(musts) == 0:
		set = x.active.Clone()
	default:
		slices.SortFunc(musts, func(a, b *roaring.Bitmap) int { return cmp.Compare(a.GetCardinality(), b.GetCardinality()) })
		set = roaring.FastAnd(musts...) // a new bitmap, even of one
		if !x.inactive.IsEmpty() {
			set.AndNot(x.inactive)
		}
	}
	var near []nearby // by ordinal, as set
	if q.Near != nil {
		near = x.near(*q.Near, q.RadiusKM, set) // only services of set
		ords := make([]uint32, len(near))
		for i, n := range near {
			ords[i] = n.ord
		}
		set = roaring.New()
		set.AddMany(ords)
	}

	// Names holding every query word rank first. inName is not restricted to set: the walk
	// below marks only candidates. It may be one of the memoized unions: read it only.
	var inName *roaring.Bitmap
	if len(q.Tokens) > 0 {
		names := make([]*roaring.Bitmap, 0, len(q.Tokens))
		for _, tok := range q.Tokens {
			u := x.inNames(tok)
			if u == nil { // no name has the word
				names = nil
				break
			}
			names = append(names, u)
		}
		switch len(names) {
		case 0:
			inName = roaring.New()
		case 1:
			inName = names[0]
		default:
			inName = roaring.FastAnd(names...)
		}
	}
	keys := x.keys[q.Locale]
	ranks, ok := x.ranks[q.Locale]
	if !ok {
		ranks = x.fallbackRanks
	}
	pooled, _ := x.candidates.Get().(*[]candidate)
	if pooled == nil {
		pooled = new([]candidate)
	}
	cs := (*pooled)[:0]
	defer func() {
		*pooled = cs[:0]
		x.candidates.Put(pooled)
	}()
	var tier uint64 // every match is in the second tier until inName says otherwise
	if inName != nil {
		tier = 1
	}
	var buf [256]uint32
	nearIdx := 0 // near's entry for ord: both walk the ordinals in order
	for it := set.ManyIterator(); ; {
		n := it.NextMany(buf[:])
		if n == 0 {
			break
		}
		for _, ord := range buf[:n] {
			if !q.OpenAt.IsZero() && !x.openAt(x.services[ord], q.OpenAt) {
				continue
			}
			c := candidate{ord: ord, rank: noRank}
			if int(ord) < len(ranks) {
				c.rank = ranks[ord]
			}
			c.key = tier<<32 | uint64(c.rank)
			if q.Near != nil {
				for near[nearIdx].ord < ord {
					nearIdx++
				}
				c.distance = near[nearIdx].distance
			}
			cs = append(cs, c)
		}
	}
	if inName != nil { // both in ordinal order: one walk marks the first tier
		j := 0
		for it := inName.ManyIterator(); ; {
			n := it.NextMany(buf[:])
			if n == 0 {
				break
			}
			for _, ord := range buf[:n] {
				for j < len(cs) && cs[j].ord < ord {
					j++
				}
				if j < len(cs) && cs[j].ord == ord {
					cs[j].key = uint64(cs[j].rank) // the first tier
				}
			}
		}
	}
	x.facets(cs, q.FacetSize, &res)
	res.Total = len(cs)
	// keyOf is a service's name key in the locale: read only when a rank is missing.
	keyOf := func(ord uint32) nameKey {
		if keys != nil && keys[ord].name != "" {
			return keys[ord]
		}
		return x.fallback[ord]
	}
	byDistance := q.Near != nil
	less := func(a, b candidate) int {
		if byDistance && a.distance != b.distance {
			return cmp.Compare(a.distance, b.distance)
		}
		if a.tier() != b.tier() {
			return cmp.Compare(a.tier(), b.tier())
		}
		if a.rank != noRank && b.rank != noRank { // ranks are unique: name, then id
			return cmp.Compare(a.rank, b.rank)
		}
		if n := compareNames(keyOf(a.ord), keyOf(b.ord)); n != 0 {
			return n
		}
		return strings.Compare(x.services[a.ord].id, x.services[b.ord].id)
	}
	start := min(max(q.Offset, 0), len(cs))
	end := len(cs)
	if q.Limit > 0 {
		end = min(start+q.Limit, len(cs))
	}
	// Keys order the candidates when none lacks a rank (no name changed since the last
	// ranking) and distance does not count: most are then turned away by one comparison.
	keyed := !byDistance && x.unranked.IsEmpty()
	for _, c := range topK(cs, end, less, keyed)[start:end] {
		s := x.services[c.ord]
		page, localized, kept := x.pageIn(s, q.Locale)
		h := Hit{ID: s.id, Service: page, Localized: localized, DistanceKM: c.distance}
		if i, found := slices.BinarySearchFunc(near, c.ord, func(n nearby, ord uint32) int { return cmp.Compare(n.ord, ord) }); found {
			h.NearestLocation = near[i].location
		}
		if q.Render && x.renderer != nil && (localized || q.Locale == "") {
			h.Rendered = x.renderedPage(page, kept)
		}
		res.Hits = append(res.Hits, h)
	}
	return res
}

// topK returns the first k of cs in order, ordering cs in place: a full sort when k is a
// good part of cs, else a bounded max-heap of the k best (a first page of a broad match
// costs n·log k comparisons instead of n·log n). keyed: the candidates' keys order them
// as cmp does, except among equal keys; the heap then turns away a candidate whose key
// is above its worst one's without calling cmp.
func topK(cs []candidate, k int, cmp func(a, b candidate) int, keyed bool) []candidate {
	if k >= len(cs)/8 {
		slices.SortFunc(cs, cmp)
		return cs[:k]
	}
	h := cs[:k:k]
	down := func(i int) { // restore the max-heap below i
		for {
			l, big := 2*i+1, i
			if l < k && cmp(h[l], h[big]) > 0 {
				big = l
			}
			if r := l + 1; r < k && cmp(h[r], h[big]) > 0 {
				big = r
			}
			if big == i {
				return
			}
			h[i], h[big] = h[big], h[i]
			i = big
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for _, c := range cs[k:] {
		if k == 0 || (keyed && c.key > h[0].key) {
			continue
		}
		if cmp(c, h[0]) < 0 {
			h[0] = c
			down(0)
		}
	}
	slices.SortFunc(h, cmp)
	return h
}

// facets counts the matches per term and per municipality and keeps the size most
// frequent of each (0: all).
func (x *Index) facets(cs []candidate, size int, res *Result) {
	terms := make([]int32, len(x.termNums.values))
	for _, c := range cs {
		v := x.termOf[c.ord]
		if v == manyTerms {
			for _, t := range x.services[c.ord].terms {
				terms[x.termNums.numbers[t]]++
			}
			continue
		}
		for ; v != 0; v >>= 16 {
			terms[v&0xFFFF]++
		}
	}
	for n, count := range terms {
		if n > 0 && count > 0 {
			res.TermFacets = append(res.TermFacets, Facet{x.termNums.values[n], int(count)})
		}
	}
	res.TermFacets = topFacets(res.TermFacets, size)
	pooled, _ := x.munCounts.Get().(*[]int32)
	if pooled == nil {
		pooled = new([]int32)
	}
	defer x.munCounts.Put(pooled)
	counts := slices.Grow((*pooled)[:0], len(x.muns.values))[:len(x.muns.values)]
	clear(counts)
	*pooled = counts
	for _, c := range cs {
		switch m := x.munOf[c.ord]; m {
		case noMunicipality:
		case manyMunicipalities:
			for _, code := range x.services[c.ord].municipalities {
				counts[x.muns.numbers[code]]++
			}
		default:
			counts[m]++
		}
	}
	// A broad match spans thousands of municipalities: keep the counts that can still make
	// the top size (at least the size-th largest) before building and sorting facets.
	floor := max(kthLargest(counts, size), 1)
	for m, n := range counts {
		if n >= floor {
			res.MunicipalityFacets = append(res.MunicipalityFacets, Facet{x.muns.values[m], int(n)})
		}
	}
	res.MunicipalityFacets = topFacets(res.MunicipalityFacets, size)
}

// kthLargest returns the k-th largest of counts (counting repeats), or 0 when k is 0 or
// there are fewer than k positive counts: a min-heap of the k largest seen.
func kthLargest(counts []int32, k int) int32 {
	if k <= 0 {
		return 0
	}
	heap := make([]int32, 0, k)
	for _, n := range counts {
		switch {
		case n <= 0:
		case len(heap) < k:
			heap = append(heap, n)
			for i := len(heap) - 1; i > 0 && heap[(i-1)/2] > heap[i]; i = (i - 1) / 2 { // up
				heap[i], heap[(i-1)/2] = heap[(i-1)/2], heap[i]
			}
		case n > heap[0]:
			heap[0] = n
			for i := 0; ; { // down
				small, l, r := i, 2*i+1, 2*i+2
				if l < k && heap[l] < heap[small] {
					small = l
				}
				if r < k && heap[r] < heap[small] {
					small = r
				}
				if small == i {
					break
				}
				heap[i], heap[small] = heap[small], heap[i]
				i = small
			}
		}
	}
	if len(heap) < k {
		return 0
	}
	return heap[0]
}

// topFacets orders facets by count, most first, then by value, and keeps the first size
// (0: all).
func topFacets(fs []Facet, size int) []Facet {
	slices.SortFunc(fs, func(a, b Facet) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return strings.Compare(a.Value, b.Value)
	})
	if size > 0 && len(fs) > size {
		fs = fs[:size]
	}
	return fs
}

// union returns the union of bs: nil for none, the one itself (not to be modified) for one.
func union(bs []*roaring.Bitmap) *roaring.Bitmap {
	switch len(bs) {
	case 0:
		return nil
	case 1:
		return bs[0]
	default:
		return roaring.FastOr(bs...)
	}
}

// matching returns the services one of whose tokens, or one of whose terms' tokens,
// begins with tok.
// The result may be one of the index's own lists: read it, never modify it.
func (x *Index) matching(tok string) *roaring.Bitmap {
	return x.memo.get(memoKey{tok: tok}, func() *roaring.Bitmap { return x.matchingNow(tok) })
}

// inNames returns the services one of whose names' tokens begins with tok, nil if none.
// The result may be one of the index's own lists: read it, never modify it.
func (x *Index) inNames(tok string) *roaring.Bitmap {
	return x.memo.get(memoKey{names: true, tok: tok}, func() *roaring.Bitmap {
		return union(x.prefixed(nil, x.nameVocabulary, x.byNameToken, tok))
	})
}

func (x *Index) matchingNow(tok string) *roaring.Bitmap {
	bs := x.prefixed(nil, x.vocabulary, x.byToken, tok)
	for id, t := range x.terms {
		if hasPrefix(t.tokens, tok) {
			if b := x.byTerm[id]; b != nil {
				bs = append(bs, b)
			}
		}
	}
	return union(bs)
}

// prefixed appends to bs the postings of the tokens of a vocabulary (token numbers
// sorted by text) that begin with tok.
func (x *Index) prefixed(bs []*roaring.Bitmap, vocabulary []uint32, postings []*roaring.Bitmap, tok string) []*roaring.Bitmap {
	i := sort.Search(len(vocabulary), func(i int) bool { return x.tokenText[vocabulary[i]] >= tok })
	for ; i < len(vocabulary) && strings.HasPrefix(x.tokenText[vocabulary[i]], tok); i++ {
		bs = append(bs, postings[vocabulary[i]])
	}
	return bs
}

// hasPrefix reports whether a sorted token list has a token beginning with p.
func hasPrefix(sorted []string, p string) bool {
	i := sort.SearchStrings(sorted, p)
	return i < len(sorted) && strings.HasPrefix(sorted[i], p)
}

func (x *Index) postings(m map[string]*roaring.Bitmap, keys []string) []*roaring.Bitmap {
	var out []*roaring.Bitmap
	for _, k := range keys {
		if b := m[k]; b != nil {
			out = append(out, b)
		}
	}
	return out
}

// descendants returns the terms and every term below them.
func (x *Index) descendants(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	queue := slices.Clone(ids)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
		queue = append(queue, x.children[id]...)
	}
	return out
}

// nearby is a service with a located place within a search's radius, and its nearest
// such place.
type nearby struct {
	ord      uint32
	distance float64
	location string
}

// near returns the services of set with a located place within radius km of p, by
// ordinal, each with its nearest such place (ties: the smaller location id).
func (x *Index) near(p Point, km float64, set *roaring.Bitmap) []nearby {
	var out []nearby
	minLat, maxLat, minLon, maxLon := boxAround(p, km)
	for la := cellOf(minLat, 0).lat; la <= cellOf(maxLat, 0).lat; la++ {
		for lo := cellOf(0, minLon).lon; lo <= cellOf(0, maxLon).lon; lo++ {
			for _, l := range x.grid[cell{la, lo}] {
				d := DistanceKM(p, Point{l.lat, l.lon})
				if d > km {
					continue
				}
				b := x.byLocation[l.id]
				if b == nil {
					continue
				}
				b.Iterate(func(ord uint32) bool {
					if set.Contains(ord) {
						out = append(out, nearby{ord, d, l.id})
					}
					return true
				})
			}
		}
	}
	// By ordinal, then nearest first; then one entry per service, its nearest.
	slices.SortFunc(out, func(a, b nearby) int {
		if a.ord != b.ord {
			return cmp.Compare(a.ord, b.ord)
		}
		if a.distance != b.distance {
			return cmp.Compare(a.distance, b.distance)
		}
		return strings.Compare(a.location, b.location)
	})
	return slices.CompactFunc(out, func(a, b nearby) bool { return a.ord == b.ord })
}

// DistanceKM is the great-circle (haversine) distance between a and b.
func DistanceKM(a, b Point) float64 {
	const earthRadiusKM = 6371.0088
	rad := math.Pi / 180
	dLat, dLon := (b.Lat-a.Lat)*rad, (b.Lon-a.Lon)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKM * math.Asin(math.Min(1, math.Sqrt(h)))
}

// boxAround returns a latitude/longitude rectangle holding the circle of radius km
// around p, with a margin; near the poles or the antimeridian it spans every longitude.
func boxAround(p Point, km float64) (minLat, maxLat, minLon, maxLon float64) {
	const kmPerDegree = 111.0 // a little under the real 111.32: the box errs on the large side
	dLat := km / kmPerDegree * 1.01
	minLat, maxLat, minLon, maxLon = max(p.Lat-dLat, -90), min(p.Lat+dLat, 90), -180, 180
	if c := math.Cos((math.Abs(p.Lat) + dLat) * math.Pi / 180); c > 0.01 {
		dLon := dLat / c
		if p.Lon-dLon >= -180 && p.Lon+dLon <= 180 {
			minLon, maxLon = p.Lon-dLon, p.Lon+dLon
		}
	}
	return minLat, maxLat, minLon, maxLon
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

// OpenAt reports whether schedules say "open" at t (read in Europe/Rome): on a date with
// exceptions only the exceptions count (closed, or their hours); otherwise a weekly
// opening of that weekday, valid on that date, whose [opens_at, closes_at) holds t.
func OpenAt(scheds []Schedule, t time.Time) bool {
	local := t.In(rome)
	y, mo, d := local.Date()
	date, hm := int32(y*10000+int(mo)*100+d), int16(local.Hour()*60+local.Minute())
	within := func(sc Schedule) bool {
		return sc.Opens >= 0 && sc.Opens <= hm && hm < sc.Closes
	}
	exception := false
	for _, sc := range scheds {
		if sc.ExceptionDate == date {
			exception = true
			if !sc.Closed && within(sc) {
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
		if sc.Weekday == weekday && within(sc) &&
			(sc.ValidFrom == 0 || sc.ValidFrom <= date) && (sc.ValidTo == 0 || date <= sc.ValidTo) {
			return true
		}
	}
	return false
}

// openAt: open at t at any of its places, by the schedules of the service-at-location,
// else of the service, else of the location; a service with no places is open by its
// own schedules. No schedules: not open (unknown is not open).
func (x *Index) openAt(s *service, t time.Time) bool {
	if len(s.places) == 0 {
		return OpenAt(s.scheds, t)
	}
	for _, p := range s.places {
		scheds := p.scheds
		if len(scheds) == 0 {
			scheds = s.scheds
		}
		if l := x.locations[p.location]; len(scheds) == 0 && l != nil {
			scheds = l.scheds
		}
		if OpenAt(scheds, t) {
			return true
		}
	}
	return false
}

// SortKey is the folded form of a name that ranking orders by: textfold.Fold, computed
// without its Unicode machinery when the name is ASCII (most are).
func SortKey(s string) string {
	if !isASCII(s) {
		return textfold.Fold(s)
	}
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// TermInfo is what the index knows of a taxonomy term.
type TermInfo struct {
	ID, Parent string
	Names      map[string]string
}

// Term returns a taxonomy term of the index.
func (x *Index) Term(id string) (TermInfo, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	t := x.terms[id]
	if t == nil {
		return TermInfo{}, false
	}
	return TermInfo{ID: t.id, Parent: t.parent, Names: t.names}, true
}
