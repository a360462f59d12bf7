package slacktest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

func client(fake *slacktest.Server, app slacktest.App) *slack.Client {
	return slack.New(app.BotToken, slack.OptionAppLevelToken(app.AppToken), slack.OptionAPIURL(fake.APIURL()))
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

func button(actionID, value string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, value, slack.NewTextBlockObject(slack.PlainTextType, "Go", false, false))
}

func TestLimitsRejectLikeSlack(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{NoEcho: true})
	api := client(fake, fake.AddApp("garden"))
	many := make([]slack.Block, 51)
	for i := range many {
		many[i] = section("x")
	}
	cases := []struct {
		name string
		opts []slack.MsgOption
		code string
	}{
		{"section text 3001", []slack.MsgOption{slack.MsgOptionBlocks(section(strings.Repeat("é", 3001)))}, "invalid_blocks"},
		{"51 blocks", []slack.MsgOption{slack.MsgOptionBlocks(many...)}, "invalid_blocks"},
		{"action_id 256", []slack.MsgOption{slack.MsgOptionBlocks(slack.NewActionBlock("b", button(strings.Repeat("a", 256), "v")))}, "invalid_blocks"},
		{"button value 2001", []slack.MsgOption{slack.MsgOptionBlocks(slack.NewActionBlock("b", button("a", strings.Repeat("v", 2001))))}, "invalid_blocks"},
		{"duplicate action_id", []slack.MsgOption{slack.MsgOptionBlocks(slack.NewActionBlock("b", button("a", "1"), button("a", "2")))}, "invalid_blocks"},
		{"empty", []slack.MsgOption{slack.MsgOptionText("", false)}, "no_text"},
		{"markdown blocks over 12,000 together", []slack.MsgOption{slack.MsgOptionBlocks(
			slack.NewMarkdownBlock("", strings.Repeat("m", 8000)), slack.NewMarkdownBlock("", strings.Repeat("m", 4001)))}, "msg_blocks_too_long"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := api.PostMessage("C1", tc.opts...)
			var se slack.SlackErrorResponse
			if !errors.As(err, &se) || se.Err != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
		})
	}
	if n := len(fake.Messages("C1")); n != 0 {
		t.Fatalf("%d rejected messages stored", n)
	}
	// At the limits it is accepted; an actions block needs no block_id
	// (Slack makes one up), and markdown blocks may share 12,000 characters.
	_, _, err := api.PostMessage("C1", slack.MsgOptionText(strings.Repeat("t", 40000), false), slack.MsgOptionBlocks(
		section(strings.Repeat("é", 3000)), slack.NewActionBlock("", button(strings.Repeat("a", 255), strings.Repeat("v", 2000))),
		slack.NewMarkdownBlock("", strings.Repeat("m", 8000)), slack.NewMarkdownBlock("", strings.Repeat("m", 4000))))
	if err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	m := fake.Messages("C1")[0]
	if m.Truncated || len(m.Buttons()) != 1 || m.Buttons()[0].BlockID == "" {
		t.Fatalf("stored message: truncated %v, buttons %+v", m.Truncated, m.Buttons())
	}
	// Text past 40,000 characters is cut, not refused, as Slack does.
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText(strings.Repeat("é", 40001), false))
	if err != nil {
		t.Fatalf("long text: %v", err)
	}
	if m, _ := fake.Message("C1", ts); !m.Truncated || len([]rune(m.Text)) != 40000 {
		t.Fatalf("long text stored as %d characters, truncated %v", len([]rune(m.Text)), m.Truncated)
	}
}

