// Package claudetest holds test doubles for the Claude Code runtime:
//
//   - the scripted model server of agents/claude/scripted (a loopback
//     stand-in for the Anthropic Messages API that the REAL Claude Code CLI
//     talks to), under the names tests use, and NewModelServer, which runs
//     one for the duration of a test;
//   - a fake CLI (package fakecli) for what the real CLI cannot be made to
//     do on demand: crash mid-stream, print garbage or a huge line, stall;
//   - the hostile-file table (package hostile).
//
// herdbot itself (`herdbot start --demo`) uses agents/claude/scripted, so
// the binary does not link the testing package.
//
// Typical use with the real CLI:
//
//	srv := claudetest.NewModelServer(t, claudetest.Script(
//		claudetest.Bash("touch x", "create x"), // first model call: a tool
//		claudetest.Text("created x"),           // after the tool result
//	))
//	env := append(claudetest.Env(srv.URL), "HOME="+t.TempDir(), "PATH=/usr/bin:/bin")
//	// start `claude -p --output-format stream-json …` with env, then:
//	reqs := srv.MessageRequests() // reqs[1].ToolResults()[0].Content …
package claudetest
