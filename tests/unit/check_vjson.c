/* check_vjson.c: capped parsing, UTF-8 and the typed getters. */
#include "vigil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "vjson.h"

START_TEST(test_vjson_utf8)
{
	static const struct {
		const char	*s;
		size_t		 len;
		int		 want;
	} t[] = {
		{ "", 0, 1 },
		{ "plain ascii", 11, 1 },
		{ "\xc3\xa9", 2, 1 },			/* é */
		{ "\xe2\x82\xac", 3, 1 },		/* € */
		{ "\xf0\x9f\x98\x80", 4, 1 },		/* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4, 1 },		/* U+10FFFF */
		{ "\xed\x9f\xbf", 3, 1 },		/* U+D7FF */
		{ "\xee\x80\x80", 3, 1 },		/* U+E000 */
		{ "\x00", 1, 1 },			/* NUL is valid UTF-8 */
		{ "\xc0\xaf", 2, 0 },			/* overlong '/' */
		{ "\xc1\xbf", 2, 0 },
		{ "\xe0\x80\xaf", 3, 0 },		/* overlong */
		{ "\xe0\x9f\xbf", 3, 0 },
		{ "\xf0\x80\x80\xaf", 4, 0 },
		{ "\xf0\x8f\xbf\xbf", 4, 0 },
		{ "\xed\xa0\x80", 3, 0 },		/* U+D800 */
		{ "\xed\xbf\xbf", 3, 0 },		/* U+DFFF */
		{ "\xf4\x90\x80\x80", 4, 0 },		/* U+110000 */
		{ "\xf5\x80\x80\x80", 4, 0 },
		{ "\xff", 1, 0 },
		{ "\x80", 1, 0 },			/* lone continuation */
		{ "\xc3", 1, 0 },			/* truncated */
		{ "\xe2\x82", 2, 0 },
		{ "\xf0\x9f\x98", 3, 0 },
		{ "\xc3\xa9", 1, 0 },			/* cut by len */
		{ "\xc3(", 2, 0 },
		{ "\xe2\x28\xa1", 3, 0 },
		{ "a\xf0\x9f\x98\x80z", 6, 1 },
	};
	char	 b[40];
	size_t	 i, at, k;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_msg(vjson_utf8_valid(t[i].s, t[i].len) == t[i].want,
		    "row %zu", i);
	/* The ASCII runs are read eight bytes at a time: a bad or a good
	 * sequence at every offset of a longer text, and one cut by len at
	 * its end. */
	for (i = 0; i < NELEM(t); i++) {
		if (t[i].len == 0 || t[i].len > 4)
			continue;
		for (at = 0; at + t[i].len <= sizeof(b); at++) {
			memset(b, 'a', sizeof(b));
			memcpy(b + at, t[i].s, t[i].len);
			ck_assert_msg(vjson_utf8_valid(b, sizeof(b)) ==
			    t[i].want, "row %zu at %zu", i, at);
		}
	}
	for (k = 1; k < sizeof(b); k++) {
		memset(b, 'a', sizeof(b));
		b[k - 1] = '\xc3';
		ck_assert_msg(!vjson_utf8_valid(b, k), "cut at %zu", k);
		ck_assert_msg(vjson_utf8_valid(b, k - 1), "before %zu", k);
	}
}
END_TEST

/* A string of n nested arrays around 1. */
static char *
nest(int n)
{
	char	*s;
	int	 i;

	s = malloc((size_t)n * 2 + 2);
	for (i = 0; i < n; i++) {
		s[i] = '[';
		s[n + 1 + i] = ']';
	}
	s[n] = '1';
	s[2 * n + 1] = '\0';
	return s;
}

