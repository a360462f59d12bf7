package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"time"
)

// ServeModel runs the model API reverse proxy on ln until ctx is done,
// with the same shutdown as Serve. Every request is forwarded to
// Config.ModelURL with any x-api-key or Authorization header the client
// sent replaced by the configured credential; responses stream through
// unbuffered (server-sent events arrive as they are written).
func (p *Proxy) ServeModel(ctx context.Context, ln net.Listener) error {
	tr := newTracker()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tr.enter() {
			http.Error(w, "egress: shutting down", http.StatusServiceUnavailable)
			return
		}
		defer tr.leave()
		p.model.ServeHTTP(w, r)
	})
	err := p.serve(ctx, p.newServer(h), ln, tr)
	p.modelTransport.CloseIdleConnections()
	return err
}

// modelError is the body of a 502 from the model proxy, shaped like an
// Anthropic API error so the CLI reports it sensibly.
const modelError = `{"type":"error","error":{"type":"api_error","message":"egress: model upstream unavailable"}}`

func (p *Proxy) newModelProxy() (*httputil.ReverseProxy, *http.Transport) {
	tr := &http.Transport{
		DialContext:            p.dialModel,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConnsPerHost:    8,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true, // pass the client's encoding through untouched
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
	key, token := p.cfg.ModelAPIKey, p.cfg.ModelOAuthToken
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(p.modelURL)
			pr.Out.Header.Del("X-Api-Key")
			pr.Out.Header.Del("Authorization")
			if key != "" {
				pr.Out.Header.Set("X-Api-Key", key)
			}
			if token != "" {
				pr.Out.Header.Set("Authorization", "Bearer "+token)
			}
		},
		Transport:     tr,
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			p.log.Warn("model upstream", "err", err.Error(), "path", r.URL.Path)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(modelError))
		},
	}
	return rp, tr
}

// dialModel dials the model upstream after the same address checks as the
// forward proxy (a Private entry is the only way to a private address).
func (p *Proxy) dialModel(ctx context.Context, _, addr string) (net.Conn, error) {
	host, port, err := splitTarget(addr, 0)
	if err != nil {
		return nil, err
	}
	if host != p.modelHost || port != p.modelPort {
		return nil, fmt.Errorf("egress: %s is not the model upstream", hostPort(host, port))
	}
	at := time.Now()
	d := p.pol.decide(ctx, p.Resolver, host, port, true)
	if !d.allowed {
		p.emit(d.record(at))
		return nil, fmt.Errorf("egress: model upstream %s refused: %s", hostPort(host, port), d.reason)
	}
	return p.dialRecorded(ctx, d, at)
}
