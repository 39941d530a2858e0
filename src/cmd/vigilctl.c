/* vigilctl.c: administration from the command line: migrations, tenants
 * and API keys. The only way to create a tenant's first key. */
#include "vigil.h"

#include <sys/stat.h>
#include <poll.h>

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "compliance.h"
#include "buf.h"
#include "cases.h"
#include "conf.h"
#include "crypto.h"
#include "confcheck.h"
#include "db.h"
#include "exits.h"
#include "events.h"
#include "findings.h"
#include "id.h"
#include "idempotency.h"
#include "imports.h"
#include "integrations.h"
#include "keys.h"
#include "log.h"
#include "mutes.h"
#include "render.h"
#include "reports.h"
#include "secrets.h"
#include "rules.h"
#include "migrate.h"
#include "sla.h"
#include "tenants.h"
#include "text.h"
#include "vjson.h"
#include "vtime.h"

/* Exit statuses: exits.h's, shared by every program. EX_OK and EX_USAGE
 * are sysexits.h's (0 and 64). */
#define EX_FAIL  VX_FAILED

/* The synopsis, to f. */
static void
usage_to(FILE *f)
{
	fprintf(f,
	    "usage: vigilctl [-c file] migrate [--wait SECONDS] "
	    "[--lock-wait SECONDS]\n"
	    "       vigilctl [-c file] db check\n"
	    "       vigilctl [-c file] tenant create NAME\n"
	    "       vigilctl [-c file] tenant list\n"
	    "       vigilctl [-c file] tenant limits NAME --read N|default "
	    "--write N|default\n"
	    "       vigilctl [-c file] tenant limits NAME --ingest N|default\n"
	    "       vigilctl [-c file] key create --tenant NAME "
	    "--scopes read,write[,admin][,ingest]\n"
	    "                          [--expires RFC3339] [--name LABEL]\n"
	    "       vigilctl [-c file] key list --tenant NAME\n"
	    "       vigilctl [-c file] key revoke ID\n"
	    "       vigilctl [-c file] findings import --tenant NAME "
	    "--format ocsf|sarif|asff|vigil --source NAME [--partial] FILE\n"
	    "       vigilctl [-c file] findings import --tenant NAME "
	    "[--no-reconcile] FILE\n"
	    "       vigilctl [-c file] findings expire\n"
	    "       vigilctl [-c file] integration add-inventory --tenant NAME "
	    "--name LABEL --path DIR\n"
	    "       vigilctl [-c file] audit verify [--tenant NAME "
	    "[--head SEQ:HASH]]\n"
	    "       vigilctl [-c file] events prune [--days N]\n"
	    "       vigilctl [-c file] reports prune [--days N]\n"
	    "       vigilctl [-c file] cases list --tenant NAME "
	    "[--status open|resolved] [--limit N]\n"
	    "       vigilctl [-c file] cases show --tenant NAME CASE_ID\n"
	    "       vigilctl [-c file] secrets status\n"
	    "       vigilctl [-c file] secrets rotate --new-key FILE "
	    "[--batch N] [--max N]\n"
	    "       vigilctl [-c file] secrets retire --key FILE\n"
	    "       vigilctl report render --format csv|html|pdf|xlsx "
	    "[--paper a4|letter] [--output FILE] DOCUMENT.json\n"
	    "       vigilctl [-c file] config check [--user NAME]...\n"
	    "       vigilctl [-c file] rules check [DIR]\n"
	    "       vigilctl --help | --version\n");
}

/* After a usage error. */
static void
usage(void)
{
	usage_to(stderr);
}

/* --help: the synopsis and the options, on stdout. */
static void
help(void)
{
	usage_to(stdout);
	printf("\n"
	    "  -c, --config FILE   vigil.conf (default $VIGIL_CONF, then "
	    "%s/vigil/vigil.conf)\n"
	    "  -h, --help          this help\n"
	    "  -V, --version       the version\n"
	    "\nmigrate: --wait: seconds to wait for another runner's lease "
	    "(default %d);\n--lock-wait: seconds a statement waits for a "
	    "lock another session holds\n(default %d, 1 to %d; then exit 75, "
	    "naming the migration).\n"
	    "\ndb check: the database server's settings, the privileges "
	    "of its user (each\none missing named, with the GRANT that adds "
	    "it; exit 77), and the schema\nagainst this binary's (behind: "
	    "exit 76).\n"
	    "config check: every key of vigil.conf, the files it names as "
	    "the users that\nread them (--user, default vigil), the "
	    "database reachable and migrated.\n"
	    "rules check: every rule file under DIR (default rules_dir), "
	    "each problem with\nits file and JSON path.\n"
	    "\nExit status: 0 done, 1 refused or failed (no such tenant, "
	    "chain tampered), 64\nusage, 65 bad input file, 66 input file "
	    "not found, 69 database unreachable, 70\ninternal error, 73 "
	    "cannot write the output, 74 output error, 75 busy, try again\n"
	    "later (migrate: the lease or a lock held by another session), "
	    "76 the database's\nschema is behind this binary (run vigilctl "
	    "migrate), 77 permission denied,\n78 configuration "
	    "(vigilctl(8)).\n", SYSCONFDIR, MIGRATE_WAIT_S,
	    MIGRATE_LOCK_WAIT_S, DB_LOCK_WAIT_MAX);
}

/* Print s (NULL as "-") with its control characters, backslashes and
 * invalid bytes escaped (text_escape), then end: every string a listing
 * shows goes through here, since a tenant set many of them and rows stored
 * before labels were checked may hold anything; so do errors that quote
 * an import file. */
static void
fout(FILE *f, const char *s, const char *end)
{
	char *e;

	if (s == NULL) {
		fputs("-", f);
	} else if ((e = text_escape(s)) == NULL) {
		fputs("?", f);
	} else {
		fputs(e, f);
		free(e);
	}
	fputs(end, f);
}

static void
out(const char *s, const char *end)
{
	fout(stdout, s, end);
}

/* Who is acting, for the audit log. */
static void
actor(char *out, size_t outsz)
{
	const char *u = getenv("SUDO_USER");

	if (u == NULL || *u == '\0')
		u = getenv("USER");
	snprintf(out, outsz, "vigilctl:%s", (u && *u) ? u : "unknown");
}

/* The options after a subcommand (argv[1]), each one's value into
 * vals[v] for the option whose val is v (0 .. nvals - 1). 0, or -1 with
 * the usage printed on an unknown option, a missing value or a stray
 * argument. */
static int
sub_opts(int argc, char **argv, const struct option *opts,
    const char **vals, int nvals)
{
	int ch;

	/* argv[1] becomes argv[0], so that getopt starts after it. */
	argc--;
	argv++;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch < 0 || ch >= nvals) {
			usage();
			return -1;
		}
		vals[ch] = optarg;
	}
	if (optind != argc) {
		usage();
		return -1;
	}
	return 0;
}

/* A command calls this once its arguments are checked, before its first
 * statement: the schema against this binary's (migrate_require, the first
 * connection). VX_SCHEMA, said, when it is behind; else 0, and a database
 * that does not answer is left to the command's statements, which say
 * so. Nothing connects before, so that a usage error is said at once and
 * exits 64 whatever the database is doing (down, or not answering until
 * the connect timeout). migrate and db check read the schema their own
 * way. */
static int
schema_ready(struct db *db)
{
	return migrate_require(db, "vigilctl") == VX_SCHEMA ? VX_SCHEMA : 0;
}

/* Look a tenant up by name: 0 found (*out set, free with tenants_free),
 * 1 not found, -1 error; either failure is reported. */
static int
tenant_find(struct db *db, const char *name, struct tenant **out)
{
	int rc = tenants_by_name(db, name, out);

	if (rc < 0) {
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		return -1;
	}
	if (rc == 0) {
		fprintf(stderr, "vigilctl: no tenant named ");
		fout(stderr, name, "\n");
		return 1;
	}
	return 0;
}

/* Look up a tenant id by name into id; 0 found, 1 not found, -1 error. */
static int
tenant_lookup(struct db *db, const char *name, char *id, size_t idsz)
{
	struct tenant *t;
	int rc;

	if ((rc = tenant_find(db, name, &t)) != 0)
		return rc;
	snprintf(id, idsz, "%s", t->id);
	tenants_free(t);
	return 0;
}

/* migrate [--wait SECONDS] [--lock-wait SECONDS] and db check: the exit
 * codes of a runner that found the migration lease held throughout or
 * whose migration gave up waiting for a lock another session held (run
 * again later, both), of a server whose settings are refused, and of a
 * database user that lacks a privilege Vigil needs (sysexits'
 * EX_NOPERM: "not sufficient permission to perform the operation"). */
