/* migrate.c: the schema migration runner behind "vigilctl migrate", and
 * the check of the server's settings behind it and "vigilctl db check".
 * The only place that sends SQL text that is not in db.c's statement
 * table: the text comes from the migration files shipped with Vigil, and
 * the runner's own two tables are created here before anything else.
 *
 * One runner at a time on the whole cluster: the runner holds a lease, one
 * row of migrate_lease, taken with one conditional statement (replicated
 * and certified by Galera, where GET_LOCK lived on one node), renewed
 * while it runs and deleted at the end; a runner killed midway leaves a
 * lease that expires MIGRATE_LEASE_S after its last renewal. Only the
 * holder runs DDL, which Galera applies on every node (total order
 * isolation), so each migration runs once. */
#include "vigil.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>
#include <mysqld_error.h>

#include "buf.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "exits.h"
#include "log.h"
#include "migrate.h"
#include "vtime.h"

#define MIGRATE_MAX_FILE (4 * 1024 * 1024)
#define MIGRATE_MAX_FILES 1024
#define MIGRATE_HOLDER_MAX 320		/* migrate_lease.holder */

const char *
migrate_dir(void)
{
	const char *d = getenv("VIGIL_MIGRATIONS");

	return (d != NULL && *d != '\0') ? d : PKGDATADIR "/migrations";
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Emit s[0..len) trimmed, if anything is left. */
static int
emit(const char *s, size_t len, int (*fn)(const char *, size_t, void *),
    void *arg)
{
	while (len > 0 && is_space(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_space(s[len - 1]))
		len--;
	return len > 0 ? fn(s, len, arg) : 0;
}

/* Split a migration file into statements, calling fn for each one
 * (trimmed, without its terminator). Understands "--" comments, quoted
 * strings and "DELIMITER x" lines as the mysql client does. Returns 0, or
 * the first non-zero value fn returned, or -1 on an unterminated string. */
static int
migrate_split(const char *text, int (*fn)(const char *, size_t, void *),
    void *arg)
{
	char delim[16] = ";";
	size_t dlen = 1;
	const char *p = text, *start = text;
	int rc, bol = 1;

	while (*p != '\0') {
		if (bol && strncasecmp(p, "DELIMITER", 9) == 0 &&
		    (p[9] == ' ' || p[9] == '\t')) {
			const char *q = p + 9, *e;

			if ((rc = emit(start, (size_t)(p - start), fn, arg)))
				return rc;
			while (*q == ' ' || *q == '\t')
				q++;
			for (e = q; *e != '\0' && !is_space(*e); e++)
				;
			dlen = (size_t)(e - q);
			if (dlen == 0 || dlen >= sizeof(delim))
				return -1;
			memcpy(delim, q, dlen);
			delim[dlen] = '\0';
			while (*e != '\0' && *e != '\n')
				e++;
			p = start = (*e == '\n') ? e + 1 : e;
			bol = 1;
			continue;
		}
		bol = 0;
		if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				p++;
			continue;
		}
		if (*p == '\'' || *p == '"' || *p == '`') {
			char q = *p++;

			while (*p != '\0' && *p != q) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				p++;
			}
			if (*p == '\0')
				return -1;
			p++;
			continue;
		}
		if (strncmp(p, delim, dlen) == 0) {
			if ((rc = emit(start, (size_t)(p - start), fn, arg)))
				return rc;
			p += dlen;
			start = p;
			continue;
		}
		if (*p == '\n')
			bol = 1;
		p++;
	}
	return emit(start, (size_t)(p - start), fn, arg);
}

struct run_ctx {
	MYSQL		*my;
	const char	*file;
	int		 n;
	int		 lock_s;	/* each statement's wait for a lock */
	int		 locked;	/* one gave up waiting for a lock */
	FILE		*out;
};

/* Say why statement c->n failed. A lock wait that ran out (a table's
 * metadata lock or a row's, ER_LOCK_WAIT_TIMEOUT either way) is told
 * apart: nothing is wrong with the file, another session is in the way
 * (migrate_run says what to do). */
static void
stmt_failed(struct run_ctx *c)
{
	if (mysql_errno(c->my) == ER_LOCK_WAIT_TIMEOUT) {
		c->locked = 1;
		fprintf(c->out, "migrate: %s: statement %d waited %d s for a "
		    "lock another session holds and gave up (%s)\n", c->file,
		    c->n, c->lock_s, mysql_error(c->my));
		return;
	}
	fprintf(c->out, "migrate: %s: statement %d failed: %s\n", c->file,
	    c->n, mysql_error(c->my));
}

static int
run_stmt(const char *stmt, size_t len, void *arg)
{
	struct run_ctx *c = arg;
	MYSQL_RES *res;
	int rc;

	c->n++;
	if (mysql_real_query(c->my, stmt, (unsigned long)len) != 0) {
		stmt_failed(c);
		return -1;
	}
	/* Drain anything a statement returned; a later result can carry
	 * the error (a CALL failing midway). */
	for (;;) {
		if ((res = mysql_store_result(c->my)) != NULL)
			mysql_free_result(res);
		if ((rc = mysql_next_result(c->my)) == -1)
			break;
		if (rc > 0) {
			stmt_failed(c);
			return -1;
		}
	}
	return 0;
}

static int
query(MYSQL *my, const char *sql, FILE *out)
{
	MYSQL_RES *res;

	if (mysql_real_query(my, sql, (unsigned long)strlen(sql)) != 0) {
		fprintf(out, "migrate: %s: %s\n", sql, mysql_error(my));
		return -1;
	}
	if ((res = mysql_store_result(my)) != NULL)
		mysql_free_result(res);
	return 0;
}

/* 1 if version is recorded as applied, 0 if not, -1 on error. */
static int
is_applied(struct db *db, const char *version, FILE *out)
{
	struct db_res *res = NULL;
	int rc;

	if (db_exec(db, SQL_MIGRATE_APPLIED, (struct db_val[]){
	    DB_STR(version) }, 1, &res) != 0) {
		fprintf(out, "migrate: %s\n", db_error(db));
		return -1;
	}
	rc = res->nrows > 0;
	db_res_free(res);
	return rc;
}

