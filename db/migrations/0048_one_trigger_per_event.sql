-- migrate: restates triggers (run again after any older migration)
-- 0048: one AFTER trigger per event on findings and on audit_log, where
-- there were five or six (findings) and two (audit_log): each merged
-- trigger runs the bodies of the ones it replaces, in their order
-- (ACTION_ORDER), and they are dropped.
--   findings_after_insert: findings_count_insert (0005, restated by
--     0039), findings_resource_insert (0014), findings_tags_insert
--     (0026), findings_due_count_insert (0034), findings_rule_count_insert
--     (0035)
--   findings_after_update: findings_count_update, findings_resource_update,
--     findings_tags_update, findings_due_count_update,
--     findings_rule_count_update, findings_daily_resolved (0037)
--   findings_after_delete: findings_count_delete, findings_resource_delete,
--     findings_tags_delete, findings_due_count_delete,
--     findings_rule_count_delete
--   audit_log_after_insert: audit_count_insert (0015) and
--     audit_head_insert (0018), both as 0045 restated them
-- The BEFORE triggers (findings_sla_insert 0046, findings_sla_update
-- 0047) and every other table's triggers (one per timing and event) are
-- left as they are.
--
-- Why: MariaDB pays for each trigger it fires on each row, even one whose
-- first IF fails. The scanner's and importer's batch writer sets
-- @vigil_batch (0039), and every AFTER INSERT and AFTER UPDATE trigger on
-- findings stood aside after testing it, one by one: measured on 120,000
-- findings updated in batches of 256 with @vigil_batch set (a rescan's
-- last_seen_at), mariadbd spent 19.8-20.0 us a row with the seven UPDATE
-- triggers, 6.9-7.2 with the BEFORE trigger and one merged AFTER trigger,
-- 3.2-3.7 with none: about 2.4 us for each trigger standing aside. Here
-- the guard is tested once, at the top of the INSERT and UPDATE triggers
-- (the DELETE triggers never had it: the batch writer deletes nothing).
--
-- A count means what it meant: the bodies are the triggers' current text,
-- statement for statement, each in a block of its own; only the common
-- guard moved out. test_batchcounts.py, test_batchrows.py, test_counts.py
-- and test_trigmerge.py hold every counter against a recount.
--
-- Running an older migration again (a backfill, as the tests do) puts
-- back the separate trigger it creates, which would then count a second
-- time beside the merged one. The first line of this file marks it for
-- vigilctl migrate: in a run that applies a migration numbered below this
-- one while this one is already recorded, the runner applies this one
-- again afterwards (printing "applied 0048_... again"), which drops the
-- separate triggers once more and restates the merged ones. Running an
-- older file by hand (mariadb < 00NN_....sql) must be followed by this one
-- by hand.
--
-- Each merged trigger is created just before the ones it replaces are
-- dropped (one statement each: MariaDB cannot swap triggers atomically),
-- so a row written by another session in that instant can be counted by
-- both. Stop the writers while it runs (vigil-api, vigil-spool, cron's
-- vigil-scan), as for a migration that drops something (README,
-- Migrations).

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
DROP TRIGGER IF EXISTS findings_count_insert;
DROP TRIGGER IF EXISTS findings_resource_insert;
DROP TRIGGER IF EXISTS findings_tags_insert;
DROP TRIGGER IF EXISTS findings_due_count_insert;
DROP TRIGGER IF EXISTS findings_rule_count_insert;

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
		    DATE(OLD.due_at) <=> DATE(NEW.due_at)) THEN
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
DROP TRIGGER IF EXISTS findings_count_update;
DROP TRIGGER IF EXISTS findings_resource_update;
DROP TRIGGER IF EXISTS findings_tags_update;
DROP TRIGGER IF EXISTS findings_due_count_update;
DROP TRIGGER IF EXISTS findings_rule_count_update;
DROP TRIGGER IF EXISTS findings_daily_resolved;

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
DROP TRIGGER IF EXISTS findings_count_delete;
DROP TRIGGER IF EXISTS findings_resource_delete;
DROP TRIGGER IF EXISTS findings_tags_delete;
DROP TRIGGER IF EXISTS findings_due_count_delete;
DROP TRIGGER IF EXISTS findings_rule_count_delete;

DELIMITER $$
-- (ON DUPLICATE KEY UPDATE assigns left to right: hash is decided on the
-- old seq.)
CREATE OR REPLACE TRIGGER audit_log_after_insert AFTER INSERT ON audit_log
FOR EACH ROW
BEGIN
	IF @vigil_defer IS NOT NULL AND
	    BINARY @vigil_defer = BINARY NEW.tenant_id THEN
		-- audit_count_insert, audit_head_insert: tallied for the
		-- batch writer, which counts and moves the head itself (0045)
		SET @vigil_deferred_audit = @vigil_deferred_audit + 1;
		SET @vigil_deferred_heads = @vigil_deferred_heads + 1;
	ELSE
		-- audit_count_insert
		CALL list_count_add(NEW.tenant_id, 'audit', NEW.action, 1);
		-- audit_head_insert
		INSERT INTO audit_heads (tenant_id, seq, hash)
		VALUES (NEW.tenant_id, NEW.seq, NEW.hash)
		ON DUPLICATE KEY UPDATE hash = IF(NEW.seq > seq, NEW.hash, hash),
		    seq = GREATEST(seq, NEW.seq);
	END IF;
END
$$
DELIMITER ;
DROP TRIGGER IF EXISTS audit_count_insert;
DROP TRIGGER IF EXISTS audit_head_insert;
