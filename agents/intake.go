package agents

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/herdbot/herdbot/bot"
)

// Chat intake: what happens between a message arriving and its run.
//
//   - Each person has a token bucket per agent (AgentSpec.UserRate): a
//     message without a token is not queued.
//   - Waiting messages are bounded per conversation (QueueMax) and per agent
//     across all its conversations (AgentQueueMax). When a bound is reached,
//     a newcomer who has fewer messages waiting there than the person with
//     the most takes the place of that person's newest one; otherwise the
//     newcomer is refused.
//   - Waiting work is not goroutines: it is a list per person. When a slot
//     frees (AgentSpec.MaxConcurrent), the person served least recently
//     whose oldest runnable message's conversation is idle goes next; a
//     conversation still runs one message at a time, and one person's
//     messages keep their order.
//   - Notices are at most one refusal (rate-limited, queue full, dropped,
//     restarting) and one progress note (queued, interrupting) per person
//     per NoticeEvery, and are sent by a bot.Notifier, never on the inbound
//     path.

// Rate is a token bucket: N messages, refilled at N per Per.
type Rate struct {
	N   int
	Per time.Duration
}

// Intake defaults.
var DefaultUserRate = Rate{N: 10, Per: time.Minute}

const (
	DefaultAgentQueueMax = 50
	DefaultNoticeEvery   = time.Minute
	maxIntakeUsers       = 4096 // people remembered per agent before idle ones are forgotten
)

func (r Rate) String() string { return fmt.Sprintf("%d per %s", r.N, r.Per) }

// intake is one agent's waiting work and its people. Guarded by Fleet.mu.
type intake struct {
	users   map[string]*userState
	waiting int    // chat messages waiting, all conversations
	served  uint64 // dispatches so far
	seq     uint64 // items queued so far
}

// userState is one person's standing with one agent.
type userState struct {
	tokens  float64
	filled  time.Time
	refused time.Time // last refusal notice sent to them
	told    time.Time // last progress notice (queued, interrupting) sent to them
	served  uint64    // intake.served at their last dispatch (0: never)
	queue   []*queued // their waiting work, oldest first
}

// queued is a waiting chat message, or a RunRequest that resumes the
// conversation's session (start set). A RunRequest runs on its requester's
// goroutine, with the requester's context (Fleet.Run): the queue only says
// when.
type queued struct {
	in   bot.Inbound
	user string // intake key of who it is for
	conv string // conversation key
	seq  uint64
	// start is a RunRequest's: dispatch sends the conversation it now
	// runs in (one of the agent's slots taken for it), drain sends nil.
	// Buffered (1): neither waits for the requester.
	start chan *convState
}

// chatUser is the intake key of a message's sender.
func chatUser(in bot.Inbound) string { return in.Target.Platform + ":" + in.User.ID }

func (f *Fleet) intakeOf(agent string) *intake {
	it, ok := f.intakes[agent]
	if !ok {
		it = &intake{users: map[string]*userState{}}
		f.intakes[agent] = it
	}
	return it
}

// user returns key's state, creating it with a full bucket.
func (it *intake) user(key string, r Rate, now time.Time, window time.Duration) *userState {
	u, ok := it.users[key]
	if ok {
		return u
	}
	if len(it.users) >= maxIntakeUsers {
		it.forget(r, now, window)
	}
	u = &userState{tokens: float64(r.N), filled: now}
	it.users[key] = u
	return u
}

// forget drops people with nothing waiting whose bucket is full again and
// who were not told anything within window: keeping them changes nothing.
func (it *intake) forget(r Rate, now time.Time, window time.Duration) {
	for k, u := range it.users {
		if len(u.queue) == 0 && now.Sub(u.refused) >= window && now.Sub(u.told) >= window &&
			(r.N < 0 || u.level(r, now) >= float64(r.N)) {
			delete(it.users, k)
		}
	}
}

// level is u's bucket at now.
func (u *userState) level(r Rate, now time.Time) float64 {
	if el := now.Sub(u.filled); el > 0 && r.Per > 0 {
		return min(float64(r.N), u.tokens+el.Seconds()*float64(r.N)/r.Per.Seconds())
	}
	return u.tokens
}

