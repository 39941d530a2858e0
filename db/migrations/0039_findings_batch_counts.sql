-- 0039: what the AFTER triggers on findings keep (finding_counts 0005,
-- finding_resources and finding_tenant_counts 0014, finding_tags 0026,
-- finding_due_counts 0034, finding_rule_counts 0035, finding_daily 0037)
-- kept once per batch, set-based, for the scanner's and importer's batch
-- writer (findings_observe_batch in src/domain/findings.c), and per row
-- by the same triggers for every other writer, as before.
--
-- Why: a first scan's batch of 256 new findings fired some 1,500 single-
-- row statements from these triggers, most of them upserts of the same
-- few hot counter rows (one finding_counts row per state, severity,
-- category, subscription and environment), about half the server's CPU
-- of the scan. Here a batch costs one grouped upsert per counter table.
--
-- How: the writer calls findings_batch_begin, which sets the session
-- variable @vigil_batch that the triggers below test (while it is set
-- they do nothing), and copies the rows it is about to write, as they
-- are, into a temporary table. It then writes its rows (a multi-row
-- INSERT ... ON DUPLICATE KEY UPDATE), copies them again as they now are,
-- and calls findings_batch_end, which applies the difference between the
-- two copies to each counter table and clears @vigil_batch. All in the writer's transaction: a rollback takes
-- the counts back with the rows. The BEFORE triggers (0034, the due
-- dates) still run for every row; the DELETE triggers are unchanged (the
-- batch writer deletes nothing).
--
-- A count means what it meant: the procedures below compute the same
-- keys from the same columns as the triggers (test_batchcounts.py
-- compares every counter table with a recount of the rows after scans,
-- rescans with every kind of change, imports and a rollback).
--
-- The triggers are restated here for databases that ran the migrations
-- before this one; those migrations carry the same guarded text, so that
-- running one of them again (as a backfill) cannot bring an unguarded
-- trigger back beside the batch's own counting.
--
-- Upgrades: a writer uses this path only when this migration is applied
-- (schema_migrations 0039, read in the batch's transaction), so a new
-- vigil-scan against the old schema leaves the counting to the old
-- triggers, and an old one against this schema never sets @vigil_batch,
-- so the triggers count for it. The writer clears @vigil_batch itself
-- when a batch fails between begin and end (the connection is then
-- reused).

DELIMITER $$
CREATE OR REPLACE TRIGGER findings_count_insert AFTER INSERT ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL THEN
		INSERT INTO finding_counts VALUES (NEW.tenant_id, NEW.state,
		    NEW.severity, NEW.category, NEW.subscription_id,
		    NEW.environment, 1)
		ON DUPLICATE KEY UPDATE n = n + 1;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_count_update AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    OLD.state <=> NEW.state AND OLD.severity <=> NEW.severity AND
	    OLD.category <=> NEW.category AND
	    OLD.subscription_id <=> NEW.subscription_id AND
	    OLD.environment <=> NEW.environment) THEN
		UPDATE finding_counts SET n = n - 1
		 WHERE tenant_id = OLD.tenant_id AND state = OLD.state AND
		    severity = OLD.severity AND category = OLD.category AND
		    subscription_id = OLD.subscription_id AND
		    environment = OLD.environment;
		INSERT INTO finding_counts VALUES (NEW.tenant_id, NEW.state,
		    NEW.severity, NEW.category, NEW.subscription_id,
		    NEW.environment, 1)
		ON DUPLICATE KEY UPDATE n = n + 1;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_resource_insert AFTER INSERT ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NEW.state = 'open' THEN
		CALL finding_resource_open(NEW.tenant_id, NEW.resource_id);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_resource_update AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    OLD.resource_id <=> NEW.resource_id AND
	    (OLD.state = 'open') <=> (NEW.state = 'open')) THEN
		IF OLD.state = 'open' THEN
			CALL finding_resource_close(OLD.tenant_id,
			    OLD.resource_id);
		END IF;
		IF NEW.state = 'open' THEN
			CALL finding_resource_open(NEW.tenant_id,
			    NEW.resource_id);
		END IF;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_tags_insert AFTER INSERT ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NEW.tags <> '{}' THEN
		INSERT IGNORE INTO finding_tags
		SELECT NEW.tenant_id, k.k, v.v, NEW.seq
		  FROM JSON_TABLE(JSON_KEYS(NEW.tags), '$[*]'
		    COLUMNS (n FOR ORDINALITY, k VARCHAR(256) PATH '$')) k
		  JOIN JSON_TABLE(NEW.tags, '$.*'
		    COLUMNS (n FOR ORDINALITY, v VARCHAR(256) PATH '$')) v
		 USING (n);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_tags_update AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NOT (OLD.tags <=> NEW.tags) THEN
		DELETE FROM finding_tags WHERE finding_seq = OLD.seq;
		INSERT IGNORE INTO finding_tags
		SELECT NEW.tenant_id, k.k, v.v, NEW.seq
		  FROM JSON_TABLE(JSON_KEYS(NEW.tags), '$[*]'
		    COLUMNS (n FOR ORDINALITY, k VARCHAR(256) PATH '$')) k
		  JOIN JSON_TABLE(NEW.tags, '$.*'
		    COLUMNS (n FOR ORDINALITY, v VARCHAR(256) PATH '$')) v
		 USING (n);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_due_count_insert AFTER INSERT ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NEW.due_at IS NOT NULL THEN
		INSERT INTO finding_due_counts VALUES (NEW.tenant_id,
		    DATE(NEW.due_at), NEW.severity, 1)
		ON DUPLICATE KEY UPDATE n = n + 1;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_due_count_update AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    DATE(OLD.due_at) <=> DATE(NEW.due_at) AND
	    OLD.severity <=> NEW.severity) THEN
		IF OLD.due_at IS NOT NULL THEN
			UPDATE finding_due_counts SET n = n - 1
			 WHERE tenant_id = OLD.tenant_id AND
			    due_day = DATE(OLD.due_at) AND
			    severity = OLD.severity;
		END IF;
		IF NEW.due_at IS NOT NULL THEN
			INSERT INTO finding_due_counts VALUES (NEW.tenant_id,
			    DATE(NEW.due_at), NEW.severity, 1)
			ON DUPLICATE KEY UPDATE n = n + 1;
		END IF;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_rule_count_insert AFTER INSERT ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL THEN
		INSERT INTO finding_rule_counts VALUES (NEW.tenant_id,
		    NEW.rule_id, NEW.state, 1)
		ON DUPLICATE KEY UPDATE n = n + 1;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_rule_count_update AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    OLD.rule_id <=> NEW.rule_id AND OLD.state <=> NEW.state) THEN
		UPDATE finding_rule_counts SET n = n - 1
		 WHERE tenant_id = OLD.tenant_id AND rule_id = OLD.rule_id AND
		    state = OLD.state;
		INSERT INTO finding_rule_counts VALUES (NEW.tenant_id,
		    NEW.rule_id, NEW.state, 1)
		ON DUPLICATE KEY UPDATE n = n + 1;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_daily_resolved AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	DECLARE v_tracked, v_within INT DEFAULT 0;

	IF @vigil_batch IS NULL AND NEW.state = 'resolved' AND
	    NOT (OLD.state <=> 'resolved') AND NEW.resolved_at IS NOT NULL THEN
		SET v_tracked = OLD.due_at IS NOT NULL OR OLD.sla_left_s IS NOT NULL;
		SET v_within = (OLD.due_at IS NOT NULL AND
		    NEW.resolved_at <= OLD.due_at) OR (OLD.due_at IS NULL AND
		    OLD.sla_left_s IS NOT NULL AND OLD.sla_left_s >= 0);
		INSERT INTO finding_daily (tenant_id, day, severity, resolved,
		    resolve_seconds, resolved_sla, resolved_in_sla)
		VALUES (NEW.tenant_id, DATE(NEW.resolved_at), NEW.severity, 1,
		    GREATEST(0, TIMESTAMPDIFF(SECOND, NEW.detected_at,
		    NEW.resolved_at)), v_tracked, v_within)
		ON DUPLICATE KEY UPDATE resolved = resolved + 1,
		    resolve_seconds = resolve_seconds + GREATEST(0,
		    TIMESTAMPDIFF(SECOND, NEW.detected_at, NEW.resolved_at)),
		    resolved_sla = resolved_sla + v_tracked,
		    resolved_in_sla = resolved_in_sla + v_within;
	END IF;
