package discord

import (
	"strings"
	"testing"

	"github.com/herdbot/herdbot/bot"
)

func TestPolicyRoute(t *testing.T) {
	cfg := Config{Agent: "a", Token: "t",
		Guilds: []Guild{{ID: "1", DefaultMode: ModeMention, Channels: []Channel{{ID: "10", Mode: ModeAuto}, {ID: "11"}}},
			{ID: "2", DefaultMode: ModeAuto}},
		AllowedUsers: []string{"100"}, AllowedRoles: []string{"500"},
		DM: DM{Enabled: true, Allowlist: []string{"100"}}}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	p := newPolicy(&cfg, func() string { return "999" })
	g := func(ch string) bot.Target { return bot.Target{Platform: bot.Discord, Space: "1", Channel: ch} }
	for _, tc := range []struct {
		name   string
		in     inbound
		want   verdict
		target bot.Target
	}{
		{"mention by allowed user", inbound{authorID: "100", guildID: "1", channelID: "12", mentioned: true}, serve, g("12")},
		{"no mention in mention channel", inbound{authorID: "100", guildID: "1", channelID: "12"}, ignore, bot.Target{}},
		{"listed channel without mode takes guild default", inbound{authorID: "100", guildID: "1", channelID: "11"}, ignore, bot.Target{}},
		{"auto channel", inbound{authorID: "100", guildID: "1", channelID: "10"}, serve, g("10")},
		{"auto guild default", inbound{authorID: "100", guildID: "2", channelID: "20"}, serve, bot.Target{Platform: bot.Discord, Space: "2", Channel: "20"}},
		{"thread follows auto parent", inbound{authorID: "100", guildID: "1", channelID: "77", parentID: "10"}, serve,
			bot.Target{Platform: bot.Discord, Space: "1", Channel: "10", Thread: "77"}},
		{"allowed by role", inbound{authorID: "101", roles: []string{"500"}, guildID: "1", channelID: "10"}, serve, g("10")},
		{"stranger mentions", inbound{authorID: "102", guildID: "1", channelID: "12", mentioned: true}, refuse, g("12")},
		{"stranger chats in auto", inbound{authorID: "102", guildID: "1", channelID: "10"}, ignore, bot.Target{}},
		{"unconfigured guild", inbound{authorID: "100", guildID: "3", channelID: "30", mentioned: true}, ignore, bot.Target{}},
		{"bot author", inbound{authorID: "100", authorBot: true, guildID: "1", channelID: "10"}, ignore, bot.Target{}},
		{"itself", inbound{authorID: "999", guildID: "1", channelID: "10"}, ignore, bot.Target{}},
		{"no author", inbound{guildID: "1", channelID: "10"}, ignore, bot.Target{}},
		{"DM allowed", inbound{authorID: "100", channelID: "50"}, serve, bot.Target{Platform: bot.Discord, Channel: "50", User: "100"}},
		{"DM not on allowlist", inbound{authorID: "101", roles: nil, channelID: "51"}, refuse, bot.Target{Platform: bot.Discord, Channel: "51", User: "101"}},
	} {
		v, target, why := p.route(tc.in)
		if v != tc.want || (v != ignore && target != tc.target) {
			t.Errorf("%s: got %v %+v, want %v %+v", tc.name, v, target, tc.want, tc.target)
		}
		if (v == refuse) != (why != "") {
			t.Errorf("%s: verdict %v with refusal text %q", tc.name, v, why)
		}
	}
}

func TestPolicyNoAllowListsAndNoGuilds(t *testing.T) {
	cfg := Config{Agent: "a", Token: "t"}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	p := newPolicy(&cfg, func() string { return "999" })
	if v, _, _ := p.route(inbound{authorID: "1", guildID: "7", channelID: "8", mentioned: true}); v != serve {
		t.Errorf("any guild, mention: %v, want serve", v)
	}
	if v, _, _ := p.route(inbound{authorID: "1", guildID: "7", channelID: "8"}); v != ignore {
		t.Errorf("any guild, no mention: %v, want ignore", v)
	}
	if v, _, _ := p.route(inbound{authorID: "1", channelID: "9"}); v != refuse {
		t.Errorf("DM with DMs off: %v, want refuse", v)
	}
	if cfg.CommandScope != ScopeGlobal {
		t.Errorf("scope %q, want global without guilds", cfg.CommandScope)
	}
}

func TestStripMentions(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<@999> hello", "hello"},
		{"<@!999>   water\nthe plants", "water\nthe plants"},
		{"hey <@999> there", "hey there"},
		{"<@&5> roles too <@&6>", "roles too <@&6>"},
		{"<@998> someone else", "<@998> someone else"},
		{"```go\n  indented\n```", "```go\n  indented\n```"},
	} {
		if got := stripMentions(tc.in, "999", []string{"5"}); got != tc.want {
			t.Errorf("stripMentions(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := func() Config {
		return Config{Agent: "garden", Token: "Bot abc.def.ghi", Guilds: []Guild{{ID: "1", Channels: []Channel{{ID: "2", Mode: ModeAuto}}}}}
	}
	c := ok()
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.Token != "abc.def.ghi" || c.Guilds[0].DefaultMode != ModeMention || c.CommandScope != ScopeGuild {
		t.Errorf("defaults not applied: %+v", c)
	}
	for _, tc := range []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"no agent", func(c *Config) { c.Agent = "" }, "agent name"},
		{"no token", func(c *Config) { c.Token = "  " }, "token is empty"},
		{"token with space", func(c *Config) { c.Token = "a b" }, "whitespace"},
		{"bad guild id", func(c *Config) { c.Guilds[0].ID = "home" }, "guilds[0].id"},
		{"duplicate guild", func(c *Config) { c.Guilds = append(c.Guilds, c.Guilds[0]) }, "listed twice"},
		{"bad mode", func(c *Config) { c.Guilds[0].Channels[0].Mode = "always" }, "channels[0].mode"},
		{"bad default mode", func(c *Config) { c.Guilds[0].DefaultMode = "loud" }, "default_mode"},
		{"bad user id", func(c *Config) { c.AllowedUsers = []string{"@alice"} }, "allowed_users"},
		{"bad dm id", func(c *Config) { c.DM.Allowlist = []string{""} }, "dm.allowlist"},
		{"bad scope", func(c *Config) { c.CommandScope = "everywhere" }, "command_scope"},
		{"guild scope without guilds", func(c *Config) { c.Guilds = nil; c.CommandScope = ScopeGuild }, "at least one guild"},
	} {
		c := ok()
		tc.mut(&c)
		err := c.validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "abc.def") {
			t.Errorf("%s: error leaks the token: %v", tc.name, err)
		}
	}
}
