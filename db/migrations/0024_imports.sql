-- 0024: imports of other tools' reports (POST /api/v1/imports, vigilctl
-- findings import --format), their stored bytes, and which sources report
-- each finding.

-- One report: received into import_chunks ('receiving'), then 'queued',
-- 'running' while a worker (the request itself, vigil-scan --due or
-- vigilctl) reads it, and 'completed' or 'failed'. errors: a JSON array of
-- at most 100 per-item errors {index, line, offset, error}.
CREATE TABLE IF NOT EXISTS imports (
	seq               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	id                VARCHAR(40)     NOT NULL,
	tenant_id         VARCHAR(40)     NOT NULL,
	source            VARCHAR(64)     NOT NULL,
	format            ENUM('vigil','ocsf','sarif','asff') NOT NULL,
	mode              ENUM('full','partial') NOT NULL,
	status            ENUM('receiving','queued','running','completed',
	                       'failed') NOT NULL,
	actor             VARCHAR(128)    NOT NULL,
	bytes             BIGINT UNSIGNED NOT NULL DEFAULT 0,
	chunks            INT UNSIGNED    NOT NULL DEFAULT 0,
	items             INT UNSIGNED    NOT NULL DEFAULT 0,
	imported          INT UNSIGNED    NOT NULL DEFAULT 0,
	passed            INT UNSIGNED    NOT NULL DEFAULT 0,
	failed            INT UNSIGNED    NOT NULL DEFAULT 0,
	resolved          INT UNSIGNED    NOT NULL DEFAULT 0,
	errors            MEDIUMTEXT      NULL,
	error             TEXT            NULL,
	created_at        DATETIME        NOT NULL,
	started_at        DATETIME        NULL,
	finished_at       DATETIME        NULL,
	PRIMARY KEY (id),
	UNIQUE KEY imports_seq (seq),
	KEY imports_tenant_seq (tenant_id, seq),
	KEY imports_status (status, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A report's bytes, in pieces of at most 256 KiB; deleted once read.
CREATE TABLE IF NOT EXISTS import_chunks (
	import_id     VARCHAR(40)   NOT NULL,
	n             INT UNSIGNED  NOT NULL,
	data          MEDIUMBLOB    NOT NULL,
	PRIMARY KEY (import_id, n)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Which sources report a finding now: one row per (finding, source),
-- written by every import that sees it; import_id is the last import of
-- that source that did, so a complete report finds what it no longer
-- lists with one indexed statement.
CREATE TABLE IF NOT EXISTS finding_sources (
	tenant_id      VARCHAR(40)   NOT NULL,
	finding_id     VARCHAR(127)  NOT NULL,
	source         VARCHAR(64)   NOT NULL,
	format         ENUM('vigil','ocsf','sarif','asff') NOT NULL,
	external_id    VARCHAR(255)  NOT NULL DEFAULT '',
	first_seen_at  DATETIME      NOT NULL,
	last_seen_at   DATETIME      NOT NULL,
	import_id      VARCHAR(40)   NOT NULL,
	PRIMARY KEY (tenant_id, finding_id, source),
	KEY finding_sources_source (tenant_id, source, import_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
