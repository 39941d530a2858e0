-- 0061: the length of a streamed body an Idempotency-Key was used with.
--
-- An import's report and an attachment's upload are streamed by their
-- handler, not read before it runs, so their claim holds the hash of the
-- body's announced length (cgi/replay.c). Once such a request is
-- answered, body_hash becomes the SHA-256 of the bytes it read and
-- body_len their count: a retry with the key is then answered from the
-- record only if its body is as long and hashes the same, and is 409
-- otherwise. NULL for a body read whole before the handler (every other
-- POST, whose body_hash always was its bytes'), and for a claim still
-- running; a streamed request answered before this column existed keeps
-- NULL too and is compared by its length, as it was, until it expires.
ALTER TABLE idempotency_keys
	ADD COLUMN IF NOT EXISTS body_len BIGINT UNSIGNED NULL AFTER body_hash;
