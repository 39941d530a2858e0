/* db.h: the database layer. Every statement is prepared from the table in
 * db.c and named by an enum; nothing builds SQL from request text. */
#ifndef VIGIL_DB_H
#define VIGIL_DB_H

#include <stddef.h>
#include <string.h>

struct conf;

/* How many ids SQL_SPOOL_CLAIM and SQL_SPOOL_EVENT_DONE take at once. */
#define SPOOL_IN 16
/* How many ids SQL_FINDING_GET_MANY* and SQL_FINDING_SEEN_MANY take (a
 * shorter list repeats its last id). */
#define DB_MANY 256
/* How many ranges of seqs SQL_FINDING_SEEN_RUNS and SQL_SOURCE_SEEN_RUNS
 * take (fewer repeat the last). */
#define DB_SEEN_RUNS 8

/* A list's total with a "since" filter counts the matches among at most
 * this many rows at or after the time (SQL_*_COUNT_SINCE): past it, the
 * total is a lower bound. */
#define LIST_SINCE_CAP   10000
#define LIST_SINCE_CAP_S "10000"
/* Their columns: the matches, and how many rows were read for them (the
 * cap when the count stopped there). */
enum { LIST_SINCE_C_MATCHES, LIST_SINCE_C_READ };
/* A list's total with a tag filter counts the matches among the newest
 * this many findings carrying the tag (SQL_FINDING_COUNT_TAG; same
 * columns): a few pages' worth of rows, whatever the tag's spread. */
#define LIST_TAG_CAP   1000
#define LIST_TAG_CAP_S "1000"

