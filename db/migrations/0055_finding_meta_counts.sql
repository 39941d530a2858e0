-- migrate: restates triggers (run again after any older migration)
-- 0055: the totals of GET /findings with one resource metadata filter
-- (resource_type, resource_group, region, source) or a tag, beside state
-- and severity, kept as finding_counts is: one row per (tenant, value,
-- state, severity), moved in the transaction of every write of findings
-- by the findings triggers for single writes and by the batch writer's
-- end of batch (findings_batch_end, 0039's scheme) for scans and
-- imports. Before, these totals were counted among at most 10,000
-- matches (1,000 for a tag) on every request: 6-9 ms of CPU at 1,000,000
-- findings, and an answer with no match (a state none of the filter's
-- findings has) walked the filter's whole range (README, Reads at a
-- million rows).
--
-- finding_meta_counts: dim 1 resource_type, 2 resource_group, 3 region
-- (their values in `value`, case-insensitive as the columns are), 4
-- source (binary, in `value_bin`); the other value column is ''.
-- Every finding counts once in each dimension, '' included.
-- finding_tag_counts: per tag (key, value) as finding_tags holds it,
-- the finding's state and severity. Both keep their rows at n = 0.
--
-- The four metadata indexes put the state before seq (tenant, value,
-- state, seq, severity): a page of one state reads its own range newest
-- first, whatever the other states hold; several states are one bounded
-- range each, merged (SQL_FINDING_LIST_*_ONLY in src/db/db.c). They
-- replace the indexes of 0026 (same columns, other order), so a write
-- keeps as many index entries as before.
--
-- Safe to run twice: the tables and indexes IF NOT EXISTS, the old
-- indexes IF EXISTS, the triggers and procedures CREATE OR REPLACE, and
-- the backfill recounts from the rows (the counts are emptied first).
-- The first line marks it for vigilctl migrate: run again after an older
-- migration, since 0026, 0039 and 0048 run again put back their
-- triggers, indexes and procedures without these counts. Stop the
-- writers while it runs (vigil-api, vigil-spool, cron's vigil-scan): a
-- finding written between the triggers' change and the recount would be
-- counted twice, and a session holding the batch tables of 0039's shape
-- would fail its next batch.

CREATE TABLE IF NOT EXISTS finding_meta_counts (
	tenant_id  VARCHAR(40)  NOT NULL,
	dim        TINYINT UNSIGNED NOT NULL,
	value      VARCHAR(255) CHARACTER SET utf8mb4
	    COLLATE utf8mb4_general_ci NOT NULL,
	value_bin  VARCHAR(64)  NOT NULL,
	state      VARCHAR(16)  NOT NULL,
	severity   VARCHAR(16)  NOT NULL,
	n          BIGINT       NOT NULL,
	PRIMARY KEY (tenant_id, dim, value, value_bin, state, severity)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS finding_tag_counts (
	tenant_id  VARCHAR(40)  NOT NULL,
	tag_key    VARCHAR(256) NOT NULL,
	tag_value  VARCHAR(256) NOT NULL,
	state      VARCHAR(16)  NOT NULL,
	severity   VARCHAR(16)  NOT NULL,
	n          BIGINT       NOT NULL,
	PRIMARY KEY (tenant_id, tag_key, tag_value, state, severity)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE findings
    DROP INDEX IF EXISTS findings_rtype_seq,
    DROP INDEX IF EXISTS findings_rgroup_seq,
    DROP INDEX IF EXISTS findings_region_seq,
    DROP INDEX IF EXISTS findings_source_seq,
    ADD INDEX IF NOT EXISTS findings_rtype_state
        (tenant_id, resource_type, state, seq, severity),
    ADD INDEX IF NOT EXISTS findings_rgroup_state
        (tenant_id, resource_group, state, seq, severity),
    ADD INDEX IF NOT EXISTS findings_region_state
        (tenant_id, region, state, seq, severity),
    ADD INDEX IF NOT EXISTS findings_source_state
        (tenant_id, source, state, seq, severity),
    ALGORITHM=INPLACE, LOCK=NONE;

-- The AFTER triggers of 0048, statement for statement, with the two
-- counts added: finding_tag_counts from finding_tags (after the tags
-- block writes a row's entries, before it deletes them), so that a tag
-- counts exactly the entries the list walks.
DELIMITER $$
CREATE OR REPLACE TRIGGER findings_after_insert AFTER INSERT ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL THEN
		-- findings_count_insert
		BEGIN
			INSERT INTO finding_counts VALUES (NEW.tenant_id,
			    NEW.state, NEW.severity, NEW.category,
			    NEW.subscription_id, NEW.environment, 1)
			ON DUPLICATE KEY UPDATE n = n + 1;
		END;
		-- findings_resource_insert
		BEGIN
			IF NEW.state = 'open' THEN
				CALL finding_resource_open(NEW.tenant_id,
				    NEW.resource_id);
			END IF;
		END;
		-- findings_tags_insert
		BEGIN
			IF NEW.tags <> '{}' THEN
				INSERT IGNORE INTO finding_tags
				SELECT NEW.tenant_id, k.k, v.v, NEW.seq
				  FROM JSON_TABLE(JSON_KEYS(NEW.tags), '$[*]'
				    COLUMNS (n FOR ORDINALITY,
				    k VARCHAR(256) PATH '$')) k
				  JOIN JSON_TABLE(NEW.tags, '$.*'
				    COLUMNS (n FOR ORDINALITY,
				    v VARCHAR(256) PATH '$')) v
				 USING (n);
			END IF;
		END;
		-- finding_tag_counts (0055): from the rows just written
		BEGIN
			IF NEW.tags <> '{}' THEN
				INSERT INTO finding_tag_counts
				SELECT g.tenant_id, g.tag_key, g.tag_value,
				    NEW.state, NEW.severity, 1
				  FROM finding_tags g
				 WHERE g.finding_seq = NEW.seq
				ON DUPLICATE KEY UPDATE n = n + VALUES(n);
			END IF;
		END;
		-- finding_meta_counts (0055)
		BEGIN
			INSERT INTO finding_meta_counts VALUES
			    (NEW.tenant_id, 1, NEW.resource_type, '',
			    NEW.state, NEW.severity, 1),
			    (NEW.tenant_id, 2, NEW.resource_group, '',
			    NEW.state, NEW.severity, 1),
			    (NEW.tenant_id, 3, NEW.region, '',
			    NEW.state, NEW.severity, 1),
			    (NEW.tenant_id, 4, '', NEW.source,
			    NEW.state, NEW.severity, 1)
			ON DUPLICATE KEY UPDATE n = n + 1;
		END;
		-- findings_due_count_insert
		BEGIN
			IF NEW.due_at IS NOT NULL THEN
				INSERT INTO finding_due_counts VALUES (
				    NEW.tenant_id, DATE(NEW.due_at),
				    NEW.severity, 1)
				ON DUPLICATE KEY UPDATE n = n + 1;
			END IF;
		END;
		-- findings_rule_count_insert
		BEGIN
			INSERT INTO finding_rule_counts VALUES (NEW.tenant_id,
			    NEW.rule_id, NEW.state, 1)
			ON DUPLICATE KEY UPDATE n = n + 1;
		END;
	END IF;
END
$$
DELIMITER ;

DELIMITER $$
CREATE OR REPLACE TRIGGER findings_after_update AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL THEN
		-- Nothing a body below counts changed (a rescan's
		-- last_seen_at, an assignee): no body would do anything, and
		-- this one test costs less than theirs (measured: 12 against
		-- 18 us a row). An IF of its own: joined to the guard above
		-- with AND, it cost 4 us a row more while @vigil_batch is set.
		IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
		    OLD.state <=> NEW.state AND
		    OLD.severity <=> NEW.severity AND
		    OLD.category <=> NEW.category AND
		    OLD.subscription_id <=> NEW.subscription_id AND
		    OLD.environment <=> NEW.environment AND
		    OLD.resource_id <=> NEW.resource_id AND
		    OLD.rule_id <=> NEW.rule_id AND OLD.tags <=> NEW.tags AND
		    DATE(OLD.due_at) <=> DATE(NEW.due_at) AND
		    OLD.resource_type <=> NEW.resource_type AND
		    OLD.resource_group <=> NEW.resource_group AND
		    OLD.region <=> NEW.region AND
		    OLD.source <=> NEW.source) THEN
			-- findings_count_update
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.state <=> NEW.state AND
				    OLD.severity <=> NEW.severity AND
				    OLD.category <=> NEW.category AND
				    OLD.subscription_id <=> NEW.subscription_id AND
				    OLD.environment <=> NEW.environment) THEN
					UPDATE finding_counts SET n = n - 1
					 WHERE tenant_id = OLD.tenant_id AND
					    state = OLD.state AND
					    severity = OLD.severity AND
					    category = OLD.category AND
					    subscription_id = OLD.subscription_id AND
					    environment = OLD.environment;
					INSERT INTO finding_counts VALUES (
					    NEW.tenant_id, NEW.state, NEW.severity,
					    NEW.category, NEW.subscription_id,
					    NEW.environment, 1)
					ON DUPLICATE KEY UPDATE n = n + 1;
				END IF;
			END;
			-- findings_resource_update
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.resource_id <=> NEW.resource_id AND
				    (OLD.state = 'open') <=> (NEW.state = 'open')) THEN
					IF OLD.state = 'open' THEN
						CALL finding_resource_close(
						    OLD.tenant_id, OLD.resource_id);
					END IF;
					IF NEW.state = 'open' THEN
						CALL finding_resource_open(
						    NEW.tenant_id, NEW.resource_id);
					END IF;
				END IF;
			END;
			-- finding_tag_counts (0055): the old tags' rows, read
			-- before the block below replaces them
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.state <=> NEW.state AND
				    OLD.severity <=> NEW.severity AND
				    OLD.tags <=> NEW.tags) AND OLD.tags <> '{}' THEN
					INSERT INTO finding_tag_counts
					SELECT g.tenant_id, g.tag_key,
					    g.tag_value, OLD.state,
					    OLD.severity, -1
					  FROM finding_tags g
					 WHERE g.finding_seq = OLD.seq
					ON DUPLICATE KEY UPDATE
					    n = n + VALUES(n);
				END IF;
			END;
			-- findings_tags_update
			BEGIN
				IF NOT (OLD.tags <=> NEW.tags) THEN
					DELETE FROM finding_tags
					 WHERE finding_seq = OLD.seq;
					INSERT IGNORE INTO finding_tags
					SELECT NEW.tenant_id, k.k, v.v, NEW.seq
					  FROM JSON_TABLE(JSON_KEYS(NEW.tags), '$[*]'
					    COLUMNS (n FOR ORDINALITY,
					    k VARCHAR(256) PATH '$')) k
					  JOIN JSON_TABLE(NEW.tags, '$.*'
					    COLUMNS (n FOR ORDINALITY,
					    v VARCHAR(256) PATH '$')) v
					 USING (n);
				END IF;
			END;
			-- finding_tag_counts (0055): the new tags' rows
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.state <=> NEW.state AND
				    OLD.severity <=> NEW.severity AND
				    OLD.tags <=> NEW.tags) AND NEW.tags <> '{}' THEN
					INSERT INTO finding_tag_counts
					SELECT g.tenant_id, g.tag_key,
					    g.tag_value, NEW.state,
					    NEW.severity, 1
					  FROM finding_tags g
					 WHERE g.finding_seq = NEW.seq
					ON DUPLICATE KEY UPDATE
					    n = n + VALUES(n);
				END IF;
			END;
			-- finding_meta_counts (0055)
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.state <=> NEW.state AND
				    OLD.severity <=> NEW.severity AND
				    OLD.resource_type <=> NEW.resource_type AND
				    OLD.resource_group <=> NEW.resource_group AND
				    OLD.region <=> NEW.region AND
				    OLD.source <=> NEW.source) THEN
					UPDATE finding_meta_counts SET n = n - 1
					 WHERE tenant_id = OLD.tenant_id AND
					    state = OLD.state AND
					    severity = OLD.severity AND
					    ((dim = 1 AND value = OLD.resource_type
					    AND value_bin = '') OR
					    (dim = 2 AND value = OLD.resource_group
					    AND value_bin = '') OR
					    (dim = 3 AND value = OLD.region AND
					    value_bin = '') OR
					    (dim = 4 AND value = '' AND
					    value_bin = OLD.source));
					INSERT INTO finding_meta_counts VALUES
					    (NEW.tenant_id, 1, NEW.resource_type,
					    '', NEW.state, NEW.severity, 1),
					    (NEW.tenant_id, 2, NEW.resource_group,
					    '', NEW.state, NEW.severity, 1),
					    (NEW.tenant_id, 3, NEW.region, '',
					    NEW.state, NEW.severity, 1),
					    (NEW.tenant_id, 4, '', NEW.source,
					    NEW.state, NEW.severity, 1)
					ON DUPLICATE KEY UPDATE n = n + 1;
				END IF;
			END;
			-- findings_due_count_update
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    DATE(OLD.due_at) <=> DATE(NEW.due_at) AND
				    OLD.severity <=> NEW.severity) THEN
					IF OLD.due_at IS NOT NULL THEN
						UPDATE finding_due_counts SET n = n - 1
						 WHERE tenant_id = OLD.tenant_id AND
						    due_day = DATE(OLD.due_at) AND
						    severity = OLD.severity;
					END IF;
					IF NEW.due_at IS NOT NULL THEN
						INSERT INTO finding_due_counts VALUES (
						    NEW.tenant_id, DATE(NEW.due_at),
						    NEW.severity, 1)
						ON DUPLICATE KEY UPDATE n = n + 1;
					END IF;
				END IF;
			END;
			-- findings_rule_count_update
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.rule_id <=> NEW.rule_id AND
				    OLD.state <=> NEW.state) THEN
					UPDATE finding_rule_counts SET n = n - 1
					 WHERE tenant_id = OLD.tenant_id AND
					    rule_id = OLD.rule_id AND
					    state = OLD.state;
					INSERT INTO finding_rule_counts VALUES (
					    NEW.tenant_id, NEW.rule_id, NEW.state, 1)
					ON DUPLICATE KEY UPDATE n = n + 1;
				END IF;
			END;
			-- findings_daily_resolved (its declarations only when it has
			-- work: MariaDB runs each DECLARE as a statement, 0047)
			IF NEW.state = 'resolved' AND NOT (OLD.state <=> 'resolved') AND
			    NEW.resolved_at IS NOT NULL THEN
				BEGIN
					DECLARE v_tracked, v_within INT DEFAULT 0;

					SET v_tracked = OLD.due_at IS NOT NULL OR
					    OLD.sla_left_s IS NOT NULL;
					SET v_within = (OLD.due_at IS NOT NULL AND
					    NEW.resolved_at <= OLD.due_at) OR
					    (OLD.due_at IS NULL AND
					    OLD.sla_left_s IS NOT NULL AND
					    OLD.sla_left_s >= 0);
					INSERT INTO finding_daily (tenant_id, day,
					    severity, resolved, resolve_seconds,
					    resolved_sla, resolved_in_sla)
					VALUES (NEW.tenant_id, DATE(NEW.resolved_at),
					    NEW.severity, 1, GREATEST(0,
					    TIMESTAMPDIFF(SECOND, NEW.detected_at,
					    NEW.resolved_at)), v_tracked, v_within)
					ON DUPLICATE KEY UPDATE resolved = resolved + 1,
					    resolve_seconds = resolve_seconds +
					    GREATEST(0, TIMESTAMPDIFF(SECOND,
					    NEW.detected_at, NEW.resolved_at)),
					    resolved_sla = resolved_sla + v_tracked,
					    resolved_in_sla = resolved_in_sla +
					    v_within;
				END;
			END IF;
		END IF;
	END IF;
