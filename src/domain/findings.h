/* findings.h: findings in the database. Every change goes through
 * findings_act / findings_observe, which run the pure lifecycle and write
 * the row, its history, the audit entry and the events in one
 * transaction. */
#ifndef VIGIL_FINDINGS_H
#define VIGIL_FINDINGS_H

#include <time.h>
#include <json-c/json.h>

#include "finding.h"
#include "lifecycle.h"

struct db;

/* A stored finding: the lifecycle part plus the descriptive columns
 * (owned strings, never NULL except assignee and notes). */
struct finding_row {
	struct finding	 f;
	char		*rule_id;
	char		*provider;
	char		*subscription_id;
	char		*environment;
	char		*resource_id;
	char		*title;
	char		*category;
	char		*layer;
	char		*framework;
	char		*description;
	char		*recommendation;
	char		*evidence;       /* JSON text */
	char		*assignee;       /* NULL if unassigned */
	char		*notes;          /* NULL if none */
	/* Resource metadata (0026): "" when unknown; tags is canonical
	 * JSON text (finding_tags_canonical), "{}" for none. */
	char		*resource_name;
	char		*resource_type;
	char		*resource_group;
	char		*region;
	char		*account;
	char		*tags;
	char		*source;
	long long	 seq;
	/* While open, the SLA due date (0034, kept by the database): 0
	 * when none. As loaded: a row changed in memory keeps the old one,
	 * so findings_to_json leaves it out (findings_due_json adds it). */
	time_t		 due_at;
};

/* What a scan (or an import) reports for one resource and rule. The
 * strings are borrowed. id is derived by findings_make_id. */
struct finding_obs {
	const char	*rule_id;
	const char	*provider;
	const char	*integration_id;  /* NULL: imported, not scanned */
	const char	*subscription_id;
	const char	*environment;
	const char	*resource_id;
	const char	*title;
	enum finding_severity severity;
	const char	*category;
	const char	*layer;
	const char	*framework;
	const char	*description;
	const char	*recommendation;
	json_object	*evidence;        /* borrowed; NULL = {} */
	/* Resource metadata: NULL is "" (tags: "{}"). tags is canonical
	 * JSON text (finding_tags_canonical); the lengths are checked by
	 * whoever fills them (the columns are finding.h's limits). */
	const char	*resource_name;
	const char	*resource_type;
	const char	*resource_group;
	const char	*region;
	const char	*account;
	const char	*tags;
	const char	*source;
};

/* The deterministic id "<provider>-<rule_id>-<8 hex of SHA-256 of the
 * resource id, lowercased>" into out (FINDING_ID_MAX). Pure. */
void	 findings_make_id(const char *provider, const char *rule_id,
	    const char *resource_id, char *out, size_t outsz);
/* The fingerprint of the offending configuration: SHA-256 hex of the
 * evidence serialised with sorted keys. Pure. */
void	 findings_fingerprint(json_object *evidence, char out[65]);

/* Load one finding of a tenant: 1 found (*out set, free with
 * findings_row_free), 0 not found, or a DB_* error code (< 0). With
 * for_update the row is locked (inside a transaction). */
int	 findings_load(struct db *, const char *tenant_id, const char *id,
	    int for_update, struct finding_row **out);
/* GET /findings/{id}'s reads in one round trip: the finding as
 * findings_load (without lock) and *sources, the array imports_sources
 * gives (a new object). 1 with both set, 0 not found, or a DB_* code. */
int	 findings_load_sources(struct db *, const char *tenant_id,
	    const char *id, struct finding_row **out, json_object **sources);
void	 findings_row_free(struct finding_row *);
/* Decode row i of a result of SQL_FINDING_GET/LIST (the FINDING_COLS
 * order) into a new row; NULL if out of memory. */
struct db_res;
struct finding_row *findings_row_at(const struct db_res *, size_t i);

/* The API representation (the list shape; full adds evidence,
 * lifecycle details, assignee and notes). New object, caller puts. */
json_object *findings_to_json(const struct finding_row *, int full);

/* The filters of a list. severity and state name 1 to 5 values each
 * (finding_severity_str / finding_state_str names; the rows match any);
 * category, subscription_id and environment NULL for any; since 0 for
 * any time, else updated after it; the resource metadata below; before
 * the keyset cursor (rows with
 * a smaller seq; 1 << 62 for the first page); limit 1..500. Strings are
 * borrowed. */
