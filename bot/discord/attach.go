package discord

import (
	"context"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/herdbot/herdbot/bot"
)

// CDNHosts serve Discord's attachments. Their URLs are signed (ex, is,
// hm query parameters) and need no token: the bot token is never sent.
var CDNHosts = []string{"cdn.discordapp.com", "media.discordapp.net"}

// hostRule allows Discord's CDN and the REST base discordgo is pointed at
// (a test's fake serves its attachments there).
func hostRule() bot.HostRule {
	return bot.HostRule{Hosts: CDNHosts, Base: discordgo.EndpointAPI}
}

var downloadClient = &http.Client{Timeout: 2 * time.Minute}

// attachments turns a message's attachments into bot.Attachments whose
// Fetch downloads from the URL Discord gave, without the bot token.
func (a *Adapter) attachments(as []*discordgo.MessageAttachment) []bot.Attachment {
	var out []bot.Attachment
	for _, at := range as {
		if at == nil {
			continue
		}
		u := at.URL
		out = append(out, bot.Attachment{
			Name: at.Filename, Size: int64(at.Size), ContentType: at.ContentType,
			Fetch: func(ctx context.Context, max int64) ([]byte, error) {
				return bot.Download(ctx, downloadClient, hostRule(), u, nil, max)
			},
		})
	}
	return out
}
