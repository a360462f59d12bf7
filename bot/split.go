package bot

import (
	"strings"
	"unicode"
)

// Split cuts Markdown text into chunks of at most max characters (runes) each,
// for platforms that limit message size (Discord: 2,000).
//
// It cuts at a paragraph break when that keeps a chunk at least half full,
// else at a line break, else at a space, and as a last resort anywhere. A
// ``` code fence still open at the end of a chunk is closed there and
// reopened, with its language tag, at the start of the next chunk, so every
// chunk renders on its own. Whitespace at the cuts is dropped; everything
// else is kept in order. Empty or whitespace-only text gives no chunks; max
// < 1 means no limit (one chunk, fence still closed).
func Split(text string, max int) []string {
	cs := splitChunks(text, max)
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.prefix + c.body + c.suffix
	}
	return out
}

// chunk is one piece of Split's output: a reopened fence (prefix), text from
// the input (body) and a closing fence (suffix).
type chunk struct {
	prefix, body, suffix string
}

// fence is an open code fence: its backtick count and info string.
type fence struct {
	ticks int
	info  string
}

func (f *fence) closer() string { return "\n" + strings.Repeat("`", f.ticks) }

func closeCost(f *fence) int {
	if f == nil {
		return 0
	}
	return 1 + f.ticks
}

// parseLine returns the fence state after line, given the state before it
// (nil: outside a fence). It follows CommonMark for backtick fences: up to 3
// spaces of indentation, 3+ backticks; an opener's info string holds no
// backtick; a closer has at least as many backticks and nothing else.
func parseLine(st *fence, line []rune) *fence {
	i := 0
	for i < len(line) && i < 3 && line[i] == ' ' {
		i++
	}
	n := 0
	for i+n < len(line) && line[i+n] == '`' {
		n++
	}
	if n < 3 {
		return st
	}
	rest := string(line[i+n:])
	if st == nil {
		if strings.ContainsRune(rest, '`') {
			return st
		}
		return &fence{ticks: n, info: strings.TrimSpace(rest)}
	}
	if n >= st.ticks && strings.TrimSpace(rest) == "" {
		return nil
	}
	return st
}

// parseText returns the fence state after text, given the state before it.
func parseText(st *fence, text []rune) *fence {
	for len(text) > 0 {
		nl := indexRune(text, '\n')
		if nl < 0 {
			return parseLine(st, text)
		}
		st = parseLine(st, text[:nl])
		text = text[nl+1:]
	}
	return st
}

func indexRune(rs []rune, r rune) int {
	for i, x := range rs {
		if x == r {
			return i
		}
	}
	return -1
}

// reopen returns the line that reopens f at the start of a chunk, shortened
// (info dropped, then nothing) when it would leave no room for content.
func reopen(f *fence, max int) (string, *fence) {
	if f == nil {
		return "", nil
	}
	room := func(p string) bool { return len([]rune(p))+1+closeCost(f) <= max }
	ticks := strings.Repeat("`", f.ticks)
	if p := ticks + f.info + "\n"; room(p) {
		return p, f
	}
	if p := ticks + "\n"; room(p) {
		return p, &fence{ticks: f.ticks}
	}
	return "", nil
}

func splitChunks(text string, max int) []chunk {
	rs := []rune(text)
	if max < 1 {
		if strings.TrimSpace(text) == "" {
			return nil
		}
		c := chunk{body: strings.TrimRightFunc(text, unicode.IsSpace)}
		if f := parseText(nil, []rune(c.body)); f != nil {
			c.suffix = f.closer()
		}
		return []chunk{c}
	}
	var out []chunk
	var st *fence // fence state at pos, as the chunks so far left it
	pos := skipBlank(rs, 0, false)
	for pos < len(rs) {
		prefix, start := reopen(st, max)
		end, next := cut(rs, pos, start, max-len([]rune(prefix)))
		body := strings.TrimRightFunc(string(rs[pos:end]), unicode.IsSpace)
		after := parseText(start, []rune(body))
		if body != "" {
			c := chunk{prefix: prefix, body: body}
			if after != nil {
				c.suffix = after.closer()
			}
			out = append(out, c)
		}
		st = after
		pos = next
	}
	return out
}

// cut chooses where the chunk starting at pos ends (end) and where the next
// chunk starts (next), given the fence state st at pos and avail runes for
// the body plus any closing fence.
func cut(rs []rune, pos int, st *fence, avail int) (end, next int) {
	if len(rs)-pos <= avail && len(rs)-pos+closeCost(parseText(st, rs[pos:])) <= avail {
		return len(rs), len(rs)
	}
	lineEnd, paraEnd := -1, -1
	cur := st
	for i := pos; i < len(rs); {
		nl := indexRune(rs[i:], '\n')
		if nl < 0 {
			break
		}
		e := i + nl
		cur = parseLine(cur, rs[i:e])
		if e-pos+closeCost(cur) > avail {
			break
		}
		lineEnd = e
		if isBlank(rs[i:e]) || nextBlank(rs, e+1) {
			paraEnd = e
		}
		i = e + 1
	}
	switch {
	case paraEnd >= 0 && paraEnd-pos >= avail/2:
		return paraEnd, skipBlank(rs, paraEnd+1, false)
	case lineEnd >= 0:
		return lineEnd, skipBlank(rs, lineEnd+1, false)
	}
	// The first line alone is too long: cut inside it.
	fits := func(e int) bool { return e-pos+closeCost(parseText(st, rs[pos:e])) <= avail }
	e := min(pos+avail, len(rs))
	for e > pos+1 && !fits(e) {
		e--
	}
	for w := min(e, len(rs)-1); w > pos+(e-pos)/2; w-- {
		if (rs[w] == ' ' || rs[w] == '\t') && fits(w) {
			return w, skipBlank(rs, w, true)
		}
	}
	return e, skipBlank(rs, e, false)
}

func isBlank(rs []rune) bool {
	for _, r := range rs {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// nextBlank reports whether the line starting at i is blank (or absent).
func nextBlank(rs []rune, i int) bool {
	if i >= len(rs) {
		return true
	}
	nl := indexRune(rs[i:], '\n')
	if nl < 0 {
		nl = len(rs) - i
	}
	return isBlank(rs[i : i+nl])
}

// skipBlank moves i past blank lines (and, after a cut at a space, past the
// spaces) so that no chunk starts with empty lines.
func skipBlank(rs []rune, i int, spaces bool) int {
	if spaces {
		for i < len(rs) && (rs[i] == ' ' || rs[i] == '\t') {
			i++
		}
	}
	for i < len(rs) {
		nl := indexRune(rs[i:], '\n')
		if nl < 0 {
			if isBlank(rs[i:]) {
				return len(rs)
			}
			return i
		}
		if !isBlank(rs[i : i+nl]) {
			return i
		}
		i += nl + 1
	}
	return i
}
