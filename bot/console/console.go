// Package console is local terminal chat: no tokens, used by `herdbot
// start --demo` (stdin/stdout) and `herdbot chat AGENT` (through the
// control socket). Buttons are shown as /approve commands.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
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

// Operator is the console user's id: the local operator, whoever runs the
// terminal (or, through the control socket, a process of herdbot's own
// user or root). Approver lists name it as `console: ["local"]`.
const Operator = "local"

// Line is one line of console output, for subscribers.
type Line struct {
	Agent string `json:"agent"`
	Text  string `json:"text"`
}

// Hub is the console: one reader of input, any number of writers of
// output, and an adapter per agent.
type Hub struct {
	user   string
	name   string // how the operator is shown ("" = user)
	out    io.Writer
	prompt bool // print "agent› " after output (out is a terminal)

	approveCmd string // the CLI's approve command, for cards (SetApproveCommand)

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

// answerChoice matches the choices of a question card (an option, or
// send): the handler checks them against the question.
var answerChoice = regexp.MustCompile(`^(a[0-9]{1,2}\.[0-9]{1,2}|send)$`)

// maxCards bounds the approval cards the console remembers for /approve.
const maxCards = 1024

// New returns a Hub. user is the console user's id (approver lists name
// it; "" is Operator); out receives output (nil: only subscribers).
func New(user string, out io.Writer) *Hub {
	if user == "" {
		user = Operator
	}
	return &Hub{user: user, out: out, handlers: map[string]bot.Handler{}, sent: map[string]string{}, cards: map[string]string{}}
}

// SetName sets how the terminal's user is shown on cards and decisions
// (their login name); the id approver lists match stays the same.
func (h *Hub) SetName(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name = name
}

// User is the terminal's user as approver lists and cards see it.
func (h *Hub) User() bot.User {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.userLocked()
}

func (h *Hub) userLocked() bot.User {
	name := h.name
	if name == "" {
		name = h.user
	}
	return bot.User{ID: h.user, Name: name}
}

// SetPrompt turns on the prompt: after output, the current agent's name
// is printed as "garden› " so the person sees where a line will go.
func (h *Hub) SetPrompt(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.prompt && !on && h.out != nil {
		fmt.Fprint(h.out, "\r\033[K") // leave a clean line behind
	}
	h.prompt = on
	h.printPromptLocked()
}

// Above returns a writer for w (the terminal's stderr: warnings) whose
// writes go above the prompt: the prompt line is cleared first and printed
// again after. Without the prompt it is w.
func (h *Hub) Above(w io.Writer) io.Writer { return aboveWriter{h: h, w: w} }

type aboveWriter struct {
	h *Hub
	w io.Writer
}

func (a aboveWriter) Write(p []byte) (int, error) {
	a.h.mu.Lock()
	defer a.h.mu.Unlock()
	if !a.h.prompt {
		return a.w.Write(p)
	}
	fmt.Fprint(a.w, "\r\033[K")
	n, err := a.w.Write(p)
	a.h.printPromptLocked()
	return n, err
}

// Agents are the agents on the console, in the order they were added.
func (h *Hub) Agents() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.agentsLocked()
}

func (h *Hub) agentsLocked() []string {
	out := make([]string, 0, len(h.order))
	for _, a := range h.order {
		if _, ok := h.handlers[a]; ok {
			out = append(out, a)
		}
	}
	return out
}

// Current is the agent lines without @name go to.
func (h *Hub) Current() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.current
}

// printPromptLocked prints the prompt. Callers hold h.mu.
func (h *Hub) printPromptLocked() {
	if h.prompt && h.out != nil && h.current != "" {
		fmt.Fprint(h.out, h.current+"› ")
	}
}

// For returns agent's console adapter.
func (h *Hub) For(agent string) *Adapter { return &Adapter{hub: h, agent: agent} }

// Subscribe returns a channel of every output line and a func to stop.
func (h *Hub) Subscribe() (<-chan Line, func()) { return h.lines.Subscribe(256) }

func (h *Hub) emit(agent, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.out != nil {
		if h.prompt {
			fmt.Fprint(h.out, "\r\033[K") // over the prompt
		}
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
		h.printPromptLocked()
	}
	h.lines.Publish(Line{Agent: agent, Text: text})
}

// ReadFrom reads lines from r until EOF or ctx is done and handles each as
// the console user's input. Lines may start with "@agent " to pick an
// agent; "/approve ID once|session|deny", "/reset", "/status", "/stop",
// "/sessions", "/model", "/cost", "/approvals", "/help" and "/agents" are
// commands; anything else is a
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
			if strings.TrimSpace(l) == "" {
				h.mu.Lock()
				h.printPromptLocked()
				h.mu.Unlock()
			}
		}
	}
}

// Input handles one line of console input, as the terminal's user, for
// agent ("" = the current agent).
func (h *Hub) Input(ctx context.Context, agent, line string) {
	h.InputAs(ctx, agent, line, h.User())
}

