package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/herdbot/herdbot/agents"
)

// Spend sums the cost of the jobs q selects (agents.SpendStore). An
// agent-wide query also counts the cost Prune kept of the jobs it deleted.
func (db *DB) Spend(ctx context.Context, q agents.SpendQuery) (float64, error) {
	if q.Agent == "" {
		return 0, errors.New("spend: agent is required")
	}
	where := []string{"agent = ?", "started >= ?"}
	args := []any{q.Agent, q.Since.UnixMilli()}
	switch {
	case q.Conversation != "" && q.WithThreads:
		// ':' + 1 is ';': the range is every key that extends it.
		where = append(where, "(conversation = ? OR (conversation > ? AND conversation < ?))")
		args = append(args, q.Conversation, q.Conversation+":", q.Conversation+";")
	case q.Conversation != "":
		where, args = append(where, "conversation = ?"), append(args, q.Conversation)
	}
	if q.SessionID != "" {
		where, args = append(where, "session_id = ?"), append(args, q.SessionID)
	}
	query := `SELECT COALESCE(SUM(cost_usd), 0) FROM jobs WHERE ` + strings.Join(where, " AND ")
	if q.Conversation == "" && q.SessionID == "" {
		query = `SELECT COALESCE((` + query + `), 0) +
			COALESCE((SELECT SUM(cost_usd) FROM spend_pruned WHERE agent = ? AND started >= ?), 0)`
		args = append(args, q.Agent, q.Since.UnixMilli())
	}
	var sum float64
	if err := db.r.QueryRowContext(ctx, query, args...).Scan(&sum); err != nil {
		return 0, fmt.Errorf("spend of %s: %w", q.Agent, err)
	}
	return sum, nil
}
