/* reportdoc.c: the findings, executive and compliance reports as report
 * documents (reportdoc.h). */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "export.h"
#include "findfilter.h"
#include "findings.h"
#include "buf.h"
#include "compliance.h"
#include "posture.h"
#include "reportdoc.h"
#include "vtime.h"

#define NSEV 5
static const char *const sev_names[NSEV] = { "critical", "high", "medium",
    "low", "info" };

void
reportdoc_day(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%d", &tm);
}

int
reportdoc_day_parse(const char *s, time_t *out)
{
	struct tm tm;
	char back[REPORTDOC_DAY_LEN];
	int i, y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*out = timegm(&tm);
	/* 2026-02-30 comes back as March: not a day. */
	reportdoc_day(*out, back, sizeof(back));
	return strcmp(back, s) == 0 ? 0 : -1;
}

/* --- building a document ------------------------------------------------ */

static json_object *
doc_new(const char *title, const char *subtitle, time_t now)
{
	json_object *d = json_object_new_object();
	char at[VTIME_RFC3339_LEN];

	vtime_rfc3339(now, at, sizeof(at));
	json_object_object_add(d, "title", json_object_new_string(title));
	json_object_object_add(d, "subtitle",
	    json_object_new_string(subtitle));
	json_object_object_add(d, "generated_at", json_object_new_string(at));
	json_object_object_add(d, "blocks", json_object_new_array());
	return d;
}

static json_object *
block(json_object *doc, const char *kind)
{
	json_object *b = json_object_new_object();

	json_object_object_add(b, "kind", json_object_new_string(kind));
	json_object_array_add(json_object_object_get(doc, "blocks"), b);
	return b;
}

static void
text_block(json_object *doc, const char *kind, const char *text)
{
	json_object_object_add(block(doc, kind), "text",
	    json_object_new_string(text));
}

static json_object *
kv_block(json_object *doc)
{
	json_object *items = json_object_new_array();

	json_object_object_add(block(doc, "kv"), "items", items);
	return items;
}

static void
kv(json_object *items, const char *label, const char *value)
{
	json_object *pair = json_object_new_array();

	json_object_array_add(pair, json_object_new_string(label));
	json_object_array_add(pair, json_object_new_string(value));
	json_object_array_add(items, pair);
}

static void
kv_count(json_object *items, const char *label, long long n)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", n);
	kv(items, label, v);
}

/* A table block: columns given as "key:Title" or "key:Title:number";
 * returns its rows array. */
static json_object *
table_block(json_object *doc, const char *name, int primary,
    const char *const *cols, size_t ncols)
{
	json_object *b = block(doc, "table"), *c = json_object_new_array(),
	    *rows = json_object_new_array();
	size_t i;

	json_object_object_add(b, "name", json_object_new_string(name));
	json_object_object_add(b, "primary",
	    json_object_new_boolean(primary));
	for (i = 0; i < ncols; i++) {
		json_object *col = json_object_new_object();
		const char *a = strchr(cols[i], ':'), *t = strchr(a + 1, ':');

		json_object_object_add(col, "key", json_object_new_string_len(
		    cols[i], (int)(a - cols[i])));
		json_object_object_add(col, "title", t ?
		    json_object_new_string_len(a + 1, (int)(t - a - 1)) :
		    json_object_new_string(a + 1));
		if (t != NULL)
			json_object_object_add(col, "type",
			    json_object_new_string(t + 1));
		json_object_array_add(c, col);
	}
	json_object_object_add(b, "columns", c);
	json_object_object_add(b, "rows", rows);
	return rows;
}

/* A number of days with one decimal, as a JSON number that prints so. */
static json_object *
days_json(double seconds)
{
	char s[32];
	double d = seconds / 86400.0;

	snprintf(s, sizeof(s), "%.1f", d);
	return json_object_new_double_s(d, s);
}

