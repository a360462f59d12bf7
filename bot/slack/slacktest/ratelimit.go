package slacktest

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a rate limit: one call per Every on average, with bursts of up
// to Burst calls. Every < 0 turns the limit off.
type Limit struct {
	Every time.Duration
	Burst int
}

// Slack's documented rate limits for the chat methods herdbot streams with.
// Slack does not publish burst sizes ("generous burst behavior"); the
// fake's are below.
var (
	// PostLimit: chat.postMessage "will generally allow an app to post 1
	// message per second to a specific channel", per channel.
	PostLimit = Limit{Every: time.Second, Burst: 20}
	// UpdateLimit: chat.update is Tier 3, "50+ per minute", per app.
	UpdateLimit = Limit{Every: time.Minute / 50, Burst: 10}
)

// limiter returns the token bucket for key, making it with l. Callers
// hold s.mu.
func (s *Server) limiter(key string, l Limit) *rate.Limiter {
	if lim, ok := s.limits[key]; ok {
		return lim
	}
	lim := rate.NewLimiter(rate.Every(l.Every), l.Burst)
	s.limits[key] = lim
	return lim
}

// rateLimited applies Slack's per-method limits to one call: it returns how
// long the caller must wait when the call is over its limit (0 when it may
// go ahead, and then the call is counted).
func (s *Server) rateLimited(method string, a *app, p url.Values) time.Duration {
	var key string
	var l Limit
	switch method {
	case "chat.postMessage":
		key, l = "post/"+a.Name+"/"+p.Get("channel"), s.opts.PostLimit
	case "chat.update":
		key, l = "update/"+a.Name, s.opts.UpdateLimit
	default:
		return 0
	}
	if l.Every < 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.limiter(key, l).Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return d
	}
	return 0
}

// ratelimitedReply is Slack's answer to a call over its limit: HTTP 429,
// Retry-After in whole seconds (at least 1), and {"ok":false,"error":"ratelimited"}.
func ratelimitedReply(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}` + "\n"))
}

// RateLimited returns how many calls of method were answered 429 so far
// (injected with RateLimit, or over Slack's limits).
func (s *Server) RateLimited(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited[method]
}
