package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/internal/control"
	"github.com/herdbot/herdbot/sched"
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

func printJSON(e env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// list GETs path with query q from the running service into out, then
// prints it as JSON (--json) or as a table with the given header.
func list(ctx context.Context, e env, fs *flags, path string, q url.Values, out any, header string, rows func(tw *tabwriter.Writer)) error {
	c, err := dial(fs)
	if err != nil {
		return err
	}
	if err := c.Call(ctx, "GET", path+"?"+q.Encode(), nil, out); err != nil {
		return err
	}
	if fs.json {
		return printJSON(e, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	return tw.Flush()
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func cmdJobs(ctx context.Context, e env, args []string) error {
	fs := newFlags("jobs", e, true)
	limit := fs.Int("limit", 20, "how many jobs")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if len(pos) > 0 {
		q.Set("agent", pos[0])
	}
	var js []agents.Job
	return list(ctx, e, fs, "/v1/jobs", q, &js, "JOB\tAGENT\tTRIGGER\tSTATUS\tSTARTED\tCOST\tTURNS\tPROMPT", func(tw *tabwriter.Writer) {
		for _, j := range js {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t$%.4f\t%d\t%s\n", j.ID, j.Agent, j.Trigger, j.Status, ago(j.Started), j.CostUSD, j.Turns, oneLine(j.Prompt, 50))
		}
	})
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func cmdJob(ctx context.Context, e env, args []string) error {
	fs := newFlags("job", e, true)
	id, err := fs.one(args, "a job id")
	if err != nil {
		return err
	}
	c, err := dial(fs)
	if err != nil {
		return err
	}
	var d control.JobDetail
	if err := c.Call(ctx, "GET", "/v1/jobs/"+url.PathEscape(id), nil, &d); err != nil {
		return err
	}
	if fs.json {
		return printJSON(e, d)
	}
	j := d.Job
	fmt.Fprintf(e.stdout, "job %s · agent %s · %s · %s\nstarted %s · finished %s · $%.4f · %d turns · session %s\n",
		j.ID, j.Agent, j.Trigger, j.Status, ago(j.Started), ago(j.Finished), j.CostUSD, j.Turns, j.SessionID)
	if j.Error != "" {
		fmt.Fprintf(e.stdout, "error: %s\n", j.Error)
	}
	fmt.Fprintf(e.stdout, "prompt: %s\n\n", j.Prompt)
	for _, ev := range d.Events {
		printEvent(e, ev)
	}
	return nil
}

func printEvent(e env, ev agents.JobEvent) {
	fmt.Fprintf(e.stdout, "%s %s #%d %-18s %s\n", ev.Time.Local().Format("15:04:05.000"), ev.JobID, ev.Seq, ev.Kind, oneLine(string(ev.Data), 160))
}

func cmdLogs(ctx context.Context, e env, args []string) error {
	fs := newFlags("logs", e, true)
	follow := fs.Bool("f", false, "follow: keep printing new events")
	job := fs.String("job", "", "only this job")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	c, err := dial(fs)
	if err != nil {
		return err
	}
	q := url.Values{}
	if *job != "" {
		q.Set("job", *job)
	}
	if len(pos) > 0 {
		q.Set("agent", pos[0])
	}
	if *follow {
		q.Set("follow", "1")
	} else if *job == "" {
		return errors.New("logs: without -f, name a job with --job ID (or see `herdbot jobs`)")
	}
	return c.Stream(ctx, "GET", "/v1/events?"+q.Encode(), nil, func(raw json.RawMessage) error {
		if fs.json {
			_, err := fmt.Fprintln(e.stdout, string(raw))
			return err
		}
		var ev agents.JobEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return err
		}
		printEvent(e, ev)
		return nil
	})
}

func cmdTrigger(ctx context.Context, e env, args []string) error {
	fs := newFlags("trigger", e, true)
	prompt := fs.String("p", "", "prompt (default: the agent's default_prompt)")
	schedule := fs.String("schedule", "", "run this schedule now (its prompt and report target)")
	wait := fs.Bool("wait", false, "wait for the job to end and print its answer")
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
		return fmt.Errorf("trigger: no agent %q in %s", name, cfg.Path)
	}
	p := *prompt
	if p == "" && *schedule == "" {
		p = a.DefaultPrompt
		if p == "" {
			return fmt.Errorf("trigger: agent %s has no default_prompt; give one with -p", a.Name)
		}
	}
	c := control.NewClient(filepath.Join(cfg.StateDir, "herdbot.sock"))
	req := control.TriggerRequest{Agent: a.Name, Prompt: p, Schedule: *schedule, Wait: *wait || *schedule != ""}
	if !req.Wait {
		var res control.TriggerResponse
		if err := c.Call(ctx, "POST", "/v1/trigger", req, &res); err != nil {
			return err
		}
		if fs.json {
			return printJSON(e, res)
		}
		fmt.Fprintf(e.stdout, "started job %s (follow it: herdbot logs -f --job %s)\n", res.Job.ID, res.Job.ID)
		return nil
	}
	// Show progress while waiting: follow the agent's events.
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	if !fs.json {
		go func() {
			defer close(done)
			_ = c.Stream(pctx, "GET", "/v1/events?follow=1&agent="+url.QueryEscape(a.Name), nil, func(raw json.RawMessage) error {
				var ev agents.JobEvent
				if json.Unmarshal(raw, &ev) == nil && ev.Kind != string(agents.EventPartial) {
					fmt.Fprintf(e.stderr, "… %s %s\n", ev.Kind, oneLine(string(ev.Data), 100))
				}
				return nil
			})
		}()
	} else {
		close(done)
	}
	var res control.TriggerResponse
	err = c.Call(ctx, "POST", "/v1/trigger", req, &res)
	stop()
	<-done
	if err != nil {
		return err
	}
	if fs.json {
		return printJSON(e, res)
	}
	fmt.Fprintf(e.stdout, "job %s %s · $%.4f · %d turns\n", res.Job.ID, res.Job.Status, res.Job.CostUSD, res.Job.Turns)
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

func cmdCancel(ctx context.Context, e env, args []string) error {
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

func cmdSessions(ctx context.Context, e env, args []string) error {
	fs := newFlags("sessions", e, true)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	q := url.Values{}
	if len(pos) > 0 {
		q.Set("agent", pos[0])
	}
	var cs []agents.Conversation
	return list(ctx, e, fs, "/v1/sessions", q, &cs, "AGENT\tCONVERSATION\tSESSION\tLAST ACTIVE", func(tw *tabwriter.Writer) {
		for _, s := range cs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Agent, s.Key, s.SessionID, ago(s.LastActive))
		}
	})
}

func cmdApprovals(ctx context.Context, e env, args []string) error {
	fs := newFlags("approvals", e, true)
	pending := fs.Bool("pending", false, "only pending requests")
	agent := fs.String("agent", "", "only this agent")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	q := url.Values{}
	if *pending {
		q.Set("pending", "1")
	}
	if *agent != "" {
		q.Set("agent", *agent)
	}
	var as []agents.Approval
	return list(ctx, e, fs, "/v1/approvals", q, &as, "ID\tAGENT\tJOB\tTOOL\tSTATUS\tREQUESTED\tEXPIRES\tDECIDED BY\tINPUT", func(tw *tabwriter.Writer) {
		for _, a := range as {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Agent, a.JobID, a.Tool, a.Status, ago(a.Requested), ago(a.Expires), a.DecidedBy, oneLine(string(a.Input), 60))
		}
	})
}

func cmdApprove(ctx context.Context, e env, args []string) error {
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
		return fmt.Errorf("approve: %q is not once, session or deny", pos[1])
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

func cmdChat(ctx context.Context, e env, args []string) error {
	fs := newFlags("chat", e, false)
	agent, err := fs.one(args, "one agent name")
	if err != nil {
		return err
	}
	c, err := dial(fs)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- c.Stream(cctx, "GET", "/v1/chat?agent="+url.QueryEscape(agent), nil, func(raw json.RawMessage) error {
			var l console.Line
			if err := json.Unmarshal(raw, &l); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "[%s] %s\n", l.Agent, l.Text)
			return nil
		})
	}()
	fmt.Fprintf(e.stdout, "Talking to %s through the running herdbot. /help for commands, /approve ID once|session|deny for approvals, Ctrl-D to quit.\n", agent)
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

func cmdSchedules(ctx context.Context, e env, args []string) error {
	fs := newFlags("schedules", e, true)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	c, err := dial(fs)
	if err != nil {
		return err
	}
	var infos []sched.Info
	if err := c.Call(ctx, "GET", "/v1/schedules", nil, &infos); err != nil {
		return err
	}
	if len(pos) > 0 {
		kept := infos[:0]
		for _, i := range infos {
			if i.Schedule.Agent == pos[0] {
				kept = append(kept, i)
			}
		}
		infos = kept
	}
	if fs.json {
		return printJSON(e, infos)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tSCHEDULE\tTYPE\tNEXT (3)\tLAST RUN\tLAST OUTCOME\tLAST JOB")
	for _, i := range infos {
		next := make([]string, 0, len(i.Next))
		for _, t := range i.Next {
			next = append(next, t.Local().Format("01-02 15:04"))
		}
		if !i.Schedule.Enabled {
			next = []string{"disabled"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i.Schedule.Agent, i.Schedule.Name, i.Schedule.Type,
			strings.Join(next, ", "), ago(i.LastRun), i.LastStatus, i.LastJob)
	}
	return tw.Flush()
}
