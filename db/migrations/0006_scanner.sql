-- 0006: integrations (where resources come from), scans, their results,
-- and which integration last saw each finding.

CREATE TABLE IF NOT EXISTS integrations (
	id            VARCHAR(40)  NOT NULL,
	tenant_id     VARCHAR(40)  NOT NULL,
	type          ENUM('azure','inventory') NOT NULL,
	name          VARCHAR(100) NOT NULL,
	-- the configuration without secrets, a JSON object
	config        TEXT         NOT NULL,
	-- crypto_seal() of the client secret (AES-256-GCM, aad = id); NULL
	-- for types without one
	secret        TEXT         NULL,
	created_at    DATETIME     NOT NULL,
	deleted_at    DATETIME     NULL,
	last_scan_at  DATETIME     NULL,
	PRIMARY KEY (id),
	KEY integrations_tenant (tenant_id, deleted_at),
	CONSTRAINT integrations_tenant_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS scans (
	id                 VARCHAR(40)  NOT NULL,
	tenant_id          VARCHAR(40)  NOT NULL,
	integration_id     VARCHAR(40)  NOT NULL,
	status             ENUM('queued','running','completed','failed')
	                     NOT NULL,
	trigger_type       ENUM('api','schedule','cli') NOT NULL,
	created_at         DATETIME     NOT NULL,
	started_at         DATETIME     NULL,
	finished_at        DATETIME     NULL,
	-- "host:pid" of the vigil-scan running it
	runner             VARCHAR(255) NULL,
	resources_scanned  INT UNSIGNED NOT NULL DEFAULT 0,
	rules_evaluated    INT UNSIGNED NOT NULL DEFAULT 0,
	findings_detected  INT UNSIGNED NOT NULL DEFAULT 0,
	findings_resolved  INT UNSIGNED NOT NULL DEFAULT 0,
	findings_reopened  INT UNSIGNED NOT NULL DEFAULT 0,
	-- open findings by severity after the scan, a JSON object
	counts             TEXT         NULL,
	error              TEXT         NULL,
	PRIMARY KEY (id),
	KEY scans_integration_status (integration_id, status),
	KEY scans_tenant_created (tenant_id, created_at),
	KEY scans_status (status, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- What one scan saw and did, per finding.
CREATE TABLE IF NOT EXISTS scan_results (
	scan_id       VARCHAR(40)   NOT NULL,
	finding_id    VARCHAR(127)  NOT NULL,
	rule_id       VARCHAR(128)  NOT NULL,
	resource_id   VARCHAR(1024) NOT NULL,
	severity      ENUM('critical','high','medium','low','info') NOT NULL,
	outcome       ENUM('detected','present','reopened','resolved',
	                   'remediated','remediation_failed') NOT NULL,
	PRIMARY KEY (scan_id, finding_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE findings ADD COLUMN IF NOT EXISTS integration_id VARCHAR(40)
    NULL AFTER provider;
ALTER TABLE findings ADD INDEX IF NOT EXISTS findings_integration
    (tenant_id, integration_id, state);
