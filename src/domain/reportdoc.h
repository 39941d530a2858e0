/* reportdoc.h: the three reports built as report documents, the one
 * shape every renderer draws (json as is; csv, html, pdf and xlsx by the
 * renderers):
 *
 *   { "title", "subtitle", "generated_at" (RFC 3339),
 *     "blocks": [
 *       {"kind": "heading", "text"}, {"kind": "paragraph", "text"},
 *       {"kind": "kv", "items": [[label, value], ...]},
 *       {"kind": "table", "name", "primary": bool,
 *        "columns": [{"key", "title", "type": "number" (optional)}, ...],
 *        "rows": [[cell, ...], ...]},         cells: string, number, null
 *       {"kind": "bar_chart", "title", "categories": [...], "stacked",
 *        "series": [{"name", "values": [...]}, ...]} ] }
 *
 * CSV draws the table marked primary (else the first), XLSX a sheet per
 * table after a summary, HTML and PDF every block in order. */
#ifndef VIGIL_REPORTDOC_H
#define VIGIL_REPORTDOC_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

struct db;

#define REPORTDOC_DAY_LEN	11	/* "YYYY-MM-DD" */
/* A findings report lists at most this many findings (the export,
 * GET /findings/export, has no limit). */
#define REPORTDOC_FINDINGS_MAX	50000

/* The UTC day of t as "YYYY-MM-DD", and back to its midnight: 0, or -1
 * when s is not a real day in that form. Pure. */
void	 reportdoc_day(time_t t, char *out, size_t outsz);
int	 reportdoc_day_parse(const char *s, time_t *out);

/* Build a report of the tenant (tenant_name for its subtitle) from the
 * stored parameters (reports_check's): 0 with *doc (a new object), 1 when
 * it cannot be made with a sentence in why (too many findings, an unknown
 * framework), or a DB_* code (< 0). */
int	 reportdoc_findings(struct db *, const char *tenant_id,
	    const char *tenant_name, json_object *params, time_t now,
	    json_object **doc, char *why, size_t whysz);
int	 reportdoc_executive(struct db *, const char *tenant_id,
	    const char *tenant_name, json_object *params, time_t now,
	    json_object **doc, char *why, size_t whysz);
/* The compliance report of a framework's status as compliance_status()
 * gives it (GET /compliance/frameworks/{id}'s answer): a new document;
 * page: for a page (pdf, html), fewer columns. Pure. */
json_object *reportdoc_compliance_doc(json_object *status,
	    const char *tenant_name, time_t now, int page);
int	 reportdoc_compliance(struct db *, const char *tenant_id,
	    const char *tenant_name, json_object *params, time_t now,
	    json_object **doc, char *why, size_t whysz);

#endif
