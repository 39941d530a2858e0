/* check_multipart.c: the streaming multipart/form-data reader: what a
 * body yields, the same in whatever pieces it is fed, and the bodies it
 * refuses. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "multipart.h"
#include "suites.h"

/* Everything the callback saw, as text: P<name|filename|ctype> for a
 * part (filename "-" when absent), the data as is, E at a part's end, $
 * at the closing delimiter. */
struct seen {
	char	 log[4096];
	size_t	 len;
	const struct multipart *m;
};

static void
add(struct seen *s, const char *p, size_t n)
{
	ck_assert_uint_lt(s->len + n, sizeof(s->log));
	memcpy(s->log + s->len, p, n);
	s->len += n;
	s->log[s->len] = '\0';
}

static int
on_event(void *arg, enum multipart_event ev, const char *data, size_t len)
{
	struct seen *s = arg;
	char head[3200];

	switch (ev) {
	case MULTIPART_PART:
		snprintf(head, sizeof(head), "P<%s|%s|%s>", s->m->part.name,
		    s->m->part.has_filename ? s->m->part.filename : "-",
		    s->m->part.ctype);
		add(s, head, strlen(head));
		break;
	case MULTIPART_DATA:
		ck_assert_uint_gt(len, 0);
		add(s, data, len);
		break;
	case MULTIPART_PART_END:
		add(s, "E", 1);
		break;
	case MULTIPART_DONE:
		add(s, "$", 1);
		break;
	}
	return 0;
}

/* Feed body in pieces of step bytes (0: whole); the feed's result, or
 * the finish's when the feed went through. */
static int
run(const char *boundary, const char *body, size_t blen, size_t step,
    struct seen *s)
{
	struct multipart m;
	size_t off, n;
	int rc;

	memset(s, 0, sizeof(*s));
	s->m = &m;
	multipart_init(&m, boundary);
	if (step == 0)
		step = blen ? blen : 1;
	for (off = 0; off < blen; off += n) {
		n = blen - off < step ? blen - off : step;
		if ((rc = multipart_feed(&m, body + off, n, on_event, s)) != 0)
			return rc;
	}
	return multipart_finish(&m);
}

/* The body read whole and in every piece size up to 17 gives want. */
static void
expect(const char *body, int rc_want, const char *want)
{
	struct seen s;
	size_t step;
	int rc;

	for (step = 0; step <= 17; step++) {
		rc = run("XyZ", body, strlen(body), step, &s);
		ck_assert_msg(rc == rc_want, "step %zu: rc %d, not %d for %s",
		    step, rc, rc_want, body);
		if (want != NULL)
			ck_assert_msg(strcmp(s.log, want) == 0,
			    "step %zu: %s, not %s", step, s.log, want);
	}
}

