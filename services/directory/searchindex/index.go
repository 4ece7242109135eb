// Package searchindex is the directory's search index: an in-memory read model of the
// services, locations and taxonomy terms, built from the store at the first Sync and
// kept current from the directory's change log, so that a search costs bitmap
// operations over compressed posting lists (Roaring) instead of a scan of the table.
//
// The directory calls Sync before every search. It reads the change log only when the
// feed signals a commit (this process's own at once, other processes' by LISTEN/NOTIFY)
// or a second has passed, and applies what the index has not seen yet: a search sees
// every write that returned on this node before it started, and a write on another
// replica sharing the database once its NOTIFY arrives. Readers that can do with a stale
// answer call Current instead: while the store cannot be reached it answers from the index
// as it stands, says how stale it is, and catches up in the background. The index also
// keeps the districts, for territory reads. The index is the same code over both stores,
// so PostgreSQL and the embedded store give the same answers by construction.
package searchindex

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"google.golang.org/protobuf/proto"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/directory/store"
)

// Source is what the index is built and kept current from: the directory store.
type Source interface {
	ListRecords(ctx context.Context, kind store.Kind, f store.ListFilter) ([]store.Record, error)
	ListDistricts(ctx context.Context) ([]store.District, error)
	Changes() changelog.Feed
}

// service is the index's entry for one service.
type service struct {
	id   string
	page []byte // the service as a search returns it: binary protobuf, etag and times included
	// localized holds page localized to some locales (WithLocalizer), added by searches.
	localized atomic.Pointer[[]*localizedPage]
	// rendered is page rendered (WithRenderer), once a search asked for it.
	rendered atomic.Pointer[[]byte]
	active   bool     // status is neither inactive nor defunct
	locales  []string // of its name, whose sort keys are in Index.keys
	names    []uint32 // token numbers of the names
	tokens   []uint32 // token numbers of every text, names included
	terms    []string
	langs    []string
	groups   []string
	scheds   []Schedule
	places   []place
	// municipalities, provinces and regions of its located places, as indexed.
	municipalities, provinces, regions []string
}

// localizedPage is a service's page localized to a locale, and its rendering once a
// search asked for it.
type localizedPage struct {
	locale   string
	page     []byte
	rendered atomic.Pointer[[]byte]
}

// pageIn returns the service's page localized to locale, and whether it is: from what an
// earlier search kept, else made now and kept. kept is where the page's rendering is kept,
// nil when the page itself is not kept.
func (x *Index) pageIn(s *service, locale string) (page []byte, localized bool, kept *atomic.Pointer[[]byte]) {
	if x.localizer == nil || locale == "" {
		return s.page, false, &s.rendered
	}
	pages := s.localized.Load()
	if pages != nil {
		for _, p := range *pages {
			if p.locale == locale {
				return p.page, true, &p.rendered
			}
		}
	}
	page, err := x.localizer(s.page, locale)
	if err != nil {
		return s.page, false, nil // the caller localizes it (and reports what fails)
	}
	if _, known := x.keys[locale]; !known || (pages != nil && len(*pages) >= maxLocalizedPages) {
		return page, true, nil
	}
	var next []*localizedPage
	if pages != nil {
		next = slices.Clone(*pages)
	}
	if c, ok := x.strs[locale]; ok { // the index's copy (read only: searches hold the read lock)
		locale = c
	}
	p := &localizedPage{locale: locale, page: page}
	next = append(next, p)
	if !s.localized.CompareAndSwap(pages, &next) { // a concurrent search kept another: fine
		return page, true, nil
	}
	return page, true, &p.rendered
}

// renderedPage returns page (localized or not, from pageIn) rendered, from kept when an
// earlier search rendered it, else rendered now and kept there while the index's renderings
// fit in renderBudget; nil when rendering fails (the caller sends the page).
func (x *Index) renderedPage(page []byte, kept *atomic.Pointer[[]byte]) []byte {
	if kept != nil {
		if r := kept.Load(); r != nil {
			return *r
		}
	}
	r, err := x.renderer(page)
	if err != nil {
		return nil
	}
	if kept == nil {
		return r
	}
	size := int64(len(r))
	if x.renderedBytes.Add(size) > renderBudget || !kept.CompareAndSwap(nil, &r) {
		x.renderedBytes.Add(-size)
	}
	return r
}

