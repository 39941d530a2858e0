/* pool.c: the pre-fork pool. The master owns the listening socket, keeps
 * N workers alive, drains them on SIGTERM and recycles them on SIGHUP;
 * each worker accepts and serves FastCGI requests one at a time. */
#include "vigil.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "api.h"
#include "exits.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "ratetable.h"

#define POOL_MAX_WORKERS 256
#define POOL_DRAIN_SECS  30
#define DRAIN_IDLE_MS    200     /* see input_drain */
#define STARVED_GRACE_MS 100     /* see fcgi_starved */
/* An answer this small, on a connection with nothing left to read, goes
 * out in one write that cannot wait on the web server (see fcgi_write). */
#define ANSWER_UNTIMED_MAX 4000
#define WARM_HOLD_MS     1500    /* see fcgid_warm_hold */
#define WORKER_HEAP_KEEP (2 * 1024 * 1024)	/* see worker_loop */
/* libfcgi's output buffer (fcgiapp.c's LARGE_BUFF_LEN, fixed when libfcgi
 * is built): an answer larger than this leaves through it in as many
 * writes. See fcgi_write_records. */
#define FCGI_STREAM_BUF  8192
/* What fcgi_write_records puts in one FCGI_STDOUT record (at most 65535;
 * a multiple of 8, so no record needs padding), and how many records go
 * in one writev. */
#define RECORD_MAX       61440
#define RECORDS_PER_WRITE 16

static volatile sig_atomic_t got_term, got_hup, got_chld;
/* Spawned by mod_fcgid (worker_fcgid_mode): see worker_loop. */
static int fcgid_mode;
/* In a worker: the listening fd, and /dev/null to put in its place. */
static int worker_listen_fd = -1, worker_null_fd = -1;

static void
on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
}

/* A worker's SIGTERM. It is blocked while a request is being served, so
 * when this runs the worker is idle: making the listening descriptor a
 * non-socket makes the pending or next accept() fail at once, wherever
 * the signal landed (libfcgi retries an accept() interrupted by EINTR). */
static void
on_worker_term(int sig)
{
	int saved = errno;

	(void)sig;
	got_term = 1;
	if (worker_listen_fd >= 0 && worker_null_fd >= 0)
		dup2(worker_null_fd, worker_listen_fd);
	errno = saved;
}

static void
set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a worker blocked in accept() must wake up. */
	sa.sa_flags = 0;
	sigaction(sig, &sa, NULL);
}

/* A worker's connection: the request, and whether the answer's deadline
 * is running yet (or the answer needs none). */
struct conn {
	FCGX_Request	 req;
	int		 writing;
	int		 paused;	/* see fcgi_pause */
	int		 untimed;	/* see fcgi_write */
};

/*
 * libfcgi keeps what it has read past the current record (the next
 * records' headers and contents) in the private part of its stream,
 * fcgiapp.c's FCGX_Stream_Data, the same since libfcgi 2.4.0; its first
 * fields, mirrored here, say whether any is there. Right after
 * FCGX_Accept_r no stdin record has been looked at, so without them every
 * body nginx sent along with the parameters would look not yet arrived.
 */
struct fcgi_stream_data {
	unsigned char	*buff;
	int		 bufflen;
	unsigned char	*mBuff;
	unsigned char	*buffStop;
	int		 type;
	int		 eorStop;
	int		 skip;
	int		 contentLen;
	int		 paddingLen;
};

#define FCGI_HEADER_LEN 8

/*
 * The header of the stdin record after the current one when libfcgi has
 * all of it buffered (libfcgi then reads it from there: its FillBuffProc
 * reads the socket only when its buffer is empty), else NULL; *after is
 * how many bytes are buffered past that header.
 */
static const unsigned char *
next_header(const struct conn *c, long *after)
{
	const FCGX_Stream *in = c->req.in;
	const struct fcgi_stream_data *d;
	const unsigned char *h;
	long have;

	if (in == NULL || in->isClosed || in->rdNext != in->stop ||
	    (d = in->data) == NULL)
		return NULL;
	have = d->buffStop - in->stop - (long)d->paddingLen;
	if (have < FCGI_HEADER_LEN)
		return NULL;
	h = in->stop + d->paddingLen;
	*after = have - FCGI_HEADER_LEN;
	return h;
}