END
$$

-- Ready for a batch: the session's temporary tables that hold its rows
-- before and after its writes, emptied, and the triggers told to stand
-- aside. The writer then fills findings_batch_old with the rows it is
-- about to write as they are stored (SQL_FINDING_BATCH_OLD in
-- src/db/db.c: a multi-row IN list on the tenant's unique id index; a
-- join with the ids from a JSON array let MariaDB walk the tenant's rows
-- for each id while its statistics still said the tenant was small, as
-- in a first scan); a finding not stored yet has no row there. Temporary
-- tables are the session's own (nothing replicated, no other session
-- sees them), MEMORY ones are not even written to a page, and CREATE
-- TEMPORARY TABLE does not end the transaction.
CREATE OR REPLACE PROCEDURE findings_batch_begin()
BEGIN
	CREATE TEMPORARY TABLE IF NOT EXISTS findings_batch_old (
		id               VARCHAR(127)  NOT NULL,
		seq              BIGINT UNSIGNED NOT NULL,
		state            VARCHAR(16)   NOT NULL,
		severity         VARCHAR(16)   NOT NULL,
		category         VARCHAR(32)   NOT NULL,
		subscription_id  VARCHAR(64)   NOT NULL,
		environment      VARCHAR(32)   NOT NULL,
		rule_id          VARCHAR(128)  NOT NULL,
		resource_hash    BINARY(32)    NOT NULL,
		due_at           DATETIME      NULL,
		sla_left_s       BIGINT        NULL,
		detected_at      DATETIME      NOT NULL,
		resolved_at      DATETIME      NULL,
		tags_hash        BINARY(32)    NOT NULL,
		PRIMARY KEY (id)
	) ENGINE=MEMORY DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
	CREATE TEMPORARY TABLE IF NOT EXISTS findings_batch_new
	    LIKE findings_batch_old;
	CREATE TEMPORARY TABLE IF NOT EXISTS findings_batch_res (
		resource_hash  BINARY(32) NOT NULL,
		d              BIGINT     NOT NULL,
		PRIMARY KEY (resource_hash)
	) ENGINE=MEMORY;
	DELETE FROM findings_batch_old;
	DELETE FROM findings_batch_new;
	SET @vigil_batch = 1;
