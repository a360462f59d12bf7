package agents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/herdbot/herdbot/bot"
)

// broker turns tool requests into approval rows and chat cards, and
// decisions back into control responses. Pending approvals are rows first:
// in memory is only what is needed to answer the live process.
type broker struct {
	f       *Fleet
	mu      sync.Mutex
	pending map[string]*pendingApproval // by approval id
	posting map[string]chan struct{}    // approval id → closed once its card's ref is stored (or posting failed)
}

type pendingApproval struct {
	rs    *runState
	req   PermissionRequest
	row   Approval
	timer *ownedTimer // expires it
	user  string      // the run's requester (userKey), for a session grant and for answering questions
	// Questions (AskUserQuestion), guarded by broker.mu: what was picked
	// so far, and the answered input an allow sends.
	sel    selection
	answer json.RawMessage
}

func newBroker(f *Fleet) *broker {
	return &broker{f: f, pending: map[string]*pendingApproval{}, posting: map[string]chan struct{}{}}
}

// InputHash is the sha256 of a tool input, compacted, hex.
func InputHash(input json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, input); err != nil {
		buf.Reset()
		buf.Write(input)
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:])
}

// request handles a can_use_tool: policy, session grants, then a person.
func (b *broker) request(ctx context.Context, rs *runState, req PermissionRequest) {
	f := b.f
	a := rs.a
	decide := func(d Decision, by, why string) {
		rs.record("approval", map[string]any{"tool": req.ToolName, "decision": d.Verdict, "by": by, "reason": why})
		if err := rs.connDecide(ctx, req.RequestID, d); err != nil {
			f.log.Warn("answer permission request", "job", rs.job.ID, "err", err)
		}
	}
	pol := Policy{Allow: a.spec.Options.AllowedTools, Deny: a.spec.Options.DisallowedTools}
	ask := interactive(req.ToolName) // a question or a plan: a person answers
	switch v, rule := pol.Decide(req.ToolName, req.Input); {
	case v == Denied:
		decide(Decision{Verdict: Denied, Message: "Denied by policy (" + rule + ")."}, "policy", rule)
		return
	case v == Allowed && req.ToolName != ToolAskUserQuestion:
		// A pre-approved tool runs; so does ExitPlanMode when the
		// operator pre-approved leaving plan mode. A question always goes
		// to a person: an allow without answers answers nothing.
		decide(Decision{Verdict: Allowed, Input: req.Input}, "policy", rule)
		return
	}
	if req.ToolName == ToolExitPlanMode && planText(req.Input) == "" {
		// The CLI sends the plan only when the agent wrote a plan file;
		// otherwise the plan is in the model's tool_use. The card shows
		// it, and an approval sends exactly that input back.
		rs.mu.Lock()
		plan := rs.plans[req.ToolUseID]
		rs.mu.Unlock()
		if plan != "" {
			if in, err := json.Marshal(map[string]string{"plan": plan}); err == nil {
				req.Input = in
			}
		}
	}
	hash := InputHash(req.Input)
	user := rs.userKey()
	if sid := rs.job.SessionID; sid != "" && !ask {
		if granted, ok := a.grants.lookup(sid, grant{user: user, tool: req.ToolName, hash: hash}, f.now()); ok {
			decide(Decision{Verdict: Allowed, Input: req.Input}, "session grant", "allowed for this session by approval "+granted)
			f.audit(ctx, AuditEntry{Time: f.now(), Agent: a.spec.Name, Actor: "herdbot",
				Action: "approval.session_grant_used", Subject: granted,
				Detail: fmt.Sprintf(`{"job":%q,"tool":%q,"input_sha256":%q}`, rs.job.ID, req.ToolName, hash)})
			return
		}
	}

	// A person decides: where?
	target, reason := b.cardTarget(rs, req.ToolName == ToolAskUserQuestion)
	f.mu.Lock()
	if f.closing {
		reason = "herdbot is shutting down"
	}
	f.mu.Unlock()
	if reason != "" {
		rs.mu.Lock()
		rs.denied = append(rs.denied, req.ToolName)
		rs.mu.Unlock()
		msg := "Denied: no approver can be reached (" + reason + ")."
		decide(Decision{Verdict: Denied, Message: msg}, "policy", reason)
		f.audit(ctx, AuditEntry{Time: f.now(), Agent: a.spec.Name, Actor: "herdbot",
			Action: "approval.denied_unreachable", Subject: rs.job.ID, Detail: req.ToolName + ": " + reason})
		return
	}

	now := f.now()
	row := Approval{
		ID: newSecretID(), JobID: rs.job.ID, Agent: a.spec.Name, Conversation: target.Key(),
		RequestID: req.RequestID, Tool: req.ToolName, Input: f.red.Bytes(req.Input), InputHash: hash,
		Status: Pending, Requested: now, Expires: now.Add(a.spec.ApprovalTimeout),
	}
	if rs.p.user.ID != "" {
		row.RequestedBy = displayName(rs.p.user)
	}
	if target == (bot.Target{}) {
		row.Conversation = ""
	}
	// The request is live (a decision answers the process) before its row
	// is stored, and so before anyone can decide it: a decision that came
	// between the row and this used to answer nothing, leaving the run
	// waiting until its run timeout (the web dashboard lists a row as soon
	// as it is stored).
	p := &pendingApproval{rs: rs, req: req, row: row, user: user}
	posted := make(chan struct{})
	b.mu.Lock()
	b.pending[row.ID] = p
	b.posting[row.ID] = posted
	rs.mu.Lock()
	rs.pending[req.RequestID] = row.ID
	rs.mu.Unlock()
	p.timer = f.timers.after(a.spec.ApprovalTimeout, func() {
		b.settle(context.Background(), row.ID, Expired, "herdbot", "expired: nobody decided in time")
	})
	b.mu.Unlock()

	defer func() {
		b.mu.Lock()
		delete(b.posting, row.ID)
		b.mu.Unlock()
		close(posted)
	}()
	rs.record("approval_requested", map[string]any{"approval": row.ID, "tool": req.ToolName, "input_sha256": row.InputHash})
	if err := f.approvalRows.CreateApproval(ctx, row); err != nil {
		p.timer.Stop()
		b.mu.Lock()
		delete(b.pending, row.ID)
		b.mu.Unlock()
		rs.mu.Lock()
		delete(rs.pending, req.RequestID)
		rs.mu.Unlock()
		f.log.Error("persist approval; denying", "job", rs.job.ID, "err", err)
		decide(Decision{Verdict: Denied, Message: "Denied: the approval could not be recorded."}, "policy", "store error")
		return
	}
	f.audit(ctx, AuditEntry{Time: now, Agent: a.spec.Name, Actor: "agent:" + a.spec.Name,
		Action: "approval.requested", Subject: row.ID,
		Detail: fmt.Sprintf(`{"job":%q,"tool":%q,"input_sha256":%q,"requested_by":%q}`, rs.job.ID, req.ToolName, row.InputHash, user)})
	if out, ok := f.outbox(a.spec.Name, target); ok {
		msg := card(row, cardOpts{buttons: true, attach: true, session: rs.job.SessionID != "", limit: bot.LimitOf(out)})
		if row.Tool == ToolExitPlanMode {
			// A plan too long for its card goes just before it.
			for _, part := range planParts(row, bot.LimitOf(out)) {
				if _, err := out.Send(ctx, target, bot.Message{Text: part}); err != nil {
					f.log.Warn("post plan", "approval", row.ID, "err", err)
				}
			}
		}
		ref, err := out.Send(ctx, target, msg)
		if err != nil {
			f.log.Warn("post approval card", "approval", row.ID, "err", err)
		} else if refs, err := json.Marshal([]bot.MessageRef{ref}); err != nil {
			f.lost("card_refs", err, "approval", row.ID)
		} else if err := f.approvalRows.SetApprovalRefs(context.WithoutCancel(ctx), row.ID, string(refs)); err != nil {
			// Clicks on this card are then refused (not its card) and
			// its outcome is not shown on it; the CLI can still decide.
			f.lost("card_refs", err, "approval", row.ID)
		} else if cur, err := f.approvalRows.Approval(context.WithoutCancel(ctx), row.ID); err == nil && cur.Status != Pending {
			// Decided (expired, withdrawn, by the CLI) while the card was
			// being posted: the settle found no card to edit, so show the
			// outcome here. One of the two writes comes second and sees
			// the other, so the card is always edited.
			b.editCards(context.WithoutCancel(ctx), cur)
		}
	}
}