#define EX_MIGRATE_BUSY    VX_BUSY
#define EX_MIGRATE_REFUSED VX_CONFIG
#define EX_MIGRATE_NOPRIV  VX_NOPERM

static int
migrate_exit(int rc)
{
	switch (rc) {
	case MIGRATE_OK:
		return EX_OK;
	case MIGRATE_BUSY:
	case MIGRATE_LOCKED:
		return EX_MIGRATE_BUSY;
	case MIGRATE_REFUSED:
		return EX_MIGRATE_REFUSED;
	case MIGRATE_NOPRIV:
		return EX_MIGRATE_NOPRIV;
	case MIGRATE_BEHIND:
		return VX_SCHEMA;
	default:
		return EX_FAIL;
	}
}

/* A whole number of seconds from lo to hi: 0 and *out set, or -1. */
static int
secs_arg(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
cmd_migrate(struct db *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", required_argument, NULL, 0 },
		{ "lock-wait", required_argument, NULL, 1 },
		{ NULL, 0, NULL, 0 }
	};
	const char *vals[2] = { NULL, NULL };
	long long wait_s = MIGRATE_WAIT_S, lock_s = MIGRATE_LOCK_WAIT_S;
	int ch;

	/* The options follow "migrate" (argv[0]) itself. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch < 0 || ch > 1) {
			usage();
			return EX_USAGE;
		}
		vals[ch] = optarg;
	}
	if (optind != argc) {
		usage();
		return EX_USAGE;
	}
	if ((vals[0] != NULL && secs_arg(vals[0], 0, 86400, &wait_s) != 0) ||
	    (vals[1] != NULL && secs_arg(vals[1], 1, DB_LOCK_WAIT_MAX,
	    &lock_s) != 0)) {
		fprintf(stderr, "vigilctl: migrate: --wait takes 0 to 86400 "
		    "seconds, --lock-wait 1 to %d\n", DB_LOCK_WAIT_MAX);
		usage();
		return EX_USAGE;
	}
	return migrate_exit(migrate_run(db, migrate_dir(), (int)wait_s,
	    (int)lock_s, stdout));
}

/* db check: what the server is (one server, a Galera node) and whether
 * its settings suit Vigil, as migrate checks before it runs anything,
 * whether the database user has the privileges the programs use, and the
 * schema against this binary's. */
static int
cmd_db(struct db *db, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "check") != 0) {
		usage();
		return EX_USAGE;
	}
	if (db_connect(db) != 0) {
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		return EX_FAIL;
	}
	return migrate_exit(migrate_check(db, 1, stdout));
}

/* "default" -> 0 (the vigil.conf limit), else 1..TENANTS_LIMIT_MAX. */
static int
limit_arg(const char *s, long long *out)
{
	char *end;
	long long v;

	if (strcmp(s, "default") == 0) {
		*out = 0;
		return 0;
	}
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 1 || v > TENANTS_LIMIT_MAX)
		return -1;
	*out = v;
	return 0;
}

/* tenant limits NAME --read N --write N: per-tenant rate-limit override,
 * audited (tenants_set_limits); tenant limits NAME --ingest N: the ingest
 * keys' (tenants_set_ingest_limit). */
static int
tenant_limits(struct db *db, const char *name, int argc, char **argv)
{
	struct tenant *t;
	long long v[2] = { 0, 0 };
	char who[128];
	int i, rc, seen = 0, ingest = 0;
	enum tenants_outcome o;

	if (argc == 2 && strcmp(argv[0], "--ingest") == 0) {
		if (limit_arg(argv[1], &v[0]) != 0) {
			usage();
			return EX_USAGE;
		}
		ingest = 1;
		seen = 3;
		argc = 0;
	}
	for (i = 0; i + 1 < argc; i += 2) {
		int which = strcmp(argv[i], "--read") == 0 ? 0 :
		    strcmp(argv[i], "--write") == 0 ? 1 : -1;

		if (which < 0 || (seen & (1 << which)) ||
		    limit_arg(argv[i + 1], &v[which]) != 0) {
			usage();
			return EX_USAGE;
		}
		seen |= 1 << which;
	}
	if (seen != 3) {
		usage();
		return EX_USAGE;
	}
	if ((rc = schema_ready(db)) != 0)
		return rc;
	if (tenant_find(db, name, &t) != 0)
		return EX_FAIL;
	actor(who, sizeof(who));
	o = ingest ? tenants_set_ingest_limit(db, t->id, v[0], who, &rc) :
	    tenants_set_limits(db, t->id, v[0], v[1], who, &rc);
	tenants_free(t);
	switch (o) {
	case TENANTS_OK:
		return EX_OK;
	case TENANTS_BAD_LIMIT:
		usage();
		return EX_USAGE;
	case TENANTS_NOT_FOUND:
		fprintf(stderr, "vigilctl: no tenant named ");
		fout(stderr, name, "\n");
		return EX_FAIL;
	default:
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		return EX_FAIL;
	}
}

static int
cmd_tenant(struct db *db, int argc, char **argv)
{
	struct tenant_list *l;
	struct tenant *t;
	char n[32];
	size_t i;
	int rc;

	if (argc == 3 && strcmp(argv[1], "create") == 0) {
		/* Checked again by tenants_create; here so that a bad name
		 * is a usage error before anything connects. */
		if (!tenants_name_valid(argv[2]))
			goto bad_name;
		if ((rc = schema_ready(db)) != 0)
			return rc;
		switch (tenants_create(db, argv[2], &t, &rc)) {
		case TENANTS_OK:
			printf("%s\n", t->id);
			tenants_free(t);
			return EX_OK;
		case TENANTS_BAD_NAME:
			goto bad_name;
		case TENANTS_EXISTS:
			fprintf(stderr, "vigilctl: tenant %s already exists\n",
			    argv[2]);
			return EX_FAIL;
		default:
			fprintf(stderr, "vigilctl: %s\n", db_error(db));
			return EX_FAIL;
		}
	}
	if ((argc == 7 || argc == 5) && strcmp(argv[1], "limits") == 0)
		return tenant_limits(db, argv[2], argc - 3, argv + 3);
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		if ((rc = schema_ready(db)) != 0)
			return rc;
		if (tenants_list(db, &l) != 0) {
			fprintf(stderr, "vigilctl: %s\n", db_error(db));
			return EX_FAIL;
		}
		printf("id\tname\tcreated_at\trate_read_per_min\t"
		    "rate_write_per_min\trate_ingest_per_min\n");
		for (i = 0; i < l->n; i++) {
			t = &l->items[i];
			out(t->id, "\t");
			out(t->name, "\t");
			out(t->created_at, "\t");
			snprintf(n, sizeof(n), "%lld", t->rate_read);
			out(t->rate_read > 0 ? n : "default", "\t");
			snprintf(n, sizeof(n), "%lld", t->rate_write);
			out(t->rate_write > 0 ? n : "default", "\t");
			snprintf(n, sizeof(n), "%lld", t->rate_ingest);
			out(t->rate_ingest > 0 ? n : "default", "\n");
		}
		tenants_list_free(l);
		return EX_OK;
	}
	usage();
	return EX_USAGE;
bad_name:
	fprintf(stderr, "vigilctl: tenant names are 1 to 63 of a-z, 0-9, '-' "
	    "and '_', starting with a letter or digit\n");
	return EX_USAGE;
}

/* "read,write" -> SCOPE_* bits; -1 if empty or naming anything else. */
static int
scopes_arg(const char *in, unsigned *bits)
{
	static const struct {
		const char	*name;
		unsigned	 bit;
	} names[] = { { "read", SCOPE_READ }, { "write", SCOPE_WRITE },
	    { "admin", SCOPE_ADMIN }, { "ingest", SCOPE_INGEST } };
	const char *p = in;
	size_t i, len;
	int found;

	*bits = 0;
	while (*p != '\0') {
		len = strcspn(p, ",");
		found = 0;
		for (i = 0; i < NELEM(names); i++)
			if (strlen(names[i].name) == len &&
			    strncmp(p, names[i].name, len) == 0) {
				*bits |= names[i].bit;
				found = 1;
			}
		if (!found)
			return -1;
		p += len;
		if (*p == ',')
			p++;
	}
	return *bits == 0 ? -1 : 0;
}

/* key create: the API's rules (keys_create), except that the operator may
 * give any scopes. */
