/* casereport.c: a case's report as Markdown or HTML (casereport.h). */
#include "vigil.h"

#include <string.h>

#include "buf.h"
#include "casereport.h"

/* A member of o as a string, "" if absent or null. */
static const char *
S(json_object *o, const char *k)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, k, &v) || v == NULL)
		return "";
	s = json_object_get_string(v);
	return s != NULL ? s : "";
}

static json_object *
A(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

static size_t
N(json_object *a)
{
	return a != NULL ? json_object_array_length(a) : 0;
}

/* --- Markdown ------------------------------------------------------------ */

/* One line of outside text: Markdown's punctuation backslash-escaped,
 * '<' and '&' as entities, line breaks as spaces. */
static int
md_inline(struct buf *b, const char *s)
{
	static const char punct[] = "\\`*_{}[]()#+-.!|~>";
	char c[2] = { 0, 0 };
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++) {
		if (*s == '<')
			rc = buf_puts(b, "&lt;");
		else if (*s == '&')
			rc = buf_puts(b, "&amp;");
		else if (*s == '\n' || *s == '\r' || *s == '\t')
			rc = buf_puts(b, " ");
		else {
			if (strchr(punct, *s) != NULL)
				rc = buf_puts(b, "\\");
			c[0] = *s;
			if (rc == 0)
				rc = buf_puts(b, c);
		}
	}
	return rc;
}

/* The team's Markdown, kept but for raw HTML. */
static int
md_block(struct buf *b, const char *s)
{
	char c[2] = { 0, 0 };
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++) {
		if (*s == '<')
			rc = buf_puts(b, "&lt;");
		else if (*s == '&')
			rc = buf_puts(b, "&amp;");
		else {
			c[0] = *s;
			rc = buf_puts(b, c);
		}
	}
	return rc == 0 ? buf_puts(b, "\n") : rc;
}

/* "- **label:** value\n" */
static int
md_field(struct buf *b, const char *label, const char *value)
{
	if (buf_printf(b, "- **%s:** ", label) != 0 ||
	    md_inline(b, value[0] ? value : "-") != 0)
		return -1;
	return buf_puts(b, "\n");
}

/* A section of the case's linked alerts or findings, one line each:
 * "- <id> (<severity>, <detail>): <title>". */
static int
md_linked(struct buf *b, const char *title, json_object *a,
    const char *id_key, const char *detail_key)
{
	json_object *e;
	size_t i;
	int rc = buf_printf(b, "\n## %s\n\n", title);

	for (i = 0; i < N(a); i++) {
		e = json_object_array_get_idx(a, i);
		rc |= buf_puts(b, "- ");
		rc |= md_inline(b, S(e, id_key));
		rc |= buf_puts(b, " (");
		rc |= md_inline(b, S(e, "severity"));
		rc |= buf_puts(b, ", ");
		rc |= md_inline(b, S(e, detail_key));
		rc |= buf_puts(b, "): ");
		rc |= md_inline(b, S(e, "title"));
		rc |= buf_puts(b, "\n");
	}
	return rc;
}

