-- 0020: alerts at forwarder rates and alert lists.
--
-- An `ingest` scope for the keys of SIEM forwarders and other senders of
-- alerts: it may call only the ingest routes (POST /api/v1/alerts and
-- /alerts/batch), and its requests there are counted in their own class
-- against the tenant's own ingest limit (rate_ingest_per_min; NULL: the
-- configured rate_ingest_per_min), not against a person's write limit.
ALTER TABLE api_keys MODIFY scopes SET('read','write','admin','ingest')
    NOT NULL;
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS rate_ingest_per_min
    INT UNSIGNED NULL;
-- 'ingest' is six characters.
ALTER TABLE rate_limits MODIFY class CHAR(6) NOT NULL;

-- GET /alerts: the tenant's alerts newest first without a status or
-- source filter, and by assignee.
ALTER TABLE alerts ADD INDEX IF NOT EXISTS alerts_tenant_seq
    (tenant_id, seq);
ALTER TABLE alerts ADD INDEX IF NOT EXISTS alerts_assignee_seq
    (tenant_id, assignee, seq);
