/* imports.c: reports of other tools imported as findings (POST
 * /api/v1/imports, vigilctl findings import --format): the report stored
 * in chunks as it arrives, then read by imports_run (importfmt.c frames
 * and maps it) through the scanner's batch path, with the source of each
 * finding recorded in finding_sources; the import's row, its progress
 * and per-item errors. */
#include "vigil.h"

#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "crypto.h"
#include "db.h"
#include "findings.h"
#include "id.h"
#include "imports.h"
#include "importfmt.h"
#include "lifecycle.h"
#include "log.h"
#include "page.h"
#include "vjson.h"
#include "vtime.h"
#include "worker.h"


/* IMPORT_COLS order (db.c) */
enum {
	IMP_C_SEQ, IMP_C_ID, IMP_C_SOURCE, IMP_C_FORMAT, IMP_C_MODE,
	IMP_C_STATUS, IMP_C_ACTOR, IMP_C_BYTES, IMP_C_ITEMS, IMP_C_IMPORTED,
	IMP_C_PASSED, IMP_C_FAILED, IMP_C_RESOLVED, IMP_C_ERRORS, IMP_C_ERROR,
	IMP_C_CREATED, IMP_C_STARTED, IMP_C_FINISHED, IMP_C_ATTEMPTS,
	IMP_C_NOTE
};

int
imports_source_valid(const char *s)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0'; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.' || *s == ':'))
			return 0;
	return n >= 1 && n <= IMPORT_SOURCE_MAX;
}

struct imports_upload {
	struct db	*db;
	char		 id[VIGIL_ID_LEN];
	char		*buf;
	size_t		 len;
	long long	 size;
	long		 n;
};

static int
upload_flush(struct imports_upload *up)
{
	int rc;

	if (up->len == 0)
		return 0;
	rc = db_exec(up->db, SQL_IMPORT_CHUNK_INSERT, (struct db_val[]){
	    DB_STR(up->id), DB_INT(up->n), DB_STRN(up->buf, up->len) }, 3,
	    NULL);
	if (rc == 0) {
		up->n++;
		up->len = 0;
	}
	return rc;
}

enum imports_outcome
imports_begin(struct db *db, const char *tenant_id, const char *source,
    enum importfmt fmt, enum imports_mode mode, unsigned flags,
    const char *actor, time_t now, struct imports_upload **out, int *rc)
{
	struct imports_upload *up;
	char at[VTIME_SQL_LEN];

	*out = NULL;
	*rc = DB_ERR;
	if ((up = calloc(1, sizeof(*up))) == NULL ||
	    (up->buf = malloc(IMPORT_CHUNK)) == NULL ||
	    id_new("imp", up->id, sizeof(up->id)) != 0)
		goto fail;
	up->db = db;
	vtime_sql(now, at, sizeof(at));
	if ((*rc = db_begin(db)) != 0)
		goto fail;
	if ((*rc = db_exec(db, SQL_IMPORT_INSERT, (struct db_val[]){
	    DB_STR(up->id), DB_STR(tenant_id), DB_STR(source),
	    DB_STR(importfmt_str(fmt)), DB_STR(mode == IMPORT_FULL ? "full" :
	    "partial"), DB_STR(actor), DB_STR(at),
	    DB_INT((flags & IMPORT_ALL_OR_NOTHING) != 0) }, 8, NULL)) != 0) {
		db_rollback(db);
		goto fail;
	}
	*out = up;
	return IMPORT_OK;
fail:
	if (up != NULL)
		free(up->buf);
	free(up);
	return IMPORT_DB_ERROR;
}

enum imports_outcome
imports_write(struct imports_upload *up, const void *data, size_t len,
    int *rc)
{
	const char *p = data;
	size_t take;

	*rc = 0;
	if ((long long)len > IMPORT_MAX_BYTES - up->size)
		return IMPORT_TOO_LARGE;
	up->size += (long long)len;
	while (len > 0) {
		take = IMPORT_CHUNK - up->len;
		if (take > len)
			take = len;
		memcpy(up->buf + up->len, p, take);
		up->len += take;
		p += take;
		len -= take;
		if (up->len == IMPORT_CHUNK && (*rc = upload_flush(up)) != 0)
			return IMPORT_DB_ERROR;
	}
	return IMPORT_OK;
}

static void
upload_free(struct imports_upload *up)
{
	if (up == NULL)
		return;
	free(up->buf);
	free(up);
}

enum imports_outcome
imports_finish(struct imports_upload *up, char *id_out, size_t idsz,
    long long *bytes, int *rc)
{
	enum imports_outcome oc = IMPORT_DB_ERROR;

	if ((*rc = upload_flush(up)) != 0 ||
	    (*rc = db_exec(up->db, SQL_IMPORT_RECEIVED, (struct db_val[]){
	    DB_INT(up->size), DB_INT(up->n), DB_STR(up->id) }, 3,
	    NULL)) != 0 || (*rc = db_commit(up->db)) != 0) {
		db_rollback(up->db);
		goto out;
	}
	snprintf(id_out, idsz, "%s", up->id);
	*bytes = up->size;
	oc = IMPORT_OK;
out:
	upload_free(up);
	return oc;
}

void
imports_abort(struct imports_upload *up)
{
	if (up == NULL)
		return;
	db_rollback(up->db);
	upload_free(up);
}

/* The stored report, read back chunk by chunk. */
struct chunks {
	struct db	*db;
	const char	*id;
	long		 n;
};

/* The next chunk into *res (free it), 0 at the end, or a DB_* code. */
static int
chunk_next(struct chunks *c, struct db_res **res)
{
	int rc;

	*res = NULL;
	if ((rc = db_exec(c->db, SQL_IMPORT_CHUNK, (struct db_val[]){
	    DB_STR(c->id), DB_INT(c->n) }, 2, res)) != 0)
		return rc;
	if ((*res)->nrows == 0 || db_cell(*res, 0, 0) == NULL) {
		db_res_free(*res);
		*res = NULL;
		return 0;
	}
	c->n++;
	return 1;
}

/* One run over a report. */
struct run {
	struct db		*db;
	const char		*tenant_id;
	const char		*import_id;
	const char		*source;
	enum importfmt		 fmt;
	time_t			 now;
	int			 write;		/* the second pass */
	int			 map;		/* this pass maps items */
	int			 all_or_nothing;
	struct importfmt_stream	 tools;		/* SARIF: the runs' tools */
	int			 has_tools;
	long			 items, imported, passed, failed;
	json_object		*errors;
	struct importfmt_finding *fs;
	struct findings_seen	*seen;
	size_t			 n;
	long			 flushes;
	int			 inline_writes;	/* no writer thread */
	int			 rc;		/* a DB_* code stops the run */
	/* The second pass maps the next batch while a writer thread writes
	 * the one before on a connection of its own: w is that batch, as
	 * run_sources reads it (a struct run holding only the import's
	 * identity and the batch), with at most one in flight; its counts
	 * when it was handed over give a failed batch's import the counts
	 * it had when the batch was full, as when batches were written in
	 * turn. The thread (worker.h) lives for the run, started at the
	 * first batch handed over and told to stop by run_pipe_free; rc is
	 * a batch's outcome. */
	struct {
		struct run	*w;
		struct db	*db;
		struct worker	 wk;
		int		 rc;
		long		 items, imported, passed, failed;
		size_t		 nerrors;
	}			 pipe;
	/* The findings a batch left for later (findings_rows' defer_few),
	 * gathered here in the report's order until a batch of them is
	 * full, a later item names one of them, or the pass ends: the
	 * run's own, which the writer's view points to as well (only the
	 * side that writes touches it: the writer while a batch is in
	 * flight, the run after). */
	struct run_deferred {
		struct importfmt_finding *fs;
		size_t		 n;
	}			 defer_store, *defer;
	/* Where the next batch's stored findings likely are (a reimport in
	 * its first import's order): the run's own, which the writer's view
	 * points to as well (one batch is written at a time, in the report's
	 * order). The batches of deferred findings have none. */
	struct findings_hint	 hint_store, *hint;
	/* vigilctl's local report (imports_run_file), read in its place */
	FILE			*fp;
	struct stat		 fst;		/* as it was when claimed */
	long long		 fsize;
	char			*fbuf;		/* one IMPORT_CHUNK */
	unsigned char		(*fsums)[CRYPTO_SHA256_LEN];	/* per chunk */
	int			 fsummed;	/* fsums hold a whole read */
	int			 fchanged;	/* it changed while read */
	int			 ferrno;	/* a read failed: its errno */
	char			 owner[VIGIL_ID_LEN];	/* our lease */
	time_t			 beat;		/* last renewed (the clock) */
	int			 lost;		/* another worker has it */
	int			 stopped;	/* by this signal (imports_stop) */
	long			 resolved_done;	/* by the reconcile's pages */
	char			 note[512];	/* why it reconciled nothing */
};

