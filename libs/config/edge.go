package config

import "flag"

// Edge is the REST edge's configuration beyond its addresses: what its telemetry records.
type Edge struct {
	// TraceClientInfo records the client's address and user agent in HTTP spans.
	TraceClientInfo bool
}

// RegisterEdge adds the edge's flags to fs.
func (e *Edge) RegisterEdge(fs *flag.FlagSet) {
	fs.BoolVar(&e.TraceClientInfo, "trace-client-info", false, "record the client's address and user agent in HTTP spans (personal data; off by default)")
}
