/* armstream.c: an ARM list page read as a stream. A small framer follows
 * the root object (or a bare array) byte by byte, tracking strings,
 * escapes and nesting only far enough to know where each element of the
 * "value" list, and each other member's value, starts and ends; that
 * element's text alone is kept (capped) and parsed by json-c through
 * vjson_parse, with the same strictness, UTF-8 and depth checks a whole
 * page had. The grammar between elements (keys, ':', ',', brackets) is
 * checked here; the grammar inside them is json-c's. A reader that needs
 * only some members of each item (the scanner: what its rules read) has
 * the others left out before json-c builds its objects (armstream_prune),
 * each of them checked here as strict JSON first: what cannot be vouched
 * for is parsed whole, so json-c still refuses what it refused. */
#include "vigil.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "armstream.h"
#include "buf.h"
#include "vjson.h"

/* A root key is at most this long (its literal, quotes included): ARM's
 * are a few bytes; a longer one is no page Vigil knows. */
#define ARMSTREAM_KEY_MAX	4096

/* Which member of the root object an element is the value of. */
enum { MEMBER_OTHER, MEMBER_VALUE, MEMBER_NEXTLINK, MEMBER_ID };

static void armstream_fail(struct armstream *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

static void
armstream_fail(struct armstream *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	s->state = ARMSTREAM_FAILED;
}

void
armstream_init(struct armstream *s, size_t max_elem, int max_depth,
    int flags, armstream_item_fn item, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->max_elem = max_elem;
	s->max_depth = max_depth;
	s->flags = flags;
	s->item = item;
	s->arg = arg;
	s->state = ARMSTREAM_START;
	buf_init(&s->elem, max_elem);
	buf_init(&s->key, ARMSTREAM_KEY_MAX);
	buf_init(&s->pruned, max_elem);
}

static void
armstream_kept_free(struct armstream *s)
{
	struct armstream_kept	*k, *kn;

	for (k = s->kept; k != NULL; k = kn) {
		kn = k->next;
		free(k);
	}
	s->kept = s->kept_tail = NULL;
	s->kept_bytes = 0;
}

void
armstream_free(struct armstream *s)
{
	armstream_kept_free(s);
	buf_free(&s->elem);
	buf_free(&s->key);
	buf_free(&s->pruned);
	free(s->next_link);
	s->next_link = NULL;
	vjson_tok_free(&s->tok);
}

static int
armstream_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Begin an element (a list item when in_list) whose first byte is next;
 * it returns to after_elem. */
static void
armstream_elem_start(struct armstream *s, int in_list)
{
	s->in_list = in_list;
	s->in_string = s->escape = s->scalar = 0;
	memset(&s->top, 0, sizeof(s->top));
	s->top_want_key = s->top_key = s->top_esc = 0;
	s->depth = 0;
	s->elem_nest = 0;
	s->elem_len = 0;
	buf_reset(&s->elem);
	s->after_elem = in_list ? ARMSTREAM_AFTER_ITEM :
	    ARMSTREAM_AFTER_MEMBER;
	s->state = ARMSTREAM_IN_ELEM;
}

size_t
armstream_str_run(const char *p, size_t n)
{
	const char	*q, *b;
	size_t		 m;

	q = memchr(p, '"', n);
	m = q != NULL ? (size_t)(q - p) : n;
	b = memchr(p, '\\', m);
	return b != NULL ? (size_t)(b - p) : m;
}

/* Byte k of the element, p[0..) being the bytes after its first
 * s->elem_len (the chunk being framed; those before are in s->elem). */
static int
armstream_byte_at(const struct armstream *s, const char *p, size_t k)
{
	return k < s->elem_len ? (unsigned char)s->elem.data[k] :
	    (unsigned char)p[k - s->elem_len];
}

/* ARMSTREAM_TOP_KEYS: a string of the item's own object ended at byte
 * end of the element (its closing quote), p as armstream_byte_at's. The
 * same reading as inventory's walk over an item's members. */
static void
armstream_top_str(struct armstream *s, const char *p, size_t end)
{
	size_t	 off = s->top_str, len = end - off;

	if (s->top_want_key) {
		s->top_want_key = 0;
		s->top_key = 1;
		if (s->top_esc)
			s->top.esc_key = 1;
		else if (len == 4 && armstream_byte_at(s, p, off) == 't' &&
		    armstream_byte_at(s, p, off + 1) == 'y' &&
		    armstream_byte_at(s, p, off + 2) == 'p' &&
		    armstream_byte_at(s, p, off + 3) == 'e')
			s->top_key = 2;
		else if (len == 2 && armstream_byte_at(s, p, off) == 'i' &&
		    armstream_byte_at(s, p, off + 1) == 'd')
			s->top_key = 3;
		return;
	}
	if (s->top_key == 2) {
		s->top.has_type = 1;
		s->top.type_off = off;
		s->top.type_len = len;
	} else if (s->top_key == 3) {
		s->top.has_id = 1;
		s->top.id_off = off;
		s->top.id_len = len;
	}
	s->top_key = 0;
}

/* How many of p[0..n) belong to the current element; *done when its last
 * byte is among them. A number, true, false or null ends before the byte
 * that follows it, which is not counted. */
static size_t
armstream_elem_scan(struct armstream *s, const char *p, size_t n, int *done)
{
	size_t	 i;
	int	 c;

	*done = 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (s->in_string) {
			/* Most of a resource is inside strings: skip to the
			 * next quote or backslash at once. */
			if (!s->escape && c != '"' && c != '\\') {
				i += armstream_str_run(p + i, n - i);
				if (i == n)
					break;
				c = (unsigned char)p[i];
			}
			if (s->escape)
				s->escape = 0;
			else if (c == '\\')
				s->escape = s->top_esc = 1;
			else if (c == '"') {
				s->in_string = 0;
				if (s->depth == 0) {
					*done = 1;
					return i + 1;
				}
				if (s->depth == 1 &&
				    (s->flags & ARMSTREAM_TOP_KEYS))
					armstream_top_str(s, p, s->elem_len + i);
			}
			continue;
		}
		if (s->scalar) {
			if (armstream_ws(c) || c == ',' || c == ']' ||
			    c == '}') {
				*done = 1;
				return i;
			}
			continue;
		}
		if (c == '"') {
			s->in_string = 1;
			s->top_str = s->elem_len + i + 1;
			s->top_esc = 0;
		} else if (c == '{' || c == '[') {
			if (++s->depth > s->elem_nest)
				s->elem_nest = s->depth;
			if (s->depth == 1)
				s->top_want_key = c == '{';
		} else if (c == '}' || c == ']') {
			/* Never at depth 0: an element does not start with
			 * a closing bracket (the states refuse it). */
			if (s->depth > 0 && --s->depth == 0) {
				*done = 1;
				return i + 1;
			}
		} else if (s->depth == 0)
			s->scalar = 1;
		else if (c == ',' && s->depth == 1) {
			s->top_want_key = 1;
			s->top_key = 0;
		}
	}
	return n;
}