// take removes a token from u's bucket if there is one.
func (u *userState) take(r Rate, now time.Time) bool {
	if r.N < 0 {
		return true
	}
	u.tokens, u.filled = u.level(r, now), now
	if u.tokens >= 1 {
		u.tokens--
		return true
	}
	return false
}

// count returns how many chat messages u has waiting in conversation conv
// ("" = anywhere), and the newest of them.
func (u *userState) count(conv string) (int, *queued) {
	n := 0
	var newest *queued
	for _, q := range u.queue {
		if q.start == nil && (conv == "" || q.conv == conv) {
			n++
			newest = q
		}
	}
	return n, newest
}

// remove takes q out of u's queue.
func (u *userState) remove(q *queued) bool {
	for i, x := range u.queue {
		if x == q {
			copy(u.queue[i:], u.queue[i+1:])
			u.queue[len(u.queue)-1] = nil
			u.queue = u.queue[:len(u.queue)-1]
			return true
		}
	}
	return false
}

// next returns the work to run next: of the people with runnable work (a
// queued item whose conversation is not running), the one served least
// recently (then the one waiting longest), and their oldest runnable item.
func (it *intake) next(runnable func(conv string) bool) (*queued, *userState) {
	var best *queued
	var bu *userState
	for _, u := range it.users {
		for _, q := range u.queue {
			if !runnable(q.conv) {
				continue
			}
			if best == nil || u.served < bu.served || (u.served == bu.served && q.seq < best.seq) {
				best, bu = q, u
			}
			break
		}
	}
	return best, bu
}

// HandleMessage takes a chat message for its conversation's agent. It
// returns at once and never waits for a chat call: the run's output goes to
// in.Target, notices go through the fleet's notifier. It implements
// bot.Handler.
func (f *Fleet) HandleMessage(ctx context.Context, in bot.Inbound) {
	a, err := f.agent(in.Agent)
	if err != nil {
		f.log.Warn("message for unknown agent", "agent", in.Agent)
		return
	}
	if strings.TrimSpace(in.Text) == "" && len(in.Attachments) == 0 {
		return
	}
	s := a.spec
	now := f.now()
	user, key := chatUser(in), in.Target.Key()
	f.mu.Lock()
	it := f.intakeOf(s.Name)
	u := it.user(user, s.UserRate, now, s.NoticeEvery)
	if f.closing {
		f.noticeLocked(a, in.Target, u, now, "herdbot is restarting; please send that again in a minute.")
		f.mu.Unlock()
		return
	}
	if !u.take(s.UserRate, now) {
		f.noticeLocked(a, in.Target, u, now, fmt.Sprintf("🐢 Slow down, please: %s takes at most %s from each person. "+
			"This message was not queued; send it again in a moment.", s.Name, s.UserRate))
		f.mu.Unlock()
		f.log.Debug("chat message over the user's rate", "agent", s.Name, "user", user)
		return
	}
	if err := checkDeclared(s.Files, in.Attachments); err != nil {
		// Over the file limits by what the platform declared: refused
		// before anything is downloaded (the bucket above bounds these).
		// The audit row is written before the person is told.
		f.mu.Unlock()
		f.audit(ctx, AuditEntry{Time: now, Agent: s.Name, Actor: user, Action: "files.refused", Subject: key, Detail: err.Error()})
		f.post(s.Name, in.Target, err.Error())
		return
	}
	c := f.conv(key, s.Name)
	if c.waiting >= s.QueueMax && !f.evictLocked(a, it, user, key) {
		f.noticeLocked(a, in.Target, u, now, fmt.Sprintf("⏸ %d messages are already waiting here; this one was not queued. "+
			"Try again when the agent has caught up.", c.waiting))
		f.dropConvIfIdleLocked(s.Name, c)
		f.mu.Unlock()
		return
	}
	if it.waiting >= s.AgentQueueMax && !f.evictLocked(a, it, user, "") {
		f.noticeLocked(a, in.Target, u, now, fmt.Sprintf("⏸ %s has %d messages waiting; this one was not queued. "+
			"Try again later.", s.Name, it.waiting))
		f.dropConvIfIdleLocked(s.Name, c)
		f.mu.Unlock()
		return
	}
	it.seq++
	q := &queued{in: in, user: user, conv: key, seq: it.seq}
	u.queue = append(u.queue, q)
	it.waiting++
	c.waiting++
	c.items++
	// Messages of this conversation ahead of this one: those waiting, and
	// the run in progress.
	pos := c.waiting - 1
	if c.active {
		pos++
	}
	running := c.run
	f.dispatchLocked(s.Name)
	if pos > 0 {
		if s.Steer && running != nil {
			if running.interrupting.CompareAndSwap(false, true) {
				f.wg.Go(running.interrupt)
			}
			f.progressLocked(a, in.Target, u, now, "↪ Interrupting the current turn to take your new message.")
		} else {
			f.progressLocked(a, in.Target, u, now, fmt.Sprintf("⏳ Queued — position %d. I'll get to it after the current run.", pos))
		}
	}
	depth := it.waiting
	f.mu.Unlock()
	if f.cfg.Metrics != nil {
		f.cfg.Metrics.QueueDepth(s.Name, depth)
	}
}