static const char *
range_start(json_object *params)
{
	return json_object_get_string(json_object_object_get(
	    json_object_object_get(params, "date_range"), "start"));
}

static const char *
range_end(json_object *params)
{
	return json_object_get_string(json_object_object_get(
	    json_object_object_get(params, "date_range"), "end"));
}

/* --- findings ----------------------------------------------------------- */

static const char *
filters_get(void *arg, const char *name)
{
	json_object *v;

	if (arg == NULL || !json_object_object_get_ex(arg, name, &v))
		return NULL;
	return json_object_get_string(v);
}

int
reportdoc_findings(struct db *db, const char *tenant_id,
    const char *tenant_name, json_object *params, time_t now,
    json_object **doc, char *why, size_t whysz)
{
	static const char *const wide[] = { "id:ID", "title:Title",
	    "severity:Severity", "state:State", "category:Category",
	    "source:Source", "resource_name:Resource name",
	    "resource_id:Resource", "region:Region", "framework:Framework",
	    "detected_at:Detected", "last_seen_at:Last seen", "due_at:Due" };
	/* A page holds about a hundred characters a line: the columns a
	 * reader scans, the resource by name (else its id), the day. */
	static const char *const narrow[] = { "severity:Severity",
	    "title:Title", "resource:Resource", "state:State",
	    "detected:Detected" };
	const char *format = json_object_get_string(json_object_object_get(
	    params, "format"));
	int page_fmt = format != NULL && (strcmp(format, "pdf") == 0 ||
	    strcmp(format, "html") == 0);
	const char *const *cols = page_fmt ? narrow : wide;
	size_t ncols = page_fmt ? NELEM(narrow) : NELEM(wide);
	json_object *d = NULL, *rows, *filters, *items;
	struct findings_page *page = NULL;
	struct findfilter ff;
	struct buf desc;
	const char *fbad, *fwhy;
	char sub[512];
	long long bysev[NSEV] = { 0 }, total = 0;
	size_t i, k;
	int rc = 0, more = 1;

	*doc = NULL;
	filters = json_object_object_get(params, "filters");
	if (findfilter_parse(filters_get, filters, now, &ff, &fbad,
	    &fwhy) != 0) {
		snprintf(why, whysz, "filters.%s: %s", fbad, fwhy);
		return 1;
	}
	buf_init(&desc, 4096);
	json_object_object_foreach(filters, fk, fv) {
		buf_printf(&desc, "%s%s=%s", desc.len ? ", " : "", fk,
		    json_object_get_string(fv));
	}
	snprintf(sub, sizeof(sub), "Tenant %s", tenant_name);
	d = doc_new("Findings report", sub, now);
	items = kv_block(d);
	kv(items, "Filters", desc.len ? desc.data :
	    "none (open findings, as GET /findings lists them)");
	rows = table_block(d, "findings", 1, cols, ncols);
	ff.f.limit = 500;
	while (more) {
		if ((rc = findings_list(db, tenant_id, &ff.f, &page)) != 0)
			goto out;
		if (total + (long long)page->n > REPORTDOC_FINDINGS_MAX) {
			snprintf(why, whysz, "The filters match more than %d "
			    "findings: narrow them, or use GET "
			    "/api/v1/findings/export, which has no limit.",
			    REPORTDOC_FINDINGS_MAX);
			rc = 1;
			goto out;
		}
		for (i = 0; i < page->n; i++) {
			json_object *o = findings_to_json(page->rows[i], 0),
			    *row = json_object_new_array();
			const char *sev = finding_severity_str(
			    page->rows[i]->f.severity);

			findings_due_json(o, page->rows[i], now);

			for (k = 0; k < ncols; k++) {
				const char *key = cols[k];
				char name[32];
				json_object *v;

				snprintf(name, sizeof(name), "%.*s",
				    (int)(strchr(key, ':') - key), key);
				if (strcmp(name, "resource") == 0) {
					v = json_object_object_get(o,
					    "resource_name");
					if (v == NULL || json_object_get_string_len(
					    v) == 0)
						v = json_object_object_get(o,
						    "resource_id");
				} else if (strcmp(name, "detected") == 0) {
					v = json_object_object_get(o,
					    "detected_at");
					/* the day of the RFC 3339 time */
					json_object_array_add(row, v ?
					    json_object_new_string_len(
					    json_object_get_string(v),
					    json_object_get_string_len(v) < 10 ?
					    json_object_get_string_len(v) : 10) :
					    NULL);
					continue;
				} else
					v = json_object_object_get(o, name);
				json_object_array_add(row, v ?
				    json_object_get(v) : NULL);
			}
			json_object_array_add(rows, row);
			json_object_put(o);
			for (k = 0; k < NSEV; k++)
				if (strcmp(sev, sev_names[k]) == 0)
					bysev[k]++;
		}
		total += (long long)page->n;
		more = page->has_more;
		if (more && ff.f.due) {
			ff.f.due_after = page->rows[page->n - 1]->due_at;
			ff.f.seq_after = page->rows[page->n - 1]->seq;
		} else if (more)
			ff.f.before = page->rows[page->n - 1]->seq;
		findings_page_free(page);
		page = NULL;
	}
	kv_count(items, "Findings", total);
	for (k = 0; k < NSEV; k++) {
		char label[32];

		snprintf(label, sizeof(label), "%c%s", sev_names[k][0] - 32,
		    sev_names[k] + 1);
		kv_count(items, label, bysev[k]);
	}
	*doc = d;
	d = NULL;
out:
	findings_page_free(page);
	json_object_put(d);
	buf_free(&desc);
	findfilter_clear(&ff);
	return rc;
}

