// Package console is local terminal chat: no tokens, used by `herdbot
// start --demo` (stdin/stdout) and `herdbot chat AGENT` (through the
// control socket). Buttons are shown as /approve commands.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/internal/broadcast"
)

// Channel is the console's one channel; each agent has its own
// conversation on it (conversations are keyed by agent).
const Channel = "local"

// Target is where console conversations and reports go.
var Target = bot.Target{Platform: bot.Console, Channel: Channel}

// Line is one line of console output, for subscribers.
type Line struct {
	Agent string `json:"agent"`
	Text  string `json:"text"`
}

// Hub is the console: one reader of input, any number of writers of
// output, and an adapter per agent.
type Hub struct {
	user string
	out  io.Writer

	mu       sync.Mutex
	handlers map[string]bot.Handler
	order    []string
	current  string
	nextID   int
	sent     map[string]string // message id -> last text
	cards    map[string]string // approval id -> message id of its card
	cardIDs  []string          // approval ids in cards, oldest first
	lines    broadcast.Hub[Line]
}

// maxCards bounds the approval cards the console remembers for /approve.
const maxCards = 1024

// New returns a Hub. user is the console user's id (approver lists name
// it); out receives output (nil: only subscribers).
func New(user string, out io.Writer) *Hub {
	if user == "" {
		user = "local"
	}
	return &Hub{user: user, out: out, handlers: map[string]bot.Handler{}, sent: map[string]string{}, cards: map[string]string{}}
}

// For returns agent's console adapter.
func (h *Hub) For(agent string) *Adapter { return &Adapter{hub: h, agent: agent} }

// Subscribe returns a channel of every output line and a func to stop.
func (h *Hub) Subscribe() (<-chan Line, func()) { return h.lines.Subscribe(256) }

func (h *Hub) emit(agent, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.out != nil {
		prefix := "[" + agent + "] "
		pad := strings.Repeat(" ", len(prefix))
		lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
		for i, l := range lines {
			if i == 0 {
				fmt.Fprintln(h.out, prefix+l)
			} else {
				fmt.Fprintln(h.out, pad+l)
			}
		}
	}
	h.lines.Publish(Line{Agent: agent, Text: text})
}

// ReadFrom reads lines from r until EOF or ctx is done and handles each as
// the console user's input. Lines may start with "@agent " to pick an
// agent; "/approve ID once|session|deny", "/reset", "/status", "/stop",
// "/sessions", "/help" and "/agents" are commands; anything else is a
// message.
func (h *Hub) ReadFrom(ctx context.Context, r io.Reader) error {
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case l := <-lines:
			h.Input(ctx, "", l)
		}
	}
}

// Input handles one line of console input, as the console user, for agent
// ("" = the current agent).
func (h *Hub) Input(ctx context.Context, agent, line string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return
	}
	if rest, ok := strings.CutPrefix(line, "@"); ok {
		name, text, _ := strings.Cut(rest, " ")
		agent, line = name, strings.TrimSpace(text)
	}
	h.mu.Lock()
	if agent == "" {
		agent = h.current
	}
	hd, ok := h.handlers[agent]
	if ok {
		h.current = agent
	}
	agents := strings.Join(h.order, ", ")
	h.mu.Unlock()
	if !ok {
		h.emit("herdbot", fmt.Sprintf("No agent %q on the console. Agents: %s. Start a line with @name to pick one.", agent, agents))
		return
	}
	if line == "" {
		h.emit(agent, "Talking to "+agent+" now.")
		return
	}
	user := bot.User{ID: h.user, Name: h.user}
	if cmd, ok := strings.CutPrefix(line, "/"); ok {
		name, args, _ := strings.Cut(cmd, " ")
		switch name {
		case "approve":
			f := strings.Fields(args)
			if len(f) != 2 {
				h.emit(agent, "Usage: /approve ID once|session|deny")
				return
			}
			h.mu.Lock()
			card := h.cards[f[0]] // typing /approve is clicking that card
			h.mu.Unlock()
			res := hd.HandleAction(ctx, bot.Action{Agent: agent, ApprovalID: f[0], Choice: f[1], User: user,
				Ref: bot.MessageRef{Target: Target, ID: card}})
			if res.Card != nil {
				h.emit(agent, res.Card.Text)
			}
			if res.Notice != "" {
				h.emit(agent, res.Notice)
			}
			return
		case "agents":
			h.emit("herdbot", "Agents: "+agents)
			return
		}
		rep := hd.HandleCommand(ctx, bot.Command{Agent: agent, Name: name, Args: strings.TrimSpace(args), Target: Target, User: user})
		h.emit(agent, rep.Message.Text)
		return
	}
	hd.HandleMessage(ctx, bot.Inbound{Agent: agent, Target: Target, User: user, Text: line})
}

