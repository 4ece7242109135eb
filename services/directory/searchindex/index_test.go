package searchindex_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/directory/searchindex"
	"github.com/ponte-network/ponte/services/directory/store"
	pgstore "github.com/ponte-network/ponte/services/directory/store/postgres"
	litestore "github.com/ponte-network/ponte/services/directory/store/sqlite"
)

// stores opens one empty store of each kind: every test runs on both, so that their
// answers are the same.
var stores = map[string]func(t *testing.T) store.Store{
	"sqlite":   func(t *testing.T) store.Store { return openSQLite(t, filepath.Join(t.TempDir(), "directory.db")) },
	"postgres": func(t *testing.T) store.Store { return openPostgres(t, pgtest.NewDatabase(t)) },
}

// openSQLite opens (another handle on) the embedded store in a file, closed at cleanup.
func openSQLite(t *testing.T, path string) store.Store {
	t.Helper()
	s, err := litestore.Open(context.Background(), litestore.Config(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openPostgres opens (another handle on) the PostgreSQL store of a database, closed at cleanup.
func openPostgres(t *testing.T, url string) store.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), pgstore.Config(url))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func catalog(t *testing.T) *territory.Catalog {
	t.Helper()
	c, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func record(t *testing.T, kind store.Kind, id, owner string, m proto.Message) store.Record {
	t.Helper()
	doc, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return store.Record{Kind: kind, ID: id, OrganizationID: owner, Doc: doc}
}

func it(s string) map[string]string { return map[string]string{"it": s} }

func weekly(day directoryv1.Weekday, opens, closes string) *directoryv1.Schedule {
	return &directoryv1.Schedule{Weekday: day, OpensAt: opens, ClosesAt: closes}
}

// fixture writes a small directory: three places in Lombardy and one in Veneto, a
// language school, a health clinic, an online service without places.
func fixture(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	f64 := func(v float64) *float64 { return &v }
	rs := []store.Record{
		record(t, store.KindOrganization, "org", "org", &directoryv1.Organization{Id: "org", Name: it("Rete")}),
		record(t, store.KindLocation, "crema", "org", &directoryv1.Location{Id: "crema", MunicipalityCode: "019035", Latitude: f64(45.3627), Longitude: f64(9.6843)}),
		record(t, store.KindLocation, "cremona", "org", &directoryv1.Location{Id: "cremona", MunicipalityCode: "019036", Latitude: f64(45.1336), Longitude: f64(10.0247),
			Schedules: []*directoryv1.Schedule{weekly(directoryv1.Weekday_WEEKDAY_TUESDAY, "14:00", "18:00")}}),
		record(t, store.KindLocation, "sona", "org", &directoryv1.Location{Id: "sona", MunicipalityCode: "023083"}),
		record(t, store.KindTaxonomyTerm, "lang", "", &directoryv1.TaxonomyTerm{Id: "lang", Name: map[string]string{"it": "Lingua", "en": "Language"}}),
		record(t, store.KindTaxonomyTerm, "l2", "", &directoryv1.TaxonomyTerm{Id: "l2", ParentId: "lang", Name: map[string]string{
			"it": "Corsi di italiano L2", "en": "Italian language courses", "fr": "Cours d’italien", "ar": "دورات اللغة الإيطالية"}}),
		record(t, store.KindTaxonomyTerm, "health", "", &directoryv1.TaxonomyTerm{Id: "health", Name: map[string]string{"it": "Salute", "en": "Health", "fr": "Santé"}}),
		record(t, store.KindService, "s-l2-crema", "org", &directoryv1.Service{Id: "s-l2-crema", Name: map[string]string{"it": "Scuola di italiano per adulti", "en": "Italian school for adults"},
			Languages: []string{"it", "ar"}, TargetGroups: []string{"adults"}, TaxonomyTermIds: []string{"l2"},
			Schedules:          []*directoryv1.Schedule{weekly(directoryv1.Weekday_WEEKDAY_MONDAY, "09:00", "12:00")},
			ServiceAtLocations: []*directoryv1.ServiceAtLocation{{LocationId: "crema"}}}),
		record(t, store.KindService, "s-l2-sona", "org", &directoryv1.Service{Id: "s-l2-sona", Name: it("Italiano per donne 100%"),
			Description: it("Corso per donne adulte con spazio bimbi"),
			Languages:   []string{"it", "uk"}, TargetGroups: []string{"women", "adults"}, TaxonomyTermIds: []string{"l2"},
			ServiceAtLocations: []*directoryv1.ServiceAtLocation{{LocationId: "sona",
				Schedules: []*directoryv1.Schedule{weekly(directoryv1.Weekday_WEEKDAY_MONDAY, "15:00", "17:00")}}}}),
		record(t, store.KindService, "s-clinic", "org", &directoryv1.Service{Id: "s-clinic", Name: map[string]string{"it": "Ambulatorio STP", "ar": "عيادة"},
			Description: it("Visite mediche per persone senza permesso di soggiorno"),
			Languages:   []string{"it", "en", "fr"}, TargetGroups: []string{"people-without-residence-permit"}, TaxonomyTermIds: []string{"health"},
			ServiceAtLocations: []*directoryv1.ServiceAtLocation{{LocationId: "cremona"}, {LocationId: "sona"}}}),
		record(t, store.KindService, "s-nowhere", "org", &directoryv1.Service{Id: "s-nowhere", Name: map[string]string{"en": "Online advice"},
			Languages: []string{"en"}}),
		record(t, store.KindService, "s-closed", "org", &directoryv1.Service{Id: "s-closed", Name: it("Corso di italiano chiuso"), Status: "defunct",
			TaxonomyTermIds: []string{"l2"}, ServiceAtLocations: []*directoryv1.ServiceAtLocation{{LocationId: "crema"}}}),
	}
	for _, r := range rs {
		if _, err := s.CreateRecord(ctx, r); err != nil {
			t.Fatalf("create %s %s: %v", r.Kind, r.ID, err)
		}
	}
}

func hitIDs(r searchindex.Result) []string {
	out := []string{}
	for _, h := range r.Hits {
		out = append(out, h.ID)
	}
	return out
}

func TestSearch(t *testing.T) {
	t.Parallel()
	monday10 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)    // 11:00 in Rome
	tuesday15 := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)   // 16:00 in Rome
	monday1530 := time.Date(2026, 11, 23, 14, 30, 0, 0, time.UTC) // 15:30 in Rome
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			fixture(t, s)
			x := searchindex.New(s, catalog(t))
			if err := x.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			q := func(text string) searchindex.Query {
				toks, has := x.Analyzer().Query(text)
				return searchindex.Query{Tokens: toks, NoMatch: has && len(toks) == 0}
			}
			with := func(base searchindex.Query, edit func(*searchindex.Query)) searchindex.Query {
				edit(&base)
				return base
			}
			crema := searchindex.Point{Lat: 45.36, Lon: 9.68}
			tests := []struct {
				name  string
				query searchindex.Query
				want  []string
			}{
				{"no filter finds every active service, by name", searchindex.Query{}, []string{"s-clinic", "s-l2-sona", "s-nowhere", "s-l2-crema"}},
				{"a word of the service's own text", q("ambulatorio"), []string{"s-clinic"}},
				{"Italian stemming: a plural finds the singular", q("corsi"), []string{"s-l2-sona", "s-l2-crema"}},
				{"a word of a term label in another language", q("cours d'italien"), []string{"s-l2-sona", "s-l2-crema"}},
				{"an Arabic term label", q("اللغة الإيطالية"), []string{"s-l2-sona", "s-l2-crema"}},
				{"accents and case do not matter", q("SANTÉ"), []string{"s-clinic"}},
				{"every word must match, in the text or the labels", q("italian donne"), []string{"s-l2-sona"}},
				{"a word's beginning matches", q("ital"), []string{"s-l2-sona", "s-l2-crema"}},
				{"names holding every word rank first", q("adulti"), []string{"s-l2-crema", "s-l2-sona"}},
				{"names holding every one of several words rank first", q("italiano adulti"), []string{"s-l2-crema", "s-l2-sona"}},
				{"a word in no name leaves the order by name", q("corsi adulti"), []string{"s-l2-sona", "s-l2-crema"}},
				{"punctuation is not a word", q("100%"), []string{"s-l2-sona"}},
				{"only stop words match nothing", q("di per il"), []string{}},
				{"an unknown word matches nothing", q("zzzz"), []string{}},
				{"a taxonomy term", searchindex.Query{Terms: []string{"health"}}, []string{"s-clinic"}},
				{"a term includes its descendants", searchindex.Query{Terms: []string{"lang"}}, []string{"s-l2-sona", "s-l2-crema"}},
				{"a municipality", searchindex.Query{Territory: true, Municipalities: []string{"019035"}}, []string{"s-l2-crema"}},
				{"a province includes its municipalities", searchindex.Query{Territory: true, Provinces: []string{"019"}}, []string{"s-clinic", "s-l2-crema"}},
				{"a region includes its provinces", searchindex.Query{Territory: true, Regions: []string{"05"}}, []string{"s-clinic", "s-l2-sona"}},
				{"a territory without municipalities matches nothing", searchindex.Query{Territory: true}, []string{}},
				{"a language spoken, exactly", searchindex.Query{Language: "uk"}, []string{"s-l2-sona"}},
				{"a language is not a prefix match", searchindex.Query{Language: "u"}, []string{}},
				{"a target group", searchindex.Query{TargetGroup: "adults"}, []string{"s-l2-sona", "s-l2-crema"}},
				{"open at: the service's own schedule", searchindex.Query{OpenAt: monday10}, []string{"s-l2-crema"}},
				{"open at: the service-at-location's schedule wins", searchindex.Query{OpenAt: monday1530}, []string{"s-l2-sona"}},
				{"open at: the location's schedule last", searchindex.Query{OpenAt: tuesday15}, []string{"s-clinic"}},
				{"near: by distance", searchindex.Query{Near: &crema, RadiusKM: 50}, []string{"s-l2-crema", "s-clinic"}},
				{"near: outside the radius", searchindex.Query{Near: &crema, RadiusKM: 5}, []string{"s-l2-crema"}},
				{"filters combine", with(q("italiano"), func(q *searchindex.Query) {
					q.Territory, q.Regions, q.Language, q.TargetGroup, q.Terms = true, []string{"03"}, "ar", "adults", []string{"l2"}
				}), []string{"s-l2-crema"}},
				{"the locale orders names", searchindex.Query{Locale: "ar", Terms: []string{"health", "l2"}}, []string{"s-l2-sona", "s-l2-crema", "s-clinic"}},
				{"paging", searchindex.Query{Offset: 1, Limit: 2}, []string{"s-l2-sona", "s-nowhere"}},
			}
			for _, tt := range tests {
				got := x.Search(tt.query)
				if !reflect.DeepEqual(hitIDs(got), tt.want) {
					t.Errorf("%s: Search = %v, want %v", tt.name, hitIDs(got), tt.want)
				}
				if tt.query.Limit == 0 && got.Total != len(tt.want) {
					t.Errorf("%s: Total = %d, want %d", tt.name, got.Total, len(tt.want))
				}
			}

			near := x.Search(searchindex.Query{Near: &crema, RadiusKM: 50})
			if h := near.Hits[1]; h.NearestLocation != "cremona" || h.DistanceKM < 35 || h.DistanceKM > 38 {
				t.Errorf("nearest place of the clinic = %+v, want cremona at about 36.5 km", h)
			}
			facets := []struct {
				size                  int
				terms, municipalities []searchindex.Facet
			}{
				{0, []searchindex.Facet{{"l2", 2}, {"health", 1}}, []searchindex.Facet{{"023083", 2}, {"019035", 1}, {"019036", 1}}},
				{2, []searchindex.Facet{{"l2", 2}, {"health", 1}}, []searchindex.Facet{{"023083", 2}, {"019035", 1}}},
				{1, []searchindex.Facet{{"l2", 2}}, []searchindex.Facet{{"023083", 2}}},
			}
			for _, f := range facets {
				all := x.Search(searchindex.Query{FacetSize: f.size})
				if !reflect.DeepEqual(all.TermFacets, f.terms) || !reflect.DeepEqual(all.MunicipalityFacets, f.municipalities) {
					t.Errorf("facets of %d = %v, %v; want %v, %v", f.size, all.TermFacets, all.MunicipalityFacets, f.terms, f.municipalities)
				}
			}
		})
	}
}

