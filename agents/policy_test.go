package agents

import (
	"encoding/json"
	"testing"
)

func TestRuleMatches(t *testing.T) {
	in := func(k, v string) json.RawMessage { b, _ := json.Marshal(map[string]string{k: v}); return b }
	cases := []struct {
		rule, tool string
		input      json.RawMessage
		want       bool
	}{
		{"Read", "Read", in("file_path", "/x"), true},
		{"Read", "Write", in("file_path", "/x"), false},
		{"Bash(git *)", "Bash", in("command", "git status"), true},
		{"Bash(git *)", "Bash", in("command", "rm -rf /"), false},
		{"Bash(git *)", "Bash", in("command", "gitx"), false},
		{"Bash(git:*)", "Bash", in("command", "git log"), true},
		{"Bash(git:*)", "Bash", in("command", "git"), true},
		{"Bash(git:*)", "Bash", in("command", "gitk"), false},
		{"Bash(*)", "Bash", in("command", "anything"), true},
		{"Bash(touch x)", "Bash", in("command", "touch x"), true},
		{"Bash(touch x)", "Bash", in("command", "touch x; rm -rf /"), false},
		{"mcp__github__*", "mcp__github__create_issue", nil, true},
		{"mcp__github", "mcp__github__create_issue", nil, true},
		{"mcp__github", "mcp__gitlab__x", nil, false},
		{"Edit(src/*)", "Edit", in("file_path", "src/a/b.go"), true},
		{"Edit(src/*)", "Edit", in("file_path", "docs/a.md"), false},
		{"WebFetch(domain:example.com)", "WebFetch", in("url", "https://example.com/a"), true},
		{"WebFetch(domain:example.com)", "WebFetch", in("url", "https://evil.com/example.com"), false},
		{"WebFetch(domain:*.example.com)", "WebFetch", in("url", "https://api.example.com/"), true},
		{"Bash(unclosed", "Bash", in("command", "x"), false},
		{"Bash(git *)", "Bash", json.RawMessage(`not json`), false},
	}
	for _, c := range cases {
		if got := RuleMatches(c.rule, c.tool, c.input); got != c.want {
			t.Errorf("RuleMatches(%q, %q, %s) = %v, want %v", c.rule, c.tool, c.input, got, c.want)
		}
	}
}

func TestPolicyDenyWins(t *testing.T) {
	p := Policy{Allow: []string{"Bash"}, Deny: []string{"Bash(rm *)"}}
	cmd := json.RawMessage(`{"command":"rm -rf /"}`)
	if v, rule := p.Decide("Bash", cmd); v != Denied || rule != "Bash(rm *)" {
		t.Fatalf("got %v %q, want deny by Bash(rm *)", v, rule)
	}
	if v, _ := p.Decide("Bash", json.RawMessage(`{"command":"ls"}`)); v != Allowed {
		t.Fatalf("ls: got %v, want allow", v)
	}
	if v, _ := p.Decide("Write", json.RawMessage(`{"file_path":"a"}`)); v != Pending {
		t.Fatalf("Write: got %v, want ask", v)
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"a*c", "abc", true}, {"a*c", "abd", false}, {"*b*", "abc", true},
		{"a**", "a", true}, {"", "", true}, {"", "a", false}, {"a*b*c", "aXbYbZc", true},
	} {
		if got := Glob(c.p, c.s); got != c.want {
			t.Errorf("Glob(%q,%q)=%v", c.p, c.s, got)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b", "axxb")
	f.Add("**", "")
	f.Fuzz(func(t *testing.T, p, s string) {
		if !Glob("*", s) {
			t.Fatalf("* must match %q", s)
		}
		if !containsStar(p) && Glob(p, s) != (p == s) {
			t.Fatalf("star-free pattern %q vs %q: got %v", p, s, Glob(p, s))
		}
		if !containsStar(s) && !Glob(s, s) {
			t.Fatalf("%q must match itself", s)
		}
	})
}

func containsStar(s string) bool {
	for i := range len(s) {
		if s[i] == '*' {
			return true
		}
	}
	return false
}
