/* db.c: MariaDB/MySQL access. All SQL lives in sqls[] below, prepared on
 * first use per connection; results come back as text cells. */
#include "vigil.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "conf.h"
#include "db.h"
#include "exits.h"
#include "log.h"

/* attachments.c ATTACHMENT_COL_* */
#define ATTACHMENT_COLS \
	"seq, id, case_id, name, content_type, size, sha256, created_by, " \
	"created_at"

/* A finding's columns, each named with the prefix p (a string literal:
 * "" or a table's alias and a dot), so that FINDING_COLS and
 * FINDING_COLS_F cannot drift apart. */
#define FINDING_COLS_P(p) FINDING_COLS_PE(p, p "evidence")

/* The same with ev in the evidence's place (NULL: a batch that brings
 * its own). */
#define FINDING_COLS_PE(p, ev) FINDING_COLS_FULL(p, FINDING_COL, ev)

/* Every column in FINDING_COLS' order, those a list page does not show
 * (findings_to_json without full) as full(p, "name"): FINDING_COL names
 * them, FINDING_COL_NULL puts a NULL in their place (FINDING_LIST_COLS),
 * so that the two lists cannot drift apart. */
#define FINDING_COLS_FULL(p, full, ev) \
	p "seq, " p "id, " full(p, "rule_id") ", " full(p, "provider") ", " \
	p "subscription_id, " p "environment, " p "resource_id, " \
	p "title, " p "severity, " p "category, " p "layer, " \
	p "framework, " p "description, " p "recommendation, " \
	ev ", " full(p, "fingerprint") ", " p "state, " \
	full(p, "remediation") ", " full(p, "resolved_by") ", " \
	full(p, "awaiting_scan") ", " full(p, "accepted_until") ", " \
	full(p, "snoozed_until") ", " p "detected_at, " p "updated_at, " \
	full(p, "last_seen_at") ", " full(p, "resolved_at") ", " \
	full(p, "assignee") ", " full(p, "notes") ", " \
	FINDING_META_COLS_P(p) ", " FINDING_SLA_COLS_P(p)
#define FINDING_COL(p, name)		p name
#define FINDING_COL_NULL(p, name)	"NULL"

#define FINDING_COLS FINDING_COLS_P("")

/* FINDING_COLS of the findings table named f, where a join brings
 * columns of the same names (finding_sources' seq, source, last_seen_at):
 * the same columns in the same order. */
#define FINDING_COLS_F FINDING_COLS_P("f.")

/* The due date (0034), after the metadata: findings.c's C_DUE. */
#define FINDING_SLA_COLS_P(p) p "due_at"
#define FINDING_SLA_COLS FINDING_SLA_COLS_P("")

/* The resource metadata (0026), in findings.c's C_RNAME.. order. */
#define FINDING_META_COLS_P(p) \
	p "resource_name, " p "resource_type, " p "resource_group, " \
	p "region, " p "account, " p "tags, " p "source"
#define FINDING_META_COLS FINDING_META_COLS_P("")

/* A list page shows part of a finding (findings_to_json without full):
 * the columns it does not show are NULL here, in FINDING_COLS' order, so
 * that findings_row_at reads both; evidence, the largest, is not sent. */
#define FINDING_LIST_COLS FINDING_COLS_FULL("", FINDING_COL_NULL, "NULL")

/* The scanner's batches (findings_observe_batch): FINDING_COLS, then
 * integration_id and seen_scan_id; without the evidence when the batch
 * brings its own. */
#define FINDING_BATCH_COLS FINDING_COLS ", integration_id, seen_scan_id"
#define FINDING_BATCH_COLS_NOEVID \
	FINDING_COLS_PE("", "NULL") ", integration_id, seen_scan_id"

/* What the batch writer's counts read of a row (findings_batch_begin in
 * migration 0039 has the table, 0055 its metadata columns): the keys of
 * the counters the triggers on findings keep, and the hashes that stand
 * for a resource (as finding_resources keys it) and for the tags. */
#define FINDING_BATCH_SNAP \
	"id, seq, state, severity, category, subscription_id, environment, " \
	"rule_id, UNHEX(SHA2(resource_id, 256)), due_at, sla_left_s, " \
	"detected_at, resolved_at, UNHEX(SHA2(tags, 256)), resource_type, " \
	"resource_group, region, source"

/* The filters of GET /findings after the tenant, in findings.c's LP_*
 * order: a NULL value matches everything (MariaDB optimises each
 * execution with its values, so "? IS NULL" folds away). */
#define FINDING_FILTERS \
	"AND state IN (?, ?, ?, ?, ?, ?) AND severity IN (?, ?, ?, ?, ?) " \
	"AND (? IS NULL OR category = ?) " \
	"AND (? IS NULL OR subscription_id = ?) " \
	"AND (? IS NULL OR environment = ?) " \
	"AND (? IS NULL OR updated_at > ?) "
/* The resource metadata filters (0026), only in the statements that use
 * them: even folded away, a column they name that an index lacks makes
 * MariaDB read the row of every entry it walks (EXPLAIN loses "Using
 * index"), which the lists without them must not pay. Then the tag
 * (FINDING_TAG_DRIVE, where finding_tags t drives the walk): three
 * parameters, the key twice and the value. */
#define FINDING_META_FILTERS \
	"AND (? IS NULL OR resource_type = ?) " \
	"AND (? IS NULL OR resource_group = ?) " \
	"AND (? IS NULL OR region = ?) " \
	"AND (? IS NULL OR source = ?) "
#define FINDING_TAG_DRIVE \
	"AND ? IS NOT NULL AND t.tag_key = ? AND t.tag_value = ? "
/* A list walking one metadata index newest first (0026, 0055): the
 * index's value and state are pinned, one range per state as in
 * FINDING_BY_STATE. Parameters, six times: tenant, the state, five
 * severities, the other filters (FINDING_FILTERS after its IN lists, and
 * FINDING_META_FILTERS), the cursor and the limit; then the limit. */
#define FINDING_BY_ARM(ix) \
	"(SELECT seq FROM findings FORCE INDEX (" ix ") WHERE tenant_id = ? " \
	"AND state = ? AND severity IN (?, ?, ?, ?, ?) " \
	"AND (? IS NULL OR category = ?) " \
	"AND (? IS NULL OR subscription_id = ?) " \
	"AND (? IS NULL OR environment = ?) " \
	"AND (? IS NULL OR updated_at > ?) " \
	FINDING_META_FILTERS \
	"AND seq < ? ORDER BY seq DESC LIMIT ?)"
#define FINDING_LIST_BY(ix) FINDING_BY_STATE(FINDING_BY_ARM(ix))

/* A list by state and severity (and the filters its indexes hold), for
 * several states or a few severities: one range per state, or per
 * (state, severity) pair, each newest first and at most a page long,
 * merged, so that a page reads at most a page per range however rare
 * the states or severities asked for are among the tenant's findings
 * (one walk of (tenant, seq) or (tenant, state, seq), filtering, read
 * until a page matched: all of a large tenant for a rare pair). A range
 * not asked for has a NULL state and a limit of 0, and reads nothing.
 * Parameters of a range: tenant, the state, five severities (or the one
 * severity of a pair), category, subscription_id, environment and since
 * twice each, the cursor and the limit; then the limit. */
#define FINDING_PLAIN_ARM(ix, pin) \
	"(SELECT seq FROM findings FORCE INDEX (" ix ") WHERE tenant_id = ? " \
	pin \
	"AND (? IS NULL OR category = ?) " \
	"AND (? IS NULL OR subscription_id = ?) " \
	"AND (? IS NULL OR environment = ?) " \
	"AND (? IS NULL OR updated_at > ?) " \
	"AND seq < ? ORDER BY seq DESC LIMIT ?)"
#define FINDING_STATE_PIN "AND state = ? AND severity IN (?, ?, ?, ?, ?) "
#define FINDING_PAIR_PIN "AND state = ? AND severity = ? "
#define UNION2(s)	s " UNION ALL " s
#define UNION4(s)	UNION2(UNION2(s))
#define UNION8(s)	UNION2(UNION4(s))
#define FINDING_BY_RANGES(ranges) \
	"SELECT " FINDING_LIST_COLS " FROM findings JOIN (SELECT seq FROM (" \
	ranges ") u ORDER BY seq DESC LIMIT ?) page USING (seq) " \
	"ORDER BY seq DESC"

/* The same with one metadata filter and only state and severity beside
 * it (the usual question), over its index (tenant, value, state, seq,
 * severity) of 0055: one range per state, each newest first and at most
 * a page long, the ranges merged; a state not asked for is NULL (and a
 * limit of 0), which reads nothing. The walk reads the index alone and
 * at most six pages of it, however rare the state is among the value's
 * findings (only a severity that is rare within the state still walks:
 * severity follows seq). Parameters, six times: tenant, the value, the
 * state, five severities, the cursor, the limit; then the limit. */
#define FINDING_ONLY_ARM(ix, col) \
	"(SELECT seq FROM findings FORCE INDEX (" ix ") WHERE tenant_id = ? " \
	"AND " col " = ? AND state = ? AND severity IN (?, ?, ?, ?, ?) " \
	"AND seq < ? ORDER BY seq DESC LIMIT ?)"
#define FINDING_BY_STATE(arm) \
	"SELECT " FINDING_LIST_COLS " FROM findings JOIN (SELECT seq FROM (" \
	arm " UNION ALL " arm " UNION ALL " arm " UNION ALL " arm \
	" UNION ALL " arm " UNION ALL " arm ") u ORDER BY seq DESC LIMIT ?) " \
	"page USING (seq) ORDER BY seq DESC"
#define FINDING_LIST_ONLY(ix, col) FINDING_BY_STATE(FINDING_ONLY_ARM(ix, col))
/* The same for a tag beside state and severity, over finding_tags'
 * finding_tags_state (tenant, key, value, state, seq, severity; 0056):
 * the entries carry their finding's state and severity, so the walk
 * reads no findings row but the page's. Parameters, six times: tenant,
 * tag key, tag value, the state, five severities, cursor, limit; then
 * the limit. */
#define FINDING_TAG_ARM \
	"(SELECT finding_seq AS seq FROM finding_tags " \
	"FORCE INDEX (finding_tags_state) WHERE tenant_id = ? " \
	"AND tag_key = ? AND tag_value = ? AND finding_state = ? " \
	"AND finding_severity IN (?, ?, ?, ?, ?) AND finding_seq < ? " \
	"ORDER BY finding_seq DESC LIMIT ?)"

/* Repeat a piece of SQL text, comma-separated: multi-row statements and
 * IN lists stay constants (db_exec_rows picks the row count). */
