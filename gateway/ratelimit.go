package gateway

import (
	"crypto/sha256"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ponte-network/ponte/libs/problem"
)

// RateLimit bounds how fast one client may call the edge (OWASP API4; the Italian guidelines'
// RateLimit headers): a token bucket per client, refilled at PerSecond up to Burst.
type RateLimit struct {
	PerSecond float64 // sustained requests per second per client; 0 = no limit
	Burst     int     // requests a client may send at once; 0 = PerSecond rounded up
}

// rateLimitExempt are the probes of orchestrators and monitoring, never limited.
var rateLimitExempt = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// maxClients bounds the buckets kept; past it, buckets idle for a minute are dropped, so a
// flood of addresses cannot grow the edge's memory without bound.
const maxClients = 100_000

// limiter keeps one token bucket per client. A client is its bearer token when it sends one —
// a digest of it, so the token itself is not kept — else its address: the edge does not verify
// tokens (each service does), so a client cycling forged tokens gets fresh buckets but only
// 401s for them.
type limiter struct {
	cfg     RateLimit
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(cfg RateLimit) *limiter {
	if cfg.Burst <= 0 {
		cfg.Burst = int(math.Ceil(cfg.PerSecond))
	}
	return &limiter{cfg: cfg, buckets: map[string]*bucket{}, now: time.Now}
}

func clientKey(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		sum := sha256.Sum256([]byte(a))
		return "t:" + string(sum[:16])
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "a:" + host
}

// take spends a token of the client's bucket: whether the request may go, the tokens left and
// how long until the bucket is full again, or until the next token when it is empty.
func (l *limiter) take(key string) (ok bool, remaining int, reset, retry time.Duration) {
	now := l.now()
	l.mu.Lock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxClients {
			for k, old := range l.buckets {
				if now.Sub(old.seen) > time.Minute {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.cfg.PerSecond), l.cfg.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	ok = b.lim.AllowN(now, 1)
	tokens := b.lim.TokensAt(now)
	l.mu.Unlock()
	perToken := time.Duration(float64(time.Second) / l.cfg.PerSecond)
	remaining = max(0, int(math.Floor(tokens)))
	reset = time.Duration((float64(l.cfg.Burst) - tokens) * float64(perToken))
	if !ok {
		retry = time.Duration((1 - tokens) * float64(perToken))
	}
	return ok, remaining, reset, retry
}

// seconds rounds up to whole seconds, as the headers count them.
func seconds(d time.Duration) string {
	return strconv.Itoa(max(0, int(math.Ceil(d.Seconds()))))
}

// rateLimited answers RateLimit-Limit, -Remaining and -Reset on every request, and 429
// problem+json with Retry-After past the limit.
func rateLimited(cfg RateLimit, next http.Handler) http.Handler {
	if cfg.PerSecond <= 0 {
		return next
	}
	l := newLimiter(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rateLimitExempt[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		ok, remaining, reset, retry := l.take(clientKey(r))
		h := w.Header()
		h.Set("RateLimit-Limit", strconv.Itoa(l.cfg.Burst))
		h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("RateLimit-Reset", seconds(reset))
		if !ok {
			h.Set("Retry-After", seconds(retry))
			problem.Write(w, r, problem.Problem{
				Status: http.StatusTooManyRequests, Code: "RESOURCE_EXHAUSTED",
				Detail: "Too many requests from this client: retry after " + seconds(retry) + " s.",
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}
