/* check_attachments.c: the pure parts of case attachments: which file
 * names are kept (and as what), declared types, the type a file is
 * served as, and the Content-Disposition it is served with. */
#include <check.h>
#include <string.h>

#include "attachments.h"
#include "suites.h"

START_TEST(test_attachments_name)
{
	static const struct {
		const char	*raw;
		enum attachments_name_err err;
		const char	*kept;
	} cases[] = {
		{ "report.pdf", ATTACHMENTS_NAME_OK, "report.pdf" },
		{ "../../etc/passwd", ATTACHMENTS_NAME_OK, "passwd" },
		{ "C:\\Users\\me\\evil.exe", ATTACHMENTS_NAME_OK, "evil.exe" },
		{ "a/b\\c", ATTACHMENTS_NAME_OK, "c" },
		{ "say \"hi\"; x=1 %41.txt", ATTACHMENTS_NAME_OK,
		    "say \"hi\"; x=1 %41.txt" },
		{ "r\xc3\xa9sum\xc3\xa9", ATTACHMENTS_NAME_OK,
		    "r\xc3\xa9sum\xc3\xa9" },
		{ ".hidden", ATTACHMENTS_NAME_OK, ".hidden" },
		{ "", ATTACHMENTS_NAME_EMPTY, NULL },
		{ "dir/", ATTACHMENTS_NAME_EMPTY, NULL },
		{ ".", ATTACHMENTS_NAME_EMPTY, NULL },
		{ "a/..", ATTACHMENTS_NAME_EMPTY, NULL },
		{ "\xff\xfe.txt", ATTACHMENTS_NAME_UTF8, NULL },
		{ "\xc0\xaf", ATTACHMENTS_NAME_UTF8, NULL },
		{ "a\r\nX-Evil: 1", ATTACHMENTS_NAME_CONTROL, NULL },
		{ "tab\there", ATTACHMENTS_NAME_CONTROL, NULL },
		{ "del\x7f", ATTACHMENTS_NAME_CONTROL, NULL },
		{ "c1\xc2\x85", ATTACHMENTS_NAME_CONTROL, NULL },
	};
	char out[ATTACHMENTS_NAME_MAX + 1], big[300];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(attachments_name(cases[i].raw,
		    strlen(cases[i].raw), out, sizeof(out)) == cases[i].err,
		    "%s", cases[i].raw);
		if (cases[i].kept != NULL)
			ck_assert_str_eq(out, cases[i].kept);
	}
	/* A NUL inside, and the length limit in bytes. */
	ck_assert_int_eq(attachments_name("a\0b", 3, out, sizeof(out)),
	    ATTACHMENTS_NAME_CONTROL);
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(attachments_name(big, 255, out, sizeof(out)),
	    ATTACHMENTS_NAME_OK);
	ck_assert_uint_eq(strlen(out), 255);
	ck_assert_int_eq(attachments_name(big, 256, out, sizeof(out)),
	    ATTACHMENTS_NAME_LONG);
	/* The limit is on what is kept, not on the path sent. */
	memcpy(big, "x/", 2);
	ck_assert_int_eq(attachments_name(big, 257, out, sizeof(out)),
	    ATTACHMENTS_NAME_OK);
}
END_TEST

START_TEST(test_attachments_type)
{
	char out[ATTACHMENTS_TYPE_MAX + 1], big[200];

	ck_assert_int_eq(attachments_type("", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "application/octet-stream");
	ck_assert_int_eq(attachments_type(" Text/Plain; charset=UTF-8", out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "text/plain");
	ck_assert_int_eq(attachments_type("application/vnd.tcpdump.pcap",
	    out, sizeof(out)), 0);
	ck_assert_str_eq(out, "application/vnd.tcpdump.pcap");
	ck_assert_int_eq(attachments_type("text", out, sizeof(out)), -1);
	ck_assert_int_eq(attachments_type("/plain", out, sizeof(out)), -1);
	ck_assert_int_eq(attachments_type("text/", out, sizeof(out)), -1);
	ck_assert_int_eq(attachments_type("a/b/c", out, sizeof(out)), -1);
	ck_assert_int_eq(attachments_type("not a type", out, sizeof(out)),
	    -1);
	ck_assert_int_eq(attachments_type("text/pl\"ain", out, sizeof(out)),
	    -1);
	memset(big, 'a', sizeof(big));
	big[1] = '/';
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(attachments_type(big, out, sizeof(out)), -1);
}
END_TEST

START_TEST(test_attachments_serve_type)
{
	ck_assert_str_eq(attachments_serve_type("text/plain"), "text/plain");
	ck_assert_str_eq(attachments_serve_type("image/png"), "image/png");
	ck_assert_str_eq(attachments_serve_type("text/html"),
	    "application/octet-stream");
	ck_assert_str_eq(attachments_serve_type("image/svg+xml"),
	    "application/octet-stream");
	ck_assert_str_eq(attachments_serve_type("application/javascript"),
	    "application/octet-stream");
	ck_assert_str_eq(attachments_serve_type("application/octet-stream"),
	    "application/octet-stream");
}
END_TEST

START_TEST(test_attachments_disposition)
{
	char out[ATTACHMENTS_DISPOSITION_LEN], name[256];

	attachments_disposition("report.pdf", out, sizeof(out));
	ck_assert_str_eq(out, "attachment; filename=\"report.pdf\"; "
	    "filename*=UTF-8''report.pdf");
	attachments_disposition("say \"hi\"\\ 100%.txt", out, sizeof(out));
	ck_assert_str_eq(out, "attachment; filename=\"say _hi__ 100_.txt\"; "
	    "filename*=UTF-8''say%20%22hi%22%5C%20100%25.txt");
	attachments_disposition("r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac;x=1", out,
	    sizeof(out));
	ck_assert_str_eq(out, "attachment; filename=\"r_sum_ _;x=1\"; "
	    "filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC%3Bx%3D1");
	/* The longest name, every byte escaped, fits. */
	memset(name, 0xe2, 255);
	name[255] = '\0';
	attachments_disposition(name, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), strlen("attachment; filename=\"\"; "
	    "filename*=UTF-8''") + 255 + 255 * 3);
	ck_assert_ptr_null(strpbrk(out, "\r\n"));
}
END_TEST

Suite *
attachments_suite(void)
{
	Suite *s = suite_create("attachments");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_attachments_name);
	tcase_add_test(tc, test_attachments_type);
	tcase_add_test(tc, test_attachments_serve_type);
	tcase_add_test(tc, test_attachments_disposition);
	suite_add_tcase(s, tc);
	return s;
}
