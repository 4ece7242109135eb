package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/services/directory/store"
	"github.com/ponte-network/ponte/services/directory/store/internal/recordsql"
)

// now is the time of a write, at the precision PostgreSQL keeps, so that both stores
// return the same times.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// CreateRecord implements store.Store.
func (s *Store) CreateRecord(ctx context.Context, r store.Record) (store.Record, error) {
	t := now()
	r.CreateTime, r.UpdateTime, r.Etag = t, t, store.NewEtag(r.Doc, t)
	err := s.db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
		if err := checkRefs(ctx, tx, r.Refs); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO records (`+recordsql.Columns+`)
			VALUES `+recordsql.Values(recordsql.Question)+` ON CONFLICT (kind, id) DO NOTHING`, values(r)...)
		if err != nil {
			return fmt.Errorf("insert %s: %w", r.Kind, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("insert %s: %w", r.Kind, err)
		} else if n == 0 {
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
	t := now()
	r.UpdateTime, r.Etag = t, store.NewEtag(r.Doc, t)
	err := s.db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
		var current, created string
		err := tx.QueryRowContext(ctx, `SELECT etag, create_time FROM records WHERE kind = ? AND id = ?`,
			string(r.Kind), r.ID).Scan(&current, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %s: %w", r.Kind, r.ID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", r.Kind, err)
		}
		if r.CreateTime, err = time.Parse(timeLayout, created); err != nil {
			return fmt.Errorf("read %s create time: %w", r.Kind, err)
		}
		if etag != "" && etag != current {
			return fmt.Errorf("%s %s: %w", r.Kind, r.ID, store.ErrConflict)
		}
		if err := checkRefs(ctx, tx, r.Refs); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE records SET organization_id = ?, etag = ?, update_time = ?, doc = ?,
			municipality = ?, province = ?, region = ?
			WHERE kind = ? AND id = ?`,
			r.OrganizationID, r.Etag, r.UpdateTime.Format(timeLayout), string(r.Doc),
			r.Municipality, r.Province, r.Region, string(r.Kind), r.ID)
		if err != nil {
			return fmt.Errorf("update %s: %w", r.Kind, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM record_refs WHERE from_kind = ? AND from_id = ?`, string(r.Kind), r.ID); err != nil {
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
	return s.db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT etag FROM records WHERE kind = ? AND id = ?`, string(kind), id).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %s: %w", kind, id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", kind, err)
		}
		if etag != "" && etag != current {
			return fmt.Errorf("%s %s: %w", kind, id, store.ErrConflict)
		}
		var byKind, byID string
		err = tx.QueryRowContext(ctx, `SELECT from_kind, from_id FROM record_refs WHERE to_kind = ? AND to_id = ?
			ORDER BY from_kind, from_id LIMIT 1`, string(kind), id).Scan(&byKind, &byID)
		if err == nil {
			return store.InUseError(kind, id, store.Kind(byKind), byID)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("check references to %s: %w", kind, err)
		}
		if kind == store.KindOrganization {
			err = tx.QueryRowContext(ctx, `SELECT kind, id FROM records WHERE organization_id = ? AND kind <> 'organization'
				ORDER BY kind, id LIMIT 1`, id).Scan(&byKind, &byID)
			if err == nil {
				return store.InUseError(kind, id, store.Kind(byKind), byID)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("check records of organization: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM records WHERE kind = ? AND id = ?`, string(kind), id); err != nil {
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
	q, args := recordsql.ByIDs(kind, ids, recordsql.Question)
	return s.query(ctx, q, args...)
}

// ListRecords implements store.Store.
func (s *Store) ListRecords(ctx context.Context, kind store.Kind, f store.ListFilter) ([]store.Record, error) {
	q, args := recordsql.List(kind, f, recordsql.Question)
	return s.query(ctx, q, args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]store.Record, error) {
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query records: %w", err)
	}
	defer rows.Close()
	var out []store.Record
	for rows.Next() {
		var (
			r                           store.Record
			kind, created, updated, doc string
		)
		if err := rows.Scan(&kind, &r.ID, &r.OrganizationID, &r.Etag, &created, &updated, &doc,
			&r.Municipality, &r.Province, &r.Region, &r.Origin); err != nil {
			return nil, fmt.Errorf("read record: %w", err)
		}
		if r.CreateTime, err = time.Parse(timeLayout, created); err != nil {
			return nil, fmt.Errorf("read record create time: %w", err)
		}
		if r.UpdateTime, err = time.Parse(timeLayout, updated); err != nil {
			return nil, fmt.Errorf("read record update time: %w", err)
		}
		r.Kind, r.Doc = store.Kind(kind), []byte(doc)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	return out, nil
}

func values(r store.Record) []any {
	return []any{string(r.Kind), r.ID, r.OrganizationID, r.Etag, r.CreateTime.Format(timeLayout), r.UpdateTime.Format(timeLayout),
		string(r.Doc), r.Municipality, r.Province, r.Region, r.Origin}
}

// checkRefs returns the error of the first reference that does not exist.
func checkRefs(ctx context.Context, tx *sql.Tx, refs []store.Ref) error {
	for _, ref := range refs {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM records WHERE kind = ? AND id = ?`, string(ref.Kind), ref.ID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.UnknownRefError(ref)
		}
		if err != nil {
			return fmt.Errorf("check reference: %w", err)
		}
	}
	return nil
}

func insertRefs(ctx context.Context, tx *sql.Tx, r store.Record) error {
	for _, ref := range r.Refs {
		_, err := tx.ExecContext(ctx, `INSERT INTO record_refs (from_kind, from_id, to_kind, to_id) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, string(r.Kind), r.ID, string(ref.Kind), ref.ID)
		if err != nil {
			return fmt.Errorf("insert %s reference: %w", r.Kind, err)
		}
	}
	return nil
}