struct findings_filter {
	const char	*severity[5];
	size_t		 nseverity;
	const char	*state[6];
	size_t		 nstate;
	const char	*category;
	const char	*subscription_id;
	const char	*environment;
	time_t		 since;
	/* Resource metadata (NULL for any): resource_type, resource_group
	 * and region compare case-insensitively, source exactly; tag_key
	 * and tag_value (both or neither) a tag the resource carries. */
	const char	*resource_type;
	const char	*resource_group;
	const char	*region;
	const char	*source;
	const char	*tag_key;
	const char	*tag_value;
	long long	 before;
	long		 limit;
	/* By due date (due set): open findings with due_from <= due_at <
	 * due_to (0: unbounded), soonest first, after the cursor (due_after,
	 * seq_after; 0, 0 for the first page). Combines with severity,
	 * category, subscription_id and environment only. */
	int		 due;
	time_t		 due_from;
	time_t		 due_to;
	time_t		 due_after;
	long long	 seq_after;
};

/* Add the row's due_at (RFC 3339 or null) and overdue (due_at <= now)
 * to o, a findings_to_json object of a row read from the database. */
void	 findings_due_json(json_object *o, const struct finding_row *r,
	    time_t now);

/* A page of a list, newest first (in the list shape: findings_to_json
 * without full). */
struct findings_page {
	struct finding_row **rows;
	size_t		  n;
	long long	  total;     /* findings matching the filters */
	int		  has_more;  /* then rows[n - 1]->seq is the cursor */
	/* The result the rows' strings point into (they are not copies):
	 * read them, never change or free them. */
	struct db_res	 *res;
};

/* The tenant's findings matching f, a page of at most f->limit: 0 with
 * *out set (free with findings_page_free), or a DB_* code (< 0) with
 * *out NULL. Two statements at most: the count (from the trigger-kept
 * counts unless since is set), then the page, skipped when the count
 * says there is none. */
int	 findings_list(struct db *, const char *tenant_id,
	    const struct findings_filter *f, struct findings_page **out);
void	 findings_page_free(struct findings_page *);

/* GET /findings/{id}/history's answer, {finding_id, history: [{action,
 * timestamp, by, ...the action's fields}]} oldest first: 1 with *out set
 * (a new object the caller puts), 0 if the tenant has no such finding,
 * or a DB_* code (< 0). */
int	 findings_history(struct db *, const char *tenant_id, const char *id,
	    json_object **out);

/* Outcome of findings_act. */
enum findings_outcome {
	FINDINGS_OK = 0,        /* applied; *after holds the new row */
	FINDINGS_NOT_FOUND,     /* 404 finding_not_found */
	FINDINGS_REFUSED,       /* the lifecycle refused: see res */
	FINDINGS_DB_ERROR,      /* rc holds the DB_* code */
};

/* Apply a user action (or clock tick) to one finding of a tenant in its
 * own transaction: lock, decide, write row + history + audit + events,
 * commit. actor is recorded in the audit log ("key:…"). On FINDINGS_OK
 * *after is the new row (caller frees) and res the decision (caller
 * frees with lifecycle_result_free in every case). *rc gets the DB code
 * on FINDINGS_DB_ERROR. */
enum findings_outcome findings_act(struct db *, const char *tenant_id,
	    const char *id, const struct lc_input *in, const char *actor,
	    time_t now, struct lc_result *res, struct finding_row **after,
	    int *rc);
/* A mute rule pass's step on one finding (mutes.c), by the system, as
 * findings_act: the tenant's live rules, read in the finding's
 * transaction, are matched against the finding as that transaction has
 * locked and read it, with its sources read there too, so that what an
 * import or a rule changed since the pass read its page decides. An open
 * finding a rule matches is muted by it; a muted one none matches is
 * given back (history: gone_rule, reason). Anything else writes nothing:
 * FINDINGS_OK with res unchanged and *after NULL. */
enum findings_outcome findings_act_mute(struct db *, const char *tenant_id,
	    const char *id, const char *gone_rule, const char *reason,
	    time_t now, struct lc_result *res, struct finding_row **after,
	    int *rc);

/* PATCH: set assignee and/or notes (a NULL value clears; *_set says which
 * to touch) in one transaction with an "updated" history entry, its audit
 * entry and a finding.updated event. Same outcomes as findings_act. */
enum findings_outcome findings_patch(struct db *, const char *tenant_id,
	    const char *id, int assignee_set, const char *assignee,
	    int notes_set, const char *notes, const char *user,
	    const char *actor, time_t now, struct finding_row **after, int *rc);