static int
key_create(struct db *db, const char *tenant, const char *scopes_in,
    const char *expires, const char *name)
{
	struct keys_new nk = { .name = name, .may_grant = KEYS_SCOPES_ALL };
	struct key_row *k = NULL;
	char tid[VIGIL_ID_LEN], who[128], scopes[32];
	int rc;

	if (scopes_arg(scopes_in, &nk.scopes) != 0) {
		fprintf(stderr, "vigilctl: --scopes takes read, write, admin and "
		    "ingest, comma-separated\n");
		return EX_USAGE;
	}
	if (expires != NULL &&
	    vtime_parse_rfc3339(expires, &nk.expires_at) != 0) {
		fprintf(stderr, "vigilctl: --expires must be an "
		    "RFC 3339 timestamp\n");
		return EX_USAGE;
	}
	nk.expires = expires != NULL;
	if (nk.expires && nk.expires_at <= time(NULL))
		goto past;
	/* Checked again by keys_create; here so that a bad label is a
	 * usage error whether or not the tenant exists, before anything
	 * connects. */
	if (!keys_name_ok(name))
		goto bad_name;
	if ((rc = schema_ready(db)) != 0)
		return rc;
	if (tenant_lookup(db, tenant, tid, sizeof(tid)) != 0)
		return EX_FAIL;
	actor(who, sizeof(who));
	switch (keys_create(db, tid, &nk, who, time(NULL), &k, &rc)) {
	case KEYS_OK:
		break;
	case KEYS_BAD_NAME:
		goto bad_name;
	case KEYS_BAD_EXPIRY:
		goto past;
	case KEYS_LIMIT:
		fprintf(stderr, "vigilctl: tenant %s has %d active keys "
		    "already; revoke one first\n", tenant, KEYS_MAX_ACTIVE);
		return EX_FAIL;
	default:
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		return EX_FAIL;
	}
	/* The key alone on stdout so that scripts can capture it. */
	printf("%s\n", k->secret);
	keys_scopes_text(k->scopes, scopes, sizeof(scopes));
	fprintf(stderr, "created %s (%s) for tenant %s with scopes %s; "
	    "the key is shown only once\n", k->id, k->prefix, tenant, scopes);
	keys_free(k);
	return EX_OK;
bad_name:
	fprintf(stderr, "vigilctl: --name must be 1 to %d characters of "
	    "UTF-8 without control characters\n", KEYS_NAME_MAX);
	return EX_USAGE;
past:
	fprintf(stderr, "vigilctl: --expires is in the past\n");
	return EX_USAGE;
}

static int
key_list(struct db *db, const char *tenant)
{
	struct keys_page *p;
	struct key_row *k;
	char tid[VIGIL_ID_LEN], scopes[32];
	size_t i;
	int rc;

	if ((rc = schema_ready(db)) != 0)
		return rc;
	if (tenant_lookup(db, tenant, tid, sizeof(tid)) != 0)
		return EX_FAIL;
	if (keys_list_all(db, tid, &p) != 0) {
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		return EX_FAIL;
	}
	printf("id\tprefix\tscopes\tcreated_at\tlast_used_at\texpires_at\t"
	    "revoked_at\tname\n");
	for (i = 0; i < p->n; i++) {
		k = p->items[i];
		keys_scopes_text(k->scopes, scopes, sizeof(scopes));
		out(k->id, "\t");
		out(k->prefix, "\t");
		out(scopes, "\t");
		out(k->created_at, "\t");
		out(k->last_used_at, "\t");
		out(k->expires_at, "\t");
		out(k->revoked_at, "\t");
		out(k->name, "\n");
	}
	keys_page_free(p);
	return EX_OK;
}

static int
key_revoke(struct db *db, const char *id)
{
	struct key_row *k = NULL;
	char who[128];
	int rc;

	if (!id_valid("key", id)) {
		fprintf(stderr, "vigilctl: ");
		fout(stderr, id, " is not a key id\n");
		return EX_FAIL;
	}
	if ((rc = schema_ready(db)) != 0)
		return rc;
	actor(who, sizeof(who));
	switch (keys_revoke(db, NULL, id, who, &k, &rc)) {
	case KEYS_OK:
		keys_free(k);
		printf("revoked %s\n", id);
		return EX_OK;
	case KEYS_NOT_FOUND:
		fprintf(stderr, "vigilctl: no active key %s\n", id);
		return EX_FAIL;
	default:
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		return EX_FAIL;
	}
}

static int
cmd_key(struct db *db, int argc, char **argv)
{
	enum { O_TENANT, O_SCOPES, O_EXPIRES, O_NAME, O__N };
	static const struct option opts[] = {
		{ "tenant",  required_argument, NULL, O_TENANT },
		{ "scopes",  required_argument, NULL, O_SCOPES },
		{ "expires", required_argument, NULL, O_EXPIRES },
		{ "name",    required_argument, NULL, O_NAME },
		{ NULL, 0, NULL, 0 }
	};
	const char *v[O__N] = { NULL, NULL, NULL, "vigilctl" };
	const char *sub;

	if (argc < 2) {
		usage();
		return EX_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "revoke") == 0) {
		if (argc != 3) {
			usage();
			return EX_USAGE;
		}
		return key_revoke(db, argv[2]);
	}
	if (sub_opts(argc, argv, opts, v, O__N) != 0)
		return EX_USAGE;
	if (v[O_TENANT] == NULL) {
		usage();
		return EX_USAGE;
	}
	if (strcmp(sub, "create") == 0) {
		if (v[O_SCOPES] == NULL) {
			usage();
			return EX_USAGE;
		}
		return key_create(db, v[O_TENANT], v[O_SCOPES], v[O_EXPIRES],
		    v[O_NAME]);
	}
	if (strcmp(sub, "list") == 0)
		return key_list(db, v[O_TENANT]);
	usage();
	return EX_USAGE;
}

/* What fd has (a pipe, a device), up to n bytes: the count, 0 at its end
 * or once a signal stopped the import (imports_stopped), -1 on an error.
 * Waits in poll, a fifth of a second at a time, so that a stop is seen
 * while the pipe sends nothing (a read would be restarted: SA_RESTART). */
static ssize_t
read_stoppable(int fd, char *buf, size_t n)
{
	struct pollfd pfd;
	ssize_t got;

	for (;;) {
		if (imports_stopped())
			return 0;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 200) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd.revents == 0)
			continue;
		if ((got = read(fd, buf, n)) >= 0)
			return got;
		if (errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

/* findings import --tenant NAME --format F --source S [--partial] FILE:
 * the file through POST /imports' own path, its outcome printed as the
 * import. A regular file is read where it is (imports_run_file: the same
 * reading as imports_run's, without copying it into chunks first);
 * anything else (a pipe, a device, a file whose size the system does not
 * know, as /proc's say 0) is stored in chunks, then read by imports_run. With legacy (the form without --format: Vigil JSON,
 * source "import", all or nothing), the one line that form has always
 * printed, or the error. fp is file opened (by cmd_findings, before
 * anything connects); closed here. */
static int
import_report(struct db *db, const char *tid, FILE *fp, const char *file,
    enum importfmt fmt, const char *source, int partial, int legacy)
{
	struct imports_upload *up = NULL;
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	json_object *o = NULL;
	char buf[64 * 1024], id[VIGIL_ID_LEN];
	struct stat sb;
	long long bytes;
	ssize_t n;
	size_t k;
	int rc, ret = EX_FAIL;

	/* Interrupted, the import ends failed at its next batch rather than
	 * hold its source until its lease passes (imports_stop). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = imports_stop;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (k = 0; k < NELEM(sigs); k++) {
		struct sigaction was;

		/* one ignored when started (nohup's SIGHUP, a background
		 * job's SIGINT) stays ignored */
		if (sigaction(sigs[k], NULL, &was) == 0 &&
		    was.sa_handler != SIG_IGN)
			(void)sigaction(sigs[k], &sa, NULL);
	}
	if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size > 0) {
		if (sb.st_size > IMPORT_MAX_BYTES) {
			fprintf(stderr, "vigilctl: %s: larger than 100 MiB\n",
			    file);
			ret = VX_DATAERR;
			goto out;
		}
		id[0] = '\0';
		if (imports_run_file(db, tid, source, fmt, partial ?
		    IMPORT_PARTIAL : IMPORT_FULL, legacy ?
		    IMPORT_ALL_OR_NOTHING : 0, "vigilctl", time(NULL), fp, id,
		    sizeof(id)) < 0 || imports_get(db, tid, id, &o) != 1)
			goto dberr;
		goto done;
	}
	if (imports_begin(db, tid, source, fmt, partial ? IMPORT_PARTIAL :
	    IMPORT_FULL, legacy ? IMPORT_ALL_OR_NOTHING : 0, "vigilctl",
	    time(NULL), &up, &rc) != IMPORT_OK)
		goto dberr;
	/* Read from the descriptor (nothing was read through fp): a stop
	 * is seen while a pipe sends nothing. */
	while ((n = read_stoppable(fileno(fp), buf, sizeof(buf))) > 0) {
		enum imports_outcome oc = imports_write(up, buf, (size_t)n,
		    &rc);

		if (oc == IMPORT_TOO_LARGE) {
			imports_abort(up);
			fprintf(stderr, "vigilctl: %s: larger than 100 MiB\n",
			    file);
			ret = VX_DATAERR;
			goto out;
		}
		if (oc != IMPORT_OK) {
			imports_abort(up);
			goto dberr;
		}
	}
	if (n < 0) {
		int e = errno;

		imports_abort(up);
		fprintf(stderr, "vigilctl: %s: read error: %s\n", file,
		    strerror(e));
		ret = VX_IOERR;
		goto out;
	}
	/* stopped while it was stored: nothing of it stays */
	if (imports_stopped()) {
		imports_abort(up);
		fprintf(stderr, "vigilctl: %s: stopped by signal %d (%s); "
		    "nothing was imported\n", file, imports_stopped(),
		    strsignal(imports_stopped()));
		ret = VX_FAILED;
		goto out;
	}
	if (imports_finish(up, id, sizeof(id), &bytes, &rc) != IMPORT_OK ||
	    imports_run(db, id, time(NULL)) < 0 ||
	    imports_get(db, tid, id, &o) != 1)
		goto dberr;
