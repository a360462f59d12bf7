package claude_test

import (
	"os"
	"testing"

	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
)

func TestMain(m *testing.M) {
	fakecli.RunIfRequested()
	os.Exit(m.Run())
}
