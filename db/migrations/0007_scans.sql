-- 0007: GET /scans pages a tenant's scans newest first by id (ULIDs sort
-- by creation time); and a scan keeps its duration.
ALTER TABLE scans ADD INDEX IF NOT EXISTS scans_tenant_id (tenant_id, id);
-- How long the scan took, measured by the scanner (monotonic clock).
ALTER TABLE scans ADD COLUMN IF NOT EXISTS duration_ms BIGINT UNSIGNED NULL
    AFTER finished_at;
