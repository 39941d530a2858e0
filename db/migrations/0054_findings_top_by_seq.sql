-- 0054: findings_top (0014), the index the top risks are read from
-- (SQL_POSTURE_TOP in src/db/db.c: a tenant's open findings by severity,
-- then oldest detected_at), ends with detected_at: InnoDB appends the
-- primary key, seq, so findings of one severity detected in the same
-- second are in the order they were stored, and the top risks break such
-- ties by seq, not by id.
--
-- Why: a scan or an import gives every finding it detects the same
-- detected_at (the scan's or import's start), so with id after it each
-- new entry went to a random place among the others of its severity, as
-- the ids are hashes: a first import of 100,000 findings kept this index
-- at 18.7 MiB, the largest on findings after the table itself, and with
-- the test stack's 64 MiB buffer pool each new finding read and wrote back
-- a page of it. Ordered by seq the entries of new findings go at the end
-- of their severity's range, as those of findings_state_sev_seq do, and
-- the index is some 60 bytes an entry smaller. Measured with bench/imports.py
-- (doc/performance.md, Imports): a full import of 100,000 findings cost
-- mariadbd about a quarter less CPU.
--
-- The answer: the same five findings wherever their detected_at differ;
-- among findings of one severity detected in the same second, the one
-- stored first comes first (it was the smallest id). Still deterministic:
-- the same rows give the same bytes.
--
-- Run again, the index is built again, with the same columns. Upgrade
-- cost: one pass over findings to build the index (ALGORITHM=INPLACE,
-- LOCK=NONE: reads and writes continue).
ALTER TABLE findings DROP INDEX IF EXISTS findings_top,
    ADD INDEX findings_top (tenant_id, state, severity, detected_at),
    ALGORITHM=INPLACE, LOCK=NONE;
