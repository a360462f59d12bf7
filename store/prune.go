package store

import (
	"context"
	"fmt"

	"github.com/herdbot/herdbot/agents"
)

// DefaultKeepPerAgent is how many final jobs per agent Prune keeps when
// asked for n <= 0.
const DefaultKeepPerAgent = 1000

// Prune deletes all but the newest keepPerAgent final jobs of each agent
// (DefaultKeepPerAgent when keepPerAgent <= 0), with their events, and
// returns how many jobs it deleted. Queued and running jobs are never pruned
// and do not count towards the kept ones.
func (db *DB) Prune(ctx context.Context, keepPerAgent int) (int64, error) {
	if keepPerAgent <= 0 {
		keepPerAgent = DefaultKeepPerAgent
	}
	res, err := db.w.ExecContext(ctx, `DELETE FROM jobs WHERE id IN (
		SELECT id FROM (
			SELECT id, ROW_NUMBER() OVER (PARTITION BY agent ORDER BY started DESC, rowid DESC) AS n
			FROM jobs WHERE status NOT IN (?, ?)
		) WHERE n > ?)`,
		string(agents.JobQueued), string(agents.JobRunning), keepPerAgent)
	if err != nil {
		return 0, fmt.Errorf("prune jobs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune jobs: %w", err)
	}
	return n, nil
}
