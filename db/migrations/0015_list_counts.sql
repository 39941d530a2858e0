-- 0015: the totals of the lists, kept by triggers, so that a page costs
-- the page and not a COUNT(*) over everything the tenant holds (GET
-- /events counted 292,000 rows on every page). One row per (tenant,
-- list, key):
--   events        key: the event type      (GET /events, its type filter)
--   audit         key: the action          (GET /audit, its action filter)
--   scans         key: ''                  (GET /scans)
--   deliveries    key: the webhook id      (GET /webhooks/{id}/deliveries)
--   webhooks      key: ''  not deleted     (GET /webhooks)
--   integrations  key: ''  not deleted     (GET /integrations)
-- Row triggers: they fire for each row of a multi-row INSERT or UPDATE and
-- of vigilctl events prune's batched DELETEs.
CREATE TABLE IF NOT EXISTS list_counts (
	tenant_id  VARCHAR(40) NOT NULL,
	list       VARCHAR(16) NOT NULL,
	k          VARCHAR(64) NOT NULL,
	n          BIGINT      NOT NULL,
	PRIMARY KEY (tenant_id, list, k)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

DELIMITER $$
CREATE OR REPLACE PROCEDURE list_count_add(IN t VARCHAR(40),
    IN l VARCHAR(16), IN key_ VARCHAR(64), IN d INT)
BEGIN
	INSERT INTO list_counts VALUES (t, l, key_, d)
	ON DUPLICATE KEY UPDATE n = n + d;
END
$$

CREATE OR REPLACE TRIGGER events_count_insert AFTER INSERT ON events
FOR EACH ROW CALL list_count_add(NEW.tenant_id, 'events', NEW.type, 1)
$$
CREATE OR REPLACE TRIGGER events_count_delete AFTER DELETE ON events
FOR EACH ROW CALL list_count_add(OLD.tenant_id, 'events', OLD.type, -1)
$$
CREATE OR REPLACE TRIGGER events_count_update AFTER UPDATE ON events
FOR EACH ROW
BEGIN
	IF NOT (OLD.tenant_id <=> NEW.tenant_id AND OLD.type <=> NEW.type) THEN
		CALL list_count_add(OLD.tenant_id, 'events', OLD.type, -1);
		CALL list_count_add(NEW.tenant_id, 'events', NEW.type, 1);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER audit_count_insert AFTER INSERT ON audit_log
FOR EACH ROW CALL list_count_add(NEW.tenant_id, 'audit', NEW.action, 1)
$$
CREATE OR REPLACE TRIGGER audit_count_delete AFTER DELETE ON audit_log
FOR EACH ROW CALL list_count_add(OLD.tenant_id, 'audit', OLD.action, -1)
$$
CREATE OR REPLACE TRIGGER audit_count_update AFTER UPDATE ON audit_log
FOR EACH ROW
BEGIN
	IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    OLD.action <=> NEW.action) THEN
		CALL list_count_add(OLD.tenant_id, 'audit', OLD.action, -1);
		CALL list_count_add(NEW.tenant_id, 'audit', NEW.action, 1);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER scans_count_insert AFTER INSERT ON scans
FOR EACH ROW CALL list_count_add(NEW.tenant_id, 'scans', '', 1)
$$
CREATE OR REPLACE TRIGGER scans_count_delete AFTER DELETE ON scans
FOR EACH ROW CALL list_count_add(OLD.tenant_id, 'scans', '', -1)
$$
CREATE OR REPLACE TRIGGER scans_count_update AFTER UPDATE ON scans
FOR EACH ROW
BEGIN
	IF NOT (OLD.tenant_id <=> NEW.tenant_id) THEN
		CALL list_count_add(OLD.tenant_id, 'scans', '', -1);
		CALL list_count_add(NEW.tenant_id, 'scans', '', 1);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries
FOR EACH ROW CALL list_count_add(NEW.tenant_id, 'deliveries',
    NEW.webhook_id, 1)
$$
CREATE OR REPLACE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries
FOR EACH ROW CALL list_count_add(OLD.tenant_id, 'deliveries',
    OLD.webhook_id, -1)