START_TEST(test_vjson_parse)
{
	static const struct {
		const char	*text;
		size_t		 len;	/* 0: strlen */
		int		 ok;
		const char	*msg;	/* substring of the error */
	} t[] = {
		{ "{\"a\":1}", 0, 1, NULL },
		{ "  {\"a\":[1,2,\"x\"]}\r\n\t ", 0, 1, NULL },
		{ "123", 0, 1, NULL },
		{ "\"\xc3\xa9\"", 0, 1, NULL },
		{ " null ", 0, 0, "null" },	/* json-c's NULL object */
		{ "{\"a\":1} x", 0, 0, "JSON" },
		{ "{\"a\":1}{}", 0, 0, "JSON" },
		{ "123 4", 0, 0, "JSON" },
		{ "{\"a\":1", 0, 0, "not valid JSON" },
		{ "{\"a\":1,}", 0, 0, "not valid JSON" },
		{ "[1,]", 0, 0, "not valid JSON" },
		{ "", 0, 0, "not valid JSON" },
		{ "   ", 0, 0, "not valid JSON" },
		{ "tru", 0, 0, "not valid JSON" },
		{ "{\"a\":\"\xed\xa0\x80\"}", 0, 0, "UTF-8" },
		{ "{\"a\":\"\xc0\xaf\"}", 0, 0, "UTF-8" },
		{ "\"\xc3\"", 0, 0, "UTF-8" },
		{ "{\"a\":1}\0", 8, 0, "NUL" },
		{ "{\"a\":\"b\0c\"}", 11, 0, "NUL" },
	};
	struct vjson_err	 err;
	json_object		*o;
	size_t			 i, len;

	for (i = 0; i < NELEM(t); i++) {
		memset(&err, 0, sizeof(err));
		len = t[i].len != 0 ? t[i].len : strlen(t[i].text);
		o = vjson_parse(t[i].text, len, VIGIL_MAX_JSON_DEPTH,
		    VIGIL_MAX_BODY, &err);
		if (t[i].ok) {
			ck_assert_msg(err.message[0] == '\0', "row %zu: %s",
			    i, err.message);
			ck_assert_ptr_nonnull(o);
		} else {
			ck_assert_msg(o == NULL, "row %zu accepted", i);
			ck_assert_str_eq(err.field, "body");
			ck_assert_msg(strstr(err.message, t[i].msg) != NULL,
			    "row %zu: %s", i, err.message);
		}
		json_object_put(o);
	}
}
END_TEST

/* A key given twice in one object is refused at any depth, named by its
 * path, however it is spelt ("a" and "\u0061" are one key to json-c);
 * equal keys in different objects, and keys that only look alike, are
 * not repeats. */
START_TEST(test_vjson_parse_duplicates)
{
	static const struct {
		const char	*text;
		const char	*field;	/* NULL: accepted */
	} t[] = {
		{ "{\"a\":1,\"a\":2}", "a" },
		{ "{\"a\":1,\"b\":2,\"a\":1}", "a" },
		{ "{ \"a\" : 1 , \"a\" : 1 }", "a" },
		{ "{\"a\":1,\"\\u0061\":2}", "a" },
		{ "{\"\\u00e9\":1,\"\xc3\xa9\":2}", "\xc3\xa9" },
		{ "{\"a\\\"b\":1,\"a\\u0022b\":2}", "a\"b" },
		{ "{\"asset\":{\"hostname\":\"x\",\"hostname\":\"y\"}}",
		    "asset.hostname" },
		{ "{\"ids\":[{\"x\":1},{\"x\":1,\"x\":2}]}", "ids[1].x" },
		{ "[{\"x\":1},{\"y\":{\"z\":[{\"k\":1,\"k\":1}]}}]",
		    "[1].y.z[0].k" },
		{ "{\"a\":{\"b\":1},\"a\":{\"b\":1}}", "a" },
		{ "{\"s\":\"{\\\"a\\\":1,\\\"a\\\":2}\",\"t\":[\"}\",\"{\"]}",
		    NULL },
		{ "{\"a\":1,\"b\":{\"a\":1},\"c\":[{\"a\":1},{\"a\":2}]}", NULL },
		{ "{\"a\":1,\"A\":2,\"a \":3,\"\\u0061b\":4}", NULL },
		{ "{}", NULL },
		{ "[{},[],{\"x\":[1,2.5e3,true,false,null,\"a\"]}]", NULL },
		/* json-c cuts a key at \u0000: two keys it cannot tell apart. */
		{ "{\"a\\u0000b\":1,\"a\\u0000c\":2}", "a" },
		{ "{\"k\":\"\\\\\",\"k\\\\\":1,\"k\":2}", "k" },
	};
	struct vjson_err	 err;
	json_object		*o;
	size_t			 i;

	for (i = 0; i < NELEM(t); i++) {
		memset(&err, 0, sizeof(err));
		o = vjson_parse_unique(t[i].text, strlen(t[i].text),
		    VIGIL_MAX_JSON_DEPTH, VIGIL_MAX_BODY, &err);
		if (t[i].field == NULL) {
			ck_assert_msg(o != NULL, "row %zu: %s", i,
			    err.message);
			json_object_put(o);
			continue;
		}
		ck_assert_msg(o == NULL, "row %zu accepted", i);
		ck_assert_str_eq(err.field, t[i].field);
		ck_assert_msg(strstr(err.message, "more than once") != NULL,
		    "row %zu: %s", i, err.message);
	}
	/* vjson_parse itself keeps json-c's reading (the last wins); the
	 * other errors are still vjson_parse's. */
	o = vjson_parse("{\"a\":1,\"a\":2}", 13, 32, VIGIL_MAX_BODY, &err);
	ck_assert_ptr_nonnull(o);
	json_object_put(o);
	o = vjson_parse_unique("{\"a\":1", 6, 32, VIGIL_MAX_BODY, &err);
	ck_assert_ptr_null(o);
	ck_assert_str_eq(err.field, "body");
}
END_TEST