// userKey names who started the run, for session grants: "platform:id",
// or "" for runs no chat user started.
func (rs *runState) userKey() string {
	if rs.p.user.ID == "" {
		return ""
	}
	return rs.p.target.Platform + ":" + rs.p.user.ID
}

// consoleTarget is the local console (bot/console's Target).
var consoleTarget = bot.Target{Platform: bot.Console, Channel: "local"}

// cardTarget is where rs's approval cards go: the run's own chat when its
// approvers can decide there. A run no chat message started (the CLI, a
// schedule, a webhook) whose chat cannot take the card goes to the console
// when the agent has console approvers, so the operator sees it; a CLI run
// with neither still waits for `herdbot approve` (zero target), and so does
// any run of an agent with web approvers (they decide on the dashboard)
// when its chat cannot take the card. reason says
// why no approver can decide, or is "".
func (b *broker) cardTarget(rs *runState, question bool) (target bot.Target, reason string) {
	name := rs.a.spec.Name
	t := rs.p.target
	switch {
	case t == (bot.Target{}):
		reason = "this run has no chat target"
	case question && rs.p.trigger == TriggerChat && rs.p.user.ID != "":
		// The person who asked answers the agent's questions, approvers
		// or not.
		if _, ok := b.f.outbox(name, t); !ok {
			reason = "agent " + name + " is not connected to " + t.Platform
		}
	case len(rs.a.spec.Approvers[t.Platform]) == 0:
		reason = "agent " + name + " has no " + t.Platform + " approvers"
	default:
		if _, ok := b.f.outbox(name, t); !ok {
			reason = "agent " + name + " is not connected to " + t.Platform
		}
	}
	if reason != "" && len(rs.a.spec.Approvers[bot.Web]) > 0 {
		// The agent's web approvers decide on the dashboard.
		return bot.Target{}, ""
	}
	if reason == "" || rs.p.trigger == TriggerChat {
		return t, reason
	}
	if len(rs.a.spec.Approvers[bot.Console]) > 0 {
		if _, ok := b.f.outbox(name, consoleTarget); ok {
			return consoleTarget, ""
		}
	}
	if rs.p.trigger == TriggerCLI {
		return bot.Target{}, "" // the operator decides with `herdbot approve`
	}
	return t, reason
}

