// Command gen writes the FICTIONAL demo data of package seed (seed/demo/*.json) from the
// templates in this directory: run `go generate ./services/directory/seed` after editing them.
// The output is deterministic: every id is a name-based UUID of a stable key.
package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/directory/seed"
)

// notice marks every demo organization's description as fictional, per locale.
var notice = tr{
	"Dati fittizi a scopo dimostrativo.",
	"Fictional demo data.",
	"Données fictives de démonstration.",
	"بيانات وهمية لأغراض العرض.",
}

// lastModified is the fixed modification time of every demo service.
const lastModified = "2026-11-01T09:00:00Z"

// slot is one weekly opening slot.
type slot struct{ days, opens, closes, it string }

// schedules are the weekly opening patterns of the demo services.
var schedules = map[string][]slot{
	"office":           {{"MO,TU,WE,TH,FR", "09:00", "12:30", "dal lunedì al venerdì, 9:00-12:30"}},
	"office-mixed":     {{"MO,WE,FR", "09:00", "12:00", "lunedì, mercoledì e venerdì mattina"}, {"TU,TH", "14:00", "17:00", "martedì e giovedì pomeriggio"}},
	"desk-weekly":      {{"WE", "14:30", "17:30", "mercoledì pomeriggio"}},
	"mornings":         {{"MO,TU,WE,TH,FR", "08:30", "12:00", "dal lunedì al venerdì mattina"}},
	"clinic":           {{"MO,TU,WE,TH,FR", "08:30", "12:30", "dal lunedì al venerdì mattina"}, {"TU,TH", "14:00", "16:30", "martedì e giovedì pomeriggio"}},
	"library":          {{"TU,WE,TH,FR,SA", "09:00", "12:30", "da martedì a sabato mattina"}, {"TU,WE,TH,FR", "14:30", "18:30", "da martedì a venerdì pomeriggio"}},
	"afternoons":       {{"MO,TU,WE,TH,FR", "15:00", "18:30", "dal lunedì al venerdì pomeriggio"}},
	"course-morning":   {{"MO,WE", "09:30", "11:30", "lunedì e mercoledì mattina"}},
	"course-afternoon": {{"TU,TH", "14:30", "17:30", "martedì e giovedì pomeriggio"}},
	"course-evening":   {{"TU,TH", "19:00", "21:00", "martedì e giovedì sera"}},
	"weekly-morning":   {{"SA", "09:00", "12:00", "sabato mattina"}},
	"evenings":         {{"MO,TU,WE,TH,FR,SA,SU", "19:30", "23:00", "tutte le sere, ingresso 19:30-23:00"}},
	"sports":           {{"TU,TH", "17:30", "19:30", "martedì e giovedì"}, {"SA", "10:00", "12:00", "sabato mattina"}},
	"friday":           {{"FR", "12:30", "14:30", "venerdì"}, {"SA,SU", "10:00", "12:00", "corsi per bambini nel fine settimana"}},
	"sunday":           {{"SU", "09:30", "12:30", "domenica mattina"}},
	"weekend":          {{"SA", "15:00", "19:00", "sabato pomeriggio"}},
}

// langNames are the Italian names of the languages spoken at demo services.
var langNames = map[string]string{
	"it": "italiano", "en": "inglese", "fr": "francese", "ar": "arabo", "ro": "rumeno", "es": "spagnolo",
	"uk": "ucraino", "zh": "cinese", "ur": "urdu", "pa": "punjabi", "sq": "albanese", "wo": "wolof",
}

