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
// gRPC (loopback, batches of 1000), then loads the very rows the sync wrote — its cases,
// their audit rows and their change-log entries, read back untimed — by COPY into tables
// made LIKE the real ones INCLUDING ALL (the same keys and indexes), in transactions of
// 1000 cases as the sync commits. That is the real limit of a correct sync: PostgreSQL
// writing the same rows and index entries with no service in between. It reports both
// rates and their ratio (the target is a batchUpsert rate of at least 60% of COPY's), and
// the rate of one COPY of the case rows alone into an unindexed table, the earlier
// reference that no correct sync can approach:
//
//	CI=true go test -run '^$' -bench BatchUpsertVsCopy -benchtime 3x ./services/cases/
//
// "sequential" sends one batch at a time and waits for its answer; "2-in-flight" keeps two
// batches in flight on one client connection, as a district system's sync may (each batch
// is still one transaction with its own per-item results; the change log orders their
// commits). The reference loads one batch at a time.
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
	// The references: tables like the sync's own, with their keys and indexes, and a
	// plain unindexed copy of the cases table.
	for _, stmt := range []string{
		`CREATE SCHEMA ref`,
		`CREATE TABLE ref.cases (LIKE ` + sqlcore.Schema + `.cases INCLUDING ALL)`,
		`CREATE TABLE ref.audit_events (LIKE ` + sqlcore.Schema + `.audit_events INCLUDING ALL)`,
		`CREATE TABLE ref.ponte_changelog (LIKE ` + sqlcore.Schema + `.ponte_changelog INCLUDING ALL)`,
		`CREATE TABLE public.copy_target (LIKE ` + sqlcore.Schema + `.cases)`,
	} {
		if _, err := pg.Exec(ctx, stmt); err != nil {
			b.Fatal(err)
		}
	}
	var after int64 // the audit and change-log positions already copied
	var afterAudit int64

	var upsertTime, copyTime, plainTime time.Duration
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
		cases := readRows(b, pg, `SELECT * FROM `+sqlcore.Schema+`.cases WHERE source = 'bench' AND external_id LIKE $1 ORDER BY id`, fmt.Sprintf("B%d-%%", op))
		audit := readRows(b, pg, `SELECT time_us, subject, organization_id, method, action, record_type, record_id, district_code, municipality_code
			FROM `+sqlcore.Schema+`.audit_events WHERE id > $1 ORDER BY id`, afterAudit)
		feed := readRows(b, pg, `SELECT topic, record_key, op, payload, recorded_at FROM `+sqlcore.Schema+`.ponte_changelog WHERE position > $1 ORDER BY position`, after)
		if len(cases.rows) != perOp || len(audit.rows) != perOp || len(feed.rows) != perOp {
			b.Fatalf("read back %d cases, %d audit rows, %d changes; want %d each", len(cases.rows), len(audit.rows), len(feed.rows), perOp)
		}
		if err := pg.QueryRow(ctx, `SELECT max(id) FROM `+sqlcore.Schema+`.audit_events`).Scan(&afterAudit); err != nil {
			b.Fatal(err)
		}
		if err := pg.QueryRow(ctx, `SELECT max(position) FROM `+sqlcore.Schema+`.ponte_changelog`).Scan(&after); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		start = time.Now()
		for from := 0; from < perOp; from += batch {
			to := min(from+batch, perOp)
			err := pgx.BeginFunc(ctx, pg, func(tx pgx.Tx) error {
				for _, load := range []struct {
					table string
					r     rowSet
				}{{"cases", cases}, {"audit_events", audit}, {"ponte_changelog", feed}} {
					n, err := tx.CopyFrom(ctx, pgx.Identifier{"ref", load.table}, load.r.columns, pgx.CopyFromRows(load.r.rows[from:to]))
					if err != nil || n != int64(to-from) {
						return fmt.Errorf("COPY into ref.%s: %d rows, %w", load.table, n, err)
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		copyTime += time.Since(start)

		start = time.Now()
		n, err := pg.CopyFrom(ctx, pgx.Identifier{"public", "copy_target"}, cases.columns, pgx.CopyFromRows(cases.rows))
		if err != nil || n != perOp {
			b.Fatalf("COPY: %d rows, %v", n, err)
		}
		plainTime += time.Since(start)
	}
	b.StopTimer()
	total := float64(perOp * b.N)
	upsertRate, copyRate := total/upsertTime.Seconds(), total/copyTime.Seconds()
	b.ReportMetric(upsertRate, "upsert-cases/s")
	b.ReportMetric(copyRate, "copy-cases/s")
	b.ReportMetric(upsertRate/copyRate, "upsert/copy")
	b.ReportMetric(total/plainTime.Seconds(), "plain-copy-rows/s")
	b.ReportMetric(0, "ns/op")
}

// rowSet is rows read back for a COPY, with their column names.
type rowSet struct {
	columns []string
	rows    [][]any
}

func readRows(b *testing.B, pg *pgx.Conn, query string, args ...any) rowSet {
	b.Helper()
	res, err := pg.Query(context.Background(), query, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Close()
	var out rowSet
	for _, f := range res.FieldDescriptions() {
		out.columns = append(out.columns, f.Name)
	}
	for res.Next() {
		v, err := res.Values()
		if err != nil {
			b.Fatal(err)
		}
		out.rows = append(out.rows, v)
	}
	if err := res.Err(); err != nil {
		b.Fatal(err)
	}
	return out
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
