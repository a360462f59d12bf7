package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/bot/bottest"
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/sandbox/native"
	"github.com/herdbot/herdbot/store"
)

// rig is a control server on a real socket, in front of a real fleet and
// store (the fleet never starts a process in these tests).
type rig struct {
	dir, sock string
	db        *store.DB
	garden    *bottest.Recorder // garden's console input
}

func newRig(t *testing.T, ws ...Workspaces) *rig {
	t.Helper()
	dir, err := os.MkdirTemp("", "hbctl") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, filepath.Join(dir, "herdbot.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	f, err := agents.New(agents.Config{Fleet: "t", Store: db, Backend: native.New(log), Runtime: claude.New(claude.Config{}), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{dir: dir, sock: filepath.Join(dir, "herdbot.sock"), db: db, garden: bottest.NewRecorder()}
	ln, err := Listen(r.sock)
	if err != nil {
		t.Fatal(err)
	}
	hub := console.New(console.Operator, io.Discard)
	hub.Register("garden", r.garden)
	srv := &Server{Fleet: f, Store: db, Console: hub, Log: log}
	if len(ws) > 0 {
		srv.Workspaces = ws[0]
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		_ = db.Close()
	})
	return r
}

// pending stores a pending approval and returns its id.
func (r *rig) pending(t *testing.T) string {
	t.Helper()
	id := "APPROVALTESTID" + strconv.FormatInt(time.Now().UnixNano(), 36)
	now := time.Now()
	if err := r.db.CreateApproval(t.Context(), agents.Approval{ID: id, JobID: "j-1", Agent: "garden", Tool: "Bash",
		Input: json.RawMessage(`{"command":"ls"}`), Requested: now, Expires: now.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (r *rig) audit(t *testing.T, prefix string) []agents.AuditEntry {
	t.Helper()
	es, err := r.db.AuditLog(t.Context(), store.AuditFilter{ActionPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func self(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("cli:uid=%s(%s),pid=%d", u.Uid, u.Username, os.Getpid())
}

// The decision's actor is the caller's peer credentials; an actor named
// in the body is ignored.
func TestApproveRecordsThePeerNotTheBody(t *testing.T) {
	r := newRig(t)
	id := r.pending(t)
	var a agents.Approval
	body := map[string]string{"choice": "once", "actor": "mallory", "reason": "looks fine"}
	if err := NewClient(r.sock).Call(t.Context(), "POST", "/v1/approvals/"+id, body, &a); err != nil {
		t.Fatal(err)
	}
	want := self(t)
	if a.Status != agents.Allowed || a.DecidedBy != want {
		t.Errorf("approval %s decided by %q, want %s by %q", a.Status, a.DecidedBy, agents.Allowed, want)
	}
	es := r.audit(t, "approval.decided")
	if len(es) != 1 || es[0].Actor != want || es[0].Subject != id {
		t.Errorf("audit rows %+v, want one approval.decided by %s", es, want)
	}
	for _, e := range es {
		if strings.Contains(e.Actor+e.Detail, "mallory") {
			t.Errorf("the body's actor was recorded: %+v", e)
		}
	}
}

// Every request that changes something is audited with the caller.
func TestControlMutationsAreAudited(t *testing.T) {
	r := newRig(t)
	c := NewClient(r.sock)
	var apiErr *APIError
	if err := c.Call(t.Context(), "POST", "/v1/jobs/j-404/cancel", nil, nil); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("cancel of a job that does not exist: %v", err)
	}
	if err := c.Call(t.Context(), "POST", "/v1/trigger", TriggerRequest{Agent: "nobody", Prompt: "hi", Wait: true}, nil); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("trigger of an unknown agent: %v", err)
	}
	if err := c.Call(t.Context(), "POST", "/v1/chat", ChatRequest{Agent: "garden", Text: "/approve X once"}, nil); err != nil {
		t.Errorf("chat: %v", err)
	}
	want := self(t)
	for action, subject := range map[string]string{"control.cancel": "j-404", "control.trigger": "nobody", "control.chat": "garden"} {
		es := r.audit(t, action)
		if len(es) != 1 || es[0].Actor != want || es[0].Subject != subject {
			t.Errorf("%s rows %+v, want one by %s on %s", action, es, want, subject)
		}
	}
	if es := r.audit(t, "control.chat"); len(es) == 1 && strings.Contains(es[0].Detail, "approve") {
		t.Errorf("the chat line was recorded: %+v", es[0])
	}
}

// fakeWorkspaces serves one file, "notes.txt", of agent far.
type fakeWorkspaces struct{}

func (fakeWorkspaces) List(_ context.Context, agent, dir string) ([]WorkspaceEntry, error) {
	if agent != "far" || dir != "" {
		return nil, fmt.Errorf("no such directory %q of %s", dir, agent)
	}
	return []WorkspaceEntry{{Name: "notes.txt", Size: 5, Mode: "-rw-r--r--"}}, nil
}

func (fakeWorkspaces) Get(_ context.Context, agent, p string, w io.Writer, max int64) (int64, error) {
	if agent != "far" || p != "notes.txt" {
		return 0, fmt.Errorf("path %q leaves the workspace", p)
	}
	n, err := io.WriteString(w, "hello")
	return int64(n), err
}

// TestWorkspaceEndpoints: ls answers the entries, get the file's bytes
// (and an audit row by the caller naming the path); an implementation's
// refusal is a 400 with its message. Without Workspaces: 501.
func TestWorkspaceEndpoints(t *testing.T) {
	r := newRig(t, fakeWorkspaces{})
	c := NewClient(r.sock)
	var ents []WorkspaceEntry
	if err := c.Call(t.Context(), "GET", "/v1/workspace/far/ls?path=", nil, &ents); err != nil || len(ents) != 1 || ents[0].Name != "notes.txt" {
		t.Fatalf("ls: %+v %v", ents, err)
	}
	var buf strings.Builder
	if _, err := c.Raw(t.Context(), "/v1/workspace/far/get?path=notes.txt", &buf); err != nil || buf.String() != "hello" {
		t.Fatalf("get: %q %v", buf.String(), err)
	}
	var apiErr *APIError
	if _, err := c.Raw(t.Context(), "/v1/workspace/far/get?path=..%2Fx", io.Discard); !errors.As(err, &apiErr) || apiErr.Status != 400 || !strings.Contains(err.Error(), "leaves the workspace") {
		t.Errorf("get out of the workspace: %v", err)
	}
	if es := r.audit(t, "control.workspace_get"); len(es) != 2 || es[0].Actor != self(t) {
		t.Errorf("workspace_get audit rows: %+v", es)
	}
	r2 := newRig(t)
	if err := NewClient(r2.sock).Call(t.Context(), "GET", "/v1/workspace/far/ls", nil, nil); !errors.As(err, &apiErr) || apiErr.Status != 501 {
		t.Errorf("ls without workspaces: %v", err)
	}
}

// helperEnv makes the test binary act as a control client (see
// TestControlClientHelper) when it is run as another user.
const helperEnv = "HERDBOT_CONTROL_TEST_CLIENT"

// helperResult is what the helper prints.
type helperResult struct {
	Status  int    `json:"status"` // 0 when it could not connect
	Message string `json:"message"`
}

// TestMain runs the tests, or, with $HERDBOT_CONTROL_TEST_CLIENT set to
// "SOCKET APPROVAL-ID", acts as a control client for TestOtherUserIsRefused:
// it tries to approve as whoever runs it and prints a helperResult.
func TestMain(m *testing.M) {
	if arg := os.Getenv(helperEnv); arg != "" {
		helperClient(arg)
		return
	}
	os.Exit(m.Run())
}

func helperClient(arg string) {
	sock, id, _ := strings.Cut(arg, " ")
	err := NewClient(sock).Call(context.Background(), "POST", "/v1/approvals/"+id, map[string]string{"choice": "once", "actor": "root"}, nil)
	res := helperResult{Status: 200}
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr):
		res = helperResult{Status: apiErr.Status, Message: apiErr.Message}
	case err != nil:
		res = helperResult{Message: err.Error()}
	}
	b, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", b)
}

// helperBin copies the test binary, which sits in a private build
// directory, where another user can run it.
func helperBin(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hbctl-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "control.test")
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// asUser runs the helper bin as uid:gid and returns its result and pid.
func asUser(t *testing.T, bin string, uid, gid int, sock, id string) (helperResult, int) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = []string{helperEnv + "=" + sock + " " + id, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper as uid %d: %v\n%s", uid, err, out)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if b, ok := strings.CutPrefix(line, "RESULT "); ok {
			var res helperResult
			if err := json.Unmarshal([]byte(b), &res); err != nil {
				t.Fatal(err)
			}
			return res, cmd.Process.Pid
		}
	}
	t.Fatalf("helper printed no result:\n%s", out)
	return helperResult{}, 0
}

