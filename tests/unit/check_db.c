/* check_db.c: what a server error number means to a caller (the DB_*
 * code, and so the HTTP status api_db_error answers). */
#include "vigil.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "db.h"
#include "migrate.h"
#include "suites.h"

START_TEST(test_db_error_code)
{
	static const struct {
		unsigned int	 e;
		int		 want;
	} t[] = {
		{ 0, 0 },
		{ ER_DUP_ENTRY, DB_DUP },
		/* Deadlock, and Galera's certification failure (1213 too):
		 * the transaction was rolled back and may run again. */
		{ ER_LOCK_DEADLOCK, DB_RETRY },
		{ ER_LOCK_WAIT_TIMEOUT, DB_RETRY },
		/* The connection is gone. */
		{ CR_SERVER_GONE_ERROR, DB_DOWN },
		{ CR_SERVER_LOST, DB_DOWN },
		{ ER_CONNECTION_KILLED, DB_DOWN },
		{ ER_SERVER_SHUTDOWN, DB_DOWN },
		/* A Galera node not ready: "WSREP has not yet prepared node
		 * for application use". Was DB_ERR, answered 500. */
		{ 1047, DB_DOWN },
		/* read_only, and a read-only transaction mode: a demoted
		 * primary or a replica cannot take writes now. */
		{ 1290, DB_DOWN },
		{ 1836, DB_DOWN },
		/* A statement the server stopped (KILL QUERY, a shutdown),
		 * and a commit a Galera node out of the primary component
		 * could not make: 503, as for the node itself. */
		{ ER_QUERY_INTERRUPTED, DB_DOWN },
		{ ER_ERROR_DURING_COMMIT, DB_DOWN },
		/* Anything else is a bug or a schema problem: 500. */
		{ ER_PARSE_ERROR, DB_ERR },
		{ ER_NO_SUCH_TABLE, DB_ERR },
		{ ER_BAD_FIELD_ERROR, DB_ERR },
		{ ER_DATA_TOO_LONG, DB_ERR },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(db_error_code(t[i].e) == t[i].want,
		    "error %u: %d, want %d", t[i].e, db_error_code(t[i].e),
		    t[i].want);
}
END_TEST


/* What vigilctl migrate and db check say of a server, and what they
 * refuse: on a Galera node, binlog_format other than ROW and
 * innodb_autoinc_lock_mode other than 2; with a binary log, STATEMENT. */
START_TEST(test_migrate_judge)
{
	struct migrate_server g = {
		.version = "MariaDB 10.11.6", .galera = 1,
		.binlog_format = "ROW", .log_bin = 0, .autoinc_lock_mode = 2,
		.trust_creators = 1, .sync_wait = 1, .conf_sync_wait = -1,
		.cluster_size = "3", .cluster_status = "Primary",
		.local_state = "Synced",
	}, one = g, s;
	char out[2048];

	ck_assert_int_eq(migrate_judge(&g, out, sizeof(out)), 0);
	ck_assert_str_eq(out,
	    "server: MariaDB 10.11.6, a Galera node (wsrep_on ON; cluster "
	    "size 3, Primary, Synced)\n"
	    "binlog_format: ROW (ok)\n"
	    "innodb_autoinc_lock_mode: 2 (ok)\n"
	    "wsrep_sync_wait: 1 on this connection (vigil.conf db_sync_wait "
	    "= auto)\n");

	s = g;
	snprintf(s.binlog_format, sizeof(s.binlog_format), "MIXED");
	s.autoinc_lock_mode = 1;
	ck_assert_int_eq(migrate_judge(&s, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, "refused: binlog_format is MIXED "
	    "on a Galera node"));
	ck_assert_ptr_nonnull(strstr(out, "refused: innodb_autoinc_lock_mode "
	    "is 1 on a Galera node"));

	s = g;
	s.conf_sync_wait = 0;
	s.sync_wait = 0;
	s.trust_creators = 0;
	ck_assert_int_eq(migrate_judge(&s, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "warning: db_sync_wait is 0"));
	ck_assert_ptr_nonnull(strstr(out, "warning: "
	    "log_bin_trust_function_creators is OFF with wsrep"));

	/* One server (or a primary): the Galera settings do not apply. */
	one.galera = 0;
	snprintf(one.binlog_format, sizeof(one.binlog_format), "MIXED");
	one.autoinc_lock_mode = 1;
	one.trust_creators = 0;
	ck_assert_int_eq(migrate_judge(&one, out, sizeof(out)), 0);
	ck_assert_str_eq(out,
	    "server: MariaDB 10.11.6, not a Galera node (wsrep_on OFF): one "
	    "server, or a primary with replicas\n"
	    "binlog_format: MIXED (ok; binary log off)\n"
	    "db_sync_wait = auto: ignored (not a Galera node)\n");
	snprintf(one.binlog_format, sizeof(one.binlog_format), "STATEMENT");
	ck_assert_int_eq(migrate_judge(&one, out, sizeof(out)), 0);
	one.log_bin = 1;
	ck_assert_int_eq(migrate_judge(&one, out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "refused: binlog_format is "
	    "STATEMENT with the binary log on"));
	ck_assert_ptr_nonnull(strstr(out, "warning: "
	    "log_bin_trust_function_creators is OFF with the binary log"));
}
END_TEST

/* What vigilctl db check reads of SHOW GRANTS, and says of a user that
 * lacks a privilege: the privilege by name, why, and the GRANT that gives
 * it. ALL PRIVILEGES on the schema, on *.* or on a pattern that matches
 * it lacks nothing; EXECUTE by name on both batch procedures counts. */
START_TEST(test_migrate_grants)
{
	struct migrate_grants g;
	char out[4096];
	unsigned m;

	/* The README's minimal grant: nothing lacks. */
	memset(&g, 0, sizeof(g));
	migrate_grants_add(&g, "GRANT USAGE ON *.* TO `vigil`@`localhost` "
	    "IDENTIFIED BY PASSWORD '*ABC'", "vigil");
	migrate_grants_add(&g, "GRANT SELECT, INSERT, UPDATE, DELETE, "
	    "EXECUTE ON `vigil`.* TO `vigil`@`localhost`", "vigil");
	ck_assert_uint_eq(migrate_grants_missing(&g, MIGRATE_P_RUNTIME), 0);
	ck_assert_uint_eq(migrate_grants_judge(&g, MIGRATE_P_RUNTIME, "vigil",
	    "vigil@localhost", "missing", 1, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "privileges: 'vigil'@'localhost' on `vigil`: "
	    "SELECT, INSERT, UPDATE, DELETE, EXECUTE (ok)\n");
	/* ... but the definer of the procedures needs temporary tables. */
	ck_assert_uint_eq(migrate_grants_missing(&g, MIGRATE_P_DEFINER),
	    MIGRATE_P_TMPTABLES);

	/* Without EXECUTE: named, with the statement that fixes it. */
	memset(&g, 0, sizeof(g));
	migrate_grants_add(&g, "GRANT SELECT, INSERT, UPDATE, DELETE ON "
	    "`vigil`.* TO `vigil`@`%`", "vigil");
	m = migrate_grants_judge(&g, MIGRATE_P_RUNTIME, "vigil", "vigil@%",
	    "missing", 1, out, sizeof(out));
	ck_assert_uint_eq(m, MIGRATE_P_EXECUTE);
	ck_assert_ptr_nonnull(strstr(out, "missing: 'vigil'@'%' has no "
	    "EXECUTE on `vigil`: the scanner's and importer's batches CALL "
	    "findings_batch_begin"));
	ck_assert_ptr_nonnull(strstr(out, "missing: to fix, as an "
	    "administrator: GRANT EXECUTE ON `vigil`.* TO 'vigil'@'%'\n"));
	/* EXECUTE on the three procedures by name (what creating them
	 * gives their creator) is enough; on some of them is not. */
	migrate_grants_add(&g, "GRANT EXECUTE, ALTER ROUTINE ON PROCEDURE "
	    "`vigil`.`findings_batch_begin` TO `vigil`@`%`", "vigil");
	ck_assert_uint_eq(migrate_grants_missing(&g, MIGRATE_P_RUNTIME),
	    MIGRATE_P_EXECUTE);
	migrate_grants_add(&g, "GRANT EXECUTE, ALTER ROUTINE ON PROCEDURE "
	    "`vigil`.`findings_batch_end` TO `vigil`@`%`", "vigil");
	ck_assert_uint_eq(migrate_grants_missing(&g, MIGRATE_P_RUNTIME),
	    MIGRATE_P_EXECUTE);
	migrate_grants_add(&g, "GRANT EXECUTE, ALTER ROUTINE ON PROCEDURE "
	    "`vigil`.`findings_seen_mark` TO `vigil`@`%`", "vigil");
	ck_assert_uint_eq(migrate_grants_missing(&g, MIGRATE_P_RUNTIME), 0);

	/* GRANT ALL, on the schema, on everything, or on a pattern. */
	memset(&g, 0, sizeof(g));
	migrate_grants_add(&g, "GRANT ALL PRIVILEGES ON `vigil`.* TO "
	    "`vigil`@`localhost`", "vigil");
	ck_assert_uint_eq(migrate_grants_missing(&g, MIGRATE_P_RUNTIME |
	    MIGRATE_P_DEFINER), 0);
	memset(&g, 0, sizeof(g));
	migrate_grants_add(&g, "GRANT ALL PRIVILEGES ON *.* TO `root`@"
	    "`localhost` WITH GRANT OPTION", "vigil");
	ck_assert_uint_eq(migrate_grants_missing(&g, MIGRATE_P_RUNTIME |
	    MIGRATE_P_DEFINER), 0);
	memset(&g, 0, sizeof(g));
	migrate_grants_add(&g, "GRANT ALL PRIVILEGES ON `vig%`.* TO `v`@`h`",
	    "vigil");
	migrate_grants_add(&g, "GRANT SELECT ON `vigil\\_2`.* TO `v`@`h`",
	    "vigil");
	ck_assert_uint_eq(g.schema & MIGRATE_P_EXECUTE, MIGRATE_P_EXECUTE);
	memset(&g, 0, sizeof(g));
	migrate_grants_add(&g, "GRANT ALL PRIVILEGES ON `vigil\\_2`.* TO "
	    "`v`@`h`", "vigilx2");
	migrate_grants_add(&g, "GRANT ALL PRIVILEGES ON `other`.* TO "
	    "`v`@`h`", "vigil");
	ck_assert_uint_eq(g.schema, 0);

	/* What grants nothing on the schema adds nothing: a role, PROXY,
	 * column and table grants (counted apart), another schema's
	 * procedure, a function. */
	memset(&g, 0, sizeof(g));
	migrate_grants_add(&g, "GRANT `vigil_rw` TO `vigil`@`localhost`",
	    "vigil");
	migrate_grants_add(&g, "GRANT PROXY ON ''@'%' TO 'root'@'localhost' "
	    "WITH GRANT OPTION", "vigil");
	migrate_grants_add(&g, "GRANT SELECT (`id`, `name`), INSERT ON "
	    "`vigil`.`tenants` TO `v`@`h`", "vigil");
	migrate_grants_add(&g, "GRANT EXECUTE ON PROCEDURE `other`."
	    "`findings_batch_begin` TO `v`@`h`", "vigil");
	migrate_grants_add(&g, "GRANT EXECUTE ON FUNCTION `vigil`.`f` TO "
	    "`v`@`h`", "vigil");
	ck_assert_uint_eq(g.schema, 0);
	ck_assert_uint_eq(g.procs, 0);
	ck_assert_uint_eq(g.tables, MIGRATE_P_INSERT);
	m = migrate_grants_judge(&g, MIGRATE_P_RUNTIME, "vigil",
	    "o'brien@localhost", "missing", 0, out, sizeof(out));
	ck_assert_uint_eq(m, MIGRATE_P_RUNTIME);
	ck_assert_ptr_nonnull(strstr(out, "missing: (INSERT is granted on "
	    "some of its tables only)\n"));
	ck_assert_ptr_nonnull(strstr(out, "GRANT SELECT, INSERT, UPDATE, "
	    "DELETE, EXECUTE ON `vigil`.* TO 'o''brien'@'localhost'\n"));
}
END_TEST

/* A cell copied for a row struct: NULL stays NULL, out of range is
 * NULL, neither counts as out of memory. */
START_TEST(test_db_cell_dup)
{
	static char *cells[] = { "alert", NULL };
	unsigned long lens[2] = { 5, 0 };
	struct db_res r;
	int oom = 0;
	char *d;

	memset(&r, 0, sizeof(r));
	r.nrows = 1;
	r.ncols = 2;
	r.cells = cells;
	r.lens = lens;
	d = db_cell_dup(&r, 0, 0, &oom);
	ck_assert_str_eq(d, "alert");
	ck_assert_ptr_ne(d, cells[0]);
	free(d);
	ck_assert_ptr_null(db_cell_dup(&r, 0, 1, &oom));
	ck_assert_ptr_null(db_cell_dup(&r, 1, 0, &oom));
	ck_assert_int_eq(oom, 0);
}
END_TEST

/* What migrate applies and config check counts: NNNN_word.sql only. */
START_TEST(test_migrate_is_file)
{
	ck_assert_int_eq(migrate_is_file("0001_init.sql"), 1);
	ck_assert_int_eq(migrate_is_file("0045_cli.sql"), 1);
	ck_assert_int_eq(migrate_is_file("0001_init.sql~"), 0);
	ck_assert_int_eq(migrate_is_file("0001_init.SQL"), 0);
	ck_assert_int_eq(migrate_is_file("001_init.sql"), 0);
	ck_assert_int_eq(migrate_is_file("00a1_init.sql"), 0);
	ck_assert_int_eq(migrate_is_file("0001init.sql"), 0);
	ck_assert_int_eq(migrate_is_file("0001_.sql"), 0);
	ck_assert_int_eq(migrate_is_file(".sql"), 0);
	ck_assert_int_eq(migrate_is_file("README"), 0);
}
END_TEST

/* The counts of a batch's rows per key (db_exec_tally's statements):
 * one per distinct value of the column, at its first row, with every row
 * that has it; values alike by type and bytes, not by a C string's end. */
START_TEST(test_db_tally)
{
	/* Rows of two columns; the key is the second. */
	const struct db_val p[] = {
		DB_STR("evt_1"), DB_STR("finding.detected"),
		DB_STR("evt_2"), DB_STR("finding.resolved"),
		DB_STR("evt_3"), DB_STR("finding.detected"),
		DB_STR("evt_4"), DB_STRN("finding.detected!", 16),
		DB_STR("evt_5"), DB_STRN("finding.detectedX", 17),
		DB_STR("evt_6"), DB_STR("finding.resolved"),
		DB_STR("evt_7"), DB_STR("finding.detected"),
		DB_STR("evt_8"), DB_INT(7),
		DB_STR("evt_9"), DB_NUL,
		DB_STR("evt_a"), DB_INT(7),
		DB_STR("evt_b"), DB_NUL,
		DB_STR("evt_c"), DB_INT(8),
		DB_STR("evt_d"), DB_STR(""),
	};
	/* finding.detected at 0 (with the same 16 bytes at 3), resolved at
	 * 1, the 17 bytes at 4 apart; the integers 7 and 8 and NULL apart
	 * from the strings; "" its own. */
	static const size_t want[] = { 4, 2, 0, 0, 1, 0, 0, 2, 2, 0, 0, 1,
	    1 };
	const size_t n = sizeof(p) / sizeof(p[0]) / 2;
	size_t i, sum = 0;

	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++) {
		ck_assert_msg(db_tally(p, 2, 1, n, i) == want[i],
		    "row %zu: %zu, want %zu", i, db_tally(p, 2, 1, n, i),
		    want[i]);
		sum += db_tally(p, 2, 1, n, i);
	}
	ck_assert_uint_eq(sum, n);
	/* The first column: every value its own. */
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(db_tally(p, 2, 0, n, i), 1);
	/* Fewer rows: only those count. */
	ck_assert_uint_eq(db_tally(p, 2, 1, 3, 0), 2);
	ck_assert_uint_eq(db_tally(p, 2, 1, 1, 0), 1);
	/* One row of one column. */
	ck_assert_uint_eq(db_tally(p + 1, 1, 0, 1, 0), 1);
}
END_TEST

/* The first line that has vigilctl migrate apply a recorded migration
 * again after an older one (0048), and only that line. */
START_TEST(test_migrate_restates)
{
	ck_assert_int_eq(migrate_restates("-- migrate: restates triggers "
	    "(run again after any older migration)\n-- 0048: ...\n"), 1);
	ck_assert_int_eq(migrate_restates("-- migrate: restates\n"), 1);
	ck_assert_int_eq(migrate_restates("-- migrate: restates"), 1);
	ck_assert_int_eq(migrate_restates("-- migrate: restatesx\n"), 0);
	ck_assert_int_eq(migrate_restates("-- 0047: findings_sla_update\n"
	    "-- migrate: restates\n"), 0);
	ck_assert_int_eq(migrate_restates(" -- migrate: restates\n"), 0);
	ck_assert_int_eq(migrate_restates("-- migrate: restate\n"), 0);
	ck_assert_int_eq(migrate_restates(""), 0);
}
END_TEST

#ifndef VIGIL_TOP_SRCDIR
#define VIGIL_TOP_SRCDIR "."
#endif

/* MIGRATE_NEED is the highest-numbered file in db/migrations: a new
 * migration that did not bump it would leave the programs serving a
 * schema that lacks it (vigil-api answering 500 where it names what the
 * migration makes) instead of saying that vigilctl migrate must run. */
START_TEST(test_migrate_need)
{
	const char *top = getenv("VIGIL_SRCDIR");
	char dir[4096], newest[5] = "";
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/db/migrations", top != NULL &&
	    *top != '\0' ? top : VIGIL_TOP_SRCDIR);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot read %s (set VIGIL_SRCDIR)", dir);
	while ((de = readdir(d)) != NULL)
		if (migrate_is_file(de->d_name) &&
		    strncmp(de->d_name, newest, 4) > 0)
			memcpy(newest, de->d_name, 4);
	closedir(d);
	ck_assert_msg(strcmp(newest, MIGRATE_NEED) == 0, "MIGRATE_NEED is "
	    "%s, the newest file in %s is %s: set MIGRATE_NEED in "
	    "src/db/migrate.h to it", MIGRATE_NEED, dir, newest);
}
END_TEST

