package agents

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/bot"
)

// An approval card shows the whole input that will run: every field of it,
// in full. When that does not fit the platform's message, or cannot be
// shown faithfully as Markdown (a ``` inside, control or invisible
// characters), the card shows a marked preview and the exact input rides
// on the card as a file. The input's hash is on the card either way; the
// decision is stored with it and the tool runs with exactly that input.

// Card texts.
const (
	labelOnce    = "Allow once"
	labelSession = "Allow this exact input for the session"
	labelDeny    = "Deny"
	shortHashLen = 12
)

// cardOpts say how to render a card.
type cardOpts struct {
	buttons bool   // pending: show the buttons
	attach  bool   // attach the input as a file when it is not shown whole
	session bool   // offer "allow for this session"
	limit   int    // the platform's message limit, in characters (0: 4,000)
	note    string // an extra line
}

// card renders an approval (questions and plans have cards of their own).
func card(a Approval, o cardOpts) bot.Message {
	switch a.Tool {
	case ToolAskUserQuestion:
		return questionCard(a, o, nil)
	case ToolExitPlanMode:
		return planCard(a, o)
	}
	limit := o.limit
	if limit <= 0 {
		limit = 4000
	}
	var head strings.Builder
	fmt.Fprintf(&head, "🔐 **%s** wants to use **%s**", a.Agent, a.Tool)
	if a.RequestedBy != "" {
		fmt.Fprintf(&head, " (asked in a run started by %s)", a.RequestedBy)
	}
	head.WriteString("\n")

	var tail strings.Builder
	fmt.Fprintf(&tail, "Input sha256 `%s`", shortHash(a.InputHash))
	if bytes.Contains(a.Input, []byte(redact.Mask)) {
		tail.WriteString(" (of the real input: values shown as " + redact.Mask + " are secrets herdbot masks in chat)")
	}
	tail.WriteString("\n")
	pending := a.Status == Pending
	if pending {
		fmt.Fprintf(&tail, "Expires %s.", a.Expires.UTC().Format("15:04 MST"))
		if o.session {
			who := a.RequestedBy
			if who == "" {
				who = "nobody in chat (a scheduled or CLI run)"
			}
			fmt.Fprintf(&tail, " **%s** lets this exact input (same hash) run again without asking, in this conversation's session, in runs started by %s. Any other input, or a request in a run started by anyone else, gets a new card.", labelSession, who)
		}
	} else {
		tail.WriteString(outcome(a))
	}
	if o.note != "" {
		tail.WriteString("\n" + o.note)
	}

	body, faithful := renderInput(a.Tool, a.Input)
	room := limit - utf8.RuneCountInString(head.String()) - utf8.RuneCountInString(tail.String()) - 1
	m := bot.Message{}
	if faithful && utf8.RuneCountInString(body) <= room {
		m.Text = head.String() + strings.TrimSuffix(body, "\n") + "\n" + tail.String()
	} else {
		why := "too long to show here"
		if !faithful {
			why = "not shown faithfully as chat text (it holds a code fence or invisible/control characters)"
		}
		name := "input-" + shortHash(a.InputHash) + ".json"
		where := "the attached file " + name
		if !o.attach {
			where = "the file " + name + " attached to this request"
		}
		lead := fmt.Sprintf("⚠️ The input is %s: read it whole in %s. Preview:\n", why, where)
		m.Text = head.String() + lead + preview(a.Input, max(room-utf8.RuneCountInString(lead)-10, 40)) + tail.String()
		if o.attach {
			m.Files = []bot.File{{Name: name, Data: indentJSON(a.Input)}}
		}
	}
	if o.buttons && pending {
		m.Buttons = []bot.Button{{ApprovalID: a.ID, Choice: bot.ChoiceOnce, Label: labelOnce, Style: bot.StyleSuccess}}
		if o.session {
			m.Buttons = append(m.Buttons, bot.Button{ApprovalID: a.ID, Choice: bot.ChoiceSession, Label: labelSession, Style: bot.StylePrimary})
		}
		m.Buttons = append(m.Buttons, bot.Button{ApprovalID: a.ID, Choice: bot.ChoiceDeny, Label: labelDeny, Style: bot.StyleDanger})
	}
	return m
}

