// Package egress is the per-agent egress proxy that `herdbot egress` runs
// as a sidecar next to an agent container.
//
// It serves two listeners. The forward proxy (Config.Listen, default
// ":3128") handles HTTP CONNECT and absolute-URI plain HTTP to allowlisted
// host names only, after resolving them and refusing private, loopback,
// link-local, multicast, metadata and herdbot-network addresses; it dials
// the exact address it checked, so DNS rebinding has no window. The model
// proxy (Config.ModelListen, default ":8080") is a reverse proxy to the
// model API that replaces whatever credential the agent sent with the real
// one, so the real key never enters the sandbox. Every upstream connection,
// allowed or refused, is reported as a Record.
package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"time"
)

// Timeouts and limits of both listeners.
const (
	dialTimeout       = 10 * time.Second
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	shutdownGrace     = 5 * time.Second
	// tunnelLinger is how long the other direction of a tunnel may stay
	// idle once one direction has finished.
	tunnelLinger = time.Minute
)

// Proxy is the egress proxy. Create it with New, then run Serve and
// ServeModel, each until its ctx is done.
type Proxy struct {
	// Resolver resolves host names (default: the pure-Go resolver). Set it
	// before calling Serve or ServeModel.
	Resolver Resolver

	cfg       Config
	pol       *policy
	log       *slog.Logger
	rec       func(Record)
	dialer    net.Dialer
	modelURL  *url.URL
	modelHost string
	modelPort int

	fwd            *httputil.ReverseProxy // plain-HTTP forwarding
	model          *httputil.ReverseProxy
	modelTransport *http.Transport
}

// New validates cfg (defaults applied) and returns a Proxy. log receives
// operational messages, never credentials; rec, if not nil, receives one
// Record per connection and may be called from many goroutines at once.
func New(cfg Config, log *slog.Logger, rec func(Record)) (*Proxy, error) {
	if log == nil {
		return nil, errors.New("egress: nil logger")
	}
	cfg = cfg.withDefaults()
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("egress config: max_conns %d is negative", cfg.MaxConns)
	}
	pol, err := newPolicy(cfg)
	if err != nil {
		return nil, fmt.Errorf("egress config: %w", err)
	}
	mu, host, port, err := parseModelURL(cfg.ModelURL)
	if err != nil {
		return nil, fmt.Errorf("egress config: %w", err)
	}
	if rec == nil {
		rec = func(Record) {}
	}
	p := &Proxy{
		Resolver:  &net.Resolver{PreferGo: true},
		cfg:       cfg,
		pol:       pol,
		log:       log,
		rec:       rec,
		dialer:    net.Dialer{Timeout: dialTimeout},
		modelURL:  mu,
		modelHost: host,
		modelPort: port,
	}
	p.fwd = p.newForwarder()
	p.model, p.modelTransport = p.newModelProxy()
	return p, nil
}

// parseModelURL checks the model upstream URL and returns its host and port.
func parseModelURL(s string) (*url.URL, string, int, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, "", 0, fmt.Errorf("model_url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, "", 0, fmt.Errorf("model_url %q: want http(s)://host[:port][/path]", u.Redacted())
	}
	if u.User != nil {
		return nil, "", 0, errors.New("model_url: user info is not allowed; use model_api_key or model_oauth_token")
	}
	def := 443
	if u.Scheme == "http" {
		def = 80
	}
	host, port, err := splitTarget(u.Host, def)
	if err != nil {
		return nil, "", 0, fmt.Errorf("model_url: %w", err)
	}
	return u, host, port, nil
}

// emit reports a record, stamping the agent.
func (p *Proxy) emit(r Record) {
	r.Agent = p.cfg.Agent
	p.rec(r)
}

// record starts a Record for a decision.
func (d decision) record(at time.Time) Record {
	return Record{Time: at, Host: d.host, Port: d.port, Allowed: d.allowed, Reason: d.reason}
}

// dial connects to the first of the checked addresses that answers. It
// never resolves anything: the addresses are the ones the policy checked.
func (p *Proxy) dial(ctx context.Context, addrs []netip.Addr, port int) (net.Conn, netip.Addr, error) {
	var errs []error
	for _, a := range addrs {
		c, err := p.dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return c, a, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, netip.Addr{}, fmt.Errorf("dial: %w", errors.Join(errs...))
}

// dialReason shortens a dial error for a record.
func dialReason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return "dial failed: " + op.Err.Error()
	}
	return "dial failed: " + err.Error()
}

// hostPort formats host:port for logs.
func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// newServer returns an http.Server with the proxy's timeouts and limits.
func (p *Proxy) newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
}

// serve runs srv on ln (capped at MaxConns connections) until ctx is
// done, then shuts it down gracefully, calling closeAll for connections
// the server no longer tracks (hijacked tunnels) and waiting for them.
func (p *Proxy) serve(ctx context.Context, srv *http.Server, ln net.Listener, tr *tracker) error {
	if ln == nil {
		return errors.New("egress: nil listener")
	}
	ln = newLimitListener(ln, p.cfg.MaxConns)
	// Requests (and upgraded connections, which the server no longer
	// tracks) end when base is cancelled, after the grace period.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv.BaseContext = func(net.Listener) context.Context { return base }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		errc <- serveErr
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	_ = srv.Shutdown(sctx) // on timeout Close below ends what is left
	cancel()
	cancelBase()
	tr.closeAll()
	_ = srv.Close()
	err := <-errc
	tr.wait()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("egress: serve %s: %w", ln.Addr(), err)
	}
	return nil
}
