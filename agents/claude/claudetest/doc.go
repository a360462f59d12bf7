// Package claudetest holds test doubles for the Claude Code runtime:
//
//   - ModelServer, a loopback fake of the Anthropic Messages API that the
//     REAL Claude Code CLI talks to (ANTHROPIC_BASE_URL), scripted per test
//     with a Responder and recording every request;
//   - Demo, the scripted model of herdbot's first-run demo;
//   - Env, the environment that points a CLI at the fake and silences all
//     other traffic;
//   - a fake CLI (package fakecli) for what the real CLI cannot be made to
//     do on demand: crash mid-stream, print garbage or a huge line, stall.
//
// It is a normal package (not _test) so that `herdbot start --demo` can use
// the model server and Demo.
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
//
// Outside tests: s := claudetest.New(claudetest.Demo(), claudetest.WithoutRecording()); go s.Serve(ctx, ln).
//
// The CLI 2.1.330 calls only POST /v1/messages?beta=true (streamed) when
// started with Env; each call of one turn carries the whole conversation,
// including a leading user message of <system-reminder> blocks
// (Request.Prompt skips those) and a "system" role message.
package claudetest
