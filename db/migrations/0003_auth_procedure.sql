-- 0003: authenticate a key and count the request against its rate limit in
-- one round trip. Returns one row when the key exists:
--   key_id, tenant_id, tenant_name, scopes, expired (0/1), revoked (0/1),
--   limit, count, window_start
-- and an empty result otherwise. Only usable keys are counted.
--
-- The window is taken from the database clock, so that every worker on
-- every host agrees on which minute a request belongs to.
DELIMITER $$
CREATE OR REPLACE PROCEDURE vigil_auth(IN p_hash CHAR(64), IN p_class CHAR(5),
    IN p_default_limit BIGINT)
BEGIN
	DECLARE v_key VARCHAR(40) DEFAULT NULL;
	DECLARE v_tenant VARCHAR(40);
	DECLARE v_name VARCHAR(63);
	DECLARE v_scopes VARCHAR(32);
	DECLARE v_expired INT DEFAULT 0;
	DECLARE v_revoked INT DEFAULT 0;
	DECLARE v_limit BIGINT;
	DECLARE v_count BIGINT DEFAULT 0;
	DECLARE v_window BIGINT DEFAULT UNIX_TIMESTAMP() DIV 60 * 60;

	SELECT k.id, k.tenant_id, t.name, k.scopes,
	    k.expires_at IS NOT NULL AND k.expires_at <= UTC_TIMESTAMP(),
	    k.revoked_at IS NOT NULL,
	    COALESCE(IF(p_class = 'read', t.rate_read_per_min,
	        t.rate_write_per_min), p_default_limit)
	  INTO v_key, v_tenant, v_name, v_scopes, v_expired, v_revoked, v_limit
	  FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
	 WHERE k.key_hash = p_hash;

	IF v_key IS NOT NULL AND v_expired = 0 AND v_revoked = 0 THEN
		INSERT INTO rate_limits (key_id, class, window_start, count)
		VALUES (v_key, p_class, v_window, 1)
		ON DUPLICATE KEY UPDATE
		    count = LAST_INSERT_ID(IF(VALUES(window_start) > window_start,
		        1, count + 1)),
		    window_start = GREATEST(window_start, VALUES(window_start));
		-- 1 row affected: inserted, count is 1; 2: updated, and
		-- LAST_INSERT_ID() holds this connection's own new count, so
		-- concurrent requests never read each other's increments.
		IF ROW_COUNT() = 1 THEN
			SET v_count = 1;
		ELSE
			SET v_count = LAST_INSERT_ID();
		END IF;
		-- The first request of each minute records the key's use.
		IF v_count = 1 THEN
			UPDATE api_keys SET last_used_at = UTC_TIMESTAMP()
			 WHERE id = v_key AND (last_used_at IS NULL OR
			    last_used_at < UTC_TIMESTAMP() - INTERVAL 1 MINUTE);
		END IF;
	END IF;

	SELECT v_key, v_tenant, v_name, v_scopes, v_expired, v_revoked,
	    v_limit, v_count, v_window
	  FROM DUAL WHERE v_key IS NOT NULL;
END
$$
DELIMITER ;
