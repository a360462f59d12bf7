// Command fakeclaude is the fake Claude Code CLI of package fakecli as a
// binary. The mode comes from HERDBOT_FAKECLI (default echo).
package main

import (
	"os"

	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
)

func main() {
	os.Exit(fakecli.Main(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