END
$$

-- After the writes, the writer fills findings_batch_new with the same
-- rows as they now are (SQL_FINDING_BATCH_NEW); each counter table is
-- then moved by the difference, grouped by its key: one statement per table, only the keys
-- whose count changes. What each trigger did per row, for a batch:
--   finding_counts, finding_rule_counts, finding_due_counts: -1 for the
--     old row's key, +1 for the new row's (a key that did not change
--     nets 0 and is not written).
--   finding_resources: the same for open findings per resource; a
--     resource's row that the batch creates counts one more resource in
--     finding_tenant_counts, one the batch takes to 0 is deleted and
--     counts one fewer.
--   finding_tags: a row whose tags changed loses its old tag rows and
--     gets its new ones; a new row gets its tags.
--   finding_daily: a stored row that becomes resolved adds its day's
--     resolution (the SLA columns from the row before: the BEFORE
--     trigger clears due_at as it resolves).
CREATE OR REPLACE PROCEDURE findings_batch_end(IN t VARCHAR(40))
BEGIN
	DECLARE v BIGINT DEFAULT 0;

	INSERT INTO finding_counts (tenant_id, state, severity, category,
	    subscription_id, environment, n)
	SELECT t, state, severity, category, subscription_id, environment,
	    SUM(d) FROM (
		SELECT state, severity, category, subscription_id,
		    environment, -1 AS d FROM findings_batch_old
		UNION ALL
		SELECT state, severity, category, subscription_id,
		    environment, 1 FROM findings_batch_new) x
	 GROUP BY state, severity, category, subscription_id, environment
	HAVING SUM(d) <> 0
	ON DUPLICATE KEY UPDATE n = n + VALUES(n);

	INSERT INTO finding_rule_counts (tenant_id, rule_id, state, n)
	SELECT t, rule_id, state, SUM(d) FROM (
		SELECT rule_id, state, -1 AS d FROM findings_batch_old
		UNION ALL
		SELECT rule_id, state, 1 FROM findings_batch_new) x
	 GROUP BY rule_id, state HAVING SUM(d) <> 0
	ON DUPLICATE KEY UPDATE n = n + VALUES(n);

	INSERT INTO finding_due_counts (tenant_id, due_day, severity, n)
	SELECT t, due_day, severity, SUM(d) FROM (
		SELECT DATE(due_at) AS due_day, severity, -1 AS d
		  FROM findings_batch_old WHERE due_at IS NOT NULL
		UNION ALL
		SELECT DATE(due_at), severity, 1
		  FROM findings_batch_new WHERE due_at IS NOT NULL) x
	 GROUP BY due_day, severity HAVING SUM(d) <> 0
	ON DUPLICATE KEY UPDATE n = n + VALUES(n);

	DELETE FROM findings_batch_res;
	INSERT INTO findings_batch_res
	SELECT resource_hash, SUM(d) FROM (
		SELECT resource_hash, -1 AS d
		  FROM findings_batch_old WHERE state = 'open'
		UNION ALL
		SELECT resource_hash, 1
		  FROM findings_batch_new WHERE state = 'open') x
	 GROUP BY resource_hash HAVING SUM(d) <> 0;
	INSERT INTO finding_resources (tenant_id, resource_hash, n)
	SELECT t, resource_hash, d FROM findings_batch_res
	ON DUPLICATE KEY UPDATE n = n + VALUES(n);
	-- Our own upsert holds these rows, so the read sees their latest n:
	-- a row whose n is this batch's positive difference did not exist
	-- before (a row exists only while n > 0).
	SELECT COALESCE(SUM(b.d > 0 AND r.n = b.d), 0) -
	    COALESCE(SUM(r.n <= 0), 0) INTO v
	  FROM findings_batch_res b
	  JOIN finding_resources r ON r.tenant_id = t AND
	    r.resource_hash = b.resource_hash;
	DELETE r FROM finding_resources r
	  JOIN findings_batch_res b ON r.tenant_id = t AND
	    r.resource_hash = b.resource_hash
	 WHERE r.n <= 0;
	IF v <> 0 THEN
		INSERT INTO finding_tenant_counts VALUES (t, v)
		ON DUPLICATE KEY UPDATE open_resources = open_resources + v;
	END IF;

	DELETE g FROM findings_batch_old o
	  JOIN findings_batch_new n ON n.id = o.id
	  JOIN finding_tags g ON g.finding_seq = o.seq
	 WHERE NOT (o.tags_hash <=> n.tags_hash);
	INSERT IGNORE INTO finding_tags
	SELECT t, k.k, w.w, n.seq
	  FROM findings_batch_new n
	  LEFT JOIN findings_batch_old o ON o.id = n.id
	  JOIN findings f ON f.seq = n.seq
	  JOIN JSON_TABLE(JSON_KEYS(f.tags), '$[*]'
	    COLUMNS (i FOR ORDINALITY, k VARCHAR(256) PATH '$')) k
	  JOIN JSON_TABLE(f.tags, '$.*'
	    COLUMNS (i FOR ORDINALITY, w VARCHAR(256) PATH '$')) w
	    ON w.i = k.i
	 WHERE n.tags_hash <> UNHEX(SHA2('{}', 256)) AND
	    (o.id IS NULL OR NOT (o.tags_hash <=> n.tags_hash));

	INSERT INTO finding_daily (tenant_id, day, severity, resolved,
	    resolve_seconds, resolved_sla, resolved_in_sla)
	SELECT t, DATE(n.resolved_at), n.severity, COUNT(*),
	    SUM(GREATEST(0, TIMESTAMPDIFF(SECOND, n.detected_at,
	    n.resolved_at))),
	    SUM(o.due_at IS NOT NULL OR o.sla_left_s IS NOT NULL),
	    SUM((o.due_at IS NOT NULL AND n.resolved_at <= o.due_at) OR
	    (o.due_at IS NULL AND o.sla_left_s IS NOT NULL AND
	    o.sla_left_s >= 0))
	  FROM findings_batch_old o
	  JOIN findings_batch_new n ON n.id = o.id
	 WHERE n.state = 'resolved' AND
	    NOT (o.state <=> 'resolved') AND n.resolved_at IS NOT NULL
	 GROUP BY DATE(n.resolved_at), n.severity
	ON DUPLICATE KEY UPDATE resolved = resolved + VALUES(resolved),
	    resolve_seconds = resolve_seconds + VALUES(resolve_seconds),
	    resolved_sla = resolved_sla + VALUES(resolved_sla),
	    resolved_in_sla = resolved_in_sla + VALUES(resolved_in_sla);

	SET @vigil_batch = NULL;
END
$$
DELIMITER ;
