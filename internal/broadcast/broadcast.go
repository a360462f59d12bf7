// Package broadcast fans values out to subscribers without ever blocking
// the publisher: a subscriber that falls behind misses values instead of
// slowing the sender (a live tail, not a queue).
package broadcast

import "sync"

// Hub fans out values of type T. The zero value is ready to use.
type Hub[T any] struct {
	mu   sync.Mutex
	subs map[int]chan T
	next int
}

// Subscribe returns a channel of every value published from now on, with
// room for buf values, and a func that ends the subscription (closing the
// channel). Calling the func twice is safe.
func (h *Hub[T]) Subscribe(buf int) (<-chan T, func()) {
	ch := make(chan T, buf)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[int]chan T{}
	}
	id := h.next
	h.next++
	h.subs[id] = ch
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[id]; ok {
			delete(h.subs, id)
			close(ch)
		}
	}
}

// Publish sends v to every subscriber that has room for it.
func (h *Hub[T]) Publish(v T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.subs {
		select {
		case ch <- v:
		default:
		}
	}
}
