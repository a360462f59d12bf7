package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/internal/control"
	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/store"
)

// dial loads the fleet file (for its state dir) and returns a client of the
// running service's control socket.
func dial(fs *flags) (*control.Client, error) {
	cfg, err := config.Load(fs.config)
	if err == nil {
		return control.NewClient(filepath.Join(cfg.StateDir, "herdbot.sock")), nil
	}
	// A broken file on disk must not lock the operator out of the running
	// service: try the default state dir beside the fleet file.
	if sock := defaultSocket(fs.config); sock != "" {
		if _, serr := os.Stat(sock); serr == nil {
			return control.NewClient(sock), nil
		}
	}
	return nil, err
}

// defaultSocket is the control socket of a fleet file whose state_dir is
// the default, or "".
func defaultSocket(path string) string {
	if path == "" {
		for _, p := range []string{"herdbot.yaml", "herdctl.yaml"} {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		return ""
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "herdbot.yaml")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(abs), config.DefaultStateDir, "herdbot.sock")
}

func printJSON(e stdio, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// list prints items as JSON with --json, the line empty when there are
// none, or else a table under header (tab-separated column names) with
// the cells row gives each item.
func list[T any](e stdio, fs *flags, items []T, empty, header string, row func(T) []string) error {
	if fs.json {
		return printJSON(e, nonNil(items))
	}
	if len(items) == 0 {
		fmt.Fprintln(e.stdout, empty)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, it := range items {
		fmt.Fprintln(tw, strings.Join(row(it), "\t"))
	}
	return tw.Flush()
}

// stamp is a time with its zone, or "-".
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05 MST")
}

func cmdJobs(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("jobs", e, true)
	limit := fs.Int("limit", 20, "how many jobs")
	status := fs.String("status", "", "only jobs with this status (running, succeeded, failed, …)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		fs.Usage()
		return errors.New("jobs: at most one agent")
	}
	s, err := openSession(ctx, e, fs)
	if err != nil {
		return err
	}
	defer s.close()
	agent := first(pos)
	js, err := s.rd.Jobs(ctx, agents.JobFilter{Agent: agent, Status: agents.JobStatus(*status), Limit: *limit})
	if err != nil {
		return err
	}
	if err := s.checkAgent(agent, len(js) > 0); err != nil {
		return err
	}
	return list(e, fs, js, "No jobs yet"+forAgent(agent)+".",
		"JOB\tAGENT\tTRIGGER\tSTATUS\tSTARTED\tCOST\tTURNS\tPROMPT", func(j agents.Job) []string {
			return []string{j.ID, j.Agent, fmt.Sprint(j.Trigger), fmt.Sprint(j.Status), stamp(j.Started), bot.USD(j.CostUSD), strconv.Itoa(j.Turns), oneLine(j.Prompt, 50)}
		})
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func forAgent(agent string) string {
	if agent == "" {
		return ""
	}
	return " for " + agent
}

// nonNil makes an empty list print as [] in JSON.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// noJob is the error for a job id that does not exist, naming recent ones.
func noJob(ctx context.Context, rd reader, id string) error {
	js, _ := rd.Jobs(ctx, agents.JobFilter{Limit: 5})
	if len(js) == 0 {
		return fmt.Errorf("no job %q, and no job has run yet", id)
	}
	ids := make([]string, 0, len(js))
	for _, j := range js {
		ids = append(ids, j.ID)
	}
	return fmt.Errorf("no job %q; the latest: %s (herdbot jobs lists them)", id, strings.Join(ids, ", "))
}

func cmdJob(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("job", e, true)
	id, err := fs.one(args, "a job id")
	if err != nil {
		return err
	}
	s, err := openSession(ctx, e, fs)
	if err != nil {
		return err
	}
	defer s.close()
	j, err := s.rd.Job(ctx, id)
	if errors.Is(err, agents.ErrNotFound) {
		return noJob(ctx, s.rd, id)
	}
	if err != nil {
		return err
	}
	evs, err := s.rd.Events(ctx, id, 0)
	if err != nil {
		return err
	}
	if fs.json {
		return printJSON(e, control.JobDetail{Job: j, Events: nonNil(evs)})
	}
	fmt.Fprintf(e.stdout, "job %s · agent %s · %s · %s\nstarted %s · finished %s · %s · %d turns · session %s\n",
		j.ID, j.Agent, j.Trigger, j.Status, stamp(j.Started), stamp(j.Finished), bot.USD(j.CostUSD), j.Turns, j.SessionID)
	if j.Error != "" {
		fmt.Fprintf(e.stdout, "error: %s\n", j.Error)
	}
	fmt.Fprintf(e.stdout, "prompt: %s\n\n", j.Prompt)
	for _, ev := range evs {
		fmt.Fprintln(e.stdout, eventLine(ev, ""))
	}
	return nil
}

func cmdLogs(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("logs", e, true)
	follow := fs.Bool("f", false, "follow: keep printing new events (needs the running herdbot)")
	job := fs.String("job", "", "only this job")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if !*follow && *job == "" {
		return errors.New("logs: without -f, name a job with --job ID (or see `herdbot jobs`)")
	}
	s, err := openSession(ctx, e, fs)
	if err != nil {
		return err
	}
	defer s.close()
	agent := first(pos)
	if err := s.checkAgent(agent, false); err != nil {
		return err
	}
	if *job != "" {
		if _, err := s.rd.Job(ctx, *job); errors.Is(err, agents.ErrNotFound) {
			return noJob(ctx, s.rd, *job)
		} else if err != nil {
			return err
		}
	}
	print := func(ev agents.JobEvent, raw json.RawMessage) error {
		if fs.json {
			_, err := fmt.Fprintln(e.stdout, string(raw))
			return err
		}
		_, err := fmt.Fprintln(e.stdout, eventLine(ev, s.approveCmd()))
		return err
	}
	if !*follow {
		evs, err := s.rd.Events(ctx, *job, 0)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			raw, _ := json.Marshal(ev)
			if err := print(ev, raw); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.needService("logs -f"); err != nil {
		return err
	}
	q := url.Values{"follow": {"1"}}
	if *job != "" {
		q.Set("job", *job)
	}
	if agent != "" {
		q.Set("agent", agent)
	}
	return s.client.Stream(ctx, "GET", "/v1/events?"+q.Encode(), nil, func(raw json.RawMessage) error {
		var ev agents.JobEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return err
		}
		return print(ev, raw)
	})
}

// approveCmd is the approve command line for this fleet, a format with
// one %s for "ID CHOICE".
func (s *session) approveCmd() string {
	c := selfCommand() + " approve %s"
	if s.cfg != nil {
		c += " -c " + strings.ReplaceAll(shellQuote(s.cfg.Path), "%", "%%")
	}
	return c
}

func cmdTrigger(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("trigger", e, true)
	prompt := fs.String("p", "", "prompt (default: the agent's default_prompt)")
	schedule := fs.String("schedule", "", "run this schedule now (its prompt and report target)")
	wait := fs.Bool("wait", false, "follow the job as `logs -f` does until it ends, then print its answer (Ctrl-C detaches; the job goes on)")
	name, err := fs.one(args, "one agent name")
	if err != nil {
		return err
	}
	cfg, err := config.Load(fs.config)
	if err != nil {
		return err
	}
	a := cfg.Agent(name)
	if a == nil {
		return unknownAgent(cfg, name)
	}
	if *schedule != "" {
		var names []string
		for _, sc := range a.Schedules {
			names = append(names, sc.Name)
		}
		if !slices.Contains(names, *schedule) {
			msg := fmt.Sprintf("agent %s has no schedule %q; its schedules: %s", a.Name, *schedule, strings.Join(names, ", "))
			if len(names) == 0 {
				msg = fmt.Sprintf("agent %s has no schedules", a.Name)
			} else if sg := suggest(*schedule, names); sg != "" {
				msg += " (did you mean " + sg + "?)"
			}
			return errors.New(msg)
		}
	}
	p := *prompt
	if p == "" && *schedule == "" {
		p = a.DefaultPrompt
		if p == "" {
			return fmt.Errorf("trigger: agent %s has no default_prompt; give one with -p", a.Name)
		}
	}
	s := &session{cfg: cfg, client: control.NewClient(filepath.Join(cfg.StateDir, "herdbot.sock")), close: func() {}}
	s.rd = apiReader{s.client}
	if *schedule != "" {
		return triggerSchedule(ctx, e, fs, s, a.Name, *schedule)
	}
	req := control.TriggerRequest{Agent: a.Name, Prompt: p}
	var res control.TriggerResponse
	if err := s.client.Call(ctx, "POST", "/v1/trigger", req, &res); err != nil {
		return err
	}
	id := res.Job.ID
	if !*wait {
		if fs.json {
			return printJSON(e, res)
		}
		fmt.Fprintf(e.stdout, "started job %s (follow it: herdbot logs -f --job %s)\n", id, id)
		return nil
	}
	if !fs.json {
		fmt.Fprintf(e.stderr, "started job %s; following it (Ctrl-C detaches, the job goes on)\n", id)
	}
	j, err := followJob(ctx, e, s, a.Name, id, !fs.json)
	if ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "\ndetached: job %s goes on. Follow it: herdbot logs -f --job %s · stop it: herdbot cancel %s\n", id, id, id)
		return nil
	}
	if err != nil {
		return err
	}
	evs, err := s.rd.Events(ctx, id, 0)
	if err != nil {
		return err
	}
	out := control.TriggerResponse{Job: j, Text: answerOf(evs), Denied: deniedOf(evs), Error: j.Error}
	return printOutcome(e, fs, out)
}