// evictLocked makes room for a message from user in conversation conv (""
// = the agent's bound): the person with the most chat messages waiting
// there loses their newest, if they have more than one more than user.
func (f *Fleet) evictLocked(a *agentState, it *intake, user, conv string) bool {
	mine, _ := it.users[user].count(conv)
	var victim *userState
	var vq *queued
	most := 0
	for _, u := range it.users {
		if n, newest := u.count(conv); n > most {
			most, victim, vq = n, u, newest
		}
	}
	if victim == nil || most <= mine+1 {
		return false
	}
	f.unqueueLocked(a.spec.Name, it, victim, vq)
	f.noticeLocked(a, vq.in.Target, victim, f.now(), fmt.Sprintf("⏸ Your newest waiting message (“%s”) was dropped to make room "+
		"for other people's; send it again later.", truncate(strings.Join(strings.Fields(vq.in.Text), " "), 60)))
	f.log.Info("waiting message dropped for fairness", "agent", a.spec.Name, "user", vq.user, "conversation", vq.conv)
	return true
}

// unqueueLocked removes waiting item q of u.
func (f *Fleet) unqueueLocked(agent string, it *intake, u *userState, q *queued) bool {
	if !u.remove(q) {
		return false
	}
	c := f.convs[agent+"|"+q.conv]
	if q.start == nil {
		it.waiting--
		if c != nil {
			c.waiting--
		}
	}
	if c != nil {
		c.items--
		f.dropConvIfIdleLocked(agent, c)
	}
	return true
}

// noticeLocked tells u why a message of theirs will not run, unless they
// were told so within the agent's NoticeEvery. The send happens on the
// notifier's goroutine.
func (f *Fleet) noticeLocked(a *agentState, to bot.Target, u *userState, now time.Time, text string) {
	if !u.refused.IsZero() && now.Sub(u.refused) < a.spec.NoticeEvery {
		return
	}
	u.refused = now
	f.post(a.spec.Name, to, text)
}

// progressLocked tells u that their message waits, at most once per
// NoticeEvery.
func (f *Fleet) progressLocked(a *agentState, to bot.Target, u *userState, now time.Time, text string) {
	if !u.told.IsZero() && now.Sub(u.told) < a.spec.NoticeEvery {
		return
	}
	u.told = now
	f.post(a.spec.Name, to, text)
}

// post sends a notice off the caller's path.
func (f *Fleet) post(agent string, to bot.Target, text string) {
	out, ok := f.outbox(agent, to)
	if !ok {
		return
	}
	f.notices.Post(agent+" notice", func(ctx context.Context) error {
		_, err := out.Send(ctx, to, bot.Message{Text: text})
		return err
	})
}