// TestSyncFollowsWrites checks that every kind of write after the build is seen by the
// next Sync: a new service, a changed one, a moved location, a renamed term, a deletion.
func TestSyncFollowsWrites(t *testing.T) {
	t.Parallel()
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := open(t)
			fixture(t, s)
			x := searchindex.New(s, catalog(t))
			if err := x.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			search := func(q searchindex.Query) []string {
				t.Helper()
				if err := x.Sync(ctx); err != nil {
					t.Fatal(err)
				}
				return hitIDs(x.Search(q))
			}
			update := func(r store.Record) {
				t.Helper()
				if _, err := s.UpdateRecord(ctx, r, ""); err != nil {
					t.Fatal(err)
				}
			}
			text := func(s string) searchindex.Query {
				toks, _ := x.Analyzer().Query(s)
				return searchindex.Query{Tokens: toks}
			}

			if _, err := s.CreateRecord(ctx, record(t, store.KindService, "s-new", "org", &directoryv1.Service{Id: "s-new", Name: it("Sportello casa e cassa"),
				ServiceAtLocations: []*directoryv1.ServiceAtLocation{{LocationId: "crema"}}})); err != nil {
				t.Fatal(err)
			}
			if got := search(text("sportello")); !reflect.DeepEqual(got, []string{"s-new"}) {
				t.Errorf("a created service: %v", got)
			}
			if got := search(text("cas")); !reflect.DeepEqual(got, []string{"s-new"}) { // the union of two words, now memoized
				t.Errorf("a created service's words: %v", got)
			}

			update(record(t, store.KindService, "s-new", "org", &directoryv1.Service{Id: "s-new", Name: it("Sportello lavoro"),
				ServiceAtLocations: []*directoryv1.ServiceAtLocation{{LocationId: "crema"}}}))
			if got := search(text("casa")); len(got) != 0 {
				t.Errorf("a service's old words still match: %v", got)
			}
			if got := search(text("cas")); len(got) != 0 {
				t.Errorf("a service's old words still match as a prefix: %v", got)
			}
			if got := search(text("lavoro")); !reflect.DeepEqual(got, []string{"s-new"}) {
				t.Errorf("a service's new words: %v", got)
			}

			f64 := func(v float64) *float64 { return &v }
			update(record(t, store.KindLocation, "crema", "org", &directoryv1.Location{Id: "crema", MunicipalityCode: "023083", Latitude: f64(45.43), Longitude: f64(10.83)}))
			if got := search(searchindex.Query{Territory: true, Provinces: []string{"019"}}); !reflect.DeepEqual(got, []string{"s-clinic"}) {
				t.Errorf("services of a location moved out of the province: %v", got)
			}
			crema := searchindex.Point{Lat: 45.36, Lon: 9.68}
			if got := search(searchindex.Query{Near: &crema, RadiusKM: 5}); len(got) != 0 {
				t.Errorf("a moved location is still near its old place: %v", got)
			}

			update(record(t, store.KindTaxonomyTerm, "health", "", &directoryv1.TaxonomyTerm{Id: "health", Name: it("Sanità")}))
			if got := search(text("sanita")); !reflect.DeepEqual(got, []string{"s-clinic"}) {
				t.Errorf("a renamed term's label: %v", got)
			}
			if got := search(text("salute")); len(got) != 0 {
				t.Errorf("a renamed term's old label still matches: %v", got)
			}

			update(record(t, store.KindService, "s-clinic", "org", &directoryv1.Service{Id: "s-clinic", Name: it("Ambulatorio STP"), Status: "inactive"}))
			if got := search(text("ambulatorio")); len(got) != 0 {
				t.Errorf("an inactive service is found: %v", got)
			}

			if err := s.DeleteRecord(ctx, store.KindService, "s-new", ""); err != nil {
				t.Fatal(err)
			}
			if got := search(text("lavoro")); len(got) != 0 {
				t.Errorf("a deleted service is found: %v", got)
			}

			// A second index built now gives the same answers as the one that followed.
			fresh := searchindex.New(s, catalog(t))
			if err := fresh.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			for _, q := range []searchindex.Query{{}, text("italiano"), {Territory: true, Regions: []string{"05"}}, text("sanita")} {
				if a, b := hitIDs(x.Search(q)), hitIDs(fresh.Search(q)); !reflect.DeepEqual(a, b) {
					t.Errorf("followed index %v, fresh index %v", a, b)
				}
			}
			// Both return each service as the store holds it, with its etag and times:
			// the followed index from change-log payloads, the fresh one from records.
			for name, idx := range map[string]*searchindex.Index{"followed": x, "fresh": fresh} {
				for _, h := range idx.Search(searchindex.Query{}).Hits {
					var got directoryv1.Service
					if err := proto.Unmarshal(h.Service, &got); err != nil {
						t.Fatalf("%s index: %s: %v", name, h.ID, err)
					}
					rs, err := s.GetRecords(ctx, store.KindService, []string{h.ID})
					if err != nil || len(rs) != 1 {
						t.Fatalf("GetRecords(%s) = %d, %v", h.ID, len(rs), err)
					}
					r := rs[0]
					if got.GetId() != h.ID || got.GetEtag() != r.Etag || !got.GetUpdateTime().AsTime().Equal(r.UpdateTime) ||
						!got.GetCreateTime().AsTime().Equal(r.CreateTime) || got.GetOrigin() != r.Origin {
						t.Errorf("%s index: %s = id %s, etag %s, times %v %v; store: etag %s, times %v %v", name, h.ID, got.GetId(), got.GetEtag(),
							got.GetCreateTime().AsTime(), got.GetUpdateTime().AsTime(), r.Etag, r.CreateTime, r.UpdateTime)
					}
				}
			}
		})
	}
}