enum db_stmt {
	SQL_PING,
	SQL_TX_BEGIN,
	/* tenants */
	SQL_TENANT_INSERT,
	SQL_TENANT_BY_NAME,
	SQL_TENANT_LIST,
	SQL_TENANT_SET_LIMITS,
	SQL_TENANT_SET_INGEST,
	/* api keys */
	SQL_KEY_INSERT,
	SQL_KEY_GET,
	SQL_KEY_LIST,
	SQL_KEY_LIST_ALL,
	SQL_KEY_COUNT_ACTIVE,
	SQL_KEY_REVOKE,
	SQL_KEY_LOCK_TENANT,
	SQL_KEY_TENANT,
	/* authentication and rate limit in one round trip */
	SQL_AUTH_COUNT,
	SQL_AUTH_SYNC,
	SQL_AUTH_INFO,
	SQL_AUTH_USABLE,
	SQL_KEY_TOUCH,
	/* audit */
	SQL_AUDIT_LAST,
	SQL_AUDIT_LOCK_HEAD,
	SQL_AUDIT_INSERT,
	/* findings (findings.c) */
	SQL_FINDING_GET,
	SQL_FINDING_GET_LOCK,
	SQL_FINDING_LOCK_HEAD,
	SQL_FINDING_INSERT,
	SQL_FINDING_UPDATE_STATE,
	SQL_FINDING_UPDATE_DESC,
	SQL_FINDING_PATCH,
	SQL_FINDING_LIST,
	SQL_FINDING_LIST_SCAN,
	SQL_FINDING_LIST_STATES,
	SQL_FINDING_LIST_STATES_CAT,
	SQL_FINDING_LIST_PAIRS_4,
	SQL_FINDING_LIST_PAIRS_24,
	SQL_FINDING_COUNT_PAIRS,
	SQL_FINDING_LIST_SEV,
	SQL_FINDING_LIST_CAT,
	SQL_FINDING_COUNT,
	SQL_FINDING_COUNT_SINCE,
	SQL_FINDING_DUE,
	SQL_FINDING_PRESENT,
	SQL_HISTORY_INSERT,
	SQL_HISTORY_LIST,
	SQL_EVENT_INSERT,
	/* the scanner's batches (findings_observe_batch): the *_64 statements
	 * are followed by their 16-, 4- and 1-row forms (db_exec_rows) */
	SQL_FINDING_GET_MANY,
	SQL_FINDING_GET_MANY_EVID,
	SQL_FINDING_SEEN_MANY,
	SQL_FINDING_SEEN_RUNS,
	SQL_FINDING_ABSENT,
	SQL_FINDING_ABSENT_SEQS,
	SQL_FINDING_UPSERT_64,
	SQL_FINDING_UPSERT_16,
	SQL_FINDING_UPSERT_4,
	SQL_FINDING_UPSERT_1,
	SQL_HISTORY_INSERT_64,
	SQL_HISTORY_INSERT_16,
	SQL_HISTORY_INSERT_4,
	SQL_HISTORY_INSERT_1,
	SQL_EVENT_INSERT_64,
	SQL_EVENT_INSERT_16,
	SQL_EVENT_INSERT_4,
	SQL_EVENT_INSERT_1,
	SQL_AUDIT_INSERT_64,
	SQL_AUDIT_INSERT_16,
	SQL_AUDIT_INSERT_4,
	SQL_AUDIT_INSERT_1,
	SQL_SCAN_RESULT_ADD_64,
	SQL_SCAN_RESULT_ADD_16,
	SQL_SCAN_RESULT_ADD_4,
	SQL_SCAN_RESULT_ADD_1,
	SQL_SETTINGS_LIFECYCLE,
	SQL_SETTINGS_LIFECYCLE_LOCK,
	/* settings, posture, audit API (add below this line) */
	SQL_SETTINGS_GET,
	SQL_SETTINGS_ALLOWLIST,
	SQL_SETTINGS_GET_LOCK,
	SQL_SETTINGS_UPSERT,
	SQL_POSTURE_SEVERITY,
	SQL_POSTURE_COUNTS,
	SQL_POSTURE_TOP,
	SQL_AUDIT_LIST,
	SQL_AUDIT_COUNT,
	SQL_AUDIT_COUNT_SINCE,
	SQL_AUDIT_RANGE,
	SQL_AUDIT_HEAD,
	SQL_AUDIT_CHAIN,
	/* scanner (scan.c, integrations, scans, rules API) */
	SQL_SCAN_GET,
	SQL_SCAN_GET_TENANT,
	SQL_SCAN_INSERT,
	SQL_SCAN_START,
	SQL_SCAN_PROGRESS,
	SQL_SCAN_FINISH,
	SQL_SCAN_FAIL,
	SQL_SCAN_RUNNING,
	SQL_SCAN_QUEUED,
	SQL_SCAN_ACTIVE_FOR,
	SQL_SCAN_LIST,
	SQL_SCAN_COUNT,
	SQL_SCAN_RESULT_INSERT,
	SQL_SCAN_RESULT_SET,
	SQL_SCAN_RESULTS,
	SQL_SCAN_RESULTS_COUNT,
	SQL_SCAN_RESULTS_TOTAL,
	SQL_SCAN_OPEN_COUNTS,
	SQL_SCAN_ABSENT,
	SQL_SCAN_REMEDIATION,
	SQL_SCAN_DUE_INTEGRATIONS,
	SQL_INTEGRATION_GET,
	SQL_INTEGRATION_GET_TENANT,
	SQL_INTEGRATION_LOCK,
	SQL_INTEGRATION_INSERT,
	SQL_INTEGRATION_LIST,
	SQL_INTEGRATION_COUNT,
	SQL_INTEGRATION_DELETE,
	SQL_INTEGRATION_SCANNED,
	/* webhooks (webhooks.c, deliveries.c, events.c) */
	SQL_WEBHOOK_INSERT,
	SQL_WEBHOOK_GET,
	SQL_WEBHOOK_LIST,
	SQL_WEBHOOK_COUNT,
	SQL_WEBHOOK_DELETE,
	SQL_WEBHOOK_ENABLE,
	SQL_DELIVERY_CANCEL,
	SQL_DELIVERY_GET,
	SQL_DELIVERY_LIST,
	SQL_DELIVERY_COUNT,
	SQL_DELIVERY_RETRY,
	SQL_EVENT_LIST,
	SQL_EVENT_COUNT,
	SQL_EVENT_COUNT_SINCE,
	/* vigil-spool (spool.c) */
	SQL_SPOOL_EVENTS,
	SQL_SPOOL_WEBHOOKS,
	SQL_SPOOL_DELIVERY_ADD,
	SQL_SPOOL_EVENT_DONE,
	SQL_SPOOL_DUE_LEASED,
	SQL_SPOOL_DUE,
	SQL_SPOOL_WEBHOOK_DUE_OFF,
	SQL_SPOOL_CLAIM,
	SQL_SPOOL_CLAIMED,
	SQL_SPOOL_DONE,
	SQL_SPOOL_WEBHOOK_OK,
	SQL_SPOOL_WEBHOOK_FAILING,
	SQL_SPOOL_WEBHOOK_DISABLE,
	SQL_SPOOL_WEBHOOK_DROP,
	/* retention (vigilctl events prune) */
	SQL_PRUNE_HORIZON,
	SQL_PRUNE_DELIVERIES,
	SQL_PRUNE_EVENTS,
	SQL_PRUNE_REPORTS,
	/* alerts (alerts.c): the *_64 statements are followed by their 16-,
	 * 4- and 1-row forms (db_exec_rows) */
	SQL_ALERT_TENANT_SHARE,
	SQL_ALERT_INSERT_ONE,
	SQL_ALERT_BY_SEQ,
	SQL_ALERT_FIND_64,
	SQL_ALERT_UPSERT_64,
	SQL_ALERT_UPSERT_16,
	SQL_ALERT_UPSERT_4,
	SQL_ALERT_UPSERT_1,
	SQL_OBS_INSERT_64,
	SQL_OBS_INSERT_16,
	SQL_OBS_INSERT_4,
	SQL_OBS_INSERT_1,
	SQL_OBS_SEQS_64,
	SQL_OBS_SEQS_16,
	SQL_OBS_SEQS_4,
	SQL_ALERT_LINK_ONE_64,
	SQL_ALERT_LINK_ONE_16,
	SQL_ALERT_LINK_ONE_4,
	SQL_ALERT_LINK_64,
	SQL_ALERT_LINK_16,
	SQL_ALERT_LINK_4,
	SQL_ALERT_LINK_1,
	SQL_ALERT_HISTORY_64,
	SQL_ALERT_HISTORY_16,
	SQL_ALERT_HISTORY_4,
	SQL_ALERT_HISTORY_1,
	SQL_ALERT_ANY_SUPPRESSION,
	SQL_ALERT_SUPPRESSED_64,
	SQL_ALERT_SUPPRESSED_16,
	SQL_ALERT_SUPPRESSED_4,
	SQL_ALERT_GET,
	SQL_ALERT_GET_LOCK,
	SQL_ALERT_OBSERVABLES,
	SQL_ALERT_LIST,
	SQL_ALERT_COUNT,
	SQL_ALERT_PATCH,
	SQL_ALERT_DISMISS,
	SQL_ALERT_HISTORY_LIST,
	/* case attachments (attachments.c) */
	SQL_ATTACHMENT_CASE,
	SQL_ATTACHMENT_INSERT,
	SQL_ATTACHMENT_CHUNK_INSERT,
	SQL_ATTACHMENT_COMPLETE,
	SQL_ATTACHMENT_GET,
	SQL_ATTACHMENT_CHUNK,
	SQL_ATTACHMENT_LIST,
	SQL_ATTACHMENT_COUNT,
	SQL_ATTACHMENT_ALL,
	SQL_ATTACHMENT_DELETE,
	SQL_ATTACHMENT_CHUNKS_DELETE,
	SQL_ATTACHMENT_TIMELINE,
	/* findings by resource metadata (issue 13) */
	SQL_FINDING_LIST_RTYPE,
	SQL_FINDING_LIST_RGROUP,
	SQL_FINDING_LIST_REGION,
	SQL_FINDING_LIST_SOURCE,
	SQL_FINDING_LIST_TAG,
	SQL_FINDING_COUNT_META,
	SQL_FINDING_COUNT_TAG,
	/* one metadata filter beside state and severity: covered */
	SQL_FINDING_LIST_RTYPE_ONLY,
	SQL_FINDING_LIST_RGROUP_ONLY,
	SQL_FINDING_LIST_REGION_ONLY,
	SQL_FINDING_LIST_SOURCE_ONLY,
	SQL_FINDING_LIST_TAG_ONLY,
	SQL_FINDING_COUNT_META_KEPT,
	SQL_FINDING_COUNT_TAG_KEPT,
	/* Idempotency-Key (idempotency.c) and the observables API
	 * (observables.c), migration 0023 */
	SQL_IDEM_CLAIM,
	SQL_IDEM_GET,
	SQL_IDEM_TAKEOVER,
	SQL_IDEM_FINISH,
	SQL_IDEM_RELEASE,
	SQL_IDEM_PRUNE,
	SQL_OBSERVABLE_FIND,
	SQL_OBSERVABLE_CASE_HITS,
	SQL_OBSERVABLE_ALERT_HITS,
	SQL_SUPPRESSION_INSERT,
	SQL_SUPPRESSION_GET,
	SQL_SUPPRESSION_GET_LOCK,
	SQL_SUPPRESSION_DELETE,
	SQL_SUPPRESSION_LIST_ACTIVE,
	SQL_SUPPRESSION_LIST_EXPIRED,
	SQL_SUPPRESSION_LIST_ALL,
	SQL_SUPPRESSION_COUNT,
	/* imports (imports.c) */
	SQL_IMPORT_INSERT,
	SQL_IMPORT_CHUNK_INSERT,
	SQL_IMPORT_RECEIVED,
	SQL_IMPORT_INSERT_LOCAL,
	SQL_IMPORT_CHUNK,
	SQL_IMPORT_CLAIM,
	SQL_IMPORT_FINISH,
	SQL_IMPORT_PROGRESS,
	SQL_IMPORT_CHUNKS_DELETE,
	SQL_IMPORT_GET,
	SQL_IMPORT_LIST,
	SQL_IMPORT_COUNT,
	SQL_IMPORT_DUE,
	SQL_IMPORT_DUE_ONE,
	SQL_SOURCE_ABSENT,
	SQL_SOURCE_DELETE_MANY,
	SQL_SOURCE_REMAINING_MANY,
	SQL_SOURCE_OF_MANY,
	SQL_SOURCE_LIST,
	/* followed by its 16-, 4- and 1-row forms (db_exec_rows) */
	SQL_SOURCE_UPSERT_64,
	SQL_SOURCE_UPSERT_16,
	SQL_SOURCE_UPSERT_4,
	SQL_SOURCE_UPSERT_1,
	/* mute rules (mutes.c) */
	SQL_MUTE_INSERT,
	SQL_MUTE_GET,
	SQL_MUTE_LIST,
	SQL_MUTE_COUNT,
	SQL_MUTE_COUNT_LIVE,
	SQL_MUTE_LIVE,
	SQL_MUTE_DELETE,
	SQL_MUTE_DUE,
	SQL_MUTE_LAPSE,
	SQL_MUTE_PASS_PAGE,
	/* rules per tenant (tenantrules.c) */
	SQL_RULESET_SETTINGS,
	SQL_RULESET_SET,
	SQL_RULESET_CUSTOM,
	SQL_RULESET_CUSTOM_INSERT,
	SQL_RULESET_CUSTOM_COUNT,
	SQL_RULESET_CUSTOM_DELETE,
	SQL_RULESET_SETTING_DELETE,
	SQL_RULESET_FINDINGS,
	/* cases (cases.c) */
	SQL_CASE_INSERT,
	SQL_CASE_GET,
	SQL_CASE_LOCK,
	SQL_CASE_LIST,
	SQL_CASE_COUNT,
	SQL_CASE_UPDATE,
	SQL_CASE_RESOLVE,
	SQL_CASE_REOPEN,
	SQL_CASE_TOUCH,
	SQL_CASE_TIMELINE_INSERT,
	SQL_CASE_TIMELINE_LIST,
	SQL_CASE_TIMELINE_COUNT,
	SQL_CASE_ALERTS,
	SQL_CASE_FINDINGS,
	SQL_CASE_OBSERVABLES,
	SQL_CASE_OBSERVABLE_COUNT,
	SQL_CASE_ALERT_LOCK,
	SQL_CASE_ALERT_OBSERVABLES,
	SQL_CASE_ALERT_ESCALATE,
	SQL_CASE_ALERT_HISTORY,
	SQL_CASE_ALERT_LINK,
	SQL_CASE_OBSERVABLES_MERGE,
	SQL_CASE_FINDING_GET,
	SQL_CASE_FINDING_LINK,
	/* importgaps: import leases, mute passes, tag counts */
	SQL_IMPORT_LEASE,
	SQL_IMPORT_ABANDON,
	SQL_IMPORT_RUNNING_OTHER,
	SQL_IMPORT_OVERLAP_SET,
	SQL_IMPORT_OVERLAP_CLEAR,
	SQL_IMPORT_OVERLAP_GET,
	SQL_MUTE_PASS_INSERT,
	SQL_MUTE_PASS_SAVE,
	SQL_MUTE_PASS_DUE,
	SQL_MUTE_PASS_CLAIM,
	SQL_MUTE_PASS_OF,
	/* compliance (compliance.c), migration 0035 */
	SQL_COMPLIANCE_RULE_COUNTS,
	SQL_COMPLIANCE_RULE_FINDINGS,
	/* SLAs (sla.c; GET /findings by due date, findings.c) */
	SQL_SLA_GET,
	SQL_SLA_UPSERT,
	SQL_SLA_ALERT,
	SQL_SLA_CASE,
	SQL_SLA_PENDING,
	SQL_SLA_FINDING_LOCK,
	SQL_SLA_FINDING_MARK,
	SQL_SLA_EVENT_INSERT,
	SQL_SLA_EVENT_COUNT,
	SQL_SLA_EVENT_LIST,
	SQL_FINDING_LIST_DUE,
	SQL_FINDING_LIST_DUE_ROWS,
	SQL_FINDING_COUNT_DUE,
	SQL_FINDING_COUNT_DUE_ROWS,
	SQL_FINDING_DUE_DAYS,
	SQL_OBS_TOUCH_64,
	SQL_OBS_TOUCH_16,
	SQL_OBS_TOUCH_4,
	SQL_OBS_TOUCH_1,
	SQL_ALERT_SEQ_OF,
	SQL_OBS_COUNT_ADD_64,
	SQL_OBS_COUNT_ADD_16,
	SQL_OBS_COUNT_ADD_4,
	SQL_OBS_COUNT_ADD_1,
	SQL_OBS_COUNT_ALERT,
	/* reports and the daily counts (reports.c, reportdoc.c) */
	SQL_REPORT_INSERT,
	SQL_REPORT_GET,
	SQL_REPORT_LIST,
	SQL_REPORT_COUNT,
	SQL_REPORT_DUE,
	SQL_REPORT_CLAIM,
	SQL_REPORT_CLAIMED,
	SQL_REPORT_FINISH,
	SQL_REPORT_CONTENT,
	SQL_REPORT_TENANT_NAME,
	SQL_DAILY_SNAPSHOT,
	SQL_DAILY_RANGE,
	SQL_DAILY_OPEN_NOW,
	SQL_DAILY_OVERDUE_NOW,
	SQL_DAILY_TOP_RESOURCES,
	/* notification channels */
	SQL_CHANNEL_INSERT,
	SQL_CHANNEL_GET,
	SQL_CHANNEL_LIST,
	SQL_CHANNEL_COUNT,
	SQL_CHANNEL_UPDATE,
	SQL_SPOOL_DIGEST_ADD,
	SQL_SPOOL_DIGEST_DUE,
	SQL_SPOOL_DIGEST_ITEMS,
	SQL_SPOOL_DIGEST_DROP,
	/* GET /findings/{id} in one round trip (findings.c) */
	SQL_FINDING_GET_SOURCES,
	SQL_SCAN_LEASE_GET,
	SQL_SCAN_LEASE_TAKE,
	SQL_SCAN_LEASE_RENEW,
	SQL_SCAN_LEASE_DROP,
	/* the session (db_connect) and vigilctl migrate's lease and server
	 * check (migrate.c) */
	SQL_DB_WSREP_ON,
	SQL_DB_SESSION_RESET,
	SQL_DB_SYNC_WAIT,
	SQL_DB_LOCK_WAIT,
	SQL_MIGRATE_LEASE_TAKE,
	SQL_MIGRATE_LEASE_RENEW,
	SQL_MIGRATE_LEASE_GET,
	SQL_MIGRATE_LEASE_DROP,
	SQL_MIGRATE_SERVER,
	SQL_MIGRATE_WSREP_STATUS,
	SQL_MIGRATE_OWN_TABLES,
	SQL_MIGRATE_APPLIED,
	SQL_MIGRATE_RECORD,
	SQL_MIGRATE_FORGET,
	/* vigilctl secrets (secrets.c): a page of sealed values after an id
	 * that are not sealed with the current key, and a re-seal that
	 * changes a value only if no one else changed it meanwhile */
	SQL_SECRETS_WEBHOOKS_PAGE,
	SQL_SECRETS_WEBHOOKS_RESEAL,
	SQL_SECRETS_INTEGRATIONS_PAGE,
	SQL_SECRETS_INTEGRATIONS_RESEAL,
	/* vigilctl config check: the migrations applied */
	SQL_MIGRATIONS_APPLIED,
	/* every program's check of the schema (migrate.c migrate_schema) */
	SQL_SCHEMA_VERSION,
	/* GET /metrics and /healthz: the outbox and scans (ops.c) */
	SQL_OPS_OUTBOX,
	SQL_OPS_SCANS,
	/* importcpu: an import's source rows per batch */
	SQL_SOURCE_SEEN_MANY,
	SQL_SOURCE_SEEN_RUNS,
	SQL_FINDING_GET_MANY_SRC,
	SQL_FINDING_GET_RANGE,
	SQL_FINDING_GET_RANGE_SRC,
	/* the batch writer's set-based counts (findings.c batch_write,
	 * migration 0039) */
	SQL_FINDING_BATCH_SCHEMA,
	SQL_FINDING_BATCH_BEGIN,
	SQL_FINDING_BATCH_OLD,
	SQL_FINDING_BATCH_NEW,
	SQL_FINDING_BATCH_END,
	SQL_FINDING_BATCH_CLEAR,
	SQL_FINDING_SEEN_ASIDE,
	SQL_MIGRATE_GRANTS,
	SQL_MIGRATE_WHO,
	SQL_MIGRATE_DEFINER,
	/* the batch writer's events, audit entries and history counted,
	 * chained and put on case timelines once per batch (findings.c
	 * batch_write, audit.c audit_append_many, migration 0045), and an
	 * alert batch's events counted once (alerts.c, events.c
	 * events_count_deferred, migration 0049) */
	SQL_BATCH_CASE_LINKED,
	SQL_BATCH_DEFER_BEGIN,
	SQL_EVENT_COUNT_DEFERRED,
	SQL_AUDIT_COUNT_DEFERRED,
	SQL_AUDIT_HEAD_DEFERRED,
	SQL_BATCH_DEFER_END,
	/* the tenant's SLA policy handed to findings_sla_insert once per
	 * batch (findings.c batch_write, migration 0046) */
	SQL_BATCH_SLA_BEGIN,
	SQL_BATCH_SLA_END,
	SQL__COUNT
};

