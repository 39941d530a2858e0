/* confcheck.c: vigilctl config check. Every key of vigil.conf, the files
 * and directories it names as the users the programs run as would meet
 * them (read with their uid and groups from the mode bits, since vigilctl
 * usually runs as root, which reads everything; ACLs are not looked at),
 * and the database: reachable and migrated. Each problem is printed on
 * its own line; the exit status is the most serious cause (exits.h). */
#include "vigil.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "compliance.h"
#include "conf.h"
#include "confcheck.h"
#include "crypto.h"
#include "db.h"
#include "exits.h"
#include "migrate.h"
#include "rules.h"

#define CC_GROUPS	64
#define CC_DEPTH	8	/* directory levels walked, as rules_dir's */
#define CC_PER_TREE	5	/* problems told per directory tree */

/* A user the programs run as. */
struct cc_user {
	char		 name[64];
	uid_t		 uid;
	gid_t		 groups[CC_GROUPS];
	int		 ngroups;
};

struct cc {
	FILE		*out;
	int		 nconfig, nperm, ndb;
	struct cc_user	*users;
	size_t		 nusers;
	int		 tree;		/* problems told in this tree */
};

/* Tell one problem, counted under its cause (VX_CONFIG, VX_NOPERM or
 * VX_DBDOWN). */
static void
problem(struct cc *c, int cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct cc *c, int cause, const char *fmt, ...)
{
	va_list ap;

	if (cause == VX_NOPERM)
		c->nperm++;
	else if (cause == VX_DBDOWN)
		c->ndb++;
	else
		c->nconfig++;
	fputs("problem: ", c->out);
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
}

static void
lint_problem(void *arg, const char *what)
{
	struct cc *c = arg;

	problem(c, VX_CONFIG, "vigil.conf: %s", what);
}

/* 1 if st's mode bits give u all of want (4 read, 2 write, 1 search). */
static int
may(const struct cc_user *u, const struct stat *st, unsigned want)
{
	int i;

	if (u->uid == 0)
		return 1;
	if (st->st_uid == u->uid)
		return ((st->st_mode >> 6) & want) == want;
	for (i = 0; i < u->ngroups; i++)
		if (st->st_gid == u->groups[i])
			return ((st->st_mode >> 3) & want) == want;
	return (st->st_mode & want) == want;
}

/* 1 if u can reach path: search permission on every directory above it.
 * On 0, the directory that stops it in stop. */
static int
reach(const struct cc_user *u, const char *path, char *stop, size_t stopsz)
{
	char dir[4096];
	struct stat st;
	size_t i, len = strlen(path);

	if (len >= sizeof(dir))
		return 1;
	for (i = 1; i < len; i++) {
		if (path[i] != '/')
			continue;
		memcpy(dir, path, i);
		dir[i] = '\0';
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
		    !may(u, &st, 1)) {
			snprintf(stop, stopsz, "%s", dir);
			return 0;
		}
	}
	if (path[0] == '/' && stat("/", &st) == 0 && !may(u, &st, 1)) {
		snprintf(stop, stopsz, "/");
		return 0;
	}
	return 1;
}

/* path (a regular file) readable by every user; what names the key. */
static void
check_file(struct cc *c, const char *what, const char *path)
{
	char stop[4096];
	struct stat st;
	size_t i;

	if (stat(path, &st) != 0) {
		problem(c, VX_CONFIG, "%s: %s: %s", what, path,
		    strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		problem(c, VX_CONFIG, "%s: %s: not a regular file", what, path);
		return;
	}
	for (i = 0; i < c->nusers; i++) {
		if (!reach(&c->users[i], path, stop, sizeof(stop)))
			problem(c, VX_NOPERM, "%s: %s: user %s cannot enter "
			    "%s", what, path, c->users[i].name, stop);
		else if (!may(&c->users[i], &st, 4))
			problem(c, VX_NOPERM, "%s: %s: not readable by user "
			    "%s", what, path, c->users[i].name);
	}
}

/* Every directory and file under dir readable (directories searchable)
 * by u; at most CC_PER_TREE problems told. */
static void
walk(struct cc *c, const struct cc_user *u, const char *what,
    const char *dir, int depth)
{
	struct dirent *de;
	struct stat st;
	char path[4096];
	DIR *d;

	if (depth > CC_DEPTH || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && c->tree < CC_PER_TREE) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path) || stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (!may(u, &st, 5)) {
				c->tree++;
				problem(c, VX_NOPERM, "%s: %s: not readable "
				    "by user %s", what, path, u->name);
				continue;
			}
			walk(c, u, what, path, depth + 1);
		} else if (S_ISREG(st.st_mode) && !may(u, &st, 4)) {
			c->tree++;
			problem(c, VX_NOPERM, "%s: %s: not readable by user %s",
			    what, path, u->name);
		}
	}
	closedir(d);
}

