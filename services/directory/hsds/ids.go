package hsds

import (
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/ponte-network/ponte/services/directory/seed"
)

// Namespace is the UUID namespace of the HSDS ids Ponte derives: the name-based (SHA-1,
// version 5) UUID of the URL "https://ponte-network.org/ns/hsds" in RFC 9562's URL
// namespace. It never changes: every node derives the same ids from the same keys, so
// exports and answers stay stable across runs and nodes.
var Namespace = uuid.MustParse("3fc944db-21f8-5249-8408-8dc7fc48de68")

// The kinds of record whose internal ids key the HSDS ids (the first segment of a key).
const (
	kindOrganization = "organization"
	kindService      = "service"
	kindLocation     = "location"
	kindTerm         = "taxonomy_term"
	kindTaxonomy     = "taxonomy"
)

// ID returns the HSDS id of the record of kind ("organization", "service", "location",
// "taxonomy_term", "taxonomy") whose internal id is id: id itself when it is a UUID
// (records imported from HSDS, the built-in terms), else the UUIDv5 of the key
// "<kind>/<id>" under Namespace. Empty for an empty id.
func ID(kind, id string) string {
	if id == "" {
		return ""
	}
	if isUUID(id) {
		return id
	}
	return subID(kind + "/" + id)
}

// subID returns the UUIDv5 of key under Namespace: the id of a record HSDS wants that
// Ponte does not keep as one (a schedule, an address, a service at a location...). Its key
// is its owner's key and its place in the owner: "service/l2-crema/schedules/0",
// "location/loc-crema/address", "service/l2-crema/at/loc-crema".
func subID(key string) string {
	return uuid.NewSHA1(Namespace, []byte(key)).String()
}

// isUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hex form (any case).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// key is the internal key of the record of kind with internal id: the prefix of its
// sub-records' keys.
func key(kind, id string) string { return kind + "/" + id }

// taxonomyInfo is an HSDS taxonomy: the records' taxonomy value it stands for, with the
// id, name and description HSDS answers.
type taxonomyInfo struct {
	ID, Name, Description, Version string
	// Code is what the taxonomy_term's "taxonomy" field says: the vocabulary's code for a
	// built-in one, else the value the terms carry.
	Code string
}

var vocabularies = sync.OnceValue(func() []seed.Vocabulary {
	v, err := seed.Vocabularies()
	if err != nil {
		return nil // the embedded file is tested; without it taxonomies are named by value
	}
	return v
})

// taxonomyOf returns the HSDS taxonomy of a term's taxonomy value. A built-in vocabulary
// is found by its code ("ponte-services") or its id (the built-in terms carry the id):
// both are one taxonomy, with the vocabulary's id, name and description. Any other value
// is the name an organization gave its taxonomy; its id is the value when that is a
// UUID, else the UUIDv5 of "taxonomy/<value>".
func taxonomyOf(value string) taxonomyInfo {
	for _, v := range vocabularies() {
		if value == v.Code || strings.EqualFold(value, v.ID) {
			return taxonomyInfo{ID: v.ID, Name: v.Name, Description: v.Description, Version: v.Version, Code: v.Code}
		}
	}
	return taxonomyInfo{ID: ID(kindTaxonomy, value), Name: value, Code: value,
		Description: "Terms of the Ponte directory in the taxonomy \u201c" + value + "\u201d, added by its organizations."}
}