#define X2(s)	s ", " s
#define X4(s)	X2(X2(s))
#define X16(s)	X4(X4(s))
#define X64(s)	X4(X16(s))
#define X256(s)	X4(X64(s))
/* Four statements: 64, 16, 4 and 1 row(s) of row after head, then tail. */
#define ROWS4(name, head, row, tail) \
	[name ## _64] = head X64(row) tail, \
	[name ## _16] = head X16(row) tail, \
	[name ## _4] = head X4(row) tail, \
	[name ## _1] = head row tail

/* A stored row comes with its seq, a new one with NULL (the next of the
 * AUTO_INCREMENT): the insert then meets the stored row at once in the
 * primary key, where by (tenant_id, id) alone it first made a clustered
 * record for a new seq, found the duplicate in findings_id and undid
 * that record before the update (README, Imports). */
#define FINDING_UPSERT_HEAD \
	"INSERT INTO findings (seq, tenant_id, id, rule_id, provider, " \
	"integration_id, subscription_id, environment, resource_id, title, " \
	"severity, category, layer, framework, description, recommendation, " \
	"evidence, fingerprint, state, remediation, resolved_by, " \
	"awaiting_scan, accepted_until, snoozed_until, detected_at, " \
	"updated_at, last_seen_at, resolved_at, seen_scan_id, " \
	FINDING_META_COLS ") VALUES "
#define FINDING_UPSERT_ROW \
	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " \
	"?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
/* VALUES() in the update part: deprecated in MySQL 8 but the one form
 * MariaDB has for a multi-row upsert. assignee, notes and seq stay. */
#define FINDING_UPSERT_TAIL \
	" ON DUPLICATE KEY UPDATE rule_id = VALUES(rule_id), " \
	"provider = VALUES(provider), integration_id = VALUES(integration_id), " \
	"subscription_id = VALUES(subscription_id), " \
	"environment = VALUES(environment), resource_id = VALUES(resource_id), " \
	"title = VALUES(title), severity = VALUES(severity), " \
	"category = VALUES(category), layer = VALUES(layer), " \
	"framework = VALUES(framework), description = VALUES(description), " \
	"recommendation = VALUES(recommendation), " \
	"evidence = VALUES(evidence), fingerprint = VALUES(fingerprint), " \
	"state = VALUES(state), remediation = VALUES(remediation), " \
	"resolved_by = VALUES(resolved_by), " \
	"awaiting_scan = VALUES(awaiting_scan), " \
	"accepted_until = VALUES(accepted_until), " \
	"snoozed_until = VALUES(snoozed_until), " \
	"detected_at = VALUES(detected_at), updated_at = VALUES(updated_at), " \
	"last_seen_at = VALUES(last_seen_at), " \
	"resolved_at = VALUES(resolved_at), seen_scan_id = VALUES(seen_scan_id), " \
	"resource_name = VALUES(resource_name), " \
	"resource_type = VALUES(resource_type), " \
	"resource_group = VALUES(resource_group), region = VALUES(region), " \
	"account = VALUES(account), tags = VALUES(tags), source = VALUES(source)"

/* findings whose acceptance or snooze has run out */
#define FINDING_DUE_COLS "tenant_id, id"

/* scanner: the column orders scan.h (SCAN_C_*) and integrations.h
 * (INTEGRATION_C_*) name */
#define SCAN_COLS \
	"id, tenant_id, integration_id, status, trigger_type, created_at, " \
	"started_at, finished_at, runner, resources_scanned, " \
	"rules_evaluated, findings_detected, findings_resolved, " \
	"findings_reopened, counts, error, duration_ms"
/* the scanner's own reads, in the column orders scan.c names */
#define SCAN_ABSENT_COLS "id, state, rule_id, resource_id, severity"
/* compliance.c's enum compliance_col */
#define COMPLIANCE_FINDING_COLS \
	"id, title, severity, resource_id, detected_at"
#define SCAN_OPEN_COUNT_COLS "severity, COUNT(*)"
#define SCAN_ACTIVE_COLS "id, status"
#define SCAN_DUE_COLS "i.id, i.tenant_id"
#define INTEGRATION_COLS \
	"id, tenant_id, type, name, config, secret, created_at, deleted_at, " \
	"last_scan_at"

/* mute rules (mutes.c MC_*) */
#define MUTE_COLS \
	"id, rule_pattern, source, resource_pattern, resource_group, " \
	"subscription_id, environment, tag_key, tag_value, justification, " \
	"expires_at, lapsed, created_at, created_by"

/* the audit log: an entry, and the chain's head (audit.c names both) */
#define AUDIT_COLS \
	"id, seq, at, actor, action, object, detail, prev_hash, hash"
#define AUDIT_HEAD_COLS "seq, hash"

/* What the API shows of a report (reports.c's RPT_C_*). */
#define REPORT_COLS \
	"seq, id, type, format, params, status, actor, attempts, size, " \
	"error, created_at, started_at, finished_at"

/* imports: the column order imports.c names (IMP_C_*) */
#define IMPORT_COLS \
	"seq, id, source, format, mode, status, actor, bytes, items, " \
	"imported, passed, failed, resolved, errors, error, created_at, " \
	"started_at, finished_at, attempts, note"

/* tenants and API keys: the column orders tenants.c and keys.c name */
#define TENANT_COLS \
	"id, name, created_at, rate_read_per_min, rate_write_per_min, " \
	"rate_ingest_per_min"
#define KEY_COLS "id, name, prefix, scopes, created_at, last_used_at, " \
	"expires_at, revoked_at"

/* webhooks: the column orders webhooks.c and deliveries.c name
 * (WEBHOOK_COL_*, DELIVERY_COL_*) */
#define WEBHOOK_COLS "id, url, events, created_at, disabled_at, " \
	"disabled_reason, failing_since"
#define CHANNEL_COLS "id, kind, name, url, events, config, filter, " \
	"created_at, disabled_at, disabled_reason, failing_since, secret"
#define DELIVERY_COLS "d.id, d.event_id, e.type, d.status, d.attempts, " \
	"d.last_status_code, d.last_latency_ms, " \
	"IF(d.status IN ('pending', 'delivering'), " \
	"DATE_FORMAT(d.next_attempt_at, '%Y-%m-%d %H:%i:%s'), NULL), " \
	"d.webhook_id, d.last_error"

/* alerts: ALERT_FIND_COLS in alerts.c's FIND_C_* order */
#define ALERT_FIND_COLS "seq, id, source, external_id, status"
#define ALERT_UPSERT_HEAD \
	"INSERT INTO alerts (tenant_id, id, source, external_id, severity, " \
	"title, status, detected_at, ingested_at, last_seen_at, updated_at, " \
	"occurrences, asset, raw, raw_truncated, tags) VALUES "
#define ALERT_UPSERT_ROW \
	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]')"
/* A known alert seen again: when, and how often; nothing else. */
#define ALERT_UPSERT_TAIL \
	" ON DUPLICATE KEY UPDATE " \
	"last_seen_at = GREATEST(last_seen_at, VALUES(last_seen_at)), " \
	"occurrences = occurrences + VALUES(occurrences)"
#define ALERT_COLS \
	"seq, id, source, external_id, severity, title, status, " \
	"detected_at, ingested_at, last_seen_at, updated_at, occurrences, " \
	"asset, raw, raw_truncated, assignee, tags, case_id, " \
	"dismiss_reason, dismiss_comment"
/* A list page does not carry raw, the largest. */
#define ALERT_LIST_COLS \
	"seq, id, source, external_id, severity, title, status, " \
	"detected_at, ingested_at, last_seen_at, updated_at, occurrences, " \
	"asset, NULL, raw_truncated, assignee, tags, case_id, " \
	"dismiss_reason, dismiss_comment"
/* GET /alerts' filters: 4 statuses and 5 severities (a shorter list
 * repeats a name), then source, assignee and since, each given twice
 * (NULL: any; since three times). */
#define ALERT_FILTERS \
	"status IN (?, ?, ?, ?) AND severity IN (?, ?, ?, ?, ?) " \
	"AND (? IS NULL OR source = ?) AND (? IS NULL OR assignee = ?) " \
	"AND (? IS NULL OR last_seen_at >= ? OR updated_at >= ?)"
/* An OR of 64 copies of a condition; three statements with an OR of
 * 64, 16 and 4 (type, value_hash) pairs between head and tail. */
#define OR2(s)	s " OR " s
#define OR4(s)	OR2(OR2(s))
#define OR16(s)	OR4(OR4(s))
#define OR64(s)	OR4(OR16(s))
#define OBS_PAIR "(type = ? AND value_hash = ?)"
#define PAIRS3(name, head, tail) \
	[name ## _64] = head OR64(OBS_PAIR) tail, \
	[name ## _16] = head OR16(OBS_PAIR) tail, \
	[name ## _4] = head OR4(OBS_PAIR) tail

/* Idempotency-Key and observables (0023): the column orders
 * idempotency.c and observables.c name (IDEM_COL_*, OBS_COL_*,
 * HIT_COL_*, SUP_COL_*) */
#define IDEM_COLS "key_id, target_hash, body_hash, state, status, " \
	"headers, body, withheld, created_at, body_len"
/* the alerts carrying it are counted by triggers (0023), its cases here:
 * a value is in few cases */
#define OBSERVABLE_COLS "o.seq, o.id, o.type, o.value, o.first_seen_at, " \
	"o.last_seen_at, COALESCE(n.n, 0), (SELECT COUNT(*) FROM " \
	"case_observables co WHERE co.tenant_id = o.tenant_id AND " \
	"co.observable_seq = o.seq)"
/* a hit's cursor seq first, then what the search shows of it */
#define CASE_HIT_COLS "co.case_seq, c.id, c.title, c.severity, c.status, " \
	"co.first_seen_at, co.last_seen_at"
#define ALERT_HIT_COLS "ao.alert_seq, a.id, a.title, a.severity, " \
	"a.status, a.source, a.detected_at, a.last_seen_at, a.occurrences"
#define SUPPRESSION_COLS "seq, id, type, value, scope, until, created_by, " \
	"created_at"
/* cases.c's CASE_COL_* */
#define CASE_COLS "seq, id, title, description, severity, status, " \
	"assignee, tags, techniques, verdict, root_cause, narrative, " \
	"created_by, created_at, updated_at, resolved_at"
/* status, severity (comma list), assignee, tag: each NULL or a value,
 * given twice */
#define CASE_FILTERS \
	"AND (? IS NULL OR status = ?) " \
	"AND (? IS NULL OR FIND_IN_SET(severity, ?) > 0) " \
	"AND (? IS NULL OR assignee = ?) " \
	"AND (? IS NULL OR JSON_CONTAINS(tags, JSON_QUOTE(?))) "

static const char *const sqls[SQL__COUNT] = {
	[SQL_PING] = "SELECT 1",
	/* db_begin: a transaction without leaving autocommit mode, so that
	 * its commit is one round trip (not COMMIT, then autocommit on). */
	[SQL_TX_BEGIN] = "START TRANSACTION",

	[SQL_TENANT_INSERT] =
	    "INSERT INTO tenants (id, name, created_at) "
	    "VALUES (?, ?, UTC_TIMESTAMP())",
	/* TENANT_COLS order: tenants.c TENANT_C_* */
	[SQL_TENANT_BY_NAME] =
	    "SELECT " TENANT_COLS " FROM tenants WHERE name = ?",
	[SQL_TENANT_LIST] =
	    "SELECT " TENANT_COLS " FROM tenants ORDER BY name",

	[SQL_TENANT_SET_LIMITS] =
	    "UPDATE tenants SET rate_read_per_min = ?, "
	    "rate_write_per_min = ? WHERE id = ?",
	[SQL_TENANT_SET_INGEST] =
	    "UPDATE tenants SET rate_ingest_per_min = ? WHERE id = ?",

	[SQL_KEY_INSERT] =
	    "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, "
	    "scopes, created_at, expires_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	/* KEY_COLS order: keys.c KEY_C_* */
	[SQL_KEY_GET] =
	    "SELECT " KEY_COLS " FROM api_keys WHERE id = ? AND tenant_id = ?",
	/* Active keys of a tenant after a keyset cursor (the last id). */
	[SQL_KEY_LIST] =
	    "SELECT " KEY_COLS " FROM api_keys "
	    "WHERE tenant_id = ? AND revoked_at IS NULL "
	    "AND (expires_at IS NULL OR expires_at > UTC_TIMESTAMP()) "
	    "AND id > ? ORDER BY id LIMIT ?",
	/* Every key of a tenant, for vigilctl. */
	[SQL_KEY_LIST_ALL] =
	    "SELECT " KEY_COLS " FROM api_keys WHERE tenant_id = ? "
	    "ORDER BY id",
	[SQL_KEY_COUNT_ACTIVE] =
	    "SELECT COUNT(*) FROM api_keys WHERE tenant_id = ? "
	    "AND revoked_at IS NULL "
	    "AND (expires_at IS NULL OR expires_at > UTC_TIMESTAMP())",
	[SQL_KEY_REVOKE] =
	    "UPDATE api_keys SET revoked_at = UTC_TIMESTAMP() "
	    "WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL",
	[SQL_KEY_TENANT] =
	    "SELECT tenant_id FROM api_keys WHERE id = ?",
	/* Serialises key creation within a tenant (the 10-key cap). */
	[SQL_KEY_LOCK_TENANT] =
	    "SELECT id FROM tenants WHERE id = ? FOR UPDATE",

	/* (class, default limit, key hash): counts a request of a usable
	 * key (affected rows 0: unknown, revoked or expired). The limit and
	 * count come back in LAST_INSERT_ID(): the limit alone when the row
	 * was inserted (count 1), count << 32 | limit when it was updated.
	 * ODKU assignments run left to right, so the last one sees the new
	 * count. The window is the database clock's minute. */
	[SQL_AUTH_COUNT] =
	    "INSERT INTO rate_limits (key_id, class, window_start, count, "
	    "lim) SELECT k.id, ?, UNIX_TIMESTAMP() DIV 60 * 60, 1, "
	    "LAST_INSERT_ID(COALESCE(CASE ? WHEN 'read' THEN "
	    "t.rate_read_per_min WHEN 'ingest' THEN t.rate_ingest_per_min "
	    "ELSE t.rate_write_per_min END, ?)) "
	    "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
	    "WHERE k.key_hash = ? AND k.revoked_at IS NULL "
	    "AND (k.expires_at IS NULL OR k.expires_at > UTC_TIMESTAMP()) "
	    "ON DUPLICATE KEY UPDATE "
	    "count = IF(VALUES(window_start) > window_start, 1, count + 1), "
	    "window_start = GREATEST(window_start, VALUES(window_start)), "
	    "lim = VALUES(lim) + 0 * LAST_INSERT_ID(count * 4294967296 + "
	    "VALUES(lim))",
	/* (class, window start, delta, class, key hash): what a pool's
	 * shared table (ratetable.c) sends about once a second per key and
	 * class. Like SQL_AUTH_COUNT, but it adds delta (>= 1, so the row
	 * always changes) for the host's window and hands back the total
	 * and the tenant's own limit (0: none; the caller applies its
	 * configured default): the override alone when inserted (total
	 * delta), total << 32 | override when updated. A host whose clock
	 * is behind the row's window adds to the newer window. */
	[SQL_AUTH_SYNC] =
	    "INSERT INTO rate_limits (key_id, class, window_start, count, "
	    "lim) SELECT k.id, ?, ?, ?, "
	    "LAST_INSERT_ID(COALESCE(CASE ? WHEN 'read' THEN "
	    "t.rate_read_per_min WHEN 'ingest' THEN t.rate_ingest_per_min "
	    "ELSE t.rate_write_per_min END, 0)) "
	    "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
	    "WHERE k.key_hash = ? AND k.revoked_at IS NULL "
	    "AND (k.expires_at IS NULL OR k.expires_at > UTC_TIMESTAMP()) "
	    "ON DUPLICATE KEY UPDATE "
	    "count = IF(VALUES(window_start) > window_start, VALUES(count), "
	    "count + VALUES(count)), "
	    "window_start = GREATEST(window_start, VALUES(window_start)), "
	    "lim = VALUES(lim) + 0 * LAST_INSERT_ID(count * 4294967296 + "
	    "VALUES(lim))",
	/* What a key is: never changes, so each worker keeps it. The
	 * expiry (seconds since the epoch, whatever the session's time
	 * zone; NULL: never) lets a pool refuse an expired key on time
	 * between two syncs. */
	[SQL_AUTH_INFO] =
	    "SELECT k.id, k.tenant_id, t.name, k.scopes, "
	    "TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', k.expires_at) "
	    "FROM api_keys k "
	    "JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = ?",
	/* Whether a key may still be used, asked fresh (allowlist.c asks
	 * before refusing, so that a revoked key gets its 401). */
	[SQL_AUTH_USABLE] =
	    "SELECT 1 FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL "
	    "AND (expires_at IS NULL OR expires_at > UTC_TIMESTAMP())",
	/* At most one durable write per key and minute. */
	[SQL_KEY_TOUCH] =
	    "UPDATE api_keys SET last_used_at = UTC_TIMESTAMP() WHERE id = ? "
	    "AND (last_used_at IS NULL OR "
	    "last_used_at < UTC_TIMESTAMP() - INTERVAL 1 MINUTE)",
	/* AUDIT_HEAD_COLS order: audit.c AUDIT_HEAD_C_*. The chain's head
	 * as the trigger of 0018_audit_heads.sql keeps it, for a caller
	 * that holds the tenant's row lock already. */
	[SQL_AUDIT_LAST] =
	    "SELECT " AUDIT_HEAD_COLS " FROM audit_heads WHERE tenant_id = ? "
	    "FOR UPDATE",
	/* The tenant's row lock and its chain's head in one round trip (no
	 * row: no such tenant; NULLs: no entry yet). The LEFT JOIN reads the
	 * tenant first, so the lock order stays tenant, then head. */
	[SQL_AUDIT_LOCK_HEAD] =
	    "SELECT h.seq, h.hash FROM tenants t "
	    "LEFT JOIN audit_heads h ON h.tenant_id = t.id "
	    "WHERE t.id = ? FOR UPDATE",
	[SQL_AUDIT_INSERT] =
	    "INSERT INTO audit_log (id, tenant_id, seq, at, actor, action, "
	    "object, detail, prev_hash, hash) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",

	/* findings: FINDING_COLS is the column order findings.c reads */
	[SQL_FINDING_GET] =
	    "SELECT " FINDING_COLS " FROM findings "
	    "WHERE tenant_id = ? AND id = ?",
	[SQL_FINDING_GET_LOCK] =
	    "SELECT " FINDING_COLS " FROM findings "
	    "WHERE tenant_id = ? AND id = ? FOR UPDATE",
	/* A findings action's first statement: the tenant's row lock, the
	 * finding (locked; NULL columns when the tenant has no such finding)
	 * and the audit chain's head (locked), in one round trip. The LEFT
	 * JOINs read the tenant first: the lock order of every findings
	 * transaction (tenant, finding, counts, audit). FINDING_COLS in
	 * f's columns, then AUDIT_HEAD_COLS. */
	[SQL_FINDING_LOCK_HEAD] =
	    "SELECT " FINDING_COLS_F ", h.seq, h.hash "
	    "FROM tenants t "
	    "LEFT JOIN findings f USE INDEX (findings_id) "
	    "ON f.tenant_id = t.id AND f.id = ? "
	    "LEFT JOIN audit_heads h ON h.tenant_id = t.id "
	    "WHERE t.id = ? FOR UPDATE",
	[SQL_FINDING_INSERT] =
	    "INSERT INTO findings (tenant_id, id, rule_id, provider, "
	    "integration_id, "
	    "subscription_id, environment, resource_id, title, severity, "
	    "category, layer, framework, description, recommendation, "
	    "evidence, fingerprint, state, remediation, resolved_by, "
	    "awaiting_scan, accepted_until, snoozed_until, detected_at, "
	    "updated_at, last_seen_at, resolved_at, " FINDING_META_COLS ") "
	    "VALUES (?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?)",
	[SQL_FINDING_UPDATE_STATE] =
	    "UPDATE findings USE INDEX (PRIMARY) SET severity = ?, "
	    "state = ?, remediation = ?, "
	    "resolved_by = ?, awaiting_scan = ?, fingerprint = ?, "
	    "accepted_until = ?, snoozed_until = ?, detected_at = ?, "
	    "updated_at = ?, last_seen_at = ?, resolved_at = ? "
	    "WHERE seq = ? AND tenant_id = ? AND id = ?",
	[SQL_FINDING_UPDATE_DESC] =
	    "UPDATE findings SET integration_id = ?, "
	    "subscription_id = ?, environment = ?, "
	    "resource_id = ?, title = ?, category = ?, layer = ?, "
	    "framework = ?, description = ?, recommendation = ?, "
	    "evidence = ?, resource_name = ?, resource_type = ?, "
	    "resource_group = ?, region = ?, account = ?, tags = ?, source = ? "
	    "WHERE tenant_id = ? AND id = ?",
	[SQL_FINDING_PATCH] =
	    "UPDATE findings SET assignee = ?, notes = ?, updated_at = ? "
	    "WHERE tenant_id = ? AND id = ?",
	/* Filters that are NULL match everything; severity and state are
	 * lists of up to five values (repeat one to fill the slots). MariaDB
	 * optimises each execution with its values, so "? IS NULL" folds
	 * away. One state: walk (tenant_id, state, seq) newest first and
	 * filter, stopping after a page (EXPLAIN in make bench). The walk
	 * is the inner SELECT, over an index that holds every filtered
	 * column (0014_posture_counts.sql): it reads no row, and only the
	 * page's rows are fetched, however many the filters pass over. */
	[SQL_FINDING_LIST] =
	    "SELECT " FINDING_LIST_COLS " FROM findings JOIN ("
	    "SELECT seq FROM findings "
	    "FORCE INDEX (findings_state_seq) WHERE tenant_id = ? "
	    FINDING_FILTERS
	    "AND seq < ? ORDER BY seq DESC LIMIT ?) page USING (seq) "
	    "ORDER BY seq DESC",
	/* One state and one severity, or one state and a category. */
	[SQL_FINDING_LIST_SEV] =
	    "SELECT " FINDING_LIST_COLS " FROM findings JOIN ("
	    "SELECT seq FROM findings "
	    "FORCE INDEX (findings_state_sev_seq) WHERE tenant_id = ? "
	    FINDING_FILTERS
	    "AND seq < ? ORDER BY seq DESC LIMIT ?) page USING (seq) "
	    "ORDER BY seq DESC",
	[SQL_FINDING_LIST_CAT] =
	    "SELECT " FINDING_LIST_COLS " FROM findings JOIN ("
	    "SELECT seq FROM findings "
	    "FORCE INDEX (findings_state_cat_seq) WHERE tenant_id = ? "
	    FINDING_FILTERS
	    "AND seq < ? ORDER BY seq DESC LIMIT ?) page USING (seq) "
	    "ORDER BY seq DESC",
	/* The same over several states: walk (tenant_id, seq) newest first
	 * and filter, rather than sort every match of a multi-value range. */
	[SQL_FINDING_LIST_SCAN] =
	    "SELECT " FINDING_LIST_COLS " FROM findings JOIN ("
	    "SELECT seq FROM findings "
	    "FORCE INDEX (findings_tenant_seq) WHERE tenant_id = ? "
	    FINDING_FILTERS
	    "AND seq < ? ORDER BY seq DESC LIMIT ?) page USING (seq) "
	    "ORDER BY seq DESC",
	/* Several states, every severity: a range of findings_state_seq
	 * per state (or of findings_state_cat_seq, the category pinned). */
	[SQL_FINDING_LIST_STATES] = FINDING_BY_STATE(
	    FINDING_PLAIN_ARM("findings_state_seq", FINDING_STATE_PIN)),
	[SQL_FINDING_LIST_STATES_CAT] = FINDING_BY_STATE(
	    FINDING_PLAIN_ARM("findings_state_cat_seq", FINDING_STATE_PIN)),
	/* Some severities: a range of findings_state_sev_seq per (state,
	 * severity) pair asked for, 4 ranges or 24 (six states, four
	 * severities; every severity is SQL_FINDING_LIST_STATES'). */
	[SQL_FINDING_LIST_PAIRS_4] = FINDING_BY_RANGES(UNION4(
	    FINDING_PLAIN_ARM("findings_state_sev_seq", FINDING_PAIR_PIN))),
	[SQL_FINDING_LIST_PAIRS_24] = FINDING_BY_RANGES(UNION8(
	    FINDING_PLAIN_ARM("findings_state_sev_seq", FINDING_PAIR_PIN))
	    " UNION ALL " UNION8(
	    FINDING_PLAIN_ARM("findings_state_sev_seq", FINDING_PAIR_PIN))
	    " UNION ALL " UNION8(
	    FINDING_PLAIN_ARM("findings_state_sev_seq", FINDING_PAIR_PIN))),
	/* By resource metadata (0026). A tag drives the walk from
	 * finding_tags' primary key (tenant, key, value, seq) newest first,
	 * each match's finding read by seq (findings_seq); the other
	 * metadata filters walk their own index (findings_rtype_state, ...).
	 * With filters the kept counts lack (category, subscription_id,
	 * environment, since, a second metadata filter), their totals are
	 * counted among at most LIST_SINCE_CAP matches, as with since: a
	 * lower bound past it. */
	[SQL_FINDING_LIST_RTYPE] = FINDING_LIST_BY("findings_rtype_state"),
	[SQL_FINDING_LIST_RGROUP] = FINDING_LIST_BY("findings_rgroup_state"),
	[SQL_FINDING_LIST_REGION] = FINDING_LIST_BY("findings_region_state"),
	[SQL_FINDING_LIST_SOURCE] = FINDING_LIST_BY("findings_source_state"),
	[SQL_FINDING_LIST_TAG] =
	    "SELECT " FINDING_LIST_COLS " FROM findings JOIN ("
	    "SELECT f.seq FROM finding_tags t STRAIGHT_JOIN findings f "
	    "ON f.seq = t.finding_seq WHERE t.tenant_id = ? "
	    "AND f.tenant_id = t.tenant_id "
	    FINDING_FILTERS FINDING_META_FILTERS FINDING_TAG_DRIVE
	    "AND t.finding_seq < ? ORDER BY t.finding_seq DESC LIMIT ?) page "
	    "USING (seq) ORDER BY seq DESC",
	[SQL_FINDING_COUNT_META] =
	    "SELECT COUNT(*), COUNT(*) FROM (SELECT 1 FROM findings "
	    "WHERE tenant_id = ? " FINDING_FILTERS FINDING_META_FILTERS
	    "LIMIT " LIST_SINCE_CAP_S ") s",
	/* A tag's count reads the newest LIST_TAG_CAP entries of
	 * finding_tags (its primary key alone) and the finding of each:
	 * the matches among them and how many were read. Parameters: the
	 * tenant and the tag, then the tenant and the filters. */
	[SQL_FINDING_COUNT_TAG] =
	    "SELECT COUNT(f.seq), COUNT(*) FROM (SELECT t.finding_seq "
	    "FROM finding_tags t WHERE t.tenant_id = ? " FINDING_TAG_DRIVE
	    "ORDER BY t.finding_seq DESC LIMIT " LIST_TAG_CAP_S ") t "
	    "LEFT JOIN findings f ON f.seq = t.finding_seq AND f.tenant_id = ? "
	    FINDING_FILTERS FINDING_META_FILTERS,
	[SQL_FINDING_LIST_RTYPE_ONLY] =
	    FINDING_LIST_ONLY("findings_rtype_state", "resource_type"),
	[SQL_FINDING_LIST_RGROUP_ONLY] =
	    FINDING_LIST_ONLY("findings_rgroup_state", "resource_group"),
	[SQL_FINDING_LIST_REGION_ONLY] =
	    FINDING_LIST_ONLY("findings_region_state", "region"),
	[SQL_FINDING_LIST_SOURCE_ONLY] =
	    FINDING_LIST_ONLY("findings_source_state", "source"),
	[SQL_FINDING_LIST_TAG_ONLY] = FINDING_BY_STATE(FINDING_TAG_ARM),
	/* The kept totals of one metadata value or one tag beside state
	 * and severity (0055): tenant, the dimension (1 resource_type, 2
	 * resource_group, 3 region, 4 source), the value as `value` (1-3) or
	 * `value_bin` (4; the other ''), six states, five severities; or
	 * tenant, tag key, tag value, the states and severities. */
	[SQL_FINDING_COUNT_META_KEPT] =
	    "SELECT COALESCE(SUM(n), 0) FROM finding_meta_counts "
	    "WHERE tenant_id = ? AND dim = ? AND value = ? AND value_bin = ? "
	    "AND state IN (?, ?, ?, ?, ?, ?) AND severity IN (?, ?, ?, ?, ?)",
	[SQL_FINDING_COUNT_TAG_KEPT] =
	    "SELECT COALESCE(SUM(n), 0) FROM finding_tag_counts "
	    "WHERE tenant_id = ? AND tag_key = ? AND tag_value = ? "
	    "AND state IN (?, ?, ?, ?, ?, ?) AND severity IN (?, ?, ?, ?, ?)",
	/* Without "since", the trigger-kept counts answer exactly. */
	/* The kept counts of a tenant per (state, severity), of one state
	 * or all: every finding, and those of the category (NULL: every
	 * one). Parameters: the category twice, the tenant, the state twice
	 * (NULL: every state). */
	[SQL_FINDING_COUNT_PAIRS] =
	    "SELECT state, severity, SUM(n), "
	    "SUM(IF(? IS NULL OR category = ?, n, 0)) FROM finding_counts "
	    "WHERE tenant_id = ? AND (? IS NULL OR state = ?) "
	    "GROUP BY state, severity",
	[SQL_FINDING_COUNT] =
	    "SELECT COALESCE(SUM(n), 0) FROM finding_counts "
	    "WHERE tenant_id = ? "
	    "AND state IN (?, ?, ?, ?, ?, ?) AND severity IN (?, ?, ?, ?, ?) "
	    "AND (? IS NULL OR category = ?) "
	    "AND (? IS NULL OR subscription_id = ?) "
	    "AND (? IS NULL OR environment = ?)",
	/* With "since": the matches among the first LIST_SINCE_CAP findings
	 * changed after it (findings_updated), and how many those were (the
	 * count is a lower bound when they are that many). */
	[SQL_FINDING_COUNT_SINCE] =
	    "SELECT COALESCE(SUM(state IN (?, ?, ?, ?, ?, ?) "
	    "AND severity IN (?, ?, ?, ?, ?) "
	    "AND (? IS NULL OR category = ?) "
	    "AND (? IS NULL OR subscription_id = ?) "
	    "AND (? IS NULL OR environment = ?)), 0), COUNT(*) FROM ("
	    "SELECT state, severity, category, subscription_id, environment "
	    "FROM findings WHERE tenant_id = ? AND updated_at > ? "
	    "ORDER BY updated_at LIMIT " LIST_SINCE_CAP_S ") s",
	/* FINDING_DUE_COLS order: findings.c DUE_C_* */
	[SQL_FINDING_DUE] =
	    "SELECT " FINDING_DUE_COLS " FROM findings "
	    "WHERE state = 'accepted' "
	    "AND accepted_until IS NOT NULL AND accepted_until <= ? "
	    "UNION ALL SELECT " FINDING_DUE_COLS " FROM findings "
	    "WHERE state = 'snoozed' AND snoozed_until <= ? LIMIT 1000",
	/* What a complete scan of a provider may find absent. */
	[SQL_FINDING_PRESENT] =
	    "SELECT id FROM findings WHERE tenant_id = ? "
	    "AND integration_id <=> ? AND provider = ? "
	    "AND (state IN ('open', 'accepted', 'snoozed', 'muted') "
	    "OR (state = 'resolved' AND awaiting_scan = 1))",
	[SQL_HISTORY_INSERT] =
	    "INSERT INTO finding_history (tenant_id, finding_id, action, at, "
	    "actor, fields) VALUES (?, ?, ?, ?, ?, ?)",
	[SQL_HISTORY_LIST] =
	    "SELECT action, at, actor, fields FROM finding_history "
	    "WHERE tenant_id = ? AND finding_id = ? ORDER BY seq",
	/* Every writer of an event holds its tenant's row lock
	 * (SQL_KEY_LOCK_TENANT) from before this INSERT to its commit, so a
	 * tenant's events commit in seq order and a webhook's created_seq
	 * (0013_webhook_created_seq.sql) splits them exactly. */
	[SQL_EVENT_INSERT] =
	    "INSERT INTO events (id, tenant_id, type, created_at, payload) "
	    "VALUES (?, ?, ?, ?, ?)",
	[SQL_SETTINGS_LIFECYCLE] =
	    "SELECT allow_auto_remediate FROM tenant_settings "
	    "WHERE tenant_id = ?",
	/* The same with the tenant's row lock, in one round trip: a batch's
	 * first statements. The rows locked in SQL_SETTINGS_GET_LOCK's
	 * order, the tenant's then its settings', as its writer takes them;
	 * NULL when the tenant has no settings row, no row when no tenant. */
	[SQL_SETTINGS_LIFECYCLE_LOCK] =
	    "SELECT s.allow_auto_remediate FROM tenants t "
	    "LEFT JOIN tenant_settings s ON s.tenant_id = t.id "
	    "WHERE t.id = ? FOR UPDATE",
	/* A batch's stored rows, locked (tenant_id, DB_MANY ids). The index
	 * named: the server otherwise weighs, at every execution, a range
	 * of each of the other indexes that begin with tenant_id (measured:
	 * a fifth of the statement's CPU). */
	[SQL_FINDING_GET_MANY] =
	    "SELECT " FINDING_BATCH_COLS_NOEVID " FROM findings "
	    "FORCE INDEX (findings_id) "
	    "WHERE tenant_id = ? AND id IN (" X256("?") ") FOR UPDATE",
	[SQL_FINDING_GET_MANY_EVID] =
	    "SELECT " FINDING_BATCH_COLS " FROM findings "
	    "FORCE INDEX (findings_id) "
	    "WHERE tenant_id = ? AND id IN (" X256("?") ") FOR UPDATE",
	/* Seen again, nothing else changed: (last_seen_at, scan, tenant_id,
	 * DB_MANY seqs). By seq, the clustered key (0030), which the batch
	 * read under lock: one descent of the table per row rather than one
	 * of the (tenant_id, id) index and then one of the table. */
	[SQL_FINDING_SEEN_MANY] =
	    "UPDATE findings FORCE INDEX (PRIMARY) "
	    "SET last_seen_at = ?, seen_scan_id = ? "
	    "WHERE tenant_id = ? AND seq IN (" X256("?") ")",
	/* The same for seqs that make at most DB_SEEN_RUNS ranges
	 * (last_seen_at, scan, tenant_id, then each range's first and last
	 * seq; spare ranges repeat the last): a rescan's unchanged findings
	 * were stored in the order it reads them, so a batch's seqs are one
	 * range or a few. The server builds a range for each element of an
	 * IN list at every execution: for 256 seqs that was 15 % of its CPU
	 * in an unchanged rescan, more than the rows' update. A CALL: the
	 * procedure (0059) runs that UPDATE with the counting triggers told
	 * to stand aside around it, one round trip where the SETs before
	 * and after it were two more. */
	[SQL_FINDING_SEEN_RUNS] =
	    "CALL findings_seen_mark(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?)",
	/* What a complete scan of a provider did not see (SQL_FINDING_PRESENT
	 * less the findings this scan marked seen), by the integration id
	 * alone as SQL_SCAN_OPEN_COUNTS. */
	[SQL_FINDING_ABSENT] =
	    "SELECT id FROM findings WHERE integration_id = ? "
	    "AND provider = ? "
	    "AND (state IN ('open', 'accepted', 'snoozed', 'muted') "
	    "OR (state = 'resolved' AND awaiting_scan = 1)) "
	    "AND NOT (seen_scan_id <=> ?) ORDER BY id",
	/* The same in one gap between the seqs a scan marked seen
	 * (integration, provider, scan, first seq, last seq): a range of the
	 * primary key, or of findings_integration_state checking seq in the
	 * index, so the rows read are the gap's. */
	[SQL_FINDING_ABSENT_SEQS] =
	    "SELECT id FROM findings WHERE integration_id = ? "
	    "AND provider = ? "
	    "AND (state IN ('open', 'accepted', 'snoozed', 'muted') "
	    "OR (state = 'resolved' AND awaiting_scan = 1)) "
	    "AND NOT (seen_scan_id <=> ?) AND seq BETWEEN ? AND ?",
	ROWS4(SQL_FINDING_UPSERT, FINDING_UPSERT_HEAD, FINDING_UPSERT_ROW,
	    FINDING_UPSERT_TAIL),
	ROWS4(SQL_HISTORY_INSERT, "INSERT INTO finding_history (tenant_id, "
	    "finding_id, action, at, actor, fields) VALUES ",
	    "(?, ?, ?, ?, ?, ?)", ""),
	/* The tenant row is held, as for SQL_EVENT_INSERT. */
	ROWS4(SQL_EVENT_INSERT, "INSERT INTO events (id, tenant_id, type, "
	    "created_at, payload) VALUES ", "(?, ?, ?, ?, ?)", ""),
	ROWS4(SQL_AUDIT_INSERT, "INSERT INTO audit_log (id, tenant_id, seq, at, "
	    "actor, action, object, detail, prev_hash, hash) VALUES ",
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ""),

	/* settings, posture, audit API (add below this line) */
	/* The IP allowlist alone, for its enforcement (settings.c). */
	[SQL_SETTINGS_ALLOWLIST] =
	    "SELECT ip_allowlist FROM tenant_settings WHERE tenant_id = ?",
	/* A tenant's settings, in settings.c's SET_C_* order; the settings
	 * columns are NULL when no row was ever written (the defaults then
	 * apply). */
	[SQL_SETTINGS_GET] =
	    "SELECT t.rate_read_per_min, t.rate_write_per_min, "
	    "s.allow_auto_remediate, s.scan_interval_minutes, s.ip_allowlist, "
	    "s.updated_at, t.rate_ingest_per_min FROM tenants t "
	    "LEFT JOIN tenant_settings s ON s.tenant_id = t.id WHERE t.id = ?",
	[SQL_SETTINGS_GET_LOCK] =
	    "SELECT t.rate_read_per_min, t.rate_write_per_min, "
	    "s.allow_auto_remediate, s.scan_interval_minutes, s.ip_allowlist, "
	    "s.updated_at, t.rate_ingest_per_min FROM tenants t "
	    "LEFT JOIN tenant_settings s ON s.tenant_id = t.id WHERE t.id = ? "
	    "FOR UPDATE",
	/* The values twice: VALUES() in the update part is deprecated in
	 * MySQL 8 and the alias syntax does not exist in MariaDB. */
	[SQL_SETTINGS_UPSERT] =
	    "INSERT INTO tenant_settings (tenant_id, allow_auto_remediate, "
	    "scan_interval_minutes, ip_allowlist, updated_at) "
	    "VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
	    "allow_auto_remediate = ?, scan_interval_minutes = ?, "
	    "ip_allowlist = ?, updated_at = ?",
	/* posture: from the trigger-kept counts (0005_finding_counts.sql,
	 * 0014_posture_counts.sql), whose rows are the tenant's distinct
	 * (state, severity, category, subscription, environment)
	 * combinations, not its findings; a combination left with n = 0
	 * keeps its row, hence the n > 0. */
	[SQL_POSTURE_SEVERITY] =
	    "SELECT severity, SUM(n) FROM finding_counts "
	    "WHERE tenant_id = ? AND state = 'open' GROUP BY severity",
	/* The summary's counts in one round trip, as (part, key, count):
	 * 0 open by severity, 1 all by state, 2 open by category (most
	 * first, then by name), 3 subscriptions with an open finding, 4
	 * resources with one (posture.c PART_*); (tenant) five times. */
	[SQL_POSTURE_COUNTS] =
	    "SELECT 0 AS part, severity AS k, SUM(n) AS v FROM finding_counts "
	    "WHERE tenant_id = ? AND state = 'open' GROUP BY severity "
	    "UNION ALL SELECT 1, state, SUM(n) FROM finding_counts "
	    "WHERE tenant_id = ? GROUP BY state "
	    "UNION ALL SELECT 2, category, SUM(n) FROM finding_counts "
	    "WHERE tenant_id = ? AND state = 'open' GROUP BY category "
	    "HAVING SUM(n) > 0 "
	    "UNION ALL SELECT 3, '', COUNT(DISTINCT subscription_id) "
	    "FROM finding_counts WHERE tenant_id = ? AND state = 'open' "
	    "AND n > 0 AND subscription_id <> '' "
	    "UNION ALL SELECT 4, '', COALESCE((SELECT open_resources "
	    "FROM finding_tenant_counts WHERE tenant_id = ?), 0) "
	    "ORDER BY part, v DESC, k",
	/* ENUM columns sort by their declared order: critical first. The
	 * first five entries of findings_top (0014; since 0054 ties of
	 * detected_at in seq order, the primary key InnoDB appends), no
	 * sort. */
	[SQL_POSTURE_TOP] =
	    "SELECT id, title, severity, category, resource_id, detected_at "
	    "FROM findings WHERE tenant_id = ? AND state = 'open' "
	    "ORDER BY severity, detected_at, seq LIMIT 5",
	/* audit: newest first after a keyset cursor (a seq); NULL filters
	 * match everything. */
	/* AUDIT_COLS order: audit.c AUDIT_C_* */
	[SQL_AUDIT_LIST] =
	    "SELECT " AUDIT_COLS " FROM audit_log WHERE tenant_id = ? "
	    "AND (? IS NULL OR action = ?) AND (? IS NULL OR at >= ?) "
	    "AND seq < ? ORDER BY seq DESC LIMIT ?",
	/* Without "since", the trigger-kept counts (0015_list_counts.sql)
	 * answer exactly. */
	[SQL_AUDIT_COUNT] =
	    "SELECT COALESCE(SUM(n), 0) FROM list_counts "
	    "WHERE tenant_id = ? AND list = 'audit' "
	    "AND (? IS NULL OR k = ?)",
	/* With "since": the matches among the first LIST_SINCE_CAP entries
	 * at or after it (audit_tenant_at holds the action too); the second
	 * column says whether there were that many, so that the count is
	 * only a lower bound. */
	[SQL_AUDIT_COUNT_SINCE] =
	    "SELECT COALESCE(SUM(? IS NULL OR action = ?), 0), COUNT(*) "
	    "FROM (SELECT action FROM audit_log WHERE tenant_id = ? "
	    "AND at >= ? ORDER BY at LIMIT " LIST_SINCE_CAP_S ") s",
	/* An export in chain order, since/until inclusive. */
	[SQL_AUDIT_RANGE] =
	    "SELECT " AUDIT_COLS " FROM audit_log WHERE tenant_id = ? "
	    "AND (? IS NULL OR at >= ?) AND (? IS NULL OR at <= ?) "
	    "ORDER BY seq LIMIT ?",
	[SQL_AUDIT_HEAD] =
	    "SELECT " AUDIT_HEAD_COLS " FROM audit_log WHERE tenant_id = ? "
	    "ORDER BY seq DESC LIMIT 1",
	/* vigilctl audit verify: the chain in batches after a seq. */
	[SQL_AUDIT_CHAIN] =
	    "SELECT " AUDIT_COLS " FROM audit_log "
	    "WHERE tenant_id = ? AND seq > ? "
	    "ORDER BY seq LIMIT ?",

	/* scanner (scan.c, integrations, scans, rules API) */
	/* SCAN_COLS order: scan.h SCAN_C_* */
	[SQL_SCAN_GET] =
	    "SELECT " SCAN_COLS " FROM scans WHERE id = ?",
	[SQL_SCAN_GET_TENANT] =
	    "SELECT " SCAN_COLS " FROM scans WHERE tenant_id = ? AND id = ?",
	[SQL_SCAN_INSERT] =
	    "INSERT INTO scans (id, tenant_id, integration_id, status, "
	    "trigger_type, created_at) VALUES (?, ?, ?, 'queued', ?, ?)",
	[SQL_SCAN_START] =
	    "UPDATE scans SET status = 'running', runner = ?, started_at = ? "
	    "WHERE id = ? AND status = 'queued'",
	[SQL_SCAN_PROGRESS] =
	    "UPDATE scans SET resources_scanned = ?, rules_evaluated = ? "
	    "WHERE id = ? AND status = 'running'",
	[SQL_SCAN_FINISH] =
	    "UPDATE scans SET status = ?, finished_at = ?, "
	    "resources_scanned = ?, rules_evaluated = ?, "
	    "findings_detected = ?, findings_resolved = ?, "
	    "findings_reopened = ?, counts = ?, error = ?, duration_ms = ? "
	    "WHERE id = ? AND status = 'running'",
	/* A scan that cannot run (or whose runner died): (finished_at,
	 * error, id, the status it must still have). */
	[SQL_SCAN_FAIL] =
	    "UPDATE scans SET status = 'failed', finished_at = ?, error = ? "
	    "WHERE id = ? AND status = ?",
	[SQL_SCAN_RUNNING] =
	    "SELECT id FROM scans WHERE status = 'running' "
	    "ORDER BY created_at, id LIMIT 1000",
	[SQL_SCAN_QUEUED] =
	    "SELECT id FROM scans WHERE status = 'queued' "
	    "ORDER BY created_at, id LIMIT 1000",
	/* SCAN_ACTIVE_COLS order: scan.c ACTIVE_C_* */
	[SQL_SCAN_ACTIVE_FOR] =
	    "SELECT " SCAN_ACTIVE_COLS " FROM scans WHERE integration_id = ? "
	    "AND status IN ('queued', 'running') ORDER BY created_at LIMIT 1",
	/* Newest first after a keyset cursor (the last id: ULIDs sort by
	 * creation time). */
	[SQL_SCAN_LIST] =
	    "SELECT " SCAN_COLS " FROM scans WHERE tenant_id = ? AND id < ? "
	    "ORDER BY id DESC LIMIT ?",
	[SQL_SCAN_COUNT] =
	    "SELECT COALESCE(SUM(n), 0) FROM list_counts "
	    "WHERE tenant_id = ? AND list = 'scans'",
	/* One row per finding a scan touched; a finding reported twice in
	 * one scan (the same resource in two files) keeps its first
	 * outcome, a remediation result overrides it. */
	[SQL_SCAN_RESULT_INSERT] =
	    "INSERT INTO scan_results (scan_id, finding_id, rule_id, "
	    "resource_id, severity, outcome) VALUES (?, ?, ?, ?, ?, ?) "
	    "ON DUPLICATE KEY UPDATE outcome = outcome",
	[SQL_SCAN_RESULT_SET] =
	    "INSERT INTO scan_results (scan_id, finding_id, rule_id, "
	    "resource_id, severity, outcome) VALUES (?, ?, ?, ?, ?, ?) "
	    "ON DUPLICATE KEY UPDATE outcome = ?",
	[SQL_SCAN_RESULTS] =
	    "SELECT finding_id, rule_id, resource_id, severity, outcome "
	    "FROM scan_results WHERE scan_id = ? AND finding_id > ? "
	    "ORDER BY finding_id LIMIT ?",
	/* The total of a finished scan was counted at its end; a running
	 * scan's (or one recorded before 0016) is counted. */
	[SQL_SCAN_RESULTS_COUNT] =
	    "SELECT IF(s.results_total IS NOT NULL, s.results_total, "
	    "(SELECT COUNT(*) FROM scan_results r WHERE r.scan_id = s.id)) "
	    "FROM scans s WHERE s.id = ?",
	[SQL_SCAN_RESULTS_TOTAL] =
	    "UPDATE scans SET results_total = (SELECT COUNT(*) FROM "
	    "scan_results WHERE scan_id = ?) WHERE id = ?",
	/* A batch's outcomes: the same rules as the two above in one
	 * statement (a later resolved / remediation outcome overrides). */
	ROWS4(SQL_SCAN_RESULT_ADD, "INSERT INTO scan_results (scan_id, "
	    "finding_id, rule_id, resource_id, severity, outcome) VALUES ",
	    "(?, ?, ?, ?, ?, ?)", " ON DUPLICATE KEY UPDATE outcome = "
	    "IF(VALUES(outcome) IN ('resolved', 'remediated', "
	    "'remediation_failed'), VALUES(outcome), outcome)"),
	/* Open findings of an integration by severity, after its scan
	 * (SCAN_OPEN_COUNT_COLS order: scan.c OPEN_C_*). The integration id
	 * alone (it names one tenant's integration): with tenant_id too,
	 * MariaDB chose the tenant's (state, severity) index and read every
	 * open finding of the tenant (0016_scan_batches.sql; the plan is
	 * checked by bench/scan.py). */
	[SQL_SCAN_OPEN_COUNTS] =
	    "SELECT " SCAN_OPEN_COUNT_COLS " FROM findings "
	    "WHERE integration_id = ? AND state = 'open' GROUP BY severity",
	/* What SQL_FINDING_PRESENT offers to reconcile, with the state
	 * before it, to count what the scan resolved (SCAN_ABSENT_COLS
	 * order: scan.c ABSENT_C_*). */
	[SQL_SCAN_ABSENT] =
	    "SELECT " SCAN_ABSENT_COLS " FROM findings "
	    "WHERE tenant_id = ? AND integration_id <=> ? AND provider = ? "
	    "AND (state IN ('open', 'accepted', 'snoozed', 'muted') "
	    "OR (state = 'resolved' AND awaiting_scan = 1))",
	/* Findings of an integration with a remediation asked for; the
	 * lifecycle decides which are due. Every severity named, so that
	 * findings_integration_state gives the few (integration, open,
	 * severity, remediation) ranges and only their rows are read: the id
	 * is not in that index since the table is clustered on seq (0030),
	 * and "state = 'open'" alone let MariaDB scan the table. */
	[SQL_SCAN_REMEDIATION] =
	    "SELECT id FROM findings WHERE integration_id = ? "
	    "AND state = 'open' "
	    "AND severity IN ('critical', 'high', 'medium', 'low', 'info') "
	    "AND remediation IN ('requested', 'approved')",
	/* Live integrations whose tenant's interval has passed since their
	 * last scan (never scanned: due), oldest first (SCAN_DUE_COLS order:
	 * scan.c DUE_C_*). */
	[SQL_SCAN_DUE_INTEGRATIONS] =
	    "SELECT " SCAN_DUE_COLS " FROM integrations i "
	    "LEFT JOIN tenant_settings s ON s.tenant_id = i.tenant_id "
	    "WHERE i.deleted_at IS NULL AND (i.last_scan_at IS NULL OR "
	    "i.last_scan_at <= CAST(? AS DATETIME) - INTERVAL "
	    "COALESCE(s.scan_interval_minutes, 60) MINUTE) "
	    "ORDER BY i.last_scan_at, i.id LIMIT 1000",
	/* INTEGRATION_COLS order: integrations.h INTEGRATION_C_* */
	[SQL_INTEGRATION_GET] =
	    "SELECT " INTEGRATION_COLS " FROM integrations WHERE id = ?",
	[SQL_INTEGRATION_GET_TENANT] =
	    "SELECT " INTEGRATION_COLS " FROM integrations "
	    "WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL",
	/* Serialises "is a scan queued or running?" with queueing one. */
	[SQL_INTEGRATION_LOCK] =
	    "SELECT id FROM integrations WHERE tenant_id = ? AND id = ? "
	    "AND deleted_at IS NULL FOR UPDATE",
	[SQL_INTEGRATION_INSERT] =
	    "INSERT INTO integrations (id, tenant_id, type, name, config, "
	    "secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	[SQL_INTEGRATION_LIST] =
	    "SELECT " INTEGRATION_COLS " FROM integrations "
	    "WHERE tenant_id = ? AND deleted_at IS NULL AND id > ? "
	    "ORDER BY id LIMIT ?",
	[SQL_INTEGRATION_COUNT] =
	    "SELECT COALESCE(SUM(n), 0) FROM list_counts "
	    "WHERE tenant_id = ? AND list = 'integrations'",
	[SQL_INTEGRATION_DELETE] =
	    "UPDATE integrations SET deleted_at = ? "
	    "WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL",
	[SQL_INTEGRATION_SCANNED] =
	    "UPDATE integrations SET last_scan_at = ? WHERE id = ?",

	/* webhooks (webhooks.c, deliveries.c, events.c) */
	/* created_seq: see 0013_webhook_created_seq.sql; read under the
	 * tenant row lock (SQL_KEY_LOCK_TENANT). */
	[SQL_WEBHOOK_INSERT] =
	    "INSERT INTO webhooks (id, tenant_id, url, events, secret, "
	    "created_at, created_seq) SELECT ?, ?, ?, ?, ?, ?, "
	    "COALESCE(MAX(seq), 0) FROM events WHERE tenant_id = ?",
	/* WEBHOOK_COLS order: webhooks.c WEBHOOK_COL_* */
	[SQL_WEBHOOK_GET] =
	    "SELECT " WEBHOOK_COLS " FROM webhooks "
	    "WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL",
	[SQL_WEBHOOK_LIST] =
	    "SELECT " WEBHOOK_COLS " FROM webhooks "
	    "WHERE tenant_id = ? AND deleted_at IS NULL AND kind = 'webhook' "
	    "AND id > ? "
	    "ORDER BY id LIMIT ?",
	[SQL_WEBHOOK_COUNT] =
	    "SELECT COALESCE(SUM(n), 0) FROM list_counts "
	    "WHERE tenant_id = ? AND list = 'webhooks'",
	[SQL_WEBHOOK_DELETE] =
	    "UPDATE webhooks SET deleted_at = ? "
	    "WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL",
	[SQL_WEBHOOK_ENABLE] =
	    "UPDATE webhooks SET disabled_at = NULL, disabled_reason = NULL, "
	    "failing_since = NULL WHERE tenant_id = ? AND id = ? "
	    "AND deleted_at IS NULL AND disabled_at IS NOT NULL",
	/* No delivery starts after the webhook is deleted. */
	[SQL_DELIVERY_CANCEL] =
	    "UPDATE deliveries SET status = 'failed', "
	    "last_error = 'webhook deleted', updated_at = ? "
	    "WHERE tenant_id = ? AND webhook_id = ? AND status = 'pending'",
	/* DELIVERY_COLS order: deliveries.c DELIVERY_COL_* */
	[SQL_DELIVERY_GET] =
	    "SELECT " DELIVERY_COLS " FROM deliveries d "
	    "JOIN events e ON e.id = d.event_id "
	    "WHERE d.tenant_id = ? AND d.id = ?",
	[SQL_DELIVERY_LIST] =
	    "SELECT " DELIVERY_COLS " FROM deliveries d "
	    "JOIN events e ON e.id = d.event_id "
	    "WHERE d.tenant_id = ? AND d.webhook_id = ? AND d.id > ? "
	    "ORDER BY d.id LIMIT ?",
	[SQL_DELIVERY_COUNT] =
	    "SELECT COALESCE(SUM(n), 0) FROM list_counts "
	    "WHERE tenant_id = ? AND list = 'deliveries' AND k = ?",
	/* Only a failed or dead delivery of a webhook neither deleted nor
	 * disabled; the schedule starts over (attempts from 0). */
	[SQL_DELIVERY_RETRY] =
	    "UPDATE deliveries SET status = 'pending', "
	    "next_attempt_at = UTC_TIMESTAMP(3), "
	    "attempts = 0, lease_until = NULL, lease_owner = NULL, "
	    "updated_at = ? "
	    "WHERE tenant_id = ? AND id = ? AND status IN ('failed','dead') "
	    "AND webhook_id IN (SELECT id FROM webhooks "
	    "WHERE tenant_id = ? AND deleted_at IS NULL "
	    "AND disabled_at IS NULL)",
	/* Oldest first from a seq; type exact or a prefix; since. The
	 * NULL-able filters repeat their parameter. */
	[SQL_EVENT_LIST] =
	    "SELECT seq, payload FROM events "
	    "WHERE tenant_id = ? AND seq > ? "
	    "AND (? IS NULL OR type = ?) "
	    "AND (? IS NULL OR LEFT(type, CHAR_LENGTH(?)) = ?) "
	    "AND (? IS NULL OR created_at >= ?) "
	    "ORDER BY seq LIMIT ?",
	/* Without "since", the trigger-kept counts per type
	 * (0015_list_counts.sql) answer exactly. */
	[SQL_EVENT_COUNT] =
	    "SELECT COALESCE(SUM(n), 0) FROM list_counts "
	    "WHERE tenant_id = ? AND list = 'events' "
	    "AND (? IS NULL OR k = ?) "
	    "AND (? IS NULL OR LEFT(k, CHAR_LENGTH(?)) = ?)",
	/* With "since": as SQL_AUDIT_COUNT_SINCE, over
	 * events_tenant_created. */
	[SQL_EVENT_COUNT_SINCE] =
	    "SELECT COALESCE(SUM((? IS NULL OR type = ?) "
	    "AND (? IS NULL OR LEFT(type, CHAR_LENGTH(?)) = ?)), 0), "
	    "COUNT(*) FROM (SELECT type FROM events WHERE tenant_id = ? "
	    "AND created_at >= ? ORDER BY created_at "
	    "LIMIT " LIST_SINCE_CAP_S ") s",

	/* vigil-spool (spool.c) */
	/* Events not yet fanned out, oldest first; a webhook.test event
	 * (the one type events.c marks targeted) names its one webhook. */
	[SQL_SPOOL_EVENTS] =
	    "SELECT seq, id, tenant_id, type, created_at, "
	    "IF(type IN ('webhook.test', 'channel.digest'), "
	    "JSON_VALUE(payload, '$.data.webhook_id'), NULL), "
	    /* what a channel's filter looks at (channels_filter_match) */
	    "COALESCE(JSON_VALUE(payload, '$.data.finding.severity'), "
	    "JSON_VALUE(payload, '$.data.alert.severity'), "
	    "JSON_VALUE(payload, '$.data.case.severity')), "
	    "JSON_VALUE(payload, '$.data.finding.environment'), "
	    "COALESCE(JSON_VALUE(payload, '$.data.finding.source'), "
	    "JSON_VALUE(payload, '$.data.alert.source')), "
	    "COALESCE(JSON_QUERY(payload, '$.data.finding.tags'), "
	    "JSON_QUERY(payload, '$.data.alert.tags')) "
	    "FROM events WHERE dispatched = 0 ORDER BY dispatched, seq "
	    "LIMIT ? FOR UPDATE SKIP LOCKED",
	/* The webhooks an event of the tenant may go to. */
	[SQL_SPOOL_WEBHOOKS] =
	    "SELECT id, events, created_seq, filter, "
	    "IF(kind = 'email', JSON_VALUE(config, '$.digest'), NULL) "
	    "FROM webhooks "
	    "WHERE tenant_id = ? AND deleted_at IS NULL AND disabled_at IS NULL",
	/* Times that spoolers on several hosts compare (due, leases, the
	 * failing clock) come from the database's clock, never a host's. */
	[SQL_SPOOL_DELIVERY_ADD] =
	    "INSERT INTO deliveries (id, tenant_id, webhook_id, event_id, "
	    "event_seq, status, attempts, next_attempt_at, created_at, "
	    "updated_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, "
	    "UTC_TIMESTAMP(3), UTC_TIMESTAMP(), UTC_TIMESTAMP()) "
	    "ON DUPLICATE KEY UPDATE id = id",
	/* SPOOL_IN ids at a time (unused ones 0), to spare round trips. */
	[SQL_SPOOL_EVENT_DONE] =
	    "UPDATE events SET dispatched = 1 WHERE seq IN "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	/* Due deliveries: delivering ones whose lease expired (a claim sets
	 * next_attempt_at to the lease's end) first, so that a backlog of
	 * pending ones never starves them, then pending ones whose time
	 * came. No ORDER BY: the (status, next_attempt_at) range is read in
	 * index order and the scan stops at the limit. Not those of the
	 * webhooks and tenants at their cap of attempts in flight (two
	 * comma-separated id lists, '' for none): the scan reads past their
	 * due rows (and releases them at once: READ COMMITTED) to reach
	 * other webhooks'. */
	[SQL_SPOOL_DUE_LEASED] =
	    "SELECT id, webhook_id, tenant_id FROM deliveries "
	    "WHERE status = 'delivering' "
	    "AND next_attempt_at <= UTC_TIMESTAMP(3) "
	    "AND FIND_IN_SET(webhook_id, ?) = 0 "
	    "AND FIND_IN_SET(tenant_id, ?) = 0 "
	    "LIMIT ? FOR UPDATE SKIP LOCKED",
	[SQL_SPOOL_DUE] =
	    "SELECT id, webhook_id, tenant_id FROM deliveries "
	    "WHERE status = 'pending' "
	    "AND next_attempt_at <= UTC_TIMESTAMP(3) "
	    "AND FIND_IN_SET(webhook_id, ?) = 0 "
	    "AND FIND_IN_SET(tenant_id, ?) = 0 "
	    "LIMIT ? FOR UPDATE SKIP LOCKED",
	/* SPOOL_IN ids at a time (unused ones ''), to spare round trips. */
	[SQL_SPOOL_CLAIM] =
	    "UPDATE deliveries SET status = 'delivering', "
	    "attempts = attempts + 1, lease_owner = ?, "
	    "lease_until = UTC_TIMESTAMP(3) + INTERVAL ? SECOND, "
	    "next_attempt_at = UTC_TIMESTAMP(3) + INTERVAL ? SECOND, "
	    "updated_at = UTC_TIMESTAMP() WHERE id IN "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	/* What a claim took: CL_C_* in spool.c. */
	[SQL_SPOOL_CLAIMED] =
	    "SELECT d.id, d.webhook_id, d.attempts, d.event_id, e.type, "
	    "e.payload, "
	    "w.url, w.secret, "
	    "(w.id IS NULL OR w.deleted_at IS NOT NULL "
	    "OR w.disabled_at IS NOT NULL), w.failing_since IS NOT NULL, "
	    "d.tenant_id, w.kind, w.config "
	    "FROM deliveries d LEFT JOIN events e ON e.id = d.event_id "
	    "LEFT JOIN webhooks w ON w.id = d.webhook_id "
	    "WHERE d.lease_owner = ? AND d.status = 'delivering'",
	/* An attempt's outcome, only by the claim that made it. */
	/* next_attempt_at: now plus a delay in milliseconds. */
	[SQL_SPOOL_DONE] =
	    "UPDATE deliveries SET status = ?, "
	    "next_attempt_at = UTC_TIMESTAMP(3) + INTERVAL ? * 1000 MICROSECOND, "
	    "lease_owner = NULL, lease_until = NULL, last_status_code = ?, "
	    "last_latency_ms = ?, last_error = ?, updated_at = UTC_TIMESTAMP() "
	    "WHERE id = ? AND lease_owner = ? AND status = 'delivering'",
	[SQL_SPOOL_WEBHOOK_OK] =
	    "UPDATE webhooks SET failing_since = NULL "
	    "WHERE id = ? AND failing_since IS NOT NULL",
	[SQL_SPOOL_WEBHOOK_FAILING] =
	    "UPDATE webhooks SET failing_since = UTC_TIMESTAMP() "
	    "WHERE id = ? AND failing_since IS NULL",
	/* Is it to be disabled: on 410 (the flag), or failing for more than
	 * so many seconds? Read first, without locks, so that the tenant
	 * lock is only taken when it is. */
	[SQL_SPOOL_WEBHOOK_DUE_OFF] =
	    "SELECT 1 FROM webhooks "
	    "WHERE id = ? AND deleted_at IS NULL AND disabled_at IS NULL "
	    "AND (? = 1 OR failing_since <= UTC_TIMESTAMP() - INTERVAL ? SECOND)",
	[SQL_SPOOL_WEBHOOK_DISABLE] =
	    "UPDATE webhooks SET disabled_at = ?, disabled_reason = ? "
	    "WHERE id = ? AND deleted_at IS NULL AND disabled_at IS NULL "
	    "AND (? = 1 OR failing_since <= UTC_TIMESTAMP() - INTERVAL ? SECOND)",
	/* A disabled webhook's pending deliveries fail with it. */
	[SQL_SPOOL_WEBHOOK_DROP] =
	    "UPDATE deliveries SET status = 'failed', last_error = ?, "
	    "updated_at = ? WHERE webhook_id = ? AND status = 'pending'",

	/* retention (vigilctl events prune): finished deliveries, then the
	 * dispatched events no delivery refers to any more, in batches. */
	[SQL_PRUNE_DELIVERIES] =
	    "DELETE FROM deliveries WHERE status IN ('succeeded', 'failed', "
	    "'dead') AND updated_at < UTC_TIMESTAMP() - INTERVAL ? DAY "
	    "LIMIT 5000",
	/* Only below the oldest event not yet fanned out: a fan-out that
	 * commits while the DELETE runs cannot have its new deliveries
	 * missed by NOT EXISTS (which reads without locks). */
	[SQL_PRUNE_HORIZON] =
	    "SELECT COALESCE(MIN(seq), 9223372036854775807) FROM events "
	    "WHERE dispatched = 0",
	[SQL_PRUNE_EVENTS] =
	    "DELETE FROM events WHERE created_at < UTC_TIMESTAMP() - INTERVAL ? "
	    "DAY AND dispatched = 1 AND seq < ? AND NOT EXISTS (SELECT 1 FROM "
	    "deliveries d WHERE d.event_id = events.id) LIMIT 5000",
	/* Finished reports past the retention (reports_prune). A report
	 * holds up to 12 MiB: a few per statement keep each DELETE's undo
	 * small. Queued and running reports stay whatever their age. */
	[SQL_PRUNE_REPORTS] =
	    "DELETE FROM reports WHERE status IN ('completed', 'failed') AND "
	    "finished_at < UTC_TIMESTAMP() - INTERVAL ? DAY LIMIT 20",

	/* alerts (alerts.c). An ingest's first statement: the tenant's row
	 * shared, so that ingests run side by side and exclude the writers
	 * that lock it exclusively first (findings, PATCH, dismiss, …); the
	 * audit chain's head is locked last (SQL_AUDIT_LAST). */
	[SQL_ALERT_TENANT_SHARE] =
	    "SELECT 1 FROM tenants WHERE id = ? LOCK IN SHARE MODE",
	/* One alert: inserted, or the existing (source, external_id) seen
	 * again; affected rows say which (1, 2), LAST_INSERT_ID() its seq
	 * either way. ALERT_UPSERT_ROW's parameters. */
	[SQL_ALERT_INSERT_ONE] =
	    ALERT_UPSERT_HEAD ALERT_UPSERT_ROW ALERT_UPSERT_TAIL
	    ", seq = LAST_INSERT_ID(seq)",
	[SQL_ALERT_BY_SEQ] =
	    "SELECT " ALERT_FIND_COLS " FROM alerts "
	    "WHERE tenant_id = ? AND seq = ?",
	/* (tenant, then 64 (source, external_id) pairs, the last repeated
	 * to fill) */
	[SQL_ALERT_FIND_64] =
	    "SELECT " ALERT_FIND_COLS " FROM alerts WHERE tenant_id = ? AND ("
	    OR64("(source = ? AND external_id = ?)") ")",
	ROWS4(SQL_ALERT_UPSERT, ALERT_UPSERT_HEAD, ALERT_UPSERT_ROW,
	    ALERT_UPSERT_TAIL),
	/* One row per (tenant, type, normalised value): the values no row
	 * had when looked up (SQL_OBS_SEQS_*). IGNORE: one another ingest
	 * inserted meanwhile is theirs (this one waits for its commit and
	 * then finds it), not an error. */
	ROWS4(SQL_OBS_INSERT, "INSERT IGNORE INTO observables (tenant_id, id, "
	    "type, value, value_hash, first_seen_at, last_seen_at) VALUES ",
	    "(?, ?, ?, ?, ?, ?, ?)", ""),
	/* (tenant, then 64, 16 or 4 (type, value_hash) pairs, the last
	 * repeated to fill: the smallest that holds them, since planning
	 * an OR of 64 costs more than running it). FORCE INDEX: left to itself the optimizer read the tenant's
	 * observables by the primary key and filtered them (a cost that
	 * grows with the tenant) rather than look up 64 points; a derived
	 * table of the pairs joined on the key costs a temporary table per
	 * statement. The first parameter is now: the last column says how
	 * long ago last_seen_at is (whether it is due to move,
	 * SQL_OBS_TOUCH_*). */
	PAIRS3(SQL_OBS_SEQS, "SELECT seq, type, value_hash, "
	    "TIMESTAMPDIFF(SECOND, last_seen_at, ?) FROM observables "
	    "FORCE INDEX (observables_value) WHERE tenant_id = ? AND (", ")"),
	/* (alert seq, tenant, pairs as SQL_OBS_SEQS_*) */
	PAIRS3(SQL_ALERT_LINK_ONE, "INSERT INTO alert_observables (tenant_id, "
	    "observable_seq, alert_seq) SELECT tenant_id, seq, ? FROM "
	    "observables FORCE INDEX (observables_value) WHERE tenant_id = ? "
	    "AND (", ")"),
	ROWS4(SQL_ALERT_LINK, "INSERT INTO alert_observables (tenant_id, "
	    "observable_seq, alert_seq) VALUES ", "(?, ?, ?)", ""),
	ROWS4(SQL_ALERT_HISTORY, "INSERT INTO alert_history (tenant_id, "
	    "alert_id, action, at, actor, fields) VALUES ",
	    "(?, ?, ?, ?, ?, ?)", ""),
	/* (tenant, now): whether it has any unexpired suppression */
	[SQL_ALERT_ANY_SUPPRESSION] =
	    "SELECT 1 FROM observable_suppressions WHERE tenant_id = ? "
	    "AND until > ? LIMIT 1",
	/* (tenant, now, 64 pairs as SQL_OBS_SEQS_64): the unexpired
	 * suppressions of those values, with their scopes */
	PAIRS3(SQL_ALERT_SUPPRESSED, "SELECT DISTINCT type, value_hash, "
	    "scope FROM observable_suppressions "
	    "FORCE INDEX (observable_suppressions_value) "
	    "WHERE tenant_id = ? AND until > ? AND (", ")"),
	/* ALERT_COLS: alerts.c ALERT_C_* */
	[SQL_ALERT_GET] =
	    "SELECT " ALERT_COLS " FROM alerts WHERE tenant_id = ? AND id = ?",
	/* After the tenant's row lock (SQL_AUDIT_LOCK_HEAD), as ingest. */
	[SQL_ALERT_GET_LOCK] =
	    "SELECT " ALERT_COLS " FROM alerts WHERE tenant_id = ? AND id = ? "
	    "FOR UPDATE",
	/* (tenant, alert seq): its observables, oldest first */
	[SQL_ALERT_OBSERVABLES] =
	    "SELECT o.id, o.type, o.value FROM alert_observables l "
	    "JOIN observables o ON o.tenant_id = l.tenant_id "
	    "AND o.seq = l.observable_seq "
	    "WHERE l.tenant_id = ? AND l.alert_seq = ? ORDER BY o.seq",
	/* (tenant, before, ALERT_FILTERS' 16, limit): a page newest first,
	 * walking (tenant_id, seq) or the status/source/assignee index. */
	[SQL_ALERT_LIST] =
	    "SELECT " ALERT_LIST_COLS " FROM alerts "
	    "WHERE tenant_id = ? AND seq < ? AND " ALERT_FILTERS " "
	    "ORDER BY seq DESC LIMIT ?",
	/* (tenant, ALERT_FILTERS' 16): the matches, at most 10,000
	 * (ALERTS_COUNT_CAP) */
	[SQL_ALERT_COUNT] =
	    "SELECT COUNT(*) FROM (SELECT 1 FROM alerts WHERE tenant_id = ? "
	    "AND " ALERT_FILTERS " LIMIT 10000) m",
	[SQL_ALERT_PATCH] =
	    "UPDATE alerts SET assignee = ?, severity = ?, tags = ?, "
	    "updated_at = ? WHERE tenant_id = ? AND id = ?",
	[SQL_ALERT_DISMISS] =
	    "UPDATE alerts SET status = 'dismissed', dismiss_reason = ?, "
	    "dismiss_comment = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
	[SQL_ALERT_HISTORY_LIST] =
	    "SELECT action, at, actor, fields FROM alert_history "
	    "WHERE tenant_id = ? AND alert_id = ? ORDER BY seq",

	/* case attachments (attachments.c). Only 'complete' rows are ever
	 * read: an upload's row and chunks are written in one transaction
	 * and are invisible until it commits. */
	[SQL_ATTACHMENT_CASE] =
	    "SELECT id FROM cases WHERE tenant_id = ? AND id = ?",
	[SQL_ATTACHMENT_INSERT] =
	    "INSERT INTO case_attachments (tenant_id, id, case_id, name, "
	    "content_type, state, created_by, created_at) "
	    "VALUES (?, ?, ?, ?, ?, 'uploading', ?, ?)",
	[SQL_ATTACHMENT_CHUNK_INSERT] =
	    "INSERT INTO attachment_chunks (tenant_id, attachment_id, n, data) "
	    "VALUES (?, ?, ?, ?)",
	[SQL_ATTACHMENT_COMPLETE] =
	    "UPDATE case_attachments SET state = 'complete', size = ?, "
	    "sha256 = ? WHERE tenant_id = ? AND id = ? AND state = 'uploading'",
	[SQL_ATTACHMENT_GET] =
	    "SELECT " ATTACHMENT_COLS " FROM case_attachments "
	    "WHERE tenant_id = ? AND case_id = ? AND id = ? "
	    "AND state = 'complete'",
	[SQL_ATTACHMENT_CHUNK] =
	    "SELECT data FROM attachment_chunks "
	    "WHERE tenant_id = ? AND attachment_id = ? AND n = ?",
	/* A page, newest first: keyset on seq. */
	[SQL_ATTACHMENT_LIST] =
	    "SELECT " ATTACHMENT_COLS " FROM case_attachments "
	    "WHERE tenant_id = ? AND case_id = ? AND state = 'complete' "
	    "AND seq < ? ORDER BY seq DESC LIMIT ?",
	[SQL_ATTACHMENT_COUNT] =
	    "SELECT COUNT(*) FROM case_attachments "
	    "WHERE tenant_id = ? AND case_id = ? AND state = 'complete'",
	/* Every one of a case's (GET /cases/{id}'s evidence list), oldest
	 * first, at most so many. */
	[SQL_ATTACHMENT_ALL] =
	    "SELECT " ATTACHMENT_COLS " FROM case_attachments "
	    "WHERE tenant_id = ? AND case_id = ? AND state = 'complete' "
	    "ORDER BY seq LIMIT ?",
	[SQL_ATTACHMENT_DELETE] =
	    "DELETE FROM case_attachments WHERE tenant_id = ? AND case_id = ? "
	    "AND id = ? AND state = 'complete'",
	[SQL_ATTACHMENT_CHUNKS_DELETE] =
	    "DELETE FROM attachment_chunks WHERE tenant_id = ? "
	    "AND attachment_id = ?",
	[SQL_ATTACHMENT_TIMELINE] =
	    "INSERT INTO case_timeline (tenant_id, case_id, kind, at, actor, "
	    "fields) VALUES (?, ?, ?, ?, ?, ?)",

	/* Idempotency-Key (idempotency.c). A claim is the row; the claim a
	 * finish or release acts on is named by its created_at and what it
	 * asked, so a takeover's row is never overwritten by the request
	 * it took over from. */
	[SQL_IDEM_CLAIM] =
	    "INSERT INTO idempotency_keys (tenant_id, idem_key, key_id, "
	    "target_hash, body_hash, state, created_at) "
	    "VALUES (?, ?, ?, ?, ?, 'running', ?)",
	/* IDEM_COLS order: idempotency.c IDEM_COL_* */
	[SQL_IDEM_GET] =
	    "SELECT " IDEM_COLS " FROM idempotency_keys "
	    "WHERE tenant_id = ? AND idem_key = ?",
	[SQL_IDEM_TAKEOVER] =
	    "UPDATE idempotency_keys SET key_id = ?, target_hash = ?, "
	    "body_hash = ?, body_len = NULL, state = 'running', status = NULL, "
	    "headers = NULL, body = NULL, withheld = 0, created_at = ? "
	    "WHERE tenant_id = ? AND idem_key = ? AND created_at = ? "
	    "AND state = ?",
	[SQL_IDEM_FINISH] =
	    "UPDATE idempotency_keys SET state = 'done', status = ?, "
	    "headers = ?, body = ?, withheld = ?, body_hash = ?, "
	    "body_len = ? "
	    "WHERE tenant_id = ? AND idem_key = ? AND state = 'running' "
	    "AND created_at = ? AND key_id = ? AND target_hash = ? "
	    "AND body_hash = ?",
	[SQL_IDEM_RELEASE] =
	    "DELETE FROM idempotency_keys "
	    "WHERE tenant_id = ? AND idem_key = ? AND state = 'running' "
	    "AND created_at = ? AND key_id = ? AND target_hash = ? "
	    "AND body_hash = ?",
	[SQL_IDEM_PRUNE] =
	    "DELETE FROM idempotency_keys WHERE created_at < ? LIMIT 5000",

	/* observables (observables.c). The search walks
	 * case_observables_observable and alert_observables' primary key
	 * backwards from the cursor, one page, and joins each hit by its
	 * unique seq. */
	[SQL_OBSERVABLE_FIND] =
	    "SELECT " OBSERVABLE_COLS " FROM observables o "
	    "LEFT JOIN observable_alert_counts n ON n.tenant_id = o.tenant_id "
	    "AND n.observable_seq = o.seq "
	    "WHERE o.tenant_id = ? AND o.type = ? AND o.value_hash = ?",
	[SQL_OBSERVABLE_CASE_HITS] =
	    "SELECT " CASE_HIT_COLS " FROM case_observables co "
	    "JOIN cases c ON c.seq = co.case_seq AND c.tenant_id = co.tenant_id "
	    "WHERE co.tenant_id = ? AND co.observable_seq = ? "
	    "AND co.case_seq < ? ORDER BY co.case_seq DESC LIMIT ?",
	[SQL_OBSERVABLE_ALERT_HITS] =
	    "SELECT " ALERT_HIT_COLS " FROM alert_observables ao "
	    "JOIN alerts a ON a.seq = ao.alert_seq AND a.tenant_id = ao.tenant_id "
	    "WHERE ao.tenant_id = ? AND ao.observable_seq = ? "
	    "AND ao.alert_seq < ? ORDER BY ao.alert_seq DESC LIMIT ?",
	[SQL_SUPPRESSION_INSERT] =
	    "INSERT INTO observable_suppressions (tenant_id, id, type, value, "
	    "value_hash, scope, until, created_by, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	/* SUPPRESSION_COLS order: observables.c SUP_COL_* */
	[SQL_SUPPRESSION_GET] =
	    "SELECT " SUPPRESSION_COLS " FROM observable_suppressions "
	    "WHERE tenant_id = ? AND id = ?",
	[SQL_SUPPRESSION_GET_LOCK] =
	    "SELECT " SUPPRESSION_COLS " FROM observable_suppressions "
	    "WHERE tenant_id = ? AND id = ? FOR UPDATE",
	[SQL_SUPPRESSION_DELETE] =
	    "DELETE FROM observable_suppressions WHERE tenant_id = ? AND id = ?",
	/* newest first; active: until after now */
	[SQL_SUPPRESSION_LIST_ACTIVE] =
	    "SELECT " SUPPRESSION_COLS " FROM observable_suppressions "
	    "WHERE tenant_id = ? AND seq < ? AND until > ? "
	    "ORDER BY seq DESC LIMIT ?",
	[SQL_SUPPRESSION_LIST_EXPIRED] =
	    "SELECT " SUPPRESSION_COLS " FROM observable_suppressions "
	    "WHERE tenant_id = ? AND seq < ? AND until <= ? "
	    "ORDER BY seq DESC LIMIT ?",
	[SQL_SUPPRESSION_LIST_ALL] =
	    "SELECT " SUPPRESSION_COLS " FROM observable_suppressions "
	    "WHERE tenant_id = ? AND seq < ? AND ? IS NOT NULL "
	    "ORDER BY seq DESC LIMIT ?",
	/* active, expired */
	[SQL_SUPPRESSION_COUNT] =
	    "SELECT COALESCE(SUM(until > ?), 0), COALESCE(SUM(until <= ?), 0) "
	    "FROM observable_suppressions WHERE tenant_id = ?",
	/* imports (imports.c): IMPORT_COLS order is imports.c's IMP_C_* */
	[SQL_IMPORT_INSERT] =
	    "INSERT INTO imports (id, tenant_id, source, format, mode, status, "
	    "actor, created_at, all_or_nothing) "
	    "VALUES (?, ?, ?, ?, ?, 'receiving', ?, ?, ?)",
	[SQL_IMPORT_CHUNK_INSERT] =
	    "INSERT INTO import_chunks (import_id, n, data) VALUES (?, ?, ?)",
	[SQL_IMPORT_RECEIVED] =
	    "UPDATE imports SET status = 'queued', bytes = ?, chunks = ? "
	    "WHERE id = ? AND status = 'receiving'",
	/* vigilctl's local report (imports_run_file): no chunks, and running
	 * under its lease at once: id, tenant, source, format, mode, actor,
	 * created at, all or nothing, bytes, started at, owner, lease until */
	[SQL_IMPORT_INSERT_LOCAL] =
	    "INSERT INTO imports (id, tenant_id, source, format, mode, status, "
	    "actor, created_at, all_or_nothing, bytes, chunks, started_at, "
	    "lease_owner, lease_until, attempts) "
	    "VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, 0, ?, ?, ?, 1)",
	[SQL_IMPORT_CHUNK] =
	    "SELECT data FROM import_chunks WHERE import_id = ? AND n = ?",
	/* One worker wins a queued import, or one whose worker's lease has
	 * passed (while fewer than IMPORT_ATTEMPTS workers had it): started
	 * at, owner, lease until, id, now, attempts allowed. */
	[SQL_IMPORT_CLAIM] =
	    "UPDATE imports SET status = 'running', started_at = ?, "
	    "lease_owner = ?, lease_until = ?, attempts = attempts + 1 "
	    "WHERE id = ? AND (status = 'queued' OR (status = 'running' AND "
	    "(lease_until IS NULL OR lease_until < ?))) AND attempts < ?",
	/* Only the worker holding the lease ends the import. */
	[SQL_IMPORT_FINISH] =
	    "UPDATE imports SET status = ?, finished_at = ?, items = ?, "
	    "imported = ?, passed = ?, failed = ?, resolved = ?, errors = ?, "
	    "error = ?, note = ?, lease_until = NULL WHERE id = ? AND "
	    "lease_owner = ? AND status = 'running'",
	/* While a report is written: what is done so far. */
	[SQL_IMPORT_PROGRESS] =
	    "UPDATE imports SET items = ?, imported = ?, passed = ?, "
	    "failed = ? WHERE id = ? AND lease_owner = ?",
	[SQL_IMPORT_CHUNKS_DELETE] =
	    "DELETE FROM import_chunks WHERE import_id = ?",
	[SQL_IMPORT_GET] =
	    "SELECT " IMPORT_COLS " FROM imports WHERE tenant_id = ? AND id = ?",
	/* A page, newest first: keyset on seq. */
	[SQL_IMPORT_LIST] =
	    "SELECT " IMPORT_COLS " FROM imports WHERE tenant_id = ? "
	    "AND seq < ? ORDER BY seq DESC LIMIT ?",
	[SQL_IMPORT_COUNT] =
	    "SELECT COUNT(*) FROM imports WHERE tenant_id = ?",
	/* Queued, or running under a lease that has passed (its worker is
	 * gone): both along imports_status. */
	[SQL_IMPORT_DUE] =
	    "SELECT id, tenant_id FROM imports WHERE status = 'queued' OR "
	    "(status = 'running' AND (lease_until IS NULL OR lease_until < ?)) "
	    "ORDER BY seq LIMIT 100",
	/* What import_run needs of a claimed import (tenant_id, source,
	 * format, mode, actor, bytes, attempts, all_or_nothing, chunks). */
	[SQL_IMPORT_DUE_ONE] =
	    "SELECT tenant_id, source, format, mode, actor, bytes, attempts, "
	    "all_or_nothing, chunks FROM imports WHERE id = ?",
	/* What a complete report of a source no longer lists, a batch at a
	 * time after the last seq of the one before (tenant_id, source, seq,
	 * import_id): one walk of finding_sources_by_source (0044), whose
	 * entries end with seq, in order (no FORCE INDEX: before 0044 the
	 * old key serves, as a server upgraded before its schema runs it). */
	[SQL_SOURCE_ABSENT] =
	    "SELECT seq, finding_id FROM finding_sources WHERE tenant_id = ? "
	    "AND source = ? AND seq > ? AND import_id <> ? ORDER BY seq "
	    "LIMIT 256",
	[SQL_SOURCE_DELETE_MANY] =
	    "DELETE FROM finding_sources WHERE tenant_id = ? AND source = ? "
	    "AND finding_id IN (" X256("?") ")",
	[SQL_SOURCE_REMAINING_MANY] =
	    "SELECT DISTINCT finding_id FROM finding_sources "
	    "WHERE tenant_id = ? AND finding_id IN (" X256("?") ")",
	/* The sources that list some findings, for mute rules that name a
	 * source (mutes.c mutes_sources_load): (tenant_id, DB_MANY ids),
	 * read from finding_sources_finding alone, which holds all three
	 * columns. Under the tenant's lock in a batch, which every writer of
	 * source rows takes first. */
	[SQL_SOURCE_OF_MANY] =
	    "SELECT finding_id, source FROM finding_sources "
	    "FORCE INDEX (finding_sources_finding) "
	    "WHERE tenant_id = ? AND finding_id IN (" X256("?") ")",
	[SQL_SOURCE_LIST] =
	    "SELECT source, format, external_id, first_seen_at, last_seen_at "
	    "FROM finding_sources WHERE tenant_id = ? AND finding_id = ? "
	    "ORDER BY source",
	ROWS4(SQL_SOURCE_UPSERT, "INSERT INTO finding_sources (tenant_id, "
	    "finding_id, source, format, external_id, first_seen_at, "
	    "last_seen_at, import_id) VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?)",
	    " ON DUPLICATE KEY UPDATE format = VALUES(format), "
	    "external_id = VALUES(external_id), "
	    "last_seen_at = VALUES(last_seen_at), "
	    "import_id = VALUES(import_id)"),

	/* MUTE_COLS order: mutes.c MC_* */
	[SQL_MUTE_INSERT] =
	    "INSERT INTO mute_rules (tenant_id, id, rule_pattern, source, "
	    "resource_pattern, resource_group, subscription_id, environment, "
	    "tag_key, tag_value, justification, expires_at, created_at, "
	    "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[SQL_MUTE_GET] =
	    "SELECT " MUTE_COLS " FROM mute_rules "
	    "WHERE tenant_id = ? AND id = ?",
	[SQL_MUTE_LIST] =
	    "SELECT " MUTE_COLS " FROM mute_rules "
	    "WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?",
	[SQL_MUTE_COUNT] =
	    "SELECT COUNT(*) FROM mute_rules WHERE tenant_id = ?",
	/* Under the tenant's row lock: the cap on live rules. */
	[SQL_MUTE_COUNT_LIVE] =
	    "SELECT COUNT(*) FROM mute_rules WHERE tenant_id = ? "
	    "AND (expires_at IS NULL OR expires_at > ?)",
	[SQL_MUTE_LIVE] =
	    "SELECT " MUTE_COLS " FROM mute_rules WHERE tenant_id = ? "
	    "AND (expires_at IS NULL OR expires_at > ?) ORDER BY seq",
	[SQL_MUTE_DELETE] =
	    "DELETE FROM mute_rules WHERE tenant_id = ? AND id = ?",
	[SQL_MUTE_DUE] =
	    "SELECT tenant_id, id FROM mute_rules "
	    "WHERE lapsed = 0 AND expires_at <= ? ORDER BY expires_at "
	    "LIMIT 100",
	/* Only a rule not yet lapsed: of two runs of vigilctl findings
	 * expire that both finished its pass, one writes the audit entry
	 * (mutes.c lapse_tx, by the rows changed); a rule deleted meanwhile
	 * has no row left. */
	[SQL_MUTE_LAPSE] =
	    "UPDATE mute_rules SET lapsed = 1 WHERE tenant_id = ? AND id = ? "
	    "AND lapsed = 0",
	/* A page of the pass over open and muted findings, newest first,
	 * along the index that holds seq and state (no sort); the columns a
	 * rule matches on (mutes.c PASS_C_*). */
	[SQL_MUTE_PASS_PAGE] =
	    "SELECT seq, id, state, rule_id, provider, resource_id, "
	    "subscription_id, environment, source, resource_group, tags "
	    "FROM findings "
	    "FORCE INDEX (findings_tenant_seq) WHERE tenant_id = ? "
	    "AND state IN ('open', 'muted') AND seq < ? "
	    "ORDER BY seq DESC LIMIT ?",

	/* tenantrules.c: SETTINGS_C_* and CUSTOM_C_* */
	[SQL_RULESET_SETTINGS] =
	    "SELECT rule_id, enabled, severity FROM rule_settings "
	    "WHERE tenant_id = ? ORDER BY rule_id",
	[SQL_RULESET_SET] =
	    "INSERT INTO rule_settings (tenant_id, rule_id, enabled, severity, "
	    "updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?) "
	    "ON DUPLICATE KEY UPDATE enabled = VALUES(enabled), "
	    "severity = VALUES(severity), updated_at = VALUES(updated_at), "
	    "updated_by = VALUES(updated_by)",
	[SQL_RULESET_CUSTOM] =
	    "SELECT id, body FROM custom_rules WHERE tenant_id = ? ORDER BY seq",
	[SQL_RULESET_CUSTOM_INSERT] =
	    "INSERT INTO custom_rules (tenant_id, id, body, created_at, "
	    "created_by) VALUES (?, ?, ?, ?, ?)",
	[SQL_RULESET_CUSTOM_COUNT] =
	    "SELECT COUNT(*) FROM custom_rules WHERE tenant_id = ?",
	[SQL_RULESET_CUSTOM_DELETE] =
	    "DELETE FROM custom_rules WHERE tenant_id = ? AND id = ?",
	[SQL_RULESET_SETTING_DELETE] =
	    "DELETE FROM rule_settings WHERE tenant_id = ? AND rule_id = ?",
	/* The tenant's findings of a rule a setting just took away. */
	[SQL_RULESET_FINDINGS] =
	    "SELECT id FROM findings WHERE tenant_id = ? AND rule_id = ? "
	    "AND state IN ('open', 'accepted', 'snoozed', 'muted') ORDER BY id",

	/* cases (cases.c); CASE_COLS order: cases.c CASE_COL_* */
	[SQL_CASE_INSERT] =
	    "INSERT INTO cases (tenant_id, id, title, description, severity, "
	    "status, assignee, tags, techniques, created_by, created_at, "
	    "updated_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)",
	[SQL_CASE_GET] =
	    "SELECT " CASE_COLS " FROM cases WHERE tenant_id = ? AND id = ?",
	[SQL_CASE_LOCK] =
	    "SELECT " CASE_COLS " FROM cases WHERE tenant_id = ? AND id = ? "
	    "FOR UPDATE",
	/* Newest first, keyset on seq; each NULL-able filter repeats its
	 * parameter. severity is a comma list (FIND_IN_SET), tag one tag. */
	[SQL_CASE_LIST] =
	    "SELECT " CASE_COLS " FROM cases WHERE tenant_id = ? AND seq < ? "
	    CASE_FILTERS "ORDER BY seq DESC LIMIT ?",
	[SQL_CASE_COUNT] =
	    "SELECT COUNT(*) FROM cases WHERE tenant_id = ? " CASE_FILTERS,
	[SQL_CASE_UPDATE] =
	    "UPDATE cases SET title = ?, description = ?, severity = ?, "
	    "assignee = ?, tags = ?, techniques = ?, updated_at = ? "
	    "WHERE tenant_id = ? AND id = ?",
	[SQL_CASE_RESOLVE] =
	    "UPDATE cases SET status = 'resolved', verdict = ?, root_cause = ?, "
	    "narrative = ?, resolved_at = ?, updated_at = ? "
	    "WHERE tenant_id = ? AND id = ?",
	/* The verdict of the resolution reopened stays on the timeline. */
	[SQL_CASE_REOPEN] =
	    "UPDATE cases SET status = 'open', verdict = NULL, "
	    "root_cause = NULL, narrative = NULL, resolved_at = NULL, "
	    "updated_at = ? WHERE tenant_id = ? AND id = ?",
	[SQL_CASE_TOUCH] =
	    "UPDATE cases SET updated_at = ? WHERE tenant_id = ? AND id = ?",
	[SQL_CASE_TIMELINE_INSERT] =
	    "INSERT INTO case_timeline (tenant_id, case_id, kind, at, actor, "
	    "fields) VALUES (?, ?, ?, ?, ?, ?)",
	/* Oldest first, after the cursor's seq. */
	[SQL_CASE_TIMELINE_LIST] =
	    "SELECT seq, kind, at, actor, fields FROM case_timeline "
	    "WHERE tenant_id = ? AND case_id = ? AND seq > ? "
	    "ORDER BY seq LIMIT ?",
	[SQL_CASE_TIMELINE_COUNT] =
	    "SELECT COUNT(*) FROM case_timeline "
	    "WHERE tenant_id = ? AND case_id = ?",
	[SQL_CASE_ALERTS] =
	    "SELECT a.id, a.title, a.severity, a.status, a.source, "
	    "a.detected_at, ca.linked_at FROM case_alerts ca "
	    "JOIN alerts a ON a.tenant_id = ca.tenant_id AND a.id = ca.alert_id "
	    "WHERE ca.tenant_id = ? AND ca.case_id = ? "
	    "ORDER BY ca.linked_at, a.seq LIMIT ?",
	[SQL_CASE_FINDINGS] =
	    "SELECT f.id, f.title, f.severity, f.state, cf.linked_at "
	    "FROM case_findings cf JOIN findings f "
	    "ON f.tenant_id = cf.tenant_id AND f.id = cf.finding_id "
	    "WHERE cf.tenant_id = ? AND cf.case_id = ? "
	    "ORDER BY cf.linked_at, f.seq LIMIT ?",
	[SQL_CASE_OBSERVABLES] =
	    "SELECT o.type, o.value, co.first_seen_at, co.last_seen_at "
	    "FROM case_observables co JOIN observables o "
	    "ON o.tenant_id = co.tenant_id AND o.seq = co.observable_seq "
	    "WHERE co.tenant_id = ? AND co.case_seq = ? "
	    "ORDER BY co.observable_seq LIMIT ?",
	[SQL_CASE_OBSERVABLE_COUNT] =
	    "SELECT COUNT(*) FROM case_observables "
	    "WHERE tenant_id = ? AND case_seq = ?",
	[SQL_CASE_ALERT_LOCK] =
	    "SELECT seq, id, title, severity, status, case_id, detected_at, "
	    "last_seen_at FROM alerts WHERE tenant_id = ? AND id = ? FOR UPDATE",
	/* The observables of an alert, for a case it creates. */
	[SQL_CASE_ALERT_OBSERVABLES] =
	    "SELECT o.type, o.value FROM alert_observables ao "
	    "JOIN observables o ON o.tenant_id = ao.tenant_id "
	    "AND o.seq = ao.observable_seq "
	    "WHERE ao.tenant_id = ? AND ao.alert_seq = ? "
	    "ORDER BY ao.observable_seq LIMIT 1000",
	[SQL_CASE_ALERT_ESCALATE] =
	    "UPDATE alerts SET status = 'escalated', case_id = ?, "
	    "updated_at = ? WHERE tenant_id = ? AND id = ?",
	[SQL_CASE_ALERT_HISTORY] =
	    "INSERT INTO alert_history (tenant_id, alert_id, action, at, actor, "
	    "fields) VALUES (?, ?, 'escalated', ?, ?, ?)",
	[SQL_CASE_ALERT_LINK] =
	    "INSERT IGNORE INTO case_alerts (tenant_id, case_id, alert_id, "
	    "linked_at) VALUES (?, ?, ?, ?)",
	/* The alert's observables into the case's, once each: first and last
	 * seen widen to the alert's detection and last sighting. */
	[SQL_CASE_OBSERVABLES_MERGE] =
	    "INSERT INTO case_observables (tenant_id, case_seq, observable_seq, "
	    "first_seen_at, last_seen_at) SELECT ao.tenant_id, ?, "
	    "ao.observable_seq, ?, ? FROM alert_observables ao "
	    "WHERE ao.tenant_id = ? AND ao.alert_seq = ? "
	    "ON DUPLICATE KEY UPDATE "
	    "first_seen_at = LEAST(first_seen_at, VALUES(first_seen_at)), "
	    "last_seen_at = GREATEST(last_seen_at, VALUES(last_seen_at))",
	[SQL_CASE_FINDING_GET] =
	    "SELECT id, title, severity, state FROM findings "
	    "WHERE tenant_id = ? AND id = ?",
	[SQL_CASE_FINDING_LINK] =
	    "INSERT IGNORE INTO case_findings (tenant_id, case_id, finding_id, "
	    "linked_at) VALUES (?, ?, ?, ?)",

	/* importgaps (imports.c, mutes.c, findings' tag count) */
	/* The worker holding an import renews its lease: lease until, id,
	 * owner. 0 rows: another worker took it over. */
	[SQL_IMPORT_LEASE] =
	    "UPDATE imports SET lease_until = ? WHERE id = ? AND "
	    "lease_owner = ? AND status = 'running'",
	/* Another import of an import's source running under a live lease
	 * (along imports_status): tenant, source, id, now. */
	[SQL_IMPORT_RUNNING_OTHER] =
	    "SELECT id FROM imports WHERE status = 'running' AND "
	    "tenant_id = ? AND source = ? AND id <> ? AND lease_until >= ? "
	    "ORDER BY seq LIMIT 1",
	/* Ran beside another import of its source (0060): other, id. The
	 * first one met stays. */
	[SQL_IMPORT_OVERLAP_SET] =
	    "UPDATE imports SET overlap_id = ? WHERE id = ? AND "
	    "overlap_id IS NULL",
	[SQL_IMPORT_OVERLAP_CLEAR] =
	    "UPDATE imports SET overlap_id = NULL WHERE id = ?",
	[SQL_IMPORT_OVERLAP_GET] =
	    "SELECT overlap_id FROM imports WHERE id = ? AND "
	    "overlap_id IS NOT NULL",
	/* An import IMPORT_ATTEMPTS workers claimed and none finished:
	 * finished at, error, id, now, attempts. */
	[SQL_IMPORT_ABANDON] =
	    "UPDATE imports SET status = 'failed', finished_at = ?, error = ?, "
	    "lease_until = NULL WHERE id = ? AND status = 'running' AND "
	    "(lease_until IS NULL OR lease_until < ?) AND attempts >= ?",
	/* A mute rule's pass (mutes.c), in the rule's transaction, leased to
	 * the request: tenant, rule, kind, before, owner, lease until, at. */
	[SQL_MUTE_PASS_INSERT] =
	    "INSERT INTO mute_passes (tenant_id, rule_id, kind, status, "
	    "before_seq, lease_owner, lease_until, created_at) "
	    "VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)",
	/* Where the pass is: before, muted, unmuted, lease until (NULL lets
	 * vigil-scan --due take it), status, finished at; the pass. */
	[SQL_MUTE_PASS_SAVE] =
	    "UPDATE mute_passes SET before_seq = ?, muted = ?, unmuted = ?, "
	    "lease_until = ?, status = ?, finished_at = ? "
	    "WHERE tenant_id = ? AND rule_id = ? AND kind = ?",
	/* MPASS_C_* in mutes.c */
	[SQL_MUTE_PASS_DUE] =
	    "SELECT tenant_id, rule_id, kind, before_seq, muted, unmuted "
	    "FROM mute_passes WHERE status = 'pending' AND "
	    "(lease_until IS NULL OR lease_until < ?) ORDER BY seq LIMIT 100",
	[SQL_MUTE_PASS_CLAIM] =
	    "UPDATE mute_passes SET lease_owner = ?, lease_until = ? "
	    "WHERE tenant_id = ? AND rule_id = ? AND kind = ? AND "
	    "status = 'pending' AND (lease_until IS NULL OR lease_until < ?)",
	[SQL_MUTE_PASS_OF] =
	    "SELECT status, muted, unmuted FROM mute_passes "
	    "WHERE tenant_id = ? AND rule_id = ? AND kind = ?",
	/* compliance: a rule's findings by state, from the trigger-kept
	 * counts (0035_finding_rule_counts.sql), one key lookup */
	[SQL_COMPLIANCE_RULE_COUNTS] =
	    "SELECT state, n FROM finding_rule_counts "
	    "WHERE tenant_id = ? AND rule_id = ? AND n > 0",
	/* the first open findings of a rule, read in the order of the
	 * (tenant_id, rule_id, state) index, whose rows end with the
	 * primary key's id: the page alone, no sort */
	[SQL_COMPLIANCE_RULE_FINDINGS] =
	    "SELECT " COMPLIANCE_FINDING_COLS " FROM findings "
	    "FORCE INDEX (findings_rule) "
	    "WHERE tenant_id = ? AND rule_id = ? AND state = 'open' "
	    "ORDER BY id LIMIT ?",

	/* SLAs (0034). SLA_POLICY_COLS: sla.c's SLA_C_* order. */
#define SLA_POLICY_COLS \
	"p.critical_days, p.high_days, p.medium_days, p.low_days, " \
	"p.info_days, p.warning_days, p.response, p.updated_at"
	[SQL_SLA_GET] =
	    "SELECT " SLA_POLICY_COLS " FROM sla_policies p "
	    "WHERE p.tenant_id = ?",
	[SQL_SLA_UPSERT] =
	    "INSERT INTO sla_policies (tenant_id, critical_days, high_days, "
	    "medium_days, low_days, info_days, warning_days, response, "
	    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
	    "ON DUPLICATE KEY UPDATE critical_days = VALUES(critical_days), "
	    "high_days = VALUES(high_days), "
	    "medium_days = VALUES(medium_days), "
	    "low_days = VALUES(low_days), info_days = VALUES(info_days), "
	    "warning_days = VALUES(warning_days), "
	    "response = VALUES(response), updated_at = VALUES(updated_at)",
	/* An alert's or a case's targets with the policy, one round trip:
	 * sla.c OBJ_C_* then SLA_POLICY_COLS. */
	[SQL_SLA_ALERT] =
	    "SELECT a.severity, a.ingested_at, a.acknowledged_at, "
	    "a.resolved_at, " SLA_POLICY_COLS " FROM alerts a "
	    "LEFT JOIN sla_policies p ON p.tenant_id = a.tenant_id "
	    "WHERE a.tenant_id = ? AND a.id = ?",
	[SQL_SLA_CASE] =
	    "SELECT c.severity, c.created_at, c.acknowledged_at, "
	    "c.resolved_at, " SLA_POLICY_COLS " FROM cases c "
	    "LEFT JOIN sla_policies p ON p.tenant_id = c.tenant_id "
	    "WHERE c.tenant_id = ? AND c.id = ?",
	/* The job's walk: what is due to be looked at, oldest first, along
	 * findings_sla_next (only pending rows have a value). */
	[SQL_SLA_PENDING] =
	    "SELECT tenant_id, id FROM findings "
	    "WHERE sla_next_at IS NOT NULL AND sla_next_at <= ? "
	    "ORDER BY sla_next_at LIMIT ?",
	[SQL_SLA_FINDING_LOCK] =
	    "SELECT state, severity, due_at, sla_warned, sla_breached, "
	    "sla_next_at FROM findings WHERE tenant_id = ? AND id = ? "
	    "FOR UPDATE",
	/* Neither state nor severity changes: 0034's trigger leaves the due
	 * date alone. */
	[SQL_SLA_FINDING_MARK] =
	    "UPDATE findings SET sla_warned = ?, sla_breached = ?, "
	    "sla_next_at = ? WHERE tenant_id = ? AND id = ?",
	[SQL_SLA_EVENT_INSERT] =
	    "INSERT INTO sla_events (tenant_id, event_id, type, finding_id, "
	    "severity, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	[SQL_SLA_EVENT_COUNT] =
	    "SELECT COALESCE(SUM(n), 0) FROM list_counts "
	    "WHERE tenant_id = ? AND list = 'sla_events'",
	[SQL_SLA_EVENT_LIST] =
	    "SELECT seq, event_id, type, finding_id, severity, due_at, "
	    "created_at FROM sla_events WHERE tenant_id = ? AND seq < ? "
	    "ORDER BY seq DESC LIMIT ?",
	/* GET /findings by due date (findings.c DP_*): open findings (only
	 * they have one) along findings_due, soonest first, a page after the
	 * cursor (due_at, seq). State and severity are in the index, so the
	 * walk and its count read no row; category, subscription_id and
	 * environment are not, and even folded away a column the index
	 * lacks makes MariaDB read every row it walks, so they are named
	 * only in the _ROWS statements, used when one of them is set. */
#define FINDING_DUE_WHERE \
	"FROM findings FORCE INDEX (findings_due) WHERE tenant_id = ? " \
	"AND due_at IS NOT NULL AND state = 'open' " \
	"AND (? IS NULL OR due_at >= ?) AND (? IS NULL OR due_at < ?) " \
	"AND severity IN (?, ?, ?, ?, ?) "
#define FINDING_DUE_ROWS \
	"AND (? IS NULL OR category = ?) " \
	"AND (? IS NULL OR subscription_id = ?) " \
	"AND (? IS NULL OR environment = ?) "
#define FINDING_DUE_PAGE \
	"AND (due_at > ? OR (due_at = ? AND seq > ?)) " \
	"ORDER BY due_at, seq LIMIT ?) page USING (seq) ORDER BY due_at, seq"
	[SQL_FINDING_LIST_DUE] =
	    "SELECT " FINDING_LIST_COLS " FROM findings JOIN (SELECT seq "
	    FINDING_DUE_WHERE FINDING_DUE_PAGE,
	[SQL_FINDING_LIST_DUE_ROWS] =
	    "SELECT " FINDING_LIST_COLS " FROM findings JOIN (SELECT seq "
	    FINDING_DUE_WHERE FINDING_DUE_ROWS FINDING_DUE_PAGE,
	/* Time decides what is overdue, not a write: no trigger can keep
	 * this count, so it is counted among at most LIST_SINCE_CAP
	 * matches, as with since. */
	[SQL_FINDING_COUNT_DUE] =
	    "SELECT COUNT(*), COUNT(*) FROM (SELECT 1 " FINDING_DUE_WHERE
	    "LIMIT " LIST_SINCE_CAP_S ") s",
	/* The kept part of that count (0034's finding_due_counts): open
	 * findings due on whole days strictly between the bounds' days
	 * (findings.c due_total). */
	[SQL_FINDING_DUE_DAYS] =
	    "SELECT COALESCE(SUM(n), 0) FROM finding_due_counts "
	    "WHERE tenant_id = ? AND severity IN (?, ?, ?, ?, ?) "
	    "AND (? IS NULL OR due_day > ?) AND (? IS NULL OR due_day < ?)",
	[SQL_FINDING_COUNT_DUE_ROWS] =
	    "SELECT COUNT(*), COUNT(*) FROM (SELECT 1 " FINDING_DUE_WHERE
	    FINDING_DUE_ROWS "LIMIT " LIST_SINCE_CAP_S ") s",

	/* alert ingest (alerts.c), continued. (now, tenant, 64, 16, 4 or 1
	 * observable seqs): last_seen_at moved for the known observables
	 * whose last_seen_at is older than ALERTS_OBS_SEEN_STEP, the rest
	 * left alone and unlocked. */
	ROWS4(SQL_OBS_TOUCH, "UPDATE observables SET last_seen_at = "
	    "GREATEST(last_seen_at, ?) WHERE tenant_id = ? AND seq IN (",
	    "?", ")"),
	/* A batch's alerts, upserted (SQL_ALERT_UPSERT_*), that inserted
	 * every row: its rows took consecutive seqs from its insert id,
	 * checked on the last row. */
	[SQL_ALERT_SEQ_OF] =
	    "SELECT seq FROM alerts WHERE tenant_id = ? AND id = ?",
	/* Each observable's count of alerts (0031: ingest keeps it, not a
	 * trigger per link): (tenant, observable seq, links added) rows, or
	 * (tenant, alert seq) for one new alert's links. */
	ROWS4(SQL_OBS_COUNT_ADD, "INSERT INTO observable_alert_counts "
	    "(tenant_id, observable_seq, n) VALUES ", "(?, ?, ?)",
	    " ON DUPLICATE KEY UPDATE n = n + VALUES(n)"),
	[SQL_OBS_COUNT_ALERT] =
	    "INSERT INTO observable_alert_counts (tenant_id, observable_seq, n) "
	    "SELECT tenant_id, observable_seq, 1 FROM alert_observables "
	    "WHERE tenant_id = ? AND alert_seq = ? "
	    "ON DUPLICATE KEY UPDATE n = n + 1",
	/* reports (reports.c): what the API shows of one, REPORT_COLS. */
	[SQL_REPORT_INSERT] =
	    "INSERT INTO reports (id, tenant_id, type, format, params, status, "
	    "actor, created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
	[SQL_REPORT_GET] =
	    "SELECT " REPORT_COLS " FROM reports WHERE tenant_id = ? AND id = ?",
	[SQL_REPORT_LIST] =
	    "SELECT " REPORT_COLS " FROM reports WHERE tenant_id = ? "
	    "AND seq < ? ORDER BY seq DESC LIMIT ?",
	[SQL_REPORT_COUNT] =
	    "SELECT COUNT(*) FROM reports WHERE tenant_id = ?",
	/* Queued reports, and those whose worker's lease ran out (it died
	 * or hung): the parameter is now. */
	[SQL_REPORT_DUE] =
	    "SELECT id FROM reports WHERE status = 'queued' "
	    "UNION ALL SELECT id FROM reports WHERE status = 'running' AND "
	    "lease_until < ? LIMIT 50",
	/* Take one (the lease's end, now, the id, now): only one worker
	 * gets affected = 1. */
	[SQL_REPORT_CLAIM] =
	    "UPDATE reports SET status = 'running', attempts = attempts + 1, "
	    "lease_until = ?, started_at = ? WHERE id = ? AND "
	    "(status = 'queued' OR (status = 'running' AND lease_until < ?))",
	[SQL_REPORT_CLAIMED] =
	    "SELECT tenant_id, type, format, params, attempts FROM reports "
	    "WHERE id = ?",
	/* The end of the attempt that claimed it (status, content, size,
	 * error, now, id, attempts): a worker whose lease was taken over
	 * writes nothing. */
	[SQL_REPORT_FINISH] =
	    "UPDATE reports SET status = ?, content = ?, size = ?, error = ?, "
	    "finished_at = ?, lease_until = NULL WHERE id = ? AND "
	    "status = 'running' AND attempts = ?",
	[SQL_REPORT_CONTENT] =
	    "SELECT type, format, content FROM reports WHERE tenant_id = ? "
	    "AND id = ? AND status = 'completed'",
	[SQL_REPORT_TENANT_NAME] =
	    "SELECT name FROM tenants WHERE id = ?",
	/* The day's open findings per tenant and severity, from the counts
	 * the triggers keep (0005), not from the findings: one row per
	 * (tenant, severity) whatever the number of findings. */
	[SQL_DAILY_SNAPSHOT] =
	    "INSERT INTO finding_daily (tenant_id, day, severity, open) "
	    "SELECT tenant_id, ?, severity, SUM(n) FROM finding_counts "
	    "WHERE state = 'open' GROUP BY tenant_id, severity "
	    "ON DUPLICATE KEY UPDATE open = VALUES(open)",
	[SQL_DAILY_RANGE] =
	    "SELECT day, severity, open, resolved, resolve_seconds, "
	    "resolved_sla, resolved_in_sla FROM finding_daily WHERE tenant_id = ? AND day BETWEEN ? AND ? "
	    "ORDER BY day, severity",
	/* Open findings past their SLA due date (0034), read from the
	 * findings_due index alone (tenant, due_at, seq, state, severity):
	 * as many entries as are overdue. The parameters: tenant, now. */
	[SQL_DAILY_OVERDUE_NOW] =
	    "SELECT severity, COUNT(*) FROM findings FORCE INDEX (findings_due) "
	    "WHERE tenant_id = ? AND due_at < ? AND state = 'open' "
	    "GROUP BY severity",
	[SQL_DAILY_OPEN_NOW] =
	    "SELECT severity, SUM(n) FROM finding_counts WHERE tenant_id = ? "
	    "AND state = 'open' GROUP BY severity",
	/* The resources with the heaviest open findings (the weights are
	 * posture_weight's, critical to low): a walk of the tenant's open
	 * findings by findings_state_seq, for a report built off the
	 * request path. */
	[SQL_DAILY_TOP_RESOURCES] =
	    "SELECT resource_id, MAX(resource_name), COUNT(*), "
	    "SUM(severity = 'critical'), SUM(severity = 'high'), "
	    "SUM(CASE severity WHEN 'critical' THEN ? WHEN 'high' THEN ? "
	    "WHEN 'medium' THEN ? WHEN 'low' THEN ? ELSE 0 END) AS score "
	    "FROM findings WHERE tenant_id = ? AND state = 'open' "
	    "GROUP BY resource_id ORDER BY score DESC, resource_id LIMIT 10",
	/* notification channels (channels.c): rows of webhooks of any kind;
	 * CHANNEL_COLS in channels.c's CH_C_* order. */
	[SQL_CHANNEL_INSERT] =
	    "INSERT INTO webhooks (id, tenant_id, kind, name, url, events, "
	    "secret, config, filter, created_at, created_seq) "
	    "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(MAX(seq), 0) "
	    "FROM events WHERE tenant_id = ?",
	[SQL_CHANNEL_GET] =
	    "SELECT " CHANNEL_COLS " FROM webhooks "
	    "WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL",
	[SQL_CHANNEL_LIST] =
	    "SELECT " CHANNEL_COLS " FROM webhooks "
	    "WHERE tenant_id = ? AND deleted_at IS NULL AND id > ? "
	    "ORDER BY id LIMIT ?",
	[SQL_CHANNEL_COUNT] =
	    "SELECT COALESCE(SUM(n), 0) FROM list_counts "
	    "WHERE tenant_id = ? AND list = 'channels'",
	/* e-mail digests (spool.c): an event noted for its period, the
	 * periods that ended, a period's events (their envelopes' summary)
	 * and their removal once the digest event is written. */
	[SQL_SPOOL_DIGEST_ADD] =
	    "INSERT IGNORE INTO channel_digests (channel_id, tenant_id, "
	    "period_end, event_id, event_seq) VALUES (?, ?, "
	    "IF(? = 'daily', UTC_DATE() + INTERVAL 1 DAY, "
	    "DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:00:00') + "
	    "INTERVAL 1 HOUR), ?, ?)",
	[SQL_SPOOL_DIGEST_DUE] =
	    "SELECT DISTINCT channel_id, tenant_id, period_end, "
	    "EXISTS (SELECT 1 FROM webhooks w WHERE w.id = channel_id "
	    "AND w.deleted_at IS NULL AND w.disabled_at IS NULL) "
	    "FROM channel_digests WHERE period_end <= UTC_TIMESTAMP() "
	    "ORDER BY period_end, channel_id LIMIT ?",
	[SQL_SPOOL_DIGEST_ITEMS] =
	    "SELECT g.event_id, e.type, e.created_at, "
	    "COALESCE(JSON_VALUE(e.payload, '$.data.finding.title'), "
	    "JSON_VALUE(e.payload, '$.data.alert.title'), "
	    "JSON_VALUE(e.payload, '$.data.case.title')), "
	    "COALESCE(JSON_VALUE(e.payload, '$.data.finding.severity'), "
	    "JSON_VALUE(e.payload, '$.data.alert.severity'), "
	    "JSON_VALUE(e.payload, '$.data.case.severity')), "
	    "COALESCE(JSON_VALUE(e.payload, '$.data.finding.id'), "
	    "JSON_VALUE(e.payload, '$.data.alert.id'), "
	    "JSON_VALUE(e.payload, '$.data.case_id')) "
	    "FROM channel_digests g LEFT JOIN events e ON e.id = g.event_id "
	    "WHERE g.channel_id = ? AND g.period_end = ? "
	    "ORDER BY g.event_seq FOR UPDATE",
	[SQL_SPOOL_DIGEST_DROP] =
	    "DELETE FROM channel_digests WHERE channel_id = ? AND period_end = ?",
	[SQL_CHANNEL_UPDATE] =
	    "UPDATE webhooks SET name = ?, url = ?, events = ?, secret = ?, "
	    "config = ?, filter = ? "
	    "WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL",
	/* GET /findings/{id}: the finding (FINDING_COLS_F) and the sources
	 * whose imports report it (SQL_SOURCE_LIST's columns after them), one
	 * row per source, or one row with NULL source columns when there is
	 * none: one round trip where the two statements took two. No
	 * ORDER BY: it made MariaDB 10.11 plan a temporary table and a
	 * filesort for the one or two rows; findings.c sorts them.
	 * The optimiser runs for every execution, so the statement leaves
	 * it little to weigh: FORCE INDEX on both tables (most of the
	 * indexes of findings start with tenant_id), and the sources
	 * joined on CONCAT(f.x), the same value, which the optimiser does
	 * not propagate as a constant: with s.tenant_id = f.tenant_id it
	 * made a range analysis of finding_sources (index dives and all)
	 * besides its ref access, about 8 us of mariadbd's CPU per request
	 * (perf; optimizer_trace shows it gone). The plan is the same:
	 * f const, s ref on finding_sources_finding.
	 * Parameters: tenant, id. */
	[SQL_FINDING_GET_SOURCES] =
	    "SELECT " FINDING_COLS_F ", s.source, s.format, s.external_id, "
	    "s.first_seen_at, s.last_seen_at FROM findings f "
	    "FORCE INDEX (findings_id) "
	    "LEFT JOIN finding_sources s FORCE INDEX (finding_sources_finding) "
	    "ON s.tenant_id = CONCAT(f.tenant_id) "
	    "AND s.finding_id = CONCAT(f.id) "
	    "WHERE f.tenant_id = ? AND f.id = ?",

	/* scan leases (scan.c, 0038): an integration's scan is held by a
	 * row, which Galera replicates and certifies, not by GET_LOCK,
	 * which lives on one node. Times are the database's (UTC), so
	 * scanner hosts' clocks do not matter, only the nodes'. */
	[SQL_SCAN_LEASE_GET] =
	    "SELECT holder, scan_id, expires_at < UTC_TIMESTAMP(6) "
	    "FROM scan_leases WHERE integration_id = ?",
	[SQL_SCAN_LEASE_TAKE] =
	    "INSERT INTO scan_leases (integration_id, holder, scan_id, "
	    "acquired_at, expires_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6), "
	    "UTC_TIMESTAMP(6) + INTERVAL ? SECOND)",
	[SQL_SCAN_LEASE_RENEW] =
	    "UPDATE scan_leases SET expires_at = UTC_TIMESTAMP(6) + "
	    "INTERVAL ? SECOND WHERE integration_id = ? AND holder = ? "
	    "AND scan_id = ?",
	[SQL_SCAN_LEASE_DROP] =
	    "DELETE FROM scan_leases WHERE integration_id = ? AND holder = ? "
	    "AND scan_id = ?",

	/* The session: whether the server is a Galera node (NULL or an
	 * error where the server has no wsrep at all), and the causal reads
	 * vigil.conf's db_sync_wait asks of one (db_connect). */
	[SQL_DB_WSREP_ON] =
	    "SELECT @@wsrep_on",
	/* What the batch writers tell the triggers in their session
	 * (findings.c: the frame, the triggers standing aside for the seen
	 * mark, the SLA policy, the deferral of events, audit entries and
	 * case look-ups), cleared: after a transaction lost in its body,
	 * whose own clears were not run (db_tx_run). */
	[SQL_DB_SESSION_RESET] =
	    "SET @vigil_batch = NULL, @vigil_sla = NULL, @vigil_defer = NULL, "
	    "@vigil_nocase = NULL, @vigil_deferred_events = 0, "
	    "@vigil_deferred_audit = 0, @vigil_deferred_heads = 0",
	[SQL_DB_SYNC_WAIT] =
	    "SET SESSION wsrep_sync_wait = ?",
	/* How long a statement waits for a table's metadata lock and for a
	 * row's lock (db_set_lock_wait). */
	[SQL_DB_LOCK_WAIT] =
	    "SET SESSION lock_wait_timeout = ?, innodb_lock_wait_timeout = ?",
	/* vigilctl migrate's lease (migrate.c): one row, id 1, which
	 * Galera replicates and certifies, where GET_LOCK lived on one node.
	 * Taking it is one statement: a free (absent or expired) lease
	 * becomes ours, a live one is left as it is (0 rows changed); two
	 * runners on two nodes both "taking" it meet in certification and
	 * one gets a deadlock error (1213). Columns are assigned left to
	 * right, each seeing the ones before: expires_at, which the others
	 * test, goes last. Times are the database's (UTC). */
	[SQL_MIGRATE_LEASE_TAKE] =
	    "INSERT INTO migrate_lease (id, holder, acquired_at, expires_at) "
	    "VALUES (1, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + "
	    "INTERVAL ? SECOND) ON DUPLICATE KEY UPDATE "
	    "holder = IF(expires_at < UTC_TIMESTAMP(6), VALUES(holder), "
	    "holder), "
	    "acquired_at = IF(expires_at < UTC_TIMESTAMP(6), "
	    "VALUES(acquired_at), acquired_at), "
	    "expires_at = IF(expires_at < UTC_TIMESTAMP(6), "
	    "VALUES(expires_at), expires_at)",
	[SQL_MIGRATE_LEASE_RENEW] =
	    "UPDATE migrate_lease SET expires_at = UTC_TIMESTAMP(6) + "
	    "INTERVAL ? SECOND WHERE id = 1 AND holder = ?",
	[SQL_MIGRATE_LEASE_GET] =
	    "SELECT holder, GREATEST(0, CEIL(TIMESTAMPDIFF(MICROSECOND, "
	    "UTC_TIMESTAMP(6), expires_at) / 1000000)) "
	    "FROM migrate_lease WHERE id = 1",
	[SQL_MIGRATE_LEASE_DROP] =
	    "DELETE FROM migrate_lease WHERE id = 1 AND holder = ?",
	/* What vigilctl migrate and db check judge a server by
	 * (migrate_judge). */
	[SQL_MIGRATE_SERVER] =
	    "SELECT @@version, @@wsrep_on, @@binlog_format, @@log_bin, "
	    "@@innodb_autoinc_lock_mode, @@log_bin_trust_function_creators, "
	    "@@SESSION.wsrep_sync_wait",
	[SQL_MIGRATE_WSREP_STATUS] =
	    "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM "
	    "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN "
	    "('WSREP_CLUSTER_SIZE', 'WSREP_LOCAL_STATE_COMMENT', "
	    "'WSREP_CLUSTER_STATUS')",
	/* The runner's own tables, made only when missing: on Galera even a
	 * CREATE TABLE IF NOT EXISTS of a table that exists runs in total
	 * order and aborts whatever a node is writing to that table (the
	 * holder's lease renewal, its INSERT of what it applied). */
	[SQL_MIGRATE_OWN_TABLES] =
	    "SELECT COUNT(*) FROM information_schema.tables WHERE "
	    "table_schema = DATABASE() AND table_name IN ('migrate_lease', "
	    "'schema_migrations')",
	[SQL_MIGRATE_APPLIED] =
	    "SELECT 1 FROM schema_migrations WHERE version = ?",
	[SQL_MIGRATE_RECORD] =
	    "INSERT INTO schema_migrations (version, name, applied_at) "
	    "VALUES (?, ?, UTC_TIMESTAMP())",
	/* A migration marked as restating triggers, about to run again after
	 * an older one: not recorded until it has (migrate.c forget). */
	[SQL_MIGRATE_FORGET] =
	    "DELETE FROM schema_migrations WHERE version = ?",
	/* Deleted webhooks and channels too: their rows keep a sealed
	 * secret, and a key is retired only once nothing needs it. */
	[SQL_SECRETS_WEBHOOKS_PAGE] =
	    "SELECT id, secret FROM webhooks WHERE id > ? AND secret IS NOT "
	    "NULL AND secret NOT LIKE ? ORDER BY id LIMIT ?",
	[SQL_SECRETS_WEBHOOKS_RESEAL] =
	    "UPDATE webhooks SET secret = ? WHERE id = ? AND secret = ?",
	[SQL_SECRETS_INTEGRATIONS_PAGE] =
	    "SELECT id, secret FROM integrations WHERE id > ? AND secret IS "
	    "NOT NULL AND secret NOT LIKE ? ORDER BY id LIMIT ?",
	[SQL_SECRETS_INTEGRATIONS_RESEAL] =
	    "UPDATE integrations SET secret = ? WHERE id = ? AND secret = ?",
	[SQL_MIGRATIONS_APPLIED] =
	    "SELECT version FROM schema_migrations ORDER BY version",
	/* Every program's check of the schema (migrate.c migrate_schema):
	 * the newest migration recorded and whether the one this build needs
	 * (MIGRATE_NEED) is, one end of the primary key and one of its
	 * values. */
	[SQL_SCHEMA_VERSION] =
	    "SELECT (SELECT MAX(version) FROM schema_migrations), "
	    "(SELECT COUNT(*) FROM schema_migrations WHERE version = ?)",
	/* GET /metrics and GET /healthz (ops.c): every part an index range
	 * read at most as far as its LIMIT, or one end of an index, so that
	 * its cost stays the same however many rows there are. Events not
	 * yet turned into deliveries (events_dispatch) and the age of the
	 * oldest; deliveries waiting to be delivered (deliveries_due), the
	 * earliest time one of them became due, pending and delivering
	 * apart (a MIN over one status is one index dive); dead ones
	 * (deliveries_prune). Ages in seconds, database time (UTC). */
	[SQL_OPS_OUTBOX] =
	    "SELECT "
	    "(SELECT COUNT(*) FROM (SELECT 1 FROM events "
	    "WHERE dispatched = 0 LIMIT ?) e), "
	    "(SELECT TIMESTAMPDIFF(SECOND, created_at, UTC_TIMESTAMP()) "
	    "FROM events WHERE seq = (SELECT MIN(seq) FROM events "
	    "WHERE dispatched = 0)), "
	    "(SELECT COUNT(*) FROM (SELECT 1 FROM deliveries "
	    "WHERE status IN ('pending', 'delivering') LIMIT ?) d), "
	    "(SELECT TIMESTAMPDIFF(SECOND, MIN(next_attempt_at), "
	    "UTC_TIMESTAMP(3)) FROM deliveries WHERE status = 'pending'), "
	    "(SELECT TIMESTAMPDIFF(SECOND, MIN(next_attempt_at), "
	    "UTC_TIMESTAMP(3)) FROM deliveries WHERE status = 'delivering'), "
	    "(SELECT COUNT(*) FROM (SELECT 1 FROM deliveries "
	    "WHERE status = 'dead' LIMIT ?) x)",
	/* Live integrations (at most ? of them, by id) with their tenant,
	 * the tenant's scan interval, and their last completed scan: its
	 * finish (seconds since the epoch, UTC) and duration. The last
	 * completed scan is the greatest id in scans_integration_status's
	 * (integration_id, status) range, which the index holds in id order
	 * (InnoDB appends the primary key): read backwards and stopped at
	 * the first, one dive per integration, not a read of its history.
	 * OPS_SC_* in ops.c. */
	[SQL_OPS_SCANS] =
	    "SELECT x.id, x.name, x.tname, "
	    "TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', s.finished_at), "
	    "s.duration_ms, "
	    "TIMESTAMPDIFF(SECOND, COALESCE(s.finished_at, x.created_at), "
	    "UTC_TIMESTAMP()), "
	    "COALESCE(ts.scan_interval_minutes, 60) "
	    "FROM (SELECT i.id, i.name, i.tenant_id, i.created_at, "
	    "t.name AS tname, (SELECT s2.id FROM scans s2 "
	    "WHERE s2.integration_id = i.id AND s2.status = 'completed' "
	    "ORDER BY s2.id DESC LIMIT 1) AS last_id FROM integrations i "
	    "JOIN tenants t ON t.id = i.tenant_id "
	    "WHERE i.deleted_at IS NULL ORDER BY i.id LIMIT ?) x "
	    "LEFT JOIN scans s ON s.id = x.last_id "
	    "LEFT JOIN tenant_settings ts ON ts.tenant_id = x.tenant_id "
	    "ORDER BY x.id",
	/* importcpu, reimport: an import's source rows, read with the
	 * batch's findings and marked by their seqs (imports.c
	 * run_sources). A batch's stored rows, locked, as
	 * SQL_FINDING_GET_MANY, each with its row of the import's source,
	 * locked too (source, tenant_id, DB_MANY ids): one look-up of
	 * finding_sources_finding per finding, where an UPDATE by (finding
	 * id, external id) pairs built 256 ranges at every execution. */
	[SQL_FINDING_GET_MANY_SRC] =
	    "SELECT " FINDING_COLS_PE("f.", "NULL") ", f.integration_id, "
	    "f.seen_scan_id, s.seq, s.format, s.external_id, s.import_id "
	    "FROM findings f "
	    "FORCE INDEX (findings_id) "
	    "LEFT JOIN finding_sources s FORCE INDEX (finding_sources_finding) "
	    "ON s.tenant_id = f.tenant_id AND s.finding_id = f.id "
	    "AND s.source = ? "
	    "WHERE f.tenant_id = ? AND f.id IN (" X256("?") ") FOR UPDATE",
	/* The same rows read by a range of seq (findings_hint): the stored
	 * rows of the tenant from one seq to another, locked, as
	 * SQL_FINDING_GET_MANY (tenant_id, first seq, last seq) and
	 * SQL_FINDING_GET_MANY_SRC (source, tenant_id, first, last). A
	 * batch whose findings were stored in the order it lists them finds
	 * them in one walk of the clustered key, where the IN list descends
	 * findings_id for each id and then the clustered key (measured: 9.9
	 * against 17.4 us a row, README, Imports). The range may hold rows
	 * of another tenant, which the server reads, locks and lets go (READ
	 * COMMITTED): SKIP LOCKED, so that a row another transaction holds
	 * is passed over instead of waited for. A finding of the batch
	 * passed over so (held by a writer without the tenant's lock) is
	 * then read by its id, locked, as before; a source row passed over
	 * makes the source's upsert, which waits for it. */
	[SQL_FINDING_GET_RANGE] =
	    "SELECT " FINDING_BATCH_COLS_NOEVID " FROM findings "
	    "FORCE INDEX (PRIMARY) "
	    "WHERE tenant_id = ? AND seq BETWEEN ? AND ? "
	    "FOR UPDATE SKIP LOCKED",
	[SQL_FINDING_GET_RANGE_SRC] =
	    "SELECT " FINDING_COLS_PE("f.", "NULL") ", f.integration_id, "
	    "f.seen_scan_id, s.seq, s.format, s.external_id, s.import_id "
	    "FROM findings f "
	    "FORCE INDEX (PRIMARY) "
	    "LEFT JOIN finding_sources s FORCE INDEX (finding_sources_finding) "
	    "ON s.tenant_id = f.tenant_id AND s.finding_id = f.id "
	    "AND s.source = ? "
	    "WHERE f.tenant_id = ? AND f.seq BETWEEN ? AND ? "
	    "FOR UPDATE SKIP LOCKED",
	/* Listed again as they were: (last_seen_at, import_id, DB_MANY
	 * seqs); no index holds either column (0044). */
	[SQL_SOURCE_SEEN_MANY] =
	    "UPDATE finding_sources SET last_seen_at = ?, import_id = ? "
	    "WHERE seq IN (" X256("?") ")",
	/* The same for seqs that make at most DB_SEEN_RUNS ranges of
	 * consecutive seqs, each seq of each range one of the rows read
	 * (last_seen_at, import_id, tenant_id, then each range's first and
	 * last seq; spare ranges repeat the last): a report listed in the
	 * order of its first import finds its source rows stored in that
	 * order (seq, 0030). */
	[SQL_SOURCE_SEEN_RUNS] =
	    "UPDATE finding_sources FORCE INDEX (PRIMARY) "
	    "SET last_seen_at = ?, import_id = ? "
	    "WHERE tenant_id = ? AND (seq BETWEEN ? AND ? "
	    "OR seq BETWEEN ? AND ? OR seq BETWEEN ? AND ? "
	    "OR seq BETWEEN ? AND ? OR seq BETWEEN ? AND ? "
	    "OR seq BETWEEN ? AND ? OR seq BETWEEN ? AND ? "
	    "OR seq BETWEEN ? AND ?)",

	/* The batch writer's set-based counts (findings.c batch_write):
	 * whether migrations 0039 and 0055 (its batch tables' metadata
	 * columns, FINDING_BATCH_SNAP) are applied; its temporary tables emptied
	 * and the triggers told to stand aside; the rows to be written as
	 * they are, then as they were written (tenant_id, DB_MANY ids), in
	 * FINDING_BATCH_SNAP's columns, the counters' keys
	 * (findings_batch_begin has the table); the counters moved by the
	 * difference (tenant); and the triggers back after a batch that
	 * failed between begin and end. */
	[SQL_FINDING_BATCH_SCHEMA] =
	    "SELECT 1 FROM schema_migrations WHERE version = '0039' "
	    "AND EXISTS (SELECT 1 FROM schema_migrations "
	    "WHERE version = '0055')",
	[SQL_FINDING_BATCH_BEGIN] = "CALL findings_batch_begin()",
	[SQL_FINDING_BATCH_OLD] =
	    "INSERT INTO findings_batch_old SELECT " FINDING_BATCH_SNAP
	    " FROM findings WHERE tenant_id = ? AND id IN (" X256("?") ")",
	[SQL_FINDING_BATCH_NEW] =
	    "INSERT INTO findings_batch_new SELECT " FINDING_BATCH_SNAP
	    " FROM findings WHERE tenant_id = ? AND id IN (" X256("?") ")",
	[SQL_FINDING_BATCH_END] = "CALL findings_batch_end(?)",
	[SQL_FINDING_BATCH_CLEAR] = "SET @vigil_batch = NULL",
	/* The triggers told to stand aside for the batch's mark of its
	 * unchanged findings (SQL_FINDING_SEEN_*), which changes nothing
	 * they count; SQL_FINDING_BATCH_CLEAR after it. */
	[SQL_FINDING_SEEN_ASIDE] = "SET @vigil_batch = 1",
	/* vigilctl db check and migrate: the privileges of this connection
	 * (its account's and its current role's; migrate_grants_add reads
	 * the lines), who it is, and who the batch procedures run as (their
	 * definer, SQL SECURITY DEFINER being the default). ROUTINES lists
	 * only the routines this account may use or defined. */
	[SQL_MIGRATE_GRANTS] = "SHOW GRANTS",
	[SQL_MIGRATE_WHO] = "SELECT CURRENT_USER(), DATABASE()",
	[SQL_MIGRATE_DEFINER] =
	    "SELECT DEFINER, DEFINER = CURRENT_USER() FROM "
	    "information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() "
	    "AND ROUTINE_TYPE = 'PROCEDURE' AND ROUTINE_NAME IN "
	    "('findings_batch_begin', 'findings_batch_end') "
	    "ORDER BY ROUTINE_NAME",
	/* The batch writer's history, events and audit entries, whose
	 * insert triggers defer to it (0045_batch_rows_deferred.sql), and an
	 * alert batch's events, which take the same way (0049): whether any
	 * of the batch's findings (tenant_id, DB_MANY ids) is on a case,
	 * share-locking the links it reads as the history trigger's INSERT
	 * ... SELECT does; the tenant whose rows the triggers tally instead of
	 * counting (and, or NULL, whose history needs no case look-up), the
	 * tallies at 0; a type's events (tenant, type, n: events.c
	 * events_count_deferred) and an action's entries (tenant, action, n)
	 * counted, and the chain's head moved to the last entry (tenant, seq,
	 * hash), each only when the trigger tallied (a schema before 0045
	 * counted and moved them itself); the variables cleared. */
	[SQL_BATCH_CASE_LINKED] =
	    "SELECT 1 FROM case_findings WHERE tenant_id = ? "
	    "AND finding_id IN (" X256("?") ") LIMIT 1 LOCK IN SHARE MODE",
	[SQL_BATCH_DEFER_BEGIN] =
	    "SET @vigil_defer = ?, @vigil_nocase = ?, "
	    "@vigil_deferred_events = 0, @vigil_deferred_audit = 0, "
	    "@vigil_deferred_heads = 0",
	[SQL_EVENT_COUNT_DEFERRED] =
	    "INSERT INTO list_counts (tenant_id, list, k, n) "
	    "SELECT ?, 'events', ?, ? FROM DUAL "
	    "WHERE @vigil_deferred_events > 0 "
	    "ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
	[SQL_AUDIT_COUNT_DEFERRED] =
	    "INSERT INTO list_counts (tenant_id, list, k, n) "
	    "SELECT ?, 'audit', ?, ? FROM DUAL "
	    "WHERE @vigil_deferred_audit > 0 "
	    "ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
	/* As the head trigger (0018, merged into audit_log_after_insert by
	 * 0048): only ever forward; hash is decided on the old seq
	 * (assignments run left to right). */
	[SQL_AUDIT_HEAD_DEFERRED] =
	    "INSERT INTO audit_heads (tenant_id, seq, hash) "
	    "SELECT ?, ?, ? FROM DUAL WHERE @vigil_deferred_heads > 0 "
	    "ON DUPLICATE KEY UPDATE "
	    "hash = IF(VALUES(seq) > seq, VALUES(hash), hash), "
	    "seq = GREATEST(seq, VALUES(seq))",
	[SQL_BATCH_DEFER_END] =
	    "SET @vigil_defer = NULL, @vigil_nocase = NULL, "
	    "@vigil_deferred_events = 0, @vigil_deferred_audit = 0, "
	    "@vigil_deferred_heads = 0",
	/* Before the batch's upsert: the tenant's policy for
	 * findings_sla_insert (0046_batch_sla_policy.sql), each severity's
	 * days and the warning lead, and the tenant (tenant_id twice). One
	 * read of its row, by the primary key; without WHERE's row the
	 * aggregates still give one row, of NULLs, and so 0034's defaults.
	 * After the upsert, the tenant cleared, so that no other insert of
	 * the session takes them. */
	[SQL_BATCH_SLA_BEGIN] =
	    "SELECT COALESCE(MAX(critical_days), 7), "
	    "COALESCE(MAX(high_days), 30), COALESCE(MAX(medium_days), 90), "
	    "COALESCE(MAX(low_days), 180), COALESCE(MAX(info_days), 0), "
	    "COALESCE(MAX(warning_days), 3), ? "
	    "INTO @vigil_sla_critical, @vigil_sla_high, @vigil_sla_medium, "
	    "@vigil_sla_low, @vigil_sla_info, @vigil_sla_warning, @vigil_sla "
	    "FROM sla_policies WHERE tenant_id = ?",
	[SQL_BATCH_SLA_END] = "SET @vigil_sla = NULL",
};

#define DB_MAX_PARAMS  4096	/* a 64-row upsert takes 2,240 (35 columns) */
#define DB_STACK_PARAMS 32	/* bound on the stack up to this many */
#define DB_MAX_COLS    64
#define DB_CELL_INLINE 128

struct db {
	const struct conf	*conf;
	MYSQL			*my;
	MYSQL_STMT		*stmts[SQL__COUNT];
	int			 in_tx;
	int			 tried;		/* db_connect ran */
	int			 read_s;	/* db_set_read_timeout */
	const char		*refuse;	/* db_refuse's why */
	/* Inside db_tx_run: db_begin joins, db_commit waits for it,
	 * db_rollback asks it to roll back (tx_abort). */
	int			 tx_run, tx_abort;
	/* Inside db_tx_run: the transaction was lost (DB_RETRY: rolled
	 * back by a deadlock or a BF abort; DB_DOWN: its connection), so
	 * every later statement of the body fails the same way instead of
	 * running in autocommit, and the body's run counts as that. */
	int			 tx_lost;
	/* The statements db_tx_run's body ran, prepared again before a
	 * replay on a new connection (see db_tx_run). */
	unsigned short		 tx_used[64];
	size_t			 ntx_used;
	/* A result broke off by an error: the connection is dropped. */
	int			 desync;
	/* The probes db_schema_has found applied on this connection. */
	unsigned short		 schema_has[8];
	size_t			 nschema_has;
	/* Connections made (db_connects). */
	unsigned long		 connects;
	/* Seconds a statement waits for a lock; 0 the server's default
	 * (db_set_lock_wait). */
	int			 lock_wait;
	/* The server's error number of the last statement (db_errno). */
	unsigned int		 errnum;
#ifdef VIGIL_DEBUG
	/* Commits db_tx_run refuses per transaction (test hook). */
	int			 debug_conflicts;
#endif
	char			 err[256];
};

#ifdef VIGIL_DEBUG
/* VIGIL_DEBUG_CONFLICTS (debug builds only): how many times db_tx_run
 * refuses each transaction's commit, as a Galera node refuses one that
 * lost certification, so that the integration tests can make every write
 * path replay. 0 when unset or not a number from 0 to 100. */
static int
db_debug_env(void)
{
	const char *s = getenv("VIGIL_DEBUG_CONFLICTS");
	char *end;
	long n;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0 || n > 100)
		return 0;
	return (int)n;
}

int
db_debug_conflicts(struct db *db, int n)
{
	int was = db->debug_conflicts;

	db->debug_conflicts = n < 0 ? db_debug_env() : n;
	return was;
}

/* VIGIL_DEBUG_LOSE_SEEN (debug builds only): how many of the batch
 * writer's seen marks (SQL_FINDING_SEEN_*) in this process fail as a
 * deadlock would fail them, inside their transaction, so that a test can
 * make a batch replay after a body lost midway. One count for the
 * process: the importer's writer thread and its main thread take turns
 * at batches. */
static int
debug_lose_seen(enum db_stmt s)
{
	static int left = -1;
	const char *v;

	if (s != SQL_FINDING_SEEN_RUNS && s != SQL_FINDING_SEEN_MANY)
		return 0;
	if (__atomic_load_n(&left, __ATOMIC_SEQ_CST) < 0) {
		v = getenv("VIGIL_DEBUG_LOSE_SEEN");
		__atomic_store_n(&left, v != NULL ?
		    (int)strtol(v, NULL, 10) : 0, __ATOMIC_SEQ_CST);
	}
	return __atomic_sub_fetch(&left, 1, __ATOMIC_SEQ_CST) >= 0;
}
#endif

/* A new handle; caller frees with db_free. NULL only on out of memory. */
struct db *
db_new(const struct conf *conf)
{
	struct db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->conf = conf;
#ifdef VIGIL_DEBUG
	db->debug_conflicts = db_debug_env();
#endif
	return db;
}

/* A second handle on the same server, for another thread (the scanner's
 * writer); NULL only on out of memory. */
struct db *
db_new_like(const struct db *db)
{
	struct db *like = db_new(db->conf);

	if (like != NULL)
		like->refuse = db->refuse;
	return like;
}

void
db_refuse(struct db *db, const char *why)
{
	db->refuse = why;
}

/* Drop the connection (e.g. in a child after fork). */
static void
db_disconnect(struct db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < SQL__COUNT; i++) {
		if (db->stmts[i] != NULL)
			mysql_stmt_close(db->stmts[i]);
		db->stmts[i] = NULL;
	}
	if (db->my != NULL)
		mysql_close(db->my);
	db->my = NULL;
	db->in_tx = 0;
	db->desync = 0;
	db->nschema_has = 0;
}

/* *field = secs, clamped to 0..DB_LOCK_WAIT_MAX; a connection made with
 * the old value is closed, the next one is made with the new. */
static void
set_connect_secs(struct db *db, int *field, int secs)
{
	if (secs < 0)
		secs = 0;
	if (secs > DB_LOCK_WAIT_MAX)
		secs = DB_LOCK_WAIT_MAX;
	if (secs == *field)
		return;
	db_disconnect(db);
	*field = secs;
}

void
db_set_lock_wait(struct db *db, int secs)
{
	set_connect_secs(db, &db->lock_wait, secs);
}

void
db_set_read_timeout(struct db *db, int secs)
{
	set_connect_secs(db, &db->read_s, secs);
}

int
db_schema_has(struct db *db, enum db_stmt probe)
{
	struct db_res *res = NULL;
	size_t i;
	int rc, has;

	for (i = 0; i < db->nschema_has; i++)
		if (db->schema_has[i] == probe)
			return 1;
	if ((rc = db_exec(db, probe, NULL, 0, &res)) != 0)
		return rc;
	has = res->nrows > 0;
	db_res_free(res);
	/* Past the array's few probes: asked each time. */
	if (has && db->nschema_has < NELEM(db->schema_has))
		db->schema_has[db->nschema_has++] = (unsigned short)probe;
	return has;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_disconnect(db);
	free(db);
}

const char *
db_error(struct db *db)
{
	return db->err;
}

void
db_error_take(struct db *db, const struct db *from)
{
	snprintf(db->err, sizeof(db->err), "%s", from->err);
}

int
db_exit(struct db *db)
{
	/* Every failure that means the server is gone or not taking
	 * statements (DB_DOWN) leaves the handle without a connection:
	 * db_connect's, and db_exec's and tx_command's, which drop it. */
	if (db == NULL)
		return VX_SOFTWARE;
	return db->tried && db->my == NULL ? VX_DBDOWN : VX_SOFTWARE;
}

void *
db_mysql(struct db *db)
{
	return db->my;
}

const struct conf *
db_conf(const struct db *db)
{
	return db->conf;
}

static int
is_conn_error(unsigned int e)
{
	switch (e) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_LOST_EXTENDED:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
	case CR_COMMANDS_OUT_OF_SYNC:
		return 1;
	default:
		return 0;
	}
}

/* 1 for the errors of a server that is up but cannot run statements now,
 * where another node, or the same one a moment later, can: a Galera node
 * not in the primary component or still joining ("WSREP has not yet
 * prepared node for application use", 1047), and a server in read-only
 * mode, as a demoted primary or a replica reached by mistake is (1290
 * for read_only, 1836 for a read-only transaction mode). The statement
 * did not run. Also a statement the server stopped: killed (KILL QUERY,
 * or a server on its way down, 1317), or a commit the engine or the
 * cluster could not make ("Got error 6 during COMMIT" of a Galera node
 * that lost the primary component, 1180); the transaction is then
 * rolled back when db_exec drops the connection, and a failed commit is
 * never run again (db_tx_run). */
static int
is_unavailable(unsigned int e)
{
	switch (e) {
	case ER_UNKNOWN_COM_ERROR:
	case ER_OPTION_PREVENTS_STATEMENT:
	case ER_READ_ONLY_MODE:
	case ER_QUERY_INTERRUPTED:
	case ER_ERROR_DURING_COMMIT:
		return 1;
	default:
		return 0;
	}
}

int
db_error_code(unsigned int e)
{
	if (e == 0)
		return 0;
	if (e == ER_DUP_ENTRY)
		return DB_DUP;
	if (e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT)
		return DB_RETRY;
	if (is_conn_error(e) || is_unavailable(e))
		return DB_DOWN;
	return DB_ERR;
}

static int	 session_sync_wait(struct db *);
static int	 session_lock_wait(struct db *);
static unsigned int exec_once(struct db *, enum db_stmt,
		    const struct db_val *, size_t, struct db_res **, int *);

int
db_connect(struct db *db)
{
	const struct conf *c = db->conf;
	unsigned int timeout = 3, rwtimeout = 30, rtimeout;
	const char *host, *sock;

	if (db->my != NULL)
		return 0;
	db->tried = 1;
	if (db->refuse != NULL) {
		snprintf(db->err, sizeof(db->err), "%s", db->refuse);
		return DB_DOWN;
	}
	if ((db->my = mysql_init(NULL)) == NULL) {
		snprintf(db->err, sizeof(db->err), "mysql_init failed");
		return DB_DOWN;
	}
	/* A statement that may wait lock_wait seconds for a lock: the
	 * server's ER_LOCK_WAIT_TIMEOUT must come before the read timeout,
	 * which would leave it waiting (queued ahead of every later
	 * statement on the table) after the client went. */
	rtimeout = (db->read_s > 0 ? (unsigned int)db->read_s : rwtimeout) +
	    (unsigned int)db->lock_wait;
	mysql_options(db->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db->my, MYSQL_OPT_READ_TIMEOUT, &rtimeout);
	mysql_options(db->my, MYSQL_OPT_WRITE_TIMEOUT, &rwtimeout);
	mysql_options(db->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* READ COMMITTED: every writer takes the row locks it needs
	 * explicitly (FOR UPDATE, the tenant row first), and the
	 * authentication count's INSERT ... SELECT then reads the key
	 * without share-locking it, which would deadlock with a key being
	 * created in the same tenant. Needs binlog_format MIXED or ROW (the
	 * default) if the server writes a binary log. */
	mysql_options(db->my, MYSQL_INIT_COMMAND,
	    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	sock = c->db_socket[0] ? c->db_socket : NULL;
	host = sock ? "localhost" : c->db_host;
	if (mysql_real_connect(db->my, host, c->db_user,
	    c->db_password[0] ? c->db_password : NULL, c->db_name,
	    c->db_port, sock, CLIENT_MULTI_RESULTS) == NULL) {
		snprintf(db->err, sizeof(db->err), "connect: %s",
		    mysql_error(db->my));
		mysql_close(db->my);
		db->my = NULL;
		return DB_DOWN;
	}
	/* A node that cannot answer this cannot take the session's
	 * statements either: as unreachable (db->err says why). */
	if (c->db_sync_wait != 0 && session_sync_wait(db) != 0) {
		db_disconnect(db);
		return DB_DOWN;
	}
	if (db->lock_wait > 0 && session_lock_wait(db) != 0) {
		db_disconnect(db);
		return DB_DOWN;
	}
	db->connects++;
	return 0;
}

unsigned long
db_connects(const struct db *db)
{
	return db->connects;
}

unsigned int
db_errno(const struct db *db)
{
	return db->errnum;
}

/* vigil.conf's db_sync_wait on a new connection: on a Galera node, SET
 * SESSION wsrep_sync_wait (1 for "auto"), so that a read waits until the
 * node has applied everything the cluster committed before it (a client
 * reading through one host what it just wrote through another, or through
 * the node that was the writer before a failover). Elsewhere (one server,
 * a primary with replicas) there is nothing to wait for: a value set in
 * vigil.conf is said to be ignored, once per process; "auto" says
 * nothing, so that cron jobs on one server stay quiet. 0, or -1 with
 * db->err set. */
static int
session_sync_wait(struct db *db)
{
	static int said;
	struct db_res *res = NULL;
	const char *on;
	unsigned int e;
	int sent, rc = -1;

	/* A server without wsrep at all does not know the variable. */
	e = exec_once(db, SQL_DB_WSREP_ON, NULL, 0, &res, &sent);
	if (e != 0 && db_error_code(e) != DB_ERR)
		goto out;
	on = e == 0 ? db_cell(res, 0, 0) : NULL;
	if (on == NULL || strcmp(on, "1") != 0) {
		if (!said && db->conf->db_sync_wait > 0)
			log_info("db: db_sync_wait = %d ignored: the server is "
			    "not a Galera node (wsrep_on is off)",
			    db->conf->db_sync_wait);
		said = 1;
		rc = 0;
		goto out;
	}
	if ((e = exec_once(db, SQL_DB_SYNC_WAIT, (struct db_val[]){
	    DB_INT(db->conf->db_sync_wait < 0 ? 1 :
	    db->conf->db_sync_wait) }, 1, NULL, &sent)) != 0)
		goto out;
	rc = 0;
out:
	db_res_free(res);
	return rc;
}

/* db_set_lock_wait's seconds on a new connection: 0, or -1 with db->err
 * set. */
static int
session_lock_wait(struct db *db)
{
	int sent;

	if (exec_once(db, SQL_DB_LOCK_WAIT, (struct db_val[]){
	    DB_INT(db->lock_wait), DB_INT(db->lock_wait) }, 2, NULL,
	    &sent) != 0)
		return -1;
	return 0;
}

/* The prepared statement for s on the current connection, or NULL. */
static MYSQL_STMT *
stmt_get(struct db *db, enum db_stmt s, unsigned int *errnop)
{
	MYSQL_STMT *st;

	*errnop = 0;
	if (db->stmts[s] != NULL)
		return db->stmts[s];
	if ((st = mysql_stmt_init(db->my)) == NULL) {
		*errnop = CR_OUT_OF_MEMORY;
		return NULL;
	}
	if (mysql_stmt_prepare(st, sqls[s], strlen(sqls[s])) != 0) {
		*errnop = mysql_stmt_errno(st);
		snprintf(db->err, sizeof(db->err), "prepare %d: %s", (int)s,
		    mysql_stmt_error(st));
		mysql_stmt_close(st);
		return NULL;
	}
	db->stmts[s] = st;
	return st;
}

void
db_res_free(struct db_res *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nrows; i++)
		free(r->rowbufs[i]);
	free(r->rowbufs);
	free(r->cells);
	free(r->lens);
	free(r);
}

const char *
db_cell(const struct db_res *r, size_t row, size_t col)
{
	if (r == NULL || row >= r->nrows || col >= r->ncols)
		return NULL;
	return r->cells[row * r->ncols + col];
}

long long
db_cell_int(const struct db_res *r, size_t row, size_t col)
{
	const char *s = db_cell(r, row, col);

	return s ? strtoll(s, NULL, 10) : 0;
}

char *
db_cell_dup(const struct db_res *r, size_t row, size_t col, int *oom)
{
	const char *s = db_cell(r, row, col);
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = 1;
	return d;
}

/* Room in r for at least want rows; 0 or -1 (out of memory). */
static int
res_reserve(struct db_res *r, size_t want)
{
	size_t cap = r->cap ? r->cap : 8, n = r->ncols;
	char **cells, **bufs;
	unsigned long *lens;

	if (want <= r->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if ((cells = realloc(r->cells, cap * n * sizeof(*cells))) == NULL)
		return -1;
	r->cells = cells;
	if ((lens = realloc(r->lens, cap * n * sizeof(*lens))) == NULL)
		return -1;
	r->lens = lens;
	if ((bufs = realloc(r->rowbufs, cap * sizeof(*bufs))) == NULL)
		return -1;
	r->rowbufs = bufs;
	r->cap = cap;
	return 0;
}

/*
 * Append one fetched row to r; 0 or -1 (out of memory / fetch error). Its
 * cells share one allocation (a list page of 100 findings made 2,800
 * mallocs and frees of cells, now 100).
 */
static int
res_add_row(struct db_res *r, MYSQL_STMT *st, const unsigned long *lens,
    const my_bool *nulls, char (*inl)[DB_CELL_INLINE])
{
	size_t n = r->ncols, base, i, size = 1, off = 0;
	char *buf;

	if (res_reserve(r, r->nrows + 1) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (!nulls[i])
			size += lens[i] + 1;
	if ((buf = malloc(size)) == NULL)
		return -1;
	base = r->nrows * n;
	r->rowbufs[r->nrows++] = buf;
	for (i = 0; i < n; i++) {
		char *cell = buf + off;

		r->cells[base + i] = NULL;
		r->lens[base + i] = 0;
		if (nulls[i])
			continue;
		if (lens[i] < DB_CELL_INLINE) {
			memcpy(cell, inl[i], lens[i]);
		} else {
			MYSQL_BIND b;

			memset(&b, 0, sizeof(b));
			b.buffer_type = MYSQL_TYPE_STRING;
			b.buffer = cell;
			b.buffer_length = lens[i] + 1;
			if (mysql_stmt_fetch_column(st, &b, (unsigned)i, 0))
				return -1;
		}
		cell[lens[i]] = '\0';
		off += lens[i] + 1;
		r->cells[base + i] = cell;
		r->lens[base + i] = lens[i];
	}
	return 0;
}

/* Read the current result set of st into a new db_res (*out), or discard
 * it when out is NULL. 0, or the MySQL error number. */
static unsigned int
res_read(struct db *db, MYSQL_STMT *st, struct db_res **out)
{
	MYSQL_BIND bind[DB_MAX_COLS];
	unsigned long lens[DB_MAX_COLS];
	my_bool nulls[DB_MAX_COLS], errs[DB_MAX_COLS];
	char inl[DB_MAX_COLS][DB_CELL_INLINE];
	struct db_res *r = NULL;
	unsigned int ncols, i, e = 0;
	int rc;

	ncols = mysql_stmt_field_count(st);
	if (ncols > DB_MAX_COLS) {
		snprintf(db->err, sizeof(db->err), "too many columns");
		return CR_UNKNOWN_ERROR;
	}
	memset(bind, 0, sizeof(bind));
	for (i = 0; i < ncols; i++) {
		bind[i].buffer_type = MYSQL_TYPE_STRING;
		bind[i].buffer = inl[i];
		bind[i].buffer_length = DB_CELL_INLINE;
		bind[i].length = &lens[i];
		bind[i].is_null = &nulls[i];
		bind[i].error = &errs[i];
	}
	if (mysql_stmt_bind_result(st, bind) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		e = mysql_stmt_errno(st);
		snprintf(db->err, sizeof(db->err), "result: %s",
		    mysql_stmt_error(st));
		return e ? e : CR_UNKNOWN_ERROR;
	}
	if (out != NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			e = CR_OUT_OF_MEMORY;
			goto out;
		}
		r->ncols = ncols;
		/* The rows are all here (stored): room for them at once. */
		if (ncols > 0 && res_reserve(r,
		    (size_t)mysql_stmt_num_rows(st)) != 0) {
			e = CR_OUT_OF_MEMORY;
			goto out;
		}
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		if (r != NULL && res_add_row(r, st, lens, nulls, inl)) {
			e = CR_OUT_OF_MEMORY;
			goto out;
		}
	}
	if (rc == 1) {
		e = mysql_stmt_errno(st);
		snprintf(db->err, sizeof(db->err), "fetch: %s",
		    mysql_stmt_error(st));
	}
out:
	mysql_stmt_free_result(st);
	if (e != 0) {
		db_res_free(r);
		return e;
	}
	if (out != NULL)
		*out = r;
	return 0;
}

/* One attempt at running s; *sent is set once the server may have run it.
 * 0 or the MySQL error number. */
static unsigned int
exec_once(struct db *db, enum db_stmt s, const struct db_val *p, size_t np,
    struct db_res **out, int *sent)
{
	MYSQL_BIND sbind[DB_STACK_PARAMS], *bind = sbind;
	MYSQL_STMT *st;
	unsigned long splens[DB_STACK_PARAMS], *plens = splens;
	my_bool spnull[DB_STACK_PARAMS], *pnull = spnull;
	long long sints[DB_STACK_PARAMS], *ints = sints;
	unsigned long long affected = 0, insert_id = 0;
	unsigned int e;
	size_t i;
	int more;

	if ((st = stmt_get(db, s, &e)) == NULL)
		return e ? e : CR_UNKNOWN_ERROR;
	if (mysql_stmt_param_count(st) != np || np > DB_MAX_PARAMS) {
		snprintf(db->err, sizeof(db->err),
		    "statement %d: %zu parameters given", (int)s, np);
		return CR_UNKNOWN_ERROR;
	}
	/* A multi-row statement's parameters go on the heap. */
	if (np > DB_STACK_PARAMS) {
		bind = calloc(np, sizeof(*bind));
		plens = calloc(np, sizeof(*plens));
		pnull = calloc(np, sizeof(*pnull));
		ints = calloc(np, sizeof(*ints));
		if (bind == NULL || plens == NULL || pnull == NULL ||
		    ints == NULL) {
			e = CR_OUT_OF_MEMORY;
			goto out;
		}
	} else
		memset(bind, 0, sizeof(sbind));
	for (i = 0; i < np; i++) {
		pnull[i] = 0;
		switch (p[i].t) {
		case DBT_NULL:
			pnull[i] = 1;
			bind[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case DBT_INT:
			ints[i] = p[i].i;
			bind[i].buffer_type = MYSQL_TYPE_LONGLONG;
			bind[i].buffer = &ints[i];
			break;
		case DBT_STR:
			plens[i] = (unsigned long)p[i].len;
			bind[i].buffer_type = MYSQL_TYPE_STRING;
			bind[i].buffer = (void *)(uintptr_t)p[i].s;
			bind[i].buffer_length = plens[i];
			bind[i].length = &plens[i];
			break;
		}
		bind[i].is_null = &pnull[i];
	}
	*sent = 0;
	e = 0;
	if (np > 0 && mysql_stmt_bind_param(st, bind) != 0)
		goto err;
	if (mysql_stmt_execute(st) != 0) {
		/* "Gone away" means the request never reached a server. */
		*sent = mysql_stmt_errno(st) != CR_SERVER_GONE_ERROR;
		goto err;
	}
	*sent = 1;
	/* A CALL returns its result sets followed by a status result; keep
	 * the first result set, drain the rest. */
	affected = mysql_stmt_affected_rows(st);
	insert_id = mysql_stmt_insert_id(st);
	do {
		if (mysql_stmt_field_count(st) > 0) {
			e = res_read(db, st,
			    (out != NULL && *out == NULL) ? out : NULL);
			if (e != 0) {
				/* An error in the middle of the rows (a
				 * Galera BF abort, a deadlock) leaves the
				 * client library expecting more of this
				 * result: the next execute waited for it
				 * until the read timeout (30 s). Only a new
				 * connection is clean. */
				if (!is_conn_error(e))
					db->desync = 1;
				goto out;
			}
		}
		more = mysql_stmt_next_result(st);
		if (more > 0)
			goto err;
	} while (more == 0);
	if (out != NULL && *out == NULL) {
		/* No result set: an INSERT/UPDATE/DELETE. */
		if ((*out = calloc(1, sizeof(**out))) == NULL) {
			e = CR_OUT_OF_MEMORY;
			goto out;
		}
		(*out)->affected = affected;
		(*out)->insert_id = insert_id;
	}
	goto out;
err:
	e = mysql_stmt_errno(st);
	snprintf(db->err, sizeof(db->err), "statement %d: %s", (int)s,
	    mysql_stmt_error(st));
	if (e == 0)
		e = CR_UNKNOWN_ERROR;
out:
	if (bind != sbind) {
		free(bind);
		free(plens);
		free(pnull);
		free(ints);
	}
	return e;
}

/* 1 if running s twice is harmless: reads, and the authentication counts
 * (a retry may count requests twice, never lose data). */
static int
retry_safe(enum db_stmt s)
{
	return strncmp(sqls[s], "SELECT", 6) == 0 || s == SQL_AUTH_COUNT ||
	    s == SQL_AUTH_SYNC || s == SQL_TX_BEGIN;
}

int
db_exec(struct db *db, enum db_stmt s, const struct db_val *p, size_t np,
    struct db_res **out)
{
	unsigned int e;
	int reconnects = 0, conflicts = 0, sent, was_tx, tx;

	if (out != NULL)
		*out = NULL;
	if (db->tx_run && db->tx_lost)
		return db->tx_lost;
#ifdef VIGIL_DEBUG
	if (db->tx_run && debug_lose_seen(s)) {
		snprintf(db->err, sizeof(db->err), "deadlock "
		    "(VIGIL_DEBUG_LOSE_SEEN)");
		return db->tx_lost = DB_RETRY;
	}
#endif
	if (db->tx_run && db->ntx_used < NELEM(db->tx_used))
		db->tx_used[db->ntx_used++] = (unsigned short)s;
	for (;;) {
		if (db_connect(db) != 0)
			return DB_DOWN;
		e = exec_once(db, s, p, np, out, &sent);
		db->errnum = e;
		if (e == 0)
			return 0;
		if (out != NULL) {
			db_res_free(*out);
			*out = NULL;
		}
		tx = db->in_tx;
		if (db->desync) {
			log_warn("db: %s; dropping the connection", db->err);
			db_disconnect(db);
		}
		switch (db_error_code(e)) {
		case DB_DUP:
			return DB_DUP;
		case DB_RETRY:
			/* Outside a transaction the statement was a
			 * transaction of its own, rolled back whole by the
			 * deadlock or the certification failure: running it
			 * again gives what it would have. Inside one, the
			 * caller replays the transaction (or answers 503). */
			if (!tx && ++conflicts < DB_ATTEMPTS) {
				log_warn("db: %s; trying again", db->err);
				db_conflict_pause(conflicts);
				continue;
			}
			log_warn("db: %s", db->err);
			if (db->tx_run)
				db->tx_lost = DB_RETRY;
			return DB_RETRY;
		case DB_DOWN:
			break;
		default:
			/* The server's error number too: what a 500 was
			 * answered for. */
			log_err("db: %s (error %u)", db->err, e);
			return DB_ERR;
		}
		/* The connection is gone, or its server cannot take
		 * statements now (a Galera node out of the primary component,
		 * a read-only server): drop it, so that the next connection
		 * goes where the proxy sends it now. */
		log_warn("db: connection lost or server not ready (%s, "
		    "error %u), reconnecting", db->err, e);
		/* Inside a transaction the work so far is lost: never go on
		 * on a fresh connection in autocommit. And a statement the
		 * server may have run is only repeated when running it twice
		 * does no harm. */
		was_tx = tx;
		db_disconnect(db);
		if (db->tx_run)
			db->tx_lost = DB_DOWN;
		if (was_tx || (sent && !retry_safe(s)) || ++reconnects >= 2)
			return DB_DOWN;
	}
}

static int tx_begin(struct db *);

/* Before a replay: prepare the statements the last run used, outside the
 * transaction, should the connection be new. A prepare inside a
 * transaction that a replicated write set aborts (Galera BF abort) has
 * been answered with a bare OK that left the client waiting for the rest
 * until the read timeout (30 s, Galera 4 with MariaDB 10.11); outside
 * one there is nothing to abort. */
static void
tx_prepare(struct db *db)
{
	unsigned int e;
	size_t i;

	if (db_connect(db) != 0)
		return;
	for (i = 0; i < db->ntx_used; i++)
		(void)stmt_get(db, (enum db_stmt)db->tx_used[i], &e);
}

void
db_conflict_pause(int n)
{
	static unsigned int seed;
	struct timespec ts;
	long ms;

	/* A few milliseconds, doubling each time up to 160, with jitter:
	 * the conflicting writer (another session, or a transaction
	 * replicated from another Galera node) commits meanwhile, and two
	 * writers that collided do not come back in step and collide
	 * again. */
	if (seed == 0)
		seed = (unsigned int)getpid() ^ (unsigned int)time(NULL) ^ 1u;
	seed = seed * 1103515245u + 12345u;
	ms = 5L << (n < 1 ? 0 : n > 5 ? 5 : n - 1);
	ms = ms / 2 + (long)((seed >> 16) % (unsigned int)ms);
	ts.tv_sec = 0;
	ts.tv_nsec = ms * 1000000L;
	(void)nanosleep(&ts, NULL);
}

int
db_tx_run(struct db *db, int (*fn)(struct db *, void *), void *arg)
{
	int attempt, lost, rc = DB_RETRY;

	/* Already inside a transaction (a domain function called from
	 * another's body): part of that one, which its own db_tx_run
	 * replays whole. */
	if (db->in_tx || db->tx_run)
		return fn(db, arg);
	db->ntx_used = 0;
	for (attempt = 1; attempt <= DB_ATTEMPTS; attempt++) {
		if (attempt > 1) {
			db_conflict_pause(attempt - 1);
			tx_prepare(db);
		}
		if ((rc = tx_begin(db)) != 0) {
			/* Nothing ran: a busy server (DB_RETRY) may take it
			 * a moment later. */
			if (rc == DB_RETRY)
				continue;
			return rc;
		}
		db->tx_run = 1;
		db->tx_abort = 0;
		db->tx_lost = 0;
		rc = fn(db, arg);
		db->tx_run = 0;
		/* Whatever the body made of it, a lost transaction is lost;
		 * and the body's statements after the loss were not run,
		 * among them the clears of what it told the triggers in
		 * the session (a user variable outlives a rollback): cleared
		 * after the rollback below, before a replay or another
		 * transaction on this connection counts with the triggers
		 * standing aside. */
		lost = db->tx_lost != 0;
		if (lost)
			rc = db->tx_lost;
		/* The body asked for a rollback (db_rollback) and returned
		 * what it decided: nothing to commit, nothing to replay
		 * unless it said DB_RETRY. */
		if (db->tx_abort && rc >= 0) {
			db_rollback(db);
			return rc;
		}
		if (rc == 0) {
#ifdef VIGIL_DEBUG
			if (attempt <= db->debug_conflicts) {
				log_warn("db: commit refused "
				    "(VIGIL_DEBUG_CONFLICTS, attempt %d of "
				    "%d)", attempt, DB_ATTEMPTS);
				db_rollback(db);
				rc = DB_RETRY;
				continue;
			}
#endif
			if ((rc = db_commit(db)) == 0)
				return 0;
			/* A commit refused as a deadlock or a certification
			 * failure was rolled back: run it all again. Any
			 * other failure of a commit (the connection lost)
			 * leaves it unknown whether it committed: never
			 * replay that. */
			if (rc != DB_RETRY)
				return rc;
			log_warn("db: transaction refused at commit; running "
			    "it again (attempt %d of %d)", attempt + 1,
			    DB_ATTEMPTS);
			continue;
		}
		db_rollback(db);
		/* A connection that dropped took its variables with it:
		 * nothing to clear, and no connection to make for it. */
		if (lost && rc == DB_RETRY && db->my != NULL)
			(void)db_exec(db, SQL_DB_SESSION_RESET, NULL, 0, NULL);
		if (rc != DB_RETRY && rc != DB_DOWN)
			return rc;
		/* The connection dropped mid-transaction (DB_DOWN): the
		 * server rolled it back, so running it again on a new
		 * connection is as safe as after a deadlock -- once. */
		if (rc == DB_DOWN && attempt > 1)
			return rc;
		if (rc == DB_RETRY)
			log_warn("db: transaction rolled back (%s); running "
			    "it again (attempt %d of %d)", db->err,
			    attempt + 1, DB_ATTEMPTS);
	}
	return rc;
}

int
db_exec_rows(struct db *db, enum db_stmt first, const struct db_val *p,
    size_t ncols, size_t nrows)
{
	static const size_t rows[] = { 64, 16, 4, 1 };
	size_t k, done = 0;
	int rc;

	for (k = 0; k < NELEM(rows); k++)
		while (nrows - done >= rows[k]) {
			if ((rc = db_exec(db, (enum db_stmt)(first + k),
			    p + done * ncols, rows[k] * ncols, NULL)) != 0)
				return rc;
			done += rows[k];
		}
	return 0;
}

/* Two parameters alike: the same type and value (SQL NULLs alike). */
static int
val_same(const struct db_val *a, const struct db_val *b)
{
	if (a->t != b->t)
		return 0;
	if (a->t == DBT_INT)
		return a->i == b->i;
	if (a->t == DBT_NULL)
		return 1;
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->s, b->s, a->len) == 0);
}

size_t
db_tally(const struct db_val *p, size_t ncols, size_t col, size_t nrows,
    size_t i)
{
	const struct db_val *v = &p[i * ncols + col];
	size_t j, k = 0;

	for (j = 0; j < i; j++)
		if (val_same(&p[j * ncols + col], v))
			return 0;
	for (j = i; j < nrows; j++)
		k += val_same(&p[j * ncols + col], v);
	return k;
}

int
db_exec_tally(struct db *db, enum db_stmt s, const char *tenant_id,
    const struct db_val *p, size_t ncols, size_t col, size_t nrows)
{
	size_t i, k;
	int rc = 0;

	for (i = 0; i < nrows && rc == 0; i++)
		if ((k = db_tally(p, ncols, col, nrows, i)) > 0)
			rc = db_exec(db, s, (struct db_val[]){
			    DB_STR(tenant_id), p[i * ncols + col], DB_INT(k) },
			    3, NULL);
	return rc;
}

int
db_exec_affected(struct db *db, enum db_stmt s, const struct db_val *p,
    size_t np, unsigned long long *affected)
{
	struct db_res *res = NULL;
	int rc;

	*affected = 0;
	if ((rc = db_exec(db, s, p, np, &res)) != 0)
		return rc;
	*affected = res->affected;
	db_res_free(res);
	return 0;
}

int
db_exec_drain(struct db *db, enum db_stmt s, const struct db_val *p,
    size_t np, unsigned long long limit, long long *n)
{
	unsigned long long got;
	int rc;

	do {
		if ((rc = db_exec_affected(db, s, p, np, &got)) != 0)
			return rc;
		*n += (long long)got;
	} while (got == limit);
	return 0;
}

int
db_ping(struct db *db)
{
	return db_exec(db, SQL_PING, NULL, 0, NULL);
}

static int
tx_command(struct db *db, const char *what)
{
	my_bool rc;
	int e;

	if (strcmp(what, "begin") == 0) {
		/* START TRANSACTION, not autocommit off: the connection stays
		 * in autocommit mode, so a commit or rollback ends the
		 * transaction in one round trip and leaves nothing to switch
		 * back. */
		if ((e = db_exec(db, SQL_TX_BEGIN, NULL, 0, NULL)) == 0)
			db->in_tx = 1;
		return e;
	}
	if (db_connect(db) != 0)
		return DB_DOWN;
	rc = strcmp(what, "commit") == 0 ? mysql_commit(db->my) :
	    mysql_rollback(db->my);
	db->in_tx = 0;
	if (rc == 0)
		return 0;
	snprintf(db->err, sizeof(db->err), "%s: %s", what, mysql_error(db->my));
	/* A commit Galera refused (certification failure, 1213) rolled
	 * the transaction back: the caller may run it again, on this same
	 * connection once a rollback confirms nothing is open. Keeping it
	 * keeps its prepared statements too: on a new connection the replay
	 * would prepare them again inside its transaction, and a prepare
	 * that a replicated write set aborts (BF abort) can be answered
	 * with a bare OK that leaves the client waiting for the rest until
	 * the read timeout (30 s, seen on Galera 4 / MariaDB 10.11). */
	e = db_error_code(mysql_errno(db->my)) == DB_RETRY ? DB_RETRY :
	    DB_DOWN;
	if (e == DB_RETRY) {
		log_warn("db: %s", db->err);
		if (mysql_rollback(db->my) == 0)
			return e;
	} else
		log_err("db: %s (error %u)", db->err, mysql_errno(db->my));
	/* Never leave a connection behind whose transaction may still be
	 * open: the next statement would run inside it. */
	db_disconnect(db);
	return e;
}

static int
tx_begin(struct db *db)
{
	int rc;

	/* Nothing has happened yet, so a connection found dead here may be
	 * replaced once. */
	if ((rc = tx_command(db, "begin")) == DB_DOWN)
		rc = tx_command(db, "begin");
	return rc;
}

int
db_begin(struct db *db)
{
	/* A body of db_tx_run is in its transaction already. */
	if (db->tx_run)
		return 0;
	return tx_begin(db);
}

int
db_commit(struct db *db)
{
	/* db_tx_run commits once its body returns. */
	if (db->tx_run)
		return 0;
	return tx_command(db, "commit");
}

int
db_rollback(struct db *db)
{
	if (db->tx_run) {
		db->tx_abort = 1;
		return 0;
	}
	if (db->my == NULL) {
		db->in_tx = 0;
		return 0;
	}
	return tx_command(db, "rollback");
}
