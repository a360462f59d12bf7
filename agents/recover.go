package agents

import (
	"context"
	"errors"
	"fmt"

	"github.com/herdbot/herdbot/bot"
)

// Recover runs once at start, before Serve: jobs a previous process left
// queued or running become interrupted, their conversations are told, and
// pending approvals expire ("herdbot restarted") with their cards edited.
func (f *Fleet) Recover(ctx context.Context) error {
	jobs, err := f.jobs.InterruptRunning(ctx, "interrupted: herdbot restarted", f.now())
	if err != nil {
		return fmt.Errorf("interrupt stale jobs: %w", err)
	}
	pending, err := f.approvalRows.Approvals(ctx, "", true, 0)
	if err != nil {
		return fmt.Errorf("list pending approvals: %w", err)
	}
	for _, a := range pending {
		row, err := f.approvalRows.DecideApproval(ctx, a.ID, Expired, "herdbot", "expired (herdbot restarted)", f.now())
		if errors.Is(err, ErrNotPending) {
			continue // decided meanwhile
		}
		if err != nil {
			f.lost("approval_settle", err, "approval", a.ID, "status", Expired)
			continue
		}
		f.approvals.editCards(ctx, row)
		f.audit(ctx, AuditEntry{Time: f.now(), Agent: a.Agent, Actor: "herdbot",
			Action: "approval.expired_restart", Subject: a.ID})
	}
	for _, j := range jobs {
		f.audit(ctx, AuditEntry{Time: f.now(), Agent: j.Agent, Actor: "herdbot",
			Action: "job.interrupted_restart", Subject: j.ID})
		a, err := f.agent(j.Agent)
		if err != nil || j.Conversation == "" {
			continue
		}
		t, err := bot.ParseKey(j.Conversation)
		if err != nil {
			continue
		}
		f.say(ctx, a, t, fmt.Sprintf("⚠️ herdbot restarted while job %s was running; it was interrupted. Send your message again to continue.", j.ID))
	}
	if len(jobs)+len(pending) > 0 {
		f.log.Warn("recovered after restart", "interrupted_jobs", len(jobs), "expired_approvals", len(pending))
	}
	return nil
}
