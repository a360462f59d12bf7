package claudetest

import (
	"sync"

	"github.com/herdbot/herdbot/agents/claude/scripted"
)

// Exhausted is the text a Script answers with once its replies are used up.
const Exhausted = "scripted model: no scripted reply left"

// Script answers Messages calls with replies in order, one per call; once
// they are used up it answers with the text Exhausted.
func Script(replies ...Reply) Responder {
	var mu sync.Mutex
	i := 0
	return func(*Request) Reply {
		mu.Lock()
		defer mu.Unlock()
		if i >= len(replies) {
			return Text(Exhausted)
		}
		i++
		return replies[i-1]
	}
}

// Env returns the environment a Claude Code CLI needs to talk to the fake
// model server at url and to make no other network calls: the base URL, a
// dummy API key, and the switches for telemetry, error reporting, the
// auto-updater and other non-essential traffic. HOME (or CLAUDE_CONFIG_DIR)
// and PATH are the caller's business.
func Env(url string) []string {
	return []string{
		"ANTHROPIC_BASE_URL=" + url,
		"ANTHROPIC_API_KEY=" + scripted.DummyAPIKey,
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_TELEMETRY=1",
		"DISABLE_ERROR_REPORTING=1",
		"DISABLE_BUG_COMMAND=1",
		"DISABLE_NON_ESSENTIAL_MODEL_CALLS=1",
		"CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY=1",
		"CLAUDE_CODE_ENTRYPOINT=sdk-go",
	}
}