/* --- executive ---------------------------------------------------------- */

/* Columns of SQL_DAILY_RANGE. */
enum { DR_DAY, DR_SEV, DR_OPEN, DR_RESOLVED, DR_SECONDS, DR_SLA,
    DR_IN_SLA };

static int
sev_index(const char *s)
{
	int k;

	for (k = 0; k < NSEV; k++)
		if (strcmp(s, sev_names[k]) == 0)
			return k;
	return -1;
}

int
reportdoc_executive(struct db *db, const char *tenant_id,
    const char *tenant_name, json_object *params, time_t now,
    json_object **doc, char *why, size_t whysz)
{
	static const char *const daily_cols[] = { "day:Day",
	    "critical:Critical:number", "high:High:number",
	    "medium:Medium:number", "low:Low:number", "info:Info:number",
	    "resolved:Resolved:number",
	    "mttr_days:Mean time to resolve (days):number" };
	static const char *const mttr_cols[] = { "severity:Severity",
	    "resolved:Resolved:number",
	    "mttr_days:Mean time to resolve (days):number",
	    "overdue:Open and overdue now:number",
	    "resolved_sla:Resolved with a due date:number",
	    "in_sla_pct:Resolved within SLA (%):number" };
	static const char *const top_cols[] = { "resource_id:Resource",
	    "resource_name:Name", "open:Open findings:number",
	    "critical:Critical:number", "high:High:number",
	    "weight:Risk weight:number" };
	struct db_res *range = NULL, *opennow = NULL, *top = NULL,
	    *overdue = NULL;
	json_object *d = NULL, *items, *chart, *cats, *series, *rows;
	long long (*open)[NSEV] = NULL, *dres = NULL, *dsec = NULL;
	long long sres[NSEV] = { 0 }, ssec[NSEV] = { 0 }, opensum[NSEV] = { 0 };
	long long tres = 0, tsec = 0, nowtotal = 0, over[NSEV] = { 0 };
	long long ssla[NSEV] = { 0 }, sin[NSEV] = { 0 }, tsla = 0, tin = 0;
	long long tover = 0;
	char at[VTIME_SQL_LEN];
	char sub[512], v[64], day[REPORTDOC_DAY_LEN];
	const char *start = range_start(params), *end = range_end(params);
	time_t ts, te;
	size_t i, ndays, seen = 0;
	int rc, k;

	*doc = NULL;
	if (reportdoc_day_parse(start, &ts) != 0 ||
	    reportdoc_day_parse(end, &te) != 0 || te < ts) {
		snprintf(why, whysz, "The stored date range is unreadable.");
		return 1;
	}
	ndays = (size_t)((te - ts) / 86400) + 1;
	open = calloc(ndays, sizeof(*open));
	dres = calloc(ndays, sizeof(*dres));
	dsec = calloc(ndays, sizeof(*dsec));
	if (open == NULL || dres == NULL || dsec == NULL) {
		rc = DB_ERR;
		goto out;
	}
	for (i = 0; i < ndays; i++)
		for (k = 0; k < NSEV; k++)
			open[i][k] = -1;
	if ((rc = db_exec(db, SQL_DAILY_RANGE, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(start), DB_STR(end) }, 3, &range)) != 0 ||
	    (rc = db_exec(db, SQL_DAILY_OPEN_NOW, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &opennow)) != 0 ||
	    (rc = db_exec(db, SQL_DAILY_TOP_RESOURCES, (struct db_val[]){
	    DB_INT(posture_weight[0]), DB_INT(posture_weight[1]),
	    DB_INT(posture_weight[2]), DB_INT(posture_weight[3]),
	    DB_STR(tenant_id) }, 5, &top)) != 0)
		goto out;
	vtime_sql(now, at, sizeof(at));
	if ((rc = db_exec(db, SQL_DAILY_OVERDUE_NOW, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(at) }, 2, &overdue)) != 0)
		goto out;
	for (i = 0; i < overdue->nrows; i++)
		if ((k = sev_index(db_cell(overdue, i, 0))) >= 0) {
			over[k] = db_cell_int(overdue, i, 1);
			tover += over[k];
		}
	for (i = 0; i < range->nrows; i++) {
		time_t t;

		if (reportdoc_day_parse(db_cell(range, i, DR_DAY), &t) != 0 ||
		    t < ts || t > te ||
		    (k = sev_index(db_cell(range, i, DR_SEV))) < 0)
			continue;
		size_t di = (size_t)((t - ts) / 86400);
		if (db_cell(range, i, DR_OPEN) != NULL)
			open[di][k] = db_cell_int(range, i, DR_OPEN);
		dres[di] += db_cell_int(range, i, DR_RESOLVED);
		dsec[di] += db_cell_int(range, i, DR_SECONDS);
		sres[k] += db_cell_int(range, i, DR_RESOLVED);
		ssec[k] += db_cell_int(range, i, DR_SECONDS);
		ssla[k] += db_cell_int(range, i, DR_SLA);
		sin[k] += db_cell_int(range, i, DR_IN_SLA);
	}
	for (i = 0; i < opennow->nrows; i++)
		if ((k = sev_index(db_cell(opennow, i, 0))) >= 0) {
			opensum[k] = db_cell_int(opennow, i, 1);
			nowtotal += opensum[k];
		}
	for (k = 0; k < NSEV; k++) {
		tres += sres[k];
		tsec += ssec[k];
		tsla += ssla[k];
		tin += sin[k];
	}
	snprintf(sub, sizeof(sub), "Tenant %s, %s to %s", tenant_name, start,
	    end);
	d = doc_new("Executive report", sub, now);
	text_block(d, "heading", "Summary");
	items = kv_block(d);
	kv_count(items, "Open findings now", nowtotal);
	kv_count(items, "Open critical", opensum[0]);
	kv_count(items, "Open high", opensum[1]);
	kv_count(items, "Resolved in the period", tres);
	if (tres > 0)
		snprintf(v, sizeof(v), "%.1f days", (double)tsec / tres / 86400);
	else
		snprintf(v, sizeof(v), "none resolved in the period");
	kv(items, "Mean time to resolve", v);
	for (i = 0; i < ndays; i++)
		for (k = 0; k < NSEV; k++)
			if (open[i][k] >= 0) {
				seen++;
				break;
			}
	snprintf(v, sizeof(v), "%zu of %zu", seen, ndays);
	kv(items, "Days with daily counts", v);
	/* SLA compliance: of the findings resolved in the period that had
	 * a due date, the share resolved by it. */
	if (tsla > 0)
		snprintf(v, sizeof(v), "%.0f%% (%lld of %lld resolved by their "
		    "due date)", 100.0 * (double)tin / (double)tsla, tin, tsla);
	else
		snprintf(v, sizeof(v), "no finding with a due date resolved "
		    "in the period");
	kv(items, "SLA compliance", v);
	kv_count(items, "Open and overdue now", tover);

	chart = block(d, "bar_chart");
	json_object_object_add(chart, "title", json_object_new_string(
	    "Open findings by severity per day"));
	cats = json_object_new_array();
	for (i = 0; i < ndays; i++) {
		reportdoc_day(ts + (time_t)i * 86400, day, sizeof(day));
		json_object_array_add(cats, json_object_new_string(day));
	}
	json_object_object_add(chart, "categories", cats);
	json_object_object_add(chart, "stacked", json_object_new_boolean(1));
	series = json_object_new_array();
	for (k = 0; k < NSEV; k++) {
		json_object *s = json_object_new_object(),
		    *vals = json_object_new_array();

		json_object_object_add(s, "name",
		    json_object_new_string(sev_names[k]));
		for (i = 0; i < ndays; i++)
			json_object_array_add(vals, json_object_new_int64(
			    open[i][k] > 0 ? open[i][k] : 0));
		json_object_object_add(s, "values", vals);
		json_object_array_add(series, s);
	}
	json_object_object_add(chart, "series", series);
	text_block(d, "paragraph", "Counted once a day by vigil-scan --due "
	    "(the last run of the day stands) from the day counts began; a "
	    "day without a count shows no bar and an empty row below.");
	rows = table_block(d, "daily", 1, daily_cols, NELEM(daily_cols));
	for (i = 0; i < ndays; i++) {
		json_object *row = json_object_new_array();
		int any = 0;

		reportdoc_day(ts + (time_t)i * 86400, day, sizeof(day));
		json_object_array_add(row, json_object_new_string(day));
		for (k = 0; k < NSEV; k++)
			any |= open[i][k] >= 0;
		/* A severity without a row on a counted day had none open. */
		for (k = 0; k < NSEV; k++)
			json_object_array_add(row, any ? json_object_new_int64(
			    open[i][k] > 0 ? open[i][k] : 0) : NULL);
		json_object_array_add(row, json_object_new_int64(dres[i]));
		json_object_array_add(row, dres[i] > 0 ?
		    days_json((double)dsec[i] / dres[i]) : NULL);
		json_object_array_add(rows, row);
	}

	text_block(d, "heading", "Time to resolve and SLA by severity");
	rows = table_block(d, "resolve_times", 0, mttr_cols, NELEM(mttr_cols));
	for (k = 0; k < NSEV; k++) {
		json_object *row = json_object_new_array();

		json_object_array_add(row, json_object_new_string(sev_names[k]));
		json_object_array_add(row, json_object_new_int64(sres[k]));
		json_object_array_add(row, sres[k] > 0 ?
		    days_json((double)ssec[k] / sres[k]) : NULL);
		json_object_array_add(row, json_object_new_int64(over[k]));
		json_object_array_add(row, json_object_new_int64(ssla[k]));
		json_object_array_add(row, ssla[k] > 0 ?
		    json_object_new_int64((sin[k] * 100 + ssla[k] / 2) /
		    ssla[k]) : NULL);
		json_object_array_add(rows, row);
	}

	text_block(d, "heading", "Top risky resources");
	text_block(d, "paragraph", "The resources whose open findings weigh "
	    "most (critical 400, high 150, medium 40, low 10, as in the risk "
	    "score).");
	rows = table_block(d, "top_resources", 0, top_cols, NELEM(top_cols));
	for (i = 0; i < top->nrows; i++) {
		json_object *row = json_object_new_array();
		const char *name = db_cell(top, i, 1);

		json_object_array_add(row, json_object_new_string(
		    db_cell(top, i, 0)));
		json_object_array_add(row, name && *name ?
		    json_object_new_string(name) : NULL);
		for (k = 2; k < 6; k++)
			json_object_array_add(row, json_object_new_int64(
			    db_cell_int(top, i, (size_t)k)));
		json_object_array_add(rows, row);
	}
	*doc = d;
	d = NULL;
	rc = 0;
