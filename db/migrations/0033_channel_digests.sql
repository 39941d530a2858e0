-- 0033: e-mail digests. An e-mail channel with config.digest "hourly" or
-- "daily" gets no delivery per event: the fan-out notes the event here
-- instead, with the end of the period it falls in (the next full UTC hour,
-- or the next UTC midnight). vigil-spool closes each period that has
-- ended: one channel.digest event (targeted at the channel, listing the
-- period's events) in the transaction that deletes its rows, which then
-- goes through the usual delivery, retries and dead letters.
CREATE TABLE IF NOT EXISTS channel_digests (
	channel_id  VARCHAR(40)     NOT NULL,
	tenant_id   VARCHAR(40)     NOT NULL,
	period_end  DATETIME        NOT NULL,
	event_id    VARCHAR(40)     NOT NULL,
	event_seq   BIGINT UNSIGNED NOT NULL,
	PRIMARY KEY (channel_id, event_id),
	KEY channel_digests_due (period_end, channel_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
