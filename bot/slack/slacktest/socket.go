package slacktest

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// app is an App plus its socket state. Guarded by Server.mu.
type app struct {
	App
	conns    []*wsConn
	opened   int // websocket connections accepted so far
	outbox   []*envelope
	envs     map[string]*envelope
	envOrder []string
}

type wsConn struct {
	ws   *websocket.Conn
	wmu  sync.Mutex // serialises data-frame writes
	once sync.Once
	done chan struct{}
}

func (c *wsConn) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// kill drops the TCP connection without a close frame.
func (c *wsConn) kill() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.UnderlyingConn().Close()
	})
}

// envelope is one Socket Mode request and its delivery state.
type envelope struct {
	ID          string          `json:"envelope_id"`
	Type        string          `json:"type"`
	Payload     json.RawMessage `json:"payload"`
	Accepts     bool            `json:"accepts_response_payload"`
	Retry       int             `json:"retry_attempt"`
	RetryReason string          `json:"retry_reason"`

	acks       []Ack
	deliveries int
	timer      *time.Timer
}

// Ack is one acknowledgement the client sent for an envelope.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the ack carried none
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// connectionsOpen serves apps.connections.open (Bearer xapp token).
func (s *Server) connectionsOpen(w http.ResponseWriter, a *app) {
	writeJSON(w, map[string]any{"ok": true, "url": "ws" + s.hs.URL[len("http"):] + "/ws/" + a.AppID})
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var a *app
	for _, x := range s.apps {
		if x.AppID == r.PathValue("app") {
			a = x
		}
	}
	if s.closed || a == nil {
		s.mu.Unlock()
		http.Error(w, "no such socket", http.StatusNotFound)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{ws: ws, done: make(chan struct{})}
	defer c.kill()
	if err := c.write(map[string]any{
		"type": "hello", "num_connections": 1,
		"connection_info": map[string]string{"app_id": a.AppID},
		"debug_info":      map[string]any{"host": "slacktest", "approximate_connection_time": 3600},
	}); err != nil {
		return
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	a.conns = append(a.conns, c)
	a.opened++
	queued := a.outbox
	a.outbox = nil
	s.notifyLocked()
	s.mu.Unlock()
	for _, e := range queued {
		s.deliver(a, e)
	}

	var pingWG sync.WaitGroup
	pingWG.Go(func() { s.ping(c) })
	defer pingWG.Wait()
	defer s.removeConn(a, c)
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.recordAck(a, Ack{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload})
	}
}

func (s *Server) ping(c *wsConn) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if c.ws.WriteControl(websocket.PingMessage, []byte("slacktest"), time.Now().Add(time.Second)) != nil {
				c.kill()
				return
			}
		}
	}
}

func (s *Server) removeConn(a *app, c *wsConn) {
	c.kill()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range a.conns {
		if x == c {
			a.conns = append(a.conns[:i], a.conns[i+1:]...)
			break
		}
	}
	s.notifyLocked()
}

func (s *Server) recordAck(a *app, k Ack) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(k.Payload) == 0 || string(k.Payload) == "null" {
		k.Payload = nil
	}
	e := a.envs[k.EnvelopeID]
	if e == nil {
		return
	}
	if k.Payload != nil {
		s.checkMentionsLocked("ack", "", "", string(k.Payload), false)
	}
	e.acks = append(e.acks, k)
	if e.timer != nil {
		e.timer.Stop()
	}
	s.notifyLocked()
}

// enqueue records a new envelope for a and delivers it (or queues it until
// a socket connects). It returns the envelope id.
func (s *Server) enqueue(a *app, typ string, payload any) string {
	s.mu.Lock()
	id := "env-" + itoa(s.nextLocked())
	s.mu.Unlock()
	return s.enqueueWithID(a, id, typ, payload)
}

func (s *Server) enqueueWithID(a *app, id, typ string, payload any) string {
	b, err := json.Marshal(payload)
	if err != nil {
		s.tb.Fatalf("slacktest: marshal %s payload: %v", typ, err)
	}
	s.mu.Lock()
	e := &envelope{
		ID:      id,
		Type:    typ,
		Payload: b,
		Accepts: typ != "events_api",
	}
	a.envs[e.ID] = e
	a.envOrder = append(a.envOrder, e.ID)
	s.mu.Unlock()
	s.deliver(a, e)
	return e.ID
}

