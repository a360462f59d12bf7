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

// Approval choices carried in button ids.
const (
	ChoiceOnce    = "once"
	ChoiceSession = "session"
	ChoiceDeny    = "deny"
)

// broker turns tool requests into approval rows and chat cards, and
// decisions back into control responses. Pending approvals are rows first:
// in memory is only what is needed to answer the live process.
type broker struct {
	f       *Fleet
	mu      sync.Mutex
	pending map[string]*pendingApproval // by approval id
}

type pendingApproval struct {
	rs    *runState
	req   PermissionRequest
	row   Approval
	timer *time.Timer
}

func newBroker(f *Fleet) *broker { return &broker{f: f, pending: map[string]*pendingApproval{}} }

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
	decide := func(d Decision, why string) {
		rs.record("approval", map[string]any{"tool": req.ToolName, "decision": d.Behavior, "by": "policy", "reason": why})
		if err := rs.connDecide(ctx, req.RequestID, d); err != nil {
			f.log.Warn("answer permission request", "job", rs.job.ID, "err", err)
		}
	}
	pol := Policy{Allow: a.spec.Options.AllowedTools, Deny: a.spec.Options.DisallowedTools}
	switch v, rule := pol.Decide(req.ToolName, req.Input); v {
	case PolicyDeny:
		decide(Decision{Behavior: Deny, Message: "Denied by policy (" + rule + ")."}, rule)
		return
	case PolicyAllow:
		decide(Decision{Behavior: Allow, Input: req.Input}, rule)
		return
	}
	a.mu.Lock()
	grants := a.grants[rs.job.SessionID]
	a.mu.Unlock()
	if rs.job.SessionID != "" && (Policy{Allow: grants}).allows(req.ToolName, req.Input) {
		decide(Decision{Behavior: Allow, Input: req.Input}, "allowed for this session")
		return
	}

	// A person decides: where?
	target := rs.p.target
	reason := b.unreachable(rs)
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
		decide(Decision{Behavior: Deny, Message: msg}, reason)
		_ = f.cfg.Store.Audit(ctx, AuditEntry{Time: f.now(), Agent: a.spec.Name, Actor: "herdbot",
			Action: "approval.denied_unreachable", Subject: rs.job.ID, Detail: req.ToolName + ": " + reason})
		return
	}

	now := f.now()
	row := Approval{
		ID: newSecretID(), JobID: rs.job.ID, Agent: a.spec.Name, Conversation: target.Key(),
		RequestID: req.RequestID, Tool: req.ToolName, Input: f.red.Bytes(req.Input), InputHash: InputHash(req.Input),
		Status: ApprovalPending, Requested: now, Expires: now.Add(a.spec.ApprovalTimeout),
	}
	if target == (bot.Target{}) {
		row.Conversation = ""
	}
	if err := f.cfg.Store.CreateApproval(ctx, row); err != nil {
		f.log.Error("persist approval; denying", "job", rs.job.ID, "err", err)
		decide(Decision{Behavior: Deny, Message: "Denied: the approval could not be recorded."}, "store error")
		return
	}
	_ = f.cfg.Store.Audit(ctx, AuditEntry{Time: now, Agent: a.spec.Name, Actor: "agent:" + a.spec.Name,
		Action: "approval.requested", Subject: row.ID,
		Detail: fmt.Sprintf(`{"job":%q,"tool":%q,"input_sha256":%q}`, rs.job.ID, req.ToolName, row.InputHash)})
	rs.record("approval_requested", map[string]any{"approval": row.ID, "tool": req.ToolName, "input_sha256": row.InputHash})

	p := &pendingApproval{rs: rs, req: req, row: row}
	b.mu.Lock()
	b.pending[row.ID] = p
	rs.mu.Lock()
	rs.pending[req.RequestID] = row.ID
	rs.mu.Unlock()
	p.timer = time.AfterFunc(a.spec.ApprovalTimeout, func() {
		b.settle(context.Background(), row.ID, ApprovalExpired, "herdbot", "expired: nobody decided in time")
	})
	b.mu.Unlock()

	if out, ok := f.outbox(a.spec.Name, target); ok {
		ref, err := out.Send(ctx, target, card(row, true, ""))
		if err != nil {
			f.log.Warn("post approval card", "approval", row.ID, "err", err)
		} else if refs, err := json.Marshal([]bot.MessageRef{ref}); err == nil {
			_ = f.cfg.Store.SetApprovalRefs(ctx, row.ID, string(refs))
		}
	}
}

