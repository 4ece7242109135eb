package reporting

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metric names of the feed gauges. Their one attribute is the source ("cases",
// "mediators", "housing"); they carry no figure about a person.
const (
	// MetricFeedLag is how many entries of a source's feed the last read left unread.
	MetricFeedLag = "ponte.reporting.feed.lag"
	// MetricFeedReadAge is how long ago a source's feed was last read: it grows while
	// reads fail, when the lag gauge keeps its last value.
	MetricFeedReadAge = "ponte.reporting.feed.read_age"
)

// RegisterMetrics registers the feed lag gauges on meter, observed from the follower at
// each collection; the returned function unregisters them. A region node follows no
// feed and observes nothing.
func (s *Service) RegisterMetrics(meter metric.Meter) (func() error, error) {
	lag, err := meter.Int64ObservableGauge(MetricFeedLag, metric.WithUnit("{entry}"),
		metric.WithDescription("Entries of a source feed that reporting's last read left unread."))
	if err != nil {
		return nil, fmt.Errorf("reporting metrics: %w", err)
	}
	age, err := meter.Float64ObservableGauge(MetricFeedReadAge, metric.WithUnit("s"),
		metric.WithDescription("Seconds since reporting last read a source feed."))
	if err != nil {
		return nil, fmt.Errorf("reporting metrics: %w", err)
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		now := time.Now()
		for source, l := range s.follower.Lags() {
			attrs := metric.WithAttributes(attribute.String("source", source))
			o.ObserveInt64(lag, l.Entries, attrs)
			o.ObserveFloat64(age, now.Sub(l.ReadTime).Seconds(), attrs)
		}
		return nil
	}, lag, age)
	if err != nil {
		return nil, fmt.Errorf("reporting metrics: %w", err)
	}
	return reg.Unregister, nil
}
