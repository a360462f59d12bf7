package store

import (
	"context"
	"fmt"
	"time"

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
	// The cost of a deleted job that started within spendKept still
	// counts towards its agent's budget (Spend): it is kept in
	// spend_pruned, and what is older than that is dropped from there.
	cutoff := time.Now().Add(-spendKept).UnixMilli()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("prune jobs: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `INSERT INTO spend_pruned (agent, started, cost_usd)
		SELECT agent, started, cost_usd FROM jobs WHERE id IN (`+sqlPrunable+`) AND cost_usd > 0 AND started >= ?`,
		string(agents.JobQueued), string(agents.JobRunning), keepPerAgent, cutoff); err != nil {
		return 0, fmt.Errorf("prune jobs: keep their cost: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id IN (`+sqlPrunable+`)`,
		string(agents.JobQueued), string(agents.JobRunning), keepPerAgent)
	if err != nil {
		return 0, fmt.Errorf("prune jobs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune jobs: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM spend_pruned WHERE started < ?`, cutoff); err != nil {
		return 0, fmt.Errorf("prune kept spend: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("prune jobs: %w", err)
	}
	return n, nil
}

// sqlPrunable selects the ids of the jobs Prune deletes; its parameters
// are the two unfinished states and how many final jobs to keep per agent.
const sqlPrunable = `SELECT id FROM (
			SELECT id, ROW_NUMBER() OVER (PARTITION BY agent ORDER BY started DESC, rowid DESC) AS n
			FROM jobs WHERE status NOT IN (?, ?)
		) WHERE n > ?`

// spendKept is how long the cost of a pruned job still counts towards its
// agent's spend: longer than any calendar month in any time zone.
const spendKept = 40 * 24 * time.Hour