func (p Policy) allows(tool string, input json.RawMessage) bool {
	v, _ := p.Decide(tool, input)
	return v == PolicyAllow
}

// unreachable says why no approver can decide for rs, or "".
func (b *broker) unreachable(rs *runState) string {
	if rs.p.trigger == TriggerCLI {
		return "" // the operator decides with `herdbot approve`
	}
	t := rs.p.target
	if t == (bot.Target{}) {
		return "this run has no chat target"
	}
	if len(rs.a.spec.Approvers[t.Platform]) == 0 {
		return "agent " + rs.a.spec.Name + " has no " + t.Platform + " approvers"
	}
	if _, ok := b.f.outbox(rs.a.spec.Name, t); !ok {
		return "agent " + rs.a.spec.Name + " is not connected to " + t.Platform
	}
	return ""
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
// bot.Handler. Unknown, stale and expired approvals answer cleanly and the
// card is edited to show the outcome.
func (f *Fleet) HandleAction(ctx context.Context, act bot.Action) bot.ActionResult {
	row, err := f.cfg.Store.Approval(ctx, act.ApprovalID)
	if err != nil {
		f.log.Info("click on unknown approval", "approval", truncate(act.ApprovalID, 40), "user", act.User.ID)
		gone := bot.Message{Text: "🔐 This approval request is no longer valid."}
		return bot.ActionResult{Card: &gone, Notice: "That approval request is unknown (it may be from before a reset)."}
	}
	if act.Agent != "" && row.Agent != act.Agent {
		return bot.ActionResult{Notice: "That approval belongs to another agent."}
	}
	platform := act.Ref.Target.Platform
	if platform == "" {
		platform, _, _ = strings.Cut(row.Conversation, ":")
	}
	if !f.IsApprover(row.Agent, platform, act.User) {
		_ = f.cfg.Store.Audit(ctx, AuditEntry{Time: f.now(), Agent: row.Agent, Actor: platform + ":" + act.User.ID,
			Action: "approval.refused_not_approver", Subject: row.ID})
		return bot.ActionResult{Notice: "You are not an approver for " + row.Agent + "; nothing was decided."}
	}
	status, ok := choiceStatus(act.Choice)
	if !ok {
		return bot.ActionResult{Notice: "Unknown choice " + truncate(act.Choice, 20) + "."}
	}
	who := act.User.Name
	if who == "" {
		who = act.User.ID
	}
	res, err := f.approvals.decide(ctx, row, status, platform+":"+act.User.ID, who, "")
	c := card(res, false, "")
	if errors.Is(err, ErrNotPending) {
		return bot.ActionResult{Card: &c, Notice: "This request was already " + describe(res) + "."}
	}
	if err != nil {
		return bot.ActionResult{Notice: "Could not record the decision: " + err.Error()}
	}
	return bot.ActionResult{Card: &c}
}

// Decide records a decision made outside chat (the CLI). choice is once,
// session or deny; actor names who decided.
func (f *Fleet) Decide(ctx context.Context, approvalID, choice, actor, reason string) (Approval, error) {
	row, err := f.cfg.Store.Approval(ctx, approvalID)
	if err != nil {
		return Approval{}, fmt.Errorf("approval %s: %w", approvalID, err)
	}
	status, ok := choiceStatus(choice)
	if !ok {
		return row, fmt.Errorf("unknown choice %q: want once, session or deny", choice)
	}
	res, err := f.approvals.decide(ctx, row, status, actor, actor, reason)
	if err == nil || errors.Is(err, ErrNotPending) {
		f.approvals.editCards(ctx, res)
	}
	return res, err
}

func choiceStatus(choice string) (ApprovalStatus, bool) {
	switch choice {
	case ChoiceOnce:
		return ApprovalAllowed, true
	case ChoiceSession:
		return ApprovalAllowSession, true
	case ChoiceDeny:
		return ApprovalDenied, true
	}
	return "", false
}

// decide moves row to status (compare-and-set in the store) and answers
// the live process.
func (b *broker) decide(ctx context.Context, row Approval, status ApprovalStatus, actor, who, reason string) (Approval, error) {
	f := b.f
	now := f.now()
	if row.Status == ApprovalPending && now.After(row.Expires) {
		b.settle(ctx, row.ID, ApprovalExpired, "herdbot", "expired: nobody decided in time")
		cur, err := f.cfg.Store.Approval(ctx, row.ID)
		if err != nil {
			return row, err
		}
		return cur, ErrNotPending
	}
	return b.settleAs(ctx, row.ID, status, actor, who, reason)
}

// settle decides an approval as herdbot (expiry, withdrawal, run end).
func (b *broker) settle(ctx context.Context, id string, status ApprovalStatus, actor, reason string) {
	row, err := b.settleAs(ctx, id, status, actor, actor, reason)
	if err == nil {
		b.editCards(ctx, row)
	}
}

func (b *broker) settleAs(ctx context.Context, id string, status ApprovalStatus, actor, who, reason string) (Approval, error) {
	f := b.f
	b.mu.Lock()
	p := b.pending[id]
	b.mu.Unlock()
	// Bind the decision to the exact input that is pending.
	if p != nil && InputHash(p.req.Input) != p.row.InputHash {
		return p.row, errors.New("tool input changed since the request; refusing")
	}
	row, err := f.cfg.Store.DecideApproval(ctx, id, status, who, reason, f.now())
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
		d := Decision{Behavior: Deny, Message: denyMessage(status, who, reason)}
		switch status {
		case ApprovalAllowed:
			d = Decision{Behavior: Allow, Input: p.req.Input}
		case ApprovalAllowSession:
			d = Decision{Behavior: AllowSession, Input: p.req.Input, Suggestions: ruleSuggestions(p.req.Suggestions)}
			b.grant(p)
		}
		if err := p.rs.connDecide(ctx, p.req.RequestID, d); err != nil {
			f.log.Warn("answer permission request", "approval", id, "err", err)
		}
		p.rs.record("approval_decided", map[string]any{"approval": id, "status": status, "by": who, "reason": reason})
	}
	_ = f.cfg.Store.Audit(ctx, AuditEntry{Time: f.now(), Agent: row.Agent, Actor: actor, Action: "approval.decided",
		Subject: id, Detail: fmt.Sprintf(`{"status":%q,"tool":%q,"input_sha256":%q,"reason":%q}`, status, row.Tool, row.InputHash, reason)})
	if f.cfg.Metrics != nil {
		f.cfg.Metrics.ApprovalDecided(row.Agent, string(status), row.DecidedAt.Sub(row.Requested))
	}
	return row, nil
}

