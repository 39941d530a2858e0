-- 0044: an import's unchanged findings cost their source row's own update
-- and nothing else (issue 13 item 9, the reimport).
--
-- Every import marks the source row of each finding it lists with its own
-- import_id (and last_seen_at), and a complete report resolves what its
-- source's rows do not carry its import_id. With import_id in the
-- secondary key finding_sources_source (tenant_id, source, import_id),
-- marking a row moved its entry in that index: a delete-marked entry and
-- an insert per finding per import, and a purge after. Keyed on (tenant_id,
-- source) alone, marking a row rewrites it in place (the columns are the
-- same size) and no index changes; a complete report finds what it no
-- longer lists by reading its source's rows once in seq order (InnoDB's
-- secondary keys end with the primary key, seq), about a microsecond and
-- a half a row, where each import used to pay an index move per row.
--
-- Run again (after a failure), it leaves the same keys.
ALTER TABLE finding_sources
    DROP INDEX IF EXISTS finding_sources_source,
    ADD KEY IF NOT EXISTS finding_sources_by_source (tenant_id, source);