$$
CREATE OR REPLACE TRIGGER deliveries_count_update AFTER UPDATE ON deliveries
FOR EACH ROW
BEGIN
	IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    OLD.webhook_id <=> NEW.webhook_id) THEN
		CALL list_count_add(OLD.tenant_id, 'deliveries',
		    OLD.webhook_id, -1);
		CALL list_count_add(NEW.tenant_id, 'deliveries',
		    NEW.webhook_id, 1);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER webhooks_count_insert AFTER INSERT ON webhooks
FOR EACH ROW
BEGIN
	IF NEW.deleted_at IS NULL THEN
		CALL list_count_add(NEW.tenant_id, 'webhooks', '', 1);
	END IF;
END
$$
CREATE OR REPLACE TRIGGER webhooks_count_delete AFTER DELETE ON webhooks
FOR EACH ROW
BEGIN
	IF OLD.deleted_at IS NULL THEN
		CALL list_count_add(OLD.tenant_id, 'webhooks', '', -1);
	END IF;
END
$$
CREATE OR REPLACE TRIGGER webhooks_count_update AFTER UPDATE ON webhooks
FOR EACH ROW
BEGIN
	IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    (OLD.deleted_at IS NULL) <=> (NEW.deleted_at IS NULL)) THEN
		IF OLD.deleted_at IS NULL THEN
			CALL list_count_add(OLD.tenant_id, 'webhooks', '', -1);
		END IF;
		IF NEW.deleted_at IS NULL THEN
			CALL list_count_add(NEW.tenant_id, 'webhooks', '', 1);
		END IF;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER integrations_count_insert AFTER INSERT
    ON integrations
FOR EACH ROW
BEGIN
	IF NEW.deleted_at IS NULL THEN
		CALL list_count_add(NEW.tenant_id, 'integrations', '', 1);
	END IF;
END
$$
CREATE OR REPLACE TRIGGER integrations_count_delete AFTER DELETE
    ON integrations
FOR EACH ROW
BEGIN
	IF OLD.deleted_at IS NULL THEN
		CALL list_count_add(OLD.tenant_id, 'integrations', '', -1);
	END IF;
END
$$
CREATE OR REPLACE TRIGGER integrations_count_update AFTER UPDATE
    ON integrations
FOR EACH ROW
BEGIN
	IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    (OLD.deleted_at IS NULL) <=> (NEW.deleted_at IS NULL)) THEN
		IF OLD.deleted_at IS NULL THEN
			CALL list_count_add(OLD.tenant_id, 'integrations', '',
			    -1);
		END IF;
		IF NEW.deleted_at IS NULL THEN
			CALL list_count_add(NEW.tenant_id, 'integrations', '',
			    1);
		END IF;
	END IF;
END
$$
DELIMITER ;

-- Rows that existed before the triggers.
DELETE FROM list_counts;
INSERT INTO list_counts
SELECT tenant_id, 'events', type, COUNT(*) FROM events
 GROUP BY tenant_id, type;
INSERT INTO list_counts
SELECT tenant_id, 'audit', action, COUNT(*) FROM audit_log
 GROUP BY tenant_id, action;
INSERT INTO list_counts
SELECT tenant_id, 'scans', '', COUNT(*) FROM scans GROUP BY tenant_id;
INSERT INTO list_counts
SELECT tenant_id, 'deliveries', webhook_id, COUNT(*) FROM deliveries
 GROUP BY tenant_id, webhook_id;
INSERT INTO list_counts
SELECT tenant_id, 'webhooks', '', COUNT(*) FROM webhooks
 WHERE deleted_at IS NULL GROUP BY tenant_id;
INSERT INTO list_counts
SELECT tenant_id, 'integrations', '', COUNT(*) FROM integrations
 WHERE deleted_at IS NULL GROUP BY tenant_id;

-- Pages and "since" counts that read an index in their own order:
-- GET /audit?action= newest first, the entries and events at or after
-- a time (with the column the type/action filter reads), GET /scans
-- newest first.
ALTER TABLE audit_log ADD INDEX IF NOT EXISTS audit_tenant_action
    (tenant_id, action, seq);
ALTER TABLE audit_log ADD INDEX IF NOT EXISTS audit_tenant_at
    (tenant_id, at, action);
ALTER TABLE events ADD INDEX IF NOT EXISTS events_tenant_created
    (tenant_id, created_at, type);
ALTER TABLE scans ADD INDEX IF NOT EXISTS scans_tenant_id (tenant_id, id);
