package discord_test

import (
	"context"
	"errors"
	"testing"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
)

// TestAttachmentsReachTheHandler: a message's attachments (even with no
// text besides the mention) reach the handler with what Discord declared,
// and Fetch downloads them from the signed URL without the bot token.
func TestAttachmentsReachTheHandler(t *testing.T) {
	w := newWorld()
	rec := newRecorder()
	run(t, w, w.config(), rec)
	before := len(srv.Fetches())
	srv.SendMessageWithFiles(w.alice.ID, w.general, w.mention(),
		discordtest.Upload{Filename: "a.txt", ContentType: "text/plain", Data: []byte("alpha")})
	in := rec.WaitMessages(t, 1)[0]
	if in.Text != "" || len(in.Attachments) != 1 {
		t.Fatalf("inbound %+v: want one attachment and no text", in)
	}
	at := in.Attachments[0]
	if at.Name != "a.txt" || at.Size != 5 || at.ContentType != "text/plain" {
		t.Fatalf("attachment %+v", at)
	}
	if b, err := at.Fetch(context.Background(), 5); err != nil || string(b) != "alpha" {
		t.Fatalf("fetch: %q %v", b, err)
	}
	if _, err := at.Fetch(context.Background(), 4); !errors.Is(err, bot.ErrTooLarge) {
		t.Fatalf("fetch over the limit: %v", err)
	}
	fs := srv.Fetches()[before:]
	if len(fs) != 2 || fs[0].Status != 200 || fs[0].Authorization != "" {
		t.Fatalf("fetches %+v: want them without a token", fs)
	}
}