END
$$
DELIMITER ;

DELIMITER $$
CREATE OR REPLACE TRIGGER findings_after_delete AFTER DELETE ON findings
FOR EACH ROW
BEGIN
	-- findings_count_delete
	BEGIN
		UPDATE finding_counts SET n = n - 1
		 WHERE tenant_id = OLD.tenant_id AND state = OLD.state AND
		    severity = OLD.severity AND category = OLD.category AND
		    subscription_id = OLD.subscription_id AND
		    environment = OLD.environment;
	END;
	-- findings_resource_delete
	BEGIN
		IF OLD.state = 'open' THEN
			CALL finding_resource_close(OLD.tenant_id,
			    OLD.resource_id);
		END IF;
	END;
	-- finding_tag_counts (0055): before the block below deletes the rows
	BEGIN
		IF OLD.tags <> '{}' THEN
			INSERT INTO finding_tag_counts
			SELECT g.tenant_id, g.tag_key, g.tag_value, OLD.state,
			    OLD.severity, -1
			  FROM finding_tags g
			 WHERE g.finding_seq = OLD.seq
			ON DUPLICATE KEY UPDATE n = n + VALUES(n);
		END IF;
	END;
	-- finding_meta_counts (0055)
	BEGIN
		UPDATE finding_meta_counts SET n = n - 1
		 WHERE tenant_id = OLD.tenant_id AND state = OLD.state AND
		    severity = OLD.severity AND
		    ((dim = 1 AND value = OLD.resource_type AND value_bin = '')
		    OR (dim = 2 AND value = OLD.resource_group AND
		    value_bin = '')
		    OR (dim = 3 AND value = OLD.region AND value_bin = '')
		    OR (dim = 4 AND value = '' AND value_bin = OLD.source));
	END;
	-- findings_tags_delete
	BEGIN
		IF OLD.tags <> '{}' THEN
			DELETE FROM finding_tags WHERE finding_seq = OLD.seq;
		END IF;
	END;
	-- findings_due_count_delete
	BEGIN
		IF OLD.due_at IS NOT NULL THEN
			UPDATE finding_due_counts SET n = n - 1
			 WHERE tenant_id = OLD.tenant_id AND
			    due_day = DATE(OLD.due_at) AND
			    severity = OLD.severity;
		END IF;
	END;
	-- findings_rule_count_delete
	BEGIN
		UPDATE finding_rule_counts SET n = n - 1
		 WHERE tenant_id = OLD.tenant_id AND rule_id = OLD.rule_id AND
		    state = OLD.state;
	END;
