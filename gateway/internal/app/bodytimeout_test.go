package app_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
)

// TestSlowBodiesDoNotHoldConnections trickles request bodies one byte at a time: each
// gets 408 and loses its connection once --body-read-timeout has passed, while a body
// sent in time, and a watch that streams for longer than the timeout, are not cut.
func TestSlowBodiesDoNotHoldConnections(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", "--body-read-timeout=600ms")
	token := n.token(t, auth.Principal{Subject: "admin", Roles: []string{auth.RoleAdmin}})
	addr := strings.TrimPrefix(n.base, "http://")
	body := `{"code":"ambito-lento","name":"Ambito Lento","municipalityCodes":["019036"]}`

	const trickles = 10
	type result struct {
		status int
		took   time.Duration
		err    error
	}
	results := make(chan result, trickles)
	for range trickles {
		go func() {
			start := time.Now()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /v1/territories HTTP/1.1\r\nHost: ponte\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", token, len(body))
			go func() { // one byte every 100 ms: the body would take 7 s
				for i := range len(body) {
					if _, err := conn.Write([]byte{body[i]}); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				results <- result{err: err}
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// The server hangs up: reading more meets EOF (or a reset, the server having
			// left the rest of the body unread), not our 5 s deadline.
			var ne net.Error
			if _, err := br.ReadByte(); err == nil || (errors.As(err, &ne) && ne.Timeout()) {
				results <- result{err: fmt.Errorf("connection still open after the 408 (read: %v)", err)}
				return
			}
			results <- result{status: resp.StatusCode, took: time.Since(start)}
		}()
	}
	for range trickles {
		r := <-results
		if r.err != nil {
			t.Errorf("trickled body: %v", r.err)
			continue
		}
		if r.status != http.StatusRequestTimeout || r.took > 3*time.Second {
			t.Errorf("trickled body answered %d after %v, want 408 soon after the 600ms timeout", r.status, r.took)
		}
	}

	// A watch streams for longer than the body timeout: it has no body, nothing cuts it.
	watch, err := http.Get(n.base + "/v1/directory/changes:watch")
	if err != nil || watch.StatusCode != http.StatusOK {
		t.Fatalf("watch = %v, %v", watch, err)
	}
	defer watch.Body.Close()
	time.Sleep(1200 * time.Millisecond)
	if r := n.do(t, http.MethodPost, "/v1/territories", token, body); r.status != http.StatusCreated {
		t.Fatalf("a body sent in time = %d %s", r.status, r.body)
	}
	lines := bufio.NewScanner(watch.Body)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		if strings.Contains(lines.Text(), "ambito-lento") {
			return
		}
	}
	t.Errorf("the watch ended (%v) before the change made after the body timeout arrived", lines.Err())
}
