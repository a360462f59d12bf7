package slack_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// TestFilesSharedWithAMessage: a file shared with a mention reaches the
// handler as an attachment (once, though the mention comes as app_mention
// and message), its bytes are fetched from url_private_download with the
// bot token, and past the limit the fetch fails. The fake, like Slack,
// sends a request without the token to the sign-in page.
func TestFilesSharedWithAMessage(t *testing.T) {
	r := startRig(t, slacktest.Options{}, nil)
	r.fake.MentionWithFiles(r.app, chanMention, alice, "", "",
		slacktest.Upload{Name: "notes.txt", Mimetype: "text/plain", Data: []byte("hello file")})
	in := r.rec.WaitMessages(t, 1)[0]
	if len(in.Attachments) != 1 {
		t.Fatalf("inbound %+v: want one attachment", in)
	}
	at := in.Attachments[0]
	if at.Name != "notes.txt" || at.Size != 10 || at.ContentType != "text/plain" {
		t.Fatalf("attachment %+v", at)
	}
	b, err := at.Fetch(context.Background(), 1<<20)
	if err != nil || string(b) != "hello file" {
		t.Fatalf("fetch: %q %v", b, err)
	}
	if _, err := at.Fetch(context.Background(), 4); !errors.Is(err, bot.ErrTooLarge) {
		t.Fatalf("fetch over the limit: %v", err)
	}
	ds := r.fake.Downloads()
	if len(ds) != 1 || ds[0].Bearer != r.app.BotToken || ds[0].Status != 200 {
		t.Fatalf("downloads %+v: want one with the bot token (none for the over-limit fetch: the declared size refuses it)", ds)
	}
	if got := len(r.rec.Messages()); got != 1 {
		t.Fatalf("%d messages delivered, want 1", got)
	}
	// Without the token the fake, as Slack, answers with the sign-in page.
	resp, err := http.Get(strings.Replace(r.fake.APIURL(), "/api/", "/files-pri/"+slacktest.Team+"-F1/download/notes.txt", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/signin" {
		t.Fatalf("tokenless download ended at %s, want the sign-in page", resp.Request.URL)
	}
}