done:
	/* A failed import is a file it could not take, unless a signal
	 * stopped it. */
	ret = strcmp(json_object_get_string(json_object_object_get(o,
	    "status")), "completed") == 0 ? EX_OK : imports_stopped() &&
	    strncmp(json_object_get_string(json_object_object_get(o,
	    "error")), "stopped by signal", 17) == 0 ? VX_FAILED :
	    VX_DATAERR;
	if (!legacy)
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (ret == EX_OK) {
		const char *note = json_object_get_string(
		    json_object_object_get(o, "note"));

		printf("imported %lld findings, resolved %lld no longer "
		    "present\n", (long long)json_object_get_int64(
		    json_object_object_get(o, "imported")),
		    (long long)json_object_get_int64(json_object_object_get(o,
		    "resolved")));
		if (note != NULL) {
			fprintf(stderr, "vigilctl: %s: ", file);
			fout(stderr, note, "\n");
		}
	}
	else {
		fprintf(stderr, "vigilctl: %s: ", file);
		fout(stderr, json_object_get_string(json_object_object_get(o,
		    "error")), "\n");
	}
	goto out;
dberr:
	fprintf(stderr, "vigilctl: %s\n", db_error(db));
	ret = db_exit(db);
out:
	if (o != NULL)
		json_object_put(o);
	fclose(fp);
	return ret;
}

/* findings import --tenant NAME [--no-reconcile] FILE | findings import
 * --tenant NAME --format F --source S [--partial] FILE | findings expire.
 * Both imports go through POST /imports' code: without --format the file
 * is Vigil JSON from the source "import", read whole or not at all, and
 * --no-reconcile is --partial. */
static int
cmd_findings(struct db *db, int argc, char **argv)
{
	const char *tenant = NULL, *file = NULL, *format = NULL,
	    *source = NULL;
	enum importfmt fmt;
	char tid[VIGIL_ID_LEN];
	FILE *fp;
	int i, rc, reconcile = 1, partial = 0;
	long n;

	if (argc == 2 && strcmp(argv[1], "expire") == 0) {
		if ((rc = schema_ready(db)) != 0)
			return rc;
		if ((n = findings_expire_due(db, time(NULL))) < 0) {
			fprintf(stderr, "vigilctl: %s\n", db_error(db));
			return EX_FAIL;
		}
		printf("expired %ld\n", n);
		/* Mute rules whose time has passed give their findings
		 * back in the same cron job. */
		if ((n = mutes_expire_due(db, time(NULL))) < 0) {
			fprintf(stderr, "vigilctl: %s\n", db_error(db));
			return EX_FAIL;
		}
		/* Only when there was some: the line above is what scripts
		 * have always read. */
		if (n > 0)
			printf("unmuted %ld\n", n);
		return EX_OK;
	}
	if (argc < 2 || strcmp(argv[1], "import") != 0) {
		usage();
		return EX_USAGE;
	}
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
			tenant = argv[++i];
		else if (strcmp(argv[i], "--no-reconcile") == 0)
			reconcile = 0;
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			format = argv[++i];
		else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc)
			source = argv[++i];
		else if (strcmp(argv[i], "--partial") == 0)
			partial = 1;
		else if (argv[i][0] != '-' && file == NULL)
			file = argv[i];
		else {
			usage();
			return EX_USAGE;
		}
	}
	if (tenant == NULL || file == NULL) {
		usage();
		return EX_USAGE;
	}
	if ((format != NULL || source != NULL || partial) &&
	    (format == NULL || source == NULL || !reconcile)) {
		usage();
		return EX_USAGE;
	}
	/* Without --format: Vigil JSON from the source "import". */
	if (importfmt_from_str(format ? format : "vigil", &fmt) != 0) {
		fprintf(stderr, "vigilctl: --format must be ocsf, sarif, asff "
		    "or vigil\n");
		return EX_USAGE;
	}
	if (source != NULL && !imports_source_valid(source)) {
		fprintf(stderr, "vigilctl: --source must be 1 to 64 letters, "
		    "digits, '-', '_', '.' or ':'\n");
		return EX_USAGE;
	}
	if ((fp = fopen(file, "rb")) == NULL) {
		fprintf(stderr, "vigilctl: %s: cannot open\n", file);
		return VX_NOINPUT;
	}
	if ((rc = schema_ready(db)) == 0 &&
	    tenant_lookup(db, tenant, tid, sizeof(tid)) != 0)
		rc = EX_FAIL;
	if (rc != 0) {
		fclose(fp);
		return rc;
	}
	if (format != NULL)
		return import_report(db, tid, fp, file, fmt, source, partial,
		    0);
	return import_report(db, tid, fp, file, fmt, "import", !reconcile, 1);
}

/* events prune [--days N]: finished deliveries (succeeded, failed, dead)
 * last changed more than N days ago (vigil.conf event_retention_days, 30;
 * 0 keeps everything), then the dispatched events of that age that no
 * delivery refers to (events_prune). Pending deliveries and their
 * events stay, and so does the audit log. First, whatever N, the
 * Idempotency-Keys older than 24 hours (idempotency_prune). */
/* "prune [--days N]" after argv[0]: 0 with *days N (left as it is
 * without --days), or -1 for a usage error. */
static int
prune_args(int argc, char **argv, long long *days)
{
	char *end;

	if (argc == 4 && strcmp(argv[1], "prune") == 0 &&
	    strcmp(argv[2], "--days") == 0) {
		*days = strtoll(argv[3], &end, 10);
		return *argv[3] == '\0' || *end != '\0' || *days < 0 ||
		    *days > 36500 ? -1 : 0;
	}
	return argc == 2 && strcmp(argv[1], "prune") == 0 ? 0 : -1;
}

static int
cmd_events(struct db *db, int argc, char **argv)
{
	long long days = g_conf.event_retention_days, nd = 0, ne = 0, nk = 0;
	int rc;

	if (prune_args(argc, argv, &days) != 0) {
		usage();
		return EX_USAGE;
	}
	if ((rc = schema_ready(db)) != 0)
		return rc;
	/* Idempotency keys last 24 hours whatever the retention. */
	if (idempotency_prune(db, time(NULL), &nk) != 0)
		goto fail;
	printf("pruned %lld idempotency keys older than 24 hours\n", nk);
	if (days == 0) {
		printf("pruned nothing else (retention 0: keep everything)\n");
		return EX_OK;
	}
	if (events_prune(db, days, &nd, &ne) != 0)
		goto fail;
	printf("pruned %lld deliveries and %lld events older than %lld "
	    "days\n", nd, ne, days);
	return EX_OK;
fail:
	fprintf(stderr, "vigilctl: %s (pruned %lld deliveries and %lld events "
	    "before)\n", db_error(db), nd, ne);
	return EX_FAIL;
}

/* reports prune [--days N]: the finished reports (completed or failed)
 * that finished more than N days ago (vigil.conf report_retention_days,
 * 90; 0 keeps every report) are deleted (reports_prune); queued and
 * running ones stay whatever their age. */
