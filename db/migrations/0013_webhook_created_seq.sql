-- 0013: which events a webhook gets is decided by the events' order, not
-- by clocks. created_seq is the highest events.seq of the webhook's tenant
-- when the webhook was created (read under the tenant row lock that every
-- writer of an event takes before its INSERT and holds until its commit):
-- a tenant's events committed before the webhook have seq <= created_seq,
-- those committed after it get a larger seq, whatever their created_at (a
-- scan's events carry their observation time). vigil-spool fans an event
-- out to a webhook only if the event's seq is greater.
ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS created_seq BIGINT UNSIGNED
    NULL AFTER created_at;
-- Existing webhooks: the old rule (events of the second of creation or
-- later), for the events not yet fanned out.
UPDATE webhooks w SET created_seq = (SELECT COALESCE(MAX(e.seq), 0)
    FROM events e WHERE e.tenant_id = w.tenant_id
    AND e.created_at < w.created_at) WHERE created_seq IS NULL;
ALTER TABLE webhooks MODIFY created_seq BIGINT UNSIGNED NOT NULL DEFAULT 0;
