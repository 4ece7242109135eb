package directory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/libs/territory"
	pgstore "github.com/ponte-network/ponte/services/directory/store/postgres"
)

// benchServices is how many services BenchmarkSearchServices loads.
const benchServices = 10000

// BenchmarkSearchServices measures SearchServices (handler and PostgreSQL store, no
// network) on benchServices services at 100 locations in the provinces of Cremona and
// Verona, for a text query, a taxonomy and territory filter, and near + radius.
func BenchmarkSearchServices(b *testing.B) {
	ctx := auth.NewContext(context.Background(), &auth.Principal{Subject: "bench", Roles: []string{auth.RoleAdmin}})
	st, err := pgstore.Open(ctx, pgstore.Config(pgtest.NewDatabase(b)))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cat, err := territory.Load()
	if err != nil {
		b.Fatal(err)
	}
	s := newDirectoryServer(st, cat)
	must := func(_ any, err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(s.CreateOrganization(ctx, &directoryv1.CreateOrganizationRequest{Organization: &directoryv1.Organization{Id: "org", Name: map[string]string{"it": "Org"}}}))
	for i := range 30 {
		must(s.CreateTaxonomyTerm(ctx, &directoryv1.CreateTaxonomyTermRequest{TaxonomyTerm: &directoryv1.TaxonomyTerm{
			Id: fmt.Sprintf("term-%02d", i), Name: map[string]string{"it": fmt.Sprintf("Servizio %d", i), "en": fmt.Sprintf("Service %d", i)}}}))
	}
	for i := range 100 {
		mun, lat, lon := "019035", 45.36, 9.68
		if i%2 == 1 {
			mun, lat, lon = "023083", 45.43, 10.83
		}
		lat, lon = lat+float64(i%10)*0.01, lon+float64(i/10)*0.01
		must(s.CreateLocation(ctx, &directoryv1.CreateLocationRequest{Location: &directoryv1.Location{
			Id: fmt.Sprintf("loc-%03d", i), OrganizationId: "org", MunicipalityCode: mun, Latitude: &lat, Longitude: &lon}}))
	}
	for i := range benchServices {
		name := fmt.Sprintf("Servizio numero %d", i)
		if i%50 == 0 {
			name = fmt.Sprintf("Corso di italiano %d", i)
		}
		must(s.CreateService(ctx, &directoryv1.CreateServiceRequest{Service: &directoryv1.Service{
			Id: fmt.Sprintf("svc-%06d", i), OrganizationId: "org",
			Name:            map[string]string{"it": name, "en": "Service " + fmt.Sprint(i)},
			Description:     map[string]string{"it": "Un servizio del territorio con orari settimanali."},
			TaxonomyTermIds: []string{fmt.Sprintf("term-%02d", i%30)}, Languages: []string{"it", "en"}, TargetGroups: []string{"adults"},
			Schedules:          []*directoryv1.Schedule{{Weekday: directoryv1.Weekday_WEEKDAY_MONDAY, OpensAt: "09:00", ClosesAt: "12:00"}},
			ServiceAtLocations: []*directoryv1.ServiceAtLocation{{LocationId: fmt.Sprintf("loc-%03d", i%100)}},
		}}))
	}
	monday := timestamppb.New(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	cases := []struct {
		name string
		req  *directoryv1.SearchServicesRequest
	}{
		{"text", &directoryv1.SearchServicesRequest{Q: "corso italiano", Locale: "en"}},
		{"taxonomy+territory", &directoryv1.SearchServicesRequest{Taxonomy: []string{"term-08"}, Territory: "019"}},
		{"near+radius", &directoryv1.SearchServicesRequest{Near: "45.40,9.70", RadiusKm: 5}},
		{"open_at", &directoryv1.SearchServicesRequest{OpenAt: monday, Territory: "019035"}},
	}
	if err := s.index.Sync(ctx); err != nil { // the first search builds the index
		b.Fatal(err)
	}
	for _, c := range cases {
		if resp, err := s.SearchServices(ctx, c.req); err != nil || resp.GetTotalSize() == 0 {
			b.Fatalf("%s: %d matches, %v: the benchmark must measure a search that finds something", c.name, resp.GetTotalSize(), err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.SearchServices(ctx, c.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