static int
cmd_reports(struct db *db, int argc, char **argv)
{
	long long days = g_conf.report_retention_days, n = 0;
	int rc;

	if (prune_args(argc, argv, &days) != 0) {
		usage();
		return EX_USAGE;
	}
	if (days == 0) {
		printf("pruned nothing (retention 0: keep every report)\n");
		return EX_OK;
	}
	if ((rc = schema_ready(db)) != 0)
		return rc;
	if (reports_prune(db, days, &n) != 0) {
		fprintf(stderr, "vigilctl: %s (pruned %lld reports before)\n",
		    db_error(db), n);
		return EX_FAIL;
	}
	printf("pruned %lld reports finished more than %lld days ago\n", n,
	    days);
	return EX_OK;
}

/* integration add-inventory --tenant NAME --name LABEL --path DIR: an
 * inventory integration (a directory of ARM JSON exports), made by
 * integrations_create as POST /integrations makes it (same rules, same
 * audit entry); prints its id. */
static int
cmd_integration(struct db *db, int argc, char **argv)
{
	enum { O_TENANT, O_NAME, O_PATH, O__N };
	static const struct option opts[] = {
		{ "tenant", required_argument, NULL, O_TENANT },
		{ "name",   required_argument, NULL, O_NAME },
		{ "path",   required_argument, NULL, O_PATH },
		{ NULL, 0, NULL, 0 }
	};
	struct integrations_new nw;
	struct integrations_err err;
	struct integration *in = NULL;
	json_object *cfg = NULL;
	const char *v[O__N] = { NULL, NULL, NULL };
	const char *tenant, *name, *path;
	char tid[VIGIL_ID_LEN], who[128];
	int rc, ret = EX_FAIL;

	if (argc < 2 || strcmp(argv[1], "add-inventory") != 0) {
		usage();
		return EX_USAGE;
	}
	if (sub_opts(argc, argv, opts, v, O__N) != 0)
		return EX_USAGE;
	tenant = v[O_TENANT];
	name = v[O_NAME];
	path = v[O_PATH];
	if (tenant == NULL || name == NULL || path == NULL) {
		usage();
		return EX_USAGE;
	}
	/* The command line's shape, as the API checks a body's: the rules
	 * on the values are integrations_create's. */
	if (strlen(path) > 1024 ||
	    text_control(path, strlen(path), 0) != strlen(path)) {
		fprintf(stderr, "vigilctl: --path must be at most 1024 bytes "
		    "without control characters\n");
		return EX_USAGE;
	}
	/* Checked again by integrations_create (and so is the directory,
	 * there); here so that a bad label is a usage error before
	 * anything connects. */
	if (!integrations_name_ok(name, &err)) {
		fprintf(stderr, "vigilctl: %s\n", err.message);
		return EX_USAGE;
	}
	if ((rc = schema_ready(db)) != 0)
		return rc;
	if (tenant_lookup(db, tenant, tid, sizeof(tid)) != 0)
		return EX_FAIL;
	actor(who, sizeof(who));
	cfg = json_object_new_object();
	json_object_object_add(cfg, "path", json_object_new_string(path));
	memset(&nw, 0, sizeof(nw));
	nw.tenant_id = tid;
	nw.type = "inventory";
	nw.name = name;
	nw.config = cfg;
	nw.actor = who;
	nw.log_ctx = "vigilctl";
	nw.now = time(NULL);
	switch (integrations_create(db, &nw, &err, &in, &rc)) {
	case INTEGRATIONS_OK:
		printf("%s\n", in->id);
		ret = EX_OK;
		break;
	case INTEGRATIONS_INVALID:
		/* A bad label is a usage error; an unusable directory is
		 * the failure it always was. */
		fprintf(stderr, "vigilctl: %s\n", err.message);
		ret = strcmp(err.field, "name") == 0 ? EX_USAGE : EX_FAIL;
		break;
	default:
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		break;
	}
	integrations_free(in);
	json_object_put(cfg);
	return ret;
}

/* Rows per round trip when walking an audit chain. */
#define AUDIT_BATCH 5000

/* Walk one tenant's audit chain in seq order and print one line: "ok: …"
 * or "TAMPERED: …". With hseq > 0, the entry hseq must exist and have hash
 * hhash (a chain_head saved from an export). 0 intact, 1 tampered, -1 on
 * a database error. */
static int
audit_verify_tenant(struct db *db, const char *tid, const char *name,
    long long hseq, const char *hhash)
{
	struct audit_page *pg = NULL;
	const struct audit_row *rows;
	struct audit_problem p;
	struct audit_chain chain;
	long long count = 0;
	char what[512];
	int head_seen = 0, ret = -1;
	size_t i;

	audit_chain_init(&chain);
	what[0] = '\0';
	for (;;) {
		if (audit_chain_next(db, tid, chain.seq, AUDIT_BATCH,
		    &pg) != 0) {
			/* out of memory leaves the database no message */
			fprintf(stderr, "vigilctl: %s\n", db_error(db)[0] ?
			    db_error(db) : "out of memory");
			goto out;
		}
		rows = pg->rows;
		if (audit_verify_rows(&chain, rows, pg->n, &p) != 0) {
			audit_problem_str(&p, what, sizeof(what));
			break;
		}
		for (i = 0; i < pg->n && hseq > 0; i++)
			if (rows[i].seq == hseq) {
				head_seen = 1;
				if (strcmp(rows[i].hash, hhash) != 0) {
					snprintf(what, sizeof(what), "entry %s "
					    "(seq %lld) does not match the "
					    "recorded head: the chain was "
					    "rewritten up to there", rows[i].id,
					    hseq);
					break;
				}
			}
		count += (long long)pg->n;
		if (what[0] != '\0' || pg->n < AUDIT_BATCH)
			break;
		audit_page_free(pg);
		pg = NULL;
	}
	if (what[0] == '\0' && hseq > 0 && !head_seen)
		snprintf(what, sizeof(what), "entries after seq %lld up to the "
		    "recorded head (seq %lld) were deleted", chain.seq, hseq);
	if (what[0] != '\0') {
		printf("TAMPERED: tenant ");
		out(name, ": ");
		out(what, "\n");
		ret = 1;
	} else {
		printf("ok: tenant ");
		out(name, ", ");
		printf("%lld entries, head ", count);
		out(chain.hash, "\n");
		ret = 0;
	}
out:
	audit_page_free(pg);
	return ret;
}

