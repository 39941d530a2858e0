-- 0021: cases (src/domain/cases.c). The case list pages newest first over
-- every status, and a finding that belongs to cases puts each change of
-- its history on their timelines, whoever writes it: the API, an import,
-- the scanner's set-based batches, the clock (vigilctl findings expire).
-- A trigger is the one place all of them pass through.

ALTER TABLE cases ADD INDEX IF NOT EXISTS cases_tenant_seq (tenant_id, seq);
ALTER TABLE cases ADD INDEX IF NOT EXISTS cases_assignee_seq
    (tenant_id, assignee, seq);

-- finding_history.fields is always a JSON object (Vigil writes it), so
-- it is put into the entry's fields as it is.
CREATE OR REPLACE TRIGGER finding_history_case_timeline
AFTER INSERT ON finding_history FOR EACH ROW
    INSERT INTO case_timeline (tenant_id, case_id, kind, at, actor, fields)
    SELECT NEW.tenant_id, cf.case_id, 'finding_changed', NEW.at, NEW.actor,
        CONCAT('{"finding_id":', JSON_QUOTE(NEW.finding_id),
            ',"action":', JSON_QUOTE(NEW.action),
            ',"fields":', NEW.fields, '}')
    FROM case_findings cf
    WHERE cf.tenant_id = NEW.tenant_id AND cf.finding_id = NEW.finding_id;
