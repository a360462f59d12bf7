package sched

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/sched/spec"
)

// Webhook request headers.
const (
	HeaderSignature = "X-Hub-Signature-256" // "sha256=" + hex HMAC-SHA256
	HeaderTimestamp = "X-Herdbot-Timestamp" // unix seconds, inside the signature
	HeaderDelivery  = "X-GitHub-Delivery"   // unique per delivery (GitHub's; not signed)
)

// WebhookPattern is the path a Webhooks handler is mounted at (its
// ServeHTTP reads the agent and name path values).
const WebhookPattern = "/hooks/{agent}/{name}"

// Webhook defaults.
const (
	DefaultBodyLimit    = 1 << 20 // bytes
	DefaultReplayWindow = 5 * time.Minute
	DefaultDeliveryTTL  = 24 * time.Hour
	DefaultMaxInFlight  = 64
)

// DefaultAuditRate caps the audit rows written for refused requests, so a
// flood of bad requests cannot fill the audit table.
var DefaultAuditRate = Rate{N: 120, Per: time.Minute}

// DefaultWebhookRate is how many requests each webhook takes.
var DefaultWebhookRate = Rate{N: 30, Per: time.Minute}

// auditTimeout bounds writing one audit row.
const auditTimeout = 5 * time.Second

// Replays remembers the deliveries (ids, signatures) already accepted, for
// the replay window; store.DB implements it in SQLite, so that a restart
// does not forget them.
type Replays interface {
	// SeenReplayKey reports whether one of keys is remembered at now.
	SeenReplayKey(ctx context.Context, now time.Time, keys ...string) (bool, error)
	// ClaimReplayKeys remembers keys until expires unless one of them is
	// already remembered (then it returns false: a replay).
	ClaimReplayKeys(ctx context.Context, now, expires time.Time, keys ...string) (bool, error)
	// ReleaseReplayKeys forgets keys claimed for a delivery that did not run.
	ReleaseReplayKeys(ctx context.Context, keys ...string) error
}

// WebhookConfig configures the webhook endpoint. Zero fields take the
// defaults above.
type WebhookConfig struct {
	Replays      Replays       // nil = in memory (a restart forgets accepted deliveries)
	BodyLimit    int64         // largest webhook body
	ReplayWindow time.Duration // accepted age of X-Herdbot-Timestamp, either way
	DeliveryTTL  time.Duration // how long delivery ids and signatures of untimestamped requests are remembered
	MaxFieldLen  int           // longest payload value in a prompt (characters)
	MaxInFlight  int           // webhook runs at once across hooks; more → 503
	AuditRate    Rate          // audit rows for refused requests
	WebhookRate  Rate          // requests per webhook
}

// Webhooks is the scheduler's webhook endpoint, an http.Handler to mount
// at WebhookPattern: it checks a delivery against the webhook schedule it
// names and runs that schedule with the prompt filled from the payload.
// The runs are the scheduler's: Run waits for them at shutdown as for its
// scheduled runs (cancelled StopGrace after, like them).
type Webhooks struct {
	s       *Scheduler
	cfg     WebhookConfig
	log     *slog.Logger
	limits  *limiter
	replays Replays
	keepFor time.Duration // how long accepted deliveries are remembered

	mu       sync.Mutex
	audits   *bucket // of refused-request audit rows
	dropped  int     // refused-request audit rows not written
	inFlight int     // webhook runs going
}

