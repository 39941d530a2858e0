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

/* What migrate_run and migrate_check return. */
#define MIGRATE_OK	 0
#define MIGRATE_ERR	(-1)	/* a step failed: said on out */
#define MIGRATE_BUSY	(-2)	/* another runner held the lease throughout */
#define MIGRATE_REFUSED	(-3)	/* the server's settings are not fit */

/* Check the server (migrate_check), then take the migration lease
 * (waiting up to wait_s seconds for another runner to finish) and apply
 * every migration in dir that schema_migrations does not list, reporting
 * each to out. MIGRATE_OK if all went well (or nothing was to do), else
 * one of the codes above after printing why. */
int	 migrate_run(struct db *, const char *dir, int wait_s, FILE *out);
/* Read the server's settings and judge them (migrate_judge): verbose
 * prints every line (vigilctl db check), otherwise only warnings and
 * refusals. MIGRATE_OK, MIGRATE_REFUSED or MIGRATE_ERR. */
int	 migrate_check(struct db *, int verbose, FILE *out);
/* The migrations directory: $VIGIL_MIGRATIONS or PKGDATADIR/migrations. */
const char *migrate_dir(void);
/* 1 if a file name in that directory is a migration (NNNN_word.sql),
 * else 0: what migrate_run applies and vigilctl config check counts. */
int	 migrate_is_file(const char *name);

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

#endif
