package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/config"
	"github.com/ponte-network/ponte/services/cases"
)

// casesUsage explains `ponte cases import`, with the values its enum columns take.
func casesUsage() string {
	return `usage: ponte cases import --source NAME [--endpoint HOST:PORT] [--token TOKEN] FILE.csv

Imports cases from a CSV file through the cases service's gRPC API (BatchUpsertCases),
keyed by source and external_id: running it again on the same file changes nothing.
Columns (header row, any order): external_id, municipality_code, category (required),
district_code, organization_id, person_id, person_organization_id, assigned_operator,
phase, needs (separated by ;), expected_version.
  category: ` + strings.Join(cases.CSVValues(casesv1.Category_value, "CATEGORY_"), ", ") + `
  phase:    ` + strings.Join(cases.CSVValues(casesv1.Phase_value, "PHASE_"), ", ") + `
Either spelling is accepted: housing or CATEGORY_HOUSING, any case.
Prints a summary with the line and every reason of every rejected row; exits non-zero
when a row was rejected.
`
}

// casesCommand runs `ponte cases SUBCOMMAND`.
func casesCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, casesUsage())
		return errHelpShown
	}
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprint(stderr, casesUsage())
		return flag.ErrHelp
	}
	var source, endpoint, token string
	var batch int
	fs := newFlagSet("cases import", stderr)
	fs.StringVar(&source, "source", "", "name of the system the cases come from (required), e.g. sil-cremasco")
	fs.StringVar(&endpoint, "endpoint", "127.0.0.1:9090", "gRPC address of the cases service")
	fs.StringVar(&token, "token", "", "bearer token of a partner or district operator (see ponte token); default $PONTE_TOKEN")
	fs.IntVar(&batch, "batch-size", 500, "rows per request, at most 1000")
	files, err := config.ParseArgs(fs, args[1:]) // --token's twin is PONTE_TOKEN
	if err != nil {
		return helpOr(err, fs, stdout, casesUsage())
	}
	if source == "" || len(files) != 1 {
		fmt.Fprint(stderr, casesUsage())
		return errors.New("cases import: --source and one FILE.csv are required")
	}
	f, err := os.Open(files[0])
	if err != nil {
		return fmt.Errorf("cases import: %w", err)
	}
	defer f.Close()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("cases import: %w", err)
	}
	defer conn.Close()
	client := casesv1.NewCaseServiceClient(conn)
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	upsert := func(ctx context.Context, req *casesv1.BatchUpsertCasesRequest) (*casesv1.BatchUpsertCasesResponse, error) {
		return client.BatchUpsertCases(ctx, req)
	}
	var progress func(done, total int)
	if isTerminal(stderr) {
		progress = func(done, total int) {
			const width = 30
			filled := width * done / max(total, 1)
			fmt.Fprintf(stderr, "\r[%s%s] %d/%d rows", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	sum, err := cases.ImportCSV(ctx, f, source, batch, upsert, progress)
	if err != nil {
		return fmt.Errorf("cases import: %w", err)
	}
	fmt.Fprintf(stdout, "%d rows: %d created, %d updated, %d unchanged, %d rejected\n",
		sum.Rows, sum.Created, sum.Updated, sum.Unchanged, len(sum.Rejected))
	for _, r := range sum.Rejected {
		fmt.Fprintf(stdout, "line %d: %s\n", r.Line, r.Reason)
	}
	if len(sum.Rejected) > 0 {
		return fmt.Errorf("cases import: %d rows rejected", len(sum.Rejected))
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