static volatile sig_atomic_t stop_sig;

void
imports_stop(int sig)
{
	if (stop_sig != 0) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_sig = sig;
}

int
imports_stopped(void)
{
	return stop_sig;
}

/* Renew the lease once IMPORT_BEAT seconds of the clock have passed since
 * the last time (so lease_until changes and the row counts as updated).
 * 0, or -1 with r->rc set: a DB_* code, or r->lost when another worker
 * took the import over (this one then writes nothing more). */
static int
run_beat(struct run *r)
{
	unsigned long long n = 0;
	char until[VTIME_SQL_LEN];
	time_t t = time(NULL);

	if (stop_sig != 0) {
		r->stopped = stop_sig;
		r->rc = DB_ERR;
		return -1;
	}
	if (t - r->beat < IMPORT_BEAT)
		return 0;
	vtime_sql(t + IMPORT_LEASE, until, sizeof(until));
	if ((r->rc = db_exec_affected(r->db, SQL_IMPORT_LEASE,
	    (struct db_val[]){ DB_STR(until), DB_STR(r->import_id),
	    DB_STR(r->owner) }, 3, &n)) != 0)
		return -1;
	if (n == 0) {
		r->lost = 1;
		r->rc = DB_ERR;
		return -1;
	}
	r->beat = t;
	return 0;
}

static void
run_error(struct run *r, const struct importfmt_pos *pos, const char *why)
{
	json_object *e;

	r->failed++;
	if (json_object_array_length(r->errors) >= IMPORT_ERRORS_MAX)
		return;
	e = json_object_new_object();
	json_object_object_add(e, "index",
	    json_object_new_int64((int64_t)pos->index));
	json_object_object_add(e, "line",
	    json_object_new_int64((int64_t)pos->line));
	json_object_object_add(e, "offset",
	    json_object_new_int64((int64_t)pos->offset));
	json_object_object_add(e, "error", json_object_new_string(why));
	json_object_array_add(r->errors, e);
}

/* SQL_SOURCE_UPSERT's 8 parameters for the batch's i-th finding. */
static void
source_row(const struct run *r, struct db_val *v, size_t i, const char *at)
{
	v[0] = DB_STR(r->tenant_id);
	v[1] = DB_STR(r->fs[i].id);
	v[2] = DB_STR(r->source);
	v[3] = DB_STR(importfmt_str(r->fmt));
	v[4] = DB_STR(r->fs[i].external_id);
	v[5] = DB_STR(at);
	v[6] = DB_STR(at);
	v[7] = DB_STR(r->import_id);
}

static int
cmp_seq(const void *a, const void *b)
{
	long long x = ((const struct db_val *)a)->i;
	long long y = ((const struct db_val *)b)->i;

	return x < y ? -1 : x > y;
}

/* Mark the source rows seq[0..n) (the seqs the batch's locked read gave,
 * possibly repeated) seen by this import: as ranges of consecutive seqs
 * when they make at most DB_SEEN_RUNS, else by an IN list. A range holds
 * only seqs that were read, so both change the same rows: on a Galera
 * cluster, whose nodes space their seqs, every row is a range of its own
 * and the IN list serves. 0 or a DB_* code. */
static int
sources_mark(struct db *db, const struct run *r, const char *at,
    struct db_val *seq, size_t n)
{
	struct db_val runs[3 + 2 * DB_SEEN_RUNS], in[2 + DB_MANY];
	size_t i, k = 0;

	qsort(seq, n, sizeof(*seq), cmp_seq);
	runs[0] = in[0] = DB_STR(at);
	runs[1] = in[1] = DB_STR(r->import_id);
	runs[2] = DB_STR(r->tenant_id);
	for (i = 0; i < n; i++) {
		if (k > 0 && (seq[i].i == runs[2 + 2 * k].i ||
		    seq[i].i == runs[2 + 2 * k].i + 1)) {
			runs[2 + 2 * k] = seq[i];
			continue;
		}
		if (k == DB_SEEN_RUNS)
			break;
		runs[3 + 2 * k] = runs[4 + 2 * k] = seq[i];
		k++;
	}
	if (i == n) {
		for (i = k; i < DB_SEEN_RUNS; i++) {
			runs[3 + 2 * i] = runs[3 + 2 * (k - 1)];
			runs[4 + 2 * i] = runs[4 + 2 * (k - 1)];
		}
		return db_exec(db, SQL_SOURCE_SEEN_RUNS, runs, NELEM(runs),
		    NULL);
	}
	/* the IN list's spare places repeat the last seq */
	for (i = 0; i < DB_MANY; i++)
		in[2 + i] = seq[i < n ? i : n - 1];
	return db_exec(db, SQL_SOURCE_SEEN_MANY, in, NELEM(in), NULL);
}

/* The batch's source rows, written in the batch's transaction (a crash
 * leaves a batch's findings with their source or neither), as
 * findings_observe_batch_with's write. The batch's locked read brought
 * each stored finding's row of this source (findings_rows' source: the
 * items' src_*): a row with this format and the item's tool id is only
 * marked (last_seen_at, import_id; no index changes: 0044), by its seq,
 * so a report listed again in its order marks its rows by a few ranges
 * of seq; every other finding (new to the tenant or to this source, a
 * reopened one whose row a full report took away, the tool's id or the
 * format changed) goes through the upsert. An item the batch passed
 * over (its finding named by an earlier item of the import) writes no
 * row: the first item's stays. 0 or a DB_* code. */
static int
run_sources(struct db *db, void *arg)
{
	struct run *r = arg;
	struct db_val seq[DB_MANY], *v = NULL;
	const char *fmt = importfmt_str(r->fmt);
	char at[VTIME_SQL_LEN];
	size_t i, nseen = 0, nup = 0;
	int rc = 0;

	vtime_sql(r->now, at, sizeof(at));
	if ((v = calloc(r->n * 8, sizeof(*v))) == NULL)
		return DB_ERR;
	for (i = 0; i < r->n; i++) {
		const struct findings_seen *s = &r->seen[i];

		/* left for a later batch: its row with it; or an earlier
		 * item of the import named its finding */
		if (s->outcome == FINDINGS_SEEN_DEFERRED ||
		    s->outcome == FINDINGS_SEEN_REPEATED)
			continue;
		if (s->src_seq != 0 && s->src_format != NULL &&
		    s->src_external_id != NULL &&
		    strcmp(s->src_format, fmt) == 0 &&
		    strcmp(s->src_external_id, r->fs[i].external_id) == 0)
			seq[nseen++] = DB_INT(s->src_seq);
		else
			source_row(r, &v[8 * nup++], i, at);
	}
	if (nseen > 0)
		rc = sources_mark(db, r, at, seq, nseen);
	if (rc == 0)
		rc = db_exec_rows(db, SQL_SOURCE_UPSERT_64, v, 8, nup);
	free(v);
	return rc;
}

