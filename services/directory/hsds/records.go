package hsds

import (
	"fmt"
	"sort"
	"strconv"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/services/directory"
)

// put sets key to v unless v is empty.
func put(m map[string]any, key string, v any) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return
		}
	case []map[string]any:
		if len(x) == 0 {
			return
		}
	case int32:
		if x == 0 {
			return
		}
	}
	m[key] = v
}

func serviceStatus(sv *directoryv1.Service) string {
	if sv.GetStatus() == "" {
		return "active"
	}
	return sv.GetStatus()
}

var byday = map[directoryv1.Weekday]string{
	directoryv1.Weekday_WEEKDAY_MONDAY: "MO", directoryv1.Weekday_WEEKDAY_TUESDAY: "TU", directoryv1.Weekday_WEEKDAY_WEDNESDAY: "WE",
	directoryv1.Weekday_WEEKDAY_THURSDAY: "TH", directoryv1.Weekday_WEEKDAY_FRIDAY: "FR", directoryv1.Weekday_WEEKDAY_SATURDAY: "SA",
	directoryv1.Weekday_WEEKDAY_SUNDAY: "SU",
}

// schedules maps schedules; owner is the owner's key, link names the owner by its HSDS
// id ("service_id": id...).
func schedules(scheds []*directoryv1.Schedule, owner string, link map[string]string, locale string) []map[string]any {
	out := []map[string]any{}
	for i, sc := range scheds {
		m := map[string]any{"id": subID(fmt.Sprintf("%s/schedules/%d", owner, i))}
		for k, v := range link {
			m[k] = v
		}
		if d, ok := byday[sc.GetWeekday()]; ok {
			m["freq"], m["byday"] = "WEEKLY", d
			put(m, "valid_from", sc.GetValidFrom())
			put(m, "valid_to", sc.GetValidTo())
		} else {
			m["valid_from"], m["valid_to"] = sc.GetExceptionDate(), sc.GetExceptionDate()
			if sc.GetClosed() {
				m["description"] = "closed"
			}
		}
		put(m, "opens_at", sc.GetOpensAt())
		put(m, "closes_at", sc.GetClosesAt())
		put(m, "notes", directory.Text(sc.GetNotes(), locale))
		out = append(out, m)
	}
	return out
}

func phones(ps []*directoryv1.Phone, owner string, link map[string]string, locale string) []map[string]any {
	out := []map[string]any{}
	for i, p := range ps {
		k := fmt.Sprintf("%s/phones/%d", owner, i)
		id := subID(k)
		m := map[string]any{"id": id, "number": p.GetNumber()}
		for k, v := range link {
			m[k] = v
		}
		if ext, err := strconv.ParseFloat(p.GetExtension(), 64); err == nil {
			m["extension"] = ext // HSDS types extensions as numbers
		}
		put(m, "type", p.GetType())
		put(m, "description", directory.Text(p.GetDescription(), locale))
		put(m, "languages", languages(p.GetLanguages(), k, map[string]string{"phone_id": id}))
		out = append(out, m)
	}
	return out
}

func languages(codes []string, owner string, link map[string]string) []map[string]any {
	out := []map[string]any{}
	for _, c := range codes {
		m := map[string]any{"id": subID(owner + "/languages/" + c), "code": c}
		for k, v := range link {
			m[k] = v
		}
		out = append(out, m)
	}
	return out
}

func contacts(cs []*directoryv1.Contact, owner string, link map[string]string, locale string) []map[string]any {
	out := []map[string]any{}
	for i, c := range cs {
		k := fmt.Sprintf("%s/contacts/%d", owner, i)
		id := subID(k)
		m := map[string]any{"id": id, "name": c.GetName()}
		for k, v := range link {
			m[k] = v
		}
		put(m, "title", directory.Text(c.GetTitle(), locale))
		put(m, "email", c.GetEmail())
		put(m, "phones", phones(c.GetPhones(), k, map[string]string{"contact_id": id}, locale))
		out = append(out, m)
	}
	return out
}

