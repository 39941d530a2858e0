/* conf.c: vigil.conf(5), "key = value" lines with '#' comments. */
#include "vigil.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cidr.h"
#include "conf.h"
#include "crypto.h"
#include "exits.h"
#include "log.h"

#ifndef SYSCONFDIR
#error "SYSCONFDIR must be defined by the build"
#endif
#ifndef PKGDATADIR
#error "PKGDATADIR must be defined by the build"
#endif

#define CONF_MAX_FILE	(64 * 1024)
#define CONF_MAX_LINE	4096

struct conf g_conf;

/* CONF_FRACTION: a double in (0, 1]. CONF_AUTO_INT: "auto" (stored as
 * -1) or an int in [min, max]. CONF_CIDRS: a string, a comma-
 * separated list of addresses or prefixes (conf_cidrs). */
enum conf_type { CONF_STR, CONF_UINT, CONF_INT, CONF_BOOL, CONF_FRACTION,
    CONF_CIDRS, CONF_MODE, CONF_AUTO_INT };

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;
	size_t		 size;	/* CONF_STR: sizeof the array */
	long		 min;
	long		 max;
};

#define STR(f)		 CONF_STR, offsetof(struct conf, f), \
			    sizeof(((struct conf *)0)->f), 0, 0
#define INT(f, lo, hi)	 CONF_INT, offsetof(struct conf, f), 0, lo, hi
#define BOOL(f)		 CONF_BOOL, offsetof(struct conf, f), 0, 0, 1
#define FRACTION(f)	 CONF_FRACTION, offsetof(struct conf, f), 0, 0, 1

static const struct conf_key conf_keys[] = {
	{ "db_host",		STR(db_host) },
	{ "db_port",		CONF_UINT, offsetof(struct conf, db_port), 0,
				    1, 65535 },
	{ "db_socket",		STR(db_socket) },
	{ "db_user",		STR(db_user) },
	{ "db_password",	STR(db_password) },
	{ "db_name",		STR(db_name) },
	{ "db_sync_wait",	CONF_AUTO_INT, offsetof(struct conf,
				    db_sync_wait), 0, 0, 15 },
	{ "listen",		STR(listen) },
	{ "listen_group",	STR(listen_group) },
	{ "listen_mode",	CONF_MODE, offsetof(struct conf, listen_mode), 0,
				    0, 0777 },
	{ "workers",		INT(workers, 1, 256) },
	{ "max_requests",	INT(max_requests, 0, 1000000000) },
	{ "request_timeout_ms",	INT(request_timeout_ms, 100, 600000) },
	{ "attachment_max_bytes", INT(attachment_max_bytes, 1, 1073741824) },
	{ "log",		STR(log) },
	{ "rate_read_per_min",	INT(rate_read_per_min, 1, 1000000) },
	{ "rate_write_per_min",	INT(rate_write_per_min, 1, 1000000) },
	{ "rate_ingest_per_min", INT(rate_ingest_per_min, 1, 1000000) },
	{ "allow_private_targets", BOOL(allow_private_targets) },
	{ "allow_http_webhooks", BOOL(allow_http_webhooks) },
	{ "secret_key_file",	STR(secret_key_file) },
	{ "previous_key_files",	STR(previous_key_files) },
	{ "rules_dir",		STR(rules_dir) },
	{ "openapi_file",	STR(openapi_file) },
	{ "attack_file",	STR(attack_file) },
	{ "frameworks_dir",	STR(frameworks_dir) },
	{ "azure_authority_url", STR(azure_authority_url) },
	{ "azure_arm_url",	STR(azure_arm_url) },
	{ "spool_concurrency",	INT(spool_concurrency, 1, 1024) },
	{ "spool_webhook_concurrency", INT(spool_webhook_concurrency, 0,
	    1024) },
	{ "spool_tenant_concurrency", INT(spool_tenant_concurrency, 0, 1024) },
	{ "spool_poll_ms",	INT(spool_poll_ms, 10, 60000) },
	{ "webhook_connect_timeout_ms", INT(webhook_connect_timeout_ms, 100,
	    60000) },
	{ "webhook_timeout_ms",	INT(webhook_timeout_ms, 100, 300000) },
	{ "webhook_lease",	INT(webhook_lease, 1, 86400) },
	{ "webhook_backoff_scale", FRACTION(webhook_backoff_scale) },
	{ "webhook_disable_after", INT(webhook_disable_after, 1, 31536000) },
	{ "event_retention_days", INT(event_retention_days, 0, 36500) },
	{ "report_retention_days", INT(report_retention_days, 0, 36500) },
	{ "public_url",		STR(public_url) },
	{ "template_dir",	STR(template_dir) },
	{ "spool_ca_file",	STR(spool_ca_file) },
	{ "trusted_proxies",	CONF_CIDRS, offsetof(struct conf,
				    trusted_proxies),
				    sizeof(((struct conf *)0)->trusted_proxies),
				    0, 0 },
	{ "metrics_allow",	CONF_CIDRS, offsetof(struct conf,
				    metrics_allow),
				    sizeof(((struct conf *)0)->metrics_allow),
				    0, 0 },
};

