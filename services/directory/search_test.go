package directory

import (
	"math"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/textfold"
	"github.com/ponte-network/ponte/services/directory/store"
)

func TestOpenAt(t *testing.T) {
	t.Parallel()
	weekly := func(day directoryv1.Weekday, opens, closes string) *directoryv1.Schedule {
		return &directoryv1.Schedule{Weekday: day, OpensAt: opens, ClosesAt: closes}
	}
	scheds := []*directoryv1.Schedule{
		weekly(directoryv1.Weekday_WEEKDAY_MONDAY, "09:00", "12:30"),
		weekly(directoryv1.Weekday_WEEKDAY_SUNDAY, "20:00", "24:00"),
		{Weekday: directoryv1.Weekday_WEEKDAY_TUESDAY, OpensAt: "09:00", ClosesAt: "12:00", ValidFrom: "2026-01-01", ValidTo: "2026-06-30"},
		{ExceptionDate: "2026-12-07", Closed: true},
		{ExceptionDate: "2026-12-14", OpensAt: "15:00", ClosesAt: "16:00"},
	}
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
		if got := openAt(scheds, at(tt.at)); got != tt.want {
			t.Errorf("%s: openAt(%s) = %v, want %v", tt.name, tt.at, got, tt.want)
		}
	}
	if openAt(nil, at("2026-11-23T10:00:00+01:00")) {
		t.Error("no schedules must not count as open")
	}
}

func TestParseNearAndDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"decimal degrees", "45.3627,9.6843", true},
		{"negative values", "-33.9,-70.6", true},
		{"spaces around the numbers", " 45.1 , 10.0 ", true},
		{"latitude out of range", "91,10", false},
		{"longitude out of range", "45,181", false},
		{"one number only", "45.3", false},
		{"not numbers", "north,east", false},
	}
	for _, tt := range tests {
		if _, ok := parseNear(tt.in); ok != tt.ok {
			t.Errorf("%s: parseNear(%q) ok = %v, want %v", tt.name, tt.in, ok, tt.ok)
		}
	}
	// Crema to Cremona is about 36 km as the crow flies.
	if d := distanceKM(point{45.3627, 9.6843}, point{45.1336, 10.0247}); math.Abs(d-36.5) > 1.5 {
		t.Errorf("Crema–Cremona = %.1f km, want about 36.5", d)
	}
	if d := distanceKM(point{45, 9}, point{45, 9}); d != 0 {
		t.Errorf("distance to itself = %v", d)
	}
}

func TestRankIsDeterministic(t *testing.T) {
	t.Parallel()
	mk := func(id string, tier int, name string, dist float64) *candidate {
		return &candidate{svc: &directoryv1.Service{Id: id}, nameTier: tier, sortName: name, distance: dist}
	}
	ids := func(cs []*candidate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.svc.GetId())
		}
		return out
	}
	cs := []*candidate{mk("d", 1, "a", 3), mk("c", 0, "z", 2), mk("b", 0, "m", 2), mk("a", 0, "m", 1)}
	rank(cs, false)
	if want := []string{"a", "b", "c", "d"}; !reflect.DeepEqual(ids(cs), want) {
		t.Errorf("by name tier, name, id = %v, want %v", ids(cs), want)
	}
	rank(cs, true)
	if want := []string{"a", "b", "c", "d"}; !reflect.DeepEqual(ids(cs), want) {
		t.Errorf("by distance first = %v, want %v", ids(cs), want)
	}
}

func TestLocalize(t *testing.T) {
	t.Parallel()
	svc := &directoryv1.Service{
		Name:        map[string]string{"it": "Corso", "en": "Course", "ar": "دورة"},
		Description: map[string]string{"fr": "Cours", "de": "Kurs"},
		RequiredDocuments: []*directoryv1.RequiredDocument{
			{Document: map[string]string{"it": "Permesso di soggiorno", "en": "Residence permit"}},
		},
	}
	tests := []struct {
		name     string
		locale   string
		wantName map[string]string
		wantDesc map[string]string
		wantDoc  map[string]string
	}{
		{"an empty locale keeps every translation", "", svc.Name, svc.Description, svc.RequiredDocuments[0].Document},
		{"the requested locale", "ar", map[string]string{"ar": "دورة"}, map[string]string{"de": "Kurs"}, map[string]string{"it": "Permesso di soggiorno"}},
		{"Italian when the locale is missing", "uk", map[string]string{"it": "Corso"}, map[string]string{"de": "Kurs"}, map[string]string{"it": "Permesso di soggiorno"}},
		{"nested messages are localized too", "en", map[string]string{"en": "Course"}, map[string]string{"de": "Kurs"}, map[string]string{"en": "Residence permit"}},
	}
	for _, tt := range tests {
		c := proto.Clone(svc).(*directoryv1.Service)
		localize(c, tt.locale)
		if !reflect.DeepEqual(c.GetName(), tt.wantName) || !reflect.DeepEqual(c.GetDescription(), tt.wantDesc) ||
			!reflect.DeepEqual(c.GetRequiredDocuments()[0].GetDocument(), tt.wantDoc) {
			t.Errorf("%s: got %v / %v / %v", tt.name, c.GetName(), c.GetDescription(), c.GetRequiredDocuments()[0].GetDocument())
		}
	}
}

