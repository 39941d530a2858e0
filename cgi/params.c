/* params.c: the query parameters every list shares: limit and the
 * keyset cursors. Each either stores the value or answers the 400 itself
 * and returns -1, so a handler reads as a straight line. */
#include "vigil.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "api.h"
#include "reply.h"

int
params_limit(struct request *r, long *out)
{
	const char *s = request_param(r, "limit");
	char *end;
	long v;

	*out = PARAMS_LIMIT_DEFAULT;
	if (s == NULL)
		return 0;
	/* Digits only: strtol alone would take " 1" and "+1". */
	errno = 0;
	v = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : -1;
	if (v < 1 || v > PARAMS_LIMIT_MAX || *end != '\0' || errno) {
		reply_bad(r, "limit",
		    "limit must be an integer between 1 and 500.");
		return -1;
	}
	*out = v;
	return 0;
}

int
params_seq_cursor(struct request *r, long long *before)
{
	const char *s = request_param(r, "cursor");
	char *end;
	long long v;

	*before = 1LL << 62;
	if (s == NULL)
		return 0;
	errno = 0;
	v = (s[0] == 's' && isdigit((unsigned char)s[1])) ?
	    strtoll(s + 1, &end, 10) : -1;
	if (v < 1 || *end != '\0' || errno) {
		reply_bad(r, "cursor", "cursor is not valid.");
		return -1;
	}
	*before = v;
	return 0;
}

int
params_list(struct request *r, long *limit)
{
	static const char *const known[] = { "limit", "cursor", NULL };

	if (reply_unknown_params(r, known) != 0)
		return -1;
	return params_limit(r, limit);
}

int
params_list_cursor(struct request *r, long *limit,
    int (*valid)(const char *), const char **cursor)
{
	if (params_list(r, limit) != 0)
		return -1;
	*cursor = request_param(r, "cursor");
	if (*cursor != NULL && !valid(*cursor)) {
		reply_bad(r, "cursor", "cursor is not valid.");
		return -1;
	}
	return 0;
}
