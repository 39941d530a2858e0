/* fuzz_armstream.c: libFuzzer target for the stream reader of ARM list
 * pages (armstream.c). The first byte picks the chunk size (1..64),
 * whether a bare array is allowed and whether a Resource Graph "data"
 * list is; the rest is the document. Checks: fed in chunks, the reader
 * gives what it gives fed whole (verdict, items, nextLink, shape);
 * framing only, and a want filter that refuses every item, agree with it
 * on shape and count and hand nothing over; when it accepts a page,
 * json-c accepts the whole page too, with as many items in its list
 * ("value" or "data") and the same nextLink; and when json-c accepts the
 * page without repeated keys, with one list array and a string or null
 * nextLink, so does the reader. With a prune (armstream_prune: members
 * of each item left out before json-c parses it) the reader accepts and
 * refuses exactly what it does without, with the same message and as
 * many items. Built by "make fuzz". */
#include "vigil.h"

#include <string.h>

#include <json-c/json.h>

#include "armstream.h"
#include "fuzz.h"
#include "vjson.h"

#define DEPTH	16

static char	*prune_top[] = { "id", "value" };
static char	*prune_props[] = { "a" };
static const struct armprune prune = { prune_top, 2, prune_props, 1, 0 };

struct run {
	int			 rc;
	size_t			 n;
	unsigned long long	 hash;
	struct armstream	 s;
};

static int
item(void *arg, json_object *obj, size_t idx)
{
	struct run	*r = arg;
	const char	*t;

	FUZZ_CHECK(idx == r->n);
	t = obj == NULL ? "null" : vjson_str(obj, NULL);
	for (; *t != '\0'; t++)
		r->hash = (r->hash ^ (unsigned char)*t) * 0x100000001b3ULL;
	r->hash = (r->hash ^ 0xff) * 0x100000001b3ULL;
	r->n++;
	return 0;
}

static int
refuse(void *arg, const char *text, size_t len)
{
	(void)arg;
	FUZZ_CHECK(len > 0 && text[len] == '\0');
	return 0;
}

/* Run the reader over text in chunks of chunk bytes (0: one piece); with
 * want, that filter on the items. */
static void
feed_want(struct run *r, const char *text, size_t len, size_t chunk,
    int flags, armstream_want_fn want, const struct armprune *pr)
{
	size_t	 i, n;

	memset(r, 0, sizeof(*r));
	r->hash = 0xcbf29ce484222325ULL;
	armstream_init(&r->s, len + 1, DEPTH, flags, item, r);
	r->s.want = want;
	r->s.prune = pr;
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (i = 0; i < len; i += n) {
		n = len - i < chunk ? len - i : chunk;
		if ((r->rc = armstream_feed(&r->s, text + i, n)) == -1)
			break;
	}
	if (r->rc == 0)
		r->rc = armstream_finish(&r->s);
	FUZZ_CHECK(r->rc == 0 || r->s.err[0] != '\0');
}

static void
feed(struct run *r, const char *text, size_t len, size_t chunk, int flags)
{
	feed_want(r, text, len, chunk, flags, NULL, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run	 whole, parts, frame, none, pruned;
	json_object	*o, *v, *nl, *d;
	const char	*text;
	size_t		 len, chunk;
	int		 flags, page;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x3f) + 1;
	flags = ((data[0] & 0x80) ? ARMSTREAM_ARRAY_ROOT : 0) |
	    ((data[0] & 0x40) ? ARMSTREAM_DATA_LIST : 0);
	text = (const char *)data + 1;
	len = size - 1;

	feed(&whole, text, len, 0, flags);
	feed(&parts, text, len, chunk, flags);
	FUZZ_CHECK(whole.rc == parts.rc);
	FUZZ_CHECK(whole.n == parts.n && whole.hash == parts.hash);
	FUZZ_CHECK(strcmp(whole.s.err, parts.s.err) == 0);
	FUZZ_CHECK((whole.s.next_link == NULL) ==
	    (parts.s.next_link == NULL));
	if (whole.s.next_link != NULL)
		FUZZ_CHECK(strcmp(whole.s.next_link, parts.s.next_link) == 0);

	feed(&frame, text, len, chunk, flags | ARMSTREAM_FRAME_ONLY);
	FUZZ_CHECK(frame.n == 0);
	if (whole.rc == 0) {
		FUZZ_CHECK(frame.rc == 0 && frame.s.items == whole.s.items);
		FUZZ_CHECK(frame.s.root == whole.s.root &&
		    frame.s.has_id == whole.s.has_id &&
		    frame.s.has_value == whole.s.has_value);
	}
	feed_want(&none, text, len, chunk, flags, refuse, NULL);
	FUZZ_CHECK(none.n == 0);
	if (whole.rc == 0)
		FUZZ_CHECK(none.rc == 0 && none.s.items == whole.s.items);
	feed_want(&pruned, text, len, chunk, flags, NULL, &prune);
	FUZZ_CHECK(pruned.rc == whole.rc && pruned.n == whole.n);
	FUZZ_CHECK(strcmp(pruned.s.err, whole.s.err) == 0);

	/* Against json-c reading the whole page at once. */
	o = vjson_parse(text, len, DEPTH, len + 1, NULL);
	if (whole.rc == 0) {
		FUZZ_CHECK(o != NULL);
		if (whole.s.root == '[')
			FUZZ_CHECK(json_object_array_length(o) == whole.n);
		else if (o != NULL && whole.s.has_value) {
			FUZZ_CHECK(json_object_object_get_ex(o,
			    whole.s.list_key, &v));
			FUZZ_CHECK(json_object_array_length(v) == whole.n);
			if (whole.s.next_link != NULL) {
				FUZZ_CHECK(json_object_object_get_ex(o,
				    "nextLink", &nl));
				FUZZ_CHECK(strcmp(json_object_get_string(nl),
				    whole.s.next_link) == 0);
			}
		}
	}
	json_object_put(o);
	o = vjson_parse_unique(text, len, DEPTH, len + 1, NULL);
	/* With "data" read as the list, a page has exactly one of them. */
	d = NULL;
	if (flags & ARMSTREAM_DATA_LIST)
		json_object_object_get_ex(o, "data", &d);
	page = json_object_is_type(o, json_type_object) &&
	    ((json_object_object_get_ex(o, "value", &v) &&
	    json_object_is_type(v, json_type_array) &&
	    !((flags & ARMSTREAM_DATA_LIST) &&
	    json_object_object_get_ex(o, "data", NULL))) ||
	    (d != NULL && json_object_is_type(d, json_type_array) &&
	    !json_object_object_get_ex(o, "value", NULL))) &&
	    (!json_object_object_get_ex(o, "nextLink", &nl) || nl == NULL ||
	    json_object_is_type(nl, json_type_string));
	if (page || (json_object_is_type(o, json_type_array) &&
	    (flags & ARMSTREAM_ARRAY_ROOT)))
		FUZZ_CHECK(whole.rc == 0);
	json_object_put(o);

	armstream_free(&whole.s);
	armstream_free(&parts.s);
	armstream_free(&frame.s);
	armstream_free(&none.s);
	armstream_free(&pruned.s);
	return 0;
}