START_TEST(test_multipart_boundary)
{
	static const char *const bad[] = {
		"multipart/form-data",
		"multipart/form-data; boundary=",
		"multipart/form-data; boundary=\"\"",
		"multipart/form-data; boundary=\"a \"",
		"multipart/form-data; boundary=a; boundary=b",
		"multipart/form-data; boundary=a{b",
		"multipart/form-data; boundary=\"a\x01\"",
		"multipart/form-data; boundary=\"unterminated",
		"multipart/form-data; =x",
		"multipart/form-data boundary=x",
		"multipart/form-data; boundary="
		    "12345678901234567890123456789012345678901234567890"
		    "123456789012345678901",
	};
	char out[MULTIPART_BOUNDARY_MAX + 1];
	size_t i;

	ck_assert_int_eq(multipart_boundary(NULL, out, sizeof(out)), 0);
	ck_assert_int_eq(multipart_boundary("application/json", out,
	    sizeof(out)), 0);
	ck_assert_int_eq(multipart_boundary("multipart/form-dataX; "
	    "boundary=a", out, sizeof(out)), 0);
	ck_assert_int_eq(multipart_boundary("multipart/mixed; boundary=a",
	    out, sizeof(out)), 0);
	ck_assert_int_eq(multipart_boundary("multipart/form-data; "
	    "boundary=------------------------d74496d66958873e", out,
	    sizeof(out)), 1);
	ck_assert_str_eq(out, "------------------------d74496d66958873e");
	ck_assert_int_eq(multipart_boundary("Multipart/Form-Data;charset=x;"
	    "BOUNDARY=\"a b:c?\"", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "a b:c?");
	ck_assert_int_eq(multipart_boundary("multipart/form-data; boundary="
	    "----WebKitFormBoundary7MA4YWxkTrZu0gW", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "----WebKitFormBoundary7MA4YWxkTrZu0gW");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(multipart_boundary(bad[i], out, sizeof(out)) ==
		    -1, "%s", bad[i]);
}
END_TEST

START_TEST(test_multipart_parts)
{
	/* One file part, as curl -F sends it. */
	expect("--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"file\"; "
	    "filename=\"a.txt\"\r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "hello\r\nworld\r\n--XyZ--\r\n", 0,
	    "P<file|a.txt|text/plain>hello\r\nworldE$");
	/* Empty content, no Content-Type, a preamble and an epilogue. */
	expect("preamble\r\n--XyZ\r\n"
	    "content-disposition: form-data; name=f; filename=\"\"\r\n\r\n"
	    "\r\n--XyZ--epilogue --XyZ\r\nanything", 0, "P<f||>E$");
	/* A field part and a file part; padding after a delimiter. */
	expect("--XyZ  \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
	    "1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"; "
	    "filename=\"q\\\"uote\\\\d\"\r\n\r\n2\r\n--XyZ--", 0,
	    "P<a|-|>1EP<b|q\"uote\\d|>2E$");
	/* Content that almost holds the delimiter. */
	expect("--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n"
	    "\r\r\n\r\n-\r\n--\r\n--X\r\n--Xy\r\r\n--XyZ--", 0,
	    "P<f|-|>\r\r\n\r\n-\r\n--\r\n--X\r\n--Xy\rE$");
	/* "--XyZZ": a delimiter followed by neither CRLF nor "--". */
	expect("--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n"
	    "a\r\n--XyZZ\r\n--XyZ--", MULTIPART_ERR_SYNTAX, NULL);
}
END_TEST

START_TEST(test_multipart_refused)
{
	static const char *const headers[] = {
		/* no Content-Disposition */
		"Content-Type: text/plain\r\n\r\n",
		/* twice */
		"Content-Disposition: form-data; name=a\r\n"
		    "Content-Disposition: form-data; name=b\r\n\r\n",
		"Content-Type: a/b\r\nContent-Type: a/b\r\n"
		    "Content-Disposition: form-data; name=a\r\n\r\n",
		/* not form-data, no name, a parameter twice, bad syntax */
		"Content-Disposition: attachment; name=a\r\n\r\n",
		"Content-Disposition: form-data\r\n\r\n",
		"Content-Disposition: form-data; filename=x\r\n\r\n",
		"Content-Disposition: form-data; name=a; name=b\r\n\r\n",
		"Content-Disposition: form-data; name=\"\"\r\n\r\n",
		"Content-Disposition: form-data; name=a; filename=x; "
		    "filename=y\r\n\r\n",
		"Content-Disposition: form-data; name=\"a\r\n\r\n",
		"Content-Disposition: form-data; name=a b\r\n\r\n",
		"Content-Disposition: form-data; name=a;\r\n\r\n",
		"Content-Disposition: form-data; name=a/b\r\n\r\n",
		/* a folded line, a bare LF, a NUL, no colon, a bad name */
		"Content-Disposition: form-data;\r\n name=a\r\n\r\n",
		"Content-Disposition: form-data; name=a\n\r\n",
		"Content-Disposition: form-data; name=a\r\nX\r\n\r\n",
		"Content-Disposition: form-data; name=a\r\nX Y: 1\r\n\r\n",
		"Content-Disposition: form-data; name=a\r\n: 1\r\n\r\n",
		"Content-Disposition: form-data; name=a\r\r\n\r\n",
	};
	static const char nul[] = "--XyZ\r\nContent-Disposition: form-data; "
	    "name=a\r\nX: \0\r\n\r\n1\r\n--XyZ--";
	char body[8192], line[1100];
	struct seen s;
	size_t i;

	ck_assert_int_eq(run("XyZ", nul, sizeof(nul) - 1, 0, &s),
	    MULTIPART_ERR_HEADER);

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		snprintf(body, sizeof(body), "--XyZ\r\n%s1\r\n--XyZ--",
		    headers[i]);
		expect(body, MULTIPART_ERR_HEADER, NULL);
	}
	/* A header line longer than MULTIPART_LINE_MAX. */
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	snprintf(body, sizeof(body), "--XyZ\r\nContent-Disposition: form-data; "
	    "name=a; filename=\"%s\"\r\n\r\n1\r\n--XyZ--", line);
	expect(body, MULTIPART_ERR_HEADER, NULL);
	/* Too many header lines. */
	snprintf(body, sizeof(body), "--XyZ\r\nContent-Disposition: form-data; "
	    "name=a\r\n");
	for (i = 0; i < MULTIPART_HEADERS_MAX; i++)
		strncat(body, "X: 1\r\n", sizeof(body) - strlen(body) - 1);
	strncat(body, "\r\n1\r\n--XyZ--", sizeof(body) - strlen(body) - 1);
	expect(body, MULTIPART_ERR_HEADER, NULL);
	/* Framing: no CRLF after the first delimiter; cut off anywhere. */
	expect("--XyZx\r\n", MULTIPART_ERR_SYNTAX, NULL);
	expect("--XyZ-x", MULTIPART_ERR_SYNTAX, NULL);
	expect("--XyZ\rx", MULTIPART_ERR_SYNTAX, NULL);
	expect("", MULTIPART_ERR_TRUNCATED, "");
	expect("no delimiter at all", MULTIPART_ERR_TRUNCATED, "");
	expect("--XyZ\r\nContent-Disposition: form-data; name=f\r\n\r\nabc",
	    MULTIPART_ERR_TRUNCATED, "P<f|-|>abc");
	expect("--XyZ\r\nContent-Disposition: form-data; name=f\r\n\r\n"
	    "abc\r\n--XyZ", MULTIPART_ERR_TRUNCATED, "P<f|-|>abcE");
	expect("--XyZ\r\nContent-Disposition: form-data; name=f\r\n\r\n"
	    "abc\r\n--XyZ-", MULTIPART_ERR_TRUNCATED, "P<f|-|>abcE");
	expect("--XyZ\r\nContent-Disposition: form-data; na",
	    MULTIPART_ERR_TRUNCATED, "");
}
END_TEST

/* A callback's refusal stops the feed and comes back from it. */
static int
refuse_data(void *arg, enum multipart_event ev, const char *data, size_t len)
{
	(void)arg;
	(void)data;
	(void)len;
	return ev == MULTIPART_DATA ? 42 : 0;
}

START_TEST(test_multipart_stop)
{
	static const char body[] = "--XyZ\r\nContent-Disposition: form-data; "
	    "name=f\r\n\r\nabc\r\n--XyZ--";
	struct multipart m;

	multipart_init(&m, "XyZ");
	ck_assert_int_eq(multipart_feed(&m, body, sizeof(body) - 1,
	    refuse_data, NULL), 42);
}
END_TEST

Suite *
multipart_suite(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_multipart_boundary);
	tcase_add_test(tc, test_multipart_parts);
	tcase_add_test(tc, test_multipart_refused);
	tcase_add_test(tc, test_multipart_stop);
	suite_add_tcase(s, tc);
	return s;
}
