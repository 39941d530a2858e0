/* metrics.h: the API's request counters for GET /metrics, shared by every
 * process of one pool (or of one mod_fcgid class), and the Prometheus
 * text format (version 0.0.4) they and the database's gauges are written
 * in. */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include <stddef.h>

#include "buf.h"

#define METRICS_ROUTES 256   /* cgi/routes.c's ROUTES_MAX */

/* Why a request was refused with 429 (vigil_rate_limited_total). */
enum metrics_refusal { METRICS_RL_READ, METRICS_RL_WRITE, METRICS_RL_INGEST,
    METRICS_RL_BODY_WAIT, METRICS_RL_N };

struct metrics;

/*
 * Where this process counts, set up once before it serves anything:
 * metrics_new_shared in a pool's master before it forks (an anonymous
 * shared mapping its workers inherit), or metrics_attach(conf_path) in a
 * process without a master (mod_fcgid: a POSIX shared memory object named
 * after vigil.conf's absolute path and the user, which every such
 * process of that file and user shares).
 * Either falls back to memory of this process alone (logged); NULL only
 * when not even that could be had. metrics_use makes m the one counted
 * into; metrics_shared says whether it covers more than this process.
 */
struct metrics *metrics_new_shared(void);
struct metrics *metrics_attach(const char *conf_path);
void	 metrics_use(struct metrics *);
int	 metrics_shared(void);

/*
 * Count one answered request: route is its index in the route table
 * (-1: no route matched), head whether a GET route was asked with HEAD,
 * method the request's method (only read when no route matched; any
 * method not in the known set counts as "other"), status the answer's,
 * usec how long it took. A few relaxed atomic additions, no lock.
 */
void	 metrics_request(int route, int head, const char *method, int status,
	    long long usec);
void	 metrics_refused(enum metrics_refusal);
/* A request answered 500 or 503 because of a database error. */
enum metrics_db_error { METRICS_DB_UNAVAILABLE, METRICS_DB_BUSY,
    METRICS_DB_OTHER, METRICS_DB_N };
void	 metrics_db_error(enum metrics_db_error);

/* The route table's labels, for metrics_render_counters. */
struct metrics_route {
	const char	*method;
	const char	*pattern;
};

/* Append every counter and histogram with a non-zero count, and their
 * HELP and TYPE lines, to out. 0, or -1 when out is full. */
int	 metrics_render_counters(struct buf *out,
	    const struct metrics_route *routes, size_t nroutes);

/* Pure writers of the text format. A family's HELP and TYPE lines (help
 * escaped). */
int	 metrics_family(struct buf *out, const char *name, const char *type,
	    const char *help);
/* One sample: name{k1="v1",...} value, labels given as nlabels pairs
 * (name, value) in labels[2 * nlabels], each value escaped (backslash,
 * double quote, newline). value is written as an integer when it is one. */
int	 metrics_sample(struct buf *out, const char *name,
	    const char *const *labels, size_t nlabels, double value);
/* s escaped as a label value into out (outsz): '\\' '"' and newline as
 * \\ \" \n. Returns out; truncated at a character boundary of the escape. */
char	*metrics_escape(const char *s, char *out, size_t outsz);

#endif
