package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/store"
)

//go:embed templates/*.html static/*
var files embed.FS

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"usd":  bot.USD, // as chat and the CLI show money
	"path": url.PathEscape,
}).ParseFS(files, "templates/*.html"))

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.fleetPage)
	m.HandleFunc("GET /agents/{name}", s.agentPage)
	m.HandleFunc("GET /jobs/{id}", s.jobPage)
	m.HandleFunc("GET /jobs/{id}/events", s.jobEvents)
	m.HandleFunc("GET /approvals", s.approvalsPage)
	m.HandleFunc("POST /approvals/{id}", s.decide)
	m.HandleFunc("GET /audit", s.auditPage)
	m.HandleFunc("GET /schedules", s.schedulesPage)
	m.HandleFunc("POST /schedules/{agent}/{name}/trigger", s.trigger)
	m.HandleFunc("/login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	m.Handle("GET /static/", http.FileServerFS(files))
	s.mux = m
}

// page is what every template gets.
type page struct {
	Title string
	User  string
	CSRF  string
	Login bool // a login is configured (a sign-out button)
	Data  any
}

// render redacts data (every string in it) and renders template name.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	p := page{Title: title, Data: data, Login: s.hasLogin()}
	if ss := sessionOf(r); ss != nil {
		p.User, p.CSRF = ss.user.Name, ss.csrf
	}
	v := reflect.ValueOf(&p).Elem()
	redactValue(v.Field(0), s.cfg.Redact)
	redactValue(v.Field(4), s.cfg.Redact)
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, name, p); err != nil {
		s.log.Error("render web page", "page", name, "err", err)
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

// redactValue replaces, in place, every string and byte slice reachable
// from v with its redacted form. Page data is built per request, so
// changing it is safe; maps are rebuilt.
func redactValue(v reflect.Value, red func(string) string) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(red(v.String()))
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.CanSet() && v.Len() > 0 {
				v.SetBytes([]byte(red(string(v.Bytes()))))
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			redactValue(v.Index(i), red)
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			redactValue(v.Index(i), red)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				redactValue(v.Field(i), red)
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			redactValue(v.Elem(), red)
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		c := reflect.New(v.Elem().Type()).Elem()
		c.Set(v.Elem())
		redactValue(c, red)
		if v.CanSet() {
			v.Set(c)
		}
	case reflect.Map:
		if v.IsNil() || !v.CanSet() {
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			k := reflect.New(it.Key().Type()).Elem()
			k.Set(it.Key())
			redactValue(k, red)
			e := reflect.New(it.Value().Type()).Elem()
			e.Set(it.Value())
			redactValue(e, red)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, agents.ErrNotFound) {
		code = http.StatusNotFound
	}
	w.WriteHeader(code)
	s.render(w, r, "error", "Error", err.Error())
}

// agentRow is a fleet page row.
type agentRow struct {
	Name, Description, State string
	Running, Waiting, Live   int
	Image, Network           string
	Chats                    []string
	NextSchedule             string
	NextAt                   time.Time
	Spend                    agents.Spending
}

func (s *Server) schedules(now time.Time) []sched.Info {
	if s.cfg.Schedules == nil {
		return nil
	}
	return s.cfg.Schedules(now)
}

func (s *Server) fleetPage(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Now()
	running, err := s.cfg.Store.Jobs(r.Context(), agents.JobFilter{Status: agents.JobRunning, Limit: 1000})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	infos := s.schedules(now)
	var rows []agentRow
	for _, a := range s.cfg.Fleet.Agents() {
		row := agentRow{Name: a.Name, Description: a.Description, Waiting: s.cfg.Fleet.Waiting(a.Name),
			Live: s.cfg.Fleet.LiveProcesses(a.Name), Image: a.Sandbox.Image}
		if s.cfg.Chats != nil {
			row.Chats = s.cfg.Chats(a.Name)
		}
		if s.cfg.Native != nil && s.cfg.Native(a.Name) {
			row.Image = "" // shown as native: no container
		}
		for _, j := range running {
			if j.Agent == a.Name {
				row.Running++
			}
		}
		switch {
		case a.Sandbox.Network.None:
			row.Network = "none"
		case len(a.Sandbox.Network.Allow) == 0:
			row.Network = "model API only"
		default:
			row.Network = strings.Join(a.Sandbox.Network.Allow, ", ")
		}
		row.State = "idle"
		if row.Running > 0 {
			row.State = "running"
		}
		if row.Waiting > 0 {
			row.State += ", queued"
		}
		for _, in := range infos {
			if in.Schedule.Agent == a.Name && len(in.Next) > 0 && (row.NextAt.IsZero() || in.Next[0].Before(row.NextAt)) {
				row.NextAt, row.NextSchedule = in.Next[0], in.Schedule.Name
			}
		}
		if row.Spend, err = s.cfg.Fleet.Spending(r.Context(), a.Name); err != nil {
			s.fail(w, r, err)
			return
		}
		rows = append(rows, row)
	}
	s.render(w, r, "fleet", "Fleet", map[string]any{"Agents": rows})
}

func (s *Server) agentSpec(name string) (agents.AgentSpec, bool) {
	for _, a := range s.cfg.Fleet.Agents() {
		if a.Name == name {
			return a, true
		}
	}
	return agents.AgentSpec{}, false
}

func (s *Server) agentPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	a, ok := s.agentSpec(name)
	if !ok {
		s.fail(w, r, errors.Join(agents.ErrNotFound, errors.New("no agent "+strconv.Quote(name))))
		return
	}
	now := s.cfg.Now()
	summary := ""
	if s.cfg.Summary != nil {
		summary = s.cfg.Summary(name, now)
	}
	convs, err := s.cfg.Store.Conversations(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	jobs, err := s.cfg.Store.Jobs(r.Context(), agents.JobFilter{Agent: name, Limit: 20})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	egress, err := s.cfg.Store.AuditLog(r.Context(), store.AuditFilter{Agent: name, ActionPrefix: "egress.", Limit: 20})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var scheds []sched.Info
	for _, in := range s.schedules(now) {
		if in.Schedule.Agent == name {
			scheds = append(scheds, in)
		}
	}
	s.render(w, r, "agent", "Agent "+name, map[string]any{"Name": name, "Description": a.Description, "Summary": summary,
		"Allow": a.Sandbox.Network.Allow, "Sessions": convs, "Jobs": jobs, "Schedules": scheds, "Egress": egress,
		"Waiting": s.cfg.Fleet.Waiting(name), "Live": s.cfg.Fleet.LiveProcesses(name)})
}

// eventView is one transcript line.
type eventView struct {
	Seq  int
	Time time.Time
	Kind string
	Text string // what the event says, for people
	JSON string // the recorded event, indented
}

// viewEvent makes a transcript line of e. Tool results are hidden when
// hide is set (herdctl's web.tool_results: false).
func viewEvent(e agents.JobEvent, hide bool) eventView {
	v := eventView{Seq: e.Seq, Time: e.Time, Kind: e.Kind}
	if hide && e.Kind == string(agents.EventToolResult) {
		v.Text = "(tool result hidden: web.tool_results is false)"
		return v
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, e.Data, "", "  ") == nil {
		v.JSON = pretty.String()
	} else {
		v.JSON = string(e.Data)
	}
	v.Text = eventText(e.Data)
	return v
}

// eventText pulls the readable part out of an event: its text, a tool
// call's name and input, a result's content, an error.
func eventText(data json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return ""
	}
	var parts []string
	for _, k := range []string{"text", "error", "result", "reason"} {
		if t, ok := m[k].(string); ok && t != "" {
			parts = append(parts, t)
		}
	}
	if t, ok := m["tool"].(string); ok {
		parts = append(parts, "tool "+t)
	}
	if st, ok := m["status"].(string); ok {
		by, _ := m["by"].(string)
		parts = append(parts, strings.TrimSpace(st+" by "+by))
	}
	if msg, ok := m["message"].(map[string]any); ok {
		if content, ok := msg["content"].([]any); ok {
			for _, c := range content {
				cm, _ := c.(map[string]any)
				switch cm["type"] {
				case "text":
					if t, ok := cm["text"].(string); ok {
						parts = append(parts, t)
					}
				case "tool_use":
					in, _ := json.Marshal(cm["input"])
					parts = append(parts, "→ "+asString(cm["name"])+" "+string(in))
				case "tool_result":
					switch c := cm["content"].(type) {
					case string:
						parts = append(parts, "← "+c)
					default:
						b, _ := json.Marshal(c)
						parts = append(parts, "← "+string(b))
					}
				}
			}
		}
	}
	return strings.Join(parts, "\n")
}

