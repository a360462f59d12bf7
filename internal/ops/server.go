// Package ops is herdbot's HTTP listener: signed webhooks that run agent
// schedules (POST /hooks/AGENT/NAME), /healthz and /metrics.
package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/sched"
)

// Defaults.
const (
	DefaultBodyLimit    = 1 << 20 // bytes
	DefaultReplayWindow = 5 * time.Minute
	DefaultDeliveryTTL  = 24 * time.Hour
	DefaultCheckTimeout = 3 * time.Second
	DefaultMaxInFlight  = 64
)

// DefaultAuditRate caps the audit rows written for refused requests, so a
// flood of bad requests cannot fill the audit table.
var DefaultAuditRate = Rate{N: 120, Per: time.Minute}

// DefaultWebhookRate is how many requests each webhook takes.
var DefaultWebhookRate = Rate{N: 30, Per: time.Minute}

// Check is one named health check; Func returns nil when healthy and must
// return once its ctx is done (each check runs under CheckTimeout).
type Check struct {
	Name string // "store", "engine", "chat:garden:discord", …
	Func func(ctx context.Context) error
}

// Hooks is what the webhook endpoint needs of the scheduler;
// *sched.Scheduler implements it.
type Hooks interface {
	// Webhook returns the enabled webhook schedule agent/name.
	Webhook(agent, name string) (sched.Schedule, bool)
	// RunWebhook runs it with prompt and posts the report; it blocks.
	RunWebhook(ctx context.Context, agent, name, prompt string) (agents.RunResult, error)
}

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

// Auditor records audit rows; store.DB implements it.
type Auditor interface {
	Audit(ctx context.Context, e agents.AuditEntry) error
}

// LossRecorder counts records the store did not take (metrics.Metrics
// implements it).
type LossRecorder interface {
	RecordLost(record string)
}

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	Gatherer prometheus.Gatherer // served at /metrics; nil = no /metrics
	Checks   []Check             // run by /healthz, in this order
	Hooks    Hooks               // nil = every /hooks request is unknown
	Audit    Auditor             // nil = refused requests are only logged
	Lost     LossRecorder        // nil = audit rows the store did not take are only logged
	Replays  Replays             // nil = in memory (a restart forgets accepted deliveries)
	// Redact masks secrets in payload values put into prompts and in
	// health check errors; nil leaves them as they are.
	Redact func(string) string
	Clock  clockwork.Clock

	BodyLimit    int64         // largest webhook body
	ReplayWindow time.Duration // accepted age of X-Herdbot-Timestamp, either way
	DeliveryTTL  time.Duration // how long delivery ids and signatures of untimestamped requests are remembered
	MaxFieldLen  int           // longest payload value in a prompt (characters)
	CheckTimeout time.Duration // per health check
	MaxInFlight  int           // webhook runs at once across hooks; more → 503
	AuditRate    Rate          // audit rows for refused requests
	WebhookRate  Rate          // requests per webhook
	// StopGrace is how long Run, once its ctx is done, lets webhook runs
	// still going finish before it cancels them. The runs' own owner (the
	// fleet, which gives every run the same grace on shutdown and then
	// interrupts it) is expected to end them first; this is the backstop.
	// 0 = 1 min.
	StopGrace time.Duration
}

// Server serves the ops endpoints. Create it with New; Run serves.
type Server struct {
	cfg     Config
	log     *slog.Logger
	limits  *limiter
	replays Replays
	keepFor time.Duration // how long accepted deliveries are remembered
	audits  *bucket       // of refused-request audit rows
	auditMu sync.Mutex
	dropped int // refused-request audit rows not written (under auditMu)
}

// New returns a Server for cfg.
func New(cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
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
		cfg.MaxFieldLen = sched.DefaultFieldLen
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = DefaultCheckTimeout
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
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = time.Minute
	}
	return &Server{
		cfg:     cfg,
		log:     log.With("component", "ops"),
		limits:  newLimiter(),
		replays: replays,
		keepFor: keep,
		audits:  newBucket(cfg.AuditRate, cfg.Clock.Now()),
	}
}

// Run serves on ln until ctx is done, then shuts the listener down and
// waits for the webhook runs still going (and their reports): they are not
// cancelled, as a scheduled or chat run is not (the fleet gives each the
// same grace), unless they are still going StopGrace later. It returns nil
// after a clean shutdown.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	hookCtx, cancelHooks := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHooks()
	runs := &group{limit: s.cfg.MaxInFlight}
	srv := &http.Server{
		Handler:           s.routes(hookCtx, runs),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return runCtx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("ops listening", "addr", ln.Addr().String())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if serveErr == nil {
		serveErr = <-errc
	}
	cancel()
	backstop := s.cfg.Clock.AfterFunc(s.cfg.StopGrace, cancelHooks)
	runs.close()
	backstop.Stop()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("ops serve: %w", serveErr)
	}
	return nil
}

func (s *Server) routes(hookCtx context.Context, runs *group) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.healthz)
	if s.cfg.Gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}))
	}
	mux.HandleFunc("/hooks/{agent}/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.hook(w, r, func(f func(ctx context.Context)) bool { return runs.goWith(hookCtx, f) })
	})
	return mux
}

// group owns the webhook run goroutines: goWith starts one unless closed or
// limit are running; close stops new ones and waits for the rest.
type group struct {
	mu     sync.Mutex
	closed bool
	n      int
	limit  int
	wg     sync.WaitGroup
}

func (g *group) goWith(ctx context.Context, f func(ctx context.Context)) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.n >= g.limit {
		return false
	}
	g.n++
	g.wg.Go(func() {
		defer func() {
			g.mu.Lock()
			g.n--
			g.mu.Unlock()
		}()
		f(ctx)
	})
	return true
}

func (g *group) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
