-- 002: one row that /healthz rewrites to prove the store can still commit
-- (store.DB.WriteProbe). Nothing else reads or writes it.

CREATE TABLE health_probe (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at INTEGER NOT NULL
);
