package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/herdbot/herdbot/internal/testenv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// failsafe bounds waits that only a broken proxy would make long; it is a
// deadlock breaker, not a speed assertion.
const failsafe = 10 * time.Second

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// recorder collects Records.
type recorder struct {
	mu   sync.Mutex
	all  []Record
	next chan Record
}

func newRecorder() *recorder { return &recorder{next: make(chan Record, 1024)} }

func (r *recorder) add(rec Record) {
	r.mu.Lock()
	r.all = append(r.all, rec)
	r.mu.Unlock()
	r.next <- rec
}

// wait returns the next record.
func (r *recorder) wait(t testing.TB) Record {
	t.Helper()
	select {
	case rec := <-r.next:
		return rec
	case <-time.After(failsafe):
		t.Fatal("no record emitted")
		return Record{}
	}
}

// testProxy is a Proxy serving both listeners on loopback.
type testProxy struct {
	*Proxy
	addr, modelAddr string
	rec             *recorder
	logs            *testenv.Buffer
	res             *fakeResolver
	stop            func() // cancels and waits; idempotent
}

// startProxy runs a Proxy for cfg on loopback with a fake resolver and a
// debug-level log captured in logs. The proxy stops at test cleanup.
func startProxy(t testing.TB, cfg Config) *testProxy {
	t.Helper()
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rec := newRecorder()
	p, err := New(cfg, log, rec.add)
	if err != nil {
		t.Fatal(err)
	}
	res := newFakeResolver()
	p.Resolver = res
	ln := listen(t)
	mln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- p.Serve(ctx, ln) }()
	go func() { errs <- p.ServeModel(ctx, mln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			for range 2 {
				if err := <-errs; err != nil {
					t.Errorf("serve: %v", err)
				}
			}
		})
	}
	t.Cleanup(stop)
	return &testProxy{Proxy: p, addr: ln.Addr().String(), modelAddr: mln.Addr().String(), rec: rec, logs: logs, res: res, stop: stop}
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// tcpServer is a loopback TCP server that greets each connection with a
// banner, then echoes what it reads. It counts accepted connections.
type tcpServer struct {
	ln       net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
}

func startTCPServer(t testing.TB, addr, banner string) *tcpServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &tcpServer{ln: ln}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				if banner != "" {
					if _, err := io.WriteString(c, banner); err != nil {
						return
					}
				}
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *tcpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// dialConnect opens a connection to the proxy and sends CONNECT target. It
// returns the connection, a reader positioned after the response header,
// and the response.
func dialConnect(t testing.TB, proxyAddr, target string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(failsafe))
	if _, err := fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	return c, br, resp
}

// rawRequest sends raw bytes to addr and returns the status code of the
// response.
func rawRequest(t testing.TB, addr, raw string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(failsafe))
	if _, err := io.WriteString(c, raw); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response to %q: %v", raw[:min(len(raw), 40)], err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
