package sched

import (
	"context"
	"sync"
	"time"
)

// maxReplayEntries bounds the replay cache; the oldest ids go first.
const maxReplayEntries = 100_000

// replayCache remembers delivery ids (and signatures of timestamped
// requests) for ttl, so a replayed request is refused. Ids expire in the
// order they were added (one ttl for all).
type replayCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	seen  map[string]time.Time // id → expiry
	order []string
}

func newReplayCache(ttl time.Duration, max int) *replayCache {
	return &replayCache{ttl: ttl, max: max, seen: map[string]time.Time{}}
}

// SeenReplayKey implements Replays.
func (c *replayCache) SeenReplayKey(_ context.Context, now time.Time, ids ...string) (bool, error) {
	return c.has(now, ids...), nil
}

// ClaimReplayKeys implements Replays. The cache has one ttl: expires is
// ignored.
func (c *replayCache) ClaimReplayKeys(_ context.Context, now, _ time.Time, ids ...string) (bool, error) {
	return c.add(now, ids...), nil
}

// ReleaseReplayKeys implements Replays.
func (c *replayCache) ReleaseReplayKeys(_ context.Context, ids ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.seen, id) // its order entry expires harmlessly
	}
	return nil
}

// has reports whether any of ids was seen and has not expired.
func (c *replayCache) has(now time.Time, ids ...string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	for _, id := range ids {
		if _, ok := c.seen[id]; ok {
			return true
		}
	}
	return false
}

// add records ids unless one was seen already; false means a replay (a
// concurrent duplicate lost the race).
func (c *replayCache) add(now time.Time, ids ...string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	for _, id := range ids {
		if _, ok := c.seen[id]; ok {
			return false
		}
	}
	for _, id := range ids {
		c.seen[id] = now.Add(c.ttl)
		c.order = append(c.order, id)
	}
	for len(c.order) > c.max {
		c.drop()
	}
	return true
}

func (c *replayCache) expire(now time.Time) {
	for len(c.order) > 0 && !now.Before(c.seen[c.order[0]]) {
		c.drop()
	}
}

func (c *replayCache) drop() {
	delete(c.seen, c.order[0])
	c.order[0] = ""
	c.order = c.order[1:]
}
