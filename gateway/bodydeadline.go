package gateway

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ponte-network/ponte/libs/problem"
)

// bodyDeadline gives a client d to send its request body: a read deadline on the
// connection from when the request's headers have arrived, lifted once the body has been
// read to its end, so that a handler running long afterwards, or a watch streaming its
// answer, is never cut. A body still trickling in at the deadline fails the read; the
// handler's decoder reports it as problem.ErrBodyTimeout (408) and the server closes the
// connection. (http.Server.ReadTimeout cannot do this: it would also cancel the watches.)
func bodyDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
			next.ServeHTTP(w, r) // a connection without deadlines (a test recorder)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline at the body's end and names a timeout for what it is.
type deadlineBody struct {
	io.ReadCloser
	lift func()
	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.once.Do(b.lift)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The connection's error carries the peer's address: neither for the client nor the log.
		return n, problem.ErrBodyTimeout
	}
	return n, err
}
