package agents

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/bot"
)

// bindStore is the part of Store the broker's decision path uses, over one
// approval row; the real store's compare-and-set is tested in store.
type bindStore struct {
	Store
	mu        sync.Mutex
	row       Approval
	decided   int
	audit     []AuditEntry
	failAudit error // Audit fails with it
}

func (s *bindStore) DecideApproval(_ context.Context, id string, status Verdict, by, reason string, at time.Time) (Approval, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.row.Status != Pending {
		return s.row, ErrNotPending
	}
	s.decided++
	s.row.Status, s.row.DecidedBy, s.row.Reason, s.row.DecidedAt = status, by, reason, at
	return s.row, nil
}

func (s *bindStore) Audit(_ context.Context, e AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAudit != nil {
		return s.failAudit
	}
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
		Status: Pending, Expires: time.Now().Add(time.Hour)}}
	f := &Fleet{cfg: Config{Store: st}, jobs: st, approvalRows: st, auditLog: st, log: slog.New(slog.DiscardHandler), red: redact.New(),
		clock: clockwork.NewRealClock(), timers: newTimerSet(clockwork.NewRealClock())}
	b := newBroker(f)
	c := &recConn{}
	a := newAgentState(AgentSpec{Name: "garden"})
	rs := &runState{f: f, a: a, job: Job{ID: "j", SessionID: "s"}, conn: c, pending: map[string]string{"r": "A"}}
	b.pending["A"] = &pendingApproval{rs: rs, req: PermissionRequest{RequestID: "r", ToolName: "Bash", Input: pending},
		row: st.row, timer: f.timers.after(time.Hour, func() {})}
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
	if _, err := b.decide(context.Background(), st.row, Allowed, "discord:1", "alice", ""); !errors.Is(err, errInputChanged) {
		t.Fatalf("decide = %v, want errInputChanged", err)
	}
	if st.decided != 0 || len(c.decisions) != 0 || len(st.audit) != 1 || st.audit[0].Action != "approval.refused_input_changed" {
		t.Fatalf("decided %d, decisions %+v, audit %+v", st.decided, c.decisions, st.audit)
	}
	// A deny needs no hash.
	if _, err := b.decide(context.Background(), st.row, Denied, "discord:1", "alice", ""); err != nil {
		t.Fatal(err)
	}
	if len(c.decisions) != 1 || c.decisions[0].Verdict != Denied {
		t.Fatalf("decisions %+v", c.decisions)
	}

	// Matching input: allowed with exactly that input; a session grant is
	// kept for that hash only.
	b, st, c, a := bindRig(t, shown, shown)
	if _, err := b.decide(context.Background(), st.row, AllowedSession, "discord:1", "alice", ""); err != nil {
		t.Fatal(err)
	}
	if len(c.decisions) != 1 || c.decisions[0].Verdict != Allowed || string(c.decisions[0].Input) != string(shown) {
		t.Fatalf("decisions %+v", c.decisions)
	}
	if _, ok := a.grants.lookup("s", grant{tool: "Bash", hash: InputHash(shown)}, time.Now()); !ok {
		t.Fatal("no session grant for the approved input")
	}

	// The loser of a race is told and audited.
	if _, err := b.decide(context.Background(), st.row, Denied, "cli:op", "op", ""); !errors.Is(err, ErrNotPending) {
		t.Fatalf("second decide = %v, want ErrNotPending", err)
	}
	if last := st.audit[len(st.audit)-1]; last.Action != "approval.lost" || last.Actor != "cli:op" {
		t.Fatalf("audit %+v", st.audit)
	}
}