func term(t *directoryv1.TaxonomyTerm, locale string) map[string]any {
	m := map[string]any{"id": ID(kindTerm, t.GetId()), "name": directory.Text(t.GetName(), locale), "description": directory.Text(t.GetDescription(), locale)}
	put(m, "code", t.GetCode())
	put(m, "parent_id", ID(kindTerm, t.GetParentId()))
	if t.GetTaxonomy() != "" {
		tx := taxonomyOf(t.GetTaxonomy())
		m["taxonomy"], m["taxonomy_id"] = tx.Code, tx.ID
	}
	return m
}

func (s *snapshot) organizationSummary(o *directoryv1.Organization, locale string) map[string]any {
	m := map[string]any{"id": ID(kindOrganization, o.GetId()), "name": directory.Text(o.GetName(), locale), "description": directory.Text(o.GetDescription(), locale)}
	put(m, "alternate_name", o.GetAlternateName())
	put(m, "email", o.GetEmail())
	put(m, "website", o.GetWebsite())
	put(m, "tax_id", o.GetTaxId())
	return m
}

func (s *snapshot) organization(o *directoryv1.Organization, locale string, _ []string) map[string]any {
	m := s.organizationSummary(o, locale)
	k := key(kindOrganization, o.GetId())
	link := map[string]string{"organization_id": ID(kindOrganization, o.GetId())}
	put(m, "phones", phones(o.GetPhones(), k, link, locale))
	put(m, "contacts", contacts(o.GetContacts(), k, link, locale))
	var ids []string
	for id, l := range s.locs {
		if l.GetOrganizationId() == o.GetId() {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var locs []map[string]any
	for _, id := range ids {
		locs = append(locs, s.location(s.locs[id], locale))
	}
	put(m, "locations", locs)
	return m
}

func (s *snapshot) location(l *directoryv1.Location, locale string) map[string]any {
	k, id := key(kindLocation, l.GetId()), ID(kindLocation, l.GetId())
	m := map[string]any{"id": id, "location_type": "physical"}
	put(m, "organization_id", ID(kindOrganization, l.GetOrganizationId()))
	put(m, "name", directory.Text(l.GetName(), locale))
	put(m, "description", directory.Text(l.GetDescription(), locale))
	if l.Latitude != nil && l.Longitude != nil {
		m["latitude"], m["longitude"] = l.GetLatitude(), l.GetLongitude()
	}
	put(m, "external_identifier", l.GetMunicipalityCode())
	if l.GetMunicipalityCode() != "" {
		m["external_identifier_type"] = "ISTAT municipality code"
	}
	if a := l.GetAddress(); a != nil {
		country := a.GetCountry()
		if country == "" {
			country = "IT"
		}
		m["addresses"] = []map[string]any{{
			"id": subID(k + "/address"), "location_id": id, "address_type": "physical",
			"address_1": a.GetAddress_1(), "address_2": a.GetAddress_2(), "city": a.GetCity(),
			"state_province": a.GetStateProvince(), "postal_code": a.GetPostalCode(), "country": country,
		}}
	}
	if acc := directory.Text(l.GetAccessibility(), locale); acc != "" || l.GetWheelchairAccessible() {
		a := map[string]any{"id": subID(k + "/accessibility"), "location_id": id}
		put(a, "description", acc)
		if l.GetWheelchairAccessible() {
			a["details"] = "wheelchair accessible"
		}
		m["accessibility"] = []map[string]any{a}
	}
	link := map[string]string{"location_id": id}
	put(m, "languages", languages(l.GetLanguages(), k, link))
	put(m, "phones", phones(l.GetPhones(), k, link, locale))
	put(m, "schedules", schedules(l.GetSchedules(), k, link, locale))
	return m
}

func (s *snapshot) serviceSummary(sv *directoryv1.Service, locale string) map[string]any {
	m := map[string]any{"id": ID(kindService, sv.GetId()), "name": directory.Text(sv.GetName(), locale), "status": serviceStatus(sv)}
	put(m, "organization_id", ID(kindOrganization, sv.GetOrganizationId()))
	put(m, "description", directory.Text(sv.GetDescription(), locale))
	put(m, "url", sv.GetUrl())
	put(m, "email", sv.GetEmail())
	put(m, "interpretation_services", directory.Text(sv.GetInterpretationServices(), locale))
	put(m, "application_process", directory.Text(sv.GetApplicationProcess(), locale))
	put(m, "fees_description", directory.Text(sv.GetFees(), locale))
	put(m, "eligibility_description", directory.Text(sv.GetEligibility(), locale))
	if sv.GetMinimumAge() > 0 {
		m["minimum_age"] = sv.GetMinimumAge()
	}
	if sv.GetMaximumAge() > 0 {
		m["maximum_age"] = sv.GetMaximumAge()
	}
	if sv.GetUpdateTime() != nil {
		m["last_modified"] = ts(sv.GetUpdateTime())
	}
	if o := s.orgs[sv.GetOrganizationId()]; o != nil {
		m["organization"] = s.organizationSummary(o, locale)
	}
	return m
}

func (s *snapshot) serviceAtLocation(sv *directoryv1.Service, _ int, sal *directoryv1.ServiceAtLocation, locale string) map[string]any {
	k := salKey(sv.GetId(), sal.GetLocationId())
	id := subID(k)
	m := map[string]any{"id": id, "service_id": ID(kindService, sv.GetId()), "location_id": ID(kindLocation, sal.GetLocationId())}
	put(m, "description", directory.Text(sal.GetDescription(), locale))
	link := map[string]string{"service_at_location_id": id}
	put(m, "phones", phones(sal.GetPhones(), k, link, locale))
	put(m, "schedules", schedules(sal.GetSchedules(), k, link, locale))
	if l := s.locs[sal.GetLocationId()]; l != nil {
		m["location"] = s.location(l, locale)
	}
	return m
}

// service is the fully nested HSDS service.
func (s *snapshot) service(sv *directoryv1.Service, locale string) map[string]any {
	m := s.serviceSummary(sv, locale)
	k, id := key(kindService, sv.GetId()), ID(kindService, sv.GetId())
	link := map[string]string{"service_id": id}
	put(m, "phones", phones(sv.GetPhones(), k, link, locale))
	put(m, "contacts", contacts(sv.GetContacts(), k, link, locale))
	put(m, "schedules", schedules(sv.GetSchedules(), k, link, locale))
	put(m, "languages", languages(sv.GetLanguages(), k, link))
	var sals []map[string]any
	for i, sal := range sv.GetServiceAtLocations() {
		sals = append(sals, s.serviceAtLocation(sv, i, sal, locale))
	}
	put(m, "service_at_locations", sals)
	var docs []map[string]any
	for i, d := range sv.GetRequiredDocuments() {
		doc := map[string]any{"id": subID(fmt.Sprintf("%s/required_documents/%d", k, i)), "service_id": id, "document": directory.Text(d.GetDocument(), locale)}
		put(doc, "uri", d.GetUri())
		docs = append(docs, doc)
	}
	put(m, "required_documents", docs)
	var attrs []map[string]any
	for _, tid := range sv.GetTaxonomyTermIds() {
		a := map[string]any{"id": subID(k + "/attributes/" + tid), "link_id": id, "link_entity": "service",
			"link_type": "taxonomy_term", "taxonomy_term_id": ID(kindTerm, tid)}
		if t := s.terms[tid]; t != nil {
			a["taxonomy_term"] = term(t, locale)
			a["label"] = directory.Text(t.GetName(), locale)
		}
		attrs = append(attrs, a)
	}
	for _, g := range sv.GetTargetGroups() {
		attrs = append(attrs, map[string]any{"id": subID(k + "/attributes/target_group/" + g), "link_id": id,
			"link_entity": "service", "link_type": "target_group", "value": g, "label": g})
	}
	put(m, "attributes", attrs)
	return m
}

// salKey is the key of the service at a location: the service's key, "/at/", the
// location's internal id.
func salKey(serviceID, locationID string) string {
	return key(kindService, serviceID) + "/at/" + locationID
}
