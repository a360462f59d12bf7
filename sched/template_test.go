package sched_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/sched"
)

func TestRenderPrompt(t *testing.T) {
	payload := []byte(`{"pull_request":{"title":"Fix {{secret}} leak","number":42,"draft":false,
		"labels":[{"name":"bug"},{"name":"urgent"}]},"token":"ghp_abc","body":"line1\u0007\nline2"}`)
	fields := []string{"pull_request.title", "pull_request.number", "pull_request.draft", "pull_request.labels.1.name",
		"pull_request.labels", "body", "missing.path"}
	redact := func(s string) string { return strings.ReplaceAll(s, "leak", "[REDACTED]") }
	tmpl := "T={{pull_request.title}} N={{ pull_request.number }} D={{pull_request.draft}} L={{pull_request.labels.1.name}} " +
		"A={{pull_request.labels}} B={{body}} M={{missing.path}} X={{token}}"
	got, err := sched.RenderPrompt(tmpl, payload, fields, redact, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := `T=Fix {{secret}} [REDACTED] N=42 D=false L=urgent A=[{"name":"bug"},{"name":"urgent"}] B=line1` + "\nline2 M= X="
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestRenderPromptLimitsLength(t *testing.T) {
	got, err := sched.RenderPrompt("<{{v}}>", []byte(`{"v":"ééééééééé"}`), []string{"v"}, nil, 4)
	if err != nil || got != "<éééé…>" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestRenderPromptBadPayload(t *testing.T) {
	for _, p := range []string{"not json", `{"a":1} {"b":2}`, ""} {
		if _, err := sched.RenderPrompt("{{a}}", []byte(p), []string{"a"}, nil, 0); !errors.Is(err, sched.ErrBadPayload) {
			t.Errorf("payload %q: err %v, want ErrBadPayload", p, err)
		}
	}
	// No placeholders: the body is not even parsed.
	if got, err := sched.RenderPrompt("static", []byte("not json"), nil, nil, 0); err != nil || got != "static" {
		t.Fatalf("got %q, %v", got, err)
	}
}