/* "SEQ:HASH" (an export's chain_head) into its parts; 0 or -1. */
static int
head_arg(const char *s, long long *seq, char hash[65])
{
	const char *colon = strchr(s, ':');
	char *end;
	size_t i;

	if (colon == NULL || strlen(colon + 1) != 64)
		return -1;
	*seq = strtoll(s, &end, 10);
	if (end != colon || *seq < 1 || s[0] < '0' || s[0] > '9')
		return -1;
	for (i = 0; i < 64; i++) {
		char c = colon[1 + i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		hash[i] = c;
	}
	hash[64] = '\0';
	return 0;
}

/* audit verify [--tenant NAME [--head SEQ:HASH]]: every tenant's chain
 * by default. Exits 1 if any chain is tampered with (or on error). */
static int
cmd_audit(struct db *db, int argc, char **argv)
{
	enum { O_TENANT, O_HEAD, O__N };
	static const struct option opts[] = {
		{ "tenant", required_argument, NULL, O_TENANT },
		{ "head",   required_argument, NULL, O_HEAD },
		{ NULL, 0, NULL, 0 }
	};
	struct tenant_list *tl = NULL;
	const char *o[O__N] = { NULL, NULL };
	const char *tenant, *head;
	char tid[VIGIL_ID_LEN], hhash[65];
	long long hseq = 0;
	int rc = EX_OK, v;
	size_t i;

	if (argc < 2 || strcmp(argv[1], "verify") != 0) {
		usage();
		return EX_USAGE;
	}
	if (sub_opts(argc, argv, opts, o, O__N) != 0)
		return EX_USAGE;
	tenant = o[O_TENANT];
	head = o[O_HEAD];
	if (head != NULL && tenant == NULL) {
		usage();
		return EX_USAGE;
	}
	if (head != NULL && head_arg(head, &hseq, hhash) != 0) {
		fprintf(stderr, "vigilctl: --head takes SEQ:HASH as in an "
		    "export's chain_head, e.g. 42:9f86d0…\n");
		return EX_USAGE;
	}
	if ((rc = schema_ready(db)) != 0)
		return rc;
	/* One snapshot: entries appended meanwhile are not half seen. */
	if (db_begin(db) != 0) {
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		return EX_FAIL;
	}
	if (tenant != NULL) {
		if (tenant_lookup(db, tenant, tid, sizeof(tid)) != 0)
			rc = EX_FAIL;
		else if (audit_verify_tenant(db, tid, tenant, hseq, hhash) != 0)
			rc = EX_FAIL;
		goto out;
	}
	if (tenants_list(db, &tl) != 0) {
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		rc = EX_FAIL;
		goto out;
	}
	for (i = 0; i < tl->n; i++) {
		v = audit_verify_tenant(db, tl->items[i].id,
		    tl->items[i].name, 0, NULL);
		if (v != 0)
			rc = EX_FAIL;
		if (v < 0)
			break;
	}
out:
	tenants_list_free(tl);
	db_rollback(db);
	return rc;
}

/* cases list --tenant NAME [--status S] [--limit N]: the tenant's cases,
 * newest first, one tab-separated line each (at most N, 100 by default,
 * 500 at most). Read-only: the same cases_list as GET /cases. */
static int
cases_list_cmd(struct db *db, const char *tid, const char *status,
    long limit)
{
	struct cases_filter f = { status, NULL, NULL, NULL };
	json_object *items = NULL;
	long long total = 0, last = 0;
	size_t i;
	int more = 0;

	if (cases_list(db, tid, &f, 1LL << 62, limit, &items, &total, &more,
	    &last) != 0) {
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		return EX_FAIL;
	}
	printf("case_id\tstatus\tseverity\tcreated_at\tupdated_at\t"
	    "assignee\ttitle\n");
	for (i = 0; i < json_object_array_length(items); i++) {
		json_object *c = json_object_array_get_idx(items, i);
		static const char *const cols[] = { "case_id", "status",
		    "severity", "created_at", "updated_at", "assignee",
		    "title" };
		size_t k;

		for (k = 0; k < NELEM(cols); k++)
			out(json_object_get_string(json_object_object_get(c,
			    cols[k])), k + 1 < NELEM(cols) ? "\t" : "\n");
	}
	if (more)
		fprintf(stderr, "vigilctl: %zu of %lld cases shown (--limit)\n",
		    json_object_array_length(items), total);
	json_object_put(items);
	return EX_OK;
}

/* cases list | cases show --tenant NAME CASE_ID (the whole case as GET
 * /cases/{id} answers it, as JSON). For admins on the server; nothing
 * here changes a case. */
static int
cmd_cases(struct db *db, int argc, char **argv)
{
	enum { O_TENANT, O_STATUS, O_LIMIT, O__N };
	static const struct option opts[] = {
		{ "tenant", required_argument, NULL, O_TENANT },
		{ "status", required_argument, NULL, O_STATUS },
		{ "limit",  required_argument, NULL, O_LIMIT },
		{ NULL, 0, NULL, 0 }
	};
	const char *o[O__N] = { NULL, NULL, NULL }, *id = NULL;
	json_object *c = NULL;
	json_object *sla = NULL;
	char tid[VIGIL_ID_LEN], *end;
	long limit = 100;
	int show, rc;

	if (argc < 2 || ((show = strcmp(argv[1], "show") == 0) == 0 &&
	    strcmp(argv[1], "list") != 0)) {
		usage();
		return EX_USAGE;
	}
	/* show's one operand, last */
	if (show && argc > 2 && argv[argc - 1][0] != '-' &&
	    (argc < 4 || strcmp(argv[argc - 2], "--tenant") != 0))
		id = argv[--argc];
	if (sub_opts(argc, argv, opts, o, O__N) != 0)
		return EX_USAGE;
	if (o[O_TENANT] == NULL || (show && (id == NULL ||
	    o[O_STATUS] != NULL || o[O_LIMIT] != NULL))) {
		usage();
		return EX_USAGE;
	}
	if (o[O_STATUS] != NULL && !cases_status_valid(o[O_STATUS])) {
		fprintf(stderr, "vigilctl: --status must be open or "
		    "resolved\n");
		return EX_USAGE;
	}
	if (o[O_LIMIT] != NULL) {
		limit = strtol(o[O_LIMIT], &end, 10);
		if (*o[O_LIMIT] == '\0' || *end != '\0' || limit < 1 ||
		    limit > 500) {
			fprintf(stderr, "vigilctl: --limit must be 1 to 500\n");
			return EX_USAGE;
		}
	}
	if ((rc = schema_ready(db)) != 0)
		return rc;
	if (tenant_lookup(db, o[O_TENANT], tid, sizeof(tid)) != 0)
		return EX_FAIL;
	if (!show)
		return cases_list_cmd(db, tid, o[O_STATUS], limit);
	if ((rc = cases_full(db, tid, id, &c)) < 0) {
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		return EX_FAIL;
	}
	if (rc == 0) {
		fprintf(stderr, "vigilctl: no case ");
		fout(stderr, id, " in that tenant\n");
		return EX_FAIL;
	}
	/* The SLA targets, as GET /cases/{id} shows them. */
	if (sla_object_targets(db, tid, "case", id, time(NULL), &sla) < 0) {
		fprintf(stderr, "vigilctl: %s\n", db_error(db));
		json_object_put(c);
		return EX_FAIL;
	}
	json_object_object_add(c, "sla", sla);
	printf("%s\n", json_object_to_json_string_ext(c,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(c);
	return EX_OK;
}

/* vigilctl report render: draw a report document (a JSON file in the
 * model of render.h) as the API's reports would, to FILE or stdout. No
 * configuration or database: for looking at a layout, and for the tests. */
#define REPORT_DOC_MAX	(64u << 20)
#define REPORT_OUT_MAX	(256u << 20)

static int
cmd_report(int argc, char **argv)
{
	enum { O_FORMAT, O_PAPER, O_OUTPUT, O_N };
	static const struct option opts[] = {
		{ "format", required_argument, NULL, O_FORMAT },
		{ "paper",  required_argument, NULL, O_PAPER },
		{ "output", required_argument, NULL, O_OUTPUT },
		{ NULL, 0, NULL, 0 }
	};
	const char *vals[O_N] = { NULL }, *fmt, *file;
	struct json_object *doc = NULL;
	struct vjson_err verr;
	struct buf in, outb;
	char err[512];
	FILE *fin = NULL;
	int rc = EX_FAIL, r;

	buf_init(&in, REPORT_DOC_MAX);
	buf_init(&outb, REPORT_OUT_MAX);
	if (argc < 3 || strcmp(argv[1], "render") != 0) {
		usage();
		rc = EX_USAGE;
		goto out;
	}
	/* The document is the last argument, the options before it. */
	file = argv[argc - 1];
	if (sub_opts(argc - 1, argv, opts, vals, O_N) < 0 ||
	    (fmt = vals[O_FORMAT]) == NULL) {
		if (vals[O_FORMAT] == NULL)
			usage();
		rc = EX_USAGE;
		goto out;
	}
	/* fopen, not open: <fcntl.h> would define O_PATH, a name this file
	 * uses for an option. */
	if ((fin = fopen(file, "rb")) == NULL) {
		fprintf(stderr, "vigilctl: %s: %s\n", file, strerror(errno));
		rc = errno == EACCES ? VX_NOPERM : VX_NOINPUT;
		goto out;
	}
	if ((r = buf_read_fd(&in, fileno(fin))) != 0) {
		fprintf(stderr, "vigilctl: %s: %s\n", file, r == -2 ?
		    "larger than 64 MiB" : strerror(errno));
		rc = r == -2 ? VX_DATAERR : VX_NOINPUT;
		goto out;
	}
	if ((doc = vjson_parse(in.data ? in.data : "", in.len, 64,
	    REPORT_DOC_MAX, &verr)) == NULL) {
		fprintf(stderr, "vigilctl: %s: %s\n", file, verr.message);
		rc = VX_DATAERR;
		goto out;
	}
	if (strcmp(fmt, "csv") == 0)
		r = render_csv(doc, &outb, err, sizeof(err));
	else if (strcmp(fmt, "html") == 0)
		r = render_html(doc, &outb, err, sizeof(err));
	else if (strcmp(fmt, "pdf") == 0)
		r = render_pdf(doc, vals[O_PAPER], &outb, err, sizeof(err));
	else if (strcmp(fmt, "xlsx") == 0)
		r = render_xlsx(doc, &outb, err, sizeof(err));
	else {
		usage();
		rc = EX_USAGE;
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "vigilctl: %s: ", file);
		fout(stderr, err, "\n");
		rc = VX_DATAERR;
		goto out;
	}
	if (vals[O_OUTPUT] != NULL) {
		FILE *f = fopen(vals[O_OUTPUT], "wb");
		int bad;

		if (f == NULL) {
			fprintf(stderr, "vigilctl: %s: %s\n", vals[O_OUTPUT],
			    strerror(errno));
			rc = VX_CANTCREAT;
			goto out;
		}
		bad = fwrite(outb.data, 1, outb.len, f) != outb.len;
		if (fclose(f) != 0 || bad) {
			fprintf(stderr, "vigilctl: %s: %s\n", vals[O_OUTPUT],
			    strerror(errno));
			rc = VX_IOERR;
			goto out;
		}
	} else if (fwrite(outb.data, 1, outb.len, stdout) != outb.len ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "vigilctl: stdout: %s\n", strerror(errno));
		rc = VX_IOERR;
		goto out;
	}
	rc = EX_OK;
out:
	if (fin != NULL)
		fclose(fin);
	json_object_put(doc);
	buf_free(&in);
	buf_free(&outb);
	return rc;
}

/* --- secrets: key rotation (vigilctl(8) "KEY ROTATION") ------------------ */

/* A positive count from s into *n; 0, or -1 with the error printed. */
static int
count_arg(const char *opt, const char *s, size_t *n)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 1000000) {
		fprintf(stderr, "vigilctl: %s takes a count from 1 to "
		    "1000000\n", opt);
		return -1;
	}
	*n = (size_t)v;
	return 0;
}

