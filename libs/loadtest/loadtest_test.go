package loadtest_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/loadtest"
)

func TestRunMakesEveryCallOnceAndCountsErrors(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	seen := make([]atomic.Int32, 1000)
	r := loadtest.Run(context.Background(), loadtest.Options{Concurrency: 8, Requests: 1000, Warmup: 3}, func(_ context.Context, _, seq int) error {
		calls.Add(1)
		if seq < 0 {
			return nil // warm-up
		}
		seen[seq].Add(1)
		if seq%100 == 0 {
			return errors.New("boom")
		}
		return nil
	})
	if r.Requests != 1000 || calls.Load() != 1003 {
		t.Fatalf("requests = %d, calls = %d; want 1000 measured of 1003", r.Requests, calls.Load())
	}
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Fatalf("call %d made %d times", i, seen[i].Load())
		}
	}
	if r.Errors != 10 || r.FirstError == nil {
		t.Errorf("errors = %d (%v), want 10", r.Errors, r.FirstError)
	}
	if !(r.P50 <= r.P90 && r.P90 <= r.P99 && r.P99 <= r.Max) {
		t.Errorf("percentiles out of order: %s", r)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	r := loadtest.Run(ctx, loadtest.Options{Concurrency: 2, Requests: 1_000_000}, func(_ context.Context, _, seq int) error {
		if seq == 50 {
			cancel()
		}
		time.Sleep(time.Microsecond)
		return nil
	})
	if r.Requests < 50 || r.Requests > 1000 {
		t.Errorf("measured %d requests after cancelling at the 50th", r.Requests)
	}
}
