package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/slack-go/slack"

	"github.com/herdbot/herdbot/bot"
)

// fileHosts serve Slack's files (url_private_download), to the bot token.
var fileHosts = []string{"files.slack.com", ".slack.com", ".slack-edge.com"}

// attachments turns the files shared with a message into bot.Attachments
// whose Fetch downloads url_private_download with the bot token (as a
// Bearer header), only from Slack's hosts or the configured API base.
// Remote files (is_external) and files without a private URL are skipped.
func (a *Adapter) attachments(files []slack.File) []bot.Attachment {
	var out []bot.Attachment
	rule := bot.HostRule{Hosts: fileHosts, Base: a.cfg.APIURL}
	for _, f := range files {
		u := f.URLPrivateDownload
		if u == "" {
			u = f.URLPrivate
		}
		if f.IsExternal || u == "" {
			a.log.Info("slack file not fetchable; skipped", "file", f.ID, "external", f.IsExternal)
			continue
		}
		out = append(out, bot.Attachment{
			Name: f.Name, Size: int64(f.Size), ContentType: f.Mimetype,
			Fetch: func(ctx context.Context, max int64) ([]byte, error) {
				pu, err := url.Parse(u)
				if err != nil || !rule.Allows(pu) {
					return nil, fmt.Errorf("%w: %q", bot.ErrForeignURL, u)
				}
				if f.Size > 0 && int64(f.Size) > max {
					return nil, bot.ErrTooLarge
				}
				w := &bot.LimitWriter{Max: max}
				if err := a.api.GetFileContext(ctx, u, w); err != nil {
					if errors.Is(err, bot.ErrTooLarge) {
						return nil, bot.ErrTooLarge
					}
					return nil, fmt.Errorf("slack file %s: %w", f.ID, err)
				}
				return w.Buf, nil
			},
		})
	}
	return out
}
