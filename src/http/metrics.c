/*
 * metrics.c: the API's request counters and the Prometheus text format.
 *
 * The counters live in one block of memory shared by every process that
 * serves this host's requests, so that a scrape of any one worker sees
 * them all: a pool's master maps it (MAP_SHARED | MAP_ANONYMOUS) before it
 * forks its workers, who inherit it; processes spawned by mod_fcgid have
 * no master, so they share a POSIX shared memory object (/dev/shm) named
 * after their vigil.conf's path and their user. Each
 * counter is a 64-bit integer added to with a relaxed atomic addition:
 * no lock, nothing a dying worker can leave held, and a request costs a
 * handful of uncontended additions.
 *
 * Cardinality is fixed by the layout, never by requests: a request is
 * counted under its route's template (the table's index, at most
 * METRICS_ROUTES; HEAD on a GET route apart), or, when no route matched,
 * under "unmatched" and its method from a fixed set; its status from a
 * fixed list, anything else as "other". Nothing of a request's path,
 * query or headers becomes a label.
 *
 * A histogram keeps its buckets apart (not cumulative) and no count of
 * its own: the scrape adds them up, so the buckets are cumulative and
 * +Inf equals _count in every scrape, however requests race with it.
 */
#include "vigil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "metrics.h"
#include "shmconf.h"

#define METRICS_MAGIC   0x7669676d65747231ULL  /* "vigmetr1" */
#define METRICS_VERSION 1

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"
};
#define NMETHODS NELEM(methods)

/* Every status vigil-api answers with; anything else is "other". */
static const int statuses[] = {
	200, 201, 202, 204, 206, 304, 400, 401, 403, 404, 405, 406, 409, 410,
	412, 413, 414, 415, 416, 422, 429, 431, 500, 501, 502, 503, 504
};
#define NSTATUS (NELEM(statuses) + 1)

/* Upper bounds of the latency buckets, in microseconds; one more bucket
 * past the last for +Inf. */
static const long long bounds_us[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000
};
#define NBUCKETS (NELEM(bounds_us) + 1)

/* A series: a route as declared, the same GET route asked with HEAD, or
 * no route and a method. */
#define NSERIES (METRICS_ROUTES * 2 + NMETHODS)

static const char *const refusals[METRICS_RL_N] = {
	"read", "write", "ingest", "body_wait"
};
static const char *const db_errors[METRICS_DB_N] = {
	"unavailable", "busy", "other"
};

typedef _Atomic uint64_t counter;

struct metrics {
	uint64_t	 magic;
	uint32_t	 version;
	uint32_t	 size;
	counter		 requests[NSERIES][NSTATUS];
	counter		 latency[NSERIES][NBUCKETS];
	counter		 latency_sum_us[NSERIES];
	counter		 refused[METRICS_RL_N];
	counter		 db_errors[NELEM(db_errors)];
};

/* The block counted into: process configuration, set once before the
 * first request (like g_conf); NULL counts nothing. */
static struct metrics *cur;
static int cur_shared;

/* The magic last: a process that sees it sees the rest (see
 * metrics_attach). */
static void
stamp(struct metrics *m)
{
	m->version = METRICS_VERSION;
	m->size = (uint32_t)sizeof(*m);
	atomic_thread_fence(memory_order_release);
	m->magic = METRICS_MAGIC;
}

/* Memory of this process alone, when nothing can be shared. */
static struct metrics *
private_block(void)
{
	struct metrics *m;

	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	stamp(m);
	return m;
}

struct metrics *
metrics_new_shared(void)
{
	struct metrics *m;

	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		log_warn("metrics: no shared memory (%s); each worker counts "
		    "its own requests", strerror(errno));
		return private_block();
	}
	stamp(m);
	cur_shared = 1;
	return m;
}

/* shmconf_map's init, under the object's lock: a new block is stamped;
 * one left by another layout is not used. */
static int
attach_init(void *p, void *arg)
{
	struct metrics *m = p;

	(void)arg;
	if (m->magic == 0)
		stamp(m);
	return m->magic == METRICS_MAGIC && m->version == METRICS_VERSION &&
	    m->size == sizeof(*m) ? 0 : EINVAL;
}

