package slack

import (
	"sync"
)

// recent is a bounded set of strings: the oldest entries are forgotten
// past its capacity. It dedupes redelivered envelopes and remembers
// threads without growing forever.
type recent struct {
	mu    sync.Mutex
	max   int
	set   map[string]struct{}
	order []string
	head  int
}

func newRecent(max int) *recent {
	return &recent{max: max, set: make(map[string]struct{}, max)}
}

// add records k and reports whether it was new.
func (r *recent) add(k string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[k]; ok {
		return false
	}
	if len(r.order) < r.max {
		r.order = append(r.order, k)
	} else {
		delete(r.set, r.order[r.head])
		r.order[r.head] = k
		r.head = (r.head + 1) % r.max
	}
	r.set[k] = struct{}{}
	return true
}

// has reports whether k is in the set.
func (r *recent) has(k string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.set[k]
	return ok
}
