package app_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
)

// lastMonthWeekday is 10:00 in Rome on a weekday of the previous month, and that month.
func lastMonthWeekday(t *testing.T) (time.Time, string) {
	t.Helper()
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(rome)
	d := time.Date(now.Year(), now.Month()-1, 10, 10, 0, 0, 0, rome)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d, d.Format("2006-01")
}

func TestMediatorsOverREST(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		coord := n.token(t, auth.Principal{Subject: "coord-1", Territory: "ambito-cremasco", Roles: []string{auth.RoleDistrictAdmin}})
		otherCoord := n.token(t, auth.Principal{Subject: "coord-2", Territory: "ambito-casalasco", Roles: []string{auth.RoleDistrictAdmin}})
		school := n.token(t, auth.Principal{Subject: "teacher-1", Organization: "ic-crema-uno", Roles: []string{auth.RolePartnerAdmin}})
		otherSchool := n.token(t, auth.Principal{Subject: "teacher-9", Organization: "ic-lodi", Roles: []string{auth.RolePartnerOperator}})
		region := n.token(t, auth.Principal{Subject: "ra", Territory: "03", Roles: []string{auth.RoleRegionAdmin}})
		mediator := n.token(t, auth.Principal{Subject: "med-amina", Roles: []string{auth.RoleMediator}})
		otherMediator := n.token(t, auth.Principal{Subject: "med-other", Roles: []string{auth.RoleMediator}})

		everyDay := []map[string]any{}
		for d := 1; d <= 7; d++ {
			everyDay = append(everyDay, map[string]any{"weekday": d, "start": "00:00", "end": "24:00"})
		}
		med := map[string]any{
			"id": "med-amina", "displayName": "Amina Benali", "taxCode": "BNLMNA85A41Z330K", "email": "amina@esempio.invalid",
			"languages":      []map[string]any{{"code": "ar", "level": "LANGUAGE_LEVEL_NATIVE", "variety": "Maghrebi Arabic"}},
			"districtCodes":  []string{"ambito-cremasco"},
			"qualifications": []map[string]any{{"name": "Mediatrice linguistico-culturale"}},
			"availability":   everyDay,
			"rateCards": []map[string]any{{"validFrom": "2020-01-01", "rates": []map[string]any{{"serviceType": "SERVICE_TYPE_SCHOOL", "hourlyCents": 2500}},
				"minimumMinutes": 60, "roundingMinutes": 15, "travelAllowanceCents": 750, "lateCancellationNoticeHours": 24}},
		}
		if r := n.do(t, "POST", "/v1/mediators", otherCoord, med); r.status != http.StatusForbidden {
			t.Errorf("another district's admin registers a mediator of Cremasco = %d %s, want 403", r.status, r.body)
		}
		if r := n.do(t, "POST", "/v1/mediators", coord, med); r.status != http.StatusCreated {
			t.Fatalf("register mediator = %d %s", r.status, r.body)
		}
		dup := map[string]any{"id": "med-dup", "displayName": "Someone", "taxCode": "BNLMNA85A41Z330K",
			"languages": med["languages"], "districtCodes": med["districtCodes"]}
		if r := n.do(t, "POST", "/v1/mediators", coord, dup); r.status != http.StatusConflict {
			t.Errorf("a second mediator with the tax code = %d %s, want 409", r.status, r.body)
		}
		nul := map[string]any{"id": "med-nul", "displayName": "Bad\x00Name", "languages": med["languages"], "districtCodes": med["districtCodes"]}
		if r := n.do(t, "POST", "/v1/mediators", coord, nul); r.status != http.StatusBadRequest {
			t.Errorf("a NUL in a name = %d %s, want 400", r.status, r.body)
		}
		if r := n.do(t, "POST", "/v1/mediators", coord, "{\"id\":\"x\",\"displayName\":\"\xff\xfe\"}"); r.status != http.StatusBadRequest {
			t.Errorf("invalid UTF-8 = %d %s, want 400", r.status, r.body)
		}
		if r := n.do(t, "POST", "/v1/mediators", coord, `{"id":"x","displayName":"`+strings.Repeat("a", 2<<20)+`"}`); r.status != http.StatusRequestEntityTooLarge && r.status != http.StatusBadRequest {
			t.Errorf("a 2 MiB body = %d, want 413 or 400", r.status)
		}
		r := n.do(t, "GET", "/v1/mediators/med-amina", school, nil)
		if r.status != http.StatusOK || strings.Contains(string(r.body), "BNLMNA") || strings.Contains(string(r.body), "amina@") {
			t.Errorf("a school reads the register = %d %s, want 200 without tax code or contacts", r.status, r.body)
		}
		if r := n.do(t, "GET", "/v1/mediators/med-amina", coord, nil); !strings.Contains(string(r.body), "BNLMNA") {
			t.Errorf("the coordinator does not see the tax code: %s", r.body)
		}
		if r := n.do(t, "GET", "/v1/mediators", region, nil); r.status != http.StatusForbidden {
			t.Errorf("a region admin lists mediators = %d, want 403", r.status)
		}

		start, month := lastMonthWeekday(t)
		booking := map[string]any{
			"requestingOrganizationType": "ORGANIZATION_TYPE_SCHOOL", "serviceType": "SERVICE_TYPE_SCHOOL", "language": "ar",
			"variety": "Maghrebi Arabic", "districtCode": "ambito-cremasco", "municipalityCode": "019035", "mode": "MODE_IN_PERSON",
			"address": "Via Mazzini 1, Crema", "startTime": start.UTC().Format(time.RFC3339), "durationMinutes": 60,
		}
		r = n.do(t, "POST", "/v1/bookings?requestId=req-1", school, booking)
		if r.status != http.StatusCreated {
			t.Fatalf("book = %d %s", r.status, r.body)
		}
		b := decode[map[string]any](t, r)
		id := b["id"].(string)
		if b["state"] != "BOOKING_STATE_REQUESTED" || b["requestingOrganizationId"] != "ic-crema-uno" {
			t.Errorf("booked %v", b)
		}
		if r := n.do(t, "POST", "/v1/bookings?requestId=req-1", school, booking); decode[map[string]any](t, r)["id"] != id {
			t.Errorf("a retried request made another booking: %s", r.body)
		}
		if r := n.do(t, "GET", "/v1/bookings/"+id, otherSchool, nil); r.status != http.StatusNotFound {
			t.Errorf("another school reads the booking = %d, want 404", r.status)
		}
		if r := n.do(t, "POST", "/v1/bookings/"+id+":assign", school, map[string]any{}); r.status != http.StatusForbidden {
			t.Errorf("a school assigns = %d, want 403", r.status)
		}
		if r := n.do(t, "POST", "/v1/bookings/"+id+":assign", otherCoord, map[string]any{}); r.status != http.StatusNotFound {
			t.Errorf("another district assigns = %d, want 404", r.status)
		}
		r = n.do(t, "POST", "/v1/bookings/"+id+":assign", coord, map[string]any{})
		if r.status != http.StatusOK {
			t.Fatalf("auto-assign = %d %s", r.status, r.body)
		}
		res := decode[map[string]map[string]any](t, r)
		if res["booking"]["mediatorId"] != "med-amina" || res["explanation"]["mediatorId"] != "med-amina" || len(res["explanation"]["reasons"].([]any)) == 0 {
			t.Errorf("assignment %s", r.body)
		}
		if r := n.do(t, "POST", "/v1/bookings/"+id+":confirm", otherMediator, map[string]any{}); r.status != http.StatusNotFound {
			t.Errorf("another mediator confirms = %d, want 404", r.status)
		}
		if r := n.do(t, "POST", "/v1/bookings/"+id+":confirm", mediator, map[string]any{}); r.status != http.StatusOK {
			t.Fatalf("confirm = %d %s", r.status, r.body)
		}
		end := start.Add(61 * time.Minute) // bills 75 minutes
		r = n.do(t, "POST", "/v1/bookings/"+id+":complete", mediator, map[string]any{
			"actualStartTime": start.UTC().Format(time.RFC3339), "actualEndTime": end.UTC().Format(time.RFC3339)})
		if r.status != http.StatusOK || decode[map[string]any](t, r)["state"] != "BOOKING_STATE_COMPLETED" {
			t.Fatalf("complete = %d %s", r.status, r.body)
		}
		if r := n.do(t, "POST", "/v1/bookings/"+id+":reviewCompletion", school, map[string]any{"review": "COMPLETION_REVIEW_CONFIRMED"}); r.status != http.StatusOK {
			t.Errorf("review = %d %s", r.status, r.body)
		}
		r = n.do(t, "GET", "/v1/bookings/"+id, school, nil)
		if got := decode[map[string]any](t, r); len(got["transitions"].([]any)) != 5 {
			t.Errorf("transitions %v, want requested, assigned, confirmed, completed, reviewed", got["transitions"])
		}

		r = n.do(t, "GET", "/v1/statements?month="+month+"&format=csv", coord, nil)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("CSV statement = %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
		}
		rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatalf("CSV: %v", err)
		}
		var line, total []string
		for _, row := range rows[1:] {
			switch row[7] {
			case "service":
				line = row
			case "total":
				total = row
			}
		}
		if line == nil || line[10] != "75" || line[12] != "3125" || line[13] != "750" || line[14] != "3875" || total == nil || total[14] != "3875" {
			t.Errorf("statement CSV:\n%s", r.body)
		}
		r = n.do(t, "GET", "/v1/statements?month="+month, school, nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"totalCents":"3875"`) {
			t.Errorf("the school's statement = %d %s", r.status, r.body)
		}
		if r := n.do(t, "GET", "/v1/statements?month="+month+"&payer=ic-lodi", school, nil); r.status != http.StatusForbidden {
			t.Errorf("a school reads what another pays = %d, want 403", r.status)
		}
		if r := n.do(t, "GET", "/v1/statements?month="+month+"&districtCode=ambito-cremasco", otherCoord, nil); r.status != http.StatusForbidden {
			t.Errorf("another district's statements = %d, want 403", r.status)
		}
		if r := n.do(t, "GET", "/v1/statements?month=2026-13", coord, nil); r.status != http.StatusBadRequest {
			t.Errorf("month 13 = %d, want 400", r.status)
		}
		r = n.do(t, "POST", "/v1/statementMonths/"+month+":close", coord, map[string]any{})
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"totalCents":"3875"`) {
			t.Errorf("close month = %d %s", r.status, r.body)
		}
		if r := n.do(t, "POST", "/v1/statementMonths/"+month+":close", coord, map[string]any{}); r.status != http.StatusConflict {
			t.Errorf("closing twice = %d %s, want 409", r.status, r.body)
		}

		// The calendar feed: its token, rotated, is the only way in.
		r = n.do(t, "POST", "/v1/mediators/med-amina:rotateCalendarToken", mediator, map[string]any{})
		if r.status != http.StatusOK {
			t.Fatalf("rotate token = %d %s", r.status, r.body)
		}
		path := decode[map[string]string](t, r)["calendarPath"]
		r = n.do(t, "GET", path, "", nil)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/calendar") ||
			!strings.Contains(string(r.body), "BEGIN:VTIMEZONE") || !strings.Contains(string(r.body), "UID:"+id+"@ponte") {
			t.Errorf("calendar = %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
		}
		if r := n.do(t, "GET", "/v1/mediators/med-amina/calendar.ics?token=wrong", "", nil); r.status != http.StatusNotFound {
			t.Errorf("a wrong calendar token = %d, want 404", r.status)
		}
		if r := n.do(t, "POST", "/v1/mediators/med-amina:rotateCalendarToken", mediator, map[string]any{}); r.status != http.StatusOK {
			t.Fatal(r.status)
		}
		if r := n.do(t, "GET", path, "", nil); r.status != http.StatusNotFound {
			t.Errorf("a rotated-out calendar token = %d, want 404", r.status)
		}
		if r := n.do(t, "GET", "/v1/mediatorChanges", region, nil); r.status != http.StatusForbidden {
			t.Errorf("a region admin reads the feed = %d, want 403", r.status)
		}
		reporting := n.token(t, auth.ServicePrincipal("reporting"))
		r = n.do(t, "GET", "/v1/mediatorChanges", reporting, nil)
		if r.status != http.StatusOK || strings.Contains(string(r.body), "Mazzini") || strings.Contains(string(r.body), "med-amina") ||
			!strings.Contains(string(r.body), `"fulfilled":true`) {
			t.Errorf("reporting's feed = %d %s", r.status, r.body)
		}
		r = n.do(t, "GET", "/v1/mediatorAuditEvents?mediatorId=med-amina", coord, nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"action":"create"`) || !strings.Contains(string(r.body), `"action":"read"`) {
			t.Errorf("audit = %d %s", r.status, r.body)
		}
	})
}

// TestDemoMediators starts a node with --demo: the 40 fictional mediators are
// registered and this month's bookings are booked and assigned, so the tour can read
// the register and a statement.
func TestDemoMediators(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", "--demo")
	coord := n.token(t, auth.Principal{Subject: "coord", Territory: "ambito-cremasco", Roles: []string{auth.RoleDistrictAdmin}})
	month := time.Now().In(mustRome(t)).Format("2006-01")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ms := decode[map[string][]map[string]any](t, n.do(t, "GET", "/v1/mediators?pageSize=500&districtCode=ambito-cremasco", coord, nil))["mediators"]
		bs := decode[map[string][]map[string]any](t, n.do(t, "GET", "/v1/bookings?pageSize=500&state=BOOKING_STATE_ASSIGNED", coord, nil))["bookings"]
		if len(ms) == 40 && len(bs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes: %d demo mediators in Cremasco (want 40), %d assigned bookings", len(ms), len(bs))
		}
		time.Sleep(500 * time.Millisecond)
	}
	r := n.do(t, "GET", "/v1/mediators?language=ar&districtCode=ambito-cremasco", coord, nil)
	if ms := decode[map[string][]map[string]any](t, r)["mediators"]; len(ms) == 0 {
		t.Errorf("no Arabic mediator in Cremasco for the tour: %s", r.body)
	}
	if r := n.do(t, "GET", "/v1/statements?month="+month, coord, nil); r.status != http.StatusOK {
		t.Errorf("this month's statement = %d %s", r.status, r.body)
	}
}

func mustRome(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestMediatorBookingRulesOverREST: late and void cancellations, rescheduling that keeps
// the mediator or lets them go, and concurrent auto-assignments of overlapping bookings
// to the only mediator who speaks the language: exactly one wins.
func TestMediatorBookingRulesOverREST(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		coord := n.token(t, auth.Principal{Subject: "coord-1", Territory: "ambito-cremasco", Roles: []string{auth.RoleDistrictAdmin}})
		school := n.token(t, auth.Principal{Subject: "teacher-1", Organization: "ic-crema-uno", Roles: []string{auth.RolePartnerOperator}})
		med := n.token(t, auth.Principal{Subject: "med-ti", Roles: []string{auth.RoleMediator}})
		everyDay := []map[string]any{}
		for d := 1; d <= 7; d++ {
			everyDay = append(everyDay, map[string]any{"weekday": d, "start": "00:00", "end": "24:00"})
		}
		r := n.do(t, "POST", "/v1/mediators", coord, map[string]any{
			"id": "med-ti", "displayName": "Selam Tesfaye", "languages": []map[string]any{{"code": "ti", "level": "LANGUAGE_LEVEL_NATIVE"}},
			"districtCodes": []string{"ambito-cremasco"}, "qualifications": []map[string]any{{"name": "Mediatrice"}}, "availability": everyDay,
			"rateCards": []map[string]any{{"validFrom": "2020-01-01", "rates": []map[string]any{{"serviceType": "SERVICE_TYPE_HEALTH", "hourlyCents": 2800}},
				"minimumMinutes": 60, "lateCancellationNoticeHours": 48}},
		})
		if r.status != http.StatusCreated {
			t.Fatalf("register = %d %s", r.status, r.body)
		}
		day := time.Now().Add(24 * time.Hour).Truncate(time.Hour) // within the 48 hours' notice
		book := func(start time.Time, minutes int) string {
			t.Helper()
			r := n.do(t, "POST", "/v1/bookings", school, map[string]any{
				"requestingOrganizationType": "ORGANIZATION_TYPE_HEALTH", "serviceType": "SERVICE_TYPE_HEALTH", "language": "ti",
				"districtCode": "ambito-cremasco", "municipalityCode": "019035", "mode": "MODE_PHONE",
				"startTime": start.UTC().Format(time.RFC3339), "durationMinutes": minutes})
			if r.status != http.StatusCreated {
				t.Fatalf("book = %d %s", r.status, r.body)
			}
			return decode[map[string]any](t, r)["id"].(string)
		}
		assign := func(id string) response {
			return n.do(t, "POST", "/v1/bookings/"+id+":assign", coord, map[string]any{})
		}
		cancellation := func(r response) any {
			c, _ := decode[map[string]any](t, r)["cancellation"].(map[string]any)
			return c["kind"]
		}

		late := book(day, 60)
		if r := assign(late); r.status != http.StatusOK {
			t.Fatalf("assign = %d %s", r.status, r.body)
		}
		if r := n.do(t, "POST", "/v1/bookings/"+late+":cancel", school, map[string]any{"reason": "the family moved"}); cancellation(r) != "CANCELLATION_KIND_LATE" {
			t.Errorf("the requester cancels within the notice = %s, want late", r.body)
		}
		byMediator := book(day.Add(2*time.Hour), 60)
		assign(byMediator)
		if r := n.do(t, "POST", "/v1/bookings/"+byMediator+":cancel", med, map[string]any{}); cancellation(r) != "CANCELLATION_KIND_VOID" {
			t.Errorf("the mediator cancels = %s, want void", r.body)
		}
		unassigned := book(day.Add(4*time.Hour), 60)
		if r := n.do(t, "POST", "/v1/bookings/"+unassigned+":cancel", school, map[string]any{}); cancellation(r) != "CANCELLATION_KIND_VOID" {
			t.Errorf("a cancellation before any assignment = %s, want void", r.body)
		}

		// Rescheduling keeps the mediator while free, and lets them go when not.
		moving := book(day.Add(6*time.Hour), 60)
		assign(moving)
		blocker := book(day.Add(10*time.Hour), 60)
		assign(blocker)
		r = n.do(t, "POST", "/v1/bookings/"+moving+":reschedule", school, map[string]any{"startTime": day.Add(7 * time.Hour).UTC().Format(time.RFC3339)})
		if got := decode[map[string]any](t, r); got["mediatorId"] != "med-ti" || got["state"] != "BOOKING_STATE_ASSIGNED" {
			t.Errorf("reschedule to a free time = %s, want the mediator kept", r.body)
		}
		r = n.do(t, "POST", "/v1/bookings/"+moving+":reschedule", school, map[string]any{"startTime": day.Add(10*time.Hour + 30*time.Minute).UTC().Format(time.RFC3339)})
		if got := decode[map[string]any](t, r); got["mediatorId"] != nil || got["state"] != "BOOKING_STATE_REQUESTED" {
			t.Errorf("reschedule onto the mediator's other booking = %s, want back to requested", r.body)
		}

		// Eight overlapping requests raced for the only Tigrinya mediator.
		var ids []string
		for k := range 8 {
			ids = append(ids, book(day.Add(30*time.Hour+time.Duration(k)*5*time.Minute), 60))
		}
		results := make(chan int, len(ids))
		for _, id := range ids {
			go func() { results <- assign(id).status }()
		}
		won := 0
		for range ids {
			switch s := <-results; s {
			case http.StatusOK:
				won++
			case http.StatusBadRequest: // FAILED_PRECONDITION: nobody free
			default:
				t.Errorf("a raced assignment answered %d", s)
			}
		}
		if won != 1 {
			t.Errorf("%d of 8 overlapping assignments won the one mediator, want exactly 1", won)
		}
	})
}
