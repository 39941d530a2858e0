-- 0026: resource metadata on every finding (issue 13, item 3), the
-- columns GET /findings filters on, and the tags side table.
--
-- Upgrade cost. Adding the columns is instant (ALGORITHM=INSTANT: InnoDB
-- records the new columns and their defaults in the table's metadata and
-- rewrites no row), so existing findings read '' and '{}' until their
-- next scan or import fills them. Each index is then built online
-- (ALGORITHM=INPLACE, LOCK=NONE: reads and writes continue), one pass over
-- the table each; the README gives the measured time. The scanner's first
-- scan after the upgrade rewrites each finding's row once to fill its
-- metadata (no history entry, no event); later scans of unchanged
-- resources write nothing new (findings.c compares before writing).
--
-- resource_type, resource_group and region compare case-insensitively
-- (utf8mb4_general_ci), as Azure treats them: "Microsoft.Storage/
-- storageAccounts" and "microsoft.storage/storageaccounts" are one type,
-- "RG-Prod" and "rg-prod" one group. Everything else stays binary.
-- source: where the finding was last reported from: the scanner writes
-- the integration id, an import its source name ("import" for a file
-- given to vigilctl findings import without one).
-- account: the cloud account, for Azure the subscription (subscription_id
-- is kept as it was). tags: a JSON object of string to string, keys
-- sorted (findings.c writes it canonically, so that equal tags are equal
-- text).
ALTER TABLE findings
    ADD COLUMN IF NOT EXISTS resource_name VARCHAR(255) NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS resource_type VARCHAR(255)
        CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS resource_group VARCHAR(255)
        CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS region VARCHAR(64)
        CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS account VARCHAR(255) NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS tags TEXT NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS source VARCHAR(64) NOT NULL DEFAULT '',
    ALGORITHM=INSTANT;

-- A list filtered on one of them walks its index newest first (seq),
-- tenant first, with state and severity in the index so that the walk
-- reads no row for the usual filters (SQL_FINDING_LIST_RTYPE and the
-- others in db.c; EXPLAIN in bench/reads.py).
ALTER TABLE findings
    ADD INDEX IF NOT EXISTS findings_rtype_seq
        (tenant_id, resource_type, seq, state, severity),
    ADD INDEX IF NOT EXISTS findings_rgroup_seq
        (tenant_id, resource_group, seq, state, severity),
    ADD INDEX IF NOT EXISTS findings_region_seq
        (tenant_id, region, seq, state, severity),
    ADD INDEX IF NOT EXISTS findings_source_seq
        (tenant_id, source, seq, state, severity),
    ALGORITHM=INPLACE, LOCK=NONE;

-- One row per tag of a finding, for GET /findings?tag=key:value: the
-- primary key walks one (key, value) newest first. Kept by the triggers
-- below in the transaction of every write of findings.tags, whoever
-- writes it (the scanner, an import), so it cannot drift. Keys and values
-- are limited to 256 characters (finding.h) so the key fits InnoDB's
-- 3072 bytes.
CREATE TABLE IF NOT EXISTS finding_tags (
	tenant_id    VARCHAR(40)   NOT NULL,
	tag_key      VARCHAR(256)  NOT NULL,
	tag_value    VARCHAR(256)  NOT NULL,
	finding_seq  BIGINT UNSIGNED NOT NULL,
	PRIMARY KEY (tenant_id, tag_key, tag_value, finding_seq),
	KEY finding_tags_finding (finding_seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The object's keys (JSON_KEYS) and its values ('$.*') come in the same
-- document order: joined on their ordinal, they are the pairs, whatever
-- characters a key holds.
-- Each AFTER trigger below stands aside while the session variable
-- @vigil_batch is set: the scanner's and importer's batch writer keeps
-- the same counts once per batch (0039_findings_batch_counts.sql).
DELIMITER $$
CREATE OR REPLACE TRIGGER findings_tags_insert AFTER INSERT ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NEW.tags <> '{}' THEN
		INSERT IGNORE INTO finding_tags
		SELECT NEW.tenant_id, k.k, v.v, NEW.seq
		  FROM JSON_TABLE(JSON_KEYS(NEW.tags), '$[*]'
		    COLUMNS (n FOR ORDINALITY, k VARCHAR(256) PATH '$')) k
		  JOIN JSON_TABLE(NEW.tags, '$.*'
		    COLUMNS (n FOR ORDINALITY, v VARCHAR(256) PATH '$')) v
		 USING (n);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_tags_update AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL AND NOT (OLD.tags <=> NEW.tags) THEN
		DELETE FROM finding_tags WHERE finding_seq = OLD.seq;
		INSERT IGNORE INTO finding_tags
		SELECT NEW.tenant_id, k.k, v.v, NEW.seq
		  FROM JSON_TABLE(JSON_KEYS(NEW.tags), '$[*]'
		    COLUMNS (n FOR ORDINALITY, k VARCHAR(256) PATH '$')) k
		  JOIN JSON_TABLE(NEW.tags, '$.*'
		    COLUMNS (n FOR ORDINALITY, v VARCHAR(256) PATH '$')) v
		 USING (n);
	END IF;
END
$$

CREATE OR REPLACE TRIGGER findings_tags_delete AFTER DELETE ON findings
FOR EACH ROW
BEGIN
	IF OLD.tags <> '{}' THEN
		DELETE FROM finding_tags WHERE finding_seq = OLD.seq;
	END IF;
END
$$
DELIMITER ;