/* A repeat under a long key (found by fuzz_vjson): the path fills the
 * message, yet the message still says what is wrong, and field and
 * message stay valid UTF-8 where the path is cut inside a character. */
START_TEST(test_vjson_unique_long_path)
{
	struct vjson_err	 err;
	json_object		*o;
	char			 text[1024];
	size_t			 n = 0, i;

	text[n++] = '{';
	text[n++] = '"';
	for (i = 0; i < 150; i++) {	/* 300 bytes of "é" */
		text[n++] = (char)0xc3;
		text[n++] = (char)0xa9;
	}
	n += (size_t)snprintf(text + n, sizeof(text) - n,
	    "x\":[{\"\":\"ci\",\"\":\"\"}]}");
	memset(&err, 0, sizeof(err));
	o = vjson_parse_unique(text, n, 32, VIGIL_MAX_BODY, &err);
	ck_assert_ptr_null(o);
	ck_assert_msg(strstr(err.message, "more than once") != NULL, "%s",
	    err.message);
	ck_assert(vjson_utf8_valid(err.message, strlen(err.message)));
	ck_assert(vjson_utf8_valid(err.field, strlen(err.field)));
	ck_assert(strlen(err.field) > 100);
	/* odd offsets: cut inside a character at every position */
	for (i = 1; i < 6; i++) {
		memmove(text + 2 + i, text + 2, n - 2);
		memset(text + 2, 'a', i);
		n += i;
		memset(&err, 0, sizeof(err));
		o = vjson_parse_unique(text, n, 32, VIGIL_MAX_BODY, &err);
		ck_assert_ptr_null(o);
		ck_assert(strstr(err.message, "more than once") != NULL);
		ck_assert(vjson_utf8_valid(err.message, strlen(err.message)));
		ck_assert(vjson_utf8_valid(err.field, strlen(err.field)));
	}
}
END_TEST

