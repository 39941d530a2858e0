-- 0008: webhooks (where a tenant's events go) and deliveries (one per
-- event and matching webhook; vigil-spool drains them).

CREATE TABLE IF NOT EXISTS webhooks (
	id               VARCHAR(40)   NOT NULL,
	tenant_id        VARCHAR(40)   NOT NULL,
	url              VARCHAR(2048) NOT NULL,
	-- the subscribed names as given, a JSON array of strings
	events           TEXT          NOT NULL,
	-- crypto_seal() of the shared secret (AES-256-GCM, aad = id)
	secret           TEXT          NOT NULL,
	created_at       DATETIME      NOT NULL,
	deleted_at       DATETIME      NULL,
	disabled_at      DATETIME      NULL,
	disabled_reason  VARCHAR(255)  NULL,
	PRIMARY KEY (id),
	KEY webhooks_tenant (tenant_id, deleted_at, id),
	CONSTRAINT webhooks_tenant_fk FOREIGN KEY (tenant_id)
	    REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS deliveries (
	id                VARCHAR(40)  NOT NULL,
	tenant_id         VARCHAR(40)  NOT NULL,
	webhook_id        VARCHAR(40)  NOT NULL,
	event_id          VARCHAR(40)  NOT NULL,
	event_seq         BIGINT UNSIGNED NOT NULL,
	status            ENUM('pending','delivering','succeeded','failed',
	                       'dead') NOT NULL,
	attempts          INT UNSIGNED NOT NULL DEFAULT 0,
	next_attempt_at   DATETIME     NOT NULL,
	-- a spooler's claim on a delivering row; expired leases are taken over
	lease_until       DATETIME     NULL,
	last_status_code  INT          NULL,
	last_latency_ms   INT UNSIGNED NULL,
	last_error        VARCHAR(1024) NULL,
	created_at        DATETIME     NOT NULL,
	updated_at        DATETIME     NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY deliveries_webhook_event (webhook_id, event_id),
	KEY deliveries_due (status, next_attempt_at),
	KEY deliveries_webhook (webhook_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
