package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/config"
	"github.com/ponte-network/ponte/services/directory/hsds"
)

const directoryUsage = `usage: ponte directory <import|export> [flags]

  import FILE   write an HSDS 3.1 JSON document (an organization package, a service list,
                one service or organization) into the directory, idempotently by id
  export        print the whole directory as an HSDS 3.1 organization package

Both talk to a running ponte over gRPC (--endpoint, default localhost:9090) with the
token in --token or PONTE_TOKEN.
`

// refusedCaller explains an import stopped because the directory refused the token.
func refusedCaller(r hsds.Result, endpoint string, done, total int, stdout io.Writer) error {
	fmt.Fprintf(stdout, "stopped after %d of %d records: the directory at %s refused %s %s: %v\n", done, total, endpoint, r.Kind, r.ID, r.Err)
	if status.Code(r.Err) == codes.Unauthenticated {
		fmt.Fprintf(stdout, `The token (--token or PONTE_TOKEN) must be one the node at %s accepts: signed by that
node's key — in development, mint it on that node with "ponte token --data-dir=<its data dir>
--roles=district_admin --territory=<its district>"; in production, get it from the identity
provider that node trusts (--jwks-url). A token of another node, or an expired one, is refused.
`, endpoint)
		return errors.New("directory import: the token was not accepted")
	}
	fmt.Fprintln(stdout, `The token is valid but its roles or territory do not allow this write: importing needs an
admin, a region or district admin of the records' territory, or an operator of their organization.`)
	return errors.New("directory import: the token may not write these records")
}

// directoryCmd runs `ponte directory import|export`.
func directoryCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, directoryUsage)
		return errHelpShown
	}
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		fmt.Fprint(stderr, directoryUsage)
		return errors.New("ponte directory: say import or export")
	}
	verb := args[0]
	var (
		server, token, locale string
	)
	fs := newFlagSet("directory "+verb, stderr)
	fs.StringVar(&server, "endpoint", "localhost:9090", "gRPC address (host:port) of the ponte running the directory")
	fs.StringVar(&token, "token", "", "bearer token (a district or region admin's, or the organization's operators')")
	fs.StringVar(&locale, "locale", "it", "import: language of the document's own text")
	rest, err := config.ParseArgs(fs, args[1:])
	if err != nil {
		return helpOr(err, fs, stdout, directoryUsage)
	}
	conn, err := grpc.NewClient(server, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", server, err)
	}
	defer conn.Close()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	client := directoryv1.NewDirectoryServiceClient(conn)
	if verb == "export" {
		return hsds.Export(ctx, client, stdout)
	}
	if len(rest) != 1 {
		return errors.New("ponte directory import: name one HSDS JSON file")
	}
	return importHSDS(ctx, client, server, rest[0], locale, stdout, stderr)
}

func importHSDS(ctx context.Context, client directoryv1.DirectoryServiceClient, endpoint, path, locale string, stdout, stderr io.Writer) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	bundle, err := hsds.Decode(raw, locale)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var progress func(done, total int, r hsds.Result)
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var bar *progressbar.ProgressBar
		progress = func(done, total int, _ hsds.Result) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
					progressbar.OptionSetDescription("importing"), progressbar.OptionShowCount(),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			}
			_ = bar.Set(done)
		}
	}
	results := hsds.Import(ctx, client, bundle, progress)
	total := len(bundle.Organizations) + len(bundle.TaxonomyTerms) + len(bundle.Locations) + len(bundle.Services)
	if n := len(results); n > 0 && hsds.Stopped(results[n-1]) {
		if ctx.Err() == nil && progress != nil {
			fmt.Fprintln(stderr)
		}
		return refusedCaller(results[n-1], endpoint, n, total, stdout)
	}
	counts := map[hsds.Outcome]int{}
	var failed []hsds.Result
	for _, r := range results {
		counts[r.Outcome]++
		if r.Outcome == hsds.Failed {
			failed = append(failed, r)
		}
	}
	fmt.Fprintf(stdout, "%s: %d records: %d created, %d updated, %d unchanged, %d failed\n", path, len(results),
		counts[hsds.Created], counts[hsds.Updated], counts[hsds.Unchanged], counts[hsds.Failed])
	slices.SortFunc(failed, func(a, b hsds.Result) int {
		if a.Kind != b.Kind {
			return strings.Compare(a.Kind, b.Kind)
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, r := range failed {
		fmt.Fprintf(stdout, "  failed %s %s: %v\n", r.Kind, r.ID, r.Err)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d records were refused", len(failed), len(results))
	}
	return nil
}
