-- 0059: the mark of a batch's unchanged findings as seen, in one round
-- trip. A rescan's or reimport's batch marks the findings it saw and did
-- not change (last_seen_at and the scan that saw them) by up to eight
-- ranges of seq, with the counting triggers told to stand aside, since
-- the mark changes nothing they count. That was three statements, each
-- a round trip: SET @vigil_batch = 1, the UPDATE, SET @vigil_batch =
-- NULL. A batch of an unchanged reimport sent eleven statements in all,
-- and on a virtual machine each round trip waits a few hundred
-- microseconds for the two sides to be woken, whatever the statement
-- costs; this CALL is one (findings.c, batch_mark_seen).
--
-- The same rows as the UPDATE it replaces (the ranges, the tenant, the
-- primary key forced). @vigil_batch is NULL again when the procedure
-- ends, whether the UPDATE succeeded or failed (a lock wait timeout, a
-- deadlock): the handler clears it and raises the error again, so the
-- connection's next writes are counted by the triggers. The caller
-- clears it too after a failure, for a connection older than this.
DELIMITER $$
CREATE OR REPLACE PROCEDURE findings_seen_mark(IN p_at DATETIME,
    IN p_scan VARCHAR(40), IN p_tenant VARCHAR(40),
    IN a1 BIGINT, IN b1 BIGINT, IN a2 BIGINT, IN b2 BIGINT,
    IN a3 BIGINT, IN b3 BIGINT, IN a4 BIGINT, IN b4 BIGINT,
    IN a5 BIGINT, IN b5 BIGINT, IN a6 BIGINT, IN b6 BIGINT,
    IN a7 BIGINT, IN b7 BIGINT, IN a8 BIGINT, IN b8 BIGINT)
BEGIN
	DECLARE EXIT HANDLER FOR SQLEXCEPTION
	BEGIN
		SET @vigil_batch = NULL;
		RESIGNAL;
	END;
	SET @vigil_batch = 1;
	UPDATE findings FORCE INDEX (PRIMARY)
	   SET last_seen_at = p_at, seen_scan_id = p_scan
	 WHERE tenant_id = p_tenant AND (seq BETWEEN a1 AND b1
	    OR seq BETWEEN a2 AND b2 OR seq BETWEEN a3 AND b3
	    OR seq BETWEEN a4 AND b4 OR seq BETWEEN a5 AND b5
	    OR seq BETWEEN a6 AND b6 OR seq BETWEEN a7 AND b7
	    OR seq BETWEEN a8 AND b8);
	SET @vigil_batch = NULL;
END
$$
DELIMITER ;
