package seed_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/directory/seed"
)

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	kebabRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	hhmmRE  = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

func TestVocabularies(t *testing.T) {
	t.Parallel()
	taxonomy, err := seed.Taxonomy()
	if err != nil {
		t.Fatal(err)
	}
	groups, err := seed.TargetGroups()
	if err != nil {
		t.Fatal(err)
	}
	locales, err := seed.LocaleTerms()
	if err != nil {
		t.Fatal(err)
	}
	vocabs, err := seed.Vocabularies()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, v := range vocabs {
		if !uuidRE.MatchString(v.ID) || ids[v.ID] != "" {
			t.Errorf("vocabulary %s: id %q is not a fresh UUID", v.Code, v.ID)
		}
		ids[v.ID] = v.Code
	}
	if got := []string{vocabs[0].ID, vocabs[1].ID, vocabs[2].ID}; !slices.Equal(got, []string{seed.ServicesTaxonomyID, seed.TargetGroupsTaxonomyID, seed.LocalesTaxonomyID}) {
		t.Errorf("vocabulary ids %v do not match the exported constants", got)
	}
	tests := []struct {
		name     string
		terms    []seed.Term
		min, max int
		twoLevel bool
	}{
		{"the services taxonomy is a two-level tree of 40 to 60 terms", taxonomy, 40, 60, true},
		{"the target groups vocabulary is a flat list", groups, 8, 30, false},
		{"the locale terms are exactly the Ponte locales", locales, 8, 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := len(tt.terms); n < tt.min || n > tt.max {
				t.Errorf("%d terms, want %d..%d", n, tt.min, tt.max)
			}
			byCode := map[string]seed.Term{}
			for i, term := range tt.terms {
				if !uuidRE.MatchString(term.ID) {
					t.Errorf("term %s: id %q is not a lower-case UUID", term.Code, term.ID)
				}
				if other, dup := ids[term.ID]; dup {
					t.Errorf("term %s: id %s already used by %s", term.Code, term.ID, other)
				}
				ids[term.ID] = term.Code
				if !kebabRE.MatchString(term.Code) {
					t.Errorf("term %q: code is not kebab-case", term.Code)
				}
				if _, dup := byCode[term.Code]; dup {
					t.Errorf("term %s: duplicate code", term.Code)
				}
				checkLabels(t, term)
				if term.ParentCode != "" {
					parent, ok := byCode[term.ParentCode]
					switch {
					case !tt.twoLevel:
						t.Errorf("term %s: a flat vocabulary has no parents", term.Code)
					case !ok:
						t.Errorf("term %s (#%d): parent %q missing or listed after it", term.Code, i, term.ParentCode)
					case parent.ParentCode != "":
						t.Errorf("term %s: parent %s is not top-level", term.Code, parent.Code)
					}
				}
				byCode[term.Code] = term
			}
		})
	}
	t.Run("every top-level term of the services taxonomy has children", func(t *testing.T) {
		children := map[string]int{}
		for _, term := range taxonomy {
			children[term.ParentCode]++
		}
		for _, term := range taxonomy {
			if term.ParentCode == "" && children[term.Code] == 0 {
				t.Errorf("top-level term %s has no children", term.Code)
			}
		}
	})
	t.Run("the locale terms follow Locales()", func(t *testing.T) {
		var codes []string
		for _, l := range locales {
			codes = append(codes, l.Code)
		}
		if !slices.Equal(codes, seed.Locales()) {
			t.Errorf("locale terms %v, want %v", codes, seed.Locales())
		}
	})
}

// checkLabels checks that a term has a label in every locale, written in its locale's script.
func checkLabels(t *testing.T, term seed.Term) {
	t.Helper()
	if len(term.Labels) != len(seed.Locales()) {
		t.Errorf("term %s: %d labels, want %d", term.Code, len(term.Labels), len(seed.Locales()))
	}
	scripts := map[string]*unicode.RangeTable{"ar": unicode.Arabic, "uk": unicode.Cyrillic, "zh": unicode.Han}
	for _, loc := range seed.Locales() {
		label := strings.TrimSpace(term.Labels[loc])
		if label == "" {
			t.Errorf("term %s: no %s label", term.Code, loc)
			continue
		}
		if script, ok := scripts[loc]; ok && !strings.ContainsFunc(label, func(r rune) bool { return unicode.Is(script, r) }) {
			t.Errorf("term %s: %s label %q is not in the %s script", term.Code, loc, label, loc)
		}
	}
	for loc := range term.Descriptions {
		if loc != "it" && loc != "en" {
			t.Errorf("term %s: description in unexpected locale %s", term.Code, loc)
		}
	}
}

