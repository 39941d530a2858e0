/* check_conf.c: vigil.conf(5) parsing, defaults and file selection. */
#include "vigil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "suites.h"

START_TEST(test_conf_defaults)
{
	struct conf	 c;

	memset(&c, 0xff, sizeof(c));
	conf_defaults(&c);
	ck_assert_str_eq(c.db_host, "127.0.0.1");
	ck_assert_uint_eq(c.db_port, 3306);
	ck_assert_str_eq(c.db_socket, "");
	ck_assert_str_eq(c.db_user, "vigil");
	ck_assert_str_eq(c.db_password, "");
	ck_assert_str_eq(c.db_name, "vigil");
	ck_assert_str_eq(c.listen, "127.0.0.1:9000");
	ck_assert_int_eq(c.workers, 4);
	ck_assert_int_eq(c.max_requests, 0);
	ck_assert_int_eq(c.request_timeout_ms, 10000);
	ck_assert_str_eq(c.log, "stderr");
	ck_assert_int_eq(c.rate_read_per_min, 120);
	ck_assert_int_eq(c.rate_write_per_min, 30);
	ck_assert_int_eq(c.allow_private_targets, 0);
	ck_assert_int_eq(c.allow_http_webhooks, 0);
	ck_assert_str_eq(c.secret_key_file, "");
	ck_assert_str_eq(c.rules_dir, PKGDATADIR "/rules");
	ck_assert_str_eq(c.openapi_file, PKGDATADIR "/openapi.json");
	ck_assert_str_eq(c.frameworks_dir, PKGDATADIR "/frameworks");
	ck_assert_int_eq(c.listen_mode, 0660);
	ck_assert_str_eq(c.listen_group, "");
	ck_assert_int_eq(c.spool_concurrency, 16);
	ck_assert_int_eq(c.spool_poll_ms, 200);
	ck_assert_int_eq(c.webhook_connect_timeout_ms, 5000);
	ck_assert_int_eq(c.webhook_timeout_ms, 15000);
	ck_assert_int_eq(c.webhook_lease, 60);
	ck_assert(c.webhook_backoff_scale == 1.0);
	ck_assert_int_eq(c.webhook_disable_after, 432000);
}
END_TEST

START_TEST(test_conf_spool_keys)
{
	struct conf	 c;
	char		 err[128];

	conf_defaults(&c);
	ck_assert_int_eq(conf_parse(&c, "webhook_backoff_scale = 0.0001\n"
	    "spool_concurrency = 4\nwebhook_lease = 3\n"
	    "webhook_timeout_ms = 2000\nwebhook_disable_after = 1\n",
	    err, sizeof(err)), 0);
	ck_assert(c.webhook_backoff_scale > 0.00009 &&
	    c.webhook_backoff_scale < 0.00011);
	ck_assert_int_eq(c.spool_concurrency, 4);
	ck_assert_int_eq(c.webhook_lease, 3);
	ck_assert_int_eq(c.webhook_timeout_ms, 2000);
	ck_assert_int_eq(c.webhook_disable_after, 1);
	ck_assert_int_eq(conf_parse(&c, "webhook_backoff_scale = 1\n"
	    "listen_mode = 640\nlisten_group = www-data\n"
	    "trusted_proxies = 10.0.0.0/8, ::1\n", err, sizeof(err)), 0);
	ck_assert_int_eq(c.listen_mode, 0640);
	ck_assert_str_eq(c.listen_group, "www-data");
	ck_assert_str_eq(c.trusted_proxies, "10.0.0.0/8, ::1");
	ck_assert(c.webhook_backoff_scale == 1.0);
}
END_TEST