/*
 * 1 if reading the input cannot wait for the web server: a byte of it
 * is buffered, or the end of it is (the empty stdin record, or libfcgi
 * has seen it). Then no timer is needed around the read: arming and
 * disarming it is two system calls, and every request makes at least two
 * such reads (dispatch's body read, which for a GET only finds the end).
 */
static int
input_ready(const struct conn *c)
{
	const FCGX_Stream *in = c->req.in;
	const unsigned char *h;
	long after;

	if (in == NULL || in->isClosed || in->rdNext < in->stop)
		return 1;
	if ((h = next_header(c, &after)) == NULL)
		return 0;
	/* A record of this request (anything else makes libfcgi read on). */
	if (h[1] != FCGI_STDIN ||
	    ((int)h[2] << 8 | h[3]) != c->req.requestId)
		return 0;
	return ((int)h[4] << 8 | h[5]) == 0 || after > 0;
}

/* 1 if all of the input has been taken, or all that is left is its end
 * (buffered): no drain can wait. */
static int
input_done(const struct conn *c)
{
	const FCGX_Stream *in = c->req.in;
	const unsigned char *h;
	long after;

	if (in == NULL || in->isClosed)
		return 1;
	if (in->rdNext < in->stop || (h = next_header(c, &after)) == NULL)
		return 0;
	return h[1] == FCGI_STDIN &&
	    ((int)h[2] << 8 | h[3]) == c->req.requestId &&
	    ((int)h[4] << 8 | h[5]) == 0;
}

/* FastCGI stream adaptors for dispatch(). Each read spends the request's
 * budget (request_timeout_ms, shared with the parameters); on expiry the
 * connection's reading side is shut down, and the answer can still be
 * sent. */
static long
fcgi_read(void *ctx, char *buf, size_t n)
{
	struct conn *c = ctx;
	FCGX_Stream *in = c->req.in;
	long avail = (long)(in->stop - in->rdNext);
	int got;

	/* As read(2) does: what is here, or as soon as anything is (one
	 * byte asked for makes libfcgi read what the socket has). Asking
	 * for more would make FCGX_GetStr wait for all of it, unseen by
	 * fcgi_starved. */
	if (avail <= 0)
		n = 1;
	else if ((long)n > avail)
		n = (size_t)avail;
	if (input_ready(c)) {
		/* From libfcgi's buffer: nothing to wait for. */
		got = FCGX_GetStr(buf, (int)n, in);
	} else {
		deadline_run(&c->req.ipcFd, SHUT_RD, NULL);
		got = FCGX_GetStr(buf, (int)n, in);
		deadline_stop();
		if (deadline_expired())
			return API_IO_TIMEOUT;
	}
	if (got < 0 || (got == 0 && FCGX_GetError(in) != 0))
		return -1;
	return got;
}

/*
 * 1 if nothing more of the body is buffered here nor arrives on the
 * socket within ms, so that the next read would wait for the client. A
 * whole record header buffered past the current record counts as
 * something (well-formed senders send a record's header and content
 * together).
 */
static int
starved_for(struct conn *c, int ms)
{
	FCGX_Stream *in = c->req.in;
	const struct fcgi_stream_data *d;
	struct pollfd pfd = { c->req.ipcFd, POLLIN, 0 };

	if (in == NULL || in->isClosed || in->rdNext != in->stop)
		return 0;
	d = in->data;
	if (d != NULL && d->buffStop - in->stop >= (long)d->paddingLen + 8)
		return 0;
	return poll(&pfd, 1, ms) == 0;
}

/* For dispatch: a body that is on its way counts as arrived. Web servers
 * write the parameters and the body separately (mod_proxy_fcgi even when
 * it has the whole body), so "nothing on the socket" right after the
 * parameters does not yet mean a slow client. The wait is the client's:
 * it spends the request's budget like a read. */
static int
fcgi_starved(void *ctx)
{
	struct conn *c = ctx;
	int starved;

	if (input_ready(c))
		return 0;
	deadline_run(&c->req.ipcFd, SHUT_RD, NULL);
	starved = starved_for(c, STARVED_GRACE_MS);
	deadline_stop();
	return starved;
}

/* The answer gets a budget of its own, from its first byte until the
 * connection is closed: a client that does not read it (or keeps
 * libfcgi's lingering close going) loses its connection. */
