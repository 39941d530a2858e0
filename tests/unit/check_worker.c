/* check_worker.c: the batch writers' helper thread runs each job handed
 * to it once, in order, off the caller's thread, with every signal
 * blocked; waiting and stopping are safe with nothing in flight. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "suites.h"
#include "worker.h"

struct job {
	pthread_t	 caller;
	int		 runs, last, next;
	int		 off_caller, blocked;
};

static void
job_run(void *arg)
{
	struct job *j = arg;
	struct timespec ms = { 0, 1000000 };
	sigset_t now;

	nanosleep(&ms, NULL);	/* still running when the caller goes on */
	j->runs++;
	j->last = j->next;
	j->off_caller = !pthread_equal(pthread_self(), j->caller);
	j->blocked = pthread_sigmask(SIG_SETMASK, NULL, &now) == 0 &&
	    sigismember(&now, SIGTERM) && sigismember(&now, SIGINT) &&
	    sigismember(&now, SIGCHLD);
}

START_TEST(test_worker_jobs)
{
	struct worker w;
	struct job j;
	int i;

	memset(&w, 0, sizeof(w));
	memset(&j, 0, sizeof(j));
	j.caller = pthread_self();
	ck_assert_int_eq(worker_wait(&w), 0);
	for (i = 1; i <= 50; i++) {
		j.next = i;
		ck_assert_int_eq(worker_hand(&w, job_run, &j), 0);
		ck_assert_int_eq(worker_wait(&w), 1);
		ck_assert_int_eq(j.runs, i);
		ck_assert_int_eq(j.last, i);
		ck_assert(j.off_caller);
		ck_assert(j.blocked);
		ck_assert_int_eq(worker_wait(&w), 0);
	}
	/* the caller's own mask is as it was */
	{
		sigset_t now;

		ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &now), 0);
		ck_assert(!sigismember(&now, SIGTERM));
	}
	worker_stop(&w);
	ck_assert_int_eq(w.started, 0);
	worker_stop(&w);	/* twice: nothing to do */
	ck_assert_int_eq(j.runs, 50);
}
END_TEST

/* Stopping with a job in flight waits for it; a stopped worker starts a
 * new thread at its next job. */
START_TEST(test_worker_stop_in_flight)
{
	struct worker w;
	struct job j;

	memset(&w, 0, sizeof(w));
	memset(&j, 0, sizeof(j));
	j.caller = pthread_self();
	worker_stop(&w);	/* never started */
	j.next = 7;
	ck_assert_int_eq(worker_hand(&w, job_run, &j), 0);
	worker_stop(&w);
	ck_assert_int_eq(j.runs, 1);
	ck_assert_int_eq(j.last, 7);
	ck_assert_int_eq(w.busy, 0);
	j.next = 8;
	ck_assert_int_eq(worker_hand(&w, job_run, &j), 0);
	ck_assert_int_eq(worker_wait(&w), 1);
	ck_assert_int_eq(j.runs, 2);
	ck_assert_int_eq(j.last, 8);
	worker_stop(&w);
}
END_TEST

Suite *
worker_suite(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_worker_jobs);
	tcase_add_test(tc, test_worker_stop_in_flight);
	suite_add_tcase(s, tc);
	return s;
}
