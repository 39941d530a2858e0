-- 0023: Idempotency-Key (every POST of the API) and the observables
-- API's reads.
--
-- One row per (tenant, key): the first request that used the key, what
-- it asked (hashes of its method and path, of its body, and the API key
-- that sent it) and, once answered, the answer (status, the handler's
-- headers, the body) to replay. state 'running' while the first request
-- is served: a second one with the key meanwhile is told so (409). A row
-- is a key's for 24 hours from created_at; older ones count as absent and
-- vigilctl events prune deletes them (idempotency_created).
CREATE TABLE IF NOT EXISTS idempotency_keys (
	tenant_id     VARCHAR(40)     NOT NULL,
	idem_key      VARCHAR(255)    NOT NULL,
	key_id        VARCHAR(40)     NOT NULL,
	target_hash   CHAR(64)        NOT NULL,
	body_hash     CHAR(64)        NOT NULL,
	state         ENUM('running','done') NOT NULL DEFAULT 'running',
	status        SMALLINT UNSIGNED NULL,
	headers       TEXT            NULL,
	body          MEDIUMBLOB      NULL,
	-- 1 when the answer carried a secret shown once (a new API key, a
	-- generated webhook secret): its body is not kept, and a replay says
	-- so instead
	withheld      TINYINT(1)      NOT NULL DEFAULT 0,
	created_at    DATETIME        NOT NULL,
	PRIMARY KEY (tenant_id, idem_key),
	KEY idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- GET /observables/suppressions: a tenant's newest first.
ALTER TABLE observable_suppressions
	ADD INDEX IF NOT EXISTS observable_suppressions_tenant_seq
	    (tenant_id, seq);

-- How many alerts carry each observable, kept by triggers on
-- alert_observables whoever writes it, so that a search's total costs one
-- row, not a count of every alert that carries a common value. A table of
-- its own, like list_counts: a trigger may not update observables, which
-- alert ingest reads in the statement that links an alert to them.
CREATE TABLE IF NOT EXISTS observable_alert_counts (
	tenant_id       VARCHAR(40)     NOT NULL,
	observable_seq  BIGINT UNSIGNED NOT NULL,
	n               BIGINT UNSIGNED NOT NULL,
	PRIMARY KEY (tenant_id, observable_seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE OR REPLACE TRIGGER alert_observables_count_insert
AFTER INSERT ON alert_observables FOR EACH ROW
	INSERT INTO observable_alert_counts (tenant_id, observable_seq, n)
	VALUES (NEW.tenant_id, NEW.observable_seq, 1)
	ON DUPLICATE KEY UPDATE n = n + 1;

CREATE OR REPLACE TRIGGER alert_observables_count_delete
AFTER DELETE ON alert_observables FOR EACH ROW
	UPDATE observable_alert_counts SET n = IF(n > 0, n - 1, 0)
	WHERE tenant_id = OLD.tenant_id AND observable_seq = OLD.observable_seq;

-- The links that existed before the triggers (exact again if run twice;
-- run vigilctl migrate with the API stopped, as for every backfill).
INSERT INTO observable_alert_counts (tenant_id, observable_seq, n)
SELECT tenant_id, observable_seq, COUNT(*) FROM alert_observables
GROUP BY tenant_id, observable_seq
ON DUPLICATE KEY UPDATE n = VALUES(n);
