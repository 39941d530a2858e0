-- 0038: a scan's hold on its integration is a row, not GET_LOCK. A named
-- lock lives on one server and Galera does not replicate it, so two
-- scanners reaching two nodes both "held" it; a row is replicated and
-- certified like any other write, so on a cluster only one scanner can
-- hold an integration's lease. holder is "host:boot id:pid" of the
-- scanner; expires_at (database time, UTC) is pushed forward while the
-- scan runs; an expired lease, or one whose holder was a process of this
-- host that no longer exists, may be taken over.
CREATE TABLE IF NOT EXISTS scan_leases (
	integration_id VARCHAR(40)  NOT NULL,
	holder         VARCHAR(320) NOT NULL,
	scan_id        VARCHAR(40)  NOT NULL,
	acquired_at    DATETIME(6)  NOT NULL,
	expires_at     DATETIME(6)  NOT NULL,
	PRIMARY KEY (integration_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
