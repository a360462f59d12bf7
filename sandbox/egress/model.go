package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"time"
)

// modelCalls are the only requests the model proxy forwards (and so the
// only ones it adds the credential to): "METHOD target-path" with the raw
// query strings allowed on it. Everything else is answered 403 and
// recorded as a refused connection.
//
// Observed on the pinned CLI (2.1.330, again 2.1.332) with herdbot's environment
// (CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 and the rest of
// cmd/herdbot's noTrafficEnv) through this proxy, TestModelProxyRealCLI:
// a turn, a tool call and a resumed session send only
// POST /v1/messages?beta=true. Without that switch the CLI also sends
// HEAD /api/hello (a connectivity check); it is refused, and the CLI
// works on. count_tokens is the Messages API's token counter, which the
// CLI uses to size a conversation; it takes the same body and returns
// only a number.
var modelCalls = map[string][]string{
	"POST /v1/messages":              {"", "beta=true"},
	"POST /v1/messages/count_tokens": {"", "beta=true"},
}

// refuseModelCall returns why r is not a model call the proxy forwards,
// or "" when it is. The request target is compared byte for byte, before
// any decoding or cleaning, so that "/v1/messages/../files", encoded
// slashes, "//v1/messages" and absolute-form targets never match.
func refuseModelCall(r *http.Request) string {
	if r.Header.Get("Upgrade") != "" || headerHasToken(r.Header, "Connection", "upgrade") {
		return "protocol upgrade"
	}
	path, query, _ := strings.Cut(r.RequestURI, "?")
	queries, ok := modelCalls[r.Method+" "+path]
	if !ok {
		return "not a model API call"
	}
	if !slices.Contains(queries, query) {
		return "query not allowed"
	}
	return ""
}

// headerHasToken reports whether a comma-separated header holds token.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// maxRecordedTarget bounds the request target a refusal record holds.
const maxRecordedTarget = 120

// recordedTarget is "METHOD path" for a refusal record and log: the path
// without its query, cut to maxRecordedTarget bytes, with anything but
// printable ASCII replaced, since the agent chose it.
func recordedTarget(r *http.Request) string {
	path, _, _ := strings.Cut(r.RequestURI, "?")
	s := r.Method + " " + path
	if len(s) > maxRecordedTarget {
		s = s[:maxRecordedTarget] + "…"
	}
	return strings.Map(func(c rune) rune {
		if c < 0x20 || c > 0x7e && c != '…' {
			return '?'
		}
		return c
	}, s)
}

// modelRefused is the body of a 403 from the model proxy, shaped like an
// Anthropic API error.
const modelRefused = `{"type":"error","error":{"type":"permission_error","message":"egress: herdbot forwards only the model API calls its agents need"}}`

// ServeModel runs the model API reverse proxy on ln until ctx is done,
// with the same shutdown as Serve. The calls in modelCalls are forwarded
// to Config.ModelURL with any x-api-key or Authorization header the client
// sent replaced by the configured credential; responses stream through
// unbuffered (server-sent events arrive as they are written). Any other
// request is answered 403 and recorded as refused, and never reaches the
// upstream.
func (p *Proxy) ServeModel(ctx context.Context, ln net.Listener) error {
	tr := newTracker()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tr.enter() {
			http.Error(w, "egress: shutting down", http.StatusServiceUnavailable)
			return
		}
		defer tr.leave()
		if why := refuseModelCall(r); why != "" {
			target := recordedTarget(r)
			p.log.Warn("model API call refused", "call", target, "why", why)
			p.emit(Record{Time: time.Now(), Host: p.modelHost, Port: p.modelPort,
				Reason: "model API call refused (" + why + "): " + target})
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(modelRefused))
			return
		}
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