/* Upsert one observation (the scanner's and the importer's path) in its
 * own transaction: new -> detected; present -> lifecycle LC_SEEN;
 * descriptive columns refreshed. 0 or a DB_* code. If id_out is not
 * NULL the finding id is copied there (FINDING_ID_MAX). */
int	 findings_observe(struct db *, const char *tenant_id,
	    const struct finding_obs *, time_t now, char *id_out);
/* Every finding of the tenant that the same source last reported
 * (integration_id, or for imports NULL and the provider) whose id is not
 * in seen[0..n) and that a scan may still change gets LC_NOT_SEEN, each
 * in its own transaction. Returns the number changed or a DB_* code. */
long	 findings_reconcile_absent(struct db *, const char *tenant_id,
	    const char *integration_id, const char *provider,
	    char *const *seen, size_t n, time_t now);

/* The scanner's batches. A batch is one transaction: the stored rows of
 * its findings read in one statement, the lifecycle applied in memory
 * (as findings_observe and findings_reconcile_absent would, one after
 * the other), then multi-row writes: new and changed findings upserted,
 * the unchanged only get last_seen_at (and seen_scan_id), the history,
 * events, audit entries and scan results of the changes. */
#define FINDINGS_BATCH	256	/* DB_MANY */

/* What one observation was to its finding. */
enum findings_seen_outcome {
	FINDINGS_SEEN_DETECTED,		/* new */
	FINDINGS_SEEN_REOPENED,		/* was not open, is now */
	FINDINGS_SEEN_PRESENT,		/* anything else */
	FINDINGS_SEEN_DEFERRED,		/* left for a later batch
					 * (findings_rows' defer_few):
					 * nothing of it written */
	FINDINGS_SEEN_REPEATED,		/* its finding was named by an
					 * earlier item of the same import
					 * (findings_rows' import_id):
					 * nothing of it written */
};

/* One observation of a batch: obs with its evidence already serialised
 * (obs.evidence is not read), its fingerprint and id. Strings borrowed. */
struct findings_seen {
	struct finding_obs	 obs;
	const char		*evidence;	/* JSON text */
	size_t			 evlen;
	char			 fingerprint[65];
	char			 id[FINDING_ID_MAX];
	enum findings_seen_outcome outcome;	/* set by the batch */
	long long		 seq;		/* set by the batch: the
						 * stored finding's, 0 new */
	/* Set by a batch whose rows name a source (findings_rows): the
	 * stored finding's row of that source in finding_sources, read
	 * with it under the same lock (0 and NULLs: none). The strings
	 * are the batch's, valid until its rows' write returns. */
	long long		 src_seq;
	const char		*src_format, *src_external_id;
};

/* The seqs of stored findings a scan's written batches marked seen, as
 * sorted, disjoint ranges (findings_seqs_add): findings_resolve_absent
 * reads no row in them. At most FINDINGS_SEQS_MAX ranges; past that
 * the set is dropped (full: every row is read, as without it), and
 * ranges of fewer than 16 findings on average are not used either. */
#define FINDINGS_SEQS_MAX 4096
struct findings_seqs {
	long long	(*r)[2];
	size_t		 n, a;
	int		 full;
};
/* Add the seqs of a written batch's items[0..n) (the seq the batch set;
 * 0, a new finding, is left out). */
void	 findings_seqs_add(struct findings_seqs *,
	    const struct findings_seen *items, size_t n);
void	 findings_seqs_free(struct findings_seqs *);

/* Observe n (<= FINDINGS_BATCH) findings in one transaction, marking
 * them seen by scan_id and recording the detected and reopened ones in
 * its results. With dry_run nothing is written (no transaction): the
 * outcomes are what a scan would record. 0 or a DB_* code (nothing of
 * the batch written). */
int	 findings_observe_batch(struct db *, const char *tenant_id,
	    struct findings_seen *items, size_t n, time_t now,
	    const char *scan_id, int dry_run);
/* Where a caller's next batch's stored findings likely are
 * (findings_rows' hint): a reimport lists its findings in the order of
 * the report it first imported, which stored them in that order, so a
 * batch's rows mostly follow the last one's, by seq. The batch first
 * reads the rows of the range of seq that starts at next and holds as
 * many seqs as the batch has findings and a sixteenth more (for
 * findings gone from the report in between), step apart (the smallest
 * gap between the last batch's seqs: 1, or a Galera node's
 * auto_increment_increment), then by their ids only the findings that
 * range did not hold (new ones among them). Rows of the range that are
 * not the batch's (gone from the report, another source's) are locked
 * until the batch commits and left as they are; another tenant's are
 * passed over by the server, their locks let go at once (READ
 * COMMITTED); a row another transaction holds is passed over (SKIP
 * LOCKED), not waited for. After each batch written, next is the seq after the one of
 * its last stored finding (0: none stored, the next batch reads by
 * ids). A range that held fewer than half of the batch's stored findings
 * sets off, and the caller's batches read by ids from then on. Start
 * with all 0. */
