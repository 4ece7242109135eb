// Package seed holds the directory's built-in data: the taxonomy of services for the
// integration of migrants, the vocabulary of target groups (both with labels in the eight
// Ponte locales) and a FICTIONAL demo data set in Open Referral HSDS 3.1 format for the
// territories the programmes cover. Everything is embedded: no file system is needed at run
// time. See docs/directory.md for where translations and ISTAT codes sit in the HSDS records.
package seed

//go:generate go run ./internal/gen -out demo

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
)

// Locales returns the locales every built-in term is labelled in; Italian, the fallback, first.
func Locales() []string { return []string{"it", "en", "fr", "ar", "ro", "es", "uk", "zh"} }

// The identifiers of the built-in vocabularies (HSDS taxonomy ids).
const (
	// ServicesTaxonomyID is the HSDS taxonomy id of the built-in taxonomy of services.
	ServicesTaxonomyID = "4d024b76-ce20-47f8-ab03-07d9803b1c19"
	// TargetGroupsTaxonomyID is the HSDS taxonomy id of the target groups vocabulary.
	TargetGroupsTaxonomyID = "96569c86-b845-4b35-b2f9-487a8761009d"
	// LocalesTaxonomyID is the HSDS taxonomy id of the locale terms used by translations.
	LocalesTaxonomyID = "8223ebf4-b3be-45ee-9082-3978e84ab911"
)

// Term is a term of a built-in vocabulary.
type Term struct {
	// ID is the term's stable UUID; it never changes and is never reused.
	ID string `json:"id"`
	// Code is the term's stable kebab-case code, unique within its vocabulary.
	Code string `json:"code"`
	// ParentCode is the code of the parent term; empty for a top-level term.
	ParentCode string `json:"parent_code,omitempty"`
	// Labels maps each locale of Locales() to the term's name in that locale.
	Labels map[string]string `json:"labels"`
	// Descriptions maps a locale (it, en) to a short description; it may be empty.
	Descriptions map[string]string `json:"descriptions,omitempty"`
}

// Vocabulary describes a built-in vocabulary as an HSDS taxonomy.
type Vocabulary struct {
	// ID is the HSDS taxonomy id.
	ID string `json:"id"`
	// Code is "ponte-services", "ponte-target-groups" or "ponte-locales".
	Code string `json:"code"`
	// Name is the vocabulary's name.
	Name string `json:"name"`
	// Description says what the vocabulary classifies.
	Description string `json:"description"`
	// Version is the vocabulary's version.
	Version string `json:"version"`
}

//go:embed taxonomy.json
var taxonomyJSON []byte

// taxonomyFile is the shape of taxonomy.json.
type taxonomyFile struct {
	Taxonomies   []Vocabulary `json:"taxonomies"`
	Terms        []Term       `json:"terms"`
	TargetGroups []Term       `json:"target_groups"`
	Locales      []Term       `json:"locales"`
}

func parseTaxonomy() (taxonomyFile, error) {
	var f taxonomyFile
	if err := json.Unmarshal(taxonomyJSON, &f); err != nil {
		return taxonomyFile{}, fmt.Errorf("parse embedded taxonomy.json: %w", err)
	}
	return f, nil
}

// Vocabularies returns the built-in vocabularies: services taxonomy, target groups, locales.
func Vocabularies() ([]Vocabulary, error) {
	f, err := parseTaxonomy()
	if err != nil {
		return nil, err
	}
	return f.Taxonomies, nil
}

// Taxonomy returns the built-in taxonomy of services: a two-level tree in which every
// top-level term comes before its children, in a stable order.
func Taxonomy() ([]Term, error) {
	f, err := parseTaxonomy()
	if err != nil {
		return nil, err
	}
	return f.Terms, nil
}

// TargetGroups returns the built-in vocabulary of target groups (a flat list).
func TargetGroups() ([]Term, error) {
	f, err := parseTaxonomy()
	if err != nil {
		return nil, err
	}
	return f.TargetGroups, nil
}

// LocaleTerms returns one term per locale of Locales(), in that order, labelled with the
// language's name in every locale; translation attributes in HSDS records point at them.
func LocaleTerms() ([]Term, error) {
	f, err := parseTaxonomy()
	if err != nil {
		return nil, err
	}
	return f.Locales, nil
}

//go:embed demo/*.json
var demoFS embed.FS

// DemoFiles returns the demo data files, one HSDS 3.1 organization package (a JSON array of
// organizations with their locations and services) per territory, named <territory>.json.
func DemoFiles() (fs.FS, error) {
	sub, err := fs.Sub(demoFS, "demo")
	if err != nil {
		return nil, fmt.Errorf("open embedded demo files: %w", err)
	}
	return sub, nil
}

// Demo returns all the FICTIONAL demo data as one HSDS 3.1 organization package: a JSON
// array of organizations, each with its locations and services, ordered by file then as in
// the file.
func Demo() ([]byte, error) {
	orgs, err := demoRaw()
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(orgs)
	if err != nil {
		return nil, fmt.Errorf("encode demo package: %w", err)
	}
	return out, nil
}

// DemoOrganizations returns the FICTIONAL demo data decoded into the package's HSDS types.
func DemoOrganizations() ([]Organization, error) {
	raws, err := demoRaw()
	if err != nil {
		return nil, err
	}
	out := make([]Organization, 0, len(raws))
	for i, r := range raws {
		var o Organization
		if err := json.Unmarshal(r, &o); err != nil {
			return nil, fmt.Errorf("decode demo organization %d: %w", i, err)
		}
		out = append(out, o)
	}
	return out, nil
}

func demoRaw() ([]json.RawMessage, error) {
	names, err := fs.Glob(demoFS, "demo/*.json")
	if err != nil {
		return nil, fmt.Errorf("list demo files: %w", err)
	}
	sort.Strings(names)
	var all []json.RawMessage
	for _, name := range names {
		b, err := demoFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		var orgs []json.RawMessage
		if err := json.Unmarshal(b, &orgs); err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		all = append(all, orgs...)
	}
	return all, nil
}