// IsApprover reports whether user may decide agent's tool requests on
// platform.
func (f *Fleet) IsApprover(agent, platform string, u bot.User) bool {
	a, err := f.agent(agent)
	if err != nil {
		return false
	}
	for _, e := range a.spec.Approvers[platform] {
		if e == "*" || e == u.ID {
			return true
		}
		if role, ok := strings.CutPrefix(e, "role:"); ok && slices.Contains(u.Roles, role) {
			return true
		}
	}
	return false
}

// HandleAction handles a click on an approval card. It implements
// bot.Handler. The click decides only when the clicked message is one of
// the approval's cards (which also pins the guild/team and channel), the
// adapter did not refuse it, and the clicker is an approver; anything else
// is answered privately, changes no card, and is audited like every
// attempt. Stale and expired approvals answer cleanly and the card is
// edited to show the outcome.
func (f *Fleet) HandleAction(ctx context.Context, act bot.Action) bot.ActionResult {
	platform := act.Ref.Target.Platform
	actor := platform + ":" + act.User.ID
	refuse := func(agent, action, subject, why, notice string) bot.ActionResult {
		f.audit(ctx, AuditEntry{Time: f.now(), Agent: agent, Actor: actor, Action: action, Subject: subject,
			Detail: clickDetail(act, why)})
		f.log.Info("approval click refused", "agent", agent, "approval", truncate(act.ApprovalID, 40), "user", act.User.ID, "reason", why)
		return bot.ActionResult{Notice: notice}
	}
	row, err := f.approvalRows.Approval(ctx, act.ApprovalID)
	if err != nil {
		return refuse(act.Agent, "approval.refused_unknown", truncate(act.ApprovalID, 40), "unknown approval",
			"That approval request is unknown (it may be from before a reset); nothing was decided.")
	}
	if act.Agent != "" && row.Agent != act.Agent {
		return refuse(act.Agent, "approval.refused_other_agent", row.ID, "approval of agent "+row.Agent,
			"That approval belongs to another agent; nothing was decided.")
	}
	if act.Refusal != "" {
		return refuse(row.Agent, "approval.refused_space", row.ID, act.Refusal, "Nothing was decided: "+act.Refusal+".")
	}
	if !f.approvals.onCard(ctx, row.ID, act.Ref) {
		return refuse(row.Agent, "approval.refused_wrong_card", row.ID, "the clicked message is not this approval's card",
			"That button does not belong to this approval's card; nothing was decided.")
	}
	if platform == "" {
		platform, _, _ = strings.Cut(row.Conversation, ":")
	}
	if row.Tool == ToolAskUserQuestion {
		return f.answerClick(ctx, act, row, platform, refuse)
	}
	if !f.IsApprover(row.Agent, platform, act.User) {
		return refuse(row.Agent, "approval.refused_not_approver", row.ID, "not an approver",
			"You are not an approver for "+row.Agent+"; nothing was decided.")
	}
	status, ok := ParseChoice(act.Choice)
	if !ok {
		return refuse(row.Agent, "approval.refused_bad_choice", row.ID, "unknown choice",
			"Unknown choice "+truncate(act.Choice, 20)+"; nothing was decided.")
	}
	who := act.User.Name
	if who == "" {
		who = act.User.ID
	}
	res, err := f.approvals.decide(ctx, row, status, actor, who, "")
	return clickResult(res, err, cardOpts{limit: f.limitFor(row.Agent, act.Ref.Target)})
}

