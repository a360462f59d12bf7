package discord

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path/filepath"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/herdbot/herdbot/bot"
)

// Errors returned by Send and Edit.
var (
	ErrEmpty     = errors.New("discord: empty message")
	ErrBadTarget = errors.New("discord: bad target")
	ErrButtons   = errors.New("discord: buttons do not fit")
)

// Discord's component limits.
const (
	maxButtonsPerRow = 5
	maxRows          = 5
	maxCustomID      = 100
	maxLabel         = 80
)

// channelOf returns the channel id a target's messages go to, opening the
// DM channel when the target names only a user.
func (a *Adapter) channelOf(ctx context.Context, to bot.Target) (string, error) {
	if to.Platform != "" && to.Platform != bot.Discord {
		return "", fmt.Errorf("%w: platform %q", ErrBadTarget, to.Platform)
	}
	switch {
	case to.Thread != "":
		return to.Thread, nil
	case to.Channel != "":
		return to.Channel, nil
	case to.User != "":
		ch, err := a.s.UserChannelCreate(to.User, discordgo.WithContext(ctx))
		if err != nil {
			return "", fmt.Errorf("open DM with %s: %w", to.User, err)
		}
		return ch.ID, nil
	}
	return "", fmt.Errorf("%w: no channel, thread or user", ErrBadTarget)
}

// Send posts m to a channel, thread or DM. Text longer than 2,000 characters
// is split with bot.Split into several messages; buttons and files go on
// the last one, whose ref is returned. Model output never pings: mentions
// are not parsed (allowed_mentions empty).
func (a *Adapter) Send(ctx context.Context, to bot.Target, m bot.Message) (bot.MessageRef, error) {
	if m.Text == "" && len(m.Buttons) == 0 && len(m.Files) == 0 {
		return bot.MessageRef{}, ErrEmpty
	}
	rows, err := components(m.Buttons)
	if err != nil {
		return bot.MessageRef{}, err
	}
	ch, err := a.channelOf(ctx, to)
	if err != nil {
		return bot.MessageRef{}, err
	}
	chunks := bot.Split(m.Text, MaxText)
	if len(chunks) == 0 {
		chunks = []string{""}
	}
	var last *discordgo.Message
	for i, text := range chunks {
		send := &discordgo.MessageSend{Content: text, AllowedMentions: noMentions()}
		if i == len(chunks)-1 {
			send.Components = rows
			send.Files = files(m.Files)
		}
		last, err = a.s.ChannelMessageSendComplex(ch, send, discordgo.WithContext(ctx))
		if err != nil {
			return bot.MessageRef{}, fmt.Errorf("send to %s (part %d of %d): %w", ch, i+1, len(chunks), err)
		}
	}
	return bot.MessageRef{Target: to, ID: last.ID}, nil
}

// Edit replaces a sent message's text and buttons (no buttons in m removes
// them) and appends m.Files. Text over 2,000 characters is cut to fit, with
// "…" at the end, because one message cannot be split.
func (a *Adapter) Edit(ctx context.Context, ref bot.MessageRef, m bot.Message) error {
	if ref.ID == "" {
		return fmt.Errorf("%w: message ref without id", ErrBadTarget)
	}
	rows, err := components(m.Buttons)
	if err != nil {
		return err
	}
	ch, err := a.channelOf(ctx, ref.Target)
	if err != nil {
		return err
	}
	text := fit(m.Text)
	if text == "" && len(m.Files) == 0 && len(m.Buttons) == 0 {
		return ErrEmpty
	}
	e := discordgo.NewMessageEdit(ch, ref.ID)
	e.Content = &text
	e.Components = &rows
	e.AllowedMentions = noMentions()
	e.Files = files(m.Files)
	if _, err := a.s.ChannelMessageEditComplex(e, discordgo.WithContext(ctx)); err != nil {
		return fmt.Errorf("edit message %s in %s: %w", ref.ID, ch, err)
	}
	return nil
}

// Typing shows "<bot> is typing…" in the target for about 10 s.
func (a *Adapter) Typing(ctx context.Context, to bot.Target) error {
	ch, err := a.channelOf(ctx, to)
	if err != nil {
		return err
	}
	if err := a.s.ChannelTyping(ch, discordgo.WithContext(ctx)); err != nil {
		return fmt.Errorf("typing in %s: %w", ch, err)
	}
	return nil
}

// React adds an emoji reaction (e.g. "👀") to a message, such as an
// inbound one: bot.MessageRef{Target: in.Target, ID: in.MessageID}.
func (a *Adapter) React(ctx context.Context, ref bot.MessageRef, emoji string) error {
	ch, err := a.channelOf(ctx, ref.Target)
	if err != nil {
		return err
	}
	if err := a.s.MessageReactionAdd(ch, ref.ID, emoji, discordgo.WithContext(ctx)); err != nil {
		return fmt.Errorf("react to %s: %w", ref.ID, err)
	}
	return nil
}

// fit cuts text to one message: the first chunk of bot.Split plus "…".
func fit(text string) string {
	if utf8.RuneCountInString(text) <= MaxText {
		return text
	}
	return bot.Split(text, MaxText-1)[0] + "…"
}

func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// components renders approval buttons as action rows of up to 5 buttons.
func components(bs []bot.Button) ([]discordgo.MessageComponent, error) {
	rows := []discordgo.MessageComponent{}
	if len(bs) > maxButtonsPerRow*maxRows {
		return nil, fmt.Errorf("%w: %d buttons, at most %d", ErrButtons, len(bs), maxButtonsPerRow*maxRows)
	}
	var row discordgo.ActionsRow
	for _, b := range bs {
		id := bot.ButtonID(b.ApprovalID, b.Choice)
		if n := utf8.RuneCountInString(id); n > maxCustomID || b.ApprovalID == "" || b.Choice == "" {
			return nil, fmt.Errorf("%w: button id %q must be 1-%d characters with an approval id and a choice", ErrButtons, id, maxCustomID)
		}
		label := b.Label
		if label == "" {
			label = b.Choice
		}
		if utf8.RuneCountInString(label) > maxLabel {
			label = string([]rune(label)[:maxLabel-1]) + "…"
		}
		row.Components = append(row.Components, discordgo.Button{Label: label, Style: style(b.Style), CustomID: id})
		if len(row.Components) == maxButtonsPerRow {
			rows = append(rows, row)
			row = discordgo.ActionsRow{}
		}
	}
	if len(row.Components) > 0 {
		rows = append(rows, row)
	}
	return rows, nil
}

func style(s bot.ButtonStyle) discordgo.ButtonStyle {
	switch s {
	case bot.StylePrimary:
		return discordgo.PrimaryButton
	case bot.StyleSuccess:
		return discordgo.SuccessButton
	case bot.StyleDanger:
		return discordgo.DangerButton
	}
	return discordgo.SecondaryButton
}

func files(fs []bot.File) []*discordgo.File {
	var out []*discordgo.File
	for _, f := range fs {
		ct := mime.TypeByExtension(filepath.Ext(f.Name))
		if ct == "" {
			ct = http.DetectContentType(f.Data)
		}
		out = append(out, &discordgo.File{Name: f.Name, ContentType: ct, Reader: bytes.NewReader(f.Data)})
	}
	return out
}
