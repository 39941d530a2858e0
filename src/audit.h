/* audit.h: the per-tenant audit log, each entry hashed onto the last. */
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

#endif