// clickDetail is the audit detail of a click.
func clickDetail(act bot.Action, why string) string {
	d, _ := json.Marshal(map[string]string{"choice": truncate(act.Choice, 20), "reason": why,
		"space": act.Ref.Target.Space, "channel": act.Ref.Target.Channel, "thread": act.Ref.Target.Thread,
		"message": act.Ref.ID})
	return string(d)
}

// limitFor is the message limit of agent's chat at t.
func (f *Fleet) limitFor(agent string, t bot.Target) int {
	if out, ok := f.outbox(agent, t); ok {
		return bot.LimitOf(out)
	}
	return 0
}

// onCard reports whether ref is one of approval id's cards. A click can
// arrive before the card's ref is stored (the platform shows the card
// before herdbot has its id), even after the approval was decided: then it
// waits for the post to finish.
func (b *broker) onCard(ctx context.Context, id string, ref bot.MessageRef) bool {
	if ref.ID == "" {
		return false
	}
	for try := 0; try < 2; try++ {
		// Whether the card is still being posted is read before the row:
		// its ref is stored before posting ends, so when posting has
		// ended by now the row read next has the ref. (Read after the
		// row, a post that ended in between looked like a foreign card.)
		b.mu.Lock()
		posted := b.posting[id]
		b.mu.Unlock()
		row, err := b.f.approvalRows.Approval(ctx, id)
		if err != nil {
			return false
		}
		var refs []bot.MessageRef
		_ = json.Unmarshal([]byte(row.Refs), &refs)
		for _, r := range refs {
			if r.ID == ref.ID && r.Target.Platform == ref.Target.Platform && r.Target.Space == ref.Target.Space &&
				r.Target.Channel == ref.Target.Channel && r.Target.Thread == ref.Target.Thread {
				return true
			}
		}
		if posted == nil {
			return false
		}
		wait := b.f.clock.NewTimer(10 * time.Second)
		select {
		case <-posted:
		case <-ctx.Done():
		case <-wait.Chan():
		}
		wait.Stop()
	}
	return false
}

