package agents

import (
	"sync"
	"time"
)

// Bounds of an agent's session grants (oldest-used sessions go first).
const (
	maxGrantSessions    = 1024
	maxGrantsPerSession = 256
)

// grant is one "allow for this session": exactly this tool input (by hash),
// in runs started by this person (userKey; "" for runs nobody started from
// chat).
type grant struct {
	user, tool, hash string
}

// grantBook holds an agent's session grants, by CLI session id. It
// outlives a reload of the agent (sessions do too); it does not outlive
// herdbot: after a restart every call asks again.
type grantBook struct {
	mu       sync.Mutex
	sessions map[string]*sessionGrants
}

type sessionGrants struct {
	set  map[grant]string // → the approval that granted it
	used time.Time
}

func newGrantBook() *grantBook { return &grantBook{sessions: map[string]*sessionGrants{}} }

// add records g for session, granted by approval.
func (b *grantBook) add(session string, g grant, approval string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sessions[session]
	if !ok {
		if len(b.sessions) >= maxGrantSessions {
			oldest := ""
			for id, x := range b.sessions {
				if oldest == "" || x.used.Before(b.sessions[oldest].used) {
					oldest = id
				}
			}
			delete(b.sessions, oldest)
		}
		s = &sessionGrants{set: map[grant]string{}}
		b.sessions[session] = s
	}
	s.used = now
	if _, dup := s.set[g]; !dup && len(s.set) >= maxGrantsPerSession {
		return // enough: further calls ask
	}
	s.set[g] = approval
}

// lookup returns the approval that granted g in session.
func (b *grantBook) lookup(session string, g grant, now time.Time) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sessions[session]
	if !ok {
		return "", false
	}
	id, ok := s.set[g]
	if ok {
		s.used = now
	}
	return id, ok
}