START_TEST(test_vjson_parse_caps)
{
	static const struct {
		int	 nesting, maxdepth, ok;
	} t[] = {
		{ 1, 1, 1 },
		{ 2, 1, 0 },
		{ 32, 32, 1 },
		{ 33, 32, 0 },
		{ 200, 32, 0 },
	};
	struct vjson_err	 err;
	json_object		*o;
	char			*s;
	size_t			 i;

	for (i = 0; i < NELEM(t); i++) {
		s = nest(t[i].nesting);
		memset(&err, 0, sizeof(err));
		o = vjson_parse(s, strlen(s), t[i].maxdepth, VIGIL_MAX_BODY,
		    &err);
		ck_assert_msg((o != NULL) == t[i].ok, "row %zu", i);
		if (!t[i].ok)
			ck_assert_ptr_nonnull(strstr(err.message, "nested"));
		json_object_put(o);
		free(s);
	}
	/* An empty innermost container counts as a level too (json-c's own
	 * limit counts values, and let these through). */
	static const char *const empty_inside[] = { "{\"a\":[]}", "[[]]",
	    "[{}]", "{\"a\":{}}" };
	for (i = 0; i < NELEM(empty_inside); i++) {
		o = vjson_parse(empty_inside[i], strlen(empty_inside[i]), 1,
		    VIGIL_MAX_BODY, &err);
		ck_assert_msg(o == NULL, "%s", empty_inside[i]);
		ck_assert_ptr_nonnull(strstr(err.message, "nested"));
		o = vjson_parse(empty_inside[i], strlen(empty_inside[i]), 2,
		    VIGIL_MAX_BODY, &err);
		ck_assert_msg(o != NULL, "%s", empty_inside[i]);
		json_object_put(o);
	}
	/* Size: len == maxlen passes, one more byte does not. */
	o = vjson_parse("[1, 2]", 6, 32, 6, &err);
	ck_assert_ptr_nonnull(o);
	json_object_put(o);
	o = vjson_parse("[1, 2]", 6, 32, 5, &err);
	ck_assert_ptr_null(o);
	ck_assert_str_eq(err.field, "body");
	ck_assert_ptr_nonnull(strstr(err.message, "larger"));
}
END_TEST

static json_object *
parse_ok(const char *text)
{
	struct vjson_err	 err;
	json_object		*o;

	o = vjson_parse(text, strlen(text), 32, VIGIL_MAX_BODY, &err);
	ck_assert_msg(o != NULL, "%s: %s", text, err.message);
	return o;
}

/* A label refuses every control character, escaped or raw in the JSON;
 * a text keeps newline and tab only; arrays of strings are labels. */
START_TEST(test_vjson_controls)
{
	static const struct {
		const char	*field;
		int		 label_ok, text_ok;
	} t[] = {
		{ "plain", 1, 1 },
		{ "nbsp", 1, 1 },
		{ "tab", 0, 1 },
		{ "nl", 0, 1 },
		{ "cr", 0, 0 },
		{ "esc", 0, 0 },
		{ "bel", 0, 0 },
		{ "del", 0, 0 },
		{ "csi", 0, 0 },
		{ "c1raw", 0, 0 },
	};
	struct vjson_err	 err;
	json_object		*o, *arr;
	const char		*v;
	size_t			 i;

	o = parse_ok("{\"plain\":\"ok name\",\"nbsp\":\"a\\u00a0b\","
	    "\"tab\":\"a\\tb\",\"nl\":\"a\\nb\",\"cr\":\"a\\rb\","
	    "\"esc\":\"\\u001b[31mred\",\"bel\":\"x\\u0007\","
	    "\"del\":\"x\\u007f\",\"csi\":\"x\\u009b2J\","
	    "\"c1raw\":\"x\xc2\x85y\","
	    "\"list\":[\"ok\",\"b\\u001bad\"]}");
	for (i = 0; i < NELEM(t); i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(vjson_get_string(o, t[i].field, 1, 0, 100, &v,
		    &err), t[i].label_ok ? 1 : -1);
		if (!t[i].label_ok) {
			ck_assert_str_eq(err.field, t[i].field);
			ck_assert_ptr_nonnull(strstr(err.message,
			    "must not contain control characters"));
		}
		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(vjson_get_text(o, t[i].field, 1, 0, 100, &v,
		    &err), t[i].text_ok ? 1 : -1);
		if (!t[i].text_ok) {
			ck_assert_str_eq(err.field, t[i].field);
			ck_assert_ptr_nonnull(strstr(err.message,
			    "other than newline and tab"));
		}
	}
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(vjson_get_string_array(o, "list", 1, 5, 10, &arr,
	    &err), -1);
	ck_assert_str_eq(err.field, "list");
	ck_assert_str_eq(err.message,
	    "list[1] must not contain control characters");
	json_object_put(o);
}
END_TEST

