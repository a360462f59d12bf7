package egress

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// tracker owns the handlers of one listener and the connections the HTTP
// server no longer tracks (hijacked CONNECT tunnels, upstream dials), so
// shutdown can close them and wait for their handlers.
type tracker struct {
	mu     sync.Mutex
	closed bool
	conns  map[io.Closer]struct{}
	wg     sync.WaitGroup
}

func newTracker() *tracker { return &tracker{conns: make(map[io.Closer]struct{})} }

// enter registers a running handler; it returns false once shutdown has
// begun. Every true enter must be matched by leave.
func (t *tracker) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *tracker) leave() { t.wg.Done() }

// track registers c to be closed at shutdown; when shutdown has already
// begun it closes c and returns false.
func (t *tracker) track(c io.Closer) bool {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		_ = c.Close()
		return false
	}
	t.conns[c] = struct{}{}
	t.mu.Unlock()
	return true
}

func (t *tracker) untrack(c io.Closer) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// closeAll refuses further handlers and closes every tracked connection.
func (t *tracker) closeAll() {
	t.mu.Lock()
	t.closed = true
	cs := t.conns
	t.conns = make(map[io.Closer]struct{})
	t.mu.Unlock()
	for c := range cs {
		_ = c.Close()
	}
}

// wait blocks until every handler has left.
func (t *tracker) wait() { t.wg.Wait() }

// limitListener caps concurrent accepted connections: Accept waits while
// n are open. Its connections unwrap to the accepted net.Conn so tunnels
// can splice socket to socket.
type limitListener struct {
	net.Listener
	sem  chan struct{}
	done chan struct{}
	once sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn releases its listener slot when closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// unwrap returns the connection a limitConn wraps (for splice).
func unwrap(c net.Conn) net.Conn {
	if lc, ok := c.(*limitConn); ok {
		return lc.Conn
	}
	return c
}

// countConn counts the bytes through an upstream connection and calls
// done with the totals once, on the first Close.
type countConn struct {
	net.Conn
	up, down atomic.Int64
	once     sync.Once
	done     func(up, down int64)
}

func (c *countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.down.Add(int64(n))
	return n, err
}

func (c *countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.up.Add(int64(n))
	return n, err
}

func (c *countConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.done(c.up.Load(), c.down.Load()) })
	return err
}