#undef STR
#undef INT
#undef BOOL
#undef FRACTION

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->db_host, sizeof(c->db_host), "127.0.0.1");
	c->db_port = 3306;
	snprintf(c->db_user, sizeof(c->db_user), "vigil");
	snprintf(c->db_name, sizeof(c->db_name), "vigil");
	/* auto: reads wait for the cluster's earlier commits on a Galera
	 * node, and nothing is said elsewhere (vigil.conf(5)). */
	c->db_sync_wait = -1;
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:9000");
	c->listen_mode = 0660;
	c->workers = 4;
	c->max_requests = 0;
	c->request_timeout_ms = 10000;
	c->attachment_max_bytes = 50 * 1024 * 1024;
	snprintf(c->log, sizeof(c->log), "stderr");
	c->rate_read_per_min = 120;
	c->rate_write_per_min = 30;
	c->rate_ingest_per_min = 60000;
	c->allow_private_targets = 0;
	c->allow_http_webhooks = 0;
	snprintf(c->rules_dir, sizeof(c->rules_dir), "%s/rules", PKGDATADIR);
	snprintf(c->azure_authority_url, sizeof(c->azure_authority_url),
	    "https://login.microsoftonline.com");
	snprintf(c->azure_arm_url, sizeof(c->azure_arm_url),
	    "https://management.azure.com");
	snprintf(c->openapi_file, sizeof(c->openapi_file), "%s/openapi.json",
	    PKGDATADIR);
	snprintf(c->attack_file, sizeof(c->attack_file),
	    "%s/attack-enterprise.tsv", PKGDATADIR);
	snprintf(c->frameworks_dir, sizeof(c->frameworks_dir),
	    "%s/frameworks", PKGDATADIR);
	c->spool_concurrency = 16;
	c->spool_poll_ms = 200;
	c->webhook_connect_timeout_ms = 5000;
	c->webhook_timeout_ms = 15000;
	c->webhook_lease = 60;
	c->webhook_backoff_scale = 1.0;
	c->webhook_disable_after = 5 * 86400;
	c->event_retention_days = 30;
	c->report_retention_days = 90;
	snprintf(c->template_dir, sizeof(c->template_dir),
	    "%s/vigil/templates", SYSCONFDIR);
	/* A scrape from the host itself; anything further is the
	 * operator's choice. */
	snprintf(c->metrics_allow, sizeof(c->metrics_allow),
	    "127.0.0.1, ::1");
}

int
conf_cidrs(const char *list, struct cidr *out, size_t max)
{
	struct cidr c;
	const char *p = list, *e;
	size_t n = 0, len;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		for (e = p; *e != '\0' && *e != ','; e++)
			;
		len = (size_t)(e - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || n == max || !cidr_parse(p, len, &c))
			return -1;
		if (out != NULL)
			out[n] = c;
		n++;
		p = *e == ',' ? e + 1 : e;
		if (*e == ',' && *p == '\0')
			return -1;   /* a trailing comma */
	}
	return (int)n;
}

