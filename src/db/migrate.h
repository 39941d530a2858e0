/* migrate.h: apply db/migrations/NNNN_name.sql in order, once each, one
 * runner at a time on a whole cluster; and check the server's settings. */
#ifndef VIGIL_MIGRATE_H
#define VIGIL_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

struct db;

/* A lease lasts this long after its last renewal (a runner killed midway
 * holds the others off this long at most), renewed every MIGRATE_RENEW_S. */
#define MIGRATE_LEASE_S	60
#define MIGRATE_RENEW_S	10
/* How long a second runner waits for the lease by default. */
#define MIGRATE_WAIT_S	300
/* How long a migration's statement waits by default for a lock held by
 * another session (vigilctl migrate --lock-wait): a table's metadata
 * lock, which DDL needs alone and which an open transaction that read
 * the table holds until it ends, or a row's. Every later statement on
 * the table queues behind the one waiting, so the wait is bounded. */
#define MIGRATE_LOCK_WAIT_S 60

/* What migrate_run and migrate_check return. */
#define MIGRATE_OK	 0
#define MIGRATE_ERR	(-1)	/* a step failed: said on out */
#define MIGRATE_BUSY	(-2)	/* another runner held the lease throughout */
#define MIGRATE_REFUSED	(-3)	/* the server's settings are not fit */
#define MIGRATE_NOPRIV	(-4)	/* the database user lacks a right */
#define MIGRATE_BEHIND	(-5)	/* the schema is behind this binary
				 * (migrate_check verbose only) */
#define MIGRATE_LOCKED	(-6)	/* a migration's statement waited
				 * lock_s for a lock another session
				 * held: not recorded, run again */

/* Check the server (migrate_check), then take the migration lease
 * (waiting up to wait_s seconds for another runner to finish) and apply
 * every migration in dir that schema_migrations does not list, reporting
 * each to out, and, after an older one, again each listed one that
 * restates triggers (migrate_restates). Each statement waits at most
 * lock_s seconds for a lock (db_set_lock_wait); one that gives up stops
 * the run with its migration unrecorded and the lease given back, after
 * saying which migration and how to find the session in the way
 * (MIGRATE_LOCKED). MIGRATE_OK if all went well (or nothing was to do),
 * else one of the codes above after printing why. */
int	 migrate_run(struct db *, const char *dir, int wait_s, int lock_s,
	    FILE *out);
/* Read the server's settings and judge them (migrate_judge): verbose
 * prints every line (vigilctl db check), otherwise only warnings and
 * refusals. Verbose also judges this connection's privileges on its
 * schema (migrate_grants_judge) and says what the schema is to this
 * binary (migrate_schema: "schema: ..."). MIGRATE_OK, MIGRATE_REFUSED
 * (the settings; said first), MIGRATE_NOPRIV, MIGRATE_BEHIND or
 * MIGRATE_ERR. */
int	 migrate_check(struct db *, int verbose, FILE *out);
/* The migrations directory: $VIGIL_MIGRATIONS or PKGDATADIR/migrations. */
const char *migrate_dir(void);
/* 1 if a file name in that directory is a migration (NNNN_word.sql),
 * else 0: what migrate_run applies and vigilctl config check counts. */
int	 migrate_is_file(const char *name);

/* The newest migration this build needs (db/migrations/NNNN_*.sql): its
 * programs refuse a database that has not recorded it, a schema behind
 * the binary, until vigilctl migrate has run (vigil-api answers 503
 * schema_outdated, the others exit VX_SCHEMA). The unit suite fails while
 * it is not the highest-numbered file in db/migrations: a new migration
 * bumps it. */
#define MIGRATE_NEED	"0061"

/* What a database's schema is to this build (migrate_schema). */
#define MIGRATE_SCHEMA_OK	0	/* MIGRATE_NEED recorded, none newer */
#define MIGRATE_SCHEMA_BEHIND	1	/* MIGRATE_NEED not recorded */
#define MIGRATE_SCHEMA_AHEAD	2	/* newer ones recorded too (the binary
					 * was rolled back): allowed, warned */
struct migrate_schema {
	char	 newest[5];	/* the newest migration recorded; "" none */
	int	 state;		/* MIGRATE_SCHEMA_* */
};
/* Read the database's schema into *s: 0 or a DB_* code. One statement,
 * two reads of schema_migrations' primary key; a database without that
 * table (never migrated) is behind, with newest "". */
int	 migrate_schema(struct db *, struct migrate_schema *);
/* Pure: the state for the newest migration recorded (newest, "" none)
 * and whether need is recorded (has_need). */