// triggerSchedule runs a schedule now and waits for it, showing its
// events meanwhile; Ctrl-C detaches.
func triggerSchedule(ctx context.Context, e stdio, fs *flags, s *session, agent, name string) error {
	if !fs.json {
		fmt.Fprintf(e.stderr, "running schedule %s of %s now (Ctrl-C detaches, the run goes on)\n", name, agent)
	}
	w := newWatch(e, s, agent, "", !fs.json)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	watched := make(chan struct{})
	go func() { defer close(watched); w.run(wctx) }()
	if err := w.ready(ctx); err != nil {
		return err
	}
	type answer struct {
		res control.TriggerResponse
		err error
	}
	done := make(chan answer, 1)
	go func() {
		var res control.TriggerResponse
		err := s.client.Call(ctx, "POST", "/v1/trigger", control.TriggerRequest{Agent: agent, Schedule: name, Wait: true}, &res)
		done <- answer{res, err}
	}()
	var a answer
	select {
	case a = <-done:
	case <-ctx.Done():
	}
	stop()
	<-watched
	if ctx.Err() != nil {
		if id := w.jobID(); id == "" {
			fmt.Fprintf(e.stderr, "\ndetached: schedule %s of %s goes on (herdbot jobs %s lists its job)\n", name, agent, agent)
		} else {
			fmt.Fprintf(e.stderr, "\ndetached: job %s goes on. Follow it: herdbot logs -f --job %s · stop it: herdbot cancel %s\n", id, id, id)
		}
		return nil
	}
	if a.err != nil {
		return a.err
	}
	return printOutcome(e, fs, a.res)
}