/* The ring vigil.conf names (secret_key_file, previous_key_files); 0, or
 * -1 with the error printed. */
static int
conf_ring(struct crypto_ring *ring)
{
	char err[512];

	if (g_conf.secret_key_file[0] == '\0') {
		fprintf(stderr, "vigilctl: vigil.conf sets no secret_key_file\n");
		return -1;
	}
	if (crypto_ring_load(ring, g_conf.secret_key_file,
	    g_conf.previous_key_files, err, sizeof(err)) != 0) {
		fprintf(stderr, "vigilctl: the key ring of vigil.conf: %s\n",
		    err);
		return -1;
	}
	return 0;
}

/* The key in path (a --new-key or --key argument) and its id; 0, or the
 * exit status with the error printed (66 or 77: cannot be opened; 65: not
 * a usable key file). */
static int
key_arg(const char *opt, const char *path, unsigned char key[32],
    char id[CRYPTO_KEYID_LEN])
{
	char err[512];

	FILE *f;

	if (crypto_load_key(path, key, err, sizeof(err)) == 0) {
		crypto_key_id(key, id);
		return 0;
	}
	fprintf(stderr, "vigilctl: %s: %s\n", opt, err);
	/* Why, for the exit status: cannot be opened, or not a key. */
	if ((f = fopen(path, "re")) == NULL)
		return errno == EACCES || errno == EPERM ? VX_NOPERM :
		    VX_NOINPUT;
	fclose(f);
	return VX_DATAERR;
}

/* secrets status | rotate --new-key FILE [--batch N] [--max N] |
 * retire --key FILE. Exits 1 when refused (the new key is not
 * secret_key_file, retire while the key is in use, a value no key opens),
 * 65/66/77 for a bad key file argument, 78 for a bad ring in vigil.conf,
 * and 1 on a database error (69 when unreachable: main). */
static int
cmd_secrets(struct db *db, int argc, char **argv)
{
	enum { O_NEWKEY, O_KEY, O_BATCH, O_MAX, O__N };
	static const struct option opts[] = {
		{ "new-key", required_argument, NULL, O_NEWKEY },
		{ "key",     required_argument, NULL, O_KEY },
		{ "batch",   required_argument, NULL, O_BATCH },
		{ "max",     required_argument, NULL, O_MAX },
		{ NULL, 0, NULL, 0 }
	};
	struct crypto_ring ring;
	struct secrets_tally tl;
	const char *o[O__N] = { NULL, NULL, NULL, NULL };
	unsigned char key[32];
	char id[CRYPTO_KEYID_LEN];
	size_t batch = 100, max = 0, i, left;
	int rc = EX_FAIL, cmd, dbrc;

	memset(&ring, 0, sizeof(ring));
	memset(key, 0, sizeof(key));
	if (argc < 2 || (cmd = strcmp(argv[1], "status") == 0 ? 0 :
	    strcmp(argv[1], "rotate") == 0 ? 1 :
	    strcmp(argv[1], "retire") == 0 ? 2 : -1) == -1 ||
	    sub_opts(argc, argv, opts, o, O__N) != 0 ||
	    (cmd == 0 && (o[O_NEWKEY] || o[O_KEY] || o[O_BATCH] ||
	    o[O_MAX])) ||
	    (cmd == 1 && (o[O_NEWKEY] == NULL || o[O_KEY] != NULL)) ||
	    (cmd == 2 && (o[O_KEY] == NULL || o[O_NEWKEY] || o[O_BATCH] ||
	    o[O_MAX]))) {
		usage();
		return EX_USAGE;
	}
	if ((o[O_BATCH] && count_arg("--batch", o[O_BATCH], &batch) != 0) ||
	    (o[O_MAX] && count_arg("--max", o[O_MAX], &max) != 0))
		return EX_USAGE;
	if ((cmd == 1 && (rc = key_arg("--new-key", o[O_NEWKEY], key,
	    id)) != 0) || (cmd == 2 && (rc = key_arg("--key", o[O_KEY], key,
	    id)) != 0))
		goto out;
	rc = EX_FAIL;
	/* The ring is vigil.conf's: a file it names that is unusable is a
	 * configuration error. */
	if (conf_ring(&ring) != 0) {
		rc = VX_CONFIG;
		goto out;
	}

	if (cmd == 0) {
		if ((rc = schema_ready(db)) != 0)
			goto out;
		rc = EX_FAIL;
		if ((dbrc = secrets_census(db, &ring, &tl)) != 0)
			goto dberr;
		for (i = 0; i < ring.n; i++)
			printf("%s\t%s\t%zu\n", ring.k[i].id, i == 0 ?
			    "current" : "previous", tl.by_key[i]);
		printf("unknown\t-\t%zu\n", tl.unknown);
		rc = tl.unknown > 0 ? EX_FAIL : EX_OK;
		goto out;
	}

	if (cmd == 1) {
		/* Re-sealing under a key the API, the spooler and the
		 * scanner do not have yet would lock them out of every
		 * value moved: they must be given it first. */
		if (strcmp(id, ring.k[0].id) != 0) {
			fprintf(stderr, "vigilctl: %s holds key %s, but "
			    "vigil.conf's secret_key_file holds key %s: make "
			    "the new "
			    "file secret_key_file, add the old one to "
			    "previous_key_files, restart vigil-api and "
			    "vigil-spool, then run this again "
			    "(vigilctl(8), KEY ROTATION)\n", o[O_NEWKEY], id,
			    ring.k[0].id);
			goto out;
		}
		if ((rc = schema_ready(db)) != 0)
			goto out;
		rc = EX_FAIL;
		if ((dbrc = secrets_rotate(db, &ring, batch, max, &tl)) != 0)
			goto dberr;
		printf("re-sealed %zu value(s) under key %s; %zu left under "
		    "previous keys\n", tl.resealed, id, tl.left);
		if (tl.unknown > 0) {
			fprintf(stderr, "vigilctl: %zu value(s) cannot be "
			    "opened with any key of the ring (logged with "
			    "their ids): add the key they were sealed with to "
			    "previous_key_files and run this again\n",
			    tl.unknown);
			goto out;
		}
		rc = EX_OK;
		goto out;
	}

	/* retire: the key must be a previous one, and nothing sealed with
	 * it may remain. */
	if (strcmp(id, ring.k[0].id) == 0) {
		fprintf(stderr, "vigilctl: %s holds key %s, the current "
		    "secret_key_file: it cannot be retired\n", o[O_KEY], id);
		goto out;
	}
	for (i = 1; i < ring.n; i++)
		if (strcmp(ring.k[i].id, id) == 0)
			break;
	if (i == ring.n) {
		/* Not in the ring (already taken out of vigil.conf): count
		 * with it anyway, so that nothing still needing it is
		 * missed. */
		if (ring.n == CRYPTO_RING_MAX) {
			fprintf(stderr, "vigilctl: the key ring is full\n");
			goto out;
		}
		memcpy(ring.k[i].key, key, 32);
		memcpy(ring.k[i].id, id, sizeof(id));
		ring.n++;
	}
	if ((rc = schema_ready(db)) != 0)
		goto out;
	rc = EX_FAIL;
	if ((dbrc = secrets_census(db, &ring, &tl)) != 0)
		goto dberr;
	left = tl.by_key[i];
	if (left > 0 || tl.unknown > 0) {
		fprintf(stderr, "vigilctl: refusing to retire key %s: %zu "
		    "value(s) are still sealed with it and %zu cannot be "
		    "opened with any key; run vigilctl secrets rotate "
		    "--new-key %s first\n", id, left, tl.unknown,
		    g_conf.secret_key_file);
		printf("%zu\n", left);
		goto out;
	}
	printf("no value is sealed with key %s any more: remove %s from "
	    "previous_key_files, restart vigil-api and vigil-spool, and "
	    "destroy the file with its backups\n", id, o[O_KEY]);
	rc = EX_OK;
	goto out;
dberr:
	fprintf(stderr, "vigilctl: %s\n", dbrc == DB_DOWN ?
	    "the database is unreachable" : db_error(db));
out:
	crypto_ring_wipe(&ring);
	crypto_wipe(key, sizeof(key));
	return rc;
}