/* The batch's view of f, a finding of the import's source. */
static void
seen_set(struct findings_seen *s, const struct importfmt_finding *f,
    const char *source)
{
	memset(s, 0, sizeof(*s));
	s->obs.rule_id = f->rule_id;
	s->obs.provider = f->provider;
	s->obs.subscription_id = f->subscription_id;
	s->obs.environment = f->environment;
	s->obs.resource_id = f->resource_id;
	s->obs.title = f->title;
	s->obs.severity = f->severity;
	s->obs.category = f->category;
	s->obs.layer = f->layer;
	s->obs.framework = f->framework;
	s->obs.description = f->description;
	s->obs.recommendation = f->recommendation;
	s->obs.resource_name = f->resource_name;
	s->obs.resource_type = f->resource_type;
	s->obs.resource_group = f->resource_group;
	s->obs.region = f->region;
	s->obs.account = f->account;
	s->obs.tags = f->tags;
	s->obs.source = source;
	s->evidence = f->evidence;
	s->evlen = strlen(f->evidence);
	memcpy(s->fingerprint, f->fingerprint, sizeof(s->fingerprint));
	memcpy(s->id, f->id, sizeof(s->id));
}

static void
run_clear(struct run *r)
{
	for (; r->n > 0; r->n--)
		importfmt_finding_clear(&r->fs[r->n - 1]);
}

/* Write the batch w holds: the findings through the scanner's batch,
 * with the source on each, on db; with defer, a few changed findings
 * may be left for later (their items' outcome says so). 0 or a DB_*
 * code. */
static int
run_write_batch(struct db *db, struct run *w, int defer)
{
	struct findings_rows rows;

	memset(&rows, 0, sizeof(rows));
	rows.write = run_sources;
	rows.arg = w;
	rows.source = w->source;
	rows.import_id = w->import_id;
	rows.defer_few = defer;
	rows.hint = w->hint;
	return findings_observe_batch_with(db, w->tenant_id, w->seen, w->n,
	    w->now, NULL, &rows);
}

/* Write the deferred findings of w's run as a batch of their own, in the
 * order they were left. 0 or a DB_* code (they are dropped either way:
 * a failed write stops the run). */
