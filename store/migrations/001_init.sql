-- 001: the initial schema. Times are UTC unix milliseconds; NULL is the zero time.

CREATE TABLE conversations (
	agent       TEXT NOT NULL,
	conv_key    TEXT NOT NULL,
	session_id  TEXT NOT NULL DEFAULT '',
	last_active INTEGER,
	PRIMARY KEY (agent, conv_key)
) WITHOUT ROWID;

CREATE TABLE jobs (
	id           TEXT PRIMARY KEY,
	agent        TEXT NOT NULL,
	trigger_kind TEXT NOT NULL DEFAULT '',
	schedule     TEXT NOT NULL DEFAULT '',
	conversation TEXT NOT NULL DEFAULT '',
	prompt       TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL,
	session_id   TEXT NOT NULL DEFAULT '',
	started      INTEGER,
	finished     INTEGER,
	cost_usd     REAL NOT NULL DEFAULT 0,
	turns        INTEGER NOT NULL DEFAULT 0,
	error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX jobs_started ON jobs (started DESC);
CREATE INDEX jobs_agent_started ON jobs (agent, started DESC);
CREATE INDEX jobs_status ON jobs (status);

CREATE TABLE job_events (
	job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	seq    INTEGER NOT NULL,
	time   INTEGER,
	kind   TEXT NOT NULL DEFAULT '',
	data   BLOB,
	PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

CREATE TABLE schedules (
	agent       TEXT NOT NULL,
	name        TEXT NOT NULL,
	last_run    INTEGER,
	next_run    INTEGER,
	last_status TEXT NOT NULL DEFAULT '',
	last_job    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (agent, name)
) WITHOUT ROWID;

-- One row per schedule slot that was claimed: a slot runs at most once, ever.
CREATE TABLE schedule_slots (
	agent   TEXT NOT NULL,
	name    TEXT NOT NULL,
	slot    INTEGER NOT NULL,
	claimed INTEGER NOT NULL,
	PRIMARY KEY (agent, name, slot)
) WITHOUT ROWID;

CREATE TABLE approvals (
	id           TEXT PRIMARY KEY,
	job_id       TEXT NOT NULL DEFAULT '',
	agent        TEXT NOT NULL,
	conversation TEXT NOT NULL DEFAULT '',
	request_id   TEXT NOT NULL DEFAULT '',
	tool         TEXT NOT NULL DEFAULT '',
	input        BLOB,
	input_hash   TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL,
	requested    INTEGER,
	expires      INTEGER,
	decided_by   TEXT NOT NULL DEFAULT '',
	decided_at   INTEGER,
	reason       TEXT NOT NULL DEFAULT '',
	refs         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX approvals_agent_requested ON approvals (agent, requested DESC);
CREATE INDEX approvals_requested ON approvals (requested DESC);
CREATE INDEX approvals_pending ON approvals (requested) WHERE status = 'pending';
CREATE INDEX approvals_job ON approvals (job_id);

CREATE TABLE audit (
	id      INTEGER PRIMARY KEY,
	time    INTEGER NOT NULL,
	agent   TEXT NOT NULL DEFAULT '',
	actor   TEXT NOT NULL DEFAULT '',
	action  TEXT NOT NULL DEFAULT '',
	subject TEXT NOT NULL DEFAULT '',
	detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_agent ON audit (agent, id DESC);
CREATE INDEX audit_action ON audit (action, id DESC);
CREATE INDEX audit_subject ON audit (subject, id DESC);
