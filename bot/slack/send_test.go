package slack_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// longAnswer is Markdown with prose, lists, links, escapes and code blocks
// long enough to need several messages and sections.
func longAnswer() string {
	var b strings.Builder
	b.WriteString("# Plan\n\nHere is **the plan** for _your_ garden & <beds>, see [the guide](https://example.com/g?a=1&b=2).\n\n")
	for i := range 12 {
		fmt.Fprintf(&b, "- step %d: water **bed %d** at 6:00 & check `soil < 30%%`\n", i, i)
	}
	b.WriteString("\n```go\n")
	for i := range 160 {
		fmt.Fprintf(&b, "if moisture[%d] < threshold && !raining { water(%d) } // **not bold** [not](link)\n", i, i)
	}
	b.WriteString("```\n\nAnd a second block:\n\n```\n")
	b.WriteString(strings.Repeat("plain line of log output with <angle> & ampersand\n", 80))
	b.WriteString("```\n\nDone. ~~Old plan~~ is obsolete.\n")
	return b.String()
}

var reMdLeft = regexp.MustCompile(`\*\*|\]\(http|^#+ `)

// checkMrkdwn fails unless s looks like valid Slack mrkdwn: fences
// balanced, no Markdown-only syntax outside code, < only in Slack links.
func checkMrkdwn(t *testing.T, s string) {
	t.Helper()
	if n := strings.Count(s, "```"); n%2 != 0 {
		t.Fatalf("unbalanced fences (%d) in section:\n%s", n, s)
	}
	inCode := false
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		for _, m := range regexp.MustCompile(`<[^>]*>`).FindAllString(line, -1) {
			if !strings.HasPrefix(m, "<http") && !strings.HasPrefix(m, "<@") {
				t.Fatalf("raw < in %q", line)
			}
		}
		if !inCode && reMdLeft.MatchString(line) {
			t.Fatalf("markdown left in %q", line)
		}
	}
}

func TestLongMarkdownAnswerInValidChunks(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	md := longAnswer()
	to := bot.Target{Platform: bot.Slack, Channel: chanMention, Thread: "1700000000.000999"}
	ref, err := r.ad.Send(context.Background(), to, bot.Message{Text: md, Buttons: approvalCard().Buttons})
	if err != nil {
		t.Fatalf("Send: %v (the fake rejects what Slack would)", err)
	}
	msgs := r.fake.Messages(chanMention)
	if want := (len([]rune(slack.Mrkdwn(md))) + slack.MaxMessageText - 1) / slack.MaxMessageText; len(msgs) < 2 || len(msgs) > want+1 {
		t.Fatalf("%d messages for %d chars of Markdown; want it split into about %d", len(msgs), len(md), want)
	}
	var all strings.Builder
	for i, m := range msgs {
		if n := utf8.RuneCountInString(m.Text); n > slack.MaxMessageText || m.Truncated {
			t.Fatalf("message %d text is %d chars (truncated by Slack: %v)", i, n, m.Truncated)
		}
		if i < len(msgs)-1 && utf8.RuneCountInString(m.Text) < slack.MaxMessageText*2/3 {
			t.Errorf("message %d carries only %d characters: Slack takes up to %d per message here", i, utf8.RuneCountInString(m.Text), slack.MaxMessageText)
		}
		if m.ThreadTS != to.Thread {
			t.Fatalf("message %d not in the thread", i)
		}
		for _, s := range m.Sections() {
			if n := utf8.RuneCountInString(s); n > slack.MaxSectionText {
				t.Fatalf("section of %d chars", n)
			}
			checkMrkdwn(t, s)
			all.WriteString(s)
		}
		if hasButtons := len(m.Buttons()) > 0; hasButtons != (i == len(msgs)-1) {
			t.Fatalf("message %d buttons = %v; buttons belong on the last message only", i, m.Buttons())
		}
	}
	if ref.ID != msgs[len(msgs)-1].TS {
		t.Fatalf("ref %s is not the last message", ref.ID)
	}
	got := all.String()
	for _, want := range []string{"*Plan*", "*the plan*", "_your_", "&amp; &lt;beds&gt;", "<https://example.com/g?a=1&b=2|the guide>",
		"• step 11: water *bed 11*", "`soil &lt; 30%`", "moisture[159] &lt; threshold &amp;&amp;", "// **not bold** [not](link)", "~Old plan~"} {
		if !strings.Contains(got, want) {
			t.Errorf("converted answer lacks %q", want)
		}
	}
	for i := range 160 {
		if !strings.Contains(got, fmt.Sprintf("water(%d)", i)) {
			t.Fatalf("code line %d lost", i)
		}
	}
}

