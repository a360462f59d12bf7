package docker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/store"
)

// filesPNG is a small, real PNG (1×1).
var filesPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

// inboxPath finds the inbox file the prompt names.
var inboxPath = regexp.MustCompile(`inbox/j-[0-9a-f]+/[^\n(]*[^\s(]`)

// filesModel is the scripted model of TestFilesInThroughDiscordAndSlack:
// for a prompt naming an inbox file it reads the file (Read is
// pre-approved) and then answers with what it saw: the file's text and
// the media type and sha256 of every image it was sent.
func filesModel(r *claudetest.Request) claudetest.Reply {
	prompt, results := sincePrompt(r)
	var seen []string
	for _, im := range r.LastUserWithPrompt().Images() {
		data, _ := base64.StdEncoding.DecodeString(im.Data)
		sum := sha256.Sum256(data)
		seen = append(seen, "image "+im.MediaType+" "+hex.EncodeToString(sum[:8]))
	}
	if p := inboxPath.FindString(prompt); p != "" && len(results) == 0 {
		return claudetest.Tool("Read", map[string]string{"file_path": defaultContainerWorkspace + "/" + p})
	}
	for _, res := range results {
		seen = append(seen, "file says: "+strings.TrimSpace(res.Content))
	}
	if len(seen) == 0 {
		seen = append(seen, "nothing attached")
	}
	return claudetest.Text("SEEN " + strings.Join(seen, "; "))
}

