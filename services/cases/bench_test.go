package cases

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/storage/postgres/pgtest"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/cases/store/sqlcore"
)

// BenchmarkBatchUpsertVsCopy sends new cases to PostgreSQL through BatchUpsertCases over
// gRPC (loopback, batches of 1000), then COPYs the very rows it wrote (read back from the
// cases table, untimed) in one COPY into a plain table of the same database with the same
// columns and no index, in the same run. It reports both rates and their ratio (the target is
// a batchUpsert rate of at least a third of COPY's):
//
//	CI=true go test -run '^$' -bench BatchUpsertVsCopy -benchtime 3x ./services/cases/
//
// What each side writes: per case, batchUpsert writes the case row (cases: primary key,
// unique key and four indexes), its audit row (audit_events: three indexes) and its
// change-log entry (ponte_changelog: one index), and commits every batch of 1000 in its own
// transaction; the reference writes the case row alone, once, with no index, in one COPY
// of all the rows.
//
// "sequential" sends one batch at a time and waits for its answer; "2-in-flight" keeps two
// batches in flight on one client connection, as a district system's sync may (each batch
// is still one transaction with its own per-item results; the change log orders their
// commits).
func BenchmarkBatchUpsertVsCopy(b *testing.B) {
	b.Run("sequential", func(b *testing.B) { benchUpsertVsCopy(b, 1) })
	b.Run("2-in-flight", func(b *testing.B) { benchUpsertVsCopy(b, 2) })
}

func benchUpsertVsCopy(b *testing.B, inFlight int) {
	const perOp, batch = 10000, 1000
	ctx := context.Background()
	url := pgtest.NewDatabase(b)
	st, err := sqlcore.Open(ctx, storage.Config{DatabaseURL: url})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	cat, err := territory.Load()
	if err != nil {
		b.Fatal(err)
	}
	principal := &auth.Principal{Subject: "bench", Territory: "cremasco", Roles: []string{auth.RoleDistrictOperator}}
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(auth.NewContext(ctx, principal), req)
	}))
	casesv1.RegisterCaseServiceServer(srv, &server{store: st, catalog: cat, districts: testDistricts()})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	client := casesv1.NewCaseServiceClient(conn)

	pg, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = pg.Close(ctx) })
	// The reference: a plain table with the cases table's columns and types, no index,
	// key or trigger, into which the very rows batchUpsert wrote are COPYed.
	if _, err := pg.Exec(ctx, `CREATE TABLE public.copy_target (LIKE `+sqlcore.Schema+`.cases)`); err != nil {
		b.Fatal(err)
	}

	var upsertTime, copyTime time.Duration
	b.ResetTimer()
	for op := range b.N {
		items := make([]*casesv1.CaseUpsert, perOp)
		for i := range items {
			items[i] = &casesv1.CaseUpsert{Case: &casesv1.Case{Source: "bench", ExternalId: fmt.Sprintf("B%d-%06d", op, i),
				MunicipalityCode: "019035", Category: casesv1.Category(1 + i%13), Needs: []string{"documents"}}}
		}
		start := time.Now()
		if err := sendBatches(ctx, client, items, batch, inFlight); err != nil {
			b.Fatal(err)
		}
		upsertTime += time.Since(start)

		b.StopTimer()
		var columns []string
		var rows [][]any
		res, err := pg.Query(ctx, `SELECT * FROM `+sqlcore.Schema+`.cases WHERE source = 'bench' AND external_id LIKE $1`, fmt.Sprintf("B%d-%%", op))
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range res.FieldDescriptions() {
			columns = append(columns, f.Name)
		}
		for res.Next() {
			v, err := res.Values()
			if err != nil {
				b.Fatal(err)
			}
			rows = append(rows, v)
		}
		if res.Close(); res.Err() != nil || len(rows) != perOp {
			b.Fatalf("read back %d rows: %v", len(rows), res.Err())
		}
		b.StartTimer()

		start = time.Now()
		n, err := pg.CopyFrom(ctx, pgx.Identifier{"public", "copy_target"}, columns, pgx.CopyFromRows(rows))
		if err != nil || n != perOp {
			b.Fatalf("COPY: %d rows, %v", n, err)
		}
		copyTime += time.Since(start)
	}
	b.StopTimer()
	total := float64(perOp * b.N)
	upsertRate, copyRate := total/upsertTime.Seconds(), total/copyTime.Seconds()
	b.ReportMetric(upsertRate, "upsert-cases/s")
	b.ReportMetric(copyRate, "copy-rows/s")
	b.ReportMetric(upsertRate/copyRate, "upsert/copy")
	b.ReportMetric(0, "ns/op")
}

// sendBatches sends items through BatchUpsertCases in batches of size, with up to
// inFlight batches awaiting their answer, and checks that every item was created.
func sendBatches(ctx context.Context, client casesv1.CaseServiceClient, items []*casesv1.CaseUpsert, size, inFlight int) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	slots := make(chan struct{}, inFlight)
	for start := 0; start < len(items); start += size {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			err := sendBatch(ctx, client, items[start:min(start+size, len(items))])
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
		})
	}
	wg.Wait()
	return first
}

func sendBatch(ctx context.Context, client casesv1.CaseServiceClient, items []*casesv1.CaseUpsert) error {
	resp, err := client.BatchUpsertCases(ctx, &casesv1.BatchUpsertCasesRequest{Items: items})
	if err != nil {
		return err
	}
	for _, r := range resp.Results {
		if r.Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED {
			return fmt.Errorf("result %v", r)
		}
	}
	return nil
}
