/* fuzz_cursor.c: libFuzzer target for the list parameters (cgi/params.c):
 * limit, the "s<seq>" keyset cursor of findings, audit and events, and
 * the id cursor of the id-keyed lists (id.c's ULIDs). The input is a
 * query string. Checks: a seq cursor accepted decodes to a positive seq
 * that re-encodes ("s%lld", as the lists write next_cursor) to the
 * cursor, leading zeros aside; an id cursor accepted decodes into a
 * timestamp and randomness that id_ulid_encode turns back into it; a
 * refusal is a 400 naming the parameter. The database under
 * params_id_page is a stub here that checks what it is given and
 * answers no rows. Built by "make fuzz". */
#include "vigil.h"

#include <string.h>

#include <json-c/json.h>

#include "api.h"
#include "db.h"
#include "fuzz.h"
#include "id.h"
#include "request.h"

static const char *const prefixes[] = { "key", "int", "whk", "scn",
    "dlv" };

/* What params_id_page passed to the list statement. */
static const char	*seen_cursor;

int
db_exec(struct db *db, enum db_stmt st, const struct db_val *p, size_t n,
    struct db_res **out)
{
	(void)db;
	if (st == SQL_PRUNE_EVENTS) {	/* the "list" statement below */
		FUZZ_CHECK(n == 2 && p[0].t == DBT_STR && p[1].t == DBT_INT &&
		    p[1].i == 11);
		seen_cursor = p[0].s;
	}
	FUZZ_CHECK((*out = calloc(1, sizeof(**out))) != NULL);
	return 0;
}

void
db_res_free(struct db_res *res)
{
	free(res);
}

const char *
db_cell(const struct db_res *res, size_t row, size_t col)
{
	(void)res;
	(void)row;
	(void)col;
	abort();	/* no rows */
}

long long
db_cell_int(const struct db_res *res, size_t row, size_t col)
{
	(void)res;
	(void)row;
	(void)col;
	return 0;
}

void
api_db_error(struct request *r, int rc)
{
	(void)r;
	(void)rc;
	abort();
}

static json_object *
no_item(const struct db_res *res, size_t row)
{
	(void)res;
	(void)row;
	abort();
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
	r->status = 0;
	buf_reset(&r->out);
	buf_reset(&r->headers);
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

static void
id_cursor(struct request *r, const char *cursor)
{
	struct params_id_list l;
	size_t i, plen;
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
		memset(&l, 0, sizeof(l));
		l.name = "items";
		l.prefix = prefixes[i];
		l.first = "";
		l.list = SQL_PRUNE_EVENTS;
		l.count = SQL__COUNT;
		l.item = no_item;
		seen_cursor = NULL;
		params_id_page(r, NULL, 10, &l);
		if (cursor != NULL && !valid) {
			refused(r, "cursor");
			FUZZ_CHECK(seen_cursor == NULL);
			continue;
		}
		FUZZ_CHECK(r->status == 200);
		FUZZ_CHECK(seen_cursor != NULL &&
		    strcmp(seen_cursor, cursor ? cursor : "") == 0);
		r->status = 0;
		buf_reset(&r->out);
		buf_reset(&r->headers);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request	 r;
	const char	*cursor, *limit;
	long		 n;
	size_t		 i;
	int		 others = 0;

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
	id_cursor(&r, cursor);

	if (params_limit(&r, &n) != 0) {
		refused(&r, "limit");
		FUZZ_CHECK(limit != NULL);
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
	if (params_list(&r, &n) != 0)
		FUZZ_CHECK(r.status == 400);
	else
		FUZZ_CHECK(!others);
out:
	request_free(&r);
	return 0;
}
