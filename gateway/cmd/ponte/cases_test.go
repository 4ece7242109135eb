package main_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestCasesImport(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	cmd := exec.Command(ponteBinary, "serve", "--grpc-addr=127.0.0.1:0", "--http-addr=127.0.0.1:0", "--data-dir="+dataDir)
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var grpcAddr, token string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && (grpcAddr == "" || token == "") {
		if m := regexp.MustCompile(`gRPC:\s+(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			grpcAddr = m[1]
		}
		if m := regexp.MustCompile(`export PONTE_TOKEN=(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			token = m[1]
		}
	}
	if grpcAddr == "" || token == "" {
		t.Fatal("banner lacks the gRPC address or the token")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	var b strings.Builder
	b.WriteString("external_id,municipality_code,category,needs\n")
	for i := range 1200 {
		muni, cat := "019035", "housing"
		switch i {
		case 10:
			muni = "999999"
		case 700:
			cat = "astrology"
		}
		fmt.Fprintf(&b, "X%d,%s,%s,documents;language\n", i, muni, cat)
	}
	file := filepath.Join(t.TempDir(), "cases.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1200 rows: 1198 created, 0 updated, 0 unchanged, 2 rejected", "1200 rows: 0 created, 0 updated, 1198 unchanged, 2 rejected"} {
		out, err := ponte(t, "cases", "import", "--source=sil", "--endpoint="+grpcAddr, "--token="+token, file)
		if err == nil {
			t.Errorf("an import with rejected rows exited 0")
		}
		for _, line := range []string{want, "line 12: municipality_code: unknown ISTAT municipality 999999", `line 702: category: unknown "astrology"`} {
			if !strings.Contains(out, line) {
				t.Errorf("output lacks %q:\n%s", line, out)
			}
		}
	}
}
