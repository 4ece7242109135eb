package main_test

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestEveryCommandExplainsItself asks each command for help the ways a new user would:
// the usage goes to stdout and the exit status is 0.
func TestEveryCommandExplainsItself(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string // each must appear in stdout
	}{
		{"serve -h lists serve's flags", []string{"serve", "-h"}, []string{"usage: ponte serve", "-shutdown-grace", "-body-read-timeout"}},
		{"serve --help lists serve's flags", []string{"serve", "--help"}, []string{"usage: ponte serve", "-target"}},
		{"migrate -h lists migrate's flags", []string{"migrate", "-h"}, []string{"usage: ponte migrate", "-database-url"}},
		{"token -h lists token's flags", []string{"token", "-h"}, []string{"usage: ponte token", "-roles"}},
		{"openapi -h lists openapi's flags", []string{"openapi", "-h"}, []string{"usage: ponte openapi", "-public-url"}},
		{"directory -h explains import and export", []string{"directory", "-h"}, []string{"usage: ponte directory", "export"}},
		{"directory import -h lists its flags", []string{"directory", "import", "-h"}, []string{"usage: ponte directory", "-endpoint"}},
		{"cases -h explains the import", []string{"cases", "-h"}, []string{"usage: ponte cases import", "housing", "CATEGORY_HOUSING"}},
		{"cases import -h lists the columns' values and flags", []string{"cases", "import", "-h"}, []string{"category: residence_permit", "phase:    intake", "-source"}},
		{"help serve is serve -h", []string{"help", "serve"}, []string{"usage: ponte serve", "-shutdown-grace"}},
		{"help cases import is cases import -h", []string{"help", "cases", "import"}, []string{"-batch-size"}},
		{"help alone lists the commands", []string{"help"}, []string{"commands:", "serve"}},
		{"--version prints the version", []string{"--version"}, []string{"ponte "}},
		{"version -h prints the version", []string{"version", "-h"}, []string{"ponte "}},
	}
	for _, tt := range tests {
		cmd := exec.Command(ponteBinary, tt.args...)
		cmd.Env = cleanEnv()
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("%s: ponte %s: %v (want exit 0); stderr:\n%s", tt.name, strings.Join(tt.args, " "), err, stderr.String())
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%s: stdout lacks %q:\n%s", tt.name, w, stdout.String())
			}
		}
	}
	// An incomplete command line is still an error.
	for _, args := range [][]string{{}, {"cases"}, {"directory"}} {
		cmd := exec.Command(ponteBinary, args...)
		cmd.Env = cleanEnv()
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "usage:") {
			t.Errorf("ponte %s = %v, want a usage on stderr and exit 2:\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestDemoStartKeepsTheBannerInSight starts with --demo: the banner is printed once the
// demo data is loaded, and the loader's hundreds of calls leave no INFO line behind.
func TestDemoStartKeepsTheBannerInSight(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "--demo") // returns once the banner has been read
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-srv.exited; err != nil {
		t.Fatalf("exit: %v", err)
	}
	log := srv.stderr.String()
	before, _, _ := strings.Cut(log, "shutting down")
	if lines := strings.Count(before, "\n"); lines > 15 || !strings.Contains(before, "demo directory loaded") {
		t.Errorf("start-up wrote %d log lines (want a few, the demo summary among them):\n%.2000s", lines, before)
	}
}