// renderedSize is how many bytes of renderings s keeps.
func (s *service) renderedSize() int64 {
	var n int64
	if r := s.rendered.Load(); r != nil {
		n += int64(len(*r))
	}
	if pages := s.localized.Load(); pages != nil {
		for _, p := range *pages {
			if r := p.rendered.Load(); r != nil {
				n += int64(len(*r))
			}
		}
	}
	return n
}

// place is one service-at-location.
type place struct {
	location string
	scheds   []Schedule
}

// location is the index's entry for one location.
type location struct {
	id           string
	municipality string
	province     string
	region       string
	located      bool
	lat, lon     float64
	scheds       []Schedule
}

// term is the index's entry for one taxonomy term.
type term struct {
	id     string
	parent string
	names  map[string]string
	tokens []string
}

// nameKey is a folded name ranking orders by, with its first eight bytes as a number so
// that most comparisons read no string.
type nameKey struct {
	head uint64
	name string
}

func newNameKey(name string) nameKey {
	var b [8]byte
	copy(b[:], name)
	return nameKey{head: binary.BigEndian.Uint64(b[:]), name: name}
}

// compareNames orders two keys as their names.
func compareNames(a, b nameKey) int {
	if a.head != b.head {
		return cmp.Compare(a.head, b.head)
	}
	return strings.Compare(a.name, b.name)
}

// Values of Index.munOf besides municipality numbers.
const (
	noMunicipality     = -1
	manyMunicipalities = -2
)

// cell is a 0.1° × 0.1° square of the location grid.
type cell struct{ lat, lon int32 }

const cellsPerDegree = 10

func cellOf(lat, lon float64) cell {
	return cell{int32(math.Floor(lat * cellsPerDegree)), int32(math.Floor(lon * cellsPerDegree))}
}