START_TEST(test_conf_parse_good)
{
	static const char text[] =
	    "# Vigil\n"
	    "\n"
	    "db_host = db.example.org\n"
	    "  db_port=3307  \n"
	    "\tdb_socket =\t/run/mysqld/mysqld.sock\r\n"
	    "db_password = p=a ss#word\n"
	    "listen = /run/vigil/api.sock\n"
	    "workers = 16\n"
	    "max_requests = 1000000000\n"
	    "request_timeout_ms = 2000\n"
	    "log = syslog\n"
	    "rate_read_per_min = 1\n"
	    "rate_write_per_min = 1000000\n"
	    "allow_private_targets = yes\n"
	    "allow_http_webhooks = On\n"
	    "   # indented comment\n"
	    "db_user =\n"
	    "secret_key_file = /etc/vigil/secret.key";	/* no final newline */
	struct conf	 c;
	char		 err[128];

	conf_defaults(&c);
	ck_assert_int_eq(conf_parse(&c, text, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(c.db_host, "db.example.org");
	ck_assert_uint_eq(c.db_port, 3307);
	ck_assert_str_eq(c.db_socket, "/run/mysqld/mysqld.sock");
	ck_assert_str_eq(c.db_password, "p=a ss#word");
	ck_assert_str_eq(c.db_user, "");
	ck_assert_str_eq(c.db_name, "vigil");
	ck_assert_str_eq(c.listen, "/run/vigil/api.sock");
	ck_assert_int_eq(c.workers, 16);
	ck_assert_int_eq(c.max_requests, 1000000000);
	ck_assert_int_eq(c.request_timeout_ms, 2000);
	ck_assert_str_eq(c.log, "syslog");
	ck_assert_int_eq(c.rate_read_per_min, 1);
	ck_assert_int_eq(c.rate_write_per_min, 1000000);
	ck_assert_int_eq(c.allow_private_targets, 1);
	ck_assert_int_eq(c.allow_http_webhooks, 1);
	ck_assert_str_eq(c.secret_key_file, "/etc/vigil/secret.key");
}
END_TEST

START_TEST(test_conf_bools)
{
	static const struct {
		const char	*v;
		int		 rc, want;
	} t[] = {
		{ "true", 0, 1 }, { "yes", 0, 1 }, { "1", 0, 1 },
		{ "on", 0, 1 }, { "TRUE", 0, 1 },
		{ "false", 0, 0 }, { "no", 0, 0 }, { "0", 0, 0 },
		{ "off", 0, 0 }, { "Off", 0, 0 },
		{ "", -1, 0 }, { "2", -1, 0 }, { "y", -1, 0 },
		{ "truee", -1, 0 },
	};
	struct conf	 c;
	char		 line[64], err[128];
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		conf_defaults(&c);
		c.allow_http_webhooks = 7;
		snprintf(line, sizeof(line), "allow_http_webhooks = %s\n",
		    t[i].v);
		ck_assert_msg(conf_parse(&c, line, err, sizeof(err)) == t[i].rc,
		    "row %zu: %s", i, t[i].v);
		ck_assert_int_eq(c.allow_http_webhooks,
		    t[i].rc == 0 ? t[i].want : 7);
	}
}
END_TEST

START_TEST(test_conf_parse_bad)
{
	static const struct {
		const char	*text;
		const char	*err;
	} t[] = {
		{ "bogus = 1\n", "line 1: bogus: unknown key" },
		{ "# c\nworkers\n", "line 2: expected key = value" },
		{ "\n\n= 3\n", "line 3: missing key" },
		{ "workers = 0\n", "line 1: workers: out of range" },
		{ "workers = 257\n", "line 1: workers: out of range" },
		{ "workers = 4x\n", "line 1: workers: expected a number" },
		{ "workers =\n", "line 1: workers: expected a number" },
		{ "workers = 99999999999999999999999\n",
		    "line 1: workers: expected a number" },
		{ "db_port = 0\n", "line 1: db_port: out of range" },
		{ "db_port = 65536\n", "line 1: db_port: out of range" },
		{ "db_port = -1\n", "line 1: db_port: out of range" },
		{ "max_requests = -1\n", "line 1: max_requests: out of range" },
		{ "max_requests = 1000000001\n",
		    "line 1: max_requests: out of range" },
		{ "request_timeout_ms = 99\n",
		    "line 1: request_timeout_ms: out of range" },
		{ "request_timeout_ms = 600001\n",
		    "line 1: request_timeout_ms: out of range" },
		{ "rate_read_per_min = 0\n",
		    "line 1: rate_read_per_min: out of range" },
		{ "rate_write_per_min = 1000001\n",
		    "line 1: rate_write_per_min: out of range" },
		{ "Workers = 4\n", "line 1: Workers: unknown key" },
		{ "allow_private_targets = maybe\n",
		    "line 1: allow_private_targets: expected true or false" },
		{ "webhook_backoff_scale = 0\n",
		    "line 1: webhook_backoff_scale: out of range" },
		{ "webhook_backoff_scale = 1.5\n",
		    "line 1: webhook_backoff_scale: out of range" },
		{ "webhook_backoff_scale = -0.1\n",
		    "line 1: webhook_backoff_scale: out of range" },
		{ "webhook_backoff_scale = nan\n",
		    "line 1: webhook_backoff_scale: out of range" },
		{ "webhook_backoff_scale = 0.5x\n",
		    "line 1: webhook_backoff_scale: expected a number" },
		{ "webhook_backoff_scale =\n",
		    "line 1: webhook_backoff_scale: expected a number" },
		{ "spool_concurrency = 0\n",
		    "line 1: spool_concurrency: out of range" },
		{ "spool_concurrency = 1025\n",
		    "line 1: spool_concurrency: out of range" },
		{ "webhook_lease = 0\n", "line 1: webhook_lease: out of range" },
		{ "spool_poll_ms = 9\n", "line 1: spool_poll_ms: out of range" },
		{ "listen_mode = 0668\n",
		    "line 1: listen_mode: expected an octal mode such as 0660" },
		{ "listen_mode = 01777\n",
		    "line 1: listen_mode: expected an octal mode such as 0660" },
		{ "listen_mode =\n",
		    "line 1: listen_mode: expected an octal mode such as 0660" },
		{ "trusted_proxies = proxy.example\n",
		    "line 1: trusted_proxies: expected addresses or CIDR ranges "
		    "separated by commas (at most 32)" },
	};
	struct conf	 c;
	char		 err[128];
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		conf_defaults(&c);
		ck_assert_msg(conf_parse(&c, t[i].text, err, sizeof(err)) == -1,
		    "row %zu accepted", i);
		ck_assert_str_eq(err, t[i].err);
	}
}
END_TEST

