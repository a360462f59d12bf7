package discord

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// Permissions is what the bot needs in its channels, and no more: it is
// the union of the permissions of the REST calls the adapter makes.
//   - View Channels: read the channel (GET /channels/{id}) and its messages.
//   - Send Messages, Send Messages in Threads: replies, cards, reports, typing.
//   - Attach Files: files the agent sends.
//   - Add Reactions, Read Message History: the 👀 reaction on the message being
//     answered (reacting needs the history permission).
//
// Not asked for: Embed Links (herdbot sends no embeds, and without it links in
// agent output are not unfurled) and Use Application Commands (a permission
// of the people who run slash commands, not of the bot); interaction replies
// and follow-ups go through the interaction webhook and need none.
const Permissions int64 = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
	discordgo.PermissionSendMessagesInThreads | discordgo.PermissionReadMessageHistory |
	discordgo.PermissionAddReactions | discordgo.PermissionAttachFiles

// ClientID reads the application (bot user) id from a bot token: its first
// segment is the id in base64. It returns "" when the token has no such
// segment.
func ClientID(token string) string {
	token = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(token), "Bot "))
	seg, _, _ := strings.Cut(token, ".")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.StdEncoding, base64.RawURLEncoding, base64.URLEncoding} {
		if b, err := enc.DecodeString(seg); err == nil && snowflake(string(b)) {
			return string(b)
		}
	}
	return ""
}

// InviteURL is the OAuth2 URL that adds the bot to a server with the
// permissions it needs and its slash commands.
func InviteURL(clientID string) string {
	return fmt.Sprintf("https://discord.com/oauth2/authorize?client_id=%s&scope=bot+applications.commands&permissions=%d", clientID, Permissions)
}

// SetupHelp writes the steps to create and invite an agent's bot: the
// invite URL (client id from the token, or a placeholder when the token is
// empty or unreadable), the permissions integer, the intents to switch on
// and what to put in the agent's .env. The token itself is never written.
func SetupHelp(w io.Writer, agent, token, envVar string) error {
	id := ClientID(token)
	var b strings.Builder
	fmt.Fprintf(&b, "Discord bot for agent %q\n\n", agent)
	b.WriteString("1. Create an application at https://discord.com/developers/applications (one per agent),\n")
	b.WriteString("   open Bot, and Reset Token to get the bot token.\n")
	b.WriteString("2. Under Bot → Privileged Gateway Intents, switch ON \"Message Content Intent\"\n")
	b.WriteString("   (privileged: without it the bot sees no text except mentions and DMs).\n")
	b.WriteString("   herdbot also uses the non-privileged intents Guilds, Guild Messages and Direct Messages.\n")
	fmt.Fprintf(&b, "3. Put the token in the agent's .env (next to its agent.yaml), not in the fleet .env:\n\n       %s=<bot token>\n\n", envVar)
	fmt.Fprintf(&b, "   and name it in agent.yaml:  chat: {discord: {bot_token_env: %s}}\n", envVar)
	switch {
	case id != "":
		fmt.Fprintf(&b, "4. Invite the bot (application id %s) to your server:\n\n       %s\n\n", id, InviteURL(id))
	case strings.TrimSpace(token) == "":
		fmt.Fprintf(&b, "4. Invite the bot to your server (no token yet: replace CLIENT_ID with the application id\n   from General Information):\n\n       %s\n\n", InviteURL("CLIENT_ID"))
	default:
		fmt.Fprintf(&b, "4. The token does not carry a readable application id; replace CLIENT_ID with the one from\n   General Information:\n\n       %s\n\n", InviteURL("CLIENT_ID"))
	}
	fmt.Fprintf(&b, "   Permissions integer %d: View Channels, Send Messages, Send Messages in Threads,\n", Permissions)
	b.WriteString("   Read Message History, Add Reactions, Attach Files. Nothing more: herdbot sends no embeds,\n")
	b.WriteString("   and its slash commands come with the applications.commands scope.\n")
	b.WriteString("5. List the guild (and channel modes: mention | auto) in agent.yaml under chat.discord.guilds;\n")
	b.WriteString("   DMs stay off unless chat.discord.dm.enabled is true and the user is in dm.allowlist.\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write discord setup help: %w", err)
	}
	return nil
}
