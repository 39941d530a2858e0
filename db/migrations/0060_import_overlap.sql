-- 0060: two imports of one source at the same time.
--
-- Every import marks the source rows of the findings it lists with its
-- own import_id, and a full report resolves what its source's rows do
-- not carry its import_id (0044). An import of the same source running
-- beside it marks rows with another id, so the full report's reconcile
-- took what the other one listed for gone, and resolved findings both
-- reports list. Now an import that begins while another of its source
-- runs (under a live lease) names each in the other's overlap_id, under
-- the tenant's lock (imports.c, run_register); a full report whose
-- overlap_id is set resolves nothing and says why in note.
--
-- Run again (after a failure), it leaves the same columns.
ALTER TABLE imports
    ADD COLUMN IF NOT EXISTS overlap_id VARCHAR(40) NULL,
    ADD COLUMN IF NOT EXISTS note VARCHAR(512) NULL;
