package searchindex

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/textfold"
)

func TestOpenAt(t *testing.T) {
	t.Parallel()
	weekly := func(day directoryv1.Weekday, opens, closes string) *directoryv1.Schedule {
		return &directoryv1.Schedule{Weekday: day, OpensAt: opens, ClosesAt: closes}
	}
	scheds := schedulesOf([]*directoryv1.Schedule{
		weekly(directoryv1.Weekday_WEEKDAY_MONDAY, "09:00", "12:30"),
		weekly(directoryv1.Weekday_WEEKDAY_SUNDAY, "20:00", "24:00"),
		{Weekday: directoryv1.Weekday_WEEKDAY_TUESDAY, OpensAt: "09:00", ClosesAt: "12:00", ValidFrom: "2026-01-01", ValidTo: "2026-06-30"},
		{ExceptionDate: "2026-12-07", Closed: true},
		{ExceptionDate: "2026-12-14", OpensAt: "15:00", ClosesAt: "16:00"},
	})
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name string
		at   string
		want bool
	}{
		{"open on a Monday morning, Rome time", "2026-11-23T09:30:00+01:00", true},
		{"the same instant in UTC", "2026-11-23T08:30:00Z", true},
		{"closed at closing time", "2026-11-23T12:30:00+01:00", false},
		{"open at opening time", "2026-11-23T09:00:00+01:00", true},
		{"summer time is honoured", "2026-06-29T07:15:00Z", true},
		{"closed on a Monday evening", "2026-11-23T18:00:00+01:00", false},
		{"open until midnight on Sunday", "2026-11-22T23:59:00+01:00", true},
		{"an opening within its validity", "2026-03-03T10:00:00+01:00", true},
		{"an opening past its validity", "2026-11-24T10:00:00+01:00", false},
		{"an exception closes a Monday", "2026-12-07T10:00:00+01:00", false},
		{"an exception replaces a Monday's hours", "2026-12-14T10:00:00+01:00", false},
		{"an exception's own hours are open", "2026-12-14T15:30:00+01:00", true},
	}
	for _, tt := range tests {
		if got := OpenAt(scheds, at(tt.at)); got != tt.want {
			t.Errorf("%s: OpenAt(%s) = %v, want %v", tt.name, tt.at, got, tt.want)
		}
	}
	if OpenAt(nil, at("2026-11-23T10:00:00+01:00")) {
		t.Error("no schedules must not count as open")
	}
}
func TestDistance(t *testing.T) {
	t.Parallel()
	// Crema to Cremona is about 36 km as the crow flies.
	if d := DistanceKM(Point{45.3627, 9.6843}, Point{45.1336, 10.0247}); math.Abs(d-36.5) > 1.5 {
		t.Errorf("Crema–Cremona = %.1f km, want about 36.5", d)
	}
	if d := DistanceKM(Point{45, 9}, Point{45, 9}); d != 0 {
		t.Errorf("distance to itself = %v", d)
	}
}

func TestBoxAroundHoldsTheCircle(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		center Point
		km     float64
	}{
		{"Crema, 10 km", Point{45.36, 9.68}, 10},
		{"Crema, 200 km", Point{45.36, 9.68}, 200},
		{"near the equator", Point{0.5, 30}, 50},
		{"far north", Point{78, 15}, 150},
		{"by the antimeridian", Point{-17, 179.9}, 100},
	} {
		minLat, maxLat, minLon, maxLon := boxAround(c.center, c.km)
		// Points on the circle, every 10 degrees of bearing, must lie in the box.
		for deg := 0.0; deg < 360; deg += 10 {
			brg := deg * math.Pi / 180
			lat1, lon1 := c.center.Lat*math.Pi/180, c.center.Lon*math.Pi/180
			d := c.km / 6371.0088
			lat2 := math.Asin(math.Sin(lat1)*math.Cos(d) + math.Cos(lat1)*math.Sin(d)*math.Cos(brg))
			lon2 := lon1 + math.Atan2(math.Sin(brg)*math.Sin(d)*math.Cos(lat1), math.Cos(d)-math.Sin(lat1)*math.Sin(lat2))
			p := Point{lat2 * 180 / math.Pi, math.Mod(lon2*180/math.Pi+540, 360) - 180}
			if p.Lat < minLat || p.Lat > maxLat || p.Lon < minLon || p.Lon > maxLon {
				t.Errorf("%s: %v at bearing %v lies outside [%v,%v]×[%v,%v]", c.name, p, deg, minLat, maxLat, minLon, maxLon)
			}
		}
	}
}
func TestSortKeyIsFold(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"Corso di  Italiano ", "  a\tB\nc  ", "Forlì", "ÉCOLE", "دورة", "L'Aquila", "x", ""} {
		if got, want := SortKey(s), textfold.Fold(s); got != want {
			t.Errorf("SortKey(%q) = %q, want %q", s, got, want)
		}
	}
}