static int
defer_flush(struct db *db, struct run *w)
{
	struct run_deferred *d = w->defer;
	struct findings_seen *seen;
	struct run v;
	size_t i;
	int rc;

	if (d == NULL || d->n == 0)
		return 0;
	if ((seen = calloc(d->n, sizeof(*seen))) == NULL)
		rc = DB_ERR;
	else {
		memset(&v, 0, sizeof(v));
		v.tenant_id = w->tenant_id;
		v.import_id = w->import_id;
		v.source = w->source;
		v.fmt = w->fmt;
		v.now = w->now;
		v.fs = d->fs;
		v.seen = seen;
		v.n = d->n;
		for (i = 0; i < d->n; i++)
			seen_set(&seen[i], &d->fs[i], w->source);
		rc = run_write_batch(db, &v, 0);
		free(seen);
	}
	for (i = 0; i < d->n; i++)
		importfmt_finding_clear(&d->fs[i]);
	d->n = 0;
	return rc;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 if a finding w's batch names was left for later: the deferred ones
 * are written first, so that the earlier item is the one that stays
 * (the later one's batch finds the finding's row of the source marked
 * by this import, and passes it over: findings_rows' import_id). */
static int
defer_named(const struct run *w)
{
	const struct run_deferred *d = w->defer;
	const char **ids, *key;
	size_t i;
	int hit = 0;

	if (d == NULL || d->n == 0 || w->n == 0)
		return 0;
	if ((ids = malloc(w->n * sizeof(*ids))) == NULL)
		return 1;
	for (i = 0; i < w->n; i++)
		ids[i] = w->fs[i].id;
	qsort(ids, w->n, sizeof(*ids), cmp_strp);
	for (i = 0; i < d->n && !hit; i++) {
		key = d->fs[i].id;
		hit = bsearch(&key, ids, w->n, sizeof(*ids), cmp_strp) != NULL;
	}
	free(ids);
	return hit;
}

/* Write the batch w holds, leaving a few changed findings for later when
 * defer is set (taken from w's batch into its run's deferred ones, which
 * are written whenever FINDINGS_BATCH of them are gathered); the
 * deferred ones first if the batch names one of them. 0 or a DB_*
 * code. */
static int
run_write_defer(struct db *db, struct run *w, int defer)
{
	struct run_deferred *d = w->defer;
	size_t i;
	int rc;

	if (d == NULL)
		defer = 0;
	if (d != NULL && defer_named(w) && (rc = defer_flush(db, w)) != 0)
		return rc;
	if ((rc = run_write_batch(db, w, defer)) != 0 || !defer)
		return rc;
	for (i = 0; i < w->n; i++) {
		struct importfmt_finding *f = &w->fs[i];

		if (w->seen[i].outcome != FINDINGS_SEEN_DEFERRED)
			continue;
		if (d->fs == NULL && (d->fs = calloc(FINDINGS_BATCH,
		    sizeof(*d->fs))) == NULL)
			return DB_ERR;
		if (d->n == FINDINGS_BATCH && (rc = defer_flush(db, w)) != 0)
			return rc;
		/* the strings go with it */
		d->fs[d->n++] = *f;
		f->description = f->recommendation = f->evidence = NULL;
		f->tags = NULL;
	}
	return 0;
}

static int
run_write(struct db *db, struct run *w)
{
	return run_write_defer(db, w, 1);
}

#ifdef VIGIL_DEBUG
/* VIGIL_DEBUG_IMPORT_SLOW_WRITE (debug builds only): milliseconds (1 to
 * 10000) the writer waits before each batch, so that a test's report is
 * read to its end while its last batch is still being written: what
 * follows the read (the full report's resolutions, the import's end)
 * must wait for it (T397). Said once a process. */
static void
debug_slow_write(void)
{
	static int ms = -1;
	const char *v;
	struct timespec ts;
	int m;

	if ((m = __atomic_load_n(&ms, __ATOMIC_SEQ_CST)) < 0) {
		v = getenv("VIGIL_DEBUG_IMPORT_SLOW_WRITE");
		m = v != NULL ? (int)strtol(v, NULL, 10) : 0;
		if (m < 1 || m > 10000)
			m = 0;
		else
			log_warn("VIGIL_DEBUG_IMPORT_SLOW_WRITE: each batch "
			    "written %d ms late", m);
		__atomic_store_n(&ms, m, __ATOMIC_SEQ_CST);
	}
	if (m == 0)
		return;
	ts.tv_sec = m / 1000;
	ts.tv_nsec = (long)(m % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
#endif

/* The batch handed over, on the writer's connection (in the writer
 * thread, if it could be started: worker.h). */
static void
writer_main(void *arg)
{
	struct run *r = arg;

#ifdef VIGIL_DEBUG
	debug_slow_write();
#endif
	r->pipe.rc = run_write(r->pipe.db, r->pipe.w);
}

/* Wait for the batch in flight, if any. 0 or its DB_* code: then the run
 * is stopped there, with the counts and errors it had when that batch
 * was full (the items mapped since are not the import's). */
static int
run_join(struct run *r)
{
	size_t n;

	if (!worker_wait(&r->pipe.wk))
		return 0;
	run_clear(r->pipe.w);
	if (r->pipe.rc == 0)
		return 0;
	db_error_take(r->db, r->pipe.db);
	r->items = r->pipe.items;
	r->imported = r->pipe.imported;
	r->passed = r->pipe.passed;
	r->failed = r->pipe.failed;
	n = json_object_array_length(r->errors);
	if (n > r->pipe.nerrors)
		json_object_array_del_idx(r->errors, r->pipe.nerrors,
		    n - r->pipe.nerrors);
	return r->pipe.rc;
}

/* The writer's view of the run and its connection, made at the first
 * batch handed over. 0 or DB_ERR. */
static int
run_pipe(struct run *r)
{
	struct run *w;

	if (r->pipe.w != NULL)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->fs = calloc(FINDINGS_BATCH, sizeof(*w->fs))) == NULL ||
	    (w->seen = calloc(FINDINGS_BATCH, sizeof(*w->seen))) == NULL ||
	    (r->pipe.db = db_new_like(r->db)) == NULL) {
		if (w != NULL) {
			free(w->fs);
			free(w->seen);
		}
		free(w);
		return DB_ERR;
	}
#ifdef VIGIL_DEBUG
	{
		/* the refused commits a test asked of the import's
		 * connection, on the writer's too */
		int dc = db_debug_conflicts(r->db, 0);

		db_debug_conflicts(r->db, dc);
		db_debug_conflicts(r->pipe.db, dc);
	}
#endif
	w->tenant_id = r->tenant_id;
	w->import_id = r->import_id;
	w->source = r->source;
	w->fmt = r->fmt;
	w->now = r->now;
	w->defer = r->defer;
	w->hint = r->hint;
	r->pipe.w = w;
	return 0;
}

static void
run_pipe_free(struct run *r)
{
	size_t i;

	(void)run_join(r);
	worker_stop(&r->pipe.wk);
	/* a run stopped before writing what it left for later */
	for (i = 0; i < r->defer_store.n; i++)
		importfmt_finding_clear(&r->defer_store.fs[i]);
	free(r->defer_store.fs);
	r->defer_store.fs = NULL;
	r->defer_store.n = 0;
	if (r->pipe.w != NULL) {
		free(r->pipe.w->fs);
		free(r->pipe.w->seen);
		free(r->pipe.w);
		r->pipe.w = NULL;
	}
	db_free(r->pipe.db);
	r->pipe.db = NULL;
}

/* Write the batch being filled: once the one in flight is written, a
 * full batch is handed to the writer thread, and the next one is mapped
 * meanwhile; the last one (last set) is written here, on the import's
 * connection, so a report of one batch (most reports sent to the API)
 * needs no thread and no second connection. Batches are written one at
 * a time, in the report's order, each in its own transaction. 0 or a
 * DB_* code (the run stops; nothing after the failed batch is written). */
static int
run_flush(struct run *r, int last)
{
	struct importfmt_finding *fs;
	struct findings_seen *seen;
	size_t i;
	int rc;

	if ((rc = run_join(r)) != 0 || r->n == 0)
		goto out;
	for (i = 0; i < r->n; i++)
		seen_set(&r->seen[i], &r->fs[i], r->source);
	if (last || r->inline_writes) {
		/* The last batch leaves none for later unless some are
		 * there already: they are written next, together. */
		rc = run_write_defer(r->db, r, !last || (r->defer != NULL &&
		    r->defer->n > 0));
		run_clear(r);
		if (rc != 0)
			return rc;
	} else {
		if ((rc = run_pipe(r)) != 0)
			goto out;
		/* the batch to the writer's view, its buffers to be filled */
		fs = r->pipe.w->fs;
		seen = r->pipe.w->seen;
		r->pipe.w->fs = r->fs;
		r->pipe.w->seen = r->seen;
		r->pipe.w->n = r->n;
		r->fs = fs;
		r->seen = seen;
		r->n = 0;
		r->pipe.items = r->items;
		r->pipe.imported = r->imported;
		r->pipe.passed = r->passed;
		r->pipe.failed = r->failed;
		r->pipe.nerrors = json_object_array_length(r->errors);
		r->pipe.rc = DB_ERR;
		if (worker_hand(&r->pipe.wk, writer_main, r) != 0) {
			/* No thread: write it here, on the writer's
			 * connection. */
			writer_main(r);
			run_clear(r->pipe.w);
			if ((rc = r->pipe.rc) != 0) {
				db_error_take(r->db, r->pipe.db);
				return rc;
			}
		}
	}
	/* GET /imports/{id} shows the progress every 16 batches */
	if (++r->flushes % 16 == 0 && (rc = db_exec(r->db,
	    SQL_IMPORT_PROGRESS, (struct db_val[]){
	    DB_INT(r->items), DB_INT(r->imported), DB_INT(r->passed),
	    DB_INT(r->failed), DB_STR(r->import_id), DB_STR(r->owner) }, 6,
	    NULL)) != 0)
		return rc;
	if (run_beat(r) != 0)
		return r->rc;
	return 0;
out:
	run_clear(r);
	return rc;
}

static int
run_item(void *arg, json_object *item, json_object *ctx,
    const struct importfmt_pos *pos, const char *why)
{
	struct run *r = arg;
	struct importfmt_finding *f = &r->fs[r->n];
	char err[400];
	enum importfmt_map_result m;

	r->items++;
	if (item == NULL) {
		run_error(r, pos, why);
		return 0;
	}
	m = importfmt_map(r->fmt, item, ctx, f, err, sizeof(err));
	if (m == IMPORTFMT_BAD) {
		importfmt_finding_clear(f);
		run_error(r, pos, err);
		return 0;
	}
	if (m == IMPORTFMT_PASS) {
		importfmt_finding_clear(f);
		r->passed++;
		return 0;
	}
	r->imported++;
	if (!r->write) {
		importfmt_finding_clear(f);
		return 0;
	}
	if (++r->n == FINDINGS_BATCH && (r->rc = run_flush(r, 0)) != 0)
		return 1;
	return 0;
}

/* 1 if the local report is the file it was when claimed (the same file,
 * size, modification and change times). */
static int
file_same(const struct run *r)
{
	struct stat sb;

	return fstat(fileno(r->fp), &sb) == 0 &&
	    sb.st_dev == r->fst.st_dev && sb.st_ino == r->fst.st_ino &&
	    sb.st_size == r->fst.st_size &&
	    sb.st_mtim.tv_sec == r->fst.st_mtim.tv_sec &&
	    sb.st_mtim.tv_nsec == r->fst.st_mtim.tv_nsec &&
	    sb.st_ctim.tv_sec == r->fst.st_ctim.tv_sec &&
	    sb.st_ctim.tv_nsec == r->fst.st_ctim.tv_nsec;
}

/* Feed the local report to st as run_feed feeds the stored one, in the
 * same IMPORT_CHUNK pieces. A read after the first starts only if the
 * file's size and times are still those it had when claimed. The first
 * whole read keeps each piece's SHA-256; every later read checks each
 * piece against it before feeding it, so no read ever hands on a byte
 * the first read did not frame: a file changed, cut or grown between or
 * during the reads sets r->fchanged and stops the read (1) before its
 * changed piece. */
static int
run_feed_file(struct run *r, struct importfmt_stream *st)
{
	unsigned char sum[CRYPTO_SHA256_LEN];
	long long total = 0;
	size_t n, k = 0;

	if ((r->fsummed && !file_same(r)) ||
	    fseeko(r->fp, 0, SEEK_SET) != 0) {
		r->fchanged = 1;
		return 1;
	}
	while ((n = fread(r->fbuf, 1, IMPORT_CHUNK, r->fp)) > 0) {
		total += (long long)n;
		if (total > r->fsize) {
			r->fchanged = 1;
			return 1;
		}
		crypto_sha256(r->fbuf, n, sum);
		if (!r->fsummed)
			memcpy(r->fsums[k], sum, sizeof(sum));
		else if (memcmp(r->fsums[k], sum, sizeof(sum)) != 0) {
			r->fchanged = 1;
			return 1;
		}
		k++;
		if (importfmt_feed(st, r->fbuf, n) != 0)
			return 1;
		if (run_beat(r) != 0) {
			st->stopped = 1;
			return 1;
		}
	}
	if (ferror(r->fp)) {
		r->ferrno = errno != 0 ? errno : EIO;
		return 1;
	}
	if (total != r->fsize) {
		r->fchanged = 1;
		return 1;
	}
	r->fsummed = 1;
	return importfmt_finish(st) != 0;
}

/* Feed the stored report to st. 0, 1 when the stream failed (st's error,
 * or st->stopped with r->rc when the lease was lost or a batch failed), or
 * a DB_* code. */
static int
run_feed(struct run *r, struct importfmt_stream *st)
{
	struct chunks c = { r->db, r->import_id, 0 };
	struct db_res *res = NULL;
	int rc, bad = 0;

	if (r->fp != NULL)
		return run_feed_file(r, st);

	while ((rc = chunk_next(&c, &res)) == 1) {
		bad = importfmt_feed(st, db_cell(res, 0, 0), res->lens[0]);
		db_res_free(res);
		if (bad != 0)
			return 1;
		/* a pass may write nothing for a while: a report of 100 MiB
		 * is read for a while */
		if (run_beat(r) != 0) {
			st->stopped = 1;
			return 1;
		}
	}
	if (rc < 0)
		return rc;
	return importfmt_finish(st) != 0;
}

/* One pass over the stored report. 0, 1 with why set (the report is
 * not one), or a DB_* code.
 *
 * The first pass (r->write unset) checks the report and writes nothing.
 * It only frames it (importfmt's frame_only: each item delimited and
 * counted, not parsed), since whether the report is one does not depend
 * on any item's own text; a SARIF report's framing is checked by the
 * read that keeps its runs' tools (run->tools, kept for the second
 * pass); only a report imported whole or not at all is mapped as well,
 * to know before writing whether any item fails. The second pass parses,
 * maps and writes each item once, and lists the items that fail. */
static int
run_pass(struct run *r, char *why, size_t whysz)
{
	struct importfmt_stream st, *s = &st;
	int rc, rc2;

	r->items = r->imported = r->passed = r->failed = 0;
	r->map = r->write || r->all_or_nothing;
	if (r->map) {
		json_object_put(r->errors);
		if ((r->errors = json_object_new_array()) == NULL)
			return DB_ERR;
	}
	importfmt_init(&st, r->fmt, 0, run_item, r);
	if (r->fmt == IMPORTFMT_SARIF) {
		/* the runs' tools first: they may follow their results */
		if (!r->has_tools) {
			importfmt_init(&r->tools, r->fmt, 1, NULL, NULL);
			r->has_tools = 1;
			s = &r->tools;
			if ((rc = run_feed(r, s)) != 0 || !r->map)
				goto end;
		}
		importfmt_take_ctx(&st, &r->tools);
		/* mapped in both passes: the second reads them again */
		if (!r->write) {
			importfmt_free(&r->tools);
			r->has_tools = 0;
		}
	} else if (!r->map)
		st.frame_only = 1;
	s = &st;
	rc = run_feed(r, s);
end:
	if (rc == 1 && s->stopped) {
		rc = r->rc ? r->rc : DB_ERR;
		goto out;
	}
	if (rc == 1 && r->ferrno != 0) {
		snprintf(why, whysz, "the file could not be read: %s%s",
		    strerror(r->ferrno), r->flushes > 0 ?
		    "; what was written before stays" : "");
		goto out;
	}
	if (rc == 1 && r->fchanged) {
		snprintf(why, whysz, "the file changed while it was read "
		    "(its size or its bytes differ from the first read)%s",
		    r->flushes > 0 ? "; what was written before stays" : "");
		goto out;
	}
	if (rc == 1) {
		snprintf(why, whysz, "%s", s->err);
		rc = 1;
		goto out;
	}
	if (rc < 0)
		goto out;
	if (!r->map)
		r->items = (long)s->items;
	/* the last batch, once the one before it is written, then what
	 * the batches left for later */
	rc = r->write ? run_flush(r, 1) : 0;
	if (rc == 0 && r->write)
		rc = defer_flush(r->db, r);
out:
	/* Stopped or not, the batch in flight is written (or failed) before
	 * the run goes on: a failed one's DB_* code is the run's. */
	if ((rc2 = run_join(r)) != 0 && rc >= 0)
		rc = rc2;
	/* Stopped after that batch was written (a signal, a local file
	 * changed or unreadable): the few changes the batches written left
	 * for later are written now, so that each batch handed over is
	 * whole; and the items mapped since the last one, not written, are
	 * not counted as imported. A lost lease writes nothing more. */
	if (rc2 == 0 && r->write && !r->lost) {
		if ((r->stopped || r->fchanged || r->ferrno != 0) &&
		    (rc2 = defer_flush(r->db, r)) != 0)
			log_warn("import %s: the changes left for later could "
			    "not be written (database error %d)", r->import_id,
			    rc2);
		r->imported -= (long)r->n;
	}
	run_clear(r);
	importfmt_free(&st);
	return rc;
}

/* findings_source_gone's check, under the tenant's lock: 1 (and r's
 * note) when another import of the source ran beside this one
 * (run_register named it). Its marks on the source's rows carry its own
 * import_id, so the rows it listed would look gone from this report.
 * 0, or a DB_* code. */
static int
run_overlap(struct db *db, void *arg)
{
	struct run *r = arg;
	struct db_res *res = NULL;
	int rc;

	if ((rc = db_exec(db, SQL_IMPORT_OVERLAP_GET, (struct db_val[]){
	    DB_STR(r->import_id) }, 1, &res)) != 0)
		return rc;
	if (res->nrows > 0) {
		snprintf(r->note, sizeof(r->note), "not reconciled: import "
		    "%s of this source ran at the same time, and what it "
		    "listed cannot be told from what this report no longer "
		    "lists; nothing more was resolved (the next full import "
		    "of the source resolves what it does not list)",
		    db_cell(res, 0, 0));
		rc = 1;
	}
	db_res_free(res);
	return rc;
}

/* A full report: the findings of the source it no longer lists lose the
 * source; those no source reports any more are resolved. Each page of
 * the walk is one transaction (findings_source_gone): a run stopped
 * between pages leaves the rest of the source's rows for the next full
 * import, never a row gone with its finding left open. A page stops
 * the walk when another import of the source ran beside this one
 * (run_overlap). */
static long
run_reconcile(struct run *r)
{
	struct db_res *abs = NULL;
	const char *ids[DB_MANY];
	long long after = 0;
	long total = 0, got;
	size_t i, n;
	int rc;

	/* One walk of the source's rows in seq order, a batch at a time. */
	for (;;) {
		if ((rc = db_exec(r->db, SQL_SOURCE_ABSENT, (struct db_val[]){
		    DB_STR(r->tenant_id), DB_STR(r->source), DB_INT(after),
		    DB_STR(r->import_id) }, 4, &abs)) != 0)
			return rc;
		if ((n = abs->nrows) == 0)
			break;
		after = db_cell_int(abs, n - 1, 0);
		for (i = 0; i < n && i < DB_MANY; i++)
			ids[i] = db_cell(abs, i, 1);
		got = findings_source_gone(r->db, r->tenant_id, r->source, ids,
		    i, r->now, run_overlap, r);
		db_res_free(abs);
		abs = NULL;
		if (got == FINDINGS_HELD) {
			log_warn("import %s: %s", r->import_id, r->note);
			break;
		}
		if (got < 0)
			return got;
		total += got;
		r->resolved_done = total;
		if (run_beat(r) != 0)
			return r->rc;
	}
	db_res_free(abs);
	return total;
}

/* What an import's audit entry holds: who imported what, and how it went
 * (the importer is the entry's actor). */
struct imp_info {
	char		 tenant[VIGIL_ID_LEN];
	char		 source[IMPORT_SOURCE_MAX + 1];
	char		 format[16];
	char		 mode[16];
	char		 actor[128];
	long long	 bytes;
	long		 chunks;
	long		 attempts;
	int		 all_or_nothing;
};

static json_object *
audit_detail(const struct imp_info *in, const char *status,
    const struct run *r, long resolved, const char *error)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "source", json_object_new_string(
	    in->source));
	json_object_object_add(d, "format", json_object_new_string(
	    in->format));
	json_object_object_add(d, "mode", json_object_new_string(in->mode));
	json_object_object_add(d, "status", json_object_new_string(status));
	json_object_object_add(d, "created_by", json_object_new_string(
	    in->actor));
	json_object_object_add(d, "bytes", json_object_new_int64(in->bytes));
	json_object_object_add(d, "items", json_object_new_int64(
	    r ? r->items : 0));
	json_object_object_add(d, "imported", json_object_new_int64(
	    r ? r->imported : 0));
	json_object_object_add(d, "passed", json_object_new_int64(
	    r ? r->passed : 0));
	json_object_object_add(d, "failed", json_object_new_int64(
	    r ? r->failed : 0));
	json_object_object_add(d, "resolved", json_object_new_int64(
	    resolved));
	json_object_object_add(d, "attempts", json_object_new_int64(
	    in->attempts));
	json_object_object_add(d, "error", vjson_new_string_or_null(error));
	if (r != NULL && r->note[0] != '\0')
		json_object_object_add(d, "note",
		    json_object_new_string(r->note));
	return d;
}

