/* check_db.c: what a server error number means to a caller (the DB_*
 * code, and so the HTTP status api_db_error answers). */
#include "vigil.h"

#include <check.h>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "db.h"
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

Suite *
db_suite(void)
{
	Suite	*s = suite_create("db");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_db_error_code);
	suite_add_tcase(s, tc);
	return s;
}
