package fakecli_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
)

var goodArgs = []string{"-p", "--output-format", "stream-json", "--input-format", "stream-json", "--verbose", "--permission-prompt-tool", "stdio"}

func env(mode string) func(string) string {
	return func(k string) string {
		if k == fakecli.EnvMode {
			return mode
		}
		return ""
	}
}

func TestMain_RejectsBadArgv(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no stream-json output", []string{"-p", "--input-format", "stream-json", "--verbose"}, "requires output-format=stream-json"},
		{"no verbose", []string{"-p", "--output-format=stream-json", "--input-format=stream-json"}, "requires --verbose"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := fakecli.Main(tc.args, env(""), strings.NewReader(""), &out, &errb)
			if code != 1 || out.Len() != 0 || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("code %d stdout %q stderr %q", code, out.String(), errb.String())
			}
		})
	}
}

func TestMain_EchoAndResumeID(t *testing.T) {
	var out, errb bytes.Buffer
	in := `{"type":"user","message":{"role":"user","content":"one"}}` + "\n" + `{"type":"user","message":{"role":"user","content":"two"}}` + "\n"
	code := fakecli.Main(append(goodArgs, "--resume=abc-123"), env(fakecli.ModeEcho), strings.NewReader(in), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 2×(init, assistant, result):\n%s", len(lines), out.String())
	}
	for _, want := range []string{`"echo: one"`, `"echo: two"`, `"session_id":"abc-123"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %s", want)
		}
	}
}

func TestMain_CrashExitCode(t *testing.T) {
	var out, errb bytes.Buffer
	code := fakecli.Main(goodArgs, env(fakecli.ModeCrash), strings.NewReader(`{"type":"user","message":{"content":"x"}}`+"\n"), &out, &errb)
	if code != 3 || strings.Contains(out.String(), `"type":"result"`) || !strings.Contains(errb.String(), "simulated crash") {
		t.Errorf("code %d stdout %q stderr %q", code, out.String(), errb.String())
	}
}

func TestMain_BadInputLineExits1(t *testing.T) {
	var out, errb bytes.Buffer
	code := fakecli.Main(goodArgs, env(fakecli.ModeEcho), strings.NewReader("not json\n"), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "Error parsing streaming input line") {
		t.Errorf("code %d stderr %q", code, errb.String())
	}
}
