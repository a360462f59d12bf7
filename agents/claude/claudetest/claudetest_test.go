package claudetest_test

import (
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents/claude/claudetest"
)

func TestScript_Exhausted(t *testing.T) {
	r := claudetest.Script(claudetest.Text("one"))
	if got := r(&claudetest.Request{}).Text; got != "one" {
		t.Errorf("first = %q", got)
	}
	if got := r(&claudetest.Request{}).Text; got != claudetest.Exhausted {
		t.Errorf("after the end = %q", got)
	}
}

func TestEnv(t *testing.T) {
	env := claudetest.Env("http://127.0.0.1:1")
	want := map[string]bool{"ANTHROPIC_BASE_URL=http://127.0.0.1:1": true, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1": true, "DISABLE_AUTOUPDATER=1": true}
	for _, kv := range env {
		delete(want, kv)
		if strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "PATH=") {
			t.Errorf("Env sets %s", kv)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing %v", want)
	}
}
