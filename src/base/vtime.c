/* vtime.c: RFC 3339 and database timestamps, always UTC. */
#include "vigil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "vtime.h"

/* Literal formats only, so the compiler can check them; an empty
 * string rather than a partial one if out is too small. */
static void
vtime_format(time_t t, int sql, char *out, size_t outsz)
{
	struct tm	 tm;
	size_t		 n;

	if (outsz == 0)
		return;
	if (gmtime_r(&t, &tm) == NULL) {
		out[0] = '\0';
		return;
	}
	if (sql)
		n = strftime(out, outsz, "%Y-%m-%d %H:%M:%S", &tm);
	else
		n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (n == 0)
		out[0] = '\0';
}

void
vtime_rfc3339(time_t t, char *out, size_t outsz)
{
	vtime_format(t, 0, out, outsz);
}

void
vtime_sql(time_t t, char *out, size_t outsz)
{
	vtime_format(t, 1, out, outsz);
}

/* strptime accepts short fields and leading spaces; insist on the exact
 * digit layout first so that "2026-5-1T1:2:3Z" is refused. */
static int
vtime_shape(const char *s, char sep)
{
	static const char pat[] = "dddd-dd-ddSdd:dd:dd";
	size_t	 i;

	for (i = 0; pat[i] != '\0'; i++) {
		if (pat[i] == 'd') {
			if (!isdigit((unsigned char)s[i]))
				return -1;
		} else if (pat[i] == 'S') {
			if (s[i] != sep)
				return -1;
		} else if (s[i] != pat[i])
			return -1;
	}
	return 0;
}

/* Parse the date and time of day in s (shape already checked) and check
 * the fields are in range (timegm would quietly normalise 02-30). */
static int
vtime_fields(const char *s, const char *fmt, time_t *out)
{
	struct tm tm, chk;
	time_t	 t;

	memset(&tm, 0, sizeof(tm));
	if (strptime(s, fmt, &tm) == NULL)
		return -1;
	if (tm.tm_sec > 59)
		return -1;
	tm.tm_isdst = 0;
	chk = tm;
	if ((t = timegm(&tm)) == (time_t)-1 && chk.tm_year != 69)
		return -1;
	if (tm.tm_mday != chk.tm_mday || tm.tm_mon != chk.tm_mon ||
	    tm.tm_year != chk.tm_year)
		return -1;
	*out = t;
	return 0;
}

int
vtime_parse_rfc3339(const char *s, time_t *out)
{
	const char *p;
	time_t	 t;
	int	 off, hh, mm, sign;

	if (s == NULL || strlen(s) < 20)
		return -1;
	if (vtime_shape(s, 'T') == -1 && vtime_shape(s, 't') == -1)
		return -1;
	if (vtime_fields(s, s[10] == 'T' ? "%Y-%m-%dT%H:%M:%S" :
	    "%Y-%m-%dt%H:%M:%S", &t) == -1)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0')
		off = 0;
	else if ((p[0] == '+' || p[0] == '-') &&
	    isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
	    p[3] == ':' &&
	    isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5]) &&
	    p[6] == '\0') {
		sign = p[0] == '-' ? -1 : 1;
		hh = (p[1] - '0') * 10 + (p[2] - '0');
		mm = (p[4] - '0') * 10 + (p[5] - '0');
		if (hh > 23 || mm > 59)
			return -1;
		off = sign * (hh * 3600 + mm * 60);
	} else
		return -1;
	*out = t - off;
	/* An offset can carry 9999-12-31 past the years the database and
	 * the formatters handle: 0001..9999 only. */
	if (*out < -62135596800LL || *out > 253402300799LL)
		return -1;
	return 0;
}

int
vtime_parse_sql(const char *s, time_t *out)
{
	if (s == NULL || strlen(s) != 19 || vtime_shape(s, ' ') == -1)
		return -1;
	return vtime_fields(s, "%Y-%m-%d %H:%M:%S", out);
}

int
vtime_sql_to_rfc3339(const char *sql, char *out, size_t outsz)
{
	time_t	 t;

	if (outsz < VTIME_RFC3339_LEN || vtime_parse_sql(sql, &t) == -1)
		return -1;
	vtime_rfc3339(t, out, outsz);
	return 0;
}

json_object *
vtime_sql_json(const char *sql)
{
	char out[VTIME_RFC3339_LEN];

	if (sql == NULL || vtime_sql_to_rfc3339(sql, out, sizeof(out)) != 0)
		return NULL;
	return json_object_new_string(out);
}

long long
vtime_mono_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Milliseconds since the epoch on the wall clock. */
long long
vtime_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return (long long)time(NULL) * 1000LL;
	return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

