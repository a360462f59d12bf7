// Package ops is herdbot's HTTP listener: /healthz, /metrics, and the
// scheduler's webhook endpoint (sched.Webhooks, POST /hooks/AGENT/NAME),
// which it mounts.
package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/herdbot/herdbot/sched"
)

// DefaultCheckTimeout bounds each health check.
const DefaultCheckTimeout = 3 * time.Second

// Check is one named health check; Func returns nil when healthy and must
// return once its ctx is done (each check runs under CheckTimeout).
type Check struct {
	Name string // "store", "engine", "engine:box2", "chat:garden:discord", …
	Func func(ctx context.Context) error
	// Info, when set, is the check instead of Func: its text is the
	// result's Detail.
	Info func(ctx context.Context) (string, error)
	// Partial: a failure affects only part of the service (a remote
	// engine's agents): /healthz says "degraded" and stays 200.
	Partial bool
}

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	Gatherer prometheus.Gatherer // served at /metrics; nil = no /metrics
	Checks   []Check             // run by /healthz, in this order
	// Hooks is mounted at sched.WebhookPattern (the scheduler's
	// sched.Webhooks); nil = every /hooks request is not found.
	Hooks http.Handler
	// Redact masks secrets in health check errors; nil leaves them as
	// they are.
	Redact func(string) string
	// Web serves every path the others do not (the dashboard); nil: none.
	Web http.Handler
	// ConnContext is the server's http.Server.ConnContext (the
	// dashboard's, which notes each connection's ends); nil: none.
	ConnContext  func(ctx context.Context, c net.Conn) context.Context
	CheckTimeout time.Duration // per health check
}

// Server serves the ops endpoints. Create it with New; Run serves.
type Server struct {
	cfg Config
	log *slog.Logger
}

// New returns a Server for cfg.
func New(cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = DefaultCheckTimeout
	}
	return &Server{cfg: cfg, log: log.With("component", "ops")}
}

// Run serves on ln until ctx is done, then shuts the listener down. The
// webhook runs a request started are the scheduler's: its Run waits for
// them. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext:       s.cfg.ConnContext,
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
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("ops serve: %w", serveErr)
	}
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.healthz)
	if s.cfg.Gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}))
	}
	if s.cfg.Hooks != nil {
		mux.Handle(sched.WebhookPattern, s.cfg.Hooks)
	}
	if s.cfg.Web != nil {
		mux.Handle("/", s.cfg.Web)
	}
	return mux
}
