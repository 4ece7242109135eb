package app_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildPonte builds the ponte command into a temporary directory of t and returns its path.
func buildPonte(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ponte")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	build := exec.Command(goTool, "build", "-o", bin, "github.com/ponte-network/ponte/gateway/cmd/ponte")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ponte: %v\n%s", err, out)
	}
	return bin
}

// startProcess runs `bin serve` as its own OS process on loopback ports with the data
// directory dataDir and args, waits until it serves and /readyz answers 200, and returns
// a node for it with its process id. node.stop sends SIGTERM and checks a clean exit
// (also at cleanup).
func startProcess(t testing.TB, bin, dataDir string, args ...string) (*node, int) {
	t.Helper()
	n := &node{dataDir: dataDir}
	all := append([]string{"serve", "--grpc-addr=127.0.0.1:0", "--http-addr=127.0.0.1:0", "--data-dir=" + dataDir,
		"--rate-limit=0", "--shutdown-grace=5s"}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=", "OTEL_EXPORTER_OTLP_ENDPOINT=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=")
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ponte: %v", err)
	}
	exited := make(chan error, 1)
	type addrs struct{ http, grpc, debug string }
	serving := make(chan addrs, 1)
	go func() {
		// The JSON log's "ponte serving" line names the addresses; the rest of the log is
		// read and dropped so that the process never blocks on its stderr.
		sc := bufio.NewScanner(logs)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg       string `json:"msg"`
				HTTPAddr  string `json:"http_addr"`
				GRPCAddr  string `json:"grpc_addr"`
				DebugAddr string `json:"debug_addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "ponte serving" {
				serving <- addrs{line.HTTPAddr, line.GRPCAddr, line.DebugAddr}
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case a := <-serving:
		n.grpc, n.debug = a.grpc, a.debug
		if a.http != "" {
			n.base = "http://" + a.http
		}
	case err := <-exited:
		t.Fatalf("ponte exited before serving: %v", err)
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("ponte did not serve within 2 minutes")
	}
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("ponte did not stop cleanly: %v", err)
				}
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Error("ponte did not stop within 30s")
			}
		})
	}
	t.Cleanup(n.stop)
	if n.base != "" {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			r, err := http.Get(n.base + "/readyz")
			if err == nil {
				_ = r.Body.Close()
				if r.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("ponte not ready within 2 minutes: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return n, cmd.Process.Pid
}