func shortHash(h string) string {
	if len(h) > shortHashLen {
		return h[:shortHashLen]
	}
	return h
}

// fieldOrder puts the fields people read first at the top; the rest follow
// sorted by name.
var fieldOrder = []string{"command", "file_path", "notebook_path", "path", "url", "pattern", "content", "old_string",
	"new_string", "replace_all", "description"}

// renderInput renders every field of a tool input as Markdown and reports
// whether the rendering shows it faithfully.
func renderInput(tool string, input json.RawMessage) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		s := string(input)
		return codeBlock("", s), faithfulText(s)
	}
	keys := sortedKeys(m)
	var b strings.Builder
	ok := true
	old, hasOld := m["old_string"].(string)
	repl, hasNew := m["new_string"].(string)
	diff := hasOld && hasNew
	for _, k := range keys {
		if diff && (k == "old_string" || k == "new_string") {
			if k == "old_string" {
				b.WriteString("**edit** (`-` old_string, `+` new_string)\n")
				b.WriteString(codeBlock("diff", prefixLines("- ", old)+"\n"+prefixLines("+ ", repl)))
				ok = ok && faithfulText(old) && faithfulText(repl)
			}
			continue
		}
		v := m[k]
		s, isString := v.(string)
		if !isString {
			raw, _ := json.Marshal(v)
			s = string(raw)
		}
		ok = ok && faithfulText(s) && plainKey(k)
		if isString && s == "" {
			fmt.Fprintf(&b, "**%s**: (empty)\n", k)
			continue
		}
		if utf8.RuneCountInString(s) <= 80 && !strings.ContainsAny(s, "`\n") && strings.TrimSpace(s) == s {
			fmt.Fprintf(&b, "**%s**: `%s`\n", k, s)
			continue
		}
		fmt.Fprintf(&b, "**%s**\n%s", k, codeBlock("", s))
	}
	return strings.TrimSuffix(b.String(), "\n"), ok
}

// plainKey reports whether a field name shows as itself in bold.
func plainKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, r := range k {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.')) {
			return false
		}
	}
	return true
}

// sortedKeys orders a tool input's fields: fieldOrder first, then by name.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		oi, oj := slices.Index(fieldOrder, keys[i]), slices.Index(fieldOrder, keys[j])
		switch {
		case oi >= 0 && oj >= 0:
			return oi < oj
		case oi >= 0 || oj >= 0:
			return oi >= 0
		}
		return keys[i] < keys[j]
	})
	return keys
}

func codeBlock(lang, s string) string {
	return "```" + lang + "\n" + s + "\n```\n"
}

func prefixLines(p, s string) string {
	return p + strings.ReplaceAll(s, "\n", "\n"+p)
}

// faithfulText reports whether s shows as itself inside a Markdown code
// block: no fence, no control characters but newline and tab, no
// invisible or direction-changing characters.
func faithfulText(s string) bool {
	if strings.Contains(s, "```") || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// preview is a cut rendering of input for the card: every field as
// "name: value", at most n runes in all, fences and unsafe characters
// replaced. It is marked as a preview where it is used.
func preview(input json.RawMessage, n int) string {
	s := string(input)
	var m map[string]any
	if json.Unmarshal(input, &m) == nil {
		var b strings.Builder
		for _, k := range sortedKeys(m) {
			v, ok := m[k].(string)
			if !ok {
				raw, _ := json.Marshal(m[k])
				v = string(raw)
			}
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
		s = b.String()
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	s = strings.TrimSuffix(strings.ReplaceAll(b.String(), "```", "ʼʼʼ"), "\n")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return codeBlock("", s)
}

func indentJSON(raw json.RawMessage) []byte {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return append([]byte(nil), raw...)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// displayName is a chat user's name for a card: letters, digits, spaces
// and ._-@ only (it is user-controlled text), at most 40 characters.
func displayName(u bot.User) string {
	name := u.Name
	if name == "" {
		name = u.ID
	}
	var b strings.Builder
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(" ._-@", r) {
			b.WriteRune(r)
		}
	}
	s := strings.TrimSpace(b.String())
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40])
	}
	if s == "" {
		s = "user " + truncate(u.ID, 30)
	}
	return s
}
