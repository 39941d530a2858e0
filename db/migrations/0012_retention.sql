-- 0012: what vigilctl events prune needs to find old rows without
-- scanning: events by age, the deliveries of an event, finished
-- deliveries by age.
ALTER TABLE events ADD KEY IF NOT EXISTS events_created (created_at);
ALTER TABLE deliveries ADD KEY IF NOT EXISTS deliveries_event (event_id);
ALTER TABLE deliveries ADD KEY IF NOT EXISTS deliveries_prune (status,
    updated_at);
