/* audit.h: the per-tenant audit log, each entry hashed onto the last:
 * appending, verifying a chain, and reading it back for the API (a page
 * newest first, an export in chain order with the chain's head). */
#ifndef VIGIL_AUDIT_H
#define VIGIL_AUDIT_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

struct db;

#define AUDIT_GENESIS \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* The entry hash: lowercase hex SHA-256 over the JSON array
 * [prev_hash, seq, at, actor, action, object, detail]. Pure. */
void	 audit_hash(const char *prev_hash, long long seq, const char *at,
	    const char *actor, const char *action, const char *object,
	    const char *detail, char out[65]);
/* Append an entry inside the caller's open transaction (locks the
 * tenant's chain head). detail is borrowed (may be NULL). 0 or a DB_*
 * error code. */
int	 audit_append(struct db *, const char *tenant_id, const char *actor,
	    const char *action, const char *object, json_object *detail);
/* The same for a caller whose transaction already holds the tenant's row
 * lock (SQL_KEY_LOCK_TENANT): reads the head it appends to. */
int	 audit_append_locked(struct db *, const char *tenant_id,
	    const char *actor, const char *action, const char *object,
	    json_object *detail);
/* One entry of audit_append_many (strings borrowed; detail is JSON text,
 * as audit_append writes it). */
struct audit_entry {
	const char	*actor;
	const char	*action;
	const char	*object;
	const char	*detail;
};
/* audit_append for n entries in this order, with one read of the chain
 * head and multi-row inserts (the scanner's batches). deferred: the
 * caller has set @vigil_defer to the tenant (findings.c batch_write,
 * migration 0045), so the insert triggers leave the entries' list counts
 * and the chain's head to it, and it writes them once: one upsert per
 * action and one of the head; otherwise the triggers keep them per entry
 * and those statements are not sent. 0 or a DB_* code. */
int	 audit_append_many(struct db *, const char *tenant_id,
	    const struct audit_entry *e, size_t n, int deferred);

/* A tenant's chain head as its transaction read it with the lock
 * (SQL_AUDIT_LOCK_HEAD, SQL_FINDING_LOCK_HEAD): the newest entry's seq
 * and hash, 0 and AUDIT_GENESIS before the first. */
struct audit_head {
	long long	 seq;
	char		 hash[65];
};

/* head from a locking read's seq and hash cells (either NULL: none). */
void	 audit_head_set(struct audit_head *, const char *seq,
	    const char *hash);
/* Lock the tenant's row and read its head, in one statement: 1 with
 * *head set, 0 if there is no such tenant, or a DB_* code. */
int	 audit_head_lock(struct db *, const char *tenant_id,
	    struct audit_head *head);
/* Lock the tenant's chain head row alone (audit_heads), not the tenant's
 * row, and read it: for a writer whose foreign keys already hold the
 * tenant's row shared (alert ingest), where taking it exclusively would
 * deadlock against another such writer. Every writer of the tenant's
 * audit entries locks this row too. 1 with *head set, 0 if the tenant has
 * no entry yet (no row to lock: take audit_head_lock), or a DB_* code. */
int	 audit_head_lock_row(struct db *, const char *tenant_id,
	    struct audit_head *head);
/* Append after head (which the caller's transaction read with the lock,
 * and which then names the new entry): the chain's one write, with no
 * round trip to find where it ends. detail is borrowed (may be NULL). */
int	 audit_append_head(struct db *, const char *tenant_id,
	    struct audit_head *head, const char *actor, const char *action,
	    const char *object, json_object *detail);
/* The last step of an audited change: append its entry, then commit the
 * caller's transaction. detail is taken (put here; may be NULL). 0, or a
 * DB_* code with the transaction left for the caller to roll back. */
int	 audit_commit(struct db *, const char *tenant_id, const char *actor,
	    const char *action, const char *object, json_object *detail);

/* One stored entry as read back (strings borrowed; at is the database's
 * "YYYY-MM-DD HH:MM:SS", exactly what was hashed). */
struct audit_row {
	const char	*id;
	long long	 seq;
	const char	*at;
	const char	*actor;
	const char	*action;
	const char	*object;
	const char	*detail;
	const char	*prev_hash;
	const char	*hash;
};

/* Where a walk of the chain stands: the last verified entry's seq and
 * hash and id (0, AUDIT_GENESIS and "" before the first entry). */
