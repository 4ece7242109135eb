package hsds

import (
	"reflect"
	"strings"
	"testing"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

func TestDecodeShapes(t *testing.T) {
	t.Parallel()
	service := `{"id":"s1","name":"Corso","status":"active","organization":{"id":"o1","name":"Org","description":""}}`
	tests := []struct {
		name               string
		doc                string
		wantOrgs, wantSvcs int
	}{
		{"one service with its organization", service, 1, 1},
		{"a service list", "[" + service + `,{"id":"s2","name":"Altro","status":"active","organization_id":"o1"}]`, 1, 2},
		{"an HSDS page", `{"total_items":1,"contents":[` + service + `]}`, 1, 1},
		{"an organization package", `[{"id":"o1","name":"Org","description":"","services":[{"id":"s1","name":"Corso","status":"active"}],"locations":[]}]`, 1, 1},
	}
	for _, tt := range tests {
		b, err := Decode([]byte(tt.doc), "")
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(b.Organizations) != tt.wantOrgs || len(b.Services) != tt.wantSvcs {
			t.Errorf("%s: %d organizations, %d services; want %d, %d", tt.name, len(b.Organizations), len(b.Services), tt.wantOrgs, tt.wantSvcs)
		}
		for _, s := range b.Services {
			if s.GetOrganizationId() != "o1" {
				t.Errorf("%s: service %s belongs to %q, want o1", tt.name, s.GetId(), s.GetOrganizationId())
			}
		}
	}
	for _, bad := range []string{``, `"text"`, `[1]`, `{"id":`} {
		if _, err := Decode([]byte(bad), ""); err == nil {
			t.Errorf("Decode(%q) succeeded, want an error", bad)
		}
	}
}

func TestDecodeMapsPonteFields(t *testing.T) {
	t.Parallel()
	doc := `[{"id":"o1","name":"Caritas","description":"Aiuto",
	  "attributes":[{"id":"a","link_type":"ponte_organization_type","value":"faith-community"},
	    {"id":"b","link_type":"ponte_translation","label":"description","value":"Help","taxonomy_term":{"id":"l-en","code":"en","name":"English","description":""}}],
	  "locations":[{"id":"l1","location_type":"physical","latitude":45.36,"longitude":9.68,
	    "attributes":[{"id":"c","link_type":"ponte_istat_municipality","value":"019035"}],
	    "addresses":[{"id":"ad","address_1":"Via Roma 1","city":"Crema","state_province":"CR","postal_code":"26013","country":"it","address_type":"physical"}]},
	    {"id":"l2","location_type":"physical","latitude":100,"longitude":101}],
	  "services":[{"id":"s1","name":"Corso di italiano","status":"active",
	    "phones":[{"id":"p","number":"\"+39 0373 000 0001\"","extension":12},{"id":"q","number":"call us"}],
	    "schedules":[{"id":"x","freq":"WEEKLY","byday":"MO,WE","opens_at":"09:00:00","closes_at":"12:00+01:00"},
	      {"id":"y","freq":"MONTHLY","byday":"2MO","opens_at":"09:00","closes_at":"10:00"},
	      {"id":"z","valid_from":"2026-12-08","valid_to":"2026-12-08","description":"closed"}],
	    "service_at_locations":[{"id":"sal","location_id":"l1"}],
	    "attributes":[{"id":"t","link_type":"ponte_taxonomy","taxonomy_term_id":"l2-term","taxonomy_term":{"id":"l2-term","code":"l2","name":"Italiano L2","description":"","parent_id":"lang"}},
	      {"id":"g","link_type":"ponte_target_group","taxonomy_term":{"id":"tg","code":"women","name":"Donne","description":""}},
	      {"id":"g2","link_type":"ponte_target_group","taxonomy_term":{"id":"tg2","code":"martians","name":"Marziani","description":""}},
	      {"id":"tr","link_type":"ponte_translation","label":"name","value":"Cours d'italien","taxonomy_term":{"id":"l-fr","code":"fr","name":"French","description":""}}]}]}]`
	b, err := Decode([]byte(doc), "it")
	if err != nil {
		t.Fatal(err)
	}
	org := b.Organizations[0]
	if org.GetType() != directoryv1.OrganizationType_ORGANIZATION_TYPE_FAITH_COMMUNITY || !reflect.DeepEqual(org.GetDescription(), map[string]string{"it": "Aiuto", "en": "Help"}) {
		t.Errorf("organization = %v", org)
	}
	l1, l2 := b.Locations[0], b.Locations[1]
	if l1.GetMunicipalityCode() != "019035" || l1.GetAddress().GetCountry() != "" || l1.GetLatitude() != 45.36 || l1.GetOrganizationId() != "o1" {
		t.Errorf("location l1 = %v", l1)
	}
	if l2.Latitude != nil || l2.Longitude != nil {
		t.Errorf("out-of-range coordinates were kept: %v", l2)
	}
	s := b.Services[0]
	if !reflect.DeepEqual(s.GetName(), map[string]string{"it": "Corso di italiano", "fr": "Cours d'italien"}) {
		t.Errorf("name = %v", s.GetName())
	}
	if len(s.GetPhones()) != 1 || s.GetPhones()[0].GetNumber() != "+39 0373 000 0001" || s.GetPhones()[0].GetExtension() != "12" {
		t.Errorf("phones = %v", s.GetPhones())
	}
	var days []string
	for _, sc := range s.GetSchedules() {
		days = append(days, sc.GetWeekday().String()+" "+sc.GetOpensAt()+"-"+sc.GetClosesAt()+" "+sc.GetExceptionDate())
	}
	want := []string{"WEEKDAY_MONDAY 09:00-12:00 ", "WEEKDAY_WEDNESDAY 09:00-12:00 ", "WEEKDAY_UNSPECIFIED - 2026-12-08"}
	if !reflect.DeepEqual(days, want) || !s.GetSchedules()[2].GetClosed() {
		t.Errorf("schedules = %v, want %v with the last closed", days, want)
	}
	if !reflect.DeepEqual(s.GetTaxonomyTermIds(), []string{"l2-term"}) || !reflect.DeepEqual(s.GetTargetGroups(), []string{"women"}) {
		t.Errorf("terms = %v, target groups = %v", s.GetTaxonomyTermIds(), s.GetTargetGroups())
	}
	if len(b.TaxonomyTerms) != 1 || b.TaxonomyTerms[0].GetParentId() != "lang" {
		t.Errorf("terms = %v", b.TaxonomyTerms)
	}
	warnings := strings.Join(b.Warnings, "\n")
	for _, w := range []string{"call us", "out of range", "MONTHLY", "martians"} {
		if !strings.Contains(warnings, w) {
			t.Errorf("warnings lack %q:\n%s", w, warnings)
		}
	}
}