static void
answer_deadline(struct conn *c)
{
	if (!c->writing) {
		c->writing = 1;
		deadline_start(g_conf.request_timeout_ms);
		deadline_run(&c->req.ipcFd, SHUT_RDWR, NULL);
	} else if (c->paused) {
		c->paused = 0;
		deadline_run(&c->req.ipcFd, SHUT_RDWR, NULL);
	}
}

/* An answer written in parts with database reads between them (an
 * attachment's chunks): its timer must not run across those (SIGALRM
 * never lands inside libmariadb). Each part then gets a fresh budget, so
 * a long download is cut off only when the client stops taking it for
 * request_timeout_ms, not for being long. */
static void
fcgi_pause(void *ctx)
{
	struct conn *c = ctx;

	if (c->writing && !c->paused) {
		deadline_stop();
		deadline_start(g_conf.request_timeout_ms);
		c->paused = 1;
	}
}

/* writev all of iov[0..cnt), however many calls it takes. 0, or -1 (the
 * connection failed, or was shut down by the answer's deadline). */
static int
writev_all(int fd, struct iovec *iov, int cnt)
{
	ssize_t w;

	while (cnt > 0) {
		if ((w = writev(fd, iov, cnt)) < 0) {
			/* The deadline's signal: it shuts the socket down
			 * when it expires, so the next call fails. */
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (cnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * Write buf (n bytes, more than libfcgi's buffer holds) as FCGI_STDOUT
 * records of RECORD_MAX bytes, several to a writev, straight to the
 * connection: through libfcgi a list page of 64 KB went out in eight
 * writes of 8 KB, each a wake-up of the web server. What libfcgi had
 * buffered goes first. The last n % RECORD_MAX bytes (fewer if that
 * leaves too much for libfcgi's buffer) are left to libfcgi, so that
 * FCGX_Finish_r writes them with the end-of-request records in one
 * write, as for a small answer. A record is its 8-byte header (FastCGI
 * 1.0, section 3.3: version 1, type, request id, content length, no
 * padding) and its content. 0 or -1.
 */
static int
fcgi_write_records(struct conn *c, const char *buf, size_t n)
{
	unsigned char head[RECORDS_PER_WRITE][FCGI_HEADER_LEN];
	struct iovec iov[2 * RECORDS_PER_WRITE];
	FCGX_Stream *out = c->req.out;
	size_t tail = n % RECORD_MAX;
	int k;

	if (tail > FCGI_STREAM_BUF / 2)
		tail %= FCGI_STREAM_BUF / 2;
	if (out->isClosed || FCGX_FFlush(out) != 0)
		return -1;
	while (n > tail) {
		for (k = 0; k < RECORDS_PER_WRITE && n > tail; k++) {
			size_t len = n - tail > RECORD_MAX ? RECORD_MAX :
			    n - tail;

			head[k][0] = FCGI_VERSION_1;
			head[k][1] = FCGI_STDOUT;
			head[k][2] = (unsigned char)(c->req.requestId >> 8);
			head[k][3] = (unsigned char)c->req.requestId;
			head[k][4] = (unsigned char)(len >> 8);
			head[k][5] = (unsigned char)len;
			head[k][6] = 0;
			head[k][7] = 0;
			iov[2 * k].iov_base = head[k];
			iov[2 * k].iov_len = FCGI_HEADER_LEN;
			iov[2 * k + 1].iov_base = (void *)(uintptr_t)buf;
			iov[2 * k + 1].iov_len = len;
			buf += len;
			n -= len;
		}
		if (writev_all(c->req.ipcFd, iov, 2 * k) != 0) {
			/* Part of a record may be out: nothing may follow
			 * it, and the connection is not kept. */
			shutdown(c->req.ipcFd, SHUT_RDWR);
			c->req.keepConnection = 0;
			return -1;
		}
	}
	if (n > 0 && FCGX_PutStr(buf, (int)n, out) != (int)n)
		return -1;
	return 0;
}

/*
 * dispatch writes the whole answer at once. An answer of at most
 * ANSWER_UNTIMED_MAX bytes, when there is no input left to drain, stays
 * in libfcgi's buffer until FCGX_Finish_r writes it with the end-of-request
 * records in one write to a socket that has been sent nothing yet: the
 * kernel takes that whole (a socket's send buffer is never smaller than
 * 4608 bytes), so it cannot wait on the web server and runs without the
 * timer (two system calls fewer). Anything larger, followed by a drain,
 * on a connection the web server keeps (earlier answers may fill its
 * buffer), or written after such a part (a download's body after its
 * head), runs under the answer's deadline.
 */
static int
fcgi_write(void *ctx, const char *buf, size_t n)
{
	struct conn *c = ctx;

	if (!c->writing && n <= ANSWER_UNTIMED_MAX && !c->req.keepConnection &&
	    input_done(c)) {
		c->writing = 1;
		c->untimed = 1;
	} else if (c->untimed) {
		/* More after an untimed part (a download's head, then its
		 * body): from here the answer can wait on the web server,
		 * so it gets its deadline. */
		c->untimed = 0;
		c->writing = 0;
		c->paused = 0;
	}
	answer_deadline(c);
	if (n > FCGI_STREAM_BUF)
		return fcgi_write_records(c, buf, n);
	while (n > 0) {
		int chunk = n > 65536 ? 65536 : (int)n;

		if (FCGX_PutStr(buf, chunk, c->req.out) != chunk)
			return -1;
		buf += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

/*
 * Take what is left of the request's input until the web server has sent
 * all of it (its empty stdin record) or has sent nothing more for
 * DRAIN_IDLE_MS. Then the connection is closed at once (detached): a web
 * server still pushing a refused body has finished and reads the answer
 * rather than failing its write on a closed socket, and a client that
 * stopped sending (its body refused, or late) holds the worker no longer.
 * libfcgi's own lingering close would instead wait up to 2 s, for every
 * request, for the web server to close first. All of it runs under the
 * answer's deadline.
 */
static void
input_drain(struct conn *c)
{
	FCGX_Stream *in = c->req.in;
	char buf[4096];
	long avail;

	while (FCGX_HasSeenEOF(in) != EOF) {
		/* Never ask for more than is here: FCGX_GetStr waits for all
		 * it is asked for. */
		if ((avail = (long)(in->stop - in->rdNext)) <= 0) {
			struct pollfd pfd = { c->req.ipcFd, POLLIN, 0 };

			/* (The empty stdin record usually sits in
			 * libfcgi's buffer already.) */
			if (starved_for(c, 0) && poll(&pfd, 1, DRAIN_IDLE_MS) <= 0)
				return;
			avail = 1;
		}
		FCGX_GetStr(buf, avail < (long)sizeof(buf) ? (int)avail :
		    (int)sizeof(buf), in);
	}
}

/*
 * Under mod_fcgid every process of the class serves its request at once:
 * with 32 clients, 32 processes share 2 cores by time slices where the
 * pool's workers take the socket's queue in turn. The gate lets at most
 * vigil.conf's workers of them serve at a time, first come first served:
 * a SysV semaphore (one per vigil.conf, by ftok), whose waiters Linux
 * wakes in the order they came. SEM_UNDO gives back the place of a
 * process killed while it serves. Taken after the request is read
 * (mod_fcgid sends it whole) and after the warm-up's hold, so that the
 * warm-up holds no place. -1: no gate (it could not be made; logged).
 */
static int gate_id = -1;

void
worker_fcgid_mode(const char *conf_path)
{
	struct sembuf init = { 0, 0, 0 };
	key_t key;

	fcgid_mode = 1;
	if (conf_path == NULL || g_conf.workers <= 0 ||
	    (key = ftok(conf_path, 'g')) == (key_t)-1)
		goto fail;
	/* The first process makes it and opens it to workers places;
	 * without SEM_UNDO, so the places outlive it. */
	if ((gate_id = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600)) >= 0) {
		init.sem_op = (short)g_conf.workers;
		if (semop(gate_id, &init, 1) == 0)
			return;
		goto fail;
	}
	if (errno == EEXIST && (gate_id = semget(key, 1, 0600)) >= 0)
		return;
fail:
	log_warn("spawned by mod_fcgid: no gate on concurrent requests "
	    "(%s); every process serves at once", strerror(errno));
	gate_id = -1;
}

static void
fcgid_gate(int delta)
{
	struct sembuf op = { 0, 0, SEM_UNDO };

	if (gate_id < 0)
		return;
	op.sem_op = (short)delta;
	while (semop(gate_id, &op, 1) != 0)
		if (errno != EINTR) {
			log_warn("mod_fcgid gate: %s", strerror(errno));
			return;
		}
}

/*
 * contrib/fcgid-warm.sh starts mod_fcgid's whole class before traffic
 * comes. mod_fcgid spawns a process only for a request that, after its
 * one-second sleep, still finds every process busy; warm-up requests
 * answered at once leave processes idle for the ones that wake, and the
 * class stopped growing short of its size (45 of 48 after 20 s). So the
 * first request a process serves, when it is a warm-up one (header
 * X-Vigil-Warm-Up: 1), is held WARM_HOLD_MS: the process stays busy
 * longer than the sleep, and every warm-up request that wakes meanwhile
 * finds none idle and has one spawned. Only the first: a process holds
 * nothing afterwards, so the header gives no one a way to hold processes
 * that traffic needs.
 */
static void
fcgid_warm_hold(FCGX_Request *req)
{
	const char *v = FCGX_GetParam("HTTP_X_VIGIL_WARM_UP", req->envp);

	if (v != NULL && strcmp(v, "1") == 0)
		poll(NULL, 0, WARM_HOLD_MS);
}

void
worker_loop(int listen_fd, int max_requests, struct ratetable *rt,
    int slot, int wait_cap)
{
	struct conn c;
	struct api_io io = { fcgi_read, fcgi_write, fcgi_starved, &c,
	    fcgi_pause };
	struct epoll_event ev;
	struct db *db;
	sigset_t none, term;
	int served = 0, ep, first = 1;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	/* A list page builds and frees a few hundred KB (json-c's objects,
	 * the answer's text, twice): glibc gave the top of the heap back
	 * after each such request (its trim threshold is 128 KB by default)
	 * and the next one faulted it in again a page at a time, two brk()
	 * and 19 page faults a page of 100. Keep up to WORKER_HEAP_KEEP;
	 * setting it stops glibc's own threshold moves, so the mmap
	 * threshold is set too (a buffer of up to 1 MB from the heap). */
	mallopt(M_MMAP_THRESHOLD, WORKER_HEAP_KEEP / 2);
	mallopt(M_TRIM_THRESHOLD, WORKER_HEAP_KEEP);
	worker_listen_fd = listen_fd;
	worker_null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	set_handler(SIGTERM, on_worker_term);
	set_handler(SIGINT, on_worker_term);
	if (deadline_init() != 0) {
		log_err("worker: cannot handle SIGALRM: %s", strerror(errno));
		_exit(1);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);

	auth_use_ratetable(rt);
	auth_use_wait_slot(slot, wait_cap);
	/* Connect after fork: a connection is never shared between
	 * processes. */
	if ((db = db_new(&g_conf)) == NULL) {
		log_err("worker: out of memory");
		_exit(1);
	}
	/* The schema against this binary's: connects now. */
	schemagate_start(db);
	memset(&c, 0, sizeof(c));
	if (FCGX_InitRequest(&c.req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) !=
	    0) {
		log_err("worker: FCGX_InitRequest failed");
		_exit(1);
	}
	/* SIGTERM is delivered only inside ppoll(): never while libfcgi is
	 * between accept() and having read the request (it would drop it). */
	sigprocmask(SIG_BLOCK, &term, NULL);
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	/* A connection wakes one idle worker, not all of them: with poll
	 * every idle worker woke for each connection and all but one found
	 * nothing to accept (at 16 connections, about seven wake-ups and
	 * failed accepts per request served). The registration is the
	 * socket's, so it survives on_worker_term's dup2. Without epoll
	 * (it failed), ppoll as before. */
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = listen_fd;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) >= 0 &&
	    epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
		close(ep);
		ep = -1;
	}
	while (!got_term) {
		struct pollfd pfd = { listen_fd, POLLIN, 0 };
		int rc;

		if (ep >= 0 ? epoll_pwait(ep, &ev, 1, -1, &none) < 0 :
		    ppoll(&pfd, 1, NULL, &none) < 0)
			continue;
		/* The parameters (and the body, below) must arrive within
		 * request_timeout_ms. On expiry libfcgi drops the
		 * connection and would accept the next one under the same
		 * spent clock: the handler takes its listening socket away
		 * (c.req.listen_sock = -1), so it returns instead. */
		deadline_start(g_conf.request_timeout_ms);
		deadline_run(&c.req.ipcFd, SHUT_RDWR, &c.req.listen_sock);
		rc = FCGX_Accept_r(&c.req);
		deadline_stop();
		c.req.listen_sock = listen_fd;
		if (deadline_expired()) {
			log_warn("worker: a request's parameters did not "
			    "arrive within request_timeout_ms (%d); dropped "
			    "it", g_conf.request_timeout_ms);
			if (rc == 0) {
				FCGX_Detach(&c.req);
				FCGX_Finish_r(&c.req);
			}
			continue;
		}
		if (rc == -EAGAIN || rc == -EWOULDBLOCK)
			continue;		/* another worker took it */
		if (rc < 0)
			break;
		c.writing = 0;
		c.paused = 0;
		c.untimed = 0;
		if (fcgid_mode && first)
			fcgid_warm_hold(&c.req);
		first = 0;
		fcgid_gate(-1);
		dispatch(db, c.req.envp, &io);
		if (!c.req.keepConnection) {
			/* The answer first: the web server need not wait
			 * for the drain to have it. Under the answer's
			 * deadline even when dispatch wrote nothing (out of
			 * memory), so the drain cannot outlast it. With no
			 * input left the drain waits for nothing: the answer
			 * then goes with the end-of-request records, one
			 * write (and one wake-up of the web server) instead
			 * of two.
			 * mod_fcgid has sent the whole request before it
			 * reads a byte of the answer, so there the drain
			 * costs nothing and comes first, never a flush: the
			 * answer and FCGI_END_REQUEST then leave in one
			 * write, and mod_fcgid marks this process idle as it
			 * passes the answer on, before the client's next
			 * request can reach it. Flushed apart, that request
			 * could find the process still busy, and mod_fcgid,
			 * finding no idle process, sleeps a whole second
			 * before it looks again. */
			answer_deadline(&c);
			if (!input_done(&c)) {
				if (!fcgid_mode)
					FCGX_FFlush(c.req.out);
				input_drain(&c);
			}
			FCGX_Detach(&c.req);
		}
		FCGX_Finish_r(&c.req);
		deadline_stop();
		fcgid_gate(1);
		if (max_requests > 0 && ++served >= max_requests)
			break;
	}
	FCGX_Free(&c.req, 1);
	if (ep >= 0)
		close(ep);
	db_free(db);
}

struct worker {
	pid_t	 pid;
	time_t	 started;
	int	 old;     /* from before the last SIGHUP: to be recycled */
	int	 slot;    /* its place in the shared table's list of waiters */
};

static struct worker workers[POOL_MAX_WORKERS];
static int nworkers;
/* Workers told to stop by a recycle, still finishing their request. */
static struct retiree {
	pid_t	 pid;
	int	 slot;
} retired[POOL_MAX_WORKERS * 4];
static int nretired;
/* The rate-limit counters every worker shares (ratetable.c), made before
 * the first fork and kept across SIGHUP; NULL if it could not be made. */
static struct ratetable *rtable;

/*
 * The waiter slot for a new worker in place i: i or i + POOL_MAX_WORKERS,
 * whichever no retired worker still holds, so that a worker recycled by a
 * reload while it waits on a body stays counted until it exits (then its
 * slot is cleared by reap). Two reloads within one drain can leave both
 * held; the new worker then shares i, and the count may be one low while
 * both wait.
 */
static int
waiter_slot(int i)
{
	int k, cand[2] = { i, i + POOL_MAX_WORKERS }, c;

	for (c = 0; c < 2; c++) {
		for (k = 0; k < nretired; k++)
			if (retired[k].slot == cand[c])
				break;
		if (k == nretired)
			return cand[c];
	}
	return i;
}

static pid_t
spawn(int fd, struct worker *w)
{
	pid_t pid;

	w->slot = waiter_slot((int)(w - workers));
	pid = fork();

	if (pid < 0) {
		log_err("pool: fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* Half the workers (at least one) for one tenant's requests
		 * waiting on their bodies: the rest serve everyone else. */
		worker_loop(fd, g_conf.max_requests, rtable, w->slot,
		    nworkers / 2 > 1 ? nworkers / 2 : 1);
		_exit(0);
	}
	w->pid = pid;
	w->started = time(NULL);
	w->old = 0;
	return pid;
}

static int
write_pidfile(const char *path)
{
	FILE *f;

	if (path == NULL)
		return 0;
	if ((f = fopen(path, "w")) == NULL) {
		log_err("pool: %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return 0;
}

/* Give the unix socket at path vigil.conf's group and mode; 0 or -1. */
static int
socket_access(const char *path)
{
	struct group *gr;

	if (g_conf.listen_group[0] != '\0') {
		if ((gr = getgrnam(g_conf.listen_group)) == NULL) {
			log_err("pool: listen_group %s: no such group",
			    g_conf.listen_group);
			return -1;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) != 0) {
			log_err("pool: %s: cannot give it group %s: %s (is "
			    "this user a member of it?)", path,
			    g_conf.listen_group, strerror(errno));
			return -1;
		}
	}
	if (chmod(path, (mode_t)g_conf.listen_mode) != 0) {
		log_err("pool: %s: chmod %04o: %s", path, g_conf.listen_mode,
		    strerror(errno));
		return -1;
	}
	if (g_conf.listen_group[0] == '\0' && (g_conf.listen_mode & 07) == 0)
		log_warn("pool: %s is mode %04o with this process's group and "
		    "no listen_group: the web server can connect only if it "
		    "runs in that group (set listen_group = www-data)", path,
		    g_conf.listen_mode);
	return 0;
}

/* Open the listening socket: "host:port", ":port" or a unix path. */
static int
open_listener(const char *addr)
{
	mode_t old_mask;
	int fd;

	if (addr[0] == '/') {
		struct stat st;

		/* Replace a stale socket, never any other kind of file. */
		if (lstat(addr, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				log_err("pool: %s exists and is not a socket",
				    addr);
				return -1;
			}
			unlink(addr);
		}
		/* Created owner-only, then widened to listen_mode: no
		 * moment where the process umask leaves it open. */
		old_mask = umask(0177);
		fd = FCGX_OpenSocket(addr, 128);
		umask(old_mask);
		/* Who may connect: the socket's group (listen_group, the web
		 * server's) and mode (listen_mode, 0660); a process that
		 * reaches the socket can send any FastCGI parameter,
		 * REMOTE_ADDR included (vigil-api(8)). */
		if (fd >= 0 && socket_access(addr) != 0) {
			close(fd);
			unlink(addr);
			return -1;
		}
	} else
		fd = FCGX_OpenSocket(addr, 128);
	if (fd < 0)
		log_err("pool: cannot listen on %s", addr);
	return fd;
}

/* Reap dead workers; replace them unless draining. */
static void
reap(int fd, int draining)
{
	pid_t pid;
	int status, i, crashed;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < nretired; i++)
			if (retired[i].pid == pid) {
				/* gone: it waits on no body any more */
				if (rtable != NULL)
					ratetable_wait_end(rtable,
					    (unsigned)retired[i].slot);
				retired[i] = retired[--nretired];
				break;
			}
		for (i = 0; i < nworkers; i++) {
			if (workers[i].pid != pid)
				continue;
			if (rtable != NULL)
				ratetable_wait_end(rtable,
				    (unsigned)workers[i].slot);
			crashed = (WIFSIGNALED(status) &&
			    WTERMSIG(status) != SIGTERM) ||
			    (WIFEXITED(status) && WEXITSTATUS(status) != 0);
			if (crashed)
				log_warn("pool: worker %ld died (%s %d)",
				    (long)pid, WIFSIGNALED(status) ?
				    "signal" : "exit status",
				    WIFSIGNALED(status) ? WTERMSIG(status) :
				    WEXITSTATUS(status));
			workers[i].pid = 0;
			if (draining)
				break;
			/* A worker that crashes at once, again and again,
			 * must not turn the master into a fork loop; a
			 * worker recycled after max_requests is replaced
			 * without delay. */
			if (crashed && time(NULL) - workers[i].started < 1)
				sleep(1);
			spawn(fd, &workers[i]);
			break;
		}
	}
	/* Slots left empty by a failed fork are retried here. */
	for (i = 0; i < nworkers && !draining; i++)
		if (workers[i].pid == 0)
			spawn(fd, &workers[i]);
}

static int
alive(void)
{
	int i, n = nretired;

	for (i = 0; i < nworkers; i++)
		if (workers[i].pid > 0)
			n++;
	return n;
}

static void
kill_all(int sig)
{
	int i;

	for (i = 0; i < nworkers; i++)
		if (workers[i].pid > 0)
			kill(workers[i].pid, sig);
	for (i = 0; i < nretired; i++)
		kill(retired[i].pid, sig);
}

/* Replace each worker with a fresh one, one at a time, so that the pool
 * never stops answering. */
static void
recycle(int fd)
{
	int i;

	for (i = 0; i < nworkers; i++)
		workers[i].old = workers[i].pid > 0;
	for (i = 0; i < nworkers; i++) {
		pid_t old;

		if (!workers[i].old)
			continue;
		old = workers[i].pid;
		if (nretired < (int)NELEM(retired)) {
			retired[nretired].pid = old;
			retired[nretired++].slot = workers[i].slot;
		}
		workers[i].pid = 0;
		kill(old, SIGTERM);
		spawn(fd, &workers[i]);
	}
}

int
pool_run(const char *listen, int n, const char *pidfile,
    const char *conffile)
{
	sigset_t block, none;
	struct conf nc;
	char err[512];
	time_t deadline;
	int fd, i;

	if (n < 1 || n > POOL_MAX_WORKERS)
		n = 4;
	if ((fd = open_listener(listen)) < 0)
		return VX_OSERR;
	if (write_pidfile(pidfile) != 0)
		return VX_OSERR;
	signal(SIGPIPE, SIG_IGN);
	set_handler(SIGTERM, on_signal);
	set_handler(SIGINT, on_signal);
	set_handler(SIGHUP, on_signal);
	set_handler(SIGCHLD, on_signal);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&none);

	if ((rtable = ratetable_new()) == NULL)
		log_warn("pool: no shared memory for rate limits (%s); "
		    "counting them in the database", strerror(errno));
	/* The request counters of GET /metrics, which every worker forked
	 * from here counts into (src/http/metrics.c). */
	metrics_use(metrics_new_shared());
	nworkers = n;
	for (i = 0; i < nworkers; i++)
		spawn(fd, &workers[i]);
	log_info("pool: listening on %s with %d workers", listen, nworkers);

	while (!got_term) {
		sigsuspend(&none);
		if (got_chld) {
			got_chld = 0;
			reap(fd, 0);
		}
		if (got_hup && !got_term) {
			got_hup = 0;
			/* A broken file must not replace a working
			 * configuration: load aside, then swap. */
			if (conf_load(&nc, conffile, err, sizeof(err)) != 0) {
				log_reopen();
				log_err("pool: reload: %s; keeping the old "
				    "configuration", err);
				continue;
			}
			/* The log: reopened where it was (logrotate), or
			 * opened where the new file says. */
			if (strcmp(nc.log, g_conf.log) == 0)
				log_reopen();
			else if (log_open("vigil-api", nc.log) != 0) {
				log_err("pool: cannot open log %s; keeping "
				    "%s", nc.log, g_conf.log);
				snprintf(nc.log, sizeof(nc.log), "%s",
				    g_conf.log);
			}
			g_conf = nc;
			log_info("pool: configuration reloaded, recycling "
			    "workers");
			recycle(fd);
		}
	}

	/* Drain: workers finish their current request and exit. */
	log_info("pool: draining %d workers", alive());
	kill_all(SIGTERM);
	deadline = time(NULL) + POOL_DRAIN_SECS;
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	while (alive() > 0 && time(NULL) < deadline) {
		reap(fd, 1);
		if (alive() > 0)
			usleep(50000);
	}
	if (alive() > 0) {
		log_warn("pool: %d workers did not drain in %d s; killing "
		    "them", alive(), POOL_DRAIN_SECS);
		kill_all(SIGKILL);
		while (alive() > 0 && waitpid(-1, NULL, 0) > 0)
			reap(fd, 1);
	}
	reap(fd, 1);
	close(fd);
	ratetable_free(rtable);
	if (listen[0] == '/')
		unlink(listen);
	if (pidfile != NULL)
		unlink(pidfile);
	log_info("pool: stopped");
	return 0;
}
