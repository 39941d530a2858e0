/* vtime.h: RFC 3339 UTC timestamps and the clock. */
#ifndef VIGIL_VTIME_H
#define VIGIL_VTIME_H

#include <stddef.h>
#include <time.h>

#define VTIME_RFC3339_LEN 21   /* "2026-05-15T18:42:11Z" + NUL */
#define VTIME_SQL_LEN     20   /* "2026-05-15 18:42:11" + NUL */

/* Format t as "YYYY-MM-DDTHH:MM:SSZ" into out (>= VTIME_RFC3339_LEN). */
void	 vtime_rfc3339(time_t t, char *out, size_t outsz);
/* Format t as "YYYY-MM-DD HH:MM:SS" (UTC) for the database. */
void	 vtime_sql(time_t t, char *out, size_t outsz);
/* Parse an RFC 3339 timestamp ("Z" or "+hh:mm" offset, optional
 * fractional seconds which are dropped); 0 on success, -1 if malformed. */
int	 vtime_parse_rfc3339(const char *s, time_t *out);
/* Parse the database's "YYYY-MM-DD HH:MM:SS" (UTC); 0 or -1. */
int	 vtime_parse_sql(const char *s, time_t *out);
/* Database text "YYYY-MM-DD HH:MM:SS" to RFC 3339 in out; -1 if malformed. */
int	 vtime_sql_to_rfc3339(const char *sql, char *out, size_t outsz);
struct json_object;
/* The API's form of a database DATETIME cell: a new JSON string in RFC
 * 3339, or NULL (JSON null) when sql is NULL (SQL NULL) or malformed. */
struct json_object *vtime_sql_json(const char *sql);
/* Milliseconds since the epoch (wall clock). */
long long vtime_now_ms(void);
/* Microseconds on the monotonic clock. */
long long vtime_mono_us(void);

#endif
