package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/herdbot/herdbot/bot"
)

// chatEntry is one wanted chat connection: an agent's bot on a platform.
type chatEntry struct {
	agent, platform string
	fingerprint     string // changes when the connection's config changes
	make            func() (bot.Adapter, error)
}

func (e chatEntry) key() string { return e.agent + "/" + e.platform }

// chatSup owns the Discord and Slack connections: it starts and stops them
// to match the wanted set (at start and on reload) and restarts one that
// fails, with backoff, without taking the rest of herdbot down.
type chatSup struct {
	log  *slog.Logger
	h    bot.Handler
	mux  *bot.Mux
	want chan []chatEntry
}

func newChatSup(log *slog.Logger, h bot.Handler, mux *bot.Mux) *chatSup {
	return &chatSup{log: log, h: h, mux: mux, want: make(chan []chatEntry, 1)}
}

// Set replaces the wanted connections.
func (c *chatSup) Set(entries []chatEntry) {
	select {
	case <-c.want: // drop a set not yet applied
	default:
	}
	c.want <- entries
}

type chatRun struct {
	fingerprint string
	cancel      context.CancelFunc
	done        chan struct{}
}

// Run applies wanted sets until ctx is done, then stops every connection.
func (c *chatSup) Run(ctx context.Context) error {
	running := map[string]*chatRun{}
	stop := func(k string) {
		r := running[k]
		r.cancel()
		<-r.done
		delete(running, k)
	}
	defer func() {
		for k := range running {
			stop(k)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case entries := <-c.want:
			wanted := map[string]chatEntry{}
			for _, e := range entries {
				wanted[e.key()] = e
			}
			for k, r := range running {
				if e, ok := wanted[k]; !ok || e.fingerprint != r.fingerprint {
					stop(k)
					if !ok {
						agent, platform := splitKey(k)
						c.mux.Remove(agent, platform)
						c.log.Info("chat connection stopped", "agent", agent, "platform", platform)
					}
				}
			}
			for k, e := range wanted {
				if _, ok := running[k]; ok {
					continue
				}
				ad, err := e.make()
				if err != nil {
					c.log.Error("chat connection not started", "agent", e.agent, "platform", e.platform, "err", err)
					continue
				}
				c.mux.Register(e.agent, e.platform, ad)
				rctx, cancel := context.WithCancel(ctx)
				r := &chatRun{fingerprint: e.fingerprint, cancel: cancel, done: make(chan struct{})}
				running[k] = r
				go c.keep(rctx, e, ad, r.done)
			}
		}
	}
}

// keep runs one adapter until ctx is done, restarting it after failures.
func (c *chatSup) keep(ctx context.Context, e chatEntry, ad bot.Adapter, done chan struct{}) {
	defer close(done)
	backoff := 5 * time.Second
	for {
		err := ad.Run(ctx, c.h)
		if ctx.Err() != nil {
			return
		}
		c.log.Error("chat connection failed; retrying", "agent", e.agent, "platform", e.platform, "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Minute)
	}
}

func splitKey(k string) (agent, platform string) {
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

// fingerprintOf renders a chat config for change detection (never logged:
// it holds tokens).
func fingerprintOf(v any) string { return fmt.Sprintf("%+v", v) }