int
casereport_markdown(json_object *c, struct buf *b)
{
	json_object *a, *e, *d;
	size_t i;
	int rc = 0;

	rc |= buf_puts(b, "# Case report: ");
	rc |= md_inline(b, S(c, "title"));
	rc |= buf_puts(b, "\n\n");
	rc |= md_field(b, "Case", S(c, "case_id"));
	rc |= md_field(b, "Status", S(c, "status"));
	rc |= md_field(b, "Verdict", S(c, "verdict"));
	rc |= md_field(b, "Severity", S(c, "severity"));
	rc |= md_field(b, "Assignee", S(c, "assignee"));
	rc |= md_field(b, "Opened", S(c, "created_at"));
	rc |= md_field(b, "Opened by", S(c, "created_by"));
	rc |= md_field(b, "Resolved", S(c, "resolved_at"));
	a = A(c, "tags");
	rc |= buf_puts(b, "- **Tags:** ");
	for (i = 0; i < N(a); i++) {
		rc |= buf_puts(b, i ? ", " : "");
		rc |= md_inline(b, json_object_get_string(
		    json_object_array_get_idx(a, i)));
	}
	rc |= buf_puts(b, N(a) ? "\n" : "-\n");
	rc |= buf_puts(b, "\n## Description\n\n");
	rc |= md_block(b, S(c, "description"));
	rc |= buf_puts(b, "\n## Root cause\n\n");
	rc |= md_block(b, S(c, "root_cause"));
	rc |= buf_puts(b, "\n## Narrative\n\n");
	rc |= md_block(b, S(c, "narrative"));
	rc |= buf_puts(b, "\n## ATT&CK techniques\n\n");
	a = A(c, "techniques");
	for (i = 0; i < N(a); i++) {
		e = json_object_array_get_idx(a, i);
		rc |= buf_puts(b, "- ");
		rc |= md_inline(b, S(e, "id"));
		rc |= buf_puts(b, " ");
		rc |= md_inline(b, S(e, "name"));
		rc |= buf_puts(b, "\n");
	}
	rc |= md_linked(b, "Alerts", A(c, "alerts"), "alert_id", "source");
	rc |= md_linked(b, "Findings", A(c, "findings"), "finding_id",
	    "state");
	rc |= buf_puts(b, "\n## Observables\n\n");
	a = A(c, "observables");
	if (N(a) > 0)
		rc |= buf_puts(b, "| type | value | first seen | last seen |\n"
		    "| --- | --- | --- | --- |\n");
	for (i = 0; i < N(a); i++) {
		e = json_object_array_get_idx(a, i);
		rc |= buf_puts(b, "| ");
		rc |= md_inline(b, S(e, "type"));
		rc |= buf_puts(b, " | ");
		rc |= md_inline(b, S(e, "value"));
		rc |= buf_puts(b, " | ");
		rc |= md_inline(b, S(e, "first_seen_at"));
		rc |= buf_puts(b, " | ");
		rc |= md_inline(b, S(e, "last_seen_at"));
		rc |= buf_puts(b, " |\n");
	}
	rc |= buf_puts(b, "\n## Evidence\n\n");
	a = A(c, "evidence");
	for (i = 0; i < N(a); i++) {
		e = json_object_array_get_idx(a, i);
		rc |= buf_puts(b, "- ");
		rc |= md_inline(b, S(e, "name"));
		rc |= buf_puts(b, " (");
		rc |= md_inline(b, S(e, "size"));
		rc |= buf_puts(b, " bytes, sha256 ");
		rc |= md_inline(b, S(e, "sha256"));
		rc |= buf_puts(b, ")\n");
	}
	rc |= buf_puts(b, "\n## Timeline\n\n");
	a = A(c, "timeline");
	for (i = 0; i < N(a); i++) {
		e = json_object_array_get_idx(a, i);
		rc |= buf_puts(b, "- ");
		rc |= md_inline(b, S(e, "at"));
		rc |= buf_puts(b, " ");
		rc |= md_inline(b, S(e, "by"));
		rc |= buf_puts(b, ": ");
		rc |= md_inline(b, S(e, "kind"));
		rc |= buf_puts(b, "\n");
		json_object_object_get_ex(e, "data", &d);
		if (strcmp(S(e, "kind"), "commented") == 0) {
			rc |= buf_puts(b, "\n");
			rc |= md_block(b, S(d, "body"));
			rc |= buf_puts(b, "\n");
		}
	}
	return rc != 0 ? -1 : 0;
}

/* --- HTML ---------------------------------------------------------------- */

static int
h(struct buf *b, const char *s)
{
	char c[2] = { 0, 0 };
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++) {
		switch (*s) {
		case '<': rc = buf_puts(b, "&lt;"); break;
		case '>': rc = buf_puts(b, "&gt;"); break;
		case '&': rc = buf_puts(b, "&amp;"); break;
		case '"': rc = buf_puts(b, "&quot;"); break;
		case '\'': rc = buf_puts(b, "&#39;"); break;
		default:
			c[0] = *s;
			rc = buf_puts(b, c);
		}
	}
	return rc;
}

static int
h_field(struct buf *b, const char *label, const char *value)
{
	int rc = buf_printf(b, "<tr><th>%s</th><td>", label);

	rc |= h(b, value[0] ? value : "-");
	rc |= buf_puts(b, "</td></tr>\n");
	return rc;
}

static int
h_text(struct buf *b, const char *title, const char *text)
{
	int rc = buf_printf(b, "<h2>%s</h2>\n<div class=\"text\">", title);

	rc |= h(b, text[0] ? text : "-");
	rc |= buf_puts(b, "</div>\n");
	return rc;
}

/* A table of the members keys[] (NULL-terminated) of each element. */
static int
h_table(struct buf *b, const char *title, json_object *a,
    const char *const *heads, const char *const *keys)
{
	json_object *e;
	size_t i, k;
	int rc = buf_printf(b, "<h2>%s</h2>\n", title);

	if (N(a) == 0)
		return rc | buf_puts(b, "<p>None.</p>\n");
	rc |= buf_puts(b, "<table><tr>");
	for (k = 0; heads[k] != NULL; k++)
		rc |= buf_printf(b, "<th>%s</th>", heads[k]);
	rc |= buf_puts(b, "</tr>\n");
	for (i = 0; i < N(a); i++) {
		e = json_object_array_get_idx(a, i);
		rc |= buf_puts(b, "<tr>");
		for (k = 0; keys[k] != NULL; k++) {
			rc |= buf_puts(b, "<td>");
			rc |= h(b, S(e, keys[k]));
			rc |= buf_puts(b, "</td>");
		}
		rc |= buf_puts(b, "</tr>\n");
	}
	return rc | buf_puts(b, "</table>\n");
}