// followJob prints job id's events as they come (show) until it ends,
// and returns its final row.
func followJob(ctx context.Context, e stdio, s *session, agent, id string, show bool) (agents.Job, error) {
	w := newWatch(e, s, agent, id, show)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	watched := make(chan struct{})
	go func() { defer close(watched); w.run(wctx) }()
	defer func() { stop(); <-watched }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return agents.Job{}, ctx.Err()
		case <-tick.C:
			j, err := s.rd.Job(ctx, id)
			if err != nil {
				if ctx.Err() != nil {
					return agents.Job{}, ctx.Err()
				}
				return agents.Job{}, err
			}
			if j.Status.Final() {
				stop()
				<-watched
				// Events recorded before the live stream began, and the
				// last ones, from the store.
				if evs, err := s.rd.Events(ctx, id, 0); err == nil {
					w.print(evs)
				}
				return j, nil
			}
		}
	}
}

// watch shows a triggered run as it goes: its events from the live
// stream, and every approval it waits for with the line that decides it.
// Approvals are also looked up in the store every half second, so one is
// never missed, whenever the stream began.
type watch struct {
	e     stdio
	s     *session
	agent string
	show  bool
	since time.Time
	open  chan struct{} // closed once the live stream follows
	fail  chan error    // the stream could not be opened

	mu        sync.Mutex
	job       string // the job followed ("" until the schedule's first event)
	printed   map[string]bool
	announced map[string]bool // approval ids shown
}

func newWatch(e stdio, s *session, agent, job string, show bool) *watch {
	return &watch{e: e, s: s, agent: agent, job: job, show: show, since: time.Now().Add(-time.Second),
		open: make(chan struct{}), fail: make(chan error, 1), printed: map[string]bool{}, announced: map[string]bool{}}
}

func (w *watch) jobID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.job
}

