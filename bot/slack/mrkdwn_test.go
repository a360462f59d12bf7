package slack_test

import (
	"testing"

	"github.com/herdbot/herdbot/bot/slack"
)

func TestMrkdwn(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"bold", "a **b** c __d__", "a *b* c *d*"},
		{"italic star", "an *emphasis* here", "an _emphasis_ here"},
		{"italic underscore", "an _emphasis_ here", "an _emphasis_ here"},
		{"bold italic", "***both***", "*_both_*"},
		{"strike", "~~gone~~", "~gone~"},
		{"link", "[docs](https://x.io/a_b?q=1)", "<https://x.io/a_b?q=1|docs>"},
		{"link same as url", "[https://x.io](https://x.io)", "<https://x.io>"},
		{"autolink", "see <https://x.io/y>", "see <https://x.io/y>"},
		{"link label pipe", "[a|b](https://x.io)", "<https://x.io|a¦b>"},
		{"image", "![plot](https://x.io/p.png)", "<https://x.io/p.png|plot>"},
		{"escape", "a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"},
		{"here not kept", "<!here> hi <@U123ABC>", "&lt;!here&gt; hi <@U123ABC>"},
		{"link to a special mention", "[hi](!channel) [x](!subteam^S1) [y](@U1) [z](#C1)", "[hi](!channel) [x](!subteam^S1) [y](@U1) [z](#C1)"},
		{"link to a mention in angle brackets", "[hi](<!everyone>)", "[hi](&lt;!everyone&gt;)"},
		{"inline code kept", "run `rm **x** <y>` now", "run `rm **x** &lt;y&gt;` now"},
		{"heading", "## Setup **now** ##", "*Setup now*"},
		{"bullets", "- one\n* two\n  + nested", "• one\n• two\n  • nested"},
		{"tasks", "- [ ] todo\n- [x] done", "• ☐ todo\n• ☑ done"},
		{"ordered", "1. first\n2) second", "1. first\n2. second"},
		{"quote", "> quoted **text**", "> quoted *text*"},
		{"rule", "---", "──────────"},
		{"fence lang dropped", "```python\nx = 1 < 2\n**y**\n```", "```\nx = 1 &lt; 2\n**y**\n```"},
		{"unclosed fence closed", "```\ncode", "```\ncode\n```"},
		{"longer fence", "````\n```\ninner\n````", "```\n```\ninner\n```"},
		{"snake_case untouched", "my_var_name and 2*3*4", "my_var_name and 2*3*4"},
		{"crlf", "a\r\nb", "a\nb"},
		{"control chars", "a\x00b\x01c", "abc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := slack.Mrkdwn(tc.in); got != tc.want {
				t.Fatalf("Mrkdwn(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzMrkdwn(f *testing.F) {
	for _, s := range []string{"**a**", "```\nx\n", "[a](b)", "<@U1>", "- [x] y", "> ```"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = slack.Mrkdwn(s) // must not panic
	})
}
