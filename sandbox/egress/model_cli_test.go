package egress

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/internal/testenv"
	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/native"
)

// TestModelProxyRealCLI runs the pinned CLI through the model proxy (a
// turn with a tool call, then a resumed session) and records what it asks
// the model API for: this is where modelCalls comes from. With herdbot's
// environment every call the CLI makes is one the proxy forwards. With
// the CLI's non-essential traffic switched on it also sends a connectivity
// check, which the proxy refuses, and the CLI carries on.
func TestModelProxyRealCLI(t *testing.T) {
	bin := testenv.RequireClaude(t)
	for _, v := range []struct {
		name string
		env  func(url string) []string
		// refused are the calls the proxy must refuse for this CLI.
		refused []string
	}{
		{"herdbot's environment", func(url string) []string {
			env := slices.DeleteFunc(claudetest.Env(url), func(kv string) bool { return strings.HasPrefix(kv, "ANTHROPIC_API_KEY=") })
			return append(env, "ANTHROPIC_API_KEY=placeholder")
		}, nil},
		{"non-essential traffic on", func(url string) []string {
			return []string{"ANTHROPIC_BASE_URL=" + url, "ANTHROPIC_API_KEY=placeholder", "DISABLE_AUTOUPDATER=1"}
		}, []string{"HEAD /api/hello"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			model := claudetest.NewModelServer(t, claudetest.Script(
				claudetest.Bash("touch made-by-agent.txt", "Create a file"),
				claudetest.Text("Created it."),
				claudetest.Text("Still here."),
			))
			_, port, _ := strings.Cut(strings.TrimPrefix(model.URL, "http://"), ":")
			tp := startProxy(t, Config{Agent: "garden", ModelURL: model.URL, ModelAPIKey: realKey, Private: []string{"127.0.0.1/32:" + port}})

			ws := filepath.Join(t.TempDir(), "workspace")
			if err := os.Mkdir(ws, 0o755); err != nil {
				t.Fatal(err)
			}
			state := t.TempDir()
			env := append(v.env("http://"+tp.modelAddr), "PATH=/usr/local/bin:/usr/bin:/bin")
			first := runCLI(t, bin, ws, state, env, agents.RunOptions{AllowedTools: []string{"Bash(touch:*)"}}, "create the file")
			if _, err := os.Stat(filepath.Join(ws, "made-by-agent.txt")); err != nil {
				t.Errorf("the tool did not run: %v", err)
			}
			runCLI(t, bin, ws, state, env, agents.RunOptions{Resume: first}, "are you there?")

			var seen []string
			for _, r := range model.Requests() {
				call := r.Method + " " + r.Path
				if r.Query != "" {
					call += "?" + r.Query
				}
				seen = append(seen, call)
				if !slices.Contains(modelCalls[r.Method+" "+r.Path], r.Query) {
					t.Errorf("the upstream got %s, which modelCalls does not allow", call)
				}
				if r.Header.Get("X-Api-Key") != realKey {
					t.Errorf("%s reached the upstream without the real key", call)
				}
			}
			t.Logf("the CLI's model API calls through the proxy: %s", strings.Join(seen, ", "))
			if len(model.MessageRequests()) != 3 {
				t.Errorf("the upstream got %d Messages calls, want 3 (tool call, answer, resumed turn)", len(model.MessageRequests()))
			}
			tp.stop()
			tp.rec.mu.Lock()
			var refused []string
			for _, r := range tp.rec.all {
				if call, ok := strings.CutPrefix(r.Reason, "model API call refused (not a model API call): "); ok {
					refused = append(refused, call)
				} else if !r.Allowed {
					t.Errorf("unexpected refusal %+v", r)
				}
			}
			tp.rec.mu.Unlock()
			slices.Sort(refused)
			refused = slices.Compact(refused)
			if !slices.Equal(refused, v.refused) {
				t.Errorf("refused %q, want %q", refused, v.refused)
			}
		})
	}
}

// runCLI runs the real CLI for one prompt and returns the session id.
func runCLI(t *testing.T, bin, ws, state string, env []string, opts agents.RunOptions, prompt string) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt := claude.New(claude.Config{Binary: bin, Log: log})
	p, err := native.New(log).Start(t.Context(), sandbox.Spec{Agent: "garden", Command: rt.Command(opts), Env: env, Workspace: ws, StateDir: state})
	if err != nil {
		t.Fatalf("start CLI: %v", err)
	}
	conn := rt.Attach(p)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = conn.Close(ctx)
	}()
	if err := conn.Send(t.Context(), prompt); err != nil {
		t.Fatalf("send: %v", err)
	}
	failsafe := time.After(2 * time.Minute)
	for {
		select {
		case ev, ok := <-conn.Events():
			if !ok {
				t.Fatal("the CLI ended before its result")
			}
			if ev.Kind == agents.EventResult {
				if ev.Err != nil || ev.Result == nil || ev.Result.IsError {
					t.Fatalf("result %+v, err %v", ev.Result, ev.Err)
				}
				return ev.SessionID
			}
		case <-failsafe:
			t.Fatal("no result from the CLI")
		}
	}
}