/* Record a migration as applied: 0 or -1. Through db_exec, which runs it
 * again after a certification failure (another node's DDL on the table). */
static int
record(struct db *db, const char *version, const char *name, FILE *out)
{
	if (db_exec(db, SQL_MIGRATE_RECORD, (struct db_val[]){
	    DB_STR(version), DB_STR(name) }, 2, NULL) != 0) {
		fprintf(out, "migrate: record %s: %s\n", name, db_error(db));
		return -1;
	}
	return 0;
}

/* Forget that a migration was applied: 0 or -1. Before a marked migration
 * runs again, so that a run stopped anywhere after the older one it
 * follows (killed, its lease lost, a failed statement) leaves it to the
 * next run, which then applies it, instead of "nothing to do" beside the
 * triggers the older one put back. */
static int
forget(struct db *db, const char *version, const char *name, FILE *out)
{
	if (db_exec(db, SQL_MIGRATE_FORGET, (struct db_val[]){
	    DB_STR(version) }, 1, NULL) != 0) {
		fprintf(out, "migrate: forget %s: %s\n", name, db_error(db));
		return -1;
	}
	return 0;
}

int
migrate_restates(const char *text)
{
	size_t len = strlen(MIGRATE_RESTATES);

	return strncmp(text, MIGRATE_RESTATES, len) == 0 &&
	    (text[len] == '\0' || is_space(text[len]));
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
migrate_is_file(const char *n)
{
	size_t len = strlen(n), i;

	if (len < 10 || strcmp(n + len - 4, ".sql") != 0 || n[4] != '_')
		return 0;
	for (i = 0; i < 4; i++)
		if (n[i] < '0' || n[i] > '9')
			return 0;
	return 1;
}

/* Read a whole file (capped) into a new NUL-terminated string. */
static char *
slurp(const char *path)
{
	FILE *f;
	struct buf b;
	char chunk[8192];
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	buf_init(&b, MIGRATE_MAX_FILE);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) != 0) {
			buf_free(&b);
			fclose(f);
			return NULL;
		}
	fclose(f);
	if (b.data == NULL && buf_append(&b, "", 0) != 0)
		return NULL;
	return buf_detach(&b, NULL);
}

/* This runner as a lease holder: "host:pid:random", the random part
 * telling apart two runners whose host names and pids match (containers,
 * network namespaces). */
static void
lease_holder(char *out, size_t outsz)
{
	char host[256], hex[9];
	unsigned char rnd[4];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	if (crypto_random(rnd, sizeof(rnd)) != 0)
		memset(rnd, 0, sizeof(rnd));
	crypto_hex(rnd, sizeof(rnd), hex);
	hex[8] = '\0';
	snprintf(out, outsz, "%.200s:%ld:%s", host, (long)getpid(), hex);
}

/* Take the lease for holder: 1 taken, 0 held by another runner (or lost
 * to one in certification), or a DB_* code. */
static int
lease_take(struct db *db, const char *holder)
{
	unsigned long long n;
	int rc;

	rc = db_exec_affected(db, SQL_MIGRATE_LEASE_TAKE, (struct db_val[]){
	    DB_STR(holder), DB_INT(MIGRATE_LEASE_S) }, 2, &n);
	if (rc == DB_RETRY || rc == DB_DUP)
		return 0;
	if (rc != 0)
		return rc;
	return n > 0;
}

/* Push the lease's expiry on: 1, 0 when it is no longer ours (it expired
 * and another runner took it), or a DB_* code. */
static int
lease_renew(struct db *db, const char *holder)
{
	unsigned long long n;
	int rc;

	if ((rc = db_exec_affected(db, SQL_MIGRATE_LEASE_RENEW,
	    (struct db_val[]){ DB_INT(MIGRATE_LEASE_S), DB_STR(holder) }, 2,
	    &n)) != 0)
		return rc;
	return n > 0;
}

/* Who holds the lease (into holder, cut to outsz) and in how many seconds
 * it expires (*secs): 1, 0 when there is no lease row any more, or a DB_*
 * code. */
static int
lease_info(struct db *db, char *holder, size_t outsz, long long *secs)
{
	struct db_res *res = NULL;
	int rc;

	if ((rc = db_exec(db, SQL_MIGRATE_LEASE_GET, NULL, 0, &res)) != 0)
		return rc;
	rc = res->nrows > 0;
	if (rc) {
		snprintf(holder, outsz, "%s", db_cell(res, 0, 0) ?
		    db_cell(res, 0, 0) : "?");
		*secs = db_cell_int(res, 0, 1);
	}
	db_res_free(res);
	return rc;
}

/* The lease, taken within wait_s seconds: 1 taken, 0 still held by
 * another runner then (said on out), or a DB_* code. A runner that had to
 * wait says so once, with the holder. */
static int
lease_wait(struct db *db, const char *holder, int wait_s, FILE *out)
{
	struct timespec pause = { 1, 0 }, blink = { 0, 50000000L };
	char other[MIGRATE_HOLDER_MAX];
	long long secs = 0, deadline, left;
	int rc, said = 0;

	/* On the monotonic clock, to the microsecond: a deadline in whole
	 * seconds of time() waited up to a second less than wait_s. */
	deadline = vtime_mono_us() + (long long)wait_s * 1000000;
	for (;;) {
		if ((rc = lease_take(db, holder)) != 0)
			return rc;
		if ((rc = lease_info(db, other, sizeof(other), &secs)) < 0)
			return rc;
		if (rc == 0) {
			/* Released meanwhile (or lost to another runner in
			 * certification, whose row is not applied here yet):
			 * try again at once, but never spin. */
			snprintf(other, sizeof(other), "a runner that just "
			    "released it");
			secs = 0;
		}
		if ((left = deadline - vtime_mono_us()) <= 0) {
			fprintf(out, "migrate: another runner (%s) still holds "
			    "the migration lease after %d s (it expires in %lld "
			    "s unless renewed); run again later\n", other,
			    wait_s, secs);
			return 0;
		}
		if (rc == 0) {
			(void)nanosleep(&blink, NULL);
			continue;
		}
		if (!said) {
			fprintf(out, "migrate: waiting for another runner (%s), "
			    "which holds the migration lease (expires in %lld s "
			    "unless renewed; waiting up to %d s)\n", other, secs,
			    wait_s);
			fflush(out);
			said = 1;
		}
		/* A second between looks, and no later than the deadline. */
		pause.tv_sec = left >= 1000000 ? 1 : 0;
		pause.tv_nsec = left >= 1000000 ? 0 : (long)(left * 1000);
		(void)nanosleep(&pause, NULL);
	}
}

