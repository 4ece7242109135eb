package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/services/directory/store"
	"github.com/ponte-network/ponte/services/directory/store/internal/recordsql"
)

// MirrorCursor implements store.Store.
func (s *Store) MirrorCursor(ctx context.Context, upstream string) (int64, error) {
	var pos int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT position FROM mirror_cursors WHERE upstream = ?`, upstream).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read mirror cursor: %w", err)
	}
	return pos, nil
}

// ApplyMirrorChange implements store.Store.
func (s *Store) ApplyMirrorChange(ctx context.Context, c store.MirrorChange) (store.MirrorOutcome, error) {
	var outcome store.MirrorOutcome
	err := s.db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx, log changelog.Appender) error {
		// The embedded store has a single writer: the position test holds until commit.
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT position FROM mirror_cursors WHERE upstream = ?`, c.Upstream).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read mirror cursor: %w", err)
		}
		if c.Position <= cur {
			outcome = store.MirrorDuplicate
			return nil
		}
		outcome, err = applyMirror(ctx, tx, log, c)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mirror_cursors (upstream, position, update_time) VALUES (?, ?, ?)
			ON CONFLICT (upstream) DO UPDATE SET position = excluded.position, update_time = excluded.update_time`,
			c.Upstream, c.Position, now().Format(timeLayout)); err != nil {
			return fmt.Errorf("advance mirror cursor: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return outcome, nil
}

func applyMirror(ctx context.Context, tx *sql.Tx, log changelog.Appender, c store.MirrorChange) (store.MirrorOutcome, error) {
	if c.Op != changelog.OpUpsert && c.Op != changelog.OpDelete {
		return store.MirrorSkipped, nil
	}
	var origin string
	err := tx.QueryRowContext(ctx, `SELECT origin FROM records WHERE kind = ? AND id = ?`, string(c.Kind), c.ID).Scan(&origin)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read %s: %w", c.Kind, err)
	}
	if exists && origin != c.Upstream {
		return store.MirrorCollision, nil
	}
	if c.Op == changelog.OpDelete {
		if !exists {
			return store.MirrorApplied, nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM records WHERE kind = ? AND id = ?`, string(c.Kind), c.ID); err != nil {
			return "", fmt.Errorf("delete mirrored %s: %w", c.Kind, err)
		}
		log.Append(store.RecordDelete(c.Kind, c.ID))
		return store.MirrorApplied, nil
	}
	r := c.Record
	r.Kind, r.ID, r.Origin = c.Kind, c.ID, c.Upstream
	r.CreateTime, r.UpdateTime = r.CreateTime.UTC(), r.UpdateTime.UTC()
	if exists {
		if _, err := tx.ExecContext(ctx, `DELETE FROM records WHERE kind = ? AND id = ?`, string(r.Kind), r.ID); err != nil {
			return "", fmt.Errorf("replace mirrored %s: %w", r.Kind, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO records (`+recordsql.Columns+`)
		VALUES `+recordsql.Values(recordsql.Question), values(r)...); err != nil {
		return "", fmt.Errorf("insert mirrored %s: %w", r.Kind, err)
	}
	if err := insertRefs(ctx, tx, r); err != nil {
		return "", err
	}
	log.Append(store.RecordChange(r))
	return store.MirrorApplied, nil
}
