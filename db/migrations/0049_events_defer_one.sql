-- migrate: restates triggers (run again after any older migration)
-- 0049: one way for a writer of many events to count them itself. 0042
-- let an alert batch name its tenant and type in @vigil_events_defer and
-- add the trigger's tally, @vigil_events_deferred, to the count; 0045 let
-- the scanner's and importer's batch writer name its tenant in
-- @vigil_defer, which events_count_insert and the audit_log triggers
-- honour, and count its events per type itself, each upsert guarded by
-- the tally @vigil_deferred_events. The alert batch now takes 0045's way
-- (src/domain/alerts.c: SQL_BATCH_DEFER_BEGIN with its tenant, the events
-- inserted, events_count_deferred in src/domain/events.c, which the batch
-- writer calls too, then SQL_BATCH_DEFER_END, before its audit entry), and
-- events_count_insert, restated here, no longer knows 0042's variables.
-- Only this trigger changes: those of audit_log and finding_history keep
-- 0045's (or a later migration's) text.
--
-- Upgrades in either order, no version check, as 0042 and 0045:
--   - a writer newer than this schema on 0045's trigger (0045-0048): that
--     trigger tests @vigil_defer first and tallies, the writer counts,
--     once; on an older trigger (0042's, 0015's: before 0045, or those
--     migrations run again) @vigil_defer is ignored, each row is counted
--     by the trigger, the tally stays at the 0 the writer set, and the
--     writer's guarded upserts add nothing;
--   - an alert writer older than this schema sets @vigil_events_defer
--     and @vigil_events_deferred = 0, which this trigger ignores: it
--     counts each row, the tally stays 0, and that writer adds it only
--     when above 0 (SQL_EVENT_DEFER_COUNT as it was): counted once, per
--     row, until the API is upgraded. An older batch writer sets
--     @vigil_defer, which this trigger honours as 0045's did.
-- Running 0045, 0042 or 0015 again puts back theirs (which count every
-- row, or honour a variable no writer of this version sets); the first
-- line's mark has vigilctl migrate apply this one again after them.
DELIMITER $$
CREATE OR REPLACE TRIGGER events_count_insert AFTER INSERT ON events
FOR EACH ROW
BEGIN
	IF @vigil_defer IS NOT NULL AND
	    BINARY @vigil_defer = BINARY NEW.tenant_id THEN
		SET @vigil_deferred_events = @vigil_deferred_events + 1;
	ELSE
		CALL list_count_add(NEW.tenant_id, 'events', NEW.type, 1);
	END IF;
END
$$
DELIMITER ;
