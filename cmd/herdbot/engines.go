package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/internal/metrics"
	"github.com/herdbot/herdbot/sandbox/docker"
	"github.com/herdbot/herdbot/sandbox/egress"
)

// engineNames are the fleet file's engines, sorted.
func engineNames(cfg *config.Fleet) []string {
	out := make([]string, 0, len(cfg.Engines))
	for n := range cfg.Engines {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// newEngine is the backend of one of the fleet file's engines: remote
// (nothing of this host is mounted there), reached with its own TLS
// certificate or over SSH. An engine that does not answer yet is not an error: its
// agents' runs fail as "engine lost" until it does.
func newEngine(ctx context.Context, cfg *config.Fleet, e config.Engine, installation string, log *slog.Logger, svc *service, met *metrics.Metrics) (*docker.Backend, error) {
	dc := docker.Config{Fleet: cfg.Name, Installation: installation, Engine: e.Name, Host: e.Host, Remote: true,
		OnEgress: svc.onEgress(e.Name, log, met)}
	if e.CA != "" || e.Cert != "" || e.Key != "" {
		dc.TLS = &docker.TLSFiles{CA: e.CA, Cert: e.Cert, Key: e.Key}
	}
	if e.SSHKey != "" {
		dc.SSH = &docker.SSHFiles{Key: e.SSHKey, KnownHosts: e.KnownHosts, Socket: e.Socket}
	}
	b, err := docker.New(ctx, dc, log)
	if err != nil {
		return nil, fmt.Errorf("engine %s (engines.%s in %s): %w", e.Name, e.Name, cfg.Path, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.Ping(pctx); err != nil {
		log.Warn("engine not reachable: its agents' runs fail until it answers", "engine", e.Name, "err", err)
		return b, nil
	}
	if err := b.Cleanup(pctx); err != nil {
		log.Warn("remove orphans of a previous run", "engine", e.Name, "err", err)
	}
	return b, nil
}

// onEgress records an egress sidecar's connection of an agent on engine:
// the metric, and an audit row.
func (svc *service) onEgress(engine string, log *slog.Logger, met *metrics.Metrics) func(egress.Record) {
	return func(r egress.Record) {
		met.Egress(engine, r.Agent, r.Allowed)
		action, subject, detail := r.Audit()
		if err := svc.store.Audit(context.Background(), agents.AuditEntry{Time: r.Time, Agent: r.Agent, Actor: "agent:" + r.Agent,
			Action: action, Subject: subject, Detail: detail}); err != nil {
			log.Error("record lost: the store did not take it", "record", "audit", "action", action, "agent", r.Agent, "err", err)
			met.RecordLost("audit")
		}
	}
}

// engineOf is the backend agent a runs on: its engine's, or the local one.
func (svc *service) engineOf(a *config.Agent) *docker.Backend {
	if a.Docker.Engine != "" {
		return svc.engines[a.Docker.Engine]
	}
	return svc.docker
}

// engineImages makes sure each agent on a remote engine finds its image
// there: one missing is built there, through the engine's build API, from
// the pinned CLI (claudeBin) as `make agent-image` builds it here. Without
// a CLI, the runs say how to build it (sandbox.ErrImageMissing).
func (svc *service) engineImages(ctx context.Context, cfg *config.Fleet, useDocker map[string]bool, claudeBin string) error {
	done := map[string]bool{}
	for _, a := range cfg.Agents {
		eng := svc.engines[a.Docker.Engine]
		key := a.Docker.Engine + "\x00" + a.Docker.Image
		if a.Docker.Engine == "" || eng == nil || !useDocker[a.Name] || done[key] {
			continue
		}
		done[key] = true
		ok, err := eng.ImageExists(ctx, a.Docker.Image)
		if err != nil {
			svc.log.Warn("agent image on its engine: engine not reachable", "engine", a.Docker.Engine, "image", a.Docker.Image, "err", err)
			continue
		}
		if ok || claudeBin == "" {
			continue
		}
		svc.log.Info("building the agent image on its engine from the pinned CLI", "engine", a.Docker.Engine, "image", a.Docker.Image, "claude", claudeBin)
		if err := eng.BuildCLIImage(ctx, a.Docker.Image, claudeBin); err != nil {
			return fmt.Errorf("agent image %s on engine %s: %w", a.Docker.Image, a.Docker.Engine, err)
		}
	}
	return nil
}

// closeEngines closes the remote engines' backends.
func (svc *service) closeEngines(ctx context.Context) {
	for name, b := range svc.engines {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if err := b.Close(cctx); err != nil {
			svc.log.Warn("stop containers", "engine", name, "err", err)
		}
		cancel()
	}
}
