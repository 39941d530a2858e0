-- 0037: daily counts per tenant, kept from now on for the executive
-- report's trends, without reading the findings again:
--   open             open findings of the severity at the day's last
--                    vigil-scan --due, copied from finding_counts (0005);
--                    NULL for a day no cron run saw
--   resolved         findings of the severity resolved that day (UTC)
--   resolve_seconds  the sum of their detected_at -> resolved_at
--   resolved_sla     of those, the ones that had an SLA due date (0034)
--                    when resolved (running, or paused with time left or
--                    overdue)
--   resolved_in_sla  of those, the ones resolved by their due date (or
--                    paused with time left)
-- The resolved columns are kept by the trigger below, which adds one
-- row's worth at the moment a finding becomes resolved (the SLA triggers
-- of 0034 clear due_at as it does: OLD has it).
CREATE TABLE IF NOT EXISTS finding_daily (
	tenant_id        VARCHAR(40) NOT NULL,
	day              DATE        NOT NULL,
	severity         ENUM('critical','high','medium','low','info') NOT NULL,
	open             BIGINT      NULL,
	resolved         BIGINT      NOT NULL DEFAULT 0,
	resolve_seconds  BIGINT      NOT NULL DEFAULT 0,
	resolved_sla     BIGINT      NOT NULL DEFAULT 0,
	resolved_in_sla  BIGINT      NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, day, severity)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Each AFTER trigger below stands aside while the session variable
-- @vigil_batch is set: the scanner's and importer's batch writer keeps
-- the same counts once per batch (0039_findings_batch_counts.sql).
DELIMITER $$
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
DELIMITER ;
