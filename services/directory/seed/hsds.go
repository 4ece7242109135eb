package seed

// The HSDS 3.1 types below cover exactly the fields the demo data uses; the JSON they encode
// is an HSDS 3.1 organization package. Field names follow the HSDS JSON names.

// Attribute link types used by Ponte in HSDS attribute records (attribute.link_type).
const (
	// LinkTypeTaxonomy links a service to a term of the built-in services taxonomy.
	LinkTypeTaxonomy = "ponte_taxonomy"
	// LinkTypeTargetGroup links a service to a term of the target groups vocabulary.
	LinkTypeTargetGroup = "ponte_target_group"
	// LinkTypeTranslation carries a translation: label is the translated field ("name",
	// "description"), value the text and taxonomy_term.code the locale.
	LinkTypeTranslation = "ponte_translation"
	// LinkTypeISTATMunicipality carries, on a location, the six-digit ISTAT code of its
	// municipality in value (label: the municipality's name).
	LinkTypeISTATMunicipality = "ponte_istat_municipality"
	// LinkTypeOrganizationType carries, on an organization, its type in value (see OrgTypes).
	LinkTypeOrganizationType = "ponte_organization_type"
	// LocaleTaxonomy is the taxonomy name of the locale terms of translation attributes.
	LocaleTaxonomy = "ponte-locales"
)

// OrgTypes returns the organization types used as values of LinkTypeOrganizationType.
func OrgTypes() []string {
	return []string{"public-body", "health-trust", "school", "cooperative", "association", "faith-community", "trade-union", "foundation"}
}

// Organization is an HSDS 3.1 organization with its locations and services.
type Organization struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Email       string      `json:"email,omitempty"`
	Website     string      `json:"website,omitempty"`
	Phones      []Phone     `json:"phones,omitempty"`
	Locations   []Location  `json:"locations,omitempty"`
	Services    []Service   `json:"services,omitempty"`
	Attributes  []Attribute `json:"attributes,omitempty"`
}

// Location is an HSDS 3.1 physical location.
type Location struct {
	ID             string          `json:"id"`
	LocationType   string          `json:"location_type"`
	OrganizationID string          `json:"organization_id,omitempty"`
	Name           string          `json:"name,omitempty"`
	Latitude       float64         `json:"latitude"`
	Longitude      float64         `json:"longitude"`
	Transportation string          `json:"transportation,omitempty"`
	Addresses      []Address       `json:"addresses,omitempty"`
	Accessibility  []Accessibility `json:"accessibility,omitempty"`
	Attributes     []Attribute     `json:"attributes,omitempty"`
}

// Address is an HSDS 3.1 address; StateProvince holds the province's plate abbreviation.
type Address struct {
	ID            string `json:"id"`
	LocationID    string `json:"location_id,omitempty"`
	Address1      string `json:"address_1"`
	City          string `json:"city"`
	Region        string `json:"region,omitempty"`
	StateProvince string `json:"state_province"`
	PostalCode    string `json:"postal_code"`
	Country       string `json:"country"`
	AddressType   string `json:"address_type"`
}

// Accessibility is an HSDS 3.1 accessibility record of a location.
type Accessibility struct {
	ID          string `json:"id"`
	LocationID  string `json:"location_id,omitempty"`
	Description string `json:"description,omitempty"`
}

// Service is an HSDS 3.1 service.
type Service struct {
	ID                     string              `json:"id"`
	OrganizationID         string              `json:"organization_id,omitempty"`
	Name                   string              `json:"name"`
	Description            string              `json:"description,omitempty"`
	Email                  string              `json:"email,omitempty"`
	Status                 string              `json:"status"`
	ApplicationProcess     string              `json:"application_process,omitempty"`
	FeesDescription        string              `json:"fees_description,omitempty"`
	EligibilityDescription string              `json:"eligibility_description,omitempty"`
	MinimumAge             *int                `json:"minimum_age,omitempty"`
	MaximumAge             *int                `json:"maximum_age,omitempty"`
	LastModified           string              `json:"last_modified,omitempty"`
	Phones                 []Phone             `json:"phones,omitempty"`
	Schedules              []Schedule          `json:"schedules,omitempty"`
	ServiceAreas           []ServiceArea       `json:"service_areas,omitempty"`
	ServiceAtLocations     []ServiceAtLocation `json:"service_at_locations,omitempty"`
	Languages              []Language          `json:"languages,omitempty"`
	RequiredDocuments      []RequiredDocument  `json:"required_documents,omitempty"`
	Attributes             []Attribute         `json:"attributes,omitempty"`
}

// ServiceAtLocation links a service to one of its organization's locations.
type ServiceAtLocation struct {
	ID         string `json:"id"`
	ServiceID  string `json:"service_id,omitempty"`
	LocationID string `json:"location_id,omitempty"`
}

// ServiceArea names the district a service is meant for.
type ServiceArea struct {
	ID          string `json:"id"`
	ServiceID   string `json:"service_id,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// Schedule is an HSDS 3.1 weekly schedule (an RFC 5545 RRULE subset). OpensAt and ClosesAt
// are local wall-clock times (HH:MM) in Europe/Rome.
type Schedule struct {
	ID          string `json:"id"`
	ServiceID   string `json:"service_id,omitempty"`
	Freq        string `json:"freq"`
	Wkst        string `json:"wkst,omitempty"`
	Interval    int    `json:"interval,omitempty"`
	Byday       string `json:"byday"`
	OpensAt     string `json:"opens_at"`
	ClosesAt    string `json:"closes_at"`
	Description string `json:"description,omitempty"`
}

// Phone is an HSDS 3.1 phone number.
type Phone struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organization_id,omitempty"`
	ServiceID      string `json:"service_id,omitempty"`
	Number         string `json:"number"`
	Type           string `json:"type,omitempty"`
	Description    string `json:"description,omitempty"`
}

// Language is a language spoken at a service (ISO 639-1 code, Italian name).
type Language struct {
	ID        string `json:"id"`
	ServiceID string `json:"service_id,omitempty"`
	Name      string `json:"name"`
	Code      string `json:"code"`
}

// RequiredDocument is a document a service asks for.
type RequiredDocument struct {
	ID        string `json:"id"`
	ServiceID string `json:"service_id,omitempty"`
	Document  string `json:"document"`
}

// Attribute is an HSDS 3.1 attribute; Ponte's link types are the LinkType* constants.
type Attribute struct {
	ID             string         `json:"id"`
	LinkID         string         `json:"link_id,omitempty"`
	LinkEntity     string         `json:"link_entity,omitempty"`
	LinkType       string         `json:"link_type"`
	TaxonomyTermID string         `json:"taxonomy_term_id,omitempty"`
	TaxonomyTerm   *AttributeTerm `json:"taxonomy_term,omitempty"`
	Label          string         `json:"label,omitempty"`
	Value          string         `json:"value,omitempty"`
}

// AttributeTerm is the HSDS 3.1 taxonomy term embedded in an attribute.
type AttributeTerm struct {
	ID          string `json:"id"`
	Code        string `json:"code,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description"`
	ParentID    string `json:"parent_id,omitempty"`
	Taxonomy    string `json:"taxonomy,omitempty"`
	TaxonomyID  string `json:"taxonomy_id,omitempty"`
	Language    string `json:"language,omitempty"`
}
