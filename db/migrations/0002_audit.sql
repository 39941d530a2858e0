-- 0002: the tenant audit log, each row hashed onto the previous one.
CREATE TABLE IF NOT EXISTS audit_log (
	id          VARCHAR(40)  NOT NULL,
	tenant_id   VARCHAR(40)  NOT NULL,
	seq         BIGINT UNSIGNED NOT NULL,
	at          DATETIME     NOT NULL,
	actor       VARCHAR(255) NOT NULL,
	action      VARCHAR(64)  NOT NULL,
	object      VARCHAR(255) NOT NULL,
	detail      LONGTEXT     NOT NULL,
	prev_hash   CHAR(64)     NOT NULL,
	hash        CHAR(64)     NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY audit_tenant_seq (tenant_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
