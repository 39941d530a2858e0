/* check_keys.c: the rules keys.c applies before touching the database,
 * the same for the API and vigilctl: what a key name may be, and how a
 * scope set is written, read back and shown. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "vigil.h"
#include "suites.h"

/* n copies of the UTF-8 character c in a new string. */
static char *
repeat(const char *c, size_t n)
{
	size_t l = strlen(c), i;
	char *s = malloc(l * n + 1);

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * l, c, l);
	s[l * n] = '\0';
	return s;
}

START_TEST(test_keys_name_ok)
{
	/* Characters, not bytes: 100 of each width is a name, 101 is not
	 * (vigilctl used to count bytes and refuse 51 two-byte ones). */
	static const char *const chars[] = { "a", "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x94\x91" };
	static const struct {
		const char	*s;
		int		 ok;
	} t[] = {
		{ "bootstrap", 1 },
		{ "caf\xc3\xa9 \xc2\xa0\xe2\x82\xac", 1 },
		{ "", 0 },
		{ "a\tb", 0 },
		{ "a\nkey_FORGED", 0 },
		{ "\x1b[31mred", 0 },
		{ "del\x7f", 0 },
		{ "csi\xc2\x9b" "2J", 0 },
		{ "bad \xff", 0 },
		{ "cut \xe2\x82", 0 },
	};
	size_t i;
	char *s;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_msg(keys_name_ok(t[i].s) == t[i].ok, "row %zu", i);
	for (i = 0; i < NELEM(chars); i++) {
		s = repeat(chars[i], KEYS_NAME_MAX);
		ck_assert_msg(keys_name_ok(s), "100 of width %zu", i + 1);
		free(s);
		s = repeat(chars[i], KEYS_NAME_MAX + 1);
		ck_assert_msg(!keys_name_ok(s), "101 of width %zu", i + 1);
		free(s);
	}
}
END_TEST

START_TEST(test_keys_scopes)
{
	static const struct {
		unsigned	 bits;
		const char	*text, *json;
	} t[] = {
		{ SCOPE_READ, "read", "[\"read\"]" },
		{ SCOPE_ADMIN, "admin", "[\"admin\"]" },
		{ SCOPE_WRITE | SCOPE_READ, "read,write",
		    "[\"read\",\"write\"]" },
		{ SCOPE_ADMIN | SCOPE_READ, "read,admin",
		    "[\"read\",\"admin\"]" },
		{ SCOPE_READ | SCOPE_WRITE | SCOPE_ADMIN, "read,write,admin",
		    "[\"read\",\"write\",\"admin\"]" },
		{ SCOPE_INGEST, "ingest", "[\"ingest\"]" },
		{ KEYS_SCOPES_ALL, "read,write,admin,ingest",
		    "[\"read\",\"write\",\"admin\",\"ingest\"]" },
		{ 0, "", "[]" },
	};
	char buf[32];
	json_object *a;
	size_t i;

	for (i = 0; i < NELEM(t); i++) {
		keys_scopes_text(t[i].bits, buf, sizeof(buf));
		ck_assert_str_eq(buf, t[i].text);
		/* What is stored reads back as the same scopes: what
		 * authentication grants a key is what it was given. */
		ck_assert_uint_eq(keys_scopes_parse(buf), t[i].bits);
		a = keys_scopes_json(t[i].bits);
		ck_assert_str_eq(json_object_to_json_string_ext(a,
		    JSON_C_TO_STRING_PLAIN), t[i].json);
		json_object_put(a);
	}
	ck_assert_uint_eq(keys_scopes_parse(NULL), 0);
	ck_assert_uint_eq(keys_scopes_parse("admin,read"),
	    SCOPE_READ | SCOPE_ADMIN);
}
END_TEST

Suite *
keys_suite(void)
{
	Suite	*s = suite_create("keys");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_keys_name_ok);
	tcase_add_test(tc, test_keys_scopes);
	suite_add_tcase(s, tc);
	return s;
}
