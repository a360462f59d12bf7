package agents

import "github.com/herdbot/herdbot/bot"

// Verdict is what was decided about one tool request, by the policy, a
// session grant, a person, the CLI operator or expiry: the state of its
// approval row (Status), the decision the CLI is given (Decision) and the
// policy's answer (Policy.Decide) are all a Verdict.
type Verdict string

// Verdicts. Only Pending can change; Allowed and AllowedSession let the
// call run, every other verdict denies it.
const (
	Pending        Verdict = "pending"         // nobody decided yet: a person is asked
	Allowed        Verdict = "allowed"         // this call, once
	AllowedSession Verdict = "allowed_session" // this call, and the same input again in this session
	Denied         Verdict = "denied"
	Expired        Verdict = "expired" // nobody decided in time, the request was withdrawn or its run ended: denied
)

// Allows reports whether v lets the call run.
func (v Verdict) Allows() bool { return v == Allowed || v == AllowedSession }

var choices = map[string]Verdict{bot.ChoiceOnce: Allowed, bot.ChoiceSession: AllowedSession, bot.ChoiceDeny: Denied}

// ParseChoice returns the verdict of a person's choice (bot.ChoiceOnce,
// bot.ChoiceSession, bot.ChoiceDeny: a button, /approve, herdbot approve).
func ParseChoice(word string) (Verdict, bool) {
	v, ok := choices[word]
	return v, ok
}