// Index is the search index. Its methods are safe for concurrent use.
type Index struct {
	src       Source
	catalog   *territory.Catalog
	analyzer  *Analyzer
	localizer Localizer
	renderer  Renderer
	// renderedBytes is the size of the renderings services keep (at most renderBudget).
	renderedBytes atomic.Int64

	syncMu sync.Mutex // one Sync applies changes at a time
	// outage is set while the store cannot be reached: Current then answers from the index
	// as it stands, and one catchUp loop (catchingUp) reads the log until the store answers.
	outage, catchingUp atomic.Bool
	// synced is when the last complete Sync began to read the log, and the feed's
	// Generation then; nil before the first. Atomic, so that a search's check and its
	// update take no lock that searches wait on.
	synced atomic.Pointer[syncMark]

	candidates sync.Pool // of *[]candidate: a broad search ranks thousands
	memo       prefixMemo
	munCounts  sync.Pool // of *[]int32: a search's count per municipality number

	mu       sync.RWMutex
	built    bool
	position int64 // change-log position applied

	ords     map[string]uint32 // service id → ordinal
	services []*service        // by ordinal; nil once deleted
	active   *roaring.Bitmap
	inactive *roaring.Bitmap // indexed services that are not active: searches take them out

	// keys holds, per locale, the folded names by ordinal ("" when a service has no name
	// in it), and fallback the folded name in Italian, else in the first locale: ranking
	// reads one of them per match, so they are arrays rather than per-service maps.
	keys     map[string][]nameKey
	fallback []nameKey
	// ranks, fallbackRanks and unranked: see rank.go.
	ranks         map[string][]uint32
	fallbackRanks []uint32
	unranked      *roaring.Bitmap
	// munOf is, by ordinal, the dense number of the service's one municipality, or
	// noMunicipality, or manyMunicipalities (then read the service's list): municipality
	// facets count a broad match through it, in ordinal order.
	munOf []int32
	muns  numbering // municipality codes
	// termOf is, by ordinal, the numbers (in terms, from 1) of the service's terms,
	// four 16-bit slots with 0 for none, or manyTerms (then read the service's list):
	// term facets count a broad match through it.
	termOf   []uint64
	termNums numbering // term ids; number 0 is unused

	// strs interns the strings of small vocabularies (languages, groups, term ids,
	// locales, location ids) that every service repeats: one copy each, not one per
	// service for the garbage collector to visit.
	strs  map[string]string
	lists map[string][]string // internList's lists, by their strings joined with NUL

	// Tokens are numbered (tokenNumber, tokenText) so that services hold them as
	// pointer-free arrays, which the garbage collector need not scan. byToken and
	// byNameToken are their posting lists by number (nil when empty); vocabulary and
	// nameVocabulary the numbers with postings, sorted by text, for prefix lookups.
	tokenNumber    map[string]uint32
	tokenText      []string
	byToken        []*roaring.Bitmap
	byNameToken    []*roaring.Bitmap // tokens of names only, for ranking
	vocabulary     []uint32
	nameVocabulary []uint32
	vocabularyDirt bool
	byTerm         map[string]*roaring.Bitmap
	byLocation     map[string]*roaring.Bitmap
	byLanguage     map[string]*roaring.Bitmap
	byGroup        map[string]*roaring.Bitmap
	byMunicipality map[string]*roaring.Bitmap
	byProvince     map[string]*roaring.Bitmap
	byRegion       map[string]*roaring.Bitmap

	locations map[string]*location
	grid      map[cell][]*location // located locations per cell
	terms     map[string]*term
	children  map[string][]string // term id → child term ids

	// districts are the store's districts by code, and districtList the same sorted by
	// code (replaced, never changed in place: callers keep the slice they got).
	districts    map[string]store.District
	districtList []store.District
}

// New returns an empty index over src; it builds itself at the first Sync.
func New(src Source, catalog *territory.Catalog, opts ...Option) *Index {
	x := &Index{src: src, catalog: catalog, analyzer: NewAnalyzer()}
	for _, o := range opts {
		o(x)
	}
	return x
}

// Option configures an Index.
type Option func(*Index)

// Localizer turns a service (binary protobuf, as Hit.Service) into the service as it is
// returned in a locale.
type Localizer func(page []byte, locale string) ([]byte, error)

// WithLocalizer makes searches return each service localized to Query.Locale
// (Hit.Localized), keeping the localized form beside the service for the next search in
// that locale: a page of results then needs neither decoding every translation nor
// localizing. Only locales that some service's name is written in are kept, at most
// maxLocalizedPages per service.
func WithLocalizer(l Localizer) Option { return func(x *Index) { x.localizer = l } }

// maxLocalizedPages bounds the localized forms kept per service.
const maxLocalizedPages = 8

// Renderer turns a service's page (localized or not) into the form Hit.Rendered holds.
type Renderer func(page []byte) ([]byte, error)

// WithRenderer makes searches with Query.Render return each service rendered
// (Hit.Rendered), keeping the rendering beside the page for the next search: the
// directory renders the JSON the REST edge writes (package edgejson). Renderings are kept
// while they fit in renderBudget, first come first kept; beyond it, they are made per
// search.
func WithRenderer(r Renderer) Option { return func(x *Index) { x.renderer = r } }

// renderBudget bounds the bytes of renderings the index keeps: the JSON of 100,000
// services in one locale is about 200 MB.
const renderBudget = 256 << 20

// Analyzer returns the analyzer the index tokenizes text with.
func (x *Index) Analyzer() *Analyzer { return x.analyzer }

