/* router.c: match a request against the route table. Pure. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "router.h"

#define ROUTER_MAX_SEGS 16

/* Split path (starting with '/') into segments; returns the count or -1
 * if there are too many. Segments point into path; lens hold lengths.
 * An empty trailing segment ("/a/") counts, so "/a/" is not "/a". */
static int
split(const char *path, const char **segs, size_t *lens)
{
	int n = 0;
	const char *p;

	if (path[0] != '/')
		return -1;
	p = path + 1;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (n == ROUTER_MAX_SEGS)
			return -1;
		segs[n] = p;
		lens[n] = len;
		n++;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return n;
}

/* 1 if the pattern matches the split path. */
static int
match(const char *pattern, const char **segs, const size_t *lens, int n)
{
	const char *psegs[ROUTER_MAX_SEGS];
	size_t plens[ROUTER_MAX_SEGS];
	int pn, i;

	if ((pn = split(pattern, psegs, plens)) != n)
		return 0;
	for (i = 0; i < n; i++) {
		if (plens[i] > 0 && psegs[i][0] == '{') {
			if (lens[i] == 0)
				return 0;
			continue;
		}
		if (plens[i] != lens[i] ||
		    memcmp(psegs[i], segs[i], lens[i]) != 0)
			return 0;
	}
	return 1;
}

/* Copy the {var} segments of a matched path into req->pathvars. */
static int
capture(const char *pattern, const char **segs, const size_t *lens, int n,
    struct request *req)
{
	const char *psegs[ROUTER_MAX_SEGS];
	size_t plens[ROUTER_MAX_SEGS];
	int i;

	split(pattern, psegs, plens);
	for (i = 0; i < n; i++) {
		char *v;

		if (plens[i] == 0 || psegs[i][0] != '{')
			continue;
		if (req->npathvars == REQUEST_MAX_PATHVARS)
			return -1;
		/* A segment that does not decode is kept as sent: the
		 * handler's own check rejects it with its resource's 404. */
		if ((v = request_decode(segs[i], lens[i], 0)) == NULL &&
		    (v = strndup(segs[i], lens[i])) == NULL)
			return -1;
		req->pathvars[req->npathvars++] = v;
	}
	return 0;
}

enum router_result
router_match(const struct route *routes, size_t nroutes, struct request *req,
    const struct route **found, char *allow, size_t allowsz)
{
	const char *segs[ROUTER_MAX_SEGS];
	size_t lens[ROUTER_MAX_SEGS], i, alen = 0;
	int n, path_known = 0;

	*found = NULL;
	if (allowsz > 0)
		allow[0] = '\0';
	if (req->path == NULL || (n = split(req->path, segs, lens)) < 0)
		return ROUTER_NOT_FOUND;
	for (i = 0; i < nroutes; i++) {
		const struct route *rt = &routes[i];
		int same = strcmp(rt->method, req->method) == 0 ||
		    (strcmp(req->method, "HEAD") == 0 &&
		    strcmp(rt->method, "GET") == 0);

		if (!match(rt->pattern, segs, lens, n))
			continue;
		if (same) {
			if (capture(rt->pattern, segs, lens, n, req) != 0)
				return ROUTER_NOT_FOUND;
			*found = rt;
			return ROUTER_FOUND;
		}
		if (!path_known || strstr(allow, rt->method) == NULL) {
			/* HEAD is served wherever GET is (above), so Allow
			 * says so (RFC 9110 10.2.1 lists what is supported). */
			int w = snprintf(allow + alen, allowsz - alen, "%s%s%s",
			    alen ? ", " : "", rt->method,
			    strcmp(rt->method, "GET") == 0 ? ", HEAD" : "");

			if (w > 0 && (size_t)w < allowsz - alen)
				alen += (size_t)w;
		}
		path_known = 1;
	}
	return path_known ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}
