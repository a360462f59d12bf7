package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/internal/metrics"
	"github.com/herdbot/herdbot/internal/ops"
	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/web"
)

// newMetrics returns the Prometheus registry and herdbot's collectors.
func newMetrics() (*prometheus.Registry, *metrics.Metrics) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg, metrics.New(reg)
}

// addOps serves /healthz, /metrics and /hooks on the fleet's HTTP listen
// address (default 127.0.0.1:9090).
func (svc *service) addOps(reg *prometheus.Registry, met *metrics.Metrics) error {
	checks := []ops.Check{{Name: "store", Func: svc.store.Health}}
	if svc.docker != nil {
		checks = append(checks, ops.Check{Name: "engine", Info: svc.docker.Version})
	}
	for _, name := range engineNames(svc.cfg) {
		if b := svc.engines[name]; b != nil {
			// A remote engine down stops only its own agents.
			checks = append(checks, ops.Check{Name: "engine:" + name, Info: b.Version, Partial: true})
		}
	}
	var dash *web.Server
	var handler http.Handler // nil: no dashboard (web.enabled: false)
	var connCtx func(context.Context, net.Conn) context.Context
	if svc.cfg.Web.Enabled {
		d, err := svc.dashboard()
		if err != nil {
			return err
		}
		dash, handler, connCtx = d, d, d.ConnContext
	}
	hooks := svc.sched.Webhooks(sched.WebhookConfig{Replays: svc.store})
	srv := ops.New(ops.Config{Gatherer: reg, Checks: checks, Hooks: hooks, Redact: svc.red.String, Web: handler, ConnContext: connCtx}, svc.log)
	ln, err := net.Listen("tcp", svc.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http listen %s (http.listen in %s): %w", svc.cfg.HTTP.Listen, svc.cfg.Path, err)
	}
	board := "off (web.enabled: false)"
	if dash != nil {
		board = "http://" + ln.Addr().String() + "/"
	}
	svc.log.Info("serving /healthz, /metrics and /hooks", "addr", ln.Addr().String(), "dashboard", board)
	svc.runs = append(svc.runs, func(ctx context.Context) error {
		err := srv.Run(ctx, ln)
		if dash != nil {
			dash.Wait() // schedule runs triggered from the dashboard
		}
		return err
	})
	return nil
}

// dashboard is the web dashboard (package web) on http.listen: it reads
// the store and fleet the control socket reads, decides approvals through
// the fleet's broker, and redacts with the fleet's redactor. A
// non-loopback http.listen needs a login in the fleet .env
// (HERDBOT_WEB_PASSWORD_HASH or HERDBOT_WEB_TOKEN); without one, only
// herdbot's own uid and root are served, on loopback.
func (svc *service) dashboard() (*web.Server, error) {
	cfg := svc.cfg
	return web.New(web.Config{
		Fleet: svc.fleet, Store: svc.store, Redact: svc.red.String,
		Schedules: svc.sched.List, Trigger: svc.sched.Trigger,
		Native: svc.backends.Native,
		Chats: func(agent string) []string {
			var on []string
			for _, p := range []string{bot.Discord, bot.Slack, bot.Console} {
				if _, ok := svc.mux.Outbox(agent, p); ok {
					on = append(on, p)
				}
			}
			return on
		},
		Summary: func(agent string, now time.Time) string {
			var b strings.Builder
			if err := config.AgentSummary(svc.cfgNow.Load(), agent, &b, now, nextRuns); err != nil {
				return err.Error()
			}
			return b.String()
		},
		Listen: cfg.HTTP.Listen, Token: cfg.Env[web.TokenEnv], PasswordHash: cfg.Env[web.PasswordHashEnv], LocalName: operatorName(),
		Published:  os.Getenv("HERDBOT_IN_CONTAINER") == "1", // deploy/docker-compose.yml: published on the host's 127.0.0.1
		SessionTTL: cfg.Web.SessionExpiry, HideToolResults: !cfg.Web.ToolResults,
		Log: svc.log.With("component", "web"),
	})
}

