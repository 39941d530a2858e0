/*
 * deadline.c: how long a client may take to send its request and to take
 * the answer (vigil.conf's request_timeout_ms).
 *
 * libfcgi's reads and writes are plain blocking calls, and the time they
 * wait is the client's to choose: a client that announces a body and
 * sends part of it would hold a worker for as long as it likes. So while
 * a worker waits on its client, an interval timer runs with what is left
 * of the request's budget (the budget is spent only while armed: never
 * while the database is asked anything, so SIGALRM never lands inside
 * libmariadb). When it runs out, the SIGALRM handler shuts the connection
 * down rather than only interrupting a call: a shutdown stays in force,
 * so whatever libfcgi calls next (its next read, its lingering close)
 * returns at once, even if the signal landed between two calls. The
 * timer keeps firing every DEADLINE_TICK_MS after that, for a connection
 * libfcgi had just accepted but not yet stored when the first one came.
 */
#include "vigil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "api.h"

#define DEADLINE_TICK_MS 100

static volatile sig_atomic_t expired, armed;
/* What the handler acts on; set only while the timer is disarmed. */
static int *watch_fd;		/* the connection's descriptor */
static int watch_how;		/* SHUT_RD, SHUT_RDWR or DEADLINE_NULL */
static int *watch_listen;	/* set to -1: no further accept */
static int null_fd = -1;
static long long budget_us;

static void
on_alarm(int sig)
{
	int saved = errno, fd;

	(void)sig;
	if (!armed)
		return;
	expired = 1;
	if (watch_listen != NULL)
		*watch_listen = -1;
	if (watch_fd != NULL && (fd = *watch_fd) >= 0) {
		if (watch_how == DEADLINE_NULL) {
			if (null_fd >= 0)
				dup2(null_fd, fd);
		} else
			shutdown(fd, watch_how);
	}
	errno = saved;
}

int
deadline_init(void)
{
	struct sigaction sa;

	if (null_fd < 0)
		null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked read or select must come back. */
	sa.sa_flags = 0;
	return sigaction(SIGALRM, &sa, NULL);
}

void
deadline_start(long ms)
{
	budget_us = (long long)ms * 1000;
	expired = 0;
}

void
deadline_run(int *fd, int how, int *listen_fd)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	watch_fd = fd;
	watch_how = how;
	watch_listen = listen_fd;
	if (budget_us <= 0) {
		/* Spent: act at the next tick. */
		budget_us = 1;
	}
	it.it_value.tv_sec = (time_t)(budget_us / 1000000);
	it.it_value.tv_usec = (suseconds_t)(budget_us % 1000000);
	it.it_interval.tv_usec = DEADLINE_TICK_MS * 1000;
	armed = 1;
	setitimer(ITIMER_REAL, &it, NULL);
}

void
deadline_stop(void)
{
	struct itimerval it, old;

	if (!armed)
		return;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, &old);
	armed = 0;
	watch_fd = NULL;
	watch_listen = NULL;
	if (expired)
		budget_us = 0;
	else
		budget_us = (long long)old.it_value.tv_sec * 1000000 +
		    old.it_value.tv_usec;
}

int
deadline_expired(void)
{
	return expired;
}