// ready waits until the live stream follows.
func (w *watch) ready(ctx context.Context) error {
	select {
	case <-w.open:
		return nil
	case err := <-w.fail:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run follows the agent's events and its pending approvals until ctx is
// done.
func (w *watch) run(ctx context.Context) {
	q := url.Values{"follow": {"1"}, "agent": {w.agent}}
	if id := w.jobID(); id != "" {
		q.Set("job", id)
	}
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		err := w.s.client.StreamReady(ctx, "GET", "/v1/events?"+q.Encode(), nil, func() { close(w.open) }, func(raw json.RawMessage) error {
			var ev agents.JobEvent
			if json.Unmarshal(raw, &ev) == nil {
				w.print([]agents.JobEvent{ev})
			}
			return nil
		})
		if err != nil {
			w.fail <- err
		}
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			<-streamed
			return
		case <-tick.C:
			w.approvals(ctx)
		}
	}
}

// print shows the events of the followed job not shown yet (a schedule's
// job is its first event's after the trigger).
func (w *watch) print(evs []agents.JobEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ev := range evs {
		if w.job == "" && ev.Kind == "prompt" && !ev.Time.Before(w.since) {
			w.job = ev.JobID
		}
		key := ev.JobID + "#" + strconv.Itoa(ev.Seq)
		if ev.JobID != w.job || w.printed[key] {
			continue
		}
		w.printed[key] = true
		if ev.Kind == "approval_requested" {
			var d struct{ Approval string }
			if json.Unmarshal(ev.Data, &d) == nil {
				if w.announced[d.Approval] {
					continue
				}
				w.announced[d.Approval] = true
			}
		}
		if w.show && ev.Kind != string(agents.EventPartial) {
			fmt.Fprintln(w.e.stderr, eventLine(ev, w.s.approveCmd()))
		}
	}
}

// approvals shows the pending approvals of the followed job (of the
// agent's runs since the trigger, before the job is known) not shown yet.
func (w *watch) approvals(ctx context.Context) {
	as, err := w.s.rd.Approvals(ctx, w.agent, true, 100)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(as) - 1; i >= 0; i-- { // oldest first
		a := as[i]
		if w.announced[a.ID] || (w.job != "" && a.JobID != w.job) || (w.job == "" && a.Requested.Before(w.since)) {
			continue
		}
		if w.job == "" {
			w.job = a.JobID
		}
		w.announced[a.ID] = true
		if w.show {
			fmt.Fprintf(w.e.stderr, "%s %s 🔐 approval %s for %s pending: %s\n", a.Requested.Local().Format("15:04:05.000"), a.JobID, a.ID, a.Tool,
				fmt.Sprintf(w.s.approveCmd(), a.ID+" once|session|deny"))
		}
	}
}

// answerOf is the agent's last text of a job's transcript.
func answerOf(evs []agents.JobEvent) string {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == "result" {
			var r struct {
				Result string `json:"result"`
			}
			if json.Unmarshal(evs[i].Data, &r) == nil && r.Result != "" {
				return r.Result
			}
		}
		if evs[i].Kind == "text" {
			var d map[string]any
			if json.Unmarshal(evs[i].Data, &d) == nil {
				msg, _ := d["message"].(map[string]any)
				blocks, _ := msg["content"].([]any)
				var parts []string
				for _, b := range blocks {
					if m, ok := b.(map[string]any); ok && m["type"] == "text" {
						t, _ := m["text"].(string)
						parts = append(parts, t)
					}
				}
				if len(parts) > 0 {
					return strings.Join(parts, "\n")
				}
			}
		}
	}
	return ""
}

// deniedOf lists the tools denied because no approver could be reached.
func deniedOf(evs []agents.JobEvent) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind != "approval" {
			continue
		}
		var d struct {
			Tool, Decision, By string
		}
		if json.Unmarshal(ev.Data, &d) == nil && (d.Decision == string(agents.Denied) || d.Decision == "deny") && d.By == "policy" { // "deny": recorded before the one Verdict type
			out = append(out, d.Tool)
		}
	}
	return out
}

func printOutcome(e stdio, fs *flags, res control.TriggerResponse) error {
	if fs.json {
		return printJSON(e, res)
	}
	fmt.Fprintf(e.stdout, "job %s %s · %s · %d turns\n", res.Job.ID, res.Job.Status, bot.USD(res.Job.CostUSD), res.Job.Turns)
	if len(res.Denied) > 0 {
		fmt.Fprintf(e.stdout, "denied (no approver reachable): %s\n", strings.Join(res.Denied, ", "))
	}
	if res.Text != "" {
		fmt.Fprintln(e.stdout, res.Text)
	}
	if res.Error != "" {
		return errors.New(res.Error)
	}
	return nil
}

