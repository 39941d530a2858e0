-- 0005: finding counts per tenant and filterable combination, kept by
-- triggers, so that "total" in GET /findings is exact without counting
-- every matching row on every page (COUNT(*) over 100,000 findings costs
-- tens of milliseconds; a sum over this table, microseconds).
CREATE TABLE IF NOT EXISTS finding_counts (
	tenant_id        VARCHAR(40)  NOT NULL,
	state            ENUM('open','accepted','resolved','snoozed','dismissed')
	                   NOT NULL,
	severity         ENUM('critical','high','medium','low','info') NOT NULL,
	category         VARCHAR(32)  NOT NULL,
	subscription_id  VARCHAR(64)  NOT NULL,
	environment      VARCHAR(32)  NOT NULL,
	n                BIGINT       NOT NULL,
	PRIMARY KEY (tenant_id, state, severity, category, subscription_id,
	    environment)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Each AFTER trigger below stands aside while the session variable
-- @vigil_batch is set: the scanner's and importer's batch writer keeps
-- the same counts once per batch (0039_findings_batch_counts.sql).
DELIMITER $$
CREATE OR REPLACE TRIGGER findings_count_insert AFTER INSERT ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL THEN
		INSERT INTO finding_counts VALUES (NEW.tenant_id, NEW.state,
		    NEW.severity, NEW.category, NEW.subscription_id,
		    NEW.environment, 1)
		ON DUPLICATE KEY UPDATE n = n + 1;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_count_update AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    OLD.state <=> NEW.state AND OLD.severity <=> NEW.severity AND
	    OLD.category <=> NEW.category AND
	    OLD.subscription_id <=> NEW.subscription_id AND
	    OLD.environment <=> NEW.environment) THEN
		UPDATE finding_counts SET n = n - 1
		 WHERE tenant_id = OLD.tenant_id AND state = OLD.state AND
		    severity = OLD.severity AND category = OLD.category AND
		    subscription_id = OLD.subscription_id AND
		    environment = OLD.environment;
		INSERT INTO finding_counts VALUES (NEW.tenant_id, NEW.state,
		    NEW.severity, NEW.category, NEW.subscription_id,
		    NEW.environment, 1)
		ON DUPLICATE KEY UPDATE n = n + 1;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_count_delete AFTER DELETE ON findings
FOR EACH ROW
BEGIN
	UPDATE finding_counts SET n = n - 1
	 WHERE tenant_id = OLD.tenant_id AND state = OLD.state AND
	    severity = OLD.severity AND category = OLD.category AND
	    subscription_id = OLD.subscription_id AND
	    environment = OLD.environment;
END
$$
DELIMITER ;

-- Rows that existed before the triggers.
DELETE FROM finding_counts;
INSERT INTO finding_counts
SELECT tenant_id, state, severity, category, subscription_id, environment,
    COUNT(*) FROM findings
 GROUP BY tenant_id, state, severity, category, subscription_id, environment;

-- Lists that span several states read findings newest first along this
-- index and filter as they go, stopping after one page; ranges over several
-- values of (state, severity) would have to sort every match instead.
ALTER TABLE findings ADD INDEX IF NOT EXISTS findings_tenant_seq
    (tenant_id, seq);
-- The documented example filter, by category, gets its own path.
ALTER TABLE findings ADD INDEX IF NOT EXISTS findings_state_cat_seq
    (tenant_id, state, category, seq);
