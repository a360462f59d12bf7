package discordtest_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/herdbot/herdbot/bot/discord/discordtest"
)

func TestBucketLimitsEditsPerMessage(t *testing.T) {
	s, _, ch := setup(t)
	m1, err := s.ChannelMessageSend(ch, "one")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := s.ChannelMessageSend(ch, "two")
	if err != nil {
		t.Fatal(err)
	}
	remove := srv.AddBucket(discordtest.Bucket{Method: "PATCH", Pattern: "/channels/" + ch + "/messages/*", Limit: 2, Window: 5 * time.Second})
	defer remove()
	noRetry := discordgo.WithRetryOnRatelimit(false)
	for i := range 2 {
		if _, err := s.ChannelMessageEdit(ch, m1.ID, "edit", noRetry); err != nil {
			t.Fatalf("edit %d within the bucket: %v", i+1, err)
		}
	}
	// Another message has its own bucket.
	if _, err := s.ChannelMessageEdit(ch, m2.ID, "edit", noRetry); err != nil {
		t.Fatalf("edit of another message: %v", err)
	}
	_, err = s.ChannelMessageEdit(ch, m1.ID, "too fast", noRetry)
	var rl *discordgo.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 5*time.Second {
		t.Fatalf("third edit in 5 s: %v, want 429 with retry_after 5 s", err)
	}
	if m, _ := srv.Message(ch, m1.ID); m.Content != "edit" || m.Edits != 2 {
		t.Fatalf("a refused edit changed the message: %+v", m)
	}
	// Once the window has passed, edits go through again. (A new session:
	// discordgo now waits out the 429's reset in real time.)
	s, _ = discordgo.New(s.Token)
	s.LogLevel = -1
	clk.advance(5 * time.Second)
	if _, err := s.ChannelMessageEdit(ch, m1.ID, "later", noRetry); err != nil {
		t.Fatalf("edit after the window: %v", err)
	}
	var limited int
	for _, c := range srv.CallsTo("PATCH", "/channels/"+ch+"/messages/*") {
		if c.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 1 {
		t.Fatalf("%d recorded 429s, want 1", limited)
	}
	remove()
	for range 3 {
		if _, err := s.ChannelMessageEdit(ch, m1.ID, "free", noRetry); err != nil {
			t.Fatalf("edit after the bucket was removed: %v", err)
		}
	}
}

func TestFailNextMatchesBody(t *testing.T) {
	s, _, ch := setup(t)
	m, err := s.ChannelMessageSend(ch, "card")
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext("PATCH", "/channels/"+ch+"/messages/*", "expired", http.StatusServiceUnavailable, 1)
	if _, err := s.ChannelMessageEdit(ch, m.ID, "still pending"); err != nil {
		t.Fatalf("an edit that does not match failed: %v", err)
	}
	_, err = s.ChannelMessageEdit(ch, m.ID, "expired")
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("matching edit: %v, want 503", err)
	}
	if got, _ := srv.Message(ch, m.ID); got.Content != "still pending" {
		t.Fatalf("the failed edit changed the message: %q", got.Content)
	}
	if _, err := s.ChannelMessageEdit(ch, m.ID, "expired"); err != nil {
		t.Fatalf("only one failure was asked for: %v", err)
	}
}

func TestHoldKeepsRequestsUntilReleased(t *testing.T) {
	s, _, ch := setup(t)
	release, held := srv.Hold("POST", "/channels/"+ch+"/messages")
	defer release()
	done := make(chan error, 1)
	go func() {
		_, err := s.ChannelMessageSend(ch, "held")
		done <- err
	}()
	if !srv.WaitFor(5*time.Second, func() bool { return held() == 1 }) {
		t.Fatal("the post was not held")
	}
	if ms := srv.Messages(ch); len(ms) != 0 {
		t.Fatalf("a held post took effect: %+v", ms)
	}
	// Other routes are not held.
	if _, err := s.Channel(ch); err != nil {
		t.Fatal(err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ms := srv.Messages(ch); len(ms) != 1 || ms[0].Content != "held" || held() != 0 {
		t.Fatalf("after release: %+v, %d held", ms, held())
	}
}
