-- 0010: authentication and rate limiting in one plain statement instead of
-- the vigil_auth procedure (a CALL cost about three statements' worth of
-- server time). The INSERT ... SELECT only matches a usable key (not
-- revoked, not expired), counts the request, and hands back the count and
-- the tenant's limit through LAST_INSERT_ID(); what a key is (its tenant
-- and scopes) never changes, so vigil-api remembers it per process.
ALTER TABLE rate_limits ADD COLUMN IF NOT EXISTS lim BIGINT NOT NULL
    DEFAULT 0;
DROP PROCEDURE IF EXISTS vigil_auth;
