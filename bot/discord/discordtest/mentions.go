package discordtest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// allowedMentions is a message's allowed_mentions object. Without one,
// Discord parses every mention in the content: @everyone and @here ping the
// whole channel, <@&id> a role, <@id> a user.
type allowedMentions struct {
	Parse       []string `json:"parse"`
	Roles       []string `json:"roles"`
	Users       []string `json:"users"`
	RepliedUser bool     `json:"replied_user"`
}

var pingRE = regexp.MustCompile(`@everyone|@here|<@&\d+>|<@!?\d+>`)

// pings returns the mentions in the body's content that would notify
// someone, under its allowed_mentions.
func (b *messageBody) pings() []string {
	if b.Content == nil {
		return nil
	}
	var out []string
	for _, m := range pingRE.FindAllString(*b.Content, -1) {
		if b.allows(m) {
			out = append(out, m)
		}
	}
	return out
}

// allows reports whether mention m (as written in content) may ping.
func (b *messageBody) allows(m string) bool {
	am := b.AllowedMentions
	if am == nil {
		return true
	}
	switch {
	case m == "@everyone" || m == "@here":
		return slices.Contains(am.Parse, "everyone")
	case strings.HasPrefix(m, "<@&"):
		return slices.Contains(am.Parse, "roles") || slices.Contains(am.Roles, strings.Trim(m, "<@&>"))
	}
	return slices.Contains(am.Parse, "users") || slices.Contains(am.Users, strings.Trim(m, "<@!>"))
}

// massPingRisk says why the body could ping @everyone, @here or a role
// whatever its text, "" when it could not: text (content) sent without
// allowed_mentions, or with one that parses everyone or roles or names
// roles. A bot that posts text it did not write (an agent's output) must
// send allowed_mentions that rule these out on every message and edit.
func (b *messageBody) massPingRisk() string {
	if b.Content == nil || *b.Content == "" {
		return ""
	}
	am := b.AllowedMentions
	switch {
	case am == nil:
		return "content without allowed_mentions: @everyone, @here and role mentions in it ping"
	case slices.Contains(am.Parse, "everyone"):
		return `allowed_mentions.parse has "everyone"`
	case slices.Contains(am.Parse, "roles"), len(am.Roles) > 0:
		return "allowed_mentions lets roles be pinged"
	}
	return ""
}

// MentionRisk is a request whose message could have pinged @everyone,
// @here or a role.
type MentionRisk struct {
	Method, Path, Reason string
}

// MentionRisks returns every message create or edit so far (REST,
// interaction callback, follow-up, webhook edit) that carried text without
// an allowed_mentions ruling out @everyone, @here and role pings. Discord
// accepts such requests; a bot relaying agent output must never send one.
func (s *Server) MentionRisks() []MentionRisk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]MentionRisk(nil), s.risks...)
}

// checkMentions records a mention risk of a message-carrying request.
func (s *Server) checkMentions(method, path string, raw []byte) {
	if len(raw) == 0 || (method != "POST" && method != "PATCH") {
		return
	}
	if strings.HasSuffix(path, "/callback") { // interaction response: the message is in data
		var cb struct {
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(raw, &cb) != nil || len(cb.Data) == 0 {
			return
		}
		raw = cb.Data
	}
	var b messageBody
	if json.Unmarshal(raw, &b) != nil {
		return
	}
	if why := b.massPingRisk(); why != "" {
		s.mu.Lock()
		s.risks = append(s.risks, MentionRisk{Method: method, Path: path, Reason: why})
		s.mu.Unlock()
	}
}

// wireEmbed is the part of an embed the fake checks.
type wireEmbed struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	Footer      *struct {
		Text string `json:"text"`
	} `json:"footer"`
	Author *struct {
		Name string `json:"name"`
	} `json:"author"`
	Fields []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"fields"`
}

// Discord's embed limits.
const (
	maxEmbeds          = 10
	maxEmbedTitle      = 256
	maxEmbedDesc       = 4096
	maxEmbedFields     = 25
	maxEmbedFieldName  = 256
	maxEmbedFieldValue = 1024
	maxEmbedFooter     = 2048
	maxEmbedAuthor     = 256
	maxEmbedTotal      = 6000
)

// validateEmbeds applies Discord's embed limits: ≤ 10 embeds; title ≤ 256,
// description ≤ 4,096, ≤ 25 fields (name ≤ 256 and value ≤ 1,024, both
// required), footer ≤ 2,048, author name ≤ 256; ≤ 6,000 characters in all.
func (b *messageBody) validateEmbeds() *bodyError {
	if b.Embeds == nil {
		return nil
	}
	es := *b.Embeds
	if len(es) > maxEmbeds {
		return formError("embeds", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxEmbeds))
	}
	n := utf8.RuneCountInString
	total := 0
	long := func(path string, s string, max int) *bodyError {
		total += n(s)
		if n(s) > max {
			return formError(path, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", max))
		}
		return nil
	}
	for i, e := range es {
		at := fmt.Sprintf("embeds.%d.", i)
		if err := long(at+"title", e.Title, maxEmbedTitle); err != nil {
			return err
		}
		if err := long(at+"description", e.Description, maxEmbedDesc); err != nil {
			return err
		}
		if e.Footer != nil {
			if err := long(at+"footer.text", e.Footer.Text, maxEmbedFooter); err != nil {
				return err
			}
		}
		if e.Author != nil {
			if err := long(at+"author.name", e.Author.Name, maxEmbedAuthor); err != nil {
				return err
			}
		}
		if len(e.Fields) > maxEmbedFields {
			return formError(at+"fields", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", maxEmbedFields))
		}
		for j, f := range e.Fields {
			fa := fmt.Sprintf("%sfields.%d.", at, j)
			if f.Name == "" || f.Value == "" {
				return formError(fa+"name", "BASE_TYPE_REQUIRED", "This field is required")
			}
			if err := long(fa+"name", f.Name, maxEmbedFieldName); err != nil {
				return err
			}
			if err := long(fa+"value", f.Value, maxEmbedFieldValue); err != nil {
				return err
			}
		}
	}
	if total > maxEmbedTotal {
		return formError("embeds", "MAX_EMBED_SIZE_EXCEEDED", fmt.Sprintf("Embed size exceeds maximum size of %d", maxEmbedTotal))
	}
	return nil
}