/* -- pruning ------------------------------------------------------------ */

static size_t
prune_ws(const char *p, size_t n, size_t i)
{
	while (i < n && armstream_ws((unsigned char)p[i]))
		i++;
	return i;
}

static int
prune_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* A strict string at p[*i] (its opening quote): *i past its closing
 * quote; 0, or -1 when it is not one. */
static int
prune_string(const char *p, size_t n, size_t *i)
{
	size_t	 j = *i + 1, k;
	int	 c;

	for (;;) {
		j += armstream_str_run(p + j, n - j);
		if (j >= n)
			return -1;
		if (p[j] == '"')
			break;
		/* A backslash. */
		if (j + 1 >= n)
			return -1;
		c = (unsigned char)p[j + 1];
		if (c == 'u') {
			if (j + 6 > n)
				return -1;
			for (k = j + 2; k < j + 6; k++)
				if (!prune_hex((unsigned char)p[k]))
					return -1;
			/* A surrogate: what json-c makes of it (pairs,
			 * lone halves) is json-c's to say. */
			if ((p[j + 2] == 'd' || p[j + 2] == 'D') &&
			    strchr("89abAB", p[j + 3]) != NULL)
				return -1;
			j += 6;
		} else if (strchr("\"\\/bfnrt", c) != NULL && c != '\0')
			j += 2;
		else
			return -1;
	}
	/* Control characters are not allowed raw. */
	for (k = *i + 1; k < j; k++)
		if ((unsigned char)p[k] < 0x20)
			return -1;
	*i = j + 1;
	return 0;
}

static int
prune_digits(const char *p, size_t n, size_t *i)
{
	size_t	 j = *i;

	while (j < n && p[j] >= '0' && p[j] <= '9')
		j++;
	if (j == *i)
		return -1;
	*i = j;
	return 0;
}

