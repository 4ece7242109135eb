package config_test

import (
	"flag"
	"io"
	"testing"

	"github.com/ponte-network/ponte/libs/config"
)

// Not parallel: t.Setenv.
func TestFlagsAndEnvironmentTwins(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantHTTP string
		wantDB   string
		wantTgts []string
	}{
		{"defaults", nil, nil, ":8080", "", []string{"all"}},
		{"an environment twin sets a flag", map[string]string{"PONTE_HTTP_ADDR": ":18080", "PONTE_DATABASE_URL": "postgres://x/y"}, nil, ":18080", "postgres://x/y", []string{"all"}},
		{"a flag wins over its environment twin", map[string]string{"PONTE_HTTP_ADDR": ":18080"}, []string{"--http-addr=:28080"}, ":28080", "", []string{"all"}},
		{"single-dash flags and comma lists", nil, []string{"-target=cases, mediators"}, ":8080", "", []string{"cases", "mediators"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var c config.Serve
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			c.RegisterServe(fs)
			if err := config.Parse(fs, tt.args); err != nil {
				t.Fatal(err)
			}
			if c.HTTPAddr != tt.wantHTTP || c.Storage.DatabaseURL != tt.wantDB {
				t.Errorf("http=%q db=%q, want %q %q", c.HTTPAddr, c.Storage.DatabaseURL, tt.wantHTTP, tt.wantDB)
			}
			got := c.TargetList()
			if len(got) != len(tt.wantTgts) {
				t.Fatalf("targets = %v, want %v", got, tt.wantTgts)
			}
			for i := range got {
				if got[i] != tt.wantTgts[i] {
					t.Errorf("targets = %v, want %v", got, tt.wantTgts)
				}
			}
			if err := c.Validate(); err != nil && tt.wantDB == "" {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRefusesBadValues(t *testing.T) {
	t.Parallel()
	c := config.Serve{Targets: " , ", LogLevel: "loud", MaxBodyBytes: 0, Storage: config.Storage{DatabaseURL: "mysql://x"}}
	if err := c.Validate(); err == nil {
		t.Fatal("Validate accepted an empty target, a bad level, a zero body limit and a non-postgres URL")
	}
}

func TestParseArgsReturnsArguments(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	server := fs.String("server", "localhost:9090", "")
	rest, err := config.ParseArgs(fs, []string{"--server=127.0.0.1:1", "file.json"})
	if err != nil || *server != "127.0.0.1:1" || len(rest) != 1 || rest[0] != "file.json" {
		t.Fatalf("ParseArgs = %v, %v (server %q)", rest, err, *server)
	}
}

// Not parallel: t.Setenv.
func TestDirectoryMirrorFlag(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		args    []string
		want    string
		wantErr bool
	}{
		{"no mirror by default", "", nil, "", false},
		{"a comma list names several upstreams", "", []string{"--directory-mirror=cremasco=10.0.0.1:9090, casalasco=10.0.0.2:9090"}, "cremasco=10.0.0.1:9090,casalasco=10.0.0.2:9090", false},
		{"the flag repeats", "", []string{"--directory-mirror=a=h1:1", "--directory-mirror=b=h2:2"}, "a=h1:1,b=h2:2", false},
		{"the environment twin sets it", "sona=verona:9090", nil, "sona=verona:9090", false},
		{"an entry without an address is refused", "", []string{"--directory-mirror=cremasco"}, "", true},
		{"a name with capitals is refused", "", []string{"--directory-mirror=Crema=h:1"}, "", true},
		{"a name given twice is refused", "", []string{"--directory-mirror=a=h:1,a=h:2"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("PONTE_DIRECTORY_MIRROR", tt.env)
			}
			var c config.Serve
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.RegisterServe(fs)
			err := config.Parse(fs, tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && c.DirectoryMirrors.String() != tt.want {
				t.Errorf("mirrors = %q, want %q", c.DirectoryMirrors.String(), tt.want)
			}
		})
	}
}
