package hsds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/services/directory"
)

// Bundle is the directory records an HSDS document holds, each kind in the order it
// must be written (parents before children).
type Bundle struct {
	Organizations []*directoryv1.Organization
	TaxonomyTerms []*directoryv1.TaxonomyTerm
	Locations     []*directoryv1.Location
	Services      []*directoryv1.Service
	// Warnings say what of the document could not be kept (a malformed phone number,
	// coordinates out of range, a monthly schedule...).
	Warnings []string
}

// flexString reads a JSON string or number as a string (HSDS examples give phone
// extensions as numbers).
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number: %w", err)
	}
	*f = flexString(n.String())
	return nil
}

type hTerm struct {
	ID          string `json:"id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	Description string `json:"description"`
	ParentID    string `json:"parent_id"`
	Taxonomy    string `json:"taxonomy"`
}

type hAttr struct {
	LinkType       string     `json:"link_type"`
	Label          string     `json:"label"`
	Value          flexString `json:"value"`
	TaxonomyTermID string     `json:"taxonomy_term_id"`
	TaxonomyTerm   *hTerm     `json:"taxonomy_term"`
}

type hLang struct {
	Code string `json:"code"`
}

type hPhone struct {
	Number      flexString `json:"number"`
	Extension   flexString `json:"extension"`
	Type        string     `json:"type"`
	Description string     `json:"description"`
	Languages   []hLang    `json:"languages"`
}

type hContact struct {
	Name       string   `json:"name"`
	Title      string   `json:"title"`
	Department string   `json:"department"`
	Email      string   `json:"email"`
	Phones     []hPhone `json:"phones"`
}

type hSchedule struct {
	Freq        string `json:"freq"`
	Byday       string `json:"byday"`
	OpensAt     string `json:"opens_at"`
	ClosesAt    string `json:"closes_at"`
	ValidFrom   string `json:"valid_from"`
	ValidTo     string `json:"valid_to"`
	Description string `json:"description"`
	Notes       string `json:"notes"`
}

type hAddress struct {
	Address1      string `json:"address_1"`
	Address2      string `json:"address_2"`
	City          string `json:"city"`
	StateProvince string `json:"state_province"`
	PostalCode    string `json:"postal_code"`
	Country       string `json:"country"`
}

type hLocation struct {
	ID                     string     `json:"id"`
	OrganizationID         string     `json:"organization_id"`
	Name                   string     `json:"name"`
	Description            string     `json:"description"`
	Latitude               *float64   `json:"latitude"`
	Longitude              *float64   `json:"longitude"`
	ExternalIdentifier     string     `json:"external_identifier"`
	ExternalIdentifierType string     `json:"external_identifier_type"`
	Addresses              []hAddress `json:"addresses"`
	Accessibility          []struct {
		Description string `json:"description"`
		Details     string `json:"details"`
	} `json:"accessibility"`
	Languages  []hLang     `json:"languages"`
	Phones     []hPhone    `json:"phones"`
	Schedules  []hSchedule `json:"schedules"`
	Attributes []hAttr     `json:"attributes"`
}

type hSAL struct {
	LocationID  string      `json:"location_id"`
	Description string      `json:"description"`
	Location    *hLocation  `json:"location"`
	Schedules   []hSchedule `json:"schedules"`
	Phones      []hPhone    `json:"phones"`
}

type hService struct {
	ID                     string      `json:"id"`
	OrganizationID         string      `json:"organization_id"`
	Name                   string      `json:"name"`
	Description            string      `json:"description"`
	URL                    string      `json:"url"`
	Email                  string      `json:"email"`
	Status                 string      `json:"status"`
	InterpretationServices string      `json:"interpretation_services"`
	ApplicationProcess     string      `json:"application_process"`
	FeesDescription        string      `json:"fees_description"`
	EligibilityDescription string      `json:"eligibility_description"`
	MinimumAge             *float64    `json:"minimum_age"`
	MaximumAge             *float64    `json:"maximum_age"`
	Phones                 []hPhone    `json:"phones"`
	Schedules              []hSchedule `json:"schedules"`
	ServiceAtLocations     []hSAL      `json:"service_at_locations"`
	Languages              []hLang     `json:"languages"`
	Organization           *hOrg       `json:"organization"`
	RequiredDocuments      []struct {
		Document string `json:"document"`
		URI      string `json:"uri"`
	} `json:"required_documents"`
	Contacts   []hContact `json:"contacts"`
	Attributes []hAttr    `json:"attributes"`
}

type hOrg struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	AlternateName string      `json:"alternate_name"`
	Description   string      `json:"description"`
	Email         string      `json:"email"`
	Website       string      `json:"website"`
	TaxID         string      `json:"tax_id"`
	Phones        []hPhone    `json:"phones"`
	Contacts      []hContact  `json:"contacts"`
	Locations     []hLocation `json:"locations"`
	Services      []hService  `json:"services"`
	Attributes    []hAttr     `json:"attributes"`
}

// decoder turns HSDS records into the directory's.
type decoder struct {
	locale string
	b      *Bundle
	orgs   map[string]*directoryv1.Organization
	locs   map[string]*directoryv1.Location
	terms  map[string]*directoryv1.TaxonomyTerm
	svcs   map[string]*directoryv1.Service
	// ids maps "<kind> <HSDS id>" to the internal id an export carried for it (see
	// LinkTypeID), to be given back once the whole document is read.
	ids map[string]string
}

// keepID notes that the record of kind with HSDS id hid had the internal id id, when id
// is one Ponte derives hid from: a document that did not come from Ponte cannot rename
// records this way.
func (d *decoder) keepID(kind, hid, id string) {
	if id != "" && hid != "" && id != hid && strings.EqualFold(ID(kind, id), hid) {
		d.ids[kind+" "+hid] = id
	}
}

// keepIDs notes the "ponte_id" attribute among attrs of the record of kind with HSDS id hid.
func (d *decoder) keepIDs(kind, hid string, attrs []hAttr) {
	for _, a := range attrs {
		if a.LinkType == LinkTypeID {
			d.keepID(kind, hid, string(a.Value))
		}
	}
}

// internalIDs gives the records and their references the internal ids noted by keepID.
func (d *decoder) internalIDs() {
	if len(d.ids) == 0 {
		return
	}
	id := func(kind string, x *string) {
		if v, ok := d.ids[kind+" "+*x]; ok {
			*x = v
		}
	}
	for _, o := range d.b.Organizations {
		id(kindOrganization, &o.Id)
	}
	for _, t := range d.b.TaxonomyTerms {
		id(kindTerm, &t.Id)
		id(kindTerm, &t.ParentId)
	}
	for _, l := range d.b.Locations {
		id(kindLocation, &l.Id)
		id(kindOrganization, &l.OrganizationId)
	}
	for _, s := range d.b.Services {
		id(kindService, &s.Id)
		id(kindOrganization, &s.OrganizationId)
		for _, sal := range s.ServiceAtLocations {
			id(kindLocation, &sal.LocationId)
		}
		for i := range s.TaxonomyTermIds {
			id(kindTerm, &s.TaxonomyTermIds[i])
		}
	}
}

// Decode reads an HSDS 3.1 document: an organization package (an array of
// organizations with their locations and services), a service list, one service, one
// organization, or an HSDS page of either ("contents"). Its text is taken as being in
// locale (empty: Italian); translations in Ponte's "ponte_translation" attributes are
// kept in theirs.
func Decode(raw []byte, locale string) (*Bundle, error) {
	if locale == "" {
		locale = "it"
	}
	d := &decoder{locale: locale, b: &Bundle{}, orgs: map[string]*directoryv1.Organization{},
		locs: map[string]*directoryv1.Location{}, terms: map[string]*directoryv1.TaxonomyTerm{}, svcs: map[string]*directoryv1.Service{},
		ids: map[string]string{}}
	raw = bytes.TrimSpace(raw)
	var items []json.RawMessage
	switch {
	case len(raw) > 0 && raw[0] == '[':
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("read HSDS array: %w", err)
		}
	case len(raw) > 0 && raw[0] == '{':
		var page struct {
			Contents []json.RawMessage `json:"contents"`
		}
		if err := json.Unmarshal(raw, &page); err == nil && page.Contents != nil {
			items = page.Contents
		} else {
			items = []json.RawMessage{raw}
		}
	default:
		return nil, fmt.Errorf("read HSDS: want a JSON object or array")
	}
	for i, item := range items {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(item, &probe); err != nil {
			return nil, fmt.Errorf("read HSDS item %d: %w", i, err)
		}
		_, hasStatus := probe["status"]
		_, hasOrgID := probe["organization_id"]
		if hasStatus || hasOrgID {
			var s hService
			if err := json.Unmarshal(item, &s); err != nil {
				return nil, fmt.Errorf("read HSDS service %d: %w", i, err)
			}
			d.service(s, "")
			continue
		}
		var o hOrg
		if err := json.Unmarshal(item, &o); err != nil {
			return nil, fmt.Errorf("read HSDS organization %d: %w", i, err)
		}
		d.organization(o)
	}
	d.orderTerms()
	d.internalIDs()
	return d.b, nil
}

func (d *decoder) warn(format string, args ...any) {
	d.b.Warnings = append(d.b.Warnings, fmt.Sprintf(format, args...))
}

// text returns a translatable map holding s in the document's locale.
func (d *decoder) text(s string) map[string]string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return map[string]string{d.locale: s}
}

// translations adds the "ponte_translation" attributes to the maps by label.
func translations(attrs []hAttr, maps map[string]*map[string]string) {
	for _, a := range attrs {
		if a.LinkType != "ponte_translation" || a.TaxonomyTerm == nil || a.TaxonomyTerm.Code == "" || a.Value == "" {
			continue
		}
		if m, ok := maps[a.Label]; ok {
			if *m == nil {
				*m = map[string]string{}
			}
			(*m)[a.TaxonomyTerm.Code] = string(a.Value)
		}
	}
}

var orgTypes = map[string]directoryv1.OrganizationType{
	"public-body": directoryv1.OrganizationType_ORGANIZATION_TYPE_PUBLIC_BODY, "cooperative": directoryv1.OrganizationType_ORGANIZATION_TYPE_COOPERATIVE,
	"association": directoryv1.OrganizationType_ORGANIZATION_TYPE_ASSOCIATION, "school": directoryv1.OrganizationType_ORGANIZATION_TYPE_SCHOOL,
	"health-trust": directoryv1.OrganizationType_ORGANIZATION_TYPE_HEALTH_TRUST, "faith-community": directoryv1.OrganizationType_ORGANIZATION_TYPE_FAITH_COMMUNITY,
	"trade-union": directoryv1.OrganizationType_ORGANIZATION_TYPE_TRADE_UNION, "foundation": directoryv1.OrganizationType_ORGANIZATION_TYPE_FOUNDATION,
	"business": directoryv1.OrganizationType_ORGANIZATION_TYPE_BUSINESS, "other": directoryv1.OrganizationType_ORGANIZATION_TYPE_OTHER,
}

func (d *decoder) organization(o hOrg) {
	if o.ID == "" {
		d.warn("an organization without id was skipped")
		return
	}
	if _, seen := d.orgs[o.ID]; !seen {
		org := &directoryv1.Organization{Id: o.ID, Name: d.text(o.Name), AlternateName: o.AlternateName, Description: d.text(o.Description),
			Email: o.Email, Website: httpURL(o.Website), TaxId: o.TaxID,
			Phones: d.phones(o.Phones, "organization "+o.ID), Contacts: d.contacts(o.Contacts, "organization "+o.ID)}
		translations(o.Attributes, map[string]*map[string]string{"name": &org.Name, "description": &org.Description})
		d.keepIDs(kindOrganization, o.ID, o.Attributes)
		for _, a := range o.Attributes {
			switch {
			case a.LinkType == "ponte_organization_type":
				org.Type = orgTypes[string(a.Value)]
			case a.LinkType == "ponte_istat_municipality" && reISTAT.MatchString(string(a.Value)):
				org.MunicipalityCode = string(a.Value)
			}
		}
		if org.Name == nil {
			org.Name = map[string]string{d.locale: o.ID}
			d.warn("organization %s has no name: its id is used", o.ID)
		}
		d.orgs[o.ID] = org
		d.b.Organizations = append(d.b.Organizations, org)
	}
	for _, l := range o.Locations {
		l.OrganizationID = o.ID
		d.location(l)
	}
	for _, s := range o.Services {
		d.service(s, o.ID)
	}
}

var (
	rePhone = regexp.MustCompile(`^[+0-9][0-9 ./()-]*$`)
	reLang  = regexp.MustCompile(`^[a-z]{2,3}$`)
	reDate  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	reTime  = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]`)
	reISTAT = regexp.MustCompile(`^[0-9]{6}$`)
)

