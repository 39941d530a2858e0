/* vjson.c: json-c behind caps (size, depth, UTF-8, one value only) and
 * typed getters that report the offending field by name. */
#include "vigil.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "vjson.h"

static void vjson_fail(struct vjson_err *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

static void
vjson_fail(struct vjson_err *err, const char *field, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL)
		return;
	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* Table 3-7 of the Unicode standard: the second byte's range depends on
 * the first, which rules out overlongs, surrogates and > U+10FFFF. */
int
vjson_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n, k;
	unsigned char		 lo, hi;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			n = 1;
		else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			n = 2;
			if (p[i] == 0xe0)
				lo = 0xa0;
			else if (p[i] == 0xed)
				hi = 0x9f;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			n = 3;
			if (p[i] == 0xf0)
				lo = 0x90;
			else if (p[i] == 0xf4)
				hi = 0x8f;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k <= n; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return 0;
		i += n + 1;
	}
	return 1;
}

/* Returns a new object the caller puts, or NULL with err set. */
json_object *
vjson_parse(const char *text, size_t len, int maxdepth, size_t maxlen,
    struct vjson_err *err)
{
	struct json_tokener	*tok = NULL;
	json_object		*obj = NULL;
	enum json_tokener_error	 jerr;
	size_t			 end;

	if (text == NULL) {
		vjson_fail(err, "body", "body is missing");
		goto out;
	}
	if (len > maxlen || len > INT_MAX - 1) {
		vjson_fail(err, "body", "body is larger than %zu bytes",
		    maxlen);
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		vjson_fail(err, "body", "body contains a NUL byte");
		goto out;
	}
	if (!vjson_utf8_valid(text, len)) {
		vjson_fail(err, "body", "body is not valid UTF-8");
		goto out;
	}
	if (maxdepth < 1 || maxdepth > INT_MAX - 1) {
		vjson_fail(err, "body", "bad depth limit");
		goto out;
	}
	/* json-c counts the top-level value as one level of its own. */
	if ((tok = json_tokener_new_ex(maxdepth + 1)) == NULL) {
		vjson_fail(err, "body", "out of memory");
		goto out;
	}
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_success) {
		end = json_tokener_get_parse_end(tok);
		for (; end < len; end++) {
			if (text[end] != ' ' && text[end] != '\t' &&
			    text[end] != '\n' && text[end] != '\r') {
				vjson_fail(err, "body",
				    "body has data after the JSON value");
				json_object_put(obj);
				obj = NULL;
				goto out;
			}
		}
	} else if (jerr == json_tokener_continue) {
		/* A bare number is only complete once the tokener sees
		 * what follows it; end the input explicitly. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
	}
	if (obj == NULL || jerr != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
		/* json-c represents a top-level null as NULL too. */
		if (jerr == json_tokener_success)
			vjson_fail(err, "body", "body must not be null");
		else if (jerr == json_tokener_error_depth)
			vjson_fail(err, "body",
			    "body is nested deeper than %d levels",
			    maxdepth);
		else
			vjson_fail(err, "body", "body is not valid JSON: %s",
			    json_tokener_error_desc(jerr));
	}
out:
	if (tok != NULL)
		json_tokener_free(tok);
	return obj;
}

/* Find field in obj: 1 with *vp set, 0 absent or null (err set if it was
 * required, and then -1), -1 if obj is not an object. */
static int
vjson_lookup(json_object *obj, const char *field, int required,
    json_object **vp, struct vjson_err *err)
{
	json_object	*v = NULL;

	*vp = NULL;
	if (!json_object_is_type(obj, json_type_object)) {
		vjson_fail(err, "body", "body must be a JSON object");
		return -1;
	}
	if (!json_object_object_get_ex(obj, field, &v) || v == NULL) {
		if (required) {
			vjson_fail(err, field, "%s is required", field);
			return -1;
		}
		return 0;
	}
	*vp = v;
	return 1;
}

