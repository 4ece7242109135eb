// Command ponte runs any set of Ponte's services in one process, the REST edge in front
// of them, and the tools around them:
//
//	ponte serve   [-target=all|gateway|directory|...] [flags]   run services and/or the REST edge
//	ponte migrate [--database-url=...]                          apply the stores' migrations
//	ponte token   [--roles=...] [--org=...] [--territory=...]   mint a development token
//	ponte openapi [--public-url=https://...]                    print the REST edge's OpenAPI 3 document
//	ponte cases import --source=NAME FILE.csv                   import cases from a district's CSV export
//	ponte directory import FILE | export                        HSDS 3.1 JSON in and out of a running directory
//	ponte version                                               print the version
//
// Every flag has a PONTE_* environment twin: --http-addr ↔ PONTE_HTTP_ADDR.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ponte-network/ponte/gateway"
	"github.com/ponte-network/ponte/gateway/internal/app"
	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/config"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise it comes
// from the module's build information.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, errHelpShown):
	case errors.Is(err, flag.ErrHelp): // an incomplete command line, its usage already on stderr
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "ponte:", err)
		os.Exit(2)
	}
}

// errHelpShown says that a command's usage was printed on stdout because it was asked
// for (-h, --help, ponte help COMMAND): the process exits 0.
var errHelpShown = errors.New("help shown")

// synopses introduce each command's flags in its usage.
var synopses = map[string]string{
	"serve":   "usage: ponte serve [-target=all|gateway|cases|directory|...] [flags]\n\nRuns the selected services and/or the REST edge until SIGTERM.",
	"migrate": "usage: ponte migrate [--database-url=postgres://...] [--data-dir=DIR]\n\nApplies every service's migrations and exits; running it again changes nothing.",
	"token":   "usage: ponte token [--roles=...] [--org=...] [--territory=...] [--subject=...] [--ttl=...]\n\nMints a development token signed with the data directory's key.",
	"openapi": "usage: ponte openapi [--hsds] [--public-url=https://...]\n\nPrints the REST edge's OpenAPI 3 document (JSON); with --hsds, the document of the HSDS 3.1 endpoints (/hsds/openapi.json).",
}

// parseFlags parses a command's flags; on -h or --help it prints the command's usage
// (synopses, then the flags with their PONTE_* twins) on stdout and returns errHelpShown.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	return helpOr(config.Parse(fs, args), fs, stdout, synopses[strings.TrimPrefix(fs.Name(), "ponte ")])
}

// helpOr turns flag.ErrHelp from parsing fs into the printed usage and errHelpShown.
func helpOr(err error, fs *flag.FlagSet, stdout io.Writer, synopsis string) error {
	if !errors.Is(err, flag.ErrHelp) {
		return err
	}
	if synopsis != "" {
		fmt.Fprintln(stdout, strings.TrimRight(synopsis, "\n"))
		fmt.Fprintln(stdout)
	}
	fmt.Fprintln(stdout, "flags (each has a PONTE_* environment twin: --http-addr ↔ PONTE_HTTP_ADDR):")
	fs.SetOutput(stdout)
	fs.PrintDefaults()
	return errHelpShown
}

const usage = `usage: ponte <command> [flags]

commands:
  serve     run services and/or the REST edge (-target=all by default)
  migrate   apply the stores' migrations and exit
  token     mint a development token signed with the data directory's key
  openapi   print the REST edge's OpenAPI 3 document (JSON)
  directory import FILE | export   HSDS 3.1 JSON in and out of a running directory
  cases     import cases from a CSV file (ponte cases import --source NAME FILE.csv)
  version   print the version

"ponte help <command>" (or "ponte <command> -h") explains a command and lists its flags;
each flag has a PONTE_* environment twin. "ponte --version" prints the version.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, stdout, stderr)
	case "token":
		return token(rest, stdout, stderr)
	case "openapi":
		return openAPI(ctx, rest, stdout, stderr)
	case "directory":
		return directoryCmd(ctx, rest, stdout, stderr)
	case "cases":
		return casesCommand(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "ponte", buildVersion())
		return nil
	case "help", "-h", "--help":
		if len(rest) > 0 && rest[0] != "help" && !strings.HasPrefix(rest[0], "-") {
			// ponte help COMMAND [SUBCOMMAND] is COMMAND [SUBCOMMAND] -h.
			return run(ctx, append(slices.Clone(rest), "-h"), stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return errHelpShown
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ponte "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg config.Serve
	fs := newFlagSet("serve", stderr)
	cfg.RegisterServe(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Options{Version: buildVersion(), Out: stdout})
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	return a.Run(ctx) // prints the banner once the start-up tasks are done
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var st config.Storage
	fs := newFlagSet("migrate", stderr)
	st.RegisterStorage(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := app.Migrate(ctx, st); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "migrations applied")
	return nil
}

func token(args []string, stdout, stderr io.Writer) error {
	var (
		st        config.Storage
		subject   string
		org       string
		territory string
		roles     string
		ttl       time.Duration
	)
	fs := newFlagSet("token", stderr)
	st.RegisterStorage(fs)
	fs.StringVar(&subject, "subject", "dev-user", "token subject (sub): a pseudonymous user id")
	fs.StringVar(&org, "org", "", "organization of the caller")
	fs.StringVar(&territory, "territory", "", "territory of the caller: ISTAT code of a region, province or municipality, or a district code")
	fs.StringVar(&roles, "roles", auth.RoleAdmin, "comma-separated roles")
	fs.DurationVar(&ttl, "ttl", app.DevTokenTTL, "validity")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	key, err := auth.LoadOrCreateDevKey(st.DataDir)
	if err != nil {
		return fmt.Errorf("development signing key: %w", err)
	}
	tok, err := auth.MintHS256(key, auth.Principal{
		Subject: subject, Organization: org, Territory: territory, Roles: config.SplitList(roles),
	}, app.DevIssuer, ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func openAPI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var api config.API
	fs := newFlagSet("openapi", stderr)
	api.RegisterAPI(fs)
	hsdsDoc := fs.Bool("hsds", false, "print the OpenAPI document of the HSDS 3.1 endpoints instead")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	build := gateway.OpenAPI
	if *hsdsDoc {
		build = gateway.HSDSOpenAPI
	}
	doc, err := build(ctx, gateway.APIInfo{PublicURL: api.PublicURL, ContactEmail: api.ContactEmail})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", doc)
	return err
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
