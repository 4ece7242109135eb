// Package config is the configuration of a Ponte process: command-line flags, each with
// a PONTE_* environment twin (--http-addr ↔ PONTE_HTTP_ADDR), parsed with ff; flags win
// over the environment, the environment over defaults.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v4"

	"github.com/ponte-network/ponte/libs/storage"
)

// EnvPrefix is the prefix of the environment twins of the flags.
const EnvPrefix = "PONTE"

// Services are the services a Ponte process can run or reach.
var Services = []string{"cases", "mediators", "directory", "housing", "reporting"}

// Serve is the configuration of `ponte serve`.
type Serve struct {
	Targets      string // comma list of modules to run: all, gateway, cases, ...
	GRPCAddr     string
	HTTPAddr     string
	Storage      Storage
	Auth         Auth
	Endpoints    map[string]*string // service → remote gRPC host:port, for an edge in front of remote services
	CORSOrigins  string
	MaxBodyBytes int64
	// BodyReadTimeout bounds how long a client may take to send a REST request body.
	BodyReadTimeout time.Duration
	Grace           time.Duration
	LogLevel        string
	Environment     string
	API             API
	Demo            bool
	// DebugAddr, when set, serves Go's profiling endpoints (net/http/pprof) there.
	DebugAddr string
	// Observatory configures the dashboard's sign-in.
	Observatory Observatory
	// DirectoryMirrors are the upstream directory nodes the directory mirrors.
	DirectoryMirrors Mirrors
	// Edge configures the REST edge's telemetry and limits.
	Edge Edge
	// Reporting configures the observatory.
	Reporting Reporting
	// DistrictsMaxStale is how long the cases service trusts its copy of the districts
	// after losing the directory's change feed; then writes that place a case answer
	// UNAVAILABLE.
	DistrictsMaxStale time.Duration
}

// Reporting configures the reporting service.
type Reporting struct {
	// SecretFile holds the secret that keys pseudonyms and cell keys; empty: a secret
	// generated once and kept in the data directory (development).
	SecretFile string
	// Threshold is the disclosure threshold (at least 3).
	Threshold int
	// Districts, when set, make this node a region's reporting: it answers from these
	// district nodes' reporting services.
	Districts Mirrors
	// Deadline bounds a federated query's wait for its districts.
	Deadline time.Duration
}

// API says how the deployment presents its REST API in the OpenAPI document.
type API struct {
	PublicURL    string
	ContactEmail string
}

// RegisterAPI adds the API-description flags to fs.
func (a *API) RegisterAPI(fs *flag.FlagSet) {
	fs.StringVar(&a.PublicURL, "public-url", "", "https URL clients reach the REST edge at, for the OpenAPI document (empty: a development edge)")
	fs.StringVar(&a.ContactEmail, "api-contact-email", "", "who answers for this deployment's API, for the OpenAPI document")
}

// Storage says where services keep their data.
type Storage struct {
	DataDir       string
	DatabaseURL   string
	QueryExecMode string
	MaxConns      int
	// ServeRole is the PostgreSQL role `ponte serve` connects as; `ponte migrate`
	// grants it what serving needs (docs/operations.md, "Database roles").
	ServeRole string
}

// Auth says how bearer tokens are verified, and how this process's services obtain
// their own tokens to call other services (service principals).
type Auth struct {
	KeysFile string
	JWKSURL  string
	Issuer   string
	Audience string
	// ServiceTokens is the identity provider's client-credentials grant for service
	// principals; when unset, the development key mints them (or, without one, a service
	// that calls another refuses to start).
	ServiceTokens ServiceTokens
}

// ServiceTokens says how a service obtains its own tokens from the identity provider
// (OAuth2 client credentials); ClientID and ClientSecretFile may contain "{service}".
type ServiceTokens struct {
	TokenURL         string
	ClientID         string
	ClientSecretFile string
	Scopes           string // comma-separated
	Audience         string
}