// runsStopGrace is how long the scheduler waits, at shutdown, for its
// runs (scheduled and webhook ones) before cancelling them: a backstop well after
// the fleet's own grace (30 s) and its retries of a store that cannot
// write, which end every run first, all alike.
const runsStopGrace = 90 * time.Second

// addRetention prunes old jobs (keeping the newest 1000 per agent) and old
// schedule slots every hour.
func (svc *service) addRetention() {
	svc.runs = append(svc.runs, func(ctx context.Context) error {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if n, err := svc.store.Prune(ctx, 0); err != nil && ctx.Err() == nil {
				svc.log.Warn("prune jobs", "err", err)
			} else if n > 0 {
				svc.log.Info("pruned old jobs", "jobs", n)
			}
			if _, err := svc.store.PruneSlots(ctx, time.Now().Add(-30*24*time.Hour)); err != nil && ctx.Err() == nil {
				svc.log.Warn("prune schedule slots", "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
}

// addReload reloads the config on SIGHUP and when a config file changes:
// validate, then apply. An invalid new config keeps the old one running.
func (svc *service) addReload() {
	svc.runs = append(svc.runs, func(ctx context.Context) error {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		w := &reloader{log: svc.log, watch: config.WatchReady, fleet: func() *config.Fleet { return svc.cfg },
			reload: svc.reload, hup: hup, minBackoff: time.Second, maxBackoff: 5 * time.Minute}
		w.run(ctx)
		return nil
	})
}

// reloader runs the config file watch and reloads on its changes and on
// SIGHUP. After every applied reload the watch is restarted on the new
// config (so files of new agents are watched): the new watch is in place
// before the old one stops, and when the new config has files the old one
// did not watch, one more reload catches a change made to them meanwhile.
// A watch that stops by itself (an inotify limit, say) is restarted with
// capped backoff, then a reload catches what it missed; SIGHUP works
// meanwhile. Shutdown waits only for a watch that was told to stop.
type reloader struct {
	log    *slog.Logger
	watch  func(ctx context.Context, f *config.Fleet, onChange, ready func()) error // config.WatchReady
	fleet  func() *config.Fleet                                                     // the running config
	reload func(ctx context.Context) bool                                           // true when applied
	hup    <-chan os.Signal

	minBackoff, maxBackoff time.Duration
}

// watchRun is one running watch.
type watchRun struct {
	files map[string]bool
	stop  context.CancelFunc
	ended chan error
}

func (r *reloader) run(ctx context.Context) {
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	// start starts a watch of the running config and waits until it is
	// in place; nil when it ended first (its error is returned).
	start := func() (*watchRun, error) {
		wctx, cancel := context.WithCancel(ctx)
		w := &watchRun{files: map[string]bool{}, stop: cancel, ended: make(chan error, 1)}
		f := r.fleet()
		for _, p := range f.WatchedFiles() {
			w.files[p] = true
		}
		ready := make(chan struct{})
		go func() { w.ended <- r.watch(wctx, f, poke, func() { close(ready) }) }()
		select {
		case <-ready:
			return w, nil
		case err := <-w.ended:
			cancel()
			if err == nil {
				err = ctx.Err()
			}
			return nil, err
		}
	}
	stop := func(w *watchRun) {
		if w != nil {
			w.stop()
			<-w.ended // Watch returns once its ctx is done
		}
	}
	var (
		cur     *watchRun
		retry   <-chan time.Time // armed while no watch runs
		backoff = r.minBackoff
	)
	failed := func(err error) {
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("config file watch stopped; restarting it (SIGHUP still reloads)", "in", backoff, "err", err)
		retry = time.After(backoff)
		backoff = min(2*backoff, r.maxBackoff)
	}
	defer func() { stop(cur) }()
	if w, err := start(); err != nil {
		failed(err)
	} else {
		cur = w
	}
	reload := func() {
		if !r.reload(ctx) {
			return
		}
		next, err := start()
		if err != nil {
			stop(cur)
			cur = nil
			failed(err)
			return
		}
		old := cur
		cur, retry, backoff = next, nil, r.minBackoff
		stop(old)
		if old == nil {
			return
		}
		for p := range next.files {
			if !old.files[p] {
				poke() // a file the old watch did not see may have changed since the load
				return
			}
		}
	}
	var ended <-chan error
	for {
		ended = nil
		if cur != nil {
			ended = cur.ended
		}
		select {
		case <-ctx.Done():
			return
		case err := <-ended:
			cur.stop()
			cur = nil
			failed(err)
		case <-retry:
			retry = nil
			w, err := start()
			if err != nil {
				failed(err)
				continue
			}
			cur, backoff = w, r.minBackoff
			poke() // what changed while nothing watched
		case <-r.hup:
			reload()
		case <-changed:
			reload()
		}
	}
}

// reload applies a changed config: agents added, removed or changed,
// schedules added, removed or re-timed, and chat connections restarted only
// for agents whose chat config changed. Anything invalid keeps the running
// config whole.
func (svc *service) reload(ctx context.Context) bool {
	// Reload, not Load: each agent keeps the agent file it started with.
	next, err := config.Reload(svc.cfg)
	if err != nil {
		svc.log.Error("config reload refused; the running config stays", "err", err)
		return false
	}
	for _, w := range next.Warnings {
		if !slices.Contains(svc.cfg.Warnings, w) {
			svc.log.Warn("config: " + w)
		}
	}
	if sameFleetLevel(svc.cfg, next) != "" {
		svc.log.Error("config reload refused: " + sameFleetLevel(svc.cfg, next) + " changed; restart herdbot for that")
		return false
	}
	specs, err := svc.specs(next)
	if err != nil {
		svc.log.Error("config reload refused; the running config stays", "err", err)
		return false
	}
	for _, sc := range schedules(next) {
		if err := sched.Validate(sc); err != nil {
			svc.log.Error("config reload refused: schedules", "err", err)
			return false
		}
	}
	svc.red.UpdateNamed(redactSecrets(next)...)
	svc.fleet.SetLocation(next.BudgetLocation())
	if err := svc.fleet.SetAgents(specs); err != nil {
		svc.log.Error("config reload refused; the running config stays", "err", err)
		return false
	}
	if err := svc.sched.Apply(ctx, schedules(next)); err != nil {
		svc.log.Error("config reload: schedules not applied", "err", err)
	}
	svc.wantChat(next)
	svc.cfg = next
	svc.cfgNow.Store(next)
	svc.log.Info("config reloaded", "agents", len(next.Agents), "schedules", len(schedules(next)))
	return true
}

// reloadNeedsRestart are the fleet-level settings a reload cannot change
// live (README.md's "Reload" section names them; TestDocsReloadSection
// keeps it so). Everything else a reload applies: agents (Fleet.SetAgents),
// schedules, chat connections and redaction.
var reloadNeedsRestart = []struct {
	name string
	same func(old, next *config.Fleet) bool
}{
	{"state_dir", func(o, n *config.Fleet) bool { return o.StateDir == n.StateDir }},
	{"http.listen", func(o, n *config.Fleet) bool { return o.HTTP == n.HTTP }},
	{"web", func(o, n *config.Fleet) bool { // and the login in the fleet .env
		return o.Web == n.Web && o.Env[web.TokenEnv] == n.Env[web.TokenEnv] && o.Env[web.PasswordHashEnv] == n.Env[web.PasswordHashEnv]
	}},
	{"model_api", func(o, n *config.Fleet) bool { return o.Model == n.Model }}, // its credentials too
	{"fleet.name", func(o, n *config.Fleet) bool { return o.Name == n.Name }},
	{"engines", func(o, n *config.Fleet) bool { return maps.Equal(o.Engines, n.Engines) }}, // one backend each, made at start
}

// sameFleetLevel names a fleet-level setting that reload cannot change
// live, or "".
func sameFleetLevel(old, next *config.Fleet) string {
	for _, r := range reloadNeedsRestart {
		if !r.same(old, next) {
			return r.name
		}
	}
	return ""
}
