package claude_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/herdbot/herdbot/internal/testenv"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/native"
)

// startFake runs this test binary as the fake CLI in mode.
func startFake(t testing.TB, mode string, cfg claude.Config, env ...string) *cliRun {
	t.Helper()
	cfg.Binary = os.Args[0]
	if cfg.Log == nil {
		cfg.Log = testLog(t)
	}
	rt := claude.New(cfg)
	p, err := native.New(slog.New(slog.DiscardHandler)).Start(t.Context(), sandbox.Spec{
		Command: rt.Command(agents.RunOptions{}),
		// atexit_sleep_ms=0: a -race child would otherwise sleep 1 s at exit.
		Env:       append([]string{fakecli.EnvMode + "=" + mode, "GORACE=atexit_sleep_ms=0"}, env...),
		Workspace: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &cliRun{t: t, conn: rt.Attach(p).(*claude.Conn)}
	t.Cleanup(func() { _ = r.conn.Close(context.Background()) })
	return r
}

func TestFakeCLI_TenMegabyteLine(t *testing.T) {
	r := startFake(t, fakecli.ModeBigLine, claude.Config{})
	r.send("big please")
	_, evs := r.until(agents.EventResult)
	texts := ofKind(evs, agents.EventText)
	if len(texts) != 1 || len(texts[0].Text) != 10<<20 || !strings.HasPrefix(texts[0].Text, "0123456789abcdef") {
		t.Fatalf("want one 10 MiB text event, got %d events", len(texts))
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestFakeCLI_GarbageLinesLoggedAndSkipped(t *testing.T) {
	var logs testenv.Buffer
	r := startFake(t, fakecli.ModeGarbage, claude.Config{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	r.send("hi")
	res, evs := r.until(agents.EventResult)
	if got := kinds(evs); got != "init text result" {
		t.Errorf("events %q, want init text result", got)
	}
	if res.Err != nil {
		t.Errorf("result err %v", res.Err)
	}
	if n := strings.Count(logs.String(), "skipping stdout line"); n != 3 {
		t.Errorf("%d skip warnings, want 3 (blank lines are not garbage):\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "broken json") {
		t.Errorf("line contents logged: %s", logs.String())
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestFakeCLI_UnknownKindsAndFieldsTolerated(t *testing.T) {
	r := startFake(t, fakecli.ModeUnknown, claude.Config{})
	r.send("hi")
	res, evs := r.until(agents.EventResult)
	texts := ofKind(evs, agents.EventText)
	if len(texts) != 2 || texts[0].Text != "tolerant text" || texts[1].Text != "hook answered: error" {
		t.Errorf("texts %+v; events %s", texts, kinds(evs))
	}
	if n := len(ofKind(evs, agents.EventUnknown)); n < 3 {
		t.Errorf("%d unknown events, want ≥3 (rate_limit_event, brand_new_kind, hook_callback)", n)
	}
	sys := ofKind(evs, agents.EventSystem)
	if len(sys) != 1 || sys[0].Text != "thinking_tokens" {
		t.Errorf("system events %+v", sys)
	}
	if res.Result.Text != "tolerant result" || res.Result.CostUSD != 0.5 || res.Err != nil {
		t.Errorf("mistyped field lost the rest of the result: %+v %v", res.Result, res.Err)
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestFakeCLI_CrashWithoutResult(t *testing.T) {
	r := startFake(t, fakecli.ModeCrash, claude.Config{})
	r.send("hi")
	var evs []agents.Event
	for ev := range r.conn.Events() {
		evs = append(evs, ev)
	}
	if len(ofKind(evs, agents.EventResult)) != 0 {
		t.Fatalf("unexpected result: %s", kinds(evs))
	}
	re := wantRunError(t, r.close(), agents.ErrCrashed)
	if re.ExitCode != 3 || !strings.Contains(re.Stderr, "fakecli: simulated crash") {
		t.Errorf("exit %d stderr %q", re.ExitCode, re.Stderr)
	}
	if !strings.Contains(re.Error(), "(exit 3)") {
		t.Errorf("error text %q", re.Error())
	}
	if err := r.conn.Send(t.Context(), "again"); err == nil {
		t.Error("Send after Close succeeded")
	}
}

func TestFakeCLI_StallCloseEscalates(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        []string
		wantSignal string
	}{
		{"SIGTERM", nil, "terminated"},
		{"SIGKILL", []string{fakecli.EnvIgnoreTerm + "=1"}, "killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startFake(t, fakecli.ModeStall, claude.Config{CloseTimeout: 50 * time.Millisecond, KillTimeout: 200 * time.Millisecond}, tc.env...)
			r.send("hi")
			r.until(agents.EventText)
			err := r.close()
			re := wantRunError(t, err, agents.ErrTimeout)
			if !strings.Contains(re.Message, tc.wantSignal) {
				t.Errorf("message %q, want it to name %s", re.Message, tc.wantSignal)
			}
			// The events stream ends once the process is gone.
			for range r.conn.Events() {
			}
			if again := r.conn.Close(t.Context()); again != err {
				t.Errorf("second Close = %v, want the same error", again)
			}
		})
	}
}

func TestFakeCLI_CloseHonoursContext(t *testing.T) {
	r := startFake(t, fakecli.ModeStall, claude.Config{CloseTimeout: time.Hour, KillTimeout: time.Hour}, fakecli.EnvIgnoreTerm+"=1")
	r.send("hi")
	r.until(agents.EventText)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	wantRunError(t, r.conn.Close(ctx), agents.ErrTimeout)
}

func TestFakeCLI_ConcurrentSendAndDecide(t *testing.T) {
	const turns = 20
	r := startFake(t, fakecli.ModePermission, claude.Config{})
	var wg sync.WaitGroup
	for i := range turns {
		wg.Go(func() {
			if err := r.conn.Send(t.Context(), fmt.Sprint("turn ", i)); err != nil {
				t.Errorf("Send: %v", err)
			}
		})
	}
	results := 0
	for results < turns {
		ev := r.next()
		switch ev.Kind {
		case agents.EventPermission:
			id := ev.Permission.RequestID
			wg.Go(func() {
				if err := r.conn.Decide(t.Context(), id, agents.Decision{Verdict: agents.Allowed}); err != nil {
					t.Errorf("Decide: %v", err)
				}
			})
		case agents.EventResult:
			if ev.Err != nil {
				t.Errorf("turn failed: %v", ev.Err)
			}
			results++
		case agents.EventToolResult:
			if ev.ToolResult.IsError {
				t.Errorf("tool result error: %q", ev.ToolResult.Content)
			}
		}
	}
	wg.Wait()
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestFakeCLI_DenyAndInterrupt(t *testing.T) {
	r := startFake(t, fakecli.ModePermission, claude.Config{})
	r.send("one")
	perm, _ := r.until(agents.EventPermission)
	if err := r.conn.Decide(t.Context(), perm.Permission.RequestID, agents.Decision{Verdict: agents.Denied, Message: "stop it", Interrupt: true}); err != nil {
		t.Fatal(err)
	}
	res, evs := r.until(agents.EventResult)
	if tr := ofKind(evs, agents.EventToolResult); len(tr) != 1 || tr[0].ToolResult.Content != "stop it" {
		t.Errorf("tool result %+v", tr)
	}
	wantRunError(t, res.Err, agents.ErrInterrupted)

	// The process stays usable; an interrupt while a request is pending
	// withdraws it.
	r.send("two")
	perm, _ = r.until(agents.EventPermission)
	if err := r.conn.Interrupt(t.Context()); err != nil {
		t.Fatal(err)
	}
	cancel, _ := r.until(agents.EventPermissionCancel)
	if cancel.Permission.RequestID != perm.Permission.RequestID {
		t.Errorf("cancel for %q, want %q", cancel.Permission.RequestID, perm.Permission.RequestID)
	}
	res, _ = r.until(agents.EventResult)
	wantRunError(t, res.Err, agents.ErrInterrupted)
	if err := r.conn.Decide(t.Context(), perm.Permission.RequestID, agents.Decision{Verdict: agents.Allowed}); !errors.Is(err, claude.ErrUnknownRequest) {
		t.Errorf("Decide after cancel: %v", err)
	}
	// Exit code 1 after an interrupted last turn is a clean end.
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
