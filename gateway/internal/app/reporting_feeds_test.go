package app_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/ponte-network/ponte/proto/ponte/housing/v1"   // registers the service for callEach
	_ "github.com/ponte-network/ponte/proto/ponte/mediators/v1" // registers the service for callEach

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/services/housing"
	"github.com/ponte-network/ponte/services/mediators"
)

// waitSource polls the ingestion status until reporting has read source to its head
// and past position min.
func waitSource(t *testing.T, n *node, admin, source string, min int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r := n.do(t, "GET", "/v1/reporting/ingestion", admin, nil)
		if r.status == http.StatusOK {
			st := decode[struct {
				Sources []struct{ Source, Cursor, Head string } `json:"sources"`
			}](t, r)
			for _, s := range st.Sources {
				var cur, head int
				fmt.Sscan(s.Cursor, &cur)
				fmt.Sscan(s.Head, &head)
				if s.Source == source && cur >= min && cur >= head {
					return
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("reporting did not catch up with the %s feed within 20s", source)
}

// lastMonth is the first and last day of the previous month in Rome.
func lastMonth(t *testing.T) (string, string) {
	t.Helper()
	now := time.Now().In(mustRome(t))
	first := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	return first.Format(time.DateOnly), first.AddDate(0, 1, -1).Format(time.DateOnly)
}

func TestReportingIndicatorsFromMediatorsDrivenThroughTheAPI(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		coord := n.token(t, auth.Principal{Subject: "coord-1", Territory: "ambito-cremasco", Roles: []string{auth.RoleDistrictAdmin}})
		school := n.token(t, auth.Principal{Subject: "teacher-1", Organization: "ic-crema-uno", Roles: []string{auth.RolePartnerAdmin}})
		mediator := n.token(t, auth.Principal{Subject: "med-rep", Roles: []string{auth.RoleMediator}})
		admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		analyst := n.token(t, auth.Principal{Subject: "an", Territory: "03", Roles: []string{auth.RoleRegionAnalyst}})

		everyDay := []map[string]any{}
		for d := 1; d <= 7; d++ {
			everyDay = append(everyDay, map[string]any{"weekday": d, "start": "00:00", "end": "24:00"})
		}
		if r := n.do(t, "POST", "/v1/mediators", coord, map[string]any{
			"id": "med-rep", "displayName": "Amina Benali", "taxCode": "BNLMNA85A41Z330K",
			"languages":     []map[string]any{{"code": "ar", "level": "LANGUAGE_LEVEL_NATIVE"}},
			"districtCodes": []string{"ambito-cremasco"}, "qualifications": []map[string]any{{"name": "Mediatrice"}}, "availability": everyDay,
			"rateCards": []map[string]any{{"validFrom": "2020-01-01", "rates": []map[string]any{{"serviceType": "SERVICE_TYPE_SCHOOL", "hourlyCents": 2500}},
				"minimumMinutes": 60, "lateCancellationNoticeHours": 24}},
		}); r.status != http.StatusCreated {
			t.Fatalf("register mediator = %d %s", r.status, r.body)
		}
		// Six bookings of last month, each assigned: five in person completed (61
		// minutes each), one by phone a no-show.
		start, _ := lastMonthWeekday(t)
		for i := range 6 {
			at := start.AddDate(0, 0, i)
			booking := map[string]any{
				"requestingOrganizationType": "ORGANIZATION_TYPE_SCHOOL", "serviceType": "SERVICE_TYPE_SCHOOL", "language": "ar",
				"districtCode": "ambito-cremasco", "municipalityCode": "019035", "mode": "MODE_IN_PERSON",
				"address": "Via Mazzini 1, Crema", "startTime": at.UTC().Format(time.RFC3339), "durationMinutes": 60,
			}
			if i == 5 {
				booking["mode"] = "MODE_PHONE"
				delete(booking, "address")
			}
			r := n.do(t, "POST", "/v1/bookings", school, booking)
			if r.status != http.StatusCreated {
				t.Fatalf("book = %d %s", r.status, r.body)
			}
			id := decode[map[string]any](t, r)["id"].(string)
			if r := n.do(t, "POST", "/v1/bookings/"+id+":assign", coord, map[string]any{}); r.status != http.StatusOK {
				t.Fatalf("assign = %d %s", r.status, r.body)
			}
			if r := n.do(t, "POST", "/v1/bookings/"+id+":confirm", mediator, map[string]any{}); r.status != http.StatusOK {
				t.Fatalf("confirm = %d %s", r.status, r.body)
			}
			if i == 5 {
				if r := n.do(t, "POST", "/v1/bookings/"+id+":markNoShow", mediator, map[string]any{}); r.status != http.StatusOK {
					t.Fatalf("no-show = %d %s", r.status, r.body)
				}
				continue
			}
			r = n.do(t, "POST", "/v1/bookings/"+id+":complete", mediator, map[string]any{
				"actualStartTime": at.UTC().Format(time.RFC3339), "actualEndTime": at.Add(61 * time.Minute).UTC().Format(time.RFC3339)})
			if r.status != http.StatusOK {
				t.Fatalf("complete = %d %s", r.status, r.body)
			}
		}
		// 6 creations, 6 assignments, 6 confirmations, 6 completions or no-shows.
		waitSource(t, n, admin, "mediators", 24)

		from, to := lastMonth(t)
		period := from[:7]
		q := func(id, extra string) answerJSON {
			t.Helper()
			r := n.do(t, "GET", "/v1/indicators/"+id+":query?from="+from+"&to="+to+"&granularity=GRANULARITY_MONTH"+extra, analyst, nil)
			if r.status != http.StatusOK {
				t.Fatalf("query %s = %d %s", id, r.status, r.body)
			}
			return decode[answerJSON](t, r)
		}
		check := func(t *testing.T, label string) {
			t.Helper()
			hours, _ := q("mediation_hours", "&groupBy=language").cell(period, "ar")
			if hours.Value == nil || math.Abs(*hours.Value-5*61.0/60) > 1e-9 {
				t.Fatalf("%s: hours in Arabic = %+v, want 5 × 61 minutes", label, hours)
			}
			rate, _ := q("mediation_requests_fulfilled_rate", "&groupBy=district").cell(period, "ambito-cremasco")
			if rate.Value == nil || math.Abs(*rate.Value-5.0/6) > 1e-9 {
				t.Fatalf("%s: requests fulfilled = %+v, want 5 of 6 closed", label, rate)
			}
			lead, _ := q("mediation_lead_time_median", "&groupBy=service_type").cell(period, "school")
			if lead.Value == nil || *lead.Value > 1 {
				t.Fatalf("%s: median lead time = %+v, want at most an hour (assigned at once)", label, lead)
			}
			// The phone booking alone: its median is suppressed; its rate too, and the
			// in-person rate with it (the total would give it away).
			byMode := q("mediation_lead_time_median", "&groupBy=mode")
			phone, _ := byMode.cell(period, "phone")
			inPerson, _ := byMode.cell(period, "in_person")
			if phone.Status != "CELL_STATUS_PRIMARY" || phone.Reason != "median_few_persons" || phone.Value != nil || inPerson.Value == nil {
				t.Fatalf("%s: median lead time by mode = %+v / %+v, want phone suppressed, in person published", label, phone, inPerson)
			}
			byMode = q("mediation_requests_fulfilled_rate", "&groupBy=mode")
			phone, _ = byMode.cell(period, "phone")
			inPerson, _ = byMode.cell(period, "in_person")
			total, _ := byMode.cell(period, "_T")
			if phone.Status != "CELL_STATUS_PRIMARY" || inPerson.Status != "CELL_STATUS_SECONDARY" || total.Value == nil {
				t.Fatalf("%s: rate by mode = %+v / %+v / %+v, want phone primary, in person secondary, total published", label, phone, inPerson, total)
			}
			hours, _ = q("mediation_hours", "&groupBy=mode").cell(period, "phone")
			if hours.Value != nil && *hours.Value != 0 {
				t.Fatalf("%s: hours by phone = %+v, want none (a no-show is no mediation delivered)", label, hours)
			}
		}
		check(t, "as ingested")
		if r := n.do(t, "POST", "/v1/reporting/ingestion:rebuild", admin, map[string]any{}); r.status != http.StatusOK {
			t.Fatalf("rebuild = %d %s", r.status, r.body)
		}
		check(t, "after a rebuild from zero")
	})
}

// callEach calls every method of the gRPC service named service with an empty request
// as the holder of token, and returns each method's status code.
func callEach(t *testing.T, n *node, service, token string) map[string]codes.Code {
	t.Helper()
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	out := map[string]codes.Code{}
	methods := d.(protoreflect.ServiceDescriptor).Methods()
	for i := range methods.Len() {
		m := methods.Get(i)
		full := "/" + service + "/" + string(m.Name())
		in, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
		if err != nil {
			t.Fatal(err)
		}
		outType, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
		if err != nil {
			t.Fatal(err)
		}
		if m.IsStreamingServer() {
			sctx, stop := context.WithTimeout(ctx, 2*time.Second)
			stream, err := conn.NewStream(sctx, &grpc.StreamDesc{ServerStreams: true}, full)
			if err == nil {
				if err = stream.SendMsg(in.New().Interface()); err == nil {
					_ = stream.CloseSend()
					err = stream.RecvMsg(outType.New().Interface())
				}
			}
			stop()
			code := status.Code(err)
			if code == codes.DeadlineExceeded {
				code = codes.OK // the stream was open, waiting for entries
			}
			out[full] = code
			continue
		}
		err = conn.Invoke(ctx, full, in.New().Interface(), outType.New().Interface())
		out[full] = status.Code(err)
	}
	return out
}

func TestReportingReadsTheMediatorsAndHousingFeedsAndNothingElse(t *testing.T) {
	t.Parallel()
	n := startNode(t, "")
	for _, svc := range []struct {
		service string
		feed    []string
		policy  auth.Policy
	}{
		{"ponte.mediators.v1.MediatorService", []string{"ListMediatorChanges", "WatchMediatorChanges"}, mediators.Policy()},
		{"ponte.housing.v1.HousingService", []string{"ListHousingChanges", "WatchHousingChanges"}, housing.Policy()},
	} {
		t.Run(svc.service, func(t *testing.T) {
			t.Parallel()
			var feed []string
			for _, m := range svc.feed {
				feed = append(feed, "/"+svc.service+"/"+m)
			}
			got := callEach(t, n, svc.service, n.token(t, auth.ServicePrincipal("reporting")))
			if len(got) < 10 {
				t.Fatalf("called %d methods of %s, want them all", len(got), svc.service)
			}
			for method, code := range got {
				switch {
				case slices.Contains(feed, method):
					if code != codes.OK {
						t.Errorf("service:reporting calls %s: %v, want OK", method, code)
					}
				case svc.policy[method].Public:
					// Open to anyone by design (the mediators' calendar, authenticated by
					// its own token): an empty request reads nothing.
					if code == codes.OK {
						t.Errorf("service:reporting calls the public %s with an empty request: OK, want a refusal", method)
					}
				case code != codes.PermissionDenied:
					t.Errorf("service:reporting calls %s: %v, want PermissionDenied", method, code)
				}
			}
			others := []struct {
				name string
				p    auth.Principal
			}{
				{"a district admin", auth.Principal{Subject: "c", Territory: "ambito-cremasco", Roles: []string{auth.RoleDistrictAdmin}}},
				{"a district operator", auth.Principal{Subject: "o", Territory: "ambito-cremasco", Roles: []string{auth.RoleDistrictOperator}}},
				{"a partner", auth.Principal{Subject: "s", Organization: "ic", Roles: []string{auth.RolePartnerAdmin}}},
				{"a mediator", auth.Principal{Subject: "m", Roles: []string{auth.RoleMediator}}},
				{"a region analyst", auth.Principal{Subject: "r", Territory: "03", Roles: []string{auth.RoleRegionAnalyst}}},
				{"the cases service", auth.ServicePrincipal("cases")},
				{"the housing service", auth.ServicePrincipal("housing")},
				{"the mediators service", auth.ServicePrincipal("mediators")},
			}
			for _, o := range others {
				codesOf := callEach(t, n, svc.service, n.token(t, o.p))
				for _, m := range feed {
					if codesOf[m] != codes.PermissionDenied {
						t.Errorf("%s reads %s: %v, want PermissionDenied", o.name, m, codesOf[m])
					}
				}
			}
			anonymous := callEach(t, n, svc.service, "")
			for _, m := range feed {
				if anonymous[m] != codes.Unauthenticated {
					t.Errorf("no token reads %s: %v, want Unauthenticated", m, anonymous[m])
				}
			}
		})
	}
}

func TestReportingIndicatorsFromHousingDrivenThroughTheAPI(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		n.createDistrict(t, "ambito-cremasco", "019035", "019004")
		desk := n.token(t, auth.Principal{Subject: "desk-1", Organization: "comune-crema", Territory: "ambito-cremasco", Roles: []string{auth.RoleDistrictOperator}})
		admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		analyst := n.token(t, auth.Principal{Subject: "an", Territory: "03", Roles: []string{auth.RoleRegionAnalyst}})
		post := func(path string, body any) map[string]any {
			t.Helper()
			r := n.do(t, "POST", path, desk, body)
			if r.status != http.StatusOK && r.status != http.StatusCreated {
				t.Fatalf("POST %s = %d %s", path, r.status, r.body)
			}
			return decode[map[string]any](t, r)
		}
		// Seven owners, six engaged, each offering a home in Crema; six households
		// housed there on an agreed-rent contract, signed the day they asked.
		contract := map[string]any{"type": "CONTRACT_TYPE_AGREED_3_2", "startDate": "2026-12-15", "rentCents": 40000, "chargesCents": 4000}
		for i := range 7 {
			status := "ENGAGEMENT_STATUS_ENGAGED"
			if i == 6 {
				status = "ENGAGEMENT_STATUS_CONTACTED"
			}
			owner := post("/v1/owners", map[string]any{"displayName": fmt.Sprint("Owner ", i), "consent": true, "consentTime": "2026-11-20T10:00:00Z",
				"reachedVia": "REACH_CHANNEL_MUNICIPALITY", "engagementStatus": status})
			if i == 6 {
				continue
			}
			home := post("/v1/homes", map[string]any{"ownerId": owner["id"], "municipalityCode": "019035", "address": "Via dei Mille 3",
				"bedrooms": 2, "floorAreaM2": 80, "rentCents": 40000, "chargesCents": 4000, "availableFrom": "2026-11-01",
				"contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}})
			r := n.do(t, "POST", "/v1/cases", desk, map[string]any{"municipalityCode": "019035", "category": "CATEGORY_HOUSING"})
			if r.status != http.StatusCreated {
				t.Fatalf("create case = %d %s", r.status, r.body)
			}
			req := post("/v1/housingRequests", map[string]any{"caseId": decode[map[string]any](t, r)["id"], "household": map[string]any{"adults": 2},
				"maxRentCents": 70000, "municipalityCode": "019035", "contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}})
			prop := post("/v1/proposals", map[string]any{"housingRequestId": req["id"], "homeId": home["id"]})
			post("/v1/proposals/"+prop["id"].(string)+":signContract", map[string]any{"contract": contract})
		}
		head := decode[struct{ Head string }](t, n.do(t, "GET", "/v1/housingChanges?after=0&pageSize=1", admin, nil))
		var min int
		fmt.Sscan(head.Head, &min)
		if min < 7+6*4 {
			t.Fatalf("housing feed head = %q, want at least the 31 records written", head.Head)
		}
		waitSource(t, n, admin, "housing", min)

		// The feed lag per source is a metric too.
		metrics := string(n.do(t, "GET", "/metrics", "", nil).body)
		for _, source := range []string{"cases", "housing", "mediators"} {
			found := false
			for line := range strings.SplitSeq(metrics, "\n") {
				if strings.HasPrefix(line, "ponte_reporting_feed_lag") && strings.Contains(line, `source="`+source+`"`) {
					found = true
					if source == "housing" && !strings.HasSuffix(line, " 0") {
						t.Errorf("housing caught up, but %s", line)
					}
				}
			}
			if !found {
				t.Errorf("/metrics has no feed lag of %s", source)
			}
		}
		if !strings.Contains(metrics, `ponte_reporting_feed_read_age_seconds{`) {
			t.Errorf("/metrics has no feed read age")
		}

		year := time.Now().In(mustRome(t)).Format("2006")
		q := func(token, id, extra string) answerJSON {
			t.Helper()
			r := n.do(t, "GET", "/v1/indicators/"+id+":query?from="+year+"-01-01&to="+year+"-12-31&granularity=GRANULARITY_YEAR"+extra, token, nil)
			if r.status != http.StatusOK {
				t.Fatalf("query %s = %d %s", id, r.status, r.body)
			}
			return decode[answerJSON](t, r)
		}
		within := func(c cellJSON, want float64) bool {
			return c.Value != nil && *c.Value >= want-3 && *c.Value <= want+3
		}
		check := func(t *testing.T, label string) {
			t.Helper()
			// Owners have only a district: the admin sees them by district.
			owners, _ := q(admin, "housing_owners_engaged", "&groupBy=district").cell(year, "ambito-cremasco")
			if !within(owners, 6) {
				t.Fatalf("%s: owners engaged = %+v, want 6 within 3", label, owners)
			}
			homes, _ := q(analyst, "housing_homes_made_available", "&groupBy=municipality").cell(year, "019035")
			if !within(homes, 6) {
				t.Fatalf("%s: homes made available in Crema = %+v, want 6 within 3", label, homes)
			}
			signed, _ := q(analyst, "housing_contracts_signed", "&groupBy=contract_type").cell(year, "agreed_3_2")
			if !within(signed, 6) {
				t.Fatalf("%s: agreed-rent contracts = %+v, want 6 within 3", label, signed)
			}
			days, _ := q(analyst, "housing_days_to_contract_median", "&groupBy=district").cell(year, "ambito-cremasco")
			if days.Value == nil || *days.Value != 0 {
				t.Fatalf("%s: median days to contract = %+v, want 0 (signed the day they asked)", label, days)
			}
			byType, _ := q(analyst, "housing_days_to_contract_median", "&groupBy=contract_type&filter=municipality:019035").cell(year, "agreed_3_2")
			if byType.Value == nil || *byType.Value != 0 {
				t.Fatalf("%s: median over the six agreed-rent contracts of Crema = %+v, want 0, published", label, byType)
			}
		}
		check(t, "as ingested")
		if r := n.do(t, "POST", "/v1/reporting/ingestion:rebuild", admin, map[string]any{}); r.status != http.StatusOK {
			t.Fatalf("rebuild = %d %s", r.status, r.body)
		}
		check(t, "after a rebuild from zero")
	})
}

func TestReportingServicesMappedFromTheDirectoryFeed(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		post := func(path string, body any) {
			t.Helper()
			if r := n.do(t, "POST", path, admin, body); r.status != http.StatusCreated {
				t.Fatalf("POST %s = %d %s", path, r.status, r.body)
			}
		}
		post("/v1/taxonomyTerms", map[string]any{"id": "ponte:l2", "taxonomy": "ponte", "name": map[string]string{"it": "Corsi di italiano L2"}})
		post("/v1/taxonomyTerms", map[string]any{"id": "ponte:health", "taxonomy": "ponte", "name": map[string]string{"it": "Salute"}})
		post("/v1/organizations", map[string]any{"id": "rete-crema", "name": map[string]string{"it": "Rete Crema"}, "municipalityCode": "019035"})
		post("/v1/locations", map[string]any{"id": "loc-crema", "organizationId": "rete-crema", "municipalityCode": "019035"})
		post("/v1/locations", map[string]any{"id": "loc-cremona", "organizationId": "rete-crema", "municipalityCode": "019036"})
		// Seven Italian courses in Crema in Italian and Arabic, one clinic in Cremona, and
		// an inactive course that does not count.
		for i := range 8 {
			status := ""
			if i == 7 {
				status = "inactive"
			}
			post("/v1/services", map[string]any{"id": fmt.Sprint("l2-", i), "organizationId": "rete-crema", "status": status,
				"name": map[string]string{"it": fmt.Sprint("Corso ", i)}, "taxonomyTermIds": []string{"ponte:l2"}, "languages": []string{"it", "ar"},
				"serviceAtLocations": []map[string]any{{"locationId": "loc-crema"}}})
		}
		post("/v1/services", map[string]any{"id": "clinic", "organizationId": "rete-crema", "name": map[string]string{"it": "Ambulatorio"},
			"taxonomyTermIds": []string{"ponte:health"}, "languages": []string{"it"}, "serviceAtLocations": []map[string]any{{"locationId": "loc-cremona"}}})
		head := decode[struct{ Head string }](t, n.do(t, "GET", "/v1/directory/changes?after=0&pageSize=1", "", nil))
		var min int
		fmt.Sscan(head.Head, &min)
		if min < 14 {
			t.Fatalf("directory feed head = %q, want at least the 14 records written", head.Head)
		}
		waitSource(t, n, admin, "directory", min)

		year := time.Now().In(mustRome(t)).Format("2006")
		q := func(extra string) answerJSON {
			t.Helper()
			// Public: the directory is public data, and so is this indicator.
			r := n.do(t, "GET", "/v1/indicators/services_mapped:query?from="+year+"-01-01&to="+year+"-12-31&granularity=GRANULARITY_YEAR"+extra, "", nil)
			if r.status != http.StatusOK {
				t.Fatalf("query = %d %s", r.status, r.body)
			}
			return decode[answerJSON](t, r)
		}
		within := func(c cellJSON, lo, hi float64) bool { return c.Value != nil && *c.Value >= lo && *c.Value <= hi }
		check := func(t *testing.T, label string) {
			t.Helper()
			// The one clinic is suppressed, and the courses with it (the total would
			// give it away).
			byTerm := q("&groupBy=taxonomy_term")
			health, _ := byTerm.cell(year, "ponte:health")
			l2, _ := byTerm.cell(year, "ponte:l2")
			if health.Status != "CELL_STATUS_PRIMARY" || l2.Status != "CELL_STATUS_SECONDARY" {
				t.Fatalf("%s: by term = %+v / %+v, want the clinic primary, the courses secondary", label, health, l2)
			}
			byLang := q("&groupBy=language")
			if ar, _ := byLang.cell(year, "ar"); !within(ar, 7-3, 7+3) {
				t.Fatalf("%s: services in Arabic = %+v, want 7 within 3", label, ar)
			}
			// Each service once in the total, though it counts in two languages.
			if total, _ := byLang.cell(year, "_T"); !within(total, 8-3, 8+3) {
				t.Fatalf("%s: services in all languages = %+v, want 8 within 3 (not the 15 language pairs)", label, total)
			}
			if crema, _ := q("&groupBy=municipality&filter=taxonomy_term:ponte:l2").cell(year, "019035"); !within(crema, 7-3, 7+3) {
				t.Fatalf("%s: services in Crema = %+v, want 7 within 3", label, crema)
			}
		}
		check(t, "as ingested")
		if r := n.do(t, "POST", "/v1/reporting/ingestion:rebuild", admin, map[string]any{}); r.status != http.StatusOK {
			t.Fatalf("rebuild = %d %s", r.status, r.body)
		}
		check(t, "after a rebuild from zero")
	})
}