// Decide records a decision made outside chat (the CLI). choice is once,
// session or deny; actor names who decided. Losing a race with a click
// (or expiry) is audited and returns ErrNotPending with the current row.
func (f *Fleet) Decide(ctx context.Context, approvalID, choice, actor, reason string) (Approval, error) {
	row, err := f.approvalRows.Approval(ctx, approvalID)
	if err != nil {
		return Approval{}, fmt.Errorf("approval %s: %w", approvalID, err)
	}
	status, ok := ParseChoice(choice)
	if !ok {
		return row, fmt.Errorf("unknown choice %q: want once, session or deny", choice)
	}
	if row.Tool == ToolAskUserQuestion && status.Allows() {
		return row, errors.New("this is a question for the person in chat: answer it with its buttons there (deny skips it)")
	}
	res, err := f.approvals.decide(ctx, row, status, actor, actor, reason)
	if err == nil || errors.Is(err, ErrNotPending) {
		f.approvals.editCards(ctx, res)
	}
	return res, err
}

// decide moves row to status (compare-and-set in the store) and answers
// the live process. row is the stored approval the decider was shown (a
// card, or `herdbot approve`, renders it): an allow goes through only if
// row shows exactly the input waiting in the process (see shows). A
// decider that loses the race (already decided or expired) gets
// ErrNotPending and an approval.lost audit row.
func (b *broker) decide(ctx context.Context, row Approval, status Verdict, actor, who, reason string) (Approval, error) {
	f := b.f
	now := f.now()
	if row.Status == Pending && now.After(row.Expires) {
		b.settle(ctx, row.ID, Expired, "herdbot", "expired: nobody decided in time")
	}
	res, err := b.settleAs(ctx, row.ID, status, actor, who, reason, &row)
	if errors.Is(err, ErrNotPending) {
		f.audit(ctx, AuditEntry{Time: f.now(), Agent: row.Agent, Actor: actor, Action: "approval.lost",
			Subject: row.ID, Detail: fmt.Sprintf(`{"wanted":%q,"status":%q,"decided_by":%q,"input_sha256":%q}`,
				status, res.Status, res.DecidedBy, row.InputHash)})
	}
	return res, err
}

// settle decides an approval as herdbot (expiry, withdrawal, run end).
func (b *broker) settle(ctx context.Context, id string, status Verdict, actor, reason string) {
	row, err := b.settleAs(ctx, id, status, actor, actor, reason, nil)
	switch {
	case err == nil:
		b.editCards(ctx, row)
	case !errors.Is(err, ErrNotPending):
		// The row stays pending until the next start's Recover expires it.
		b.f.lost("approval_settle", err, "approval", id, "status", status)
	}
}

// errInputChanged refuses an allow whose decider was not shown exactly the
// input that would run.
var errInputChanged = errors.New("the tool input is not the one shown on the card; refusing")

// shows reports whether shown, the stored approval a decider was shown,
// shows exactly input, the input that would run: shown's hash (on every
// card) is input's, and shown's Input (what cards and `herdbot approve`
// render) is input as herdbot masks it for chat. Both are compared again
// at decision time against the input the process waits with, so a stored
// row that shows another input than the one that would run (whatever made
// them differ) is never allowed. When the secrets to mask changed since the
// card was posted (a reload) and the input holds one of them, an allow is
// refused too: the card did not show the input as herdbot shows it now.
func (b *broker) shows(shown Approval, input json.RawMessage) bool {
	return shown.InputHash == InputHash(input) && InputHash(shown.Input) == InputHash(b.f.red.Bytes(input))
}

