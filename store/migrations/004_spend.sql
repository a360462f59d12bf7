-- 004: budgets. Spend is the sum of jobs.cost_usd by agent and start time
-- (jobs_agent_started serves it); /cost sums one conversation's jobs.
-- Prune keeps the cost of the jobs it deletes in spend_pruned for a while,
-- so that deleting old job rows never lowers this month's spend.

CREATE INDEX jobs_agent_conversation ON jobs (agent, conversation, started);

CREATE TABLE spend_pruned (
	agent    TEXT NOT NULL,
	started  INTEGER NOT NULL,
	cost_usd REAL NOT NULL
);
CREATE INDEX spend_pruned_agent_started ON spend_pruned (agent, started);
