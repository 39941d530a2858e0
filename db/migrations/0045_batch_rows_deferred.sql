-- migrate: restates triggers (run again after any older migration)
-- 0045: the scanner's and importer's batch writer (findings_observe_batch
-- in src/domain/findings.c) keeps what the insert triggers on events,
-- audit_log and finding_history do per row once per batch instead: the
-- events' and audit entries' list counts (0015), the audit chain's head
-- (0018), and the case timelines (0021) when none of the batch's findings
-- is linked to a case.
--
-- Why: after 0039 these four triggers were a first scan's largest cost
-- left on the server besides the rows themselves. Each new finding writes
-- one history row, one event and one audit entry, and their triggers ran
-- two CALLs of list_count_add (an upsert of the same list_counts row each
-- time), an upsert of the tenant's audit_heads row and a look-up in
-- case_findings per finding: dropping three of them on a benchmark
-- database cut the server's CPU of a first scan by about a quarter.
--
-- How: the writer sets @vigil_defer to the tenant id for its inserts of
-- history, events and audit entries. The events' and audit entries'
-- triggers then do not count such a row, or move the head, but add one to
-- the session's @vigil_deferred_events, @vigil_deferred_audit or
-- @vigil_deferred_heads. After its inserts the writer adds its events per
-- type and its entries per action to list_counts, and moves audit_heads to
-- its last entry, each statement guarded by its tally being above 0
-- (SQL_BATCH_EVENT_COUNT, SQL_AUDIT_COUNT_DEFERRED, SQL_AUDIT_HEAD_DEFERRED
-- in src/db/db.c), then clears the variables. Before its history insert the
-- writer looks for case links of the batch's findings (locking what it
-- reads, as the trigger's INSERT ... SELECT does); when there is none it
-- sets @vigil_nocase to the tenant id, and the history trigger skips its
-- look-up, which would find nothing. With a link the trigger runs as
-- before.
--
-- Upgrades in either order, no version check: a writer newer than this
-- schema sets the variables, the older triggers ignore them and count
-- each row, the tallies stay 0 and the writer adds nothing. A writer older
-- than this schema never sets them, and these triggers count as before.
-- Every other writer (the API's single audit entries and events, the
-- alert batches of 0042) never sets @vigil_defer and is counted per row.
-- Re-running 0015, 0018, 0021 or 0042 (a backfill) puts their own trigger
-- back, which counts every row and never tallies: counted once, slower.
-- A writer that fails between setting and clearing the variables clears
-- them before its connection is used again (findings.c batch_write), and
-- a rolled-back batch takes its counts and head back with its rows; the
-- next batch sets the tallies to 0 before it inserts.
DELIMITER $$
CREATE OR REPLACE TRIGGER events_count_insert AFTER INSERT ON events
FOR EACH ROW
BEGIN
	IF @vigil_defer IS NOT NULL AND
	    BINARY @vigil_defer = BINARY NEW.tenant_id THEN
		SET @vigil_deferred_events = @vigil_deferred_events + 1;
	ELSEIF @vigil_events_defer IS NOT NULL AND BINARY @vigil_events_defer =
	    BINARY CONCAT(NEW.tenant_id, ' ', NEW.type) THEN
		SET @vigil_events_deferred = @vigil_events_deferred + 1;
	ELSE
		CALL list_count_add(NEW.tenant_id, 'events', NEW.type, 1);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER audit_count_insert AFTER INSERT ON audit_log
FOR EACH ROW
BEGIN
	IF @vigil_defer IS NOT NULL AND
	    BINARY @vigil_defer = BINARY NEW.tenant_id THEN
		SET @vigil_deferred_audit = @vigil_deferred_audit + 1;
	ELSE
		CALL list_count_add(NEW.tenant_id, 'audit', NEW.action, 1);
	END IF;
END
$$

-- (ON DUPLICATE KEY UPDATE assigns left to right: hash is decided on the
-- old seq.)
CREATE OR REPLACE TRIGGER audit_head_insert AFTER INSERT ON audit_log
FOR EACH ROW
BEGIN
	IF @vigil_defer IS NOT NULL AND
	    BINARY @vigil_defer = BINARY NEW.tenant_id THEN
		SET @vigil_deferred_heads = @vigil_deferred_heads + 1;
	ELSE
		INSERT INTO audit_heads (tenant_id, seq, hash)
		VALUES (NEW.tenant_id, NEW.seq, NEW.hash)
		ON DUPLICATE KEY UPDATE hash = IF(NEW.seq > seq, NEW.hash, hash),
		    seq = GREATEST(seq, NEW.seq);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER finding_history_case_timeline
AFTER INSERT ON finding_history FOR EACH ROW
BEGIN
	IF @vigil_nocase IS NULL OR
	    NOT BINARY @vigil_nocase = BINARY NEW.tenant_id THEN
		INSERT INTO case_timeline (tenant_id, case_id, kind, at, actor,
		    fields)
		SELECT NEW.tenant_id, cf.case_id, 'finding_changed', NEW.at,
		    NEW.actor, CONCAT('{"finding_id":', JSON_QUOTE(NEW.finding_id),
		    ',"action":', JSON_QUOTE(NEW.action),
		    ',"fields":', NEW.fields, '}')
		  FROM case_findings cf
		 WHERE cf.tenant_id = NEW.tenant_id AND
		    cf.finding_id = NEW.finding_id;
	END IF;
END
$$
DELIMITER ;
