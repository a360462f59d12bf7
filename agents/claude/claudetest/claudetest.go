package claudetest

import (
	"context"
	"net"
	"testing"

	"github.com/herdbot/herdbot/agents/claude/scripted"
)

// The scripted model server's types, under the names tests use.
type (
	Responder   = scripted.Responder
	ModelServer = scripted.ModelServer
	Reply       = scripted.Reply
	ToolUse     = scripted.ToolUse
	APIError    = scripted.APIError
	Request     = scripted.Request
	Message     = scripted.Message
	Block       = scripted.Block
)

// Constants of the scripted model server.
const (
	DummyAPIKey = scripted.DummyAPIKey
	DemoLabel   = scripted.DemoLabel
)

// New returns a model server that answers with r (scripted.New); it serves
// nothing until Serve.
func New(r Responder) *ModelServer { return scripted.New(r) }

// Demo is herdbot's first-run demo model (scripted.Demo).
func Demo() Responder { return scripted.Demo() }

// Text is a reply of plain text.
func Text(s string) Reply { return scripted.Text(s) }

// Tool is a reply that asks for one tool call.
func Tool(name string, input any) Reply { return scripted.Tool(name, input) }

// Bash is a reply that asks for one Bash command.
func Bash(command, description string) Reply { return scripted.Bash(command, description) }

// Fail returns a Reply that answers with HTTP status.
func Fail(status int) Reply { return Reply{Error: &APIError{Status: status}} }

// NewModelServer starts a ModelServer on 127.0.0.1 (a random port) for the
// duration of the test; it is shut down by t.Cleanup.
func NewModelServer(t testing.TB, r Responder) *ModelServer {
	t.Helper()
	s := scripted.New(r)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("claudetest: listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	s.URL = "http://" + ln.Addr().String()
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("claudetest: serve: %v", err)
		}
	})
	return s
}
