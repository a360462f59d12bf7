package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herdbot/herdbot/agents"
)

const jobColumns = `id, agent, trigger_kind, schedule, conversation, prompt, status, session_id,
	started, finished, cost_usd, turns, error`

func scanJob(s rowScanner) (agents.Job, error) {
	var j agents.Job
	var started, finished sql.NullInt64
	var status string
	if err := s.Scan(&j.ID, &j.Agent, &j.Trigger, &j.Schedule, &j.Conversation, &j.Prompt, &status,
		&j.SessionID, &started, &finished, &j.CostUSD, &j.Turns, &j.Error); err != nil {
		return agents.Job{}, err
	}
	j.Status = agents.JobStatus(status)
	j.Started, j.Finished = fromMS(started), fromMS(finished)
	return j, nil
}

// validJobStatus reports whether s is one of the agents.Job* states.
func validJobStatus(s agents.JobStatus) bool {
	switch s {
	case agents.JobQueued, agents.JobRunning, agents.JobSucceeded, agents.JobFailed,
		agents.JobInterrupted, agents.JobCancelled, agents.JobTimedOut:
		return true
	}
	return false
}

func checkJob(j agents.Job) error {
	if j.ID == "" || j.Agent == "" {
		return errors.New("job id and agent are required")
	}
	if !validJobStatus(j.Status) {
		return fmt.Errorf("job %s: unknown status %q", j.ID, j.Status)
	}
	return nil
}

const (
	sqlCreateJob = `INSERT INTO jobs (` + jobColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlUpdateJob = `UPDATE jobs SET agent = ?, trigger_kind = ?, schedule = ?, conversation = ?,
		prompt = ?, status = ?, session_id = ?, started = ?, finished = ?, cost_usd = ?, turns = ?, error = ?
		WHERE id = ?`
	sqlJob = `SELECT ` + jobColumns + ` FROM jobs WHERE id = ?`
)

// CreateJob inserts j. An empty Status means agents.JobQueued. It returns
// ErrExists when the id is taken.
func (db *DB) CreateJob(ctx context.Context, j agents.Job) error {
	if j.Status == "" {
		j.Status = agents.JobQueued
	}
	if err := checkJob(j); err != nil {
		return fmt.Errorf("create job: %w", err)
	}
	_, err := db.st.createJob.ExecContext(ctx,
		j.ID, j.Agent, j.Trigger, j.Schedule, j.Conversation, j.Prompt, string(j.Status), j.SessionID,
		ms(j.Started), ms(j.Finished), j.CostUSD, j.Turns, j.Error)
	if err != nil {
		return constraint(err, "create job "+j.ID)
	}
	return nil
}

// UpdateJob replaces every field of job j.ID except its id. It returns
// agents.ErrNotFound when there is no such job.
func (db *DB) UpdateJob(ctx context.Context, j agents.Job) error {
	if err := checkJob(j); err != nil {
		return fmt.Errorf("update job: %w", err)
	}
	return db.updateJob(ctx, nil, j)
}

// updateJob writes the checked job j, in tx when tx is not nil.
func (db *DB) updateJob(ctx context.Context, tx *sql.Tx, j agents.Job) error {
	res, err := on(ctx, tx, db.st.updateJob).ExecContext(ctx,
		j.Agent, j.Trigger, j.Schedule, j.Conversation, j.Prompt, string(j.Status), j.SessionID,
		ms(j.Started), ms(j.Finished), j.CostUSD, j.Turns, j.Error, j.ID)
	if err != nil {
		return fmt.Errorf("update job %s: %w", j.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update job %s: %w", j.ID, err)
	} else if n == 0 {
		return fmt.Errorf("update job %s: %w", j.ID, agents.ErrNotFound)
	}
	return nil
}

// Job returns the job with id, or agents.ErrNotFound.
func (db *DB) Job(ctx context.Context, id string) (agents.Job, error) {
	j, err := scanJob(db.st.job.QueryRowContext(ctx, id))
	if err != nil {
		return agents.Job{}, notFound(err, "job "+id)
	}
	return j, nil
}

// Jobs lists jobs matching f, newest (by Started) first; f.Limit <= 0 means
// 100.
func (db *DB) Jobs(ctx context.Context, f agents.JobFilter) ([]agents.Job, error) {
	var where []string
	var args []any
	if f.Agent != "" {
		where, args = append(where, "agent = ?"), append(args, f.Agent)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	q := `SELECT ` + jobColumns + ` FROM jobs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY started DESC, rowid DESC LIMIT ?`
	args = append(args, limitOr(f.Limit))
	return db.queryJobs(ctx, db.r, q, args...)
}

// InterruptRunning marks every queued or running job interrupted, with
// reason as its error and at as its finish time, and returns them (as they
// are now).
func (db *DB) InterruptRunning(ctx context.Context, reason string, at time.Time) ([]agents.Job, error) {
	jobs, err := db.queryJobs(ctx, db.w, `UPDATE jobs SET status = ?, error = ?, finished = ?
		WHERE status IN (?, ?) RETURNING `+jobColumns,
		string(agents.JobInterrupted), reason, ms(at), string(agents.JobQueued), string(agents.JobRunning))
	if err != nil {
		return nil, fmt.Errorf("interrupt running jobs: %w", err)
	}
	return jobs, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (db *DB) queryJobs(ctx context.Context, q querier, query string, args ...any) ([]agents.Job, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query jobs: %w", err)
	}
	defer rows.Close()
	var out []agents.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("scan job: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query jobs: %w", err)
	}
	return out, nil
}
