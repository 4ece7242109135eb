// Package demo generates the fictional mediators register and a month of bookings that
// `ponte serve --demo` loads through the API: 40 mediators in the three demo districts
// of Lab'Impact (Cremasco, Cremonese, Casalasco), 21 languages, and bookings by schools,
// clinics and social services, so that the tour can book an Arabic mediator for a school
// in Crema and read the statement. Every name, tax code and contact is invented.
package demo

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"
)

// District is a demo district with the municipalities its bookings are in.
type District struct {
	Code           string
	Municipalities []string
}

// Districts are the demo districts (the same codes as the directory's and housing's demo).
var Districts = []District{
	{"ambito-cremasco", []string{"019035", "019062", "019067", "019084", "019025"}},
	{"ambito-cremonese", []string{"019036", "019098", "019026", "019113"}},
	{"ambito-casalasco", []string{"019021", "019116", "019090"}},
}

// Languages are the demo languages (ISO 639-1, or 639-3 where there is no 639-1 code),
// each with the variety some of its mediators offer.
var Languages = []struct{ Code, Variety string }{
	{"ar", "Maghrebi Arabic"}, {"fr", ""}, {"en", "Nigerian Pidgin"}, {"ro", ""}, {"sq", ""}, {"ur", ""}, {"pa", ""},
	{"bn", ""}, {"zh", "Wenzhounese"}, {"uk", ""}, {"ru", ""}, {"es", "Latin American Spanish"}, {"pt", "Brazilian Portuguese"},
	{"ti", ""}, {"ps", ""}, {"wo", ""}, {"ff", "Pulaar"}, {"bm", ""}, {"hi", ""}, {"tr", ""}, {"fa", "Dari"},
}

var (
	givenNames  = []string{"Amina", "Youssef", "Fatou", "Ion", "Elira", "Imran", "Harpreet", "Rahim", "Li", "Olena", "Sergei", "Lucía", "Thiago", "Selam", "Farid", "Awa", "Moussa", "Ama", "Priya", "Emre"}
	familyNames = []string{"Benali", "El Idrissi", "Diop", "Popescu", "Hoxha", "Qureshi", "Kaur", "Hossain", "Wang", "Kovalenko", "Ivanov", "Gómez", "Silva", "Tesfaye", "Ahmadi", "Ndiaye", "Traoré", "Mensah", "Sharma", "Yılmaz"}
)

// Requesters are the demo requesting organizations: id, kind and service type.
var Requesters = []struct {
	ID      string
	Kind    mediatorsv1.OrganizationType
	Service mediatorsv1.ServiceType
}{
	{"ic-crema-uno", mediatorsv1.OrganizationType_ORGANIZATION_TYPE_SCHOOL, mediatorsv1.ServiceType_SERVICE_TYPE_SCHOOL},
	{"asst-crema", mediatorsv1.OrganizationType_ORGANIZATION_TYPE_HEALTH, mediatorsv1.ServiceType_SERVICE_TYPE_HEALTH},
	{"comunita-sociale-cremasca", mediatorsv1.OrganizationType_ORGANIZATION_TYPE_DISTRICT, mediatorsv1.ServiceType_SERVICE_TYPE_SOCIAL},
	{"comune-crema", mediatorsv1.OrganizationType_ORGANIZATION_TYPE_MUNICIPALITY, mediatorsv1.ServiceType_SERVICE_TYPE_HOUSING},
	{"caritas-cremona", mediatorsv1.OrganizationType_ORGANIZATION_TYPE_THIRD_SECTOR, mediatorsv1.ServiceType_SERVICE_TYPE_LEGAL},
}

// RateCard is the demo protocol: the same for every mediator, from January 1st of year.
func RateCard(year int) *mediatorsv1.RateCard {
	return &mediatorsv1.RateCard{
		ValidFrom: fmt.Sprintf("%d-01-01", year),
		Rates: []*mediatorsv1.ServiceRate{
			{ServiceType: mediatorsv1.ServiceType_SERVICE_TYPE_SCHOOL, HourlyCents: 2500},
			{ServiceType: mediatorsv1.ServiceType_SERVICE_TYPE_HEALTH, HourlyCents: 2800},
			{ServiceType: mediatorsv1.ServiceType_SERVICE_TYPE_SOCIAL, HourlyCents: 2600},
			{ServiceType: mediatorsv1.ServiceType_SERVICE_TYPE_LEGAL, HourlyCents: 3000},
			{ServiceType: mediatorsv1.ServiceType_SERVICE_TYPE_HOUSING, HourlyCents: 2600},
		},
		MinimumMinutes: 60, RoundingMinutes: 15, TravelAllowanceCents: 750,
		LateCancellationNoticeHours: 24, LateCancellationMinutes: 60,
	}
}

// MediatorID is the id of the i-th demo mediator.
func MediatorID(i int) string { return fmt.Sprintf("demo-mediator-%02d", i+1) }

