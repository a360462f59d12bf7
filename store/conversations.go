package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/herdbot/herdbot/agents"
)

const convColumns = `agent, conv_key, session_id, last_active`

const (
	sqlConversation    = `SELECT ` + convColumns + ` FROM conversations WHERE agent = ? AND conv_key = ?`
	sqlPutConversation = `INSERT INTO conversations (` + convColumns + `) VALUES (?, ?, ?, ?)
		ON CONFLICT (agent, conv_key) DO UPDATE SET session_id = excluded.session_id, last_active = excluded.last_active`
)

func scanConversation(s rowScanner) (agents.Conversation, error) {
	var c agents.Conversation
	var last sql.NullInt64
	if err := s.Scan(&c.Agent, &c.Key, &c.SessionID, &last); err != nil {
		return agents.Conversation{}, err
	}
	c.LastActive = fromMS(last)
	return c, nil
}

// Conversation returns the conversation key of agent, or agents.ErrNotFound.
func (db *DB) Conversation(ctx context.Context, agent, key string) (agents.Conversation, error) {
	row := db.st.conv.QueryRowContext(ctx, agent, key)
	c, err := scanConversation(row)
	if err != nil {
		return agents.Conversation{}, notFound(err, fmt.Sprintf("conversation %s/%s", agent, key))
	}
	return c, nil
}

// PutConversation creates or replaces the conversation (c.Agent, c.Key).
func (db *DB) PutConversation(ctx context.Context, c agents.Conversation) error {
	if err := checkConversation(c); err != nil {
		return err
	}
	return db.putConversation(ctx, nil, c)
}

func checkConversation(c agents.Conversation) error {
	if c.Agent == "" || c.Key == "" {
		return errors.New("put conversation: agent and key are required")
	}
	return nil
}

// putConversation upserts the checked conversation c, in tx when tx is not
// nil.
func (db *DB) putConversation(ctx context.Context, tx *sql.Tx, c agents.Conversation) error {
	_, err := on(ctx, tx, db.st.putConv).ExecContext(ctx, c.Agent, c.Key, c.SessionID, ms(c.LastActive))
	if err != nil {
		return fmt.Errorf("put conversation %s/%s: %w", c.Agent, c.Key, err)
	}
	return nil
}

// DeleteConversation forgets the conversation. Deleting one that does not
// exist is not an error.
func (db *DB) DeleteConversation(ctx context.Context, agent, key string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM conversations WHERE agent = ? AND conv_key = ?`, agent, key); err != nil {
		return fmt.Errorf("delete conversation %s/%s: %w", agent, key, err)
	}
	return nil
}

// Conversations lists agent's conversations (every agent's when agent is
// empty), most recently active first.
func (db *DB) Conversations(ctx context.Context, agent string) ([]agents.Conversation, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+convColumns+` FROM conversations
		WHERE ?1 = '' OR agent = ?1 ORDER BY last_active DESC, agent, conv_key`, agent)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	defer rows.Close()
	var out []agents.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("list conversations: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return out, nil
}
