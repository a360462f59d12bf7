package agents

import (
	"encoding/json"
	"net/url"
	"strings"
)

// Policy decides tool requests from rules in Claude Code's permission rule
// syntax: "Read" (the whole tool), "Bash(git *)" or legacy "Bash(git:*)" (a
// command pattern), "mcp__server__*" or "mcp__server" (all of a server's
// tools), "Edit(src/*)" (a path pattern), "WebFetch(domain:example.com)".
// In patterns, * matches any run of characters. Deny rules win over allow
// rules; a request matched by neither is asked.
type Policy struct {
	Allow []string
	Deny  []string
}

// Decide returns the verdict for tool with input (Allowed, Denied, or
// Pending when a person decides), and the rule that decided.
func (p Policy) Decide(tool string, input json.RawMessage) (Verdict, string) {
	for _, r := range p.Deny {
		if RuleMatches(r, tool, input) {
			return Denied, r
		}
	}
	for _, r := range p.Allow {
		if RuleMatches(r, tool, input) {
			return Allowed, r
		}
	}
	return Pending, ""
}

// RuleMatches reports whether a permission rule covers a tool call.
func RuleMatches(rule, tool string, input json.RawMessage) bool {
	rule = strings.TrimSpace(rule)
	name, content, hasContent := strings.Cut(rule, "(")
	if hasContent {
		if !strings.HasSuffix(content, ")") {
			return false
		}
		content = strings.TrimSuffix(content, ")")
	}
	if !nameMatches(name, tool) {
		return false
	}
	if !hasContent || content == "" || content == "*" {
		return true
	}
	subject := primary(tool, input)
	if subject == "" {
		return false
	}
	if d, ok := strings.CutPrefix(content, "domain:"); ok {
		u, err := url.Parse(subject)
		if err != nil || u.Hostname() == "" {
			return false
		}
		return Glob(d, u.Hostname())
	}
	if prefix, ok := strings.CutSuffix(content, ":*"); ok { // legacy prefix form
		return subject == prefix || strings.HasPrefix(subject, prefix+" ")
	}
	return Glob(content, subject)
}

func nameMatches(pattern, tool string) bool {
	if pattern == tool {
		return true
	}
	if strings.HasPrefix(pattern, "mcp__") && !strings.Contains(pattern, "*") &&
		strings.Count(pattern, "__") == 1 && strings.HasPrefix(tool, pattern+"__") {
		return true // "mcp__server" covers every tool of that server
	}
	return strings.Contains(pattern, "*") && Glob(pattern, tool)
}

// primary is the part of a tool input that rule patterns match against.
func primary(tool string, input json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(input, &m) != nil {
		return ""
	}
	for _, k := range []string{"command", "file_path", "notebook_path", "path", "url", "pattern"} {
		if s, ok := m[k].(string); ok {
			return s
		}
	}
	return ""
}

// Glob matches s against pattern, where * matches any run of characters
// (including / and spaces) and every other character matches itself.
func Glob(pattern, s string) bool {
	// Iterative wildcard match with backtracking to the last star.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
