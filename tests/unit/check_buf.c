/* check_buf.c: capped growable buffers. */
#include "vigil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "suites.h"

#define S70 "0123456789012345678901234567890123456789" \
	    "012345678901234567890123456789"

START_TEST(test_buf_append_cap)
{
	static const struct {
		size_t		 cap;
		const char	*parts[4];
		const char	*want;
		int		 fails;	/* the append that must fail, or -1 */
	} t[] = {
		{ 10, { "abc", "def", NULL }, "abcdef", -1 },
		{ 6, { "abc", "def", NULL }, "abcdef", -1 },
		{ 5, { "abc", "def", "x", NULL }, "abcx", 1 },
		{ 0, { "", "a", NULL }, "", 1 },
		{ 3, { "abcd", "abc", "", NULL }, "abc", 0 },
		/* several reallocations */
		{ 200, { S70, S70, NULL }, S70 S70, -1 },
		{ 139, { S70, S70, NULL }, S70, 1 },
	};
	struct buf	 b;
	size_t		 i, j;
	int		 rc;

	for (i = 0; i < NELEM(t); i++) {
		buf_init(&b, t[i].cap);
		for (j = 0; t[i].parts[j] != NULL; j++) {
			rc = buf_puts(&b, t[i].parts[j]);
			ck_assert_int_eq(rc, (int)j == t[i].fails ? -1 : 0);
		}
		ck_assert_uint_le(b.len, t[i].cap);
		ck_assert_uint_eq(b.len, strlen(t[i].want));
		if (b.data != NULL) {
			ck_assert_str_eq(b.data, t[i].want);
			ck_assert_uint_gt(b.alloc, b.len);
		} else
			ck_assert_str_eq("", t[i].want);
		buf_free(&b);
		ck_assert_ptr_null(b.data);
	}
}
END_TEST

START_TEST(test_buf_binary)
{
	struct buf	 b;
	char		*p;
	size_t		 len;

	buf_init(&b, 16);
	ck_assert_int_eq(buf_append(&b, "a\0b", 3), 0);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "a\0b", 4), 0);
	p = buf_detach(&b, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(p, "a\0b", 4), 0);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	free(p);
	/* The buffer is usable again after detach. */
	ck_assert_int_eq(buf_puts(&b, "xyz"), 0);
	ck_assert_str_eq(b.data, "xyz");
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_printf)
{
	static const struct {
		size_t		 cap;
		int		 n;
		const char	*s;
		int		 rc;
		const char	*want;
	} t[] = {
		{ 64, 42, "x", 0, "pre:42-x" },
		{ 8, 42, "x", 0, "pre:42-x" },
		{ 7, 42, "x", -1, "pre:" },
		{ 64, -1, "", 0, "pre:-1-" },
	};
	struct buf	 b;
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		buf_init(&b, t[i].cap);
		ck_assert_int_eq(buf_puts(&b, "pre:"), 0);
		ck_assert_int_eq(buf_printf(&b, "%d-%s", t[i].n, t[i].s),
		    t[i].rc);
		ck_assert_str_eq(b.data, t[i].want);
		ck_assert_uint_eq(b.len, strlen(t[i].want));
		buf_free(&b);
	}
}
END_TEST

START_TEST(test_buf_reset_detach_empty)
{
	struct buf	 b;
	char		*p;
	size_t		 len = 99;

	buf_init(&b, 8);
	p = buf_detach(&b, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(len, 0);
	free(p);

	ck_assert_int_eq(buf_puts(&b, "12345678"), 0);
	ck_assert_int_eq(buf_puts(&b, "9"), -1);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(buf_puts(&b, "abcdefgh"), 0);
	ck_assert_str_eq(b.data, "abcdefgh");
	buf_free(&b);
}
END_TEST

Suite *
buf_suite(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_buf_append_cap);
	tcase_add_test(tc, test_buf_binary);
	tcase_add_test(tc, test_buf_printf);
	tcase_add_test(tc, test_buf_reset_detach_empty);
	suite_add_tcase(s, tc);
	return s;
}