func main() {
	out := flag.String("out", "demo", "directory to write the demo files to")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

func run(out string) error {
	cat, err := territory.Load()
	if err != nil {
		return fmt.Errorf("load territory catalog: %w", err)
	}
	g, err := newGen(cat)
	if err != nil {
		return err
	}
	for _, a := range areas {
		orgs, err := g.area(a)
		if err != nil {
			return fmt.Errorf("area %s: %w", a.file, err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(orgs); err != nil {
			return fmt.Errorf("encode %s: %w", a.file, err)
		}
		if err := os.WriteFile(filepath.Join(out, a.file+".json"), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", a.file, err)
		}
	}
	return nil
}

type gen struct {
	cat     *territory.Catalog
	terms   map[string]seed.Term
	groups  map[string]seed.Term
	locales map[string]seed.Term
}

func newGen(cat *territory.Catalog) (*gen, error) {
	g := &gen{cat: cat, terms: map[string]seed.Term{}, groups: map[string]seed.Term{}, locales: map[string]seed.Term{}}
	terms, err := seed.Taxonomy()
	if err != nil {
		return nil, err
	}
	for _, t := range terms {
		g.terms[t.Code] = t
	}
	groups, err := seed.TargetGroups()
	if err != nil {
		return nil, err
	}
	for _, t := range groups {
		g.groups[t.Code] = t
	}
	locs, err := seed.LocaleTerms()
	if err != nil {
		return nil, err
	}
	for _, t := range locs {
		g.locales[t.Code] = t
	}
	return g, nil
}

// id returns a name-based (version 5 layout, SHA-1) UUID of key.
func id(key string) string {
	h := sha1.Sum([]byte("ponte-demo:" + key))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// slug turns a name into an ASCII identifier for emails and web addresses.
func slug(s string) string {
	repl := strings.NewReplacer("à", "a", "è", "e", "é", "e", "ì", "i", "ò", "o", "ù", "u", "'", "", "’", "")
	s = repl.Replace(strings.ToLower(s))
	var b strings.Builder
	dash := false
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// shortSlug is slug(s) cut at a word boundary to at most n bytes (a DNS label and an email
// local part must stay under 64).
func shortSlug(s string, n int) string {
	out := slug(s)
	for len(out) > n {
		i := strings.LastIndexByte(out, '-')
		if i <= 0 {
			return out[:n]
		}
		out = out[:i]
	}
	return out
}

// jitter returns a deterministic offset in [-max, max] derived from key.
func jitter(key string, max float64) float64 {
	h := sha1.Sum([]byte(key))
	v := float64(uint16(h[0])<<8|uint16(h[1])) / 65535.0
	return (v*2 - 1) * max
}

func round6(f float64) float64 {
	return float64(int64(f*1e6+0.5*sign(f))) / 1e6
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}

func (g *gen) translations(linkID, entity, field string, t tr) []seed.Attribute {
	var out []seed.Attribute
	for _, lt := range []struct{ loc, text string }{{"en", t.en}, {"fr", t.fr}, {"ar", t.ar}} {
		loc := g.locales[lt.loc]
		out = append(out, seed.Attribute{
			ID: id(linkID + ":tr:" + field + ":" + lt.loc), LinkID: linkID, LinkEntity: entity,
			LinkType: seed.LinkTypeTranslation, TaxonomyTermID: loc.ID,
			TaxonomyTerm: &seed.AttributeTerm{ID: loc.ID, Code: loc.Code, Name: loc.Labels[loc.Code],
				Description: loc.Labels["en"], Taxonomy: seed.LocaleTaxonomy, TaxonomyID: seed.LocalesTaxonomyID, Language: loc.Code},
			Label: field, Value: lt.text,
		})
	}
	return out
}

func (g *gen) termAttr(linkID, linkType string, t seed.Term, parent seed.Term, taxonomy, taxonomyID string) seed.Attribute {
	desc := t.Descriptions["it"]
	if desc == "" {
		desc = t.Labels["it"]
	}
	return seed.Attribute{
		ID: id(linkID + ":" + linkType + ":" + t.Code), LinkID: linkID, LinkEntity: "service", LinkType: linkType,
		TaxonomyTermID: t.ID,
		TaxonomyTerm: &seed.AttributeTerm{ID: t.ID, Code: t.Code, Name: t.Labels["it"], Description: desc,
			ParentID: parent.ID, Taxonomy: taxonomy, TaxonomyID: taxonomyID, Language: "it"},
	}
}

func fmtTr(t tr, args ...any) tr {
	return tr{fmt.Sprintf(t.it, args...), fmt.Sprintf(t.en, args...), fmt.Sprintf(t.fr, args...), fmt.Sprintf(t.ar, args...)}
}

func (g *gen) area(a area) ([]seed.Organization, error) {
	var orgs []seed.Organization
	for oi, spec := range a.orgs {
		kind, ok := orgKinds[spec.kind]
		if !ok {
			return nil, fmt.Errorf("org %q: unknown kind %q", spec.name, spec.kind)
		}
		mun0, ok := g.cat.Municipality(spec.places[0])
		if !ok {
			return nil, fmt.Errorf("org %q: unknown municipality %q", spec.name, spec.places[0])
		}
		oid := id("org:" + spec.name)
		osl := shortSlug(spec.name, 40)
		desc := fmtTr(kind.desc, mun0.Name)
		o := seed.Organization{
			ID: oid, Name: spec.name, Description: desc.it + " " + notice.it,
			Email: osl + "@example.org", Website: "https://" + osl + ".example.org",
			Phones: []seed.Phone{{ID: id(oid + ":phone"), OrganizationID: oid, Type: "voice",
				Number: fmt.Sprintf("%s-000-%04d", a.prefix, 100+oi*10)}},
		}
		o.Attributes = append(o.Attributes, seed.Attribute{ID: id(oid + ":type"), LinkID: oid, LinkEntity: "organization",
			LinkType: seed.LinkTypeOrganizationType, Value: kind.typ})
		if kind.name != nil {
			o.Attributes = append(o.Attributes, g.translations(oid, "organization", "name", fmtTr(*kind.name, mun0.Name))...)
		}
		o.Attributes = append(o.Attributes, g.translations(oid, "organization", "description",
			tr{desc.it + " " + notice.it, desc.en + " " + notice.en, desc.fr + " " + notice.fr, desc.ar + " " + notice.ar})...)
		for li, code := range spec.places {
			loc, err := g.location(a, oid, spec, li, code)
			if err != nil {
				return nil, err
			}
			o.Locations = append(o.Locations, loc)
		}
		for si, sk := range spec.services {
			li := 0
			if k, n, ok := strings.Cut(sk, "@"); ok {
				sk = k
				li = int(n[0] - '0')
			}
			if li >= len(o.Locations) {
				return nil, fmt.Errorf("org %q: service %s at location %d of %d", spec.name, sk, li, len(o.Locations))
			}
			svc, err := g.service(a, o, oi, si, sk, li)
			if err != nil {
				return nil, fmt.Errorf("org %q: %w", spec.name, err)
			}
			o.Services = append(o.Services, svc)
		}
		orgs = append(orgs, o)
	}
	return orgs, nil
}

var streets = []string{"Via Roma", "Via Mazzini", "Via Garibaldi", "Via Dante Alighieri", "Via Cavour", "Via Verdi", "Via XX Settembre", "Via Matteotti", "Via Marconi", "Piazza del Municipio"}

func (g *gen) location(a area, oid string, spec orgSpec, li int, code string) (seed.Location, error) {
	mun, ok := g.cat.Municipality(code)
	if !ok {
		return seed.Location{}, fmt.Errorf("unknown municipality %q", code)
	}
	c, ok := a.centres[code]
	if !ok {
		return seed.Location{}, fmt.Errorf("no centre for municipality %s %s", code, mun.Name)
	}
	prov, _ := g.cat.Province(mun.ProvinceCode)
	reg, _ := g.cat.Region(mun.RegionCode)
	lid := id(oid + ":loc:" + code)
	h := sha1.Sum([]byte(lid))
	street := streets[int(h[2])%len(streets)]
	number := 1 + int(h[3])%60
	loc := seed.Location{
		ID: lid, LocationType: "physical", OrganizationID: oid,
		Name:      fmt.Sprintf("%s — sede di %s", spec.name, mun.Name),
		Latitude:  round6(c[0] + jitter(lid+"lat", 0.004)),
		Longitude: round6(c[1] + jitter(lid+"lon", 0.005)),
		Addresses: []seed.Address{{ID: id(lid + ":addr"), LocationID: lid,
			Address1: fmt.Sprintf("%s %d", street, number), City: mun.Name, Region: reg.Name,
			StateProvince: prov.Abbreviation, PostalCode: mun.PostalCodes[0], Country: "IT", AddressType: "physical"}},
		Attributes: []seed.Attribute{{ID: id(lid + ":istat"), LinkID: lid, LinkEntity: "location",
			LinkType: seed.LinkTypeISTATMunicipality, Label: mun.Name, Value: mun.Code}},
	}
	if h[4]%3 != 0 {
		loc.Accessibility = []seed.Accessibility{{ID: id(lid + ":access"), LocationID: lid,
			Description: "Ingresso senza barriere architettoniche e servizi igienici accessibili."}}
	}
	return loc, nil
}

func (g *gen) service(a area, o seed.Organization, oi, si int, kindKey string, li int) (seed.Service, error) {
	k, ok := svcKinds[kindKey]
	if !ok {
		return seed.Service{}, fmt.Errorf("unknown service kind %q", kindKey)
	}
	loc := o.Locations[li]
	place := loc.Addresses[0].City
	sid := id(o.ID + ":svc:" + kindKey + ":" + loc.ID)
	name := tr{k.name.it + " — " + place, k.name.en + " — " + place, k.name.fr + " — " + place, k.name.ar + " — " + place}
	fees := k.fees
	if fees == "" {
		fees = "Gratuito."
	}
	s := seed.Service{
		ID: sid, OrganizationID: o.ID, Name: name.it, Description: k.desc.it,
		Email:  fmt.Sprintf("%s.%s@example.org", kindKey, sid[:8]),
		Status: "active", ApplicationProcess: k.apply, FeesDescription: fees, EligibilityDescription: k.elig,
		LastModified: lastModified,
		Phones: []seed.Phone{{ID: id(sid + ":phone"), ServiceID: sid, Type: "voice",
			Number: fmt.Sprintf("%s-000-%04d", a.prefix, 100+oi*10+si+1)}},
		ServiceAtLocations: []seed.ServiceAtLocation{{ID: id(sid + ":sal"), ServiceID: sid, LocationID: loc.ID}},
		ServiceAreas: []seed.ServiceArea{{ID: id(sid + ":area"), ServiceID: sid, Name: a.district,
			Description: "Servizio rivolto in particolare alle persone residenti o domiciliate nel " + a.district + "."}},
	}
	if k.minAge > 0 {
		v := k.minAge
		s.MinimumAge = &v
	}
	if k.maxAge > 0 {
		v := k.maxAge
		s.MaximumAge = &v
	}
	slots, ok := schedules[k.sched]
	if !ok {
		return seed.Service{}, fmt.Errorf("kind %s: unknown schedule %q", kindKey, k.sched)
	}
	for i, sl := range slots {
		s.Schedules = append(s.Schedules, seed.Schedule{ID: id(fmt.Sprintf("%s:sched:%d", sid, i)), ServiceID: sid,
			Freq: "WEEKLY", Wkst: "MO", Interval: 1, Byday: sl.days, OpensAt: sl.opens, ClosesAt: sl.closes,
			Description: strings.ToUpper(sl.it[:1]) + sl.it[1:] + ", escluse le festività."})
	}
	for _, code := range append([]string{"it"}, k.langs...) {
		n, ok := langNames[code]
		if !ok {
			return seed.Service{}, fmt.Errorf("kind %s: unknown language %q", kindKey, code)
		}
		s.Languages = append(s.Languages, seed.Language{ID: id(sid + ":lang:" + code), ServiceID: sid, Name: n, Code: code})
	}
	for i, d := range k.docs {
		s.RequiredDocuments = append(s.RequiredDocuments, seed.RequiredDocument{ID: id(fmt.Sprintf("%s:doc:%d", sid, i)), ServiceID: sid, Document: d})
	}
	for _, code := range k.terms {
		t, ok := g.terms[code]
		if !ok {
			return seed.Service{}, fmt.Errorf("kind %s: unknown taxonomy term %q", kindKey, code)
		}
		s.Attributes = append(s.Attributes, g.termAttr(sid, seed.LinkTypeTaxonomy, t, g.terms[t.ParentCode], "ponte-services", seed.ServicesTaxonomyID))
	}
	for _, code := range k.groups {
		t, ok := g.groups[code]
		if !ok {
			return seed.Service{}, fmt.Errorf("kind %s: unknown target group %q", kindKey, code)
		}
		s.Attributes = append(s.Attributes, g.termAttr(sid, seed.LinkTypeTargetGroup, t, seed.Term{}, "ponte-target-groups", seed.TargetGroupsTaxonomyID))
	}
	s.Attributes = append(s.Attributes, g.translations(sid, "service", "name", name)...)
	s.Attributes = append(s.Attributes, g.translations(sid, "service", "description", k.desc)...)
	return s, nil
}
