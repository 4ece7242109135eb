package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/pagetoken"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/libs/textfold"
	"github.com/ponte-network/ponte/services/directory/searchindex"
	"github.com/ponte-network/ponte/services/directory/store"
)

// defaultPageSize is the page size of ListTerritories when the caller gives none.
const defaultPageSize = 100

// territoryServer serves the territory tree: the ISTAT part from the embedded catalog,
// districts from the search index's copy of the store's (so that territory reads, like
// searches, make no database round trip and keep answering while the store is down).
type territoryServer struct {
	directoryv1.UnimplementedTerritoryServiceServer
	store   store.Store
	index   *searchindex.Index
	catalog *territory.Catalog
	// builtin holds every ISTAT territory as a proto, with its folded name for q.
	builtin []builtinTerritory
}

type builtinTerritory struct {
	t      *directoryv1.Territory
	folded string
}

func newTerritoryServer(st store.Store, index *searchindex.Index, c *territory.Catalog) *territoryServer {
	s := &territoryServer{store: st, index: index, catalog: c}
	for _, r := range c.Regions() {
		s.builtin = append(s.builtin, builtinTerritory{t: &directoryv1.Territory{
			Code: r.Code, Name: r.Name, Level: string(territory.LevelRegion), RegionCode: r.Code,
			MunicipalityCount: int32(r.Municipalities), Population: int32(r.Population),
		}})
	}
	for _, p := range c.Provinces() {
		s.builtin = append(s.builtin, builtinTerritory{t: &directoryv1.Territory{
			Code: p.Code, Name: p.Name, Level: string(territory.LevelProvince), Parent: p.RegionCode,
			RegionCode: p.RegionCode, ProvinceCode: p.Code, ProvinceAbbreviation: p.Abbreviation,
			MunicipalityCount: int32(p.Municipalities), Population: int32(p.Population),
		}})
	}
	for _, m := range c.Municipalities() {
		p, _ := c.Province(m.ProvinceCode)
		s.builtin = append(s.builtin, builtinTerritory{t: &directoryv1.Territory{
			Code: m.Code, Name: m.Name, Level: string(territory.LevelMunicipality), Parent: m.ProvinceCode,
			RegionCode: m.RegionCode, ProvinceCode: m.ProvinceCode, ProvinceAbbreviation: p.Abbreviation,
			CadastralCode: m.CadastralCode, PostalCodes: m.PostalCodes, MunicipalityCount: 1, Population: int32(m.Population),
		}})
	}
	for i := range s.builtin {
		s.builtin[i].folded = textfold.Fold(s.builtin[i].t.Name)
	}
	return s
}

// districtsIndex is the districts of the network at one moment.
type districtsIndex struct {
	list         []store.District
	byCode       map[string]*store.District
	ofMunicipals map[string][]string // municipality → district codes
}

// districts returns the districts as the index knows them, caught up with the store
// when it answers (else as they stand, marked stale in the response headers).
func (s *territoryServer) districts(ctx context.Context) (*districtsIndex, error) {
	if err := currentIndex(ctx, s.index); err != nil {
		return nil, err
	}
	list := s.index.Districts()
	idx := &districtsIndex{list: list, byCode: map[string]*store.District{}, ofMunicipals: map[string][]string{}}
	for i := range list {
		d := &list[i]
		idx.byCode[d.Code] = d
		for _, m := range d.Municipalities {
			idx.ofMunicipals[m] = append(idx.ofMunicipals[m], d.Code)
		}
	}
	return idx, nil
}