func (x *Index) reset() {
	x.memo.clear()
	x.renderedBytes.Store(0)
	x.ords, x.services, x.active, x.inactive = map[string]uint32{}, nil, roaring.New(), roaring.New()
	x.keys, x.fallback = map[string][]nameKey{}, nil
	x.ranks, x.fallbackRanks, x.unranked = map[string][]uint32{}, nil, roaring.New()
	x.munOf, x.muns = nil, numbering{}
	x.termOf, x.termNums = nil, numbering{}
	x.termNums.number("") // term numbers start at 1: 0 is an empty slot
	x.strs, x.lists = map[string]string{}, map[string][]string{}
	x.tokenNumber, x.tokenText = map[string]uint32{}, nil
	x.byToken, x.byNameToken, x.vocabulary, x.nameVocabulary, x.vocabularyDirt = nil, nil, nil, nil, false
	x.byTerm, x.byLocation = map[string]*roaring.Bitmap{}, map[string]*roaring.Bitmap{}
	x.byLanguage, x.byGroup = map[string]*roaring.Bitmap{}, map[string]*roaring.Bitmap{}
	x.byMunicipality, x.byProvince, x.byRegion = map[string]*roaring.Bitmap{}, map[string]*roaring.Bitmap{}, map[string]*roaring.Bitmap{}
	x.locations, x.grid = map[string]*location{}, map[cell][]*location{}
	x.terms, x.children = map[string]*term{}, map[string][]string{}
	x.districts, x.districtList = map[string]store.District{}, nil
}

// listPage is how many records a build reads per query.
const listPage = 2000

// changesPage is how many change-log entries a Sync reads per query.
const changesPage = 1000

// maxLag bounds how long the index trusts the feed's signals alone: a search reads the
// log at least this often even when no signal came (a lost NOTIFY, another process
// writing an embedded store's file).
const maxLag = time.Second

// Sync brings the index up to the end of the change log, building it first if needed. It
// reads the log only when the feed's Generation moved since the last read (a commit of
// this process, or a NOTIFY of another's) or maxLag has passed: a search after a write
// that returned on this node sees it, a write on another node is seen once its NOTIFY
// arrives (milliseconds), and without signals within maxLag.
//
// When only maxLag has passed, one search reads the log and the others go on with the
// index as it is (they owe no write a wait); after a signal every search waits for the
// read, so that none misses the write it signals.
func (x *Index) Sync(ctx context.Context) error {
	feed := x.src.Changes()
	gen := feed.Generation()
	signalled, lagging := x.behind(gen)
	switch {
	case !signalled && !lagging:
		return nil
	case !signalled: // lagging only
		if !x.syncMu.TryLock() {
			return nil // another search is reading the log
		}
	default:
		x.syncMu.Lock()
	}
	defer x.syncMu.Unlock()
	if signalled, lagging = x.behind(gen); !signalled && !lagging { // another Sync read the log after gen was reached
		return nil
	}
	gen = feed.Generation() // before reading: what comes after it signals again
	checked := time.Now()
	x.mu.RLock()
	built, position := x.built, x.position
	x.mu.RUnlock()
	if !built {
		head, err := feed.Head(ctx)
		if err != nil {
			return fmt.Errorf("search index: %w", err)
		}
		if err := x.build(ctx, head); err != nil {
			return err
		}
		position = head
	}
	for {
		entries, err := feed.List(ctx, position, changesPage)
		if err != nil {
			return fmt.Errorf("search index: read changes: %w", err)
		}
		if len(entries) > 0 {
			x.mu.Lock()
			for _, e := range entries {
				if err := x.apply(e); err != nil {
					x.mu.Unlock()
					return fmt.Errorf("search index: change %d: %w", e.Position, err)
				}
				x.position = e.Position
			}
			x.finish()
			position = x.position
			x.mu.Unlock()
		}
		if len(entries) < changesPage {
			break
		}
	}
	x.synced.Store(&syncMark{gen: gen, at: checked})
	return nil
}

// syncMark is when a Sync began to read the log, and the feed's Generation then.
type syncMark struct {
	gen uint64
	at  time.Time
}

