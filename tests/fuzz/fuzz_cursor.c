/* fuzz_cursor.c: libFuzzer target for the list parameters (cgi/params.c):
 * limit, the "s<seq>" keyset cursor of findings, audit and events, and
 * the id cursor of the id-keyed lists (id.c's ULIDs) as
 * params_list_cursor takes it. The input is a query string. Checks: a
 * seq cursor accepted decodes to a positive seq that re-encodes
 * ("s%lld", as the lists write next_cursor) to the cursor, leading
 * zeros aside; an id cursor accepted decodes into a timestamp and
 * randomness that id_ulid_encode turns back into it, and is handed on
 * as it was given; a refusal is a 400 naming the parameter. Built by
 * "make fuzz". */
#include "vigil.h"

#include <string.h>

#include <json-c/json.h>

#include "api.h"
#include "fuzz.h"
#include "id.h"
#include "request.h"

static const char *const prefixes[] = { "key", "int", "wh", "scn",
    "dlv" };

/* The prefix params_list_cursor's valid() checks against. */
static const char	*cur_prefix;

static int
prefix_ok(const char *s)
{
	return id_valid(cur_prefix, s);
}

/* Forget the reply written, for the next call. */
static void
reset(struct request *r)
{
	r->status = 0;
	buf_reset(&r->out);
	buf_reset(&r->headers);
}

/* The 400 a refusal wrote names field. */
static void
refused(struct request *r, const char *field)
{
	json_object *o, *e, *d, *f;

	FUZZ_CHECK(r->status == 400 && r->out.data != NULL);
	o = json_tokener_parse(r->out.data);
	FUZZ_CHECK(o != NULL);
	FUZZ_CHECK(json_object_object_get_ex(o, "error", &e) &&
	    json_object_object_get_ex(e, "details", &d) &&
	    json_object_object_get_ex(d, "field", &f));
	FUZZ_CHECK(strcmp(json_object_get_string(f), field) == 0);
	json_object_put(o);
	reset(r);
}

static int
crockford(char c)
{
	static const char alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	const char *p = strchr(alpha, c);

	return c != '\0' && p != NULL ? (int)(p - alpha) : -1;
}

/* Decode a ULID and encode it again: the same 26 characters. */
static void
ulid_roundtrip(const char *u)
{
	unsigned char rnd[10];
	uint64_t ms = 0, hi = 0, lo = 0;
	char again[27];
	int i;

	for (i = 0; i < 10; i++)
		ms = (ms << 5) | (uint64_t)crockford(u[i]);
	for (i = 0; i < 8; i++) {
		hi = (hi << 5) | (uint64_t)crockford(u[10 + i]);
		lo = (lo << 5) | (uint64_t)crockford(u[18 + i]);
	}
	FUZZ_CHECK(ms < (1ULL << 48));
	for (i = 4; i >= 0; i--) {
		rnd[i] = (unsigned char)(hi & 0xff);
		rnd[i + 5] = (unsigned char)(lo & 0xff);
		hi >>= 8;
		lo >>= 8;
	}
	id_ulid_encode(ms, rnd, again);
	FUZZ_CHECK(strcmp(again, u) == 0);
}

static void
seq_cursor(struct request *r, const char *cursor)
{
	long long before;
	char enc[32];
	const char *digits;

	if (params_seq_cursor(r, &before) != 0) {
		refused(r, "cursor");
		FUZZ_CHECK(cursor != NULL);
		return;
	}
	if (cursor == NULL) {
		FUZZ_CHECK(before == 1LL << 62);
		return;
	}
	FUZZ_CHECK(before >= 1);
	snprintf(enc, sizeof(enc), "s%lld", before);
	FUZZ_CHECK(cursor[0] == 's');
	for (digits = cursor + 1; *digits == '0'; digits++)
		;
	FUZZ_CHECK(strcmp(enc + 1, digits) == 0);
}

/* list_ok: the other parameters (only limit, and a valid one) pass, so
 * that a refusal can only be the cursor's. */
static void
id_cursor(struct request *r, const char *cursor, int list_ok)
{
	const char *got;
	size_t i, plen;
	long n;
	int valid;

	for (i = 0; i < NELEM(prefixes); i++) {
		valid = id_valid(prefixes[i], cursor);
		if (cursor == NULL)
			FUZZ_CHECK(!valid);
		if (valid) {
			plen = strlen(prefixes[i]);
			FUZZ_CHECK(strlen(cursor) == plen + 1 + ID_ULID_LEN);
			ulid_roundtrip(cursor + plen + 1);
		}
		cur_prefix = prefixes[i];
		got = NULL;
		if (params_list_cursor(r, &n, prefix_ok, &got) != 0) {
			if (!list_ok) {
				FUZZ_CHECK(r->status == 400);
				reset(r);
				continue;
			}
			FUZZ_CHECK(cursor != NULL && !valid);
			refused(r, "cursor");
			continue;
		}
		FUZZ_CHECK(list_ok && (cursor == NULL || valid));
		FUZZ_CHECK(got == cursor);
		FUZZ_CHECK(r->status == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request	 r;
	const char	*cursor, *limit;
	long		 n;
	size_t		 i;
	int		 others = 0, limit_ok = 1;

	if (size > REQUEST_MAX_QUERY || memchr(data, '\0', size) != NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	buf_init(&r.headers, 64 * 1024);
	buf_init(&r.out, 64 * 1024);
	if ((r.query = strndup((const char *)data, size)) == NULL)
		goto out;
	if (request_parse_query(&r) != 0)
		goto out;
	cursor = request_param(&r, "cursor");
	limit = request_param(&r, "limit");
	seq_cursor(&r, cursor);

	if (params_limit(&r, &n) != 0) {
		refused(&r, "limit");
		FUZZ_CHECK(limit != NULL);
		limit_ok = 0;
	} else {
		FUZZ_CHECK(n >= 1 && n <= PARAMS_LIMIT_MAX);
		if (limit == NULL)
			FUZZ_CHECK(n == PARAMS_LIMIT_DEFAULT);
		else
			FUZZ_CHECK(strtol(limit, NULL, 10) == n &&
			    limit[0] >= '0' && limit[0] <= '9');
	}
	for (i = 0; i < r.nparams; i++)
		if (strcmp(r.params[i].name, "limit") != 0 &&
		    strcmp(r.params[i].name, "cursor") != 0)
			others = 1;
	id_cursor(&r, cursor, limit_ok && !others);
	if (params_list(&r, &n) != 0)
		FUZZ_CHECK(r.status == 400);
	else
		FUZZ_CHECK(!others);
out:
	request_free(&r);
	return 0;
}
