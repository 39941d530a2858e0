-- 0029: an import's worker holds a lease on it, and a mute rule's pass over
-- existing findings is bounded on the request and finished off it.

-- A worker that claims an import (the request, vigilctl or vigil-scan
-- --due) writes its lease: lease_owner a token of its own, lease_until
-- renewed while it reads (imports.c IMPORT_LEASE). A 'running' import whose
-- lease has passed lost its worker (killed, crashed, the machine gone):
-- the next vigil-scan --due takes it over from the start (reading a
-- report again changes nothing it already wrote) or, after
-- IMPORT_ATTEMPTS workers, marks it failed with the reason. attempts:
-- how many workers claimed it. A row 'running' from before this
-- migration has no lease and is taken over at once.
ALTER TABLE imports
    ADD COLUMN IF NOT EXISTS lease_owner VARCHAR(40) NULL,
    ADD COLUMN IF NOT EXISTS lease_until DATETIME NULL,
    ADD COLUMN IF NOT EXISTS attempts INT UNSIGNED NOT NULL DEFAULT 0;

-- vigilctl findings import without --format: the whole report or
-- nothing. An item that cannot be read fails the import before anything
-- is written (the form has always validated the whole file first), where
-- POST /imports reports it and goes on.
ALTER TABLE imports
    ADD COLUMN IF NOT EXISTS all_or_nothing TINYINT(1) NOT NULL DEFAULT 0;

-- A mute rule's pass over the tenant's findings when it is created or
-- deleted (mutes.c): written in the rule's own transaction, 'pending',
-- then walked by the request for at most MUTES_INLINE_ROWS findings and
-- MUTES_INLINE_CHANGES changes; what did not fit is resumed below
-- before_seq (findings are walked newest first) by vigil-scan --due under
-- a lease, a page at a time. A request worker killed mid-pass leaves it
-- 'pending' with a lease that passes, so nothing is lost. rule_id: the
-- rule created or deleted (no foreign key: a deleted rule's pass outlives
-- its row); muted and unmuted count the whole pass, the request's part
-- included.
CREATE TABLE IF NOT EXISTS mute_passes (
	seq           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	tenant_id     VARCHAR(40)   NOT NULL,
	rule_id       VARCHAR(40)   NOT NULL,
	kind          ENUM('create','delete') NOT NULL,
	status        ENUM('pending','done') NOT NULL,
	before_seq    BIGINT        NOT NULL,
	muted         INT UNSIGNED  NOT NULL DEFAULT 0,
	unmuted       INT UNSIGNED  NOT NULL DEFAULT 0,
	lease_owner   VARCHAR(40)   NULL,
	lease_until   DATETIME      NULL,
	created_at    DATETIME      NOT NULL,
	finished_at   DATETIME      NULL,
	PRIMARY KEY (tenant_id, rule_id, kind),
	UNIQUE KEY mute_passes_seq (seq),
	KEY mute_passes_due (status, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