/* A strict number at p[*i]. */
static int
prune_number(const char *p, size_t n, size_t *i)
{
	size_t	 j = *i;

	if (j < n && p[j] == '-')
		j++;
	if (j < n && p[j] == '0')
		j++;
	else if (prune_digits(p, n, &j) == -1)
		return -1;
	if (j < n && p[j] == '.') {
		j++;
		if (prune_digits(p, n, &j) == -1)
			return -1;
	}
	if (j < n && (p[j] == 'e' || p[j] == 'E')) {
		j++;
		if (j < n && (p[j] == '+' || p[j] == '-'))
			j++;
		if (prune_digits(p, n, &j) == -1)
			return -1;
	}
	/* What follows a number is whitespace or punctuation. */
	if (j < n && !armstream_ws((unsigned char)p[j]) && p[j] != ',' &&
	    p[j] != ']' && p[j] != '}')
		return -1;
	*i = j;
	return 0;
}

/* A strict JSON value at p[*i] (no whitespace before it): *i past it.
 * The nesting is bounded by the framer's count of the element's depth,
 * which the caller checked. */
static int
prune_value(const char *p, size_t n, size_t *i)
{
	size_t	 j = *i;

	if (j >= n)
		return -1;
	switch (p[j]) {
	case '"':
		return prune_string(p, n, i);
	case '{':
	case '[':
		{
			int	 obj = p[j] == '{';
			char	 close = obj ? '}' : ']';

			j = prune_ws(p, n, j + 1);
			if (j < n && p[j] == close) {
				*i = j + 1;
				return 0;
			}
			for (;;) {
				if (obj) {
					if (j >= n || p[j] != '"' ||
					    prune_string(p, n, &j) == -1)
						return -1;
					j = prune_ws(p, n, j);
					if (j >= n || p[j] != ':')
						return -1;
					j = prune_ws(p, n, j + 1);
				}
				if (prune_value(p, n, &j) == -1)
					return -1;
				j = prune_ws(p, n, j);
				if (j < n && p[j] == ',') {
					j = prune_ws(p, n, j + 1);
					continue;
				}
				if (j < n && p[j] == close) {
					*i = j + 1;
					return 0;
				}
				return -1;
			}
		}
	case 't':
		if (n - j >= 4 && memcmp(p + j, "true", 4) == 0)
			break;
		return -1;
	case 'f':
		if (n - j >= 5 && memcmp(p + j, "false", 5) == 0) {
			*i = j + 5;
			return 0;
		}
		return -1;
	case 'n':
		if (n - j >= 4 && memcmp(p + j, "null", 4) == 0)
			break;
		return -1;
	default:
		return prune_number(p, n, i);
	}
	*i = j + 4;
	return 0;
}

/* Past the value at p[*i] (no whitespace before it), which is kept:
 * strings and brackets followed as the framer follows them, nothing
 * checked. 0, or -1 when the text ends first or no value starts there. */
static int
prune_skip(const char *p, size_t n, size_t *i)
{
	size_t	 j = *i, depth = 0;
	int	 c;

	if (j >= n || p[j] == ',' || p[j] == ':' || p[j] == '}' ||
	    p[j] == ']')
		return -1;
	if (p[j] != '"' && p[j] != '{' && p[j] != '[') {
		/* A scalar: up to what ends it, as prune_number says. */
		while (j < n && !armstream_ws((unsigned char)p[j]) &&
		    p[j] != ',' && p[j] != ']' && p[j] != '}')
			j++;
		*i = j;
		return 0;
	}
	for (; j < n; j++) {
		c = (unsigned char)p[j];
		if (c == '"') {
			for (j++;;) {
				j += armstream_str_run(p + j, n - j);
				if (j >= n)
					return -1;
				if (p[j] == '"')
					break;
				/* A backslash and what it escapes. */
				if (n - j < 2)
					return -1;
				j += 2;
			}
			if (depth == 0) {
				*i = j + 1;
				return 0;
			}
		} else if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0) {
			*i = j + 1;
			return 0;
		}
	}
	return -1;
}

static int
prune_named(char *const *names, size_t n, const char *key, size_t len)
{
	size_t	 i;

	/* No strlen() of each name: most differ at their first byte. key
	 * holds no NUL (armstream_parse checked). */
	for (i = 0; i < n; i++)
		if (strncmp(names[i], key, len) == 0 && names[i][len] == '\0')
			return 1;
	return 0;
}

