// Package bot is the chat contract: inbound messages, targets, outbound
// messages with buttons, and the adapters that connect one agent to one chat
// platform. Implementations: bot/discord, bot/slack, bot/console.
package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Platforms.
const (
	Discord = "discord"
	Slack   = "slack"
	Console = "console"
	// Web is not a chat platform: it is the approvers key of the web
	// dashboard's approvers (approvers.web), who decide there.
	Web = "web"
)

// Target is where a message goes: a plain, storable value.
//
// Space is the Discord guild id or Slack team id ("" for DMs on Discord and
// for the console). Thread is a Discord thread channel id or a Slack thread
// ts. User is set for DMs (the conversation is per user) and for ephemeral
// messages.
type Target struct {
	Platform string `json:"platform"`
	Space    string `json:"space,omitempty"`
	Channel  string `json:"channel"`
	Thread   string `json:"thread,omitempty"`
	User     string `json:"user,omitempty"`
}

// Key is the conversation key: platform:space:channel[:thread]. A thread is
// its own conversation; a DM channel is one conversation per user.
func (t Target) Key() string {
	k := t.Platform + ":" + t.Space + ":" + t.Channel
	if t.Thread != "" {
		k += ":" + t.Thread
	}
	return k
}

// ParseKey turns a conversation key back into a Target.
func ParseKey(key string) (Target, error) {
	parts := strings.Split(key, ":")
	if len(parts) < 3 || len(parts) > 4 || parts[0] == "" || parts[2] == "" {
		return Target{}, fmt.Errorf("bad conversation key %q: want platform:space:channel[:thread]", key)
	}
	t := Target{Platform: parts[0], Space: parts[1], Channel: parts[2]}
	if len(parts) == 4 {
		t.Thread = parts[3]
	}
	return t, nil
}

// User is a chat user.
type User struct {
	ID    string   `json:"id"`
	Name  string   `json:"name,omitempty"`
	Roles []string `json:"roles,omitempty"` // Discord role ids
}

// ButtonStyle is how a button looks.
type ButtonStyle int

// Button styles.
const (
	StyleDefault ButtonStyle = iota
	StylePrimary
	StyleSuccess
	StyleDanger
)

// The choices a person has on an approval card: its buttons, console's
// /approve and `herdbot approve` (agents.ParseChoice says what each
// decides).
const (
	ChoiceOnce    = "once"    // allow this call
	ChoiceSession = "session" // allow this call, and this exact input again in the session
	ChoiceDeny    = "deny"
)

// Choices lists the choices, in the order cards show them.
var Choices = []string{ChoiceOnce, ChoiceSession, ChoiceDeny}

// Button is an approval button. Its platform id carries only ApprovalID and
// Choice (see ButtonID).
type Button struct {
	ApprovalID string
	Choice     string // ChoiceOnce, ChoiceSession or ChoiceDeny
	Label      string
	Style      ButtonStyle
}

// File is an attachment (long tool output, say).
type File struct {
	Name string
	Data []byte
}

// Message is an outbound message. Text is Markdown; adapters convert it.
type Message struct {
	Text    string
	Buttons []Button
	Files   []File
}

// MessageRef identifies a sent message so it can be edited.
type MessageRef struct {
	Target Target `json:"target"`
	ID     string `json:"id"`
}

// Inbound is a chat message routed to an agent, already access-checked by
// the adapter.
type Inbound struct {
	Agent     string
	Target    Target // where the reply goes (thread kept)
	User      User
	Text      string // mention stripped
	MessageID string // platform message id, for reactions
	// Attachments are the files sent with the message (the agent gets
	// them: images in the prompt, other files in its inbox).
	Attachments []Attachment
}

// Command is a slash command for an agent.
type Command struct {
	Agent  string
	Name   string // ask, reset, status, stop, sessions, model, cost, approvals, help
	Args   string // the prompt for ask, the model for model
	Target Target
	User   User
}

// Action is a button click on an approval card.
type Action struct {
	Agent      string
	ApprovalID string
	Choice     string
	User       User
	// Ref is the message clicked, where it is (Space is the guild or team
	// the click came from). The handler decides only when it is one of the
	// approval's cards.
	Ref MessageRef
	// Refusal, when set, is why the adapter will not let this click
	// decide anything (e.g. it came from a guild or team the agent does
	// not serve). The handler audits it and answers with a notice only.
	Refusal string
}

// ActionResult is what the adapter shows after an Action: Card replaces the
// clicked card when not nil (buttons removed when Card has none; it is nil
// unless the clicked message is the approval's card); Notice is shown only
// to the clicker when not empty.
type ActionResult struct {
	Card   *Message
	Notice string
}

// Handler receives what adapters deliver. Implementations must return
// quickly: long work is queued.
type Handler interface {
	HandleMessage(ctx context.Context, in Inbound)
	// HandleCommand returns the reply shown to the caller; Ephemeral in
	// Reply says whether only the caller sees it.
	HandleCommand(ctx context.Context, c Command) Reply
	HandleAction(ctx context.Context, a Action) ActionResult
}

// Reply answers a command.
type Reply struct {
	Message   Message
	Ephemeral bool
}

// Adapter connects one agent's bot identity to one chat platform.
//
// Run connects and blocks until ctx is done, calling h for each inbound
// event; it returns nil on clean shutdown, and an error when it cannot
// connect or loses the connection for good. Send and Edit may be called
// concurrently with Run and with each other.
//
// An Adapter is single-use: Run may be called at most once (a second call
// may return an error at once, as the Discord adapter's does). To connect
// again after Run returned, make a new Adapter (herdbot's chat supervisor
// does, with backoff); reconnects within one Run (gateway resumes, socket
// redials) are the adapter's own.
type Adapter interface {
	Run(ctx context.Context, h Handler) error
	Send(ctx context.Context, to Target, m Message) (MessageRef, error)
	Edit(ctx context.Context, ref MessageRef, m Message) error
}

// Typer is implemented by adapters that can show "working…" (typing, a
// reaction). The indicator lasts until the next Send or ~10 s.
type Typer interface {
	Typing(ctx context.Context, to Target) error
}

// Limits are a platform's message limits, for chunking.
type Limits struct {
	MaxText int // characters per message
}

// Limiter is implemented by adapters whose platform limits message size.
type Limiter interface {
	Limits() Limits
}

// ButtonID encodes an approval button's platform id: "hb:<approval>:<choice>".
func ButtonID(approvalID, choice string) string {
	return "hb:" + approvalID + ":" + choice
}

// ErrBadButtonID is returned by ParseButtonID for ids that are not ours.
var ErrBadButtonID = errors.New("bad button id")

// ParseButtonID decodes ButtonID's output.
func ParseButtonID(id string) (approvalID, choice string, err error) {
	rest, ok := strings.CutPrefix(id, "hb:")
	if !ok {
		return "", "", fmt.Errorf("%w: %q", ErrBadButtonID, id)
	}
	approvalID, choice, ok = strings.Cut(rest, ":")
	if !ok || approvalID == "" || choice == "" || strings.Contains(choice, ":") {
		return "", "", fmt.Errorf("%w: %q", ErrBadButtonID, id)
	}
	return approvalID, choice, nil
}