enum db_type { DBT_NULL, DBT_INT, DBT_STR };

struct db_val {
	enum db_type	 t;
	long long	 i;
	const char	*s;
	size_t		 len;
};

#define DB_INT(x)  ((struct db_val){ DBT_INT, (long long)(x), NULL, 0 })
#define DB_STR(x)  ((struct db_val){ DBT_STR, 0, (x), strlen(x) })
#define DB_STRN(x, n) ((struct db_val){ DBT_STR, 0, (x), (n) })
#define DB_NUL     ((struct db_val){ DBT_NULL, 0, NULL, 0 })
/* A string or NULL when the pointer is NULL. */
#define DB_STR0(x) ((x) ? DB_STR(x) : DB_NUL)

/* A result: every cell as text (NULL pointer for SQL NULL), row-major. */
struct db_res {
	size_t		  nrows;
	size_t		  ncols;
	char		**cells;	/* into rowbufs; NULL for SQL NULL */
	unsigned long	 *lens;
	char		**rowbufs;	/* one allocation per row */
	size_t		  cap;		/* rows cells, lens, rowbufs hold */
	unsigned long long affected;
	unsigned long long insert_id;
};

/* Return codes of db_exec besides 0. */
#define DB_ERR    (-1)   /* anything else: logged, reply 500/503 */
#define DB_DUP    (-2)   /* duplicate key */
#define DB_DOWN   (-3)   /* unreachable, or not taking statements now */
#define DB_RETRY  (-4)   /* deadlock, lock wait timeout, certification failure */