out:
	json_object_put(d);
	db_res_free(range);
	db_res_free(opennow);
	db_res_free(top);
	db_res_free(overdue);
	free(open);
	free(dres);
	free(dsec);
	return rc;
}

/* --- compliance ---------------------------------------------------------- */

static const char *
str_of(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static long long
int_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
	    json_object_get_int64(v) : 0;
}

json_object *
reportdoc_compliance_doc(json_object *st, const char *tenant_name,
    time_t now, int page)
{
	/* On a page (pdf, html) the rules and the excepted count give way
	 * to the control's id and status, which must be read whole. */
	static const char *const ctl_cols[] = { "id:Control",
	    "title:Title", "status:Status",
	    "open_findings:Open findings:number", "rules:Rules",
	    "excepted_findings:Excepted findings:number" };
	const size_t nctl = page ? 4 : NELEM(ctl_cols);
	static const char *const fnd_cols[] = { "control:Control",
	    "title:Title", "severity:Severity", "resource_id:Resource",
	    "id:Finding", "detected_at:Detected" };
	const size_t nfnd = page ? 4 : NELEM(fnd_cols);
	static const char *const statuses[] = { "pass", "fail",
	    "not_assessed" };
	json_object *d, *items, *sum, *controls, *rows, *frows, *chart, *cats,
	    *series, *vals, *one;
	char sub[512], v[96];
	long long pass, fail;
	size_t i, j, n;

	sum = json_object_object_get(st, "summary");
	controls = json_object_object_get(st, "controls");
	snprintf(sub, sizeof(sub), "Tenant %s, %s", tenant_name,
	    str_of(st, "name"));
	d = doc_new("Compliance report", sub, now);
	text_block(d, "heading", "Summary");
	items = kv_block(d);
	kv(items, "Framework", str_of(st, "name"));
	kv(items, "Version", str_of(st, "version"));
	kv_count(items, "Controls", int_of(sum, "controls"));
	pass = int_of(sum, "pass");
	fail = int_of(sum, "fail");
	kv_count(items, "Passing", pass);
	kv_count(items, "Failing", fail);
	kv_count(items, "Not assessed", int_of(sum, "not_assessed"));
	if (pass + fail > 0)
		snprintf(v, sizeof(v), "%.0f%% of the controls assessed",
		    100.0 * (double)pass / (double)(pass + fail));
	else
		snprintf(v, sizeof(v), "no control assessed");
	kv(items, "Passing rate", v);
	chart = block(d, "bar_chart");
	json_object_object_add(chart, "title",
	    json_object_new_string("Controls by status"));
	cats = json_object_new_array();
	vals = json_object_new_array();
	for (i = 0; i < NELEM(statuses); i++) {
		json_object_array_add(cats, json_object_new_string(statuses[i]));
		json_object_array_add(vals, json_object_new_int64(
		    int_of(sum, i == 2 ? "not_assessed" : statuses[i])));
	}
	json_object_object_add(chart, "categories", cats);
	json_object_object_add(chart, "stacked", json_object_new_boolean(0));
	series = json_object_new_array();
	one = json_object_new_object();
	json_object_object_add(one, "name", json_object_new_string("controls"));
	json_object_object_add(one, "values", vals);
	json_object_array_add(series, one);
	json_object_object_add(chart, "series", series);
	snprintf(sub, sizeof(sub), "Control ids and titles: %s",
	    str_of(st, "source"));
	text_block(d, "paragraph", sub);
	text_block(d, "heading", "Controls");
	rows = table_block(d, "controls", 1, ctl_cols, nctl);
	n = controls ? json_object_array_length(controls) : 0;
	for (i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(controls, i),
		    *row = json_object_new_array(),
		    *rules = json_object_object_get(c, "rules");
		struct buf rb;

		buf_init(&rb, 16384);
		for (j = 0; rules && j < json_object_array_length(rules); j++)
			buf_printf(&rb, "%s%s", j ? ", " : "",
			    json_object_get_string(json_object_array_get_idx(
			    rules, j)));
		json_object_array_add(row, json_object_new_string(
		    str_of(c, "id")));
		json_object_array_add(row, json_object_new_string(
		    str_of(c, "title")));
		json_object_array_add(row, json_object_new_string(
		    str_of(c, "status")));
		json_object_array_add(row, json_object_new_int64(
		    int_of(c, "open_findings")));
		if (!page) {
			json_object_array_add(row, json_object_new_string(
			    rb.data ? rb.data : ""));
			json_object_array_add(row, json_object_new_int64(
			    int_of(c, "excepted_findings")));
		}
		json_object_array_add(rows, row);
		buf_free(&rb);
	}
	text_block(d, "heading", "Findings behind the failing controls");
	text_block(d, "paragraph", "The first findings of each failing "
	    "control (its open findings are counted above).");
	frows = table_block(d, "failing_findings", 0, fnd_cols, nfnd);
	for (i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(controls, i),
		    *fs = json_object_object_get(c, "findings");

		for (j = 0; fs && j < json_object_array_length(fs); j++) {
			json_object *f = json_object_array_get_idx(fs, j),
			    *row = json_object_new_array(), *at;

			json_object_array_add(row, json_object_new_string(
			    str_of(c, "id")));
			json_object_array_add(row, json_object_new_string(
			    str_of(f, "title")));
			json_object_array_add(row, json_object_new_string(
			    str_of(f, "severity")));
			json_object_array_add(row, json_object_new_string(
			    str_of(f, "resource_id")));
			if (!page) {
				json_object_array_add(row,
				    json_object_new_string(str_of(f, "id")));
				at = json_object_object_get(f, "detected_at");
				json_object_array_add(row, at ?
				    json_object_get(at) : NULL);
			}
			json_object_array_add(frows, row);
		}
	}
	return d;
}

int
reportdoc_compliance(struct db *db, const char *tenant_id,
    const char *tenant_name, json_object *params, time_t now,
    json_object **doc, char *why, size_t whysz)
{
	json_object *st = NULL;
	const char *fmt, *fw = json_object_get_string(json_object_object_get(params,
	    "framework"));
	int rc;

	*doc = NULL;
	if (fw == NULL || (rc = compliance_status(db, tenant_id, fw,
	    &st)) == 1) {
		snprintf(why, whysz, "Unknown framework %s (GET "
		    "/api/v1/compliance/frameworks lists them).", fw ? fw : "");
		return 1;
	}
	if (rc != 0)
		return DB_ERR;
	fmt = json_object_get_string(json_object_object_get(params,
	    "format"));
	*doc = reportdoc_compliance_doc(st, tenant_name, now, fmt != NULL &&
	    (strcmp(fmt, "pdf") == 0 || strcmp(fmt, "html") == 0));
	json_object_put(st);
	return 0;
}
