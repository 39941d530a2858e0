-- 0016: the scanner writes in batches (scan.c, findings_observe_batch).
--
-- seen_scan_id: the scan that last saw the finding. A complete scan then
-- finds what it did not see with one indexed statement, instead of keeping
-- every id it saw in memory; an unchanged finding costs one multi-row
-- UPDATE of last_seen_at and this column.
ALTER TABLE findings ADD COLUMN IF NOT EXISTS seen_scan_id VARCHAR(40)
    NULL AFTER last_seen_at;

-- The end of a scan counts the integration's open findings by severity
-- (SQL_SCAN_OPEN_COUNTS). Given tenant_id too, MariaDB preferred
-- (tenant_id, state, severity, seq), in GROUP BY order, over
-- (tenant_id, integration_id, state), and read every open finding of the
-- tenant and its row: 7 s at 119,000 findings. An integration id names one
-- integration of one tenant, so the scanner's statements on an
-- integration's findings (the counts, the remediations due, what a scan
-- did not see) now name the integration alone, and this index, which no
-- tenant-wide index can stand in for, answers the first two from the index
-- alone: the integration's open findings, in severity order.
-- bench/scan.py checks the plans.
ALTER TABLE findings ADD INDEX IF NOT EXISTS findings_integration_state
    (integration_id, state, severity, remediation);

-- GET /scans/{id}/results gives its total from here once the scan is over
-- (the results are counted once, at the end), not by counting rows on
-- every page. NULL for a scan still running or recorded before 0016.
ALTER TABLE scans ADD COLUMN IF NOT EXISTS results_total BIGINT UNSIGNED
    NULL AFTER duration_ms;