struct db;

/* The DB_* code for a server or client error number (0 for 0): DB_DUP,
 * DB_RETRY (deadlock, lock wait timeout, Galera certification failure),
 * DB_DOWN (connection lost, or a server that cannot take statements now:
 * a Galera node not ready, read-only mode), else DB_ERR. */
int	 db_error_code(unsigned int);

/* How many times a transaction is run in all when it meets a deadlock, a
 * lock wait timeout or a Galera certification failure (DB_RETRY): db_exec
 * does it for a statement outside a transaction, db_tx_run for a whole
 * transaction; pausing db_conflict_pause(n) (a few milliseconds, doubling,
 * with jitter) before the n-th rerun. Past it the caller gets DB_RETRY and
 * the client 503 with Retry-After. */
#define DB_ATTEMPTS 5
void	 db_conflict_pause(int);

/* A handle; nothing connects until the first statement (so it may be
 * created before fork). */
struct db *db_new(const struct conf *);
struct db *db_new_like(const struct db *);
/* Every connection of this handle (and of those made like it) fails at
 * once with why as its error, as if the database could not be reached:
 * vigilctl's handle when vigil.conf could not be loaded, so that a
 * command checks its arguments first and meets the configuration's error
 * where it would first need the database. why must outlive the handle. */
void	 db_refuse(struct db *, const char *why);
void	 db_free(struct db *);
/* The exit status (exits.h) for a program stopped by this handle's last
 * failure: VX_DBDOWN if the database could not be reached or the
 * connection was lost, else VX_SOFTWARE. */
