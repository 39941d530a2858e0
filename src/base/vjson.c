/* vjson.c: json-c behind caps (size, depth, UTF-8, one value only) and
 * typed getters that report the offending field by name. */
#include "vigil.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "text.h"
#include "vjson.h"

/* Cut a string that snprintf may have cut inside a UTF-8 sequence back to
 * the last whole character, so an error message stays valid UTF-8 in the
 * JSON answer that carries it. */
static void
utf8_trim(char *s)
{
	size_t	 len = strlen(s), i, need;

	/* The last lead byte among the final four, if any. */
	for (i = len; i > 0 && len - i < 4; i--) {
		unsigned char c = (unsigned char)s[i - 1];

		if ((c & 0xc0) == 0x80)
			continue;
		need = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (len - (i - 1) < need)
			s[i - 1] = '\0';
		return;
	}
}

/* The length of the longest prefix of s, at most max bytes, that ends on
 * a character boundary. */
static int
utf8_prefix(const char *s, size_t max)
{
	size_t	 len = strlen(s);

	if (len <= max)
		return (int)len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return (int)max;
}

static void vjson_fail(struct vjson_err *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

static void
vjson_fail(struct vjson_err *err, const char *field, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL)
		return;
	snprintf(err->field, sizeof(err->field), "%s", field);
	utf8_trim(err->field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	utf8_trim(err->message);
}

/* Table 3-7 of the Unicode standard: the second byte's range depends on
 * the first, which rules out overlongs, surrogates and > U+10FFFF. */
int
vjson_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n, k;
	uint64_t		 w;
	unsigned char		 lo, hi;

	while (i < len) {
		if (p[i] < 0x80) {
			/* ASCII, nearly all of a document: eight bytes at a
			 * time while none has its high bit set. */
			i++;
			while (len - i >= sizeof(w)) {
				memcpy(&w, p + i, sizeof(w));
				if (w & 0x8080808080808080ULL)
					break;
				i += sizeof(w);
			}
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


/* The string a JSON string literal s[0..len) stands for, unescaped by
 * json-c itself: a new object the caller puts, or NULL. */
static json_object *
dup_unescape(const char *s, size_t len)
{
	struct json_tokener	*tok;
	json_object		*o;

	if (len > INT_MAX || (tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success
	    || !json_object_is_type(o, json_type_string))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/*
 * Repeated keys. json-c keeps the last of two equal keys in an object and
 * has no flag to refuse them, so after it has accepted the text, a second
 * walk counts each object's members in the text and compares the count
 * with the parsed object's: they differ exactly when a key repeats. The
 * walk trusts the grammar json-c (strict mode) has just checked and only
 * keeps inside the text. Objects that pass are walked member by member
 * beside the tree (json-c keeps keys in document order), so a repeat at
 * any depth is named by its path: "asset.hostname", "items[2].id".
 */
/* How much of a long path a message shows, so that what the message says
 * survives its buffer (struct vjson_err). */
#define DUP_SHOWN	120

struct dupwalk {
	const char		*p, *end;
	char			 path[256];
	size_t			 pathlen;
	struct vjson_err	*err;
};

static void
dup_ws(struct dupwalk *w)
{
	while (w->p < w->end && (*w->p == ' ' || *w->p == '\t' ||
	    *w->p == '\n' || *w->p == '\r'))
		w->p++;
}

/* Past the string literal at w->p (its opening quote). */
static void
dup_skip_string(struct dupwalk *w)
{
	for (w->p++; w->p < w->end && *w->p != '"'; w->p++)
		if (*w->p == '\\' && w->p + 1 < w->end)
			w->p++;
	if (w->p < w->end)
		w->p++;
}

/* Past the value at w->p, without looking at the tree. */
static void
dup_skip_value(struct dupwalk *w)
{
	size_t depth = 0;

	dup_ws(w);
	do {
		if (w->p >= w->end)
			return;
		if (*w->p == '"') {
			dup_skip_string(w);
			continue;
		}
		if (*w->p == '{' || *w->p == '[')
			depth++;
		else if (*w->p == '}' || *w->p == ']')
			depth--;
		else if (depth == 0) {
			/* A number, true, false or null. */
			while (w->p < w->end && strchr(",]} \t\r\n", *w->p)
			    == NULL)
				w->p++;
			return;
		}
		w->p++;
	} while (depth > 0);
}

/* Append ".name" (or "name" at the top) or "[i]" to the path; the old
 * length, to restore. */
static size_t
dup_push(struct dupwalk *w, const char *name, size_t idx)
{
	char	 num[32], *q = num + sizeof(num);
	size_t	 old = w->pathlen, at = old, k;

	/* By hand rather than snprintf: this runs for every member of every
	 * body (a batch of 500 alerts has 10,000 and more), and snprintf was
	 * most of the walk's time. Cut at the buffer as snprintf cuts. */
	if (name == NULL) {
		*--q = ']';
		do
			*--q = (char)('0' + idx % 10);
		while ((idx /= 10) > 0);
		*--q = '[';
		name = q;
		k = (size_t)(num + sizeof(num) - q);
	} else {
		if (at > 0 && at < sizeof(w->path) - 1)
			w->path[at++] = '.';
		k = strlen(name);
	}
	if (k > sizeof(w->path) - 1 - at)
		k = sizeof(w->path) - 1 - at;
	memcpy(w->path + at, name, k);
	w->pathlen = at + k;
	w->path[w->pathlen] = '\0';
	return old;
}

static void
dup_pop(struct dupwalk *w, size_t old)
{
	w->pathlen = old;
	w->path[old] = '\0';
}

/* The members of the object whose text starts after its '{' at start are
 * more than the parsed object holds: find the first key that repeats, by
 * its unescaped name (json-c unescapes it: "a" and "\u0061" are one key),
 * and fill err. Always -1. */
static int
dup_report(struct dupwalk *w, const char *start)
{
	json_object	*seen, *name = NULL;
	const char	*k;
	size_t		 old;

	w->p = start;
	if ((seen = json_object_new_object()) == NULL)
		goto fail;
	for (;;) {
		dup_ws(w);
		if (w->p >= w->end || *w->p != '"')
			break;
		k = w->p;
		dup_skip_string(w);
		name = dup_unescape(k, (size_t)(w->p - k));
		if (name == NULL)
			break;
		if (json_object_object_get_ex(seen,
		    json_object_get_string(name), NULL)) {
			old = dup_push(w, json_object_get_string(name), 0);
			vjson_fail(w->err, w->path,
			    "%.*s%s appears more than once in its object",
			    utf8_prefix(w->path, DUP_SHOWN), w->path,
			    strlen(w->path) > DUP_SHOWN ? "…" : "");
			dup_pop(w, old);
			json_object_put(name);
			json_object_put(seen);
			return -1;
		}
		json_object_object_add(seen, json_object_get_string(name),
		    NULL);
		json_object_put(name);
		name = NULL;
		dup_ws(w);
		if (w->p < w->end && *w->p == ':')
			w->p++;
		dup_skip_value(w);
		dup_ws(w);
		if (w->p < w->end && *w->p == ',')
			w->p++;
	}
	json_object_put(seen);
fail:
	/* Counts differed but no name repeated: only json-c's own reading
	 * of a key (say, one cut short by \u0000) can do that. */
	vjson_fail(w->err, w->pathlen > 0 ? w->path : "body",
	    "%.*s%s has a key that appears more than once",
	    utf8_prefix(w->pathlen > 0 ? w->path : "body", DUP_SHOWN),
	    w->pathlen > 0 ? w->path : "body",
	    w->pathlen > DUP_SHOWN ? "…" : "");
	return -1;
}

static int dup_value(struct dupwalk *, json_object *);

/* w->p is at '{'; v the object json-c made of it. */
static int
dup_object(struct dupwalk *w, json_object *v)
{
	struct json_object_iterator	 it, end;
	const char			*start;
	size_t				 n = 0, old;

	start = ++w->p;
	for (;;) {
		dup_ws(w);
		if (w->p >= w->end || *w->p != '"')
			break;
		dup_skip_string(w);
		dup_ws(w);
		if (w->p < w->end && *w->p == ':')
			w->p++;
		dup_skip_value(w);
		n++;
		dup_ws(w);
		if (w->p < w->end && *w->p == ',')
			w->p++;
	}
	if (!json_object_is_type(v, json_type_object))
		goto skip;
	if (n != (size_t)json_object_object_length(v))
		return dup_report(w, start);
	w->p = start;
	it = json_object_iter_begin(v);
	end = json_object_iter_end(v);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it)) {
		dup_ws(w);
		if (w->p >= w->end || *w->p != '"')
			break;
		dup_skip_string(w);
		dup_ws(w);
		if (w->p < w->end && *w->p == ':')
			w->p++;
		old = dup_push(w, json_object_iter_peek_name(&it), 0);
		if (dup_value(w, json_object_iter_peek_value(&it)) != 0)
			return -1;
		dup_pop(w, old);
		dup_ws(w);
		if (w->p < w->end && *w->p == ',')
			w->p++;
	}
skip:
	dup_ws(w);
	if (w->p < w->end && *w->p == '}')
		w->p++;
	return 0;
}

/* w->p is at '['; v the array json-c made of it. */
static int
dup_array(struct dupwalk *w, json_object *v)
{
	size_t	 i, old;
	int	 isarr = json_object_is_type(v, json_type_array);

	w->p++;
	for (i = 0;; i++) {
		dup_ws(w);
		if (w->p >= w->end || *w->p == ']')
			break;
		old = dup_push(w, NULL, i);
		if (dup_value(w, isarr && i < json_object_array_length(v) ?
		    json_object_array_get_idx(v, i) : NULL) != 0)
			return -1;
		dup_pop(w, old);
		dup_ws(w);
		if (w->p < w->end && *w->p == ',')
			w->p++;
	}
	if (w->p < w->end)
		w->p++;
	return 0;
}

static int
dup_value(struct dupwalk *w, json_object *v)
{
	dup_ws(w);
	if (w->p >= w->end)
		return 0;
	if (*w->p == '{')
		return dup_object(w, v);
	if (*w->p == '[')
		return dup_array(w, v);
	dup_skip_value(w);
	return 0;
}

/* How deep containers nest in o (a scalar: 0). json-c's own depth limit
 * counts values rather than containers, so an empty container one level
 * below the limit slips past it ({"a":[]} at a limit of 1); this is the
 * rule as documented. Bounded by json-c's limit, so the recursion is. */
static int
vjson_nesting(json_object *o)
{
	size_t	 i, n;
	int	 d = 0, k;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, v) {
			(void)key;
			if ((k = vjson_nesting(v)) > d)
				d = k;
		}
		return d + 1;
	}
	if (json_object_is_type(o, json_type_array)) {
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if ((k = vjson_nesting(
			    json_object_array_get_idx(o, i))) > d)
				d = k;
		return d + 1;
	}
	return 0;
}

/* Returns a new object the caller puts, or NULL with err set. */
json_object *
vjson_parse(const char *text, size_t len, int maxdepth, size_t maxlen,
    struct vjson_err *err)
{
	return vjson_parse_with(NULL, text, len, maxdepth, maxlen, err);
}

void
vjson_tok_free(struct vjson_tok *t)
{
	if (t->tok != NULL)
		json_tokener_free(t->tok);
	t->tok = NULL;
	t->depth = 0;
}

/* t NULL: a tokener of its own for this call. */
json_object *
vjson_parse_with(struct vjson_tok *t, const char *text, size_t len,
    int maxdepth, size_t maxlen, struct vjson_err *err)
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
	if (t != NULL && t->tok != NULL && t->depth == maxdepth) {
		tok = t->tok;
		json_tokener_reset(tok);
	} else {
		if (t != NULL)
			vjson_tok_free(t);
		/* json-c counts the top-level value as one level of its
		 * own. */
		if ((tok = json_tokener_new_ex(maxdepth + 1)) == NULL) {
			vjson_fail(err, "body", "out of memory");
			goto out;
		}
		/* No JSON_TOKENER_VALIDATE_UTF8: vjson_utf8_valid above
		 * has refused everything json-c's looser check would (and
		 * overlongs, surrogates and > U+10FFFF too), and json-c's
		 * costs a call per byte. */
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		if (t != NULL) {
			t->tok = tok;
			t->depth = maxdepth;
		}
	}
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
	} else if ((t == NULL || t->nested > maxdepth) &&
	    vjson_nesting(obj) > maxdepth) {
		json_object_put(obj);
		obj = NULL;
		vjson_fail(err, "body", "body is nested deeper than %d levels",
		    maxdepth);
	}
