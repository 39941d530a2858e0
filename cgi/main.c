/* main.c: vigil-api, the FastCGI responder, in its three modes: a pre-fork
 * pool (--listen), a process spawned by mod_fcgid (socket on fd 0), or
 * plain CGI for one request. */
#include "vigil.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "api.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"

extern char **environ;

/* Standard input: the body. On expiry /dev/null takes its place; -1:
 * no deadline (no SIGALRM handler). */
static int cgi_stdin = -1;

static long
cgi_read(void *ctx, char *buf, size_t n)
{
	size_t got;

	if (cgi_stdin >= 0)
		deadline_run(&cgi_stdin, DEADLINE_NULL, NULL);
	got = fread(buf, 1, n, (FILE *)ctx);
	deadline_stop();
	if (deadline_expired())
		return API_IO_TIMEOUT;
	if (got == 0 && ferror((FILE *)ctx))
		return -1;
	return (long)got;
}

static int
cgi_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	return fwrite(buf, 1, n, stdout) == n ? 0 : -1;
}

/* Plain CGI: one request from environ and stdin. */
static int
run_cgi(void)
{
	struct api_io io = { cgi_read, cgi_write, NULL, stdin, NULL };
	struct db *db;

	if ((db = db_new(&g_conf)) == NULL)
		return 1;
	/* No request counters (metrics_use): one request per process,
	 * nothing to count across; GET /metrics answers the database's
	 * figures. */
	/* The body gets request_timeout_ms too (mod_cgi passes it on as
	 * it arrives). */
	if (deadline_init() == 0) {
		cgi_stdin = STDIN_FILENO;
		deadline_start(g_conf.request_timeout_ms);
	}
	dispatch(db, environ, &io);
	fflush(stdout);
	db_free(db);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: vigil-api [-c file] [--listen addr] "
	    "[--workers n] [--pidfile file]\n"
	    "       vigil-api --version\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config",  required_argument, NULL, 'c' },
		{ "listen",  required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "version", no_argument,       NULL, 'V' },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfile = NULL, *listen = NULL, *pidfile = NULL, *path;
	char *end;
	long workers = 0;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:l:w:p:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'w':
			workers = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || workers < 1 ||
			    workers > 256)
				usage();
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'V':
			printf("vigil-api %s\n", VIGIL_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	if (conf_start("vigil-api", cfile, &path) != 0)
		return 1;
	if (FCGX_Init() != 0) {
		log_err("FCGX_Init failed");
		return 1;
	}
	if (listen != NULL)
		return pool_run(listen, workers ? (int)workers :
		    g_conf.workers, pidfile, path);
	if (!FCGX_IsCGI()) {
		/* mod_fcgid (or spawn-fcgi) handed us a listening socket.
		 * No master to share counters through: rate limits are
		 * counted in the database, exact, one statement each.
		 * max_requests does not apply: mod_fcgid replaces a process
		 * that exits only once a request has found none idle, and
		 * that request sleeps a second first. The process stops
		 * when mod_fcgid tells it to (SIGTERM, between requests). */
		if (g_conf.max_requests > 0)
			log_info("spawned by mod_fcgid: max_requests (%d) "
			    "does not apply", g_conf.max_requests);
		worker_fcgid_mode(path);
		/* No master to share a mapping from: the processes of
		 * one vigil.conf and user share the counters of GET /metrics
		 * through a shared memory object of their own. */
		metrics_use(metrics_attach(path));
		worker_loop(0, 0, NULL, 0, 1);
		return 0;
	}
	if (getenv("GATEWAY_INTERFACE") != NULL)
		return run_cgi();
	fprintf(stderr, "vigil-api: no --listen, no FastCGI socket on "
	    "standard input and no CGI environment\n");
	usage();
	return 2;
}
