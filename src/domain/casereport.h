/* casereport.h: the report of a case, from its full payload (cases_full),
 * as Markdown or as one self-contained HTML page. Pure. */
#ifndef VIGIL_CASEREPORT_H
#define VIGIL_CASEREPORT_H

#include <json-c/json.h>

struct buf;

#define CASEREPORT_MAX (16 * 1024 * 1024)

/* Append the Markdown report of c to out. Text that came from outside
 * (titles, observable values, names) is escaped so that it reads as
 * written and cannot form links, headings or HTML; the team's own
 * Markdown (description, root cause, narrative, comments) is kept, with
 * '<' and '&' escaped so that no raw HTML passes. 0, or -1 if out is full. */
int	 casereport_markdown(json_object *c, struct buf *out);
/* Append the HTML report of c to out: every value HTML-escaped, an inline
 * style sheet, no script and no external resource. 0, or -1 if full. */
int	 casereport_html(json_object *c, struct buf *out);

#endif