/* The members of the object at p[*i] (its '{'), those kept written to
 * out; props: the members of "properties" (the second level). 0, 1 when
 * a member was dropped, -1 as armstream_prune. */
static int
prune_object(const struct armprune *pr, const char *p, size_t n, size_t *i,
    int props, struct buf *out)
{
	size_t	 j, ks, ke, vs;
	int	 first = 1, dropped = 0, r, keep;

	if (buf_append(out, "{", 1) == -1)
		return -1;
	j = prune_ws(p, n, *i + 1);
	if (j < n && p[j] == '}')
		goto end;
	for (;;) {
		if (j >= n || p[j] != '"')
			return -1;
		ks = j;
		if (prune_string(p, n, &j) == -1)
			return -1;
		ke = j;
		j = prune_ws(p, n, j);
		if (j >= n || p[j] != ':')
			return -1;
		vs = j = prune_ws(p, n, j + 1);
		/* A key with an escape may be any name: kept. */
		keep = memchr(p + ks + 1, '\\', ke - ks - 2) != NULL ||
		    (props ? prune_named(pr->props, pr->nprops, p + ks + 1,
		    ke - ks - 2) : prune_named(pr->top, pr->ntop, p + ks + 1,
		    ke - ks - 2));
		if (!keep && !props && ke - ks - 2 == 10 &&
		    memcmp(p + ks + 1, "properties", 10) == 0) {
			if (pr->props_whole || j >= n || p[j] != '{')
				keep = 1;
			else {
				if ((!first && buf_append(out, ",", 1) == -1) ||
				    buf_append(out, p + ks, ke - ks) == -1 ||
				    buf_append(out, ":", 1) == -1)
					return -1;
				if ((r = prune_object(pr, p, n, &j, 1,
				    out)) == -1)
					return -1;
				dropped |= r;
				first = 0;
				goto next;
			}
		}
		/* What is kept json-c checks as it parses the text kept
		 * (and armstream_parse parses the whole when it fails):
		 * only what is dropped must be vouched for here. */
		if ((keep ? prune_skip(p, n, &j) : prune_value(p, n, &j)) ==
		    -1)
			return -1;
		if (!keep) {
			dropped = 1;
			goto next;
		}
		if ((!first && buf_append(out, ",", 1) == -1) ||
		    buf_append(out, p + ks, ke - ks) == -1 ||
		    buf_append(out, ":", 1) == -1 ||
		    buf_append(out, p + vs, j - vs) == -1)
			return -1;
		first = 0;
next:
		j = prune_ws(p, n, j);
		if (j < n && p[j] == ',') {
			j = prune_ws(p, n, j + 1);
			continue;
		}
		if (j < n && p[j] == '}')
			break;
		return -1;
	}
end:
	if (buf_append(out, "}", 1) == -1)
		return -1;
	*i = j + 1;
	return dropped;
}

int
armstream_prune(const struct armprune *pr, const char *p, size_t n,
    struct buf *out)
{
	size_t	 i;
	int	 r;

	buf_reset(out);
	i = prune_ws(p, n, 0);
	if (i >= n || p[i] != '{')
		return 0;
	if ((r = prune_object(pr, p, n, &i, 0, out)) != 1)
		return r;
	return prune_ws(p, n, i) == n ? 1 : -1;
}

/* Parse the element's text: a new object, or NULL with *isnull set for a
 * JSON null, or NULL (s failed) when malformed. what names the element in
 * the failure; NULL: "item N", N its rank (written only then). */