int
casereport_html(json_object *c, struct buf *b)
{
	static const char *const tech_h[] = { "Technique", "Name", NULL };
	static const char *const tech_k[] = { "id", "name", NULL };
	static const char *const al_h[] = { "Alert", "Severity", "Source",
	    "Status", "Title", NULL };
	static const char *const al_k[] = { "alert_id", "severity", "source",
	    "status", "title", NULL };
	static const char *const fi_h[] = { "Finding", "Severity", "State",
	    "Title", NULL };
	static const char *const fi_k[] = { "finding_id", "severity", "state",
	    "title", NULL };
	static const char *const ob_h[] = { "Type", "Value", "First seen",
	    "Last seen", NULL };
	static const char *const ob_k[] = { "type", "value", "first_seen_at",
	    "last_seen_at", NULL };
	static const char *const ev_h[] = { "Name", "Type", "Size", "SHA-256",
	    NULL };
	static const char *const ev_k[] = { "name", "content_type", "size",
	    "sha256", NULL };
	json_object *a, *e, *d, *tags;
	size_t i;
	int rc = 0;

	rc |= buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>Case report: ");
	rc |= h(b, S(c, "title"));
	rc |= buf_puts(b, "</title>\n<style>body{font-family:sans-serif;"
	    "max-width:60em;margin:2em auto;padding:0 1em;color:#222}"
	    "table{border-collapse:collapse;margin:0.5em 0}"
	    "th,td{border:1px solid #ccc;padding:0.2em 0.5em;text-align:left;"
	    "vertical-align:top}.text{white-space:pre-wrap}"
	    "</style></head><body>\n<h1>Case report: ");
	rc |= h(b, S(c, "title"));
	rc |= buf_puts(b, "</h1>\n<table>\n");
	rc |= h_field(b, "Case", S(c, "case_id"));
	rc |= h_field(b, "Status", S(c, "status"));
	rc |= h_field(b, "Verdict", S(c, "verdict"));
	rc |= h_field(b, "Severity", S(c, "severity"));
	rc |= h_field(b, "Assignee", S(c, "assignee"));
	rc |= h_field(b, "Opened", S(c, "created_at"));
	rc |= h_field(b, "Opened by", S(c, "created_by"));
	rc |= h_field(b, "Resolved", S(c, "resolved_at"));
	tags = A(c, "tags");
	rc |= buf_puts(b, "<tr><th>Tags</th><td>");
	for (i = 0; i < N(tags); i++) {
		rc |= buf_puts(b, i ? ", " : "");
		rc |= h(b, json_object_get_string(
		    json_object_array_get_idx(tags, i)));
	}
	rc |= buf_puts(b, "</td></tr>\n</table>\n");
	rc |= h_text(b, "Description", S(c, "description"));
	rc |= h_text(b, "Root cause", S(c, "root_cause"));
	rc |= h_text(b, "Narrative", S(c, "narrative"));
	rc |= h_table(b, "ATT&amp;CK techniques", A(c, "techniques"), tech_h,
	    tech_k);
	rc |= h_table(b, "Alerts", A(c, "alerts"), al_h, al_k);
	rc |= h_table(b, "Findings", A(c, "findings"), fi_h, fi_k);
	rc |= h_table(b, "Observables", A(c, "observables"), ob_h, ob_k);
	rc |= h_table(b, "Evidence", A(c, "evidence"), ev_h, ev_k);
	rc |= buf_puts(b, "<h2>Timeline</h2>\n<table><tr><th>At</th><th>By"
	    "</th><th>What</th></tr>\n");
	a = A(c, "timeline");
	for (i = 0; i < N(a); i++) {
		e = json_object_array_get_idx(a, i);
		rc |= buf_puts(b, "<tr><td>");
		rc |= h(b, S(e, "at"));
		rc |= buf_puts(b, "</td><td>");
		rc |= h(b, S(e, "by"));
		rc |= buf_puts(b, "</td><td>");
		rc |= h(b, S(e, "kind"));
		json_object_object_get_ex(e, "data", &d);
		if (strcmp(S(e, "kind"), "commented") == 0) {
			rc |= buf_puts(b, "<div class=\"text\">");
			rc |= h(b, S(d, "body"));
			rc |= buf_puts(b, "</div>");
		}
		rc |= buf_puts(b, "</td></tr>\n");
	}
	rc |= buf_puts(b, "</table>\n</body></html>\n");
	return rc != 0 ? -1 : 0;
}
