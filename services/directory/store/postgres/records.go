package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ponte-network/ponte/libs/changelog"
	pgstore "github.com/ponte-network/ponte/libs/storage/postgres"
	"github.com/ponte-network/ponte/services/directory/store"
	"github.com/ponte-network/ponte/services/directory/store/internal/recordsql"
)

// CreateRecord implements store.Store.
func (s *Store) CreateRecord(ctx context.Context, r store.Record) (store.Record, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	r.CreateTime, r.UpdateTime, r.Etag = now, now, store.NewEtag(r.Doc, now)
	err := s.db.WriteTx(ctx, func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
		if err := checkRefs(ctx, tx, r.Refs); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO records (`+recordsql.Columns+`)
			VALUES `+recordsql.Values(recordsql.Dollar)+` ON CONFLICT (kind, id) DO NOTHING`,
			values(r)...)
		if err != nil {
			return fmt.Errorf("insert %s: %w", r.Kind, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%s %s: %w", r.Kind, r.ID, store.ErrAlreadyExists)
		}
		if err := insertRefs(ctx, tx, r); err != nil {
			return err
		}
		log.Append(store.RecordChange(r))
		return nil
	})
	if err != nil {
		return store.Record{}, err
	}
	return r, nil
}

// UpdateRecord implements store.Store.
func (s *Store) UpdateRecord(ctx context.Context, r store.Record, etag string) (store.Record, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	r.UpdateTime, r.Etag = now, store.NewEtag(r.Doc, now)
	err := s.db.WriteTx(ctx, func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
		var current string
		err := tx.QueryRow(ctx, `SELECT etag, create_time FROM records WHERE kind = $1 AND id = $2 FOR UPDATE`,
			string(r.Kind), r.ID).Scan(&current, &r.CreateTime)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s %s: %w", r.Kind, r.ID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", r.Kind, err)
		}
		r.CreateTime = r.CreateTime.UTC()
		if etag != "" && etag != current {
			return fmt.Errorf("%s %s: %w", r.Kind, r.ID, store.ErrConflict)
		}
		if err := checkRefs(ctx, tx, r.Refs); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE records SET organization_id = $3, etag = $4, update_time = $5, doc = $6,
			municipality = $7, province = $8, region = $9
			WHERE kind = $1 AND id = $2`,
			string(r.Kind), r.ID, r.OrganizationID, r.Etag, r.UpdateTime, string(r.Doc), r.Municipality, r.Province, r.Region)
		if err != nil {
			return fmt.Errorf("update %s: %w", r.Kind, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM record_refs WHERE from_kind = $1 AND from_id = $2`, string(r.Kind), r.ID); err != nil {
			return fmt.Errorf("clear %s references: %w", r.Kind, err)
		}
		if err := insertRefs(ctx, tx, r); err != nil {
			return err
		}
		log.Append(store.RecordChange(r))
		return nil
	})
	if err != nil {
		return store.Record{}, err
	}
	return r, nil
}

// DeleteRecord implements store.Store.
func (s *Store) DeleteRecord(ctx context.Context, kind store.Kind, id, etag string) error {
	return s.db.WriteTx(ctx, func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
		var current string
		err := tx.QueryRow(ctx, `SELECT etag FROM records WHERE kind = $1 AND id = $2 FOR UPDATE`, string(kind), id).Scan(&current)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s %s: %w", kind, id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", kind, err)
		}
		if etag != "" && etag != current {
			return fmt.Errorf("%s %s: %w", kind, id, store.ErrConflict)
		}
		var byKind, byID string
		err = tx.QueryRow(ctx, `SELECT from_kind, from_id FROM record_refs WHERE to_kind = $1 AND to_id = $2
			ORDER BY from_kind, from_id LIMIT 1`, string(kind), id).Scan(&byKind, &byID)
		if err == nil {
			return store.InUseError(kind, id, store.Kind(byKind), byID)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("check references to %s: %w", kind, err)
		}
		if kind == store.KindOrganization {
			err = tx.QueryRow(ctx, `SELECT kind, id FROM records WHERE organization_id = $1 AND kind <> 'organization'
				ORDER BY kind, id LIMIT 1`, id).Scan(&byKind, &byID)
			if err == nil {
				return store.InUseError(kind, id, store.Kind(byKind), byID)
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("check records of organization: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM records WHERE kind = $1 AND id = $2`, string(kind), id); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23503" {
				return store.InUseError(kind, id, "record", "")
			}
			return fmt.Errorf("delete %s: %w", kind, err)
		}
		log.Append(store.RecordDelete(kind, id))
		return nil
	})
}

// GetRecord implements store.Store.
func (s *Store) GetRecord(ctx context.Context, kind store.Kind, id string) (store.Record, error) {
	rs, err := s.GetRecords(ctx, kind, []string{id})
	if err != nil {
		return store.Record{}, err
	}
	if len(rs) == 0 {
		return store.Record{}, fmt.Errorf("%s %s: %w", kind, id, store.ErrNotFound)
	}
	return rs[0], nil
}

// GetRecords implements store.Store.
func (s *Store) GetRecords(ctx context.Context, kind store.Kind, ids []string) ([]store.Record, error) {
	q, args := recordsql.ByIDs(kind, ids, recordsql.Dollar)
	return s.query(ctx, q, args...)
}

// ListRecords implements store.Store.
func (s *Store) ListRecords(ctx context.Context, kind store.Kind, f store.ListFilter) ([]store.Record, error) {
	q, args := recordsql.List(kind, f, recordsql.Dollar)
	return s.query(ctx, q, args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]store.Record, error) {
	rows, err := s.db.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, pgstore.MapUnavailable(fmt.Errorf("query records: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Record, error) {
		var (
			r         store.Record
			kind, doc string
		)
		err := row.Scan(&kind, &r.ID, &r.OrganizationID, &r.Etag, &r.CreateTime, &r.UpdateTime, &doc,
			&r.Municipality, &r.Province, &r.Region, &r.Origin)
		r.Kind, r.Doc = store.Kind(kind), []byte(doc)
		r.CreateTime, r.UpdateTime = r.CreateTime.UTC(), r.UpdateTime.UTC()
		return r, err
	})
	if err != nil {
		return nil, pgstore.MapUnavailable(fmt.Errorf("read records: %w", err))
	}
	return out, nil
}

func values(r store.Record) []any {
	return []any{string(r.Kind), r.ID, r.OrganizationID, r.Etag, r.CreateTime, r.UpdateTime, string(r.Doc),
		r.Municipality, r.Province, r.Region, r.Origin}
}

// checkRefs returns the error of the first reference that does not exist.
func checkRefs(ctx context.Context, tx pgx.Tx, refs []store.Ref) error {
	for _, ref := range refs {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM records WHERE kind = $1 AND id = $2 FOR SHARE`, string(ref.Kind), ref.ID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.UnknownRefError(ref)
		}
		if err != nil {
			return fmt.Errorf("check reference: %w", err)
		}
	}
	return nil
}

func insertRefs(ctx context.Context, tx pgx.Tx, r store.Record) error {
	for _, ref := range r.Refs {
		_, err := tx.Exec(ctx, `INSERT INTO record_refs (from_kind, from_id, to_kind, to_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, string(r.Kind), r.ID, string(ref.Kind), ref.ID)
		if err != nil {
			return fmt.Errorf("insert %s reference: %w", r.Kind, err)
		}
	}
	return nil
}