out:
	if (tok != NULL && t == NULL)
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

/* Check one string value; 0 or -1 with err set. multiline allows newline
 * and tab among the control characters (text.c). */
static int
vjson_check_string(json_object *v, const char *field, const char *what,
    size_t minlen, size_t maxlen, int multiline, struct vjson_err *err)
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
	if (text_control(s, len, multiline) != len) {
		vjson_fail(err, field, multiline ? "%s must not contain "
		    "control characters other than newline and tab" :
		    "%s must not contain control characters", what);
		return -1;
	}
	if (len < minlen || len > maxlen) {
		vjson_fail(err, field, "%s must be %zu to %zu bytes long",
		    what, minlen, maxlen);
		return -1;
	}
	return 0;
}

static int
vjson_get_str(json_object *obj, const char *field, int required,
    size_t minlen, size_t maxlen, int multiline, const char **out,
    struct vjson_err *err)
{
	json_object	*v;
	int		 rc;

	if ((rc = vjson_lookup(obj, field, required, &v, err)) != 1)
		return rc;
	if (vjson_check_string(v, field, field, minlen, maxlen, multiline,
	    err) == -1)
		return -1;
	*out = json_object_get_string(v);
	return 1;
}

int
vjson_get_string(json_object *obj, const char *field, int required,
    size_t minlen, size_t maxlen, const char **out, struct vjson_err *err)
{
	return vjson_get_str(obj, field, required, minlen, maxlen, 0, out,
	    err);
}

int
vjson_get_text(json_object *obj, const char *field, int required,
    size_t minlen, size_t maxlen, const char **out, struct vjson_err *err)
{
	return vjson_get_str(obj, field, required, minlen, maxlen, 1, out,
	    err);
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
		    what, 1, maxlen, 0, err) == -1)
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

/* vjson_parse, then no key repeated in any object. */
json_object *
vjson_parse_unique(const char *text, size_t len, int maxdepth,
    size_t maxlen, struct vjson_err *err)
{
	json_object	*obj;
	struct dupwalk	 w = { text, text + len, "", 0, err };

	if ((obj = vjson_parse(text, len, maxdepth, maxlen, err)) == NULL)
		return NULL;
	if (dup_value(&w, obj) != 0) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
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
