package ops

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/sched"
)

// Webhook request headers.
const (
	HeaderSignature = "X-Hub-Signature-256" // "sha256=" + hex HMAC-SHA256
	HeaderTimestamp = "X-Herdbot-Timestamp" // unix seconds, inside the signature
	HeaderDelivery  = "X-GitHub-Delivery"   // unique per delivery (GitHub's; not signed)
)

// auditTimeout bounds writing one audit row.
const auditTimeout = 5 * time.Second

var pathNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// refusal is why a webhook request was turned away.
type refusal struct {
	status int
	reason string
	retry  time.Duration // Retry-After for 429
}

// hook handles POST /hooks/{agent}/{name}.
//
// The signature is HMAC-SHA256 with the hook's secret, GitHub style, over
// the raw body; when X-Herdbot-Timestamp is sent, over "<timestamp>.<body>"
// instead, so the timestamp cannot be changed by whoever replays a request.
// A request must carry the timestamp or a delivery id (GitHub's
// X-GitHub-Delivery). Replays are refused by the signature (which covers
// the body, and the timestamp when there is one: removing or changing the
// unsigned delivery id does not make a replay new) and by the delivery id,
// both remembered (in SQLite, through Config.Replays) for max(DeliveryTTL,
// 2×ReplayWindow); a timestamped request older than ReplayWindow is refused
// anyway. The checks, in order: method, known hook, body size, timestamp
// window, signature, timestamp or delivery id present, replay, rate limit,
// payload. A refused request gets a 4xx (503 when too many runs are going
// or the replay check fails), never runs, and is audited. An accepted one
// gets 202 and runs in the background through spawn.
func (s *Server) hook(w http.ResponseWriter, r *http.Request, spawn func(func(ctx context.Context)) bool) {
	agent, name := r.PathValue("agent"), r.PathValue("name")
	if rf := s.checkHook(w, r, agent, name, spawn); rf != nil {
		s.refuse(w, r, agent, name, *rf)
	}
}

func (s *Server) checkHook(w http.ResponseWriter, r *http.Request, agent, name string, spawn func(func(ctx context.Context)) bool) *refusal {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return &refusal{status: http.StatusMethodNotAllowed, reason: "method " + r.Method}
	}
	var hook sched.Schedule
	ok := s.cfg.Hooks != nil && pathNameRE.MatchString(agent) && pathNameRE.MatchString(name)
	if ok {
		hook, ok = s.cfg.Hooks.Webhook(agent, name)
	}
	if !ok || hook.Secret == "" { // never accept a hook anyone can sign
		return &refusal{status: http.StatusNotFound, reason: "unknown hook"}
	}
	if r.ContentLength > s.cfg.BodyLimit {
		return &refusal{status: http.StatusRequestEntityTooLarge, reason: "body over " + strconv.FormatInt(s.cfg.BodyLimit, 10) + " bytes"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.BodyLimit))
	if err != nil {
		if _, big := errors.AsType[*http.MaxBytesError](err); big {
			return &refusal{status: http.StatusRequestEntityTooLarge, reason: "body over " + strconv.FormatInt(s.cfg.BodyLimit, 10) + " bytes"}
		}
		return &refusal{status: http.StatusBadRequest, reason: "read body"}
	}

	now := s.cfg.Clock.Now()
	ts := r.Header.Get(HeaderTimestamp)
	if ts != "" {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return &refusal{status: http.StatusBadRequest, reason: "malformed timestamp"}
		}
		if age := now.Sub(time.Unix(sec, 0)); age > s.cfg.ReplayWindow || age < -s.cfg.ReplayWindow {
			return &refusal{status: http.StatusUnauthorized, reason: "timestamp outside the replay window"}
		}
	}

	sig := r.Header.Get(HeaderSignature)
	if sig == "" {
		return &refusal{status: http.StatusUnauthorized, reason: "missing signature"}
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	if err != nil || !strings.HasPrefix(sig, "sha256=") {
		return &refusal{status: http.StatusUnauthorized, reason: "malformed signature"}
	}
	if !hmac.Equal(got, Sign([]byte(hook.Secret), ts, body)) {
		return &refusal{status: http.StatusUnauthorized, reason: "bad signature"}
	}

	delivery := r.Header.Get(HeaderDelivery)
	if ts == "" && delivery == "" {
		return &refusal{status: http.StatusBadRequest, reason: "neither " + HeaderTimestamp + " nor " + HeaderDelivery +
			": a replay could not be told from a new delivery"}
	}
	ids := []string{"s:" + hook.Key() + ":" + hex.EncodeToString(got)}
	if delivery != "" {
		ids = append(ids, "d:"+hook.Key()+":"+delivery)
	}
	if seen, err := s.replays.SeenReplayKey(r.Context(), now, ids...); err != nil {
		s.log.Error("webhook replay check", "err", err)
		return &refusal{status: http.StatusServiceUnavailable, reason: "replay check unavailable"}
	} else if seen {
		return &refusal{status: http.StatusConflict, reason: "replayed delivery"}
	}
	if ok, wait := s.limits.allow(hook.Key(), s.cfg.WebhookRate, now); !ok {
		return &refusal{status: http.StatusTooManyRequests, reason: "rate limited", retry: wait}
	}
	prompt, err := sched.RenderPrompt(hook.Prompt, body, hook.Fields, s.cfg.Redact, s.cfg.MaxFieldLen)
	if err != nil {
		return &refusal{status: http.StatusBadRequest, reason: "payload is not JSON"}
	}
	if fresh, err := s.replays.ClaimReplayKeys(r.Context(), now, now.Add(s.keepFor), ids...); err != nil {
		s.log.Error("webhook replay record", "err", err)
		return &refusal{status: http.StatusServiceUnavailable, reason: "replay check unavailable"}
	} else if !fresh {
		return &refusal{status: http.StatusConflict, reason: "replayed delivery"}
	}
	started := spawn(func(ctx context.Context) {
		res, err := s.cfg.Hooks.RunWebhook(ctx, agent, name, prompt)
		if err != nil {
			s.log.Warn("webhook run failed", "agent", agent, "hook", name, "job", res.Job.ID, "err", err)
			return
		}
		s.log.Info("webhook run done", "agent", agent, "hook", name, "job", res.Job.ID, "status", res.Job.Status)
	})
	if !started {
		if err := s.replays.ReleaseReplayKeys(context.WithoutCancel(r.Context()), ids...); err != nil {
			s.log.Error("webhook replay release", "err", err)
		}
		return &refusal{status: http.StatusServiceUnavailable, reason: "too many webhook runs going"}
	}
	s.log.Info("webhook accepted", "agent", agent, "hook", name, "delivery", delivery)
	s.writeAudit(r.Context(), agents.AuditEntry{
		Time: now, Agent: agent, Actor: "webhook:" + name, Action: "webhook.accepted",
		Subject: agent + "/" + name, Detail: detail(map[string]string{"delivery": delivery}),
	})
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
	return nil
}