/* 1 and *out set if v names a boolean, else 0. */
static int
conf_bool(const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "1", "on" };
	static const char *const no[] = { "false", "no", "0", "off" };
	size_t	 i;

	for (i = 0; i < NELEM(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 1;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 1;
		}
	}
	return 0;
}

/* Store value v for key k into c; NULL, or what was wrong with it. */
static const char *
conf_set(struct conf *c, const struct conf_key *k, const char *v)
{
	char	*base = (char *)c + k->off, *end;
	double	 d;
	long	 n;
	int	 b;

	switch (k->type) {
	case CONF_CIDRS:
		if (conf_cidrs(v, NULL, CONF_CIDRS_MAX) < 0)
			return "expected addresses or CIDR ranges separated "
			    "by commas (at most 32)";
		/* FALLTHROUGH */
	case CONF_STR:
		if (strlen(v) >= k->size)
			return "value too long";
		memcpy(base, v, strlen(v) + 1);
		return NULL;
	case CONF_AUTO_INT:
		if (strcasecmp(v, "auto") == 0) {
			*(int *)(void *)base = -1;
			return NULL;
		}
		/* FALLTHROUGH */
	case CONF_UINT:
	case CONF_INT:
		if (*v == '\0')
			return "expected a number";
		errno = 0;
		n = strtol(v, &end, 10);
		if (*end != '\0' || errno == ERANGE)
			return "expected a number";
		if (n < k->min || n > k->max)
			return "out of range";
		if (k->type == CONF_UINT)
			*(unsigned *)(void *)base = (unsigned)n;
		else
			*(int *)(void *)base = (int)n;
		return NULL;
	case CONF_MODE:
		/* octal, as chmod(1) takes it: "0660" or "660" */
		if (*v == '\0' || strlen(v) > 4)
			return "expected an octal mode such as 0660";
		errno = 0;
		n = strtol(v, &end, 8);
		if (*end != '\0' || errno == ERANGE || n < k->min || n > k->max)
			return "expected an octal mode such as 0660";
		*(int *)(void *)base = (int)n;
		return NULL;
	case CONF_BOOL:
		if (!conf_bool(v, &b))
			return "expected true or false";
		*(int *)(void *)base = b;
		return NULL;
	case CONF_FRACTION:
		if (*v == '\0')
			return "expected a number";
		errno = 0;
		d = strtod(v, &end);
		if (*end != '\0' || errno == ERANGE)
			return "expected a number";
		if (!(d > 0.0 && d <= 1.0))
			return "out of range";
		*(double *)(void *)base = d;
		return NULL;
	}
	return "bad key type";
}

