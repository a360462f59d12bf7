package agents

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/bot"
)

// noticeBox is a chat that records what is sent (the intake's notices).
type noticeBox struct {
	mu   sync.Mutex
	sent []string // "channel: text"
}

func (n *noticeBox) Outbox(string, string) (bot.Outbox, bool) { return n, true }
func (n *noticeBox) Send(_ context.Context, to bot.Target, m bot.Message) (bot.MessageRef, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, to.Channel+": "+m.Text)
	return bot.MessageRef{Target: to, ID: fmt.Sprint(len(n.sent))}, nil
}
func (n *noticeBox) Edit(context.Context, bot.MessageRef, bot.Message) error { return nil }

func (n *noticeBox) count(substr string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, s := range n.sent {
		if strings.Contains(s, substr) {
			c++
		}
	}
	return c
}

// intakeRig is a fleet whose agent's only slot is taken, so that nothing
// it queues starts: the intake is seen as it decides. The clock is the
// test's.
type intakeRig struct {
	f   *Fleet
	a   *agentState
	box *noticeBox
	clk *clockwork.FakeClock
}

func newIntakeRig(t *testing.T, spec AgentSpec) *intakeRig {
	r := &intakeRig{box: &noticeBox{}, clk: clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))}
	spec.Name = "garden"
	r.a = newAgentState(spec)
	r.a.slots <- struct{}{} // busy
	r.f = &Fleet{cfg: Config{Chat: r.box}, log: slog.New(slog.DiscardHandler), clock: r.clk,
		agents: map[string]*agentState{"garden": r.a}, convs: map[string]*convState{}, intakes: map[string]*intake{},
		running: map[string]*runState{}}
	t.Cleanup(r.f.notices.Close)
	return r
}

func (r *intakeRig) say(user, channel, text string) {
	r.f.HandleMessage(context.Background(), bot.Inbound{Agent: "garden", User: bot.User{ID: user},
		Target: bot.Target{Platform: bot.Discord, Space: "g", Channel: channel}, Text: text})
}

// waiting returns the texts waiting for user, oldest first.
func (r *intakeRig) waiting(user string) []string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	var out []string
	if u := r.f.intakes["garden"].users[bot.Discord+":"+user]; u != nil {
		for _, q := range u.queue {
			out = append(out, q.in.Text)
		}
	}
	return out
}

// flush waits until the notifier has sent everything posted so far.
func (r *intakeRig) flush() {
	r.f.notices.Close()
	r.f.notices = bot.Notifier{}
}

func TestIntakeTokenBucketPerUser(t *testing.T) {
	r := newIntakeRig(t, AgentSpec{UserRate: Rate{N: 3, Per: time.Minute}, QueueMax: 100})
	for i := range 5 {
		r.say("flood", "c1", fmt.Sprint("f", i))
	}
	r.say("calm", "c1", "hello")
	if got := r.waiting("flood"); len(got) != 3 {
		t.Fatalf("flood has %v waiting, want the 3 its bucket holds", got)
	}
	if got := r.waiting("calm"); len(got) != 1 {
		t.Fatalf("calm has %v waiting: one person's bucket is not another's", got)
	}
	r.clk.Advance(20 * time.Second) // one token back (3 per minute)
	r.say("flood", "c1", "f5")
	r.say("flood", "c1", "f6")
	if got := r.waiting("flood"); len(got) != 4 || got[3] != "f5" {
		t.Fatalf("after 20 s flood has %v waiting, want f5 added and f6 refused", got)
	}
	r.flush()
	if n := r.box.count("Slow down"); n != 1 {
		t.Fatalf("%d rate-limit notices, want one per person per window: %q", n, r.box.sent)
	}
	// The next window brings the next notice.
	r.clk.Advance(DefaultNoticeEvery)
	for range 5 {
		r.say("flood", "c1", "again")
	}
	r.flush()
	if n := r.box.count("Slow down"); n != 2 {
		t.Fatalf("%d rate-limit notices after a window, want 2", n)
	}
}

