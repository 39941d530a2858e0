-- 0018: each tenant's audit chain head (the newest entry's seq and hash)
-- in a row of its own, kept by a trigger on every audit_log INSERT. An
-- append reads it with the tenant's row lock in one statement
-- (SQL_AUDIT_LOCK_HEAD, SQL_FINDING_LOCK_HEAD) instead of taking the lock
-- and then looking up the newest audit_log row: a round trip less for
-- every audited change, made while the tenant's appends wait on that
-- lock. The trigger keeps it whoever inserts the entry, and only ever
-- moves it forward: rows put back in any order (a restore) leave it at
-- the highest seq, and deleting the newest entries does not move it back,
-- so the next entry chains onto the deleted one and vigilctl audit verify
-- reports the gap.
CREATE TABLE IF NOT EXISTS audit_heads (
	tenant_id   VARCHAR(40)     NOT NULL,
	seq         BIGINT UNSIGNED NOT NULL,
	hash        CHAR(64)        NOT NULL,
	PRIMARY KEY (tenant_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- (ON DUPLICATE KEY UPDATE assigns left to right: hash is decided on the
-- old seq.)
CREATE OR REPLACE TRIGGER audit_head_insert AFTER INSERT ON audit_log
FOR EACH ROW
	INSERT INTO audit_heads (tenant_id, seq, hash)
	VALUES (NEW.tenant_id, NEW.seq, NEW.hash)
	ON DUPLICATE KEY UPDATE hash = IF(NEW.seq > seq, NEW.hash, hash),
	    seq = GREATEST(seq, NEW.seq);

-- Chains that existed before the trigger: their newest entries.
INSERT INTO audit_heads (tenant_id, seq, hash)
SELECT a.tenant_id, a.seq, a.hash FROM audit_log a
 WHERE a.seq = (SELECT MAX(b.seq) FROM audit_log b
    WHERE b.tenant_id = a.tenant_id)
ON DUPLICATE KEY UPDATE seq = VALUES(seq), hash = VALUES(hash);
