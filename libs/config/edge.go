package config

import "flag"

// Edge is the REST edge's configuration beyond its addresses: what its telemetry records.
type Edge struct {
	// TraceClientInfo records the client's address and user agent in HTTP spans.
	TraceClientInfo bool
	// RateLimit is each client's sustained request rate per second (0: no limit), RateBurst
	// how many it may send at once.
	RateLimit float64
	RateBurst int
}

// RegisterEdge adds the edge's flags to fs.
func (e *Edge) RegisterEdge(fs *flag.FlagSet) {
	fs.BoolVar(&e.TraceClientInfo, "trace-client-info", false, "record the client's address and user agent in HTTP spans (personal data; off by default)")
	fs.Float64Var(&e.RateLimit, "rate-limit", 50, "requests per second each client (bearer token, or address when anonymous) may sustain at the REST edge; 0: no limit")
	fs.IntVar(&e.RateBurst, "rate-limit-burst", 100, "requests a client may send at once before --rate-limit applies")
}
