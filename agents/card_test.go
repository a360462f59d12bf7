package agents

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/herdbot/herdbot/bot"
)

func testApproval(tool string, input any) Approval {
	raw, _ := json.Marshal(input)
	return Approval{ID: "ID", Agent: "garden", Tool: tool, Input: raw, InputHash: InputHash(raw),
		Status: Pending, Expires: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), RequestedBy: "alice"}
}

// TestCardShowsEveryField: what runs is on the card, every field in full,
// with the hash; or, when it cannot be shown faithfully or whole, a marked
// preview and the exact input as a file.
func TestCardShowsEveryField(t *testing.T) {
	type in map[string]any
	cases := []struct {
		name     string
		tool     string
		input    in
		limit    int
		inline   bool
		contains []string
	}{
		{"bash with description and timeout", "Bash", in{"command": "ls -la", "description": "list", "timeout": 1000}, 2000, true,
			[]string{"**command**: `ls -la`", "**description**: `list`", "**timeout**: `1000`"}},
		{"multi-line command", "Bash", in{"command": "echo a\necho b"}, 2000, true, []string{"**command**\n```\necho a\necho b\n```"}},
		{"backtick in command", "Bash", in{"command": "echo `id`"}, 2000, true, []string{"**command**\n```\necho `id`\n```"}},
		{"edit as a diff", "Edit", in{"file_path": "/w/a.go", "old_string": "x := 1\ny := 2", "new_string": "x := 3"}, 2000, true,
			[]string{"**file_path**: `/w/a.go`", "```diff\n- x := 1\n- y := 2\n+ x := 3\n```"}},
		{"empty value", "Write", in{"file_path": "/w/e", "content": ""}, 2000, true, []string{"**content**: (empty)"}},
		{"fence in content", "Write", in{"file_path": "/w/r.md", "content": "```\nrm -rf /\n```"}, 2000, false, nil},
		{"bidi override", "Bash", in{"command": "echo safe \u202e;hs.dwp"}, 2000, false, []string{`\u202e`}},
		{"zero-width space", "Bash", in{"command": "rm\u200b -rf x"}, 2000, false, nil},
		{"carriage return", "Bash", in{"command": "echo ok\rrm -rf x"}, 2000, false, nil},
		{"markdown in a field name", "mcp__x__y", in{"a**: `ok`\n**b": "c"}, 2000, false, nil},
		{"too long", "Bash", in{"command": strings.Repeat("x", 3000)}, 2000, false, nil},
		{"not an object", "Bash", nil, 2000, true, []string{"```\nnull\n```"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := testApproval(tc.tool, tc.input)
			m := card(a, cardOpts{buttons: true, attach: true, session: true, limit: tc.limit})
			if n := utf8.RuneCountInString(m.Text); n > tc.limit {
				t.Fatalf("card is %d characters, over the limit %d", n, tc.limit)
			}
			if !strings.Contains(m.Text, "sha256 `"+a.InputHash[:12]+"`") {
				t.Fatalf("no hash on the card: %q", m.Text)
			}
			if tc.inline {
				if len(m.Files) != 0 || strings.Contains(m.Text, "Preview") {
					t.Fatalf("want it inline: %q, %d files", m.Text, len(m.Files))
				}
			} else {
				if len(m.Files) != 1 || m.Files[0].Name != "input-"+a.InputHash[:12]+".json" || !strings.Contains(m.Text, "Preview") {
					t.Fatalf("want a preview and the file: %q, %+v", m.Text, m.Files)
				}
				var back any
				if err := json.Unmarshal(m.Files[0].Data, &back); err != nil {
					t.Fatal(err)
				}
				if raw, _ := json.Marshal(back); InputHash(raw) != a.InputHash {
					t.Fatalf("the file is not the exact input: %s", m.Files[0].Data)
				}
				if strings.Count(m.Text, "```")%2 != 0 {
					t.Fatalf("unbalanced fences in the preview: %q", m.Text)
				}
			}
			for _, want := range tc.contains {
				if !strings.Contains(m.Text, want) {
					t.Errorf("card %q does not contain %q", m.Text, want)
				}
			}
			if len(m.Buttons) != 3 || m.Buttons[1].Choice != bot.ChoiceSession || m.Buttons[1].Label != labelSession {
				t.Errorf("buttons %+v", m.Buttons)
			}
		})
	}
}

func TestCardEditsAndScope(t *testing.T) {
	a := testApproval("Bash", map[string]string{"command": strings.Repeat("y", 3000)})
	// An edit of the card never uploads the file again.
	a.Status, a.DecidedBy, a.DecidedAt = AllowedSession, "alice", a.Expires
	m := card(a, cardOpts{limit: 2000})
	if len(m.Files) != 0 || len(m.Buttons) != 0 || !strings.Contains(m.Text, "attached to this request") ||
		!strings.Contains(m.Text, "Allowed for this session (this exact input only) by alice") {
		t.Fatalf("edited card %q, %d files, %d buttons", m.Text, len(m.Files), len(m.Buttons))
	}
	// Without a session to hold a grant, there is no session button.
	p := testApproval("Bash", map[string]string{"command": "ls"})
	p.RequestedBy = ""
	m = card(p, cardOpts{buttons: true})
	if len(m.Buttons) != 2 || strings.Contains(m.Text, labelSession) {
		t.Fatalf("card without session %q %+v", m.Text, m.Buttons)
	}
	m = card(p, cardOpts{buttons: true, session: true})
	if !strings.Contains(m.Text, "in runs started by nobody in chat") {
		t.Fatalf("scope of a grant in a run nobody started from chat: %q", m.Text)
	}
}

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct {
		u    bot.User
		want string
	}{
		{bot.User{ID: "1", Name: "alice"}, "alice"},
		{bot.User{ID: "1", Name: "**@everyone** `x`"}, "@everyone x"},
		{bot.User{ID: "U1"}, "U1"},
		{bot.User{ID: "9", Name: "```"}, "user 9"},
	} {
		if got := displayName(tc.u); got != tc.want {
			t.Errorf("displayName(%+v) = %q, want %q", tc.u, got, tc.want)
		}
	}
}

func TestGrantBookIsExactAndBounded(t *testing.T) {
	b := newGrantBook()
	now := time.Now()
	g := grant{user: "discord:1", tool: "Bash", hash: "h1"}
	b.add("s1", g, "A1", now)
	if id, ok := b.lookup("s1", g, now); !ok || id != "A1" {
		t.Fatal("grant not found")
	}
	for _, other := range []struct {
		s string
		g grant
	}{
		{"s2", g},
		{"s1", grant{user: "discord:2", tool: "Bash", hash: "h1"}},
		{"s1", grant{user: "discord:1", tool: "Write", hash: "h1"}},
		{"s1", grant{user: "discord:1", tool: "Bash", hash: "h2"}},
	} {
		if _, ok := b.lookup(other.s, other.g, now); ok {
			t.Errorf("grant covers %+v", other)
		}
	}
	for i := range maxGrantSessions + 10 {
		b.add(string(rune('a'+i%26))+strings.Repeat("x", i), g, "A", now.Add(time.Duration(i+1)*time.Second))
	}
	if n := len(b.sessions); n != maxGrantSessions {
		t.Fatalf("%d sessions held, want the bound %d", n, maxGrantSessions)
	}
	if _, ok := b.lookup("s1", g, now); ok {
		t.Fatal("the least recently used session was not dropped")
	}
}