int	 db_exit(struct db *);
/* Connect now if not connected; 0 or DB_DOWN. */
int	 db_connect(struct db *);
/* vigilctl migrate's runner: every connection the handle makes from now
 * on waits at most secs seconds (1 to DB_LOCK_WAIT_MAX) for a lock, a
 * table's metadata lock (lock_wait_timeout, whose default is a day) or
 * a row's (innodb_lock_wait_timeout), then fails with
 * ER_LOCK_WAIT_TIMEOUT; and its read timeout is secs + 30 s instead of
 * 30 s, so that the server's answer comes before the client gives up. A
 * connection already made is dropped first. 0 goes back to the
 * server's defaults. */
#define DB_LOCK_WAIT_MAX 86400
void	 db_set_lock_wait(struct db *, int secs);
/* vigilctl migrate's runner too: every connection the handle makes from
 * now on waits secs seconds (1 to DB_LOCK_WAIT_MAX; 0: 30 s, as every
 * other connection) for the server's answer to a statement, plus the
 * lock wait above. A migration's DDL may run for many minutes on a large
 * estate's tables (an index added to findings rebuilds it), and a read
 * timeout cut such a statement off while the server went on with it. A
 * connection already made is dropped first. */
void	 db_set_read_timeout(struct db *, int secs);
/* Execute a prepared statement with params; when out is not NULL the
 * result rows are returned (caller frees with db_res_free). Reconnects
 * and retries once when the connection was lost outside a transaction. */