// hsdsSchemas compiles the HSDS 3.1 compiled schemas in testdata once for all tests.
var hsdsSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for _, name := range []string{"organization.json", "service.json"} {
		f, err := os.Open(filepath.Join("..", "hsds", "testdata", "hsds-3.1", name))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		url := "https://ponte.example.org/hsds-3.1/" + name
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("add %s: %w", name, err)
		}
		if out[name], err = c.Compile(url); err != nil {
			return nil, fmt.Errorf("compile %s: %w", name, err)
		}
	}
	return out, nil
})

// demoFile is one demo file: its name and its organizations, raw and decoded.
type demoFile struct {
	name string
	raw  []json.RawMessage
	orgs []seed.Organization
}

func loadDemo(t *testing.T) []demoFile {
	t.Helper()
	fsys, err := seed.DemoFiles()
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []demoFile
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		f := demoFile{name: name}
		if err := json.Unmarshal(b, &f.raw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields() // the seed types must cover every field the files use
		if err := dec.Decode(&f.orgs); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, f)
	}
	return out
}

func TestDemoValidatesAgainstCompiledHSDSSchemas(t *testing.T) {
	t.Parallel()
	schemas, err := hsdsSchemas()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the schemas reject records that break them", func(t *testing.T) {
		t.Parallel()
		bad := []struct{ schema, doc string }{
			{"organization.json", `{"id": "9f0b5a52-3c1e-4b8e-9d7a-1f2e3d4c5b6a", "description": "no name"}`},
			{"organization.json", `{"id": "not-a-uuid", "name": "x", "description": "bad id"}`},
			{"service.json", `{"id": "9f0b5a52-3c1e-4b8e-9d7a-1f2e3d4c5b6a", "name": "no status"}`},
			{"service.json", `{"id": "9f0b5a52-3c1e-4b8e-9d7a-1f2e3d4c5b6a", "name": "x", "status": "active", "schedules": [{"id": "9f0b5a52-3c1e-4b8e-9d7a-1f2e3d4c5b6a", "freq": "HOURLY"}]}`},
		}
		for _, b := range bad {
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(b.doc))
			if err != nil {
				t.Fatal(err)
			}
			if schemas[b.schema].Validate(doc) == nil {
				t.Errorf("%s accepted %s", b.schema, b.doc)
			}
		}
	})
	for _, f := range loadDemo(t) {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			for i, raw := range f.raw {
				org, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				if err := schemas["organization.json"].Validate(org); err != nil {
					t.Errorf("organization %s is not valid HSDS 3.1: %v", f.orgs[i].Name, err)
				}
				var services struct {
					Services []json.RawMessage `json:"services"`
				}
				if err := json.Unmarshal(raw, &services); err != nil {
					t.Fatal(err)
				}
				for j, s := range services.Services {
					svc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s))
					if err != nil {
						t.Fatal(err)
					}
					if err := schemas["service.json"].Validate(svc); err != nil {
						t.Errorf("service %s is not valid HSDS 3.1: %v", f.orgs[i].Services[j].Name, err)
					}
				}
			}
		})
	}
}

func TestDemoSize(t *testing.T) {
	t.Parallel()
	orgs, err := seed.DemoOrganizations()
	if err != nil {
		t.Fatal(err)
	}
	services := 0
	for _, o := range orgs {
		services += len(o.Services)
	}
	if len(orgs) < 60 {
		t.Errorf("%d demo organizations, want at least 60", len(orgs))
	}
	if services < 150 {
		t.Errorf("%d demo services, want at least 150", services)
	}
	raw, err := seed.Demo()
	if err != nil {
		t.Fatal(err)
	}
	var all []json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatalf("Demo() is not a JSON array: %v", err)
	}
	if len(all) != len(orgs) {
		t.Errorf("Demo() has %d organizations, DemoOrganizations() %d", len(all), len(orgs))
	}
}

