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
#include "exits.h"
#include "log.h"
#include "metrics.h"
#include "ratetable.h"
#include "request.h"

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
		return VX_SOFTWARE;
	/* No request counters (metrics_use): one request per process,
	 * nothing to count across; GET /metrics answers the database's
	 * figures. */
	/* The body gets request_timeout_ms too (mod_cgi passes it on as
	 * it arrives). */
	if (deadline_init() == 0) {
		cgi_stdin = STDIN_FILENO;
		deadline_start(g_conf.request_timeout_ms);
	}
	/* One request per process: its schema read is this request's. */
	schemagate_start(db);
	dispatch(db, environ, &io);
	fflush(stdout);
	db_free(db);
	return VX_OK;
}

/*
 * Spawned by mod_fcgid (a listening socket on fd 0) with a vigil.conf or
 * a log it cannot open: conf_start has said why on stderr, which
 * mod_fcgid writes to Apache's error log. Exiting would leave the client
 * with mod_fcgid's HTML 500 and mod_fcgid spawning another process that
 * fails alike; instead answer each request with Vigil's JSON 500 (no path
 * or reason in it: those are for the operator's log), trying the files
 * again first. Once they open, that request is answered 503 with
 * Retry-After and the process goes on serving: 0. -1: no socket.
 */
static int
run_unconfigured(const char *cfile, const char **path)
{
	FCGX_Request req;
	struct request r;
	struct buf out;
	int fixed = 0;

	if (FCGX_InitRequest(&req, 0, 0) != 0)
		return -1;
	while (!fixed && FCGX_Accept_r(&req) >= 0) {
		fixed = conf_start("vigil-api", cfile, path) == 0;
		request_init(&r, req.envp);
		if (fixed) {
			log_info("vigil.conf and the log open now: serving");
			response_error(&r, 503, "service_unavailable",
			    "The service is starting; try again.", NULL);
			response_header(&r, "Retry-After", "1");
		} else
			response_error(&r, 500, "internal_error",
			    "The service cannot read its configuration or "
			    "open its log; the web server's error log says "
			    "why.", NULL);
		buf_init(&out, 64 * 1024);
		response_serialize(&r, &out);
		FCGX_PutStr(out.data, (int)out.len, req.out);
		buf_free(&out);
		request_free(&r);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
	return fixed ? 0 : -1;
}

/* The synopsis on stderr and exit 64 after a usage error; with full, the
 * options too, on stdout, and exit 0 (--help). */
static void
usage(int full)
{
	FILE *f = full ? stdout : stderr;

	fprintf(f, "usage: vigil-api [-c file] [--listen addr] "
	    "[--workers n] [--pidfile file]\n"
	    "       vigil-api --help | --version\n");
	if (!full)
		exit(VX_USAGE);
	fprintf(f, "\n"
	    "  -c, --config FILE    vigil.conf (default $VIGIL_CONF, then "
	    "%s/vigil/vigil.conf)\n"
	    "  -l, --listen ADDR    run the pre-fork pool on ADDR (host:port "
	    "or a unix\n"
	    "                       socket path); without it, serve the "
	    "FastCGI socket on\n"
	    "                       standard input (mod_fcgid) or one CGI "
	    "request\n"
	    "  -w, --workers N      the pool's workers, 1 to 256 (default "
	    "workers)\n"
	    "  -p, --pidfile FILE   the pool's pid file\n"
	    "  -h, --help           this help\n"
	    "  -V, --version        the version\n"
	    "\nExit status: 0 done, 64 usage, 70 internal error, 71 cannot "
	    "listen or write\nthe pid file, 77 permission denied, 78 "
	    "configuration (vigil-api(8)).\n", SYSCONFDIR);
	exit(VX_OK);
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
	struct ratetable *rt;
	char *end;
	long workers = 0;
	int ch, rc;

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
				usage(0);
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'h':
			usage(1);
			break;
		case 'V':
			printf("vigil-api %s\n", VIGIL_VERSION);
			return VX_OK;
		default:
			usage(0);
		}
	}
	if (optind != argc)
		usage(0);

	if ((rc = conf_start("vigil-api", cfile, &path)) != 0) {
		if (listen != NULL || FCGX_Init() != 0 || FCGX_IsCGI() ||
		    run_unconfigured(cfile, &path) != 0)
			return rc;
	} else if (FCGX_Init() != 0) {
		log_err("FCGX_Init failed");
		return VX_SOFTWARE;
	}
	if (listen != NULL)
		return pool_run(listen, workers ? (int)workers :
		    g_conf.workers, pidfile, path);
	if (!FCGX_IsCGI()) {
		/* mod_fcgid (or spawn-fcgi) handed us a listening socket.
		 * No master to share counters through: the processes of
		 * one vigil.conf and user count rate limits in a shared
		 * memory object of their own, as a pool's workers do in
		 * their master's mapping; without it (logged), in the
		 * database, exact, one statement each. max_requests does
		 * not apply: mod_fcgid replaces a process that exits only
		 * once a request has found none idle, and that request
		 * sleeps a second first. The process stops
		 * when mod_fcgid tells it to (SIGTERM, between requests). */
		if (g_conf.max_requests > 0)
			log_info("spawned by mod_fcgid: max_requests (%d) "
			    "does not apply", g_conf.max_requests);
		worker_fcgid_mode(path);
		/* No master to share a mapping from: the processes of
		 * one vigil.conf and user share the counters of GET /metrics
		 * through a shared memory object of their own. */
		metrics_use(metrics_attach(path));
		if ((rt = ratetable_attach(path)) == NULL)
			log_warn("spawned by mod_fcgid: no rate-limit counters "
			    "shared with the other processes of %s (%s); "
			    "counting them in the database", path != NULL ?
			    path : "vigil.conf", strerror(errno));
		worker_loop(0, 0, rt, -1, 1);
		return VX_OK;
	}
	if (getenv("GATEWAY_INTERFACE") != NULL)
		return run_cgi();
	fprintf(stderr, "vigil-api: no --listen, no FastCGI socket on "
	    "standard input and no CGI environment\n");
	usage(0);
	return VX_USAGE;
}
