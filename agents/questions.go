package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/herdbot/herdbot/bot"
)

// Questions and plans. Two of Claude Code's tools ask the person, not for
// permission but for an answer: AskUserQuestion (multiple-choice
// questions) and ExitPlanMode (a plan to approve). They come as
// can_use_tool requests like any tool and are approval rows like any (the
// same broker: row first, card refs, expiry, withdrawal, run end, restart
// recovery, audit), with their own cards:
//
//   - AskUserQuestion: each option is a button; the answer goes back as an
//     allow whose updatedInput is the tool's input plus answers {question
//     text: label} (multi-select labels joined with ", "), which the CLI
//     hands the model as the tool's result. "Skip" denies. The person who
//     started the run may answer, and so may the agent's approvers.
//   - ExitPlanMode: the plan (redacted, split to the platform's limits)
//     with Approve (allow) and Keep planning (deny, with a message that
//     tells the agent to keep planning). Only approvers decide, as for
//     any tool: leaving plan mode lets the agent act.

// Tool names.
const (
	ToolAskUserQuestion = "AskUserQuestion"
	ToolExitPlanMode    = "ExitPlanMode"
)

// Button choices of question and plan cards (besides bot.ChoiceDeny).
const (
	choiceSend    = "send" // send the selected answers (multi-select)
	choicePrefix  = "a"    // a<question>.<option>
	labelApprove  = "Approve plan"
	labelKeep     = "Keep planning"
	labelSkip     = "Skip (don't answer)"
	labelSend     = "Send answers"
	maxLabelRunes = 70
)

// interactive reports whether tool asks the person for an answer.
func interactive(tool string) bool {
	return tool == ToolAskUserQuestion || tool == ToolExitPlanMode
}

// question is one AskUserQuestion question.
type question struct {
	Question    string `json:"question"`
	Header      string `json:"header"`
	MultiSelect bool   `json:"multiSelect"`
	Options     []struct {
		Label       string `json:"label"`
		Description string `json:"description"`
	} `json:"options"`
}

// maxQuestions and maxOptions bound what a card shows (the tool allows 4
// questions of 2-4 options; more is refused as malformed).
const (
	maxQuestions = 4
	maxOptions   = 6
)

// parseQuestions reads an AskUserQuestion input.
func parseQuestions(input json.RawMessage) ([]question, error) {
	var in struct {
		Questions []question `json:"questions"`
	}
	if err := json.Unmarshal(input, &in); err != nil {
		return nil, fmt.Errorf("questions: %w", err)
	}
	if len(in.Questions) == 0 || len(in.Questions) > maxQuestions {
		return nil, fmt.Errorf("%d questions: want 1 to %d", len(in.Questions), maxQuestions)
	}
	for i, q := range in.Questions {
		if strings.TrimSpace(q.Question) == "" || len(q.Options) == 0 || len(q.Options) > maxOptions {
			return nil, fmt.Errorf("question %d: want text and 1 to %d options", i+1, maxOptions)
		}
	}
	return in.Questions, nil
}

// answerChoice is the button choice of option o of question q.
func answerChoice(q, o int) string { return choicePrefix + strconv.Itoa(q) + "." + strconv.Itoa(o) }

// parseAnswerChoice reads answerChoice's output, checked against qs.
func parseAnswerChoice(choice string, qs []question) (q, o int, ok bool) {
	rest, ok := strings.CutPrefix(choice, choicePrefix)
	if !ok {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, 0, false
	}
	q, err1 := strconv.Atoi(a)
	o, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || q < 0 || q >= len(qs) || o < 0 || o >= len(qs[q].Options) ||
		a != strconv.Itoa(q) || b != strconv.Itoa(o) {
		return 0, 0, false
	}
	return q, o, true
}

// selection is what a person picked so far on a question card: per
// question, the options (in order picked; one for single-select).
type selection map[int][]int

func (s selection) toggle(q, o int, multi bool) {
	if !multi {
		s[q] = []int{o}
		return
	}
	for i, x := range s[q] {
		if x == o {
			s[q] = append(s[q][:i:i], s[q][i+1:]...)
			return
		}
	}
	s[q] = append(s[q], o)
}

