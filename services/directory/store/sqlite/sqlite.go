// Package sqlite is the directory's embedded store (SQLite, pure Go).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/ponte-network/ponte/libs/changelog"
	litestore "github.com/ponte-network/ponte/libs/storage/sqlite"
	"github.com/ponte-network/ponte/services/directory/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the directory's SQLite migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}

// Store is the directory's embedded store.
type Store struct {
	db *litestore.DB
}

var _ store.Store = (*Store)(nil)

// Config returns the storage configuration for the directory in the file at path.
func Config(path string) litestore.Config {
	return litestore.Config{Path: path, Migrations: Migrations()}
}

// Open opens (creating if needed) the database file and applies the migrations.
func Open(ctx context.Context, cfg litestore.Config) (*Store, error) {
	db, err := litestore.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open directory store: %w", err)
	}
	return &Store{db: db}, nil
}

const timeLayout = time.RFC3339Nano

// CreateDistrict implements store.Store.
func (s *Store) CreateDistrict(ctx context.Context, d store.District) (store.District, error) {
	d.Municipalities = slices.Sorted(slices.Values(d.Municipalities))
	d.CreateTime = time.Now().UTC()
	err := s.db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO districts (code, name, region_code, create_time) VALUES (?, ?, ?, ?)
			 ON CONFLICT (code) DO NOTHING`,
			d.Code, d.Name, d.RegionCode, d.CreateTime.Format(timeLayout))
		if err != nil {
			return fmt.Errorf("insert district: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("insert district: %w", err)
		} else if n == 0 {
			return fmt.Errorf("district %s: %w", d.Code, store.ErrAlreadyExists)
		}
		args := make([]any, len(d.Municipalities))
		for i, m := range d.Municipalities {
			args[i] = m
		}
		var taken, owner string
		err = tx.QueryRowContext(ctx,
			`SELECT municipality_code, district_code FROM district_municipalities
			 WHERE municipality_code IN (`+placeholders(len(args))+`) ORDER BY municipality_code LIMIT 1`,
			args...).Scan(&taken, &owner)
		if err == nil {
			return store.MunicipalityTakenError(taken, owner)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("check district municipalities: %w", err)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO district_municipalities (municipality_code, district_code) VALUES (?, ?)`)
		if err != nil {
			return fmt.Errorf("prepare district municipalities: %w", err)
		}
		defer stmt.Close()
		for _, m := range d.Municipalities {
			if _, err := stmt.ExecContext(ctx, m, d.Code); err != nil {
				return fmt.Errorf("insert district municipality: %w", err)
			}
		}
		log.Append(store.ChangeEntry(d))
		return nil
	})
	if err != nil {
		return store.District{}, err
	}
	return d, nil
}

func placeholders(n int) string {
	if n == 0 {
		return "NULL"
	}
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// GetDistrict implements store.Store.
func (s *Store) GetDistrict(ctx context.Context, code string) (store.District, error) {
	ds, err := s.districts(ctx, `WHERE d.code = ?`, code)
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
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT d.code, d.name, d.region_code, d.create_time, m.municipality_code
		 FROM districts d LEFT JOIN district_municipalities m ON m.district_code = d.code `+where+`
		 ORDER BY d.code, m.municipality_code`, args...)
	if err != nil {
		return nil, fmt.Errorf("query districts: %w", err)
	}
	defer rows.Close()
	var out []store.District
	for rows.Next() {
		var (
			d       store.District
			created string
			mun     sql.NullString
		)
		if err := rows.Scan(&d.Code, &d.Name, &d.RegionCode, &created, &mun); err != nil {
			return nil, fmt.Errorf("read district: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].Code != d.Code {
			if d.CreateTime, err = time.Parse(timeLayout, created); err != nil {
				return nil, fmt.Errorf("read district %s create time: %w", d.Code, err)
			}
			d.Municipalities = []string{}
			out = append(out, d)
		}
		if mun.Valid {
			last := &out[len(out)-1]
			last.Municipalities = append(last.Municipalities, mun.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read districts: %w", err)
	}
	return out, nil
}

// Changes implements store.Store.
func (s *Store) Changes() changelog.Feed { return s.db.Feed() }

// Ready implements store.Store.
func (s *Store) Ready(ctx context.Context) error { return s.db.Ready(ctx) }

// Close implements store.Store.
func (s *Store) Close() error { return s.db.Close() }
