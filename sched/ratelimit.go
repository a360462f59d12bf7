package sched

import (
	"sync"
	"time"
)

// Rate allows N events per Per, refilled continuously (a token bucket of
// size N).
type Rate struct {
	N   int
	Per time.Duration
}

// bucket is a token bucket of size r.N refilled at r.N per r.Per. Not safe
// for concurrent use on its own.
type bucket struct {
	rate   Rate
	tokens float64
	last   time.Time
}

func newBucket(r Rate, now time.Time) *bucket {
	return &bucket{rate: r, tokens: float64(r.N), last: now}
}

// take removes one token if there is one; otherwise it returns false and
// how long until there will be.
func (b *bucket) take(now time.Time) (bool, time.Duration) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(float64(b.rate.N), b.tokens+el.Seconds()*float64(b.rate.N)/b.rate.Per.Seconds())
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	per := b.rate.Per.Seconds() / float64(b.rate.N)
	return false, time.Duration((1 - b.tokens) * per * float64(time.Second))
}

// limiter holds one bucket per webhook; a hook whose rate changed (hot
// reload) starts a fresh bucket.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*bucket{}} }

func (l *limiter) allow(key string, r Rate, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok || b.rate != r {
		b = newBucket(r, now)
		l.buckets[key] = b
	}
	return b.take(now)
}