/* The thread that renews the lease every MIGRATE_RENEW_S on a connection
 * of its own, while the runner's connection is busy with a statement that
 * may take minutes (an ALTER TABLE of a large table). */
struct renewer {
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct db	*db;
	const char	*holder;
	int		 stop;
	int		 lost;		/* another runner has the lease now */
};

static void *
renew_main(void *arg)
{
	struct renewer *r = arg;
	struct timespec ts;
	int rc;

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += MIGRATE_RENEW_S;
		while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu,
		    &ts) != ETIMEDOUT)
			;
		if (r->stop)
			break;
		pthread_mutex_unlock(&r->mu);
		rc = lease_renew(r->db, r->holder);
		pthread_mutex_lock(&r->mu);
		if (rc == 0)
			r->lost = 1;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Start renewing: 0, or -1 (nothing started). */
static int
renewer_start(struct renewer *r, struct db *like, const char *holder)
{
	memset(r, 0, sizeof(*r));
	if ((r->db = db_new_like(like)) == NULL)
		return -1;
	r->holder = holder;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->th, NULL, renew_main, r) != 0) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		db_free(r->db);
		r->db = NULL;
		return -1;
	}
	return 0;
}

static void
renewer_stop(struct renewer *r)
{
	if (r->db == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->th, NULL);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	db_free(r->db);
	r->db = NULL;
}

/* --- the server's settings ------------------------------------------- */

/* Append a formatted line to out (cut short at its size). */
static void
say(char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *out, size_t outsz, const char *fmt, ...)
{
	size_t len = strlen(out);
	va_list ap;

	if (len + 1 >= outsz)
		return;
	va_start(ap, fmt);
	vsnprintf(out + len, outsz - len, fmt, ap);
	va_end(ap);
}

int
migrate_judge(const struct migrate_server *s, char *out, size_t outsz)
{
	char sw[16];
	int refused = 0;

	out[0] = '\0';
	if (s->conf_sync_wait < 0)
		snprintf(sw, sizeof(sw), "auto");
	else
		snprintf(sw, sizeof(sw), "%d", s->conf_sync_wait);
	if (s->galera) {
		say(out, outsz, "server: %s, a Galera node (wsrep_on ON; "
		    "cluster size %s, %s, %s)\n", s->version, s->cluster_size,
		    s->cluster_status, s->local_state);
		if (strcasecmp(s->binlog_format, "ROW") != 0) {
			say(out, outsz, "refused: binlog_format is %s on a "
			    "Galera node: Galera replicates row events only; "
			    "set binlog_format = ROW on every node\n",
			    s->binlog_format);
			refused++;
		} else
			say(out, outsz, "binlog_format: ROW (ok)\n");
		if (s->autoinc_lock_mode != 2) {
			say(out, outsz, "refused: innodb_autoinc_lock_mode is "
			    "%d on a Galera node: set 2 (interleaved) on every "
			    "node, as Galera requires\n", s->autoinc_lock_mode);
			refused++;
		} else
			say(out, outsz, "innodb_autoinc_lock_mode: 2 (ok)\n");
		say(out, outsz, "wsrep_sync_wait: %d on this connection "
		    "(vigil.conf db_sync_wait = %s)\n", s->sync_wait, sw);
		if (s->conf_sync_wait == 0)
			say(out, outsz, "warning: db_sync_wait is 0: a read "
			    "through one node may miss a write just committed "
			    "through another\n");
	} else {
		say(out, outsz, "server: %s, not a Galera node (wsrep_on OFF): "
		    "one server, or a primary with replicas\n", s->version);
		if (s->log_bin && strcasecmp(s->binlog_format,
		    "STATEMENT") == 0) {
			say(out, outsz, "refused: binlog_format is STATEMENT "
			    "with the binary log on: Vigil's READ COMMITTED "
			    "transactions cannot be logged so; set "
			    "binlog_format = ROW (or MIXED)\n");
			refused++;
		} else
			say(out, outsz, "binlog_format: %s (ok; binary log "
			    "%s)\n", s->binlog_format, s->log_bin ? "on" :
			    "off");
		say(out, outsz, "db_sync_wait = %s: ignored (not a Galera "
		    "node)\n", sw);
	}
	if ((s->galera || s->log_bin) && !s->trust_creators)
		say(out, outsz, "warning: log_bin_trust_function_creators is "
		    "OFF with %s: the migrations' triggers are refused unless "
		    "the database user has SUPER; set it to ON\n",
		    s->galera ? "wsrep" : "the binary log");
	return refused;
}

/* --- the database user's privileges ------------------------------------ */

/* The privileges a grant may name that Vigil needs, as SHOW GRANTS
 * spells them; ALL PRIVILEGES holds every one. */
static const struct {
	const char	*name;
	unsigned	 bit;
	const char	*why;
} grant_privs[] = {
	{ "SELECT", MIGRATE_P_SELECT, "every program reads the schema's "
	    "rows" },
	{ "INSERT", MIGRATE_P_INSERT, "every program writes rows" },
	{ "UPDATE", MIGRATE_P_UPDATE, "every program updates rows" },
	{ "DELETE", MIGRATE_P_DELETE, "every program deletes rows" },
	{ "EXECUTE", MIGRATE_P_EXECUTE, "the scanner's and importer's "
	    "batches CALL findings_batch_begin and findings_batch_end "
	    "(schema 0039 on) and findings_seen_mark (0059 on), so every "
	    "scan and import fails without it (and the triggers call "
	    "procedures as the user that migrated)" },
	{ "CREATE TEMPORARY TABLES", MIGRATE_P_TMPTABLES, "the batch "
	    "procedures run with the rights of the user that migrated them "
	    "and create MEMORY temporary tables, so every scan and import "
	    "fails without it" },
};

