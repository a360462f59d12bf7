// Package control is herdbot's control API: HTTP over a unix socket in the
// state directory (mode 0600, no TCP), used by the herdbot CLI subcommands
// (jobs, job, logs, trigger, cancel, sessions, approvals, approve, chat,
// schedules) to talk to a running `herdbot start`.
//
// Every caller is identified by the socket's peer credentials (uid, pid),
// never by anything in the request. Only herdbot's own uid and root are
// served; any other caller gets a 403 and an audit row (control.refused).
// The peer is the actor of what it does: the decision of an approval, and
// a control.cancel, control.trigger or control.chat audit row.
package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/store"
)

// Fleet is what the control API needs of the fleet.
type Fleet interface {
	Run(ctx context.Context, req agents.RunRequest) (agents.RunResult, error)
	Cancel(jobID string) error
	Decide(ctx context.Context, approvalID, choice, actor, reason string) (agents.Approval, error)
	Subscribe() (<-chan agents.JobEvent, func())
}

// Store is what the control API reads, and where it audits.
type Store interface {
	Audit(ctx context.Context, e agents.AuditEntry) error
	Jobs(ctx context.Context, f agents.JobFilter) ([]agents.Job, error)
	Job(ctx context.Context, id string) (agents.Job, error)
	Events(ctx context.Context, jobID string, afterSeq int) ([]agents.JobEvent, error)
	Conversations(ctx context.Context, agent string) ([]agents.Conversation, error)
	Approvals(ctx context.Context, agent string, pendingOnly bool, limit int) ([]agents.Approval, error)
	AuditLog(ctx context.Context, f store.AuditFilter) ([]agents.AuditEntry, error)
	Spend(ctx context.Context, q agents.SpendQuery) (float64, error)
}

// LossRecorder counts records the store did not take (metrics.Metrics
// implements it).
type LossRecorder interface {
	RecordLost(record string)
}

// Console is the local chat hub `herdbot chat` talks through.
type Console interface {
	InputAs(ctx context.Context, agent, line string, u bot.User)
	Subscribe() (<-chan console.Line, func())
	Agents() []string
}

// Schedules lists schedules for `herdbot schedules`; the value is
// marshalled as JSON as it is.
type Schedules func(now time.Time) any

// TriggerSchedule runs a schedule now.
type TriggerSchedule func(ctx context.Context, agent, name string) (agents.RunResult, error)

// Workspaces reads the workspace an agent has on a remote engine (`herdbot
// workspace ls|get`). Paths are relative to the workspace; an
// implementation refuses one that leaves it.
type Workspaces interface {
	List(ctx context.Context, agent, dir string) ([]WorkspaceEntry, error)
	Get(ctx context.Context, agent, path string, w io.Writer, max int64) (int64, error)
}

// WorkspaceEntry is one entry of `herdbot workspace ls`.
type WorkspaceEntry struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	Mode    string    `json:"mode"`
	ModTime time.Time `json:"mtime"`
	Link    string    `json:"link,omitempty"`
}

// MaxWorkspaceGet is the largest file `herdbot workspace get` fetches.
const MaxWorkspaceGet = 64 << 20

// Server serves the control API.
type Server struct {
	Fleet   Fleet
	Store   Store
	Lost    LossRecorder    // nil: audit rows the store did not take are only logged
	Console Console         // nil: no `herdbot chat`
	List    Schedules       // nil: no schedules
	Trigger TriggerSchedule // nil: no `trigger --schedule`
	// Workspaces: nil, no `herdbot workspace`.
	Workspaces Workspaces
	Log        *slog.Logger
	wg         sync.WaitGroup
}

// Listen opens the unix socket at path with mode 0600, replacing a stale
// socket left by a crashed process but refusing one that answers.
func Listen(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s is in use: is herdbot already running?", path)
	}
	_ = os.Remove(path)
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod control socket: %w", err)
	}
	return ln, nil
}