struct metrics *
metrics_attach(const char *conf_path)
{
	struct metrics *m;

	if ((m = shmconf_map("metrics", conf_path, sizeof(*m), attach_init,
	    NULL)) == NULL) {
		log_warn("metrics: no memory shared with the other processes "
		    "of %s (%s); this process counts its own requests",
		    conf_path != NULL ? conf_path : "vigil.conf",
		    strerror(errno));
		cur_shared = 0;
		return private_block();
	}
	cur_shared = 1;
	return m;
}

void
metrics_use(struct metrics *m)
{
	cur = m;
}

int
metrics_shared(void)
{
	return cur != NULL && cur_shared;
}

static void
add(counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static size_t
method_index(const char *m)
{
	size_t i;

	for (i = 0; i + 1 < NMETHODS; i++)
		if (strcmp(methods[i], m) == 0)
			return i;
	return NMETHODS - 1;
}

static size_t
status_index(int status)
{
	size_t i;

	for (i = 0; i < NELEM(statuses); i++)
		if (statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

void
metrics_request(int route, int head, const char *method, int status,
    long long usec)
{
	size_t s, b;

	if (cur == NULL)
		return;
	if (route >= 0 && route < METRICS_ROUTES)
		s = (size_t)route * 2 + (head ? 1 : 0);
	else
		s = METRICS_ROUTES * 2 + method_index(method ? method : "");
	if (usec < 0)
		usec = 0;
	for (b = 0; b < NELEM(bounds_us) && usec > bounds_us[b]; b++)
		;
	add(&cur->requests[s][status_index(status)], 1);
	add(&cur->latency[s][b], 1);
	add(&cur->latency_sum_us[s], (uint64_t)usec);
}

void
metrics_refused(enum metrics_refusal why)
{
	if (cur != NULL && (unsigned)why < METRICS_RL_N)
		add(&cur->refused[why], 1);
}

void
metrics_db_error(enum metrics_db_error e)
{
	if (cur != NULL && (unsigned)e < METRICS_DB_N)
		add(&cur->db_errors[e], 1);
}

char *
metrics_escape(const char *s, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz == 0)
		return out;
	for (; s != NULL && *s != '\0'; s++) {
		const char *rep = NULL;
		size_t n;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '"')
			rep = "\\\"";
		else if (*s == '\n')
			rep = "\\n";
		n = rep != NULL ? 2 : 1;
		if (o + n >= outsz)
			break;
		if (rep != NULL)
			memcpy(out + o, rep, 2);
		else
			out[o] = *s;
		o += n;
	}
	out[o] = '\0';
	return out;
}

int
metrics_family(struct buf *out, const char *name, const char *type,
    const char *help)
{
	int rc = buf_printf(out, "# HELP %s ", name);

	/* HELP text escapes only the backslash and newline. */
	for (; rc == 0 && *help != '\0'; help++) {
		if (*help == '\\')
			rc = buf_puts(out, "\\\\");
		else if (*help == '\n')
			rc = buf_puts(out, "\\n");
		else
			rc = buf_append(out, help, 1);
	}
	if (rc == 0)
		rc = buf_printf(out, "\n# TYPE %s %s\n", name, type);
	return rc;
}

/* name{k="v",...} with a trailing space. */
static int
sample_head(struct buf *out, const char *name, const char *const *labels,
    size_t nlabels)
{
	char esc[1024];
	size_t i;
	int rc = buf_puts(out, name);

	for (i = 0; rc == 0 && i < nlabels; i++)
		rc = buf_printf(out, "%s%s=\"%s\"", i == 0 ? "{" : ",",
		    labels[2 * i], metrics_escape(labels[2 * i + 1], esc,
		    sizeof(esc)));
	if (rc == 0)
		rc = buf_puts(out, nlabels > 0 ? "} " : " ");
	return rc;
}

int
metrics_sample(struct buf *out, const char *name, const char *const *labels,
    size_t nlabels, double value)
{
	if (sample_head(out, name, labels, nlabels) != 0)
		return -1;
	if (value != value)
		return buf_puts(out, "NaN\n");
	if (value > 1e300 || value < -1e300)
		return buf_puts(out, value > 0 ? "+Inf\n" : "-Inf\n");
	if (value > -9007199254740992.0 && value < 9007199254740992.0 &&
	    (double)(long long)value == value)
		return buf_printf(out, "%lld\n", (long long)value);
	return buf_printf(out, "%.9g\n", value);
}

static int
sample_u64(struct buf *out, const char *name, const char *const *labels,
    size_t nlabels, uint64_t v)
{
	if (sample_head(out, name, labels, nlabels) != 0)
		return -1;
	return buf_printf(out, "%llu\n", (unsigned long long)v);
}

static uint64_t
load(counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* The method and route labels of series s; 0 if the series has no
 * route in the table. */
static int
series_labels(size_t s, const struct metrics_route *routes, size_t nroutes,
    const char **method, const char **route)
{
	if (s >= METRICS_ROUTES * 2) {
		*method = methods[s - METRICS_ROUTES * 2];
		*route = "unmatched";
		return 1;
	}
	if (s / 2 >= nroutes)
		return 0;
	*method = s % 2 ? "HEAD" : routes[s / 2].method;
	*route = routes[s / 2].pattern;
	return 1;
}

int
metrics_render_counters(struct buf *out, const struct metrics_route *routes,
    size_t nroutes)
{
	const char *lab[8];
	char code[16], le[32];
	size_t s, i;
	int rc = 0;

	if (cur == NULL)
		return 0;
	rc |= metrics_family(out, "vigil_http_requests_total", "counter",
	    "Requests answered, by method, route template and status.");
	for (s = 0; s < NSERIES; s++) {
		if (!series_labels(s, routes, nroutes, &lab[1], &lab[3]))
			continue;
		lab[0] = "method";
		lab[2] = "route";
		lab[4] = "status";
		for (i = 0; i < NSTATUS; i++) {
			uint64_t v = load(&cur->requests[s][i]);

			if (v == 0)
				continue;
			if (i < NELEM(statuses))
				snprintf(code, sizeof(code), "%d", statuses[i]);
			else
				snprintf(code, sizeof(code), "other");
			lab[5] = code;
			rc |= sample_u64(out, "vigil_http_requests_total",
			    lab, 3, v);
		}
	}
	rc |= metrics_family(out, "vigil_http_request_duration_seconds",
	    "histogram", "Time from a request's arrival to its answer "
	    "written, by method and route template.");
	for (s = 0; s < NSERIES; s++) {
		uint64_t b[NBUCKETS], total = 0, sum;

		if (!series_labels(s, routes, nroutes, &lab[1], &lab[3]))
			continue;
		for (i = 0; i < NBUCKETS; i++)
			total += b[i] = load(&cur->latency[s][i]);
		if (total == 0)
			continue;
		sum = load(&cur->latency_sum_us[s]);
		lab[0] = "method";
		lab[2] = "route";
		lab[4] = "le";
		total = 0;
		for (i = 0; i < NBUCKETS; i++) {
			total += b[i];
			if (i < NELEM(bounds_us))
				snprintf(le, sizeof(le), "%g",
				    (double)bounds_us[i] / 1e6);
			else
				snprintf(le, sizeof(le), "+Inf");
			lab[5] = le;
			rc |= sample_u64(out,
			    "vigil_http_request_duration_seconds_bucket", lab,
			    3, total);
		}
		rc |= metrics_sample(out,
		    "vigil_http_request_duration_seconds_sum", lab, 2,
		    (double)sum / 1e6);
		rc |= sample_u64(out,
		    "vigil_http_request_duration_seconds_count", lab, 2, total);
	}
	rc |= metrics_family(out, "vigil_rate_limited_total", "counter",
	    "Requests refused with 429: over the key's rate limit (by "
	    "class), or the tenant's share of workers waiting on bodies "
	    "(body_wait).");
	for (i = 0; i < METRICS_RL_N; i++) {
		lab[0] = "reason";
		lab[1] = refusals[i];
		rc |= sample_u64(out, "vigil_rate_limited_total", lab, 1,
		    load(&cur->refused[i]));
	}
	rc |= metrics_family(out, "vigil_db_errors_total", "counter",
	    "Requests answered 503 or 500 because of a database error: "
	    "unreachable, busy (deadlock, lock wait, certification), other.");
	for (i = 0; i < NELEM(db_errors); i++) {
		lab[0] = "error";
		lab[1] = db_errors[i];
		rc |= sample_u64(out, "vigil_db_errors_total", lab, 1,
		    load(&cur->db_errors[i]));
	}
	return rc != 0 ? -1 : 0;
}