// TestFilesInThroughDiscordAndSlack: files people send reach the agent, the
// real CLI in its hardened container, through the real discordgo and
// slack-go clients and the fakes, which serve the files as the platforms
// do (Discord's signed CDN URLs without a token, Slack's url_private to the
// bot token only):
//
//   - an image and a text file on Discord: the image is an image block of
//     the prompt the model receives (sniffed type, same bytes), the text
//     file is saved in the workspace's inbox/<job>/ (owned by the
//     workspace's owner), the prompt names it and the agent reads it from
//     inside its container;
//   - a text file shared on Slack is downloaded with the bot token and
//     read by the agent the same way;
//   - an inbox the agent replaced with a symbolic link is not followed:
//     nothing is written through it, the person is told, and nothing runs;
//   - a file over the agent's limit is refused with a reply: nothing is
//     downloaded past the limit, nothing saved, nothing runs.
func TestFilesInThroughDiscordAndSlack(t *testing.T) {
	b, tag := testCLIImage(t)
	ctx := testCtx(t)
	gw, err := b.HostGateway(ctx)
	if err != nil {
		t.Fatal(err)
	}
	model := claudetest.New(filesModel)
	port := serveOnGateway(t, model, gw.String())

	// Discord: discordgo's endpoints are process globals; no other test
	// of this package uses them.
	dsrv := discordtest.NewServer(discordtest.Options{})
	restore := dsrv.Install()
	t.Cleanup(func() { restore(); dsrv.Close() })
	dbot := dsrv.AddBot("files-bot")
	guild := dsrv.AddGuild("files-home")
	dsrv.AddMember(guild, dbot.User.ID)
	channel := dsrv.AddChannel(guild, "general")
	alice := dsrv.AddUser("alice")
	dsrv.AddMember(guild, alice.ID)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	dad, err := discord.New(discord.Config{Agent: "files", Token: dbot.Token,
		Guilds: []discord.Guild{{ID: guild, DefaultMode: discord.ModeMention}}}, log)
	if err != nil {
		t.Fatal(err)
	}

	// Slack.
	ssrv := slacktest.New(t, slacktest.Options{})
	app := ssrv.AddApp("files")
	sad, err := slack.New(slack.Config{Agent: "files", BotToken: app.BotToken, AppToken: app.AppToken, APIURL: ssrv.APIURL(),
		Channels: []slack.Channel{{ID: "C0FILES", Mode: slack.ModeMention}}}, log)
	if err != nil {
		t.Fatal(err)
	}

	ws := workspace(t, 1000, 1000)
	state := t.TempDir()
	const maxFile = 64 << 10
	rig := agentstest.Start(t, agentstest.Options{
		Agent: "files", ModelServer: model, Backend: b, Workspace: ws, Stream: agentstest.FastStream,
		Chats: []agentstest.Chat{{Platform: bot.Discord, Adapter: dad}, {Platform: bot.Slack, Adapter: sad}},
		Spec: func(s *agents.AgentSpec) {
			s.Options.AllowedTools = []string{"Read"}
			s.Files.MaxFile = maxFile
			s.Sandbox = sandbox.Spec{
				Image: tag, Env: cliEnv(), Workspace: ws, StateDir: state,
				Limits: sandbox.Limits{MemoryBytes: 1 << 30, PidsLimit: 256},
				Network: sandbox.Network{
					Private: []string{gw.String() + "/32:" + port},
					Model:   sandbox.ModelUpstream{URL: "http://" + gw.String() + ":" + port, APIKey: realModelKey},
				},
			}
		},
	})
	if !dsrv.WaitFor(30*time.Second, dbot.Ready) {
		t.Fatal("discord adapter did not connect")
	}
	ssrv.WaitConnected(app, 1)
	mention := "<@" + dbot.User.ID + "> "

	// waitDiscord waits for a bot message in channel containing want.
	waitDiscord := func(want string) string {
		t.Helper()
		var got string
		if !dsrv.WaitFor(3*time.Minute, func() bool {
			for _, m := range dsrv.Messages(channel) {
				if m.Author.ID == dbot.User.ID && (strings.Contains(m.Content, want) || strings.Contains(m.Content, "❌")) {
					got = m.Content
					return true
				}
			}
			return false
		}) || !strings.Contains(got, want) {
			var all []string
			for _, m := range dsrv.Messages(channel) {
				all = append(all, m.Author.Name+": "+m.Content)
			}
			t.Fatalf("no bot message with %q; channel:\n%s", want, strings.Join(all, "\n"))
		}
		return got
	}

	// 1. An image and a text file on Discord.
	note := []byte("the secret word is marigold\n")
	dsrv.SendMessageWithFiles(alice.ID, channel, mention+"what did I send?",
		discordtest.Upload{Filename: "photo.png", ContentType: "image/png", Data: filesPNG},
		discordtest.Upload{Filename: "../notes.txt", ContentType: "image/png", Data: note}) // a lying type and a path
	sum := sha256.Sum256(filesPNG)
	answer := waitDiscord("SEEN ")
	if want := "image image/png " + hex.EncodeToString(sum[:8]); !strings.Contains(answer, want) || !strings.Contains(answer, "the secret word is marigold") {
		t.Fatalf("answer %q: want the image (%s) and the file's text", answer, want)
	}
	var prompt string
	for _, r := range model.MessageRequests() {
		if ims := r.LastUserWithPrompt().Images(); len(ims) == 1 {
			prompt = r.LastUserWithPrompt().Prompt()
			data, _ := base64.StdEncoding.DecodeString(ims[0].Data)
			if ims[0].MediaType != "image/png" || !bytes.Equal(data, filesPNG) {
				t.Fatalf("image block %s, %d bytes: want the PNG as sent", ims[0].MediaType, len(data))
			}
		}
	}
	saved := inboxPath.FindString(prompt)
	if !strings.Contains(prompt, "what did I send?") || !strings.HasSuffix(saved, "/notes.txt") {
		t.Fatalf("prompt %q: want the text and the saved file's place", prompt)
	}
	fi, err := os.Lstat(filepath.Join(ws, saved))
	if err != nil || !fi.Mode().IsRegular() || fi.Sys().(*syscall.Stat_t).Uid != 1000 {
		t.Fatalf("saved file %s: %v %v, want a regular file of the workspace's owner", saved, fi, err)
	}
	if got, _ := os.ReadFile(filepath.Join(ws, saved)); !bytes.Equal(got, note) {
		t.Fatalf("saved file holds %q", got)
	}
	if es, _ := os.ReadDir(filepath.Dir(filepath.Join(ws, saved))); len(es) != 1 {
		t.Fatalf("inbox folder holds %v: want only the text file (the image went in the prompt)", es)
	}
	for _, f := range dsrv.Fetches() {
		if f.Status != 200 || f.Authorization != "" {
			t.Fatalf("attachment fetch %+v: want 200 without a token", f)
		}
	}
	if n := len(dsrv.Fetches()); n != 2 {
		t.Fatalf("%d attachment fetches, want 2", n)
	}
	rows, err := rig.Store.AuditLog(context.Background(), store.AuditFilter{Agent: "files", ActionPrefix: "files.received"})
	if err != nil || len(rows) != 1 || !strings.Contains(rows[0].Detail, hex.EncodeToString(sum[:])) {
		t.Fatalf("files.received audit rows %+v (%v): want one naming the image's sha256", rows, err)
	}

	// 2. A text file shared on Slack, downloaded with the bot token.
	ssrv.MentionWithFiles(app, "C0FILES", "U0ALICE", "and this?", "",
		slacktest.Upload{Name: "slack notes.txt", Mimetype: "text/plain", Data: []byte("the slack word is juniper\n")})
	for deadline := time.Now().Add(3 * time.Minute); ; {
		var all []string
		found := false
		for _, m := range ssrv.Messages("C0FILES") {
			found = found || (m.User == app.BotUserID && strings.Contains(m.Text, "the slack word is juniper"))
			all = append(all, m.User+": "+m.Text)
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Slack answer with the file's text; channel:\n%s", strings.Join(all, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ds := ssrv.Downloads(); len(ds) != 1 || ds[0].Status != 200 || ds[0].Bearer != app.BotToken {
		t.Fatalf("slack downloads %+v: want one, with the bot token", ds)
	}

	// 3. The agent replaced its inbox with a link: not followed.
	outside := t.TempDir()
	if err := os.Rename(filepath.Join(ws, agents.InboxDir), filepath.Join(ws, "old-inbox")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(ws, agents.InboxDir)); err != nil {
		t.Fatal(err)
	}
	calls := len(model.MessageRequests())
	dsrv.SendMessageWithFiles(alice.ID, channel, mention+"one more",
		discordtest.Upload{Filename: "more.txt", Data: []byte("more\n")})
	waitDiscord("could not save the files")
	if es, _ := os.ReadDir(outside); len(es) != 0 {
		t.Fatalf("written through the planted link: %v", es)
	}

	// 4. Over the limit: refused at once by the declared size.
	if err := os.Remove(filepath.Join(ws, agents.InboxDir)); err != nil {
		t.Fatal(err)
	}
	dsrv.SendMessageWithFiles(alice.ID, channel, mention+"a big one",
		discordtest.Upload{Filename: "big.txt", Data: bytes.Repeat([]byte("x"), maxFile+1)})
	waitDiscord("over this agent's limit")
	if _, err := os.Lstat(filepath.Join(ws, agents.InboxDir)); err == nil {
		t.Fatal("an inbox was made for a refused file")
	}
	if n := len(dsrv.Fetches()); n != 3 {
		t.Fatalf("%d attachment fetches, want 3 (none for the big file)", n)
	}
	if n := len(model.MessageRequests()); n != calls {
		t.Fatalf("the model was called %d more times for refused messages", n-calls)
	}
	refused, err := rig.Store.AuditLog(context.Background(), store.AuditFilter{Agent: "files", ActionPrefix: "files.refused"})
	if err != nil || len(refused) != 2 {
		t.Fatalf("files.refused audit rows %+v (%v): want 2", refused, err)
	}
}
