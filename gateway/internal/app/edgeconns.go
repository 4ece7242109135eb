package app

import (
	"net"
	"net/http"
	"sync"
)

// edgeConns counts the REST edge's connections that are serving a request, so that
// shutdown can tell calls cut short from connections that never sent one.
//
// http.Server.Shutdown waits for every connection to go idle, and counts a connection
// that has not sent its first request yet (StateNew) as busy for its first five seconds:
// a client's pre-dialled spare connection holds a shutdown for up to five seconds. When
// the grace period ends with only such connections left, nothing was cut.
type edgeConns struct {
	mu     sync.Mutex
	active map[net.Conn]struct{}
}

// track is the http.Server's ConnState hook.
func (e *edgeConns) track(c net.Conn, state http.ConnState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if state == http.StateActive {
		if e.active == nil {
			e.active = map[net.Conn]struct{}{}
		}
		e.active[c] = struct{}{}
		return
	}
	delete(e.active, c)
}

// serving is the number of connections serving a request now.
func (e *edgeConns) serving() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.active)
}
