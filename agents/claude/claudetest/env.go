package claudetest

// DummyAPIKey is the API key Env gives the CLI. The fake model server
// accepts any key; this one only has the shape of a real one.
const DummyAPIKey = "sk-ant-api03-claudetest-dummy-key-000000000000"

// Env returns the environment a Claude Code CLI needs to talk to the fake
// model server at url and to make no other network calls: the base URL, a
// dummy API key, and the switches for telemetry, error reporting, the
// auto-updater and other non-essential traffic. HOME (or CLAUDE_CONFIG_DIR)
// and PATH are the caller's business.
func Env(url string) []string {
	return []string{
		"ANTHROPIC_BASE_URL=" + url,
		"ANTHROPIC_API_KEY=" + DummyAPIKey,
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