func TestIntakeFullQueueMakesRoomForOthers(t *testing.T) {
	r := newIntakeRig(t, AgentSpec{UserRate: Rate{N: -1}, QueueMax: 4, AgentQueueMax: 6})
	for i := range 4 {
		r.say("flood", "c1", fmt.Sprint("f", i))
	}
	// The conversation is full, all of it flood's: another person takes
	// the place of flood's newest message.
	r.say("other", "c1", "mine")
	if got := r.waiting("other"); len(got) != 1 {
		t.Fatalf("other's message refused: %v", got)
	}
	if got := r.waiting("flood"); len(got) != 3 || got[2] != "f2" {
		t.Fatalf("flood %v, want its newest dropped", got)
	}
	r.say("flood", "c1", "f4") // full, and flood has the most: refused
	if got := r.waiting("flood"); len(got) != 3 {
		t.Fatalf("flood %v", got)
	}
	// Two more from other: one gets in (other 2, flood 2); then they are
	// even and the conversation is full: refused.
	r.say("other", "c1", "mine2")
	r.say("other", "c1", "mine3")
	if o, f := r.waiting("other"), r.waiting("flood"); len(o) != 2 || len(f) != 2 {
		t.Fatalf("other %v flood %v, want 2 and 2", o, f)
	}
	// The agent's bound across conversations works the same way.
	r.say("flood", "c2", "x1")
	r.say("flood", "c3", "x2")
	r.say("third", "c4", "t1") // 6 waiting: flood has 4, third 0
	if o := r.waiting("third"); len(o) != 1 || len(r.waiting("flood")) != 3 {
		t.Fatalf("third %v flood %v", o, r.waiting("flood"))
	}
	if n := r.f.Waiting("garden"); n != 6 {
		t.Fatalf("%d waiting, want the agent bound 6", n)
	}
	r.flush()
	// Flood was told once in the window (its message dropped), not again
	// when refused; other was told once that the conversation was full.
	if d, f := r.box.count("was dropped to make room"), r.box.count("already waiting here"); d != 1 || f != 1 {
		t.Fatalf("%d drop and %d full notices, want one refusal per person per window: %q", d, f, r.box.sent)
	}
}

// TestIntakeServesLeastRecentlyServedFirst: when a slot frees, the person
// served least recently goes first; one person's messages and one
// conversation's runs keep their order.
func TestIntakeServesLeastRecentlyServedFirst(t *testing.T) {
	r := newIntakeRig(t, AgentSpec{UserRate: Rate{N: -1}, QueueMax: 100, AgentQueueMax: 100})
	for i := range 5 {
		r.say("flood", fmt.Sprint("t", i), fmt.Sprint("f", i)) // Slack: every mention its own thread
	}
	r.say("other", "t9", "o")
	it := r.f.intakes["garden"]
	var order []string
	active := map[string]bool{}
	for {
		q, u := it.next(func(conv string) bool { return !active[conv] })
		if q == nil {
			break
		}
		u.remove(q)
		it.served++
		u.served = it.served
		order = append(order, q.in.Text)
	}
	if strings.Join(order, " ") != "f0 o f1 f2 f3 f4" {
		t.Fatalf("order %v: other should go right after flood's first", order)
	}

	// One conversation: a running conversation's items wait; others go.
	r.say("a", "same", "a1")
	r.say("a", "same", "a2")
	r.say("b", "else", "b1")
	active[bot.Target{Platform: bot.Discord, Space: "g", Channel: "same"}.Key()] = true
	q, _ := it.next(func(conv string) bool { return !active[conv] })
	if q == nil || q.in.Text != "b1" {
		t.Fatalf("next %+v, want b1 while 'same' runs", q)
	}
}

// interruptConn records interrupts.
type interruptConn struct {
	Conn
	got chan struct{}
}

func (c *interruptConn) Interrupt(context.Context) error { c.got <- struct{}{}; return nil }

// TestIntakeSteerInterruptsOffThePath: in steer mode a message for a busy
// conversation interrupts its run on a goroutine of the fleet's, not in
// HandleMessage.
func TestIntakeSteerInterruptsOffThePath(t *testing.T) {
	r := newIntakeRig(t, AgentSpec{Steer: true, UserRate: Rate{N: -1}})
	key := bot.Target{Platform: bot.Discord, Space: "g", Channel: "c1"}.Key()
	c := &interruptConn{got: make(chan struct{}, 1)}
	r.f.mu.Lock()
	r.f.conv(key, "garden").active = true
	r.f.convs["garden|"+key].run = &runState{conn: c}
	r.f.mu.Unlock()
	r.say("alice", "c1", "actually, do this instead")
	<-c.got
	r.f.wg.Wait()
	r.flush()
	if n := r.box.count("Interrupting the current turn"); n != 1 {
		t.Fatalf("notices %q", r.box.sent)
	}
	if got := r.waiting("alice"); len(got) != 1 {
		t.Fatalf("the message should wait for the interrupted run: %v", got)
	}
}

func TestIntakeRemovedAgentDropsWaiting(t *testing.T) {
	r := newIntakeRig(t, AgentSpec{UserRate: Rate{N: -1}})
	r.say("alice", "c1", "one")
	r.say("bob", "c2", "two")
	if err := r.f.SetAgents(nil); err != nil {
		t.Fatal(err)
	}
	r.flush()
	if n := r.box.count("this agent was removed"); n != 2 {
		t.Fatalf("notices %q, want each waiting person told", r.box.sent)
	}
	if len(r.f.intakes) != 0 || len(r.f.convs) != 0 {
		t.Fatalf("left behind: %d intakes, %d conversations", len(r.f.intakes), len(r.f.convs))
	}
}