// box is a latitude/longitude bounding box.
type box struct{ minLat, maxLat, minLon, maxLon float64 }

func (b box) contains(lat, lon float64) bool {
	return lat >= b.minLat && lat <= b.maxLat && lon >= b.minLon && lon <= b.maxLon
}

// provinceBoxes are generous bounding boxes of the provinces the demo covers.
var provinceBoxes = map[string]box{
	"019": {44.88, 45.56, 9.42, 10.55},  // Cremona
	"023": {45.05, 45.80, 10.60, 11.50}, // Verona
	"006": {44.50, 45.25, 8.10, 9.25},   // Alessandria
}

// fileProvince is the province each demo file lies in, by file name prefix.
var fileProvince = map[string]string{"cremona-": "019", "verona-": "023", "alessandria-": "006"}

func TestDemoTerritory(t *testing.T) {
	t.Parallel()
	cat, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range loadDemo(t) {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			want := ""
			for prefix, prov := range fileProvince {
				if strings.HasPrefix(f.name, prefix) {
					want = prov
				}
			}
			if want == "" {
				t.Fatalf("file %s: no expected province for its name", f.name)
			}
			for _, o := range f.orgs {
				if len(o.Locations) == 0 {
					t.Errorf("%s: no location", o.Name)
				}
				for _, l := range o.Locations {
					var codes []string
					for _, a := range l.Attributes {
						if a.LinkType == seed.LinkTypeISTATMunicipality {
							codes = append(codes, a.Value)
						}
					}
					if len(codes) != 1 {
						t.Errorf("location %s: %d ISTAT municipality attributes, want 1", l.Name, len(codes))
						continue
					}
					m, ok := cat.Municipality(codes[0])
					if !ok {
						t.Errorf("location %s: ISTAT code %q is not in the catalog", l.Name, codes[0])
						continue
					}
					if !cat.Within(m.Code, want) {
						t.Errorf("location %s: municipality %s %s is not in province %s", l.Name, m.Code, m.Name, want)
					}
					if b := provinceBoxes[m.ProvinceCode]; !b.contains(l.Latitude, l.Longitude) {
						t.Errorf("location %s: (%f, %f) outside the box of province %s", l.Name, l.Latitude, l.Longitude, m.ProvinceCode)
					}
					if len(l.Addresses) != 1 {
						t.Errorf("location %s: %d addresses, want 1", l.Name, len(l.Addresses))
						continue
					}
					ad := l.Addresses[0]
					if ad.City != m.Name || !slices.Contains(m.PostalCodes, ad.PostalCode) || ad.Country != "IT" {
						t.Errorf("location %s: address %+v does not match municipality %s", l.Name, ad, m.Name)
					}
				}
			}
		})
	}
}

