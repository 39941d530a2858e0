/* fuzz_query.c: libFuzzer target for the query string and percent-
 * decoding (request.c). The input is decoded as one component, with and
 * without '+' as a space, and parsed as a whole query string. Checks: a
 * decoding is never longer than its input, holds no NUL and is valid
 * UTF-8; re-encoding a decoding gives it back; a parsed query re-
 * serialises to one that parses to the same parameters; request_param
 * answers the first of a repeated name. Built by "make fuzz". */
#include "vigil.h"

#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "request.h"
#include "vjson.h"

/* Percent-encode s into b, all but unreserved characters. */
static void
encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			FUZZ_CHECK(buf_append(b, s, 1) == 0);
		else
			FUZZ_CHECK(buf_printf(b, "%%%c%c", hex[c >> 4],
			    hex[c & 15]) == 0);
	}
}

static void
decode_one(const char *s, size_t len, int plus)
{
	struct buf	 b;
	char		*d, *again;
	size_t		 dlen, i, pct = 0;

	if ((d = request_decode(s, len, plus)) == NULL)
		return;
	dlen = strlen(d);
	FUZZ_CHECK(dlen <= len);
	FUZZ_CHECK(memchr(s, '\0', len) == NULL);
	FUZZ_CHECK(vjson_utf8_valid(d, dlen));
	for (i = 0; i < len; i++)
		pct += s[i] == '%';
	/* each escape is three bytes for one */
	FUZZ_CHECK(dlen == len - 2 * pct);
	buf_init(&b, 3 * dlen + 1);
	encode(&b, d);
	again = request_decode(b.data ? b.data : "", b.len, plus);
	FUZZ_CHECK(again != NULL && strcmp(again, d) == 0);
	free(again);
	buf_free(&b);
	free(d);
}

static void
query(const char *q)
{
	struct request	 r, r2;
	struct buf	 b;
	size_t		 i, j;

	memset(&r, 0, sizeof(r));
	memset(&r2, 0, sizeof(r2));
	buf_init(&b, 3 * REQUEST_MAX_QUERY * 3 + 1);
	if ((r.query = strdup(q)) == NULL)
		goto out;
	if (request_parse_query(&r) != 0)
		goto out;
	FUZZ_CHECK(r.nparams <= REQUEST_MAX_PARAMS);
	for (i = 0; i < r.nparams; i++) {
		FUZZ_CHECK(r.params[i].name != NULL &&
		    r.params[i].value != NULL);
		FUZZ_CHECK(vjson_utf8_valid(r.params[i].name,
		    strlen(r.params[i].name)));
		FUZZ_CHECK(vjson_utf8_valid(r.params[i].value,
		    strlen(r.params[i].value)));
		for (j = 0; j < i; j++)
			if (strcmp(r.params[j].name, r.params[i].name) == 0)
				break;
		FUZZ_CHECK(request_param(&r, r.params[i].name) ==
		    r.params[j].value);
		if (i > 0)
			FUZZ_CHECK(buf_append(&b, "&", 1) == 0);
		encode(&b, r.params[i].name);
		FUZZ_CHECK(buf_append(&b, "=", 1) == 0);
		encode(&b, r.params[i].value);
	}
	if ((r2.query = strdup(b.data ? b.data : "")) == NULL)
		goto out;
	FUZZ_CHECK(request_parse_query(&r2) == 0);
	/* empty names ("=x") are kept, empty pairs ("&&") are not */
	FUZZ_CHECK(r2.nparams == r.nparams);
	for (i = 0; i < r.nparams; i++) {
		FUZZ_CHECK(strcmp(r.params[i].name, r2.params[i].name) == 0);
		FUZZ_CHECK(strcmp(r.params[i].value, r2.params[i].value) ==
		    0);
	}
out:
	buf_free(&b);
	request_free(&r);
	request_free(&r2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*q;

	decode_one((const char *)data, size, 0);
	decode_one((const char *)data, size, 1);
	/* A query string reaches us NUL-terminated, as FastCGI gives it. */
	if (size > REQUEST_MAX_QUERY || memchr(data, '\0', size) != NULL)
		return 0;
	if ((q = strndup((const char *)data, size)) == NULL)
		return 0;
	query(q);
	free(q);
	return 0;
}
