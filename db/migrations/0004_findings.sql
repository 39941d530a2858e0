-- 0004: findings, their history, the events outbox and tenant settings.

CREATE TABLE IF NOT EXISTS tenant_settings (
	tenant_id              VARCHAR(40) NOT NULL,
	allow_auto_remediate   TINYINT(1)  NOT NULL DEFAULT 0,
	scan_interval_minutes  INT UNSIGNED NOT NULL DEFAULT 60,
	-- JSON array of CIDR strings; empty array = no restriction
	ip_allowlist           TEXT        NOT NULL,
	updated_at             DATETIME    NOT NULL,
	PRIMARY KEY (tenant_id),
	CONSTRAINT tenant_settings_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per (tenant, deterministic finding id). seq only orders pages:
-- it never changes, so keyset pagination over it is exact while rows are
-- inserted or updated between pages.
CREATE TABLE IF NOT EXISTS findings (
	seq              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id        VARCHAR(40)   NOT NULL,
	id               VARCHAR(127)  NOT NULL,
	rule_id          VARCHAR(128)  NOT NULL,
	provider         VARCHAR(32)   NOT NULL,
	subscription_id  VARCHAR(64)   NOT NULL DEFAULT '',
	environment      VARCHAR(32)   NOT NULL DEFAULT '',
	resource_id      VARCHAR(1024) NOT NULL,
	title            VARCHAR(255)  NOT NULL,
	severity         ENUM('critical','high','medium','low','info') NOT NULL,
	category         VARCHAR(32)   NOT NULL,
	layer            VARCHAR(32)   NOT NULL DEFAULT '',
	framework        VARCHAR(255)  NOT NULL DEFAULT '',
	description      TEXT          NOT NULL,
	recommendation   TEXT          NOT NULL,
	evidence         LONGTEXT      NOT NULL,
	fingerprint      CHAR(64)      NOT NULL,
	state            ENUM('open','accepted','resolved','snoozed','dismissed')
	                   NOT NULL DEFAULT 'open',
	remediation      ENUM('none','requested','approved','remediated','failed')
	                   NOT NULL DEFAULT 'none',
	resolved_by      ENUM('none','user','scanner') NOT NULL DEFAULT 'none',
	awaiting_scan    TINYINT(1)    NOT NULL DEFAULT 0,
	accepted_until   DATETIME      NULL,
	snoozed_until    DATETIME      NULL,
	detected_at      DATETIME      NOT NULL,
	updated_at       DATETIME      NOT NULL,
	last_seen_at     DATETIME      NOT NULL,
	resolved_at      DATETIME      NULL,
	assignee         VARCHAR(254)  NULL,
	notes            TEXT          NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE KEY findings_seq (seq),
	KEY findings_state_seq (tenant_id, state, seq),
	KEY findings_state_sev_seq (tenant_id, state, severity, seq),
	KEY findings_updated (tenant_id, updated_at),
	KEY findings_due_accept (state, accepted_until),
	KEY findings_due_snooze (state, snoozed_until),
	CONSTRAINT findings_tenant_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS finding_history (
	seq         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id   VARCHAR(40)   NOT NULL,
	finding_id  VARCHAR(127)  NOT NULL,
	action      VARCHAR(64)   NOT NULL,
	at          DATETIME      NOT NULL,
	actor       VARCHAR(255)  NOT NULL,
	-- the action's own fields, a JSON object
	fields      TEXT          NOT NULL,
	PRIMARY KEY (seq),
	KEY finding_history_finding (tenant_id, finding_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The transactional outbox: written in the transaction of the change that
-- caused the event; the spooler fans it out to webhooks.
CREATE TABLE IF NOT EXISTS events (
	seq         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	id          VARCHAR(40)   NOT NULL,
	tenant_id   VARCHAR(40)   NOT NULL,
	type        VARCHAR(64)   NOT NULL,
	created_at  DATETIME      NOT NULL,
	-- the full envelope: event_id, event_type, tenant_id, timestamp, data
	payload     LONGTEXT      NOT NULL,
	PRIMARY KEY (seq),
	UNIQUE KEY events_id (id),
	KEY events_tenant (tenant_id, seq),
	KEY events_tenant_type (tenant_id, type, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