// TestAllowBindsToTheShownInput: the check compares the input the card
// showed (the stored row's Input, masked, and its hash) with the input the
// process waits with, not a hash with itself: a row whose hash is the
// pending input's but that shows another input is refused, and so is one
// that shows the input but carries another hash; a row that shows the
// pending input with its secrets masked (as request stores it) is
// allowed, and the process gets the real input.
func TestAllowBindsToTheShownInput(t *testing.T) {
	secret := "garden-token-0123456789abcdef"
	real := json.RawMessage(`{"command":"curl -H 'token: ` + secret + `' https://example.org"}`)
	for _, tc := range []struct {
		name  string
		shown Approval
		allow bool
	}{
		{"the hash of the pending input, another input shown", Approval{Input: json.RawMessage(`{"command":"ls"}`), InputHash: InputHash(real)}, false},
		{"the pending input shown, another hash", Approval{Input: redact.New(secret).Bytes(real), InputHash: InputHash(json.RawMessage(`{"command":"ls"}`))}, false},
		{"the pending input shown unmasked", Approval{Input: real, InputHash: InputHash(real)}, false},
		{"the pending input shown masked", Approval{Input: redact.New(secret).Bytes(real), InputHash: InputHash(real)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, st, c, _ := bindRig(t, real, real)
			b.f.red = redact.New(secret)
			st.row.Input, st.row.InputHash = tc.shown.Input, tc.shown.InputHash
			_, err := b.decide(context.Background(), st.row, Allowed, "discord:1", "alice", "")
			if !tc.allow {
				if !errors.Is(err, errInputChanged) || st.decided != 0 || len(c.decisions) != 0 {
					t.Fatalf("decide = %v, decided %d, decisions %+v; want refused, nothing stored or answered", err, st.decided, c.decisions)
				}
				return
			}
			if err != nil || len(c.decisions) != 1 || c.decisions[0].Verdict != Allowed || string(c.decisions[0].Input) != string(real) {
				t.Fatalf("decide = %v, decisions %+v; want one allow with the real input", err, c.decisions)
			}
		})
	}
}

// lossCounter counts lost records.
type lossCounter struct {
	Metrics
	mu   sync.Mutex
	lost map[string]int
}

func (m *lossCounter) RecordLost(record string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lost[record]++
}

func (m *lossCounter) ApprovalDecided(string, string, time.Duration) {}

// TestLostAuditRowIsLoggedAndCounted: a decision whose audit row the store
// does not take still decides, and the lost row is logged and counted.
func TestLostAuditRowIsLoggedAndCounted(t *testing.T) {
	shown := json.RawMessage(`{"command":"ls"}`)
	b, st, c, _ := bindRig(t, shown, shown)
	var logs strings.Builder
	met := &lossCounter{lost: map[string]int{}}
	b.f.log = slog.New(slog.NewTextHandler(&logs, nil))
	b.f.cfg.Metrics = met
	st.failAudit = errors.New("disk full")
	if _, err := b.decide(context.Background(), st.row, Allowed, "discord:1", "alice", ""); err != nil {
		t.Fatal(err)
	}
	if len(c.decisions) != 1 || c.decisions[0].Verdict != Allowed {
		t.Fatalf("decisions %+v: the decision must not depend on its audit row", c.decisions)
	}
	if met.lost["audit"] != 1 {
		t.Fatalf("lost records counted %v, want one audit row", met.lost)
	}
	if !strings.Contains(logs.String(), `level=ERROR msg="record lost: the store did not take it" record=audit err="disk full" action=approval.decided`) {
		t.Fatalf("log:\n%s", logs.String())
	}
}

// postingStore's first Approval read returns the row before the card's ref
// is stored, and the post finishes while that read is under way: the ref
// is stored and posting ends (what request does once Send returns).
type postingStore struct {
	Store
	b     *broker
	row   Approval
	refs  string
	reads int
}

func (s *postingStore) Approval(_ context.Context, id string) (Approval, error) {
	s.reads++
	row := s.row
	if s.reads == 1 {
		s.row.Refs = s.refs
		s.b.mu.Lock()
		posted := s.b.posting[id]
		delete(s.b.posting, id)
		s.b.mu.Unlock()
		close(posted)
	}
	return row, nil
}

// TestClickWhileTheCardsRefIsStored: a click on a card whose post ends
// between the click's read of the approval and its look at what is being
// posted is on the card (it was refused as a foreign card: 1 run in ~30 of
// TestFleetSessionGrantIsExact under load).
func TestClickWhileTheCardsRefIsStored(t *testing.T) {
	ref := bot.MessageRef{Target: bot.Target{Platform: "discord", Space: "g", Channel: "c"}, ID: "m1"}
	refs, err := json.Marshal([]bot.MessageRef{ref})
	if err != nil {
		t.Fatal(err)
	}
	st := &postingStore{row: Approval{ID: "A", Agent: "garden", Status: Pending}, refs: string(refs)}
	f := &Fleet{cfg: Config{Store: st}, approvalRows: st, log: slog.New(slog.DiscardHandler), red: redact.New(),
		clock: clockwork.NewRealClock(), timers: newTimerSet(clockwork.NewRealClock())}
	b := newBroker(f)
	st.b = b
	b.posting["A"] = make(chan struct{})
	if !b.onCard(t.Context(), "A", ref) {
		t.Fatal("a click on the approval's own card was refused")
	}
	other := ref
	other.ID = "m2"
	if b.onCard(t.Context(), "A", other) {
		t.Fatal("a click on another message was taken as the card")
	}
}
