package store_test

import (
	"time"

	"github.com/herdbot/herdbot/agents"
)

// t0 is a fixed base time with sub-millisecond digits (which are dropped).
var t0 = time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.UTC)

// job returns a job of agent started i minutes after t0.
func job(id, agent string, status agents.JobStatus, i int) agents.Job {
	j := agents.Job{
		ID: id, Agent: agent, Trigger: "chat", Conversation: "discord:g:c", Prompt: "water the plants",
		Status: status, Started: t0.Add(time.Duration(i) * time.Minute),
	}
	if status.Final() {
		j.Finished = j.Started.Add(time.Second)
	}
	return j
}
