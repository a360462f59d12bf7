package discordtest

import (
	"bytes"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"strings"
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
// recorded with status 429 like every call. Requests it lets through carry
// its X-RateLimit-* headers too, as on Discord, so a client that reads them
// (discordgo does) waits instead of going over; a client that ignores them
// shows up as recorded 429s.
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

// DefaultBucket is the limit on routes no AddBucket covers: per route and
// major parameter (channel, guild or webhook), like Discord's per-route
// limits, and generous enough that tests are not slowed down; its headers
// still go out on every response. It counts in real time, not on
// Options.Now.
var DefaultBucket = Bucket{Limit: 50, Window: time.Second}

// rateState is what the X-RateLimit-* headers of one response say.
type rateState struct {
	limit, remaining int
	resetAfter       time.Duration
	bucket           string // X-RateLimit-Bucket: the route, without major parameters
}

// bucketLimited applies the buckets to one request: refused is true when
// it must be answered 429; rs describes the bucket either way (the first
// AddBucket that matches, else the route's default bucket).
func (s *Server) bucketLimited(method, p string) (rs rateState, refused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var first *bucket
	for _, b := range s.buckets {
		if b.Method != method || !matchPath(b.Pattern, p) {
			continue
		}
		kept := b.prune(p, now)
		if first == nil {
			first = b
		}
		if len(kept) >= b.Limit {
			return rateState{limit: b.Limit, remaining: 0, resetAfter: kept[0].Add(b.Window).Sub(now),
				bucket: bucketHash(method + " " + b.Pattern)}, true
		}
	}
	if first != nil {
		for _, b := range s.buckets {
			if b.Method == method && matchPath(b.Pattern, p) {
				b.seen[p] = append(b.seen[p], now)
			}
		}
		kept := first.seen[p]
		return rateState{limit: first.Limit, remaining: first.Limit - len(kept),
			resetAfter: kept[0].Add(first.Window).Sub(now), bucket: bucketHash(method + " " + first.Pattern)}, false
	}
	// The route's default bucket, in real time.
	now = time.Now()
	key, route := routeKey(method, p)
	if s.routeBk == nil {
		s.routeBk = &bucket{Bucket: DefaultBucket, seen: map[string][]time.Time{}}
	}
	d := s.routeBk
	kept := d.prune(key, now)
	rs = rateState{limit: d.Limit, bucket: bucketHash(route)}
	if len(kept) >= d.Limit {
		rs.resetAfter = kept[0].Add(d.Window).Sub(now)
		return rs, true
	}
	d.seen[key] = append(kept, now)
	rs.remaining = d.Limit - len(d.seen[key])
	rs.resetAfter = d.seen[key][0].Add(d.Window).Sub(now)
	return rs, false
}

// prune drops the times that left the window and returns the rest.
func (b *bucket) prune(key string, now time.Time) []time.Time {
	kept := b.seen[key][:0]
	for _, t := range b.seen[key] {
		if now.Sub(t) < b.Window {
			kept = append(kept, t)
		}
	}
	b.seen[key] = kept
	return kept
}

// routeKey is Discord's rate-limit key of a request (the route with its
// major parameter: the first channel, guild or webhook id, and a webhook's
// token) and the route alone (for X-RateLimit-Bucket).
func routeKey(method, p string) (key, route string) {
	segs := strings.Split(p, "/")
	rsegs := append([]string(nil), segs...)
	major := false
	for i, sg := range segs {
		if !isID(sg) {
			continue
		}
		rsegs[i] = ":id"
		prev := ""
		if i > 0 {
			prev = segs[i-1]
		}
		if !major && (prev == "channels" || prev == "guilds" || prev == "webhooks") {
			major = true
			continue
		}
		if strings.HasPrefix(sg, "itok-") && prev != "interactions" {
			continue // a webhook's token is major too
		}
		segs[i] = ":id"
	}
	// Deleting messages has a bucket of its own; other methods share a route's.
	m := ""
	if method == "DELETE" {
		m = "DELETE "
	}
	return m + strings.Join(segs, "/"), m + strings.Join(rsegs, "/")
}

func isID(s string) bool {
	if strings.HasPrefix(s, "itok-") || s == "@original" {
		return true
	}
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// bucketHash is an opaque X-RateLimit-Bucket value for a route.
func bucketHash(route string) string {
	h := fnv.New64a()
	h.Write([]byte(route))
	return strconv.FormatUint(h.Sum64(), 16)
}

// setRateHeaders writes the X-RateLimit-* headers of a response.
func setRateHeaders(w http.ResponseWriter, rs rateState) {
	// Rounded up to the millisecond: a client that waits what it is told
	// must never arrive before the window frees.
	after := max(rs.resetAfter, 0).Round(time.Microsecond)
	secs := math.Ceil(after.Seconds()*1000) / 1000
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(rs.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(rs.remaining, 0)))
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
	reset := float64(time.Now().Add(after).UnixMilli()) / 1000
	h.Set("X-RateLimit-Reset", strconv.FormatFloat(reset, 'f', 3, 64))
	h.Set("X-RateLimit-Bucket", rs.bucket)
}

// retryAfterHeader is the Retry-After header of a 429: whole seconds,
// rounded up (the JSON body's retry_after has the fraction).
func retryAfterHeader(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
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
