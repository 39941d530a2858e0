/* reports.h: reports a client asks for (POST /api/v1/reports) and
 * vigil-scan --due generates: queued here by the API, taken under a lease
 * by the cron job, built as a report document (reportdoc.h), rendered
 * into the asked format and stored whole in the database. */
#ifndef VIGIL_REPORTS_H
#define VIGIL_REPORTS_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

struct db;
struct db_res;

/* A stored report's content may be at most this large: it is written in
 * one statement, under the server's default max_allowed_packet (16 MiB).
 * A larger one fails, saying so (the export has no limit). */
#define REPORTS_MAX_BYTES	(12 * 1024 * 1024)
/* How long a worker holds a report it generates; a worker that died
 * leaves it to the next vigil-scan --due once this has passed. */
#define REPORTS_LEASE_SECONDS	600
/* A report whose worker died this many times is failed, not retried. */
#define REPORTS_MAX_ATTEMPTS	3
/* The longest date_range, in days. */
#define REPORTS_MAX_DAYS	366

/* A POST body checked: 0 with *params the canonical parameters to store
 * (a new object: type, format, paper, framework, date_range {start, end}
 * with the defaults filled in, filters), or -1 with err naming the field
 * and why. now gives the default date range (the 30 days to today, UTC).
 * Pure. */
struct vjson_err;
int	 reports_check(json_object *body, time_t now, json_object **params,
	    struct vjson_err *err);

/* Queue a report of checked params for the tenant, with its audit entry
 * (report.create), in one transaction: 0 with its id in id_out, or a DB_*
 * code. */
int	 reports_create(struct db *, const char *tenant_id, json_object *params,
	    const char *actor, time_t now, char *id_out, size_t idsz);

/* GET /reports/{id}: 1 with *out (new object), 0 not found, DB_* code. */
int	 reports_get(struct db *, const char *tenant_id, const char *id,
	    json_object **out);
/* GET /reports: a page, newest first, in the list shape (page.h). */
int	 reports_list(struct db *, const char *tenant_id, long long before,
	    long limit, json_object **out);

/* A completed report's bytes: 1 with *res (free with db_res_free), its
 * content at *data (*len bytes) and the file's media type and name, 0 when the
 * tenant has no such completed report, or a DB_* code. */
int	 reports_content(struct db *, const char *tenant_id, const char *id,
	    struct db_res **res, const char **data, size_t *len,
	    const char **ctype, char *fname, size_t fnamesz);

/* Draws a report document in format (csv, html, pdf, xlsx; paper a4 or
 * letter for pdf) into out: 0, or -1 with a message in err. The renderers
 * (src/report/) are above this layer's reach and linked only into the
 * programs that make reports, so the program hands them in. */
struct buf;
typedef int (*reports_render_fn)(json_object *doc, const char *format,
    const char *paper, struct buf *out, char *err, size_t errsz);

/* Generate one report if it can be taken (queued, or its lease ran out),
 * drawing formats other than json with render (NULL: those fail, saying
 * so): 1 generated (completed or failed), 0 taken by another worker, or a
 * DB_* code. */
int	 reports_run(struct db *, const char *report_id, time_t now,
	    reports_render_fn render);
/* vigil-scan --due: every report due; the number generated or a DB_*
 * code. */
long	 reports_run_due(struct db *, time_t now, reports_render_fn render);

/* vigilctl reports prune: deletes the finished reports (completed or
 * failed) that finished more than days ago, a few per statement; queued
 * and running ones stay. days <= 0 deletes nothing. 0 with *n the number
 * deleted, or a DB_* code (*n those deleted before). */
int	 reports_prune(struct db *, long long days, long long *n);

/* vigil-scan --due: today's open findings per tenant and severity into
 * the daily counts (finding_daily), from the counts the triggers keep.
 * 0 or a DB_* code. */
int	 reports_snapshot(struct db *, time_t now);

/* The media type and file extension of a format name. */
const char *reports_content_type(const char *format);

#endif
