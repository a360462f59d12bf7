package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herdbot/herdbot/agents"
)

const scheduleColumns = `agent, name, last_run, next_run, last_status, last_job`

func scanSchedule(s rowScanner) (agents.ScheduleState, error) {
	var st agents.ScheduleState
	var last, next sql.NullInt64
	if err := s.Scan(&st.Agent, &st.Name, &last, &next, &st.LastStatus, &st.LastJob); err != nil {
		return agents.ScheduleState{}, err
	}
	st.LastRun, st.NextRun = fromMS(last), fromMS(next)
	return st, nil
}

// ScheduleState returns the state of agent's schedule name, or
// agents.ErrNotFound when it never ran nor was planned.
func (db *DB) ScheduleState(ctx context.Context, agent, name string) (agents.ScheduleState, error) {
	st, err := scanSchedule(db.r.QueryRowContext(ctx, `SELECT `+scheduleColumns+` FROM schedules
		WHERE agent = ? AND name = ?`, agent, name))
	if err != nil {
		return agents.ScheduleState{}, notFound(err, fmt.Sprintf("schedule %s/%s", agent, name))
	}
	return st, nil
}

// PutScheduleState creates or replaces the state of schedule (s.Agent, s.Name).
func (db *DB) PutScheduleState(ctx context.Context, s agents.ScheduleState) error {
	if s.Agent == "" || s.Name == "" {
		return errors.New("put schedule state: agent and name are required")
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO schedules (`+scheduleColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (agent, name) DO UPDATE SET last_run = excluded.last_run, next_run = excluded.next_run,
			last_status = excluded.last_status, last_job = excluded.last_job`,
		s.Agent, s.Name, ms(s.LastRun), ms(s.NextRun), s.LastStatus, s.LastJob)
	if err != nil {
		return fmt.Errorf("put schedule state %s/%s: %w", s.Agent, s.Name, err)
	}
	return nil
}

// ScheduleStates lists every schedule's state, by agent and name.
func (db *DB) ScheduleStates(ctx context.Context) ([]agents.ScheduleState, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+scheduleColumns+` FROM schedules ORDER BY agent, name`)
	if err != nil {
		return nil, fmt.Errorf("list schedule states: %w", err)
	}
	defer rows.Close()
	var out []agents.ScheduleState
	for rows.Next() {
		st, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("list schedule states: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list schedule states: %w", err)
	}
	return out, nil
}

// ClaimSlot records that agent's schedule name runs for slot and reports
// whether this call claimed it: true exactly once per (agent, name, slot),
// across goroutines, processes and restarts. Slots are compared at
// millisecond precision.
func (db *DB) ClaimSlot(ctx context.Context, agent, name string, slot time.Time) (bool, error) {
	if agent == "" || name == "" || slot.IsZero() {
		return false, errors.New("claim slot: agent, name and a non-zero slot are required")
	}
	res, err := db.w.ExecContext(ctx, `INSERT INTO schedule_slots (agent, name, slot, claimed) VALUES (?, ?, ?, ?)
		ON CONFLICT (agent, name, slot) DO NOTHING`, agent, name, slot.UnixMilli(), time.Now().UnixMilli())
	if err != nil {
		return false, fmt.Errorf("claim slot %s/%s %s: %w", agent, name, slot.UTC().Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim slot %s/%s: %w", agent, name, err)
	}
	return n == 1, nil
}

// PruneSlots forgets claimed slots before before and returns how many it
// deleted. A forgotten slot could be claimed again, so pass a time older
// than any slot the scheduler may still try (e.g. its catch-up window).
func (db *DB) PruneSlots(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM schedule_slots WHERE slot < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune schedule slots: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune schedule slots: %w", err)
	}
	return n, nil
}
