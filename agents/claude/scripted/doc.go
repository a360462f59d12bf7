// Package scripted is a loopback stand-in for the Anthropic Messages API
// that the real Claude Code CLI talks to (ANTHROPIC_BASE_URL): a
// ModelServer answers each call with the Reply a Responder picks from the
// conversation it was sent. Demo is the scripted model of herdbot's
// first-run demo (`herdbot start --demo`, no API key needed); tests script
// their own turns through agents/claude/claudetest, which wraps this
// package for the testing package.
//
//	s := scripted.New(scripted.Demo(), scripted.WithoutRecording())
//	go s.Serve(ctx, ln) // then start the CLI with ANTHROPIC_BASE_URL=s.URL
//
// The CLI (2.1.330, 2.1.332) calls only POST /v1/messages?beta=true (streamed) when
// started with claudetest.Env; each call of one turn carries the whole conversation,
// including a leading user message of <system-reminder> blocks
// (Request.Prompt skips those) and a "system" role message.
package scripted
