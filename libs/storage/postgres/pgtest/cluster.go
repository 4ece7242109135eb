package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a PostgreSQL server of one test's own, in the test's temporary directory, for
// tests that stop and start the server (an outage under load) and so cannot share the one
// at $PONTE_TEST_POSTGRES_URL. It runs the server binaries of the machine's Debian packages
// (pg_config --bindir, else /usr/lib/postgresql/*/bin), as the postgres user when the test
// runs as root (initdb refuses root). Without the binaries the test is skipped, except when
// $CI is "true": there it fails.
//
// The server listens on a free loopback port with trust authentication and no Unix socket;
// fsync is off (the tests crash the server process, never the machine, so what a commit
// wrote reaches the files anyway) to keep it quick.
type Cluster struct {
	t     testing.TB
	bin   string // directory of initdb, pg_ctl and postgres
	dir   string // the data directory
	port  int
	runAs string // user to run the binaries as; "" for the test's own
	up    bool
}

// StartCluster creates a cluster (initdb), starts it and stops it at the end of the test.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, err := serverBinaries()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %v; the outage tests must not skip in CI", err)
		}
		t.Skipf("pgtest: %v", err)
	}
	c := &Cluster{t: t, bin: bin, dir: filepath.Join(t.TempDir(), "pgdata")}
	if os.Geteuid() == 0 {
		c.runAs = "postgres"
		if err := c.giveDirTo(filepath.Dir(c.dir)); err != nil {
			t.Fatalf("pgtest: cluster directory for the postgres user: %v", err)
		}
	}
	c.port = freePort(t)
	if out, err := c.run("initdb", "-D", c.dir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	c.Start()
	t.Cleanup(func() {
		if c.up {
			_, _ = c.run("pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "stop")
		}
	})
	return c
}

// URL is the cluster's postgres database as the superuser postgres.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Start starts the server (again) on its port and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := strings.Join([]string{
		"-p " + strconv.Itoa(c.port), "-c listen_addresses=127.0.0.1", "-c unix_socket_directories=",
		"-c fsync=off", "-c full_page_writes=off", "-c shared_buffers=32MB", "-c max_connections=60",
	}, " ")
	if out, err := c.run("pg_ctl", "-D", c.dir, "-o", opts, "-l", filepath.Join(filepath.Dir(c.dir), "server.log"), "-t", "60", "-w", "start"); err != nil {
		c.t.Fatalf("pgtest: start the cluster: %v\n%s%s", err, out, c.serverLog())
	}
	c.up = true
}

// Stop stops the server with pg_ctl's mode: "fast" (sessions are ended, SQLSTATE 57P01) or
// "immediate" (the server processes quit at once, recovery at the next start).
func (c *Cluster) Stop(mode string) {
	c.t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.dir, "-m", mode, "-t", "60", "-w", "stop"); err != nil {
		c.t.Fatalf("pgtest: stop the cluster (%s): %v\n%s", mode, err, out)
	}
	c.up = false
}

// serverLog is the end of the server's log, for a failure message.
func (c *Cluster) serverLog() string {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(c.dir), "server.log"))
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "server log:\n" + string(b)
}

// run runs one of the server binaries, as c.runAs when set.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	if c.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs, "--", filepath.Join(c.bin, name)}, args...)...)
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	return cmd.CombinedOutput()
}

// giveDirTo makes dir the postgres user's, and lets it through the test's directories
// above (created 0700 by the testing package).
func (c *Cluster) giveDirTo(dir string) error {
	u, err := user.Lookup(c.runAs)
	if err != nil {
		return fmt.Errorf("user %s: %w", c.runAs, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return fmt.Errorf("uid of %s: %w", c.runAs, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return fmt.Errorf("gid of %s: %w", c.runAs, err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", dir, err)
	}
	for p := filepath.Dir(dir); p != "/" && p != os.TempDir() && p != "."; p = filepath.Dir(p) {
		info, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if err := os.Chmod(p, info.Mode().Perm()|0o111); err != nil {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
	}
	return nil
}

// serverBinaries finds the directory of initdb, pg_ctl and postgres.
func serverBinaries() (string, error) {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(found))) // the newest major version first
	dirs = append(dirs, found...)
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) && isFile(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl, postgres) in pg_config --bindir or /usr/lib/postgresql/*/bin")
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