/* End the import as the worker holding its lease: its row, its chunks
 * gone, and its audit entry, in finish's transaction. 0, 1 when the lease
 * was lost (another worker has the import; nothing written), or a DB_*
 * (db_tx_run rolls the transaction back). */
static int
finish_once(struct db *db, const struct imp_info *in, const char *id,
    const char *status, time_t now, const struct run *r, long resolved,
    const char *error)
{
	unsigned long long n = 0;
	char at[VTIME_SQL_LEN], action[32];
	size_t len;
	const char *errs = vjson_str(r->errors, &len);
	const char *note = r->note[0] != '\0' ? r->note : NULL;

	json_object *detail;
	int rc;

	vtime_sql(now, at, sizeof(at));
	snprintf(action, sizeof(action), "import.%s", status);
	if ((rc = db_exec_affected(db, SQL_IMPORT_FINISH, (struct db_val[]){
	    DB_STR(status), DB_STR(at), DB_INT(r->items), DB_INT(r->imported),
	    DB_INT(r->passed), DB_INT(r->failed), DB_INT(resolved),
	    DB_STRN(errs, len), DB_STR0(error),
	    DB_STR0(note), DB_STR(id),
	    DB_STR(r->owner) }, 12, &n)) != 0)
		return rc;
	if (n == 0) {
		db_rollback(db);	/* nothing to commit */
		return 1;
	}
	if ((rc = db_exec(db, SQL_IMPORT_CHUNKS_DELETE, (struct db_val[]){
	    DB_STR(id) }, 1, NULL)) != 0)
		return rc;
	detail = audit_detail(in, status, r, resolved, error);
	rc = audit_append(db, in->tenant, in->actor, action, id, detail);
	json_object_put(detail);
	return rc;
}

