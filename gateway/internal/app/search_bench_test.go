package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/loadtest"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/libs/territory"
)

// The size of BenchmarkSearchREST's directory: a national one.
const (
	benchOrganizations   = 5000
	benchLocationsPerOrg = 4
	benchServicesPerOrg  = 20 // 100,000 services
	benchClients         = 32
	benchRequests        = 6400 // per query kind
	benchWarmup          = 1000 // per query kind, by all clients at once, not measured
	benchLoaders         = 16
	// benchDataVersion names the generator: change it when benchDirectory changes, so
	// that a kept database of the old shape is not reused.
	benchDataVersion = "search_v1"
)

// BenchmarkSearchREST loads 100,000 services (5,000 organizations with 20,000 locations
// spread over Italy's municipalities by population) into PostgreSQL through the REST
// edge, then drives GET /v1/services:search with 32 concurrent HTTP clients on loopback
// for three kinds of query, each varied over its requests: free text (six common
// searches in Italian, English and French, each matching 6-10% of the services),
// taxonomy term + province, and near a place + 5 km; and, as the floor of the stack, a
// one-record read (GET /v1/territories/{code}) through the same edge. It reports
// throughput and latency percentiles per kind. The server is the ponte binary, built and
// started as its own process (as deployed, with its default telemetry: every request
// traced, no exporter configured); the client runs in the benchmark's process, on the same
// two cores as the server and PostgreSQL.
//
// Loading takes a few minutes, so the database (ponte_bench_search_v1) is kept between
// runs; PONTE_BENCH_FRESH=1 reloads it. PONTE_BENCH_PROFILE=DIR saves a 5-second CPU
// profile of the server per query kind into DIR. Run:
//
//	CI=true go test -v -run '^$' -bench SearchREST -benchtime 1x -timeout 40m ./gateway/internal/app/
func BenchmarkSearchREST(b *testing.B) {
	ctx := context.Background()
	dir := benchDirectory()
	dbURL := pgtest.KeptDatabase(b, benchDataVersion, os.Getenv("PONTE_BENCH_FRESH") == "1")
	if n := countServices(b, dbURL); n != 0 && n != len(dir.services) {
		b.Logf("kept database holds %d services, not %d: reloading", n, len(dir.services))
		dbURL = pgtest.KeptDatabase(b, benchDataVersion, true)
	}
	serveArgs := []string{"--db-max-conns=16"}
	profileDir := os.Getenv("PONTE_BENCH_PROFILE") // a directory: CPU profiles of the server per query kind
	if profileDir != "" {
		serveArgs = append(serveArgs, "--debug-addr=127.0.0.1:0")
	}
	n, pid := startServeProcess(b, dbURL, serveArgs...)
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients}}
	if countServices(b, dbURL) == 0 {
		start := time.Now()
		loadBenchDirectory(b, n, client, dir)
		b.Logf("loaded %d organizations, %d locations, %d services in %s", len(dir.organizations), len(dir.locations),
			len(dir.services), time.Since(start).Round(time.Second))
		vacuumAnalyze(b, dbURL)
	}
	services := len(dir.services)
	dir.organizations, dir.locations, dir.services = nil, nil, nil // the queries need the probes only
	runtime.GC()

	// fetch GETs path and copies its body into w. The measured calls copy it into
	// io.Discard, as a load generator does, so that the client spends little of the cores
	// it shares with the server; get keeps it, for the checks around them.
	fetch := func(ctx context.Context, path string, w io.Writer) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.base+path, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		_, err = io.Copy(w, resp.Body)
		return err
	}
	get := func(ctx context.Context, path string) ([]byte, error) {
		var body bytes.Buffer
		err := fetch(ctx, path, &body)
		return body.Bytes(), err
	}
	// The first search builds the index.
	start := time.Now()
	if _, err := get(ctx, "/v1/services:search?page_size=1"); err != nil {
		b.Fatal(err)
	}
	b.Logf("first search (builds the index of %d services): %s", services, time.Since(start).Round(time.Millisecond))
	b.Logf("server process memory after the build: %s", processMemory(b, pid))
	defer func() { b.Logf("server process memory after the searches: %s", processMemory(b, pid)) }()

	kinds := []struct {
		name string
		path func(seq int) string
	}{
		{"text", func(seq int) string {
			qs := []string{"corso di italiano", "italian course", "consulenza legale", "cours d'italien", "orientamento lavoro", "sportello casa"}
			return "/v1/services:search?locale=it&q=" + url.QueryEscape(qs[abs(seq)%len(qs)])
		}},
		{"taxonomy+territory", func(seq int) string {
			p := dir.probes[abs(seq)%len(dir.probes)]
			return "/v1/services:search?locale=it&taxonomy=" + p.term + "&territory=" + p.province
		}},
		{"near+radius", func(seq int) string {
			p := dir.probes[abs(seq)%len(dir.probes)]
			return fmt.Sprintf("/v1/services:search?locale=it&near=%.5f,%.5f&radius_km=5", p.lat, p.lon)
		}},
		// The floor: a one-record read through the same edge, gRPC hop and interceptors.
		{"baseline-territory", func(seq int) string {
			return "/v1/territories/" + dir.probes[abs(seq)%len(dir.probes)].province
		}},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			var totals []int
			for seq := range 60 {
				body, err := get(ctx, k.path(seq))
				if err != nil {
					b.Fatal(err)
				}
				var r struct {
					TotalSize int `json:"totalSize"` // 0 for the baseline
				}
				if err := json.Unmarshal(body, &r); err != nil {
					b.Fatal(err)
				}
				totals = append(totals, r.TotalSize)
			}
			slices.Sort(totals)
			if profileDir != "" {
				stop := profileServer(b, n, filepath.Join(profileDir, strings.ReplaceAll(k.name, "+", "_")+".pprof"))
				defer stop()
			}
			res := loadtest.Run(ctx, loadtest.Options{Concurrency: benchClients, Requests: benchRequests, Warmup: benchWarmup},
				func(ctx context.Context, _, seq int) error { return fetch(ctx, k.path(seq), io.Discard) })
			if res.Errors > 0 {
				b.Fatalf("%d errors, the first: %v", res.Errors, res.FirstError)
			}
			b.Logf("%s: %s; matches per query: min %d, median %d, max %d", k.name, res, totals[0], totals[len(totals)/2], totals[len(totals)-1])
			b.ReportMetric(res.Throughput(), "req/s")
			b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(totals[len(totals)/2]), "median-matches")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// withConn calls f on a connection to dbURL.
