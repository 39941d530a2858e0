/* check_armstream.c: the stream reader of ARM list pages — pages cut into
 * chunks at every byte offset give the same items as whole, strings that
 * hold braces, brackets, quotes and escapes, nextLink before and after
 * value, empty lists, bare arrays, framing only, malformed and truncated
 * input, the per-item cap, and a callback that stops. */
#include "vigil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "armstream.h"
#include "buf.h"
#include "suites.h"
#include "vjson.h"

/* What the callback saw: each item serialised, in order. */
struct got {
	char	 items[16][256];
	size_t	 idx[16];
	size_t	 n;
	size_t	 stop_at;	/* non-zero: return 9 at this count */
};

static int
got_item(void *arg, json_object *item, size_t idx)
{
	struct got	*g = arg;

	ck_assert_uint_lt(g->n, 16);
	snprintf(g->items[g->n], sizeof(g->items[0]), "%s", item == NULL ?
	    "null" : vjson_str(item, NULL));
	g->idx[g->n] = idx;
	g->n++;
	return g->stop_at != 0 && g->n == g->stop_at ? 9 : 0;
}

/* Feed text in pieces of at most chunk bytes (0: whole, one at first);
 * 0 or -1 as armstream_finish. */
static int
run(struct armstream *s, const char *text, size_t split)
{
	size_t	 len = strlen(text);

	if (split > len)
		split = len;
	if (armstream_feed(s, text, split) == -1)
		return -1;
	if (armstream_feed(s, text + split, len - split) == -1)
		return -1;
	return armstream_finish(s);
}

#define ITEM_A	"{\"id\":\"/subscriptions/s/a\",\"tags\":{\"k\":\"}]{[\\\",\"}}"
#define ITEM_B	"{\"id\":\"/subscriptions/s/b\",\"p\":[1,-2.5e3,true,null," \
	"\"\\\\\",\"\\u00e9\\n\"],\"q\":{}}"

START_TEST(test_armstream_every_split)
{
	static const struct {
		const char	*text;
		const char	*next;
	} t[] = {
		{ "{\"value\":[" ITEM_A "," ITEM_B "],\"nextLink\":"
		    "\"https://arm/x?$skiptoken=a%22b\"}",
		    "https://arm/x?$skiptoken=a%22b" },
		{ " {\r\n \"nextLink\" : \"https://arm/n\\/2\" ,\n\t\"value\""
		    " : [ " ITEM_A " , " ITEM_B " ] , \"x\" : [ {\"y\":\"]\"} ] "
		    "}\n", "https://arm/n/2" },
		{ "{\"odata\":{\"value\":[1]},\"value\":[" ITEM_A "," ITEM_B
		    "],\"nextLink\":null}", NULL },
		{ "{\"value\":[" ITEM_A "," ITEM_B "],\"nextLink\":\"\"}",
		    NULL },
	};
	struct armstream	 s;
	struct got		 g;
	size_t			 i, split, len;

	for (i = 0; i < NELEM(t); i++) {
		len = strlen(t[i].text);
		for (split = 0; split <= len; split++) {
			memset(&g, 0, sizeof(g));
			armstream_init(&s, 4096, 64, 0, got_item, &g);
			ck_assert_msg(run(&s, t[i].text, split) == 0,
			    "case %zu split %zu: %s", i, split, s.err);
			ck_assert_uint_eq(g.n, 2);
			ck_assert_uint_eq(s.items, 2);
			ck_assert_uint_eq(g.idx[1], 1);
			ck_assert_ptr_nonnull(strstr(g.items[0],
			    "\"}]{[\\\",\""));
			ck_assert_ptr_nonnull(strstr(g.items[1],
			    "/subscriptions/s/b"));
			ck_assert_ptr_nonnull(strstr(g.items[1],
			    "true,null"));
			ck_assert(s.root == '{' && s.has_value &&
			    s.value_array && !s.has_id);
			if (t[i].next == NULL)
				ck_assert_ptr_null(s.next_link);
			else
				ck_assert_str_eq(s.next_link, t[i].next);
			armstream_free(&s);
		}
	}
}
END_TEST

/* One byte at a time: an item goes out as soon as its last byte is in,
 * before the rest of the page has come. */
