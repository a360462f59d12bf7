package agents_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/internal/testenv"
	"github.com/herdbot/herdbot/sandbox/native"
	"github.com/herdbot/herdbot/store"
)

// decideOnCreate is the real store, and someone who decides an approval
// the moment its row is stored (as a fast click on the web dashboard's
// approvals page can).
type decideOnCreate struct {
	*store.DB
	fleet   atomic.Pointer[agents.Fleet]
	decided atomic.Int32
}

func (s *decideOnCreate) CreateApproval(ctx context.Context, a agents.Approval) error {
	if err := s.DB.CreateApproval(ctx, a); err != nil {
		return err
	}
	if _, err := s.fleet.Load().Decide(ctx, a.ID, bot.ChoiceOnce, "test", ""); err == nil {
		s.decided.Add(1)
	}
	return nil
}

// TestApprovalDecidedAsSoonAsStoredAnswersTheRun: a decision made right
// after the approval's row is stored reaches the waiting CLI (it used to
// settle the row but answer nothing, and the run waited for its timeout).
func TestApprovalDecidedAsSoonAsStoredAnswersTheRun(t *testing.T) {
	bin := testenv.RequireClaude(t)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	model := claudetest.NewModelServer(t, claudetest.Script(claudetest.Bash("touch decided.txt", "create a file"), claudetest.Text("made it")))
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "herdbot.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &decideOnCreate{DB: db}
	ws := t.TempDir()
	f, err := agents.New(agents.Config{Fleet: "test", Store: st, Backend: native.New(log), Log: log, Grace: agentstest.Grace,
		Runtime: claude.New(claude.Config{Binary: bin, Log: log}),
		Agents: []agents.AgentSpec{{Name: "garden", Options: agents.RunOptions{PermissionMode: "default"},
			Sandbox: agentstest.Sandbox(ws, t.TempDir(), model.URL), ApprovalTimeout: time.Minute, RunTimeout: 2 * time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	st.fleet.Store(f)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// A CLI run with no chat waits for `herdbot approve` (or the web).
	res, err := f.Run(context.Background(), agents.RunRequest{Agent: "garden", Prompt: "create the file", Trigger: agents.TriggerCLI})
	if err != nil {
		t.Fatal(err)
	}
	if st.decided.Load() != 1 || res.Job.Status != agents.JobSucceeded || res.Text != "made it" {
		t.Fatalf("decided %d; job %+v, text %q", st.decided.Load(), res.Job, res.Text)
	}
	if _, err := os.Stat(filepath.Join(ws, "decided.txt")); err != nil {
		t.Fatalf("the allowed tool did not run: %v", err)
	}
}
