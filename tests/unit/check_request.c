/* check_request.c: request parsing and response serialisation. */
#include "vigil.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <check.h>

#include "request.h"
#include "suites.h"

START_TEST(test_init_basic)
{
	char *env[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/api/v1/api-keys?limit=5&cursor=key_x",
	    "CONTENT_LENGTH=12", "CONTENT_TYPE=application/json",
	    "HTTP_X_API_KEY=vgl_abc", "HTTP_AUTHORIZATION=Bearer t",
	    "REMOTE_ADDR=127.0.0.1", NULL };
	struct request r;

	ck_assert_int_eq(request_init(&r, env), 0);
	ck_assert_str_eq(r.method, "GET");
	ck_assert_str_eq(r.path, "/api/v1/api-keys");
	ck_assert_str_eq(r.query, "limit=5&cursor=key_x");
	ck_assert_int_eq(r.content_length, 12);
	ck_assert_str_eq(r.content_type, "application/json");
	ck_assert_str_eq(r.x_api_key, "vgl_abc");
	ck_assert_str_eq(r.authorization, "Bearer t");
	ck_assert_ptr_null(r.x_license_key);
	ck_assert_int_eq(strncmp(r.id, "req_", 4), 0);
	ck_assert_uint_eq(strlen(r.id), 30);
	ck_assert_int_eq(request_parse_query(&r), 0);
	ck_assert_uint_eq(r.nparams, 2);
	ck_assert_str_eq(request_param(&r, "limit"), "5");
	ck_assert_str_eq(request_param(&r, "cursor"), "key_x");
	ck_assert_ptr_null(request_param(&r, "nope"));
	request_free(&r);
}
END_TEST

/* A header sent twice reaches FastCGI as two parameters from nginx before
 * 1.23: all of them count, in order, for the client address. */
START_TEST(test_init_forwarded_for)
{
	char *one[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/",
	    "HTTP_X_FORWARDED_FOR=192.0.2.1", NULL };
	char *two[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/",
	    "HTTP_X_FORWARDED_FOR=10.0.0.1", "HTTP_X_API_KEY=k",
	    "HTTP_X_FORWARDED_FOR=192.0.2.1, 198.51.100.2", NULL };
	char *none[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/",
	    "HTTP_X_FORWARDED_FORX=1.2.3.4", NULL };
	struct request r;

	ck_assert_int_eq(request_init(&r, one), 0);
	ck_assert_str_eq(r.x_forwarded_for, "192.0.2.1");
	request_free(&r);
	ck_assert_int_eq(request_init(&r, two), 0);
	ck_assert_str_eq(r.x_forwarded_for,
	    "10.0.0.1, 192.0.2.1, 198.51.100.2");
	request_free(&r);
	ck_assert_int_eq(request_init(&r, none), 0);
	ck_assert_ptr_null(r.x_forwarded_for);
	request_free(&r);
}
END_TEST

/* Where the route begins: after the prefix the server mounted vigil-api
 * on, as PATH_INFO says, on the raw path. */
static const struct {
	const char *uri, *sn, *pi;	/* NULL: not in the environment */
	const char *prefix, *path;
} mounts[] = {
	/* nginx's stock fastcgi_params: SCRIPT_NAME is the whole path */
	{ "/api/v1/findings?x=1", "/api/v1/findings", NULL, "",
	    "/api/v1/findings" },
	{ "/api/v1/findings", "/api/v1/findings", "", "", "/api/v1/findings" },
	/* Apache ScriptAlias / at the root */
	{ "/api/v1/findings", "", "/api/v1/findings", "", "/api/v1/findings" },
	/* an .htaccess rewrite of /vigil/... to /vigil/vigil-api.fcgi/... */
	{ "/vigil/api/v1/findings?limit=2", "/vigil/vigil-api.fcgi",
	    "/api/v1/findings", "/vigil", "/api/v1/findings" },
	/* the program's own URL, without a rewrite */
	{ "/vigil/vigil-api.fcgi/healthz", "/vigil/vigil-api.fcgi", "/healthz",
	    "/vigil/vigil-api.fcgi", "/healthz" },
	/* nginx fastcgi_split_path_info under /a/b/ */
	{ "/a/b/api/v1/cases/", "/a/b", "/api/v1/cases/", "/a/b",
	    "/api/v1/cases/" },
	/* percent-encoded: the raw bytes are kept in both parts */
	{ "/my%20vigil/api/v1/alerts/al%5F1", "/my vigil",
	    "/api/v1/alerts/al_1", "/my%20vigil", "/api/v1/alerts/al%5F1" },
	/* a tail that is not PATH_INFO (the server merged "//"): PATH_INFO
	 * under SCRIPT_NAME */
	{ "/vigil/api/v1//x", "/vigil/v.fcgi", "/api/v1/x", "/vigil/v.fcgi",
	    "/api/v1/x" },
	{ "/x", "/s", "/api/v1/x", "/s", "/api/v1/x" },
};