func cmdCancel(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("cancel", e, false)
	id, err := fs.one(args, "a job id")
	if err != nil {
		return err
	}
	c, err := dial(fs)
	if err != nil {
		return err
	}
	if err := c.Call(ctx, "POST", "/v1/jobs/"+url.PathEscape(id)+"/cancel", struct{}{}, nil); err != nil {
		var ae *control.APIError
		if errors.As(err, &ae) && ae.Status == 404 {
			return noJob(ctx, apiReader{c}, id)
		}
		return err
	}
	// Wait (up to 5 s) for the job to reach a final state, so the command
	// means "stopped", not "asked to stop".
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var d control.JobDetail
		if err := c.Call(ctx, "GET", "/v1/jobs/"+url.PathEscape(id), nil, &d); err == nil && d.Job.Status.Final() {
			fmt.Fprintf(e.stdout, "job %s %s\n", d.Job.ID, d.Job.Status)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("cancel: job %s did not stop within 5 s", id)
}

func cmdSessions(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("sessions", e, true)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	s, err := openSession(ctx, e, fs)
	if err != nil {
		return err
	}
	defer s.close()
	agent := first(pos)
	cs, err := s.rd.Conversations(ctx, agent)
	if err != nil {
		return err
	}
	if err := s.checkAgent(agent, len(cs) > 0); err != nil {
		return err
	}
	return list(e, fs, cs, "No sessions yet"+forAgent(agent)+".",
		"AGENT\tCONVERSATION\tSESSION\tLAST ACTIVE", func(c agents.Conversation) []string {
			return []string{c.Agent, c.Key, c.SessionID, stamp(c.LastActive)}
		})
}

func cmdApprovals(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("approvals", e, true)
	pending := fs.Bool("pending", false, "only pending requests")
	agent := fs.String("agent", "", "only this agent")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if *agent == "" && len(pos) == 1 {
		*agent = pos[0]
	}
	s, err := openSession(ctx, e, fs)
	if err != nil {
		return err
	}
	defer s.close()
	as, err := s.rd.Approvals(ctx, *agent, *pending, 100)
	if err != nil {
		return err
	}
	if err := s.checkAgent(*agent, len(as) > 0); err != nil {
		return err
	}
	what := "approval requests"
	if *pending {
		what = "pending approval requests"
	}
	return list(e, fs, as, "No "+what+forAgent(*agent)+".",
		"ID\tAGENT\tJOB\tTOOL\tSTATUS\tREQUESTED\tEXPIRES\tDECIDED BY\tINPUT", func(a agents.Approval) []string {
			return []string{a.ID, a.Agent, a.JobID, a.Tool, fmt.Sprint(a.Status), stamp(a.Requested), stamp(a.Expires), a.DecidedBy, oneLine(toolInputText(a.Input), 60)}
		})
}

func cmdApprove(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("approve", e, true)
	reason := fs.String("reason", "", "reason (shown to the agent on deny)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return errors.New("approve: need an approval id and once, session or deny")
	}
	if _, ok := agents.ParseChoice(pos[1]); !ok {
		return fmt.Errorf("approve: %q is not a choice: once (this time), session (this exact input again in the session) or deny", pos[1])
	}
	c, err := dial(fs)
	if err != nil {
		return err
	}
	var a agents.Approval
	if err := c.Call(ctx, "POST", "/v1/approvals/"+url.PathEscape(pos[0]),
		control.ApproveRequest{Choice: pos[1], Reason: *reason}, &a); err != nil {
		return err
	}
	if fs.json {
		return printJSON(e, a)
	}
	fmt.Fprintf(e.stdout, "approval %s: %s (tool %s, agent %s)\n", a.ID, a.Status, a.Tool, a.Agent)
	return nil
}

func cmdChat(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("chat", e, false)
	agent, err := fs.one(args, "one agent name")
	if err != nil {
		return err
	}
	cfg, err := config.Load(fs.config)
	if err != nil {
		return err
	}
	if cfg.Agent(agent) == nil {
		return unknownAgent(cfg, agent)
	}
	c := control.NewClient(filepath.Join(cfg.StateDir, "herdbot.sock"))
	if err := c.Running(ctx); err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	opened := make(chan struct{})
	go func() {
		var once sync.Once
		errc <- c.Stream(cctx, "GET", "/v1/chat?agent="+url.QueryEscape(agent), nil, func(raw json.RawMessage) error {
			once.Do(func() { close(opened) })
			var l console.Line
			if err := json.Unmarshal(raw, &l); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "[%s] %s\n", l.Agent, strings.ReplaceAll(l.Text, "\n", "\n    "))
			return nil
		})
	}()
	fmt.Fprintf(e.stdout, "Talking to %s through the running herdbot as %s (console user %q). /help lists what you can type; approve with /approve ID once|session|deny. Ctrl-D quits.\n",
		agent, operatorName(), console.Operator)
	hub := lineReader(e.stdin)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case line, ok := <-hub:
			if !ok {
				return nil
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			if err := c.Call(ctx, "POST", "/v1/chat", control.ChatRequest{Agent: agent, Text: line}, nil); err != nil {
				return err
			}
		}
	}
}

