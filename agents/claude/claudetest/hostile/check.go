package hostile

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
)

// ProbeCommand is the Bash command the fake model asks for in a probe
// turn. It runs only if something approved it.
const ProbeCommand = `touch "$HOME/` + MarkerDir + `/` + MarkerBash + `"`

// Plants are the plant scripts Model runs, by prompt. They may be set
// while the model serves.
type Plants struct {
	mu sync.Mutex
	m  map[string]string
}

// Set makes prompt ask for Bash running script.
func (ps *Plants) Set(prompt, script string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[string]string{}
	}
	ps.m[prompt] = script
}

func (ps *Plants) get(prompt string) (string, bool) {
	if ps == nil {
		return "", false
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	s, ok := ps.m[prompt]
	return s, ok
}

// Model is the fake model of a hostile test. A turn whose prompt is one
// of plants asks for Bash running its script; any other prompt asks for
// ProbeCommand; once a tool result is in, it answers Done.
func Model(plants *Plants) claudetest.Responder {
	return func(r *claudetest.Request) claudetest.Reply {
		if len(r.ToolResults()) > 0 {
			return claudetest.Text(Done)
		}
		if prompts := r.Prompts(); len(prompts) > 0 {
			if script, ok := plants.get(prompts[len(prompts)-1]); ok {
				return claudetest.Bash(script, "write the files")
			}
		}
		return claudetest.Bash(ProbeCommand, "leave a marker")
	}
}

// RedirectModel answers every call with Redirected: the model a planted
// ANTHROPIC_BASE_URL points at.
func RedirectModel() claudetest.Responder {
	return func(*claudetest.Request) claudetest.Reply { return claudetest.Text(Redirected) }
}

// configMCPScript is a minimal stdio MCP server in sh: it leaves the
// marker given as $1 and answers initialize and tools/list (one tool,
// "ping").
const configMCPScript = `touch "$1"
while IFS= read -r line; do
  id=$(printf '%s' "$line" | sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p')
  case "$line" in
    *'"method":"initialize"'*) printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2024-11-05","capabilities":{"tools":{}},"serverInfo":{"name":"cfg","version":"1"}}}\n' "$id" ;;
    *'"method":"tools/list"'*) printf '{"jsonrpc":"2.0","id":%s,"result":{"tools":[{"name":"ping","description":"Answers pong.","inputSchema":{"type":"object","properties":{}}}]}}\n' "$id" ;;
    *) if [ -n "$id" ]; then printf '{"jsonrpc":"2.0","id":%s,"result":{}}\n' "$id"; fi ;;
  esac
done
`

// ConfigMCP returns the --mcp-config JSON of a fleet MCP server named
// ConfigMCPName, as herdbot builds it from the fleet's mcp_servers: it
// leaves MarkerConfigMCP and offers the tool mcp__herdbot-cfg__ping.
func ConfigMCP(p Paths) string {
	b, err := json.Marshal(map[string]any{"mcpServers": map[string]any{ConfigMCPName: map[string]any{
		"type": "stdio", "command": "/bin/sh", "args": []string{"-c", configMCPScript, "mcp", p.marker(MarkerConfigMCP)},
	}}})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Turn is what one turn of the CLI showed.
type Turn struct {
	Init        map[string]any // the turn's init message
	Permissions []*agents.PermissionRequest
	Result      agents.Event
	Events      []agents.Event
}

// eventTimeout bounds each wait for an event; a safety net, not a measure.
const eventTimeout = 2 * time.Minute

// RunTurn sends prompt on conn, answers every permission request with
// decide (nil: deny), and reads events up to the turn's result.
func RunTurn(t testing.TB, conn agents.Conn, prompt string, decide func(*agents.PermissionRequest) agents.Decision) Turn {
	t.Helper()
	if err := conn.Send(t.Context(), prompt); err != nil {
		t.Fatalf("send %q: %v", prompt, err)
	}
	var turn Turn
	for {
		select {
		case ev, ok := <-conn.Events():
			if !ok {
				t.Fatalf("event stream ended before the result; events: %s", kinds(turn.Events))
			}
			turn.Events = append(turn.Events, ev)
			switch ev.Kind {
			case agents.EventInit:
				if turn.Init == nil {
					if err := json.Unmarshal(ev.Raw, &turn.Init); err != nil {
						t.Fatalf("init message: %v", err)
					}
				}
			case agents.EventPermission:
				turn.Permissions = append(turn.Permissions, ev.Permission)
				d := agents.Decision{Verdict: agents.Denied, Message: "denied by the hostile-file test"}
				if decide != nil {
					d = decide(ev.Permission)
				}
				if err := conn.Decide(t.Context(), ev.Permission.RequestID, d); err != nil {
					t.Fatalf("decide: %v", err)
				}
			case agents.EventResult:
				turn.Result = ev
				return turn
			}
		case <-time.After(eventTimeout):
			t.Fatalf("no event within %v; events: %s", eventTimeout, kinds(turn.Events))
		}
	}
}

func kinds(evs []agents.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, string(e.Kind))
	}
	return strings.Join(s, " ")
}

