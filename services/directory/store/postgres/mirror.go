package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ponte-network/ponte/libs/changelog"
	pgstore "github.com/ponte-network/ponte/libs/storage/postgres"
	"github.com/ponte-network/ponte/services/directory/store"
	"github.com/ponte-network/ponte/services/directory/store/internal/recordsql"
)

// MirrorCursor implements store.Store.
func (s *Store) MirrorCursor(ctx context.Context, upstream string) (int64, error) {
	var pos int64
	err := s.db.Pool.QueryRow(ctx, `SELECT position FROM mirror_cursors WHERE upstream = $1`, upstream).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, pgstore.MapUnavailable(fmt.Errorf("read mirror cursor: %w", err))
	}
	return pos, nil
}

// ApplyMirrorChange implements store.Store.
func (s *Store) ApplyMirrorChange(ctx context.Context, c store.MirrorChange) (store.MirrorOutcome, error) {
	var outcome store.MirrorOutcome
	err := s.db.WriteTx(ctx, func(ctx context.Context, tx pgx.Tx, log changelog.Appender) error {
		// Creating the cursor row first and locking it serializes the appliers of one
		// upstream, so the position test below holds until commit.
		if _, err := tx.Exec(ctx, `INSERT INTO mirror_cursors (upstream, position, update_time) VALUES ($1, 0, now())
			ON CONFLICT (upstream) DO NOTHING`, c.Upstream); err != nil {
			return fmt.Errorf("create mirror cursor: %w", err)
		}
		var cur int64
		if err := tx.QueryRow(ctx, `SELECT position FROM mirror_cursors WHERE upstream = $1 FOR UPDATE`, c.Upstream).Scan(&cur); err != nil {
			return fmt.Errorf("read mirror cursor: %w", err)
		}
		if c.Position <= cur {
			outcome = store.MirrorDuplicate
			return nil
		}
		var err error
		outcome, err = applyMirror(ctx, tx, log, c)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE mirror_cursors SET position = $2, update_time = $3 WHERE upstream = $1`,
			c.Upstream, c.Position, time.Now().UTC()); err != nil {
			return fmt.Errorf("advance mirror cursor: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return outcome, nil
}

func applyMirror(ctx context.Context, tx pgx.Tx, log changelog.Appender, c store.MirrorChange) (store.MirrorOutcome, error) {
	if c.Op != changelog.OpUpsert && c.Op != changelog.OpDelete {
		return store.MirrorSkipped, nil
	}
	var origin string
	err := tx.QueryRow(ctx, `SELECT origin FROM records WHERE kind = $1 AND id = $2 FOR UPDATE`, string(c.Kind), c.ID).Scan(&origin)
	exists := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("read %s: %w", c.Kind, err)
	}
	if exists && origin != c.Upstream {
		return store.MirrorCollision, nil
	}
	if c.Op == changelog.OpDelete {
		if !exists {
			return store.MirrorApplied, nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM records WHERE kind = $1 AND id = $2`, string(c.Kind), c.ID); err != nil {
			return "", fmt.Errorf("delete mirrored %s: %w", c.Kind, err)
		}
		log.Append(store.RecordDelete(c.Kind, c.ID))
		return store.MirrorApplied, nil
	}
	r := c.Record
	r.Kind, r.ID, r.Origin = c.Kind, c.ID, c.Upstream
	if exists {
		if _, err := tx.Exec(ctx, `DELETE FROM records WHERE kind = $1 AND id = $2`, string(r.Kind), r.ID); err != nil {
			return "", fmt.Errorf("replace mirrored %s: %w", r.Kind, err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO records (`+recordsql.Columns+`)
		VALUES `+recordsql.Values(recordsql.Dollar), values(r)...); err != nil {
		return "", fmt.Errorf("insert mirrored %s: %w", r.Kind, err)
	}
	if err := insertRefs(ctx, tx, r); err != nil {
		return "", err
	}
	log.Append(store.RecordChange(r))
	return store.MirrorApplied, nil
}