START_TEST(test_armstream_bytewise)
{
	const char		*text = "{\"value\":[" ITEM_A "," ITEM_B "]}";
	const char		*end_a;
	struct armstream	 s;
	struct got		 g;
	size_t			 i, len = strlen(text);

	end_a = strstr(text, ITEM_A) + strlen(ITEM_A);
	memset(&g, 0, sizeof(g));
	armstream_init(&s, 4096, 64, 0, got_item, &g);
	for (i = 0; i < len; i++) {
		ck_assert_int_eq(armstream_feed(&s, text + i, 1), 0);
		ck_assert_uint_eq(g.n, text + i + 1 >= end_a ? (text + i + 1 >=
		    strstr(text, ITEM_B) + strlen(ITEM_B) ? 2 : 1) : 0);
	}
	ck_assert_int_eq(armstream_finish(&s), 0);
	armstream_free(&s);
}
END_TEST

START_TEST(test_armstream_shapes)
{
	struct armstream	 s;
	struct got		 g;

	/* An empty list. */
	memset(&g, 0, sizeof(g));
	armstream_init(&s, 4096, 64, 0, got_item, &g);
	ck_assert_int_eq(run(&s, "{\"value\":[]}", 0), 0);
	ck_assert_uint_eq(g.n, 0);
	ck_assert(s.has_value && s.value_array);
	armstream_free(&s);
	/* No "value" at all: complete, and has_value says so. */
	armstream_init(&s, 4096, 64, 0, got_item, &g);
	ck_assert_int_eq(run(&s, "{}", 0), 0);
	ck_assert(!s.has_value);
	armstream_free(&s);
	/* A bare array, items of any type (the caller judges them). */
	memset(&g, 0, sizeof(g));
	armstream_init(&s, 4096, 64, ARMSTREAM_ARRAY_ROOT, got_item, &g);
	ck_assert_int_eq(run(&s, "[ 5 ,\"x\",null,{}, [] ]", 2), 0);
	ck_assert_uint_eq(g.n, 5);
	ck_assert_str_eq(g.items[0], "5");
	ck_assert_str_eq(g.items[1], "\"x\"");
	ck_assert_str_eq(g.items[2], "null");
	ck_assert_str_eq(g.items[4], "[]");
	armstream_free(&s);
	/* … refused where only a page is expected. */
	armstream_init(&s, 4096, 64, 0, got_item, &g);
	ck_assert_int_eq(run(&s, "[]", 0), -1);
	ck_assert_str_eq(s.err, "not a JSON object");
	armstream_free(&s);
	/* Framing only: nothing parsed or handed, the shape known. */
	memset(&g, 0, sizeof(g));
	armstream_init(&s, 4096, 64, ARMSTREAM_FRAME_ONLY |
	    ARMSTREAM_ARRAY_ROOT, got_item, &g);
	ck_assert_int_eq(run(&s, "{\"value\":[{\"a\":1},2],\"id\":\"x\"}", 5),
	    0);
	ck_assert_uint_eq(g.n, 0);
	ck_assert_uint_eq(s.items, 2);
	ck_assert(s.has_id && s.has_value && s.value_array);
	armstream_free(&s);
	armstream_init(&s, 4096, 64, ARMSTREAM_FRAME_ONLY, got_item, &g);
	ck_assert_int_eq(run(&s, "{\"value\":{\"a\":[1]}}", 3), 0);
	ck_assert(s.has_value && !s.value_array);
	armstream_free(&s);
	/* The key is compared unescaped, as json-c reads it. */
	memset(&g, 0, sizeof(g));
	armstream_init(&s, 4096, 64, 0, got_item, &g);
	ck_assert_int_eq(run(&s, "{\"\\u0076alue\":[{}]}", 0), 0);
	ck_assert_uint_eq(g.n, 1);
	armstream_free(&s);
}
END_TEST

