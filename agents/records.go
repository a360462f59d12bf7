package agents

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound is returned by a Store when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrNotPending is returned by Store.DecideApproval when the approval was
// already decided or expired; the current row is returned alongside.
var ErrNotPending = errors.New("approval is no longer pending")

// JobStatus is the state of a job.
type JobStatus string

// Job states. Every job ends in one of the final states; a restart turns
// JobRunning and JobQueued into JobInterrupted.
const (
	JobQueued      JobStatus = "queued"
	JobRunning     JobStatus = "running"
	JobSucceeded   JobStatus = "succeeded"
	JobFailed      JobStatus = "failed"
	JobInterrupted JobStatus = "interrupted"
	JobCancelled   JobStatus = "cancelled"
	JobTimedOut    JobStatus = "timed_out"
)

// Final reports whether s is an end state.
func (s JobStatus) Final() bool { return s != JobQueued && s != JobRunning }

// Job is one run of an agent.
type Job struct {
	ID           string
	Agent        string
	Trigger      string // chat, schedule, cli, webhook
	Schedule     string // schedule name for Trigger schedule/webhook
	Conversation string // conversation key (bot.Target.Key())
	Prompt       string
	Status       JobStatus
	SessionID    string
	Started      time.Time
	Finished     time.Time // zero while not final
	CostUSD      float64
	Turns        int
	Error        string // readable reason for a non-success end
}

// JobEvent is one item of a job's transcript.
type JobEvent struct {
	JobID string
	Seq   int // 1-based, increasing per job
	Time  time.Time
	Kind  string // an EventKind, or a herdbot kind (prompt, approval, error, …)
	Data  json.RawMessage
}

// Conversation binds a conversation to the agent CLI's session id.
type Conversation struct {
	Agent      string
	Key        string
	SessionID  string
	LastActive time.Time
}

// Approval is a tool-use request waiting for (or given) a person's decision.
type Approval struct {
	ID           string // unguessable; carried in button ids
	JobID        string
	Agent        string
	Conversation string // where the card is shown (conversation key)
	RequestID    string // the CLI's control request id
	Tool         string
	Input        json.RawMessage // redacted tool input
	InputHash    string          // sha256 of the exact tool input
	Status       Verdict
	Requested    time.Time
	Expires      time.Time
	DecidedBy    string
	DecidedAt    time.Time
	Reason       string // deny reason, expiry reason
	Refs         string // JSON: chat message refs of the card(s), for later edits and click binding
	RequestedBy  string // who started the run that asked (display name), "" for runs without a person
}

// AuditEntry is one row of the audit trail.
type AuditEntry struct {
	Time    time.Time
	Agent   string
	Actor   string // user id, "herdbot", "schedule:NAME", …
	Action  string // approval.requested, approval.decided, job.cancelled, egress.denied, …
	Subject string // approval id, job id, host:port …
	Detail  string // JSON or text, already redacted
}

// ScheduleState is the persisted state of one schedule.
type ScheduleState struct {
	Agent      string
	Name       string
	LastRun    time.Time
	NextRun    time.Time
	LastStatus string
	LastJob    string
}

// JobFilter selects jobs.
type JobFilter struct {
	Agent  string
	Status JobStatus
	Limit  int // 0 = store default (100)
}

// JobStore records runs as jobs with their transcripts. The fleet's runs
// use it; Recover settles what a previous process left running.
type JobStore interface {
	// CreateJob writes a new job row (queued or running).
	CreateJob(ctx context.Context, j Job) error
	// UpdateJob replaces a job row; ErrNotFound if there is none.
	UpdateJob(ctx context.Context, j Job) error
	// AppendEvents adds transcript events, all or none.
	AppendEvents(ctx context.Context, evs []JobEvent) error
	// FinishJob records a job's end in one transaction, all or none: the
	// last events, the final row and, when conv is not nil, the
	// conversation's session (as PutConversation would). ErrNotFound if
	// the job row is gone.
	FinishJob(ctx context.Context, j Job, evs []JobEvent, conv *Conversation) error
	// InterruptRunning marks every queued or running job interrupted with
	// reason and returns them.
	InterruptRunning(ctx context.Context, reason string, at time.Time) ([]Job, error)
	// Closed reports whether the store was closed: no write can succeed
	// any more, so a failed write is not retried.
	Closed() bool
}

// ConversationStore binds conversations to the CLI's sessions.
type ConversationStore interface {
	// Conversation returns agent's conversation key; ErrNotFound if none.
	Conversation(ctx context.Context, agent, key string) (Conversation, error)
	DeleteConversation(ctx context.Context, agent, key string) error
	Conversations(ctx context.Context, agent string) ([]Conversation, error)
}

// ApprovalStore holds approval requests: rows first, so that a decision,
// an expiry or a restart all go through the same compare-and-set.
type ApprovalStore interface {
	CreateApproval(ctx context.Context, a Approval) error
	// Approval returns approval id; ErrNotFound if there is none.
	Approval(ctx context.Context, id string) (Approval, error)
	// DecideApproval moves a pending approval to status. If it is not
	// pending it returns the current row and ErrNotPending.
	DecideApproval(ctx context.Context, id string, status Verdict, by, reason string, at time.Time) (Approval, error)
	// SetApprovalRefs stores the chat messages of the approval's cards
	// (JSON), for later edits and to bind clicks to them.
	SetApprovalRefs(ctx context.Context, id, refs string) error
	// Approvals lists agent's approvals ("" = every agent's), newest
	// first; pendingOnly keeps the pending ones; limit 0 = no limit.
	Approvals(ctx context.Context, agent string, pendingOnly bool, limit int) ([]Approval, error)
}

// SpendQuery selects jobs whose cost is summed: Agent's jobs started at
// or after Since, of one conversation and one session when those are set.
type SpendQuery struct {
	Agent        string
	Since        time.Time
	Conversation string // "" = any
	// WithThreads counts the threads of Conversation (keys that extend it
	// with ":thread") too.
	WithThreads bool
	SessionID   string // "" = any
}

// SpendStore sums what runs cost.
type SpendStore interface {
	// Spend sums the cost of the jobs q selects, in US dollars. A job's
	// cost counts from its start; a job's cost stays counted after its
	// row is pruned (agent-wide queries only).
	Spend(ctx context.Context, q SpendQuery) (float64, error)
}

// ModelChoice is the model an approver chose for a conversation (/model).
type ModelChoice struct {
	Model string
	SetBy string // display name of who chose it
	SetAt time.Time
}

// ModelStore holds the models chosen for conversations.
type ModelStore interface {
	// ConversationModel returns agent's choice for conversation key;
	// ErrNotFound if none.
	ConversationModel(ctx context.Context, agent, key string) (ModelChoice, error)
	// SetConversationModel records it; an empty Model forgets it.
	SetConversationModel(ctx context.Context, agent, key string, m ModelChoice) error
}

// AuditLog is the audit trail.
type AuditLog interface {
	Audit(ctx context.Context, e AuditEntry) error
}

// Store is every store the fleet uses; store.DB implements it. Each part
// of the fleet holds only the interfaces it needs.
type Store interface {
	JobStore
	ConversationStore
	ApprovalStore
	AuditLog
	SpendStore
	ModelStore
}
