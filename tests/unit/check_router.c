/* check_router.c: the route table matcher. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <check.h>

#include "request.h"
#include "router.h"
#include "suites.h"

static void h_list(struct request *r, struct db *db) { (void)r; (void)db; }
static void h_create(struct request *r, struct db *db) { (void)r; (void)db; }
static void h_delete(struct request *r, struct db *db) { (void)r; (void)db; }
static void h_action(struct request *r, struct db *db) { (void)r; (void)db; }

static const struct route routes[] = {
	{ "GET", "/api/v1/things", SCOPE_READ, 0, h_list },
	{ "POST", "/api/v1/things", SCOPE_WRITE, 0, h_create },
	{ "DELETE", "/api/v1/things/{id}", SCOPE_WRITE, 0, h_delete },
	{ "POST", "/api/v1/things/{id}/{verb}", SCOPE_WRITE, 0, h_action },
};

static const struct {
	const char		*method;
	const char		*path;
	enum router_result	 want;
	route_handler		 handler;
	const char		*var0;
	const char		*allow;
} cases[] = {
	{ "GET", "/api/v1/things", ROUTER_FOUND, h_list, NULL, NULL },
	{ "HEAD", "/api/v1/things", ROUTER_FOUND, h_list, NULL, NULL },
	{ "POST", "/api/v1/things", ROUTER_FOUND, h_create, NULL, NULL },
	{ "PUT", "/api/v1/things", ROUTER_BAD_METHOD, NULL, NULL,
	    "GET, HEAD, POST" },
	{ "DELETE", "/api/v1/things/abc", ROUTER_FOUND, h_delete, "abc", NULL },
	{ "DELETE", "/api/v1/things/a%20b", ROUTER_FOUND, h_delete, "a b", NULL },
	{ "GET", "/api/v1/things/abc", ROUTER_BAD_METHOD, NULL, NULL, "DELETE" },
	{ "HEAD", "/api/v1/things/abc", ROUTER_BAD_METHOD, NULL, NULL, "DELETE" },
	{ "POST", "/api/v1/things/abc/accept", ROUTER_FOUND, h_action, "abc", NULL },
	{ "GET", "/api/v1/things/", ROUTER_NOT_FOUND, NULL, NULL, NULL },
	{ "DELETE", "/api/v1/things/", ROUTER_NOT_FOUND, NULL, NULL, NULL },
	{ "GET", "/api/v1/thing", ROUTER_NOT_FOUND, NULL, NULL, NULL },
	{ "GET", "/api/v1/things/a/b/c", ROUTER_NOT_FOUND, NULL, NULL, NULL },
	{ "GET", "", ROUTER_NOT_FOUND, NULL, NULL, NULL },
	{ "GET", "api/v1/things", ROUTER_NOT_FOUND, NULL, NULL, NULL },
	{ "DELETE", "/api/v1/things/%00", ROUTER_FOUND, h_delete, "%00", NULL },
	{ "DELETE", "/api/v1/things/%ff", ROUTER_FOUND, h_delete, "%ff", NULL },
	{ "GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s", ROUTER_NOT_FOUND,
	    NULL, NULL, NULL },
};

START_TEST(test_match)
{
	struct request r;
	const struct route *found;
	char allow[64];
	enum router_result res;

	memset(&r, 0, sizeof(r));
	snprintf(r.method, sizeof(r.method), "%s", cases[_i].method);
	r.path = strdup(cases[_i].path);
	res = router_match(routes, NELEM(routes), &r, &found, allow,
	    sizeof(allow));
	ck_assert_int_eq(res, cases[_i].want);
	if (res == ROUTER_FOUND) {
		ck_assert_ptr_eq((void *)found->handler,
		    (void *)cases[_i].handler);
		if (cases[_i].var0 != NULL)
			ck_assert_str_eq(r.pathvars[0], cases[_i].var0);
	} else
		ck_assert_ptr_null(found);
	if (res == ROUTER_BAD_METHOD)
		ck_assert_str_eq(allow, cases[_i].allow);
	request_free(&r);
}
END_TEST

Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("match");

	tcase_add_loop_test(tc, test_match, 0, (int)NELEM(cases));
	suite_add_tcase(s, tc);
	return s;
}
