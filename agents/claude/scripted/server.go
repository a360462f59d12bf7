package scripted

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Responder decides the fake model's answer to one Messages API call. It is
// called from the HTTP handler, possibly concurrently; the Request must not
// be modified.
type Responder func(req *Request) Reply

// ModelServer is a loopback fake of the Anthropic Messages API for the
// real Claude Code CLI: POST /v1/messages (streamed as SSE, or plain JSON
// when the request does not ask for a stream), POST
// /v1/messages/count_tokens, and a 200 for anything else the CLI probes
// (HEAD /, GET …). It records every request, unless made with
// WithoutRecording.
//
// Point a CLI at it with ANTHROPIC_BASE_URL=s.URL (claudetest.Env).
type ModelServer struct {
	// URL is the base URL ("http://127.0.0.1:port") once listening.
	URL string

	respond  Responder
	ids      atomic.Int64
	noRecord bool

	mu   sync.Mutex
	reqs []Request
}

// Option configures a ModelServer.
type Option func(*ModelServer)

// WithoutRecording keeps no requests (Requests returns none): for a server
// that runs for a long time, like herdbot's --demo model, which would
// otherwise keep every conversation it was sent.
func WithoutRecording() Option { return func(s *ModelServer) { s.noRecord = true } }

// New returns a ModelServer that answers with r (nil answers every call
// with the text "ok"). It serves nothing until Serve; ModelServer is also an
// http.Handler for use in another server.
func New(r Responder, opts ...Option) *ModelServer {
	if r == nil {
		r = func(*Request) Reply { return Text("ok") }
	}
	s := &ModelServer{respond: r}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Serve answers on ln until ctx is done, then closes every connection and
// returns nil. It sets s.URL from ln's address if it is empty.
func (s *ModelServer) Serve(ctx context.Context, ln net.Listener) error {
	if s.URL == "" {
		s.URL = "http://" + ln.Addr().String()
	}
	srv := &http.Server{Handler: s}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("scripted model: serve: %w", err)
	case <-ctx.Done():
	}
	_ = srv.Close()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("scripted model: serve: %w", err)
	}
	return nil
}

// Requests returns a copy of every request received so far, in order.
func (s *ModelServer) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// MessageRequests returns the Messages API calls received so far, in order.
func (s *ModelServer) MessageRequests() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.IsMessages() {
			out = append(out, r)
		}
	}
	return out
}

// ServeHTTP implements http.Handler.
func (s *ModelServer) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	body, err := io.ReadAll(io.LimitReader(hr.Body, 64<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	req := Request{
		Method: hr.Method,
		Path:   hr.URL.Path,
		Query:  hr.URL.RawQuery,
		Header: hr.Header.Clone(),
		Body:   body,
	}
	w.Header().Set("request-id", fmt.Sprintf("req_scripted_%d", s.ids.Add(1)))
	switch {
	case req.IsMessages():
		decodeErr := req.decodeMessages()
		s.record(req)
		if decodeErr != nil {
			writeError(w, &APIError{Status: http.StatusBadRequest, Message: "scripted model: body is not a Messages request: " + decodeErr.Error()})
			return
		}
		s.answer(w, hr, &req)
	case hr.Method == http.MethodPost && req.Path == "/v1/messages/count_tokens":
		_ = req.decodeMessages()
		s.record(req)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"input_tokens":%d}`, estimateTokens(len(body)))
	default:
		s.record(req)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	}
}

func (s *ModelServer) record(r Request) {
	if s.noRecord {
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.mu.Unlock()
}

func (s *ModelServer) answer(w http.ResponseWriter, hr *http.Request, req *Request) {
	rep := s.respond(req)
	if rep.Error != nil {
		e := *rep.Error
		e.fill()
		if e.RetryAfter > 0 {
			w.Header().Set("retry-after", fmt.Sprint(e.RetryAfter))
		}
		writeError(w, &e)
		return
	}
	msg := s.message(req, rep)
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(msg.json())
		return
	}
	streamMessage(hr.Context(), w, msg, rep.Hold)
}

func writeError(w http.ResponseWriter, e *APIError) {
	e.fill()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-should-retry", fmt.Sprint(e.Status == 429 || e.Status >= 500))
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.body())
}

func estimateTokens(n int) int { return n/4 + 1 }