// TestSyncFollowsOtherProcesses checks that a write through another handle on the same
// database (as from another replica or process, which this process's commit signals do
// not cover) reaches the index's searches: on PostgreSQL by LISTEN/NOTIFY, on both within
// the index's bound on lag.
func TestSyncFollowsOtherProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pairs := map[string]func(t *testing.T) (reader, writer store.Store){
		"sqlite": func(t *testing.T) (store.Store, store.Store) {
			path := filepath.Join(t.TempDir(), "directory.db")
			return openSQLite(t, path), openSQLite(t, path)
		},
		"postgres": func(t *testing.T) (store.Store, store.Store) {
			url := pgtest.NewDatabase(t)
			return openPostgres(t, url), openPostgres(t, url)
		},
	}
	for name, pair := range pairs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reader, writer := pair(t)
			fixture(t, reader)
			x := searchindex.New(reader, catalog(t))
			if err := x.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			toks, _ := x.Analyzer().Query("sportello")
			if _, err := writer.CreateRecord(ctx, record(t, store.KindService, "s-other", "org", &directoryv1.Service{Id: "s-other", Name: it("Sportello casa")})); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if err := x.Sync(ctx); err != nil {
					t.Fatal(err)
				}
				got := hitIDs(x.Search(searchindex.Query{Tokens: toks}))
				if reflect.DeepEqual(got, []string{"s-other"}) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("another process's new service is not found after 5s: %v", got)
				}
			}
		})
	}
}

