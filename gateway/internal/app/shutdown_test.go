package app_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

// A client's spare connection, dialled but never used, is no call in flight: the REST
// edge's shutdown closes it and reports a clean exit, even when the grace period ends
// before net/http counts it idle (five seconds after it was opened).
func TestShutdownClosesConnectionsThatNeverSentARequest(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", "--shutdown-grace=200ms")
	if r := n.do(t, "GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Fatalf("healthz = %d", r.status)
	}
	spare, err := net.Dial("tcp", strings.TrimPrefix(n.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	n.stop() // fails the test if ponte reports an unclean exit
}
