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
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "ponte:", err)
		}
		os.Exit(2)
	}
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

"ponte <command> -h" lists a command's flags; each has a PONTE_* environment twin.
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
		return migrate(ctx, rest, stderr)
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
		fmt.Fprint(stdout, usage)
		return nil
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
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Options{Version: buildVersion(), Out: stdout})
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	if err := a.Banner(); err != nil {
		return err
	}
	return a.Run(ctx)
}

func migrate(ctx context.Context, args []string, stderr io.Writer) error {
	var st config.Storage
	fs := newFlagSet("migrate", stderr)
	st.RegisterStorage(fs)
	if err := config.Parse(fs, args); err != nil {
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
	if err := config.Parse(fs, args); err != nil {
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
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	doc, err := gateway.OpenAPI(ctx, gateway.APIInfo{PublicURL: api.PublicURL, ContactEmail: api.ContactEmail})
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