/* finish runs finish_once in db_tx_run, replayed whole after a deadlock
 * or a certification failure. */
struct finish_tx {
	const struct imp_info *in;
	const char *id;
	const char *status;
	time_t now;
	const struct run *r;
	long resolved;
	const char *error;
	int	 res;
};

static int
finish_tx(struct db *db, void *arg)
{
	struct finish_tx *t = arg;

	t->res = finish_once(db, t->in, t->id, t->status, t->now, t->r,
	    t->resolved, t->error);
	return t->res < 0 ? t->res : 0;
}

static int
finish(struct db *db, const struct imp_info *in, const char *id,
    const char *status, time_t now, const struct run *r, long resolved,
    const char *error)
{
	struct finish_tx t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.in = in;
	t.id = id;
	t.status = status;
	t.now = now;
	t.r = r;
	t.resolved = resolved;
	t.error = error;
	if ((rc = db_tx_run(db, finish_tx, &t)) != 0)
		return rc;
	return t.res;
}

/* An import whose lease passed IMPORT_ATTEMPTS times: failed, with why,
 * and audited by the system, in abandon's transaction. 1 done, 0 not (not
 * due, or not that), or a DB_* code (db_tx_run rolls back). */
static int
abandon_once(struct db *db, const struct imp_info *in, const char *id,
    time_t now, time_t clock)
{
	static const char why[] = "the import's worker stopped before "
	    "finishing (killed, crashed or its machine lost) on each of its "
	    "attempts; what was written before stays";
	unsigned long long n = 0;
	char at[VTIME_SQL_LEN], t[VTIME_SQL_LEN];
	json_object *detail;
	int rc;

	vtime_sql(now, at, sizeof(at));
	vtime_sql(clock, t, sizeof(t));
	if ((rc = db_exec_affected(db, SQL_IMPORT_ABANDON, (struct db_val[]){
	    DB_STR(at), DB_STR(why), DB_STR(id), DB_STR(t),
	    DB_INT(IMPORT_ATTEMPTS) }, 5, &n)) != 0)
		return rc;
	if (n == 0) {
		db_rollback(db);	/* nothing to commit */
		return 0;
	}
	if ((rc = db_exec(db, SQL_IMPORT_CHUNKS_DELETE, (struct db_val[]){
	    DB_STR(id) }, 1, NULL)) != 0)
		return rc;
	detail = audit_detail(in, "failed", NULL, 0, why);
	rc = audit_append(db, in->tenant, LC_BY_SYSTEM, "import.failed", id,
	    detail);
	json_object_put(detail);
	if (rc != 0)
		return rc;
	log_warn("import %s: failed after %d attempts", id, IMPORT_ATTEMPTS);
	return 1;
}

/* abandon runs abandon_once in db_tx_run, replayed whole after a deadlock
 * or a certification failure. */
struct abandon_tx {
	const struct imp_info *in;
	const char *id;
	time_t now;
	time_t clock;
	int	 r;
};

static int
abandon_tx(struct db *db, void *arg)
{
	struct abandon_tx *t = arg;

	t->r = abandon_once(db, t->in, t->id, t->now, t->clock);
	return t->r < 0 ? (int)t->r : 0;
}

static int
abandon(struct db *db, const struct imp_info *in, const char *id,
    time_t now, time_t clock)
{
	struct abandon_tx t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.in = in;
	t.id = id;
	t.now = now;
	t.clock = clock;
	if ((rc = db_tx_run(db, abandon_tx, &t)) != 0)
		return rc;
	return t.r;
}

/* The import's row as imports_run needs it. 1, 0 no such import, or a
 * DB_* code. */
static int
info_load(struct db *db, const char *id, struct imp_info *in)
{
	struct db_res *res = NULL;
	int rc;

	memset(in, 0, sizeof(*in));
	/* tenant_id is not in IMPORT_COLS (the API never shows it) */
	if ((rc = db_exec(db, SQL_IMPORT_DUE_ONE, (struct db_val[]){
	    DB_STR(id) }, 1, &res)) != 0)
		return rc;
	if ((rc = res->nrows == 1)) {
		snprintf(in->tenant, sizeof(in->tenant), "%s",
		    db_cell(res, 0, 0));
		snprintf(in->source, sizeof(in->source), "%s",
		    db_cell(res, 0, 1));
		snprintf(in->format, sizeof(in->format), "%s",
		    db_cell(res, 0, 2));
		snprintf(in->mode, sizeof(in->mode), "%s", db_cell(res, 0, 3));
		snprintf(in->actor, sizeof(in->actor), "%s",
		    db_cell(res, 0, 4));
		in->bytes = db_cell_int(res, 0, 5);
		in->attempts = (long)db_cell_int(res, 0, 6);
		in->all_or_nothing = db_cell_int(res, 0, 7) != 0;
		in->chunks = (long)db_cell_int(res, 0, 8);
	}
	db_res_free(res);
	return rc;
}

/* An import about to write while another of its source runs under a
 * live lease (a worker's, or one killed less than IMPORT_LEASE seconds
 * ago): each names the other in overlap_id, which keeps either full
 * report from resolving anything (run_overlap). An import taken over
 * by another worker reads its whole report again, after whatever ran
 * beside its earlier attempt: what that attempt was named is forgotten
 * first. The findings that attempt wrote carry the import's id, so
 * their items are passed over (findings_rows' import_id: it wrote them
 * from the same first items), and a change made to one of them in
 * between, by hand, stays. Under the tenant's lock, which
 * every batch and reconcile page of an import takes first, so of two
 * imports that begin at once the second to take it sees the first. 0 or
 * a DB_* code (db_tx_run rolls back). */
static int
register_tx(struct db *db, void *arg)
{
	struct run *r = arg;
	struct db_res *res = NULL;
	char t[VTIME_SQL_LEN];
	int rc;

	vtime_sql(time(NULL), t, sizeof(t));
	if ((rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(r->tenant_id) }, 1, NULL)) != 0 ||
	    (rc = db_exec(db, SQL_IMPORT_OVERLAP_CLEAR, (struct db_val[]){
	    DB_STR(r->import_id) }, 1, NULL)) != 0 ||
	    (rc = db_exec(db, SQL_IMPORT_RUNNING_OTHER, (struct db_val[]){
	    DB_STR(r->tenant_id), DB_STR(r->source), DB_STR(r->import_id),
	    DB_STR(t) }, 4, &res)) != 0)
		goto out;
	if (res->nrows > 0 &&
	    ((rc = db_exec(db, SQL_IMPORT_OVERLAP_SET, (struct db_val[]){
	    DB_STR(db_cell(res, 0, 0)), DB_STR(r->import_id) }, 2,
	    NULL)) != 0 ||
	    (rc = db_exec(db, SQL_IMPORT_OVERLAP_SET, (struct db_val[]){
	    DB_STR(r->import_id), DB_STR(db_cell(res, 0, 0)) }, 2,
	    NULL)) != 0))
		goto out;
