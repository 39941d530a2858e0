-- 0037: daily counts per tenant, kept from now on for the executive
-- report's trends, without reading the findings again:
--   open             open findings of the severity at the day's last
--                    vigil-scan --due, copied from finding_counts (0005);
--                    NULL for a day no cron run saw
--   resolved         findings of the severity resolved that day (UTC)
--   resolve_seconds  the sum of their detected_at -> resolved_at
-- resolved and resolve_seconds are kept by the trigger below, which adds
-- one row's worth at the moment a finding becomes resolved.
CREATE TABLE IF NOT EXISTS finding_daily (
	tenant_id        VARCHAR(40) NOT NULL,
	day              DATE        NOT NULL,
	severity         ENUM('critical','high','medium','low','info') NOT NULL,
	open             BIGINT      NULL,
	resolved         BIGINT      NOT NULL DEFAULT 0,
	resolve_seconds  BIGINT      NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, day, severity)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

DELIMITER $$
CREATE OR REPLACE TRIGGER findings_daily_resolved AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF NEW.state = 'resolved' AND NOT (OLD.state <=> 'resolved') AND
	    NEW.resolved_at IS NOT NULL THEN
		INSERT INTO finding_daily (tenant_id, day, severity, resolved,
		    resolve_seconds)
		VALUES (NEW.tenant_id, DATE(NEW.resolved_at), NEW.severity, 1,
		    GREATEST(0, TIMESTAMPDIFF(SECOND, NEW.detected_at,
		    NEW.resolved_at)))
		ON DUPLICATE KEY UPDATE resolved = resolved + 1,
		    resolve_seconds = resolve_seconds + GREATEST(0,
		    TIMESTAMPDIFF(SECOND, NEW.detected_at, NEW.resolved_at));
	END IF;
END
$$
DELIMITER ;
