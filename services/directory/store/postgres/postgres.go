// Package postgres is the directory's PostgreSQL store.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	pgstore "github.com/ponte-network/ponte/libs/storage/postgres"
	"github.com/ponte-network/ponte/services/directory/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the directory's PostgreSQL migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}

// Schema is the PostgreSQL schema the directory keeps its tables in.
const Schema = "directory"

// Store is the directory's PostgreSQL store.
type Store struct {
	db *pgstore.DB
}

var _ store.Store = (*Store)(nil)

// Config returns the storage configuration for the directory on the database at url.
func Config(url string) pgstore.Config {
	return pgstore.Config{URL: url, Schema: Schema, Migrations: Migrations()}
}

// Open connects to PostgreSQL and applies the directory's migrations.
func Open(ctx context.Context, cfg pgstore.Config) (*Store, error) {
	db, err := pgstore.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open directory store: %w", err)
	}
	return &Store{db: db}, nil
}

// CreateDistrict implements store.Store.
func (s *Store) CreateDistrict(ctx context.Context, d store.District) (store.District, error) {
	d.Municipalities = slices.Sorted(slices.Values(d.Municipalities))
	err := s.db.WriteTx(ctx, func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
		err := tx.QueryRow(ctx,
			`INSERT INTO districts (code, name, region_code) VALUES ($1, $2, $3)
			 ON CONFLICT (code) DO NOTHING RETURNING create_time`,
			d.Code, d.Name, d.RegionCode).Scan(&d.CreateTime)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("district %s: %w", d.Code, store.ErrAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("insert district: %w", err)
		}
		var taken, owner string
		err = tx.QueryRow(ctx,
			`SELECT municipality_code, district_code FROM district_municipalities
			 WHERE municipality_code = ANY($1) ORDER BY municipality_code LIMIT 1`,
			d.Municipalities).Scan(&taken, &owner)
		if err == nil {
			return store.MunicipalityTakenError(taken, owner)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("check district municipalities: %w", err)
		}
		_, err = tx.Exec(ctx,
			`INSERT INTO district_municipalities (municipality_code, district_code)
			 SELECT m, $2 FROM unnest($1::text[]) AS m`,
			d.Municipalities, d.Code)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			// A concurrent writer took one of the municipalities after the check.
			return storage.FieldErrorf(store.ErrFailedPrecondition, "territory.municipality_codes",
				"a municipality of the district was added to another district at the same time")
		}
		if err != nil {
			return fmt.Errorf("insert district municipalities: %w", err)
		}
		d.CreateTime = d.CreateTime.UTC()
		log.Append(store.ChangeEntry(d))
		return nil
	})
	if err != nil {
		return store.District{}, err
	}
	return d, nil
}

// GetDistrict implements store.Store.
func (s *Store) GetDistrict(ctx context.Context, code string) (store.District, error) {
	ds, err := s.districts(ctx, `WHERE d.code = $1`, code)
	if err != nil {
		return store.District{}, err
	}
	if len(ds) == 0 {
		return store.District{}, fmt.Errorf("district %s: %w", code, store.ErrNotFound)
	}
	return ds[0], nil
}

// ListDistricts implements store.Store.
func (s *Store) ListDistricts(ctx context.Context) ([]store.District, error) {
	return s.districts(ctx, "")
}

func (s *Store) districts(ctx context.Context, where string, args ...any) ([]store.District, error) {
	rows, err := s.db.Pool.Query(ctx,
		`SELECT d.code, d.name, d.region_code, d.create_time,
		        coalesce(array_agg(m.municipality_code ORDER BY m.municipality_code)
		                 FILTER (WHERE m.municipality_code IS NOT NULL), '{}')
		 FROM districts d LEFT JOIN district_municipalities m ON m.district_code = d.code `+where+`
		 GROUP BY d.code ORDER BY d.code`, args...)
	if err != nil {
		return nil, pgstore.MapUnavailable(fmt.Errorf("query districts: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.District, error) {
		var d store.District
		err := row.Scan(&d.Code, &d.Name, &d.RegionCode, &d.CreateTime, &d.Municipalities)
		d.CreateTime = d.CreateTime.UTC()
		return d, err
	})
	if err != nil {
		return nil, pgstore.MapUnavailable(fmt.Errorf("read districts: %w", err))
	}
	return out, nil
}

// Changes implements store.Store.
func (s *Store) Changes() changelog.Feed { return s.db.Feed() }

// Ready implements store.Store.
func (s *Store) Ready(ctx context.Context) error { return s.db.Ready(ctx) }

// Close implements store.Store.
func (s *Store) Close() error {
	s.db.Close()
	return nil
}
