package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herdbot/herdbot/agents"
)

const approvalColumns = `id, job_id, agent, conversation, request_id, tool, input, input_hash, status,
	requested, expires, decided_by, decided_at, reason, refs, requested_by`

func scanApproval(s rowScanner) (agents.Approval, error) {
	var a agents.Approval
	var input []byte
	var status string
	var requested, expires, decidedAt sql.NullInt64
	if err := s.Scan(&a.ID, &a.JobID, &a.Agent, &a.Conversation, &a.RequestID, &a.Tool, &input, &a.InputHash,
		&status, &requested, &expires, &a.DecidedBy, &decidedAt, &a.Reason, &a.Refs, &a.RequestedBy); err != nil {
		return agents.Approval{}, err
	}
	if input != nil {
		a.Input = json.RawMessage(input)
	}
	a.Status = agents.Verdict(status)
	a.Requested, a.Expires, a.DecidedAt = fromMS(requested), fromMS(expires), fromMS(decidedAt)
	return a, nil
}

func validApprovalStatus(s agents.Verdict) bool {
	switch s {
	case agents.Pending, agents.Allowed, agents.AllowedSession,
		agents.Denied, agents.Expired:
		return true
	}
	return false
}

// CreateApproval inserts a. An empty Status means agents.Pending;
// an Input that is not valid JSON is stored as a JSON string holding it. It
// returns ErrExists when the id is taken.
func (db *DB) CreateApproval(ctx context.Context, a agents.Approval) error {
	if a.Status == "" {
		a.Status = agents.Pending
	}
	switch {
	case a.ID == "" || a.Agent == "":
		return errors.New("create approval: id and agent are required")
	case !validApprovalStatus(a.Status):
		return fmt.Errorf("create approval %s: unknown status %q", a.ID, a.Status)
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO approvals (`+approvalColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.JobID, a.Agent, a.Conversation, a.RequestID, a.Tool, jsonColumn(a.Input), a.InputHash, string(a.Status),
		ms(a.Requested), ms(a.Expires), a.DecidedBy, ms(a.DecidedAt), a.Reason, a.Refs, a.RequestedBy)
	if err != nil {
		return constraint(err, "create approval "+a.ID)
	}
	return nil
}

// Approval returns the approval with id, or agents.ErrNotFound.
func (db *DB) Approval(ctx context.Context, id string) (agents.Approval, error) {
	a, err := scanApproval(db.r.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = ?`, id))
	if err != nil {
		return agents.Approval{}, notFound(err, "approval "+id)
	}
	return a, nil
}

// DecideApproval moves approval id from pending to status (any state but
// pending) in one compare-and-set UPDATE, and returns the decided row. If the
// approval is no longer pending it changes nothing and returns the current
// row with agents.ErrNotPending; an unknown id gives agents.ErrNotFound.
// Expiry is the caller's policy: the store does not compare at with Expires.
func (db *DB) DecideApproval(ctx context.Context, id string, status agents.Verdict, by, reason string, at time.Time) (agents.Approval, error) {
	if status == agents.Pending || !validApprovalStatus(status) {
		return agents.Approval{}, fmt.Errorf("decide approval %s: invalid decision %q", id, status)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return agents.Approval{}, fmt.Errorf("decide approval %s: %w", id, err)
	}
	defer tx.Rollback()
	a, err := scanApproval(tx.QueryRowContext(ctx, `UPDATE approvals SET status = ?, decided_by = ?, reason = ?, decided_at = ?
		WHERE id = ? AND status = ? RETURNING `+approvalColumns,
		string(status), by, reason, ms(at), id, string(agents.Pending)))
	if errors.Is(err, sql.ErrNoRows) {
		cur, err := scanApproval(tx.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = ?`, id))
		if err != nil {
			return agents.Approval{}, notFound(err, "decide approval "+id)
		}
		return cur, fmt.Errorf("decide approval %s (%s): %w", id, cur.Status, agents.ErrNotPending)
	}
	if err != nil {
		return agents.Approval{}, fmt.Errorf("decide approval %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return agents.Approval{}, fmt.Errorf("decide approval %s: commit: %w", id, err)
	}
	return a, nil
}

// SetApprovalRefs records the chat message refs (JSON) of approval id's
// card, or returns agents.ErrNotFound.
func (db *DB) SetApprovalRefs(ctx context.Context, id, refs string) error {
	res, err := db.w.ExecContext(ctx, `UPDATE approvals SET refs = ? WHERE id = ?`, refs, id)
	if err != nil {
		return fmt.Errorf("set approval refs %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set approval refs %s: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("set approval refs %s: %w", id, agents.ErrNotFound)
	}
	return nil
}

// Approvals lists agent's approvals (every agent's when agent is empty),
// newest first, only pending ones if pendingOnly; limit <= 0 means 100.
func (db *DB) Approvals(ctx context.Context, agent string, pendingOnly bool, limit int) ([]agents.Approval, error) {
	var where []string
	var args []any
	if agent != "" {
		where, args = append(where, "agent = ?"), append(args, agent)
	}
	if pendingOnly {
		where, args = append(where, "status = ?"), append(args, string(agents.Pending))
	}
	q := `SELECT ` + approvalColumns + ` FROM approvals`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY requested DESC, rowid DESC LIMIT ?`
	args = append(args, limitOr(limit))
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	defer rows.Close()
	var out []agents.Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, fmt.Errorf("list approvals: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	return out, nil
}
