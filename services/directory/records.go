package directory

import (
	"crypto/rand"
	"fmt"
	"sort"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/edgejson"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/directory/store"
)

// fallbackLocale is the locale whose text is returned when the requested one is missing.
const fallbackLocale = "it"

// resource is a directory record as its API message.
type resource interface {
	proto.Message
	GetId() string
	GetEtag() string
	GetOrigin() string
}

// newID returns a random (version 4) UUID, the id of records created without one.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// outputOnly are the fields a caller cannot set: the store does.
var outputOnly = []protoreflect.Name{"etag", "create_time", "update_time", "origin"}

// docOf returns the stored document of m: protojson without the output-only fields.
func docOf(m proto.Message) []byte {
	c := proto.Clone(m)
	fields := c.ProtoReflect().Descriptor().Fields()
	for _, name := range outputOnly {
		if fd := fields.ByName(name); fd != nil {
			c.ProtoReflect().Clear(fd)
		}
	}
	raw, err := protojson.Marshal(c)
	if err != nil { // a valid message always marshals
		panic(err)
	}
	return raw
}

// decodeRecord fills m from r: its document, etag and times.
func decodeRecord(r store.Record, m proto.Message) error {
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(r.Doc, m); err != nil {
		return fmt.Errorf("decode %s %s: %w", r.Kind, r.ID, err)
	}
	pr := m.ProtoReflect()
	fields := pr.Descriptor().Fields()
	pr.Set(fields.ByName("etag"), protoreflect.ValueOfString(r.Etag))
	pr.Set(fields.ByName("create_time"), protoreflect.ValueOfMessage(timestamppb.New(r.CreateTime).ProtoReflect()))
	pr.Set(fields.ByName("update_time"), protoreflect.ValueOfMessage(timestamppb.New(r.UpdateTime).ProtoReflect()))
	if r.Origin != "" {
		pr.Set(fields.ByName("origin"), protoreflect.ValueOfString(r.Origin))
	} else {
		pr.Clear(fields.ByName("origin"))
	}
	return nil
}

func decodeService(r store.Record) (*directoryv1.Service, error) {
	m := &directoryv1.Service{}
	return m, decodeRecord(r, m)
}

func decodeLocation(r store.Record) (*directoryv1.Location, error) {
	m := &directoryv1.Location{}
	return m, decodeRecord(r, m)
}

func decodeTerm(r store.Record) (*directoryv1.TaxonomyTerm, error) {
	m := &directoryv1.TaxonomyTerm{}
	return m, decodeRecord(r, m)
}

func decodeOrganization(r store.Record) (*directoryv1.Organization, error) {
	m := &directoryv1.Organization{}
	return m, decodeRecord(r, m)
}

// localizePage localizes a service held as binary protobuf (the search index's pages).
func localizePage(page []byte, locale string) ([]byte, error) {
	m := &directoryv1.Service{}
	if err := proto.Unmarshal(page, m); err != nil {
		return nil, fmt.Errorf("localize service: %w", err)
	}
	localize(m, locale)
	out, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("localize service %s: %w", m.GetId(), err)
	}
	return out, nil
}

// renderPage renders a service's page (binary protobuf) as the REST edge writes it, as
// the edgejson.Attachment of a search result, for searches the edge makes.
func renderPage(page []byte) ([]byte, error) {
	m := &directoryv1.Service{}
	if err := proto.Unmarshal(page, m); err != nil {
		return nil, fmt.Errorf("render service: %w", err)
	}
	j, err := edgejson.Render(m)
	if err != nil {
		return nil, err
	}
	return edgejson.NewAttachment(j), nil
}

// localize reduces every translatable map of m (and of its nested messages) to the text
// in locale, else Italian, else the first locale in alphabetical order, keyed by the
// locale of the text returned. An empty locale keeps every translation.
func localize(m proto.Message, locale string) {
	if locale == "" || m == nil {
		return
	}
	localizeReflect(m.ProtoReflect(), locale)
}