/* config check [--user NAME]...: confcheck.c. Reads vigil.conf itself,
 * since finding what is wrong with it is the point. */
static int
cmd_config(const char *cfile, int argc, char **argv)
{
	const char *users[CONFCHECK_MAX_USERS];
	size_t n = 0;
	int i;

	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		usage();
		return EX_USAGE;
	}
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc &&
		    n < CONFCHECK_MAX_USERS)
			users[n++] = argv[++i];
		else if (strncmp(argv[i], "--user=", 7) == 0 &&
		    argv[i][7] != '\0' && n < CONFCHECK_MAX_USERS)
			users[n++] = argv[i] + 7;
		else {
			usage();
			return EX_USAGE;
		}
	}
	log_open("vigilctl", "stderr");
	return confcheck_run(conf_path(cfile), users, n, stdout);
}

/* rules check [DIR]: every rule of every file under DIR (default
 * rules_dir) as vigil-scan and vigil-api load them, each problem with its
 * file and the JSON path in the rule. Control references are checked
 * against frameworks_dir's catalogue when vigil.conf can be read, else
 * only their form. */
static int
cmd_rules(const char *cfile, int argc, char **argv)
{
	struct ruleset rs = { NULL, 0, NULL, 0 };
	const char *dir;
	char err[1024];
	size_t i;
	int conf_ok, noperm;

	if (argc < 2 || argc > 3 || strcmp(argv[1], "check") != 0) {
		usage();
		return EX_USAGE;
	}
	log_open("vigilctl", "stderr");
	conf_ok = conf_load(&g_conf, conf_path(cfile), err, sizeof(err)) == 0;
	/* errno is still open(2)'s or read(2)'s when that failed */
	noperm = !conf_ok && (errno == EACCES || errno == EPERM);
	if (!conf_ok && argc == 2) {
		fprintf(stderr, "vigilctl: %s\n", err);
		return noperm ? VX_NOPERM : VX_CONFIG;
	}
	if (!conf_ok)
		fprintf(stderr, "vigilctl: %s: control references checked for "
		    "their form only\n", err);
	else if (compliance_catalog() == NULL) {
		fprintf(stderr, "vigilctl: frameworks_dir: cannot read %s\n",
		    g_conf.frameworks_dir);
		return VX_CONFIG;
	}
	dir = argc == 3 ? argv[2] : g_conf.rules_dir;
	if (rules_load_dir(&rs, dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "vigilctl: ");
		fout(stderr, err, "\n");
		return VX_NOINPUT;
	}
	for (i = 0; i < rs.ninvalid; i++) {
		fout(stdout, rs.invalid[i].file, ": ");
		fout(stdout, rs.invalid[i].error, "\n");
	}
	printf("%zu rules loaded, %zu problems\n", rs.n, rs.ninvalid);
	i = rs.ninvalid;
	rules_free(&rs);
	return i > 0 ? VX_DATAERR : EX_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config",  required_argument, NULL, 'c' },
		{ "help",    no_argument,       NULL, 'h' },
		{ "version", no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfile = NULL, *path;
	struct db *db;
	char err[512];
	int ch, rc, conf_rc = 0;

	/* An import's writer thread allocates and frees some 400 KB a batch;
	 * glibc gave it back to the kernel after each batch (madvise) and
	 * faulted it in again for the next: 16,700 page faults and 0.15 s of
	 * system time in an import of 30,000 findings. Keep 4 MiB at the top
	 * of each heap instead (vigil-scan does the same). */
#ifdef M_TOP_PAD
	(void)mallopt(M_TOP_PAD, 4 * 1024 * 1024);
#endif

	/* Options before the command only. */
	while ((ch = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'h':
			help();
			return EX_OK;
		case 'V':
			printf("vigilctl %s\n", VIGIL_VERSION);
			return EX_OK;
		default:
			usage();
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage();
		return EX_USAGE;
	}
	/* Rendering a report document needs neither configuration nor
	 * database; checking the configuration or rules reads it as it
	 * goes. */
	if (strcmp(argv[0], "report") == 0)
		return cmd_report(argc, argv);
	if (strcmp(argv[0], "config") == 0)
		return cmd_config(cfile, argc, argv);
	if (strcmp(argv[0], "rules") == 0)
		return cmd_rules(cfile, argc, argv);
	if (strcmp(argv[0], "migrate") != 0 && strcmp(argv[0], "tenant") &&
	    strcmp(argv[0], "key") != 0 && strcmp(argv[0], "findings") != 0 &&
	    strcmp(argv[0], "audit") != 0 && strcmp(argv[0], "events") != 0 &&
	    strcmp(argv[0], "reports") != 0 &&
	    strcmp(argv[0], "integration") != 0 &&
	    strcmp(argv[0], "cases") != 0 && strcmp(argv[0], "db") != 0 &&
	    strcmp(argv[0], "secrets") != 0) {
		usage();
		return EX_USAGE;
	}
	/* A vigil.conf that cannot be loaded is the command's failure, but
	 * only once its arguments are checked: a usage error is told as
	 * such (64) whatever vigil.conf holds. The handle refuses to
	 * connect, with the configuration's error, and whatever the command
	 * then fails with becomes that error's status (78, or 77 when the
	 * file could not be read for want of permission). */
	path = conf_path(cfile);
	if (conf_load(&g_conf, path, err, sizeof(err)) != 0)
		/* errno is still open(2)'s or read(2)'s when that failed */
		conf_rc = errno == EACCES || errno == EPERM ? VX_NOPERM :
		    VX_CONFIG;
	log_open("vigilctl", "stderr");
	/* Nothing connects here: each command checks its arguments first
	 * (a usage error is said at once, whatever the database is doing),
	 * then the schema (schema_ready: one behind this binary exits 76),
	 * then works; one that cannot reach the database says so and exits
	 * 69. */
	if ((db = db_new(&g_conf)) == NULL)
		return VX_SOFTWARE;
	if (conf_rc != 0)
		db_refuse(db, err);
	if (strcmp(argv[0], "migrate") == 0)
		rc = cmd_migrate(db, argc, argv);
	else if (strcmp(argv[0], "tenant") == 0)
		rc = cmd_tenant(db, argc, argv);
	else if (strcmp(argv[0], "findings") == 0)
		rc = cmd_findings(db, argc, argv);
	else if (strcmp(argv[0], "audit") == 0)
		rc = cmd_audit(db, argc, argv);
	else if (strcmp(argv[0], "integration") == 0)
		rc = cmd_integration(db, argc, argv);
	else if (strcmp(argv[0], "events") == 0)
		rc = cmd_events(db, argc, argv);
	else if (strcmp(argv[0], "reports") == 0)
		rc = cmd_reports(db, argc, argv);
	else if (strcmp(argv[0], "cases") == 0)
		rc = cmd_cases(db, argc, argv);
	else if (strcmp(argv[0], "db") == 0)
		rc = cmd_db(db, argc, argv);
	else if (strcmp(argv[0], "secrets") == 0)
		rc = cmd_secrets(db, argc, argv);
	else
		rc = cmd_key(db, argc, argv);
	/* The one place a failure becomes "the database is unreachable",
	 * whichever command met it: the same status as the other programs
	 * give for it. */
	if (rc == EX_FAIL && db_exit(db) == VX_DBDOWN)
		rc = VX_DBDOWN;
	if (conf_rc != 0 && rc != EX_OK && rc != EX_USAGE) {
		/* said by the command if it tried to connect */
		if (db_exit(db) != VX_DBDOWN)
			fprintf(stderr, "vigilctl: %s\n", err);
		rc = conf_rc;
	}
	db_free(db);
	return rc;
}