static json_object *
armstream_parse(struct armstream *s, int depth, const char *what,
    int *isnull)
{
	struct vjson_err	 verr;
	json_object		*obj;
	const char		*text;
	char			 item[64];
	size_t			 len;

	*isnull = 0;
	if (s->elem.len == 4 && memcmp(s->elem.data, "null", 4) == 0) {
		*isnull = 1;
		return NULL;
	}
	if (what == NULL) {
		/* Not written for each item: named only when it fails. */
		item[0] = '\0';
		what = item;
	}
	if (depth < 1) {
		if (*what == '\0')
			snprintf(item, sizeof(item), "item %zu", s->items);
		armstream_fail(s, "%s: nested deeper than %d levels", what,
		    s->max_depth);
		return NULL;
	}
	/* The framer counted the element's brackets: json-c's value need
	 * not be walked again for its nesting when they are within depth. */
	s->tok.nested = s->elem_nest > (size_t)INT_MAX ? INT_MAX :
	    (int)s->elem_nest;
	text = s->elem.data != NULL ? s->elem.data : "";
	len = s->elem.len;
	/* Only the members the reader needs are parsed: json-c's objects
	 * are most of a scan's work. The text dropped is checked here as
	 * json-c would (its bytes, its depth, its grammar); any doubt and
	 * the whole is parsed. */
	if (s->in_list && s->prune != NULL && s->tok.nested <= depth &&
	    memchr(text, '\0', len) == NULL && vjson_utf8_valid(text, len) &&
	    armstream_prune(s->prune, text, len, &s->pruned) == 1 &&
	    (obj = vjson_parse_with(&s->tok, s->pruned.data, s->pruned.len,
	    depth, s->max_elem, &verr)) != NULL)
		return obj;
	/* Not pruned, or what was kept is not JSON: the whole says what is
	 * wrong, as it would have without pruning. */
	obj = vjson_parse_with(&s->tok, text, len, depth, s->max_elem, &verr);
	if (obj == NULL) {
		if (*what == '\0')
			snprintf(item, sizeof(item), "item %zu", s->items);
		armstream_fail(s, "%s: %s", what, verr.message);
	}
	return obj;
}

/* Parse the item in s->elem (number s->items of the list) and hand it
 * over: 0 or -1. */
static int
armstream_item_end(struct armstream *s)
{
	json_object	*obj;
	int		 r, isnull;

	/* The list is one level down in a page, none in a bare array. */
	obj = armstream_parse(s, s->max_depth - (s->root == '{' ? 2 : 1),
	    NULL, &isnull);
	if (obj == NULL && !isnull)
		return -1;
	r = s->item != NULL ? s->item(s->arg, obj, s->items) : 0;
	json_object_put(obj);
	if (r != 0) {
		s->stopped = r;
		armstream_fail(s, "stopped by the caller (%d)", r);
		return -1;
	}
	return 0;
}

/* Keep the item in s->elem for armstream_replay: 0 or -1. */
static int
armstream_keep(struct armstream *s)
{
	struct armstream_kept	*k;
	size_t			 cost = sizeof(*k) + s->elem.len;

	if (cost > ARMSTREAM_DEFER_MAX - s->kept_bytes) {
		armstream_fail(s, "more than %zu bytes of items kept",
		    ARMSTREAM_DEFER_MAX);
		return -1;
	}
	if ((k = malloc(cost)) == NULL) {
		armstream_fail(s, "out of memory");
		return -1;
	}
	k->next = NULL;
	k->idx = s->items;
	k->nest = s->elem_nest;
	k->len = s->elem.len;
	if (k->len > 0)
		memcpy(k->text, s->elem.data, k->len);
	if (s->kept_tail != NULL)
		s->kept_tail->next = k;
	else
		s->kept = k;
	s->kept_tail = k;
	s->kept_bytes += cost;
	return 0;
}

int
armstream_replay(struct armstream *s)
{
	struct armstream_kept	*k;
	size_t			 items = s->items;
	int			 rc = 0;

	if (s->state == ARMSTREAM_FAILED)
		return -1;
	for (k = s->kept; k != NULL && rc == 0; k = k->next) {
		buf_reset(&s->elem);
		if (buf_append(&s->elem, k->text, k->len) == -1) {
			armstream_fail(s, "out of memory");
			rc = -1;
			break;
		}
		s->items = k->idx;
		s->elem_nest = k->nest;
		s->in_list = 1;
		rc = armstream_item_end(s);
	}
	s->items = items;
	armstream_kept_free(s);
	return rc;
}