// AllowProbe answers a permission request for the probe's command with
// allow and any other with deny, as a person who approved only the
// command the card showed.
func AllowProbe(p *agents.PermissionRequest) agents.Decision {
	if p.ToolName == "Bash" && strings.Contains(string(p.Input), MarkerBash) {
		return agents.Decision{Verdict: agents.Allowed}
	}
	return agents.Decision{Verdict: agents.Denied, Message: "denied by the hostile-file test"}
}

// Decide is how a test answers the probe of case c: AllowProbe when c
// wants the probe approved, else deny (nil).
func Decide(c Case) func(*agents.PermissionRequest) agents.Decision {
	if c.Approve {
		return AllowProbe
	}
	return nil
}

// AllowAll answers every permission request with allow: the person who
// approved the agent's plant command.
func AllowAll(*agents.PermissionRequest) agents.Decision {
	return agents.Decision{Verdict: agents.Allowed}
}

// Runner is how Play runs the CLI of one agent.
type Runner struct {
	// Start runs a new CLI as herdbot would, resuming session unless it
	// is empty; the test ends it with Close.
	Start func(t testing.TB, session string) agents.Conn
	Close func(t testing.TB, conn agents.Conn)
	// Plant writes files on the host as the agent would have.
	Plant func(files []File) error
	// ClearMarkers empties the marker directory.
	ClearMarkers func() error
}

// Play meets case c as the agent's CLI would and returns the probe's turn,
// answered as c wants (Decide). Files are planted before the CLI starts;
// a Resumed case's after a first turn (probe denied) made the session,
// which a second CLI resumes for the probe (p.SessionID is set, and the
// markers the first turn left are cleared); a Live case's by the agent
// itself, with one approved plant command (Model must have
// PlantPrompt(c)), in the CLI that then runs the probe.
func Play(t testing.TB, c Case, p *Paths, r Runner) Turn {
	t.Helper()
	session := ""
	switch {
	case c.Resumed:
		conn := r.Start(t, "")
		first := RunTurn(t, conn, ProbePrompt, nil)
		r.Close(t, conn)
		if first.Result.SessionID == "" {
			t.Fatalf("the first turn made no session: %+v", first.Result)
		}
		p.SessionID, session = first.Result.SessionID, first.Result.SessionID
		if err := r.ClearMarkers(); err != nil {
			t.Fatal(err)
		}
		fallthrough
	case !c.Live:
		if err := r.Plant(c.Files(*p)); err != nil {
			t.Fatal(err)
		}
	}
	conn := r.Start(t, session)
	if c.Live {
		plant := RunTurn(t, conn, PlantPrompt(c), AllowAll)
		if len(plant.Permissions) != 1 || plant.Result.Err != nil || resultText(plant) != Done {
			t.Fatalf("plant turn: %s, result %q %v", describe(plant.Permissions), resultText(plant), plant.Result.Err)
		}
	}
	turn := RunTurn(t, conn, ProbePrompt, Decide(c))
	r.Close(t, conn)
	return turn
}

// Want is what Check expects of a protected CLI.
type Want struct {
	// ProbeAllowed: the probe's Bash was approved, so its marker (and no
	// other) must be there.
	ProbeAllowed bool
	// PermissionMode is the init's permission mode (default "default").
	PermissionMode string
	// ConfigMCP: the fleet's MCP server (ConfigMCP) is connected, offers
	// its tool and left MarkerConfigMCP.
	ConfigMCP bool
	// Redirect is the model a planted ANTHROPIC_BASE_URL points at; it
	// must have had no request of this turn's session.
	Redirect *claudetest.ModelServer
}