// settleAs decides approval id. shown is the stored approval the decider
// was shown; an allow needs it and goes through only when it shows
// exactly the input waiting in the process, which then runs as it is.
// herdbot's own settles (expiry, withdrawal) deny and pass nil.
func (b *broker) settleAs(ctx context.Context, id string, status Verdict, actor, who, reason string, shown *Approval) (Approval, error) {
	f := b.f
	allow := status.Allows()
	if allow && shown == nil {
		return Approval{}, fmt.Errorf("approval %s: an allow needs the approval its decider was shown", id)
	}
	b.mu.Lock()
	p := b.pending[id]
	b.mu.Unlock()
	if allow && p != nil && !b.shows(*shown, p.req.Input) {
		f.audit(ctx, AuditEntry{Time: f.now(), Agent: p.row.Agent, Actor: actor, Action: "approval.refused_input_changed",
			Subject: id, Detail: fmt.Sprintf(`{"shown_sha256":%q,"pending_sha256":%q}`, shown.InputHash, InputHash(p.req.Input))})
		return p.row, errInputChanged
	}
	row, err := f.approvalRows.DecideApproval(ctx, id, status, who, reason, f.now())
	if err != nil {
		return row, err
	}
	b.mu.Lock()
	delete(b.pending, id)
	b.mu.Unlock()
	if p != nil {
		p.timer.Stop()
		p.rs.mu.Lock()
		delete(p.rs.pending, p.req.RequestID)
		p.rs.mu.Unlock()
		d := Decision{Verdict: Denied, Message: denyMessage(status, who, reason)}
		if msg, ok := interactiveDeny(p.req.ToolName, status, who); ok {
			d.Message = msg
		}
		if allow { // shows(*shown, p.req.Input) held above
			d = Decision{Verdict: Allowed, Input: p.req.Input}
			b.mu.Lock()
			if p.answer != nil {
				d.Input = p.answer // the question's input with the person's answers
			}
			b.mu.Unlock()
			if status == AllowedSession {
				b.grant(p, row)
			}
		}
		if err := p.rs.connDecide(ctx, p.req.RequestID, d); err != nil {
			f.log.Warn("answer permission request", "approval", id, "err", err)
		}
		p.rs.record("approval_decided", map[string]any{"approval": id, "status": status, "by": who, "reason": reason,
			"input_sha256": row.InputHash})
	}
	f.audit(ctx, AuditEntry{Time: f.now(), Agent: row.Agent, Actor: actor, Action: "approval.decided",
		Subject: id, Detail: fmt.Sprintf(`{"status":%q,"tool":%q,"input_sha256":%q,"reason":%q}`, status, row.Tool, row.InputHash, reason)})
	if f.cfg.Metrics != nil {
		f.cfg.Metrics.ApprovalDecided(row.Agent, string(status), row.DecidedAt.Sub(row.Requested))
	}
	return row, nil
}

func denyMessage(status Verdict, who, reason string) string {
	switch {
	case status == Expired:
		return "Denied: the approval request " + strings.TrimPrefix(reason, "expired: ") + "."
	case reason != "":
		return "Denied by " + who + ": " + reason
	}
	return "Denied by " + who + " in chat."
}

// grant remembers an "allow for this session": the same tool with the
// same input (hash), in the same CLI session, in runs started by the same
// person. It is herdbot's own check (request): the CLI is given no rule
// and asks again, and herdbot answers without a card only for that input.
func (b *broker) grant(p *pendingApproval, row Approval) {
	sid := p.rs.job.SessionID
	if sid == "" {
		return // no session to hold it: the next identical call asks again
	}
	p.rs.a.grants.add(sid, grant{user: p.user, tool: p.req.ToolName, hash: row.InputHash}, row.ID, b.f.now())
}