/* The element is complete: hand an item over, or check a member. */
static int
armstream_elem_end(struct armstream *s)
{
	json_object	*obj;
	int		 isnull;

	s->state = s->after_elem;
	if (s->in_list) {
		if (!(s->flags & ARMSTREAM_FRAME_ONLY) && (s->want == NULL ||
		    s->want(s->arg, s->elem.data != NULL ? s->elem.data : "",
		    s->elem.len)) && ((s->flags & ARMSTREAM_DEFER) ?
		    armstream_keep(s) : armstream_item_end(s)) == -1)
			return -1;
		s->items++;
		return 0;
	}
	if (s->flags & ARMSTREAM_FRAME_ONLY)
		return 0;
	/* Other members are parsed too, only to be sure the page is JSON,
	 * and dropped. */
	obj = armstream_parse(s, s->max_depth - 1, s->member ==
	    MEMBER_NEXTLINK ? "\"nextLink\"" : "a member", &isnull);
	if (obj == NULL && !isnull)
		return -1;
	if (s->member == MEMBER_NEXTLINK && obj != NULL) {
		if (!json_object_is_type(obj, json_type_string)) {
			json_object_put(obj);
			armstream_fail(s, "\"nextLink\" is not a string");
			return -1;
		}
		if (json_object_get_string_len(obj) > 0 &&
		    (s->next_link = strdup(json_object_get_string(obj))) ==
		    NULL) {
			json_object_put(obj);
			armstream_fail(s, "out of memory");
			return -1;
		}
	}
	json_object_put(obj);
	return 0;
}

/* The key literal in s->key is complete: which member follows. */
static int
armstream_key_end(struct armstream *s)
{
	struct vjson_err	 verr;
	json_object		*k;
	const char		*name, *lk;

	if ((k = vjson_parse(s->key.data, s->key.len, 1, ARMSTREAM_KEY_MAX,
	    &verr)) == NULL || !json_object_is_type(k, json_type_string)) {
		json_object_put(k);
		armstream_fail(s, "a malformed key at byte %zu", s->offset);
		return -1;
	}
	name = json_object_get_string(k);
	s->member = MEMBER_OTHER;
	if (strcmp(name, "value") == 0 || ((s->flags & ARMSTREAM_DATA_LIST) &&
	    strcmp(name, "data") == 0))
		s->member = MEMBER_VALUE;
	else if (strcmp(name, "nextLink") == 0)
		s->member = MEMBER_NEXTLINK;
	else if (strcmp(name, "id") == 0)
		s->member = MEMBER_ID;
	lk = strcmp(name, "data") == 0 ? "data" : "value";
	json_object_put(k);
	/* json-c would keep the last of two; which list or link was meant
	 * is a guess, so neither is taken ("value" and "data" together
	 * neither). */
	if (s->member == MEMBER_VALUE && s->has_value) {
		if (strcmp(lk, s->list_key) == 0)
			armstream_fail(s, "\"%s\" twice", lk);
		else
			armstream_fail(s, "both \"value\" and \"data\"");
		return -1;
	}
	if (s->member == MEMBER_NEXTLINK && s->has_next_link) {
		armstream_fail(s, "\"nextLink\" twice");
		return -1;
	}
	if (s->member == MEMBER_VALUE)
		s->list_key = lk;
	if (s->member == MEMBER_ID)
		s->has_id = 1;
	if (s->member == MEMBER_NEXTLINK)
		s->has_next_link = 1;
	s->state = ARMSTREAM_COLON;
	return 0;
}

/* Consume key bytes from p[0..n); how many. */
static size_t
armstream_key_scan(struct armstream *s, const char *p, size_t n, int *done)
{
	size_t	 i;

	*done = 0;
	for (i = 0; i < n; i++) {
		if (s->escape)
			s->escape = 0;
		else if (p[i] == '\\')
			s->escape = 1;
		else if (p[i] == '"') {
			*done = 1;
			return i + 1;
		}
	}
	return n;
}

/* One byte outside an element and a key; 1 if it was consumed, 0 if it
 * starts an element (consumed by the element), -1 on an error. */