func cmdSchedules(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("schedules", e, true)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	s, err := openSession(ctx, e, fs)
	if err != nil {
		return err
	}
	defer s.close()
	agent := first(pos)
	if agent != "" && s.cfg != nil && s.cfg.Agent(agent) == nil {
		return unknownAgent(s.cfg, agent)
	}
	infos, err := s.rd.Schedules(ctx, time.Now())
	if err != nil {
		return err
	}
	if agent != "" {
		kept := infos[:0]
		for _, i := range infos {
			if i.Schedule.Agent == agent {
				kept = append(kept, i)
			}
		}
		infos = kept
	}
	if s.offline && !fs.json && len(infos) > 0 {
		fmt.Fprintln(e.stderr, "(the next times are when they would fire: schedules fire only while herdbot runs)")
	}
	return list(e, fs, infos, "No schedules"+forAgent(agent)+".",
		"AGENT\tSCHEDULE\tTYPE\tNEXT (3)\tLAST RUN\tLAST OUTCOME\tLAST JOB", func(i sched.Info) []string {
			loc := time.Local
			if s.cfg != nil && s.cfg.Timezone != nil {
				loc = s.cfg.Timezone
			}
			if a := s.cfgAgent(i.Schedule.Agent); a != nil {
				for _, sc := range a.Schedules {
					if sc.Name == i.Schedule.Name && sc.Timezone != nil {
						loc = sc.Timezone
					}
				}
			}
			next := make([]string, 0, len(i.Next))
			for _, t := range i.Next {
				next = append(next, t.In(loc).Format("01-02 15:04 MST"))
			}
			if !i.Schedule.Enabled {
				next = []string{"disabled"}
			} else if len(next) == 0 {
				next = []string{"-"}
			}
			return []string{i.Schedule.Agent, i.Schedule.Name, fmt.Sprint(i.Schedule.Type),
				strings.Join(next, ", "), stamp(i.LastRun), firstOf(i.LastStatus, "-"), firstOf(i.LastJob, "-")}
		})
}

// cfgAgent is the fleet file's agent name, or nil.
func (s *session) cfgAgent(name string) *config.Agent {
	if s.cfg == nil {
		return nil
	}
	return s.cfg.Agent(name)
}

func cmdAudit(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("audit", e, true)
	agent := fs.String("agent", "", "only this agent")
	action := fs.String("action", "", "only actions starting with this (approval., control., egress.denied, …)")
	subject := fs.String("subject", "", "only this subject (an approval or job id, host:port, …)")
	limit := fs.Int("limit", 50, "how many entries")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if *agent == "" && len(pos) == 1 {
		*agent = pos[0]
	}
	s, err := openSession(ctx, e, fs)
	if err != nil {
		return err
	}
	defer s.close()
	es, err := s.rd.AuditLog(ctx, store.AuditFilter{Agent: *agent, ActionPrefix: *action, Subject: *subject, Limit: *limit})
	if err != nil {
		return err
	}
	if err := s.checkAgent(*agent, len(es) > 0); err != nil {
		return err
	}
	return list(e, fs, es, "No audit entries"+forAgent(*agent)+".",
		"TIME\tAGENT\tACTOR\tACTION\tSUBJECT\tDETAIL", func(a agents.AuditEntry) []string {
			return []string{stamp(a.Time), firstOf(a.Agent, "-"), a.Actor, a.Action, a.Subject, oneLine(plainJSON(json.RawMessage(a.Detail)), 80)}
		})
}
