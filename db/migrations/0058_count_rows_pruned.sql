-- migrate: restates triggers (run again after any older migration)
-- 0058: findings_batch_end (0056's, restated whole) deletes the rows of
-- finding_meta_counts and finding_tag_counts that its batch took to
-- n = 0, as it deletes finding_resources' rows (0039): a value or tag no
-- finding has any more in a state and severity no longer keeps its row.
-- Before, both tables kept every row at n = 0 for good, so a tag whose
-- value changes on every scan (a deployment date) grew
-- finding_tag_counts with the history of its values; the scanner's and
-- importer's batches are what changes values (a rescan, a reimport).
-- What it deletes is only what it moved: the keys whose count the batch
-- took down (the metadata's grouped differences, kept a moment in a
-- temporary table, findings_batch_meta; the tags' -1, read again through
-- the entries), where n is 0, after the upsert and in the same
-- transaction. A key whose n is below 0 (a count already off) is left as
-- it is, so a read answers what it answered. For the tags the delete
-- comes between the -1 and the +1 (it reads the entries the -1 read,
-- before they are replaced): a key another row of the batch counts again
-- is written again by the +1, exact. Each delete runs only when the
-- statement before it moved a row (ROW_COUNT(): for the tags the -1's
-- upsert, which only gates the delete; for the metadata the rows the
-- INSERT ... SELECT put into findings_batch_meta, the keys the batch
-- moves, exactly, which gates their upsert too): a batch that
-- changes no counted column pays nothing more. Measured on batches of 256 written
-- as the batch writer writes them (mariadbd CPU a row, three rounds
-- alternating with 0056's procedure at load 5-8): last_seen_at only 70.3
-- us against 72.3, every state changed 264 against 258, every tag value
-- changed 109 against 104.
--
-- The single-row path still leaves its rows at n = 0: the findings
-- triggers (the API's actions, SQL writes, deletes, and a scan's or
-- import's batch with fewer than 16 findings to write, which the batch
-- writer leaves to the triggers, BATCH_FRAME_MIN in findings.c). A
-- delete there is one more statement per change (README, Design
-- decisions). Reads are not affected either way: a missing row counts 0.
--
-- Then, once, the rows at n = 0 that are there now go. Safe to run twice
-- (CREATE OR REPLACE; the deletes find nothing the second time), and with
-- the writers running: a row at 0 counts no finding, a writer that counts
-- one in it again writes it again (an upsert), and a writer that took it
-- to 0 and has not committed holds it, so the delete waits and reads it
-- as committed. The procedure's swap is atomic (one statement). Run again
-- after an older migration (first line): 0039, 0055 and 0056 put back
-- their findings_batch_end, which does not delete.

DELIMITER $$
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
	-- 0058: the rows those -1 took to 0 go, read through the same
	-- entries before they are replaced; a key the +1 below counts
	-- again is written again (n is then exact, and > 0). Only when the
	-- -1 moved a row (ROW_COUNT(): an answer of 0 where it did would
	-- only leave its zeros, as before).
	IF ROW_COUNT() > 0 THEN
		DELETE c FROM findings_batch_old o
		  JOIN findings_batch_new n ON n.id = o.id
		  JOIN finding_tags g ON g.finding_seq = o.seq
		  JOIN finding_tag_counts c ON c.tenant_id = t AND
		    c.tag_key = g.tag_key AND c.tag_value = g.tag_value AND
		    c.state = o.state AND c.severity = o.severity
		 WHERE c.n = 0 AND o.tags_hash <> UNHEX(SHA2('{}', 256)) AND
		    NOT (o.tags_hash <=> n.tags_hash AND
		    o.state <=> n.state AND o.severity <=> n.severity);
	END IF;
	DELETE g FROM findings_batch_old o
	  JOIN findings_batch_new n ON n.id = o.id
	  JOIN finding_tags g ON g.finding_seq = o.seq
	 WHERE NOT (o.tags_hash <=> n.tags_hash);
	INSERT IGNORE INTO finding_tags (tenant_id, tag_key, tag_value,
	    finding_seq, finding_state, finding_severity)
	SELECT t, k.k, w.w, n.seq, n.state, n.severity
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

	-- The entries of a row whose tags stay carry its new state and
	-- severity (0056).
	UPDATE finding_tags g
	  JOIN findings_batch_old o ON g.finding_seq = o.seq
	  JOIN findings_batch_new n ON n.id = o.id
	   SET g.finding_state = n.state, g.finding_severity = n.severity
	 WHERE o.tags_hash <=> n.tags_hash AND
	    n.tags_hash <> UNHEX(SHA2('{}', 256)) AND
	    NOT (o.state <=> n.state AND o.severity <=> n.severity);
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
	-- would read the variable, not the column.) 0058: the differences
	-- kept a moment in a temporary table (at most 8 rows per finding of
	-- the batch, fewer once grouped), so that the keys whose count went
	-- down can be looked at after the upsert: those at 0 go.
	CREATE TEMPORARY TABLE IF NOT EXISTS findings_batch_meta (
		dim        TINYINT UNSIGNED NOT NULL,
		val        VARCHAR(255) CHARACTER SET utf8mb4
		    COLLATE utf8mb4_general_ci NOT NULL,
		val_bin    VARCHAR(64)  NOT NULL,
		state      VARCHAR(16)  NOT NULL,
		severity   VARCHAR(16)  NOT NULL,
		d          BIGINT       NOT NULL
	) ENGINE=MEMORY DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
	DELETE FROM findings_batch_meta;
	INSERT INTO findings_batch_meta
	SELECT dim, val, val_bin, state, severity, SUM(d) FROM (
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
	 GROUP BY dim, val, val_bin, state, severity HAVING SUM(d) <> 0;
	IF ROW_COUNT() > 0 THEN
		INSERT INTO finding_meta_counts (tenant_id, dim, value,
		    value_bin, state, severity, n)
		SELECT t, dim, val, val_bin, state, severity, d
		  FROM findings_batch_meta
		ON DUPLICATE KEY UPDATE n = n + VALUES(n);
		DELETE m FROM findings_batch_meta b
		  JOIN finding_meta_counts m ON m.tenant_id = t AND
		    m.dim = b.dim AND m.value = b.val AND
		    m.value_bin = b.val_bin AND m.state = b.state AND
		    m.severity = b.severity
		 WHERE b.d < 0 AND m.n = 0;
	END IF;

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


DELETE FROM finding_meta_counts WHERE n = 0;
DELETE FROM finding_tag_counts WHERE n = 0;