static int
armstream_byte(struct armstream *s, int c)
{
	if (armstream_ws(c))
		return 1;
	switch (s->state) {
	case ARMSTREAM_START:
		if (c == '{') {
			s->root = '{';
			s->state = ARMSTREAM_KEY_OR_END;
			return 1;
		}
		if (c == '[' && (s->flags & ARMSTREAM_ARRAY_ROOT)) {
			s->root = '[';
			s->state = ARMSTREAM_ITEM_OR_END;
			return 1;
		}
		armstream_fail(s, (s->flags & ARMSTREAM_ARRAY_ROOT) ?
		    "not a JSON object or array" : "not a JSON object");
		return -1;
	case ARMSTREAM_KEY_OR_END:
	case ARMSTREAM_KEY:
		if (c == '"') {
			buf_reset(&s->key);
			s->escape = 0;
			if (buf_append(&s->key, "\"", 1) == -1) {
				armstream_fail(s, "out of memory");
				return -1;
			}
			s->state = ARMSTREAM_IN_KEY;
			return 1;
		}
		if (c == '}' && s->state == ARMSTREAM_KEY_OR_END) {
			s->state = ARMSTREAM_DONE;
			return 1;
		}
		break;
	case ARMSTREAM_COLON:
		if (c == ':') {
			s->state = ARMSTREAM_MEMBER;
			return 1;
		}
		break;
	case ARMSTREAM_MEMBER:
		if (c == ',' || c == ':' || c == ']' || c == '}')
			break;
		if (s->member == MEMBER_VALUE) {
			s->has_value = 1;
			if (c == '[') {
				s->value_array = 1;
				s->state = ARMSTREAM_ITEM_OR_END;
				return 1;
			}
			if (!(s->flags & ARMSTREAM_FRAME_ONLY)) {
				armstream_fail(s, "\"%s\" is not an array",
				    s->list_key);
				return -1;
			}
		}
		armstream_elem_start(s, 0);
		return 0;
	case ARMSTREAM_AFTER_MEMBER:
		if (c == ',') {
			s->state = ARMSTREAM_KEY;
			return 1;
		}
		if (c == '}') {
			s->state = ARMSTREAM_DONE;
			return 1;
		}
		break;
	case ARMSTREAM_ITEM_OR_END:
	case ARMSTREAM_ITEM:
		if (c == ']' && s->state == ARMSTREAM_ITEM_OR_END) {
			s->state = s->root == '[' ? ARMSTREAM_DONE :
			    ARMSTREAM_AFTER_MEMBER;
			return 1;
		}
		if (c == ',' || c == ':' || c == ']' || c == '}')
			break;
		armstream_elem_start(s, 1);
		return 0;
	case ARMSTREAM_AFTER_ITEM:
		if (c == ',') {
			s->state = ARMSTREAM_ITEM;
			return 1;
		}
		if (c == ']') {
			s->state = s->root == '[' ? ARMSTREAM_DONE :
			    ARMSTREAM_AFTER_MEMBER;
			return 1;
		}
		break;
	case ARMSTREAM_DONE:
		armstream_fail(s, "data after the JSON value at byte %zu",
		    s->offset);
		return -1;
	default:
		break;
	}
	armstream_fail(s, "unexpected '%c' at byte %zu", c >= ' ' && c < 0x7f
	    ? c : '?', s->offset);
	return -1;
}

int
armstream_feed(struct armstream *s, const char *data, size_t len)
{
	size_t	 i = 0, n;
	int	 done, r;

	while (i < len) {
		if (s->state == ARMSTREAM_FAILED)
			return -1;
		if (s->state == ARMSTREAM_IN_ELEM) {
			n = armstream_elem_scan(s, data + i, len - i, &done);
			if (n > s->max_elem - s->elem_len) {
				armstream_fail(s, "%s larger than %zu bytes",
				    s->in_list ? "an item" : "a member",
				    s->max_elem);
				return -1;
			}
			s->elem_len += n;
			if (!(s->flags & ARMSTREAM_FRAME_ONLY) &&
			    buf_append(&s->elem, data + i, n) == -1) {
				armstream_fail(s, "out of memory");
				return -1;
			}
			i += n;
			s->offset += n;
			if (done && armstream_elem_end(s) == -1)
				return -1;
			continue;
		}
		if (s->state == ARMSTREAM_IN_KEY) {
			n = armstream_key_scan(s, data + i, len - i, &done);
			if (buf_append(&s->key, data + i, n) == -1) {
				armstream_fail(s, "a key longer than %d bytes",
				    ARMSTREAM_KEY_MAX);
				return -1;
			}
			i += n;
			s->offset += n;
			if (done && armstream_key_end(s) == -1)
				return -1;
			continue;
		}
		if ((r = armstream_byte(s, (unsigned char)data[i])) == -1)
			return -1;
		if (r == 1) {
			i++;
			s->offset++;
		}
	}
	return s->state == ARMSTREAM_FAILED ? -1 : 0;
}

int
armstream_finish(struct armstream *s)
{
	if (s->state == ARMSTREAM_FAILED)
		return -1;
	if (s->state != ARMSTREAM_DONE) {
		armstream_fail(s, "truncated: the JSON ends after %zu bytes",
		    s->offset);
		return -1;
	}
	return 0;
}
