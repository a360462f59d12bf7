package discord_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord"
)

// longAnswer is a ~9,000-character Markdown answer with code blocks.
func longAnswer() string {
	var b strings.Builder
	for i := 0; b.Len() < 9000; i++ {
		fmt.Fprintf(&b, "Step %d: prune the stems above the second node, then water deeply.\n\n", i)
		b.WriteString("```bash\n")
		for j := 0; j < 10; j++ {
			fmt.Fprintf(&b, "garden water --bed %d --litres %d --when 'tomorrow 06:00'\n", i, j)
		}
		b.WriteString("```\n\n")
	}
	return b.String()
}

func nonSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func TestSendLongAnswer(t *testing.T) {
	w := newWorld()
	a := run(t, w, w.config(), newRecorder())
	text := longAnswer()
	thread := srv.AddThread(w.general, "long")
	to := bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.general, Thread: thread}
	ref, err := a.Send(context.Background(), to, bot.Message{Text: text, Buttons: approvalCard().Buttons})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Target != to {
		t.Errorf("ref target %+v, want %+v", ref.Target, to)
	}
	msgs := w.botMessages(thread)
	if len(msgs) < 5 {
		t.Fatalf("%d messages for %d characters, want at least 5", len(msgs), len(text))
	}
	if n := len(w.botMessages(w.general)); n != 0 {
		t.Errorf("%d messages left the thread", n)
	}
	var all strings.Builder
	for i, m := range msgs {
		if n := len([]rune(m.Content)); n > discord.MaxText {
			t.Errorf("chunk %d has %d characters", i, n)
		}
		if strings.Count(m.Content, "```")%2 != 0 {
			t.Errorf("chunk %d has unbalanced code fences", i)
		}
		if i > 0 && !strings.HasPrefix(m.Content, "Step") && !strings.HasPrefix(m.Content, "```bash") {
			t.Errorf("chunk %d starts mid-block: %.40q", i, m.Content)
		}
		if (len(m.Rows) > 0) != (i == len(msgs)-1) {
			t.Errorf("chunk %d: buttons %v; they belong on the last chunk only", i, m.Rows)
		}
		all.WriteString(strings.ReplaceAll(m.Content, "```bash", "```"))
	}
	want := strings.ReplaceAll(nonSpace(text), "```bash", "```")
	if got := nonSpace(all.String()); strings.ReplaceAll(got, "``````", "") != strings.ReplaceAll(want, "``````", "") {
		t.Error("chunks lost or changed content")
	}
	if msgs[len(msgs)-1].ID != ref.ID {
		t.Error("ref is not the last chunk")
	}
}

func TestEdit(t *testing.T) {
	w := newWorld()
	a := run(t, w, w.config(), newRecorder())
	ctx := context.Background()
	to := bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.general}
	ref, err := a.Send(ctx, to, approvalCard())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Edit(ctx, ref, bot.Message{Text: "working… " + strings.Repeat("tool row\n", 400)}); err != nil {
		t.Fatal(err)
	}
	m, _ := srv.Message(w.general, ref.ID)
	if n := len([]rune(m.Content)); n > discord.MaxText || !strings.HasSuffix(m.Content, "…") || len(m.Rows) != 0 || m.Edits != 1 {
		t.Errorf("edited: %d characters, suffix %q, rows %v, edits %d", n, m.Content[len(m.Content)-5:], m.Rows, m.Edits)
	}
	if err := a.Edit(ctx, bot.MessageRef{Target: to}, bot.Message{Text: "x"}); !errors.Is(err, discord.ErrBadTarget) {
		t.Errorf("edit without id: %v", err)
	}
}

