package agents

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents/redact"
)

// bindStore is the part of Store the broker's decision path uses, over one
// approval row; the real store's compare-and-set is tested in store.
type bindStore struct {
	Store
	mu      sync.Mutex
	row     Approval
	decided int
	audit   []AuditEntry
}

func (s *bindStore) DecideApproval(_ context.Context, id string, status ApprovalStatus, by, reason string, at time.Time) (Approval, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.row.Status != ApprovalPending {
		return s.row, ErrNotPending
	}
	s.decided++
	s.row.Status, s.row.DecidedBy, s.row.Reason, s.row.DecidedAt = status, by, reason, at
	return s.row, nil
}

func (s *bindStore) Audit(_ context.Context, e AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audit = append(s.audit, e)
	return nil
}

func (s *bindStore) AppendEvents(context.Context, []JobEvent) error { return nil }

// recConn records the decisions it is given.
type recConn struct {
	Conn
	mu        sync.Mutex
	decisions []Decision
}

func (c *recConn) Decide(_ context.Context, _ string, d Decision) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.decisions = append(c.decisions, d)
	return nil
}

func bindRig(t *testing.T, pending, stored json.RawMessage) (*broker, *bindStore, *recConn, *agentState) {
	t.Helper()
	st := &bindStore{row: Approval{ID: "A", Agent: "garden", Tool: "Bash", Input: stored, InputHash: InputHash(stored),
		Status: ApprovalPending, Expires: time.Now().Add(time.Hour)}}
	f := &Fleet{cfg: Config{Store: st}, jobs: st, approvalRows: st, auditLog: st, log: slog.New(slog.DiscardHandler), red: redact.New(), now: time.Now}
	b := newBroker(f)
	c := &recConn{}
	a := newAgentState(AgentSpec{Name: "garden"})
	rs := &runState{f: f, a: a, job: Job{ID: "j", SessionID: "s"}, conn: c, pending: map[string]string{"r": "A"}}
	b.pending["A"] = &pendingApproval{rs: rs, req: PermissionRequest{RequestID: "r", ToolName: "Bash", Input: pending},
		row: st.row, timer: time.NewTimer(time.Hour)}
	return b, st, c, a
}

// TestAllowBindsToTheShownHash: an allow goes through only when the input
// waiting in the process has the hash of the row the decider saw; the tool
// is then given exactly that input.
func TestAllowBindsToTheShownHash(t *testing.T) {
	shown := json.RawMessage(`{"command":"ls"}`)
	other := json.RawMessage(`{"command":"rm -rf ~"}`)

	// The process waits with another input than the card showed: refused,
	// nothing stored, nothing answered, audited.
	b, st, c, _ := bindRig(t, other, shown)
	if _, err := b.decide(context.Background(), st.row, ApprovalAllowed, "discord:1", "alice", ""); !errors.Is(err, errInputChanged) {
		t.Fatalf("decide = %v, want errInputChanged", err)
	}
	if st.decided != 0 || len(c.decisions) != 0 || len(st.audit) != 1 || st.audit[0].Action != "approval.refused_input_changed" {
		t.Fatalf("decided %d, decisions %+v, audit %+v", st.decided, c.decisions, st.audit)
	}
	// A deny needs no hash.
	if _, err := b.decide(context.Background(), st.row, ApprovalDenied, "discord:1", "alice", ""); err != nil {
		t.Fatal(err)
	}
	if len(c.decisions) != 1 || c.decisions[0].Behavior != Deny {
		t.Fatalf("decisions %+v", c.decisions)
	}

	// Matching input: allowed with exactly that input; a session grant is
	// kept for that hash only.
	b, st, c, a := bindRig(t, shown, shown)
	if _, err := b.decide(context.Background(), st.row, ApprovalAllowSession, "discord:1", "alice", ""); err != nil {
		t.Fatal(err)
	}
	if len(c.decisions) != 1 || c.decisions[0].Behavior != Allow || string(c.decisions[0].Input) != string(shown) {
		t.Fatalf("decisions %+v", c.decisions)
	}
	if _, ok := a.grants.lookup("s", grant{tool: "Bash", hash: InputHash(shown)}, time.Now()); !ok {
		t.Fatal("no session grant for the approved input")
	}

	// The loser of a race is told and audited.
	if _, err := b.decide(context.Background(), st.row, ApprovalDenied, "cli:op", "op", ""); !errors.Is(err, ErrNotPending) {
		t.Fatalf("second decide = %v, want ErrNotPending", err)
	}
	if last := st.audit[len(st.audit)-1]; last.Action != "approval.lost" || last.Actor != "cli:op" {
		t.Fatalf("audit %+v", st.audit)
	}
}
