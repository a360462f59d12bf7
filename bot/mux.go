package bot

import (
	"context"
	"fmt"
	"sync"
)

// Outbox sends and edits messages. Every Adapter is one.
type Outbox interface {
	Send(ctx context.Context, to Target, m Message) (MessageRef, error)
	Edit(ctx context.Context, ref MessageRef, m Message) error
}

// Mux maps (agent, platform) to the adapter that speaks for that agent on
// that platform: each agent has its own bot identity.
type Mux struct {
	mu       sync.RWMutex
	adapters map[string]map[string]Adapter
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{adapters: map[string]map[string]Adapter{}} }

// Register sets the adapter for agent on platform, replacing any other.
func (m *Mux) Register(agent, platform string, a Adapter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.adapters[agent] == nil {
		m.adapters[agent] = map[string]Adapter{}
	}
	m.adapters[agent][platform] = a
}

// Remove forgets agent's adapter on platform.
func (m *Mux) Remove(agent, platform string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.adapters[agent], platform)
}

// Adapter returns agent's adapter for platform.
func (m *Mux) Adapter(agent, platform string) (Adapter, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, ok := m.adapters[agent][platform]
	return a, ok
}

// Outbox returns agent's adapter for platform as an Outbox.
func (m *Mux) Outbox(agent, platform string) (Outbox, bool) {
	a, ok := m.Adapter(agent, platform)
	return a, ok
}

// Post sends m to agent's chat at to, split into chunks the platform
// accepts. It implements the scheduler's report poster.
func (m *Mux) Post(ctx context.Context, agent string, to Target, msg Message) error {
	a, ok := m.Adapter(agent, to.Platform)
	if !ok {
		return fmt.Errorf("agent %s has no %s connection", agent, to.Platform)
	}
	_, err := SendChunked(ctx, a, to, msg, LimitOf(a))
	return err
}

// LimitOf returns the adapter's message size limit, or 4,000 characters.
func LimitOf(o Outbox) int {
	if l, ok := o.(Limiter); ok && l.Limits().MaxText > 0 {
		return l.Limits().MaxText
	}
	return 4000
}

// SendChunked sends msg.Text split at limit; buttons and files ride on the
// last chunk. It returns the ref of the last message sent.
func SendChunked(ctx context.Context, o Outbox, to Target, msg Message, limit int) (MessageRef, error) {
	chunks := Split(msg.Text, limit)
	if len(chunks) == 0 {
		chunks = []string{""}
	}
	var ref MessageRef
	for i, c := range chunks {
		m := Message{Text: c}
		if i == len(chunks)-1 {
			m.Buttons, m.Files = msg.Buttons, msg.Files
		}
		r, err := o.Send(ctx, to, m)
		if err != nil {
			return ref, fmt.Errorf("send chunk %d/%d: %w", i+1, len(chunks), err)
		}
		ref = r
	}
	return ref, nil
}