func TestSendFilesTypingReact(t *testing.T) {
	w := newWorld()
	h := newRecorder()
	a := run(t, w, w.config(), h)
	ctx := context.Background()
	to := bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.auto}
	log := []byte(strings.Repeat("line of tool output\n", 500))
	ref, err := a.Send(ctx, to, bot.Message{Text: "Tool output attached.", Files: []bot.File{{Name: "bash-output.txt", Data: log}}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := srv.Message(w.auto, ref.ID)
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "bash-output.txt" || string(m.Attachments[0].Data) != string(log) {
		t.Errorf("attachments %+v", m.Attachments)
	}
	if err := a.Typing(ctx, to); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.CallsTo(http.MethodPost, "/channels/"+w.auto+"/typing")); n != 1 {
		t.Errorf("%d typing calls", n)
	}
	in := srv.SendMessage(w.alice.ID, w.auto, "look at this")
	if err := a.React(ctx, bot.MessageRef{Target: to, ID: in.ID}, "👀"); err != nil {
		t.Fatal(err)
	}
	got, _ := srv.Message(w.auto, in.ID)
	if len(got.Reactions) != 1 || got.Reactions[0] != "👀" {
		t.Errorf("reactions %v", got.Reactions)
	}
	// A target naming only a user opens the DM channel.
	ref, err = a.Send(ctx, bot.Target{Platform: bot.Discord, User: w.alice.ID}, bot.Message{Text: "your report"})
	if err != nil {
		t.Fatal(err)
	}
	dm := srv.OpenDM(w.bot, w.alice.ID)
	if ms := w.botMessages(dm); len(ms) != 1 || ms[0].ID != ref.ID {
		t.Errorf("DM messages %+v", ms)
	}
}

func TestSendBadInput(t *testing.T) {
	w := newWorld()
	a, err := discord.New(w.config(), testLog(t)) // Send works without Run
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	to := bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.general}
	many := make([]bot.Button, 26)
	for i := range many {
		many[i] = bot.Button{ApprovalID: "a", Choice: fmt.Sprint(i)}
	}
	for name, tc := range map[string]struct {
		to   bot.Target
		m    bot.Message
		want error
	}{
		"empty":          {to, bot.Message{}, discord.ErrEmpty},
		"slack target":   {bot.Target{Platform: bot.Slack, Channel: "C1"}, bot.Message{Text: "x"}, discord.ErrBadTarget},
		"no channel":     {bot.Target{Platform: bot.Discord}, bot.Message{Text: "x"}, discord.ErrBadTarget},
		"26 buttons":     {to, bot.Message{Text: "x", Buttons: many}, discord.ErrButtons},
		"long button id": {to, bot.Message{Text: "x", Buttons: []bot.Button{{ApprovalID: strings.Repeat("a", 95), Choice: "once"}}}, discord.ErrButtons},
		"no choice":      {to, bot.Message{Text: "x", Buttons: []bot.Button{{ApprovalID: "a"}}}, discord.ErrButtons},
	} {
		if _, err := a.Send(ctx, tc.to, tc.m); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
	// Six buttons fit in two rows.
	six := many[:6]
	ref, err := a.Send(ctx, to, bot.Message{Text: "x", Buttons: six})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := srv.Message(w.general, ref.ID); len(m.Rows) != 2 || len(m.Rows[0].Buttons) != 5 {
		t.Errorf("rows %+v", m.Rows)
	}
}

func TestRateLimitRespected(t *testing.T) {
	w := newWorld()
	a := run(t, w, w.config(), newRecorder())
	path := "/channels/" + w.general + "/messages"
	srv.RateLimitNext(http.MethodPost, path, 2, 20*time.Millisecond)
	ref, err := a.Send(context.Background(), bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.general}, bot.Message{Text: "after the wait"})
	if err != nil {
		t.Fatalf("send through 429s: %v", err)
	}
	calls := srv.CallsTo(http.MethodPost, path)
	var statuses []int
	for _, c := range calls {
		statuses = append(statuses, c.Status)
	}
	if len(statuses) != 3 || statuses[0] != 429 || statuses[1] != 429 || statuses[2] != 200 {
		t.Fatalf("statuses %v, want [429 429 200]", statuses)
	}
	if gap := calls[1].Time.Sub(calls[0].Time); gap < 20*time.Millisecond {
		t.Errorf("retried after %v, before retry_after (20ms)", gap)
	}
	if ms := w.botMessages(w.general); len(ms) != 1 || ms[0].ID != ref.ID {
		t.Errorf("messages %+v, want exactly one", ms)
	}
}
