/* check_ratetable.c: the pool's shared rate-limit counters, with the
 * database row they sync with played by a variable. */
#include "vigil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ratetable.h"
#include "shmconf.h"
#include "suites.h"

#define KEY_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEY_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define W0 1200L	/* a window start */

/* The database row of one (key, class), as SQL_AUTH_SYNC keeps it. */
struct row {
	long	 window, count;
	long	 override;
	int	 usable;
};

/* One request of key on table t at now_ms: what the caller of
 * ratetable_count does, with row as the database. Returns the request's
 * count; *synced tells whether it ran the statement. */
static long
req(struct ratetable *t, struct row *row, const char *key, long deflimit,
    long window, int64_t now_ms, int *synced)
{
	struct ratetable_ticket tk;
	enum ratetable_verdict v;

	v = ratetable_count(t, key, 'r', "key_1", "ten_1", deflimit, window,
	    now_ms, &tk);
	ck_assert_int_ne(v, RATETABLE_NONE);
	if (synced != NULL)
		*synced = v == RATETABLE_SYNC;
	if (v == RATETABLE_SYNC) {
		ck_assert_int_ge(tk.delta, 1);
		if (!row->usable)
			;	/* the statement inserts nothing */
		else if (tk.window > row->window) {
			row->window = tk.window;
			row->count = tk.delta;
		} else
			row->count += tk.delta;
		ratetable_synced(t, &tk, row->usable, row->count,
		    row->override, now_ms);
	}
	ck_assert_int_eq(tk.window, window > W0 ? window : W0);
	return tk.count;
}

START_TEST(test_ratetable_one_host_exact)
{
	struct ratetable *t = ratetable_new();
	struct row row = { 0, 0, 0, 1 };
	long i, n;
	int synced, syncs = 0;

	ck_assert_ptr_nonnull(t);
	/* The first request asks the database. */
	ck_assert_int_eq(req(t, &row, KEY_A, 1000, W0, 5000, &synced), 1);
	ck_assert_int_eq(synced, 1);
	/* Then every number once, in order, syncing at most every tenth
	 * of the limit (100) or second. */
	for (i = 2; i <= 1500; i++) {
		n = req(t, &row, KEY_A, 1000, W0, 5000 + i, &synced);
		ck_assert_int_eq(n, i);
		syncs += synced;
	}
	ck_assert_int_ge(syncs, 14);
	ck_assert_int_le(syncs, 16);
	/* The database has heard of every request but the last few. */
	ck_assert_int_le(1500 - row.count, 100);
	/* Another key has its own count (and row). */
	row.count = 0;
	ck_assert_int_eq(req(t, &row, KEY_B, 1000, W0, 7000, NULL), 1);
	ratetable_free(t);
}
END_TEST

START_TEST(test_ratetable_sync_interval)
{
	struct ratetable *t = ratetable_new();
	struct ratetable_ticket tk, tk2;
	struct row row = { 0, 0, 0, 1 };
	int synced;

	req(t, &row, KEY_A, 1000000, W0, 10000, NULL);
	ck_assert_int_eq(req(t, &row, KEY_A, 1000000, W0, 10999, &synced), 2);
	ck_assert_int_eq(synced, 0);
	/* A second after the last sync, one request syncs, sending what
	 * was not sent; another worker meanwhile counts on. */
	ck_assert_int_eq(ratetable_count(t, KEY_A, 'r', "key_1", "ten_1",
	    1000000, W0, 11000, &tk), RATETABLE_SYNC);
	ck_assert_int_eq(tk.delta, 2);
	ck_assert_int_eq(tk.count, 3);
	ck_assert_int_eq(ratetable_count(t, KEY_A, 'r', "key_1", "ten_1",
	    1000000, W0, 11001, &tk2), RATETABLE_COUNTED);
	ck_assert_int_eq(tk2.count, 4);
	/* Other hosts sent 50 meanwhile: the database says 1 + 2 + 50. */
	ratetable_synced(t, &tk, 1, 53, 7, 11002);
	ck_assert_int_eq(tk.count, 53);
	ck_assert_int_eq(tk.override, 7);
	ck_assert_int_eq(ratetable_count(t, KEY_A, 'r', "key_1", "ten_1",
	    1000000, W0, 11003, &tk2), RATETABLE_SYNC);	/* 7/10 < 1 */
	ck_assert_int_eq(tk2.count, 55);
	ck_assert_int_eq(tk2.override, 7);
	ratetable_free(t);
}
END_TEST

