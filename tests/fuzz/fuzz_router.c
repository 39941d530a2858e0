/* fuzz_router.c: libFuzzer target for the router (router.c), over the
 * API's own paths and methods as doc/openapi.json lists them, and a few
 * patterns of its own (more {vars} than a request holds, a trailing
 * slash). The input's first byte picks the method, the rest is the path.
 * A second matcher, written plainly here, says what the answer must be:
 * the first route with the method whose pattern the path fits; its {vars}
 * captured, decoded where they decode; Allow listing exactly the methods
 * of the routes the path fits. Built by "make fuzz". */
#include "vigil.h"

#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "request.h"
#include "router.h"

#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

#define MAX_ROUTES 512	/* every operation of doc/openapi.json (a head beside each get) */
#define MAX_SEGS 16

static const char *const methods[] = { "GET", "HEAD", "POST", "PUT",
    "PATCH", "DELETE", "OPTIONS", "get" };

static const struct route extra[] = {
	{ "GET", "/x/{a}/{b}/{c}/{d}/{e}", 0, 0, NULL },
	{ "PUT", "/x/{a}/", 0, 0, NULL },
	{ "GET", "/x/{a}/{b}", 0, 0, NULL },
};

static struct route	 routes[MAX_ROUTES];
static size_t		 nroutes;
static json_object	*api;	/* holds the patterns, for the process */

static void
load(void)
{
	static char upper[MAX_ROUTES][8];
	json_object *paths;
	size_t i;

	api = json_object_from_file(FUZZ_SRCDIR "/doc/openapi.json");
	FUZZ_CHECK(api != NULL);
	FUZZ_CHECK(json_object_object_get_ex(api, "paths", &paths));
	json_object_object_foreach(paths, path, ops) {
		json_object_object_foreach(ops, op, v) {
			(void)v;
			if (strcmp(op, "parameters") == 0)
				continue;
			FUZZ_CHECK(nroutes < MAX_ROUTES && strlen(op) < 8);
			for (i = 0; op[i] != '\0'; i++)
				upper[nroutes][i] = (char)(op[i] - 'a' + 'A');
			routes[nroutes].method = upper[nroutes];
			routes[nroutes].pattern = path;
			nroutes++;
		}
	}
	for (i = 0; i < NELEM(extra); i++) {
		FUZZ_CHECK(nroutes < MAX_ROUTES);
		routes[nroutes++] = extra[i];
	}
}

/* Split s at '/' (after the leading one) into segs/lens; the count, or -1
 * when it does not start with '/' or has more than MAX_SEGS. */
static int
segments(const char *s, const char **segs, size_t *lens)
{
	int n = 0;

	if (*s++ != '/')
		return -1;
	for (;;) {
		if (n == MAX_SEGS)
			return -1;
		segs[n] = s;
		lens[n] = strcspn(s, "/");
		s += lens[n];
		n++;
		if (*s++ == '\0')
			return n;
	}
}

/* How many {vars} pattern has if path fits it, else -1. */
static int
fits(const char *pattern, const char **segs, const size_t *lens, int n)
{
	const char *ps[MAX_SEGS];
	size_t pl[MAX_SEGS];
	int i, vars = 0;

	if (segments(pattern, ps, pl) != n)
		return -1;
	for (i = 0; i < n; i++) {
		if (pl[i] > 0 && ps[i][0] == '{') {
			if (lens[i] == 0)
				return -1;
			vars++;
		} else if (pl[i] != lens[i] || memcmp(ps[i], segs[i],
		    lens[i]) != 0)
			return -1;
	}
	return vars;
}

static int
same_method(const char *route, const char *req)
{
	return strcmp(route, req) == 0 ||
	    (strcmp(req, "HEAD") == 0 && strcmp(route, "GET") == 0);
}

static void
check(struct request *r, enum router_result res, const struct route *found,
    const char *allow)
{
	const char *segs[MAX_SEGS], *ps[MAX_SEGS], *a;
	size_t lens[MAX_SEGS], pl[MAX_SEGS], i, k, alen;
	const struct route *first = NULL;
	int n, vars = -1, v, any = 0, j;
	char *dec;

	n = segments(r->path, segs, lens);
	for (i = 0; n > 0 && i < nroutes; i++) {
		if ((v = fits(routes[i].pattern, segs, lens, n)) < 0)
			continue;
		any = 1;
		if (first == NULL && same_method(routes[i].method,
		    r->method)) {
			first = &routes[i];
			vars = v;
		}
	}
	if (first != NULL && vars <= REQUEST_MAX_PATHVARS) {
		FUZZ_CHECK(res == ROUTER_FOUND && found == first);
		FUZZ_CHECK(r->npathvars == (size_t)vars);
		segments(found->pattern, ps, pl);
		for (j = 0, k = 0; j < n; j++) {
			if (pl[j] == 0 || ps[j][0] != '{')
				continue;
			dec = request_decode(segs[j], lens[j], 0);
			if (dec != NULL)
				FUZZ_CHECK(strcmp(r->pathvars[k], dec) == 0);
			else
				FUZZ_CHECK(strlen(r->pathvars[k]) == lens[j] &&
				    memcmp(r->pathvars[k], segs[j],
				    lens[j]) == 0);
			free(dec);
			k++;
		}
		return;
	}
	FUZZ_CHECK(found == NULL);
	if (first != NULL) {	/* too many {vars} to hold */
		FUZZ_CHECK(res == ROUTER_NOT_FOUND);
		return;
	}
	if (!any) {
		FUZZ_CHECK(res == ROUTER_NOT_FOUND && allow[0] == '\0');
		return;
	}
	FUZZ_CHECK(res == ROUTER_BAD_METHOD && allow[0] != '\0');
	/* Allow: each method of a fitting route, once, ", "-separated */
	for (i = 0; i < nroutes; i++)
		if (fits(routes[i].pattern, segs, lens, n) >= 0)
			FUZZ_CHECK(strstr(allow, routes[i].method) != NULL);
	for (a = allow; *a != '\0'; a += alen + (a[alen] ? 2 : 0)) {
		alen = strcspn(a, ",");
		FUZZ_CHECK(a[alen] == '\0' || a[alen + 1] == ' ');
		/* HEAD is allowed wherever GET is (the router answers it). */
		for (i = 0; i < nroutes; i++)
			if (((strlen(routes[i].method) == alen &&
			    memcmp(routes[i].method, a, alen) == 0) ||
			    (alen == 4 && memcmp(a, "HEAD", 4) == 0 &&
			    strcmp(routes[i].method, "GET") == 0)) &&
			    fits(routes[i].pattern, segs, lens, n) >= 0)
				break;
		FUZZ_CHECK(i < nroutes);
		FUZZ_CHECK(!same_method(routes[i].method, r->method));
		FUZZ_CHECK(strstr(a + alen, routes[i].method) == NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route	*found;
	struct request		 r;
	enum router_result	 res;
	char			 allow[128];

	if (api == NULL)
		load();
	if (size < 1 || memchr(data, '\0', size) != NULL ||
	    size > REQUEST_MAX_PATH)
		return 0;
	memset(&r, 0, sizeof(r));
	snprintf(r.method, sizeof(r.method), "%s",
	    methods[data[0] % NELEM(methods)]);
	if ((r.path = strndup((const char *)data + 1, size - 1)) == NULL)
		return 0;
	res = router_match(routes, nroutes, &r, &found, allow, sizeof(allow));
	check(&r, res, found, allow);
	request_free(&r);
	return 0;
}
