/* check_text.c: which control characters a label or a text refuses, and
 * how vigilctl escapes what it prints. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "vigil.h"
#include "suites.h"

START_TEST(test_text_control)
{
	static const struct {
		const char	*s;
		size_t		 single, multi;	/* offset found, or ~0: none */
	} t[] = {
		{ "plain name", ~(size_t)0, ~(size_t)0 },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", ~(size_t)0,
		    ~(size_t)0 },
		{ "a\tb", 1, ~(size_t)0 },
		{ "a\nb", 1, ~(size_t)0 },
		{ "a\rb", 1, 1 },
		{ "a\x1b[31mred", 1, 1 },
		{ "bell\x07", 4, 4 },
		{ "\x01", 0, 0 },
		{ "\x1f", 0, 0 },
		{ "del\x7f", 3, 3 },
		{ "c1 \xc2\x9b" "31m", 3, 3 },		/* CSI */
		{ "c1 \xc2\x80", 3, 3 },
		{ "c1 \xc2\x9f", 3, 3 },
		{ "nbsp \xc2\xa0 ok", ~(size_t)0, ~(size_t)0 },
		{ "line\nthen\x1b", 4, 9 },
		{ "", ~(size_t)0, ~(size_t)0 },
	};
	size_t i, len, want;

	for (i = 0; i < NELEM(t); i++) {
		len = strlen(t[i].s);
		want = t[i].single == ~(size_t)0 ? len : t[i].single;
		ck_assert_msg(text_control(t[i].s, len, 0) == want,
		    "row %zu single: %zu", i, text_control(t[i].s, len, 0));
		want = t[i].multi == ~(size_t)0 ? len : t[i].multi;
		ck_assert_msg(text_control(t[i].s, len, 1) == want,
		    "row %zu multi: %zu", i, text_control(t[i].s, len, 1));
	}
	/* A NUL inside the length is a control too. */
	ck_assert_uint_eq(text_control("a\0b", 3, 1), 1);
}
END_TEST

START_TEST(test_text_index)
{
	static const char *const sev[] = { "critical", "high", "low" };

	ck_assert_int_eq(text_index("critical", sev, 3), 0);
	ck_assert_int_eq(text_index("low", sev, 3), 2);
	ck_assert_int_eq(text_index("medium", sev, 3), -1);
	ck_assert_int_eq(text_index("High", sev, 3), -1);
	ck_assert_int_eq(text_index("", sev, 3), -1);
	ck_assert_int_eq(text_index(NULL, sev, 3), -1);
	ck_assert_int_eq(text_index("low", sev, 2), -1);
}
END_TEST

START_TEST(test_text_escape)
{
	static const struct {
		const char	*in, *out;
	} t[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac" },
		{ "a\tb\nc", "a\\x09b\\x0ac" },
		{ "\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m" },
		{ "bell\x07\x7f", "bell\\x07\\x7f" },
		{ "csi \xc2\x9b" "2J", "csi \\xc2\\x9b2J" },
		{ "back\\slash", "back\\\\slash" },
		{ "\\x1b", "\\\\x1b" },		/* cannot pass for an escape */
		{ "bad \xff\xc3", "bad \\xff\\xc3" },
		{ "row\nkey_FORGED\tvgl_x", "row\\x0akey_FORGED\\x09vgl_x" },
		/* a right-to-left override makes "txt.exe" read "exe.txt" */
		{ "a\xe2\x80\xae" "txt.exe", "a\\xe2\\x80\\xaetxt.exe" },
		{ "zero\xe2\x80\x8bwidth", "zero\\xe2\\x80\\x8bwidth" },
		{ "iso\xe2\x81\xa6" "x\xe2\x81\xa9",
		    "iso\\xe2\\x81\\xa6x\\xe2\\x81\\xa9" },
		{ "line\xe2\x80\xa8sep", "line\\xe2\\x80\\xa8sep" },
		{ "\xef\xbb\xbf" "bom", "\\xef\\xbb\\xbf" "bom" },
		/* neighbours that are visible stay */
		{ "\xe2\x80\x94" "dash \xe2\x80\xb0",
		    "\xe2\x80\x94" "dash \xe2\x80\xb0" },
	};
	size_t i;
	char *e;

	for (i = 0; i < NELEM(t); i++) {
		e = text_escape(t[i].in);
		ck_assert_ptr_nonnull(e);
		ck_assert_msg(strcmp(e, t[i].out) == 0, "row %zu: %s", i, e);
		ck_assert_uint_eq(text_control(e, strlen(e), 0), strlen(e));
		free(e);
	}
}
END_TEST

Suite *
text_suite(void)
{
	Suite	*s = suite_create("text");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_text_control);
	tcase_add_test(tc, test_text_escape);
	tcase_add_test(tc, test_text_index);
	suite_add_tcase(s, tc);
	return s;
}