START_TEST(test_vjson_get_string)
{
	static const struct {
		const char	*field;
		int		 required;
		size_t		 min, max;
		int		 rc;
		const char	*want;	/* value, or error message */
	} t[] = {
		{ "name", 1, 1, 100, 1, "deploy bot" },
		{ "name", 0, 1, 10, 1, "deploy bot" },
		{ "name", 1, 1, 9, -1, "name must be 1 to 9 bytes long" },
		{ "name", 1, 11, 20, -1, "name must be 11 to 20 bytes long" },
		{ "empty", 1, 1, 100, -1, "empty must be 1 to 100 bytes long" },
		{ "empty", 1, 0, 100, 1, "" },
		{ "utf8", 1, 1, 2, 1, "\xc3\xa9" },
		{ "utf8", 1, 1, 1, -1, "utf8 must be 1 to 1 bytes long" },
		{ "nul", 1, 0, 100, -1, "nul must not contain NUL" },
		{ "surrogate", 1, 0, 100, 1, "\xef\xbf\xbd" },
		{ "num", 1, 0, 100, -1, "num must be a string" },
		{ "arr", 1, 0, 100, -1, "arr must be a string" },
		{ "t", 1, 0, 100, -1, "t must be a string" },
		{ "nil", 0, 0, 100, 0, NULL },
		{ "nil", 1, 0, 100, -1, "nil is required" },
		{ "missing", 0, 0, 100, 0, NULL },
		{ "missing", 1, 0, 100, -1, "missing is required" },
	};
	struct vjson_err	 err;
	json_object		*o;
	const char		*v;
	size_t			 i;
	int			 rc;

	o = parse_ok("{\"name\":\"deploy bot\",\"empty\":\"\",\"utf8\":"
	    "\"\\u00e9\",\"nul\":\"a\\u0000b\",\"surrogate\":\"\\ud800\","
	    "\"num\":5,\"arr\":[\"x\"],\"t\":true,\"nil\":null}");
	for (i = 0; i < NELEM(t); i++) {
		memset(&err, 0, sizeof(err));
		v = "untouched";
		rc = vjson_get_string(o, t[i].field, t[i].required, t[i].min,
		    t[i].max, &v, &err);
		ck_assert_msg(rc == t[i].rc, "row %zu: rc %d", i, rc);
		if (rc == 1)
			ck_assert_str_eq(v, t[i].want);
		else if (rc == 0)
			ck_assert_str_eq(v, "untouched");
		else {
			ck_assert_str_eq(err.field, t[i].field);
			ck_assert_str_eq(err.message, t[i].want);
		}
	}
	json_object_put(o);
}
END_TEST