// Webhooks returns the scheduler's webhook endpoint.
func (s *Scheduler) Webhooks(cfg WebhookConfig) *Webhooks {
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.ReplayWindow <= 0 {
		cfg.ReplayWindow = DefaultReplayWindow
	}
	if cfg.DeliveryTTL <= 0 {
		cfg.DeliveryTTL = DefaultDeliveryTTL
	}
	if cfg.MaxFieldLen <= 0 {
		cfg.MaxFieldLen = DefaultFieldLen
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.AuditRate.N <= 0 || cfg.AuditRate.Per <= 0 {
		cfg.AuditRate = DefaultAuditRate
	}
	if cfg.WebhookRate.N <= 0 || cfg.WebhookRate.Per <= 0 {
		cfg.WebhookRate = DefaultWebhookRate
	}
	keep := max(cfg.DeliveryTTL, 2*cfg.ReplayWindow)
	replays := cfg.Replays
	if replays == nil {
		replays = newReplayCache(keep, maxReplayEntries)
	}
	return &Webhooks{s: s, cfg: cfg, log: s.log.With("component", "webhooks"), limits: newLimiter(), replays: replays,
		keepFor: keep, audits: newBucket(cfg.AuditRate, s.clock.Now())}
}

// refusal is why a webhook request was turned away.
type refusal struct {
	status int
	reason string
	retry  time.Duration // Retry-After for 429
}

// ServeHTTP handles POST /hooks/{agent}/{name}.
//
// The signature is HMAC-SHA256 with the hook's secret, GitHub style, over
// the raw body; when X-Herdbot-Timestamp is sent, over "<timestamp>.<body>"
// instead, so the timestamp cannot be changed by whoever replays a request.
// A request must carry the timestamp or a delivery id (GitHub's
// X-GitHub-Delivery). Replays are refused by the signature (which covers
// the body, and the timestamp when there is one: removing or changing the
// unsigned delivery id does not make a replay new) and by the delivery id,
// both remembered (in SQLite, through WebhookConfig.Replays) for max(DeliveryTTL,
// 2×ReplayWindow); a timestamped request older than ReplayWindow is refused
// anyway. The checks, in order: method, known hook, body size, timestamp
// window, signature, timestamp or delivery id present, replay, rate limit,
// payload. A refused request gets a 4xx (503 when too many runs are going
// or the replay check fails), never runs, and is audited. An accepted one
// gets 202 and runs in the background, as a run of the scheduler's.
func (h *Webhooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	agent, name := r.PathValue("agent"), r.PathValue("name")
	if rf := h.check(w, r, agent, name); rf != nil {
		h.refuse(w, r, agent, name, *rf)
	}
}

func (h *Webhooks) check(w http.ResponseWriter, r *http.Request, agent, name string) *refusal {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return &refusal{status: http.StatusMethodNotAllowed, reason: "method " + r.Method}
	}
	e, hook, err := h.s.lookup(agent, name)
	if err != nil || hook.Type != TypeWebhook || !hook.Enabled || hook.Secret == "" { // never accept a hook anyone can sign
		return &refusal{status: http.StatusNotFound, reason: "unknown hook"}
	}
	if r.ContentLength > h.cfg.BodyLimit {
		return &refusal{status: http.StatusRequestEntityTooLarge, reason: "body over " + strconv.FormatInt(h.cfg.BodyLimit, 10) + " bytes"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.BodyLimit))
	if err != nil {
		if _, big := errors.AsType[*http.MaxBytesError](err); big {
			return &refusal{status: http.StatusRequestEntityTooLarge, reason: "body over " + strconv.FormatInt(h.cfg.BodyLimit, 10) + " bytes"}
		}
		return &refusal{status: http.StatusBadRequest, reason: "read body"}
	}

	now := h.s.clock.Now()
	ts := r.Header.Get(HeaderTimestamp)
	if ts != "" {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return &refusal{status: http.StatusBadRequest, reason: "malformed timestamp"}
		}
		if age := now.Sub(time.Unix(sec, 0)); age > h.cfg.ReplayWindow || age < -h.cfg.ReplayWindow {
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
	if seen, err := h.replays.SeenReplayKey(r.Context(), now, ids...); err != nil {
		h.log.Error("webhook replay check", "err", err)
		return &refusal{status: http.StatusServiceUnavailable, reason: "replay check unavailable"}
	} else if seen {
		return &refusal{status: http.StatusConflict, reason: "replayed delivery"}
	}
	if ok, wait := h.limits.allow(hook.Key(), h.cfg.WebhookRate, now); !ok {
		return &refusal{status: http.StatusTooManyRequests, reason: "rate limited", retry: wait}
	}
	prompt, err := RenderPrompt(hook.Prompt, body, hook.Fields, h.s.cfg.Redact, h.cfg.MaxFieldLen)
	if err != nil {
		return &refusal{status: http.StatusBadRequest, reason: "payload is not JSON"}
	}
	if fresh, err := h.replays.ClaimReplayKeys(r.Context(), now, now.Add(h.keepFor), ids...); err != nil {
		h.log.Error("webhook replay record", "err", err)
		return &refusal{status: http.StatusServiceUnavailable, reason: "replay check unavailable"}
	} else if !fresh {
		return &refusal{status: http.StatusConflict, reason: "replayed delivery"}
	}
	if !h.start(r.Context(), e, hook, prompt) {
		if err := h.replays.ReleaseReplayKeys(context.WithoutCancel(r.Context()), ids...); err != nil {
			h.log.Error("webhook replay release", "err", err)
		}
		return &refusal{status: http.StatusServiceUnavailable, reason: "too many webhook runs going, or herdbot is stopping"}
	}
	h.log.Info("webhook accepted", "agent", agent, "hook", name, "delivery", delivery)
	h.writeAudit(r.Context(), agents.AuditEntry{
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
func (h *Webhooks) refuse(w http.ResponseWriter, r *http.Request, agent, name string, rf refusal) {
	if rf.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(rf.retry.Seconds())+1))
	}
	writeJSON(w, rf.status, map[string]string{"error": rf.reason})

	if !spec.ValidName(agent) {
		agent = ""
	}
	if !spec.ValidName(name) {
		name = "?"
	}
	h.log.Warn("webhook refused", "agent", agent, "hook", name, "status", rf.status, "reason", rf.reason, "remote", r.RemoteAddr)
	h.mu.Lock()
	ok, _ := h.audits.take(h.s.clock.Now())
	dropped := h.dropped
	if ok {
		h.dropped = 0
	} else {
		h.dropped++
	}
	h.mu.Unlock()
	if !ok {
		return
	}
	d := map[string]string{"reason": rf.reason, "status": strconv.Itoa(rf.status), "remote": r.RemoteAddr}
	if dropped > 0 {
		d["unaudited_before"] = strconv.Itoa(dropped)
	}
	h.writeAudit(r.Context(), agents.AuditEntry{
		Time: h.s.clock.Now(), Agent: agent, Actor: "webhook:" + name, Action: "webhook.refused",
		Subject: agent + "/" + name, Detail: detail(d),
	})
}

func (h *Webhooks) writeAudit(ctx context.Context, e agents.AuditEntry) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := h.s.st.Audit(ctx, e); err != nil {
		h.log.Error("record lost: the store did not take it", "record", "audit", "action", e.Action, "err", err)
		if h.s.cfg.Metrics != nil {
			h.s.cfg.Metrics.RecordLost("audit")
		}
	}
}

// start runs hook with prompt in the background, as a run of the
// scheduler's (counted in its fires in progress, which Run waits for, with
// the same StopGrace backstop). It reports false when MaxInFlight runs are
// going or the scheduler is stopping.
func (h *Webhooks) start(ctx context.Context, e *entry, hook Schedule, prompt string) bool {
	h.mu.Lock()
	if h.inFlight >= h.cfg.MaxInFlight {
		h.mu.Unlock()
		return false
	}
	h.inFlight++
	h.mu.Unlock()
	if !h.s.enter() {
		h.done()
		return false
	}
	runCtx, cancel := h.s.detach(ctx)
	go func() {
		defer h.s.flight.Done()
		defer h.done()
		defer cancel()
		res, err := h.s.runWebhook(runCtx, e, hook, prompt)
		if err != nil {
			h.log.Warn("webhook run failed", "agent", hook.Agent, "hook", hook.Name, "job", res.Job.ID, "err", err)
			return
		}
		h.log.Info("webhook run done", "agent", hook.Agent, "hook", hook.Name, "job", res.Job.ID, "status", res.Job.Status)
	}()
	return true
}

func (h *Webhooks) done() {
	h.mu.Lock()
	h.inFlight--
	h.mu.Unlock()
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