// Mediators returns the n demo mediators (40 in the demo), valid in year.
func Mediators(n, year int) []*mediatorsv1.Mediator {
	out := make([]*mediatorsv1.Mediator, n)
	for i := range n {
		// Every language has mediators in Cremasco; the others share the rest.
		langs := []*mediatorsv1.Language{{Code: Languages[i%len(Languages)].Code, Level: mediatorsv1.LanguageLevel_LANGUAGE_LEVEL_NATIVE}}
		if i%2 == 0 {
			langs[0].Variety = Languages[i%len(Languages)].Variety
		}
		if second := Languages[(i*7+3)%len(Languages)].Code; second != langs[0].Code {
			langs = append(langs, &mediatorsv1.Language{Code: second, Level: mediatorsv1.LanguageLevel(4 + i%3)})
		}
		langs = append(langs, &mediatorsv1.Language{Code: "it", Level: mediatorsv1.LanguageLevel_LANGUAGE_LEVEL_C1})
		districts := []string{Districts[0].Code}
		if i%3 != 0 {
			districts = append(districts, Districts[1+i%2].Code)
		}
		var windows []*mediatorsv1.AvailabilityWindow
		for d := int32(1); d <= 5; d++ {
			windows = append(windows, &mediatorsv1.AvailabilityWindow{Weekday: d, Start: "08:30", End: "17:30"})
		}
		if i%4 == 0 {
			windows = append(windows, &mediatorsv1.AvailabilityWindow{Weekday: 6, Start: "09:00", End: "12:30"})
		}
		out[i] = &mediatorsv1.Mediator{
			Id:          MediatorID(i),
			DisplayName: givenNames[i%len(givenNames)] + " " + familyNames[(i*3+1)%len(familyNames)],
			TaxCode:     fmt.Sprintf("DMOMED%02dA01C%03dX", i%100, i)[:16],
			Email:       fmt.Sprintf("mediatore%02d@esempio.invalid", i+1),
			Languages:   langs, CulturalAreas: []string{culturalArea(langs[0].Code)},
			DistrictCodes: districts,
			Qualifications: []*mediatorsv1.Qualification{{
				Name: "Mediatore linguistico-culturale (corso regionale)", ValidUntil: fmt.Sprintf("%d-12-31", year+1),
			}},
			Availability: windows,
			RateCards:    []*mediatorsv1.RateCard{RateCard(year)},
			Status:       mediatorsv1.MediatorStatus_MEDIATOR_STATUS_ACTIVE,
		}
	}
	return out
}

func culturalArea(lang string) string {
	switch lang {
	case "ar", "fr", "wo", "ff", "bm":
		return "Africa occidentale e Maghreb"
	case "ur", "pa", "bn", "hi", "ps", "fa":
		return "Asia meridionale"
	case "ro", "sq", "uk", "ru", "tr":
		return "Europa orientale e Balcani"
	case "ti":
		return "Corno d'Africa"
	case "zh":
		return "Asia orientale"
	}
	return "America Latina"
}

// Booking is a demo booking and how far the loader takes it.
type Booking struct {
	RequestID string
	Booking   *mediatorsv1.Booking
	Assign    bool // auto-assign it
	Complete  bool // confirm and complete it as planned (it is in the past)
}

// Bookings returns a month of demo bookings: every working day of now's month, in the
// three districts, most in Cremasco; those already past are assigned and completed,
// the rest assigned or left requested.
func Bookings(now time.Time, loc *time.Location, mediators []*mediatorsv1.Mediator) []Booking {
	local := now.In(loc)
	first := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc)
	var out []Booking
	n := 0
	for day := first; day.Month() == first.Month(); day = day.AddDate(0, 0, 1) {
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		for k := range 3 {
			n++
			m := mediators[(n*11)%len(mediators)]
			lang := m.GetLanguages()[0].GetCode()
			dist := Districts[0]
			if k == 2 && len(m.GetDistrictCodes()) > 1 {
				for _, d := range Districts[1:] {
					if d.Code == m.GetDistrictCodes()[1] {
						dist = d
					}
				}
			}
			req := Requesters[n%len(Requesters)]
			start := time.Date(day.Year(), day.Month(), day.Day(), 9+k*3, 0, 0, 0, loc)
			mode := mediatorsv1.Mode_MODE_IN_PERSON
			if n%4 == 0 {
				mode = mediatorsv1.Mode_MODE_PHONE
			}
			b := &mediatorsv1.Booking{
				RequestingOrganizationId: req.ID, RequestingOrganizationType: req.Kind, ServiceType: req.Service,
				Language: lang, MinimumLevel: mediatorsv1.LanguageLevel_LANGUAGE_LEVEL_B2,
				DistrictCode: dist.Code, MunicipalityCode: dist.Municipalities[n%len(dist.Municipalities)], Mode: mode,
				StartTime: timestamppb.New(start), DurationMinutes: int32(60 + 15*(n%3)),
			}
			if mode == mediatorsv1.Mode_MODE_IN_PERSON {
				b.Address = fmt.Sprintf("Via dei Mille %d", 1+n%40)
			}
			past := start.Add(2 * time.Hour).Before(now)
			out = append(out, Booking{
				RequestID: fmt.Sprintf("demo-%s-%03d", first.Format("200601"), n),
				Booking:   b,
				Assign:    past || n%3 != 0,
				Complete:  past,
			})
		}
	}
	return out
}
