package hsds

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/services/directory/seed"
)

// Export writes the whole directory (at most maxScan records of each kind) to w as an
// HSDS 3.1 organization package: a JSON array of organizations, each with its locations
// and its services in full. Text is in Italian (else the first locale); the other
// locales of names and descriptions go in "ponte_translation" attributes, the ISTAT
// municipality of a location in a "ponte_istat_municipality" attribute, an
// organization's type in "ponte_organization_type" and target groups in
// "ponte_target_group" attributes, so that Decode and Import read back what Ponte
// keeps. Text only in another locale than Italian is exported as the record's own text
// too (HSDS needs one), so it reads back as Italian as well. Other translatable fields
// (eligibility, fees...) travel in Italian only, and so do the labels of embedded
// terms; HSDS has no place for "free" (read the fees). Terms a service uses are embedded in its attributes; terms no service uses
// are not exported.
func Export(ctx context.Context, c directoryv1.DirectoryServiceClient, w io.Writer) error {
	h := &handler{c: c}
	s, err := h.snapshot(ctx, "")
	if err != nil {
		return fmt.Errorf("export: read directory: %w", err)
	}
	// Every service, inactive and defunct ones too (search would leave them out).
	var svcs []*directoryv1.Service
	for tok, n := "", 0; n < maxScan; n += maxPerPage {
		resp, err := c.ListServices(ctx, &directoryv1.ListServicesRequest{PageSize: maxPerPage, PageToken: tok})
		if err != nil {
			return fmt.Errorf("export: read services: %w", err)
		}
		svcs = append(svcs, resp.GetServices()...)
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	byOrg := map[string][]*directoryv1.Service{}
	for _, sv := range svcs {
		byOrg[sv.GetOrganizationId()] = append(byOrg[sv.GetOrganizationId()], sv)
	}
	ids := make([]string, 0, len(s.orgs))
	for id := range s.orgs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	const locale = "it"
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		o := s.orgs[id]
		m := s.organization(o, locale, nil)
		ok, hid := key(kindOrganization, id), ID(kindOrganization, id)
		attrs := idAttrs(kindOrganization, id)
		attrs = append(attrs, translationAttrs(kindOrganization, id, locale, map[string]map[string]string{"name": o.GetName(), "description": o.GetDescription()})...)
		if t := orgTypeCode(o.GetType()); t != "" {
			attrs = append(attrs, map[string]any{"id": subID(ok + "/attributes/type"), "link_id": hid, "link_entity": "organization",
				"link_type": "ponte_organization_type", "value": t, "label": t})
		}
		if code := o.GetMunicipalityCode(); code != "" {
			attrs = append(attrs, map[string]any{"id": subID(ok + "/attributes/istat"), "link_id": hid, "link_entity": "organization",
				"link_type": "ponte_istat_municipality", "value": code, "label": code})
		}
		put(m, "attributes", attrs)
		if locs, ok := m["locations"].([]map[string]any); ok {
			for _, l := range locs {
				lid := s.byHSDS[kindLocation+" "+strings.ToLower(l["id"].(string))]
				la := idAttrs(kindLocation, lid)
				if code, _ := l["external_identifier"].(string); code != "" {
					la = append(la, map[string]any{"id": subID(key(kindLocation, lid) + "/attributes/istat"), "link_id": l["id"], "link_entity": "location",
						"link_type": "ponte_istat_municipality", "value": code, "label": code})
				}
				put(l, "attributes", la)
			}
		}
		services := []map[string]any{}
		sort.Slice(byOrg[id], func(i, j int) bool { return byOrg[id][i].GetId() < byOrg[id][j].GetId() })
		for _, sv := range byOrg[id] {
			sm := s.service(sv, locale)
			delete(sm, "organization") // the enclosing organization
			attrs, _ := sm["attributes"].([]map[string]any)
			for i := range attrs {
				switch attrs[i]["link_type"] {
				case "target_group":
					attrs[i]["link_type"] = "ponte_target_group"
				case "taxonomy_term":
					// The term's internal id, for Decode, when its HSDS id is derived.
					tid, _ := attrs[i]["taxonomy_term_id"].(string)
					if internal := s.byHSDS[kindTerm+" "+strings.ToLower(tid)]; internal != "" && internal != tid {
						attrs[i]["value"] = internal
					}
				}
			}
			attrs = append(idAttrs(kindService, sv.GetId()), attrs...)
			attrs = append(attrs, translationAttrs(kindService, sv.GetId(), locale, map[string]map[string]string{"name": sv.GetName(), "description": sv.GetDescription()})...)
			put(sm, "attributes", attrs)
			services = append(services, sm)
		}
		m["services"] = services
		out = append(out, m)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	return nil
}

// LinkTypeID is the link_type of the attribute that carries, in an export, the internal id
// of a record whose HSDS id is derived from it (see ID), so that Decode gives the record
// its id back.
const LinkTypeID = "ponte_id"

// idAttrs is the "ponte_id" attribute of the record of kind with internal id, when its
// HSDS id is not that id.
func idAttrs(kind, id string) []map[string]any {
	if id == "" || ID(kind, id) == id {
		return nil
	}
	return []map[string]any{{"id": subID(key(kind, id) + "/attributes/ponte_id"), "link_id": ID(kind, id), "link_entity": kind,
		"link_type": LinkTypeID, "value": id, "label": "Ponte id"}}
}

// localeTerms are the built-in locale terms by code, embedded in translation attributes.
var localeTerms = sync.OnceValue(func() map[string]seed.Term {
	out := map[string]seed.Term{}
	terms, _ := seed.LocaleTerms() // the embedded file is tested
	for _, t := range terms {
		out[t.Code] = t
	}
	return out
})

// translationAttrs are the "ponte_translation" attributes of the texts not in locale.
func translationAttrs(kind, owner, locale string, texts map[string]map[string]string) []map[string]any {
	var out []map[string]any
	fields := []string{"name", "description"}
	for _, field := range fields {
		m := texts[field]
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == locale {
				continue // the record's own text
			}
			lt := map[string]any{"id": subID("locale/" + k), "code": k, "name": k, "description": "", "taxonomy": seed.LocaleTaxonomy, "taxonomy_id": seed.LocalesTaxonomyID}
			if t, ok := localeTerms()[k]; ok {
				lt["id"], lt["name"] = t.ID, t.Labels[locale]
			}
			out = append(out, map[string]any{
				"id": subID(key(kind, owner) + "/translations/" + field + "/" + k), "link_id": ID(kind, owner), "link_entity": kind,
				"link_type": "ponte_translation", "label": field, "value": m[k], "taxonomy_term_id": lt["id"], "taxonomy_term": lt,
			})
		}
	}
	return out
}

func orgTypeCode(t directoryv1.OrganizationType) string {
	for code, v := range orgTypes {
		if v == t {
			return code
		}
	}
	return ""
}