// dispatchLocked starts waiting work while agent has free slots: fairest
// first (intake.next), one run at a time per conversation.
func (f *Fleet) dispatchLocked(agent string) {
	it := f.intakes[agent]
	if it == nil || f.closing {
		return
	}
	a, err := f.agent(agent)
	if err != nil {
		f.drainLocked(agent, "this agent was removed; the message did not run.")
		return
	}
	for {
		q, u := it.next(func(conv string) bool {
			c := f.convs[agent+"|"+conv]
			return c == nil || !c.active
		})
		if q == nil {
			return
		}
		select {
		case a.slots <- struct{}{}:
		default:
			return // a finishing run dispatches again
		}
		u.remove(q)
		it.served++
		u.served = it.served
		c := f.conv(q.conv, agent)
		c.active = true
		c.items--
		if q.start != nil {
			q.start <- c // its requester runs it (Fleet.Run)
			continue
		}
		c.waiting--
		it.waiting--
		f.wg.Add(1)
		go f.runQueued(a, c, q)
	}
}

// runQueued runs a dispatched chat message with the slot dispatch took
// for it.
func (f *Fleet) runQueued(a *agentState, c *convState, q *queued) {
	defer f.wg.Done()
	defer f.convDone(a, c)
	p := runParams{prompt: q.in.Text, trigger: TriggerChat, target: q.in.Target, convKey: c.key, user: q.in.User, slotHeld: true}
	if len(q.in.Attachments) > 0 {
		var ok bool
		if p, ok = f.takeFiles(context.Background(), a, q.in, p); !ok {
			f.releaseSlot(a)
			return
		}
	}
	if _, err := f.executeConv(context.Background(), a, c, p); err != nil {
		f.log.Debug("chat run ended", "agent", a.spec.Name, "conversation", c.key, "err", err)
	}
}

// runDispatched runs p, a RunRequest that waited in c's queue, on the
// caller's goroutine with the slot dispatch took for it. c nil: the queue
// was drained (shutdown) before it ran.
func (f *Fleet) runDispatched(ctx context.Context, a *agentState, c *convState, p runParams) (RunResult, error) {
	if c == nil {
		return RunResult{}, ErrShuttingDown
	}
	defer f.convDone(a, c)
	if err := ctx.Err(); err != nil {
		f.releaseSlot(a)
		return RunResult{}, err
	}
	p.slotHeld = true
	return f.executeConv(ctx, a, c, p)
}

// convDone ends c's current run: the conversation is idle again (or
// forgotten) and the agent's waiting work is dispatched.
func (f *Fleet) convDone(a *agentState, c *convState) {
	f.mu.Lock()
	c.active, c.run = false, nil
	f.dropConvIfIdleLocked(a.spec.Name, c)
	f.dispatchLocked(a.spec.Name)
	f.mu.Unlock()
}

// releaseSlot frees a slot of a and starts what waits for one.
func (f *Fleet) releaseSlot(a *agentState) {
	<-a.slots
	f.mu.Lock()
	f.dispatchLocked(a.spec.Name)
	f.mu.Unlock()
}

// drainLocked drops every waiting item of agent: chat messages are told
// why (budgeted like every notice), run requests get ErrShuttingDown.
func (f *Fleet) drainLocked(agent, why string) {
	it := f.intakes[agent]
	if it == nil {
		return
	}
	a, _ := f.agent(agent)
	now := f.now()
	for _, u := range it.users {
		for len(u.queue) > 0 {
			q := u.queue[0]
			f.unqueueLocked(agent, it, u, q)
			if q.start != nil {
				q.start <- nil // Fleet.Run returns ErrShuttingDown
				continue
			}
			if a != nil {
				f.noticeLocked(a, q.in.Target, u, now, why)
			} else {
				f.post(agent, q.in.Target, why)
			}
		}
	}
}

// drainAll drops all waiting work (shutdown).
func (f *Fleet) drainAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for agent := range f.intakes {
		f.drainLocked(agent, "herdbot stopped before this message ran; please send it again.")
	}
}

// Waiting returns how many chat messages wait for agent, across its
// conversations, for status and tests.
func (f *Fleet) Waiting(agent string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if it := f.intakes[agent]; it != nil {
		return it.waiting
	}
	return 0
}