// Adapter is one agent's console identity. It implements bot.Adapter.
type Adapter struct {
	hub   *Hub
	agent string
}

var _ bot.Adapter = (*Adapter)(nil)

// Register sets the handler of agent's console input. Adapter.Run does it
// too; registering before input starts avoids losing early lines.
func (h *Hub) Register(agent string, hd bot.Handler) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.handlers[agent]; !ok {
		h.order = append(h.order, agent)
	}
	h.handlers[agent] = hd
	if h.current == "" {
		h.current = agent
	}
}

// Run registers h for this agent's console input and blocks until ctx is
// done.
func (a *Adapter) Run(ctx context.Context, h bot.Handler) error {
	a.hub.Register(a.agent, h)
	<-ctx.Done()
	a.hub.mu.Lock()
	delete(a.hub.handlers, a.agent)
	a.hub.mu.Unlock()
	return nil
}

// Send prints m.
func (a *Adapter) Send(ctx context.Context, to bot.Target, m bot.Message) (bot.MessageRef, error) {
	a.hub.mu.Lock()
	a.hub.nextID++
	id := strconv.Itoa(a.hub.nextID)
	a.hub.sent[id] = m.Text
	if len(m.Buttons) > 0 {
		a.hub.remember(m.Buttons[0].ApprovalID, id)
	}
	a.hub.mu.Unlock()
	a.hub.emit(a.agent, render(m))
	return bot.MessageRef{Target: to, ID: id}, nil
}

// remember records the card of an approval. Callers hold h.mu.
func (h *Hub) remember(approval, msg string) {
	if _, ok := h.cards[approval]; !ok {
		h.cardIDs = append(h.cardIDs, approval)
	}
	h.cards[approval] = msg
	for len(h.cardIDs) > maxCards {
		delete(h.cards, h.cardIDs[0])
		h.cardIDs = h.cardIDs[1:]
	}
}

// Edit prints what changed: new lines appended to a message are printed
// alone; anything else is printed whole, marked as edited.
func (a *Adapter) Edit(ctx context.Context, ref bot.MessageRef, m bot.Message) error {
	a.hub.mu.Lock()
	old := a.hub.sent[ref.ID]
	a.hub.sent[ref.ID] = m.Text
	a.hub.mu.Unlock()
	if m.Text == old && len(m.Buttons) == 0 {
		return nil
	}
	if rest, ok := strings.CutPrefix(m.Text, old+"\n"); ok && old != "" && len(m.Buttons) == 0 {
		a.hub.emit(a.agent, rest)
		return nil
	}
	a.hub.emit(a.agent, "✎ "+render(m))
	return nil
}

// Limits implements bot.Limiter: the console takes long messages.
func (a *Adapter) Limits() bot.Limits { return bot.Limits{MaxText: 16000} }

func render(m bot.Message) string {
	var b strings.Builder
	b.WriteString(m.Text)
	if len(m.Buttons) > 0 {
		id := m.Buttons[0].ApprovalID
		choices := make([]string, 0, len(m.Buttons))
		for _, bt := range m.Buttons {
			choices = append(choices, bt.Choice)
		}
		fmt.Fprintf(&b, "\n→ type: /approve %s %s", id, strings.Join(choices, "|"))
	}
	for _, f := range m.Files {
		fmt.Fprintf(&b, "\n📎 %s (%d bytes)", f.Name, len(f.Data))
	}
	return b.String()
}