// Serve serves on ln until ctx is done, then waits for its handlers.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs", s.jobs)
	mux.HandleFunc("GET /v1/jobs/{id}", s.job)
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", s.cancel)
	mux.HandleFunc("GET /v1/events", s.events)
	mux.HandleFunc("POST /v1/trigger", s.trigger)
	mux.HandleFunc("GET /v1/sessions", s.sessions)
	mux.HandleFunc("GET /v1/approvals", s.approvals)
	mux.HandleFunc("POST /v1/approvals/{id}", s.approve)
	mux.HandleFunc("POST /v1/chat", s.chatSend)
	mux.HandleFunc("GET /v1/chat", s.chatStream)
	mux.HandleFunc("GET /v1/schedules", s.schedules)
	mux.HandleFunc("GET /v1/audit", s.auditLog)
	mux.HandleFunc("GET /v1/spend", s.spend)
	mux.HandleFunc("GET /v1/workspace/{agent}/ls", s.workspaceList)
	mux.HandleFunc("GET /v1/workspace/{agent}/get", s.workspaceGet)
	srv := &http.Server{Handler: s.authorize(mux), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx },
		ConnContext: connContext}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		s.wg.Wait()
		return nil
	case err := <-errc:
		s.wg.Wait()
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("control API: %w", err)
	}
}