// A process of another uid cannot use the control socket: the socket's
// mode keeps it out, and were the mode loosened, the server refuses it
// (403, audited) from its peer credentials, whatever its request says.
func TestOtherUserIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user (CI runs the tests as root)")
	}
	const nobody = 65534
	r := newRig(t)
	id := r.pending(t)
	bin := helperBin(t)

	res, _ := asUser(t, bin, nobody, nobody, r.sock, id)
	if res.Status != 0 || !strings.Contains(res.Message, "permission denied") {
		t.Errorf("uid %d through the 0600 socket in a 0700 directory: %+v, want permission denied at connect", nobody, res)
	}

	// Loosen the modes, as a mistaken operator might.
	if err := os.Chmod(r.dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.sock, 0o666); err != nil {
		t.Fatal(err)
	}
	res, pid := asUser(t, bin, nobody, nobody, r.sock, id)
	if res.Status != 403 || !strings.Contains(res.Message, "uid 65534 is neither herdbot's (uid 0) nor root") {
		t.Errorf("uid %d with the socket open to all: %+v, want a 403", nobody, res)
	}
	a, err := r.db.Approval(t.Context(), id)
	if err != nil || a.Status != agents.Pending {
		t.Errorf("approval after the refused call: %+v, %v; want it still pending", a, err)
	}
	es := r.audit(t, "control.refused")
	name := strconv.Itoa(nobody)
	if u, err := user.LookupId(name); err == nil {
		name += "(" + u.Username + ")"
	}
	wantActor := fmt.Sprintf("cli:uid=%s,pid=%d", name, pid)
	if len(es) != 1 || es[0].Actor != wantActor || es[0].Subject != "POST /v1/approvals/"+id || !strings.Contains(es[0].Detail, "neither herdbot's") {
		t.Errorf("control.refused rows %+v, want one by %s", es, wantActor)
	}
	if es := r.audit(t, "approval."); len(es) != 0 {
		t.Errorf("approval rows after a refused call: %+v", es)
	}
}

