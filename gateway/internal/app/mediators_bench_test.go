package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/loadtest"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/services/mediators/demo"
	"github.com/ponte-network/ponte/services/mediators/store"
	"github.com/ponte-network/ponte/services/mediators/store/sqlcore"
)

const (
	benchMediators      = 500
	benchHeldBookings   = 50000 // assigned bookings already holding the mediators' time
	benchAssignClients  = 32
	benchAssignRequests = 3200
	benchAssignWarmup   = 320
)

// BenchmarkMediatorsAutoAssignREST measures POST /v1/bookings/{id}:assign without a
// mediator (Ponte chooses) through the REST edge, at 32 clients, on PostgreSQL, with 500
// mediators (21 languages, three districts) and 50,000 bookings already assigned over
// ten weeks. Each request is a new booking on a weekday of those weeks in Cremasco, in
// one of the mediators' languages: the handler reads the booking, the candidates serving
// the district in the language, their bookings around the time and their month's
// minutes, ranks them and writes the assignment (exclusion constraints checked).
//
//	go test -run '^$' -bench MediatorsAutoAssign -benchtime 1x ./gateway/internal/app/
//
// The data is written through the store (not timed); the client runs in the
// benchmark's process on the same cores as the server and PostgreSQL.
func BenchmarkMediatorsAutoAssignREST(b *testing.B) {
	ctx := context.Background()
	url := pgtest.NewDatabase(b)
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlcore.Open(ctx, storage.Config{DatabaseURL: url}, rome)
	if err != nil {
		b.Fatal(err)
	}
	admin := store.Actor{Subject: "bench", Method: "bench"}
	// Weeks of Monday 2027-01-04 onwards: far from now, all in the future.
	first := time.Date(2027, 1, 4, 0, 0, 0, 0, rome)
	ms := demo.Mediators(benchMediators, 2027)
	for _, m := range ms {
		m.Availability = nil
		for d := int32(1); d <= 5; d++ {
			m.Availability = append(m.Availability, &mediatorsv1.AvailabilityWindow{Weekday: d, Start: "08:00", End: "18:00"})
		}
		if _, err := st.CreateMediator(ctx, admin, m); err != nil {
			b.Fatal(err)
		}
	}
	// 100 bookings per mediator: ten weeks × five days × two (09:00 and 14:00, 60 minutes),
	// in one municipality, so none conflicts.
	start := time.Now()
	perMediator := benchHeldBookings / benchMediators
	var chunk []*mediatorsv1.Booking
	var slots []store.Slot
	flush := func() {
		if len(chunk) == 0 {
			return
		}
		if _, err := st.CreateBookings(ctx, admin, "", chunk, slots); err != nil {
			b.Fatal(err)
		}
		chunk, slots = chunk[:0], slots[:0]
	}
	for i, m := range ms {
		for k := range perMediator {
			day := first.AddDate(0, 0, (k/2/5)*7+(k/2)%5)
			at := time.Date(day.Year(), day.Month(), day.Day(), 9+5*(k%2), 0, 0, 0, rome)
			bk := &mediatorsv1.Booking{
				RequestingOrganizationId: "ic-crema-uno", PayerOrganizationId: "ic-crema-uno",
				RequestingOrganizationType: mediatorsv1.OrganizationType_ORGANIZATION_TYPE_SCHOOL, ServiceType: mediatorsv1.ServiceType_SERVICE_TYPE_SCHOOL,
				Language: m.GetLanguages()[0].GetCode(), DistrictCode: m.GetDistrictCodes()[0], MunicipalityCode: "019035",
				Mode: mediatorsv1.Mode_MODE_IN_PERSON, Address: "Via Mazzini 1", StartTime: timestamppb.New(at), DurationMinutes: 60,
				MediatorId: m.GetId(), State: mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED,
			}
			chunk = append(chunk, bk)
			slots = append(slots, store.Slot{Start: at, End: at.Add(time.Hour), Municipality: "019035", InPerson: true, Buffer: 30 * time.Minute})
			if len(chunk) == 500 {
				flush()
			}
		}
		_ = i
	}
	flush()
	// The bookings to assign: new requests at other times of the same weeks.
	total := benchAssignRequests + benchAssignWarmup
	ids := make([]string, 0, total)
	for k := range total {
		m := ms[(k*7)%len(ms)]
		day := first.AddDate(0, 0, (k%10)*7+(k/10)%5)
		at := time.Date(day.Year(), day.Month(), day.Day(), 10+(k/50)%4, 15*((k/200)%4), 0, 0, rome)
		bk := &mediatorsv1.Booking{
			RequestingOrganizationId: "ic-crema-uno", PayerOrganizationId: "ic-crema-uno",
			RequestingOrganizationType: mediatorsv1.OrganizationType_ORGANIZATION_TYPE_SCHOOL, ServiceType: mediatorsv1.ServiceType_SERVICE_TYPE_SCHOOL,
			Language: m.GetLanguages()[0].GetCode(), MinimumLevel: mediatorsv1.LanguageLevel_LANGUAGE_LEVEL_B2,
			DistrictCode: "ambito-cremasco", MunicipalityCode: "019062", Mode: mediatorsv1.Mode_MODE_IN_PERSON, Address: "Via Roma 2",
			StartTime: timestamppb.New(at), DurationMinutes: 45, State: mediatorsv1.BookingState_BOOKING_STATE_REQUESTED,
		}
		out, err := st.CreateBookings(ctx, admin, "", []*mediatorsv1.Booking{bk}, []store.Slot{{Start: at, End: at.Add(45 * time.Minute), Municipality: "019062", InPerson: true, Buffer: 30 * time.Minute}})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, out[0].GetId())
	}
	_ = st.Close()
	b.Logf("loaded %d mediators, %d held bookings and %d requests in %s", benchMediators, benchHeldBookings, total, time.Since(start).Round(time.Second))

	n := startNode(b, url, "--target=all")
	tok := n.token(b, auth.Principal{Subject: "coord", Territory: "ambito-cremasco", Roles: []string{auth.RoleDistrictAdmin}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchAssignClients}}
	var noMediator atomic.Int64
	assign := func(ctx context.Context, id string) error {
		req, err := http.NewRequestWithContext(ctx, "POST", n.base+"/v1/bookings/"+id+":assign", strings.NewReader("{}"))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), "no mediator meets the rules"):
			noMediator.Add(1) // an answer too: nobody is free
			return nil
		}
		return fmt.Errorf("assign: %d %s", resp.StatusCode, body)
	}
	b.ResetTimer()
	res := loadtest.Run(ctx, loadtest.Options{Concurrency: benchAssignClients, Requests: benchAssignRequests, Warmup: benchAssignWarmup},
		func(ctx context.Context, _, seq int) error { return assign(ctx, ids[seq+benchAssignWarmup]) })
	b.StopTimer()
	if res.Errors > 0 {
		b.Fatalf("%d errors, the first: %v", res.Errors, res.FirstError)
	}
	b.Logf("auto-assign: %s; %d answered that no mediator was free", res, noMediator.Load())
	// The floor under the same load on the same machine: a one-booking read through the
	// same edge, gRPC hop and interceptors.
	get := func(ctx context.Context, id string) error {
		req, err := http.NewRequestWithContext(ctx, "GET", n.base+"/v1/bookings/"+id, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("get: %d", resp.StatusCode)
		}
		return nil
	}
	base := loadtest.Run(ctx, loadtest.Options{Concurrency: benchAssignClients, Requests: benchAssignRequests},
		func(ctx context.Context, _, seq int) error { return get(ctx, ids[seq%len(ids)]) })
	b.Logf("baseline GET /v1/bookings/{id}: %s", base)
	b.ReportMetric(res.Throughput(), "req/s")
	b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
}
