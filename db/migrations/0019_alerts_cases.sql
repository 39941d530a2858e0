-- 0019: the response half: alerts from other tools, the observables they
-- carry, cases that group alerts and findings, their timeline and
-- attachments, observable suppressions.
--
-- Every table is keyed by tenant first: no statement reaches another
-- tenant's row without naming it. Ids are prefixed ULIDs (alert_, case_,
-- obs_, att_, sup_); seq columns only order pages and never change.

-- One row per (tenant, type, normalised value): the normalised value is
-- what src/domain/observable.c writes, so "203.0.113.4" and
-- "::ffff:203.0.113.4" are one row. value_hash (SHA-256 of the normalised
-- value, hex) carries the uniqueness: a URL may be longer than an index
-- key can be.
CREATE TABLE IF NOT EXISTS observables (
	seq            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id      VARCHAR(40)   NOT NULL,
	id             VARCHAR(40)   NOT NULL,
	type           ENUM('ip','domain','url','hash','email','hostname',
	                    'user','file') NOT NULL,
	value          VARCHAR(2048) NOT NULL,
	value_hash     CHAR(64)      NOT NULL,
	first_seen_at  DATETIME      NOT NULL,
	last_seen_at   DATETIME      NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE KEY observables_seq (seq),
	UNIQUE KEY observables_value (tenant_id, type, value_hash),
	CONSTRAINT observables_tenant_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- An alert: a detection another tool made. (source, external_id) is the
-- sender's identity for it: ingesting it again updates last_seen_at and
-- occurrences and creates nothing.
CREATE TABLE IF NOT EXISTS alerts (
	seq              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id        VARCHAR(40)   NOT NULL,
	id               VARCHAR(40)   NOT NULL,
	source           VARCHAR(64)   NOT NULL,
	external_id      VARCHAR(255)  NOT NULL,
	severity         ENUM('critical','high','medium','low','info') NOT NULL,
	title            VARCHAR(255)  NOT NULL,
	status           ENUM('triage','escalated','dismissed','suppressed')
	                   NOT NULL DEFAULT 'triage',
	-- when the sender's tool saw it, and when Vigil first received it
	detected_at      DATETIME      NOT NULL,
	ingested_at      DATETIME      NOT NULL,
	last_seen_at     DATETIME      NOT NULL,
	updated_at       DATETIME      NOT NULL,
	occurrences      INT UNSIGNED  NOT NULL DEFAULT 1,
	-- JSON object: hostname, owner, and whatever else the sender put there
	asset            TEXT          NOT NULL,
	-- the original payload, verbatim up to a cap; raw_truncated says if cut
	raw              LONGTEXT      NOT NULL,
	raw_truncated    TINYINT(1)    NOT NULL DEFAULT 0,
	assignee         VARCHAR(254)  NULL,
	-- JSON array of strings
	tags             TEXT          NOT NULL,
	case_id          VARCHAR(40)   NULL,
	dismiss_reason   ENUM('known-good','false-positive','duplicate','test',
	                      'other') NULL,
	dismiss_comment  TEXT          NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE KEY alerts_seq (seq),
	UNIQUE KEY alerts_source_external (tenant_id, source, external_id),
	KEY alerts_status_seq (tenant_id, status, seq),
	KEY alerts_source_seq (tenant_id, source, seq),
	KEY alerts_case (tenant_id, case_id),
	CONSTRAINT alerts_tenant_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Which observables an alert carries. Keyed for the search ("every alert
-- touching this value", newest first), with the reverse for an alert's
-- own list.
CREATE TABLE IF NOT EXISTS alert_observables (
	tenant_id       VARCHAR(40)     NOT NULL,
	observable_seq  BIGINT UNSIGNED NOT NULL,
	alert_seq       BIGINT UNSIGNED NOT NULL,
	PRIMARY KEY (tenant_id, observable_seq, alert_seq),
	KEY alert_observables_alert (tenant_id, alert_seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- An alert's history, like finding_history: one row per change.
CREATE TABLE IF NOT EXISTS alert_history (
	seq         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id   VARCHAR(40)   NOT NULL,
	alert_id    VARCHAR(40)   NOT NULL,
	action      VARCHAR(64)   NOT NULL,
	at          DATETIME      NOT NULL,
	actor       VARCHAR(255)  NOT NULL,
	-- the action's own fields, a JSON object
	fields      TEXT          NOT NULL,
	PRIMARY KEY (seq),
	KEY alert_history_alert (tenant_id, alert_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A case: an investigation grouping alerts and findings.
CREATE TABLE IF NOT EXISTS cases (
	seq          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id    VARCHAR(40)   NOT NULL,
	id           VARCHAR(40)   NOT NULL,
	title        VARCHAR(255)  NOT NULL,
	description  TEXT          NOT NULL,
	severity     ENUM('critical','high','medium','low','info') NOT NULL,
	status       ENUM('open','resolved') NOT NULL DEFAULT 'open',
	assignee     VARCHAR(254)  NULL,
	-- JSON arrays of strings
	tags         TEXT          NOT NULL,
	techniques   TEXT          NOT NULL,
	verdict      ENUM('true_positive','false_positive','benign','duplicate')
	               NULL,
	root_cause   TEXT          NULL,
	narrative    TEXT          NULL,
	created_by   VARCHAR(255)  NOT NULL,
	created_at   DATETIME      NOT NULL,
	updated_at   DATETIME      NOT NULL,
	resolved_at  DATETIME      NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE KEY cases_seq (seq),
	KEY cases_status_seq (tenant_id, status, seq),
	CONSTRAINT cases_tenant_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS case_alerts (
	tenant_id  VARCHAR(40)  NOT NULL,
	case_id    VARCHAR(40)  NOT NULL,
	alert_id   VARCHAR(40)  NOT NULL,
	linked_at  DATETIME     NOT NULL,
	PRIMARY KEY (tenant_id, case_id, alert_id),
	KEY case_alerts_alert (tenant_id, alert_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS case_findings (
	tenant_id   VARCHAR(40)   NOT NULL,
	case_id     VARCHAR(40)   NOT NULL,
	finding_id  VARCHAR(127)  NOT NULL,
	linked_at   DATETIME      NOT NULL,
	PRIMARY KEY (tenant_id, case_id, finding_id),
	KEY case_findings_finding (tenant_id, finding_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A case's observables, deduplicated across its alerts, with when the
-- case first and last saw each; keyed for the search as well.
CREATE TABLE IF NOT EXISTS case_observables (
	tenant_id       VARCHAR(40)     NOT NULL,
	case_seq        BIGINT UNSIGNED NOT NULL,
	observable_seq  BIGINT UNSIGNED NOT NULL,
	first_seen_at   DATETIME        NOT NULL,
	last_seen_at    DATETIME        NOT NULL,
	PRIMARY KEY (tenant_id, case_seq, observable_seq),
	KEY case_observables_observable (tenant_id, observable_seq, case_seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Everything that happened to a case, in order: changes, comments,
-- attachments, links, verdicts, and the state changes of its findings.
CREATE TABLE IF NOT EXISTS case_timeline (
	seq        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id  VARCHAR(40)   NOT NULL,
	case_id    VARCHAR(40)   NOT NULL,
	kind       VARCHAR(64)   NOT NULL,
	at         DATETIME      NOT NULL,
	actor      VARCHAR(255)  NOT NULL,
	-- the entry's own fields, a JSON object (a comment's body and mentions)
	fields     MEDIUMTEXT    NOT NULL,
	PRIMARY KEY (seq),
	KEY case_timeline_case (tenant_id, case_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A case's attachment; its bytes in attachment_chunks. An upload writes
-- state 'uploading' and its chunks, then 'complete' with size and SHA-256
-- in the same transaction; only complete ones are listed or served.
CREATE TABLE IF NOT EXISTS case_attachments (
	seq           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id     VARCHAR(40)     NOT NULL,
	id            VARCHAR(40)     NOT NULL,
	case_id       VARCHAR(40)     NOT NULL,
	name          VARCHAR(255)    NOT NULL,
	content_type  VARCHAR(127)    NOT NULL,
	size          BIGINT UNSIGNED NOT NULL DEFAULT 0,
	sha256        CHAR(64)        NOT NULL DEFAULT '',
	state         ENUM('uploading','complete') NOT NULL DEFAULT 'uploading',
	created_by    VARCHAR(255)    NOT NULL,
	created_at    DATETIME        NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE KEY case_attachments_seq (seq),
	KEY case_attachments_case (tenant_id, case_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS attachment_chunks (
	tenant_id      VARCHAR(40)   NOT NULL,
	attachment_id  VARCHAR(40)   NOT NULL,
	n              INT UNSIGNED  NOT NULL,
	data           MEDIUMBLOB    NOT NULL,
	PRIMARY KEY (tenant_id, attachment_id, n)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- "Alerts carrying this value are expected": scope 'global' or
-- 'source:NAME'; until is when it stops applying (it is never deleted by
-- time: reading it compares until with now).
CREATE TABLE IF NOT EXISTS observable_suppressions (
	seq         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id   VARCHAR(40)   NOT NULL,
	id          VARCHAR(40)   NOT NULL,
	type        ENUM('ip','domain','url','hash','email','hostname',
	                 'user','file') NOT NULL,
	value       VARCHAR(2048) NOT NULL,
	value_hash  CHAR(64)      NOT NULL,
	scope       VARCHAR(80)   NOT NULL,
	until       DATETIME      NOT NULL,
	created_by  VARCHAR(255)  NOT NULL,
	created_at  DATETIME      NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE KEY observable_suppressions_seq (seq),
	KEY observable_suppressions_value (tenant_id, type, value_hash, until),
	CONSTRAINT observable_suppressions_tenant_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
