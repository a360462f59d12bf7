package agents

import "github.com/herdbot/herdbot/bot"

// Triggers: what started a job.
const (
	TriggerChat     = "chat"
	TriggerSchedule = "schedule"
	TriggerWebhook  = "webhook"
	TriggerCLI      = "cli"
)

// RunRequest asks the fleet for one run of an agent outside a chat
// conversation (schedules, webhooks, the CLI). Fleet.Run blocks until the run
// ends; it waits for a slot under the agent's concurrency cap first.
type RunRequest struct {
	Agent    string
	Prompt   string
	Trigger  string // TriggerSchedule, TriggerWebhook, TriggerCLI
	Schedule string // schedule or webhook name, for the job row
	// Target is where approval cards go (and, unless Silent, progress and
	// the answer). The zero Target means no chat: approvals are denied at
	// once because no approver can be reached.
	Target bot.Target
	// Silent posts nothing but approval cards; the caller posts the
	// result itself (schedules post a report).
	Silent bool
	// Resume continues the session of Target's conversation; otherwise
	// the run starts a fresh session.
	Resume bool
	// JobID, when set, is the id the job gets (so a caller can return it
	// before the run ends); otherwise one is made.
	JobID string
	// Stored, when set, receives the job once its row is written, before
	// the run starts (or waits for a slot): a caller that answers before
	// the run ends says "started" only then. Nothing is sent when the row
	// cannot be written (Run then returns that error). It must have room
	// for one value (the send does not wait).
	Stored chan<- Job
}

// RunResult is the outcome of a RunRequest.
type RunResult struct {
	Job  Job    // the final job row (status, cost, turns, times, error)
	Text string // the agent's final answer (redacted)
	// Denied lists tools that were denied because no approver could be
	// reached, so a report can say so.
	Denied []string
}