func TestChatRateLimits(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{NoEcho: true,
		PostLimit: slacktest.Limit{Every: time.Hour, Burst: 2}, UpdateLimit: slacktest.Limit{Every: time.Hour, Burst: 1}})
	app := fake.AddApp("garden")
	api := client(fake, app)
	for i := range 2 {
		if _, _, err := api.PostMessage("C1", slack.MsgOptionText("burst", false)); err != nil {
			t.Fatalf("post %d within the burst: %v", i, err)
		}
	}
	_, ts, err := api.PostMessage("C2", slack.MsgOptionText("another channel has its own limit", false))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = api.PostMessage("C1", slack.MsgOptionText("one too many", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Hour {
		t.Fatalf("third post in C1: %v, want 429 with Retry-After 3600", err)
	}
	if _, _, _, err := api.UpdateMessage("C2", ts, slack.MsgOptionText("edit", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessage("C2", ts, slack.MsgOptionText("edit again", false)); !errors.As(err, &rl) {
		t.Fatalf("second update: %v, want 429", err)
	}
	if fake.RateLimited("chat.postMessage") != 1 || fake.RateLimited("chat.update") != 1 || len(fake.Messages("C1")) != 2 {
		t.Fatalf("429s: post %d, update %d; C1 has %d messages", fake.RateLimited("chat.postMessage"), fake.RateLimited("chat.update"), len(fake.Messages("C1")))
	}

	// The body of a 429 is Slack's, and Retry-After whole seconds.
	fake.RateLimit("auth.test", 1500*time.Millisecond)
	resp, err := http.PostForm(fake.APIURL()+"auth.test", url.Values{"token": {app.BotToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || strings.TrimSpace(string(body)) != `{"ok":false,"error":"ratelimited"}` {
		t.Fatalf("429: %d, Retry-After %q, body %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

func TestUploadLengthChecked(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{NoEcho: true})
	api := client(fake, fake.AddApp("garden"))
	data := "twelve bytes"
	_, err := api.UploadFile(slack.UploadFileParameters{Filename: "a.txt", FileSize: len(data) + 1, Reader: strings.NewReader(data), Channel: "C1"})
	if err == nil {
		t.Fatal("an upload shorter than the declared length went through")
	}
	if _, err := api.UploadFile(slack.UploadFileParameters{Filename: "b.txt", FileSize: len(data), Reader: strings.NewReader(data), Channel: "C1"}); err != nil {
		t.Fatalf("an upload of the declared length: %v", err)
	}
	if fs := fake.Files("C1"); len(fs) != 1 || fs[0].Name != "b.txt" || string(fs[0].Data) != data {
		t.Fatalf("files %+v", fs)
	}
}

func TestTokensAndApps(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{NoEcho: true})
	garden, herb := fake.AddApp("garden"), fake.AddApp("herb")
	for _, app := range []slacktest.App{garden, herb} {
		res, err := client(fake, app).AuthTest()
		if err != nil || res.UserID != app.BotUserID || res.BotID != app.BotID || res.TeamID != slacktest.Team {
			t.Fatalf("auth.test for %s = %+v, %v", app.Name, res, err)
		}
	}
	bad := slack.New("xoxb-nope", slack.OptionAPIURL(fake.APIURL()))
	if _, err := bad.AuthTest(); err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("bad token: %v", err)
	}
	// One app cannot edit another's message.
	_, ts, err := client(fake, garden).PostMessage("C1", slack.MsgOptionText("mine", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := client(fake, herb).UpdateMessage("C1", ts, slack.MsgOptionText("yours", false)); err == nil || err.Error() != "cant_update_message" {
		t.Fatalf("cross-app update: %v", err)
	}
	if calls := fake.Calls("chat.update"); len(calls) != 1 || calls[0].App != "herb" || calls[0].Params.Get("token") != "" {
		t.Fatalf("calls = %+v", calls)
	}
}

// TestUnackedEnvelopeIsRedelivered uses a raw socketmode client that never
// acks: the fake redelivers with retry_attempt+1 after the ack deadline.
func TestUnackedEnvelopeIsRedelivered(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{AckDeadline: 50 * time.Millisecond, MaxRetries: 2, NoEcho: true})
	app := fake.AddApp("garden")
	sm := socketmode.New(client(fake, app))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(ctx) }()
	defer func() { cancel(); <-done }()

	fake.WaitConnected(app, 1)
	sent := fake.DM(app, "U1", "hello")
	var attempts []int
	var ids []string
	for len(attempts) < 3 {
		select {
		case evt := <-sm.Events:
			if evt.Type == socketmode.EventTypeEventsAPI {
				attempts = append(attempts, evt.Request.RetryAttempt)
				ids = append(ids, evt.Request.EnvelopeID)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("got attempts %v, want 0,1,2", attempts)
		}
	}
	if attempts[0] != 0 || attempts[1] != 1 || attempts[2] != 2 || ids[2] != sent.Envelope {
		t.Fatalf("attempts %v ids %v", attempts, ids)
	}
	// Acked now: no more redeliveries.
	if err := sm.Ack(socketmode.Request{EnvelopeID: sent.Envelope}); err != nil {
		t.Fatal(err)
	}
	fake.WaitAck(app, sent.Envelope)
	if st := fake.Stats(app); st.Deliveries != 3 || len(st.Unacked) != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestMassMentionsRecorded(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{NoEcho: true, AllowMassMentions: true})
	api := client(fake, fake.AddApp("garden"))
	for _, opts := range [][]slack.MsgOption{
		{slack.MsgOptionText("hi <!here>", false)},
		{slack.MsgOptionBlocks(section("see <!channel|channel>"))},
		{slack.MsgOptionText("@everyone look", false), slack.MsgOptionLinkNames(true)},
		{slack.MsgOptionText("<!subteam^S0123|ops> and <@U1>", false)},
	} {
		if _, _, err := api.PostMessage("C1", opts...); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("@here without link_names, &lt;!here&gt; escaped", false)); err != nil {
		t.Fatal(err)
	}
	got := fake.MassMentions()
	var ms []string
	for _, m := range got {
		ms = append(ms, m.Mention)
	}
	if want := []string{"<!here>", "<!channel|channel>", "@everyone", "<!subteam^S0123|ops>"}; strings.Join(ms, " ") != strings.Join(want, " ") {
		t.Fatalf("mass mentions %q, want %q", ms, want)
	}
}
