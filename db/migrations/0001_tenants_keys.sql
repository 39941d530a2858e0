-- 0001: tenants, API keys and the shared rate-limit counters.
CREATE TABLE IF NOT EXISTS tenants (
	id                  VARCHAR(40)  NOT NULL,
	name                VARCHAR(63)  NOT NULL,
	created_at          DATETIME     NOT NULL,
	rate_read_per_min   INT UNSIGNED NULL,
	rate_write_per_min  INT UNSIGNED NULL,
	PRIMARY KEY (id),
	UNIQUE KEY tenants_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS api_keys (
	id            VARCHAR(40)  NOT NULL,
	tenant_id     VARCHAR(40)  NOT NULL,
	name          VARCHAR(100) NOT NULL,
	prefix        CHAR(12)     NOT NULL,
	key_hash      CHAR(64)     NOT NULL,
	scopes        SET('read','write','admin') NOT NULL,
	created_at    DATETIME     NOT NULL,
	expires_at    DATETIME     NULL,
	revoked_at    DATETIME     NULL,
	-- Kept to the minute: at most one durable write per key per minute.
	last_used_at  DATETIME     NULL,
	PRIMARY KEY (id),
	UNIQUE KEY api_keys_hash (key_hash),
	KEY api_keys_tenant (tenant_id, revoked_at),
	CONSTRAINT api_keys_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per key and class ('read' or 'write'): the current fixed window
-- and how many requests it has seen. Every authenticated request writes
-- here, so the table is in memory: no redo log, no fsync per request. The
-- counters are shared by every worker on every host that uses this
-- database, and a database restart merely starts a fresh window.
CREATE TABLE IF NOT EXISTS rate_limits (
	key_id        VARCHAR(40)     NOT NULL,
	class         CHAR(5)         NOT NULL,
	window_start  BIGINT          NOT NULL,
	count         BIGINT UNSIGNED NOT NULL,
	PRIMARY KEY (key_id, class)
) ENGINE=MEMORY DEFAULT CHARSET=ascii COLLATE=ascii_bin;
