package slack

import (
	"regexp"
	"strconv"
	"strings"
)

// Markdown → Slack mrkdwn. Slack's dialect: *bold*, _italic_, ~strike~,
// `code`, ``` blocks (no language), <url|text> links, "> " quotes; no
// headings or list syntax; &, < and > must be escaped as entities.

var (
	reFence    = regexp.MustCompile("^\\s{0,3}(`{3,})\\s*([^`]*)$")
	reHeading  = regexp.MustCompile(`^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
	reRule     = regexp.MustCompile(`^\s{0,3}([-*_])(\s*[-*_]){2,}\s*$`)
	reTask     = regexp.MustCompile(`^(\s*)[-*+]\s+\[([ xX])\]\s+(.*)$`)
	reBullet   = regexp.MustCompile(`^(\s*)[-*+]\s+(.*)$`)
	reOrdered  = regexp.MustCompile(`^(\s*)(\d{1,9})[.)]\s+(.*)$`)
	reQuote    = regexp.MustCompile(`^\s{0,3}>\s?(.*)$`)
	reCodeSpan = regexp.MustCompile("`[^`\n]+`")
	reLink     = regexp.MustCompile(`!?\[([^\]\n]*)\]\((<[^>\n]*>|[^\s()]+(?:\([^\s()]*\))?[^\s()]*)(?:\s+"[^"\n]*")?\)`)
	reAutolink = regexp.MustCompile(`<((?:https?|mailto):[^>\s]+)>`)
	reSlackRef = regexp.MustCompile(`<(?:@[UW][A-Z0-9]{1,20}|#[CG][A-Z0-9]{1,20})>`)
	reBoldItal = regexp.MustCompile(`\*\*\*(\S(?:.*?\S)?)\*\*\*`)
	reBold     = regexp.MustCompile(`\*\*(\S(?:.*?\S)?)\*\*|__(\S(?:.*?\S)?)__`)
	reItalic   = regexp.MustCompile(`(^|[^\w*\\])\*(\S(?:[^*\n]*?\S)?)\*`)
	reStrike   = regexp.MustCompile(`~~(\S(?:.*?\S)?)~~`)
	reHolder   = regexp.MustCompile("\x00(\\d+)\x00")
)

// escape escapes the three characters Slack treats as markup.
func escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// unescape undoes escape, for text coming from Slack.
func unescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// Mrkdwn converts Markdown to Slack mrkdwn.
func Mrkdwn(md string) string {
	md = strings.ReplaceAll(md, "\r\n", "\n")
	lines := strings.Split(md, "\n")
	out := make([]string, 0, len(lines))
	var fence string // the open fence's backticks, "" outside code
	for _, line := range lines {
		if m := reFence.FindStringSubmatch(line); m != nil {
			switch {
			case fence == "" && !strings.Contains(m[2], "`"):
				fence = m[1]
				out = append(out, "```")
				continue
			case fence != "" && len(m[1]) >= len(fence) && strings.TrimSpace(m[2]) == "":
				fence = ""
				out = append(out, "```")
				continue
			}
		}
		if fence != "" {
			out = append(out, escape(line))
			continue
		}
		out = append(out, mrkdwnLine(line))
	}
	if fence != "" {
		out = append(out, "```")
	}
	return strings.Join(out, "\n")
}

func mrkdwnLine(line string) string {
	if m := reHeading.FindStringSubmatch(line); m != nil {
		if m[1] == "" {
			return ""
		}
		plain := strings.NewReplacer("**", "", "__", "").Replace(m[1])
		return "*" + strings.Trim(inline(plain), "*") + "*"
	}
	if reRule.MatchString(line) {
		return "──────────"
	}
	if m := reTask.FindStringSubmatch(line); m != nil {
		box := "☐"
		if m[2] != " " {
			box = "☑"
		}
		return m[1] + "• " + box + " " + inline(m[3])
	}
	if m := reBullet.FindStringSubmatch(line); m != nil {
		return m[1] + "• " + inline(m[2])
	}
	if m := reOrdered.FindStringSubmatch(line); m != nil {
		return m[1] + m[2] + ". " + inline(m[3])
	}
	if m := reQuote.FindStringSubmatch(line); m != nil {
		return "> " + mrkdwnLine(m[1])
	}
	return inline(line)
}

// inline converts one line outside code blocks: code spans are kept (only
// escaped), links become <url|text>, emphasis is translated.
func inline(s string) string {
	var b strings.Builder
	last := 0
	for _, loc := range reCodeSpan.FindAllStringIndex(s, -1) {
		b.WriteString(inlineText(s[last:loc[0]]))
		b.WriteString(escape(s[loc[0]:loc[1]]))
		last = loc[1]
	}
	b.WriteString(inlineText(s[last:]))
	return b.String()
}

func inlineText(s string) string {
	if s == "" {
		return s
	}
	var held []string
	hold := func(v string) string {
		held = append(held, v)
		return "\x00" + strconv.Itoa(len(held)-1) + "\x00"
	}
	s = strings.NewReplacer("\x00", "", "\x01", "").Replace(s)
	s = reLink.ReplaceAllStringFunc(s, func(m string) string {
		sm := reLink.FindStringSubmatch(m)
		label, url := sm[1], strings.Trim(sm[2], "<>")
		if url == "" || strings.ContainsAny(url[:1], "!@#") {
			// <!here|x>, <!channel>, <!subteam^…>, <@U…|x> and <#C…> are
			// Slack mentions, not links: [x](!here) would ping the channel.
			return hold(escape(m))
		}
		label = strings.NewReplacer("**", "", "__", "", "`", "", "|", "¦").Replace(label)
		if label == "" || label == url {
			return hold("<" + escapeURL(url) + ">")
		}
		return hold("<" + escapeURL(url) + "|" + escape(label) + ">")
	})
	s = reAutolink.ReplaceAllStringFunc(s, func(m string) string {
		return hold("<" + escapeURL(m[1:len(m)-1]) + ">")
	})
	// User and channel mentions stay; <!here> and <!channel> do not.
	s = reSlackRef.ReplaceAllStringFunc(s, hold)
	s = escape(s)
	s = reBoldItal.ReplaceAllString(s, "\x01_${1}_\x01")
	s = reBold.ReplaceAllStringFunc(s, func(m string) string {
		sm := reBold.FindStringSubmatch(m)
		return "\x01" + sm[1] + sm[2] + "\x01"
	})
	s = reStrike.ReplaceAllString(s, "~$1~")
	s = reItalic.ReplaceAllString(s, "${1}_${2}_")
	s = strings.ReplaceAll(s, "\x01", "*")
	return reHolder.ReplaceAllStringFunc(s, func(m string) string {
		i, _ := strconv.Atoi(m[1 : len(m)-1])
		return held[i]
	})
}

// escapeURL keeps a URL from breaking out of <…|…>.
func escapeURL(u string) string {
	return strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E", " ", "%20").Replace(u)
}