func asString(v any) string { s, _ := v.(string); return s }

// Transcript paging: the job page shows pageSize events (?limit= up to
// maxPageSize): the newest ones, or those before ?before=SEQ, or those
// after ?after=SEQ; links lead to the earlier and later pages. Only the
// newest page follows a running job live.
const (
	pageSize    = 500
	maxPageSize = 2000
)

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request) {
	j, err := s.cfg.Store.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 {
		limit = pageSize
	}
	limit = min(limit, maxPageSize)
	before, _ := strconv.Atoi(q.Get("before"))
	after, _ := strconv.Atoi(q.Get("after"))
	// One more than the page, to know whether there is more beyond it.
	p := store.EventPage{Before: max(before, 0), Limit: limit + 1, Newest: true}
	if after > 0 && before <= 0 {
		p = store.EventPage{After: after, Limit: limit + 1}
	}
	evs, err := s.cfg.Store.EventsPage(r.Context(), j.ID, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	more := len(evs) > limit
	var earlier, later bool
	if p.Newest {
		if more {
			evs = evs[1:]
		}
		earlier, later = more, p.Before > 0
	} else {
		if more {
			evs = evs[:limit]
		}
		earlier, later = true, more
	}
	views := make([]eventView, len(evs))
	for i, e := range evs {
		views[i] = viewEvent(e, s.cfg.HideToolResults)
	}
	nav := map[string]any{"Limit": limit}
	if len(evs) > 0 {
		if earlier {
			nav["Before"] = evs[0].Seq
		}
		if later {
			nav["After"] = evs[len(evs)-1].Seq
		}
	}
	newest := !later
	lastSeq := max(after, 0)
	if len(evs) > 0 {
		lastSeq = evs[len(evs)-1].Seq
	}
	s.render(w, r, "job", "Job "+j.ID, map[string]any{"Job": j, "Events": views, "Final": j.Status.Final(),
		"Live": newest && !j.Status.Final(), "Newest": newest, "Nav": nav, "PageSize": pageSize, "LastSeq": lastSeq})
}

// approvalView is an approval with what this user may do.
type approvalView struct {
	A         agents.Approval
	Input     string
	CanDecide bool
}

func (s *Server) approvalsPage(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	pending, err := s.cfg.Store.Approvals(r.Context(), "", true, 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	all, err := s.cfg.Store.Approvals(r.Context(), "", false, 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view := func(a agents.Approval) approvalView {
		var pretty bytes.Buffer
		in := string(a.Input)
		if json.Indent(&pretty, a.Input, "", "  ") == nil {
			in = pretty.String()
		}
		return approvalView{A: a, Input: in, CanDecide: s.cfg.Fleet.IsApprover(a.Agent, Platform, ss.user)}
	}
	var pv, dv []approvalView
	for _, a := range pending {
		pv = append(pv, view(a))
	}
	for _, a := range all {
		if a.Status != agents.Pending {
			dv = append(dv, view(a))
		}
	}
	s.render(w, r, "approvals", "Approvals", map[string]any{"Pending": pv, "Decided": dv, "Notice": r.URL.Query().Get("notice")})
}

// decide handles an Allow once / Allow for this session / Deny click. Only
// the agent's web approvers decide; every attempt is audited (by the
// fleet's broker when it decides, here when it refuses).
func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	actor := "web:" + ss.user.ID
	id := r.PathValue("id")
	row, err := s.cfg.Store.Approval(r.Context(), id)
	if err != nil {
		s.refuse(w, r, actor, "unknown approval", http.StatusNotFound)
		return
	}
	if !s.cfg.Fleet.IsApprover(row.Agent, Platform, ss.user) {
		s.audit(r.Context(), agents.AuditEntry{Agent: row.Agent, Actor: actor, Action: "approval.refused_not_approver", Subject: row.ID,
			Detail: `{"reason":"not a web approver (approvers.web)"}`})
		http.Error(w, "You are not a web approver of "+row.Agent+" (approvers.web); nothing was decided.", http.StatusForbidden)
		return
	}
	choice := r.PostForm.Get("choice")
	if !slices.Contains(bot.Choices, choice) {
		http.Error(w, "unknown choice; want once, session or deny", http.StatusBadRequest)
		return
	}
	// The hash the page showed: a decision is for exactly that input.
	if shown := r.PostForm.Get("hash"); shown != row.InputHash {
		http.Error(w, "This request's input is not the one the page showed; reload the page. Nothing was decided.", http.StatusConflict)
		return
	}
	a, err := s.cfg.Fleet.Decide(r.Context(), id, choice, actor, "")
	notice := "Decided: " + string(a.Status)
	switch {
	case errors.Is(err, agents.ErrNotPending):
		notice = "Already " + string(a.Status) + " by " + a.DecidedBy + "; your click changed nothing."
	case err != nil:
		http.Error(w, "Could not decide: "+s.cfg.Redact(err.Error()), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/approvals?notice="+url.QueryEscape(notice), http.StatusSeeOther)
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	f := store.AuditFilter{Agent: q.Get("agent"), ActionPrefix: q.Get("action"), Subject: q.Get("subject"), Limit: limit}
	es, err := s.cfg.Store.AuditLog(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "audit", "Audit", map[string]any{"Entries": es, "Filter": f})
}

func (s *Server) schedulesPage(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	type row struct {
		I          sched.Info
		CanTrigger bool
	}
	var rows []row
	for _, in := range s.schedules(s.cfg.Now()) {
		rows = append(rows, row{I: in, CanTrigger: s.cfg.Trigger != nil && s.cfg.Fleet.IsApprover(in.Schedule.Agent, Platform, ss.user)})
	}
	s.render(w, r, "schedules", "Schedules", map[string]any{"Rows": rows, "Notice": r.URL.Query().Get("notice")})
}

// trigger runs a schedule now (as `herdbot trigger --schedule`), for the
// agent's web approvers; the run belongs to herdbot, not to the request.
func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	ss := sessionOf(r)
	agent, name := r.PathValue("agent"), r.PathValue("name")
	actor := "web:" + ss.user.ID
	if s.cfg.Trigger == nil {
		http.Error(w, "schedules are not running", http.StatusNotImplemented)
		return
	}
	if !s.cfg.Fleet.IsApprover(agent, Platform, ss.user) {
		s.refuse(w, r, actor, "not a web approver of "+agent, http.StatusForbidden)
		return
	}
	s.audit(r.Context(), agents.AuditEntry{Agent: agent, Actor: actor, Action: "web.trigger", Subject: agent + "/" + name})
	s.runs.Go(func() {
		if _, err := s.cfg.Trigger(s.runCtx, agent, name); err != nil {
			s.log.Info("schedule triggered from the web ended", "agent", agent, "schedule", name, "err", err)
		}
	})
	http.Redirect(w, r, "/schedules?notice="+url.QueryEscape("Triggered "+agent+"/"+name), http.StatusSeeOther)
}
