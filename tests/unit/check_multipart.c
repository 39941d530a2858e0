/* check_multipart.c: the streaming multipart/form-data reader: what a
 * body yields, the same in whatever pieces it is fed, and the bodies it
 * refuses. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "bodyhash.h"
#include "crypto.h"
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

/* The hash of body under content type ct, fed step bytes at a time: 0
 * and hex, or body_hash_end_hex's 1. */
static int
hash_of(const char *ct, const char *body, size_t len, size_t step,
    char hex[CRYPTO_SHA256_HEX])
{
	struct body_hash *h;
	size_t i, n;
	int rc;

	ck_assert_ptr_nonnull(h = body_hash_begin(ct));
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		body_hash_update(h, body + i, n);
	}
	rc = body_hash_end_hex(h, hex);
	body_hash_free(h);
	return rc;
}

#define FORM_CT(b) "multipart/form-data; boundary=" b
#define CD "Content-Disposition: form-data; "
/* A boundary as curl makes one. */
#define CURL_BND "------------------------d74496d66958873e"

START_TEST(test_bodyhash_form)
{
	/* One form, framed by two clients: another boundary (of another
	 * length), a preamble, an epilogue. */
	static const char a[] = "--short\r\n" CD "name=\"file\"; "
	    "filename=\"r.json\"\r\nContent-Type: application/json\r\n\r\n"
	    "[1,2]\r\n--short\r\n" CD "name=note\r\n\r\nhi\r\n--short--\r\n";
	static const char b[] = "preamble\r\n--" CURL_BND "\r\n" CD
	    "name=\"file\"; filename=\"r.json\"\r\nContent-Type: "
	    "application/json\r\n\r\n[1,2]\r\n--" CURL_BND "\r\n" CD
	    "name=\"note\"\r\n\r\nhi\r\n--" CURL_BND "--\r\nepilogue";
	char ha[CRYPTO_SHA256_HEX], hb[CRYPTO_SHA256_HEX],
	    hc[CRYPTO_SHA256_HEX];
	size_t step;

	ck_assert_int_eq(hash_of(FORM_CT("short"), a, sizeof(a) - 1, 4096,
	    ha), 0);
	for (step = 1; step <= 7; step++) {
		ck_assert_int_eq(hash_of(FORM_CT(CURL_BND), b, sizeof(b) - 1,
		    step, hb), 0);
		ck_assert_str_eq(ha, hb);
		ck_assert_int_eq(hash_of(FORM_CT("\"short\""), a,
		    sizeof(a) - 1, step, hc), 0);
		ck_assert_str_eq(ha, hc);
	}
	/* Not the bytes' hash. */
	crypto_sha256_hex(a, sizeof(a) - 1, hb);
	ck_assert_str_ne(ha, hb);
}
END_TEST

START_TEST(test_bodyhash_form_differs)
{
	/* Each differs from the first in one thing a form says. */
	static const char *const forms[] = {
	    "--b\r\n" CD "name=file; filename=r\r\n\r\nabc\r\n--b--",
	    "--b\r\n" CD "name=file; filename=r\r\n\r\nabd\r\n--b--",
	    "--b\r\n" CD "name=file; filename=s\r\n\r\nabc\r\n--b--",
	    "--b\r\n" CD "name=file; filename=\"\"\r\n\r\nabc\r\n--b--",
	    "--b\r\n" CD "name=file\r\n\r\nabc\r\n--b--",
	    "--b\r\n" CD "name=filf; filename=r\r\n\r\nabc\r\n--b--",
	    "--b\r\n" CD "name=file; filename=r\r\nContent-Type: a/b\r\n"
		"\r\nabc\r\n--b--",
	    "--b\r\n" CD "name=file; filename=r\r\n\r\nab\r\n--b\r\n" CD
		"name=file; filename=r\r\n\r\nc\r\n--b--",
	    "--b\r\n" CD "name=file; filename=r\r\n\r\nabc\r\n--b\r\n" CD
		"name=file; filename=r\r\n\r\n\r\n--b--",
	};
	char hex[sizeof(forms) / sizeof(forms[0])][CRYPTO_SHA256_HEX];
	size_t i, j;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		ck_assert_int_eq(hash_of(FORM_CT("b"), forms[i],
		    strlen(forms[i]), 3, hex[i]), 0);
		for (j = 0; j < i; j++)
			ck_assert_msg(strcmp(hex[i], hex[j]) != 0,
			    "forms %zu and %zu hash alike", j, i);
	}
}
END_TEST

START_TEST(test_bodyhash_bytes_and_broken)
{
	static const char raw[] = "--b\r\n" CD "name=f\r\n\r\nx\r\n--b--";
	char hex[CRYPTO_SHA256_HEX], want[CRYPTO_SHA256_HEX];

	/* Not a form: the bytes, whatever they look like. */
	crypto_sha256_hex(raw, sizeof(raw) - 1, want);
	ck_assert_int_eq(hash_of("application/json", raw, sizeof(raw) - 1,
	    5, hex), 0);
	ck_assert_str_eq(hex, want);
	ck_assert_int_eq(hash_of(NULL, raw, sizeof(raw) - 1, 64, hex), 0);
	ck_assert_str_eq(hex, want);
	/* A form with a bad boundary parameter is no form either. */
	ck_assert_int_eq(hash_of("multipart/form-data", raw, sizeof(raw) - 1,
	    64, hex), 0);
	ck_assert_str_eq(hex, want);
	/* A form cut short, or malformed, has no hash. */
	ck_assert_int_eq(hash_of(FORM_CT("b"), raw, sizeof(raw) - 3, 2, hex),
	    1);
	ck_assert_int_eq(hash_of(FORM_CT("b"), "junk\r\n--c--", 11, 64, hex),
	    1);
	ck_assert_int_eq(hash_of(FORM_CT("b"), "", 0, 64, hex), 1);
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
	tc = tcase_create("bodyhash");
	tcase_add_test(tc, test_bodyhash_form);
	tcase_add_test(tc, test_bodyhash_form_differs);
	tcase_add_test(tc, test_bodyhash_bytes_and_broken);
	suite_add_tcase(s, tc);
	return s;
}