func httpURL(s string) string {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return s
	}
	return ""
}

func langs(ls []hLang) []string {
	var out []string
	for _, l := range ls {
		c := strings.ToLower(l.Code)
		if reLang.MatchString(c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func (d *decoder) phones(ps []hPhone, owner string) []*directoryv1.Phone {
	var out []*directoryv1.Phone
	for _, p := range ps {
		n := strings.Trim(strings.TrimSpace(string(p.Number)), `"'`)
		if !rePhone.MatchString(n) || len(n) < 3 || len(n) > 40 {
			d.warn("%s: phone number %q is not a number: skipped", owner, p.Number)
			continue
		}
		t := p.Type
		if !slices.Contains([]string{"voice", "fax", "text", "cell", "video", "pager", "textphone"}, t) {
			t = ""
		}
		out = append(out, &directoryv1.Phone{Number: n, Extension: string(p.Extension), Type: t, Languages: langs(p.Languages), Description: d.text(p.Description)})
	}
	return out
}

func (d *decoder) contacts(cs []hContact, owner string) []*directoryv1.Contact {
	var out []*directoryv1.Contact
	for _, c := range cs {
		name := c.Name
		if name == "" {
			name = c.Department
		}
		if name == "" {
			name = c.Title
		}
		if name == "" {
			d.warn("%s: a contact without name, department or title was skipped", owner)
			continue
		}
		out = append(out, &directoryv1.Contact{Name: name, Title: d.text(c.Title), Email: c.Email, Phones: d.phones(c.Phones, owner)})
	}
	return out
}

var weekdays = map[string]directoryv1.Weekday{
	"MO": directoryv1.Weekday_WEEKDAY_MONDAY, "TU": directoryv1.Weekday_WEEKDAY_TUESDAY, "WE": directoryv1.Weekday_WEEKDAY_WEDNESDAY,
	"TH": directoryv1.Weekday_WEEKDAY_THURSDAY, "FR": directoryv1.Weekday_WEEKDAY_FRIDAY, "SA": directoryv1.Weekday_WEEKDAY_SATURDAY,
	"SU": directoryv1.Weekday_WEEKDAY_SUNDAY,
}

// schedules maps weekly schedules (one per day of byday) and one-day exceptions.
func (d *decoder) schedules(ss []hSchedule, owner string) []*directoryv1.Schedule {
	var out []*directoryv1.Schedule
	for _, s := range ss {
		opens, closes := hhmm(s.OpensAt), hhmm(s.ClosesAt)
		from, to := date(s.ValidFrom), date(s.ValidTo)
		notes := d.text(s.Notes)
		if notes == nil && s.Description != "closed" {
			notes = d.text(s.Description)
		}
		if s.Byday == "" {
			if from != "" && from == to && (s.Description == "closed" || (opens != "" && closes > opens)) {
				out = append(out, &directoryv1.Schedule{ExceptionDate: from, Closed: s.Description == "closed", OpensAt: opens, ClosesAt: closes, Notes: notes})
			} else {
				d.warn("%s: a schedule without byday was skipped", owner)
			}
			continue
		}
		if s.Freq != "" && s.Freq != "WEEKLY" {
			d.warn("%s: a %s schedule was skipped: only weekly ones are kept", owner, s.Freq)
			continue
		}
		if opens == "" || closes <= opens {
			d.warn("%s: a schedule without valid opens_at and closes_at was skipped", owner)
			continue
		}
		if from != "" && to != "" && to < from {
			from, to = "", ""
		}
		for _, day := range strings.Split(s.Byday, ",") {
			wd, ok := weekdays[strings.TrimSpace(day)]
			if !ok {
				d.warn("%s: byday %q was skipped", owner, day)
				continue
			}
			out = append(out, &directoryv1.Schedule{Weekday: wd, OpensAt: opens, ClosesAt: closes, ValidFrom: from, ValidTo: to, Notes: notes})
		}
	}
	return out
}

func hhmm(s string) string {
	if s == "24:00" || strings.HasPrefix(s, "24:00:") {
		return "24:00"
	}
	if m := reTime.FindString(s); m != "" {
		return m
	}
	return ""
}

func date(s string) string {
	if reDate.MatchString(s) {
		return s
	}
	return ""
}

func (d *decoder) location(l hLocation) {
	if l.ID == "" {
		d.warn("a location without id was skipped")
		return
	}
	if _, seen := d.locs[l.ID]; seen {
		return
	}
	owner := "location " + l.ID
	loc := &directoryv1.Location{Id: l.ID, OrganizationId: l.OrganizationID, Name: d.text(l.Name), Description: d.text(l.Description),
		Languages: langs(l.Languages), Phones: d.phones(l.Phones, owner), Schedules: d.schedules(l.Schedules, owner)}
	if l.Latitude != nil && l.Longitude != nil {
		if *l.Latitude >= -90 && *l.Latitude <= 90 && *l.Longitude >= -180 && *l.Longitude <= 180 {
			loc.Latitude, loc.Longitude = l.Latitude, l.Longitude
		} else {
			d.warn("%s: coordinates %v,%v are out of range: dropped", owner, *l.Latitude, *l.Longitude)
		}
	}
	if l.ExternalIdentifierType == "ISTAT municipality code" && reISTAT.MatchString(l.ExternalIdentifier) {
		loc.MunicipalityCode = l.ExternalIdentifier
	}
	d.keepIDs(kindLocation, l.ID, l.Attributes)
	for _, a := range l.Attributes {
		if a.LinkType == "ponte_istat_municipality" && reISTAT.MatchString(string(a.Value)) {
			loc.MunicipalityCode = string(a.Value)
		}
	}
	if len(l.Addresses) > 0 {
		a := l.Addresses[0]
		country := strings.ToUpper(a.Country)
		if len(country) != 2 || country == "IT" {
			country = "" // empty means Italy
		}
		loc.Address = &directoryv1.Address{Address_1: a.Address1, Address_2: a.Address2, City: a.City, StateProvince: a.StateProvince,
			PostalCode: a.PostalCode, Country: country}
	}
	for _, a := range l.Accessibility {
		if a.Description != "" {
			loc.Accessibility = d.text(a.Description)
		}
		if strings.Contains(strings.ToLower(a.Details), "wheelchair") {
			loc.WheelchairAccessible = true
		}
	}
	d.locs[l.ID] = loc
	d.b.Locations = append(d.b.Locations, loc)
}

func (d *decoder) term(t *hTerm, id string) string {
	if t == nil && id == "" {
		return ""
	}
	if t == nil {
		return id // a reference to a term the directory may already have
	}
	if t.ID == "" {
		t.ID = id
	}
	if t.ID == "" {
		return ""
	}
	if _, seen := d.terms[t.ID]; !seen {
		name := d.text(t.Name)
		if name == nil {
			name = map[string]string{d.locale: t.ID}
		}
		term := &directoryv1.TaxonomyTerm{Id: t.ID, Code: t.Code, Name: name, Description: d.text(t.Description), ParentId: t.ParentID, Taxonomy: t.Taxonomy}
		d.terms[t.ID] = term
		d.b.TaxonomyTerms = append(d.b.TaxonomyTerms, term)
	}
	return t.ID
}

// orderTerms puts parents before their children.
func (d *decoder) orderTerms() {
	depth := func(t *directoryv1.TaxonomyTerm) int {
		n := 0
		for p := d.terms[t.GetParentId()]; p != nil && n < 100; p = d.terms[p.GetParentId()] {
			n++
		}
		return n
	}
	slices.SortStableFunc(d.b.TaxonomyTerms, func(a, b *directoryv1.TaxonomyTerm) int { return depth(a) - depth(b) })
}

func (d *decoder) service(s hService, orgID string) {
	if s.ID == "" {
		d.warn("a service without id was skipped")
		return
	}
	if _, seen := d.svcs[s.ID]; seen {
		return
	}
	if s.Organization != nil {
		d.organization(*s.Organization)
		if s.OrganizationID == "" {
			s.OrganizationID = s.Organization.ID
		}
	}
	if s.OrganizationID == "" {
		s.OrganizationID = orgID
	}
	owner := "service " + s.ID
	status := s.Status
	if !slices.Contains([]string{"active", "inactive", "defunct", "temporarily closed"}, status) {
		status = ""
	}
	svc := &directoryv1.Service{Id: s.ID, OrganizationId: s.OrganizationID, Name: d.text(s.Name), Description: d.text(s.Description),
		Url: httpURL(s.URL), Email: s.Email, Status: status, InterpretationServices: d.text(s.InterpretationServices),
		ApplicationProcess: d.text(s.ApplicationProcess), Fees: d.text(s.FeesDescription), Eligibility: d.text(s.EligibilityDescription),
		Languages: langs(s.Languages), Phones: d.phones(s.Phones, owner), Contacts: d.contacts(s.Contacts, owner),
		Schedules: d.schedules(s.Schedules, owner)}
	if s.MinimumAge != nil && *s.MinimumAge > 0 && *s.MinimumAge <= 120 {
		svc.MinimumAge = int32(*s.MinimumAge)
	}
	if s.MaximumAge != nil && *s.MaximumAge > 0 && *s.MaximumAge <= 120 {
		svc.MaximumAge = int32(*s.MaximumAge)
	}
	if svc.Name == nil {
		svc.Name = map[string]string{d.locale: s.ID}
		d.warn("%s has no name: its id is used", owner)
	}
	for _, rd := range s.RequiredDocuments {
		if rd.Document != "" {
			svc.RequiredDocuments = append(svc.RequiredDocuments, &directoryv1.RequiredDocument{Document: d.text(rd.Document), Uri: httpURL(rd.URI)})
		}
	}
	for _, sal := range s.ServiceAtLocations {
		id := sal.LocationID
		if sal.Location != nil {
			if sal.Location.OrganizationID == "" {
				sal.Location.OrganizationID = s.OrganizationID
			}
			d.location(*sal.Location)
			id = sal.Location.ID
		}
		if id == "" || slices.ContainsFunc(svc.ServiceAtLocations, func(x *directoryv1.ServiceAtLocation) bool { return x.GetLocationId() == id }) {
			continue
		}
		svc.ServiceAtLocations = append(svc.ServiceAtLocations, &directoryv1.ServiceAtLocation{LocationId: id, Description: d.text(sal.Description),
			Schedules: d.schedules(sal.Schedules, owner), Phones: d.phones(sal.Phones, owner)})
	}
	translations(s.Attributes, map[string]*map[string]string{"name": &svc.Name, "description": &svc.Description})
	d.keepIDs(kindService, s.ID, s.Attributes)
	for _, a := range s.Attributes {
		switch a.LinkType {
		case "ponte_translation", LinkTypeID:
		case "ponte_target_group", "target_group":
			code := string(a.Value)
			if a.TaxonomyTerm != nil && a.TaxonomyTerm.Code != "" {
				code = a.TaxonomyTerm.Code
			}
			if !slices.Contains(directory.TargetGroups, code) {
				d.warn("%s: target group %q is not in the vocabulary: skipped", owner, code)
				continue
			}
			if !slices.Contains(svc.TargetGroups, code) {
				svc.TargetGroups = append(svc.TargetGroups, code)
			}
		default:
			if id := d.term(a.TaxonomyTerm, a.TaxonomyTermID); id != "" {
				d.keepID(kindTerm, id, string(a.Value)) // an export's term keeps its id in value
				if !slices.Contains(svc.TaxonomyTermIds, id) {
					svc.TaxonomyTermIds = append(svc.TaxonomyTermIds, id)
				}
			}
		}
	}
	d.svcs[s.ID] = svc
	d.b.Services = append(d.b.Services, svc)
}
