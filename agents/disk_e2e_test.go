package agents_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
)

// TestDiskFillIsStoppedThenRefused: the real CLI (native backend) runs a
// pre-approved Bash command that writes 32 MiB past an 8 MiB limit, into
// the workspace or into HOME; the disk watcher stops the run, the next run
// is refused with the use and the limit, and the audit, the metrics and
// the store say so. The same attack from inside a real container is in
// sandbox/docker.
func TestDiskFillIsStoppedThenRefused(t *testing.T) {
	for _, tc := range []struct{ name, command string }{
		{"Workspace", "head -c 33554432 /dev/zero > big.bin && echo written"},
		{"Home", `head -c 33554432 /dev/zero > "$HOME/big.bin" && echo written`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agentstest.NewDiskFill(tc.command, "workspace and HOME", 8<<20).Run(t, agentstest.Options{})
		})
	}
}

// TestDiskLimitRefusesEveryKindOfRun: over the limit, a scheduled (silent)
// run is refused with the reason in its error and job row and posts
// nothing; a run with chat output says why in chat; once space is freed
// the next run goes ahead.
func TestDiskLimitRefusesEveryKindOfRun(t *testing.T) {
	hub := console.New("alice", nil)
	lines, unsub := hub.Subscribe()
	defer unsub()
	r := agentstest.Start(t, agentstest.Options{
		FakeCLI: fakecli.ModeEcho, LogOutput: io.Discard,
		Chats: []agentstest.Chat{{Platform: bot.Console, Adapter: hub.For(agentName)}},
		Spec:  func(s *agents.AgentSpec) { s.DiskLimit = 1 << 20 },
	})
	agentstest.WaitConsole(t, hub, agentName)
	for len(lines) > 0 {
		<-lines
	}
	big := filepath.Join(r.Workspace, "big.bin")
	if err := os.WriteFile(big, make([]byte, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := r.Fleet.Run(ctx, agents.RunRequest{Agent: agentName, Prompt: "report", Trigger: agents.TriggerSchedule,
		Schedule: "nightly", Target: console.Target, Silent: true})
	if !errors.Is(err, agents.ErrDiskLimit) || res.Job.Status != agents.JobFailed || !strings.HasPrefix(res.Job.Error, "refused because garden's workspace and HOME take 2") {
		t.Fatalf("silent run: %v, job %+v", err, res.Job)
	}
	if len(lines) != 0 {
		t.Fatalf("a silent refused run posted %q", (<-lines).Text)
	}
	_, err = r.Fleet.Run(ctx, agents.RunRequest{Agent: agentName, Prompt: "report", Trigger: agents.TriggerCLI, Target: console.Target})
	if !errors.Is(err, agents.ErrDiskLimit) {
		t.Fatalf("run with output: %v", err)
	}
	if l := <-lines; !strings.HasPrefix(l.Text, "🛑 Refused because garden's workspace and HOME take 2") {
		t.Fatalf("chat: %q", l.Text)
	}
	if err := os.Remove(big); err != nil {
		t.Fatal(err)
	}
	res, err = r.Fleet.Run(ctx, agents.RunRequest{Agent: agentName, Prompt: "report", Trigger: agents.TriggerSchedule, Silent: true})
	if err != nil || res.Job.Status != agents.JobSucceeded {
		t.Fatalf("after freeing space: %v, job %+v", err, res.Job)
	}
}