START_TEST(test_ratetable_failed_sync)
{
	struct ratetable *t = ratetable_new();
	struct ratetable_ticket tk;
	struct row row = { 0, 0, 0, 1 };

	req(t, &row, KEY_A, 1000000, W0, 10000, NULL);
	req(t, &row, KEY_A, 1000000, W0, 10001, NULL);
	ck_assert_int_eq(ratetable_count(t, KEY_A, 'r', "key_1", "ten_1",
	    1000000, W0, 11001, &tk), RATETABLE_SYNC);
	ck_assert_int_eq(tk.delta, 2);
	ratetable_sync_failed(t, &tk);
	/* The next request tries again at once and sends all three. */
	ck_assert_int_eq(ratetable_count(t, KEY_A, 'r', "key_1", "ten_1",
	    1000000, W0, 11002, &tk), RATETABLE_SYNC);
	ck_assert_int_eq(tk.delta, 3);
	ck_assert_int_eq(tk.count, 4);
	ratetable_free(t);
}
END_TEST

START_TEST(test_ratetable_window_turns)
{
	struct ratetable *t = ratetable_new();
	struct ratetable_ticket tk, late;
	struct row row = { 0, 0, 0, 1 };
	int synced;

	req(t, &row, KEY_A, 1000000, W0, 10000, NULL);
	ck_assert_int_eq(ratetable_count(t, KEY_A, 'r', "key_1", "ten_1",
	    1000000, W0, 11000, &late), RATETABLE_SYNC);
	/* A worker whose clock is a moment behind counts in the slot's
	 * window. */
	ck_assert_int_eq(req(t, &row, KEY_A, 1000000, W0 - 60, 11001, NULL),
	    3);
	/* The next window starts at 1 and marks the first request; it
	 * syncs, since the sync under way belongs to the old window. */
	ck_assert_int_eq(ratetable_count(t, KEY_A, 'r', "key_1", "ten_1",
	    1000000, W0 + 60, 11002, &tk), RATETABLE_SYNC);
	ck_assert_int_eq(tk.count, 1);
	ck_assert_int_eq(tk.delta, 1);
	ck_assert_int_eq(tk.first, 1);
	ck_assert_int_eq(tk.window, W0 + 60);
	/* The old window's sync ends after it: it changes nothing now. */
	ratetable_synced(t, &tk, 1, 1, 0, 11002);
	ratetable_synced(t, &late, 1, 1000, 0, 11003);
	ck_assert_int_eq(late.count, 2);
	ck_assert_int_eq(tk.count, 1);
	ck_assert_int_eq(req(t, &row, KEY_A, 1000000, W0 + 60, 11004,
	    &synced), 2);
	ck_assert_int_eq(synced, 0);
	ratetable_free(t);
}
END_TEST

START_TEST(test_ratetable_unusable_and_forget)
{
	struct ratetable *t = ratetable_new();
	struct row row = { 0, 0, 0, 1 };
	int synced;

	req(t, &row, KEY_A, 1000000, W0, 10000, NULL);
	req(t, &row, KEY_A, 1000000, W0, 10001, &synced);
	ck_assert_int_eq(synced, 0);
	/* Revoked on this host: the next request asks first. */
	ratetable_forget_key(t, "key_other");
	req(t, &row, KEY_A, 1000000, W0, 10002, &synced);
	ck_assert_int_eq(synced, 0);
	ratetable_forget_key(t, "key_1");
	row.usable = 0;
	req(t, &row, KEY_A, 1000000, W0, 10003, &synced);
	ck_assert_int_eq(synced, 1);
	/* Refused: the slot is dropped, so every request asks again. Were
	 * the key usable again, the requests the database heard of in this
	 * window would still count (as another host's). */
	req(t, &row, KEY_A, 1000000, W0, 10004, &synced);
	ck_assert_int_eq(synced, 1);
	row.usable = 1;
	ck_assert_int_eq(req(t, &row, KEY_A, 1000000, W0, 10005, &synced),
	    2);
	ck_assert_int_eq(synced, 1);
	/* A tenant's limits changed on this host. */
	ratetable_forget_tenant(t, "ten_1");
	req(t, &row, KEY_A, 1000000, W0, 10006, &synced);
	ck_assert_int_eq(synced, 1);
	req(t, &row, KEY_A, 1000000, W0, 10007, &synced);
	ck_assert_int_eq(synced, 0);
	ratetable_free(t);
}
END_TEST