START_TEST(test_armstream_malformed)
{
	static const struct {
		const char	*text;
		const char	*err;
		size_t		 items;	/* handed before the failure */
	} t[] = {
		{ "", "truncated", 0 },
		{ "   ", "truncated", 0 },
		{ "{\"value\":[{\"id\":\"a\"}", "truncated", 1 },
		{ "{\"value\":[{\"id\":\"a\"},{\"id\":", "truncated", 1 },
		{ "{\"value\":[{\"id\":\"a\"}]", "truncated", 1 },
		{ "{\"value\":[\"a\\\"]}", "truncated", 0 },
		{ "{\"value\":[{\"id\":\"/subscriptions/x\",\"type\":",
		    "truncated", 0 },
		{ "null", "not a JSON object", 0 },
		{ "{\"value\":{}}", "\"value\" is not an array", 0 },
		{ "{\"value\":[],\"value\":[]}", "\"value\" twice", 0 },
		{ "{\"nextLink\":null,\"nextLink\":\"x\",\"value\":[]}",
		    "\"nextLink\" twice", 0 },
		{ "{\"value\":[],\"nextLink\":5}", "not a string", 0 },
		{ "{\"value\":[{}],\"nextLink\":\"x\"} {}", "data after", 1 },
		{ "{\"value\":[{},]}", "unexpected ']'", 1 },
		{ "{\"value\":[,{}]}", "unexpected ','", 0 },
		{ "{\"value\":[{}{}]}", "unexpected '{'", 1 },
		{ "{\"value\" [] }", "unexpected '['", 0 },
		{ "{value:[]}", "unexpected 'v'", 0 },
		{ "{\"value\":[],}", "unexpected '}'", 0 },
		{ "{\"value\":[{\"a\":1,}]}", "item 0", 0 },
		{ "{\"value\":[{\"a\":tru}]}", "item 0", 0 },
		{ "{\"value\":[{}, {\"a\":'x'}]}", "item 1", 1 },
		{ "{\"value\":[{\"a\":\"\xc3\x28\"}]}", "item 0", 0 },
		{ "{\"value\":[{\"a\":[}]]}", "item 0", 0 },
		{ "{\"value\":[],\"x\":{\"a\":}}", "a member", 0 },
		{ "{\"value\":[],\"x\":\"\xff\"}", "a member", 0 },
		{ "{\"\xff\":1,\"value\":[]}", "malformed key", 0 },
		{ "{\"value\":[[[[[[[[1]]]]]]]]}", "deeper", 0 },
	};
	struct armstream	 s;
	struct got		 g;
	size_t			 i;

	for (i = 0; i < NELEM(t); i++) {
		memset(&g, 0, sizeof(g));
		armstream_init(&s, 4096, 8, 0, got_item, &g);
		ck_assert_msg(run(&s, t[i].text, 1) == -1, "%s: accepted",
		    t[i].text);
		ck_assert_msg(strstr(s.err, t[i].err) != NULL, "%s: err %s",
		    t[i].text, s.err);
		ck_assert_msg(g.n == t[i].items, "%s: %zu items", t[i].text,
		    g.n);
		/* A failure sticks. */
		ck_assert_int_eq(armstream_feed(&s, "{}", 2), -1);
		ck_assert_int_eq(armstream_finish(&s), -1);
		armstream_free(&s);
	}
}
END_TEST

/* Every proper prefix of a page is refused, and never hands out an item
 * that is not complete. */
START_TEST(test_armstream_prefixes)
{
	const char		*text = "{\"nextLink\":\"n\",\"value\":[" ITEM_A
				    "," ITEM_B "]}";
	struct armstream	 s;
	struct got		 g;
	char			 buf[512];
	size_t			 len = strlen(text), i;

	for (i = 0; i < len; i++) {
		memcpy(buf, text, i);
		buf[i] = '\0';
		memset(&g, 0, sizeof(g));
		armstream_init(&s, 4096, 64, 0, got_item, &g);
		ck_assert_msg(run(&s, buf, i / 2) == -1, "prefix %zu", i);
		ck_assert_uint_le(g.n, i >= strstr(text, ITEM_B) - text +
		    strlen(ITEM_B) ? 2 : i >= strstr(text, ITEM_A) - text +
		    strlen(ITEM_A) ? 1 : 0);
		armstream_free(&s);
	}
}
END_TEST

START_TEST(test_armstream_caps)
{
	struct armstream	 s;
	struct got		 g;
	char			 text[256];
	char			 item[64];

	/* An item of exactly the cap passes; one byte more does not. */
	memset(item, 'x', sizeof(item));
	snprintf(text, sizeof(text), "{\"value\":[\"%.30s\"]}", item);
	memset(&g, 0, sizeof(g));
	armstream_init(&s, 32, 64, 0, got_item, &g);
	ck_assert_int_eq(run(&s, text, 7), 0);
	ck_assert_uint_eq(g.n, 1);
	armstream_free(&s);
	snprintf(text, sizeof(text), "{\"value\":[{\"a\":1},\"%.31s\"]}",
	    item);
	memset(&g, 0, sizeof(g));
	armstream_init(&s, 32, 64, 0, got_item, &g);
	ck_assert_int_eq(run(&s, text, 7), -1);
	ck_assert_str_eq(s.err, "an item larger than 32 bytes");
	ck_assert_uint_eq(g.n, 1);
	armstream_free(&s);
	/* Other members have the same cap, and so does framing only. */
	snprintf(text, sizeof(text), "{\"pad\":\"%.40s\",\"value\":[]}", item);
	armstream_init(&s, 32, 64, ARMSTREAM_FRAME_ONLY, NULL, NULL);
	ck_assert_int_eq(run(&s, text, 0), -1);
	ck_assert_str_eq(s.err, "a member larger than 32 bytes");
	armstream_free(&s);
	/* But a long list of small items is no problem. */
	memset(&g, 0, sizeof(g));
	armstream_init(&s, 32, 64, 0, NULL, NULL);
	ck_assert_int_eq(armstream_feed(&s, "{\"value\":[", 10), 0);
	for (int i = 0; i < 100000; i++)
		ck_assert_int_eq(armstream_feed(&s, "{\"id\":\"abc\"},", 13), 0);
	ck_assert_int_eq(armstream_feed(&s, "{}]}", 4), 0);
	ck_assert_int_eq(armstream_finish(&s), 0);
	ck_assert_uint_eq(s.items, 100001);
	armstream_free(&s);
}
END_TEST