// within reports whether the territory t lies inside ancestor (or is it).
func (s *territoryServer) within(t *directoryv1.Territory, ancestor string, idx *districtsIndex) bool {
	if t.GetCode() == ancestor {
		return true
	}
	if d, ok := idx.byCode[ancestor]; ok { // inside a district: its municipalities
		return t.GetLevel() == string(territory.LevelMunicipality) && slices.Contains(d.Municipalities, t.GetCode())
	}
	if t.GetLevel() == string(territory.LevelDistrict) {
		if t.GetRegionCode() == ancestor {
			return true
		}
		// Inside a province when every municipality of the district is.
		for _, m := range t.GetMunicipalityCodes() {
			if !s.catalog.Within(m, ancestor) {
				return false
			}
		}
		return len(t.GetMunicipalityCodes()) > 0 && len(ancestor) == 3
	}
	return s.catalog.Within(t.GetCode(), ancestor)
}

func (s *territoryServer) knownCode(code string, idx *districtsIndex) bool {
	if _, ok := s.catalog.LevelOf(code); ok {
		return true
	}
	_, ok := idx.byCode[code]
	return ok
}

// ListTerritories implements directoryv1.TerritoryServiceServer.
func (s *territoryServer) ListTerritories(ctx context.Context, req *directoryv1.ListTerritoriesRequest) (*directoryv1.ListTerritoriesResponse, error) {
	query := pagetoken.Query(req.GetParent(), req.GetLevel(), textfold.Fold(req.GetQ()))
	after, err := pagetoken.Decode(req.GetPageToken(), query)
	if err != nil {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "page_token", Description: "does not belong to this query: start again without it"})
	}
	idx, err := s.districts(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetParent() != "" && !s.knownCode(req.GetParent(), idx) {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "parent", Description: fmt.Sprintf("unknown territory %q", req.GetParent())})
	}
	q := textfold.Fold(req.GetQ())
	match := func(t *directoryv1.Territory, folded string) bool {
		return (req.GetLevel() == "" || t.GetLevel() == req.GetLevel()) &&
			(q == "" || strings.Contains(folded, q)) &&
			(req.GetParent() == "" || (t.GetCode() != req.GetParent() && s.within(t, req.GetParent(), idx)))
	}
	var matched []*directoryv1.Territory
	for _, b := range s.builtin {
		if match(b.t, b.folded) {
			matched = append(matched, b.t)
		}
	}
	for i := range idx.list {
		t := districtProto(&idx.list[i], s.catalog)
		if match(t, textfold.Fold(t.GetName())) {
			matched = append(matched, t)
		}
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].GetCode() < matched[j].GetCode() })

	size := int(req.GetPageSize())
	if size == 0 {
		size = defaultPageSize
	}
	start := sort.Search(len(matched), func(i int) bool { return matched[i].GetCode() > after })
	end := min(start+size, len(matched))
	resp := &directoryv1.ListTerritoriesResponse{TotalSize: int32(len(matched))}
	for _, t := range matched[start:end] {
		resp.Territories = append(resp.Territories, s.withDistricts(t, idx))
	}
	if end < len(matched) {
		resp.NextPageToken = pagetoken.Encode(query, matched[end-1].GetCode())
	}
	return resp, nil
}

// withDistricts returns t with the districts a municipality belongs to.
func (s *territoryServer) withDistricts(t *directoryv1.Territory, idx *districtsIndex) *directoryv1.Territory {
	ds := idx.ofMunicipals[t.GetCode()]
	if len(ds) == 0 {
		return t
	}
	c := cloneTerritory(t)
	c.DistrictCodes = ds
	return c
}

// GetTerritory implements directoryv1.TerritoryServiceServer.
func (s *territoryServer) GetTerritory(ctx context.Context, req *directoryv1.GetTerritoryRequest) (*directoryv1.Territory, error) {
	code := req.GetCode()
	if level, ok := s.catalog.LevelOf(code); ok {
		idx, err := s.districts(ctx)
		if err != nil {
			return nil, err
		}
		for _, b := range s.builtin {
			if b.t.GetCode() == code && b.t.GetLevel() == string(level) {
				return s.withDistricts(b.t, idx), nil
			}
		}
	}
	idx, err := s.districts(ctx)
	if err != nil {
		return nil, err
	}
	d, ok := idx.byCode[code]
	if !ok {
		return nil, grpcerr.From(fmt.Errorf("territory %q: %w", code, store.ErrNotFound))
	}
	return districtProto(d, s.catalog), nil
}