START_TEST(test_init_mount)
{
	char uri[256], sn[256], pi[256];
	char *env[6];
	struct request r;
	size_t n = 0;

	env[n++] = "REQUEST_METHOD=GET";
	snprintf(uri, sizeof(uri), "REQUEST_URI=%s", mounts[_i].uri);
	env[n++] = uri;
	if (mounts[_i].sn != NULL) {
		snprintf(sn, sizeof(sn), "SCRIPT_NAME=%s", mounts[_i].sn);
		env[n++] = sn;
	}
	if (mounts[_i].pi != NULL) {
		snprintf(pi, sizeof(pi), "PATH_INFO=%s", mounts[_i].pi);
		env[n++] = pi;
	}
	env[n] = NULL;
	ck_assert_int_eq(request_init(&r, env), 0);
	ck_assert_str_eq(r.prefix, mounts[_i].prefix);
	ck_assert_str_eq(r.path, mounts[_i].path);
	request_free(&r);
}
END_TEST

START_TEST(test_init_cgi_fallback)
{
	char *env[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/api",
	    "PATH_INFO=/v1/x", "QUERY_STRING=a=1", NULL };
	struct request r;

	ck_assert_int_eq(request_init(&r, env), 0);
	ck_assert_str_eq(r.prefix, "/api");
	ck_assert_str_eq(r.path, "/v1/x");
	ck_assert_str_eq(r.query, "a=1");
	ck_assert_int_eq(r.content_length, -1);
	request_free(&r);
}
END_TEST

static const struct {
	const char	*env;
	int		 status;
} bad_env[] = {
	{ "CONTENT_LENGTH=abc", 400 },
	{ "CONTENT_LENGTH=-5", 400 },
	{ "CONTENT_LENGTH=99999999999999999999999", 400 },
	{ "CONTENT_LENGTH=10", 0 },
};

START_TEST(test_init_bad_length)
{
	char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/healthz",
	    (char *)bad_env[_i].env, NULL };
	struct request r;

	ck_assert_int_eq(request_init(&r, env), bad_env[_i].status);
	request_free(&r);
}
END_TEST

START_TEST(test_init_missing_method)
{
	char *env[] = { "REQUEST_URI=/healthz", NULL };
	struct request r;

	ck_assert_int_eq(request_init(&r, env), 400);
	request_free(&r);
}
END_TEST

static const struct {
	const char	*query;
	int		 ok;
	const char	*name;
	const char	*value;
} queries[] = {
	{ "a=b%20c", 1, "a", "b c" },
	{ "a=b+c", 1, "a", "b c" },
	{ "a=%E2%82%AC", 1, "a", "\xe2\x82\xac" },
	{ "a", 1, "a", "" },
	{ "a=&b=2", 1, "b", "2" },
	{ "&&a=1&&", 1, "a", "1" },
	{ "a=%", 0, NULL, NULL },
	{ "a=%4", 0, NULL, NULL },
	{ "a=%zz", 0, NULL, NULL },
	{ "a=%00", 0, NULL, NULL },
	{ "a=%FF", 0, NULL, NULL },          /* not UTF-8 */
	{ "a=%C0%AF", 0, NULL, NULL },       /* overlong */
	{ "a=%ED%A0%80", 0, NULL, NULL },    /* surrogate */
	{ "%27%20OR%201%3D1--=x", 1, "' OR 1=1--", "x" },
};

START_TEST(test_query)
{
	char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", NULL };
	struct request r;

	ck_assert_int_eq(request_init(&r, env), 0);
	free(r.query);
	r.query = strdup(queries[_i].query);
	if (queries[_i].ok) {
		ck_assert_int_eq(request_parse_query(&r), 0);
		ck_assert_str_eq(request_param(&r, queries[_i].name),
		    queries[_i].value);
	} else
		ck_assert_int_eq(request_parse_query(&r), -1);
	request_free(&r);
}
END_TEST

START_TEST(test_query_too_many)
{
	char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", NULL };
	struct request r;
	char q[REQUEST_MAX_PARAMS * 8 + 16];
	size_t i, len = 0;

	for (i = 0; i <= REQUEST_MAX_PARAMS; i++)
		len += (size_t)snprintf(q + len, sizeof(q) - len, "a%zu=1&",
		    i);
	ck_assert_int_eq(request_init(&r, env), 0);
	free(r.query);
	r.query = strdup(q);
	ck_assert_int_eq(request_parse_query(&r), -1);
	request_free(&r);
}
END_TEST

