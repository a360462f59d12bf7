package slacktest

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Call is one Web API request as the fake received it. Params never hold
// the token.
type Call struct {
	Method string
	App    string // the app whose token was used ("" when unauthenticated)
	Params url.Values
}

type failure struct {
	code       string        // Slack error code, for ok:false
	retryAfter time.Duration // >0: answer 429 with Retry-After
	match      func(url.Values) bool
}

// Fail makes the next call of method answer {"ok":false,"error":code}.
func (s *Server) Fail(method, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = append(s.fail[method], failure{code: code})
}

// FailWhen makes the next call of method whose parameters satisfy match
// answer {"ok":false,"error":code}; calls that do not match go through. Use
// it to make one particular call fail, say the chat.update that marks an
// approval card as expired.
func (s *Server) FailWhen(method, code string, match func(params url.Values) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = append(s.fail[method], failure{code: code, match: match})
}

// RateLimit makes the next call of method answer 429 with Retry-After
// (whole seconds, at least 1, as Slack sends it).
func (s *Server) RateLimit(method string, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = append(s.fail[method], failure{retryAfter: retryAfter})
}

// Calls returns the Web API calls received so far, optionally only those of
// the given methods.
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func slackErr(w http.ResponseWriter, code string) {
	writeJSON(w, map[string]any{"ok": false, "error": code})
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	params := url.Values{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var body map[string]any
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if len(b) > 0 && json.Unmarshal(b, &body) != nil {
			slackErr(w, "invalid_json")
			return
		}
		for k, v := range body {
			if str, ok := v.(string); ok {
				params.Set(k, str)
			} else if raw, err := json.Marshal(v); err == nil {
				params.Set(k, string(raw))
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			slackErr(w, "invalid_form_data")
			return
		}
		params = r.Form
	}
	token := params.Get("token")
	params.Del("token")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && token == "" {
		token = bearer
	}

	s.mu.Lock()
	var a *app
	if method == "apps.connections.open" {
		a = s.appByAppToken(token)
	} else {
		a = s.appByBotToken(token)
	}
	c := Call{Method: method, Params: params}
	if a != nil {
		c.App = a.Name
	}
	s.calls = append(s.calls, c)
	var f *failure
	q := s.fail[method]
	for i := range q {
		if q[i].match == nil || q[i].match(params) {
			f = &q[i]
			s.fail[method] = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	s.notifyLocked()
	s.mu.Unlock()

	switch {
	case token == "":
		slackErr(w, "not_authed")
		return
	case a == nil:
		slackErr(w, "invalid_auth")
		return
	case f != nil && f.retryAfter > 0:
		s.countLimited(method)
		ratelimitedReply(w, f.retryAfter)
		return
	case f != nil:
		slackErr(w, f.code)
		return
	}
	if wait := s.rateLimited(method, a, params); wait > 0 {
		s.countLimited(method)
		ratelimitedReply(w, wait)
		return
	}

	switch method {
	case "chat.postMessage", "chat.update", "chat.postEphemeral":
		s.checkParams(method, params)
	}
	switch method {
	case "apps.connections.open":
		s.connectionsOpen(w, a)
	case "auth.test":
		writeJSON(w, map[string]any{
			"ok": true, "url": "https://herd.slack.example/", "team": "herd", "team_id": Team,
			"user": a.Name, "user_id": a.BotUserID, "bot_id": a.BotID,
		})
	case "chat.postMessage":
		s.postMessage(w, a, params)
	case "chat.update":
		s.update(w, a, params)
	case "chat.postEphemeral":
		s.postEphemeral(w, a, params)
	case "reactions.add", "reactions.remove":
		s.react(w, a, method == "reactions.add", params)
	case "files.getUploadURLExternal":
		s.uploadURL(w, a, params)
	case "files.completeUploadExternal":
		s.completeUpload(w, a, params)
	default:
		slackErr(w, "unknown_method")
	}
}

func (s *Server) countLimited(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited[method]++
}