struct audit_chain {
	long long	 seq;
	char		 hash[65];
	char		 id[64];
};

enum audit_problem_kind {
	AUDIT_INTACT = 0,
	AUDIT_MODIFIED,     /* a row's content no longer matches its hash,
	                     * or it was re-hashed and no longer links on */
	AUDIT_DELETED,      /* rows missing_from..missing_to are gone */
	AUDIT_REORDERED,    /* a row now sits at a seq it was not written at */
};

/* The first problem found, naming the row where it shows. */
struct audit_problem {
	enum audit_problem_kind kind;
	char		 id[64];          /* the row named ("" if none) */
	long long	 seq;             /* its seq as stored */
	long long	 missing_from;    /* AUDIT_DELETED */
	long long	 missing_to;
	long long	 written_as;      /* AUDIT_REORDERED: its original seq */
};

/* Start a walk at the genesis. */
void	 audit_chain_init(struct audit_chain *);
/* Verify rows[0..n), given in ascending seq order, as the continuation of
 * *chain (so a long log can be checked in batches). Returns 0 and
 * advances *chain when every row is intact and linked; otherwise 1 with
 * *out describing the first problem (*chain then stands before it).
 * Deleting the newest entries cannot be seen from the rows alone: compare
 * the final chain with a head recorded earlier (POST /audit/export's
 * chain_head). Pure. */
int	 audit_verify_rows(struct audit_chain *chain,
	    const struct audit_row *rows, size_t n, struct audit_problem *out);
/* A one-line English description of a problem into buf. Pure. */
void	 audit_problem_str(const struct audit_problem *, char *buf,
	    size_t bufsz);

struct db_res;

/* A page of the log, newest first. rows borrow their strings from res,
 * which the page owns. */
struct audit_page {
	struct audit_row *rows;
	size_t		  n;
	long long	  total;     /* entries matching the filters */
	int		  has_more;  /* then rows[n - 1].seq is the cursor */
	struct db_res	 *res;
};

/* Entries of tenant_id with seq below before, newest first, at most
 * limit: only those of action (NULL: any) at or after *since (NULL: any
 * time). 0 with *out set (free with audit_page_free), or a DB_* code
 * (< 0) with *out NULL. */
int	 audit_list(struct db *, const char *tenant_id, const char *action,
	    const time_t *since, long long before, long limit,
	    struct audit_page **out);
void	 audit_page_free(struct audit_page *);
/* The next at most limit entries of tenant_id's chain after seq after, in
 * chain order (vigilctl audit verify walks a chain in such batches; total
 * is n, has_more 0). 0 with *out set (free with audit_page_free), or a
 * DB_* code (< 0) with *out NULL. */
int	 audit_chain_next(struct db *, const char *tenant_id,
	    long long after, long limit, struct audit_page **out);

/* An export: a range in chain order and the head of the whole chain.
 * rows borrow their strings from res, which the export owns. */
struct audit_export {
	struct audit_row *rows;
	size_t		  n;
	int		  truncated;  /* more entries in the range than shown */
	long long	  head_seq;   /* 0 and AUDIT_GENESIS if no entry */
	char		  head_hash[65];
	struct db_res	 *res;
};

/* The entries of tenant_id between *since and *until (inclusive; NULL:
 * open-ended) in chain order, and the chain's head, read in one
 * transaction. At most 10000 entries, and it stops once the entries
 * shown hold 32 MiB (truncated says so). 0 with *out set (free with
 * audit_export_free), or a DB_* code (< 0) with *out NULL. */
int	 audit_export(struct db *, const char *tenant_id, const time_t *since,
	    const time_t *until, struct audit_export **out);
void	 audit_export_free(struct audit_export *);

/* One entry as the API shows it: {id, seq, at, actor, action, object,
 * detail, [detail_text,] prev_hash, hash}; with_text adds detail_text
 * (the exact bytes that were hashed). A new object the caller puts.
 * Pure. */
json_object *audit_entry_to_json(const struct audit_row *, int with_text);
/* POST /audit/export's answer: {exported_at (now), tenant_id,
 * total_entries, truncated, entries, chain_head}. A new object the
 * caller puts. Pure. */
json_object *audit_export_to_json(const struct audit_export *,
	    const char *tenant_id, time_t now);

#endif