START_TEST(test_vjson_get_int)
{
	static const struct {
		const char	*field;
		int		 required;
		int64_t		 min, max;
		int		 rc;
		int64_t		 want;
		const char	*msg;
	} t[] = {
		{ "n", 1, 1, 100, 1, 42, NULL },
		{ "n", 1, 42, 42, 1, 42, NULL },
		{ "n", 1, 43, 100, -1, 0, "n must be between 43 and 100" },
		{ "n", 1, 1, 41, -1, 0, "n must be between 1 and 41" },
		{ "neg", 1, -10, 10, 1, -5, NULL },
		{ "neg", 1, 0, 10, -1, 0, "neg must be between 0 and 10" },
		{ "d", 1, 0, 100, -1, 0, "d must be an integer" },
		{ "e", 1, 0, 10000, -1, 0, "e must be an integer" },
		{ "s", 1, 0, 100, -1, 0, "s must be an integer" },
		{ "b", 1, 0, 100, -1, 0, "b must be an integer" },
		{ "max", 1, INT64_MIN, INT64_MAX, 1, INT64_MAX, NULL },
		{ "huge", 1, INT64_MIN, INT64_MAX, -1, 0,
		    "huge must be between -9223372036854775808 and "
		    "9223372036854775807" },
		{ "huge", 1, 0, 100, -1, 0, "huge must be between 0 and 100" },
		{ "tiny", 1, 0, 100, -1, 0, "tiny must be between 0 and 100" },
		{ "missing", 0, 0, 1, 0, 0, NULL },
		{ "missing", 1, 0, 1, -1, 0, "missing is required" },
		{ "nil", 0, 0, 1, 0, 0, NULL },
	};
	struct vjson_err	 err;
	json_object		*o;
	int64_t			 v;
	size_t			 i;
	int			 rc;

	o = parse_ok("{\"n\":42,\"neg\":-5,\"d\":42.0,\"e\":1e3,\"s\":\"42\","
	    "\"b\":true,\"max\":9223372036854775807,"
	    "\"huge\":99999999999999999999,\"tiny\":-99999999999999999999,"
	    "\"nil\":null}");
	for (i = 0; i < NELEM(t); i++) {
		memset(&err, 0, sizeof(err));
		v = 7;
		rc = vjson_get_int(o, t[i].field, t[i].required, t[i].min,
		    t[i].max, &v, &err);
		ck_assert_msg(rc == t[i].rc, "row %zu: rc %d", i, rc);
		if (rc == 1)
			ck_assert(v == t[i].want);
		else
			ck_assert(v == 7);
		if (rc == -1) {
			ck_assert_str_eq(err.field, t[i].field);
			ck_assert_str_eq(err.message, t[i].msg);
		}
	}
	json_object_put(o);
}
END_TEST

START_TEST(test_vjson_get_bool)
{
	static const struct {
		const char	*field;
		int		 required, rc, want;
	} t[] = {
		{ "t", 1, 1, 1 },
		{ "f", 1, 1, 0 },
		{ "one", 1, -1, 0 },
		{ "str", 1, -1, 0 },
		{ "missing", 0, 0, 0 },
		{ "missing", 1, -1, 0 },
	};
	struct vjson_err	 err;
	json_object		*o;
	size_t			 i;
	int			 v, rc;

	o = parse_ok("{\"t\":true,\"f\":false,\"one\":1,\"str\":\"true\"}");
	for (i = 0; i < NELEM(t); i++) {
		v = 9;
		rc = vjson_get_bool(o, t[i].field, t[i].required, &v, &err);
		ck_assert_msg(rc == t[i].rc, "row %zu", i);
		ck_assert_int_eq(v, rc == 1 ? t[i].want : 9);
		if (rc == -1)
			ck_assert_str_eq(err.field, t[i].field);
	}
	json_object_put(o);
}
END_TEST

START_TEST(test_vjson_get_string_array)
{
	static const struct {
		const char	*field;
		size_t		 maxitems, maxlen;
		int		 rc;
		size_t		 n;
		const char	*msg;
	} t[] = {
		{ "scopes", 3, 5, 1, 2, NULL },
		{ "scopes", 2, 5, 1, 2, NULL },
		{ "scopes", 1, 5, -1, 0, "scopes must have at most 1 items" },
		{ "scopes", 3, 4, -1, 0,
		    "scopes[1] must be 1 to 4 bytes long" },
		{ "none", 3, 5, 1, 0, NULL },
		{ "mixed", 3, 5, -1, 0, "mixed[1] must be a string" },
		{ "blank", 3, 5, -1, 0, "blank[0] must be 1 to 5 bytes long" },
		{ "str", 3, 5, -1, 0, "str must be an array of strings" },
		{ "missing", 3, 5, 0, 0, NULL },
	};
	struct vjson_err	 err;
	json_object		*o, *arr;
	size_t			 i;
	int			 rc;

	o = parse_ok("{\"scopes\":[\"read\",\"write\"],\"none\":[],"
	    "\"mixed\":[\"a\",1],\"blank\":[\"\"],\"str\":\"read\"}");
	for (i = 0; i < NELEM(t); i++) {
		memset(&err, 0, sizeof(err));
		arr = NULL;
		rc = vjson_get_string_array(o, t[i].field, 0, t[i].maxitems,
		    t[i].maxlen, &arr, &err);
		ck_assert_msg(rc == t[i].rc, "row %zu: rc %d", i, rc);
		if (rc == 1)
			ck_assert_uint_eq(json_object_array_length(arr),
			    t[i].n);
		else
			ck_assert_ptr_null(arr);
		if (rc == -1) {
			ck_assert_str_eq(err.field, t[i].field);
			ck_assert_str_eq(err.message, t[i].msg);
		}
	}
	json_object_put(o);
}
END_TEST

