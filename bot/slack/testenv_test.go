package slack_test

import (
	"testing"

	"github.com/herdbot/herdbot/internal/testenv"
)

func testenvClaude(t *testing.T) string { return testenv.RequireClaude(t) }