// behind reports whether the index must read the log before a search: signalled when it
// has not synced yet or generation gen was reached after its last read of the log began;
// lagging when that read began maxLag ago or more.
func (x *Index) behind(gen uint64) (signalled, lagging bool) {
	m := x.synced.Load()
	if m == nil {
		return true, true
	}
	return m.gen < gen, time.Since(m.at) >= maxLag
}

// build reads every taxonomy term, location, service and district and sets the position to head
// (read before the records: changes after it are applied again by Sync, harmlessly).
func (x *Index) build(ctx context.Context, head int64) error {
	kinds := []store.Kind{store.KindTaxonomyTerm, store.KindLocation, store.KindService}
	pages := map[store.Kind][][]store.Record{}
	for _, kind := range kinds {
		after := ""
		for {
			rs, err := x.src.ListRecords(ctx, kind, store.ListFilter{After: after, Limit: listPage})
			if err != nil {
				return fmt.Errorf("search index: list %s: %w", kind, err)
			}
			if len(rs) == 0 {
				break
			}
			pages[kind] = append(pages[kind], rs)
			after = rs[len(rs)-1].ID
			if len(rs) < listPage {
				break
			}
		}
	}
	districts, err := x.src.ListDistricts(ctx)
	if err != nil {
		return fmt.Errorf("search index: list districts: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.reset()
	for _, d := range districts {
		x.districts[d.Code] = d
	}
	x.listDistricts()
	for _, kind := range kinds {
		for _, rs := range pages[kind] {
			for _, r := range rs {
				if err := x.upsert(kind, r.Doc, r); err != nil {
					return fmt.Errorf("search index: %s %s: %w", kind, r.ID, err)
				}
			}
		}
	}
	x.rank()
	x.finish()
	x.built, x.position = true, head
	return nil
}

// apply applies one change-log entry; organizations do not concern search, districts
// are kept for territory reads and filters.
func (x *Index) apply(e changelog.Entry) error {
	kind := store.Kind(e.Topic)
	switch kind {
	case store.KindService, store.KindLocation, store.KindTaxonomyTerm:
		x.memo.clear()
	case store.TopicDistrict:
		return x.applyDistrict(e)
	default:
		return nil
	}
	switch e.Op {
	case changelog.OpDelete:
		x.remove(kind, e.Key)
		return nil
	default:
		return x.upsert(kind, e.Payload, store.Record{})
	}
}

// upsert indexes a record's document; meta is the stored record (for its etag and times)
// when doc is its bare document, zero when doc is a change-log payload.
func (x *Index) upsert(kind store.Kind, doc []byte, meta store.Record) error {
	switch kind {
	case store.KindService:
		m, err := serviceRecord(doc, meta)
		if err != nil {
			return err
		}
		return x.putService(m)
	case store.KindLocation:
		d, err := decode[locationDoc]("location", doc)
		if err != nil {
			return err
		}
		x.putLocation(d)
	case store.KindTaxonomyTerm:
		d, err := decode[termDoc]("taxonomy term", doc)
		if err != nil {
			return err
		}
		x.putTerm(d)
	}
	return nil
}

func (x *Index) remove(kind store.Kind, id string) {
	switch kind {
	case store.KindService:
		if ord, ok := x.ords[id]; ok {
			x.unindexService(ord)
			x.services[ord] = nil
			delete(x.ords, id)
		}
	case store.KindLocation:
		l := x.locations[id]
		if l == nil {
			return
		}
		x.ungrid(l)
		delete(x.locations, id)
		x.replace(id) // services that still name it lose its place
	case store.KindTaxonomyTerm:
		if t := x.terms[id]; t != nil {
			x.children[t.parent] = slices.DeleteFunc(x.children[t.parent], func(c string) bool { return c == id })
			delete(x.terms, id)
		}
	}
}

// finish runs after a batch of changes: it ranks names again once enough changed, and
// rebuilds the sorted vocabularies if they changed.
func (x *Index) finish() {
	if x.unranked.GetCardinality() >= rerankAfter(len(x.services)) {
		x.rank()
	}
	if !x.vocabularyDirt {
		return
	}
	x.vocabulary = x.sortedTokens(x.vocabulary[:0], x.byToken)
	x.nameVocabulary = x.sortedTokens(x.nameVocabulary[:0], x.byNameToken)
	x.vocabularyDirt = false
}

// sortedTokens appends to dst the numbers of the tokens with postings, sorted by text.
func (x *Index) sortedTokens(dst []uint32, postings []*roaring.Bitmap) []uint32 {
	for n, b := range postings {
		if b != nil {
			dst = append(dst, uint32(n))
		}
	}
	slices.SortFunc(dst, func(a, b uint32) int { return strings.Compare(x.tokenText[a], x.tokenText[b]) })
	return dst
}

// numbers returns the numbers of tokens, numbering new ones.
func (x *Index) numbers(tokens []string) []uint32 {
	out := make([]uint32, len(tokens))
	for i, t := range tokens {
		n, ok := x.tokenNumber[t]
		if !ok {
			n = uint32(len(x.tokenText))
			x.tokenNumber[t] = n
			x.tokenText = append(x.tokenText, t)
			x.byToken = append(x.byToken, nil)
			x.byNameToken = append(x.byNameToken, nil)
		}
		out[i] = n
	}
	return out
}

// addToken adds ord to postings[n], reporting whether the list was empty.
func addToken(postings []*roaring.Bitmap, n, ord uint32) bool {
	if postings[n] == nil {
		postings[n] = roaring.BitmapOf(ord)
		return true
	}
	postings[n].Add(ord)
	return false
}

// delToken removes ord from postings[n], reporting whether the list went empty.
func delToken(postings []*roaring.Bitmap, n, ord uint32) bool {
	b := postings[n]
	if b == nil {
		return false
	}
	b.Remove(ord)
	if b.IsEmpty() {
		postings[n] = nil
		return true
	}
	return false
}

func add(m map[string]*roaring.Bitmap, key string, ord uint32) {
	b := m[key]
	if b == nil {
		b = roaring.New()
		m[key] = b
	}
	b.Add(ord)
}

// del removes ord from m[key] and reports whether the key went away.
func del(m map[string]*roaring.Bitmap, key string, ord uint32) bool {
	b := m[key]
	if b == nil {
		return false
	}
	b.Remove(ord)
	if b.IsEmpty() {
		delete(m, key)
		return true
	}
	return false
}

func (x *Index) putService(m *directoryv1.Service) error {
	page, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode service: %w", err)
	}
	id := m.GetId()
	ord, ok := x.ords[id]
	if ok {
		x.unindexService(ord)
	} else {
		ord = uint32(len(x.services))
		x.services = append(x.services, nil)
		x.fallback = append(x.fallback, nameKey{})
		x.munOf = append(x.munOf, noMunicipality)
		x.termOf = append(x.termOf, 0)
		for loc := range x.keys {
			x.keys[loc] = append(x.keys[loc], nameKey{})
		}
		x.ords[id] = ord
	}
	name := m.GetName()
	s := &service{
		id:     id,
		page:   page,
		active: m.GetStatus() != "inactive" && m.GetStatus() != "defunct",
		names:  x.numbers(x.analyzer.Tokens(texts(nil, name)...)),
		tokens: x.numbers(x.analyzer.Tokens(texts(nil, name, m.GetDescription(), m.GetEligibility(), m.GetInterpretationServices())...)),
		terms:  x.internList(slices.Compact(slices.Sorted(slices.Values(m.GetTaxonomyTermIds())))),
		langs:  x.internList(m.GetLanguages()),
		groups: x.internList(m.GetTargetGroups()),
		scheds: protoSchedules(m.GetSchedules()),
	}
	s.locales = x.internList(slices.Sorted(maps.Keys(name)))
	x.termOf[ord] = x.packTerms(s.terms)
	for _, loc := range s.locales {
		if x.keys[loc] == nil {
			x.keys[loc] = make([]nameKey, len(x.services))
		}
		x.keys[loc][ord] = newNameKey(SortKey(name[loc]))
	}
	if _, ok := name["it"]; ok {
		x.fallback[ord] = x.keys["it"][ord]
	} else if len(s.locales) > 0 {
		x.fallback[ord] = x.keys[s.locales[0]][ord]
	}
	x.unrank(ord)
	for _, sal := range m.GetServiceAtLocations() {
		s.places = append(s.places, place{location: x.intern(sal.GetLocationId()), scheds: protoSchedules(sal.GetSchedules())})
	}
	x.services[ord] = s
	if s.active {
		x.active.Add(ord)
	} else {
		x.inactive.Add(ord)
	}
	for _, l := range x.tokenLists(s) {
		for _, t := range l.tokens {
			if addToken(l.postings, t, ord) {
				x.vocabularyDirt = true
			}
		}
	}
	for _, l := range x.keyedLists(s) {
		for _, k := range l.keys {
			add(l.postings, k, ord)
		}
	}
	x.placeService(ord)
	return nil
}

// tokenList is a posting list by token number and the tokens a service has in it.
type tokenList struct {
	postings []*roaring.Bitmap
	tokens   []uint32
}

// tokenLists are the token posting lists a service is in: indexing and unindexing go
// through the same list.
func (x *Index) tokenLists(s *service) []tokenList {
	return []tokenList{{x.byToken, s.tokens}, {x.byNameToken, s.names}}
}

// keyedList is a posting list by key and the keys a service has in it.
type keyedList struct {
	postings map[string]*roaring.Bitmap
	keys     []string
}

// keyedLists are the keyed posting lists of a service's own fields.
func (x *Index) keyedLists(s *service) []keyedList {
	locations := make([]string, len(s.places))
	for i, p := range s.places {
		locations[i] = p.location
	}
	return []keyedList{{x.byTerm, s.terms}, {x.byLanguage, s.langs}, {x.byGroup, s.groups}, {x.byLocation, locations}}
}

// territoryLists are the keyed posting lists of a service's places' territories.
func (x *Index) territoryLists(s *service) []keyedList {
	return []keyedList{{x.byMunicipality, s.municipalities}, {x.byProvince, s.provinces}, {x.byRegion, s.regions}}
}

// unindexService removes the service's ordinal from every posting list.
func (x *Index) unindexService(ord uint32) {
	s := x.services[ord]
	if s == nil {
		return
	}
	x.renderedBytes.Add(-s.renderedSize()) // searches, which add renderings, hold the read lock
	x.active.Remove(ord)
	x.inactive.Remove(ord)
	for _, l := range x.tokenLists(s) {
		for _, t := range l.tokens {
			if delToken(l.postings, t, ord) {
				x.vocabularyDirt = true
			}
		}
	}
	for _, loc := range s.locales {
		x.keys[loc][ord] = nameKey{}
	}
	x.fallback[ord] = nameKey{}
	for _, l := range x.keyedLists(s) {
		for _, k := range l.keys {
			del(l.postings, k, ord)
		}
	}
	x.unplaceService(ord)
}

// placeService indexes the territories of the service's located places.
func (x *Index) placeService(ord uint32) {
	s := x.services[ord]
	s.municipalities, s.provinces, s.regions = nil, nil, nil
	for _, p := range s.places {
		l := x.locations[p.location]
		if l == nil || l.municipality == "" {
			continue
		}
		s.municipalities = append(s.municipalities, l.municipality)
		s.provinces = append(s.provinces, l.province)
		s.regions = append(s.regions, l.region)
	}
	for _, list := range []*[]string{&s.municipalities, &s.provinces, &s.regions} {
		slices.Sort(*list)
		*list = x.internList(slices.Compact(*list))
	}
	for _, l := range x.territoryLists(s) {
		for _, k := range l.keys {
			add(l.postings, k, ord)
		}
	}
	for _, m := range s.municipalities {
		x.muns.number(m)
	}
	x.munOf[ord] = noMunicipality
	switch len(s.municipalities) {
	case 0:
	case 1:
		x.munOf[ord] = x.muns.number(s.municipalities[0])
	default:
		x.munOf[ord] = manyMunicipalities
	}
}

// intern returns the index's copy of s.
func (x *Index) intern(s string) string {
	if c, ok := x.strs[s]; ok {
		return c
	}
	x.strs[s] = s
	return s
}

// internList returns the index's one copy of a list of strings (of interned strings),
// nil for an empty one: services repeat the same few lists of languages, groups, locales,
// terms and territories, and the garbage collector visits each copy. Lists it returns
// are shared: never modify them.
func (x *Index) internList(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	key := strings.Join(ss, "\x00")
	if l, ok := x.lists[key]; ok {
		return l
	}
	l := make([]string, len(ss))
	for i, s := range ss {
		l[i] = x.intern(s)
	}
	x.lists[key] = l
	return l
}

// manyTerms is the termOf value of a service with more terms than its slots.
const manyTerms = ^uint64(0)

// packTerms returns the termOf value of a service's terms, numbering new ones.
func (x *Index) packTerms(terms []string) uint64 {
	var v uint64
	for i, t := range terms {
		n := x.termNums.number(t) // every term gets its number, packed or not
		if i >= 4 || n > 0xFFFF {
			v = manyTerms
		} else if v != manyTerms {
			v |= uint64(n) << (16 * i)
		}
	}
	return v
}

// numbering gives strings dense numbers, in the order they are first seen.
type numbering struct {
	numbers map[string]int32
	values  []string // by number
}

// number returns the number of v, assigning the next one if v is new.
func (n *numbering) number(v string) int32 {
	num, ok := n.numbers[v]
	if !ok {
		if n.numbers == nil {
			n.numbers = map[string]int32{}
		}
		num = int32(len(n.values))
		n.numbers[v] = num
		n.values = append(n.values, v)
	}
	return num
}

func (x *Index) unplaceService(ord uint32) {
	s := x.services[ord]
	x.munOf[ord] = noMunicipality
	for _, l := range x.territoryLists(s) {
		for _, k := range l.keys {
			del(l.postings, k, ord)
		}
	}
}

// replace re-indexes the territories of the services at a location that changed.
func (x *Index) replace(locationID string) {
	b := x.byLocation[locationID]
	if b == nil {
		return
	}
	for it := b.Iterator(); it.HasNext(); {
		ord := it.Next()
		x.unplaceService(ord)
		x.placeService(ord)
	}
}

func (x *Index) putLocation(d *locationDoc) {
	if old := x.locations[d.ID]; old != nil {
		x.ungrid(old)
	}
	l := &location{id: d.ID, municipality: d.MunicipalityCode, scheds: schedules(d.Schedules)}
	if m, ok := x.catalog.Municipality(d.MunicipalityCode); ok {
		l.province, l.region = m.ProvinceCode, m.RegionCode
	}
	if d.Latitude != nil && d.Longitude != nil {
		l.located, l.lat, l.lon = true, *d.Latitude, *d.Longitude
		c := cellOf(l.lat, l.lon)
		x.grid[c] = append(x.grid[c], l)
	}
	x.locations[d.ID] = l
	x.replace(d.ID)
}

func (x *Index) ungrid(l *location) {
	if !l.located {
		return
	}
	c := cellOf(l.lat, l.lon)
	x.grid[c] = slices.DeleteFunc(x.grid[c], func(g *location) bool { return g == l })
	if len(x.grid[c]) == 0 {
		delete(x.grid, c)
	}
}

func (x *Index) putTerm(d *termDoc) {
	if old := x.terms[d.ID]; old != nil {
		x.children[old.parent] = slices.DeleteFunc(x.children[old.parent], func(c string) bool { return c == d.ID })
	}
	x.terms[d.ID] = &term{id: d.ID, parent: d.ParentID, names: d.Name, tokens: x.analyzer.Tokens(texts([]string{d.Code}, d.Name)...)}
	x.children[d.ParentID] = append(x.children[d.ParentID], d.ID)
}
