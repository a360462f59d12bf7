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
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/sandbox/native"
	"github.com/herdbot/herdbot/store"
)

// rig is a control server on a real socket, in front of a real fleet and
// store (the fleet never starts a process in these tests).
type rig struct {
	dir, sock string
	db        *store.DB
}

func newRig(t *testing.T) *rig {
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
	r := &rig{dir: dir, sock: filepath.Join(dir, "herdbot.sock"), db: db}
	ln, err := Listen(r.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Fleet: f, Store: db, Console: console.New("tester", io.Discard), Log: log}
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
	if err := c.Call(t.Context(), "POST", "/v1/jobs/j-404/cancel", nil, nil); !errors.As(err, &apiErr) || apiErr.Status != 409 {
		t.Errorf("cancel of a job that does not run: %v", err)
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
