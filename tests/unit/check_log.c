/* check_log.c: the access-line formatter and file logging. */
#include "vigil.h"

#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "suites.h"

START_TEST(test_log_format_request)
{
	static const struct {
		const char	*id, *addr, *key, *tenant, *method, *path;
		int		 status;
		size_t		 bytes;
		long long	 us;
		const char	*want;
	} t[] = {
		{ "req_01ARYZ6S410000000000000000", "192.0.2.7", "vgl_AbCd1234",
		    "tnt_X", "GET", "/api/v1/api-keys", 200, 512, 1234,
		    "req=req_01ARYZ6S410000000000000000 addr=192.0.2.7 "
		    "key=vgl_AbCd1234 tenant=tnt_X "
		    "method=GET path=/api/v1/api-keys status=200 bytes=512 "
		    "us=1234" },
		{ "r", "2001:db8::1", "", "", "GET", "/healthz", 503, 0, 0,
		    "req=r addr=2001:db8::1 key=- tenant=- method=GET "
		    "path=/healthz status=503 bytes=0 us=0" },
		{ "r", NULL, NULL, NULL, "POST", "/a b\r\nreq=forged", 404,
		    1, 2, "req=r addr=- key=- tenant=- method=POST "
		    "path=/a%20b%0D%0Areq=forged status=404 bytes=1 us=2" },
		{ "r", "1.2.3.4 key=forged", "k\n", "t \"q\"\\", "GET",
		    "/\x7f\x01\xc3\xa9", 400, 3, 4,
		    "req=r addr=1.2.3.4%20key=forged key=k%0A "
		    "tenant=t%20%22q%22%5C method=GET "
		    "path=/%7F%01%C3%A9 status=400 bytes=3 us=4" },
		{ "r", "a", "k", "t", "GET", "/a%2Fb?x=1", 200, 5, 6,
		    "req=r addr=a key=k tenant=t method=GET path=/a%2Fb?x=1 "
		    "status=200 bytes=5 us=6" },
		{ "r", "a", "k", "t", "GET", "", 200, 5, 6,
		    "req=r addr=a key=k tenant=t method=GET path=- status=200 "
		    "bytes=5 us=6" },
	};
	char	 out[256];
	size_t	 i;

	for (i = 0; i < NELEM(t); i++) {
		ck_assert_ptr_eq(log_format_request(out, sizeof(out), t[i].id,
		    t[i].addr, t[i].key, t[i].tenant, t[i].method, t[i].path,
		    t[i].status, t[i].bytes, t[i].us), out);
		ck_assert_str_eq(out, t[i].want);
	}
}
END_TEST

START_TEST(test_log_format_truncates)
{
	char	 out[16];
	size_t	 n;

	/* Never overruns, never ends in half an escape. */
	for (n = 1; n <= sizeof(out); n++) {
		memset(out, 'Z', sizeof(out));
		log_format_request(out, n, "r", "a", "k", "t", "GET", "/  ",
		    200, 0, 0);
		ck_assert_uint_lt(strlen(out), n);
		ck_assert_ptr_null(memchr(out, 'Z', strlen(out)));
		if (strlen(out) > 0 && strrchr(out, '%') != NULL)
			ck_assert_uint_ge(strlen(strrchr(out, '%')), 3);
	}
}
END_TEST

/* Read the whole of a small file into a static buffer. */
static const char *
slurp(const char *path)
{
	static char	 text[8192];
	FILE		*f;
	size_t		 n;

	if ((f = fopen(path, "r")) == NULL)
		return "";
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

START_TEST(test_log_file)
{
	char		 dir[] = "/tmp/check_log.XXXXXX", path[256], old[256];
	char		 pat[512];
	const char	*text;
	regex_t		 re;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/api.log", dir);
	snprintf(old, sizeof(old), "%s/api.log.1", dir);

	unsetenv("VIGIL_DEBUG");
	ck_assert_int_eq(log_open("vigil-api", path), 0);
	log_info("hello %d", 42);
	log_err("bad\nline");
	log_debug("hidden");
	log_request("req_1", "127.0.0.1", "vgl_abcdefgh", "", "GET", "/x y",
	    200, 10, 20);

	text = slurp(path);
	snprintf(pat, sizeof(pat),
	    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z "
	    "vigil-api\\[%ld\\]: INFO hello 42\n"
	    "[^ ]+ vigil-api\\[%ld\\]: ERR bad\\?line\n"
	    "[^ ]+ vigil-api\\[%ld\\]: INFO req=req_1 addr=127.0.0.1 "
	    "key=vgl_abcdefgh tenant=- method=GET path=/x%%20y status=200 "
	    "bytes=10 us=20\n$",
	    (long)getpid(), (long)getpid(), (long)getpid());
	ck_assert_int_eq(regcomp(&re, pat, REG_EXTENDED), 0);
	ck_assert_msg(regexec(&re, text, 0, NULL, 0) == 0, "got: %s", text);
	regfree(&re);

	/* A forked child's lines name the child (the pid is kept per
	 * process). */
	{
		char	 want[64];
		pid_t	 pid;
		int	 status;

		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			log_info("from the child");
			_exit(0);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		snprintf(want, sizeof(want), "vigil-api[%ld]: INFO from the "
		    "child\n", (long)pid);
		ck_assert_msg(strstr(slurp(path), want) != NULL, "got: %s",
		    slurp(path));
		log_info("from the parent");
		snprintf(want, sizeof(want), "vigil-api[%ld]: INFO from the "
		    "parent\n", (long)getpid());
		ck_assert_ptr_nonnull(strstr(slurp(path), want));
	}

	/* logrotate moves the file; SIGHUP makes us reopen the path. */
	ck_assert_int_eq(rename(path, old), 0);
	log_reopen();
	log_warn("after rotate");
	ck_assert_ptr_null(strstr(slurp(old), "after rotate"));
	ck_assert_ptr_nonnull(strstr(slurp(path), "WARN after rotate\n"));

	setenv("VIGIL_DEBUG", "1", 1);
	ck_assert_int_eq(log_open("vigil-api", path), 0);
	log_debug("now shown");
	unsetenv("VIGIL_DEBUG");
	ck_assert_ptr_nonnull(strstr(slurp(path), "DEBUG now shown\n"));

	ck_assert_int_eq(log_open("vigil-api", "stderr"), 0);
	ck_assert_int_eq(log_open("vigil-api", "/nonexistent/dir/x.log"), -1);
	unlink(path);
	unlink(old);
	rmdir(dir);
}
END_TEST

Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_log_format_request);
	tcase_add_test(tc, test_log_format_truncates);
	tcase_add_test(tc, test_log_file);
	suite_add_tcase(s, tc);
	return s;
}
