package discordtest

import (
	"bytes"
	"sync"
	"time"
)

// Bucket is a per-route rate limit in the manner of Discord's: at most Limit
// requests with Method whose path (without /api/v9) matches Pattern
// (path.Match syntax) in any Window, counted separately for each distinct
// path. "/channels/123/messages/*" with Limit 5 and Window 5 s allows five
// edits of each message in channel 123 per five seconds.
type Bucket struct {
	Method  string
	Pattern string
	Limit   int
	Window  time.Duration
}

// bucket is a Bucket with the times of the requests it let through, by path.
type bucket struct {
	Bucket
	seen map[string][]time.Time
}

// AddBucket enforces b until the returned function is called. A request
// over the limit is answered 429 with retry_after (until the oldest request
// in the window leaves it), X-RateLimit-* headers and no effect, and is
// recorded with status 429 like every call. Unlike Discord, the fake sends
// no X-RateLimit headers on requests it lets through: a client cannot pace
// itself from them, so a client that goes too fast shows up as recorded
// 429s instead of being slowed down silently.
func (s *Server) AddBucket(b Bucket) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bk := &bucket{Bucket: b, seen: map[string][]time.Time{}}
	s.buckets = append(s.buckets, bk)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, x := range s.buckets {
			if x == bk {
				s.buckets = append(s.buckets[:i], s.buckets[i+1:]...)
				return
			}
		}
	}
}

// bucketLimited applies the buckets to one request: ok is true (with the
// wait and the bucket's limit) when the request must be refused.
func (s *Server) bucketLimited(method, p string) (wait time.Duration, limit int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, b := range s.buckets {
		if b.Method != method || !matchPath(b.Pattern, p) {
			continue
		}
		kept := b.seen[p][:0]
		for _, t := range b.seen[p] {
			if now.Sub(t) < b.Window {
				kept = append(kept, t)
			}
		}
		b.seen[p] = kept
		if len(kept) >= b.Limit {
			return kept[0].Add(b.Window).Sub(now), b.Limit, true
		}
	}
	for _, b := range s.buckets {
		if b.Method == method && matchPath(b.Pattern, p) {
			b.seen[p] = append(b.seen[p], now)
		}
	}
	return 0, 0, false
}

// hold keeps matching requests waiting until released.
type hold struct {
	method, pattern string
	release         chan struct{}
	waiting         int
}

// Hold makes requests with this method whose path (without /api/v9)
// matches pattern wait, unanswered, until the returned release is called
// (Discord being very slow on one route, say a channel's messages). Held
// reports how many are waiting. Release before the client's HTTP timeout
// (discordgo's is 20 s).
func (s *Server) Hold(method, pattern string) (release func(), held func() int) {
	h := &hold{method: method, pattern: pattern, release: make(chan struct{})}
	s.mu.Lock()
	s.holds = append(s.holds, h)
	s.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			s.mu.Lock()
			for i, x := range s.holds {
				if x == h {
					s.holds = append(s.holds[:i], s.holds[i+1:]...)
					break
				}
			}
			s.mu.Unlock()
			close(h.release)
		})
	}
	held = func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return h.waiting
	}
	return release, held
}

// held blocks a request while a matching hold is on.
func (s *Server) held(method, p string) {
	s.mu.Lock()
	var h *hold
	for _, x := range s.holds {
		if x.method == method && matchPath(x.pattern, p) {
			h = x
			break
		}
	}
	if h == nil {
		s.mu.Unlock()
		return
	}
	h.waiting++
	s.notify()
	s.mu.Unlock()
	<-h.release
	s.mu.Lock()
	h.waiting--
	s.mu.Unlock()
}

// failure answers matching requests with an error status.
type failure struct {
	method, pattern string
	contains        []byte
	status          int
	n               int
}

// FailNext makes the next n requests with this method whose path (without
// /api/v9) matches pattern and whose JSON body contains substr ("" matches
// any body) fail with status (500 or 503: Discord having an outage) and an
// error body, with no effect. Use it to make one particular edit fail, say
// the one that marks an approval card as expired.
func (s *Server) FailNext(method, pattern, substr string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, &failure{method: method, pattern: pattern, contains: []byte(substr), status: status, n: n})
}

func (s *Server) failing(method, p string, body []byte) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.failures {
		if f.n > 0 && f.method == method && matchPath(f.pattern, p) && bytes.Contains(body, f.contains) {
			f.n--
			return f.status, true
		}
	}
	return 0, false
}