func TestApplyMask(t *testing.T) {
	t.Parallel()
	before := &directoryv1.Service{Id: "s1", OrganizationId: "o1", Name: map[string]string{"it": "A"}, Free: true, Etag: "e1",
		Languages: []string{"it"}}
	patch := &directoryv1.Service{Id: "other", Name: map[string]string{"en": "B"}, Etag: "e2"}
	tests := []struct {
		name  string
		paths []string
		want  *directoryv1.Service
	}{
		{"a mask replaces only the named fields", []string{"name"},
			&directoryv1.Service{Id: "s1", OrganizationId: "o1", Name: map[string]string{"en": "B"}, Free: true, Etag: "e1", Languages: []string{"it"}}},
		{"a named field absent from the body is cleared", []string{"languages", "free"},
			&directoryv1.Service{Id: "s1", OrganizationId: "o1", Name: map[string]string{"it": "A"}, Etag: "e1"}},
		{"JSON names and nested paths name the top-level field", []string{"organizationId.x"},
			&directoryv1.Service{Id: "s1", Name: map[string]string{"it": "A"}, Free: true, Etag: "e1", Languages: []string{"it"}}},
		{"id and etag are never taken", []string{"id", "etag"}, before},
		{"no mask replaces everything but the id and output fields", nil,
			&directoryv1.Service{Id: "s1", Name: map[string]string{"en": "B"}, Etag: "e1"}},
	}
	for _, tt := range tests {
		got, err := applyMask(before, patch, &fieldmaskpb.FieldMask{Paths: tt.paths})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !proto.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	if _, err := applyMask(before, patch, &fieldmaskpb.FieldMask{Paths: []string{"colour"}}); err == nil {
		t.Error("an unknown path must be refused")
	}
}

func TestWords(t *testing.T) {
	t.Parallel()
	if got, want := words("Cours d’Italien, CAFÉ café"), []string{"cafe", "cours", "d", "italien"}; !reflect.DeepEqual(got, want) {
		t.Errorf("words = %v, want %v", got, want)
	}
}

func TestSearchFieldsMatchTheFullRecord(t *testing.T) {
	t.Parallel()
	full := &directoryv1.Service{
		Id: "s1", OrganizationId: "o1", Status: "defunct", Name: map[string]string{"it": "Corso", "ar": "دورة"},
		Description: map[string]string{"it": "Descrizione"}, TaxonomyTermIds: []string{"a", "b"},
		Schedules: []*directoryv1.Schedule{
			{Weekday: directoryv1.Weekday_WEEKDAY_SUNDAY, OpensAt: "09:00", ClosesAt: "24:00", ValidFrom: "2026-01-01", ValidTo: "2026-12-31"},
			{ExceptionDate: "2026-12-25", Closed: true},
		},
		ServiceAtLocations: []*directoryv1.ServiceAtLocation{
			{LocationId: "l1", Description: map[string]string{"it": "x"}, Schedules: []*directoryv1.Schedule{{Weekday: directoryv1.Weekday_WEEKDAY_MONDAY, OpensAt: "08:00", ClosesAt: "09:00"}}},
			{LocationId: "l2"},
		},
	}
	got, err := decodeSearchFields(store.Record{ID: "s1", Doc: docOf(full)})
	if err != nil {
		t.Fatal(err)
	}
	want := &directoryv1.Service{Id: full.Id, Status: "defunct", Name: full.Name, TaxonomyTermIds: full.TaxonomyTermIds, Schedules: full.Schedules,
		ServiceAtLocations: []*directoryv1.ServiceAtLocation{
			{LocationId: "l1", Schedules: full.ServiceAtLocations[0].Schedules}, {LocationId: "l2", Schedules: []*directoryv1.Schedule{}},
		}}
	if !proto.Equal(got, want) {
		t.Errorf("search fields = %v, want %v", got, want)
	}
}

func TestBoxAroundHoldsTheCircle(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		center point
		km     float64
	}{
		{"Crema, 10 km", point{45.36, 9.68}, 10},
		{"Crema, 200 km", point{45.36, 9.68}, 200},
		{"near the equator", point{0.5, 30}, 50},
		{"far north", point{78, 15}, 150},
		{"by the antimeridian", point{-17, 179.9}, 100},
	} {
		b := boxAround(c.center, c.km)
		// Points on the circle, every 10 degrees of bearing, must lie in the box.
		for deg := 0.0; deg < 360; deg += 10 {
			brg := deg * math.Pi / 180
			lat1, lon1 := c.center.lat*math.Pi/180, c.center.lon*math.Pi/180
			d := c.km / 6371.0088
			lat2 := math.Asin(math.Sin(lat1)*math.Cos(d) + math.Cos(lat1)*math.Sin(d)*math.Cos(brg))
			lon2 := lon1 + math.Atan2(math.Sin(brg)*math.Sin(d)*math.Cos(lat1), math.Cos(d)-math.Sin(lat1)*math.Sin(lat2))
			p := point{lat2 * 180 / math.Pi, math.Mod(lon2*180/math.Pi+540, 360) - 180}
			if p.lat < b.MinLat || p.lat > b.MaxLat || p.lon < b.MinLon || p.lon > b.MaxLon {
				t.Errorf("%s: %v at bearing %v lies outside %+v", c.name, p, deg, *b)
			}
		}
	}
}

func TestSortKeyIsFold(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"Corso di  Italiano ", "  a\tB\nc  ", "Forlì", "ÉCOLE", "دورة", "L'Aquila", "x", ""} {
		if got, want := sortKey(s), textfold.Fold(s); got != want {
			t.Errorf("sortKey(%q) = %q, want %q", s, got, want)
		}
	}
}
