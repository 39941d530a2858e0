-- 0042: a writer of many events of one type may count them itself, one
-- statement for all of them, instead of the insert trigger's procedure
-- call per event (0015), whose upsert of the same list_counts row per
-- event was half the time a 500-alert batch holds the tenant's audit head
-- inserting its alert.created events.
--
-- The writer says so in its own session: @vigil_events_defer is
-- 'TENANT TYPE' (the tenant id, a space, the type) for the statement that
-- inserts them, and the trigger, instead of counting such a row, adds one
-- to @vigil_events_deferred. The writer then adds @vigil_events_deferred
-- to the count itself and clears both (alerts.c, SQL_EVENT_DEFER_*).
-- Every other row, and every row of a session that never set the
-- variable (older binaries, the single-alert path, every other writer of
-- events), is counted by the trigger as before.
--
-- Why a session variable that the trigger tests, rather than a trigger
-- that no longer counts a type at all: binaries and schema are upgraded
-- apart (a package upgrade restarts the API before "vigilctl migrate"
-- runs). A newer API on the older schema sets the variable, the older
-- trigger ignores it and counts each row, and @vigil_events_deferred stays
-- 0, so the API adds nothing: counted once. An older API on this schema
-- never sets it: the trigger counts. Either way each event is counted
-- exactly once, with no version check.
DELIMITER $$
CREATE OR REPLACE TRIGGER events_count_insert AFTER INSERT ON events
FOR EACH ROW
BEGIN
	IF @vigil_events_defer IS NOT NULL AND BINARY @vigil_events_defer =
	    BINARY CONCAT(NEW.tenant_id, ' ', NEW.type) THEN
		SET @vigil_events_deferred = @vigil_events_deferred + 1;
	ELSE
		CALL list_count_add(NEW.tenant_id, 'events', NEW.type, 1);
	END IF;
END
$$
DELIMITER ;