// keyedWant sets the keys of want as the test's input has them.
func keyedWant(want []candidate) []candidate {
	out := slices.Clone(want)
	for i := range out {
		out[i].key = uint64(out[i].rank)
	}
	return out
}

func TestTopKIsTheSortedPrefix(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	cmpC := func(a, b candidate) int {
		if a.rank != b.rank {
			return int(a.rank) - int(b.rank)
		}
		return int(a.ord) - int(b.ord)
	}
	for _, n := range []int{0, 1, 7, 100, 1000} {
		for _, k := range []int{0, 1, 5, 20, n} {
			if k > n {
				continue
			}
			cs := make([]candidate, n)
			for i := range cs {
				cs[i] = candidate{ord: uint32(i), rank: uint32(rng.IntN(50))}
			}
			want := slices.Clone(cs)
			slices.SortFunc(want, cmpC)
			for _, keyed := range []bool{false, true} {
				in := slices.Clone(cs)
				for i := range in {
					in[i].key = uint64(in[i].rank)
				}
				if got := topK(in, k, cmpC, keyed); !slices.Equal(got, keyedWant(want[:k])) {
					t.Errorf("topK(n=%d, k=%d, keyed %v) = %v, want %v", n, k, keyed, got, want[:k])
				}
			}
		}
	}
}