out:
	db_res_free(res);
	return rc;
}

/* Read a claimed import (r->owner holds its lease since clock): the
 * whole report first, writing nothing, then again writing its findings,
 * then a full report's reconcile, and its end. From its chunks, or from
 * r->fp (imports_run_file). imports_run's answer. */
static int
run_claimed(struct db *db, struct run *r, const struct imp_info *in,
    const char *import_id, time_t now, time_t clock)
{
	char why[512];
	long resolved = 0;
	int rc, full;

	r->beat = clock;
	if (importfmt_from_str(in->format, &r->fmt) != 0)
		r->fmt = IMPORTFMT_VIGIL;
	full = strcmp(in->mode, "full") == 0;
	r->db = db;
	r->tenant_id = in->tenant;
	r->import_id = import_id;
	r->source = in->source;
	r->all_or_nothing = in->all_or_nothing;
	r->now = now;
	r->errors = json_object_new_array();
	r->fs = calloc(FINDINGS_BATCH, sizeof(*r->fs));
	r->seen = calloc(FINDINGS_BATCH, sizeof(*r->seen));
	r->defer = &r->defer_store;
	r->hint = &r->hint_store;
	if (r->errors == NULL || r->fs == NULL || r->seen == NULL) {
		rc = DB_ERR;
		goto out;
	}
	why[0] = '\0';
	/* Its bytes are a local file of a vigilctl that stopped before
	 * finishing: they are not here to read again. */
	if (r->fp == NULL && in->bytes > 0 && in->chunks == 0) {
		snprintf(why, sizeof(why), "the report was a local file read "
		    "by vigilctl, which stopped before finishing; what was "
		    "written before stays");
		rc = finish(db, in, import_id, "failed", now, r, 0, why);
		goto done;
	}
	/* First the whole report, writing nothing: a report that is not one
	 * changes nothing. */
	if ((rc = run_pass(r, why, sizeof(why))) < 0)
		goto out;
	/* The whole report or nothing: its first bad item, as the form
	 * always named it (findings[index].field: why). */
	if (rc == 0 && in->all_or_nothing && r->failed > 0) {
		json_object *e = json_object_array_get_idx(r->errors, 0);

		snprintf(why, sizeof(why), "findings[%lld].%s",
		    (long long)json_object_get_int64(
		    json_object_object_get(e, "index")),
		    json_object_get_string(json_object_object_get(e,
		    "error")));
		rc = 1;
	}
	if (rc == 1) {
		rc = finish(db, in, import_id, "failed", now, r, 0, why);
		goto done;
	}
#ifdef VIGIL_DEBUG
	/* VIGIL_DEBUG_IMPORT_STOP (debug builds only): the reader of a local
	 * report stops itself (SIGSTOP) between its two reads, for a test to
	 * change the file there; set to "reconcile", before a full report's
	 * reconcile instead, for a test to run another import there. */
	if (r->fp != NULL && getenv("VIGIL_DEBUG_IMPORT_STOP") != NULL &&
	    strcmp(getenv("VIGIL_DEBUG_IMPORT_STOP"), "reconcile") != 0)
		raise(SIGSTOP);
#endif
	/* About to write: another import of the source running now is
	 * named (one that only reads, or fails, writes no source row). */
	if ((rc = db_tx_run(db, register_tx, r)) != 0)
		goto out;
	r->write = 1;
	if ((rc = run_pass(r, why, sizeof(why))) != 0) {
		/* a local file that changed: what was written stays, and
		 * nothing is resolved */
		if (rc == 1 && (r->fchanged || r->ferrno != 0)) {
			rc = finish(db, in, import_id, "failed", now, r, 0,
			    why);
			goto done;
		}
		rc = rc > 0 ? DB_ERR : rc;
		goto out;
	}
#ifdef VIGIL_DEBUG
	if (r->fp != NULL && full && getenv("VIGIL_DEBUG_IMPORT_STOP") !=
	    NULL && strcmp(getenv("VIGIL_DEBUG_IMPORT_STOP"),
	    "reconcile") == 0)
		raise(SIGSTOP);
#endif
	/* An item that could not be read may be a finding still there: a
	 * report with any resolves nothing. */
	if (full && r->failed == 0 && (resolved = run_reconcile(r)) < 0) {
		rc = (int)resolved;
		goto out;
	}
	rc = finish(db, in, import_id, "completed", now, r, resolved, NULL);
done:
	json_object_put(r->errors);
	if (r->has_tools)
		importfmt_free(&r->tools);
	run_pipe_free(r);
	free(r->fs);
	free(r->seen);
	/* 1 from finish: the lease was lost at the last moment */
	return rc < 0 ? rc : rc == 0;
out:
	if (r->lost) {
		log_warn("import %s: another worker took it over (this one "
		    "held its lease past %d s); stopped", import_id,
		    IMPORT_LEASE);
		rc = 0;
	} else if (r->stopped) {
		snprintf(why, sizeof(why), "stopped by signal %d (%s)%s",
		    r->stopped, strsignal(r->stopped), r->flushes > 0 ?
		    "; what was written before stays" : "");
		rc = finish(db, in, import_id, "failed", now, r,
		    r->resolved_done, why);
		rc = rc < 0 ? rc : rc == 0;
	} else {
		log_err("import %s: database error %d", import_id, rc);
		finish(db, in, import_id, "failed", now, r, resolved < 0 ?
		    r->resolved_done : resolved, "a database error "
		    "interrupted the import; what was written before it "
		    "stays");
	}
	json_object_put(r->errors);
	if (r->has_tools)
		importfmt_free(&r->tools);
	run_pipe_free(r);
	free(r->fs);
	free(r->seen);
	return rc;
}

static int
run_import(struct db *db, const char *import_id, time_t now, int here)
{
	unsigned long long claimed = 0;
	struct imp_info in;
	struct run r;
	char at[VTIME_SQL_LEN], until[VTIME_SQL_LEN], t[VTIME_SQL_LEN];
	time_t clock = time(NULL);
	int rc;

	memset(&r, 0, sizeof(r));
	r.inline_writes = here;
	vtime_sql(now, at, sizeof(at));
	vtime_sql(clock, t, sizeof(t));
	vtime_sql(clock + IMPORT_LEASE, until, sizeof(until));
	if (id_new("lease", r.owner, sizeof(r.owner)) != 0)
		return DB_ERR;
	if ((rc = db_exec_affected(db, SQL_IMPORT_CLAIM, (struct db_val[]){
	    DB_STR(at), DB_STR(r.owner), DB_STR(until), DB_STR(import_id),
	    DB_STR(t), DB_INT(IMPORT_ATTEMPTS) }, 6, &claimed)) != 0)
		return rc;
	if ((rc = info_load(db, import_id, &in)) != 1)
		return rc == 0 && claimed ? DB_ERR : rc;
	/* Not ours: someone else's, finished, or its workers all died. */
	if (claimed == 0)
		return abandon(db, &in, import_id, now, clock);
	if (in.attempts > 1)
		log_warn("import %s: its worker's lease passed; taken over "
		    "(attempt %ld of %d)", import_id, in.attempts,
		    IMPORT_ATTEMPTS);
	return run_claimed(db, &r, &in, import_id, now, clock);
}

int
imports_run(struct db *db, const char *import_id, time_t now)
{
	return run_import(db, import_id, now, 0);
}

int
imports_run_here(struct db *db, const char *import_id, time_t now)
{
	return run_import(db, import_id, now, 1);
}