START_TEST(test_conf_too_long)
{
	static const struct {
		const char	*key;
		size_t		 size;	/* sizeof the field */
	} t[] = {
		{ "db_host", 256 },
		{ "db_user", 128 },
		{ "db_password", 256 },
		{ "listen", 512 },
		{ "rules_dir", 512 },
	};
	struct conf	 c;
	char		 text[1024], err[128], want[128];
	size_t		 i, n;

	for (i = 0; i < NELEM(t); i++) {
		/* size - 1 characters fit, size do not. */
		n = (size_t)snprintf(text, sizeof(text), "%s = ", t[i].key);
		memset(text + n, 'a', t[i].size - 1);
		text[n + t[i].size - 1] = '\0';
		conf_defaults(&c);
		ck_assert_int_eq(conf_parse(&c, text, err, sizeof(err)), 0);
		memset(text + n, 'a', t[i].size);
		text[n + t[i].size] = '\0';
		ck_assert_int_eq(conf_parse(&c, text, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "line 1: %s: value too long",
		    t[i].key);
		ck_assert_str_eq(err, want);
	}
}
END_TEST

START_TEST(test_conf_load)
{
	char		 path[] = "/tmp/check_conf.XXXXXX", err[256];
	struct conf	 c;
	FILE		*f;
	int		 fd;

	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs("workers = 8\nlog = /var/log/vigil/api.log\n", f);
	fclose(f);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(conf_load(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(c.workers, 8);
	ck_assert_str_eq(c.log, "/var/log/vigil/api.log");
	ck_assert_str_eq(c.db_name, "vigil");	/* defaults underneath */

	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("workers = 8\nwrkers = 9\n", f);
	fclose(f);
	ck_assert_int_eq(conf_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "line 2: wrkers: unknown key"));
	ck_assert_ptr_nonnull(strstr(err, path));

	unlink(path);
	ck_assert_int_eq(conf_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

START_TEST(test_conf_path)
{
	unsetenv("VIGIL_CONF");
	ck_assert_str_eq(conf_path(NULL), SYSCONFDIR "/vigil/vigil.conf");
	ck_assert_str_eq(conf_path("/x/cli.conf"), "/x/cli.conf");
	setenv("VIGIL_CONF", "/x/env.conf", 1);
	ck_assert_str_eq(conf_path(NULL), "/x/env.conf");
	ck_assert_str_eq(conf_path("/x/cli.conf"), "/x/cli.conf");
	setenv("VIGIL_CONF", "", 1);
	ck_assert_str_eq(conf_path(NULL), SYSCONFDIR "/vigil/vigil.conf");
	unsetenv("VIGIL_CONF");
}
END_TEST


/* db_sync_wait: "auto" (the default, -1), or wsrep_sync_wait's 0-15. */
START_TEST(test_conf_db_sync_wait)
{
	static const struct {
		const char	*text;
		int		 want;
		const char	*err;
	} t[] = {
		{ "", -1, NULL },
		{ "db_sync_wait = auto\n", -1, NULL },
		{ "db_sync_wait = AUTO\n", -1, NULL },
		{ "db_sync_wait = 0\n", 0, NULL },
		{ "db_sync_wait = 1\n", 1, NULL },
		{ "db_sync_wait = 15\n", 15, NULL },
		{ "db_sync_wait = 16\n", 0, "line 1: db_sync_wait: out of range" },
		{ "db_sync_wait = -1\n", 0, "line 1: db_sync_wait: out of range" },
		{ "db_sync_wait = yes\n", 0,
		    "line 1: db_sync_wait: expected a number" },
		{ "db_sync_wait =\n", 0,
		    "line 1: db_sync_wait: expected a number" },
	};
	struct conf	 c;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		conf_defaults(&c);
		err[0] = '\0';
		if (t[i].err == NULL) {
			ck_assert_msg(conf_parse(&c, t[i].text, err,
			    sizeof(err)) == 0, "%s: %s", t[i].text, err);
			ck_assert_int_eq(c.db_sync_wait, t[i].want);
		} else {
			ck_assert_int_eq(conf_parse(&c, t[i].text, err,
			    sizeof(err)), -1);
			ck_assert_str_eq(err, t[i].err);
		}
	}
}
END_TEST

/* conf_lint: what it was told, one problem a line. */
static void
lint_collect(void *arg, const char *problem)
{
	char	*out = arg;
	size_t	 len = strlen(out);

	snprintf(out + len, 2048 - len, "%s\n", problem);
}

/* vigilctl config check reads the file with conf_lint: every mistake of
 * a file in one run, where conf_parse stops at the first. */
START_TEST(test_conf_lint_every_problem)
{
	struct conf	 c;
	char		 got[2048] = "";

	conf_defaults(&c);
	ck_assert_int_eq(conf_lint(&c, "workers = 8\n"
	    "frobnicate = 1\n"
	    "# a comment\n"
	    "rate_read_per_min = 0\n"
	    "no equals sign\n"
	    "workers = 9\n"
	    "allow_http_webhooks = perhaps\n", lint_collect, got), 5);
	ck_assert_str_eq(got,
	    "line 2: frobnicate: unknown key\n"
	    "line 4: rate_read_per_min: out of range\n"
	    "line 5: expected key = value\n"
	    "line 6: workers: set again (line 1 set it; this one wins)\n"
	    "line 7: allow_http_webhooks: expected true or false\n");
	/* the good values still land, as conf_parse would set them */
	ck_assert_int_eq(c.workers, 9);
	got[0] = '\0';
	ck_assert_int_eq(conf_lint(&c, "workers = 8\n", lint_collect, got), 0);
	ck_assert_str_eq(got, "");
}
END_TEST

Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_conf_defaults);
	tcase_add_test(tc, test_conf_spool_keys);
	tcase_add_test(tc, test_conf_parse_good);
	tcase_add_test(tc, test_conf_bools);
	tcase_add_test(tc, test_conf_parse_bad);
	tcase_add_test(tc, test_conf_db_sync_wait);
	tcase_add_test(tc, test_conf_too_long);
	tcase_add_test(tc, test_conf_load);
	tcase_add_test(tc, test_conf_path);
	tcase_add_test(tc, test_conf_lint_every_problem);
	suite_add_tcase(s, tc);
	return s;
}
