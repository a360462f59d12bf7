package claude

import (
	"errors"
	"fmt"
	"strings"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/sandbox"
)

// ErrTurnFailed is the Kind of a turn's *agents.RunError when the CLI
// reported an error result that matches none of the agents sentinels (for
// example error_max_budget_usd, or error_during_execution without an
// interrupt).
var ErrTurnFailed = errors.New("turn failed")

// ErrUnknownRequest is returned by Decide for a request id that is not
// pending: never asked, already answered, or withdrawn by the CLI.
var ErrUnknownRequest = errors.New("no pending permission request")

// turnError classifies an error result. apiError is the error code of the
// turn's synthetic assistant error message, if any.
func turnError(r *agents.Result, terminal string, status int, apiError string) error {
	if !r.IsError && !strings.HasPrefix(r.Subtype, "error") {
		return nil
	}
	msg := userMessage(r)
	kind := ErrTurnFailed
	switch {
	case containsAny(r.Errors, "No conversation found") || strings.Contains(r.Text, "No conversation found"):
		kind = agents.ErrSessionNotFound
	case r.Subtype == "error_max_turns" || terminal == "max_turns":
		kind = agents.ErrMaxTurns
	case strings.HasPrefix(terminal, "aborted"):
		kind = agents.ErrInterrupted
		if r.Text == "" {
			msg = "the turn was stopped (" + terminal + ")"
		}
	case apiError == "authentication_failed" || apiError == "oauth_org_not_allowed" ||
		status == 401 || status == 403 || isAuthText(r.Text):
		kind = agents.ErrAuth
	case apiError != "" || status != 0 || terminal == "api_error" || strings.HasPrefix(r.Text, "API Error"):
		kind = agents.ErrAPI
	}
	return &agents.RunError{Kind: kind, ExitCode: -1, Message: msg}
}

func isAuthText(s string) bool {
	for _, p := range []string{"Invalid API key", "Not logged in", "OAuth token revoked", "does not have access to Claude Code"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func containsAny(ss []string, sub string) bool {
	for _, s := range ss {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// userMessage is the readable reason of an error result: its text, else
// its errors (internal diagnostics left out), else its subtype.
func userMessage(r *agents.Result) string {
	if r.Text != "" {
		return r.Text
	}
	var parts []string
	for _, e := range r.Errors {
		if !strings.HasPrefix(e, "[ede_diagnostic]") {
			parts = append(parts, e)
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, "; ")
	}
	return r.Subtype
}

// exitError builds the error Close returns.
func exitError(kind error, code int, stderr, format string, args ...any) *agents.RunError {
	return &agents.RunError{Kind: kind, ExitCode: code, Stderr: stderr, Message: fmt.Sprintf(format, args...)}
}

// engineLost is Close's error when the container engine stopped answering:
// an agents.ErrEngineLost RunError whose message is the engine's cause.
func engineLost(err error, stderr string) *agents.RunError {
	msg := err.Error()
	var el *sandbox.EngineLostError
	if errors.As(err, &el) {
		msg = el.Cause.Error()
	}
	return &agents.RunError{Kind: agents.ErrEngineLost, ExitCode: -1, Stderr: stderr, Message: msg}
}
