package egress

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"
)

// Serve runs the forward proxy (HTTP CONNECT and absolute-URI plain HTTP)
// on ln until ctx is done, then stops accepting, lets requests in flight
// finish for a short grace period, closes open tunnels and returns nil
// once every handler has ended. It closes ln.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	tr := newTracker()
	return p.serve(ctx, p.newServer(&forwardHandler{p: p, tr: tr}), ln, tr)
}

// forwardHandler serves one forward-proxy listener.
type forwardHandler struct {
	p  *Proxy
	tr *tracker
}

func (h *forwardHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.tr.enter() {
		http.Error(w, "egress: shutting down", http.StatusServiceUnavailable)
		return
	}
	defer h.tr.leave()
	if r.Method == http.MethodConnect {
		h.connect(w, r)
		return
	}
	h.forward(w, r)
}

// connect handles CONNECT host:port: check, dial the checked address,
// then splice bytes both ways until both sides are done.
func (h *forwardHandler) connect(w http.ResponseWriter, r *http.Request) {
	p := h.p
	at := time.Now()
	if r.URL.Host == "" {
		http.Error(w, "egress: CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	host, port, err := splitTarget(r.URL.Host, 0)
	if err != nil {
		http.Error(w, "egress: bad CONNECT "+err.Error(), http.StatusBadRequest)
		return
	}
	d := p.pol.decide(r.Context(), p.Resolver, host, port, false)
	rec := d.record(at)
	if !d.allowed {
		p.emit(rec)
		http.Error(w, "egress: "+hostPort(host, port)+" refused: "+d.reason, http.StatusForbidden)
		return
	}
	up, addr, err := p.dial(r.Context(), d.addrs, port)
	if err != nil {
		rec.Reason = dialReason(err)
		p.emit(rec)
		http.Error(w, "egress: "+hostPort(host, port)+": "+rec.Reason, http.StatusBadGateway)
		return
	}
	rec.Addr = addr.String()
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = up.Close()
		rec.Reason = "cannot hijack client connection"
		p.emit(rec)
		http.Error(w, "egress: CONNECT unsupported on this connection", http.StatusInternalServerError)
		return
	}
	cc, brw, err := hj.Hijack()
	if err != nil {
		_ = up.Close()
		rec.Reason = "hijack: " + err.Error()
		p.emit(rec)
		return
	}
	rec.BytesUp, rec.BytesDown = h.tunnel(cc, brw, up)
	p.emit(rec)
}

// tunnel answers 200 and copies client<->upstream, returning the byte
// counts. It owns and closes both connections.
func (h *forwardHandler) tunnel(cc net.Conn, brw *bufio.ReadWriter, up net.Conn) (upN, downN int64) {
	defer func() { _ = cc.Close() }()
	defer func() { _ = up.Close() }()
	if !h.tr.track(cc) {
		return 0, 0
	}
	defer h.tr.untrack(cc)
	if !h.tr.track(up) {
		return 0, 0
	}
	defer h.tr.untrack(up)
	_ = cc.SetDeadline(time.Time{})
	if _, err := io.WriteString(cc, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return 0, 0
	}
	// Bytes the client pipelined after the CONNECT request are buffered.
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		w, err := up.Write(b)
		upN += int64(w)
		if err != nil {
			return upN, 0
		}
	}
	raw := unwrap(cc) // the *net.TCPConn itself, so io.Copy can splice
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		downN, _ = io.Copy(raw, up)
		closeWrite(raw)
		_ = raw.SetReadDeadline(time.Now().Add(tunnelLinger))
	}()
	n, _ := io.Copy(up, raw)
	upN += n
	closeWrite(up)
	_ = up.SetReadDeadline(time.Now().Add(tunnelLinger))
	wg.Wait()
	return upN, downN
}

// closeWrite half-closes a TCP connection (sends FIN) when it can, and
// closes it otherwise.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}

// fwdTargetKey carries the checked destination of a plain-HTTP request
// from the handler to the forwarding transport's dialer.
type fwdTargetKey struct{}

type fwdTarget struct {
	d  decision
	at time.Time
}

// forward handles an absolute-URI plain-HTTP request.
func (h *forwardHandler) forward(w http.ResponseWriter, r *http.Request) {
	p := h.p
	at := time.Now()
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "egress: not a proxy request: want CONNECT host:port or an absolute http:// URI", http.StatusBadRequest)
		return
	}
	host, port, err := splitTarget(r.URL.Host, 80)
	if err != nil {
		http.Error(w, "egress: bad request "+err.Error(), http.StatusBadRequest)
		return
	}
	d := p.pol.decide(r.Context(), p.Resolver, host, port, false)
	if !d.allowed {
		p.emit(d.record(at))
		http.Error(w, "egress: "+hostPort(host, port)+" refused: "+d.reason, http.StatusForbidden)
		return
	}
	ctx := context.WithValue(r.Context(), fwdTargetKey{}, &fwdTarget{d: d, at: at})
	p.fwd.ServeHTTP(w, r.WithContext(ctx))
}

// newForwarder returns the reverse proxy used for plain-HTTP forwarding:
// one upstream connection per request, dialled to the checked address.
func (p *Proxy) newForwarder() *httputil.ReverseProxy {
	tr := &http.Transport{
		DialContext:            p.dialForward,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: maxHeaderBytes,
		ExpectContinueTimeout:  time.Second,
	}
	return &httputil.ReverseProxy{
		// The Host header follows the checked URL: no fronting another
		// site behind an allowlisted address.
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.Out.Host = "" },
		Transport:     tr,
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status := http.StatusBadGateway
			if errors.Is(err, context.Canceled) {
				status = 499 // client went away; nobody reads this
			}
			http.Error(w, "egress: upstream error", status)
		},
	}
}

// dialForward dials the destination the handler checked; the address in
// its arguments is ignored.
func (p *Proxy) dialForward(ctx context.Context, _, _ string) (net.Conn, error) {
	t, _ := ctx.Value(fwdTargetKey{}).(*fwdTarget)
	if t == nil {
		return nil, errors.New("egress: no checked destination for this request")
	}
	return p.dialRecorded(ctx, t.d, t.at)
}

// dialRecorded dials a decision's checked addresses and returns a
// connection that emits the Record, with byte counts, when closed. A
// failed dial is recorded at once.
func (p *Proxy) dialRecorded(ctx context.Context, d decision, at time.Time) (net.Conn, error) {
	rec := d.record(at)
	c, a, err := p.dial(ctx, d.addrs, d.port)
	if err != nil {
		rec.Reason = dialReason(err)
		p.emit(rec)
		return nil, err
	}
	rec.Addr = a.String()
	return &countConn{Conn: c, done: func(up, down int64) {
		rec.BytesUp, rec.BytesDown = up, down
		p.emit(rec)
	}}, nil
}
