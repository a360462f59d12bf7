package agentstest

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/go-units"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/internal/metrics"
	"github.com/herdbot/herdbot/store"
)

// DiskFill is the "fill its disk" attack of the hostile-agent suite: the
// scripted model has the agent run one pre-approved Bash command that
// writes past its disk limit, then holds its next answer so the run can
// only end by being stopped. Run checks herdbot's answer: the disk watcher
// (ticked by hand) stops the run, recorded as a failed job with the reason
// and told in chat; the next run is refused with a message naming the use
// and the limit; audit rows and metrics say so; the store still takes
// writes.
type DiskFill struct {
	// Command is the Bash command that writes past the limit.
	Command string
	// What is what the refusal names as measured: "workspace and HOME"
	// or "HOME".
	What string
	// Limit is the disk limit, in bytes.
	Limit int64

	ticks   chan time.Time
	hold    chan struct{}
	toolRan chan struct{}
	once    sync.Once
}

// NewDiskFill returns the attack for one rig.
func NewDiskFill(command, what string, limit int64) *DiskFill {
	return &DiskFill{Command: command, What: what, Limit: limit,
		ticks: make(chan time.Time), hold: make(chan struct{}), toolRan: make(chan struct{})}
}

// Prompt is the chat message that starts the attack.
const fillPrompt = "please fill your disk"

// Model is the scripted model: asked to fill the disk it runs Command;
// once it sees the command's result it holds its answer until the run is
// stopped (or the test ends).
func (d *DiskFill) Model(req *claudetest.Request) claudetest.Reply {
	if len(req.ToolResults()) > 0 {
		d.once.Do(func() { close(d.toolRan) })
		return claudetest.Reply{Text: "writing more…", Hold: d.hold}
	}
	if strings.Contains(req.Prompt(), fillPrompt) {
		return claudetest.Bash(d.Command, "fill the disk")
	}
	return claudetest.Text("ok")
}

// Disk is the fleet's disk options: the watcher ticks only when Run says,
// and walks at every tick (Interval 1 ns), whatever the free space did.
func (d *DiskFill) Disk() agents.DiskOptions {
	return agents.DiskOptions{Interval: time.Nanosecond,
		Ticker: func(time.Duration) (<-chan time.Time, func()) { return d.ticks, func() {} }}
}

