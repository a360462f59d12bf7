package store

import (
	"context"
	"fmt"
	"time"
)

// ClaimReplayKeys records keys (webhook delivery ids, signatures) as seen
// until expires, in one transaction, unless one of them is already
// recorded and not expired: then it records nothing and returns false (a
// replay). Expired keys are deleted on the way, so the table holds only the
// replay window's worth.
func (db *DB) ClaimReplayKeys(ctx context.Context, now, expires time.Time, keys ...string) (bool, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("claim replay keys: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_replays WHERE expires <= ?`, now.UnixMilli()); err != nil {
		return false, fmt.Errorf("claim replay keys: expire: %w", err)
	}
	for _, k := range keys {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhook_replays WHERE key = ?`, k).Scan(&n); err != nil {
			return false, fmt.Errorf("claim replay keys: %w", err)
		}
		if n > 0 {
			return false, nil
		}
	}
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_replays (key, expires) VALUES (?, ?)`, k, expires.UnixMilli()); err != nil {
			return false, fmt.Errorf("claim replay keys: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("claim replay keys: commit: %w", err)
	}
	return true, nil
}

// ReleaseReplayKeys forgets keys (a claimed delivery that was not run
// after all, so that its retry is not taken for a replay).
func (db *DB) ReleaseReplayKeys(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if _, err := db.w.ExecContext(ctx, `DELETE FROM webhook_replays WHERE key = ?`, k); err != nil {
			return fmt.Errorf("release replay key: %w", err)
		}
	}
	return nil
}

// SeenReplayKey reports whether one of keys is recorded and not expired at
// now.
func (db *DB) SeenReplayKey(ctx context.Context, now time.Time, keys ...string) (bool, error) {
	for _, k := range keys {
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM webhook_replays WHERE key = ? AND expires > ?`,
			k, now.UnixMilli()).Scan(&n); err != nil {
			return false, fmt.Errorf("seen replay key: %w", err)
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}
