package config_test

import (
	"flag"
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