/* The batch procedures whose EXECUTE, granted by name on all of them,
 * counts as EXECUTE (a user that creates a routine gets it so, with
 * automatic_sp_privileges). */
static const char *const grant_procs[] = {
	"findings_batch_begin", "findings_batch_end", "findings_seen_mark",
};

/* An identifier of a grant's object at *pp: `quoted` (`` for a backtick)
 * or bare up to a '.' or a space, into out (cut to outsz); *pp moved past
 * it. 0, or -1 when there is none or it does not end. */
static int
grant_ident(const char **pp, char *out, size_t outsz)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p == '`') {
		for (p++; *p != '\0'; p++) {
			if (*p == '`') {
				if (p[1] != '`')
					break;
				p++;
			}
			if (n + 1 < outsz)
				out[n++] = *p;
		}
		if (*p != '`')
			return -1;
		p++;
	} else {
		for (; *p != '\0' && *p != '.' && *p != ' '; p++)
			if (n + 1 < outsz)
				out[n++] = *p;
		if (n == 0)
			return -1;
	}
	out[n] = '\0';
	*pp = p;
	return 0;
}

/* s matches the database pattern pat, as MariaDB matches a database
 * grant: '%' any run, '_' any one character, '\' escapes the next. */
static int
grant_match(const char *pat, const char *s)
{
	for (; *pat != '\0'; pat++, s++) {
		if (*pat == '%') {
			while (pat[1] == '%')
				pat++;
			for (;; s++) {
				if (grant_match(pat + 1, s))
					return 1;
				if (*s == '\0')
					return 0;
			}
		}
		if (*pat == '\\' && pat[1] != '\0')
			pat++;
		else if (*pat == '_') {
			if (*s == '\0')
				return 0;
			continue;
		}
		if (*s != *pat)
			return 0;
	}
	return *s == '\0';
}

/* The privileges named in list[0..len): comma-separated, a column list
 * in parentheses making one a column grant (not counted). */
static unsigned
grant_privlist(const char *list, size_t len)
{
	const char *p = list, *end = list + len, *s;
	unsigned bits = 0;
	size_t i, n;
	int depth;

	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		for (s = p, depth = 0; p < end && (depth > 0 || *p != ','); p++)
			if (*p == '(')
				depth++;
			else if (*p == ')' && depth > 0)
				depth--;
		n = (size_t)(p - s);
		while (n > 0 && s[n - 1] == ' ')
			n--;
		if (p < end)
			p++;
		if (memchr(s, '(', n) != NULL)
			continue;
		if ((n == 14 && strncmp(s, "ALL PRIVILEGES", 14) == 0) ||
		    (n == 3 && strncmp(s, "ALL", 3) == 0)) {
			bits |= MIGRATE_P_RUNTIME | MIGRATE_P_DEFINER;
			continue;
		}
		for (i = 0; i < NELEM(grant_privs); i++)
			if (strlen(grant_privs[i].name) == n &&
			    strncmp(s, grant_privs[i].name, n) == 0)
				bits |= grant_privs[i].bit;
	}
	return bits;
}

void
migrate_grants_add(struct migrate_grants *g, const char *line,
    const char *db)
{
	const char *p, *on = NULL;
	char schema[256], object[256];
	unsigned bits;
	int depth = 0, proc = 0;
	size_t i;

	if (strncmp(line, "GRANT ", 6) != 0)
		return;
	/* " ON " outside a column list ends the privileges. */
	for (p = line + 6; *p != '\0'; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (*p == '`' && depth == 0)
			return;	/* a role granted: GRANT `r` TO ... */
		else if (depth == 0 && strncmp(p, " ON ", 4) == 0) {
			on = p;
			break;
		}
	}
	if (on == NULL)
		return;
	bits = grant_privlist(line + 6, (size_t)(on - (line + 6)));
	p = on + 4;
	if (strncmp(p, "PROCEDURE ", 10) == 0) {
		proc = 1;
		p += 10;
	} else if (strncmp(p, "FUNCTION ", 9) == 0 ||
	    strncmp(p, "PACKAGE ", 8) == 0)
		return;
	else if (strncmp(p, "TABLE ", 6) == 0)
		p += 6;
	if (*p == '*') {
		schema[0] = '*';
		schema[1] = '\0';
		p++;
	} else if (grant_ident(&p, schema, sizeof(schema)) != 0)
		return;
	if (*p != '.')
		return;
	p++;
	if (*p == '*') {
		object[0] = '*';
		object[1] = '\0';
		p++;
	} else if (grant_ident(&p, object, sizeof(object)) != 0)
		return;
	if (strncmp(p, " TO ", 4) != 0)
		return;

	if (proc) {
		if (strcmp(schema, db) != 0 || !(bits & MIGRATE_P_EXECUTE))
			return;
		for (i = 0; i < NELEM(grant_procs); i++)
			if (strcasecmp(object, grant_procs[i]) == 0)
				g->procs |= 1u << i;
	} else if (strcmp(object, "*") != 0) {
		if (strcmp(schema, db) == 0)
			g->tables |= bits;
	} else if (strcmp(schema, "*") == 0 || grant_match(schema, db))
		g->schema |= bits;
}

unsigned
migrate_grants_missing(const struct migrate_grants *g, unsigned need)
{
	unsigned have = g->schema;

	if (g->procs == (1u << NELEM(grant_procs)) - 1)
		have |= MIGRATE_P_EXECUTE;
	return need & ~have;
}