int	 db_exec(struct db *, enum db_stmt, const struct db_val *params,
	    size_t nparams, struct db_res **out);
/* Insert nrows rows of ncols parameters each (p, row after row) with the
 * multi-row statement first (64 rows) and the three that follow it in
 * enum db_stmt (16, 4 and 1 rows): few round trips, SQL text fixed. 0 or
 * a DB_* code. */
int	 db_exec_rows(struct db *, enum db_stmt first,
	    const struct db_val *p, size_t ncols, size_t nrows);
/* The list counts of rows just inserted (p, ncols values a row, as
 * db_exec_rows takes them), one statement per key: s runs once for each
 * distinct value of column col among the nrows rows, in the order of its
 * first row, with (tenant_id, the value, how many rows have it). For the
 * writers that count their own events per type and audit entries per
 * action (SQL_EVENT_COUNT_DEFERRED, SQL_AUDIT_COUNT_DEFERRED). 0 or a
 * DB_* code (the statements before it stay done). */
int	 db_exec_tally(struct db *, enum db_stmt, const char *tenant_id,
	    const struct db_val *p, size_t ncols, size_t col, size_t nrows);
/* How many of the nrows rows have row i's value in column col (the same
 * type and value), counting row i, when row i is the first to have it; 0
 * when an earlier row has it. Pure. */
