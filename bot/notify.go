package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Notifier defaults.
const (
	DefaultNotifyMax     = 256
	DefaultNotifyTimeout = 15 * time.Second
)

// Notifier sends short notices (rate-limited, queued, refused…) off the
// inbound path, so that handling a chat event never waits for an outbound
// chat call that the platform may be rate-limiting. Post queues a send and
// returns at once; one goroutine, started when there is work and ending
// when there is none, sends them in order, each under Timeout. When Max
// sends are waiting, Post drops the new one. The zero value is ready to
// use; Close stops it.
type Notifier struct {
	Max     int           // waiting sends (default DefaultNotifyMax)
	Timeout time.Duration // per send (default DefaultNotifyTimeout)
	Log     *slog.Logger  // failures and drops (default none)

	mu      sync.Mutex
	q       []notice
	running bool
	closed  bool
	dropped int
	wg      sync.WaitGroup
}

type notice struct {
	what string
	send func(context.Context) error
}

// Post queues send (what names it in logs). It reports false when the
// notice was dropped: the queue is full or the Notifier is closed.
func (n *Notifier) Post(what string, send func(ctx context.Context) error) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	max := n.Max
	if max <= 0 {
		max = DefaultNotifyMax
	}
	if n.closed || len(n.q) >= max {
		n.dropped++
		if n.Log != nil {
			n.Log.Warn("chat notice dropped: too many waiting", "notice", what, "dropped", n.dropped)
		}
		return false
	}
	n.q = append(n.q, notice{what, send})
	if !n.running {
		n.running = true
		n.wg.Add(1)
		go n.loop()
	}
	return true
}

func (n *Notifier) loop() {
	defer n.wg.Done()
	timeout := n.Timeout
	if timeout <= 0 {
		timeout = DefaultNotifyTimeout
	}
	for {
		n.mu.Lock()
		if len(n.q) == 0 {
			n.running = false
			n.q = nil
			n.mu.Unlock()
			return
		}
		x := n.q[0]
		n.q[0] = notice{}
		n.q = n.q[1:]
		n.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := x.send(ctx)
		cancel()
		if err != nil && n.Log != nil {
			n.Log.Warn("chat notice not sent", "notice", x.what, "err", err)
		}
	}
}

// Pending returns how many notices wait to be sent.
func (n *Notifier) Pending() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.q)
}

// Close refuses new notices and waits until the queued ones are sent (each
// at most Timeout).
func (n *Notifier) Close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.wg.Wait()
}
