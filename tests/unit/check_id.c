/* check_id.c: ULID encoding and prefixed ids. */
#include "vigil.h"

#include <check.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "id.h"
#include "suites.h"

START_TEST(test_id_ulid_vectors)
{
	static const struct {
		uint64_t	 ms;
		unsigned char	 rnd[10];
		const char	*want;
	} t[] = {
		{ 1469918176385ULL, { 0 }, "01ARYZ6S410000000000000000" },
		{ 0, { 0 }, "00000000000000000000000000" },
		{ 0xffffffffffffULL,
		    { 0xff, 0xff, 0xff, 0xff, 0xff,
		      0xff, 0xff, 0xff, 0xff, 0xff },
		    "7ZZZZZZZZZZZZZZZZZZZZZZZZZ" },
		{ 1, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
		    "00000000010000000000000001" },
		/* top five random bits first, then 5-bit groups */
		{ 0, { 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
		    "00000000001000000000000000" },
		/* 0x84 0x21 = 10000 10000 10000 10000 ... */
		{ 0, { 0, 0, 0, 0, 0, 0x84, 0x21, 0, 0, 0 },
		    "000000000000000000GGGG0000" },
	};
	char	 out[27];
	size_t	 i;

	for (i = 0; i < NELEM(t); i++) {
		memset(out, 'x', sizeof(out));
		id_ulid_encode(t[i].ms, t[i].rnd, out);
		ck_assert_str_eq(out, t[i].want);
	}
}
END_TEST

START_TEST(test_id_new)
{
	static const struct {
		const char	*prefix;
		size_t		 outsz;
		int		 rc;
	} t[] = {
		{ "key", VIGIL_ID_LEN, 0 },
		{ "req", 4 + ID_ULID_LEN + 1, 0 },
		{ "req", 4 + ID_ULID_LEN, -1 },
		{ "tnt", 3, -1 },
	};
	char	 a[VIGIL_ID_LEN], b[VIGIL_ID_LEN];
	size_t	 i;

	for (i = 0; i < NELEM(t); i++) {
		ck_assert_int_eq(id_new(t[i].prefix, a, t[i].outsz), t[i].rc);
		if (t[i].rc == 0)
			ck_assert_int_eq(id_valid(t[i].prefix, a), 1);
	}
	ck_assert_int_eq(id_new("key", a, sizeof(a)), 0);
	ck_assert_int_eq(id_new("key", b, sizeof(b)), 0);
	ck_assert_str_ne(a, b);
	/* Same millisecond prefix or later: sortable by time. */
	ck_assert_int_le(memcmp(a, b, 4 + 10), 0);
}
END_TEST

/* A forked child draws other random bits than its parent: ids draw
 * from a per-process block (id.c), which a child must not inherit. */
START_TEST(test_id_new_fork)
{
	char	 mine[VIGIL_ID_LEN], theirs[VIGIL_ID_LEN];
	int	 fd[2], status, i;
	pid_t	 pid;

	for (i = 0; i < 3; i++) {
		/* the block filled, and part of it left for the next ids */
		ck_assert_int_eq(id_new("req", mine, sizeof(mine)), 0);
		ck_assert_int_eq(pipe(fd), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fd[0]);
			if (id_new("req", theirs, sizeof(theirs)) != 0 ||
			    write(fd[1], theirs, sizeof(theirs)) !=
			    (ssize_t)sizeof(theirs))
				_exit(1);
			_exit(0);
		}
		close(fd[1]);
		memset(theirs, 0, sizeof(theirs));
		ck_assert_int_eq(read(fd[0], theirs, sizeof(theirs)),
		    (int)sizeof(theirs));
		close(fd[0]);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		ck_assert_int_eq(id_new("req", mine, sizeof(mine)), 0);
		ck_assert_int_eq(id_valid("req", theirs), 1);
		/* the 80 random bits: the last 16 characters */
		ck_assert_str_ne(mine + 4 + 10, theirs + 4 + 10);
	}
}
END_TEST

START_TEST(test_id_valid)
{
	static const struct {
		const char	*prefix;
		const char	*s;
		int		 want;
	} t[] = {
		{ "key", "key_01ARYZ6S410000000000000000", 1 },
		{ "key", "key_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 1 },
		{ "key", "key_8ZZZZZZZZZZZZZZZZZZZZZZZZZ", 0 },
		{ "key", "tnt_01ARYZ6S410000000000000000", 0 },
		{ "key", "key01ARYZ6S410000000000000000", 0 },
		{ "key", "key_01ARYZ6S41000000000000000", 0 },
		{ "key", "key_01ARYZ6S4100000000000000000", 0 },
		{ "key", "key_01ARYZ6S41000000000000000I", 0 },
		{ "key", "key_01ARYZ6S41000000000000000U", 0 },
		{ "key", "key_01aryz6s410000000000000000", 0 },
		{ "key", "key_", 0 },
		{ "key", "", 0 },
		{ "key", NULL, 0 },
		{ "ke", "key_01ARYZ6S410000000000000000", 0 },
	};
	size_t	 i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_msg(id_valid(t[i].prefix, t[i].s) == t[i].want,
		    "row %zu", i);
}
END_TEST

Suite *
id_suite(void)
{
	Suite	*s = suite_create("id");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_id_ulid_vectors);
	tcase_add_test(tc, test_id_new);
	tcase_add_test(tc, test_id_new_fork);
	tcase_add_test(tc, test_id_valid);
	suite_add_tcase(s, tc);
	return s;
}
