package slack

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/herdbot/herdbot/bot"
)

// Slack limits herdbot keeps to.
const (
	// MaxMessageText is the most mrkdwn text one message carries; longer
	// answers are split into several messages. Slack keeps up to 40,000
	// characters of `text`, but a message's blocks hold less: markdown
	// blocks 12,000 characters in all, and Slack refuses messages whose
	// blocks total about 13,000 (msg_blocks_too_long, bolt-js #2509).
	// 12,000 is four full 3,000-character sections.
	MaxMessageText = 12000
	// MaxSectionText is Block Kit's limit for a section's text.
	MaxSectionText = 3000
	// maxBlocks is Block Kit's limit per message.
	maxBlocks = 50
	// maxButtonsPerBlock is Block Kit's limit of elements per actions block.
	maxButtonsPerBlock = 25
	// maxActionID is Block Kit's limit for action_id (and block_id).
	maxActionID = 255
	// maxButtonText is Block Kit's limit for a button label.
	maxButtonText = 75
	// markdownHeadroom is what Limits keeps below MaxMessageText for the
	// growth of Markdown → mrkdwn (escaping &, <, >).
	markdownHeadroom = 500
)

// ErrButtonID is returned by Send and Edit when a button's id would not fit
// Slack's 255-character action_id.
var ErrButtonID = errors.New("button id too long for slack")

// part is one Slack message worth of text: the mrkdwn fallback text and its
// section texts.
type part struct {
	text     string
	sections []string
}

// renderText converts Markdown to mrkdwn and cuts it into messages of at
// most MaxMessageText, each in sections of at most MaxSectionText, code
// fences balanced in every section.
func renderText(md string) []part {
	var parts []part
	for _, msg := range bot.Split(Mrkdwn(md), MaxMessageText) {
		p := part{text: msg, sections: bot.Split(msg, MaxSectionText)}
		if len(p.sections) > 0 {
			parts = append(parts, p)
		}
	}
	return parts
}

// truncate cuts mrkdwn to at most max runes, keeping fences balanced.
func truncate(text string, max int) string {
	const more = "\n…"
	chunks := bot.Split(text, max-utf8.RuneCountInString(more))
	if len(chunks) <= 1 {
		return strings.Join(chunks, "")
	}
	return chunks[0] + more
}

func sectionBlocks(sections []string) []slack.Block {
	blocks := make([]slack.Block, 0, len(sections))
	for _, s := range sections {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, s, false, false), nil, nil))
	}
	return blocks
}

// buttonBlocks renders approval buttons as actions blocks with block ids.
func buttonBlocks(bs []bot.Button) ([]slack.Block, error) {
	var blocks []slack.Block
	for start := 0; start < len(bs); start += maxButtonsPerBlock {
		end := min(start+maxButtonsPerBlock, len(bs))
		var els []slack.BlockElement
		for _, b := range bs[start:end] {
			id := bot.ButtonID(b.ApprovalID, b.Choice)
			if len(id) > maxActionID {
				return nil, fmt.Errorf("%w: %d characters", ErrButtonID, len(id))
			}
			label := b.Label
			if label == "" {
				label = b.Choice
			}
			if utf8.RuneCountInString(label) > maxButtonText {
				label = string([]rune(label)[:maxButtonText-1]) + "…"
			}
			el := slack.NewButtonBlockElement(id, b.Choice, slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
			switch b.Style {
			case bot.StylePrimary, bot.StyleSuccess:
				el = el.WithStyle(slack.StylePrimary)
			case bot.StyleDanger:
				el = el.WithStyle(slack.StyleDanger)
			}
			els = append(els, el)
		}
		blockID := fmt.Sprintf("hb-buttons-%d", start/maxButtonsPerBlock)
		blocks = append(blocks, slack.NewActionBlock(blockID, els...))
	}
	return blocks, nil
}

// fallback is the notification text for a message made only of buttons.
const fallback = "(approval needed)"

// messageOptions builds the chat options of one message: text fallback,
// section blocks and (when buttons is not nil) actions blocks.
func messageOptions(p part, buttons []slack.Block) []slack.MsgOption {
	blocks := append(sectionBlocks(p.sections), buttons...)
	if len(blocks) > maxBlocks {
		blocks = blocks[:maxBlocks]
	}
	text := p.text
	if text == "" {
		text = fallback
	}
	return []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}
}
