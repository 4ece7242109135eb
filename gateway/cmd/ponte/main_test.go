package main_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ponteBinary is the ponte command built once for this package's tests.
var ponteBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ponte-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ponteBinary = filepath.Join(dir, "ponte")
	build := exec.Command("go", "build", "-o", ponteBinary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ponte:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func ponte(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(ponteBinary, args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cleanEnv is the test's environment without PONTE_* and OTEL_* settings.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PONTE_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return env
}

func TestCommands(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		want    *regexp.Regexp
	}{
		{"version prints the version", []string{"version"}, false, regexp.MustCompile(`^ponte \S+\n$`)},
		{"token mints a JWT", []string{"token", "--data-dir=" + dataDir, "--roles=district_admin", "--territory=019"}, false, regexp.MustCompile(`^[\w-]+\.[\w-]+\.[\w-]+\n$`)},
		{"migrate applies the migrations", []string{"migrate", "--data-dir=" + dataDir}, false, regexp.MustCompile(`migrations applied`)},
		{"migrate again changes nothing and succeeds", []string{"migrate", "--data-dir=" + dataDir}, false, regexp.MustCompile(`migrations applied`)},
		{"an unknown target is refused with the known ones", []string{"serve", "-target=billing", "--data-dir=" + dataDir, "--grpc-addr=127.0.0.1:0", "--http-addr=127.0.0.1:0"}, true, regexp.MustCompile(`unknown target "billing" \(known: all, cases, directory, gateway[a-z, ]*\)`)},
		{"an unknown command is refused", []string{"frobnicate"}, true, regexp.MustCompile(`unknown command "frobnicate"`)},
		{"a bad flag value is refused", []string{"serve", "--log-level=loud"}, true, regexp.MustCompile(`--log-level`)},
	}
	for _, tt := range tests {
		out, err := ponte(t, tt.args...)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v; output:\n%s", tt.name, err, tt.wantErr, out)
		}
		if !tt.want.MatchString(out) {
			t.Errorf("%s: output %q does not match %s", tt.name, out, tt.want)
		}
	}
}

// server is a ponte serve process started for a test.
type server struct {
	cmd    *exec.Cmd
	base   string // http://localhost:port
	grpc   string // localhost:port
	token  string // the dev admin token of the banner
	stderr *bytes.Buffer
	exited chan error
}

// startServer runs `ponte serve` on free loopback ports and reads its banner.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	s := &server{stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	s.cmd = exec.Command(ponteBinary, append([]string{"serve", "--grpc-addr=127.0.0.1:0", "--http-addr=127.0.0.1:0", "--data-dir=" + t.TempDir()}, args...)...)
	s.cmd.Env = cleanEnv()
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Kill() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && (s.base == "" || s.token == "" || s.grpc == "") {
		line := sc.Text()
		if m := regexp.MustCompile(`REST edge:\s+(http://\S+)`).FindStringSubmatch(line); m != nil {
			s.base = m[1]
		}
		if m := regexp.MustCompile(`gRPC:\s+(\S+)`).FindStringSubmatch(line); m != nil {
			s.grpc = m[1]
		}
		if m := regexp.MustCompile(`export PONTE_TOKEN=(\S+)`).FindStringSubmatch(line); m != nil {
			s.token = m[1]
		}
	}
	if s.base == "" || s.token == "" || s.grpc == "" {
		t.Fatalf("banner lacks the edge, the gRPC address or the token; stderr:\n%s", s.stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout); s.exited <- s.cmd.Wait() }()
	return s
}

// TestGracefulShutdown sends SIGTERM while a REST call is in flight (its body half
// sent): the call completes, then the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	cmd, base, token, stderr, exited := srv.cmd, srv.base, srv.token, srv.stderr, srv.exited

	resp, err := http.Get(base + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz = %v, %v", resp, err)
	}
	resp.Body.Close()

	body := `{"code":"ambito-casalasco","name":"Ambito Casalasco","municipalityCodes":["019021","019022"]}`
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /v1/territories HTTP/1.1\r\nHost: ponte\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", token, len(body), body[:half])

	time.Sleep(200 * time.Millisecond) // the request is in flight
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // shutdown has begun and waits for the call
	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatalf("finishing the in-flight request: %v", err)
	}
	reply, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight call got no response: %v; stderr:\n%s", err, stderr.String())
	}
	replyBody, _ := io.ReadAll(reply.Body)
	if reply.StatusCode != http.StatusCreated || !strings.Contains(string(replyBody), "ambito-casalasco") {
		t.Errorf("in-flight call = %d %s, want the district created", reply.StatusCode, replyBody)
	}

	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("ponte exited with %v after SIGTERM, want 0; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ponte did not exit within 20s of SIGTERM")
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("no shutdown log line; stderr:\n%s", stderr.String())
	}
}

// TestDirectoryImportExport imports HSDS files into a running server with the command
// line, twice (the second changes nothing), and exports them back.
func TestDirectoryImportExport(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	file := filepath.Join("..", "..", "..", "services", "directory", "seed", "demo", "alessandria-ottiglio.json")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(ponteBinary, append([]string{"directory"}, args...)...)
		cmd.Env = append(cleanEnv(), "PONTE_TOKEN="+srv.token)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("import", "--endpoint="+srv.grpc, file)
	if err != nil || !regexp.MustCompile(`\d+ records: [1-9]\d* created, \d+ updated, \d+ unchanged, 0 failed`).MatchString(out) {
		t.Fatalf("first import: %v\n%s", err, out)
	}
	out, err = run("import", "--endpoint="+srv.grpc, file)
	if err != nil || !regexp.MustCompile(`: 0 created, 0 updated, [1-9]\d* unchanged, 0 failed`).MatchString(out) {
		t.Fatalf("second import of the same file: %v\n%s", err, out)
	}
	out, err = run("export", "--endpoint="+srv.grpc)
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "[") || !strings.Contains(out, "Ottiglio") {
		t.Fatalf("export: %v\n%.300s", err, out)
	}

	// Writing needs a token the node accepts; reading what is already there does not. The
	// import stops at the first refusal of the token and says whose key must sign it.
	other := filepath.Join(filepath.Dir(file), "cremona-casalasco.json")
	otherNode, err := ponte(t, "token", "--data-dir="+t.TempDir(), "--roles=admin")
	if err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{"no token": "", "another node's token": strings.TrimSpace(otherNode)} {
		cmd := exec.Command(ponteBinary, "directory", "import", "--endpoint="+srv.grpc, other)
		cmd.Env = append(cleanEnv(), "PONTE_TOKEN="+token)
		out, err := cmd.CombinedOutput()
		if err == nil || !regexp.MustCompile(`stopped after \d+ of \d+ records: the directory at \S+ refused`).Match(out) ||
			!strings.Contains(string(out), "signed by that\nnode's key") || strings.Count(string(out), "Unauthenticated") != 1 {
			t.Errorf("import of new records with %s: %v\n%s", name, err, out)
		}
	}
}