func TestCompareNamesIsStringOrder(t *testing.T) {
	t.Parallel()
	names := []string{"", "a", "ab", "abcdefgh", "abcdefghi", "abcdefgh\x00", "corso di italiano", "corso di italiano l2", "دورة", "z", "\xff"}
	for _, a := range names {
		for _, b := range names {
			if got, want := compareNames(newNameKey(a), newNameKey(b)), strings.Compare(a, b); got != want {
				t.Errorf("compareNames(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestScheduleNumbers(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int16{"00:00": 0, "09:30": 570, "24:00": 1440, "": -1, "9:30": -1, "ab:cd": -1, "09-30": -1} {
		if got := minutes(in); got != want {
			t.Errorf("minutes(%q) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]int32{"2026-11-23": 20261123, "": 0, "2026-1-23": 0, "2026/11/23": 0, "20x6-11-23": 0} {
		if got := day(in); got != want {
			t.Errorf("day(%q) = %d, want %d", in, got, want)
		}
	}
}

// schedulesOf converts API schedules.
func schedulesOf(ps []*directoryv1.Schedule) []Schedule {
	out := make([]Schedule, len(ps))
	for i, p := range ps {
		out[i] = schedule(int32(p.GetWeekday()), p.GetOpensAt(), p.GetClosesAt(), p.GetValidFrom(), p.GetValidTo(), p.GetExceptionDate(), p.GetClosed())
	}
	return out
}

// TestRanksKeepNameOrder checks that ranking by name ranks gives the order of the name
// strings: right after ranking, and with services renamed and added since (compared by
// string against ranked ones), in a locale with ranks of its own and in one without.
func TestRanksKeepNameOrder(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"corso", "corso di italiano", "Corso di italiano L2", "sportello", "sportello casa", "àmbito", "zona"}
	name := func() string { return words[rng.IntN(len(words))] + fmt.Sprint(" ", rng.IntN(4)) }
	x := New(nil, nil)
	x.reset()
	put := func(id string) {
		t.Helper()
		names := map[string]string{"it": name()}
		if rng.IntN(2) == 0 {
			names["en"] = name()
		}
		if err := x.putService(&directoryv1.Service{Id: id, Name: names}); err != nil {
			t.Fatal(err)
		}
	}
	want := func(locale string) []string {
		type entry struct{ key, id string }
		var es []entry
		for _, s := range x.services {
			k := x.fallback[x.ords[s.id]].name
			if keys := x.keys[locale]; keys != nil && keys[x.ords[s.id]].name != "" {
				k = keys[x.ords[s.id]].name
			}
			es = append(es, entry{k, s.id})
		}
		slices.SortFunc(es, func(a, b entry) int {
			if n := strings.Compare(a.key, b.key); n != 0 {
				return n
			}
			return strings.Compare(a.id, b.id)
		})
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.id
		}
		return out
	}
	check := func(when string) {
		t.Helper()
		for _, locale := range []string{"it", "en", "fr"} {
			var got []string
			for _, h := range x.Search(Query{Locale: locale}).Hits {
				got = append(got, h.ID)
			}
			if w := want(locale); !slices.Equal(got, w) {
				t.Errorf("%s, locale %s: ranked %v, want %v", when, locale, got, w)
			}
		}
	}
	for i := range 300 {
		put(fmt.Sprintf("s%03d", i))
	}
	x.rank()
	check("just ranked")
	for range 40 {
		put(fmt.Sprintf("s%03d", rng.IntN(300))) // renamed
	}
	for i := range 20 {
		put(fmt.Sprintf("n%03d", i)) // added
	}
	if x.unranked.IsEmpty() {
		t.Fatal("no service is unranked: the mixed comparisons are not exercised")
	}
	check("with renamed and new services")
}

// TestTermFacetsOfManyTerms checks term facets for services with terms in their packed
// slots and for one with more terms than slots.
func TestTermFacetsOfManyTerms(t *testing.T) {
	t.Parallel()
	x := New(nil, nil)
	x.reset()
	services := map[string][]string{
		"s1": {"a", "b"},
		"s2": {"b", "c", "d", "e", "f", "g"}, // more than four
		"s3": {"a"},
		"s4": nil,
	}
	for id, terms := range services {
		if err := x.putService(&directoryv1.Service{Id: id, Name: map[string]string{"it": id}, TaxonomyTermIds: terms}); err != nil {
			t.Fatal(err)
		}
	}
	got := x.Search(Query{}).TermFacets
	want := []Facet{{"b", 2}, {"a", 2}, {"c", 1}, {"d", 1}, {"e", 1}, {"f", 1}, {"g", 1}}
	slices.SortFunc(want, func(a, b Facet) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Value, b.Value)
	})
	if !slices.Equal(got, want) {
		t.Errorf("term facets = %v, want %v", got, want)
	}
}

// TestLocalizedPages checks that searches return pages localized by the index's
// localizer, keep them for the next search in that locale only for locales the index
// knows, and never return a localized form of an older version.
func TestLocalizedPages(t *testing.T) {
	t.Parallel()
	calls := 0
	localizer := func(page []byte, locale string) ([]byte, error) {
		calls++
		var m directoryv1.Service
		if err := proto.Unmarshal(page, &m); err != nil {
			return nil, err
		}
		m.Name = map[string]string{locale: m.GetName()[locale]}
		return proto.Marshal(&m)
	}
	x := New(nil, nil, WithLocalizer(localizer))
	x.reset()
	put := func(it, en string) {
		t.Helper()
		if err := x.putService(&directoryv1.Service{Id: "s1", Name: map[string]string{"it": it, "en": en}}); err != nil {
			t.Fatal(err)
		}
	}
	name := func(locale string) (string, bool) {
		t.Helper()
		h := x.Search(Query{Locale: locale}).Hits[0]
		var m directoryv1.Service
		if err := proto.Unmarshal(h.Service, &m); err != nil {
			t.Fatal(err)
		}
		return m.GetName()[locale], h.Localized
	}
	put("Corso", "Course")
	for i := range 2 {
		if n, ok := name("en"); n != "Course" || !ok {
			t.Errorf("search %d in en: name %q, localized %v", i, n, ok)
		}
	}
	if calls != 1 {
		t.Errorf("localizer called %d times for two searches in one locale, want 1", calls)
	}
	name("uk") // no service is written in it: localized, not kept
	name("uk")
	if calls != 3 {
		t.Errorf("localizer called %d times after two searches in an unknown locale, want 3", calls)
	}
	put("Corso serale", "Evening course")
	if n, _ := name("en"); n != "Evening course" {
		t.Errorf("after an update: name %q, want the new one", n)
	}
	if n, ok := name(""); n != "" || ok {
		t.Errorf("without a locale: %q, localized %v; want the page as held", n, ok)
	}
}

func TestKthLargestIsTheSortedKth(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 5, 50, 3000} {
		for _, k := range []int{0, 1, 3, 20, 100} {
			counts := make([]int32, n)
			var positive []int32
			for i := range counts {
				if rng.IntN(3) > 0 {
					counts[i] = int32(rng.IntN(40))
				}
				if counts[i] > 0 {
					positive = append(positive, counts[i])
				}
			}
			slices.SortFunc(positive, func(a, b int32) int { return int(b - a) })
			var want int32
			if k > 0 && len(positive) >= k {
				want = positive[k-1]
			}
			if got := kthLargest(counts, k); got != want {
				t.Errorf("kthLargest(n=%d, k=%d) = %d, want %d", n, k, got, want)
			}
		}
	}
}
