/* worker.c: one helper thread waiting on a condition variable for each
 * job. A thread that waits for its next job is woken at once when it
 * comes; one created for each job waited 1 to 1.5 ms on average to be
 * first scheduled while the caller and the database server kept both
 * cores busy. */
#include "vigil.h"

#include <pthread.h>
#include <signal.h>

#include "worker.h"

static void *
worker_loop(void *arg)
{
	struct worker *w = arg;
	void (*fn)(void *);
	void *fa;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->job && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->job)
			break;
		w->job = 0;
		fn = w->fn;
		fa = w->arg;
		pthread_mutex_unlock(&w->mu);
		fn(fa);
		pthread_mutex_lock(&w->mu);
		w->done = 1;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int
worker_start(struct worker *w)
{
	sigset_t all, was;
	int rc;

	if (pthread_mutex_init(&w->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&w->cv, NULL) != 0) {
		pthread_mutex_destroy(&w->mu);
		return -1;
	}
	w->job = w->done = w->quit = w->busy = 0;
	sigfillset(&all);
	rc = pthread_sigmask(SIG_SETMASK, &all, &was);
	if (rc == 0) {
		rc = pthread_create(&w->th, NULL, worker_loop, w);
		pthread_sigmask(SIG_SETMASK, &was, NULL);
	}
	if (rc != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		return -1;
	}
	w->started = 1;
	return 0;
}

int
worker_hand(struct worker *w, void (*fn)(void *), void *arg)
{
	if (!w->started && worker_start(w) != 0)
		return -1;
	pthread_mutex_lock(&w->mu);
	w->fn = fn;
	w->arg = arg;
	w->done = 0;
	w->job = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	w->busy = 1;
	return 0;
}

int
worker_wait(struct worker *w)
{
	if (!w->busy)
		return 0;
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	w->busy = 0;
	return 1;
}

void
worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	(void)worker_wait(w);
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->started = 0;
}