size_t	 db_tally(const struct db_val *p, size_t ncols, size_t col,
	    size_t nrows, size_t i);
/* db_exec for a write whose result is how many rows it changed: 0 with
 * *affected set, or a DB_* code (*affected 0). */
int	 db_exec_affected(struct db *, enum db_stmt,
	    const struct db_val *params, size_t nparams,
	    unsigned long long *affected);
/* A DELETE ... LIMIT limit, run again until it deletes fewer than limit
 * rows, each run its own statement (so no one transaction holds them
 * all): 0 with the rows deleted added to *n, or a DB_* code (what the runs
 * before deleted stays deleted and counted). */
int	 db_exec_drain(struct db *, enum db_stmt, const struct db_val *params,
	    size_t nparams, unsigned long long limit, long long *n);
/* One round trip to the server (connecting, or reconnecting once, as
 * db_exec does): 0 if it answered, else a DB_* code. For health checks. */
int	 db_ping(struct db *);
void	 db_res_free(struct db_res *);
const char *db_cell(const struct db_res *, size_t row, size_t col);
long long db_cell_int(const struct db_res *, size_t row, size_t col);
/* A copy of a cell for a row struct to own (free), NULL for SQL NULL;
 * *oom set (and NULL) when the copy could not be made. */
char	*db_cell_dup(const struct db_res *, size_t row, size_t col, int *oom);
/* A transaction by hand (migrations, vigilctl's own). Inside a body of
 * db_tx_run they join its transaction: db_begin does nothing, db_commit
 * leaves the commit to db_tx_run, and db_rollback has it roll back once
 * the body returns (and return the body's value), so that a domain
 * function written as one begin..commit can be run, and replayed, by
 * db_tx_run whole. */