/* Trim leading and trailing white space in place; returns the start. */
static char *
conf_trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Parse one line (a NUL-terminated copy); NULL or the error text. */
static const char *
conf_line(struct conf *c, char *line, char *key, size_t keysz)
{
	const struct conf_key	*k = NULL;
	char			*eq, *name, *val;
	size_t			 i;

	key[0] = '\0';
	name = conf_trim(line);
	if (*name == '\0' || *name == '#')
		return NULL;
	if ((eq = strchr(name, '=')) == NULL)
		return "expected key = value";
	*eq = '\0';
	name = conf_trim(name);
	val = conf_trim(eq + 1);
	if (*name == '\0')
		return "missing key";
	snprintf(key, keysz, "%s", name);
	for (i = 0; i < NELEM(conf_keys); i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			k = &conf_keys[i];
	if (k == NULL)
		return "unknown key";
	return conf_set(c, k, val);
}

int
conf_parse(struct conf *c, const char *text, char *err, size_t errsz)
{
	char		 line[CONF_MAX_LINE + 1], key[64];
	const char	*p, *nl, *why;
	size_t		 len, lineno = 0;

	if (errsz > 0)
		err[0] = '\0';
	for (p = text; *p != '\0'; p = nl == NULL ? p + len : nl + 1) {
		lineno++;
		nl = strchr(p, '\n');
		len = nl == NULL ? strlen(p) : (size_t)(nl - p);
		if (len > CONF_MAX_LINE) {
			snprintf(err, errsz, "line %zu: line too long", lineno);
			return -1;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		if ((why = conf_line(c, line, key, sizeof(key))) != NULL) {
			if (key[0] != '\0')
				snprintf(err, errsz, "line %zu: %s: %s",
				    lineno, key, why);
			else
				snprintf(err, errsz, "line %zu: %s",
				    lineno, why);
			return -1;
		}
		if (nl == NULL)
			break;
	}
	return 0;
}

/* The whole file at path (bounded) into a new NUL-terminated *text of
 * *len bytes; the caller wipes and frees it (it may hold db_password).
 * 0, or -1 with "path: why" in err and errno as the failing call left
 * it. */
static int
conf_read(const char *path, char **text, size_t *len, char *err,
    size_t errsz)
{
	ssize_t	 n;
	int	 fd, e;

	*text = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		e = errno;
		snprintf(err, errsz, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if ((*text = malloc(CONF_MAX_FILE + 1)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		errno = ENOMEM;
		goto fail;
	}
	for (;;) {
		n = read(fd, *text + *len, CONF_MAX_FILE + 1 - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
		if (*len > CONF_MAX_FILE) {
			snprintf(err, errsz, "%s: file too large", path);
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	(*text)[*len] = '\0';
	if (memchr(*text, '\0', *len) != NULL) {
		snprintf(err, errsz, "%s: contains a NUL byte", path);
		errno = EINVAL;
		crypto_wipe(*text, *len);
		free(*text);
		*text = NULL;
		return -1;
	}
	return 0;
fail:
	e = errno;
	if (*text != NULL) {
		crypto_wipe(*text, *len);
		free(*text);
		*text = NULL;
	}
	close(fd);
	errno = e;
	return -1;
}

/* Reads the whole file (bounded) and parses it over the defaults. */
int
conf_load(struct conf *c, const char *path, char *err, size_t errsz)
{
	char	*text = NULL;
	size_t	 len = 0;
	int	 rc = -1;

	conf_defaults(c);
	if (conf_read(path, &text, &len, err, errsz) != 0)
		return -1;
	if (conf_parse(c, text, err, errsz) == -1) {
		/* Prefix the file name to "line N: ...". */
		char	 tmp[512];

		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errsz, "%s: %s", path, tmp);
		/* not a stale EACCES: callers tell permission apart by errno */
		errno = EINVAL;
		goto out;
	}
	rc = 0;
out:
	/* The file may hold db_password. */
	crypto_wipe(text, len);
	free(text);
	return rc;
}

int
conf_lint(struct conf *c, const char *text,
    void (*fn)(void *, const char *), void *arg)
{
	char		 line[CONF_MAX_LINE + 1], key[64], msg[640];
	unsigned	 seen[NELEM(conf_keys)];
	const char	*p, *nl, *why;
	size_t		 len, lineno = 0, i;
	int		 n = 0;

	memset(seen, 0, sizeof(seen));
	for (p = text; *p != '\0'; p = nl == NULL ? p + len : nl + 1) {
		lineno++;
		nl = strchr(p, '\n');
		len = nl == NULL ? strlen(p) : (size_t)(nl - p);
		if (len > CONF_MAX_LINE) {
			snprintf(msg, sizeof(msg), "line %zu: line too long",
			    lineno);
			fn(arg, msg);
			n++;
		} else {
			memcpy(line, p, len);
			line[len] = '\0';
			why = conf_line(c, line, key, sizeof(key));
			if (why != NULL && key[0] != '\0')
				snprintf(msg, sizeof(msg), "line %zu: %s: %s",
				    lineno, key, why);
			else if (why != NULL)
				snprintf(msg, sizeof(msg), "line %zu: %s",
				    lineno, why);
			for (i = 0; why == NULL && key[0] != '\0' &&
			    i < NELEM(conf_keys); i++) {
				if (strcmp(conf_keys[i].name, key) != 0)
					continue;
				/* Legal, but one of the two is a mistake. */
				if (seen[i] != 0) {
					snprintf(msg, sizeof(msg), "line %zu: "
					    "%s: set again (line %u set it; "
					    "this one wins)", lineno, key,
					    seen[i]);
					why = msg;
				}
				seen[i] = (unsigned)lineno;
			}
			if (why != NULL) {
				fn(arg, msg);
				n++;
			}
		}
		if (nl == NULL)
			break;
	}
	return n;
}

int
conf_lint_file(struct conf *c, const char *path,
    void (*fn)(void *, const char *), void *arg)
{
	char	*text = NULL, err[1024];
	size_t	 len = 0;
	int	 n;

	conf_defaults(c);
	if (conf_read(path, &text, &len, err, sizeof(err)) != 0) {
		int e = errno;

		fn(arg, err);
		errno = e;
		return -1;
	}
	n = conf_lint(c, text, fn, arg);
	crypto_wipe(text, len);
	free(text);
	return n;
}

const char *
conf_path(const char *cli)
{
	const char	*env;

	if (cli != NULL && *cli != '\0')
		return cli;
	if ((env = getenv("VIGIL_CONF")) != NULL && *env != '\0')
		return env;
	return SYSCONFDIR "/vigil/vigil.conf";
}

/* "user NAME (uid N), groups A, B": who this process is, for the errors
 * of a program whose user the web server chose (mod_fcgid runs vigil-api
 * as Apache's user, not as vigil). */
void
conf_whoami(char *out, size_t outsz)
{
	gid_t groups[64];
	struct passwd *pw;
	struct group *gr;
	size_t len;
	int n, i;

	pw = getpwuid(geteuid());
	if (pw != NULL)
		snprintf(out, outsz, "user %s (uid %lu), groups ", pw->pw_name,
		    (unsigned long)geteuid());
	else
		snprintf(out, outsz, "uid %lu, groups ",
		    (unsigned long)geteuid());
	groups[0] = getegid();
	n = getgroups((int)NELEM(groups) - 1, groups + 1);
	n = n < 0 ? 1 : n + 1;
	for (i = 0; i < n; i++) {
		if (i > 0 && groups[i] == groups[0])
			continue;
		len = strlen(out);
		if (len + 2 >= outsz)
			break;
		gr = getgrgid(groups[i]);
		if (gr != NULL)
			snprintf(out + len, outsz - len, "%s%s",
			    i > 0 ? ", " : "", gr->gr_name);
		else
			snprintf(out + len, outsz - len, "%s%lu",
			    i > 0 ? ", " : "", (unsigned long)groups[i]);
	}
}

int
conf_start(const char *prog, const char *cli, const char **path)
{
	const char *p = conf_path(cli);
	char err[1024], who[512];
	int e;

	if (path != NULL)
		*path = p;
	if (conf_load(&g_conf, p, err, sizeof(err)) != 0) {
		/* Say who could not read it and what to do: the first
		 * thing that goes wrong under mod_fcgid, which runs
		 * vigil-api as the web server's user. */
		e = access(p, R_OK) == -1 ? errno : 0;
		conf_whoami(who, sizeof(who));
		fprintf(stderr, "%s: cannot read the configuration: %s "
		    "(running as %s)%s\n", prog, err, who,
		    e == EACCES ? "; make the file and its directories "
		    "readable by this user (vigil.conf holds db_password: "
		    "give it to one of these groups, mode 0640) or run the "
		    "program as a user that can read it" :
		    e == ENOENT ? "; create it (the sample is "
		    "vigil.conf.sample) or name another with -c FILE or "
		    "VIGIL_CONF" : "");
		return e == EACCES || e == EPERM ? VX_NOPERM : VX_CONFIG;
	}
	if (log_open(prog, g_conf.log) != 0) {
		e = errno;
		conf_whoami(who, sizeof(who));
		fprintf(stderr, "%s: cannot open log %s: %s (running as %s); "
		    "%s, or set \"log = syslog\" or \"log = stderr\" in %s\n",
		    prog, g_conf.log, strerror(e), who,
		    e == EACCES || e == EROFS ? "let this user create and "
		    "append to the file (its directory writable by one of "
		    "these groups, or the file already there and writable by "
		    "them)" : e == ENOENT ? "create its directory" :
		    "fix the path", p);
		return e == EACCES || e == EPERM ? VX_NOPERM : VX_CONFIG;
	}
	return 0;
}
