package directory

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/services/directory/searchindex"
)

// StaleHeader is the response metadata (and, at the REST edge, the Ponte-Index-Stale
// header) of a search or territory read answered from the search index while the store
// could not be reached: the whole seconds, rounded up, since the index last caught up
// with the store. Absent when the answer is current.
const StaleHeader = "ponte-index-stale"

// currentIndex brings index up to date for a read (searches, territories) or, while the
// store cannot be reached, lets the read answer from the index as it stands and says how
// stale it is in the StaleHeader response metadata. Its error is a gRPC status.
func currentIndex(ctx context.Context, index *searchindex.Index) error {
	stale, err := index.Current(ctx)
	if err != nil {
		return grpcerr.From(err)
	}
	if stale > 0 {
		secs := int64(math.Ceil(stale.Seconds()))
		// The header cannot be sent only if the call is not a gRPC call (it always is).
		_ = grpc.SetHeader(ctx, metadata.Pairs(StaleHeader, strconv.FormatInt(secs, 10)))
	}
	return nil
}

// indexMetrics exports how current the search index is: its staleness (0 while the store
// answers; while it does not, the seconds since the last catch-up) and the time of the
// last catch-up, so that an alert can fire on a directory serving from an old copy.
func indexMetrics(mp metric.MeterProvider, index *searchindex.Index) error {
	meter := mp.Meter("github.com/ponte-network/ponte/services/directory")
	stale, err := meter.Float64ObservableGauge("directory.search_index.staleness", metric.WithUnit("s"),
		metric.WithDescription("Seconds since the search index last caught up with the store, while the store cannot be reached; 0 while it answers."))
	if err != nil {
		return fmt.Errorf("directory metrics: %w", err)
	}
	last, err := meter.Float64ObservableGauge("directory.search_index.last_catch_up", metric.WithUnit("s"),
		metric.WithDescription("Unix time at which the search index last began a complete read of the change log; 0 before the first."))
	if err != nil {
		return fmt.Errorf("directory metrics: %w", err)
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveFloat64(stale, index.Stale().Seconds())
		at := 0.0
		if t := index.LastCatchUp(); !t.IsZero() {
			at = float64(t.UnixNano()) / float64(time.Second)
		}
		o.ObserveFloat64(last, at)
		return nil
	}, stale, last)
	if err != nil {
		return fmt.Errorf("directory metrics: %w", err)
	}
	return nil
}
