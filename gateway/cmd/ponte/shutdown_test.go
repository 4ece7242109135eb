package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"
	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

// TestSIGTERMEndsOpenWatchesAndExitsZero opens change-feed watches over gRPC and REST
// on the real binary, sends SIGTERM, and wants the process gone with status 0 well
// within 5 s (the grace period is the default 30 s: no watch may wait for it), each
// watch ended with UNAVAILABLE and the cursor to resume from, and no complaint about
// directory mirrors, of which there are none.
func TestSIGTERMEndsOpenWatchesAndExitsZero(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	auth := "Bearer " + srv.token

	// One change in the directory's feed, so that the watches have a cursor past 0.
	req, _ := http.NewRequest(http.MethodPost, srv.base+"/v1/territories",
		strings.NewReader(`{"code":"ambito-cremona","name":"Ambito Cremona","municipalityCodes":["019036"]}`))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create a district = %v, %v", resp, err)
	}
	resp.Body.Close()

	conn, err := grpc.NewClient(srv.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", auth)
	dirWatch, err := directoryv1.NewDirectoryServiceClient(conn).WatchChanges(ctx, &directoryv1.WatchChangesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var (
		lastPos   int64
		lastTopic string
	)
	for lastPos == 0 || !strings.Contains(lastTopic, "district") {
		ch, err := dirWatch.Recv()
		if err != nil {
			t.Fatalf("directory watch backlog: %v", err)
		}
		lastPos, lastTopic = ch.GetPosition(), ch.GetTopic()
	}
	caseWatch, err := casesv1.NewCaseServiceClient(conn).WatchCaseChanges(ctx, &casesv1.WatchCaseChangesRequest{After: 7})
	if err != nil {
		t.Fatal(err)
	}

	restReq, _ := http.NewRequest(http.MethodGet, srv.base+"/v1/directory/changes:watch", nil)
	restResp, err := http.DefaultClient.Do(restReq)
	if err != nil || restResp.StatusCode != http.StatusOK {
		t.Fatalf("REST watch = %v, %v", restResp, err)
	}
	defer restResp.Body.Close()
	lines := bufio.NewScanner(restResp.Body)
	lines.Buffer(nil, 1<<20)
	var restPos int64
	for restPos < lastPos && lines.Scan() {
		var line struct {
			Result struct {
				Position string `json:"position"`
			} `json:"result"`
		}
		if err := json.Unmarshal(lines.Bytes(), &line); err != nil {
			t.Fatalf("REST watch line %s: %v", lines.Bytes(), err)
		}
		restPos, _ = strconv.ParseInt(line.Result.Position, 10, 64)
	}
	// The cases watch has sent nothing (the feed is empty) but it is open: it must have
	// reached the server before the signal.
	time.Sleep(300 * time.Millisecond)

	start := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.exited:
		took := time.Since(start)
		var exit *exec.ExitError
		if errors.As(err, &exit) || err != nil {
			t.Errorf("ponte exited with %v after SIGTERM with watches open, want 0; stderr:\n%s", err, srv.stderr.String())
		}
		if took > 5*time.Second {
			t.Errorf("ponte took %v to exit with watches open, want under 5s", took)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("ponte still running 15s after SIGTERM with watches open; stderr:\n%s", srv.stderr.String())
	}

	wantResume := func(name string, err error, after int64) {
		t.Helper()
		st := status.Convert(err)
		if st.Code() != codes.Unavailable {
			t.Errorf("%s ended with %v, want Unavailable", name, err)
			return
		}
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == "SHUTTING_DOWN" {
				if got := info.GetMetadata()["resume_after"]; got != strconv.FormatInt(after, 10) {
					t.Errorf("%s: resume_after = %q, want %d", name, got, after)
				}
				return
			}
		}
		t.Errorf("%s ended with %v, without the SHUTTING_DOWN reason", name, err)
	}
	_, err = dirWatch.Recv()
	wantResume("gRPC directory watch", err, lastPos)
	_, err = caseWatch.Recv()
	wantResume("gRPC cases watch", err, 7)

	// Over REST the stream's last line is the status, then the body ends.
	var last string
	for lines.Scan() {
		last = lines.Text()
	}
	if !regexp.MustCompile(`"code":14\b.*resume the stream with after=` + strconv.FormatInt(lastPos, 10)).MatchString(last) {
		t.Errorf("REST watch ended with %q, want an error line with code 14 and the cursor %d", last, lastPos)
	}
	if strings.Contains(srv.stderr.String(), "mirrors did not stop") {
		t.Errorf("shutdown complained about directory mirrors, none configured; stderr:\n%s", srv.stderr.String())
	}
}