/* A repeated name is refused, whatever its values or spelling, and the
 * name is there to report; distinct names are not. */
static const struct {
	const char	*query;
	int		 rc;
	const char	*repeated;
} repeats[] = {
	{ "limit=1&limit=2", -2, "limit" },
	{ "severity=high&severity=low", -2, "severity" },
	{ "limit=1&cursor=x&limit=1", -2, "limit" },
	{ "limit=1&l%69mit=1", -2, "limit" },
	{ "a&a", -2, "a" },
	{ "a+b=1&a%20b=2", -2, "a b" },
	{ "limit=1&Limit=2", 0, NULL },
	{ "limit=1&limits=2", 0, NULL },
};

START_TEST(test_query_repeated)
{
	char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", NULL };
	struct request r;

	ck_assert_int_eq(request_init(&r, env), 0);
	free(r.query);
	r.query = strdup(repeats[_i].query);
	ck_assert_int_eq(request_parse_query(&r), repeats[_i].rc);
	if (repeats[_i].repeated != NULL)
		ck_assert_str_eq(r.params[r.nparams - 1].name,
		    repeats[_i].repeated);
	request_free(&r);
}
END_TEST

START_TEST(test_error_shape)
{
	char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", NULL };
	struct request r;
	struct buf out;
	json_object *o, *e, *d, *v;
	const char *body;

	ck_assert_int_eq(request_init(&r, env), 0);
	response_error(&r, 404, "not_found", "No such \"thing\".", "id");
	buf_init(&out, 1 << 20);
	response_serialize(&r, &out);
	ck_assert_ptr_nonnull(strstr(out.data, "Status: 404 Not Found\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data,
	    "Content-Type: application/json; charset=utf-8\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data,
	    "X-Content-Type-Options: nosniff\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "X-Frame-Options: DENY\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "Cache-Control: no-store\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "Referrer-Policy: "));
	ck_assert_ptr_nonnull(strstr(out.data, "X-Request-Id: req_"));
	body = strstr(out.data, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	o = json_tokener_parse(body + 4);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "error", &e));
	ck_assert(json_object_object_get_ex(e, "code", &v));
	ck_assert_str_eq(json_object_get_string(v), "not_found");
	ck_assert(json_object_object_get_ex(e, "message", &v));
	ck_assert_str_eq(json_object_get_string(v), "No such \"thing\".");
	ck_assert(json_object_object_get_ex(e, "request_id", &v));
	ck_assert_str_eq(json_object_get_string(v), r.id);
	ck_assert(json_object_object_get_ex(e, "details", &d));
	ck_assert(json_object_object_get_ex(d, "field", &v));
	ck_assert_str_eq(json_object_get_string(v), "id");
	json_object_put(o);
	buf_free(&out);
	request_free(&r);
}
END_TEST

START_TEST(test_header_injection)
{
	char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", NULL };
	struct request r;
	struct buf out;

	ck_assert_int_eq(request_init(&r, env), 0);
	response_raw(&r, 200, "text/plain", "hi", 2);
	response_header(&r, "Allow", "GET\r\nSet-Cookie: x=1");
	r.rl_set = 1;
	r.rl_limit = 120;
	r.rl_remaining = 119;
	r.rl_reset = 1700000060;
	buf_init(&out, 1 << 20);
	response_serialize(&r, &out);
	ck_assert_ptr_null(strstr(out.data, "\r\nSet-Cookie"));
	ck_assert_ptr_nonnull(strstr(out.data, "X-RateLimit-Limit: 120\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data,
	    "X-RateLimit-Remaining: 119\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data,
	    "X-RateLimit-Reset: 1700000060\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "Content-Length: 2\r\n\r\nhi"));
	buf_free(&out);
	request_free(&r);
}
END_TEST

Suite *
request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_init_basic);
	tcase_add_test(tc, test_init_forwarded_for);
	tcase_add_test(tc, test_init_cgi_fallback);
	tcase_add_loop_test(tc, test_init_mount, 0, (int)NELEM(mounts));
	tcase_add_loop_test(tc, test_init_bad_length, 0,
	    (int)NELEM(bad_env));
	tcase_add_test(tc, test_init_missing_method);
	tcase_add_loop_test(tc, test_query, 0, (int)NELEM(queries));
	tcase_add_test(tc, test_query_too_many);
	tcase_add_loop_test(tc, test_query_repeated, 0, (int)NELEM(repeats));
	tcase_add_test(tc, test_error_shape);
	tcase_add_test(tc, test_header_injection);
	suite_add_tcase(s, tc);
	return s;
}
