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

// The console's person is the local operator: whatever their login name,
// their id is Operator, the one approver lists name.
func TestConsoleUserIsTheLocalOperator(t *testing.T) {
	var out bytes.Buffer
	h := New("", &out)
	h.SetName("alice")
	garden := newRecorder()
	register(t, h, "garden", garden)
	h.Input(context.Background(), "", "hello")
	h.Input(context.Background(), "", "/approve ABC once")
	msgs, acts := garden.Messages(), garden.Actions()
	if len(msgs) != 1 || msgs[0].User.ID != Operator || msgs[0].User.Name != "alice" {
		t.Fatalf("messages %+v, want one from %q named alice", msgs, Operator)
	}
	if len(acts) != 1 || acts[0].User.ID != Operator || acts[0].User.Name != "alice" {
		t.Fatalf("actions %+v", acts)
	}
}

// What a person types gets an answer: /help lists what can be typed, a
// wrong /approve choice names the right ones, @name says who is current
// now, an unknown /command is not sent to the agent.
func TestConsoleAnswersWhatIsTyped(t *testing.T) {
	var out bytes.Buffer
	h := New("", &out)
	h.SetName("alice")
	garden, homelab := newRecorder(), newRecorder()
	register(t, h, "garden", garden)
	register(t, h, "homelab", homelab)
	ctx := context.Background()
	for _, c := range []struct{ in, want string }{
		{"/help", "/approve ID once|session|deny"},
		{"/help", "You type as alice (console user \"local\"); lines go to garden."},
		{"/approve ABC always", `"always" is not a choice: type /approve ABC once, /approve ABC session or /approve ABC deny.`},
		{"/frobnicate", "Unknown command /frobnicate."},
		{"@homelab hi", "[herdbot] Talking to homelab now: lines without @name go to homelab."},
	} {
		out.Reset()
		h.Input(ctx, "", c.in)
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("%q: output lacks %q:\n%s", c.in, c.want, out.String())
		}
	}
	if len(garden.Actions()) != 0 || len(garden.Commands()) != 0 {
		t.Errorf("a refused line reached garden: %+v %+v", garden.Actions(), garden.Commands())
	}
	if h.Current() != "homelab" || len(homelab.Messages()) != 1 {
		t.Errorf("current %q, homelab messages %+v", h.Current(), homelab.Messages())
	}
	// Through the socket (agent named), @name routes the line only.
	h.InputAs(ctx, "homelab", "@garden hi", bot.User{ID: Operator, Name: "bob via herdbot chat"})
	if h.Current() != "homelab" || len(garden.Messages()) != 1 || garden.Messages()[0].User.Name != "bob via herdbot chat" {
		t.Errorf("socket line: current %q, garden %+v", h.Current(), garden.Messages())
	}
	if got := h.Agents(); strings.Join(got, ",") != "garden,homelab" {
		t.Errorf("agents %v", got)
	}
}

// On a terminal, the prompt names the current agent after every output;
// a card names the CLI's approve line too.
func TestConsolePromptAndApproveLine(t *testing.T) {
	var out bytes.Buffer
	h := New("", &out)
	register(t, h, "garden", newRecorder())
	h.SetApproveCommand("herdbot approve %s -c fleet/herdbot.yaml")
	h.SetPrompt(true)
	if !strings.HasSuffix(out.String(), "garden› ") {
		t.Fatalf("no prompt: %q", out.String())
	}
	out.Reset()
	if _, err := h.For("garden").Send(context.Background(), Target, bot.Message{Text: "🔐 card", Buttons: []bot.Button{
		{ApprovalID: "ID1", Choice: "once"}, {ApprovalID: "ID1", Choice: "deny"}}}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"→ type: /approve ID1 once|deny", "or run: herdbot approve ID1 once|deny -c fleet/herdbot.yaml"} {
		if !strings.Contains(got, want) {
			t.Errorf("card lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "garden› ") {
		t.Errorf("no prompt after output: %q", got)
	}
}

// Warnings written through Above go above the prompt, which is printed
// again after them; without the prompt they pass through unchanged.
func TestConsoleAboveKeepsThePromptLast(t *testing.T) {
	var out, errs bytes.Buffer
	h := New("", &out)
	register(t, h, "garden", newRecorder())
	w := h.Above(&errs)
	if _, err := w.Write([]byte("level=WARN one\n")); err != nil {
		t.Fatal(err)
	}
	if errs.String() != "level=WARN one\n" || out.Len() != 0 {
		t.Fatalf("without the prompt: stderr %q, stdout %q", errs.String(), out.String())
	}
	h.SetPrompt(true)
	out.Reset()
	errs.Reset()
	_, _ = w.Write([]byte("level=WARN two\n"))
	if errs.String() != "\r\033[Klevel=WARN two\n" || out.String() != "garden› " {
		t.Fatalf("with the prompt: stderr %q, stdout %q", errs.String(), out.String())
	}
	out.Reset()
	h.SetPrompt(false)
	if out.String() != "\r\033[K" {
		t.Fatalf("turning the prompt off leaves %q", out.String())
	}
}