// complete reports whether every question has an answer.
func (s selection) complete(qs []question) bool {
	for i := range qs {
		if len(s[i]) == 0 {
			return false
		}
	}
	return true
}

// answers is the tool's answers object: question text → label(s).
func (s selection) answers(qs []question) map[string]string {
	out := map[string]string{}
	for i, q := range qs {
		var labels []string
		for _, o := range s[i] {
			labels = append(labels, q.Options[o].Label)
		}
		out[q.Question] = strings.Join(labels, ", ")
	}
	return out
}

// summary is the answers for the row's reason and the card.
func (s selection) summary(qs []question) string {
	var parts []string
	for i, q := range qs {
		var labels []string
		for _, o := range s[i] {
			labels = append(labels, q.Options[o].Label)
		}
		head := q.Header
		if head == "" {
			head = "Q" + strconv.Itoa(i+1)
		}
		parts = append(parts, head+": "+strings.Join(labels, ", "))
	}
	return strings.Join(parts, "; ")
}

// answeredInput is input with answers added: the updatedInput that
// answers AskUserQuestion.
func answeredInput(input json.RawMessage, answers map[string]string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(input, &m); err != nil || m == nil {
		return nil, errors.New("question input is not a JSON object")
	}
	a, err := json.Marshal(answers)
	if err != nil {
		return nil, err
	}
	m["answers"] = a
	return json.Marshal(m)
}

// oneLine makes agent text safe for a one-line chat label.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '`' || r == '*' || r == '_' || r == '~' || r == '|' {
			return ' '
		}
		return r
	}, s)), " ")
	return truncate(s, n)
}

// questionCard renders an AskUserQuestion approval: the questions with
// their options, buttons while it is pending, the answers after.
func questionCard(a Approval, o cardOpts, sel selection) bot.Message {
	qs, err := parseQuestions(a.Input)
	var b strings.Builder
	fmt.Fprintf(&b, "❓ **%s** asks", a.Agent)
	if a.RequestedBy != "" {
		fmt.Fprintf(&b, " (in a run started by %s)", a.RequestedBy)
	}
	b.WriteString(":\n")
	if err != nil {
		b.WriteString("(the question could not be read: " + oneLine(err.Error(), 100) + ")\n")
	}
	for i, q := range qs {
		fmt.Fprintf(&b, "**%d. %s**", i+1, oneLine(q.Question, 300))
		if q.MultiSelect {
			b.WriteString(" (pick one or more)")
		}
		b.WriteString("\n")
		for j, opt := range q.Options {
			mark := "•"
			for _, x := range sel[i] {
				if x == j {
					mark = "☑"
				}
			}
			fmt.Fprintf(&b, "%s %s", mark, oneLine(opt.Label, maxLabelRunes))
			if d := oneLine(opt.Description, 200); d != "" {
				b.WriteString(" — " + d)
			}
			b.WriteString("\n")
		}
	}
	pending := a.Status == Pending
	switch {
	case pending:
		fmt.Fprintf(&b, "Expires %s. The person who started the run or an approver may answer.", a.Expires.UTC().Format("15:04 MST"))
	case a.Status.Allows():
		fmt.Fprintf(&b, "✅ Answered by %s at %s: %s", a.DecidedBy, a.DecidedAt.UTC().Format("15:04:05 MST"), oneLine(a.Reason, 500))
	default:
		b.WriteString(outcome(a))
	}
	m := bot.Message{Text: fitText(b.String(), o.limit)}
	if !o.buttons || !pending || err != nil {
		if o.buttons && pending {
			m.Buttons = []bot.Button{{ApprovalID: a.ID, Choice: bot.ChoiceDeny, Label: labelSkip, Style: bot.StyleDanger}}
		}
		return m
	}
	multi := false
	for i, q := range qs {
		multi = multi || q.MultiSelect
		for j, opt := range q.Options {
			label := oneLine(opt.Label, maxLabelRunes)
			if len(qs) > 1 {
				label = strconv.Itoa(i+1) + ": " + label
			}
			style := bot.StyleDefault
			for _, x := range sel[i] {
				if x == j {
					style = bot.StylePrimary
				}
			}
			m.Buttons = append(m.Buttons, bot.Button{ApprovalID: a.ID, Choice: answerChoice(i, j), Label: truncate(label, maxLabelRunes), Style: style})
		}
	}
	if multi || len(qs) > 1 {
		m.Buttons = append(m.Buttons, bot.Button{ApprovalID: a.ID, Choice: choiceSend, Label: labelSend, Style: bot.StyleSuccess})
	}
	m.Buttons = append(m.Buttons, bot.Button{ApprovalID: a.ID, Choice: bot.ChoiceDeny, Label: labelSkip, Style: bot.StyleDanger})
	return m
}

