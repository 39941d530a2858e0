-- 0011: what vigil-spool needs to fan events out and to claim deliveries.
--
-- events.dispatched: 0 until a spooler has turned the event into one
-- delivery per matching webhook, in the same transaction that sets it to 1
-- (claimed with FOR UPDATE SKIP LOCKED, so spoolers never wait on each
-- other and a spooler that dies before its commit leaves the event to the
-- next one). A flag rather than a cursor on seq: seq is allocated at
-- insert, so a cursor would skip an event whose transaction commits after
-- a later one's.
ALTER TABLE events ADD COLUMN IF NOT EXISTS dispatched TINYINT NOT NULL
    DEFAULT 0;
ALTER TABLE events ADD KEY IF NOT EXISTS events_dispatch (dispatched, seq);

-- Milliseconds for the schedule (a compressed test schedule, and no
-- second of rounding between a commit and its delivery); lease_owner
-- names the claim so that a spooler whose lease expired and was taken
-- over cannot overwrite the newer attempt's outcome.
ALTER TABLE deliveries MODIFY next_attempt_at DATETIME(3) NOT NULL;
ALTER TABLE deliveries MODIFY lease_until DATETIME(3) NULL;
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS lease_owner VARCHAR(40)
    NULL AFTER lease_until;
ALTER TABLE deliveries ADD KEY IF NOT EXISTS deliveries_lease (lease_owner);

-- When the webhook's deliveries started failing without a success since
-- (NULL while healthy); vigil-spool disables a webhook failing for
-- webhook_disable_after seconds (5 days).
ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS failing_since DATETIME NULL;