int	 migrate_schema_judge(const char *newest, int has_need,
	    const char *need);
/* Pure: what s means, in one line without a newline, for prog (the
 * program's name, "vigil-scan"): behind says to run vigilctl migrate. */
void	 migrate_schema_say(const struct migrate_schema *, const char *prog,
	    char *out, size_t outsz);
/* For the command-line programs, before their work: read the schema; a
 * schema behind is said on stderr and gives VX_SCHEMA, one ahead is
 * warned of (the log) and gives 0, as does one as it should be. A
 * failed read gives its DB_* code, unsaid: the caller's own statements
 * meet the same failure and report it as they do. */
int	 migrate_require(struct db *, const char *prog);

/* The first line that marks a migration as restating triggers that older
 * migrations create (0048): "-- migrate: restates", then anything. Pure:
 * 1 when text (a migration file) begins so, else 0. migrate_run applies
 * such a migration, when it is recorded, again after any older one it
 * applies in the same run. */
#define MIGRATE_RESTATES	"-- migrate: restates"
int	 migrate_restates(const char *text);

/* What the check reads of a server. */
struct migrate_server {
	char	 version[96];
	int	 galera;		/* wsrep_on */
	char	 binlog_format[16];
	int	 log_bin;
	int	 autoinc_lock_mode;
	int	 trust_creators;	/* log_bin_trust_function_creators */
	int	 sync_wait;		/* this session's wsrep_sync_wait */
	int	 conf_sync_wait;	/* vigil.conf's db_sync_wait, -1 auto */
	char	 cluster_size[16];
	char	 cluster_status[32];
	char	 local_state[32];
};
/* Pure: the lines describing s ("server: ...", "refused: ...", "warning:
 * ...", each ending in a newline) into out, and how many settings are
 * refused (0: Vigil may run there). */
int	 migrate_judge(const struct migrate_server *, char *out,
	    size_t outsz);

/* The privileges Vigil's programs use on their schema, as bits. */
#define MIGRATE_P_SELECT	0x01u
#define MIGRATE_P_INSERT	0x02u
#define MIGRATE_P_UPDATE	0x04u
#define MIGRATE_P_DELETE	0x08u
#define MIGRATE_P_EXECUTE	0x10u
#define MIGRATE_P_TMPTABLES	0x20u	/* CREATE TEMPORARY TABLES */
#define MIGRATE_P_ROWS	(MIGRATE_P_SELECT | MIGRATE_P_INSERT | \
	MIGRATE_P_UPDATE | MIGRATE_P_DELETE)
/* What every program's connection needs: the rows, and the CALLs of the
 * batch writer (findings_batch_begin/_end, migration 0039). */
#define MIGRATE_P_RUNTIME	(MIGRATE_P_ROWS | MIGRATE_P_EXECUTE)
/* What the user the procedures and triggers run as (their definer:
 * whoever migrated them) needs: the rows, EXECUTE (the triggers call
 * procedures), and temporary tables, which the batch procedures create. */
#define MIGRATE_P_DEFINER	(MIGRATE_P_RUNTIME | MIGRATE_P_TMPTABLES)

/* What SHOW GRANTS lines give on one schema. */
struct migrate_grants {
	unsigned	 schema;	/* on all of it: global or database
					 * grants (a database pattern that
					 * matches included) */
	unsigned	 tables;	/* on some of its tables only */
	unsigned	 procs;		/* EXECUTE on batch procedure i
					 * (begin 1, end 2) by name */
};
/* Pure: add one line of SHOW GRANTS ("GRANT ... ON ... TO ...") to g,
 * for the schema db; lines that grant nothing there (roles, PROXY, other
 * schemas, column grants) add nothing. */
void	 migrate_grants_add(struct migrate_grants *, const char *line,
	    const char *db);
/* Pure: the privileges of need that g lacks (0: none). EXECUTE held on
 * both batch procedures by name counts as EXECUTE. */
unsigned migrate_grants_missing(const struct migrate_grants *,
	    unsigned need);
/* Pure: lines saying what the account user ("name@host", as
 * CURRENT_USER() gives it) lacks of need on db, each starting with word
 * ("missing", "warning", "refused") and why Vigil needs it, then the
 * GRANT statement that gives it all; with verbose, a line saying what is
 * held when nothing lacks. Into out; returns the bits lacking. */
unsigned migrate_grants_judge(const struct migrate_grants *, unsigned need,
	    const char *db, const char *user, const char *word, int verbose,
	    char *out, size_t outsz);

#endif