// planText is the plan an ExitPlanMode input holds.
func planText(input json.RawMessage) string {
	var in struct {
		Plan string `json:"plan"`
	}
	_ = json.Unmarshal(input, &in)
	return in.Plan
}

// planCard renders an ExitPlanMode approval. A plan too long for one
// message is shown in the messages before the card (planParts), and the
// card says so.
func planCard(a Approval, o cardOpts) bot.Message {
	limit := o.limit
	if limit <= 0 {
		limit = 4000
	}
	head := fmt.Sprintf("📋 **%s** has a plan and asks to leave plan mode", a.Agent)
	if a.RequestedBy != "" {
		head += fmt.Sprintf(" (in a run started by %s)", a.RequestedBy)
	}
	head += ":\n"
	var tail string
	if a.Status == Pending {
		tail = fmt.Sprintf("Plan sha256 `%s`. Expires %s. **%s** lets the agent act on it; **%s** tells it to keep planning.",
			shortHash(a.InputHash), a.Expires.UTC().Format("15:04 MST"), labelApprove, labelKeep)
	} else {
		tail = fmt.Sprintf("Plan sha256 `%s`. %s", shortHash(a.InputHash), planOutcome(a))
	}
	plan := planText(a.Input)
	body := plan
	if strings.TrimSpace(plan) == "" {
		body = "(the agent wrote no plan text)"
	}
	m := bot.Message{}
	if utf8.RuneCountInString(head)+utf8.RuneCountInString(body)+utf8.RuneCountInString(tail)+2 <= limit {
		m.Text = head + body + "\n" + tail
	} else {
		m.Text = head + "(the plan is in the messages just above this one)\n" + tail
	}
	if o.buttons && a.Status == Pending {
		m.Buttons = []bot.Button{
			{ApprovalID: a.ID, Choice: bot.ChoiceOnce, Label: labelApprove, Style: bot.StyleSuccess},
			{ApprovalID: a.ID, Choice: bot.ChoiceDeny, Label: labelKeep, Style: bot.StyleDanger},
		}
	}
	return m
}

// planParts is the plan as messages before its card when it does not fit
// in the card; nil when it does.
func planParts(a Approval, limit int) []string {
	if limit <= 0 {
		limit = 4000
	}
	card := planCard(a, cardOpts{limit: limit, buttons: true})
	plan := planText(a.Input)
	if strings.Contains(card.Text, plan) {
		return nil
	}
	return bot.Split(plan, limit)
}

func planOutcome(a Approval) string {
	at := a.DecidedAt.UTC().Format("15:04:05 MST")
	switch a.Status {
	case Allowed, AllowedSession:
		return fmt.Sprintf("✅ Approved by %s at %s", a.DecidedBy, at)
	case Denied:
		return fmt.Sprintf("✏️ %s asked to keep planning at %s", a.DecidedBy, at)
	}
	return outcome(a)
}

// fitText cuts s to limit characters (0: 4,000), marking the cut.
func fitText(s string, limit int) string {
	if limit <= 0 {
		limit = 4000
	}
	if r := []rune(s); len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
}

// interactiveDeny is the message the model gets when a question or plan
// is denied, or nil when tool is not one of them.
func interactiveDeny(tool string, status Verdict, who string) (string, bool) {
	switch tool {
	case ToolAskUserQuestion:
		if status == Expired {
			return "Nobody answered the question in time. Go on without the answer, or ask again later.", true
		}
		return who + " chose not to answer the question. Go on without the answer.", true
	case ToolExitPlanMode:
		if status == Expired {
			return "Nobody approved the plan in time. Stay in plan mode: keep planning, and call ExitPlanMode again when the plan is ready.", true
		}
		return who + " wants you to keep planning: stay in plan mode, refine the plan, and call ExitPlanMode again when it is ready.", true
	}
	return "", false
}

