package match

import (
	"math"
	"slices"
)

// Places holds municipality centroids (latitude, longitude in degrees) by ISTAT code.
// A nil *Places knows no distance.
type Places struct {
	centroids map[string][2]float64
	ids       map[string]int32
}

// NewPlaces returns the places with these centroids.
func NewPlaces(centroids map[string][2]float64) *Places {
	p := &Places{centroids: centroids, ids: make(map[string]int32, len(centroids))}
	codes := make([]string, 0, len(centroids))
	for c := range centroids {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for i, c := range codes {
		p.ids[c] = int32(i + 1)
	}
	return p
}

// ID numbers a municipality with a centroid from 1 (for Home.Place); 0 when it has none.
func (p *Places) ID(code string) int32 {
	if p == nil {
		return 0
	}
	return p.ids[code]
}

// Len is the number of municipalities with a centroid.
func (p *Places) Len() int {
	if p == nil {
		return 0
	}
	return len(p.ids)
}

// Distance is the great-circle distance in km between the centroids of two
// municipalities; false when either is unknown.
func (p *Places) Distance(a, b string) (float64, bool) {
	if a == b {
		return 0, true
	}
	if p == nil {
		return 0, false
	}
	ca, oka := p.centroids[a]
	cb, okb := p.centroids[b]
	if !oka || !okb {
		return 0, false
	}
	return haversineKm(ca, cb), true
}

const earthRadiusKm = 6371.0

func haversineKm(a, b [2]float64) float64 {
	rad := math.Pi / 180
	dlat := (b[0] - a[0]) * rad
	dlon := (b[1] - a[1]) * rad
	h := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(a[0]*rad)*math.Cos(b[0]*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(h))
}

// DefaultPlaces are the approximate centroids of the demo districts' municipalities
// (Cremasco, Cremonese, Casalasco, Sona, Ottiglio and the Casalese): the same table the
// directory's demo data places its services with.
func DefaultPlaces() *Places { return NewPlaces(defaultCentroids) }

var defaultCentroids = map[string][2]float64{
	"006004": {45.0478, 8.2085},
	"006039": {45.1336, 8.4522},
	"006056": {45.0745, 8.3918},
	"006057": {45.0873, 8.3196},
	"006072": {45.0333, 8.3876},
	"006118": {45.0375, 8.3680},
	"006120": {45.0536, 8.3394},
	"006123": {45.1063, 8.3701},
	"006135": {45.0853, 8.2649},
	"006149": {45.0805, 8.3999},
	"006150": {45.0747, 8.3594},
	"006153": {45.1079, 8.4158},
	"006159": {45.1002, 8.2797},
	"006179": {45.0117, 8.3963},
	"019005": {45.3613, 9.6125},
	"019016": {45.2531, 9.9634},
	"019021": {44.9905, 10.4179},
	"019025": {45.2950, 9.7623},
	"019026": {45.1873, 9.9975},
	"019035": {45.3625, 9.6856},
	"019036": {45.1335, 10.0227},
	"019048": {45.1097, 10.0424},
	"019052": {45.0131, 10.3479},
	"019057": {44.9995, 10.3779},
	"019062": {45.3817, 9.7437},
	"019067": {45.4048, 9.5522},
	"019076": {45.1870, 9.7880},
	"019083": {45.0330, 10.4754},
	"019084": {45.4703, 9.5126},
	"019086": {45.3777, 9.7836},
	"019090": {45.0736, 10.3731},
	"019095": {45.1766, 9.9158},
	"019097": {45.4005, 9.8723},
	"019098": {45.2869, 9.8574},
	"019099": {45.1080, 10.1585},
	"019102": {45.4006, 9.4936},
	"019107": {45.1437, 10.2885},
	"019111": {45.3720, 9.5874},
	"019113": {45.1745, 10.1654},
	"019116": {45.1281, 10.3700},
	"023015": {45.4718, 10.8501},
	"023022": {45.4366, 10.7616},
	"023043": {45.5055, 10.7329},
	"023057": {45.4960, 10.7990},
	"023058": {45.4849, 10.8683},
	"023059": {45.4393, 10.6903},
	"023082": {45.4049, 10.8462},
	"023083": {45.4360, 10.8373},
	"023089": {45.3541, 10.7350},
	"023096": {45.3544, 10.8453},
}
