package app_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/loadtest"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/store"
	"github.com/ponte-network/ponte/services/reporting/store/sqlcore"
)

// benchFacts is how many facts BenchmarkReportingREST loads (PONTE_REPORTING_BENCH_FACTS).
func benchFacts() int {
	if n, err := strconv.Atoi(os.Getenv("PONTE_REPORTING_BENCH_FACTS")); err == nil && n > 0 {
		return n
	}
	return 2_000_000
}

// loadBenchFacts writes n case_opened facts over 2021-2025 in Lombardy straight into the
// reporting store, in batches through Apply (the path ingestion takes): municipalities
// weighted by population, 35 districts, 13 categories, 6 age bands, 3 sexes and 20
// citizenships with a skew, as a region's observatory would hold.
func loadBenchFacts(b *testing.B, dbURL string, n int) {
	ctx := context.Background()
	st, err := sqlcore.Open(ctx, storage.Config{DatabaseURL: dbURL})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cat, err := territory.Load()
	if err != nil {
		b.Fatal(err)
	}
	var muns []territory.Municipality
	var cum []int64
	var total int64
	for _, m := range cat.Municipalities() {
		if m.RegionCode == "03" {
			muns = append(muns, m)
			total += m.Population
			cum = append(cum, total)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ages := []string{"0-17", "18-24", "25-34", "35-49", "50-64", "65+"}
	cits := []string{"RO", "MA", "AL", "CN", "UA", "EG", "IN", "PE", "PH", "EC", "SN", "PK", "BD", "LK", "TN", "NG", "MD", "BR", "GH", "CI"}
	first := store.DayOf(time.Date(2021, 1, 1, 12, 0, 0, 0, time.UTC))
	last := store.DayOf(time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC))
	const batch = 10000
	start := time.Now()
	for i := 0; i < n; i += batch {
		var changes []store.Change
		for j := i; j < min(n, i+batch); j++ {
			x := rng.Int64N(total)
			k := 0
			for lo, hi := 0, len(cum); lo < hi; {
				mid := (lo + hi) / 2
				if cum[mid] > x {
					hi = mid
				} else {
					lo = mid + 1
				}
				k = lo
			}
			m := muns[min(k, len(muns)-1)]
			cit := cits[min(len(cits)-1, int(rng.ExpFloat64()*4))]
			cell, err := store.EncodeCell(map[string]string{
				catalog.DimMunicipality: m.Code, catalog.DimDistrict: fmt.Sprintf("ats%02d", k%35),
				catalog.DimCategory: fmt.Sprint("c", rng.IntN(13)), catalog.DimAgeBand: ages[rng.IntN(len(ages))],
				catalog.DimSex: []string{"F", "M", "O"}[rng.IntN(3)], catalog.DimCitizenship: cit,
			})
			if err != nil {
				b.Fatal(err)
			}
			id := fmt.Sprint("bench:", j)
			changes = append(changes, store.Change{ID: id, Fact: &store.Fact{
				Kind: catalog.KindCaseOpened, Day: first + rng.Int32N(last-first+1), Cell: cell,
				Person: fmt.Sprintf("%016x", rng.Uint64()), Key: rng.Uint32(), PersonKey: rng.Uint32(),
			}})
		}
		if err := st.Apply(ctx, store.Batch{Source: "bench", Position: int64(i + batch), Changes: changes}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded %d facts in %s", n, time.Since(start).Round(time.Second))
}

func countBenchFacts(b *testing.B, dbURL string) int {
	ctx := context.Background()
	st, err := sqlcore.Open(ctx, storage.Config{DatabaseURL: dbURL})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cur, err := st.Cursors(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range cur {
		if c.Source == "bench" {
			return int(c.Position)
		}
	}
	return 0
}

// BenchmarkReportingREST measures indicator queries through the REST edge of a separate
// ponte process on PostgreSQL holding benchFacts() facts, at 32 clients: 12 months by
// district by sex, and 5 years by municipality. The facts are kept between runs
// (PONTE_BENCH_FRESH=1 reloads them). Run it alone, with nice: the machine is shared.
func BenchmarkReportingREST(b *testing.B) {
	facts := benchFacts()
	dbURL := pgtest.KeptDatabase(b, fmt.Sprint("reporting_", facts), os.Getenv("PONTE_BENCH_FRESH") == "1")
	if countBenchFacts(b, dbURL) < facts {
		dbURL = pgtest.KeptDatabase(b, fmt.Sprint("reporting_", facts), true)
		loadBenchFacts(b, dbURL, facts)
	}
	n, _ := startServeProcess(b, dbURL, "--db-max-conns=16")
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}}
	token := n.token(b, auth.Principal{Subject: "an", Territory: "03", Roles: []string{auth.RoleRegionAnalyst}})
	fetch := func(ctx context.Context, path string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.base+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: status %d", path, resp.StatusCode)
		}
		return nil
	}
	for _, q := range []struct{ name, path string }{
		{"12-month-by-district-by-sex", "/v1/indicators/cases_opened:query?from=2025-01-01&to=2025-12-31&granularity=GRANULARITY_MONTH&groupBy=district&groupBy=sex"},
		{"5-year-by-municipality", "/v1/indicators/cases_opened:query?from=2021-01-01&to=2025-12-31&granularity=GRANULARITY_YEAR&groupBy=municipality"},
	} {
		b.Run(q.name, func(b *testing.B) {
			start := time.Now()
			if err := fetch(context.Background(), q.path); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: one query alone %s", q.name, time.Since(start).Round(time.Millisecond))
			requests, _ := strconv.Atoi(os.Getenv("PONTE_REPORTING_BENCH_REQUESTS"))
			if requests <= 0 {
				requests = 320
			}
			res := loadtest.Run(context.Background(), loadtest.Options{Concurrency: 32, Requests: requests, Warmup: 32},
				func(ctx context.Context, _, _ int) error { return fetch(ctx, q.path) })
			if res.Errors > 0 {
				b.Fatalf("%d errors, the first: %v", res.Errors, res.FirstError)
			}
			b.Logf("%s: %s", q.name, res)
			b.ReportMetric(res.Throughput(), "req/s")
			b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
