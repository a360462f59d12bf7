package discordtest_test

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/herdbot/herdbot/bot/discord/discordtest"
)

// clock is the fake's clock for the interaction deadline.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	srv *discordtest.Server
	clk = &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
)

func TestMain(m *testing.M) {
	srv = discordtest.NewServer(discordtest.Options{Now: clk.now})
	restore := srv.Install()
	code := m.Run()
	restore()
	srv.Close()
	os.Exit(code)
}

// setup returns a REST-only discordgo session for a new bot in a guild,
// and a channel id.
func setup(t *testing.T) (*discordgo.Session, *discordtest.Bot, string) {
	t.Helper()
	b := srv.AddBot("limits")
	g := srv.AddGuild("g")
	srv.AddMember(g, b.User.ID)
	ch := srv.AddChannel(g, "general")
	s, err := discordgo.New("Bot " + b.Token)
	if err != nil {
		t.Fatal(err)
	}
	s.LogLevel = -1
	return s, b, ch
}

func apiCode(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return -1
}

func buttons(n int, id func(int) string) discordgo.ActionsRow {
	var r discordgo.ActionsRow
	for i := 0; i < n; i++ {
		r.Components = append(r.Components, discordgo.Button{Label: "b", Style: discordgo.PrimaryButton, CustomID: id(i)})
	}
	return r
}

func TestPlatformLimitsEnforced(t *testing.T) {
	s, _, ch := setup(t)
	seq := func(i int) string { return "id" + strings.Repeat("x", i) }
	for _, tc := range []struct {
		name string
		msg  *discordgo.MessageSend
		code int // 0: accepted
	}{
		{"2,000 characters", &discordgo.MessageSend{Content: strings.Repeat("é", 2000)}, 0},
		{"2,001 characters", &discordgo.MessageSend{Content: strings.Repeat("é", 2001)}, 50035},
		{"empty", &discordgo.MessageSend{}, 50006},
		{"5 buttons", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{buttons(5, seq)}}, 0},
		{"6 buttons in a row", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{buttons(6, seq)}}, 50035},
		{"6 rows", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{
			buttons(1, seq), buttons(1, seq), buttons(1, seq), buttons(1, seq), buttons(1, seq), buttons(1, seq)}}, 50035},
		{"custom_id of 101", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{
			buttons(1, func(int) string { return strings.Repeat("a", 101) })}}, 50035},
		{"duplicate custom_id", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{
			buttons(2, func(int) string { return "same" })}}, 50035},
	} {
		_, err := s.ChannelMessageSendComplex(ch, tc.msg)
		if got := apiCode(err); (tc.code == 0 && err != nil) || (tc.code != 0 && got != tc.code) {
			t.Errorf("%s: error %v (code %d), want code %d", tc.name, err, got, tc.code)
		}
	}
	bad, _ := discordgo.New("Bot nope")
	bad.LogLevel = -1
	if _, err := bad.ChannelMessageSend(ch, "x"); err == nil {
		t.Error("unknown token accepted")
	}
	if n := len(srv.CallsTo("POST", "/channels/"+ch+"/messages")); n != 9 {
		t.Errorf("%d recorded calls, want 9", n)
	}
}

func TestInteractionDeadlineAndOneAck(t *testing.T) {
	s, b, ch := setup(t)
	if _, err := s.ApplicationCommandBulkOverwrite(b.AppID, "", []*discordgo.ApplicationCommand{{Name: "help", Description: "help"}}); err != nil {
		t.Fatal(err)
	}
	user := srv.AddUser("alice")
	if _, err := srv.SlashCommand(b, user.ID, ch, "nope", nil); err == nil {
		t.Error("unregistered command dispatched")
	}
	defer1 := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}

	late, err := srv.SlashCommand(b, user.ID, ch, "help", nil)
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(discordtest.InteractionDeadline + time.Millisecond)
	if !late.State().Failed {
		t.Error("unanswered interaction past 3 s not failed")
	}
	err = s.InteractionRespond(&discordgo.Interaction{ID: late.ID, Token: late.Token}, defer1)
	if apiCode(err) != 10062 {
		t.Errorf("late ACK: %v, want Unknown interaction (10062)", err)
	}

	ok, err := srv.SlashCommand(b, user.ID, ch, "help", nil)
	if err != nil {
		t.Fatal(err)
	}
	in := &discordgo.Interaction{ID: ok.ID, Token: ok.Token, AppID: b.AppID}
	if _, err := s.FollowupMessageCreate(in, true, &discordgo.WebhookParams{Content: "too early"}); apiCode(err) != 10015 {
		t.Errorf("follow-up before ACK: %v, want Unknown Webhook", err)
	}
	clk.advance(time.Second)
	if err := s.InteractionRespond(in, defer1); err != nil {
		t.Fatal(err)
	}
	if err := s.InteractionRespond(in, defer1); apiCode(err) != 40060 {
		t.Errorf("second ACK: %v, want already acknowledged (40060)", err)
	}
	st := ok.State()
	if st.Failed || !st.Acked || st.AckLatency != time.Second {
		t.Errorf("state %+v, want acked after 1 s", st)
	}
	content := "here you go"
	if _, err := s.InteractionResponseEdit(in, &discordgo.WebhookEdit{Content: &content}); err != nil {
		t.Fatal(err)
	}
	if m, _ := srv.Message(ch, st.OriginalID); m.Content != content || m.Loading {
		t.Errorf("@original %+v", m)
	}
}

func TestRateLimitOnDemand(t *testing.T) {
	s, _, ch := setup(t)
	srv.RateLimitNext("POST", "/channels/"+ch+"/messages", 1, 1500*time.Millisecond)
	_, err := s.ChannelMessageSend(ch, "x", discordgo.WithRetryOnRatelimit(false))
	var rl *discordgo.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 1500*time.Millisecond {
		t.Fatalf("got %v, want a 429 with retry_after 1.5 s", err)
	}
}