// InputAs handles one line of console input typed by user (herdbot chat
// through the control socket: the local operator as the socket's peer
// credentials name them).
func (h *Hub) InputAs(ctx context.Context, agent, line string, user bot.User) {
	line = strings.TrimSpace(line)
	if line == "" {
		return
	}
	// @name picks the terminal's current agent; through the socket
	// (agent given) it only routes this line.
	picked := false
	terminal := agent == ""
	if rest, ok := strings.CutPrefix(line, "@"); ok {
		name, text, _ := strings.Cut(rest, " ")
		agent, line, picked = name, strings.TrimSpace(text), true
	}
	h.mu.Lock()
	if agent == "" {
		agent = h.current
	}
	hd, ok := h.handlers[agent]
	switched := false
	if ok && picked && terminal && h.current != agent {
		h.current, switched = agent, true
	}
	agents := strings.Join(h.agentsLocked(), ", ")
	h.mu.Unlock()
	if !ok {
		h.emit("herdbot", fmt.Sprintf("No agent %q on the console. Agents: %s. Start a line with @name to pick one.", agent, agents))
		return
	}
	if switched || (line == "" && ok) {
		h.emit("herdbot", "Talking to "+agent+" now: lines without @name go to "+agent+".")
	}
	if line == "" {
		return
	}
	if cmd, ok := strings.CutPrefix(line, "/"); ok {
		name, args, _ := strings.Cut(cmd, " ")
		switch name {
		case "help", "?":
			h.emit("herdbot", h.help(agent))
			return
		case "approve":
			f := strings.Fields(args)
			if len(f) != 2 {
				h.emit(agent, "Usage: /approve ID once|session|deny (the card shows the line to type).")
				return
			}
			if !slices.Contains(bot.Choices, f[1]) && !answerChoice.MatchString(f[1]) {
				h.emit(agent, fmt.Sprintf("%q is not a choice: type /approve %s once, /approve %s session or /approve %s deny.", f[1], f[0], f[0], f[0]))
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
		if !slices.Contains(consoleCommands, name) {
			h.emit("herdbot", "Unknown command /"+name+". "+h.help(agent))
			return
		}
		rep := hd.HandleCommand(ctx, bot.Command{Agent: agent, Name: name, Args: strings.TrimSpace(args), Target: Target, User: user})
		h.emit(agent, rep.Message.Text)
		return
	}
	hd.HandleMessage(ctx, bot.Inbound{Agent: agent, Target: Target, User: user, Text: line})
}

// consoleCommands are the agent commands the console passes on.
var consoleCommands = []string{"ask", "reset", "status", "stop", "sessions", "model", "cost", "approvals"}

// help is what the person can type, for the current agent.
func (h *Hub) help(current string) string {
	h.mu.Lock()
	agents := strings.Join(h.agentsLocked(), ", ")
	u := h.userLocked()
	h.mu.Unlock()
	return "You type as " + u.Name + " (console user \"" + u.ID + "\"); lines go to " + current + ".\n" +
		"  TEXT                          a message to " + current + "\n" +
		"  @AGENT TEXT                   a message to AGENT, who becomes current (agents: " + agents + ")\n" +
		"  @AGENT                        make AGENT current\n" +
		"  /approve ID once|session|deny decide an approval (each card shows its line)\n" +
		"  /status                       what " + current + " is doing; its session\n" +
		"  /stop                         interrupt " + current + "'s running turn\n" +
		"  /reset                        start a new session with " + current + "\n" +
		"  /sessions                     " + current + "'s sessions\n" +
		"  /model [NAME|default]         " + current + "'s model here; approvers can switch it\n" +
		"  /cost                         what this conversation cost; spend today and this month\n" +
		"  /approvals                    approvals pending here\n" +
		"  /agents                       the agents\n" +
		"  /help                         this list\n" +
		"  Ctrl-D or Ctrl-C              quit"
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
	a.hub.emit(a.agent, a.hub.render(m))
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
	a.hub.emit(a.agent, "✎ "+a.hub.render(m))
	return nil
}

// Limits implements bot.Limiter: the console takes long messages.
func (a *Adapter) Limits() bot.Limits { return bot.Limits{MaxText: 16000} }

// SetApproveCommand sets how the card names the CLI's approve command:
// format has one %s for "ID CHOICES", e.g. "herdbot approve %s -c
// fleet/herdbot.yaml". "" shows only the console's /approve line.
func (h *Hub) SetApproveCommand(format string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.approveCmd = format
}

func (h *Hub) render(m bot.Message) string {
	h.mu.Lock()
	cmd := h.approveCmd
	h.mu.Unlock()
	var b strings.Builder
	b.WriteString(m.Text)
	if len(m.Buttons) > 0 {
		id := m.Buttons[0].ApprovalID
		choices := make([]string, 0, len(m.Buttons))
		for _, bt := range m.Buttons {
			choices = append(choices, bt.Choice)
		}
		arg := id + " " + strings.Join(choices, "|")
		fmt.Fprintf(&b, "\n→ type: /approve %s", arg)
		if cmd != "" {
			fmt.Fprintf(&b, "\n  or run: "+cmd, arg)
		}
	}
	for _, f := range m.Files {
		fmt.Fprintf(&b, "\n📎 %s (%d bytes)", f.Name, len(f.Data))
	}
	return b.String()
}