func denyMessage(status ApprovalStatus, who, reason string) string {
	switch {
	case status == ApprovalExpired:
		return "Denied: the approval request " + strings.TrimPrefix(reason, "expired: ") + "."
	case reason != "":
		return "Denied by " + who + ": " + reason
	}
	return "Denied by " + who + " in chat."
}

// grant remembers an allow-for-session rule so later processes of the same
// session (ephemeral containers) are not asked again.
func (b *broker) grant(p *pendingApproval) {
	rule := p.req.ToolName
	if s := primary(p.req.ToolName, p.req.Input); s != "" && !strings.ContainsAny(s, "()") {
		rule = p.req.ToolName + "(" + s + ")"
	}
	a := p.rs.a
	a.mu.Lock()
	defer a.mu.Unlock()
	sid := p.rs.job.SessionID
	if !slices.Contains(a.grants[sid], rule) {
		a.grants[sid] = append(a.grants[sid], rule)
	}
}

// ruleSuggestions keeps only the CLI's addRules suggestions: "allow for
// this session" must not switch the session's permission mode or add
// directories.
func ruleSuggestions(raw json.RawMessage) json.RawMessage {
	var all []map[string]any
	if json.Unmarshal(raw, &all) != nil {
		return nil
	}
	var keep []map[string]any
	for _, s := range all {
		if s["type"] == "addRules" && s["behavior"] == "allow" {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	out, _ := json.Marshal(keep)
	return out
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
	row, err := b.f.cfg.Store.DecideApproval(ctx, id, ApprovalExpired, "herdbot", "withdrawn: the agent no longer needs it", b.f.now())
	if err == nil {
		b.editCards(ctx, row)
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
		if row, err := b.f.cfg.Store.DecideApproval(ctx, id, ApprovalExpired, "herdbot", "the run ended: "+string(rs.job.Status), b.f.now()); err == nil {
			b.editCards(ctx, row)
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

func (b *broker) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.pending {
		p.timer.Stop()
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
		if err := out.Edit(ctx, ref, card(row, false, "")); err != nil {
			b.f.log.Warn("edit approval card", "approval", row.ID, "err", err)
		}
	}
}

// card renders an approval; with buttons while pending.
func card(a Approval, buttons bool, note string) bot.Message {
	var s strings.Builder
	fmt.Fprintf(&s, "🔐 **%s** wants to use **%s**\n", a.Agent, a.Tool)
	if in := summarize(a.Input, 300); in != "" {
		fmt.Fprintf(&s, "```\n%s\n```\n", strings.ReplaceAll(in, "```", "ʼʼʼ"))
	}
	if a.Status == ApprovalPending {
		fmt.Fprintf(&s, "Expires %s · \"Allow for this session\" covers only this conversation's session.", a.Expires.UTC().Format("15:04 MST"))
	} else {
		s.WriteString(outcome(a))
	}
	if note != "" {
		s.WriteString("\n" + note)
	}
	m := bot.Message{Text: s.String()}
	if buttons && a.Status == ApprovalPending {
		m.Buttons = []bot.Button{
			{ApprovalID: a.ID, Choice: ChoiceOnce, Label: "Allow once", Style: bot.StyleSuccess},
			{ApprovalID: a.ID, Choice: ChoiceSession, Label: "Allow for this session", Style: bot.StylePrimary},
			{ApprovalID: a.ID, Choice: ChoiceDeny, Label: "Deny", Style: bot.StyleDanger},
		}
	}
	return m
}

func outcome(a Approval) string {
	at := a.DecidedAt.UTC().Format("15:04:05 MST")
	switch a.Status {
	case ApprovalAllowed:
		return fmt.Sprintf("✅ Allowed once by %s at %s", a.DecidedBy, at)
	case ApprovalAllowSession:
		return fmt.Sprintf("✅ Allowed for this session by %s at %s", a.DecidedBy, at)
	case ApprovalDenied:
		s := fmt.Sprintf("🚫 Denied by %s at %s", a.DecidedBy, at)
		if a.Reason != "" {
			s += ": " + a.Reason
		}
		return s
	case ApprovalExpired:
		return fmt.Sprintf("⌛ %s — denied (%s)", capitalize(a.Reason), at)
	}
	return string(a.Status)
}

func describe(a Approval) string {
	switch a.Status {
	case ApprovalAllowed:
		return "allowed once by " + a.DecidedBy
	case ApprovalAllowSession:
		return "allowed for the session by " + a.DecidedBy
	case ApprovalDenied:
		return "denied by " + a.DecidedBy
	case ApprovalExpired:
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