func TestDemoReferences(t *testing.T) {
	t.Parallel()
	taxonomy, err := seed.Taxonomy()
	if err != nil {
		t.Fatal(err)
	}
	groups, err := seed.TargetGroups()
	if err != nil {
		t.Fatal(err)
	}
	locales, err := seed.LocaleTerms()
	if err != nil {
		t.Fatal(err)
	}
	index := func(ts []seed.Term) map[string]seed.Term {
		m := map[string]seed.Term{}
		for _, t := range ts {
			m[t.ID] = t
		}
		return m
	}
	vocab := map[string]map[string]seed.Term{
		seed.LinkTypeTaxonomy:    index(taxonomy),
		seed.LinkTypeTargetGroup: index(groups),
		seed.LinkTypeTranslation: index(locales),
	}
	ids := map[string]string{}
	claim := func(t *testing.T, id, what string) {
		t.Helper()
		if !uuidRE.MatchString(id) {
			t.Errorf("%s: id %q is not a UUID", what, id)
		}
		if prev, dup := ids[id]; dup {
			t.Errorf("%s: id %s already used by %s", what, id, prev)
		}
		ids[id] = what
	}
	// attrs checks the attributes of one record and returns its translated fields ("name:fr").
	attrs := func(t *testing.T, what, linkID string, as []seed.Attribute) map[string]bool {
		t.Helper()
		translated := map[string]bool{}
		for _, a := range as {
			claim(t, a.ID, what+" attribute")
			if a.LinkID != linkID {
				t.Errorf("%s: attribute %s links %s", what, a.ID, a.LinkID)
			}
			terms, ok := vocab[a.LinkType]
			if !ok {
				continue
			}
			term, ok := terms[a.TaxonomyTermID]
			if !ok || a.TaxonomyTerm == nil || a.TaxonomyTerm.ID != term.ID || a.TaxonomyTerm.Code != term.Code {
				t.Errorf("%s: %s attribute points at unknown term %s", what, a.LinkType, a.TaxonomyTermID)
				continue
			}
			if a.LinkType == seed.LinkTypeTranslation {
				if strings.TrimSpace(a.Value) == "" {
					t.Errorf("%s: empty %s translation of %s", what, term.Code, a.Label)
				}
				translated[a.Label+":"+term.Code] = true
			}
		}
		return translated
	}
	orgs, err := seed.DemoOrganizations()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orgs {
		claim(t, o.ID, "organization "+o.Name)
		if !strings.Contains(o.Description, "Dati fittizi") {
			t.Errorf("organization %s: description does not say the data is fictional", o.Name)
		}
		var typ []string
		for _, a := range o.Attributes {
			if a.LinkType == seed.LinkTypeOrganizationType {
				typ = append(typ, a.Value)
			}
		}
		if len(typ) != 1 || !slices.Contains(seed.OrgTypes(), typ[0]) {
			t.Errorf("organization %s: organization types %v", o.Name, typ)
		}
		tr := attrs(t, "organization "+o.Name, o.ID, o.Attributes)
		for _, loc := range []string{"en", "fr", "ar"} {
			if !tr["description:"+loc] {
				t.Errorf("organization %s: no %s translation of its description", o.Name, loc)
			}
		}
		locs := map[string]bool{}
		for _, l := range o.Locations {
			claim(t, l.ID, "location "+l.Name)
			locs[l.ID] = true
			attrs(t, "location "+l.Name, l.ID, l.Attributes)
		}
		for _, s := range o.Services {
			claim(t, s.ID, "service "+s.Name)
			if s.OrganizationID != o.ID {
				t.Errorf("service %s: organization_id %s, want %s", s.Name, s.OrganizationID, o.ID)
			}
			if len(s.ServiceAtLocations) == 0 {
				t.Errorf("service %s: at no location", s.Name)
			}
			for _, sal := range s.ServiceAtLocations {
				if !locs[sal.LocationID] {
					t.Errorf("service %s: location %s is not one of its organization's", s.Name, sal.LocationID)
				}
			}
			if len(s.Schedules) == 0 || len(s.Languages) == 0 {
				t.Errorf("service %s: %d schedules, %d languages", s.Name, len(s.Schedules), len(s.Languages))
			}
			for _, sc := range s.Schedules {
				if sc.Freq != "WEEKLY" || sc.Byday == "" || !hhmmRE.MatchString(sc.OpensAt) || !hhmmRE.MatchString(sc.ClosesAt) || sc.OpensAt >= sc.ClosesAt {
					t.Errorf("service %s: bad weekly schedule %+v", s.Name, sc)
				}
			}
			links := map[string]int{}
			for _, a := range s.Attributes {
				links[a.LinkType]++
			}
			if links[seed.LinkTypeTaxonomy] == 0 || links[seed.LinkTypeTargetGroup] == 0 {
				t.Errorf("service %s: %d taxonomy terms, %d target groups", s.Name, links[seed.LinkTypeTaxonomy], links[seed.LinkTypeTargetGroup])
			}
			tr := attrs(t, "service "+s.Name, s.ID, s.Attributes)
			for _, loc := range []string{"en", "fr", "ar"} {
				for _, field := range []string{"name", "description"} {
					if !tr[field+":"+loc] {
						t.Errorf("service %s: no %s translation of its %s", s.Name, loc, field)
					}
				}
			}
		}
	}
}