// deliver writes e to a's newest socket and arms the redelivery timer; with
// no socket it waits in the outbox for the next connection.
func (s *Server) deliver(a *app, e *envelope) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(a.conns) == 0 {
		a.outbox = append(a.outbox, e)
		s.mu.Unlock()
		return
	}
	c := a.conns[len(a.conns)-1]
	wire := *e // copy the wire fields under the lock
	wire.acks, wire.timer = nil, nil
	e.deliveries++
	if e.timer != nil {
		e.timer.Stop()
	}
	e.timer = time.AfterFunc(s.opts.AckDeadline, func() { s.redeliver(a, e.ID) })
	s.notifyLocked()
	s.mu.Unlock()
	if err := c.write(&wire); err != nil {
		// Never reached the client: queue it for the next socket.
		c.kill()
		s.mu.Lock()
		for i, x := range a.conns {
			if x == c {
				a.conns = append(a.conns[:i], a.conns[i+1:]...)
				break
			}
		}
		e.timer.Stop()
		e.deliveries--
		a.outbox = append(a.outbox, e)
		s.mu.Unlock()
	}
}

// redeliver sends an unacked envelope again with retry_attempt+1.
func (s *Server) redeliver(a *app, id string) {
	s.mu.Lock()
	e := a.envs[id]
	if s.closed || e == nil || len(e.acks) > 0 || e.Retry >= s.opts.MaxRetries {
		s.mu.Unlock()
		return
	}
	e.Retry++
	e.RetryReason = "timeout"
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	s.deliver(a, e)
}

// Redeliver sends envelope id again at once with retry_attempt+1, as Slack
// does when it believes an ack was lost.
func (s *Server) Redeliver(app App, id string) {
	s.tb.Helper()
	s.mu.Lock()
	a := s.appByName(app.Name)
	var e *envelope
	if a != nil {
		e = a.envs[id]
	}
	if e == nil {
		s.mu.Unlock()
		s.tb.Fatalf("slacktest: Redeliver: no envelope %q for app %q", id, app.Name)
		return
	}
	e.Retry++
	e.RetryReason = "timeout"
	s.mu.Unlock()
	s.deliver(a, e)
}

// DropSockets cuts every socket of app abruptly (no close frame), as a
// network failure would.
func (s *Server) DropSockets(app App) {
	s.mu.Lock()
	var conns []*wsConn
	if a := s.appByName(app.Name); a != nil {
		conns = append(conns, a.conns...)
		a.conns = nil // nothing more is written to them
		s.notifyLocked()
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
}

// Disconnect sends a disconnect envelope ("refresh_requested", "warning",
// …) to every socket of app. The client is expected to reconnect.
func (s *Server) Disconnect(app App, reason string) {
	s.mu.Lock()
	var conns []*wsConn
	if a := s.appByName(app.Name); a != nil {
		conns = append(conns, a.conns...)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.write(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]string{"host": "slacktest"}})
	}
}

// Connections reports how many websocket connections app has opened so far
// and how many are open now.
func (s *Server) Connections(app App) (opened, open int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appByName(app.Name)
	if a == nil {
		return 0, 0
	}
	return a.opened, len(a.conns)
}

// WaitConnected waits until app has opened at least n connections in all
// and one is open now.
func (s *Server) WaitConnected(app App, n int) {
	s.tb.Helper()
	s.WaitFor(app.Name+" connected", func() bool {
		opened, open := s.Connections(app)
		return opened >= n && open > 0
	})
}

// Acks returns the acks received for envelope id, in order.
func (s *Server) Acks(app App, id string) []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appByName(app.Name)
	if a == nil || a.envs[id] == nil {
		return nil
	}
	return append([]Ack(nil), a.envs[id].acks...)
}

// WaitAck waits for the first ack of envelope id and returns it.
func (s *Server) WaitAck(app App, id string) Ack {
	s.tb.Helper()
	s.WaitFor("ack of "+id, func() bool { return len(s.Acks(app, id)) > 0 })
	return s.Acks(app, id)[0]
}

// EnvelopeStats summarises delivery for app: envelopes sent, deliveries
// (including redeliveries), and envelopes acked more than once or never.
type EnvelopeStats struct {
	Envelopes, Deliveries int
	MultiAcked, Unacked   []string
}

// Stats returns app's EnvelopeStats.
func (s *Server) Stats(app App) EnvelopeStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st EnvelopeStats
	a := s.appByName(app.Name)
	if a == nil {
		return st
	}
	for _, id := range a.envOrder {
		e := a.envs[id]
		st.Envelopes++
		st.Deliveries += e.deliveries
		switch {
		case len(e.acks) > 1:
			st.MultiAcked = append(st.MultiAcked, id)
		case len(e.acks) == 0:
			st.Unacked = append(st.Unacked, id)
		}
	}
	return st
}
