-- 0031: alert ingest at forwarder rates.
--
-- Each observable's count of alerts (observable_alert_counts, 0023) is
-- kept by alert ingest itself, one row per observable per call, under
-- the lock that orders a tenant's ingests anyway (alerts.c count_links),
-- instead of by a trigger per alert_observables row: the trigger's
-- upsert of a common value's count, at the time of the link, made two
-- batches sharing values lock those counts in the order of their alerts
-- and deadlock, and cost a statement per link. Ingest is the one writer
-- of alert_observables; the delete trigger stays.
DROP TRIGGER IF EXISTS alert_observables_count_insert;

-- alerts_case (tenant_id, case_id) answered no statement (a case's alerts
-- are case_alerts'), and cost every ingested alert an index entry.
ALTER TABLE alerts DROP INDEX IF EXISTS alerts_case;
