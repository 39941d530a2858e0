-- 0035: findings per (tenant, rule, state), kept by triggers, so that GET
-- /compliance/frameworks/{id} reads how many open (and accepted, snoozed,
-- muted) findings each rule behind a control has with one key lookup per
-- rule, instead of counting every finding of the rule on every request.
-- A row exists once a finding of the rule has been in that state; n may
-- go back to 0.
CREATE TABLE IF NOT EXISTS finding_rule_counts (
	tenant_id  VARCHAR(40)   NOT NULL,
	rule_id    VARCHAR(128)  NOT NULL,
	state      ENUM('open','accepted','resolved','snoozed','dismissed',
	             'muted') NOT NULL,
	n          BIGINT        NOT NULL,
	PRIMARY KEY (tenant_id, rule_id, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Each AFTER trigger below stands aside while the session variable
-- @vigil_batch is set: the scanner's and importer's batch writer keeps
-- the same counts once per batch (0039_findings_batch_counts.sql).
DELIMITER $$
CREATE OR REPLACE TRIGGER findings_rule_count_insert AFTER INSERT ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL THEN
		INSERT INTO finding_rule_counts VALUES (NEW.tenant_id,
		    NEW.rule_id, NEW.state, 1)
		ON DUPLICATE KEY UPDATE n = n + 1;
	END IF;
END
$$

-- Only a change of state (or of rule or tenant, which Vigil never makes)
-- touches the counts: a rescan that updates last_seen_at costs nothing.
CREATE OR REPLACE TRIGGER findings_rule_count_update AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NOT (OLD.tenant_id <=> NEW.tenant_id AND
	    OLD.rule_id <=> NEW.rule_id AND OLD.state <=> NEW.state) THEN
		UPDATE finding_rule_counts SET n = n - 1
		 WHERE tenant_id = OLD.tenant_id AND rule_id = OLD.rule_id AND
		    state = OLD.state;
		INSERT INTO finding_rule_counts VALUES (NEW.tenant_id,
		    NEW.rule_id, NEW.state, 1)
		ON DUPLICATE KEY UPDATE n = n + 1;
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_rule_count_delete AFTER DELETE ON findings
FOR EACH ROW
BEGIN
	UPDATE finding_rule_counts SET n = n - 1
	 WHERE tenant_id = OLD.tenant_id AND rule_id = OLD.rule_id AND
	    state = OLD.state;
END
$$
DELIMITER ;

-- Rows that existed before the triggers.
DELETE FROM finding_rule_counts;
INSERT INTO finding_rule_counts
SELECT tenant_id, rule_id, state, COUNT(*) FROM findings
 GROUP BY tenant_id, rule_id, state;
