-- migrate: restates triggers (run again after any older migration)
-- 0032: notification channels. A channel is a row of webhooks of another
-- kind: Slack, Teams, e-mail and PagerDuty messages go through the same
-- outbox, fan-out, deliveries, leases, retries, dead letters and failure
-- clock as signed webhooks (kind 'webhook'), so none of that exists twice.
--   kind     webhook | slack | teams | email | pagerduty
--   name     a label for people (NULL for webhooks registered at
--            /webhooks)
--   config   what is not secret, a JSON object (e-mail: host, port,
--            security, from, to, digest; PagerDuty: its events URL)
--   filter   a JSON object (event_types, min_severity, environments,
--            sources, tags) the fan-out applies besides events; NULL: none
-- For a channel, secret is crypto_seal() of a JSON object holding what is
-- secret (a Slack or Teams URL, a PagerDuty routing key, SMTP
-- credentials), aad = its id, and url shows where it goes without it.
ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS kind VARCHAR(16) NOT NULL
    DEFAULT 'webhook' AFTER tenant_id;
ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS name VARCHAR(200) NULL
    AFTER kind;
ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS config TEXT NULL;
ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS filter TEXT NULL;

-- GET /webhooks counts webhooks only; GET /channels (list 'channels')
-- counts every kind.
DELIMITER $$
CREATE OR REPLACE TRIGGER webhooks_count_insert AFTER INSERT ON webhooks
FOR EACH ROW
BEGIN
	IF NEW.deleted_at IS NULL THEN
		IF NEW.kind = 'webhook' THEN
			CALL list_count_add(NEW.tenant_id, 'webhooks', '', 1);
		END IF;
		CALL list_count_add(NEW.tenant_id, 'channels', '', 1);
	END IF;
END
$$
CREATE OR REPLACE TRIGGER webhooks_count_delete AFTER DELETE ON webhooks
FOR EACH ROW
BEGIN
	IF OLD.deleted_at IS NULL THEN
		IF OLD.kind = 'webhook' THEN
			CALL list_count_add(OLD.tenant_id, 'webhooks', '', -1);
		END IF;
		CALL list_count_add(OLD.tenant_id, 'channels', '', -1);
	END IF;
END
$$
CREATE OR REPLACE TRIGGER webhooks_count_update AFTER UPDATE ON webhooks
FOR EACH ROW
BEGIN
	IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    (OLD.deleted_at IS NULL) <=> (NEW.deleted_at IS NULL)) THEN
		IF OLD.deleted_at IS NULL THEN
			IF OLD.kind = 'webhook' THEN
				CALL list_count_add(OLD.tenant_id, 'webhooks',
				    '', -1);
			END IF;
			CALL list_count_add(OLD.tenant_id, 'channels', '', -1);
		END IF;
		IF NEW.deleted_at IS NULL THEN
			IF NEW.kind = 'webhook' THEN
				CALL list_count_add(NEW.tenant_id, 'webhooks',
				    '', 1);
			END IF;
			CALL list_count_add(NEW.tenant_id, 'channels', '', 1);
		END IF;
	END IF;
END
$$
DELIMITER ;

-- Both lists counted afresh from the rows (this runs again safely, as
-- 0015 does; run after 0015 again it puts these triggers back): the
-- channels already there are every live webhook.
DELETE FROM list_counts WHERE list IN ('webhooks', 'channels');
INSERT INTO list_counts (tenant_id, list, k, n)
SELECT tenant_id, 'webhooks', '', COUNT(*) FROM webhooks
 WHERE deleted_at IS NULL AND kind = 'webhook' GROUP BY tenant_id;
INSERT INTO list_counts (tenant_id, list, k, n)
SELECT tenant_id, 'channels', '', COUNT(*) FROM webhooks
 WHERE deleted_at IS NULL GROUP BY tenant_id;