// RegisterStorage adds the storage flags to fs.
func (s *Storage) RegisterStorage(fs *flag.FlagSet) {
	fs.StringVar(&s.DataDir, "data-dir", "./ponte-data", "directory of the embedded store and the development signing key")
	fs.StringVar(&s.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://...); empty: the embedded store in --data-dir")
	fs.StringVar(&s.QueryExecMode, "db-query-exec-mode", "", "pgx query exec mode; use exec or simple_protocol behind PgBouncer in transaction mode")
	fs.IntVar(&s.MaxConns, "db-max-conns", 0, "PostgreSQL pool size per service (0: pgx default)")
	fs.StringVar(&s.ServeRole, "db-serve-role", "", "with ponte migrate: the PostgreSQL role ponte serve connects as, granted what serving needs (append-only audit tables: SELECT and INSERT only); empty: one role migrates and serves (development)")
}

// Embedded reports whether the embedded store is used.
func (s *Storage) Embedded() bool { return s.DatabaseURL == "" }

// SQLitePath is the embedded store file of a service.
func (s *Storage) SQLitePath(service string) string {
	return filepath.Join(s.DataDir, service+".db")
}

// For returns where service keeps its data: its schema of the database at DatabaseURL,
// or its file in DataDir. Telemetry providers are the caller's to add.
func (s *Storage) For(service string) storage.Config {
	return storage.Config{
		DatabaseURL:   s.DatabaseURL,
		SQLitePath:    s.SQLitePath(service),
		QueryExecMode: s.QueryExecMode,
		MaxConns:      int32(s.MaxConns),
		ServeRole:     s.ServeRole,
	}
}

// RegisterAuth adds the token-verification flags to fs.
func (a *Auth) RegisterAuth(fs *flag.FlagSet) {
	fs.StringVar(&a.KeysFile, "jwt-keys-file", "", "PEM public keys or a JWKS file to verify RS256/ES256 tokens")
	fs.StringVar(&a.JWKSURL, "jwks-url", "", "JWKS URL to verify RS256/ES256 tokens")
	fs.StringVar(&a.Issuer, "jwt-issuer", "", "required token issuer (iss), if set")
	fs.StringVar(&a.Audience, "jwt-audience", "", "required token audience (aud), if set")
	st := &a.ServiceTokens
	fs.StringVar(&st.TokenURL, "service-token-url", "", "identity provider's OAuth2 token endpoint, where services get their own tokens (client credentials) to call each other; empty: minted with the development key")
	fs.StringVar(&st.ClientID, "service-client-id", "ponte-{service}", "OAuth2 client id of each service ({service} = cases, reporting, ...), with --service-token-url")
	fs.StringVar(&st.ClientSecretFile, "service-client-secret-file", "", "file holding each service's OAuth2 client secret ({service} is replaced), with --service-token-url")
	fs.StringVar(&st.Scopes, "service-token-scopes", "", "scopes asked for service tokens, comma-separated, if the identity provider needs them")
	fs.StringVar(&st.Audience, "service-token-audience", "", "audience parameter of the service token request, if the identity provider needs one")
}

// DevKey reports whether the development HS256 key of the data directory verifies
// tokens: when no other key source is configured.
func (a *Auth) DevKey() bool { return a.KeysFile == "" && a.JWKSURL == "" }

// RegisterServe adds the flags of `ponte serve` to fs.
func (c *Serve) RegisterServe(fs *flag.FlagSet) {
	fs.StringVar(&c.Targets, "target", "all", "modules to run, comma-separated: all, gateway, or services")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", ":9090", "gRPC listen address")
	fs.StringVar(&c.HTTPAddr, "http-addr", ":8080", "REST edge listen address (when the gateway runs)")
	c.Storage.RegisterStorage(fs)
	c.Auth.RegisterAuth(fs)
	c.Endpoints = map[string]*string{}
	for _, svc := range Services {
		c.Endpoints[svc] = fs.String(svc+"-endpoint", "", "gRPC address (host:port) of a remote "+svc+" service, for -target=gateway")
	}
	fs.StringVar(&c.CORSOrigins, "cors-origins", "", "browser origins allowed to call the REST edge, comma-separated (* for any)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest accepted REST request body")
	fs.DurationVar(&c.BodyReadTimeout, "body-read-timeout", 30*time.Second, "how long a client may take to send a REST request body; slower ones get 408")
	fs.DurationVar(&c.Grace, "shutdown-grace", 30*time.Second, "how long in-flight calls may run on after SIGTERM")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.Environment, "environment", "dev", "deployment environment reported to telemetry")
	fs.StringVar(&c.DebugAddr, "debug-addr", "", "listen address of the Go profiling endpoints (/debug/pprof/); off when empty; keep it on loopback or a private network")
	c.API.RegisterAPI(fs)
	c.Edge.RegisterEdge(fs)
	c.Observatory.RegisterObservatory(fs)
	fs.Var(&c.DirectoryMirrors, "directory-mirror", "upstream directory nodes to mirror read-only, name=host:port, comma-separated or repeated (a region mirroring its districts)")
	fs.StringVar(&c.Reporting.SecretFile, "reporting-secret-file", "", "file holding reporting's secret (16+ bytes) that keys pseudonyms and cell keys; empty: one generated in --data-dir")
	fs.IntVar(&c.Reporting.Threshold, "reporting-threshold", 5, "smallest count reporting publishes (at least 3); smaller cells are suppressed")
	fs.Var(&c.Reporting.Districts, "reporting-district", "district nodes whose reporting this region node federates, name=host:port, comma-separated or repeated")
	fs.DurationVar(&c.Reporting.Deadline, "reporting-federation-deadline", 3*time.Second, "how long a region node waits for its district nodes before answering without them")
	fs.DurationVar(&c.DistrictsMaxStale, "cases-districts-max-stale", 2*time.Minute, "how long the cases service trusts its copy of the directory's districts after losing the directory; then case writes answer UNAVAILABLE")
	fs.BoolVar(&c.Demo, "demo", false, "load the fictional demo directory (organizations and services of the programmes' territories); development key only")
}