// CreateTerritory implements directoryv1.TerritoryServiceServer.
func (s *territoryServer) CreateTerritory(ctx context.Context, req *directoryv1.CreateTerritoryRequest) (*directoryv1.Territory, error) {
	in := req.GetTerritory()
	var bad grpcerr.Violations
	if in.GetLevel() != "" && in.GetLevel() != string(territory.LevelDistrict) {
		bad.Add("territory.level", "only districts can be created; regions, provinces and municipalities come from ISTAT")
	}
	if in.GetCode() == "" || in.GetCode()[0] < 'a' || in.GetCode()[0] > 'z' {
		bad.Add("territory.code", "a district code starts with a lower-case letter (e.g. \"ambito-cremasco\"); numeric codes are ISTAT's")
	}
	if strings.TrimSpace(in.GetName()) == "" {
		bad.Add("territory.name", "is required")
	}
	if len(in.GetMunicipalityCodes()) == 0 {
		bad.Add("territory.municipality_codes", "a district needs at least one municipality")
	}
	region := ""
	for i, code := range in.GetMunicipalityCodes() {
		m, ok := s.catalog.Municipality(code)
		field := fmt.Sprintf("territory.municipality_codes[%d]", i)
		switch {
		case !ok:
			bad.Add(field, "unknown municipality %q", code)
		case region == "":
			region = m.RegionCode
		case m.RegionCode != region:
			bad.Add(field, "municipality %s is in region %s, the district's others in region %s: a district lies within one region", code, m.RegionCode, region)
		}
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if err := s.authorizeDistrict(ctx, in.GetMunicipalityCodes()); err != nil {
		return nil, err
	}
	d, err := s.store.CreateDistrict(ctx, store.District{
		Code: in.GetCode(), Name: strings.TrimSpace(in.GetName()), RegionCode: region, Municipalities: in.GetMunicipalityCodes(),
	})
	if err != nil {
		return nil, grpcerr.From(err)
	}
	return districtProto(&d, s.catalog), nil
}

// authorizeDistrict checks that every municipality lies within the caller's territory;
// platform admins may group any.
func (s *territoryServer) authorizeDistrict(ctx context.Context, municipalities []string) error {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return grpcerr.PermissionDenied("creating a district needs an authenticated caller")
	}
	if p.HasRole(auth.RoleAdmin) {
		return nil
	}
	if p.Territory == "" {
		return grpcerr.PermissionDenied("your token names no territory: you may not create districts")
	}
	inside := func(m string) bool { return s.catalog.Within(m, p.Territory) }
	if _, istat := s.catalog.LevelOf(p.Territory); !istat {
		d, err := s.store.GetDistrict(ctx, p.Territory)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return grpcerr.From(err)
		}
		inside = func(m string) bool { return slices.Contains(d.Municipalities, m) }
	}
	for _, m := range municipalities {
		if !inside(m) {
			return grpcerr.PermissionDenied(fmt.Sprintf("municipality %s is outside your territory %s", m, p.Territory))
		}
	}
	return nil
}

func districtProto(d *store.District, c *territory.Catalog) *directoryv1.Territory {
	t := &directoryv1.Territory{
		Code: d.Code, Name: d.Name, Level: string(territory.LevelDistrict), Parent: d.RegionCode, RegionCode: d.RegionCode,
		MunicipalityCodes: d.Municipalities, MunicipalityCount: int32(len(d.Municipalities)),
		CreateTime: timestamppb.New(d.CreateTime),
	}
	for _, code := range d.Municipalities {
		if m, ok := c.Municipality(code); ok {
			t.Population += int32(m.Population)
		}
	}
	return t
}

// cloneTerritory copies t, so that the shared built-in protos are never modified.
func cloneTerritory(t *directoryv1.Territory) *directoryv1.Territory {
	return proto.Clone(t).(*directoryv1.Territory)
}
