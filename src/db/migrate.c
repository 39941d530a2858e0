/* migrate.c: the schema migration runner behind "vigilctl migrate". The
 * only place that sends SQL text that is not in db.c's statement table:
 * the text comes from the migration files shipped with Vigil. */
#include "vigil.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "buf.h"
#include "db.h"
#include "migrate.h"

#define MIGRATE_MAX_FILE (4 * 1024 * 1024)
#define MIGRATE_MAX_FILES 1024

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
	FILE		*out;
};

static int
run_stmt(const char *stmt, size_t len, void *arg)
{
	struct run_ctx *c = arg;
	MYSQL_RES *res;
	int rc;

	c->n++;
	if (mysql_real_query(c->my, stmt, (unsigned long)len) != 0) {
		fprintf(c->out, "migrate: %s: statement %d failed: %s\n",
		    c->file, c->n, mysql_error(c->my));
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
			fprintf(c->out, "migrate: %s: statement %d failed: "
			    "%s\n", c->file, c->n, mysql_error(c->my));
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
is_applied(MYSQL *my, const char *version, FILE *out)
{
	MYSQL_STMT *st;
	MYSQL_BIND b;
	const char *sql = "SELECT 1 FROM schema_migrations WHERE version = ?";
	unsigned long len = strlen(version);
	int rc = -1;

	if ((st = mysql_stmt_init(my)) == NULL)
		return -1;
	memset(&b, 0, sizeof(b));
	b.buffer_type = MYSQL_TYPE_STRING;
	b.buffer = (void *)(uintptr_t)version;
	b.buffer_length = len;
	b.length = &len;
	if (mysql_stmt_prepare(st, sql, strlen(sql)) || mysql_stmt_bind_param(st, &b) ||
	    mysql_stmt_execute(st) || mysql_stmt_store_result(st)) {
		fprintf(out, "migrate: %s\n", mysql_stmt_error(st));
		goto out;
	}
	rc = mysql_stmt_num_rows(st) > 0;
out:
	mysql_stmt_close(st);
	return rc;
}

static int
record(MYSQL *my, const char *version, const char *name, FILE *out)
{
	MYSQL_STMT *st;
	MYSQL_BIND b[2];
	const char *sql = "INSERT INTO schema_migrations (version, name, "
	    "applied_at) VALUES (?, ?, UTC_TIMESTAMP())";
	unsigned long l0 = strlen(version), l1 = strlen(name);
	int rc = -1;

	if ((st = mysql_stmt_init(my)) == NULL)
		return -1;
	memset(b, 0, sizeof(b));
	b[0].buffer_type = b[1].buffer_type = MYSQL_TYPE_STRING;
	b[0].buffer = (void *)(uintptr_t)version;
	b[0].buffer_length = l0;
	b[0].length = &l0;
	b[1].buffer = (void *)(uintptr_t)name;
	b[1].buffer_length = l1;
	b[1].length = &l1;
	if (mysql_stmt_prepare(st, sql, strlen(sql)) ||
	    mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st)) {
		fprintf(out, "migrate: record %s: %s\n", name,
		    mysql_stmt_error(st));
		goto out;
	}
	rc = 0;
out:
	mysql_stmt_close(st);
	return rc;
}

/* Take the migration lock: 1 taken, 0 timed out, -1 error. */
static int
get_lock(MYSQL *my, FILE *out)
{
	const char *sql = "SELECT GET_LOCK('vigil_migrate', 60)";
	MYSQL_RES *res;
	MYSQL_ROW row;
	int rc = -1;

	if (mysql_real_query(my, sql, (unsigned long)strlen(sql)) != 0 ||
	    (res = mysql_store_result(my)) == NULL) {
		fprintf(out, "migrate: lock: %s\n", mysql_error(my));
		return -1;
	}
	if ((row = mysql_fetch_row(res)) != NULL)
		rc = (row[0] != NULL && strcmp(row[0], "1") == 0) ? 1 : 0;
	mysql_free_result(res);
	return rc;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file name of the form NNNN_word.sql; 1 if it is one. */
static int
is_migration(const char *n)
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

int
migrate_run(struct db *db, const char *dir, FILE *out)
{
	MYSQL *my;
	DIR *d = NULL;
	struct dirent *de;
	char *names[MIGRATE_MAX_FILES], path[4096], version[5];
	size_t n = 0, i;
	int rc = -1, applied = 0, locked = 0, a;

	if (db_connect(db) != 0) {
		fprintf(out, "migrate: %s\n", db_error(db));
		return -1;
	}
	my = db_mysql(db);
	if ((d = opendir(dir)) == NULL) {
		fprintf(out, "migrate: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL && n < MIGRATE_MAX_FILES)
		if (is_migration(de->d_name))
			if ((names[n] = strdup(de->d_name)) != NULL)
				n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);

	/* One migrator at a time, across hosts. */
	if ((a = get_lock(my, out)) != 1) {
		if (a == 0)
			fprintf(out, "migrate: another migration is running "
			    "(waited 60 s)\n");
		goto out;
	}
	locked = 1;
	if (query(my, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version CHAR(4) NOT NULL PRIMARY KEY, "
	    "name VARCHAR(255) NOT NULL, applied_at DATETIME NOT NULL"
	    ") ENGINE=InnoDB", out) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct run_ctx ctx;
		char *text;

		memcpy(version, names[i], 4);
		version[4] = '\0';
		if ((a = is_applied(my, version, out)) < 0)
			goto out;
		if (a)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((text = slurp(path)) == NULL) {
			fprintf(out, "migrate: %s: cannot read\n", path);
			goto out;
		}
		ctx.my = my;
		ctx.file = names[i];
		ctx.n = 0;
		ctx.out = out;
		a = migrate_split(text, run_stmt, &ctx);
		free(text);
		if (a != 0) {
			if (a != -1 || ctx.n == 0)
				fprintf(out, "migrate: %s: cannot parse\n",
				    names[i]);
			fprintf(out, "migrate: stopped at %s; fix it and run "
			    "again\n", names[i]);
			goto out;
		}
		if (record(my, version, names[i], out) != 0)
			goto out;
		fprintf(out, "applied %s\n", names[i]);
		applied++;
	}
	if (applied == 0)
		fprintf(out, "nothing to do\n");
	rc = 0;
out:
	if (locked)
		query(my, "DO RELEASE_LOCK('vigil_migrate')", out);
	for (i = 0; i < n; i++)
		free(names[i]);
	return rc;
}