int
imports_run_file(struct db *db, const char *tenant_id, const char *source,
    enum importfmt fmt, enum imports_mode mode, unsigned flags,
    const char *actor, time_t now, FILE *fp, char *id_out, size_t idsz)
{
	struct imp_info in;
	struct stat sb;
	struct run r;
	char id[VIGIL_ID_LEN], at[VTIME_SQL_LEN], until[VTIME_SQL_LEN];
	time_t clock = time(NULL);
	int rc = DB_ERR;

	memset(&r, 0, sizeof(r));
	if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > IMPORT_MAX_BYTES ||
	    id_new("imp", id, sizeof(id)) != 0 ||
	    id_new("lease", r.owner, sizeof(r.owner)) != 0)
		return DB_ERR;
	r.fp = fp;
	r.fst = sb;
	r.fsize = (long long)sb.st_size;
	if ((r.fbuf = malloc(IMPORT_CHUNK)) == NULL ||
	    (r.fsums = calloc((size_t)(r.fsize / IMPORT_CHUNK) + 1,
	    sizeof(*r.fsums))) == NULL)
		goto out;
	vtime_sql(now, at, sizeof(at));
	vtime_sql(clock + IMPORT_LEASE, until, sizeof(until));
	/* Its row, running under our lease from the start: no other worker
	 * can claim it while it lives; after, it has no chunks to read. */
	if ((rc = db_exec(db, SQL_IMPORT_INSERT_LOCAL, (struct db_val[]){
	    DB_STR(id), DB_STR(tenant_id), DB_STR(source),
	    DB_STR(importfmt_str(fmt)), DB_STR(mode == IMPORT_FULL ? "full" :
	    "partial"), DB_STR(actor), DB_STR(at),
	    DB_INT((flags & IMPORT_ALL_OR_NOTHING) != 0), DB_INT(r.fsize),
	    DB_STR(at), DB_STR(r.owner), DB_STR(until) }, 12, NULL)) != 0)
		goto out;
	snprintf(id_out, idsz, "%s", id);
	/* What the row just written holds, without reading it back: a
	 * failure here could not mark it failed either. */
	memset(&in, 0, sizeof(in));
	snprintf(in.tenant, sizeof(in.tenant), "%s", tenant_id);
	snprintf(in.source, sizeof(in.source), "%s", source);
	snprintf(in.format, sizeof(in.format), "%s", importfmt_str(fmt));
	snprintf(in.mode, sizeof(in.mode), "%s", mode == IMPORT_FULL ?
	    "full" : "partial");
	snprintf(in.actor, sizeof(in.actor), "%s", actor);
	in.bytes = r.fsize;
	in.attempts = 1;
	in.all_or_nothing = (flags & IMPORT_ALL_OR_NOTHING) != 0;
	rc = run_claimed(db, &r, &in, id, now, clock);
out:
	free(r.fbuf);
	free(r.fsums);
	return rc;
}

long
imports_run_due(struct db *db, time_t now)
{
	struct db_res *res = NULL;
	char t[VTIME_SQL_LEN];
	long done = 0;
	size_t i;
	int rc;

	vtime_sql(time(NULL), t, sizeof(t));
	if ((rc = db_exec(db, SQL_IMPORT_DUE, (struct db_val[]){ DB_STR(t) },
	    1, &res)) != 0)
		return rc;
	for (i = 0; i < res->nrows; i++) {
		rc = imports_run(db, db_cell(res, i, 0), now);
		if (rc < 0)
			break;
		done += rc;
	}
	db_res_free(res);
	return rc < 0 ? rc : done;
}

static json_object *
time_or_null(const char *s)
{
	return vtime_sql_json(s);
}

static json_object *
import_json(const struct db_res *res, size_t i)
{
	json_object *o = json_object_new_object(), *errs = NULL;
	struct vjson_err e;
	const char *s;
	static const struct { const char *name; int col; } counts[] = {
		{ "bytes", IMP_C_BYTES }, { "items", IMP_C_ITEMS },
		{ "imported", IMP_C_IMPORTED }, { "passed", IMP_C_PASSED },
		{ "failed", IMP_C_FAILED }, { "resolved", IMP_C_RESOLVED },
	};
	size_t k;

	json_object_object_add(o, "import_id",
	    json_object_new_string(db_cell(res, i, IMP_C_ID)));
	json_object_object_add(o, "source",
	    json_object_new_string(db_cell(res, i, IMP_C_SOURCE)));
	json_object_object_add(o, "format",
	    json_object_new_string(db_cell(res, i, IMP_C_FORMAT)));
	json_object_object_add(o, "mode",
	    json_object_new_string(db_cell(res, i, IMP_C_MODE)));
	json_object_object_add(o, "status",
	    json_object_new_string(db_cell(res, i, IMP_C_STATUS)));
	json_object_object_add(o, "created_by",
	    json_object_new_string(db_cell(res, i, IMP_C_ACTOR)));
	for (k = 0; k < NELEM(counts); k++)
		json_object_object_add(o, counts[k].name,
		    json_object_new_int64(db_cell_int(res, i, counts[k].col)));
	json_object_object_add(o, "created_at",
	    time_or_null(db_cell(res, i, IMP_C_CREATED)));
	json_object_object_add(o, "started_at",
	    time_or_null(db_cell(res, i, IMP_C_STARTED)));
	json_object_object_add(o, "finished_at",
	    time_or_null(db_cell(res, i, IMP_C_FINISHED)));
	json_object_object_add(o, "error",
	    vjson_new_string_or_null(db_cell(res, i, IMP_C_ERROR)));
	json_object_object_add(o, "attempts",
	    json_object_new_int64(db_cell_int(res, i, IMP_C_ATTEMPTS)));
	json_object_object_add(o, "note",
	    vjson_new_string_or_null(db_cell(res, i, IMP_C_NOTE)));
	s = db_cell(res, i, IMP_C_ERRORS);
	if (s != NULL)
		errs = vjson_parse(s, strlen(s), 8, 16 * 1024 * 1024, &e);
	json_object_object_add(o, "errors", errs ? errs :
	    json_object_new_array());
	return o;
}

int
imports_get(struct db *db, const char *tenant_id, const char *id,
    json_object **out)
{
	struct db_res *res = NULL;
	int rc;

	*out = NULL;
	if ((rc = page_tenant_row(db, SQL_IMPORT_GET, "imp", tenant_id, id,
	    &res)) <= 0)
		return rc;
	*out = import_json(res, 0);
	db_res_free(res);
	return 1;
}

/* An import as the list shows it: the per-item errors are left to
 * GET /imports/{id}. */
static json_object *
import_item_json(const struct db_res *res, size_t i)
{
	json_object *o = import_json(res, i);

	json_object_object_del(o, "errors");
	return o;
}

int
imports_list(struct db *db, const char *tenant_id, long long before,
    long limit, json_object **out)
{
	return page_tenant_list(db, SQL_IMPORT_COUNT, SQL_IMPORT_LIST,
	    tenant_id, before, limit, "imports", import_item_json, IMP_C_SEQ,
	    out);
}

json_object *
imports_sources_from(const struct db_res *res, size_t col)
{
	json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < res->nrows; i++) {
		json_object *o;

		if (db_cell(res, i, col) == NULL)	/* a LEFT JOIN's none */
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "source",
		    json_object_new_string(db_cell(res, i, col)));
		json_object_object_add(o, "format",
		    json_object_new_string(db_cell(res, i, col + 1)));
		json_object_object_add(o, "external_id",
		    json_object_new_string(db_cell(res, i, col + 2)));
		json_object_object_add(o, "first_seen_at",
		    time_or_null(db_cell(res, i, col + 3)));
		json_object_object_add(o, "last_seen_at",
		    time_or_null(db_cell(res, i, col + 4)));
		json_object_array_add(arr, o);
	}
	return arr;
}

json_object *
imports_sources(struct db *db, const char *tenant_id, const char *finding_id,
    int *rc)
{
	struct db_res *res = NULL;
	json_object *arr;

	if ((*rc = db_exec(db, SQL_SOURCE_LIST, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(finding_id) }, 2, &res)) != 0)
		return NULL;
	arr = imports_sources_from(res, 0);
	db_res_free(res);
	return arr;
}
