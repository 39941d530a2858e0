-- 0034: service-level agreements (issue 14, item 2). A tenant's policy
-- (days allowed per finding severity, the warning lead, and hours to
-- acknowledge and resolve alerts and cases), a due date on every open
-- finding, what the cron job has announced, and the SLA events list.
--
-- The due date is kept by BEFORE triggers on findings, so that every
-- writer of a finding -- the API's actions, the scanner's batches, the
-- importers, the expiry job, mute rules -- gets it right in the same
-- statement, without each having to know about SLAs:
--   due_at       while the finding is open: when it must be fixed by.
--                NULL in any other state, and for a severity whose policy
--                is 0 days (info by default: no SLA).
--   sla_left_s   while it is accepted, snoozed or muted: the seconds that
--                were left when it was paused (negative if it was already
--                overdue). Returning to open sets due_at = then + that:
--                the clock is paused, not restarted.
--   A finding detected open is due detected_at + days(severity); one
--   detected muted starts paused with the full time. Resolving or
--   dismissing stops the clock; reopening (resolved -> open) starts a new
--   one from the reopening, with nothing announced yet. A rescore moves
--   the due date by the difference between the two severities' days; a
--   finding that gains an SLA (from info, say) starts its clock then. A
--   change of the policy applies to findings as they are detected,
--   reopened or rescored from then on: a due date already given stays.
--   sla_warned, sla_breached
--                finding.sla_warning / finding.sla_breached was written
--                for the current clock (reset only when a new clock
--                starts), so each fires at most once per detection or
--                reopening whatever pauses come between.
--   sla_next_at  when vigil-scan --due must look at the finding next (the
--                warning time, then the due date); NULL when nothing is
--                left to announce. Its index is the job's whole walk.
-- "Now" for a trigger is the row's updated_at, the time the writer gave
-- the change (the lifecycle's clock), not the server's.
ALTER TABLE findings
    ADD COLUMN IF NOT EXISTS due_at DATETIME NULL,
    ADD COLUMN IF NOT EXISTS sla_left_s BIGINT NULL,
    ADD COLUMN IF NOT EXISTS sla_warned TINYINT(1) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS sla_breached TINYINT(1) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS sla_next_at DATETIME NULL,
    ALGORITHM=INSTANT;

-- Alerts: acknowledged when first assigned or moved out of triage;
-- resolved when moved out of triage (escalated, dismissed, suppressed).
-- Cases: acknowledged when first assigned or resolved (resolved_at is
-- the case's own). Set by the triggers below, never cleared.
ALTER TABLE alerts
    ADD COLUMN IF NOT EXISTS acknowledged_at DATETIME NULL,
    ADD COLUMN IF NOT EXISTS resolved_at DATETIME NULL,
    ALGORITHM=INSTANT;
ALTER TABLE cases
    ADD COLUMN IF NOT EXISTS acknowledged_at DATETIME NULL,
    ALGORITHM=INSTANT;

-- One row per tenant that changed its policy (PUT /api/v1/sla); a tenant
-- without one has the defaults, which sla.h and the triggers below both
-- spell out: critical 7, high 30, medium 90, low 180, info 0 (none)
-- days, warning 3 days before. response: the alert and case targets, a
-- JSON object written by src/domain/sla.c.
CREATE TABLE IF NOT EXISTS sla_policies (
	tenant_id      VARCHAR(40)  NOT NULL,
	critical_days  INT          NOT NULL,
	high_days      INT          NOT NULL,
	medium_days    INT          NOT NULL,
	low_days       INT          NOT NULL,
	info_days      INT          NOT NULL,
	warning_days   INT          NOT NULL,
	response       TEXT         NOT NULL,
	updated_at     DATETIME     NOT NULL,
	PRIMARY KEY (tenant_id),
	CONSTRAINT sla_policies_tenant_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- GET /api/v1/sla/events: one row per SLA event, written with the event
-- in its transaction; keyed for the page (tenant, seq) so that a page
-- reads its rows and no more. The total is list_counts' 'sla_events'.
CREATE TABLE IF NOT EXISTS sla_events (
	seq         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id   VARCHAR(40)   NOT NULL,
	event_id    VARCHAR(40)   NOT NULL,
	type        VARCHAR(64)   NOT NULL,
	finding_id  VARCHAR(127)  NOT NULL,
	severity    ENUM('critical','high','medium','low','info') NOT NULL,
	due_at      DATETIME      NOT NULL,
	created_at  DATETIME      NOT NULL,
	PRIMARY KEY (seq),
	UNIQUE KEY sla_events_tenant (tenant_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The totals of GET /findings by due date. What is overdue changes with
-- the clock, not with a write, so no count of it can be kept; but a count
-- of open findings per (tenant, due day, severity) can, and a total is
-- then the sum of the whole days before the bound plus the findings due
-- in the bound's own day before it, counted from findings_due (findings.c
-- findings_due_total). Kept in the transaction of every write, like
-- finding_counts, by the AFTER triggers below (they see the due date the
-- BEFORE triggers set).
CREATE TABLE IF NOT EXISTS finding_due_counts (
	tenant_id  VARCHAR(40) NOT NULL,
	due_day    DATE        NOT NULL,
	severity   ENUM('critical','high','medium','low','info') NOT NULL,
	n          BIGINT      NOT NULL,
	PRIMARY KEY (tenant_id, due_day, severity)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

DELIMITER $$
CREATE OR REPLACE TRIGGER sla_events_count_insert AFTER INSERT ON sla_events
FOR EACH ROW CALL list_count_add(NEW.tenant_id, 'sla_events', '', 1)
$$
CREATE OR REPLACE TRIGGER sla_events_count_delete AFTER DELETE ON sla_events
FOR EACH ROW CALL list_count_add(OLD.tenant_id, 'sla_events', '', -1)
$$
DELIMITER ;

-- Backfill: findings stored before this migration get their due date
-- from detection under the policy in force (the defaults, unless the
-- migration is run again after a PUT). A paused one keeps what was left
-- when it was last changed. A threshold already passed is marked as
-- announced without an event: those findings were late before SLAs
-- existed, and a backlog of hundreds of thousands of events at once would
-- flood every subscriber. Re-runnable: rows already given a due date or a
-- paused remainder are left alone.
-- Single-table statements with the policy in a subquery: a multi-table
-- UPDATE needs a temporary file, which is one more way to fail.
UPDATE findings f
   SET f.due_at = f.detected_at + INTERVAL (COALESCE((SELECT CASE f.severity
	    WHEN 'critical' THEN p.critical_days WHEN 'high' THEN p.high_days
	    WHEN 'medium' THEN p.medium_days WHEN 'low' THEN p.low_days
	    ELSE p.info_days END FROM sla_policies p
	    WHERE p.tenant_id = f.tenant_id), CASE f.severity
	    WHEN 'critical' THEN 7 WHEN 'high' THEN 30 WHEN 'medium' THEN 90
	    WHEN 'low' THEN 180 ELSE 0 END)) DAY
 WHERE f.state = 'open' AND f.due_at IS NULL AND f.sla_left_s IS NULL
   AND (COALESCE((SELECT CASE f.severity
	    WHEN 'critical' THEN p.critical_days WHEN 'high' THEN p.high_days
	    WHEN 'medium' THEN p.medium_days WHEN 'low' THEN p.low_days
	    ELSE p.info_days END FROM sla_policies p
	    WHERE p.tenant_id = f.tenant_id), CASE f.severity
	    WHEN 'critical' THEN 7 WHEN 'high' THEN 30 WHEN 'medium' THEN 90
	    WHEN 'low' THEN 180 ELSE 0 END)) > 0;
UPDATE findings f
   SET f.sla_left_s = TIMESTAMPDIFF(SECOND, f.updated_at,
	f.detected_at + INTERVAL (COALESCE((SELECT CASE f.severity
	    WHEN 'critical' THEN p.critical_days WHEN 'high' THEN p.high_days
	    WHEN 'medium' THEN p.medium_days WHEN 'low' THEN p.low_days
	    ELSE p.info_days END FROM sla_policies p
	    WHERE p.tenant_id = f.tenant_id), CASE f.severity
	    WHEN 'critical' THEN 7 WHEN 'high' THEN 30 WHEN 'medium' THEN 90
	    WHEN 'low' THEN 180 ELSE 0 END)) DAY)
 WHERE f.state IN ('accepted', 'snoozed', 'muted') AND f.due_at IS NULL
   AND f.sla_left_s IS NULL AND (COALESCE((SELECT CASE f.severity
	    WHEN 'critical' THEN p.critical_days WHEN 'high' THEN p.high_days
	    WHEN 'medium' THEN p.medium_days WHEN 'low' THEN p.low_days
	    ELSE p.info_days END FROM sla_policies p
	    WHERE p.tenant_id = f.tenant_id), CASE f.severity
	    WHEN 'critical' THEN 7 WHEN 'high' THEN 30 WHEN 'medium' THEN 90
	    WHEN 'low' THEN 180 ELSE 0 END)) > 0;
UPDATE findings f
   SET f.sla_breached = (f.due_at <= UTC_TIMESTAMP()),
       f.sla_warned = (f.due_at - INTERVAL COALESCE((SELECT p.warning_days FROM sla_policies p
	    WHERE p.tenant_id = f.tenant_id), 3) DAY <= UTC_TIMESTAMP()),
       f.sla_next_at = CASE
	WHEN f.due_at <= UTC_TIMESTAMP() THEN NULL
	WHEN COALESCE((SELECT p.warning_days FROM sla_policies p
	    WHERE p.tenant_id = f.tenant_id), 3) > 0 AND f.due_at - INTERVAL COALESCE((SELECT p.warning_days FROM sla_policies p
	    WHERE p.tenant_id = f.tenant_id), 3) DAY > UTC_TIMESTAMP()
	    THEN f.due_at - INTERVAL COALESCE((SELECT p.warning_days FROM sla_policies p
	    WHERE p.tenant_id = f.tenant_id), 3) DAY
	ELSE f.due_at END
 WHERE f.state = 'open' AND f.due_at IS NOT NULL AND f.sla_next_at IS NULL
   AND f.sla_breached = 0;

-- GET /findings?due_before= and ?overdue= walk the tenant's open
-- findings by due date (only open findings have one), a page at a time,
-- state and severity in the index so that the walk and its bounded count
-- read no row for them; vigil-scan --due walks what is pending across
-- tenants, oldest first.
ALTER TABLE findings
    ADD INDEX IF NOT EXISTS findings_due
        (tenant_id, due_at, seq, state, severity),
    ADD INDEX IF NOT EXISTS findings_sla_next (sla_next_at),
    ALGORITHM=INPLACE, LOCK=NONE;

DELIMITER $$
CREATE OR REPLACE TRIGGER findings_sla_insert BEFORE INSERT ON findings
FOR EACH ROW
BEGIN
	DECLARE d INT;
	DECLARE w INT;
	DECLARE v BIGINT;

	-- One primary-key read of the policy, both numbers packed in one
	-- scalar (a derived table or a SELECT ... INTO would cost a
	-- temporary table or a "no data" condition per row); NULL when the
	-- tenant has none: the defaults. warning_days <= 365 < 1000. As few
	-- statements as possible: each costs the trigger about as much as
	-- the read.
	SET v = (SELECT (CASE NEW.severity
	    WHEN 'critical' THEN critical_days WHEN 'high' THEN high_days
	    WHEN 'medium' THEN medium_days WHEN 'low' THEN low_days
	    ELSE info_days END) * 1000 + warning_days
	    FROM sla_policies WHERE tenant_id = NEW.tenant_id);
	SET d = IF(v IS NULL, CASE NEW.severity WHEN 'critical' THEN 7
	    WHEN 'high' THEN 30 WHEN 'medium' THEN 90 WHEN 'low' THEN 180
	    ELSE 0 END, v DIV 1000), w = IF(v IS NULL, 3, v MOD 1000);
	SET NEW.due_at = IF(d > 0 AND NEW.state = 'open',
	    NEW.detected_at + INTERVAL d DAY, NULL),
	    NEW.sla_left_s = IF(d > 0 AND NEW.state IN ('accepted', 'snoozed',
	    'muted'), d * 86400, NULL),
	    NEW.sla_warned = 0, NEW.sla_breached = 0;
	SET NEW.sla_next_at = IF(NEW.due_at IS NULL, NULL, IF(w > 0,
	    NEW.due_at - INTERVAL w DAY, NEW.due_at));
END
$$

CREATE OR REPLACE TRIGGER findings_sla_update BEFORE UPDATE ON findings
FOR EACH ROW
BEGIN
	DECLARE d_new INT;
	DECLARE d_old INT;
	DECLARE w INT;
	DECLARE ref DATETIME;
	DECLARE v BIGINT;
	DECLARE left_s BIGINT;
	DECLARE fresh INT DEFAULT 0;

	IF NOT (NEW.state <=> OLD.state AND NEW.severity <=> OLD.severity)
	THEN
		SET ref = COALESCE(NEW.updated_at, UTC_TIMESTAMP());
		-- As in findings_sla_insert: one read, packed (days <= 3650).
		SET v = (SELECT ((CASE NEW.severity
		    WHEN 'critical' THEN critical_days
		    WHEN 'high' THEN high_days WHEN 'medium' THEN medium_days
		    WHEN 'low' THEN low_days ELSE info_days END) * 10000 +
		    (CASE OLD.severity WHEN 'critical' THEN critical_days
		    WHEN 'high' THEN high_days WHEN 'medium' THEN medium_days
		    WHEN 'low' THEN low_days ELSE info_days END)) * 1000 +
		    warning_days
		    FROM sla_policies WHERE tenant_id = NEW.tenant_id);
		IF v IS NULL THEN
			SET d_new = CASE NEW.severity WHEN 'critical' THEN 7
			    WHEN 'high' THEN 30 WHEN 'medium' THEN 90
			    WHEN 'low' THEN 180 ELSE 0 END,
			    d_old = CASE OLD.severity WHEN 'critical' THEN 7
			    WHEN 'high' THEN 30 WHEN 'medium' THEN 90
			    WHEN 'low' THEN 180 ELSE 0 END, w = 3;
		ELSE
			SET d_new = v DIV 10000000, d_old = (v DIV 1000) MOD 10000,
			    w = v MOD 1000;
		END IF;
		-- The time left just before this change.
		IF OLD.state = 'open' THEN
			SET left_s = IF(OLD.due_at IS NULL, NULL,
			    TIMESTAMPDIFF(SECOND, ref, OLD.due_at));
		ELSEIF OLD.state IN ('accepted', 'snoozed', 'muted') THEN
			SET left_s = OLD.sla_left_s;
		ELSE
			-- resolved or dismissed: a reopening starts anew
			SET left_s = NULL, fresh = 1;
		END IF;
		IF d_new <= 0 THEN
			SET left_s = NULL;
		ELSEIF fresh = 1 OR left_s IS NULL THEN
			SET left_s = d_new * 86400;
		ELSEIF NOT (NEW.severity <=> OLD.severity) THEN
			SET left_s = left_s + (d_new - d_old) * 86400;
		END IF;
		IF fresh = 1 THEN
			SET NEW.sla_warned = 0, NEW.sla_breached = 0;
		END IF;
		SET NEW.due_at = NULL, NEW.sla_left_s = NULL,
		    NEW.sla_next_at = NULL;
		IF left_s IS NOT NULL THEN
			IF NEW.state = 'open' THEN
				SET NEW.due_at = ref + INTERVAL left_s SECOND;
			ELSEIF NEW.state IN ('accepted', 'snoozed', 'muted')
			THEN
				SET NEW.sla_left_s = left_s;
			END IF;
		END IF;
		IF NEW.due_at IS NOT NULL THEN
			IF NEW.sla_warned = 0 AND w > 0 THEN
				SET NEW.sla_next_at = NEW.due_at -
				    INTERVAL w DAY;
			ELSEIF NEW.sla_breached = 0 THEN
				SET NEW.sla_next_at = NEW.due_at;
			END IF;
		END IF;
	END IF;
END
$$

-- Each AFTER trigger below stands aside while the session variable
-- @vigil_batch is set: the scanner's and importer's batch writer keeps
-- the same counts once per batch (0039_findings_batch_counts.sql).
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

CREATE OR REPLACE TRIGGER findings_due_count_delete AFTER DELETE ON findings
FOR EACH ROW
BEGIN
	IF OLD.due_at IS NOT NULL THEN
		UPDATE finding_due_counts SET n = n - 1
		 WHERE tenant_id = OLD.tenant_id AND due_day = DATE(OLD.due_at)
		    AND severity = OLD.severity;
	END IF;
END
$$

-- Acknowledgement and resolution of alerts and cases, whoever writes them.
CREATE OR REPLACE TRIGGER alerts_sla_insert BEFORE INSERT ON alerts
FOR EACH ROW
BEGIN
	IF NEW.status <> 'triage' THEN
		SET NEW.acknowledged_at = NEW.ingested_at,
		    NEW.resolved_at = NEW.ingested_at;
	ELSEIF NEW.assignee IS NOT NULL THEN
		SET NEW.acknowledged_at = NEW.ingested_at;
	END IF;
END
$$
CREATE OR REPLACE TRIGGER alerts_sla_update BEFORE UPDATE ON alerts
FOR EACH ROW
BEGIN
	IF NEW.acknowledged_at IS NULL AND (NEW.status <> 'triage' OR
	    NEW.assignee IS NOT NULL) THEN
		SET NEW.acknowledged_at = NEW.updated_at;
	END IF;
	IF NEW.resolved_at IS NULL AND NEW.status <> 'triage' THEN
		SET NEW.resolved_at = NEW.updated_at;
	END IF;
END
$$
CREATE OR REPLACE TRIGGER cases_sla_insert BEFORE INSERT ON cases
FOR EACH ROW
BEGIN
	IF NEW.assignee IS NOT NULL OR NEW.status = 'resolved' THEN
		SET NEW.acknowledged_at = NEW.created_at;
	END IF;
END
$$
CREATE OR REPLACE TRIGGER cases_sla_update BEFORE UPDATE ON cases
FOR EACH ROW
BEGIN
	IF NEW.acknowledged_at IS NULL AND (NEW.assignee IS NOT NULL OR
	    NEW.status = 'resolved') THEN
		SET NEW.acknowledged_at = NEW.updated_at;
	END IF;
END
$$
DELIMITER ;

-- Alerts and cases handled before this migration: acknowledged and
-- resolved when they were last changed, the best the rows can tell.
UPDATE alerts SET acknowledged_at = updated_at
 WHERE acknowledged_at IS NULL AND (status <> 'triage' OR
    assignee IS NOT NULL);
UPDATE alerts SET resolved_at = updated_at
 WHERE resolved_at IS NULL AND status <> 'triage';
UPDATE cases SET acknowledged_at = updated_at
 WHERE acknowledged_at IS NULL AND (assignee IS NOT NULL OR
    status = 'resolved');

-- The due-day counts of the rows present (after the backfill above; run
-- again, it counts afresh). Like 0005's, it counts what is there when it
-- runs: migrate with the API and the scanner stopped.
DELETE FROM finding_due_counts;
INSERT INTO finding_due_counts
SELECT tenant_id, DATE(due_at), severity, COUNT(*) FROM findings
 WHERE due_at IS NOT NULL
 GROUP BY tenant_id, DATE(due_at), severity;
