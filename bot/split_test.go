package bot

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSplit(t *testing.T) {
	long := strings.Repeat("word ", 10) // 50 runes
	for _, tc := range []struct {
		name string
		text string
		max  int
		want []string
	}{
		{"empty", "", 10, nil},
		{"blank", " \n\n \n", 10, nil},
		{"fits", "hello world", 20, []string{"hello world"}},
		{"no limit", "hello world", 0, []string{"hello world"}},
		{"paragraphs", "aaaa aaaa\n\nbbbb bbbb\n\ncccc", 22,
			[]string{"aaaa aaaa\n\nbbbb bbbb", "cccc"}},
		{"paragraph preferred over line", "aaaaaaaaaa\n\nbbbbb\ncc\ndddddd", 22,
			[]string{"aaaaaaaaaa", "bbbbb\ncc\ndddddd"}},
		{"line when paragraph too early", "aa\n\nbbbbbbbbbbbbbbb\ncccccccc", 22,
			[]string{"aa\n\nbbbbbbbbbbbbbbb", "cccccccc"}},
		{"words", long, 22, []string{"word word word word", "word word word word", "word word"}},
		{"hard cut", strings.Repeat("x", 25), 10,
			[]string{"xxxxxxxxxx", "xxxxxxxxxx", "xxxxx"}},
		{"multibyte counted as runes", strings.Repeat("é", 12), 5,
			[]string{"ééééé", "ééééé", "éé"}},
		{"fence reopened with language", "intro\n```go\nline1\nline2\nline3\nline4\n```\nafter", 30,
			[]string{"intro\n```go\nline1\nline2\n```", "```go\nline3\nline4\n```\nafter"}},
		{"unclosed fence closed", "```\ncode", 20, []string{"```\ncode\n```"}},
		{"longer fence closed with its ticks", "````md\n```\ninner\n```\nmore\nlines\n````", 26,
			[]string{"````md\n```\ninner\n```\n````", "````md\nmore\nlines\n````"}},
		{"inline triple backticks are not fences", "a ```b``` c\n```x`y\nz", 100,
			[]string{"a ```b``` c\n```x`y\nz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Split(tc.text, tc.max)
			if !equal(got, tc.want) {
				t.Errorf("Split(%q, %d)\n got %q\nwant %q", tc.text, tc.max, got, tc.want)
			}
			checkChunks(t, tc.text, tc.max)
		})
	}
}

func TestSplitLongAnswerWithCode(t *testing.T) {
	var b strings.Builder
	for b.Len() < 9000 {
		b.WriteString("Here is some prose explaining the next step in a few words.\n\n")
		b.WriteString("```python\n")
		for i := 0; i < 12; i++ {
			b.WriteString("    print('a line of code that is moderately long', 42)\n")
		}
		b.WriteString("```\n\n")
	}
	text := b.String()
	got := Split(text, 2000)
	if len(got) < 5 {
		t.Fatalf("got %d chunks for %d runes, want at least 5", len(got), len(text))
	}
	for i, c := range got {
		if n := utf8.RuneCountInString(c); n > 2000 {
			t.Errorf("chunk %d: %d runes", i, n)
		}
		if i > 0 && strings.HasPrefix(strings.TrimSpace(c), "print") {
			t.Errorf("chunk %d starts inside code without reopening the fence: %q", i, c[:40])
		}
	}
	checkChunks(t, text, 2000)
}

// checkChunks asserts Split's invariants: every chunk within max, fences
// balanced in every chunk, prefix/suffix only fence lines, and the bodies
// holding all non-whitespace input in order.
func checkChunks(t *testing.T, text string, max int) {
	t.Helper()
	cs := splitChunks(text, max)
	var bodies strings.Builder
	for i, c := range cs {
		s := c.prefix + c.body + c.suffix
		if n := utf8.RuneCountInString(s); max > 0 && n > max {
			t.Fatalf("chunk %d has %d runes > %d: %q", i, n, max, s)
		}
		if st := parseText(nil, []rune(s)); st != nil {
			t.Fatalf("chunk %d leaves a fence open: %q", i, s)
		}
		if strings.TrimSpace(c.body) == "" {
			t.Fatalf("chunk %d is empty: %q", i, s)
		}
		if c.prefix != "" && (!strings.HasPrefix(c.prefix, "```") || !strings.HasSuffix(c.prefix, "\n")) {
			t.Fatalf("chunk %d: prefix %q is not a fence line", i, c.prefix)
		}
		if c.suffix != "" && strings.Trim(c.suffix, "\n`") != "" {
			t.Fatalf("chunk %d: suffix %q is not a fence line", i, c.suffix)
		}
		bodies.WriteString(c.body)
	}
	if got, want := nonSpace(bodies.String()), nonSpace(text); got != want {
		t.Fatalf("content changed:\n got %q\nwant %q", got, want)
	}
}

func nonSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzSplit(f *testing.F) {
	f.Add("hello\n\nworld", 5)
	f.Add("```go\nfunc main() {}\n```\ntext after", 12)
	f.Add("````\n```\n````", 9)
	f.Add("a ```b``` c\n```x`y\nz", 7)
	f.Add(strings.Repeat("`", 40)+"\nx\n", 10)
	f.Add("  ```  lang  \n\tcode\n   ```", 11)
	f.Fuzz(func(t *testing.T, text string, max int) {
		text = strings.ToValidUTF8(text, "?")
		checkChunks(t, text, max%4097)
	})
}