func localizeReflect(pr protoreflect.Message, locale string) {
	pr.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap() && fd.MapKey().Kind() == protoreflect.StringKind && fd.MapValue().Kind() == protoreflect.StringKind:
			mp := v.Map()
			key, text, ok := pickLocale(mp, locale)
			var drop []protoreflect.MapKey
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				drop = append(drop, k)
				return true
			})
			for _, k := range drop {
				mp.Clear(k)
			}
			if ok {
				mp.Set(protoreflect.ValueOfString(key).MapKey(), protoreflect.ValueOfString(text))
			}
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			l := v.List()
			for i := range l.Len() {
				localizeReflect(l.Get(i).Message(), locale)
			}
		case !fd.IsList() && !fd.IsMap() && fd.Kind() == protoreflect.MessageKind:
			localizeReflect(v.Message(), locale)
		}
		return true
	})
}

func pickLocale(mp protoreflect.Map, locale string) (string, string, bool) {
	for _, want := range []string{locale, fallbackLocale} {
		if v := mp.Get(protoreflect.ValueOfString(want).MapKey()); v.IsValid() {
			return want, v.String(), true
		}
	}
	var keys []string
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k.String())
		return true
	})
	if len(keys) == 0 {
		return "", "", false
	}
	sort.Strings(keys)
	return keys[0], mp.Get(protoreflect.ValueOfString(keys[0]).MapKey()).String(), true
}

