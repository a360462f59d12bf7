package slack_test

import (
	"os"
	"testing"

	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
)

func TestMain(m *testing.M) {
	fakecli.RunIfRequested() // the fake Claude CLI of the fleet benchmarks (re-exec)
	os.Exit(m.Run())
}
