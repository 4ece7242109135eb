// Package loadtest drives a fixed number of concurrent clients against a running Ponte
// server and reports throughput and latency percentiles. Benchmarks use it to measure
// through the real edge (HTTP or gRPC on loopback), never with timed unit tests.
package loadtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options shape a run.
type Options struct {
	// Concurrency is the number of clients calling at once.
	Concurrency int
	// Requests is the total number of calls, shared among the clients.
	Requests int
	// Warmup calls are made first, by all the clients at once (so that the server reaches
	// its steady state under the same load), and not measured. Their seq is negative.
	Warmup int
}

// Call makes one request; worker is the client's index, seq the call's number.
type Call func(ctx context.Context, worker, seq int) error

// Result is what a run measured.
type Result struct {
	Requests   int
	Errors     int
	FirstError error
	Elapsed    time.Duration
	P50, P90   time.Duration
	P99, Max   time.Duration
}

// Throughput is the rate of completed calls per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// String summarizes the result on one line.
func (r Result) String() string {
	return fmt.Sprintf("%d requests, %d errors, %.0f req/s, p50 %s, p90 %s, p99 %s, max %s",
		r.Requests, r.Errors, r.Throughput(), r.P50.Round(time.Microsecond), r.P90.Round(time.Microsecond),
		r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
}

// Run makes opts.Requests calls from opts.Concurrency clients and measures each one.
// It stops early, with what it measured, when ctx is done.
func Run(ctx context.Context, opts Options, call Call) Result {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	var warm sync.WaitGroup
	var warmed atomic.Int64
	for w := range min(opts.Concurrency, max(opts.Warmup, 0)) {
		warm.Go(func() {
			for ctx.Err() == nil {
				i := int(warmed.Add(1)) - 1
				if i >= opts.Warmup {
					return
				}
				_ = call(ctx, w, -1-i)
			}
		})
	}
	warm.Wait()
	perWorker := make([][]time.Duration, opts.Concurrency)
	var (
		next     atomic.Int64
		errs     atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	start := time.Now()
	for w := range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				seq := int(next.Add(1)) - 1
				if seq >= opts.Requests {
					return
				}
				t0 := time.Now()
				err := call(ctx, w, seq)
				perWorker[w] = append(perWorker[w], time.Since(t0))
				if err != nil {
					errs.Add(1)
					errOnce.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	r := Result{Elapsed: time.Since(start), Errors: int(errs.Load()), FirstError: firstErr}
	measured := slices.Concat(perWorker...)
	slices.Sort(measured)
	r.Requests = len(measured)
	if n := len(measured); n > 0 {
		at := func(q float64) time.Duration { return measured[min(n-1, int(q*float64(n)))] }
		r.P50, r.P90, r.P99, r.Max = at(0.50), at(0.90), at(0.99), measured[n-1]
	}
	return r
}
