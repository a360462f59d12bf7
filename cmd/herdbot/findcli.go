package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// claudeEnv names a Claude Code CLI to use, like --claude.
const claudeEnv = "HERDBOT_CLAUDE_BIN"

// checkoutDir is the source checkout the binary was built in (make build
// and make install set it), whose .tools/ holds the pinned CLI after
// `make tools`; "" for other builds.
var checkoutDir string

// claudePlace is one place the CLI is looked for.
type claudePlace struct {
	path string // "" for PATH
	what string // how a person would name it
}

// claudePlaces are where herdbot looks for the pinned Claude Code CLI, in
// order: $HERDBOT_CLAUDE_BIN, next to the herdbot binary, the .tools/ of
// the checkout the binary was built in (recorded by make build and make
// install, or bin/../.tools), the .tools/ of the current directory, then
// PATH (an npm global install).
func claudePlaces() []claudePlace {
	var out []claudePlace
	if p := os.Getenv(claudeEnv); p != "" {
		out = append(out, claudePlace{p, "$" + claudeEnv})
	}
	const tools = ".tools/node_modules/.bin/claude"
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		dir := filepath.Dir(exe)
		out = append(out, claudePlace{filepath.Join(dir, "claude"), "next to herdbot"})
		if checkoutDir != "" {
			out = append(out, claudePlace{filepath.Join(checkoutDir, filepath.FromSlash(tools)), "in the checkout herdbot was built in"})
		}
		out = append(out, claudePlace{filepath.Join(filepath.Dir(dir), filepath.FromSlash(tools)), "in the checkout of bin/herdbot"})
	}
	if abs, err := filepath.Abs(filepath.FromSlash(tools)); err == nil {
		out = append(out, claudePlace{abs, "in this directory"})
	}
	return append(out, claudePlace{"", "on PATH"})
}

// findClaude returns the first Claude Code CLI of claudePlaces, or "".
func findClaude() string {
	for _, p := range claudePlaces() {
		if p.path == "" {
			if found, err := exec.LookPath("claude"); err == nil {
				return found
			}
			continue
		}
		if st, err := os.Stat(p.path); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return filepath.Clean(p.path)
		}
	}
	return ""
}

// claudeNotFound says where the CLI was looked for and how to get it.
func claudeNotFound() string {
	var looked []string
	for _, p := range claudePlaces() {
		if p.path == "" {
			looked = append(looked, "claude on PATH")
			continue
		}
		looked = append(looked, p.path+" ("+p.what+")")
	}
	return fmt.Sprintf("no Claude Code CLI found (looked for %s). Install the pinned %s: `make tools` in herdbot's checkout, "+
		"or `npm install -g @anthropic-ai/claude-code@%s`; or name it with --claude PATH or %s",
		strings.Join(looked, ", "), pinnedClaudeVersion, pinnedClaudeVersion, claudeEnv)
}