START_TEST(test_ratetable_full)
{
	struct ratetable *t = ratetable_new();
	struct ratetable_ticket tk;
	char key[RATETABLE_KEY_LEN + 1];
	int i, none = 0;

	for (i = 0; i < RATETABLE_SLOTS + 100; i++) {
		snprintf(key, sizeof(key), "%064d", i);
		if (ratetable_count(t, key, 'w', "key_x", "ten_x", 30, W0,
		    1000, &tk) == RATETABLE_NONE)
			none++;
	}
	/* Some keys find no room in their probe range before the table
	 * is full; every one past its size does not. */
	ck_assert_int_ge(none, 100);
	/* A later window may take any slot of an earlier one. */
	ck_assert_int_eq(ratetable_count(t, "new", 'w', "key_x", "ten_x",
	    30, W0 + 60, 1000, &tk), RATETABLE_SYNC);
	ratetable_free(t);
}
END_TEST

/* Two hosts and one database row: each host is exact about its own
 * requests and learns the other's at its next sync. */
START_TEST(test_ratetable_two_hosts)
{
	struct ratetable *a = ratetable_new(), *b = ratetable_new();
	struct row row = { 0, 0, 0, 1 };
	long limit = 1000, allowed = 0, n;
	int64_t ms;

	/* 10 requests a millisecond on each host: 20,000 a second. */
	for (ms = 1000; ms < 3000; ms++) {
		int i;

		for (i = 0; i < 10; i++) {
			n = req(a, &row, KEY_A, limit, W0, ms, NULL);
			allowed += n <= limit;
			n = req(b, &row, KEY_A, limit, W0, ms, NULL);
			allowed += n <= limit;
		}
	}
	/* The overshoot is bounded by what a host had not sent: a tenth
	 * of the limit. */
	ck_assert_int_ge(allowed, limit);
	ck_assert_int_le(allowed, limit + limit / 10);
	ratetable_free(a);
	ratetable_free(b);
}
END_TEST

/*
 * A child's n requests of KEY_A on t, each one's number written to fd,
 * then its exit. No clock moves: only the batch size (a tenth of limit)
 * makes a request sync; the other host is silent, so its total is ours.
 */
static void
child_count(struct ratetable *t, int fd, int n, long limit)
{
	struct ratetable_ticket tk;
	enum ratetable_verdict v;
	long num;
	int j;

	for (j = 0; j < n; j++) {
		v = ratetable_count(t, KEY_A, 'r', "key_1", "ten_1", limit,
		    W0, 1000, &tk);
		if (v == RATETABLE_NONE)
			_exit(4);
		if (v == RATETABLE_SYNC)
			ratetable_synced(t, &tk, 1, 0, 0, 1000);
		num = tk.count;
		if (write(fd, &num, sizeof(num)) != (ssize_t)sizeof(num))
			_exit(1);
	}
	_exit(0);
}

/*
 * The numbers nproc children wrote to fd (then closed) and their exits:
 * each of 1 to total handed out once (seen has those already taken), every
 * child exited 0, and exactly limit of them allowed (allowed already).
 */
