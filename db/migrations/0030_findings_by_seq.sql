-- 0030: findings stored in the order they were created (issue 11 item 1,
-- issue 13 item 9: the scanner's and the importer's write path).
--
-- Until now the table was clustered on (tenant_id, id), and a finding's id
-- ends in a hash of its resource (findings_make_id): every new finding
-- went to a random page of the table, and every secondary index entry
-- carried that key (some 100 bytes) as its pointer to the row. With the
-- table larger than the buffer pool (the test stack's is 64 MiB; 100,000
-- findings are some 200 MiB of rows and as much of indexes), nearly every
-- insert read a page from disk and later wrote it back: measured 3.5 page
-- reads and 5.3 page writes per finding of a first scan at 50,000
-- findings, and the server's CPU per finding growing with the table.
--
-- Now the rows are clustered on seq, which grows with every insert, so new
-- findings are appended to the last page; a batch's findings, found again
-- by the next scan or import in the same order, sit together on a few
-- pages; and each secondary index entry points to its row with the 8
-- bytes of seq. The id stays unique per tenant (findings_id), and every
-- statement that names a finding by (tenant_id, id) reads that index and
-- then the row. The old unique key on seq is the primary key now.
--
-- Run again (after a failure), each statement leaves the same keys.
-- Upgrade cost: the table is rebuilt once (every row and index written
-- again), about as long as building all its indexes; reads and writes of
-- findings wait for it.
ALTER TABLE findings
    DROP PRIMARY KEY,
    ADD PRIMARY KEY (seq),
    ADD UNIQUE KEY IF NOT EXISTS findings_id (tenant_id, id),
    DROP INDEX IF EXISTS findings_seq;

-- finding_sources the same way, for the same reason: every import of a
-- source rewrites the row of each finding it lists (import_id marks what
-- the report listed, SQL_SOURCE_ABSENT finds the rest). Clustered on
-- (tenant_id, finding_id, source) those rows were random pages, read and
-- written back once per finding per import; clustered on a seq given at
-- the first import, a report listing its findings in the same order as
-- before walks the table in order. The old key stays unique (the
-- upsert's ON DUPLICATE KEY and the per-finding reads use it).
ALTER TABLE finding_sources
    ADD COLUMN IF NOT EXISTS seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT
        FIRST,
    DROP PRIMARY KEY,
    ADD PRIMARY KEY (seq),
    ADD UNIQUE KEY IF NOT EXISTS finding_sources_finding
        (tenant_id, finding_id, source);