START_TEST(test_armstream_stop)
{
	struct armstream	 s;
	struct got		 g;

	memset(&g, 0, sizeof(g));
	g.stop_at = 2;
	armstream_init(&s, 4096, 64, 0, got_item, &g);
	ck_assert_int_eq(run(&s, "{\"value\":[{},{},{}]}", 0), -1);
	ck_assert_int_eq(s.stopped, 9);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_ptr_nonnull(strstr(s.err, "stopped"));
	armstream_free(&s);
}
END_TEST

/* What the scanner's rules do not read is left out of a resource before
 * json-c parses it; anything armstream_prune cannot vouch for as json-c
 * would is parsed whole, so no malformed resource is accepted by being
 * left out. */
#define WHOLE	"{\"properties\":{\"c\":1},\"z\":0}"

START_TEST(test_armstream_prune)
{
	static char	*top[] = { "id", "type", "identity" };
	static char	*props[] = { "a", "b" };
	static const struct {
		const char	*in;
		int		 r;
		const char	*out;	/* r == 1 */
	} t[] = {
		{ "{\"id\":\"x\",\"sku\":{\"n\":[1,2,{\"q\":null}]},\"type\":"
		    "\"t\"}", 1, "{\"id\":\"x\",\"type\":\"t\"}" },
		{ " {\"id\":\"x\" , \"properties\" : {\"a\":1, \"c\":[true,false],"
		    "\"b\":{\"d\":\"e\"}} , \"etag\":\"w\"} ", 1,
		    "{\"id\":\"x\",\"properties\":{\"a\":1,\"b\":{\"d\":\"e\"}}}" },
		{ "{\"properties\":{\"c\":1},\"z\":0}", 1,
		    "{\"properties\":{}}" },
		{ "{\"properties\":[1],\"z\":0}", 1, "{\"properties\":[1]}" },
		/* A key with an escape may name anything: kept. */
		{ "{\"i\\u0064\":\"x\",\"z\":0}", 1, "{\"i\\u0064\":\"x\"}" },
		{ "{\"z\":\"a\\\"b\\\\\\/\\b\\f\\n\\r\\t\\u00e9\",\"id\":1}", 1,
		    "{\"id\":1}" },
		{ "{\"z\":-0.5e+3,\"y\":0,\"x\":1E2,\"id\":1}", 1, "{\"id\":1}" },
		/* Twice: json-c keeps the last, of what is kept too. */
		{ "{\"id\":1,\"z\":0,\"id\":2}", 1, "{\"id\":1,\"id\":2}" },
		/* Nothing dropped, or not an object: parsed as it is. */
		{ "{\"id\":\"x\",\"identity\":{}}", 0, NULL },
		{ "{}", 0, NULL },
		{ "[1]", 0, NULL },
		{ "\"s\"", 0, NULL },
		/* Not strict JSON where it would be left out. */
		{ "{\"id\":1,\"z\":01}", -1, NULL },
		{ "{\"id\":1,\"z\":1.}", -1, NULL },
		{ "{\"id\":1,\"z\":-}", -1, NULL },
		{ "{\"id\":1,\"z\":[1,]}", -1, NULL },
		{ "{\"id\":1,\"z\":{\"a\":1,}}", -1, NULL },
		{ "{\"id\":1,\"z\":{\"a\"}}", -1, NULL },
		{ "{\"id\":1,\"z\":{1:2}}", -1, NULL },
		{ "{\"id\":1,\"z\":tru}", -1, NULL },
		{ "{\"id\":1,\"z\":nul}", -1, NULL },
		{ "{\"id\":1,\"z\":'a'}", -1, NULL },
		{ "{\"id\":1,\"z\":\"\\x\"}", -1, NULL },
		{ "{\"id\":1,\"z\":\"\\u12\"}", -1, NULL },
		{ "{\"id\":1,\"z\":\"\\ud800\"}", -1, NULL },
		{ "{\"id\":1,\"z\":\"\\uDBFF\\uDFFF\"}", -1, NULL },
		{ "{\"id\":1,\"z\":\"a\tb\"}", -1, NULL },
		{ "{\"id\":1,\"z\":1 2}", -1, NULL },
		{ "{\"id\":1,\"z\":1}x", -1, NULL },
		{ "{\"id\":1,\"z\":[1}", -1, NULL },
		{ "{\"id\":1,\"z\":\"open}", -1, NULL },
		{ "{\"id\":1 \"z\":2}", -1, NULL },
		{ "{\"id\":1,\"properties\":{\"c\":[}}", -1, NULL },
	};
	struct armprune	 pr = { top, NELEM(top), props, NELEM(props), 0 };
	struct buf	 out;
	size_t		 i;
	int		 r;

	buf_init(&out, 1 << 20);
	for (i = 0; i < NELEM(t); i++) {
		r = armstream_prune(&pr, t[i].in, strlen(t[i].in), &out);
		ck_assert_msg(r == t[i].r, "row %zu: %d", i, r);
		if (r == 1)
			ck_assert_msg(out.len == strlen(t[i].out) &&
			    memcmp(out.data, t[i].out, out.len) == 0,
			    "row %zu: %.*s", i, (int)out.len, out.data);
	}
	/* props_whole keeps "properties" as it is. */
	pr.props_whole = 1;
	ck_assert_int_eq(armstream_prune(&pr, WHOLE, strlen(WHOLE), &out), 1);
	ck_assert_uint_eq(out.len, strlen("{\"properties\":{\"c\":1}}"));
	ck_assert(memcmp(out.data, "{\"properties\":{\"c\":1}}", out.len) ==
	    0);
	buf_free(&out);
}
END_TEST

