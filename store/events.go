package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/herdbot/herdbot/agents"
)

const (
	sqlInsertEvent = `INSERT INTO job_events (job_id, seq, time, kind, data) VALUES (?, ?, ?, ?, ?)`
	sqlMaxSeq      = `SELECT COALESCE(MAX(seq), 0) FROM job_events WHERE job_id = ?`
)

// AppendEvents stores evs in one transaction: all or none. An event with Seq
// 0 gets the next sequence number of its job, written back into evs. Data
// that is not valid JSON is stored as a JSON string holding it. A job
// that does not exist gives agents.ErrNotFound; a (job, seq) already stored
// gives ErrExists.
func (db *DB) AppendEvents(ctx context.Context, evs []agents.JobEvent) error {
	if len(evs) == 0 {
		return nil
	}
	if err := checkEvents(evs); err != nil {
		return err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	defer tx.Rollback()
	if err := db.appendEvents(ctx, tx, evs); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append events: commit: %w", err)
	}
	return nil
}

func checkEvents(evs []agents.JobEvent) error {
	for i, e := range evs {
		if e.JobID == "" {
			return fmt.Errorf("append events: event %d has no job id", i)
		}
		if e.Seq < 0 {
			return fmt.Errorf("append events: event %d of job %s: negative seq %d", i, e.JobID, e.Seq)
		}
	}
	return nil
}

// appendEvents inserts the checked events evs in tx, numbering those with
// Seq 0.
func (db *DB) appendEvents(ctx context.Context, tx *sql.Tx, evs []agents.JobEvent) error {
	if len(evs) == 0 {
		return nil
	}
	ins := on(ctx, tx, db.st.insertEvent)
	var next *sql.Stmt
	var last map[string]int // job -> highest seq written or read in this tx
	for i := range evs {
		e := &evs[i]
		if e.Seq == 0 {
			n, ok := last[e.JobID]
			if !ok {
				if next == nil {
					next = on(ctx, tx, db.st.maxSeq)
				}
				if err := next.QueryRowContext(ctx, e.JobID).Scan(&n); err != nil {
					return fmt.Errorf("append events for job %s: %w", e.JobID, err)
				}
			}
			e.Seq = n + 1
		}
		if _, err := ins.ExecContext(ctx, e.JobID, e.Seq, ms(e.Time), e.Kind, jsonColumn(e.Data)); err != nil {
			return constraint(err, fmt.Sprintf("append event %d of job %s", e.Seq, e.JobID))
		}
		if last == nil {
			last = make(map[string]int, 1)
		}
		last[e.JobID] = max(last[e.JobID], e.Seq)
	}
	return nil
}

// Events returns the events of job with Seq > afterSeq, in Seq order. Pass
// the last Seq seen to follow a running job. A job without events (or
// unknown) gives an empty list.
func (db *DB) Events(ctx context.Context, jobID string, afterSeq int) ([]agents.JobEvent, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT seq, time, kind, data FROM job_events
		WHERE job_id = ? AND seq > ? ORDER BY seq`, jobID, afterSeq)
	if err != nil {
		return nil, fmt.Errorf("events of job %s: %w", jobID, err)
	}
	return scanEvents(rows, jobID)
}

// EventPage selects a page of a job's events: those with After < seq <
// Before (Before 0: no upper bound), at most Limit of them (Limit must be
// positive): the newest such when Newest is set, else the oldest.
type EventPage struct {
	After, Before, Limit int
	Newest               bool
}

// EventsPage returns one page of job jobID's events (see EventPage), in
// seq order, reading only that page from the database.
func (db *DB) EventsPage(ctx context.Context, jobID string, p EventPage) ([]agents.JobEvent, error) {
	if p.Limit <= 0 {
		return nil, fmt.Errorf("events of job %s: page limit %d is not positive", jobID, p.Limit)
	}
	before := int64(p.Before)
	if p.Before <= 0 {
		before = math.MaxInt64
	}
	order := "ASC"
	if p.Newest {
		order = "DESC"
	}
	rows, err := db.r.QueryContext(ctx, `SELECT seq, time, kind, data FROM job_events
		WHERE job_id = ? AND seq > ? AND seq < ? ORDER BY seq `+order+` LIMIT ?`, jobID, p.After, before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("events of job %s: %w", jobID, err)
	}
	out, err := scanEvents(rows, jobID)
	if p.Newest {
		slices.Reverse(out)
	}
	return out, err
}

func scanEvents(rows *sql.Rows, jobID string) ([]agents.JobEvent, error) {
	defer rows.Close()
	var out []agents.JobEvent
	for rows.Next() {
		e := agents.JobEvent{JobID: jobID}
		var t sql.NullInt64
		var data []byte
		if err := rows.Scan(&e.Seq, &t, &e.Kind, &data); err != nil {
			return nil, fmt.Errorf("events of job %s: %w", jobID, err)
		}
		e.Time = fromMS(t)
		if data != nil {
			e.Data = json.RawMessage(data)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events of job %s: %w", jobID, err)
	}
	return out, nil
}
