-- 0027: mute rules (a mutelist). A finding that a live mute rule matches is
-- in the state 'muted' instead of 'open': it is not open risk, so the
-- posture counts (0014, open only) leave it out and finding_counts (0005)
-- counts it under 'muted'. Which rule muted it is in its history; whether
-- it stays muted is decided again from the live rules, so a rule's row
-- does not need to be referenced from findings.
--
-- A rule matches on every criterion it names (an absent criterion matches
-- everything). rule_pattern and resource_pattern are globs ('*', '?').
CREATE TABLE IF NOT EXISTS mute_rules (
	seq               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id         VARCHAR(40)   NOT NULL,
	id                VARCHAR(40)   NOT NULL,
	rule_pattern      VARCHAR(128)  NULL,
	source            VARCHAR(64)   NULL,
	resource_pattern  VARCHAR(1024) NULL,
	resource_group    VARCHAR(128)  NULL,
	subscription_id   VARCHAR(64)   NULL,
	environment       VARCHAR(32)   NULL,
	tag_key           VARCHAR(128)  NULL,
	tag_value         VARCHAR(256)  NULL,
	justification     VARCHAR(4096) NOT NULL,
	expires_at        DATETIME      NULL,
	-- Set by the expiry job once the findings it muted were given back.
	lapsed            TINYINT(1)    NOT NULL DEFAULT 0,
	created_at        DATETIME      NOT NULL,
	created_by        VARCHAR(254)  NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE KEY mute_rules_seq (seq),
	KEY mute_rules_due (lapsed, expires_at),
	CONSTRAINT mute_rules_tenant_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The new state, appended so that stored values keep their meaning.
ALTER TABLE findings MODIFY state
    ENUM('open','accepted','resolved','snoozed','dismissed','muted')
    NOT NULL DEFAULT 'open';
ALTER TABLE finding_counts MODIFY state
    ENUM('open','accepted','resolved','snoozed','dismissed','muted')
    NOT NULL;