struct findings_hint {
	long long		 next;
	long long		 step;
	int			 off;
};

/* Rows another table keeps about a batch's findings (an import's
 * finding_sources), written by findings_observe_batch_with in the
 * batch's transaction, so a crash leaves both or neither: nrows rows of
 * ncols parameters for the multi-row statement stmt (a ROWS4 _64). */
struct findings_rows {
	int			 stmt;		/* enum db_stmt */
	const struct db_val	*v;
	size_t			 ncols, nrows;
	/* Or, when set, write(db, arg) in their place, at the same point of
	 * the same transaction (it may read before it writes; run again
	 * with the batch after a deadlock): 0 or a DB_* code. */
	int			(*write)(struct db *, void *);
	void			*arg;
	/* With write: the source whose finding_sources rows the batch reads
	 * with its findings (each item's src_*), or NULL. */
	const char		*source;
	/* With source: the import that writes the batch, or NULL. The first
	 * item of an import that names a finding is the one that stays: an
	 * item whose finding's row of the source already carries this
	 * import's id (an earlier batch wrote it), or that an earlier item
	 * of the same batch names, is passed over (FINDINGS_SEEN_REPEATED,
	 * which write skips), so that a report listing one finding twice,
	 * differently, does not change it back and forth at every import. */
	const char		*import_id;
	/* Set: when the batch would rewrite only a few stored findings
	 * (fewer than the set-based frame pays for, and no new one), it
	 * writes only the others' sightings, and leaves the few, with
	 * their history, events and audit entries, to a later batch of the
	 * caller's: their items' outcome is FINDINGS_SEEN_DEFERRED (write,
	 * which runs after, skips them). The caller writes them again, in
	 * order, before any later item of the same id. */
	int			 defer_few;
	/* Or NULL: the batch reads its stored findings by their ids. */
	struct findings_hint	*hint;
};
int	 findings_observe_batch_with(struct db *, const char *tenant_id,
	    struct findings_seen *items, size_t n, time_t now,
	    const char *scan_id, const struct findings_rows *rows);
/* findings_observe_batch (not a dry run) with hint (findings_hint, not
 * NULL): a scanner's batches, one after the other. */
int	 findings_observe_batch_hint(struct db *, const char *tenant_id,
	    struct findings_seen *items, size_t n, time_t now,
	    const char *scan_id, struct findings_hint *hint);
/* After a complete scan: LC_NOT_SEEN for every finding of the
 * integration (not NULL) and provider that SQL_FINDING_ABSENT offers (not
 * marked seen by scan_id), in batches as above, a "resolved" result for
 * each one it resolves. seen (NULL: none) names seqs the scan marked
 * seen, whose rows are not read. The number resolved, or a DB_* code. */
long	 findings_resolve_absent(struct db *, const char *tenant_id,
	    const char *integration_id, const char *provider,
	    const char *scan_id, time_t now, const struct findings_seqs *seen);
/* An import's complete report of source no longer lists ids[0..n) (n at
 * most FINDINGS_BATCH, at least 1): in one transaction under the
 * tenant's lock, their rows of that source go, and those no other source
 * reports any more and no scan owns (integration_id) get LC_NOT_SEEN (no
 * scan results). A run stopped anywhere leaves the rows and the states
 * as they were, for the next full import to find again. With check (not
 * NULL), check(db, arg) runs first under the lock: an answer other than
 * 0 (1: do not go on; or a DB_* code) is returned with nothing changed.
 * The number resolved, or a DB_* code, or check's 1 as FINDINGS_HELD. */
#define FINDINGS_HELD	(-1000)
long	 findings_source_gone(struct db *, const char *tenant_id,
	    const char *source, const char *const *ids, size_t n, time_t now,
	    int (*check)(struct db *, void *), void *arg);
/* Expire acceptances and snoozes whose time has passed, across all
 * tenants (LC_TICK). Returns the number changed or a DB_* code. */
long	 findings_expire_due(struct db *, time_t now);

/* Tenant settings the lifecycle needs (defaults if none stored). */
int	 findings_tenant_settings(struct db *, const char *tenant_id,
	    struct lc_tenant *out);

#endif
