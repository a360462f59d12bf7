package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/herdbot/herdbot/agents"
)

// ConversationModel returns the model chosen for agent's conversation key
// with /model, or agents.ErrNotFound when none was.
func (db *DB) ConversationModel(ctx context.Context, agent, key string) (agents.ModelChoice, error) {
	var m agents.ModelChoice
	var at sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT model, set_by, set_at FROM conversation_models WHERE agent = ? AND conv_key = ?`,
		agent, key).Scan(&m.Model, &m.SetBy, &at)
	if err != nil {
		return agents.ModelChoice{}, notFound(err, fmt.Sprintf("model of conversation %s/%s", agent, key))
	}
	m.SetAt = fromMS(at)
	return m, nil
}

// SetConversationModel records the model chosen for agent's conversation
// key; an empty m.Model forgets the choice.
func (db *DB) SetConversationModel(ctx context.Context, agent, key string, m agents.ModelChoice) error {
	if agent == "" || key == "" {
		return errors.New("set conversation model: agent and key are required")
	}
	var err error
	if m.Model == "" {
		_, err = db.w.ExecContext(ctx, `DELETE FROM conversation_models WHERE agent = ? AND conv_key = ?`, agent, key)
	} else {
		_, err = db.w.ExecContext(ctx, `INSERT INTO conversation_models (agent, conv_key, model, set_by, set_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (agent, conv_key) DO UPDATE SET model = excluded.model, set_by = excluded.set_by, set_at = excluded.set_at`,
			agent, key, m.Model, m.SetBy, ms(m.SetAt))
	}
	if err != nil {
		return fmt.Errorf("set model of conversation %s/%s: %w", agent, key, err)
	}
	return nil
}
