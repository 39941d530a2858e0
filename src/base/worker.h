/* worker.h: one helper thread that runs the jobs handed to it, one at a
 * time, while the caller prepares the next (the scanner's and the
 * importer's batch writers). */
#ifndef VIGIL_WORKER_H
#define VIGIL_WORKER_H

#include <pthread.h>

/* Zero it before the first worker_hand. The thread is started at the
 * first job and lives until worker_stop; job set hands it one, done says
 * it ran, quit ends it, each under mu. busy is the caller's side: a job
 * handed over and not yet waited for. */
struct worker {
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 started, job, done, quit, busy;
	void		(*fn)(void *);
	void		*arg;
};

/* Hand the thread fn(arg), starting the thread at the first job with
 * every signal blocked in it (they are the process's to take, never a
 * thread's inside libmariadb). No job may be in flight. 0, or -1: no
 * thread, and the caller runs fn itself. */
int	 worker_hand(struct worker *w, void (*fn)(void *), void *arg);
/* Wait for the job in flight: 1 once it has run, 0 if none was. */
int	 worker_wait(struct worker *w);
/* Wait for the job in flight, if any, and end the thread, if started. */
void	 worker_stop(struct worker *w);

#endif
