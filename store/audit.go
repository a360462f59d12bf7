package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herdbot/herdbot/agents"
)

// AuditFilter selects audit entries. Empty fields match everything.
type AuditFilter struct {
	Agent        string
	ActionPrefix string // e.g. "approval." matches approval.requested and approval.decided
	Subject      string // exact subject (approval id, job id, …)
	Limit        int    // <= 0 means 100
}

// Audit appends e to the audit trail. A zero Time is stored as now.
func (db *DB) Audit(ctx context.Context, e agents.AuditEntry) error {
	if e.Action == "" {
		return errors.New("audit: action is required")
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO audit (time, agent, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		e.Time.UnixMilli(), e.Agent, e.Actor, e.Action, e.Subject, e.Detail)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditLog lists audit entries matching f, newest first.
func (db *DB) AuditLog(ctx context.Context, f AuditFilter) ([]agents.AuditEntry, error) {
	var where []string
	var args []any
	if f.Agent != "" {
		where, args = append(where, "agent = ?"), append(args, f.Agent)
	}
	if f.ActionPrefix != "" {
		// substr, not LIKE: '%' and '_' in the prefix are literal.
		where, args = append(where, "substr(action, 1, length(?)) = ?"), append(args, f.ActionPrefix, f.ActionPrefix)
	}
	if f.Subject != "" {
		where, args = append(where, "subject = ?"), append(args, f.Subject)
	}
	q := `SELECT time, agent, actor, action, subject, detail FROM audit`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limitOr(f.Limit))
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	var out []agents.AuditEntry
	for rows.Next() {
		var e agents.AuditEntry
		var t int64
		if err := rows.Scan(&t, &e.Agent, &e.Actor, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		e.Time = time.UnixMilli(t).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return out, nil
}