// mayAnswer reports whether the clicker may answer approval row's
// question: the person who started the run, or an approver.
func (f *Fleet) mayAnswer(row Approval, p *pendingApproval, platform string, u bot.User) bool {
	if p != nil && p.user != "" && p.user == platform+":"+u.ID {
		return true
	}
	return f.IsApprover(row.Agent, platform, u)
}

// answerClick handles a click on a question card (HandleAction has checked
// the agent, the adapter's refusal and that the click is on the card).
func (f *Fleet) answerClick(ctx context.Context, act bot.Action, row Approval, platform string, refuse func(agent, action, subject, why, notice string) bot.ActionResult) bot.ActionResult {
	b := f.approvals
	b.mu.Lock()
	p := b.pending[row.ID]
	b.mu.Unlock()
	o := cardOpts{limit: f.limitFor(row.Agent, act.Ref.Target), buttons: true}
	if row.Status != Pending || p == nil {
		c := card(row, cardOpts{limit: o.limit})
		if row.Status == Pending {
			// Pending in the store but not live here (a restart that
			// has not expired it yet): nothing can take the answer.
			return bot.ActionResult{Notice: "That question is no longer waiting for an answer; nothing was sent."}
		}
		return bot.ActionResult{Card: &c, Notice: "This question was already " + describe(row) + "; your click changed nothing."}
	}
	if !f.mayAnswer(row, p, platform, act.User) {
		return refuse(row.Agent, "question.refused_not_allowed", row.ID, "not the requester nor an approver",
			"Only the person who started this run or an approver of "+row.Agent+" may answer; nothing was sent.")
	}
	who := act.User.Name
	if who == "" {
		who = act.User.ID
	}
	actor := platform + ":" + act.User.ID
	if act.Choice == bot.ChoiceDeny {
		res, err := b.decide(ctx, row, Denied, actor, who, "")
		return clickResult(res, err, o)
	}
	qs, err := parseQuestions(p.req.Input)
	if err != nil {
		return refuse(row.Agent, "question.refused_bad_choice", row.ID, "unreadable question", "That question cannot be answered with buttons; nothing was sent.")
	}
	send := act.Choice == choiceSend
	b.mu.Lock()
	if p.sel == nil {
		p.sel = selection{}
	}
	if !send {
		q, opt, ok := parseAnswerChoice(act.Choice, qs)
		if !ok {
			b.mu.Unlock()
			return refuse(row.Agent, "question.refused_bad_choice", row.ID, "unknown choice",
				"Unknown choice "+truncate(act.Choice, 20)+"; nothing was sent.")
		}
		p.sel.toggle(q, opt, qs[q].MultiSelect)
		// A card of single-select questions sends itself once each has
		// an answer; multi-select ones wait for Send.
		multi := false
		for _, q := range qs {
			multi = multi || q.MultiSelect
		}
		send = !multi && p.sel.complete(qs)
	}
	sel := selection{}
	for k, v := range p.sel {
		sel[k] = append([]int(nil), v...)
	}
	b.mu.Unlock()
	if !send {
		c := questionCard(row, o, sel)
		return bot.ActionResult{Card: &c}
	}
	if !sel.complete(qs) {
		c := questionCard(row, o, sel)
		return bot.ActionResult{Card: &c, Notice: "Answer every question first; nothing was sent yet."}
	}
	input, err := answeredInput(p.req.Input, sel.answers(qs))
	if err != nil {
		return bot.ActionResult{Notice: "Could not send the answer: " + err.Error()}
	}
	b.mu.Lock()
	p.answer = input
	b.mu.Unlock()
	res, err := b.decide(ctx, row, Allowed, actor, who, sel.summary(qs))
	return clickResult(res, err, o)
}

// clickResult is the card and notice after a decision from a click.
func clickResult(res Approval, err error, o cardOpts) bot.ActionResult {
	o.buttons = false
	if errors.Is(err, ErrNotPending) {
		c := card(res, o)
		return bot.ActionResult{Card: &c, Notice: "This request was already " + describe(res) + "; your click changed nothing."}
	}
	if err != nil {
		return bot.ActionResult{Notice: "Could not record the decision: " + err.Error()}
	}
	c := card(res, o)
	return bot.ActionResult{Card: &c}
}
