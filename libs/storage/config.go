package storage

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ponte-network/ponte/libs/storage/postgres"
	"github.com/ponte-network/ponte/libs/storage/sqlite"
)

// Config says where one service keeps its data — PostgreSQL, or the embedded store when
// no database URL is given — and how its SQL is observed. Every service's OpenStore
// takes it.
type Config struct {
	DatabaseURL   string // PostgreSQL URL; empty = the embedded store
	SQLitePath    string // the embedded store's file
	QueryExecMode string // pgx query exec mode ("" = pgx default)
	MaxConns      int32  // PostgreSQL pool size (0 = pgx default)
	// ServeRole is the PostgreSQL role `ponte serve` connects as, which `ponte migrate`
	// (connected as the owner) grants what serving needs; "" = one role does both
	// (development).
	ServeRole string
	// TracerProvider traces each SQL statement; nil = not traced.
	TracerProvider trace.TracerProvider
	// MeterProvider receives the connection pools' usage (PostgreSQL's and the embedded
	// store's); nil = not measured.
	MeterProvider metric.MeterProvider
}

// Embedded reports whether the embedded store is selected.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// Postgres completes a service's PostgreSQL configuration (its schema and migrations)
// with c's connection, pool and telemetry settings.
func (c Config) Postgres(pc postgres.Config) postgres.Config {
	pc.URL = c.DatabaseURL
	pc.QueryExecMode, pc.MaxConns, pc.ServeRole = c.QueryExecMode, c.MaxConns, c.ServeRole
	pc.TracerProvider, pc.MeterProvider = c.TracerProvider, c.MeterProvider
	return pc
}

// SQLite completes a service's embedded-store configuration (its migrations) with c's
// file and telemetry settings.
func (c Config) SQLite(lc sqlite.Config) sqlite.Config {
	lc.Path = c.SQLitePath
	lc.TracerProvider, lc.MeterProvider = c.TracerProvider, c.MeterProvider
	return lc
}