// authorize serves only callers whose uid is herdbot's own or root,
// refusing (403, audited) everyone else and callers whose credentials
// cannot be read.
func (s *Server) authorize(next http.Handler) http.Handler {
	own := os.Getuid()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := PeerFrom(r.Context())
		switch {
		case err != nil:
			s.refuse(w, r, "cli:unknown", err.Error())
		case p.UID != own && p.UID != 0:
			s.refuse(w, r, p.String(), fmt.Sprintf("uid %d is neither herdbot's (uid %d) nor root", p.UID, own))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, actor, why string) {
	s.Log.Warn("control socket caller refused", "actor", actor, "why", why, "request", r.Method+" "+r.URL.Path)
	detail, _ := json.Marshal(map[string]string{"reason": why})
	s.audit(r.Context(), agents.AuditEntry{Actor: actor, Action: "control.refused", Subject: r.Method + " " + r.URL.Path, Detail: string(detail)})
	w.Header().Set("Connection", "close")
	fail(w, http.StatusForbidden, errors.New("control socket: "+why))
}

// actor is the caller of r as it is recorded (authorize has checked it).
func actor(r *http.Request) string {
	p, err := PeerFrom(r.Context())
	if err != nil {
		return "cli:unknown"
	}
	return p.String()
}

// audit writes an audit row, logging (not failing) when it cannot.
func (s *Server) audit(ctx context.Context, e agents.AuditEntry) {
	e.Time = time.Now()
	if err := s.Store.Audit(context.WithoutCancel(ctx), e); err != nil {
		s.Log.Error("record lost: the store did not take it", "record", "audit", "action", e.Action, "err", err)
		if s.Lost != nil {
			s.Lost.RecordLost("audit")
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func notFoundOr500(w http.ResponseWriter, err error) {
	if errors.Is(err, agents.ErrNotFound) {
		fail(w, http.StatusNotFound, err)
		return
	}
	fail(w, http.StatusInternalServerError, err)
}

func (s *Server) jobs(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	js, err := s.Store.Jobs(r.Context(), agents.JobFilter{Agent: r.URL.Query().Get("agent"),
		Status: agents.JobStatus(r.URL.Query().Get("status")), Limit: limit})
	if err != nil {
		notFoundOr500(w, err)
		return
	}
	writeJSON(w, http.StatusOK, js)
}

// JobDetail is a job with its transcript.
type JobDetail struct {
	Job    agents.Job        `json:"job"`
	Events []agents.JobEvent `json:"events"`
}

func (s *Server) job(w http.ResponseWriter, r *http.Request) {
	j, err := s.Store.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		notFoundOr500(w, err)
		return
	}
	evs, err := s.Store.Events(r.Context(), j.ID, 0)
	if err != nil {
		notFoundOr500(w, err)
		return
	}
	writeJSON(w, http.StatusOK, JobDetail{Job: j, Events: evs})
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e := agents.AuditEntry{Actor: actor(r), Action: "control.cancel", Subject: id}
	if j, err := s.Store.Job(r.Context(), id); err == nil {
		e.Agent = j.Agent
	}
	s.audit(r.Context(), e)
	j, err := s.Store.Job(r.Context(), id)
	switch {
	case errors.Is(err, agents.ErrNotFound):
		fail(w, http.StatusNotFound, fmt.Errorf("no job %q (herdbot jobs lists them)", id))
		return
	case err == nil && j.Status.Final():
		fail(w, http.StatusConflict, fmt.Errorf("job %s is not running: it ended %s at %s", id, j.Status, j.Finished.Local().Format("2006-01-02 15:04:05 MST")))
		return
	}
	if err := s.Fleet.Cancel(id); err != nil {
		if errors.Is(err, agents.ErrNotRunning) {
			fail(w, http.StatusConflict, err)
			return
		}
		fail(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "cancelling"})
}

// events streams job events as NDJSON: a job's recorded events (job=ID),
// then, with follow=1, new events (of that job or agent) as they happen.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	jobID, agent, follow := q.Get("job"), q.Get("agent"), q.Get("follow") == "1"
	var live <-chan agents.JobEvent
	if follow {
		ch, stop := s.Fleet.Subscribe()
		defer stop()
		live = ch
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	fl, _ := w.(http.Flusher)
	last := 0
	if jobID != "" {
		evs, err := s.Store.Events(r.Context(), jobID, 0)
		if err != nil {
			notFoundOr500(w, err)
			return
		}
		for _, e := range evs {
			_ = enc.Encode(e)
			last = e.Seq
		}
	}
	if fl != nil {
		fl.Flush()
	}
	if !follow {
		return
	}
	agentOf := map[string]string{}
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-live:
			if !ok {
				return
			}
			if jobID != "" && (e.JobID != jobID || e.Seq <= last) {
				continue
			}
			if agent != "" {
				a, seen := agentOf[e.JobID]
				if !seen {
					if j, err := s.Store.Job(r.Context(), e.JobID); err == nil {
						a = j.Agent
					}
					agentOf[e.JobID] = a
				}
				if a != agent {
					continue
				}
			}
			_ = enc.Encode(e)
			if fl != nil {
				fl.Flush()
			}
		}
	}
}

// TriggerRequest is the body of POST /v1/trigger.
type TriggerRequest struct {
	Agent    string `json:"agent"`
	Prompt   string `json:"prompt"`
	Schedule string `json:"schedule,omitempty"`
	Wait     bool   `json:"wait"`
}

// TriggerResponse answers POST /v1/trigger.
type TriggerResponse struct {
	Job    agents.Job `json:"job"`
	Text   string     `json:"text,omitempty"`
	Denied []string   `json:"denied,omitempty"`
	Error  string     `json:"error,omitempty"`
}

func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	var req TriggerRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("bad trigger request: %w", err))
		return
	}
	detail, _ := json.Marshal(map[string]any{"schedule": req.Schedule, "wait": req.Wait})
	s.audit(r.Context(), agents.AuditEntry{Agent: req.Agent, Actor: actor(r), Action: "control.trigger", Subject: req.Agent, Detail: string(detail)})
	// The run belongs to herdbot, not to this request: it is not
	// cancelled when herdbot begins to stop (the fleet gives it the grace
	// every run gets), nor when a waiting client goes away (Ctrl-C on
	// `trigger --wait` detaches; `herdbot cancel` stops a job).
	runCtx := context.WithoutCancel(r.Context())
	type outcome struct {
		res agents.RunResult
		err error
	}
	ended := make(chan outcome, 1)
	wait := func() {
		select {
		case o := <-ended:
			writeResult(w, o.res, o.err)
		case <-r.Context().Done(): // the client left; the run goes on
		}
	}
	if req.Schedule != "" {
		if s.Trigger == nil {
			fail(w, http.StatusNotImplemented, errors.New("schedules are not running"))
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			res, err := s.Trigger(runCtx, req.Agent, req.Schedule)
			ended <- outcome{res, err}
		}()
		wait()
		return
	}
	id := agents.NewJobID()
	stored := make(chan agents.Job, 1)
	run := agents.RunRequest{Agent: req.Agent, Prompt: req.Prompt, Trigger: agents.TriggerCLI, JobID: id, Stored: stored}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		res, err := s.Fleet.Run(runCtx, run)
		if err != nil {
			s.Log.Info("triggered job ended", "job", id, "err", err)
		}
		ended <- outcome{res, err}
	}()
	if req.Wait {
		wait()
		return
	}
	// Say "started" only once the job row is stored: a job that could not
	// be recorded is an error here, not a job id that leads nowhere.
	select {
	case j := <-stored:
		writeJSON(w, http.StatusAccepted, TriggerResponse{Job: j})
	case o := <-ended:
		writeResult(w, o.res, o.err)
	}
}