// withdraw handles control_cancel_request: the CLI no longer waits.
func (b *broker) withdraw(ctx context.Context, rs *runState, requestID string) {
	rs.mu.Lock()
	id := rs.pending[requestID]
	delete(rs.pending, requestID)
	rs.mu.Unlock()
	if id == "" {
		return
	}
	b.mu.Lock()
	p := b.pending[id]
	delete(b.pending, id)
	b.mu.Unlock()
	if p != nil {
		p.timer.Stop()
	}
	row, err := b.f.approvalRows.DecideApproval(ctx, id, Expired, "herdbot", "withdrawn: the agent no longer needs it", b.f.now())
	switch {
	case err == nil:
		b.editCards(ctx, row)
	case !errors.Is(err, ErrNotPending):
		b.f.lost("approval_settle", err, "approval", id, "status", Expired)
	}
}

// endRun expires what a finished run left pending.
func (b *broker) endRun(ctx context.Context, rs *runState) {
	rs.mu.Lock()
	ids := make([]string, 0, len(rs.pending))
	for _, id := range rs.pending {
		ids = append(ids, id)
	}
	rs.mu.Unlock()
	for _, id := range ids {
		b.mu.Lock()
		p := b.pending[id]
		delete(b.pending, id)
		b.mu.Unlock()
		if p != nil {
			p.timer.Stop()
		}
		row, err := b.f.approvalRows.DecideApproval(ctx, id, Expired, "herdbot", "the run ended: "+string(rs.job.Status), b.f.now())
		switch {
		case err == nil:
			b.editCards(ctx, row)
		case !errors.Is(err, ErrNotPending):
			b.f.lost("approval_settle", err, "approval", id, "status", Expired)
		}
	}
}

// cancelWaiting interrupts runs that wait for an approval (shutdown).
func (b *broker) cancelWaiting() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.pending {
		p.rs.cancel(ErrShuttingDown)
	}
}

// editCards shows a decided approval on every card that asked for it.
func (b *broker) editCards(ctx context.Context, row Approval) {
	var refs []bot.MessageRef
	if row.Refs == "" || json.Unmarshal([]byte(row.Refs), &refs) != nil {
		return
	}
	for _, ref := range refs {
		out, ok := b.f.outbox(row.Agent, ref.Target)
		if !ok {
			continue
		}
		if err := out.Edit(ctx, ref, card(row, cardOpts{limit: bot.LimitOf(out)})); err != nil {
			b.f.log.Warn("edit approval card", "approval", row.ID, "err", err)
		}
	}
}

func outcome(a Approval) string {
	at := a.DecidedAt.UTC().Format("15:04:05 MST")
	switch a.Status {
	case Allowed:
		return fmt.Sprintf("✅ Allowed once by %s at %s", a.DecidedBy, at)
	case AllowedSession:
		return fmt.Sprintf("✅ Allowed for this session (this exact input only) by %s at %s", a.DecidedBy, at)
	case Denied:
		s := fmt.Sprintf("🚫 Denied by %s at %s", a.DecidedBy, at)
		if a.Reason != "" {
			s += ": " + a.Reason
		}
		return s
	case Expired:
		return fmt.Sprintf("⌛ %s — denied (%s)", capitalize(a.Reason), at)
	}
	return string(a.Status)
}

func describe(a Approval) string {
	switch a.Status {
	case Allowed:
		return "allowed once by " + a.DecidedBy
	case AllowedSession:
		return "allowed for the session by " + a.DecidedBy
	case Denied:
		return "denied by " + a.DecidedBy
	case Expired:
		return a.Reason
	}
	return string(a.Status)
}

func capitalize(s string) string {
	if s == "" {
		return "Expired"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// connDecide answers the CLI on the run's process.
func (rs *runState) connDecide(ctx context.Context, requestID string, d Decision) error {
	rs.mu.Lock()
	c := rs.conn
	rs.mu.Unlock()
	if c == nil {
		return errors.New("no process")
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return c.Decide(dctx, requestID, d)
}
