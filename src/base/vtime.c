/* vtime.c: RFC 3339 and database timestamps, always UTC. */
#include "vigil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "vtime.h"

/*
 * Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
 * Hinnant's days_from_civil / civil_from_days). A list page formats and
 * parses about eight timestamps per finding: this arithmetic instead of
 * gmtime_r and strftime, strptime and timegm (each with its locale and
 * time zone machinery) is most of what a page spends on time.
 */
static long long
days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(long long z, long long *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static void
put_digits(char *p, long long v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Literal formats only, so the compiler can check them; an empty
 * string rather than a partial one if out is too small. */
static void
vtime_format(time_t t, int sql, char *out, size_t outsz)
{
	struct tm	 tm;
	long long	 days, secs, y;
	int		 m, d;
	size_t		 n;

	if (outsz == 0)
		return;
	/* Years 1000-9999 by arithmetic; anything else as strftime has it
	 * (which does not pad a year to four digits). */
	if (t >= -30610224000LL && t <= 253402300799LL &&
	    outsz >= (sql ? 20u : 21u)) {
		days = (long long)t / 86400;
		secs = (long long)t % 86400;
		if (secs < 0) {
			secs += 86400;
			days--;
		}
		civil_from_days(days, &y, &m, &d);
		put_digits(out, y, 4);
		out[4] = '-';
		put_digits(out + 5, m, 2);
		out[7] = '-';
		put_digits(out + 8, d, 2);
		out[10] = sql ? ' ' : 'T';
		put_digits(out + 11, secs / 3600, 2);
		out[13] = ':';
		put_digits(out + 14, secs / 60 % 60, 2);
		out[16] = ':';
		put_digits(out + 17, secs % 60, 2);
		if (sql)
			out[19] = '\0';
		else {
			out[19] = 'Z';
			out[20] = '\0';
		}
		return;
	}
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

static int
num(const char *s, int n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/* Parse the date and time of day in s (shape already checked: all the
 * fields are digits) and check the fields are in range: no 02-30, no
 * 24:00, no leap second. */
static int
vtime_fields(const char *s, time_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
	int h = num(s + 11, 2), mi = num(s + 14, 2), sec = num(s + 17, 2);

	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 59)
		return -1;
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	*out = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 +
	    mi * 60 + sec);
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
	if (vtime_fields(s, &t) == -1)
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
	return vtime_fields(s, out);
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