static void
collect(int fd, int nproc, long total, long limit, unsigned char *seen,
    long allowed)
{
	long n;
	int i, status;

	while (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
		ck_assert_int_ge(n, 1);
		ck_assert_int_le(n, total);
		ck_assert_int_eq(seen[n], 0);
		seen[n] = 1;
		allowed += n <= limit;
	}
	close(fd);
	for (i = 0; i < nproc; i++) {
		ck_assert_int_gt(wait(&status), 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_int_eq(allowed, limit);
	for (n = 1; n <= total; n++)
		ck_assert_int_eq(seen[n], 1);
}

/* Four processes share one table: between them, exactly limit requests
 * are allowed, and every number is handed out once. */
START_TEST(test_ratetable_processes)
{
	enum { NPROC = 4, EACH = 500, LIMIT = 777 };
	struct ratetable *t = ratetable_new();
	struct ratetable_ticket tk;
	unsigned char seen[NPROC * EACH + 1];
	int fds[2], i;
	long allowed = 0;

	memset(seen, 0, sizeof(seen));
	ck_assert_int_eq(pipe(fds), 0);
	/* Checked once, as a first request would be. */
	ck_assert_int_eq(ratetable_count(t, KEY_A, 'r', "key_1", "ten_1",
	    LIMIT, W0, 1000, &tk), RATETABLE_SYNC);
	ratetable_synced(t, &tk, 1, 1, 0, 1000);
	seen[1] = 1;
	allowed = 1;
	for (i = 0; i < NPROC; i++) {
		if (fork() == 0) {
			close(fds[0]);
			child_count(t, fds[1], EACH - (i == 0), LIMIT);
		}
	}
	close(fds[1]);
	collect(fds[0], NPROC, NPROC * EACH, LIMIT, seen, allowed);
	ratetable_free(t);
}
END_TEST

/* A shared memory object name of mode and size, as another process (or
 * user) could have left it; its descriptor is closed. */
static void
shm_object(const char *name, mode_t mode, off_t size)
{
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	if (size > 0)
		ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
}

/* Processes that share no master, as mod_fcgid spawns them, attach to
 * one table by their vigil.conf's path, all at once: between them,
 * exactly limit requests are allowed, every number is handed out once,
 * and the table outlives them. An object of another layout in the way is
 * refused, not read. */
START_TEST(test_ratetable_attach)
{
	enum { NPROC = 4, EACH = 300, LIMIT = 555 };
	char conf[] = "/tmp/vigil-ratetable-XXXXXX", name[128];
	struct ratetable *t, *first;
	struct ratetable_ticket tk;
	unsigned char seen[NPROC * EACH + 1];
	int fds[2], go[2], fd, i;
	long allowed = 0;
	char c;

	fd = mkstemp(conf);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(shmconf_name(RATETABLE_SHM_NAME, conf, name,
	    sizeof(name)), 0);
	shm_unlink(name);
	memset(seen, 0, sizeof(seen));
	/* A process that made it and keeps it mapped holds no lock on it
	 * (a mapping keeps the open file, and a lock on it, past close). */
	first = ratetable_attach(conf);
	ck_assert_ptr_nonnull(first);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < NPROC; i++) {
		if (fork() == 0) {
			close(fds[0]);
			close(go[1]);
			/* Every child attaches at the same moment. */
			if (read(go[0], &c, 1) != 0)
				_exit(2);
			if ((t = ratetable_attach(conf)) == NULL)
				_exit(3);
			child_count(t, fds[1], EACH, LIMIT);
		}
	}
	close(fds[1]);
	close(go[0]);
	close(go[1]);
	collect(fds[0], NPROC, NPROC * EACH, LIMIT, seen, allowed);
	/* A process that comes later counts on from there. */
	t = ratetable_attach(conf);
	ck_assert_ptr_nonnull(t);
	ratetable_count(t, KEY_A, 'r', "key_1", "ten_1", LIMIT, W0, 1000,
	    &tk);
	ck_assert_int_eq(tk.count, NPROC * EACH + 1);
	ratetable_free(t);
	ratetable_free(first);
	/* Another layout's object under the name. */
	ck_assert_int_eq(shm_unlink(name), 0);
	shm_object(name, 0600, 4096);
	errno = 0;
	ck_assert_ptr_null(ratetable_attach(conf));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(shm_unlink(name), 0);
	unlink(conf);
}
END_TEST

/* An object that others may open (anyone can make one under the name in
 * /dev/shm) is refused; one left by a maker killed before it sized it,
 * or after it sized it but before the table was ready (a lock half made,
 * garbage), is finished by the next process. */
START_TEST(test_ratetable_attach_leftovers)
{
	char conf[] = "/tmp/vigil-ratetable-XXXXXX", name[128];
	struct ratetable *t;
	struct ratetable_ticket tk;
	int fd;

	fd = mkstemp(conf);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(shmconf_name(RATETABLE_SHM_NAME, conf, name,
	    sizeof(name)), 0);
	shm_unlink(name);
	shm_object(name, 0644, 0);
	errno = 0;
	ck_assert_ptr_null(ratetable_attach(conf));
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(shm_unlink(name), 0);
	/* Killed before sizing it. */
	shm_object(name, 0600, 0);
	t = ratetable_attach(conf);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(ratetable_count(t, KEY_A, 'r', "key_1", "ten_1",
	    100, W0, 1000, &tk), RATETABLE_SYNC);
	ratetable_free(t);
	ck_assert_int_eq(shm_unlink(name), 0);
	/* Killed while making the table: its size, garbage, no magic. */
	shm_object(name, 0600, 0);
	t = ratetable_attach(conf);
	ck_assert_ptr_nonnull(t);
	ratetable_free(t);
	fd = shm_open(name, O_RDWR, 0);
	ck_assert_int_ge(fd, 0);
	{
		static char junk[65536];

		memset(junk, 0xa5, sizeof(junk));
		ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), 0),
		    (ssize_t)sizeof(junk));
	}
	close(fd);
	t = ratetable_attach(conf);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(ratetable_count(t, KEY_A, 'r', "key_1", "ten_1",
	    100, W0, 1000, &tk), RATETABLE_SYNC);
	ck_assert_int_eq(tk.count, 1);
	ratetable_free(t);
	ck_assert_int_eq(shm_unlink(name), 0);
	unlink(conf);
}
END_TEST