/* What a schema is to the binary: behind without the migration it needs
 * (whatever else is recorded), ahead with a newer one too. */
START_TEST(test_migrate_schema_judge)
{
	struct migrate_schema s;
	char line[400];

	ck_assert_int_eq(migrate_schema_judge("0056", 1, "0056"),
	    MIGRATE_SCHEMA_OK);
	ck_assert_int_eq(migrate_schema_judge("0055", 0, "0056"),
	    MIGRATE_SCHEMA_BEHIND);
	ck_assert_int_eq(migrate_schema_judge("", 0, "0056"),
	    MIGRATE_SCHEMA_BEHIND);
	/* A newer one recorded without the one needed (applied by hand,
	 * out of order): still behind. */
	ck_assert_int_eq(migrate_schema_judge("0057", 0, "0056"),
	    MIGRATE_SCHEMA_BEHIND);
	ck_assert_int_eq(migrate_schema_judge("0058", 1, "0056"),
	    MIGRATE_SCHEMA_AHEAD);
	ck_assert_int_eq(migrate_schema_judge("1000", 1, "0999"),
	    MIGRATE_SCHEMA_AHEAD);

	memset(&s, 0, sizeof(s));
	s.state = MIGRATE_SCHEMA_BEHIND;
	migrate_schema_say(&s, "vigil-scan", line, sizeof(line));
	ck_assert_msg(strstr(line, "vigilctl migrate") != NULL, "%s", line);
	ck_assert_msg(strstr(line, "recorded is none") != NULL, "%s", line);
	ck_assert_msg(strstr(line, "migration " MIGRATE_NEED) != NULL, "%s",
	    line);
	snprintf(s.newest, sizeof(s.newest), "9999");
	s.state = MIGRATE_SCHEMA_AHEAD;
	migrate_schema_say(&s, "vigil-api", line, sizeof(line));
	ck_assert_msg(strstr(line, "ahead of this vigil-api") != NULL, "%s",
	    line);
	ck_assert_msg(strstr(line, "9999") != NULL, "%s", line);
}
END_TEST

Suite *
db_suite(void)
{
	Suite	*s = suite_create("db");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_db_error_code);
	tcase_add_test(tc, test_migrate_judge);
	tcase_add_test(tc, test_migrate_grants);
	tcase_add_test(tc, test_db_cell_dup);
	tcase_add_test(tc, test_migrate_is_file);
	tcase_add_test(tc, test_db_tally);
	tcase_add_test(tc, test_migrate_restates);
	tcase_add_test(tc, test_migrate_need);
	tcase_add_test(tc, test_migrate_schema_judge);
	suite_add_tcase(s, tc);
	return s;
}
