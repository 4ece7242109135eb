// Package demo makes the housing service's fictional demo data: owners, about 80 homes
// and about 40 housing requests in the demo districts (Cremasco, Cremonese, Casalasco,
// Sona, Ottiglio), deterministic, with fixed ids so that loading it again changes
// nothing. Names, addresses and contacts are invented; every e-mail is under
// example.invalid.
package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"
)

// District is a demo district and the municipalities its homes and households are in.
type District struct {
	Code           string
	Municipalities []string
}

// Districts are the demo districts: their codes are the districts of the tour.
var Districts = []District{
	{"ambito-cremasco", []string{"019035", "019062", "019067", "019084", "019025", "019097", "019111", "019102", "019005", "019086"}},
	{"ambito-cremonese", []string{"019036", "019098", "019026", "019113", "019076", "019099", "019016", "019095", "019048"}},
	{"ambito-casalasco", []string{"019021", "019116", "019090", "019052", "019107", "019083", "019057"}},
	{"distretto-sona", []string{"023083", "023082", "023015", "023022", "023058", "023043", "023089", "023096", "023059", "023057"}},
	{"area-ottiglio", []string{"006120", "006039", "006056", "006072", "006118", "006179", "006150", "006057", "006123"}},
}

// Data is the demo data set. Requests name cases by Request.CaseId; CaseMunicipality
// gives the municipality each case is to be opened in.
type Data struct {
	Owners           []*housingv1.Owner
	Homes            []*housingv1.Home
	Requests         []*housingv1.HousingRequest
	CaseMunicipality map[string]string
	CaseDistrict     map[string]string
}

var (
	givenNames  = []string{"Giulia", "Marco", "Anna", "Luca", "Paola", "Franco", "Elena", "Sergio", "Rita", "Piero", "Carla", "Dario"}
	familyNames = []string{"Bianchi-Demo", "Ferrari-Demo", "Galli-Demo", "Moretti-Demo", "Riva-Demo", "Sala-Demo", "Conti-Demo", "Fontana-Demo"}
	streets     = []string{"Via Roma", "Via Garibaldi", "Via Mazzini", "Via dei Mille", "Via Cavour", "Vicolo del Forno", "Viale Europa", "Via Manzoni"}
)

// Generate returns the demo data as of now (availability dates follow the clock).
func Generate(now time.Time) Data {
	rng := rand.New(rand.NewPCG(13, 2026))
	d := Data{CaseMunicipality: map[string]string{}, CaseDistrict: map[string]string{}}
	today := now.UTC().Truncate(24 * time.Hour)
	date := func(days int) string { return today.AddDate(0, 0, days).Format(time.DateOnly) }
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	homeNo, reqNo := 0, 0
	for di, dist := range Districts {
		for oi := range 4 {
			o := &housingv1.Owner{
				Id:          fmt.Sprintf("demo-owner-%d-%d", di+1, oi+1),
				DisplayName: pick(givenNames) + " " + pick(familyNames),
				Email:       fmt.Sprintf("owner%d%d@example.invalid", di+1, oi+1),
				Consent:     true, ConsentTime: timestamppb.New(today.AddDate(0, -2, -oi)),
				ReachedVia:       housingv1.ReachChannel(1 + rng.IntN(6)),
				EngagementStatus: housingv1.EngagementStatus_ENGAGEMENT_STATUS_ENGAGED,
				DistrictCode:     dist.Code,
			}
			d.Owners = append(d.Owners, o)
			for range 4 {
				homeNo++
				bedrooms := int32(rng.IntN(4))
				types := []housingv1.ContractType{housingv1.ContractType_CONTRACT_TYPE_AGREED_3_2}
				switch rng.IntN(4) {
				case 0:
					types = append(types, housingv1.ContractType_CONTRACT_TYPE_FREE_4_4)
				case 1:
					types = []housingv1.ContractType{housingv1.ContractType_CONTRACT_TYPE_TRANSITIONAL, housingv1.ContractType_CONTRACT_TYPE_AGREED_3_2}
				case 2:
					types = []housingv1.ContractType{housingv1.ContractType_CONTRACT_TYPE_FREE_4_4}
				}
				var asks []housingv1.Guarantee
				if rng.IntN(3) > 0 {
					asks = append(asks, housingv1.Guarantee_GUARANTEE_DEPOSIT)
				}
				if rng.IntN(4) == 0 {
					asks = append(asks, housingv1.Guarantee_GUARANTEE_GUARANTOR)
				}
				d.Homes = append(d.Homes, &housingv1.Home{
					Id: fmt.Sprintf("demo-home-%03d", homeNo), OwnerId: o.Id,
					MunicipalityCode: pick(dist.Municipalities), DistrictCode: dist.Code,
					Address:  fmt.Sprintf("%s %d", pick(streets), 1+rng.IntN(80)),
					Bedrooms: bedrooms, FloorAreaM2: 35 + 20*bedrooms + int32(rng.IntN(20)), Floor: int32(rng.IntN(4)),
					RentCents: int64(30000 + 10000*int(bedrooms) + 500*rng.IntN(20)), ChargesCents: int64(2000 + 500*rng.IntN(10)),
					Furnished: rng.IntN(3) == 0, StepFree: rng.IntN(3) == 0,
					EnergyClass:   housingv1.EnergyClass(5 + rng.IntN(6)),
					AvailableFrom: date(rng.IntN(90) - 30), ContractTypes: types, GuaranteesAsked: asks,
				})
			}
		}
		for range 8 {
			reqNo++
			adults, children := int32(1+rng.IntN(2)), int32(rng.IntN(4))
			caseID := fmt.Sprintf("demo-housing-case-%02d", reqNo)
			mun := pick(dist.Municipalities)
			d.CaseMunicipality[caseID], d.CaseDistrict[caseID] = mun, dist.Code
			prefs := []string{mun}
			if rng.IntN(2) == 0 {
				prefs = append(prefs, pick(dist.Municipalities))
			}
			if prefs[len(prefs)-1] == prefs[0] && len(prefs) == 2 {
				prefs = prefs[:1]
			}
			r := &housingv1.HousingRequest{
				Id: fmt.Sprintf("demo-request-%02d", reqNo), CaseId: caseID,
				Household:               &housingv1.Household{Adults: adults, Children: children, IncomeBand: housingv1.IncomeBand(2 + rng.IntN(3))},
				MaxRentCents:            int64(45000 + 5000*rng.IntN(8)),
				PreferredMunicipalities: prefs, MaxDistanceKm: int32(10 * rng.IntN(4)),
				WantedBy:          date(30 + rng.IntN(120)),
				ContractTypes:     []housingv1.ContractType{housingv1.ContractType_CONTRACT_TYPE_AGREED_3_2, housingv1.ContractType_CONTRACT_TYPE_FREE_4_4},
				GuaranteesOffered: []housingv1.Guarantee{housingv1.Guarantee_GUARANTEE_DEPOSIT, housingv1.Guarantee_GUARANTEE_FUND},
				MunicipalityCode:  mun, DistrictCode: dist.Code,
			}
			if rng.IntN(6) == 0 {
				r.Needs = []housingv1.Need{housingv1.Need_NEED_STEP_FREE}
			}
			d.Requests = append(d.Requests, r)
		}
	}
	return d
}