func writeResult(w http.ResponseWriter, res agents.RunResult, err error) {
	out := TriggerResponse{Job: res.Job, Text: res.Text, Denied: res.Denied}
	if err != nil {
		out.Error = err.Error()
		if res.Job.ID == "" {
			code := http.StatusInternalServerError
			if errors.Is(err, agents.ErrUnknownAgent) || errors.Is(err, agents.ErrNotFound) {
				code = http.StatusNotFound
			}
			writeJSON(w, code, out)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) sessions(w http.ResponseWriter, r *http.Request) {
	cs, err := s.Store.Conversations(r.Context(), r.URL.Query().Get("agent"))
	if err != nil {
		notFoundOr500(w, err)
		return
	}
	writeJSON(w, http.StatusOK, cs)
}

func (s *Server) approvals(w http.ResponseWriter, r *http.Request) {
	as, err := s.Store.Approvals(r.Context(), r.URL.Query().Get("agent"), r.URL.Query().Get("pending") == "1", 100)
	if err != nil {
		notFoundOr500(w, err)
		return
	}
	writeJSON(w, http.StatusOK, as)
}

// Spend is the answer of GET /v1/spend?agent=A&since=UNIX_MS: what the
// agent's jobs started since then cost, in US dollars.
type Spend struct {
	USD float64 `json:"usd"`
}

func (s *Server) spend(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, err := strconv.ParseInt(q.Get("since"), 10, 64)
	if err != nil || q.Get("agent") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "need agent and since (unix milliseconds)"})
		return
	}
	usd, err := s.Store.Spend(r.Context(), agents.SpendQuery{Agent: q.Get("agent"), Since: time.UnixMilli(since)})
	if err != nil {
		notFoundOr500(w, err)
		return
	}
	writeJSON(w, http.StatusOK, Spend{USD: usd})
}

// ApproveRequest is the body of POST /v1/approvals/{id}. Who decides is
// not in it: the decision's actor is the caller's peer credentials.
type ApproveRequest struct {
	Choice string `json:"choice"`
	Reason string `json:"reason,omitempty"`
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request) {
	var req ApproveRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("bad approve request: %w", err))
		return
	}
	a, err := s.Fleet.Decide(r.Context(), r.PathValue("id"), req.Choice, actor(r), req.Reason)
	switch {
	case errors.Is(err, agents.ErrNotPending):
		writeJSON(w, http.StatusConflict, map[string]any{"error": "already " + string(a.Status), "approval": a})
	case errors.Is(err, agents.ErrNotFound):
		fail(w, http.StatusNotFound, s.noApproval(r.Context(), r.PathValue("id")))
	case err != nil:
		fail(w, http.StatusBadRequest, err)
	default:
		writeJSON(w, http.StatusOK, a)
	}
}

// noApproval says that approval id does not exist, naming the pending ones.
func (s *Server) noApproval(ctx context.Context, id string) error {
	pending, _ := s.Store.Approvals(ctx, "", true, 10)
	if len(pending) == 0 {
		return fmt.Errorf("no approval %q, and none is pending (herdbot approvals lists them)", id)
	}
	names := make([]string, 0, len(pending))
	for _, a := range pending {
		names = append(names, fmt.Sprintf("%s (%s, %s)", a.ID, a.Agent, a.Tool))
	}
	return fmt.Errorf("no approval %q; pending: %s", id, strings.Join(names, ", "))
}

