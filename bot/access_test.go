package bot_test

import (
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
)

// TestGate: one access policy for every adapter. In channels: everyone
// when no users or roles are listed, else the listed users and holders of
// the listed roles. In DMs: nobody unless DMs are on, then only the DM
// allowlist (channel access gives no DM access). A nil gate lets nobody in.
func TestGate(t *testing.T) {
	open := bot.NewGate(bot.Access{})
	listed := bot.NewGate(bot.Access{Users: []string{"alice"}, Roles: []string{"gardeners"}, DMs: true, DMUsers: []string{"bob"}})
	dmsOff := bot.NewGate(bot.Access{DMUsers: []string{"bob"}})
	var none *bot.Gate
	for _, tc := range []struct {
		name  string
		gate  *bot.Gate
		user  string
		roles []string
		ch    bool
		dm    bool
	}{
		{"open channel, anyone", open, "mallory", nil, true, false},
		{"open channel, nobody", open, "", nil, false, false},
		{"listed user", listed, "alice", nil, true, false},
		{"listed role", listed, "carol", []string{"other", "gardeners"}, true, false},
		{"not listed", listed, "mallory", []string{"other"}, false, false},
		{"DM allowlist only", listed, "bob", nil, false, true},
		{"DMs off", dmsOff, "bob", nil, true, false},
		{"nil gate", none, "alice", nil, false, false},
	} {
		if got := tc.gate.Allows(tc.user, tc.roles); got != tc.ch {
			t.Errorf("%s: Allows = %v, want %v", tc.name, got, tc.ch)
		}
		if got := tc.gate.AllowsDM(tc.user); got != tc.dm {
			t.Errorf("%s: AllowsDM = %v, want %v", tc.name, got, tc.dm)
		}
	}
}

// TestGateTellsOncePerWindow: a refused person is told once per
// RefusalEvery, each person on their own.
func TestGateTellsOncePerWindow(t *testing.T) {
	g := bot.NewGate(bot.Access{})
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		user string
		at   time.Duration
		want bool
	}{{"1", 0, true}, {"1", time.Minute, false}, {"2", time.Minute, true}, {"1", bot.RefusalEvery + time.Minute, true}} {
		if got := g.Tell(tc.user, t0.Add(tc.at)); got != tc.want {
			t.Errorf("user %s at +%v: %v, want %v", tc.user, tc.at, got, tc.want)
		}
	}
}