func TestPeerString(t *testing.T) {
	for _, c := range []struct {
		p    Peer
		want string
	}{
		{Peer{UID: 1000, PID: 42, User: "alice"}, "cli:uid=1000(alice),pid=42"},
		{Peer{UID: 4242, PID: 7}, "cli:uid=4242,pid=7"},
	} {
		if got := c.p.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
}

// herdbot chat types as the local operator (the console's "local", which
// approver lists name), shown by the peer's login name; an unknown agent
// is refused naming the agents, before anything is sent.
func TestChatTypesAsTheLocalOperator(t *testing.T) {
	r := newRig(t)
	c := NewClient(r.sock)
	if err := c.Call(t.Context(), "POST", "/v1/chat", ChatRequest{Agent: "garden", Text: "hello"}, nil); err != nil {
		t.Fatal(err)
	}
	msgs := r.garden.Messages()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].User.ID != console.Operator || msgs[0].User.Name != u.Username+" via herdbot chat" {
		t.Fatalf("messages %+v, want one from %q named %q", msgs, console.Operator, u.Username+" via herdbot chat")
	}
	var apiErr *APIError
	err = c.Call(t.Context(), "POST", "/v1/chat", ChatRequest{Agent: "nobody", Text: "hi"}, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || !strings.Contains(apiErr.Message, `no agent "nobody"; agents: garden`) {
		t.Fatalf("chat to an unknown agent: %v", err)
	}
	err = c.Stream(t.Context(), "GET", "/v1/chat?agent=nobody", nil, func(json.RawMessage) error { return nil })
	if !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Fatalf("chat stream of an unknown agent: %v", err)
	}
	if len(r.garden.Messages()) != 1 {
		t.Fatal("a refused line reached an agent")
	}
}