/* Through the stream: the items as pruned, and a malformed member that
 * pruning would drop still fails the page with json-c's message. */
START_TEST(test_armstream_prune_stream)
{
	static char		*top[] = { "id" };
	struct armprune		 pr = { top, 1, NULL, 0, 0 };
	struct armstream	 s;
	struct got		 g;

	memset(&g, 0, sizeof(g));
	armstream_init(&s, 4096, 8, 0, got_item, &g);
	s.prune = &pr;
	ck_assert_int_eq(run(&s, "{\"value\":[{\"id\":\"a\",\"z\":{\"y\":[1]}},"
	    "{\"z\":2,\"id\":\"b\"}],\"nextLink\":null}", 0), 0);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_str_eq(g.items[0], "{\"id\":\"a\"}");
	ck_assert_str_eq(g.items[1], "{\"id\":\"b\"}");
	armstream_free(&s);

	memset(&g, 0, sizeof(g));
	armstream_init(&s, 4096, 8, 0, got_item, &g);
	s.prune = &pr;
	ck_assert_int_eq(run(&s, "{\"value\":[{\"id\":\"a\",\"z\":[1,]}]}", 0),
	    -1);
	ck_assert_msg(strstr(s.err, "item 0: body is not valid JSON") != NULL,
	    "%s", s.err);
	armstream_free(&s);

	/* Deeper than the limit where it would be dropped: refused. */
	memset(&g, 0, sizeof(g));
	armstream_init(&s, 4096, 4, 0, got_item, &g);
	s.prune = &pr;
	ck_assert_int_eq(run(&s, "{\"value\":[{\"id\":\"a\",\"z\":[[[]]]}]}",
	    0), -1);
	ck_assert_msg(strstr(s.err, "nested deeper") != NULL, "%s", s.err);
	armstream_free(&s);
}
END_TEST

Suite *
armstream_suite(void)
{
	Suite	*s = suite_create("armstream");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_armstream_every_split);
	tcase_add_test(tc, test_armstream_bytewise);
	tcase_add_test(tc, test_armstream_shapes);
	tcase_add_test(tc, test_armstream_malformed);
	tcase_add_test(tc, test_armstream_prefixes);
	tcase_add_test(tc, test_armstream_caps);
	tcase_add_test(tc, test_armstream_stop);
	tcase_add_test(tc, test_armstream_prune);
	tcase_add_test(tc, test_armstream_prune_stream);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
