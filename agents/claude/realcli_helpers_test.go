package claude_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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

// eventTimeout bounds every wait for an event so a broken CLI fails the test
// instead of hanging it. It is a safety net, not a measured duration.
const eventTimeout = 2 * time.Minute

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// cliRun is one real CLI process under test.
type cliRun struct {
	t    testing.TB
	conn *claude.Conn
	ws   string
	seen []agents.Event
}

// session holds what several processes of one test share: the workspace
// and the agent's state dir (HOME), so a later process can resume.
type session struct {
	ws, state string
	env       []string
}

func newSession(t testing.TB, srv *claudetest.ModelServer, extraEnv ...string) *session {
	t.Helper()
	ws := filepath.Join(t.TempDir(), "workspace")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(claudetest.Env(srv.URL), "PATH=/usr/local/bin:/usr/bin:/bin")
	return &session{ws: ws, state: t.TempDir(), env: append(env, extraEnv...)}
}

// start runs the real CLI with opts through the native sandbox.
func (s *session) start(t testing.TB, opts agents.RunOptions) *cliRun {
	t.Helper()
	return s.startArgv(t, func(rt *claude.Runtime) []string { return rt.Command(opts) })
}

// startArgv runs the real CLI with the argv that argv returns.
func (s *session) startArgv(t testing.TB, argv func(*claude.Runtime) []string) *cliRun {
	t.Helper()
	bin := testenv.RequireClaude(t)
	rt := claude.New(claude.Config{Binary: bin, Log: testLog(t)})
	p, err := native.New(testLog(t)).Start(t.Context(), sandbox.Spec{
		Agent:     "test",
		Command:   argv(rt),
		Env:       s.env,
		Workspace: s.ws,
		StateDir:  s.state,
	})
	if err != nil {
		t.Fatalf("start CLI: %v", err)
	}
	if dir := os.Getenv("HERDBOT_RECORD_TRANSCRIPT"); dir != "" {
		p = recordStdout(t, p, filepath.Join(dir, sanitize(t.Name())+".jsonl"))
	}
	r := &cliRun{t: t, conn: rt.Attach(p).(*claude.Conn), ws: s.ws}
	t.Cleanup(func() { _ = r.conn.Close(context.Background()) })
	return r
}

func sanitize(s string) string { return strings.NewReplacer("/", "_", " ", "_").Replace(s) }

// next returns the next event, failing the test if the stream ends.
func (r *cliRun) next() agents.Event {
	r.t.Helper()
	select {
	case ev, ok := <-r.conn.Events():
		if !ok {
			r.t.Fatalf("event stream ended; events so far: %s", kinds(r.seen))
		}
		r.seen = append(r.seen, ev)
		return ev
	case <-time.After(eventTimeout):
		r.t.Fatalf("no event within %v; events so far: %s", eventTimeout, kinds(r.seen))
	}
	return agents.Event{}
}

// until reads events up to and including the first of kind k and returns
// it along with everything read on the way.
func (r *cliRun) until(k agents.EventKind) (agents.Event, []agents.Event) {
	r.t.Helper()
	var got []agents.Event
	for {
		ev := r.next()
		got = append(got, ev)
		if ev.Kind == k {
			return ev, got
		}
	}
}

func (r *cliRun) send(text string) {
	r.t.Helper()
	if err := r.conn.Send(r.t.Context(), text); err != nil {
		r.t.Fatalf("Send: %v", err)
	}
}

func (r *cliRun) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return r.conn.Close(ctx)
}

func kinds(evs []agents.Event) string {
	var s []string
	for _, e := range evs {
		k := string(e.Kind)
		if e.Text != "" && e.Kind != agents.EventText {
			k += "(" + e.Text + ")"
		}
		s = append(s, k)
	}
	return strings.Join(s, " ")
}

func ofKind(evs []agents.Event, k agents.EventKind) []agents.Event {
	var out []agents.Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func wantRunError(t testing.TB, err error, kind error) *agents.RunError {
	t.Helper()
	var re *agents.RunError
	if !errors.As(err, &re) || !errors.Is(err, kind) {
		t.Fatalf("err = %v (%T), want a *agents.RunError matching %v", err, err, kind)
	}
	return re
}

// recordingProcess tees a real process's stdout into a file (used to
// refresh testdata from the real CLI).
type recordingProcess struct {
	sandbox.Process
	out io.Reader
}

func (p recordingProcess) Stdout() io.Reader { return p.out }

func recordStdout(t testing.TB, p sandbox.Process, path string) sandbox.Process {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return recordingProcess{Process: p, out: io.TeeReader(p.Stdout(), f)}
}
