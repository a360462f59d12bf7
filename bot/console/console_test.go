package console

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/herdbot/herdbot/bot"
)

// recorder is a bot.Handler that records what the console delivers.
type recorder struct {
	mu       sync.Mutex
	messages []bot.Inbound
	commands []bot.Command
	actions  []bot.Action
}

func (r *recorder) HandleMessage(_ context.Context, in bot.Inbound) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.messages = append(r.messages, in)
}

func (r *recorder) HandleCommand(_ context.Context, c bot.Command) bot.Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commands = append(r.commands, c)
	return bot.Reply{Message: bot.Message{Text: "ok " + c.Name}}
}

func (r *recorder) HandleAction(_ context.Context, a bot.Action) bot.ActionResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.actions = append(r.actions, a)
	return bot.ActionResult{Notice: "decided"}
}

func register(t *testing.T, h *Hub, agent string, rec *recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.For(agent).Run(ctx, rec) }()
	t.Cleanup(func() { cancel(); <-done })
	for {
		h.mu.Lock()
		_, ok := h.handlers[agent]
		h.mu.Unlock()
		if ok {
			return
		}
	}
}

func TestConsoleRoutesInput(t *testing.T) {
	var out bytes.Buffer
	h := New("alice", &out)
	garden, homelab := &recorder{}, &recorder{}
	register(t, h, "garden", garden)
	register(t, h, "homelab", homelab)
	ctx := context.Background()

	in := strings.NewReader("hello garden\n@homelab check the vms\n/status\n/approve ABC once\n/approve bad\n@nobody hi\n")
	if err := h.ReadFrom(ctx, in); err != nil {
		t.Fatal(err)
	}
	if len(garden.messages) != 1 || garden.messages[0].Text != "hello garden" || garden.messages[0].User.ID != "alice" {
		t.Fatalf("garden messages: %+v", garden.messages)
	}
	if garden.messages[0].Target != Target {
		t.Fatalf("target %+v, want %+v", garden.messages[0].Target, Target)
	}
	if len(homelab.messages) != 1 || homelab.messages[0].Text != "check the vms" {
		t.Fatalf("homelab messages: %+v", homelab.messages)
	}
	// @homelab made homelab current: the command and the approval go there.
	if len(homelab.commands) != 1 || homelab.commands[0].Name != "status" {
		t.Fatalf("homelab commands: %+v", homelab.commands)
	}
	if len(homelab.actions) != 1 || homelab.actions[0].ApprovalID != "ABC" || homelab.actions[0].Choice != "once" {
		t.Fatalf("homelab actions: %+v", homelab.actions)
	}
	for _, want := range []string{"Usage: /approve", `No agent "nobody"`, "[homelab] decided"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestConsoleSendShowsButtonsAndEdits(t *testing.T) {
	var out bytes.Buffer
	h := New("", &out)
	a := h.For("garden")
	ctx := context.Background()
	ref, err := a.Send(ctx, Target, bot.Message{Text: "🔐 card", Buttons: []bot.Button{
		{ApprovalID: "ID1", Choice: "once"}, {ApprovalID: "ID1", Choice: "session"}, {ApprovalID: "ID1", Choice: "deny"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "/approve ID1 once|session|deny") {
		t.Fatalf("buttons not shown as a command:\n%s", out.String())
	}
	out.Reset()
	st, _ := a.Send(ctx, Target, bot.Message{Text: "⏳ Working…"})
	_ = a.Edit(ctx, st, bot.Message{Text: "⏳ Working…\n🔧 Bash: ls"})
	if got := out.String(); !strings.Contains(got, "[garden] 🔧 Bash: ls") || strings.Count(got, "Working") != 1 {
		t.Fatalf("appended row should print alone:\n%s", got)
	}
	out.Reset()
	_ = a.Edit(ctx, ref, bot.Message{Text: "✅ Allowed"})
	if !strings.Contains(out.String(), "✎ ✅ Allowed") {
		t.Fatalf("edit not shown:\n%s", out.String())
	}
}