/* 'name'@'host' of "name@host" (CURRENT_USER()), quotes doubled. */
static void
grant_account(const char *user, char *out, size_t outsz)
{
	const char *at = strrchr(user, '@');
	size_t n = 0, len = at != NULL ? (size_t)(at - user) : strlen(user);
	const char *p;
	int part;

	for (part = 0; part < (at != NULL ? 2 : 1); part++) {
		const char *s = part == 0 ? user : at + 1;
		size_t l = part == 0 ? len : strlen(at + 1);

		if (part == 1 && n + 1 < outsz)
			out[n++] = '@';
		if (n + 1 < outsz)
			out[n++] = '\'';
		for (p = s; p < s + l; p++) {
			if (*p == '\'' && n + 1 < outsz)
				out[n++] = '\'';
			if (n + 1 < outsz)
				out[n++] = *p;
		}
		if (n + 1 < outsz)
			out[n++] = '\'';
	}
	out[n < outsz ? n : outsz - 1] = '\0';
}

/* `db` with backticks doubled. */
static void
grant_schema(const char *db, char *out, size_t outsz)
{
	size_t n = 0;
	const char *p;

	if (outsz < 3)
		return;
	out[n++] = '`';
	for (p = db; *p != '\0' && n + 3 < outsz; p++) {
		if (*p == '`')
			out[n++] = '`';
		out[n++] = *p;
	}
	out[n++] = '`';
	out[n] = '\0';
}

unsigned
migrate_grants_judge(const struct migrate_grants *g, unsigned need,
    const char *db, const char *user, const char *word, int verbose,
    char *out, size_t outsz)
{
	char acct[600], sch[520], list[160];
	unsigned miss = migrate_grants_missing(g, need);
	size_t i;

	out[0] = '\0';
	grant_account(user, acct, sizeof(acct));
	grant_schema(db, sch, sizeof(sch));
	for (i = 0; i < NELEM(grant_privs); i++) {
		if (!(miss & grant_privs[i].bit))
			continue;
		say(out, outsz, "%s: %s has no %s on %s: %s\n", word, acct,
		    grant_privs[i].name, sch, grant_privs[i].why);
		if (g->tables & grant_privs[i].bit)
			say(out, outsz, "%s: (%s is granted on some of its "
			    "tables only)\n", word, grant_privs[i].name);
	}
	/* The fix names what lacks; the ok line what was needed. */
	list[0] = '\0';
	for (i = 0; i < NELEM(grant_privs); i++)
		if ((miss ? miss : need) & grant_privs[i].bit)
			say(list, sizeof(list), "%s%s", list[0] != '\0' ?
			    ", " : "", grant_privs[i].name);
	if (miss)
		say(out, outsz, "%s: to fix, as an administrator: GRANT %s ON "
		    "%s.* TO %s\n", word, list, sch, acct);
	else if (verbose)
		say(out, outsz, "privileges: %s on %s: %s (ok)\n", acct, sch,
		    list);
	return miss;
}

/* This connection's account ("name@host"), schema and grants on it (g),
 * and whether it is the batch procedures' definer: 1, 0 another account
 * is (its name into definer), -1 none is visible (not migrated yet, or
 * this account may not see them). 0 or a DB_* code. */
static int
grants_read(struct db *db, struct migrate_grants *g, char *user,
    size_t usz, char *schema, size_t ssz, char *definer, size_t dsz,
    int *is_definer)
{
	struct db_res *res = NULL;
	size_t i;
	int rc;

	memset(g, 0, sizeof(*g));
	*is_definer = -1;
	definer[0] = '\0';
	if ((rc = db_exec(db, SQL_MIGRATE_WHO, NULL, 0, &res)) != 0)
		return rc;
	snprintf(user, usz, "%s", res->nrows > 0 && db_cell(res, 0, 0) ?
	    db_cell(res, 0, 0) : "?");
	snprintf(schema, ssz, "%s", res->nrows > 0 && db_cell(res, 0, 1) ?
	    db_cell(res, 0, 1) : "");
	db_res_free(res);
	if ((rc = db_exec(db, SQL_MIGRATE_GRANTS, NULL, 0, &res)) != 0)
		return rc;
	for (i = 0; i < res->nrows; i++)
		if (db_cell(res, i, 0) != NULL)
			migrate_grants_add(g, db_cell(res, i, 0), schema);
	db_res_free(res);
	if ((rc = db_exec(db, SQL_MIGRATE_DEFINER, NULL, 0, &res)) != 0)
		return rc;
	for (i = 0; i < res->nrows; i++)
		if (db_cell_int(res, i, 1) == 1)
			*is_definer = 1;
		else if (*is_definer != 1) {
			*is_definer = 0;
			snprintf(definer, dsz, "%s", db_cell(res, i, 0) ?
			    db_cell(res, i, 0) : "?");
		}
	db_res_free(res);
	return 0;
}

/* Judge this connection's privileges and print the lines, each after
 * prefix: need, or (0) what Vigil's programs need (MIGRATE_P_RUNTIME,
 * and MIGRATE_P_DEFINER when this account is the batch procedures'
 * definer). 1 something lacks, 0 nothing, -1 they cannot be read (said). */
static int
grants_check(struct db *db, unsigned need, int verbose, const char *word,
    const char *prefix, FILE *out)
{
	struct migrate_grants g;
	char user[400], schema[256], definer[400], text[4096];
	char *line, *nl;
	unsigned miss;
	int is_def;

	if (grants_read(db, &g, user, sizeof(user), schema, sizeof(schema),
	    definer, sizeof(definer), &is_def) != 0) {
		fprintf(out, "%scannot read the database user's privileges: "
		    "%s\n", prefix, db_error(db));
		return -1;
	}
	if (need == 0)
		need = MIGRATE_P_RUNTIME | (is_def == 1 ? MIGRATE_P_DEFINER :
		    0);
	miss = migrate_grants_judge(&g, need, schema, user, word, verbose,
	    text, sizeof(text));
	if (verbose && is_def == 0)
		say(text, sizeof(text), "procedures: findings_batch_begin "
		    "and findings_batch_end run with the rights of %s, who "
		    "migrated them (it needs CREATE TEMPORARY TABLES besides; "
		    "not checked here)\n", definer);
	else if (verbose && is_def == 1)
		say(text, sizeof(text), "procedures: findings_batch_begin and "
		    "findings_batch_end run with this user's rights (it "
		    "migrated them)\n");
	for (line = text; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;
		*nl = '\0';
		fprintf(out, "%s%s\n", prefix, line);
	}
	return miss != 0;
}