func TestAnalyzer(t *testing.T) {
	t.Parallel()
	a := searchindex.NewAnalyzer()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"stop words and elisions go, the rest is stemmed", "Cours d’Italien, corso di ITALIANO", []string{"cors", "cours", "ital", "italien"}},
		{"accents fold", "Città caffè CAFÉ", []string{"caf", "caff", "citt"}},
		{"ideographs are one token each", "意大利语课程", []string{"利", "大", "意", "程", "语", "课"}},
		{"Arabic words are kept", "دورة اللغة", []string{"اللغة", "دورة"}},
		{"digits count", "L2 A1 2", []string{"2", "a1", "l2"}},
	}
	for _, tt := range tests {
		if got := a.Tokens(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Tokens(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
	if toks, has := a.Query("di per il"); len(toks) != 0 || !has {
		t.Errorf("Query of stop words = %v, %v; want no tokens but words", toks, has)
	}
	if toks, has := a.Query("  ,; "); len(toks) != 0 || has {
		t.Errorf("Query of punctuation = %v, %v; want neither", toks, has)
	}
}

// TestRenderedPagesFollowTheirService checks that a search asking for renderings gets
// each hit's page, localized or not, through the renderer, also once kept and after the
// service changes; and that a search not asking gets none.
func TestRenderedPagesFollowTheirService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "directory.db"))
	fixture(t, s)
	decode := func(page []byte) *directoryv1.Service {
		t.Helper()
		m := &directoryv1.Service{}
		if err := proto.Unmarshal(page, m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	localizer := func(page []byte, locale string) ([]byte, error) { // the name in locale, else Italian
		m := decode(page)
		name, ok := m.GetName()[locale]
		if !ok {
			locale, name = "it", m.GetName()["it"]
		}
		m.Name = map[string]string{locale: name}
		return proto.Marshal(m)
	}
	renderings := 0
	renderer := func(page []byte) ([]byte, error) {
		renderings++ // searches in this test run one at a time
		return protojson.Marshal(decode(page))
	}
	x := searchindex.New(s, catalog(t), searchindex.WithLocalizer(localizer), searchindex.WithRenderer(renderer))
	search := func(q searchindex.Query) []searchindex.Hit {
		t.Helper()
		if err := x.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		return x.Search(q).Hits
	}
	check := func(when string, q searchindex.Query, wantName map[string]string) {
		t.Helper()
		hits := search(q)
		if len(hits) != 1 {
			t.Fatalf("%s: %d hits, want 1", when, len(hits))
		}
		var got directoryv1.Service
		if err := protojson.Unmarshal(hits[0].Rendered, &got); err != nil {
			t.Fatalf("%s: rendering %q: %v", when, hits[0].Rendered, err)
		}
		if !proto.Equal(&got, decode(hits[0].Service)) || !reflect.DeepEqual(got.GetName(), wantName) {
			t.Errorf("%s: rendered %v, page %v, want the page with name %v", when, &got, decode(hits[0].Service), wantName)
		}
	}
	clinic := searchindex.Query{Territory: true, Municipalities: []string{"019036"}, Render: true}
	arabic := clinic
	arabic.Locale = "ar"

	check("every translation", clinic, map[string]string{"it": "Ambulatorio STP", "ar": "عيادة"})
	check("in Arabic", arabic, map[string]string{"ar": "عيادة"})
	before := renderings
	check("in Arabic again", arabic, map[string]string{"ar": "عيادة"})
	check("every translation again", clinic, map[string]string{"it": "Ambulatorio STP", "ar": "عيادة"})
	if renderings != before {
		t.Errorf("searches repeated rendered %d pages again, want the kept ones", renderings-before)
	}

	if _, err := s.UpdateRecord(ctx, record(t, store.KindService, "s-clinic", "org", &directoryv1.Service{Id: "s-clinic",
		Name: map[string]string{"it": "Ambulatorio ISI", "ar": "عيادة الصحة"}, TaxonomyTermIds: []string{"health"},
		ServiceAtLocations: []*directoryv1.ServiceAtLocation{{LocationId: "cremona"}}}), ""); err != nil {
		t.Fatal(err)
	}
	check("after an update", clinic, map[string]string{"it": "Ambulatorio ISI", "ar": "عيادة الصحة"})
	check("in Arabic after an update", arabic, map[string]string{"ar": "عيادة الصحة"})

	plain := clinic
	plain.Render = false
	if hits := search(plain); len(hits) != 1 {
		t.Errorf("a search not asking for renderings: %d hits, want 1", len(hits))
	} else if hits[0].Rendered != nil {
		t.Errorf("a search not asking for renderings got one: %q", hits[0].Rendered)
	}
}

// TestConcurrentSearchesAndWrites runs searches that fill the index's shared caches
// (memoized word lists, localized and rendered pages) while services change: under the
// race detector (make test) it checks their synchronization, and every hit's rendering
// must be of the very page the hit returns.
func TestConcurrentSearchesAndWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "directory.db"))
	fixture(t, s)
	localizer := func(page []byte, locale string) ([]byte, error) {
		m := &directoryv1.Service{}
		if err := proto.Unmarshal(page, m); err != nil {
			return nil, err
		}
		if name, ok := m.GetName()[locale]; ok {
			m.Name = map[string]string{locale: name}
		}
		return proto.Marshal(m)
	}
	x := searchindex.New(s, catalog(t), searchindex.WithLocalizer(localizer), searchindex.WithRenderer(func(page []byte) ([]byte, error) {
		return append([]byte(nil), page...), nil // a rendering that shows which page it was made from
	}))
	if err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	toks := func(q string) []string {
		tt, _ := x.Analyzer().Query(q)
		return tt
	}
	queries := []searchindex.Query{
		{Tokens: toks("ital"), Render: true},
		{Tokens: toks("italiano adulti"), Locale: "en", Render: true},
		{Tokens: toks("ambulatorio"), Locale: "ar", Render: true},
		{Territory: true, Provinces: []string{"019"}, Locale: "it", Render: true},
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := x.Sync(ctx); err != nil {
					failures.Add(1)
					return
				}
				for _, h := range x.Search(queries[i%len(queries)]).Hits {
					if h.Rendered != nil && !bytes.Equal(h.Rendered, h.Service) {
						failures.Add(1)
					}
				}
			}
		})
	}
	for i := range 20 {
		name := map[string]string{"it": fmt.Sprintf("Ambulatorio STP %d", i), "ar": "عيادة", "en": "Clinic"}
		if _, err := s.UpdateRecord(ctx, record(t, store.KindService, "s-clinic", "org", &directoryv1.Service{Id: "s-clinic", Name: name,
			TaxonomyTermIds: []string{"health"}, ServiceAtLocations: []*directoryv1.ServiceAtLocation{{LocationId: "cremona"}}}), ""); err != nil {
			t.Error(err)
			break
		}
	}
	close(stop)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d searches failed or returned a rendering of another page", n)
	}
}