// Text returns the text of a translatable map in locale, else in Italian, else in the
// alphabetically first locale: the fallbacks of every localized read.
func Text(m map[string]string, locale string) string {
	for _, want := range []string{locale, fallbackLocale} {
		if t, ok := m[want]; ok && want != "" {
			return t
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return m[keys[0]]
}

// placeOf sets the territory columns of r from an ISTAT municipality code.
func placeOf(r *store.Record, c *territory.Catalog, municipality string) bool {
	m, ok := c.Municipality(municipality)
	if !ok {
		return false
	}
	r.Municipality, r.Province, r.Region = m.Code, m.ProvinceCode, m.RegionCode
	return true
}

// organizationRecord validates o and returns its record.
func (s *directoryServer) organizationRecord(o *directoryv1.Organization) (store.Record, error) {
	var bad grpcerr.Violations
	r := store.Record{Kind: store.KindOrganization, ID: o.GetId(), OrganizationID: o.GetId()}
	if code := o.GetMunicipalityCode(); code != "" && !placeOf(&r, s.catalog, code) {
		bad.Add("organization.municipality_code", "unknown municipality %q", code)
	}
	r.Doc = docOf(o)
	return r, bad.Err()
}

// locationRecord validates l and returns its record.
func (s *directoryServer) locationRecord(l *directoryv1.Location) (store.Record, error) {
	var bad grpcerr.Violations
	r := store.Record{Kind: store.KindLocation, ID: l.GetId(), OrganizationID: l.GetOrganizationId(),
		Refs: []store.Ref{{Kind: store.KindOrganization, ID: l.GetOrganizationId(), Field: "location.organization_id"}}}
	if l.GetMunicipalityCode() != "" && !placeOf(&r, s.catalog, l.GetMunicipalityCode()) {
		bad.Add("location.municipality_code", "unknown municipality %q", l.GetMunicipalityCode())
	}
	if l.Latitude == nil && l.Longitude != nil {
		bad.Add("location.latitude", "give latitude and longitude together, or neither")
	}
	if l.Latitude != nil && l.Longitude == nil {
		bad.Add("location.longitude", "give latitude and longitude together, or neither")
	}
	checkSchedules(&bad, "location.schedules", l.GetSchedules())
	r.Doc = docOf(l)
	return r, bad.Err()
}

// serviceRecord validates sv and returns its record.
func (s *directoryServer) serviceRecord(sv *directoryv1.Service) (store.Record, error) {
	var bad grpcerr.Violations
	r := store.Record{Kind: store.KindService, ID: sv.GetId(), OrganizationID: sv.GetOrganizationId(),
		Refs: []store.Ref{{Kind: store.KindOrganization, ID: sv.GetOrganizationId(), Field: "service.organization_id"}}}
	for i, t := range sv.GetTaxonomyTermIds() {
		r.Refs = append(r.Refs, store.Ref{Kind: store.KindTaxonomyTerm, ID: t, Field: fmt.Sprintf("service.taxonomy_term_ids[%d]", i)})
	}
	seen := map[string]bool{}
	for i, sal := range sv.GetServiceAtLocations() {
		if seen[sal.GetLocationId()] {
			bad.Add(fmt.Sprintf("service.service_at_locations[%d].location_id", i), "location %q is listed twice", sal.GetLocationId())
		}
		seen[sal.GetLocationId()] = true
		r.Refs = append(r.Refs, store.Ref{Kind: store.KindLocation, ID: sal.GetLocationId(), Field: fmt.Sprintf("service.service_at_locations[%d].location_id", i)})
		checkSchedules(&bad, fmt.Sprintf("service.service_at_locations[%d].schedules", i), sal.GetSchedules())
	}
	checkSchedules(&bad, "service.schedules", sv.GetSchedules())
	if sv.GetMaximumAge() != 0 && sv.GetMaximumAge() < sv.GetMinimumAge() {
		bad.Add("service.maximum_age", "is below minimum_age")
	}
	r.Doc = docOf(sv)
	return r, bad.Err()
}

// termRecord validates t and returns its record.
func (s *directoryServer) termRecord(t *directoryv1.TaxonomyTerm) (store.Record, error) {
	var bad grpcerr.Violations
	r := store.Record{Kind: store.KindTaxonomyTerm, ID: t.GetId(), OrganizationID: t.GetOrganizationId()}
	if t.GetOrganizationId() != "" {
		r.Refs = append(r.Refs, store.Ref{Kind: store.KindOrganization, ID: t.GetOrganizationId(), Field: "taxonomy_term.organization_id"})
	}
	if p := t.GetParentId(); p != "" {
		if p == t.GetId() {
			bad.Add("taxonomy_term.parent_id", "a term cannot be its own parent")
		}
		r.Refs = append(r.Refs, store.Ref{Kind: store.KindTaxonomyTerm, ID: p, Field: "taxonomy_term.parent_id"})
	}
	r.Doc = docOf(t)
	return r, bad.Err()
}

// checkSchedules adds the grpcerr.Violations of schedules that protovalidate cannot see.
func checkSchedules(bad *grpcerr.Violations, field string, scheds []*directoryv1.Schedule) {
	for i, sc := range scheds {
		f := fmt.Sprintf("%s[%d]", field, i)
		weekly := sc.GetWeekday() != directoryv1.Weekday_WEEKDAY_UNSPECIFIED
		switch {
		case weekly && sc.GetExceptionDate() != "":
			bad.Add(f, "a schedule is either weekly (weekday) or an exception (exception_date), not both")
		case !weekly && sc.GetExceptionDate() == "":
			bad.Add(f, "a schedule needs a weekday or an exception_date")
		case weekly && (sc.GetOpensAt() == "" || sc.GetClosesAt() == ""):
			bad.Add(f, "a weekly opening needs opens_at and closes_at")
		case !sc.GetClosed() && sc.GetExceptionDate() != "" && (sc.GetOpensAt() == "" || sc.GetClosesAt() == ""):
			bad.Add(f, "an exception is closed, or has opens_at and closes_at")
		case sc.GetOpensAt() != "" && sc.GetClosesAt() <= sc.GetOpensAt():
			bad.Add(f+".closes_at", "must be after opens_at")
		case sc.GetValidFrom() != "" && sc.GetValidTo() != "" && sc.GetValidTo() < sc.GetValidFrom():
			bad.Add(f+".valid_to", "is before valid_from")
		}
	}
}
