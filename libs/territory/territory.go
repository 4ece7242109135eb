// Package territory holds the ISTAT territory tree of Italy — 20 regions, 107 provinces and
// their 7,904 municipalities — embedded from ISTAT's municipality list, so every Ponte
// service can check and expand territory codes without a database. Districts (ambiti),
// which networks define themselves, live in the directory service, not here.
package territory

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
)

// Level is a level of the territory tree.
type Level string

// The levels, from the widest to the narrowest.
const (
	LevelRegion       Level = "region"
	LevelProvince     Level = "province"
	LevelDistrict     Level = "district"
	LevelMunicipality Level = "municipality"
)

// ParseLevel returns the level named s, or false.
func ParseLevel(s string) (Level, bool) {
	switch l := Level(s); l {
	case LevelRegion, LevelProvince, LevelDistrict, LevelMunicipality:
		return l, true
	}
	return "", false
}

// Region is an Italian region (regione), with a two-digit ISTAT code.
type Region struct {
	Code           string
	Name           string
	Population     int64
	Municipalities int
}

// Province is a province or metropolitan city, with a three-digit ISTAT code.
type Province struct {
	Code           string
	Name           string
	Abbreviation   string // vehicle plate abbreviation, "CR"
	RegionCode     string
	Population     int64
	Municipalities int
}

// Municipality is a comune, with a six-digit ISTAT code.
type Municipality struct {
	Code          string
	Name          string
	ProvinceCode  string
	RegionCode    string
	CadastralCode string
	PostalCodes   []string
	Population    int64
}

//go:embed data/istat-comuni.json
var istatJSON []byte

// Catalog is the parsed territory tree; it is read-only and safe for concurrent use.
type Catalog struct {
	regions        map[string]*Region
	provinces      map[string]*Province
	municipalities map[string]*Municipality
	sortedRegions  []*Region
	sortedProvs    []*Province
	sortedMuns     []*Municipality
}

// istatRecord is one municipality as ISTAT's list spells it.
type istatRecord struct {
	Name   string `json:"nome"`
	Code   string `json:"codice"`
	Region struct {
		Code string `json:"codice"`
		Name string `json:"nome"`
	} `json:"regione"`
	Province struct {
		Code string `json:"codice"`
		Name string `json:"nome"`
	} `json:"provincia"`
	Plate      string   `json:"sigla"`
	Cadastral  string   `json:"codiceCatastale"`
	CAP        []string `json:"cap"`
	Population int64    `json:"popolazione"`
}

// Load parses the embedded ISTAT list. It takes a few tens of milliseconds: load it once
// per process and share the Catalog.
func Load() (*Catalog, error) {
	var recs []istatRecord
	if err := json.Unmarshal(istatJSON, &recs); err != nil {
		return nil, fmt.Errorf("parse embedded ISTAT list: %w", err)
	}
	c := &Catalog{
		regions:        map[string]*Region{},
		provinces:      map[string]*Province{},
		municipalities: make(map[string]*Municipality, len(recs)),
	}
	for _, r := range recs {
		reg := c.regions[r.Region.Code]
		if reg == nil {
			reg = &Region{Code: r.Region.Code, Name: r.Region.Name}
			c.regions[reg.Code] = reg
		}
		prov := c.provinces[r.Province.Code]
		if prov == nil {
			prov = &Province{Code: r.Province.Code, Name: r.Province.Name, Abbreviation: r.Plate, RegionCode: reg.Code}
			c.provinces[prov.Code] = prov
		}
		if len(r.Code) != 6 || len(reg.Code) != 2 || len(prov.Code) != 3 {
			return nil, fmt.Errorf("embedded ISTAT list: malformed codes for %q", r.Code)
		}
		m := &Municipality{
			Code: r.Code, Name: r.Name, ProvinceCode: prov.Code, RegionCode: reg.Code,
			CadastralCode: r.Cadastral, PostalCodes: r.CAP, Population: r.Population,
		}
		if _, dup := c.municipalities[m.Code]; dup {
			return nil, fmt.Errorf("embedded ISTAT list: duplicate municipality %q", m.Code)
		}
		c.municipalities[m.Code] = m
		reg.Population += m.Population
		reg.Municipalities++
		prov.Population += m.Population
		prov.Municipalities++
	}
	for _, r := range c.regions {
		c.sortedRegions = append(c.sortedRegions, r)
	}
	for _, p := range c.provinces {
		c.sortedProvs = append(c.sortedProvs, p)
	}
	for _, m := range c.municipalities {
		c.sortedMuns = append(c.sortedMuns, m)
	}
	sort.Slice(c.sortedRegions, func(i, j int) bool { return c.sortedRegions[i].Code < c.sortedRegions[j].Code })
	sort.Slice(c.sortedProvs, func(i, j int) bool { return c.sortedProvs[i].Code < c.sortedProvs[j].Code })
	sort.Slice(c.sortedMuns, func(i, j int) bool { return c.sortedMuns[i].Code < c.sortedMuns[j].Code })
	return c, nil
}

// Region returns the region with the given code.
func (c *Catalog) Region(code string) (Region, bool) {
	r, ok := c.regions[code]
	if !ok {
		return Region{}, false
	}
	return *r, true
}

// Province returns the province with the given code.
func (c *Catalog) Province(code string) (Province, bool) {
	p, ok := c.provinces[code]
	if !ok {
		return Province{}, false
	}
	return *p, true
}

// Municipality returns the municipality with the given code.
func (c *Catalog) Municipality(code string) (Municipality, bool) {
	m, ok := c.municipalities[code]
	if !ok {
		return Municipality{}, false
	}
	return *m, true
}

// Regions returns every region, ordered by code.
func (c *Catalog) Regions() []Region { return values(c.sortedRegions) }

// Provinces returns every province, ordered by code.
func (c *Catalog) Provinces() []Province { return values(c.sortedProvs) }

// Municipalities returns every municipality, ordered by code.
func (c *Catalog) Municipalities() []Municipality { return values(c.sortedMuns) }

func values[T any](ps []*T) []T {
	out := make([]T, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}

// LevelOf returns the level of an ISTAT code that exists in the catalog, or false.
// District codes are not ISTAT codes and are not known here.
func (c *Catalog) LevelOf(code string) (Level, bool) {
	switch len(code) {
	case 2:
		_, ok := c.regions[code]
		return LevelRegion, ok
	case 3:
		_, ok := c.provinces[code]
		return LevelProvince, ok
	case 6:
		_, ok := c.municipalities[code]
		return LevelMunicipality, ok
	}
	return "", false
}

// Within reports whether the ISTAT territory code lies inside (or is) the ISTAT territory
// ancestor. Unknown codes are inside nothing.
func (c *Catalog) Within(code, ancestor string) bool {
	if code == ancestor {
		_, ok := c.LevelOf(code)
		return ok
	}
	switch len(code) {
	case 3:
		p, ok := c.provinces[code]
		return ok && p.RegionCode == ancestor
	case 6:
		m, ok := c.municipalities[code]
		return ok && (m.RegionCode == ancestor || m.ProvinceCode == ancestor)
	}
	return false
}
