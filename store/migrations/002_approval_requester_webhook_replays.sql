-- 002: who asked for an approval (its card names them, and "allow for this session" covers only their
-- messages), and the webhook deliveries already accepted, so that a replay is refused after a restart too.

ALTER TABLE approvals ADD COLUMN requested_by TEXT NOT NULL DEFAULT '';

-- One row per accepted delivery id or signature (key), kept until expires (UTC unix milliseconds).
CREATE TABLE webhook_replays (
	key     TEXT PRIMARY KEY,
	expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX webhook_replays_expires ON webhook_replays (expires);
