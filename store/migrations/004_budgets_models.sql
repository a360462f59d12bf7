-- 004: budgets and /model.
--
-- Spend is the sum of jobs.cost_usd by agent and start time
-- (jobs_agent_started serves it); /cost sums one conversation's jobs.
-- Prune keeps the cost of the jobs it deletes in spend_pruned for a while,
-- so that deleting old job rows never lowers this month's spend.
--
-- conversation_models holds the model an approver chose for a
-- conversation with /model; it outlives the conversation's session
-- (/reset) and restarts.

CREATE INDEX jobs_agent_conversation ON jobs (agent, conversation, started);

CREATE TABLE spend_pruned (
	agent    TEXT NOT NULL,
	started  INTEGER NOT NULL,
	cost_usd REAL NOT NULL
);
CREATE INDEX spend_pruned_agent_started ON spend_pruned (agent, started);

CREATE TABLE conversation_models (
	agent    TEXT NOT NULL,
	conv_key TEXT NOT NULL,
	model    TEXT NOT NULL,
	set_by   TEXT NOT NULL DEFAULT '',
	set_at   INTEGER,
	PRIMARY KEY (agent, conv_key)
) WITHOUT ROWID;