/* dir and everything in it readable by every user. */
static void
check_dir(struct cc *c, const char *what, const char *dir)
{
	char stop[4096];
	struct stat st;
	size_t i;

	if (stat(dir, &st) != 0) {
		problem(c, VX_CONFIG, "%s: %s: %s", what, dir, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		problem(c, VX_CONFIG, "%s: %s: not a directory", what, dir);
		return;
	}
	for (i = 0; i < c->nusers; i++) {
		c->tree = 0;
		if (!reach(&c->users[i], dir, stop, sizeof(stop)))
			problem(c, VX_NOPERM, "%s: %s: user %s cannot enter "
			    "%s", what, dir, c->users[i].name, stop);
		else if (!may(&c->users[i], &st, 5))
			problem(c, VX_NOPERM, "%s: %s: not readable by user "
			    "%s", what, dir, c->users[i].name);
		else
			walk(c, &c->users[i], what, dir, 0);
	}
}

/* A file every user must be able to create or append to: the file if it
 * exists, else its directory. */
static void
check_writable(struct cc *c, const char *what, const char *path)
{
	char dir[4096], stop[4096], *slash;
	struct stat st;
	size_t i;
	int exists;

	if (path[0] != '/') {
		problem(c, VX_CONFIG, "%s: %s: must be an absolute path", what,
		    path);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	exists = stat(path, &st) == 0;
	if (!exists && stat(dir, &st) != 0) {
		problem(c, VX_CONFIG, "%s: %s: %s", what, dir, strerror(errno));
		return;
	}
	if (!exists && !S_ISDIR(st.st_mode)) {
		problem(c, VX_CONFIG, "%s: %s: not a directory", what, dir);
		return;
	}
	for (i = 0; i < c->nusers; i++) {
		if (!reach(&c->users[i], path, stop, sizeof(stop)))
			problem(c, VX_NOPERM, "%s: %s: user %s cannot enter "
			    "%s", what, path, c->users[i].name, stop);
		else if (!may(&c->users[i], &st, exists ? 2 : 3))
			problem(c, VX_NOPERM, "%s: %s: not writable by user "
			    "%s", what, exists ? path : dir,
			    c->users[i].name);
	}
}

/* The secret key: valid (crypto_load_key's checks), and readable by the
 * users. Since it must be readable by its owner only, two users cannot
 * share one file: each needs its own copy (vigil-api(8)). */
static void
check_key(struct cc *c, const char *path)
{
	unsigned char key[32];
	char err[1024];

	if (path[0] == '\0') {
		problem(c, VX_CONFIG, "secret_key_file: not set: vigil-spool "
		    "does not start, and webhooks, channels and Azure "
		    "integrations cannot store their secrets");
		return;
	}
	if (crypto_load_key(path, key, err, sizeof(err)) != 0) {
		problem(c, VX_CONFIG, "secret_key_file: %s", err);
		return;
	}
	crypto_wipe(key, sizeof(key));
	check_file(c, "secret_key_file", path);
}

/* previous_key_files (a key rotation's old keys): each usable, readable
 * by the users, and the ring they make with secret_key_file loadable, as
 * every program loads it. */
static void
check_previous_keys(struct cc *c, const struct conf *k)
{
	struct crypto_ring ring;
	const char *p = k->previous_key_files;
	char err[1024], path[1024];
	size_t len;

	if (k->secret_key_file[0] == '\0' || p[0] == '\0')
		return;
	if (crypto_ring_load(&ring, k->secret_key_file, p, err,
	    sizeof(err)) != 0) {
		problem(c, VX_CONFIG, "previous_key_files: %s", err);
		return;
	}
	crypto_ring_wipe(&ring);
	while (*(p += strspn(p, " \t,")) != '\0') {
		len = strcspn(p, " \t,");
		if (len < sizeof(path)) {
			memcpy(path, p, len);
			path[len] = '\0';
			check_file(c, "previous_key_files", path);
		}
		p += len;
	}
}

static int
is_url(const char *s)
{
	return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* Values that parse but that a program refuses, or that cannot work. */
static void
check_values(struct cc *c, const struct conf *k)
{
	if (k->public_url[0] != '\0' && !is_url(k->public_url))
		problem(c, VX_CONFIG, "public_url: must start with https:// "
		    "or http://");
	if (!is_url(k->azure_authority_url))
		problem(c, VX_CONFIG, "azure_authority_url: must start with "
		    "https:// or http://");
	if (!is_url(k->azure_arm_url))
		problem(c, VX_CONFIG, "azure_arm_url: must start with "
		    "https:// or http://");
	if ((long)k->webhook_lease * 1000 <= k->webhook_timeout_ms)
		problem(c, VX_CONFIG, "webhook_lease (%d s) must be longer "
		    "than webhook_timeout_ms (%d ms): vigil-spool refuses to "
		    "start", k->webhook_lease, k->webhook_timeout_ms);
	if (k->listen_group[0] != '\0' && getgrnam(k->listen_group) == NULL)
		problem(c, VX_CONFIG, "listen_group: no group %s",
		    k->listen_group);
	if (k->listen[0] == '/')
		check_writable(c, "listen", k->listen);
	else if (strchr(k->listen, ':') == NULL)
		problem(c, VX_CONFIG, "listen: must be host:port or the "
		    "absolute path of a unix socket");
	if (k->db_socket[0] != '\0' && k->db_socket[0] != '/')
		problem(c, VX_CONFIG, "db_socket: must be an absolute path");
}

/* The files, as the programs read them. */
static void
check_files(struct cc *c, const struct conf *k)
{
	struct ruleset rs = { NULL, 0, NULL, 0 };
	char err[1024];
	size_t i;

	if (strcmp(k->log, "stderr") != 0 && strcmp(k->log, "syslog") != 0)
		check_writable(c, "log", k->log);
	check_key(c, k->secret_key_file);
	check_previous_keys(c, k);
	check_file(c, "openapi_file", k->openapi_file);
	check_file(c, "attack_file", k->attack_file);
	if (k->spool_ca_file[0] != '\0')
		check_file(c, "spool_ca_file", k->spool_ca_file);
	check_dir(c, "template_dir", k->template_dir);
	check_dir(c, "frameworks_dir", k->frameworks_dir);
	if (compliance_catalog() == NULL)
		problem(c, VX_CONFIG, "frameworks_dir: %s: the catalogues "
		    "cannot be loaded (see the messages above)",
		    k->frameworks_dir);
	check_dir(c, "rules_dir", k->rules_dir);
	if (rules_load_dir(&rs, k->rules_dir, err, sizeof(err)) != 0)
		problem(c, VX_CONFIG, "rules_dir: %s", err);
	for (i = 0; i < rs.ninvalid; i++)
		problem(c, VX_CONFIG, "rules_dir: %s: %s (skipped; vigilctl "
		    "rules check)", rs.invalid[i].file, rs.invalid[i].error);
	rules_free(&rs);
}

/* Reachable, and every migration file applied. */
static void
check_db(struct cc *c, struct db *db)
{
	struct db_res *res = NULL;
	struct dirent *de;
	const char *dir = migrate_dir();
	char first[256];
	size_t i;
	long pending = 0;
	DIR *d;

	if (db_connect(db) != 0) {
		problem(c, VX_DBDOWN, "database: %s", db_error(db));
		return;
	}
	if (db_exec(db, SQL_MIGRATIONS_APPLIED, NULL, 0, &res) != 0) {
		problem(c, VX_CONFIG, "database: not migrated (%s): run "
		    "vigilctl migrate", db_error(db));
		return;
	}
	if ((d = opendir(dir)) == NULL) {
		problem(c, VX_CONFIG, "migrations: %s: %s", dir,
		    strerror(errno));
		db_res_free(res);
		return;
	}
	first[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (!migrate_is_file(de->d_name))
			continue;
		for (i = 0; i < res->nrows; i++)
			if (db_cell(res, i, 0) != NULL &&
			    strncmp(db_cell(res, i, 0), de->d_name, 4) == 0)
				break;
		if (i < res->nrows)
			continue;
		pending++;
		if (first[0] == '\0' || strcmp(de->d_name, first) < 0)
			snprintf(first, sizeof(first), "%s", de->d_name);
	}
	closedir(d);
	db_res_free(res);
	if (pending > 0)
		problem(c, VX_CONFIG, "database: %ld migrations not applied "
		    "(from %s): run vigilctl migrate", pending, first);
}

/* Fill u for name; 0, or -1 if there is no such user. */
static int
user_get(struct cc_user *u, const char *name)
{
	struct passwd *pw;

	if ((pw = getpwnam(name)) == NULL)
		return -1;
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->uid = pw->pw_uid;
	u->ngroups = CC_GROUPS;
	if (getgrouplist(name, pw->pw_gid, u->groups, &u->ngroups) == -1)
		u->ngroups = CC_GROUPS;
	return 0;
}

int
confcheck_run(const char *path, const char *const *users, size_t nusers,
    FILE *out)
{
	struct cc_user us[CONFCHECK_MAX_USERS];
	struct passwd *pw;
	struct cc c;
	struct db *db = NULL;
	size_t i;
	int n;

	memset(&c, 0, sizeof(c));
	c.out = out;
	c.users = us;
	if (nusers > CONFCHECK_MAX_USERS)
		nusers = CONFCHECK_MAX_USERS;
	for (i = 0; i < nusers; i++)
		if (user_get(&us[c.nusers], users[i]) == 0)
			c.nusers++;
		else
			problem(&c, VX_CONFIG, "--user %s: no such user",
			    users[i]);
	/* By default the user the packaged services run as; on a machine
	 * without one, whoever runs this. */
	if (nusers == 0 && user_get(&us[0], "vigil") == 0)
		c.nusers = 1;
	else if (nusers == 0 && (pw = getpwuid(getuid())) != NULL &&
	    user_get(&us[0], pw->pw_name) == 0)
		c.nusers = 1;
	if ((n = conf_lint_file(&g_conf, path, lint_problem, &c)) < 0) {
		n = errno == EACCES || errno == EPERM;
		fprintf(out, "vigil.conf: cannot be read; nothing else "
		    "checked\n");
		return n ? VX_NOPERM : VX_CONFIG;
	}
	check_file(&c, "vigil.conf", path);
	check_values(&c, &g_conf);
	check_files(&c, &g_conf);
	if ((db = db_new(&g_conf)) == NULL) {
		fprintf(out, "out of memory\n");
		return VX_SOFTWARE;
	}
	check_db(&c, db);
	db_free(db);
	fprintf(out, "%s: %d problems (checked as user", path,
	    c.nconfig + c.nperm + c.ndb);
	for (i = 0; i < c.nusers; i++)
		fprintf(out, "%s %s", i ? "," : "", c.users[i].name);
	fprintf(out, "%s)\n", c.nusers ? "" : "s: none");
	if (c.nconfig > 0)
		return VX_CONFIG;
	if (c.nperm > 0)
		return VX_NOPERM;
	return c.ndb > 0 ? VX_DBDOWN : VX_OK;
}
