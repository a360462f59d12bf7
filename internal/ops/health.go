package ops

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"unicode/utf8"
)

// maxCheckError bounds a failed check's error text in /healthz.
const maxCheckError = 200

// Health is the /healthz body.
type Health struct {
	Status string        `json:"status"` // "ok", "degraded" (a Partial check failed) or "unhealthy"
	Checks []CheckResult `json:"checks"`
}

// CheckResult is one check's outcome in Health.
type CheckResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Detail is what an Info check said (an engine's version).
	Detail string `json:"detail,omitempty"`
}

// healthz runs every check at once, each under CheckTimeout, and answers
// 200 when all pass (or only Partial ones fail: "degraded"), else 503.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	results := make([]CheckResult, len(s.cfg.Checks))
	var wg sync.WaitGroup
	for i, c := range s.cfg.Checks {
		wg.Go(func() {
			results[i] = s.runCheck(r.Context(), c)
		})
	}
	wg.Wait()
	h := Health{Status: "ok", Checks: results}
	code := http.StatusOK
	for i, res := range results {
		switch {
		case res.OK:
		case s.cfg.Checks[i].Partial:
			if code == http.StatusOK {
				h.Status = "degraded"
			}
		default:
			h.Status, code = "unhealthy", http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(h); err != nil {
		s.log.Debug("write healthz", "err", err)
	}
}

func (s *Server) runCheck(ctx context.Context, c Check) CheckResult {
	res := CheckResult{Name: c.Name}
	if c.Func == nil && c.Info == nil {
		res.Error = "no check function"
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CheckTimeout)
	defer cancel()
	var err error
	if c.Info != nil {
		res.Detail, err = c.Info(ctx)
	} else {
		err = c.Func(ctx)
	}
	if err == nil {
		res.OK = true
		return res
	}
	msg := err.Error()
	if s.cfg.Redact != nil {
		msg = s.cfg.Redact(msg)
	}
	if utf8.RuneCountInString(msg) > maxCheckError {
		msg = string([]rune(msg)[:maxCheckError]) + "…"
	}
	res.Error = msg
	return res
}
