package store

import (
	"context"
	"fmt"

	"github.com/herdbot/herdbot/agents"
)

// FinishJob records the end of job j in one write transaction: it appends
// evs (as AppendEvents does, numbering events with Seq 0), replaces the job
// row (as UpdateJob does) and, when conv is not nil, creates or replaces the
// conversation (as PutConversation does). It is all or none: an event that
// cannot be stored leaves the job row and the conversation as they were.
// Validation and errors are those of the three methods; nothing is written
// when any argument is invalid.
//
// It saves two of the three write transactions at the end of every run.
func (db *DB) FinishJob(ctx context.Context, j agents.Job, evs []agents.JobEvent, conv *agents.Conversation) error {
	if err := checkJob(j); err != nil {
		return fmt.Errorf("update job: %w", err)
	}
	if err := checkEvents(evs); err != nil {
		return err
	}
	if conv != nil {
		if err := checkConversation(*conv); err != nil {
			return err
		}
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish job %s: %w", j.ID, err)
	}
	defer tx.Rollback()
	if err := db.appendEvents(ctx, tx, evs); err != nil {
		return err
	}
	if err := db.updateJob(ctx, tx, j); err != nil {
		return err
	}
	if conv != nil {
		if err := db.putConversation(ctx, tx, *conv); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish job %s: commit: %w", j.ID, err)
	}
	return nil
}
