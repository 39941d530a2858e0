/* export.h: every finding matching the list filters, written out as CSV
 * (RFC 4180) or JSON Lines in keyset pages of 500, so that memory does not
 * grow with the number of findings (GET /findings/export; the findings
 * report's table takes its columns from here). */
#ifndef VIGIL_EXPORT_H
#define VIGIL_EXPORT_H

#include <stddef.h>
#include <json-c/json.h>

#include "buf.h"
#include "findings.h"

struct db;

enum export_format { EXPORT_CSV, EXPORT_JSONL };

/* The columns of the CSV and of the findings report, in order: keys of
 * findings_to_json's list shape (a key it lacks is an empty cell). */
extern const char *const export_columns[];
extern const size_t export_ncolumns;

/* One cell as CSV text (RFC 4180: quoted when it holds a comma, quote,
 * CR or LF; quotes doubled), neutralised against formula injection: a
 * cell starting with =, +, -, @, tab or CR gets a leading '. Pure. */
int	 export_csv_cell(struct buf *, const char *s, size_t len);
/* The header line, and one finding's line (its list JSON), CRLF-ended. */
int	 export_csv_header(struct buf *);
int	 export_csv_row(struct buf *, json_object *finding);
/* The text of column key of a finding's list JSON: a string as is, a
 * number or boolean in JSON, an object or array as JSON text, "" for
 * null or absent. Borrowed from the object (valid while it lives). */
const char *export_cell(json_object *finding, const char *key, size_t *len);

/* Write every finding of the tenant matching f (its limit and before are
 * ignored) through write(arg, data, n), one page of up to 500 at a time,
 * calling pause(arg) (may be NULL) before each database read after the
 * first write. 0, a DB_* code (< 0), or 1 when write failed (the reader
 * is gone). *rows: how many findings were written. */
int	 export_run(struct db *, const char *tenant_id,
	    const struct findings_filter *f, enum export_format,
	    int (*write)(void *arg, const char *data, size_t n),
	    void (*pause)(void *arg), void *arg, long long *rows);

#endif