START_TEST(test_vjson_only_keys)
{
	static const char *const allowed[] = {
		"name", "scopes", "expires_at", NULL
	};
	static const struct {
		const char	*text;
		int		 rc;
		const char	*field;
	} t[] = {
		{ "{}", 0, NULL },
		{ "{\"name\":\"x\",\"scopes\":[]}", 0, NULL },
		{ "{\"name\":\"x\",\"admin\":true}", -1, "admin" },
		{ "{\"Name\":\"x\"}", -1, "Name" },
		{ "[\"name\"]", -1, "body" },
		{ "\"name\"", -1, "body" },
	};
	struct vjson_err	 err;
	json_object		*o;
	const char		*s;
	size_t			 i;

	for (i = 0; i < NELEM(t); i++) {
		o = parse_ok(t[i].text);
		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(vjson_only_keys(o, allowed, &err), t[i].rc);
		if (t[i].rc == -1)
			ck_assert_str_eq(err.field, t[i].field);
		json_object_put(o);
	}
	/* Getters on a non-object blame the body. */
	o = parse_ok("[1]");
	ck_assert_int_eq(vjson_get_string(o, "name", 0, 0, 1, &s, &err), -1);
	ck_assert_str_eq(err.field, "body");
	json_object_put(o);
}
END_TEST

START_TEST(test_vjson_str)
{
	static const struct {
		const char	*in;
		const char	*out;
	} t[] = {
		{ "{ \"a\" : [ 1, 2 ] }", "{\"a\":[1,2]}" },
		{ "{\"url\":\"https:\\/\\/x.example\\/a\"}",
		    "{\"url\":\"https://x.example/a\"}" },
		{ "\"\\u00e9\"", "\"\xc3\xa9\"" },
		{ "\"a\\\"b\"", "\"a\\\"b\"" },
	};
	json_object	*o;
	const char	*s;
	size_t		 i, len;

	for (i = 0; i < NELEM(t); i++) {
		o = parse_ok(t[i].in);
		s = vjson_str(o, &len);
		ck_assert_str_eq(s, t[i].out);
		ck_assert_uint_eq(len, strlen(t[i].out));
		json_object_put(o);
	}
	o = json_object_new_object();
	json_object_object_add(o, "a", vjson_new_string_or_null(NULL));
	json_object_object_add(o, "b", vjson_new_string_or_null("x/y"));
	ck_assert_str_eq(vjson_str(o, NULL), "{\"a\":null,\"b\":\"x/y\"}");
	json_object_put(o);
}
END_TEST

Suite *
vjson_suite(void)
{
	Suite	*s = suite_create("vjson");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_vjson_utf8);
	tcase_add_test(tc, test_vjson_parse);
	tcase_add_test(tc, test_vjson_parse_duplicates);
	tcase_add_test(tc, test_vjson_controls);
	tcase_add_test(tc, test_vjson_parse_caps);
	tcase_add_test(tc, test_vjson_unique_long_path);
	tcase_add_test(tc, test_vjson_get_string);
	tcase_add_test(tc, test_vjson_get_int);
	tcase_add_test(tc, test_vjson_get_bool);
	tcase_add_test(tc, test_vjson_get_string_array);
	tcase_add_test(tc, test_vjson_only_keys);
	tcase_add_test(tc, test_vjson_str);
	suite_add_tcase(s, tc);
	return s;
}