// Sign is the HMAC-SHA256 a sender puts (hex, after "sha256=") in
// X-Hub-Signature-256: over body, or over timestamp + "." + body when it
// also sends X-Herdbot-Timestamp.
func Sign(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	if timestamp != "" {
		m.Write([]byte(timestamp + "."))
	}
	m.Write(body)
	return m.Sum(nil)
}

// refuse answers a refused request and audits it (rate-limited across
// requests: see Config.AuditRate). Neither the body nor the signature is
// logged or stored.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, agent, name string, rf refusal) {
	if rf.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(rf.retry.Seconds())+1))
	}
	writeJSON(w, rf.status, map[string]string{"error": rf.reason})

	if !pathNameRE.MatchString(agent) {
		agent = ""
	}
	if !pathNameRE.MatchString(name) {
		name = "?"
	}
	s.log.Warn("webhook refused", "agent", agent, "hook", name, "status", rf.status, "reason", rf.reason, "remote", r.RemoteAddr)
	s.auditMu.Lock()
	ok, _ := s.audits.take(s.cfg.Clock.Now())
	dropped := s.dropped
	if ok {
		s.dropped = 0
	} else {
		s.dropped++
	}
	s.auditMu.Unlock()
	if !ok {
		return
	}
	d := map[string]string{"reason": rf.reason, "status": strconv.Itoa(rf.status), "remote": r.RemoteAddr}
	if dropped > 0 {
		d["unaudited_before"] = strconv.Itoa(dropped)
	}
	s.writeAudit(r.Context(), agents.AuditEntry{
		Time: s.cfg.Clock.Now(), Agent: agent, Actor: "webhook:" + name, Action: "webhook.refused",
		Subject: agent + "/" + name, Detail: detail(d),
	})
}

func (s *Server) writeAudit(ctx context.Context, e agents.AuditEntry) {
	if s.cfg.Audit == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := s.cfg.Audit.Audit(ctx, e); err != nil {
		s.log.Error("record lost: the store did not take it", "record", "audit", "action", e.Action, "err", err)
		if s.cfg.Lost != nil {
			s.cfg.Lost.RecordLost("audit")
		}
	}
}

func detail(m map[string]string) string {
	b, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
