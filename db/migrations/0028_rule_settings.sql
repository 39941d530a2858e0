-- 0028: rules per tenant. rule_settings holds a tenant's choices about a
-- rule it can see (built-in or its own): disabled, or another severity.
-- custom_rules holds a tenant's own rules, in the same declarative JSON as
-- the rule pack's files (validated by the same checker when stored, and
-- again when a scan loads them). Neither is seen by another tenant.
CREATE TABLE IF NOT EXISTS rule_settings (
	tenant_id   VARCHAR(40)  NOT NULL,
	rule_id     VARCHAR(64)  NOT NULL,
	enabled     TINYINT(1)   NOT NULL DEFAULT 1,
	severity    ENUM('critical','high','medium','low','info') NULL,
	updated_at  DATETIME     NOT NULL,
	updated_by  VARCHAR(254) NOT NULL,
	PRIMARY KEY (tenant_id, rule_id),
	CONSTRAINT rule_settings_tenant_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS custom_rules (
	seq         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id   VARCHAR(40)  NOT NULL,
	id          VARCHAR(64)  NOT NULL,
	body        MEDIUMTEXT   NOT NULL,
	created_at  DATETIME     NOT NULL,
	created_by  VARCHAR(254) NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE KEY custom_rules_seq (seq),
	CONSTRAINT custom_rules_tenant_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Disabling a rule resolves the tenant's findings of it: found by rule.
ALTER TABLE findings ADD INDEX IF NOT EXISTS findings_rule
    (tenant_id, rule_id, state);