END
$$
DELIMITER ;


-- The batch procedures of 0039 with the counts added: the batch tables
-- carry the four metadata values (FINDING_BATCH_SNAP in src/db/db.c
-- reads them), and findings_batch_end moves finding_meta_counts and
-- finding_tag_counts by the batch's difference.
DELIMITER $$
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
		resource_type    VARCHAR(255)  CHARACTER SET utf8mb4
		    COLLATE utf8mb4_general_ci NOT NULL,
		resource_group   VARCHAR(255)  CHARACTER SET utf8mb4
		    COLLATE utf8mb4_general_ci NOT NULL,
		region           VARCHAR(64)   CHARACTER SET utf8mb4
		    COLLATE utf8mb4_general_ci NOT NULL,
		source           VARCHAR(64)   NOT NULL,
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

	-- finding_tag_counts (0055): -1 for each tag row of a stored row
	-- whose tags, state or severity change, read before the rows are
	-- replaced below; +1 for the new rows' after.
	INSERT INTO finding_tag_counts (tenant_id, tag_key, tag_value, state,
	    severity, n)
	SELECT t, g.tag_key, g.tag_value, o.state, o.severity, -COUNT(*)
	  FROM findings_batch_old o
	  JOIN findings_batch_new n ON n.id = o.id
	  JOIN finding_tags g ON g.finding_seq = o.seq
	 WHERE o.tags_hash <> UNHEX(SHA2('{}', 256)) AND
	    NOT (o.tags_hash <=> n.tags_hash AND o.state <=> n.state AND
	    o.severity <=> n.severity)
	 GROUP BY g.tag_key, g.tag_value, o.state, o.severity
	ON DUPLICATE KEY UPDATE n = n + VALUES(n);
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

	INSERT INTO finding_tag_counts (tenant_id, tag_key, tag_value, state,
	    severity, n)
	SELECT t, g.tag_key, g.tag_value, n.state, n.severity, COUNT(*)
	  FROM findings_batch_new n
	  LEFT JOIN findings_batch_old o ON o.id = n.id
	  JOIN finding_tags g ON g.finding_seq = n.seq
	 WHERE n.tags_hash <> UNHEX(SHA2('{}', 256)) AND
	    (o.id IS NULL OR NOT (o.tags_hash <=> n.tags_hash AND
	    o.state <=> n.state AND o.severity <=> n.severity))
	 GROUP BY g.tag_key, g.tag_value, n.state, n.severity
	ON DUPLICATE KEY UPDATE n = n + VALUES(n);

	-- finding_meta_counts (0055): each row's four values, -1 as it was
	-- and +1 as it is, grouped; a key that did not change nets 0. (No
	-- alias may be named as a local variable of this procedure: v
	-- would read the variable, not the column.)
	INSERT INTO finding_meta_counts (tenant_id, dim, value, value_bin,
	    state, severity, n)
	SELECT t, dim, val, val_bin, state, severity, SUM(d) FROM (
		SELECT 1 AS dim, resource_type AS val, '' AS val_bin, state,
		    severity, -1 AS d FROM findings_batch_old
		UNION ALL SELECT 2, resource_group, '', state, severity, -1
		  FROM findings_batch_old
		UNION ALL SELECT 3, region, '', state, severity, -1
		  FROM findings_batch_old
		UNION ALL SELECT 4, '', source, state, severity, -1
		  FROM findings_batch_old
		UNION ALL SELECT 1, resource_type, '', state, severity, 1
		  FROM findings_batch_new
		UNION ALL SELECT 2, resource_group, '', state, severity, 1
		  FROM findings_batch_new
		UNION ALL SELECT 3, region, '', state, severity, 1
		  FROM findings_batch_new
		UNION ALL SELECT 4, '', source, state, severity, 1
		  FROM findings_batch_new) x
	 GROUP BY dim, val, val_bin, state, severity HAVING SUM(d) <> 0
	ON DUPLICATE KEY UPDATE n = n + VALUES(n);

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

-- The backfill: a recount of the rows present.
DELETE FROM finding_meta_counts;
INSERT INTO finding_meta_counts
SELECT tenant_id, 1, resource_type, '', state, severity, COUNT(*)
  FROM findings GROUP BY tenant_id, resource_type, state, severity;
INSERT INTO finding_meta_counts
SELECT tenant_id, 2, resource_group, '', state, severity, COUNT(*)
  FROM findings GROUP BY tenant_id, resource_group, state, severity;
INSERT INTO finding_meta_counts
SELECT tenant_id, 3, region, '', state, severity, COUNT(*)
  FROM findings GROUP BY tenant_id, region, state, severity;
INSERT INTO finding_meta_counts
SELECT tenant_id, 4, '', source, state, severity, COUNT(*)
  FROM findings GROUP BY tenant_id, source, state, severity;
DELETE FROM finding_tag_counts;
INSERT INTO finding_tag_counts
SELECT g.tenant_id, g.tag_key, g.tag_value, f.state, f.severity, COUNT(*)
  FROM finding_tags g JOIN findings f ON f.seq = g.finding_seq
 GROUP BY g.tenant_id, g.tag_key, g.tag_value, f.state, f.severity;
