package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/internal/control"
	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/store"
)

// reader is where the reading commands (jobs, job, logs, sessions,
// approvals, schedules, audit) read: the running herdbot's control API or,
// when herdbot is not running, its SQLite file opened read-only (no lock
// taken, nothing written: a herdbot starting meanwhile is not disturbed).
type reader interface {
	Jobs(ctx context.Context, f agents.JobFilter) ([]agents.Job, error)
	Job(ctx context.Context, id string) (agents.Job, error)
	Events(ctx context.Context, jobID string, afterSeq int) ([]agents.JobEvent, error)
	Conversations(ctx context.Context, agent string) ([]agents.Conversation, error)
	Approvals(ctx context.Context, agent string, pendingOnly bool, limit int) ([]agents.Approval, error)
	AuditLog(ctx context.Context, f store.AuditFilter) ([]agents.AuditEntry, error)
	Schedules(ctx context.Context, now time.Time) ([]sched.Info, error)
	Spend(ctx context.Context, q agents.SpendQuery) (float64, error)
}

// session is one reading command's view of herdbot: the fleet file (nil
// when it does not load but the service answers) and a reader.
type session struct {
	cfg     *config.Fleet
	rd      reader
	client  *control.Client // nil when offline
	offline bool
	close   func()
}

// openSession loads the fleet file and connects to the running herdbot,
// or, when it is not running, opens its database read-only and says so
// on stderr.
func openSession(ctx context.Context, e stdio, fs *flags) (*session, error) {
	cfg, cerr := config.Load(fs.config)
	var c *control.Client
	switch {
	case cerr == nil:
		c = control.NewClient(filepath.Join(cfg.StateDir, "herdbot.sock"))
	default:
		// A broken file on disk must not lock the operator out of the
		// running service: try the default state dir beside the fleet file.
		sock := defaultSocket(fs.config)
		if sock == "" {
			return nil, cerr
		}
		if _, err := os.Stat(sock); err != nil {
			return nil, cerr
		}
		c = control.NewClient(sock)
	}
	err := c.Running(ctx)
	if err == nil {
		return &session{cfg: cfg, rd: apiReader{c}, client: c, close: func() {}}, nil
	}
	if !errors.Is(err, control.ErrNotRunning) || cfg == nil {
		if cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	dbPath := filepath.Join(cfg.StateDir, "herdbot.db")
	db, err := store.OpenReadOnly(ctx, dbPath, nil)
	if err != nil {
		if errors.Is(err, store.ErrNoDatabase) {
			return nil, fmt.Errorf("herdbot is not running, and has never run with %s: no database at %s", cfg.Path, dbPath)
		}
		return nil, fmt.Errorf("herdbot is not running; reading its database: %w", err)
	}
	fmt.Fprintf(e.stderr, "herdbot is not running: read from %s (read-only)\n", dbPath)
	return &session{cfg: cfg, rd: dbReader{db: db, cfg: cfg}, offline: true, close: func() { _ = db.Close() }}, nil
}

// needService is the error of a command that needs the running herdbot
// while it is stopped.
func (s *session) needService(what string) error {
	if s.offline {
		return fmt.Errorf("%s needs the running herdbot, and it is not running (start it with `herdbot start`)", what)
	}
	return nil
}

// agentNames are the fleet file's agents.
func agentNames(cfg *config.Fleet) []string {
	if cfg == nil {
		return nil
	}
	out := make([]string, 0, len(cfg.Agents))
	for _, a := range cfg.Agents {
		out = append(out, a.Name)
	}
	return out
}

// unknownAgent is the error for an agent the fleet does not have.
func unknownAgent(cfg *config.Fleet, name string) error {
	names := agentNames(cfg)
	msg := fmt.Sprintf("no agent %q in %s; agents: %s", name, cfg.Path, strings.Join(names, ", "))
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return errors.New(msg)
}

// checkAgent returns an error naming the fleet's agents when name is not
// one of them and has nothing recorded (a removed agent's history is still
// shown). had says whether anything was found for it.
func (s *session) checkAgent(name string, had bool) error {
	if name == "" || s.cfg == nil || had || slices.Contains(agentNames(s.cfg), name) {
		return nil
	}
	return unknownAgent(s.cfg, name)
}

// suggest is the option closest to s (at most two edits away, or s is a
// prefix of it), or "".
func suggest(s string, options []string) string {
	best, bestD := "", 3
	for _, o := range options {
		d := editDistance(strings.ToLower(s), strings.ToLower(o))
		if len(s) >= 2 && strings.HasPrefix(o, s) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = o, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// apiReader reads through the control API.
type apiReader struct{ c *control.Client }

func (r apiReader) Jobs(ctx context.Context, f agents.JobFilter) ([]agents.Job, error) {
	q := url.Values{"limit": {strconv.Itoa(f.Limit)}}
	if f.Agent != "" {
		q.Set("agent", f.Agent)
	}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	var js []agents.Job
	return js, r.c.Call(ctx, "GET", "/v1/jobs?"+q.Encode(), nil, &js)
}

func (r apiReader) Job(ctx context.Context, id string) (agents.Job, error) {
	var d control.JobDetail
	err := r.c.Call(ctx, "GET", "/v1/jobs/"+url.PathEscape(id), nil, &d)
	var ae *control.APIError
	if errors.As(err, &ae) && ae.Status == 404 {
		return agents.Job{}, fmt.Errorf("job %s: %w", id, agents.ErrNotFound)
	}
	return d.Job, err
}

func (r apiReader) Events(ctx context.Context, jobID string, afterSeq int) ([]agents.JobEvent, error) {
	var d control.JobDetail
	if err := r.c.Call(ctx, "GET", "/v1/jobs/"+url.PathEscape(jobID), nil, &d); err != nil {
		return nil, err
	}
	out := d.Events[:0]
	for _, ev := range d.Events {
		if ev.Seq > afterSeq {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (r apiReader) Conversations(ctx context.Context, agent string) ([]agents.Conversation, error) {
	var cs []agents.Conversation
	return cs, r.c.Call(ctx, "GET", "/v1/sessions?"+url.Values{"agent": {agent}}.Encode(), nil, &cs)
}

func (r apiReader) Approvals(ctx context.Context, agent string, pendingOnly bool, limit int) ([]agents.Approval, error) {
	q := url.Values{"agent": {agent}}
	if pendingOnly {
		q.Set("pending", "1")
	}
	var as []agents.Approval
	return as, r.c.Call(ctx, "GET", "/v1/approvals?"+q.Encode(), nil, &as)
}

func (r apiReader) AuditLog(ctx context.Context, f store.AuditFilter) ([]agents.AuditEntry, error) {
	q := url.Values{"agent": {f.Agent}, "action": {f.ActionPrefix}, "subject": {f.Subject}, "limit": {strconv.Itoa(f.Limit)}}
	var es []agents.AuditEntry
	return es, r.c.Call(ctx, "GET", "/v1/audit?"+q.Encode(), nil, &es)
}

func (r apiReader) Schedules(ctx context.Context, now time.Time) ([]sched.Info, error) {
	var infos []sched.Info
	return infos, r.c.Call(ctx, "GET", "/v1/schedules", nil, &infos)
}

// dbReader reads the stopped herdbot's database; schedules come from the
// fleet file and their recorded state.
type dbReader struct {
	db  *store.DB
	cfg *config.Fleet
}

func (r dbReader) Jobs(ctx context.Context, f agents.JobFilter) ([]agents.Job, error) {
	return r.db.Jobs(ctx, f)
}

func (r dbReader) Job(ctx context.Context, id string) (agents.Job, error) { return r.db.Job(ctx, id) }

func (r dbReader) Events(ctx context.Context, jobID string, afterSeq int) ([]agents.JobEvent, error) {
	return r.db.Events(ctx, jobID, afterSeq)
}

func (r dbReader) Conversations(ctx context.Context, agent string) ([]agents.Conversation, error) {
	return r.db.Conversations(ctx, agent)
}

func (r dbReader) Approvals(ctx context.Context, agent string, pendingOnly bool, limit int) ([]agents.Approval, error) {
	return r.db.Approvals(ctx, agent, pendingOnly, limit)
}

func (r dbReader) AuditLog(ctx context.Context, f store.AuditFilter) ([]agents.AuditEntry, error) {
	return r.db.AuditLog(ctx, f)
}

// Schedules are the fleet file's schedules with their recorded last run;
// the next fire times are when they would fire, were herdbot running (an
// interval counts from the end of its last run).
func (r dbReader) Schedules(ctx context.Context, now time.Time) ([]sched.Info, error) {
	states, err := r.db.ScheduleStates(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[string]agents.ScheduleState{}
	for _, st := range states {
		byKey[st.Agent+"/"+st.Name] = st
	}
	var out []sched.Info
	for _, sc := range schedules(r.cfg) {
		sc.Secret = ""
		st := byKey[sc.Agent+"/"+sc.Name]
		in := sched.Info{Schedule: sc, LastRun: st.LastRun, LastStatus: st.LastStatus, LastJob: st.LastJob}
		if sc.Enabled {
			switch {
			case sc.Type == sched.TypeInterval && !st.LastRun.IsZero() && st.LastRun.Add(sc.Interval).After(now):
				due := st.LastRun.Add(sc.Interval)
				in.Next = append([]time.Time{due}, sched.NextRuns(sc, due, 2)...)
			case sc.Type == sched.TypeAt && !st.LastRun.Before(sc.At):
			default:
				in.Next = sched.NextRuns(sc, now, 3)
			}
		}
		out = append(out, in)
	}
	return out, nil
}