/* Check one string value; 0 or -1 with err set. */
static int
vjson_check_string(json_object *v, const char *field, const char *what,
    size_t minlen, size_t maxlen, struct vjson_err *err)
{
	const char	*s;
	size_t		 len;
	int		 n;

	if (!json_object_is_type(v, json_type_string)) {
		vjson_fail(err, field, "%s must be a string", what);
		return -1;
	}
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	len = n < 0 ? 0 : (size_t)n;
	if (memchr(s, '\0', len) != NULL) {
		vjson_fail(err, field, "%s must not contain NUL", what);
		return -1;
	}
	if (!vjson_utf8_valid(s, len)) {
		vjson_fail(err, field, "%s must be valid UTF-8", what);
		return -1;
	}
	if (len < minlen || len > maxlen) {
		vjson_fail(err, field, "%s must be %zu to %zu bytes long",
		    what, minlen, maxlen);
		return -1;
	}
	return 0;
}

int
vjson_get_string(json_object *obj, const char *field, int required,
    size_t minlen, size_t maxlen, const char **out, struct vjson_err *err)
{
	json_object	*v;
	int		 rc;

	if ((rc = vjson_lookup(obj, field, required, &v, err)) != 1)
		return rc;
	if (vjson_check_string(v, field, field, minlen, maxlen, err) == -1)
		return -1;
	*out = json_object_get_string(v);
	return 1;
}

/* json-c saturates integers that overflow int64; a value it had to
 * store as a uint64 above INT64_MAX is out of anyone's range. */
int
vjson_get_int(json_object *obj, const char *field, int required,
    int64_t min, int64_t max, int64_t *out, struct vjson_err *err)
{
	json_object	*v;
	int64_t		 n;
	int		 rc;

	if ((rc = vjson_lookup(obj, field, required, &v, err)) != 1)
		return rc;
	if (!json_object_is_type(v, json_type_int)) {
		vjson_fail(err, field, "%s must be an integer", field);
		return -1;
	}
	n = json_object_get_int64(v);
	if ((n == INT64_MAX &&
	    json_object_get_uint64(v) != (uint64_t)INT64_MAX) ||
	    n < min || n > max) {
		vjson_fail(err, field,
		    "%s must be between %" PRId64 " and %" PRId64, field, min,
		    max);
		return -1;
	}
	*out = n;
	return 1;
}

int
vjson_get_bool(json_object *obj, const char *field, int required, int *out,
    struct vjson_err *err)
{
	json_object	*v;
	int		 rc;

	if ((rc = vjson_lookup(obj, field, required, &v, err)) != 1)
		return rc;
	if (!json_object_is_type(v, json_type_boolean)) {
		vjson_fail(err, field, "%s must be true or false", field);
		return -1;
	}
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 1;
}

/* *out belongs to obj. */
int
vjson_get_string_array(json_object *obj, const char *field, int required,
    size_t maxitems, size_t maxlen, json_object **out, struct vjson_err *err)
{
	json_object	*v;
	char		 what[128];
	size_t		 i, n;
	int		 rc;

	if ((rc = vjson_lookup(obj, field, required, &v, err)) != 1)
		return rc;
	if (!json_object_is_type(v, json_type_array)) {
		vjson_fail(err, field, "%s must be an array of strings",
		    field);
		return -1;
	}
	n = json_object_array_length(v);
	if (n > maxitems) {
		vjson_fail(err, field, "%s must have at most %zu items",
		    field, maxitems);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "%.80s[%zu]", field, i);
		if (vjson_check_string(json_object_array_get_idx(v, i), field,
		    what, 1, maxlen, err) == -1)
			return -1;
	}
	*out = v;
	return 1;
}

int
vjson_only_keys(json_object *obj, const char *const *allowed,
    struct vjson_err *err)
{
	struct json_object_iterator	 it, end;
	const char			*key;
	size_t				 i;
	int				 ok;

	if (!json_object_is_type(obj, json_type_object)) {
		vjson_fail(err, "body", "body must be a JSON object");
		return -1;
	}
	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		ok = 0;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], key) == 0)
				ok = 1;
		if (!ok) {
			vjson_fail(err, key, "unknown field");
			return -1;
		}
	}
	return 0;
}

/* The string belongs to obj and lives until obj is next serialised or
 * put. */
const char *
vjson_str(json_object *obj, size_t *lenp)
{
	size_t		 len = 0;
	const char	*s;

	s = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (lenp != NULL)
		*lenp = len;
	return s;
}

/* A new string object, or NULL (JSON null) when s is NULL. */
json_object *
vjson_new_string_or_null(const char *s)
{
	return s == NULL ? NULL : json_object_new_string(s);
}