// Cancel and approve name what is wrong: an unknown job (404), a job that
// already ended (409, with its outcome), an unknown approval (404, naming
// the pending ones, once).
func TestControlAnswersNameWhatExists(t *testing.T) {
	r := newRig(t)
	c := NewClient(r.sock)
	now := time.Now()
	if err := r.db.CreateJob(t.Context(), agents.Job{ID: "j-done", Agent: "garden", Status: agents.JobSucceeded, Started: now, Finished: now}); err != nil {
		t.Fatal(err)
	}
	var apiErr *APIError
	err := c.Call(t.Context(), "POST", "/v1/jobs/j-nope/cancel", nil, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || !strings.Contains(apiErr.Message, `no job "j-nope"`) {
		t.Errorf("cancel of an unknown job: %v", err)
	}
	err = c.Call(t.Context(), "POST", "/v1/jobs/j-done/cancel", nil, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 409 || !strings.Contains(apiErr.Message, "job j-done is not running: it ended succeeded at") {
		t.Errorf("cancel of a finished job: %v", err)
	}
	err = c.Call(t.Context(), "POST", "/v1/approvals/NOPE", ApproveRequest{Choice: "once"}, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Message != `no approval "NOPE", and none is pending (herdbot approvals lists them)` {
		t.Errorf("approve of an unknown approval with none pending: %v", err)
	}
	id := r.pending(t)
	err = c.Call(t.Context(), "POST", "/v1/approvals/NOPE", ApproveRequest{Choice: "once"}, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Message != `no approval "NOPE"; pending: `+id+` (garden, Bash)` {
		t.Errorf("approve of an unknown approval: %v", err)
	}
}

// GET /v1/audit lists the trail, newest first, filtered.
func TestAuditEndpoint(t *testing.T) {
	r := newRig(t)
	for _, e := range []agents.AuditEntry{
		{Agent: "garden", Actor: "a", Action: "approval.requested", Subject: "X"},
		{Agent: "homelab", Actor: "b", Action: "egress.denied", Subject: "evil.example:443"},
		{Agent: "garden", Actor: "c", Action: "approval.decided", Subject: "X"},
	} {
		if err := r.db.Audit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	var es []agents.AuditEntry
	if err := NewClient(r.sock).Call(t.Context(), "GET", "/v1/audit?agent=garden&action=approval.", nil, &es); err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Action != "approval.decided" || es[1].Action != "approval.requested" {
		t.Fatalf("audit %+v", es)
	}
	if err := NewClient(r.sock).Call(t.Context(), "GET", "/v1/audit?subject=evil.example:443", nil, &es); err != nil || len(es) != 1 || es[0].Agent != "homelab" {
		t.Fatalf("audit by subject %+v, %v", es, err)
	}
}

// GET /v1/spend sums an agent's jobs' cost from a time on; without an
// agent or a time it is a 400.
func TestSpendEndpoint(t *testing.T) {
	r := newRig(t)
	c := NewClient(r.sock)
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for i, cost := range []float64{0.5, 0.25, 4} {
		j := agents.Job{ID: fmt.Sprint("j-", i), Agent: "garden", Status: agents.JobSucceeded, CostUSD: cost,
			Started: day.Add(time.Duration(i-1) * time.Hour)}
		j.Finished = j.Started
		if err := r.db.CreateJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	var sp Spend
	if err := c.Call(t.Context(), "GET", fmt.Sprintf("/v1/spend?agent=garden&since=%d", day.UnixMilli()), nil, &sp); err != nil || sp.USD != 4.25 {
		t.Fatalf("spend %+v, %v; want 4.25", sp, err)
	}
	var apiErr *APIError
	if err := c.Call(t.Context(), "GET", "/v1/spend?agent=garden", nil, &sp); !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Fatalf("spend without since: %v", err)
	}
}