/* Workers waiting on bodies: a tenant gets at most cap of them; a slot
 * that stops waiting (or is reset by the worker that replaces a dead one)
 * frees its place; other tenants are not affected. */
START_TEST(test_ratetable_wait_share)
{
	struct ratetable *t = ratetable_new();

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(ratetable_wait_begin(t, 0, "tnt_A", 2), 1);
	ck_assert_int_eq(ratetable_wait_begin(t, 1, "tnt_A", 2), 1);
	ck_assert_int_eq(ratetable_wait_begin(t, 2, "tnt_A", 2), 0);
	ck_assert_int_eq(ratetable_wait_begin(t, 2, "tnt_B", 2), 1);
	ck_assert_int_eq(ratetable_wait_begin(t, 3, "tnt_B", 2), 1);
	ck_assert_int_eq(ratetable_wait_begin(t, 4, "tnt_B", 2), 0);
	ratetable_wait_end(t, 1);
	ck_assert_int_eq(ratetable_wait_begin(t, 5, "tnt_A", 2), 1);
	ck_assert_int_eq(ratetable_wait_begin(t, 6, "tnt_A", 2), 0);
	/* A slot asking again for the same tenant is not counted twice. */
	ck_assert_int_eq(ratetable_wait_begin(t, 0, "tnt_A", 2), 1);
	/* A cap of one; slots out of range and empty tenants are let
	 * through uncounted. */
	ck_assert_int_eq(ratetable_wait_begin(t, 7, "tnt_C", 1), 1);
	ck_assert_int_eq(ratetable_wait_begin(t, 8, "tnt_C", 1), 0);
	ck_assert_int_eq(ratetable_wait_begin(t, RATETABLE_WAITERS, "tnt_C",
	    1), 1);
	ck_assert_int_eq(ratetable_wait_begin(t, 9, "", 1), 1);
	ck_assert_int_eq(ratetable_wait_begin(t, 10, "", 1), 1);
	ratetable_wait_end(t, 7);
	ck_assert_int_eq(ratetable_wait_begin(t, 8, "tnt_C", 1), 1);
	ratetable_free(t);
}
END_TEST

Suite *
ratetable_suite(void)
{
	Suite	*s = suite_create("ratetable");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_ratetable_one_host_exact);
	tcase_add_test(tc, test_ratetable_sync_interval);
	tcase_add_test(tc, test_ratetable_failed_sync);
	tcase_add_test(tc, test_ratetable_window_turns);
	tcase_add_test(tc, test_ratetable_unusable_and_forget);
	tcase_add_test(tc, test_ratetable_full);
	tcase_add_test(tc, test_ratetable_two_hosts);
	tcase_add_test(tc, test_ratetable_processes);
	tcase_add_test(tc, test_ratetable_attach);
	tcase_add_test(tc, test_ratetable_attach_leftovers);
	tcase_add_test(tc, test_ratetable_wait_share);
	suite_add_tcase(s, tc);
	return s;
}