// Run starts a rig from o (Model, ModelServer, Spec and Backend are the
// caller's; the agent gets the limit, Bash pre-approved and the console
// chat) and plays the attack.
func (d *DiskFill) Run(t *testing.T, o Options) {
	t.Helper()
	defer close(d.hold)
	reg := prometheus.NewRegistry()
	hub := console.New("alice", nil)
	lines, unsub := hub.Subscribe()
	defer unsub()
	spec := o.Spec
	o.Spec = func(s *agents.AgentSpec) {
		if spec != nil {
			spec(s)
		}
		s.DiskLimit = d.Limit
		s.Options.AllowedTools = append(s.Options.AllowedTools, "Bash")
	}
	o.Disk = d.Disk()
	o.Metrics = metrics.New(reg)
	o.Chats = []Chat{{Platform: bot.Console, Adapter: hub.For(Agent)}}
	if o.Model == nil && o.ModelServer == nil {
		o.Model = d.Model
	}
	r := Start(t, o)
	defer r.Stop()
	WaitConsole(t, hub, Agent)

	expect := func(re string) string {
		t.Helper()
		rx := regexp.MustCompile(re)
		timeout := time.After(3 * time.Minute)
		var seen []string
		for {
			select {
			case l := <-lines:
				seen = append(seen, l.Text)
				if rx.MatchString(l.Text) {
					return l.Text
				}
			case <-timeout:
				t.Fatalf("no chat line matching %q; saw:\n%s", re, strings.Join(seen, "\n---\n"))
			}
		}
	}

	hub.Input(context.Background(), Agent, fillPrompt)
	select {
	case <-d.toolRan:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the model never saw the result of %q", d.Command)
	}
	// The command has written past the limit: the watcher's next tick
	// must stop the run.
	select {
	case d.ticks <- time.Now():
	case <-time.After(time.Minute):
		t.Fatal("no disk watcher is running while the agent has a process")
	}
	limit := regexp.QuoteMeta(sizeText(d.Limit))
	stopped := `stopped because ` + Agent + `'s ` + regexp.QuoteMeta(d.What) + ` take [0-9.]+MiB, over its disk limit of ` + limit + `: free space in `
	expect(`❌ failed: ` + stopped)
	jobs, err := r.Store.Jobs(context.Background(), agents.JobFilter{Agent: Agent})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs: %v %+v", err, jobs)
	}
	first := jobs[0]
	if first.Status != agents.JobFailed || !regexp.MustCompile(`^`+stopped).MatchString(first.Error) {
		t.Fatalf("stopped job: %s %q", first.Status, first.Error)
	}
	asked := len(modelRequests(r))

	// The next run is refused before anything starts.
	hub.Input(context.Background(), Agent, "hello again")
	expect(`🛑 Refused because ` + Agent + `'s ` + regexp.QuoteMeta(d.What) + ` take [0-9.]+MiB, over its disk limit of ` + limit + `: free space in .* raise docker\.disk_limit in the fleet file\.`)
	jobs, err = r.Store.Jobs(context.Background(), agents.JobFilter{Agent: Agent})
	if err != nil || len(jobs) != 2 {
		t.Fatalf("jobs: %v %+v", err, jobs)
	}
	second := jobs[0]
	if second.ID == first.ID {
		second = jobs[1]
	}
	if second.Status != agents.JobFailed || !strings.HasPrefix(second.Error, "refused because ") {
		t.Fatalf("refused job: %s %q", second.Status, second.Error)
	}
	if n := len(modelRequests(r)); n != asked {
		t.Fatalf("the refused run reached the model (%d requests, %d before)", n, asked)
	}
	if r.Fleet.LiveProcesses(Agent) != 0 {
		t.Fatalf("%d agent processes left after the stop and the refusal", r.Fleet.LiveProcesses(Agent))
	}

	// The audit trail and the metrics say so.
	log, err := r.Store.AuditLog(context.Background(), store.AuditFilter{Agent: Agent, ActionPrefix: "disk."})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range log {
		got[e.Action] = e.Subject
		if !strings.Contains(e.Detail, `"limit_bytes":`) {
			t.Errorf("audit %s detail %q", e.Action, e.Detail)
		}
	}
	if got["disk.stopped"] != first.ID || got["disk.refused"] != second.ID || len(log) != 2 {
		t.Fatalf("audit rows %+v; want disk.stopped %s and disk.refused %s", log, first.ID, second.ID)
	}
	for action, want := range map[string]float64{"stopped": 1, "refused": 1} {
		if v := gauge(t, reg, "herdbot_disk_over_limit_total", action); v != want {
			t.Errorf("herdbot_disk_over_limit_total{action=%q} = %v, want %v", action, v, want)
		}
	}
	if v := gauge(t, reg, "herdbot_disk_usage_bytes", ""); v <= float64(d.Limit) {
		t.Errorf("herdbot_disk_usage_bytes = %v, want over %d", v, d.Limit)
	}

	// herdbot's own state keeps working.
	if err := r.Store.Audit(context.Background(), agents.AuditEntry{Agent: Agent, Actor: "test", Action: "test.write"}); err != nil {
		t.Fatalf("the store refuses writes after the attack: %v", err)
	}
}

func modelRequests(r *Rig) []claudetest.Request {
	if r.Model == nil {
		return nil
	}
	return r.Model.MessageRequests()
}

// gauge returns the value of the series of name whose action label is
// action (any series when action is empty).
func gauge(t *testing.T, reg *prometheus.Registry, name, action string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := action == ""
			for _, l := range m.GetLabel() {
				match = match || (l.GetName() == "action" && l.GetValue() == action)
			}
			if !match {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// WaitConsole waits until the console adapter of agent (run by a rig's
// Chats) has registered its handler: the adapter does so asynchronously.
func WaitConsole(t testing.TB, hub *console.Hub, agent string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ch, stop := hub.Subscribe()
		hub.Input(context.Background(), agent, "/agents")
		select {
		case l := <-ch:
			stop()
			if !strings.Contains(l.Text, "No agent") {
				return
			}
		case <-time.After(time.Second):
			stop()
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("console adapter never registered")
}

// sizeText writes bytes as the fleet's messages do.
func sizeText(n int64) string { return units.BytesSize(float64(n)) }
