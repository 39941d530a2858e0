-- 0014: what GET /risk-score and GET /posture-summary read without
-- visiting every open finding. Severity, state and category counts and
-- the subscriptions touched come from finding_counts (0005), whose size
-- is the number of distinct (state, severity, category, subscription,
-- environment) combinations, not of findings. The resources touched are
-- kept here by triggers: per (tenant, resource) the number of open
-- findings on it, and per tenant how many resources have at least one.

-- resource_id is up to 1024 characters, too long for a key: its SHA-256
-- stands for it (compared byte for byte, as utf8mb4_bin compares it).
-- A row exists only while n > 0.
CREATE TABLE IF NOT EXISTS finding_resources (
	tenant_id      VARCHAR(40) NOT NULL,
	resource_hash  BINARY(32)  NOT NULL,
	n              BIGINT      NOT NULL,
	PRIMARY KEY (tenant_id, resource_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS finding_tenant_counts (
	tenant_id       VARCHAR(40) NOT NULL,
	open_resources  BIGINT      NOT NULL,
	PRIMARY KEY (tenant_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

DELIMITER $$
-- One more open finding on resource r; the tenant counts the resource
-- when it is its first. (The row is locked by the INSERT until commit,
-- so the n read back is this transaction's.)
CREATE OR REPLACE PROCEDURE finding_resource_open(IN t VARCHAR(40),
    IN r VARCHAR(1024))
BEGIN
	DECLARE v BIGINT DEFAULT NULL;

	INSERT INTO finding_resources VALUES (t, UNHEX(SHA2(r, 256)), 1)
	ON DUPLICATE KEY UPDATE n = n + 1;
	SELECT n INTO v FROM finding_resources
	 WHERE tenant_id = t AND resource_hash = UNHEX(SHA2(r, 256));
	IF v = 1 THEN
		INSERT INTO finding_tenant_counts VALUES (t, 1)
		ON DUPLICATE KEY UPDATE open_resources = open_resources + 1;
	END IF;
END
$$

-- One open finding fewer on resource r; at zero the row goes, and the
-- tenant's count of resources with it.
CREATE OR REPLACE PROCEDURE finding_resource_close(IN t VARCHAR(40),
    IN r VARCHAR(1024))
BEGIN
	DECLARE v BIGINT DEFAULT NULL;

	UPDATE finding_resources SET n = n - 1
	 WHERE tenant_id = t AND resource_hash = UNHEX(SHA2(r, 256));
	SELECT n INTO v FROM finding_resources
	 WHERE tenant_id = t AND resource_hash = UNHEX(SHA2(r, 256));
	IF v <= 0 THEN
		DELETE FROM finding_resources
		 WHERE tenant_id = t AND resource_hash = UNHEX(SHA2(r, 256));
		UPDATE finding_tenant_counts
		   SET open_resources = open_resources - 1
		 WHERE tenant_id = t;
	END IF;
END
$$

-- Row triggers: they fire for each row of a multi-row INSERT ... ON
-- DUPLICATE KEY UPDATE (AFTER INSERT for the new rows, AFTER UPDATE for
-- the updated ones) and of an UPDATE ... WHERE id IN (...), as for a
-- single row.
-- Each AFTER trigger below stands aside while the session variable
-- @vigil_batch is set: the scanner's and importer's batch writer keeps
-- the same counts once per batch (0039_findings_batch_counts.sql).
CREATE OR REPLACE TRIGGER findings_resource_insert AFTER INSERT ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NEW.state = 'open' THEN
		CALL finding_resource_open(NEW.tenant_id, NEW.resource_id);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_resource_update AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    OLD.resource_id <=> NEW.resource_id AND
	    (OLD.state = 'open') <=> (NEW.state = 'open')) THEN
		IF OLD.state = 'open' THEN
			CALL finding_resource_close(OLD.tenant_id,
			    OLD.resource_id);
		END IF;
		IF NEW.state = 'open' THEN
			CALL finding_resource_open(NEW.tenant_id,
			    NEW.resource_id);
		END IF;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_resource_delete AFTER DELETE ON findings
FOR EACH ROW
BEGIN
	IF OLD.state = 'open' THEN
		CALL finding_resource_close(OLD.tenant_id, OLD.resource_id);
	END IF;
END
$$
DELIMITER ;

-- Rows that existed before the triggers.
DELETE FROM finding_resources;
INSERT INTO finding_resources
SELECT tenant_id, UNHEX(SHA2(resource_id, 256)), COUNT(*) FROM findings
 WHERE state = 'open' GROUP BY tenant_id, UNHEX(SHA2(resource_id, 256));
DELETE FROM finding_tenant_counts;
INSERT INTO finding_tenant_counts
SELECT tenant_id, COUNT(*) FROM finding_resources GROUP BY tenant_id;

-- The top risks (open, by severity, then oldest, then id) read in this
-- index's order: the first five entries, not a sort of every open
-- finding.
ALTER TABLE findings ADD INDEX IF NOT EXISTS findings_top
    (tenant_id, state, severity, detected_at, id);

-- A list filtered on a column its index does not order by (subscription,
-- environment, since; severity or category beside another filter) walks
-- the index newest first until a page matches. With every filtered
-- column in the index, the walk (the inner SELECT of SQL_FINDING_LIST*)
-- reads the index alone and only the page's rows are fetched, instead of
-- every row passed over. Same names, so that FORCE INDEX still holds.
ALTER TABLE findings DROP INDEX IF EXISTS findings_state_seq,
    ADD INDEX findings_state_seq (tenant_id, state, seq, severity, category,
    subscription_id, environment, updated_at);
ALTER TABLE findings DROP INDEX IF EXISTS findings_tenant_seq,
    ADD INDEX findings_tenant_seq (tenant_id, seq, state, severity,
    category, subscription_id, environment, updated_at);
ALTER TABLE findings DROP INDEX IF EXISTS findings_state_sev_seq,
    ADD INDEX findings_state_sev_seq (tenant_id, state, severity, seq,
    category, subscription_id, environment, updated_at);
ALTER TABLE findings DROP INDEX IF EXISTS findings_state_cat_seq,
    ADD INDEX findings_state_cat_seq (tenant_id, state, category, seq,
    severity, subscription_id, environment, updated_at);