/* migrate_split's callback: 1 when the statement (after its comment
 * lines) creates a procedure. */
static int
makes_procedure(const char *stmt, size_t len, void *arg)
{
	const char *end = stmt + len, *p;

	(void)arg;
	while (stmt < end && (is_space(*stmt) || (*stmt == '-' &&
	    stmt + 1 < end && stmt[1] == '-'))) {
		if (*stmt == '-')
			while (stmt < end && *stmt != '\n')
				stmt++;
		else
			stmt++;
	}
	if ((size_t)(end - stmt) < 6 || strncasecmp(stmt, "CREATE", 6) != 0)
		return 0;
	/* CREATE [OR REPLACE] [DEFINER = ...] PROCEDURE, before any '('. */
	for (p = stmt + 6; p + 9 <= end && *p != '('; p++)
		if (strncasecmp(p, "PROCEDURE", 9) == 0)
			return 1;
	return 0;
}

/* Read the server's settings into *s: 0 or a DB_* code. */
static int
server_read(struct db *db, struct migrate_server *s)
{
	struct db_res *res = NULL;
	const char *v;
	size_t i;
	int rc;

	memset(s, 0, sizeof(*s));
	s->conf_sync_wait = db_conf(db)->db_sync_wait;
	if ((rc = db_exec(db, SQL_MIGRATE_SERVER, NULL, 0, &res)) != 0)
		return rc;
	if (res->nrows != 1) {
		db_res_free(res);
		return DB_ERR;
	}
	snprintf(s->version, sizeof(s->version), "MariaDB %s",
	    db_cell(res, 0, 0) ? db_cell(res, 0, 0) : "?");
	s->galera = db_cell_int(res, 0, 1) == 1;
	snprintf(s->binlog_format, sizeof(s->binlog_format), "%s",
	    db_cell(res, 0, 2) ? db_cell(res, 0, 2) : "?");
	s->log_bin = db_cell_int(res, 0, 3) == 1;
	s->autoinc_lock_mode = (int)db_cell_int(res, 0, 4);
	s->trust_creators = db_cell_int(res, 0, 5) == 1;
	s->sync_wait = (int)db_cell_int(res, 0, 6);
	db_res_free(res);
	res = NULL;
	snprintf(s->cluster_size, sizeof(s->cluster_size), "?");
	snprintf(s->cluster_status, sizeof(s->cluster_status), "?");
	snprintf(s->local_state, sizeof(s->local_state), "?");
	if (!s->galera)
		return 0;
	if ((rc = db_exec(db, SQL_MIGRATE_WSREP_STATUS, NULL, 0, &res)) != 0)
		return rc;
	for (i = 0; i < res->nrows; i++) {
		const char *k = db_cell(res, i, 0);

		if ((v = db_cell(res, i, 1)) == NULL || k == NULL)
			continue;
		if (strcasecmp(k, "WSREP_CLUSTER_SIZE") == 0)
			snprintf(s->cluster_size, sizeof(s->cluster_size),
			    "%s", v);
		else if (strcasecmp(k, "WSREP_CLUSTER_STATUS") == 0)
			snprintf(s->cluster_status, sizeof(s->cluster_status),
			    "%s", v);
		else
			snprintf(s->local_state, sizeof(s->local_state), "%s",
			    v);
	}
	db_res_free(res);
	return 0;
}

int
migrate_check(struct db *db, int verbose, FILE *out)
{
	struct migrate_schema sc = { { 0 }, MIGRATE_SCHEMA_OK };
	struct migrate_server s;
	char text[2048], *line, *nl;
	int refused, lack = 0, unread = 0;

	if (server_read(db, &s) != 0) {
		fprintf(out, "migrate: cannot read the server's settings: %s\n",
		    db_error(db));
		return MIGRATE_ERR;
	}
	refused = migrate_judge(&s, text, sizeof(text));
	/* Quiet when all is well, unless asked (vigilctl db check). */
	for (line = text; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;
		*nl = '\0';
		if (verbose || strncmp(line, "refused:", 8) == 0 ||
		    strncmp(line, "warning:", 8) == 0)
			fprintf(out, "%s%s\n", verbose ? "" : "migrate: ", line);
	}
	/* db check: and the privileges of the user the programs connect
	 * as (migrate judges its own user apart: migrate_run), and the
	 * schema against this binary's. */
	if (verbose && (lack = grants_check(db, 0, 1, "missing", "", out)) < 0)
		return MIGRATE_ERR;
	if (verbose && (unread = (migrate_schema(db, &sc) != 0)))
		fprintf(out, "schema: cannot read schema_migrations: %s\n",
		    db_error(db));
	else if (verbose) {
		migrate_schema_say(&sc, "vigilctl", text, sizeof(text));
		fprintf(out, "schema: %s\n", text);
	}
	if (refused) {
		fprintf(out, "%s: the server's settings are not fit for "
		    "Vigil (above); nothing was changed\n", verbose ? "check" :
		    "migrate");
		return MIGRATE_REFUSED;
	}
	if (lack) {
		fprintf(out, "check: the database user lacks privileges Vigil "
		    "needs (above)\n");
		return MIGRATE_NOPRIV;
	}
	/* Unread, and not for a privilege said above: an error. */
	if (unread)
		return MIGRATE_ERR;
	if (verbose && sc.state == MIGRATE_SCHEMA_BEHIND) {
		fprintf(out, "check: the database's schema is behind this "
		    "vigilctl (above): run vigilctl migrate\n");
		return MIGRATE_BEHIND;
	}
	if (verbose)
		fprintf(out, "ok\n");
	return MIGRATE_OK;
}

/* The runner's own tables, before anything else: the lease, which must
 * exist before two runners can meet on it, and the list of what ran. On a
 * cluster, CREATE TABLE runs on every node in one total order, so two
 * runners creating them at once find them made; it is sent only when one
 * is missing (SQL_MIGRATE_OWN_TABLES says why). */
