package sched

import (
	"fmt"
	"strings"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
)

// maxFailureText bounds the reason shown in a failure report.
const maxFailureText = 300

// report is the chat message for a finished run: on success the schedule
// name, duration, cost and job id above the agent's answer; on failure a
// short line with the job id and reason. Tools denied because no approver
// was reachable are named in both.
func (s *Scheduler) report(sc Schedule, res agents.RunResult, err error, took time.Duration) bot.Message {
	var b strings.Builder
	job := res.Job.ID
	if job == "" {
		job = "none"
	}
	outcome := outcomeOf(res, err)
	if err == nil && outcome == string(agents.JobSucceeded) {
		fmt.Fprintf(&b, "**%s** · %s · %s · job `%s`\n\n", sc.Name, fmtDuration(took), bot.USD(res.Job.CostUSD), job)
		text := strings.TrimSpace(res.Text)
		if text == "" {
			text = "_(no answer)_"
		}
		b.WriteString(text)
	} else {
		fmt.Fprintf(&b, "**%s** %s · %s · job `%s`", sc.Name, failedWord(outcome), fmtDuration(took), job)
		reason := res.Job.Error
		if reason == "" && err != nil {
			reason = err.Error()
		}
		if reason = strings.TrimSpace(s.redact(reason)); reason != "" {
			b.WriteString("\n> " + strings.ReplaceAll(truncate(reason, maxFailureText), "\n", " "))
		}
	}
	if len(res.Denied) > 0 {
		fmt.Fprintf(&b, "\n\n⚠️ Denied, no approver reachable: %s", strings.Join(res.Denied, ", "))
	}
	return bot.Message{Text: b.String()}
}

func failedWord(outcome string) string {
	switch agents.JobStatus(outcome) {
	case agents.JobTimedOut:
		return "timed out"
	case agents.JobCancelled:
		return "was cancelled"
	case agents.JobInterrupted:
		return "was interrupted"
	}
	return "failed"
}

// fmtDuration rounds to a readable precision: 850ms, 12s, 2m13s, 1h4m0s.
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
