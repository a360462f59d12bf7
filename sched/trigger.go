package sched

import (
	"context"
	"fmt"
	"time"

	"github.com/herdbot/herdbot/agents"
)

// Trigger runs agent's schedule name now, outside its timing (herdbot
// trigger AGENT --schedule NAME): same request, report and state as a
// scheduled run, with trigger agents.TriggerCLI and no slot claimed. It
// blocks until the run ends and returns ErrUnknownSchedule or ErrBusy
// (a run of it is going) without running. A webhook's prompt template is
// filled from an empty payload.
func (s *Scheduler) Trigger(ctx context.Context, agent, name string) (agents.RunResult, error) {
	e, sc, err := s.lookup(agent, name)
	if err != nil {
		return agents.RunResult{}, err
	}
	if !s.tryBusy(sc.Key()) {
		return agents.RunResult{}, fmt.Errorf("trigger %s: %w", sc.Key(), ErrBusy)
	}
	defer s.unbusy(sc.Key())
	prompt := sc.Prompt
	if sc.Type == TypeWebhook {
		if prompt, err = RenderPrompt(sc.Prompt, []byte("{}"), sc.Fields, nil, 0); err != nil {
			return agents.RunResult{}, fmt.Errorf("trigger %s: %w", sc.Key(), err)
		}
	}
	res, start, err := s.execute(ctx, e, sc, agents.TriggerCLI, prompt, time.Time{})
	s.finish(ctx, e, sc, start, res, err)
	return res, err
}

// runWebhook runs webhook schedule sc (entry e) with prompt (already
// rendered and redacted by the endpoint) and posts the report like a
// scheduled run, with trigger agents.TriggerWebhook. It blocks until the
// run ends. Deliveries may run concurrently; the fleet's cap and
// per-conversation queue order them.
func (s *Scheduler) runWebhook(ctx context.Context, e *entry, sc Schedule, prompt string) (agents.RunResult, error) {
	res, start, err := s.execute(ctx, e, sc, agents.TriggerWebhook, prompt, time.Time{})
	s.finish(ctx, e, sc, start, res, err)
	return res, err
}

func (s *Scheduler) lookup(agent, name string) (*entry, Schedule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[agent+"/"+name]
	if !ok {
		return nil, Schedule{}, fmt.Errorf("schedule %s/%s: %w", agent, name, ErrUnknownSchedule)
	}
	return e, e.s, nil
}