func TestFakeRejectsWhatSlackRejects(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	long := strings.Repeat("a", 300)
	_, err := r.ad.Send(context.Background(), bot.Target{Channel: chanMention}, bot.Message{Text: "x",
		Buttons: []bot.Button{{ApprovalID: long, Choice: "once", Label: "Allow"}}})
	if !errors.Is(err, slack.ErrButtonID) {
		t.Fatalf("Send with a 300-char approval id: err = %v, want ErrButtonID", err)
	}
	if n := len(r.fake.Calls("chat.postMessage")); n != 0 {
		t.Fatalf("%d posts for an invalid card", n)
	}
	// A failure from Slack is returned, wrapped, without the token.
	r.fake.Fail("chat.postMessage", "channel_not_found")
	_, err = r.ad.Send(context.Background(), bot.Target{Channel: chanMention}, bot.Message{Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "channel_not_found") || strings.Contains(err.Error(), r.app.BotToken) {
		t.Fatalf("err = %v", err)
	}
}

func TestSendRetriesWhenRateLimited(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	r.fake.RateLimit("chat.update", time.Second/2) // Retry-After: 0
	ref, err := r.ad.Send(context.Background(), bot.Target{Channel: chanMention}, bot.Message{Text: "⏳ working"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ad.Edit(context.Background(), ref, bot.Message{Text: "✅ done"}); err != nil {
		t.Fatalf("Edit after a 429: %v", err)
	}
	if m, _ := r.fake.Message(chanMention, ref.ID); m.Text != "✅ done" || m.Edits != 1 {
		t.Fatalf("message = %+v", m)
	}
	if n := len(r.fake.Calls("chat.update")); n != 2 {
		t.Fatalf("chat.update calls = %d, want 2 (429 then retry)", n)
	}
}

func TestEditTruncatesAndKeepsFencesBalanced(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	ref, err := r.ad.Send(context.Background(), bot.Target{Channel: chanMention}, approvalCard())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ad.Edit(context.Background(), ref, bot.Message{Text: longAnswer()}); err != nil {
		t.Fatalf("Edit: %v", err)
	}
	m, _ := r.fake.Message(chanMention, ref.ID)
	if utf8.RuneCountInString(m.Text) > slack.MaxMessageText || len(m.Buttons()) != 0 || !strings.HasSuffix(m.Text, "…") {
		t.Fatalf("edited = %d chars, %d buttons, ends %q", utf8.RuneCountInString(m.Text), len(m.Buttons()), m.Text[len(m.Text)-10:])
	}
	for _, s := range m.Sections() {
		checkMrkdwn(t, s)
	}
}

func TestFilesAreUploadedIntoTheThread(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	to := bot.Target{Platform: bot.Slack, Channel: chanMention, Thread: "1700000000.000777"}
	data := []byte(strings.Repeat("tool output line\n", 500))
	if _, err := r.ad.Send(context.Background(), to, bot.Message{Text: "Full output attached.", Files: []bot.File{{Name: "bash.txt", Data: data}}}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	files := r.fake.Files(chanMention)
	if len(files) != 1 || files[0].Name != "bash.txt" || string(files[0].Data) != string(data) || files[0].ThreadTS != to.Thread {
		t.Fatalf("files = %+v", files)
	}
}

func TestTypingIsAReactionUntilTheReply(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	sent := r.fake.Post(r.app, slacktest.Post{Channel: chanAuto, User: alice, Text: "hello"})
	in := r.rec.WaitMessages(t, 1)[0]
	for range 2 { // refreshes do not stack
		if err := r.ad.Typing(context.Background(), in.Target); err != nil {
			t.Fatalf("Typing: %v", err)
		}
	}
	if got := r.fake.Reactions(chanAuto, sent.TS); len(got) != 1 || got[0].Name != "eyes" || got[0].App != "garden" {
		t.Fatalf("reactions = %+v", got)
	}
	if _, err := r.ad.Send(context.Background(), in.Target, bot.Message{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if got := r.fake.Reactions(chanAuto, sent.TS); len(got) != 0 {
		t.Fatalf("reaction left after the reply: %+v", got)
	}
}

func TestLimits(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	if got := r.ad.Limits().MaxText; got <= 0 || got > slack.MaxMessageText {
		t.Fatalf("MaxText = %d", got)
	}
}

func TestNewRejectsBadConfigWithoutLeakingTokens(t *testing.T) {
	secret := "xoxp-user-token-not-a-bot-0123456789"
	cases := []slack.Config{
		{Agent: "", BotToken: "xoxb-1", AppToken: "xapp-1"},
		{Agent: "g", BotToken: secret, AppToken: "xapp-1"},
		{Agent: "g", BotToken: "xoxb-1", AppToken: secret},
		{Agent: "g", BotToken: "xoxb-1", AppToken: "xapp-1", Channels: []slack.Channel{{ID: "C1", Mode: "loud"}}},
		{Agent: "g", BotToken: "xoxb-1", AppToken: "xapp-1", Channels: []slack.Channel{{ID: ""}}},
		{Agent: "g", BotToken: "xoxb-1", AppToken: "xapp-1", SlashCommand: "garden"},
	}
	for i, c := range cases {
		_, err := slack.New(c, nil)
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("case %d: error leaks the token: %v", i, err)
		}
	}
}

func TestRunFailsOnBadToken(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{})
	app := fake.AddApp("garden")
	ad, err := slack.New(slack.Config{Agent: "garden", BotToken: "xoxb-wrong", AppToken: app.AppToken, APIURL: fake.APIURL()}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	err = ad.Run(context.Background(), newRecorder())
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "xoxb-wrong") {
		t.Fatalf("Run = %v, want invalid_auth without the token", err)
	}
}
