package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/loadtest"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/services/housing/demo"
)

const (
	benchHomes         = 20000
	benchOpenRequests  = 5000
	benchHomesPerOwner = 100
	benchMatchClients  = 32
	benchMatches       = 6400
	benchMatchWarmup   = 640
)

// BenchmarkHousingMatchREST loads 20,000 homes (200 owners) and 5,000 open housing
// requests (each with its case) over the demo districts' municipalities into PostgreSQL
// through the REST edge, then drives POST /v1/housingRequests/{id}:match with 32
// concurrent HTTP clients on loopback, as admin (every match considers all 20,000
// homes: the worst case; a desk considers its territory's). PONTE_BENCH_PROFILE=FILE saves
// the CPU profile of the measured run. The server runs in the
// benchmark's process, on the same cores as the clients and PostgreSQL. Run:
//
//	CI=true go test -v -run '^$' -bench HousingMatchREST -benchtime 1x -timeout 20m ./gateway/internal/app/
func BenchmarkHousingMatchREST(b *testing.B) {
	n := startNode(b, pgtest.NewDatabase(b), "--db-max-conns=16")
	admin := n.token(b, auth.Principal{Subject: "bench", Roles: []string{auth.RoleAdmin}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * benchMatchClients, MaxIdleConnsPerHost: 2 * benchMatchClients}}
	post := func(ctx context.Context, tok, path string, body any) ([]byte, error) {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, "POST", n.base+path, strings.NewReader(string(raw)))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, out)
		}
		return out, nil
	}
	places := demo.Districts
	for _, d := range places { // the cases service places cases in the directory's districts
		n.createDistrict(b, d.Code, d.Municipalities...)
	}
	mun := func(i int) (string, string) {
		d := places[i%len(places)]
		return d.Code, d.Municipalities[(i/len(places))%len(d.Municipalities)]
	}
	load := func(what string, count int, call func(ctx context.Context, i int) error) {
		start := time.Now()
		res := loadtest.Run(context.Background(), loadtest.Options{Concurrency: 16, Requests: count},
			func(ctx context.Context, _, seq int) error { return call(ctx, seq) })
		if res.Errors > 0 {
			b.Fatalf("loading %s: %d errors, first: %v", what, res.Errors, res.FirstError)
		}
		b.Logf("loaded %d %s in %s (%.0f/s)", count, what, time.Since(start).Round(time.Millisecond), float64(count)/time.Since(start).Seconds())
	}
	load("owners", benchHomes/benchHomesPerOwner, func(ctx context.Context, i int) error {
		district, _ := mun(i)
		_, err := post(ctx, admin, "/v1/owners", map[string]any{"id": fmt.Sprintf("owner-%d", i), "displayName": "Owner " + fmt.Sprint(i),
			"consent": true, "consentTime": "2026-11-01T10:00:00Z", "reachedVia": "REACH_CHANNEL_MUNICIPALITY", "districtCode": district})
		return err
	})
	load("homes", benchHomes, func(ctx context.Context, i int) error {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		owner := i % (benchHomes / benchHomesPerOwner)
		district, m := mun(owner*7 + i)
		bedrooms := rng.IntN(4)
		types := []string{"CONTRACT_TYPE_AGREED_3_2"}
		if rng.IntN(2) == 0 {
			types = append(types, "CONTRACT_TYPE_FREE_4_4")
		}
		_, err := post(ctx, admin, "/v1/homes", map[string]any{"ownerId": fmt.Sprintf("owner-%d", owner), "municipalityCode": m, "districtCode": district,
			"address": fmt.Sprintf("Via Roma %d", i), "bedrooms": bedrooms, "floorAreaM2": 35 + 20*bedrooms + rng.IntN(20),
			"rentCents": 30000 + 10000*bedrooms + 500*rng.IntN(20), "chargesCents": 3000, "stepFree": rng.IntN(3) == 0,
			"availableFrom": time.Now().AddDate(0, 0, rng.IntN(90)-30).Format(time.DateOnly), "contractTypes": types})
		return err
	})
	ids := make([]string, benchOpenRequests)
	load("cases and requests", benchOpenRequests, func(ctx context.Context, i int) error {
		rng := rand.New(rand.NewPCG(uint64(i), 11))
		district, m := mun(i)
		raw, err := post(ctx, admin, "/v1/cases", map[string]any{"municipalityCode": m, "districtCode": district, "category": "CATEGORY_HOUSING"})
		if err != nil {
			return err
		}
		var k struct{ ID string }
		if err := json.Unmarshal(raw, &k); err != nil {
			return err
		}
		_, other := mun(i + 3)
		raw, err = post(ctx, admin, "/v1/housingRequests", map[string]any{"caseId": k.ID, "municipalityCode": m, "districtCode": district,
			"household":    map[string]any{"adults": 1 + rng.IntN(2), "children": rng.IntN(4)},
			"maxRentCents": 45000 + 5000*rng.IntN(8), "preferredMunicipalities": []string{m, other}, "maxDistanceKm": 10 * rng.IntN(4),
			"wantedBy": time.Now().AddDate(0, 0, 30+rng.IntN(120)).Format(time.DateOnly), "contractTypes": []string{"CONTRACT_TYPE_AGREED_3_2"}})
		if err != nil {
			return err
		}
		var r struct{ ID string }
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		ids[i] = r.ID
		return nil
	})
	ranked, eligible := 0, 0
	for _, id := range ids[:100] {
		m := decode[matchJSON](b, n.do(b, "POST", "/v1/housingRequests/"+id+":match", admin, map[string]any{}))
		if m.Candidates != benchHomes {
			b.Fatalf("a match considered %d homes, want %d", m.Candidates, benchHomes)
		}
		if len(m.Matches) > 0 {
			ranked++
		}
		eligible += m.Eligible
	}
	if ranked < 50 {
		b.Fatalf("only %d of 100 requests have a matching home: the data does not exercise the ranking", ranked)
	}
	b.Logf("of 100 requests %d have matches; on average %d of %d homes pass the hard constraints", ranked, eligible/100, benchHomes)
	if path := os.Getenv("PONTE_BENCH_PROFILE"); path != "" { // a file: the CPU profile of the measured run
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	b.ResetTimer()
	measure := func(who, tok string, reqIDs []string) loadtest.Result {
		cpu0 := processCPU(b)
		res := loadtest.Run(context.Background(), loadtest.Options{Concurrency: benchMatchClients, Requests: benchMatches, Warmup: benchMatchWarmup},
			func(ctx context.Context, _, seq int) error {
				i := (seq%len(reqIDs) + len(reqIDs)) % len(reqIDs) // warm-up seqs are negative
				_, err := post(ctx, tok, "/v1/housingRequests/"+reqIDs[i]+":match", map[string]any{})
				return err
			})
		if res.Errors > 0 {
			b.Fatalf("%d matches failed, first: %v", res.Errors, res.FirstError)
		}
		// CPU per match of this process (server and clients: the edge, the service, the HTTP
		// clients; PostgreSQL is not involved) says what a match costs whatever else the
		// shared machine runs; the latencies say what it was like with it.
		cpu := (processCPU(b) - cpu0) / time.Duration(res.Requests+benchMatchWarmup)
		b.Logf("match through REST as %s, %d clients, %d homes, %d open requests: %s; CPU %s per match",
			who, benchMatchClients, benchHomes, benchOpenRequests, res, cpu.Round(time.Microsecond))
		return res
	}
	res := measure("admin (every match considers the 20,000 homes)", admin, ids)
	// A district desk: its territory holds a fifth of the homes and of the requests.
	var deskIDs []string
	for i, id := range ids {
		if d, _ := mun(i); d == places[0].Code {
			deskIDs = append(deskIDs, id)
		}
	}
	desk := n.token(b, auth.Principal{Subject: "bench-desk", Territory: places[0].Code, Roles: []string{auth.RoleDistrictOperator}})
	deskRes := measure("the desk of "+places[0].Code+" (its 4,000 homes)", desk, deskIDs)
	b.StopTimer()
	b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99_ms")
	b.ReportMetric(res.Throughput(), "matches/s")
	b.ReportMetric(float64(deskRes.P50.Microseconds())/1000, "desk_p50_ms")
	b.ReportMetric(float64(deskRes.P99.Microseconds())/1000, "desk_p99_ms")
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