// Check fails t unless the probe turn shows a CLI that ignored every
// hostile file: the probe's Bash reached herdbot as a permission request
// (and, denied, did not run; approved, ran as asked and nothing else
// did), no marker but the fleet MCP server's and an approved probe's is
// in markerDir (host path), the init lists nothing planted, and the main
// model answered.
func Check(t testing.TB, turn Turn, markerDir string, want Want) {
	t.Helper()
	failed := false
	errorf := func(format string, args ...any) {
		t.Helper()
		failed = true
		t.Errorf(format, args...)
	}
	defer func() {
		if failed {
			t.Logf("the turn's events: %s\ninit: %v\nresult: %s", kinds(turn.Events), turn.Init, turn.Result.Raw)
		}
	}()
	if want.PermissionMode == "" {
		want.PermissionMode = "default"
	}
	if text := resultText(turn); turn.Result.Err != nil || text != Done {
		errorf("turn result %q, err %v; want %q from the fleet's model", text, turn.Result.Err, Done)
	}
	if len(turn.Permissions) != 1 || turn.Permissions[0].ToolName != "Bash" ||
		!strings.Contains(string(turn.Permissions[0].Input), MarkerBash) {
		errorf("permission requests %s; want exactly one, for the probe's Bash command", describe(turn.Permissions))
	}
	markers, err := ListMarkers(markerDir)
	if err != nil {
		t.Fatalf("markers: %v", err)
	}
	var wantMarkers []string
	if want.ProbeAllowed {
		wantMarkers = append(wantMarkers, MarkerBash)
	}
	if want.ConfigMCP {
		wantMarkers = append(wantMarkers, MarkerConfigMCP)
	}
	slices.Sort(wantMarkers)
	if !slices.Equal(markers, wantMarkers) {
		errorf("marker files %q, want %q: a hook, helper, MCP server or unapproved Bash ran", markers, wantMarkers)
	}
	if got := turn.Init["permissionMode"]; got != want.PermissionMode {
		errorf("init permissionMode %v, want %s", got, want.PermissionMode)
	}
	// The init says whether the CLI's own command sandbox is on (since
	// 2.1.332; absent: no claim). herdbot never turns it on: on, a
	// setting herdbot did not write was read, and its
	// autoAllowBashIfSandboxed could run Bash without asking.
	if v, ok := turn.Init["sandbox_enabled"]; ok && v != false {
		errorf("init sandbox_enabled %v, want false: a setting herdbot did not write turned the CLI's command sandbox on", v)
	}
	for list, names := range initNames(turn.Init) {
		for _, n := range names {
			if strings.Contains(n, Evil) {
				errorf("init %s lists the planted %q", list, n)
			}
		}
	}
	if want.ConfigMCP {
		if st := mcpStatus(turn.Init, ConfigMCPName); st != "connected" {
			errorf("fleet MCP server %s: status %q, want connected (init mcp_servers %v)", ConfigMCPName, st, turn.Init["mcp_servers"])
		}
		if tools := initNames(turn.Init)["tools"]; !slices.Contains(tools, "mcp__"+ConfigMCPName+"__ping") {
			errorf("init tools %v lack the fleet MCP server's tool", tools)
		}
	}
	if want.Redirect != nil {
		if n := sessionRequests(want.Redirect, turn); n != 0 {
			errorf("the planted ANTHROPIC_BASE_URL got %d requests of this session", n)
		}
	}
}

// CheckUnprotected fails t unless the turn shows effect e: the hostile
// files were read by a CLI without herdbot's protections.
func CheckUnprotected(t testing.TB, turn Turn, markerDir string, e Effect, redirect *claudetest.ModelServer) {
	t.Helper()
	markers, err := ListMarkers(markerDir)
	if err != nil {
		t.Fatalf("markers: %v", err)
	}
	for _, m := range e.Markers {
		if !slices.Contains(markers, m) {
			t.Errorf("marker %q missing (have %q): the planted file was not read", m, markers)
		}
	}
	if e.Approves {
		for _, p := range turn.Permissions {
			if p.ToolName == "Bash" {
				t.Errorf("the probe's Bash was still asked for: the planted approval was not read")
			}
		}
	}
	if e.Redirects {
		if n, text := sessionRequests(redirect, turn), resultText(turn); n == 0 || text != Redirected {
			t.Errorf("redirect target got %d requests, result %q: the planted ANTHROPIC_BASE_URL was not read", n, text)
		}
	}
	all := initNames(turn.Init)
	for _, n := range e.Loads {
		found := false
		for _, names := range all {
			found = found || slices.Contains(names, n)
		}
		if !found {
			t.Errorf("init lists no %q: the planted definition was not read (init %v)", n, all)
		}
	}
}

func resultText(turn Turn) string {
	if turn.Result.Result == nil {
		return ""
	}
	return turn.Result.Result.Text
}

// sessionRequests counts the requests m got from the turn's session (the
// CLI names it in the X-Claude-Code-Session-Id header), so that tests
// running side by side can share m.
func sessionRequests(m *claudetest.ModelServer, turn Turn) int {
	id := turn.Result.SessionID
	if id == "" {
		id, _ = turn.Init["session_id"].(string)
	}
	n := 0
	for _, r := range m.Requests() {
		if id == "" || r.Header.Get("X-Claude-Code-Session-Id") == id {
			n++
		}
	}
	return n
}

// initNames returns the names in the init message's lists.
func initNames(init map[string]any) map[string][]string {
	out := map[string][]string{}
	for _, k := range []string{"tools", "slash_commands", "agents", "skills", "mcp_servers", "plugins"} {
		list, _ := init[k].([]any)
		for _, v := range list {
			switch v := v.(type) {
			case string:
				out[k] = append(out[k], v)
			case map[string]any:
				out[k] = append(out[k], fmt.Sprint(v["name"]))
			}
		}
	}
	return out
}

func mcpStatus(init map[string]any, name string) string {
	list, _ := init["mcp_servers"].([]any)
	for _, v := range list {
		if m, ok := v.(map[string]any); ok && m["name"] == name {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}

func describe(ps []*agents.PermissionRequest) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.ToolName+" "+string(p.Input))
	}
	return fmt.Sprintf("%q", s)
}