func withConn(b *testing.B, dbURL string, f func(ctx context.Context, conn *pgx.Conn) error) {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := f(ctx, conn); err != nil {
		b.Fatal(err)
	}
}

// countServices counts the services in the directory's PostgreSQL schema (0 before migration).
func countServices(b *testing.B, dbURL string) int {
	b.Helper()
	var n int
	withConn(b, dbURL, func(ctx context.Context, conn *pgx.Conn) error {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass('directory.records') IS NOT NULL`).Scan(&exists); err != nil || !exists {
			return err
		}
		return conn.QueryRow(ctx, `SELECT count(*) FROM directory.records WHERE kind = 'service'`).Scan(&n)
	})
	return n
}

// vacuumAnalyze does what autovacuum would do after a bulk load on a production server
// (the development server may run without it): table statistics and visibility maps.
func vacuumAnalyze(b *testing.B, dbURL string) {
	b.Helper()
	withConn(b, dbURL, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "VACUUM ANALYZE")
		return err
	})
}

// benchDir is the generated directory: the REST bodies to post, and probes (a place, its
// province and a term offered there) for the queries.
type benchDir struct {
	organizations, locations, services []map[string]any
	probes                             []benchProbe
}

type benchProbe struct {
	lat, lon       float64
	province, term string
}

// benchKind is a kind of service the generator makes, with its share of the services.
type benchKind struct {
	share  int
	terms  []string // built-in term ids
	name   [4]string
	desc   [2]string
	groups []string
}

// Built-in taxonomy term ids (services/directory/seed/taxonomy.json).
const (
	termL2          = "8b9941a6-73c1-44b6-b99c-8cc88d5871fa" // italian-l2-course
	termAdultEd     = "391078da-3064-45ae-bb52-9a21e58525fa" // adult-education
	termLegalAdvice = "d58caa37-0f49-4181-b033-b952d0b1744e" // legal-advice
	termPermit      = "014e84c4-01f3-4c20-9886-e14750a424bd" // residence-permit-support
	termSTP         = "2fae2a47-2ebc-4499-b5bc-a3d39e7f4fec" // stp-clinic
	termFamilyCl    = "6760d6c6-8a42-47d0-8abc-afa90c3ae64f" // family-clinic
	termJobs        = "b2f2bf55-b7d5-4921-bfff-af52bec84bb8" // job-orientation
	termHousingDesk = "0aac8cc3-3552-449c-8e73-cba371046f2a" // housing-desk
	termAfterSchool = "202edbe2-fa51-43a5-95e8-92c08b3f3d7f" // after-school-support
	termMediation   = "88757665-68ed-45db-882c-cbfb847d17f8" // linguistic-cultural-mediation
	termFood        = "845fb32f-a1d9-4b04-a34a-a33586c1c725" // food-aid
	termSports      = "efa80ebb-1b50-4954-b86b-442a919a5d14" // sports
	termImmigration = "e4412e53-d12e-4418-b3be-b8e4431a2e3a" // immigration-desk
	termRegistry    = "0b806367-073f-4202-9097-4554823a737d" // registry-office
)

var benchKinds = []benchKind{
	{10, []string{termL2, termAdultEd}, [4]string{"Corso di italiano L2", "Italian L2 course", "Cours d'italien L2", "دورة اللغة الإيطالية"},
		[2]string{"Corsi di italiano per adulti stranieri dal livello A1 al B1.", "Italian courses for adult foreigners from A1 to B1."}, []string{"adults", "newly-arrived"}},
	{8, []string{termLegalAdvice, termPermit}, [4]string{"Sportello di consulenza legale", "Legal advice desk", "Conseil juridique", "استشارة قانونية"},
		[2]string{"Consulenza legale gratuita su permessi di soggiorno e ricongiungimenti.", "Free legal advice on residence permits and family reunification."}, []string{"adults", "asylum-seekers"}},
	{6, []string{termSTP}, [4]string{"Ambulatorio STP", "STP clinic", "Consultation STP", "عيادة STP"},
		[2]string{"Visite mediche per persone senza permesso di soggiorno.", "Medical care for people without a residence permit."}, []string{"people-without-residence-permit"}},
	{8, []string{termFamilyCl}, [4]string{"Consultorio familiare", "Family clinic", "Centre de planning familial", "عيادة الأسرة"},
		[2]string{"Salute della donna, gravidanza e pediatria, con mediatrici.", "Women's health, pregnancy and paediatrics, with mediators."}, []string{"women", "families"}},
	{10, []string{termJobs}, [4]string{"Orientamento al lavoro", "Job orientation", "Orientation professionnelle", "التوجيه المهني"},
		[2]string{"Bilancio di competenze, curriculum e ricerca del lavoro.", "Skills assessment, CV writing and job search."}, []string{"adults", "young-people"}},
	{6, []string{termHousingDesk}, [4]string{"Sportello casa", "Housing desk", "Guichet logement", "مكتب السكن"},
		[2]string{"Aiuto nella ricerca di una casa in affitto e mediazione con i proprietari.", "Help finding a home to rent and mediation with landlords."}, []string{"families", "adults"}},
	{10, []string{termAfterSchool}, [4]string{"Doposcuola e aiuto compiti", "After-school homework help", "Aide aux devoirs", "مساعدة في الواجبات المدرسية"},
		[2]string{"Aiuto nei compiti per ragazzi delle scuole primarie e medie.", "Homework help for primary and middle school pupils."}, []string{"minors"}},
	{8, []string{termMediation}, [4]string{"Mediazione linguistico-culturale", "Linguistic and cultural mediation", "Médiation linguistique et culturelle", "الوساطة اللغوية والثقافية"},
		[2]string{"Mediatori per colloqui con scuole, servizi sociali e sanitari.", "Mediators for meetings with schools, social and health services."}, []string{"adults", "families"}},
	{8, []string{termFood}, [4]string{"Distribuzione alimentare", "Food distribution", "Distribution alimentaire", "توزيع الغذاء"},
		[2]string{"Pacchi alimentari per famiglie in difficoltà, su appuntamento.", "Food parcels for families in need, by appointment."}, []string{"families"}},
	{10, []string{termSports}, [4]string{"Sport per tutti", "Sport for all", "Sport pour tous", "رياضة للجميع"},
		[2]string{"Calcio, basket e atletica a quota ridotta per ragazzi.", "Football, basketball and athletics at a reduced fee for young people."}, []string{"minors", "young-people"}},
	{8, []string{termImmigration, termPermit}, [4]string{"Sportello immigrazione", "Immigration desk", "Guichet immigration", "مكتب الهجرة"},
		[2]string{"Informazioni su permessi, rinnovi e pratiche per stranieri.", "Information on permits, renewals and paperwork for foreigners."}, []string{"adults"}},
	{8, []string{termRegistry}, [4]string{"Ufficio anagrafe", "Registry office", "Bureau de l'état civil", "مكتب السجل المدني"},
		[2]string{"Residenza, certificati e carta d'identità.", "Residence registration, certificates and identity card."}, []string{"adults"}},
}

// regionCentres are approximate centres of Italy's regions (ISTAT code → lat, lon, spread
// in degrees): municipalities are placed around them.
var regionCentres = map[string][3]float64{
	"01": {45.05, 7.90, 0.45}, "02": {45.74, 7.35, 0.15}, "03": {45.60, 9.80, 0.40}, "04": {46.40, 11.20, 0.35},
	"05": {45.60, 12.00, 0.35}, "06": {46.10, 13.10, 0.25}, "07": {44.30, 8.70, 0.25}, "08": {44.50, 11.00, 0.40},
	"09": {43.40, 11.10, 0.45}, "10": {42.90, 12.50, 0.25}, "11": {43.30, 13.10, 0.30}, "12": {41.90, 12.80, 0.45},
	"13": {42.20, 13.90, 0.30}, "14": {41.70, 14.60, 0.20}, "15": {40.90, 14.80, 0.40}, "16": {41.00, 16.60, 0.55},
	"17": {40.50, 16.10, 0.30}, "18": {39.00, 16.50, 0.45}, "19": {37.50, 14.10, 0.55}, "20": {40.10, 9.00, 0.60},
}

// benchDirectory generates the benchmark's directory, the same on every run.
func benchDirectory() *benchDir {
	cat, err := territory.Load()
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	muns := cat.Municipalities()
	// Municipalities weighted by population; each has a point near its region's centre.
	cumulative := make([]int64, len(muns))
	centre := make([][2]float64, len(muns))
	var total int64
	for i, m := range muns {
		total += max(m.Population, 1)
		cumulative[i] = total
		rc := regionCentres[m.RegionCode]
		centre[i] = [2]float64{rc[0] + rng.NormFloat64()*rc[2], rc[1] + rng.NormFloat64()*rc[2]*1.3}
	}
	pick := func() int {
		i, _ := slices.BinarySearch(cumulative, rng.Int64N(total)+1)
		return i
	}
	shares := 0
	for _, k := range benchKinds {
		shares += k.share
	}
	kindOf := func() benchKind {
		n := rng.IntN(shares)
		for _, k := range benchKinds {
			if n < k.share {
				return k
			}
			n -= k.share
		}
		return benchKinds[0]
	}
	otherLangs := []string{"en", "fr", "ar", "ro", "es", "uk", "zh"}
	weekdays := []string{"WEEKDAY_MONDAY", "WEEKDAY_TUESDAY", "WEEKDAY_WEDNESDAY", "WEEKDAY_THURSDAY", "WEEKDAY_FRIDAY", "WEEKDAY_SATURDAY"}
	d := &benchDir{}
	for o := range benchOrganizations {
		orgID := fmt.Sprintf("bench-org-%05d", o)
		home := pick()
		d.organizations = append(d.organizations, map[string]any{"id": orgID, "name": map[string]string{"it": "Ente " + muns[home].Name + " " + fmt.Sprint(o)},
			"municipalityCode": muns[home].Code})
		var locs []string
		for l := range benchLocationsPerOrg {
			m := home
			if l > 0 && rng.IntN(3) == 0 {
				m = pick() // some organizations work in several places
			}
			// Big towns spread wider: about 1 km plus sqrt(population)/250 km.
			spreadKM := 1 + math.Sqrt(float64(muns[m].Population))/250
			lat := centre[m][0] + rng.NormFloat64()*spreadKM/111
			lon := centre[m][1] + rng.NormFloat64()*spreadKM/78
			id := fmt.Sprintf("%s-loc-%d", orgID, l)
			locs = append(locs, id)
			d.locations = append(d.locations, map[string]any{"id": id, "organizationId": orgID, "municipalityCode": muns[m].Code,
				"name": map[string]string{"it": "Sede di " + muns[m].Name}, "latitude": lat, "longitude": lon})
			if len(d.locations)%50 == 0 { // probes follow the services: denser where people are
				k := kindOf()
				d.probes = append(d.probes, benchProbe{lat: lat, lon: lon, province: muns[m].ProvinceCode, term: k.terms[0]})
			}
		}
		for s := range benchServicesPerOrg {
			k := kindOf()
			town := muns[home].Name
			langs := []string{"it"}
			for _, l := range otherLangs {
				if rng.IntN(4) == 0 {
					langs = append(langs, l)
				}
			}
			day, from := rng.IntN(len(weekdays)), 8+rng.IntN(8)
			svc := map[string]any{
				"id": fmt.Sprintf("%s-svc-%02d", orgID, s), "organizationId": orgID,
				"name":            map[string]string{"it": k.name[0] + " – " + town, "en": k.name[1] + " – " + town, "fr": k.name[2] + " – " + town, "ar": k.name[3] + " – " + town},
				"description":     map[string]string{"it": k.desc[0], "en": k.desc[1]},
				"taxonomyTermIds": k.terms, "languages": langs, "targetGroups": k.groups,
				"schedules": []map[string]any{
					{"weekday": weekdays[day], "opensAt": fmt.Sprintf("%02d:00", from), "closesAt": fmt.Sprintf("%02d:30", from+3)},
					{"weekday": weekdays[(day+2)%len(weekdays)], "opensAt": fmt.Sprintf("%02d:00", from), "closesAt": fmt.Sprintf("%02d:30", from+3)},
				},
				"serviceAtLocations": []map[string]any{{"locationId": locs[rng.IntN(len(locs))]}},
			}
			d.services = append(d.services, svc)
		}
	}
	return d
}

// loadBenchDirectory posts the directory through the REST edge with an admin token.
func loadBenchDirectory(b *testing.B, n *node, client *http.Client, d *benchDir) {
	b.Helper()
	token := n.token(b, auth.Principal{Subject: "bench-loader", Roles: []string{auth.RoleAdmin}})
	post := func(path string, items []map[string]any) {
		res := loadtest.Run(context.Background(), loadtest.Options{Concurrency: benchLoaders, Requests: len(items)},
			func(ctx context.Context, _, seq int) error {
				body, err := json.Marshal(items[seq])
				if err != nil {
					return err
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.base+path, strings.NewReader(string(body)))
				if err != nil {
					return err
				}
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, raw)
				}
				return nil
			})
		if res.Errors > 0 {
			b.Fatalf("loading %s: %d errors, the first: %v", path, res.Errors, res.FirstError)
		}
		b.Logf("loaded %s: %s", path, res)
	}
	post("/v1/organizations", d.organizations)
	post("/v1/locations", d.locations)
	post("/v1/services", d.services)
}

// startServeProcess builds the ponte binary and runs `ponte serve` on PostgreSQL as its own
// process, on loopback ports, until the benchmark ends (SIGTERM, then a check that it
// exited cleanly). It returns a node for the REST edge and the process id.
func startServeProcess(b *testing.B, dbURL string, extraArgs ...string) (*node, int) {
	b.Helper()
	return startProcess(b, buildPonte(b), filepath.Join(b.TempDir(), "data"), append([]string{"--database-url=" + dbURL}, extraArgs...)...)
}

// profileServer takes a 5-second CPU profile of the server (started with --debug-addr)
// into path, in the background; the returned function waits for it.
func profileServer(b *testing.B, n *node, path string) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get("http://" + n.debug + "/debug/pprof/profile?seconds=5")
		if err != nil {
			b.Errorf("profile: %v", err)
			return
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(path, raw, 0o644)
		}
		if err != nil {
			b.Errorf("profile: %v", err)
		}
	}()
	return func() { <-done }
}

// processMemory reads a process's resident and peak resident memory from /proc.
func processMemory(b *testing.B, pid int) string {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	var fields []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && (name == "VmRSS" || name == "VmHWM") {
			fields = append(fields, name+" "+strings.Join(strings.Fields(value), " "))
		}
	}
	return strings.Join(fields, ", ")
}
