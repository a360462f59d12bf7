package console

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/bottest"
)

// newRecorder returns a recording handler that answers actions with the
// notice "decided".
func newRecorder() *bottest.Recorder {
	return bottest.NewRecorder().OnAction(func(bot.Action) bot.ActionResult { return bot.ActionResult{Notice: "decided"} })
}

func register(t *testing.T, h *Hub, agent string, rec *bottest.Recorder) {
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
	garden, homelab := newRecorder(), newRecorder()
	register(t, h, "garden", garden)
	register(t, h, "homelab", homelab)
	ctx := context.Background()

	in := strings.NewReader("hello garden\n@homelab check the vms\n/status\n/approve ABC once\n/approve bad\n@nobody hi\n")
	if err := h.ReadFrom(ctx, in); err != nil {
		t.Fatal(err)
	}
	gMsgs, hMsgs, hCmds, hActs := garden.Messages(), homelab.Messages(), homelab.Commands(), homelab.Actions()
	if len(gMsgs) != 1 || gMsgs[0].Text != "hello garden" || gMsgs[0].User.ID != "alice" {
		t.Fatalf("garden messages: %+v", gMsgs)
	}
	if gMsgs[0].Target != Target {
		t.Fatalf("target %+v, want %+v", gMsgs[0].Target, Target)
	}
	if len(hMsgs) != 1 || hMsgs[0].Text != "check the vms" {
		t.Fatalf("homelab messages: %+v", hMsgs)
	}
	// @homelab made homelab current: the command and the approval go there.
	if len(hCmds) != 1 || hCmds[0].Name != "status" {
		t.Fatalf("homelab commands: %+v", hCmds)
	}
	if len(hActs) != 1 || hActs[0].ApprovalID != "ABC" || hActs[0].Choice != "once" {
		t.Fatalf("homelab actions: %+v", hActs)
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