// TargetList returns the targets, trimmed, without empties.
func (c *Serve) TargetList() []string { return SplitList(c.Targets) }

// Validate checks values that flags alone cannot.
func (c *Serve) Validate() error {
	var errs []error
	if len(c.TargetList()) == 0 {
		errs = append(errs, errors.New("-target: name at least one module"))
	}
	if _, err := c.Level(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("--max-body-bytes must be positive"))
	}
	if st := c.Auth.ServiceTokens; st.TokenURL != "" {
		if !strings.HasPrefix(st.TokenURL, "https://") && !strings.HasPrefix(st.TokenURL, "http://") {
			errs = append(errs, errors.New("--service-token-url must be an http(s) URL"))
		}
		if st.ClientSecretFile == "" {
			errs = append(errs, errors.New("--service-token-url needs --service-client-secret-file"))
		}
		if st.ClientID == "" {
			errs = append(errs, errors.New("--service-token-url needs --service-client-id"))
		}
	}
	if err := c.Observatory.validate(c.API.PublicURL); err != nil {
		errs = append(errs, err)
	}
	if c.BodyReadTimeout <= 0 {
		errs = append(errs, errors.New("--body-read-timeout must be positive"))
	}
	if c.Demo && !c.Auth.DevKey() {
		errs = append(errs, errors.New("--demo loads fictional data with the development key: not with --jwt-keys-file or --jwks-url"))
	}
	if c.API.PublicURL != "" && !strings.HasPrefix(c.API.PublicURL, "https://") {
		errs = append(errs, errors.New("--public-url must be an https:// URL"))
	}
	if c.Storage.DatabaseURL != "" && !strings.HasPrefix(c.Storage.DatabaseURL, "postgres://") && !strings.HasPrefix(c.Storage.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("--database-url must be a postgres:// URL"))
	}
	return errors.Join(errs...)
}

// Level returns the log level.
func (c *Serve) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// Parse parses args into fs, taking PONTE_* environment variables for flags not given.
// -h and --help return flag.ErrHelp, for the caller to print the usage.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := ff.Parse(fs, args, ff.WithEnvVarPrefix(EnvPrefix)); err != nil {
		if errors.Is(err, ff.ErrHelp) {
			return flag.ErrHelp // -h or --help: the caller prints the usage
		}
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	return nil
}

// ParseArgs is Parse for commands that take arguments after their flags, which it
// returns ("ponte directory import --server=... FILE").
func ParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	ffs := ff.NewFlagSetFrom(fs.Name(), fs)
	if err := ff.Parse(ffs, args, ff.WithEnvVarPrefix(EnvPrefix)); err != nil {
		if errors.Is(err, ff.ErrHelp) {
			return nil, flag.ErrHelp // -h or --help: the caller prints the usage
		}
		return nil, fmt.Errorf("%s: %w", fs.Name(), err)
	}
	return ffs.GetArgs(), nil
}

// SplitList splits a comma-separated list, trimming spaces and dropping empties.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Mirror is an upstream directory node: its name (the origin of its records here) and
// the gRPC address of its public DirectoryService.
type Mirror struct {
	Name string
	Addr string
}

// Mirrors is the value of --directory-mirror: "name=host:port" entries, comma-separated
// or in repeated flags. Names are unique lower-case words (letters, digits, "-", "_").
type Mirrors []Mirror

// String implements flag.Value.
func (m *Mirrors) String() string {
	if m == nil {
		return ""
	}
	parts := make([]string, len(*m))
	for i, u := range *m {
		parts[i] = u.Name + "=" + u.Addr
	}
	return strings.Join(parts, ",")
}

// Set implements flag.Value: it adds the entries of s.
func (m *Mirrors) Set(s string) error {
	for _, entry := range SplitList(s) {
		name, addr, ok := strings.Cut(entry, "=")
		name, addr = strings.TrimSpace(name), strings.TrimSpace(addr)
		if !ok || !validMirrorName(name) || addr == "" {
			return fmt.Errorf("%q: want name=host:port with a name of lower-case letters, digits, - or _ (at most 64)", entry)
		}
		for _, u := range *m {
			if u.Name == name {
				return fmt.Errorf("%q: upstream %s is named twice", entry, name)
			}
		}
		*m = append(*m, Mirror{Name: name, Addr: addr})
	}
	return nil
}

func validMirrorName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return false
		}
	}
	return true
}