static const char *const migrate_own[] = {
	"CREATE TABLE IF NOT EXISTS migrate_lease ("
	"id TINYINT UNSIGNED NOT NULL, holder VARCHAR(320) NOT NULL, "
	"acquired_at DATETIME(6) NOT NULL, expires_at DATETIME(6) NOT NULL, "
	"PRIMARY KEY (id)"
	") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	"version CHAR(4) NOT NULL PRIMARY KEY, "
	"name VARCHAR(255) NOT NULL, applied_at DATETIME NOT NULL"
	") ENGINE=InnoDB",
};

/* 1 when both of the runner's tables exist, 0 when one is missing, or a
 * DB_* code. */
static int
own_tables(struct db *db)
{
	struct db_res *res = NULL;
	int rc;

	if ((rc = db_exec(db, SQL_MIGRATE_OWN_TABLES, NULL, 0, &res)) != 0)
		return rc;
	rc = db_cell_int(res, 0, 0) == (long long)NELEM(migrate_own);
	db_res_free(res);
	return rc;
}

int
migrate_run(struct db *db, const char *dir, int wait_s, int lock_s,
    FILE *out)
{
	DIR *d = NULL;
	struct dirent *de;
	struct renewer ren;
	char *names[MIGRATE_MAX_FILES], path[4096], version[5];
	char *texts[MIGRATE_MAX_FILES];	/* to apply, read; else NULL */
	char again[MIGRATE_MAX_FILES];	/* recorded: applied again */
	char holder[MIGRATE_HOLDER_MAX];
	size_t n = 0, i, maker;
	int rc = MIGRATE_ERR, applied = 0, leased = 0, older = 0, lost, a;

	memset(&ren, 0, sizeof(ren));
	memset(texts, 0, sizeof(texts));
	memset(again, 0, sizeof(again));
	/* Every statement of this connection, the migrations' DDL first,
	 * waits at most lock_s for a lock: behind an open transaction that
	 * read a table, an ALTER or a CREATE TRIGGER on it would wait
	 * lock_wait_timeout (a day by default), and every statement on that
	 * table after it, the programs' reads too, would queue behind it. */
	db_set_lock_wait(db, lock_s);
	/* ... and may run as long as it needs: an index added to a large
	 * estate's findings rebuilds the table for many minutes, and the
	 * 30 s every other statement is given cut the connection while the
	 * server went on (the migration then failed, not recorded). A
	 * server that does not answer for a day is given up on. */
	db_set_read_timeout(db, DB_LOCK_WAIT_MAX);
	if (db_connect(db) != 0) {
		fprintf(out, "migrate: %s\n", db_error(db));
		return MIGRATE_ERR;
	}
	if ((d = opendir(dir)) == NULL) {
		fprintf(out, "migrate: %s: %s\n", dir, strerror(errno));
		return MIGRATE_ERR;
	}
	while ((de = readdir(d)) != NULL && n < MIGRATE_MAX_FILES)
		if (migrate_is_file(de->d_name))
			if ((names[n] = strdup(de->d_name)) != NULL)
				n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	maker = n;			/* the first to apply making a procedure */

	/* A server whose settings would break a cluster is refused before
	 * anything is written. */
	if ((rc = migrate_check(db, 0, out)) != MIGRATE_OK)
		goto out;
	rc = MIGRATE_ERR;
	if ((a = own_tables(db)) < 0) {
		fprintf(out, "migrate: %s\n", db_error(db));
		goto out;
	}
	for (i = 0; a == 0 && i < NELEM(migrate_own); i++)
		if (query(db_mysql(db), migrate_own[i], out) != 0)
			goto out;

	/* One runner at a time, across hosts and nodes. */
	lease_holder(holder, sizeof(holder));
	if ((a = lease_wait(db, holder, wait_s, out)) != 1) {
		if (a == 0)
			rc = MIGRATE_BUSY;
		else
			fprintf(out, "migrate: lease: %s\n", db_error(db));
		goto out;
	}
	leased = 1;
	if (renewer_start(&ren, db, holder) != 0) {
		fprintf(out, "migrate: cannot start renewing the lease\n");
		goto out;
	}
	/* One walk over the files: which to apply (is_applied once each),
	 * read once. A migration not recorded is applied. One recorded whose
	 * first line marks it as restating triggers (migrate_restates) is
	 * applied again, in its place, when an older one is applied in this
	 * run: an older file run again (a backfill) puts back the triggers
	 * it made, which the later one had replaced (0048). Its record is
	 * removed before anything is applied and written again once it has
	 * run, so that a run stopped in between leaves it to the next. */
	for (i = 0; i < n; i++) {
		char *text;

		memcpy(version, names[i], 4);
		version[4] = '\0';
		if ((a = is_applied(db, version, out)) < 0)
			goto out;
		if (a && older == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((text = slurp(path)) == NULL) {
			fprintf(out, "migrate: %s: cannot read\n", path);
			goto out;
		}
		if (a && !migrate_restates(text)) {
			free(text);
			continue;
		}
		texts[i] = text;
		again[i] = (char)a;
		if (!a)
			older++;
		if (maker == n && migrate_split(text, makes_procedure,
		    NULL) == 1)
			maker = i;
	}
	/* A migration that creates a procedure makes this user the one it
	 * runs as (its definer): the batch procedures (0039) create
	 * temporary tables and write the counters, and a definer without
	 * the rights for that is only found out by every scan and import
	 * failing afterwards. So such a user is refused before anything is
	 * applied. */
	if (maker < n) {
		if ((a = grants_check(db, MIGRATE_P_DEFINER, 0, "refused",
		    "migrate: ", out)) < 0)
			goto out;
		if (a) {
			fprintf(out, "migrate: %s creates a procedure that "
			    "would run with this user's rights; nothing was "
			    "changed\n", names[maker]);
			rc = MIGRATE_NOPRIV;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if (texts[i] == NULL || !again[i])
			continue;
		memcpy(version, names[i], 4);
		version[4] = '\0';
		if (forget(db, version, names[i], out) != 0)
			goto out;
	}
	for (i = 0; i < n; i++) {
		struct run_ctx ctx;

		if (texts[i] == NULL)
			continue;
		memcpy(version, names[i], 4);
		version[4] = '\0';
		/* Still ours? A runner that lost its lease (it was not
		 * renewed in time and another took it) stops before its next
		 * migration rather than run one twice. */
		pthread_mutex_lock(&ren.mu);
		lost = ren.lost;
		pthread_mutex_unlock(&ren.mu);
		if (!lost) {
			if ((a = lease_renew(db, holder)) < 0) {
				fprintf(out, "migrate: cannot renew the migration "
				    "lease before %s: %s\n", names[i],
				    db_error(db));
				goto out;
			}
			lost = a == 0;
		}
		if (lost) {
			fprintf(out, "migrate: lost the migration lease before "
			    "%s (not renewed within %d s); another runner goes "
			    "on\n", names[i], MIGRATE_LEASE_S);
			leased = 0;
			goto out;
		}
		ctx.my = db_mysql(db);
		ctx.file = names[i];
		ctx.n = 0;
		ctx.lock_s = lock_s;
		ctx.locked = 0;
		ctx.out = out;
		a = migrate_split(texts[i], run_stmt, &ctx);
		if (a != 0 && ctx.locked) {
			fprintf(out, "migrate: stopped at %s, not recorded as "
			    "applied: another session holds a lock on a table "
			    "it changes, most likely a transaction left open "
			    "after it read or wrote the table (a report, a "
			    "dump, a client session); while this waited, every "
			    "later statement on that table waited behind it\n",
			    names[i]);
			fprintf(out, "migrate: find that session: the oldest "
			    "transactions in SELECT trx_mysql_thread_id, "
			    "trx_started, trx_query FROM "
			    "information_schema.INNODB_TRX ORDER BY "
			    "trx_started; and SHOW FULL PROCESSLIST (who is "
			    "\"Waiting for table metadata lock\", and who has "
			    "been there long). End it (COMMIT or ROLLBACK in "
			    "that client, or KILL its id), then run vigilctl "
			    "migrate again: it applies %s from its start (a "
			    "migration is safe to run twice); --lock-wait "
			    "SECONDS waits longer\n", names[i]);
			rc = MIGRATE_LOCKED;
			goto out;
		}
		if (a != 0) {
			if (a != -1 || ctx.n == 0)
				fprintf(out, "migrate: %s: cannot parse\n",
				    names[i]);
			fprintf(out, "migrate: stopped at %s; fix it and run "
			    "again\n", names[i]);
			goto out;
		}
		if (record(db, version, names[i], out) != 0)
			goto out;
		if (again[i])
			fprintf(out, "applied %s again (it restates triggers "
			    "an older migration may have put back)\n",
			    names[i]);
		else
			fprintf(out, "applied %s\n", names[i]);
		fflush(out);
		applied++;
	}
	if (applied == 0)
		fprintf(out, "nothing to do\n");
	/* What the programs need, if they connect as this user too: said,
	 * not refused, since the programs may use another user (vigilctl
	 * db check with their vigil.conf judges that one). */
	(void)grants_check(db, 0, 0, "warning", "migrate: ", out);
	rc = MIGRATE_OK;
out:
	renewer_stop(&ren);
	if (leased)
		(void)db_exec(db, SQL_MIGRATE_LEASE_DROP, (struct db_val[]){
		    DB_STR(holder) }, 1, NULL);
	for (i = 0; i < n; i++) {
		free(texts[i]);
		free(names[i]);
	}
	return rc;
}

int
migrate_schema_judge(const char *newest, int has_need, const char *need)
{
	if (!has_need)
		return MIGRATE_SCHEMA_BEHIND;
	return strcmp(newest, need) > 0 ? MIGRATE_SCHEMA_AHEAD :
	    MIGRATE_SCHEMA_OK;
}

void
migrate_schema_say(const struct migrate_schema *s, const char *prog,
    char *out, size_t outsz)
{
	const char *v = s->newest[0] != '\0' ? s->newest : "none";

	switch (s->state) {
	case MIGRATE_SCHEMA_BEHIND:
		snprintf(out, outsz, "the database's schema is behind this "
		    "%s: it needs migration %s, the newest recorded is %s; "
		    "run vigilctl migrate", prog, MIGRATE_NEED, v);
		break;
	case MIGRATE_SCHEMA_AHEAD:
		snprintf(out, outsz, "the database's schema is ahead of this "
		    "%s: migration %s is recorded, this %s knows up to %s "
		    "(an older binary on a newer schema; see the README's "
		    "Upgrade)", prog, v, prog, MIGRATE_NEED);
		break;
	default:
		snprintf(out, outsz, "the database's schema is at %s, as this "
		    "%s needs", v, prog);
		break;
	}
}

int
migrate_schema(struct db *db, struct migrate_schema *s)
{
	struct db_res *res = NULL;
	const char *v;
	int rc, has;

	memset(s, 0, sizeof(*s));
	rc = db_exec(db, SQL_SCHEMA_VERSION, (struct db_val[]){
	    DB_STR(MIGRATE_NEED) }, 1, &res);
	/* Never migrated: no schema_migrations at all. */
	if (rc == DB_ERR && db_errno(db) == ER_NO_SUCH_TABLE) {
		s->state = MIGRATE_SCHEMA_BEHIND;
		return 0;
	}
	if (rc != 0)
		return rc;
	if ((v = db_cell(res, 0, 0)) != NULL)
		snprintf(s->newest, sizeof(s->newest), "%s", v);
	has = db_cell_int(res, 0, 1) > 0;
	db_res_free(res);
	s->state = migrate_schema_judge(s->newest, has, MIGRATE_NEED);
	return 0;
}

int
migrate_require(struct db *db, const char *prog)
{
	struct migrate_schema s;
	char line[400];
	int rc;

	if ((rc = migrate_schema(db, &s)) != 0)
		return rc;
	if (s.state == MIGRATE_SCHEMA_OK)
		return 0;
	migrate_schema_say(&s, prog, line, sizeof(line));
	if (s.state == MIGRATE_SCHEMA_AHEAD) {
		log_warn("%s", line);
		return 0;
	}
	fprintf(stderr, "%s: %s\n", prog, line);
	return VX_SCHEMA;
}