// auditLog lists audit entries, newest first: agent, action (a prefix),
// subject and limit select.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	es, err := s.Store.AuditLog(r.Context(), store.AuditFilter{Agent: q.Get("agent"), ActionPrefix: q.Get("action"), Subject: q.Get("subject"), Limit: limit})
	if err != nil {
		notFoundOr500(w, err)
		return
	}
	writeJSON(w, http.StatusOK, es)
}

// ChatRequest is the body of POST /v1/chat.
type ChatRequest struct {
	Agent string `json:"agent"`
	Text  string `json:"text"`
}

func (s *Server) chatSend(w http.ResponseWriter, r *http.Request) {
	if s.Console == nil {
		fail(w, http.StatusNotImplemented, errors.New("console chat is off"))
		return
	}
	var req ChatRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("bad chat request: %w", err))
		return
	}
	if !s.knownAgent(w, req.Agent) {
		return
	}
	// The line itself is not recorded (a person may paste anything); who
	// typed into the console through the socket is.
	s.audit(r.Context(), agents.AuditEntry{Agent: req.Agent, Actor: actor(r), Action: "control.chat", Subject: req.Agent})
	s.Console.InputAs(r.Context(), req.Agent, req.Text, operator(r))
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent"})
}

func (s *Server) chatStream(w http.ResponseWriter, r *http.Request) {
	if s.Console == nil {
		fail(w, http.StatusNotImplemented, errors.New("console chat is off"))
		return
	}
	agent := r.URL.Query().Get("agent")
	if agent != "" && !s.knownAgent(w, agent) {
		return
	}
	ch, stop := s.Console.Subscribe()
	defer stop()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case l, ok := <-ch:
			if !ok {
				return
			}
			if agent != "" && l.Agent != agent && l.Agent != "herdbot" {
				continue
			}
			_ = enc.Encode(l)
			if fl != nil {
				fl.Flush()
			}
		}
	}
}

// knownAgent answers 404, naming the agents, when agent is not on the
// console.
func (s *Server) knownAgent(w http.ResponseWriter, agent string) bool {
	names := s.Console.Agents()
	if slices.Contains(names, agent) {
		return true
	}
	fail(w, http.StatusNotFound, fmt.Errorf("no agent %q; agents: %s", agent, strings.Join(names, ", ")))
	return false
}

// operator is the console user a control caller types as: the local
// operator (authorize let only herdbot's own uid and root in), shown by
// the login name of its uid.
func operator(r *http.Request) bot.User {
	name := "uid ?"
	if p, err := PeerFrom(r.Context()); err == nil {
		name = p.User
		if name == "" {
			name = "uid " + strconv.Itoa(p.UID)
		}
	}
	return bot.User{ID: console.Operator, Name: name + " via herdbot chat"}
}

func (s *Server) schedules(w http.ResponseWriter, r *http.Request) {
	if s.List == nil {
		writeJSON(w, http.StatusOK, []any{})
		return
	}
	writeJSON(w, http.StatusOK, s.List(time.Now()))
}

func (s *Server) workspaceList(w http.ResponseWriter, r *http.Request) {
	if s.Workspaces == nil {
		fail(w, http.StatusNotImplemented, errors.New("no workspaces on remote engines"))
		return
	}
	ents, err := s.Workspaces.List(r.Context(), r.PathValue("agent"), r.URL.Query().Get("path"))
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	if ents == nil {
		ents = []WorkspaceEntry{}
	}
	writeJSON(w, http.StatusOK, ents)
}

// workspaceGet answers the file's bytes (application/octet-stream), or a
// JSON error. It is audited: the file leaves the agent's engine.
func (s *Server) workspaceGet(w http.ResponseWriter, r *http.Request) {
	if s.Workspaces == nil {
		fail(w, http.StatusNotImplemented, errors.New("no workspaces on remote engines"))
		return
	}
	agent, p := r.PathValue("agent"), r.URL.Query().Get("path")
	s.audit(r.Context(), agents.AuditEntry{Agent: agent, Actor: actor(r), Action: "control.workspace_get", Subject: agent, Detail: p})
	var buf bytes.Buffer
	if _, err := s.Workspaces.Get(r.Context(), agent, p, &buf, MaxWorkspaceGet); err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