int	 db_begin(struct db *);
/* Run fn(db, arg) in a transaction and commit it. fn returns 0 to commit,
 * a DB_* code, or a positive value of its own to roll back and have
 * db_tx_run return it. A deadlock, lock wait timeout or certification
 * failure (DB_RETRY, from fn's statements or from the commit) rolls back
 * and runs fn again, up to DB_ATTEMPTS times in all, and so does a
 * connection lost before the commit (DB_DOWN), once: fn must therefore
 * start from its inputs every time, resetting whatever it computes or
 * hands back (ids, counts, reply, queued work). Returns 0, fn's positive
 * value, or a DB_* code (DB_RETRY when the attempts ran out). Called
 * inside a transaction, it runs fn in that one (whose own db_tx_run
 * replays it). */
int	 db_tx_run(struct db *, int (*fn)(struct db *, void *), void *arg);
#ifdef VIGIL_DEBUG
/* Test hook of debug builds: refuse each transaction's first n commits in
 * db_tx_run as a Galera certification failure would (n < 0: back to
 * VIGIL_DEBUG_CONFLICTS from the environment). Returns the previous n. */
int	 db_debug_conflicts(struct db *, int n);
#endif
int	 db_commit(struct db *);
int	 db_rollback(struct db *);
/* 1 when probe, a statement without parameters that reads
 * schema_migrations (e.g. SQL_FINDING_BATCH_SCHEMA), returns a row: the
 * migration is applied. A migration is never taken back, so a 1 is kept
 * for the connection and not asked again until it is made anew; a 0 is
 * asked again at each call (a migration may run meanwhile). 1, 0 or a
 * DB_* code. */
int	 db_schema_has(struct db *, enum db_stmt probe);
/* How many connections the handle has made: it changes when a new one is
 * made (the first, or after one was lost), for a caller that keeps what
 * it learnt of the server for a connection (vigil-api's schema check). */
unsigned long db_connects(const struct db *);
/* The server's (or the client library's) error number of the last
 * statement db_exec ran, 0 when it succeeded: for a caller that must tell
 * one DB_ERR from another (a table that is not there, ER_NO_SUCH_TABLE). */
unsigned int db_errno(const struct db *);
/* The raw connection for the migration runner only. */
void	*db_mysql(struct db *);
/* The configuration the handle was made with. */
const struct conf *db_conf(const struct db *);
const char *db_error(struct db *);
/* db's last error becomes from's (the error of a writer thread's
 * connection, reported by the thread that owns the work). */
void	 db_error_take(struct db *db, const struct db *from);

#endif
