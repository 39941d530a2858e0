/* oneselect.c: the second yardstick for "make bench": minimal.c plus one
 * prepared primary-key SELECT of a finding per request, its row written
 * out as a JSON object. It is what GET /api/v1/findings/{id} cannot do
 * with less (a FastCGI request, one database round trip, the JSON of one
 * row), so that Vigil's figure for that path is also shown as a share of
 * this ceiling. No authentication, no rate limit, no logging: those are
 * what the share measures.
 *
 * usage: bench-oneselect ADDR WORKERS; the database and the tenant from
 * the environment: BENCH_DB_HOST, BENCH_DB_PORT, BENCH_DB_USER,
 * BENCH_DB_PASSWORD, BENCH_DB_NAME, BENCH_TENANT. The finding's id is the
 * request path's last segment (/api/v1/findings/{id}, as for Vigil). */
#include "vigil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <json-c/json.h>
#include <mysql.h>

/* The columns GET /api/v1/findings/{id} reads (db.c FINDING_COLS). */
static const char *const cols[] = { "seq", "id", "rule_id", "provider",
	"subscription_id", "environment", "resource_id", "title", "severity",
	"category", "layer", "framework", "description", "recommendation",
	"evidence", "fingerprint", "state", "remediation", "resolved_by",
	"awaiting_scan", "accepted_until", "snoozed_until", "detected_at",
	"updated_at", "last_seen_at", "resolved_at", "assignee", "notes" };
#define NCOLS (sizeof(cols) / sizeof(cols[0]))
#define CELL  8192

static const char sql[] = "SELECT seq, id, rule_id, provider, "
	"subscription_id, environment, resource_id, title, severity, "
	"category, layer, framework, description, recommendation, evidence, "
	"fingerprint, state, remediation, resolved_by, awaiting_scan, "
	"accepted_until, snoozed_until, detected_at, updated_at, "
	"last_seen_at, resolved_at, assignee, notes FROM findings "
	"WHERE tenant_id = ? AND id = ?";

static const char *
env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : def;
}

static void
reply(FCGX_Request *req, int status, const char *body, size_t len)
{
	char head[256];

	snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n", status,
	    status == 200 ? "OK" : status == 404 ? "Not Found" : "Error", len);
	FCGX_PutS(head, req->out);
	FCGX_PutStr(body, (int)len, req->out);
}

static void
serve(int fd)
{
	static char cells[NCOLS][CELL];
	MYSQL_BIND par[2], res[NCOLS];
	unsigned long lens[NCOLS], plens[2];
	my_bool nulls[NCOLS];
	const char *tenant = env("BENCH_TENANT", "");
	char id[256];
	FCGX_Request req;
	MYSQL_STMT *st;
	MYSQL *my;
	size_t i;

	if ((my = mysql_init(NULL)) == NULL ||
	    mysql_real_connect(my, env("BENCH_DB_HOST", "127.0.0.1"),
	    env("BENCH_DB_USER", "vigil"), env("BENCH_DB_PASSWORD", ""),
	    env("BENCH_DB_NAME", "vigil"),
	    (unsigned)strtol(env("BENCH_DB_PORT", "3306"), NULL, 10), NULL,
	    0) == NULL) {
		fprintf(stderr, "bench-oneselect: connect: %s\n",
		    my ? mysql_error(my) : "out of memory");
		return;
	}
	if ((st = mysql_stmt_init(my)) == NULL ||
	    mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		fprintf(stderr, "bench-oneselect: prepare: %s\n",
		    mysql_error(my));
		return;
	}
	memset(par, 0, sizeof(par));
	par[0].buffer_type = par[1].buffer_type = MYSQL_TYPE_STRING;
	par[0].buffer = (void *)(uintptr_t)tenant;
	plens[0] = strlen(tenant);
	par[0].length = &plens[0];
	par[1].buffer = id;
	par[1].length = &plens[1];
	memset(res, 0, sizeof(res));
	for (i = 0; i < NCOLS; i++) {
		res[i].buffer_type = MYSQL_TYPE_STRING;
		res[i].buffer = cells[i];
		res[i].buffer_length = CELL - 1;
		res[i].length = &lens[i];
		res[i].is_null = &nulls[i];
	}
	FCGX_InitRequest(&req, fd, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		const char *uri = FCGX_GetParam("DOCUMENT_URI", req.envp);
		const char *slash;
		json_object *o = NULL;
		const char *s;
		size_t len;
		int rc;

		if (uri == NULL)
			uri = FCGX_GetParam("SCRIPT_NAME", req.envp);
		slash = uri ? strrchr(uri, '/') : NULL;
		snprintf(id, sizeof(id), "%s", slash ? slash + 1 : "");
		plens[1] = strlen(id);
		if (mysql_stmt_bind_param(st, par) != 0 ||
		    mysql_stmt_execute(st) != 0 ||
		    mysql_stmt_bind_result(st, res) != 0 ||
		    mysql_stmt_store_result(st) != 0) {
			reply(&req, 500, "{}", 2);
			goto next;
		}
		rc = mysql_stmt_fetch(st);
		if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) {
			reply(&req, 404, "{}", 2);
			goto next;
		}
		o = json_object_new_object();
		for (i = 0; i < NCOLS; i++) {
			size_t n = lens[i] < CELL - 1 ? lens[i] : CELL - 1;

			json_object_object_add_ex(o, cols[i], nulls[i] ? NULL :
			    json_object_new_string_len(cells[i], (int)n),
			    JSON_C_OBJECT_ADD_KEY_IS_NEW |
			    JSON_C_OBJECT_KEY_IS_CONSTANT);
		}
		s = json_object_to_json_string_length(o,
		    JSON_C_TO_STRING_PLAIN, &len);
		reply(&req, 200, s, len);
		json_object_put(o);
next:
		mysql_stmt_free_result(st);
		FCGX_Finish_r(&req);
	}
	mysql_stmt_close(st);
	mysql_close(my);
}

int
main(int argc, char *argv[])
{
	int fd, i, n;

	if (argc != 3) {
		fprintf(stderr, "usage: bench-oneselect ADDR WORKERS\n");
		return 2;
	}
	n = (int)strtol(argv[2], NULL, 10);
	if (n < 1 || n > 64)
		return 2;
	FCGX_Init();
	if ((fd = FCGX_OpenSocket(argv[1], 128)) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++)
		if (fork() == 0) {
			serve(fd);
			_exit(0);
		}
	while (wait(NULL) > 0)
		;
	return 0;
}
