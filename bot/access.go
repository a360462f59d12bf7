package bot

import (
	"slices"
	"sync"
	"time"
)

// Access is who may talk to an agent on one platform, as its chat config
// says. Every adapter applies it through a Gate, with the same meaning.
type Access struct {
	// Users and Roles (Discord role ids) may talk to the agent in its
	// channels; when both are empty, everyone there may.
	Users []string
	Roles []string
	// DMs opens direct messages, to DMUsers only: nobody else, ever.
	DMs     bool
	DMUsers []string
}

// Refusal texts, short: they never say who is allowed.
const (
	RefusedUser = "Sorry, you are not allowed to talk to this agent."
	RefusedDM   = "Sorry, this agent only takes direct messages from people on its allowlist."
	RefusedHere = "Sorry, this agent does not work in this channel."
)

// RefusalEvery is how often one person is told they are refused, at most:
// nobody can make a bot spam a channel or a DM.
const RefusalEvery = 10 * time.Minute

// Gate applies an Access. A nil *Gate lets nobody in.
type Gate struct {
	users, roles, dmUsers map[string]bool
	dms                   bool

	mu       sync.Mutex
	refusals map[string]time.Time // user → when last told
}

// NewGate returns the gate of a.
func NewGate(a Access) *Gate {
	return &Gate{users: setOf(a.Users), roles: setOf(a.Roles), dmUsers: setOf(a.DMUsers), dms: a.DMs,
		refusals: map[string]time.Time{}}
}

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// Allows reports whether user, holding roles, may talk to the agent in a
// channel it serves.
func (g *Gate) Allows(user string, roles []string) bool {
	if g == nil || user == "" {
		return false
	}
	if len(g.users) == 0 && len(g.roles) == 0 {
		return true
	}
	return g.users[user] || slices.ContainsFunc(roles, func(r string) bool { return g.roles[r] })
}

// AllowsDM reports whether user may talk to the agent in direct messages.
func (g *Gate) AllowsDM(user string) bool {
	return g != nil && user != "" && g.dms && g.dmUsers[user]
}

// Tell reports whether to tell user now that they are refused (once per
// RefusalEvery), and if so records it.
func (g *Gate) Tell(user string, now time.Time) bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if last, ok := g.refusals[user]; ok && now.Sub(last) < RefusalEvery {
		return false
	}
	if len(g.refusals) >= 10000 {
		for k, t := range g.refusals {
			if now.Sub(t) >= RefusalEvery {
				delete(g.refusals, k)
			}
		}
		if len(g.refusals) >= 10000 {
			clear(g.refusals)
		}
	}
	g.refusals[user] = now
	return true
}
