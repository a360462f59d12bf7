package slacktest

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
)

// Slack's special mentions notify more than one person: <!here>,
// <!channel>, <!everyone> (also with a |label) and user groups
// <!subteam^ID>. With link_names=true, plain @here, @channel and @everyone
// do too.
var (
	reSpecialMention = regexp.MustCompile(`<!(here|channel|everyone|subteam\^[A-Z0-9]+)(\|[^>]*)?>`)
	rePlainMention   = regexp.MustCompile(`(^|\W)@(here|channel|everyone)\b`)
)

// MassMention is a message that would have notified a whole channel,
// workspace or user group.
type MassMention struct {
	Method  string // chat.postMessage, chat.update, chat.postEphemeral, response_url, ack
	Channel string
	Mention string
}

// MassMentions returns every message so far (posted, updated, ephemeral,
// response_url reply or slash command ack payload) whose text or blocks
// would ping @here, @channel, @everyone or a user group. Slack accepts
// them; an app relaying agent output must never send one.
func (s *Server) MassMentions() []MassMention {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]MassMention(nil), s.mass...)
}

// checkMentions records the mass mentions in a message's text and its
// blocks (JSON, read as the strings it holds). Callers hold s.mu.
func (s *Server) checkMentionsLocked(method, channel, text, blocks string, linkNames bool) {
	for _, t := range []string{text, jsonStrings(blocks)} {
		for _, m := range reSpecialMention.FindAllString(t, -1) {
			s.mass = append(s.mass, MassMention{Method: method, Channel: channel, Mention: m})
		}
		if linkNames {
			for _, m := range rePlainMention.FindAllStringSubmatch(t, -1) {
				s.mass = append(s.mass, MassMention{Method: method, Channel: channel, Mention: "@" + m[2]})
			}
		}
	}
}

// checkParams is checkMentionsLocked for a Web API call.
func (s *Server) checkParams(method string, p url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ln := p.Get("link_names")
	s.checkMentionsLocked(method, p.Get("channel"), p.Get("text"), p.Get("blocks"), ln == "1" || strings.EqualFold(ln, "true"))
}

// jsonStrings returns every string value in a JSON document, one a line
// ("" when raw is not JSON): JSON encoders write < and > as \u003c and
// \u003e, so the raw text would hide <!here>.
func jsonStrings(raw string) string {
	var v any
	if raw == "" || json.Unmarshal([]byte(raw), &v) != nil {
		return ""
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
			b.WriteByte('\n')
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}
