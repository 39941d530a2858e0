/* importfmt.c: reading reports of other tools, one item at a time.
 *
 * The framer follows the report byte by byte, tracking strings, escapes
 * and nesting only far enough to know where each item (and a SARIF run's
 * "tool") starts and ends, keeping that text alone (capped) and handing
 * it to json-c (vjson_parse: UTF-8, depth and size checked). The grammar
 * between items is checked here and a fault there fails the report; a
 * fault inside an item fails that item only. OCSF that does not start
 * with '[' is JSON Lines: one item per line.
 *
 * The mappers turn one parsed item into the strings Vigil stores: the
 * tables are in the README ("Imports"). */
#include "vigil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "crypto.h"
#include "importfmt.h"
#include "text.h"
#include "vjson.h"

#define KEY_MAX	4096

enum {
	S_START, S_VALUE, S_ARR_FIRST, S_OBJ_FIRST, S_KEY, S_IN_KEY, S_COLON,
	S_AFTER, S_IN_VAL, S_DONE, S_LINE, S_FAILED
};
enum { ROLE_ITEM, ROLE_CTX, ROLE_DESCEND, ROLE_SKIP };

static const char *const fmt_names[] = { "vigil", "ocsf", "sarif", "asff" };

int
importfmt_from_str(const char *s, enum importfmt *out)
{
	size_t i;

	for (i = 0; s != NULL && i < NELEM(fmt_names); i++)
		if (strcmp(s, fmt_names[i]) == 0) {
			*out = (enum importfmt)i;
			return 0;
		}
	return -1;
}

const char *
importfmt_str(enum importfmt f)
{
	return (unsigned)f < NELEM(fmt_names) ? fmt_names[f] : NULL;
}

static void fail(struct importfmt_stream *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

static void
fail(struct importfmt_stream *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(s->err, sizeof(s->err), "byte %llu (line %zu): ",
	    s->offset, s->line);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(s->err))
		vsnprintf(s->err + n, sizeof(s->err) - (size_t)n, fmt, ap);
	va_end(ap);
	s->state = S_FAILED;
}

void
importfmt_init(struct importfmt_stream *s, enum importfmt fmt,
    int ctx_only, importfmt_item_fn item, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->fmt = fmt;
	s->ctx_only = ctx_only;
	s->item = item;
	s->arg = arg;
	s->line = 1;
	s->state = S_START;
	buf_init(&s->val, IMPORTFMT_CTX_MAX);
	buf_init(&s->key, KEY_MAX);
}

void
importfmt_free(struct importfmt_stream *s)
{
	size_t i;

	buf_free(&s->val);
	buf_free(&s->key);
	for (i = 0; i < IMPORTFMT_RUNS; i++) {
		if (s->ctx[i] != NULL)
			json_object_put(s->ctx[i]);
		s->ctx[i] = NULL;
	}
}

void
importfmt_take_ctx(struct importfmt_stream *to,
    struct importfmt_stream *from)
{
	size_t i;

	for (i = 0; i < IMPORTFMT_RUNS; i++) {
		if (to->ctx[i] != NULL)
			json_object_put(to->ctx[i]);
		to->ctx[i] = from->ctx[i];
		from->ctx[i] = NULL;
	}
}

static int
ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
key_is(const struct importfmt_frame *f, const char *k)
{
	return !f->keylong && strcmp(f->key, k) == 0;
}

/* What the value about to start is, from where it is: *want gets the
 * container a DESCEND must be ('{', '[' or 0 for either). */
static int
classify(const struct importfmt_stream *s, char *want)
{
	const struct importfmt_frame *f = s->nfr ? &s->fr[s->nfr - 1] : NULL;

	*want = 0;
	if (s->nfr == 0) {
		if (s->fmt == IMPORTFMT_SARIF)
			*want = '{';
		else if (s->fmt == IMPORTFMT_OCSF)
			*want = '[';
		return ROLE_DESCEND;
	}
	if (s->fmt == IMPORTFMT_SARIF) {
		if (s->nfr == 1 && key_is(f, "runs")) {
			*want = '[';
			return ROLE_DESCEND;
		}
		if (s->nfr == 2 && s->fr[0].kind == '{' &&
		    key_is(&s->fr[0], "runs")) {
			*want = '{';
			return ROLE_DESCEND;
		}
		if (s->nfr == 3 && key_is(f, "tool"))
			return s->ctx_only ? ROLE_CTX : ROLE_SKIP;
		if (s->nfr == 3 && key_is(f, "results")) {
			*want = '[';
			return ROLE_DESCEND;
		}
		if (s->nfr == 4 && key_is(&s->fr[2], "results"))
			return s->ctx_only ? ROLE_SKIP : ROLE_ITEM;
		return ROLE_SKIP;
	}
	if (s->nfr == 1 && f->kind == '[')
		return ROLE_ITEM;
	if (s->nfr == 1 && ((s->fmt == IMPORTFMT_VIGIL &&
	    key_is(f, "findings")) || (s->fmt == IMPORTFMT_ASFF &&
	    key_is(f, "Findings")))) {
		*want = '[';
		return ROLE_DESCEND;
	}
	if (s->nfr == 2 && s->fr[0].kind == '{')
		return ROLE_ITEM;
	return ROLE_SKIP;
}

/* The objects and arrays JSON text p would make (its '{' and '[' outside
 * strings), counting no further than max + 1. */
static size_t
containers(const char *p, size_t n, size_t max)
{
	size_t i, k = 0;
	int in = 0, esc = 0;

	for (i = 0; i < n && k <= max; i++) {
		if (in) {
			if (esc)
				esc = 0;
			else if (p[i] == '\\')
				esc = 1;
			else if (p[i] == '"')
				in = 0;
		} else if (p[i] == '"')
			in = 1;
		else if (p[i] == '{' || p[i] == '[')
			k++;
	}
	return k;
}

/* Hand the captured value over: parsed, or NULL with why. */
static int
deliver(struct importfmt_stream *s)
{
	struct vjson_err e;
	json_object *o = NULL;
	const char *why = NULL;
	size_t nodes = 0, cap;
	int rc;

	if (s->frame_only && s->role != ROLE_CTX) {
		s->items++;
		buf_reset(&s->val);
		return 0;
	}
	cap = s->role == ROLE_CTX ? IMPORTFMT_CTX_NODES - s->ctx_nodes :
	    IMPORTFMT_ITEM_NODES;
	if (!s->toolong && s->val.len > 0)
		nodes = containers(s->val.data, s->val.len, cap);
	if (s->toolong)
		why = "the item is larger than 1 MiB";
	else if (s->val.len > 0 && memchr(s->val.data, '\0',
	    s->val.len) != NULL)
		why = "the item contains a NUL byte";
	else if (nodes > cap)
		why = "the item has more than 20,000 objects and arrays";
	else if ((o = (s->fmt == IMPORTFMT_VIGIL ? vjson_parse_unique :
	    vjson_parse)(s->val.data ? s->val.data : "", s->val.len,
	    IMPORTFMT_DEPTH, s->role == ROLE_CTX ? IMPORTFMT_CTX_MAX :
	    IMPORTFMT_ITEM_MAX, &e)) == NULL) {
		/* Vigil's JSON is written by hand: a key given twice is
		 * refused, naming it, not silently the last one */
		why = e.message;
		if (s->fmt == IMPORTFMT_VIGIL && e.field[0] != '\0' &&
		    strcmp(e.field, "body") != 0) {
			snprintf(s->item_why, sizeof(s->item_why), "%s: %s",
			    e.field, e.message);
			why = s->item_why;
		}
	}
	if (s->role == ROLE_CTX) {
		/* a bad "tool" only loses rule details */
		if (o != NULL && s->fr[1].idx < IMPORTFMT_RUNS &&
		    s->ctx[s->fr[1].idx] == NULL) {
			s->ctx[s->fr[1].idx] = o;
			s->ctx_nodes += nodes;
		}
		else if (o != NULL)
			json_object_put(o);
		buf_reset(&s->val);
		return 0;
	}
	s->cur.index = s->items++;
	rc = s->item != NULL ? s->item(s->arg, o, s->fmt == IMPORTFMT_SARIF &&
	    s->fr[1].idx < IMPORTFMT_RUNS ? s->ctx[s->fr[1].idx] : NULL,
	    &s->cur, why) : 0;
	if (o != NULL)
		json_object_put(o);
	buf_reset(&s->val);
	if (rc != 0) {
		s->stopped = rc;
		snprintf(s->err, sizeof(s->err), "stopped");
		s->state = S_FAILED;
		return -1;
	}
	return 0;
}

static void
keep_byte(struct importfmt_stream *s, char c)
{
	if (s->role == ROLE_SKIP || s->toolong)
		return;
	/* an item is capped lower than a SARIF tool, which the buffer's
	 * own cap is */
	if ((s->role != ROLE_CTX && s->val.len >= IMPORTFMT_ITEM_MAX) ||
	    buf_append(&s->val, &c, 1) != 0) {
		s->toolong = 1;
		buf_reset(&s->val);
	}
}

/* keep_byte for the n bytes at p, within one JSON Lines item. */
static void
keep_run(struct importfmt_stream *s, const char *p, size_t n)
{
	s->role = ROLE_ITEM;
	if (s->toolong)
		return;
	if (s->val.len + n > IMPORTFMT_ITEM_MAX ||
	    buf_append(&s->val, p, n) != 0) {
		s->toolong = 1;
		buf_reset(&s->val);
	}
}

/* One byte of a captured or skipped value; 1 when the value ended (a
 * scalar ends before c, which is then not consumed: 2). */
static int
in_value(struct importfmt_stream *s, char c)
{
	if (s->in_str) {
		keep_byte(s, c);
		if (s->esc)
			s->esc = 0;
		else if (c == '\\')
			s->esc = 1;
		else if (c == '"') {
			s->in_str = 0;
			if (s->depth == 0)
				return 1;
		}
		return 0;
	}
	if (s->scalar) {
		if (ws(c) || c == ',' || c == ']' || c == '}')
			return 2;
		keep_byte(s, c);
		return 0;
	}
	if (s->depth == 0 && !ws(c) && c != '"' && c != '{' && c != '[') {
		s->scalar = 1;
		keep_byte(s, c);
		return 0;
	}
	keep_byte(s, c);
	if (c == '"')
		s->in_str = 1;
	else if (c == '{' || c == '[')
		s->depth++;
	else if ((c == '}' || c == ']') && --s->depth == 0)
		return 1;
	return 0;
}

static void
after_value(struct importfmt_stream *s)
{
	s->state = s->nfr == 0 ? S_DONE : S_AFTER;
}

/* A value starts with c (not white space). */
static int
value_start(struct importfmt_stream *s, char c)
{
	struct importfmt_frame *f;
	char want;
	int role = classify(s, &want);

	if (role == ROLE_DESCEND) {
		if ((c != '{' && c != '[') || (want != 0 && c != want)) {
			fail(s, "expected %s", want == '{' ? "an object" :
			    want == '[' ? "an array" : "an object or an array");
			return -1;
		}
		if (s->nfr == IMPORTFMT_FRAMES) {
			fail(s, "nested too deeply");
			return -1;
		}
		f = &s->fr[s->nfr++];
		memset(f, 0, sizeof(*f));
		f->kind = c;
		/* a top-level array of items, or the array classify
		 * descends into under the top-level object (findings,
		 * Findings, SARIF's runs) */
		if ((s->nfr == 1 && c == '[') ||
		    (s->nfr == 2 && s->fr[0].kind == '{'))
			s->found = 1;
		s->state = c == '{' ? S_OBJ_FIRST : S_ARR_FIRST;
		return 0;
	}
	s->role = role;
	s->depth = s->in_str = s->esc = s->scalar = s->toolong = 0;
	buf_reset(&s->val);
	s->cur.line = s->line;
	s->cur.offset = s->offset;
	s->state = S_IN_VAL;
	/* its first byte: it opens a string or a container, or starts a
	 * scalar, so the value cannot end on it */
	(void)in_value(s, c);
	return 0;
}

static int
line_end(struct importfmt_stream *s)
{
	size_t i;

	for (i = 0; i < s->val.len && ws(s->val.data[i]); i++)
		;
	if (i == s->val.len && !s->toolong) {
		buf_reset(&s->val);
		return 0;
	}
	s->role = ROLE_ITEM;
	return deliver(s);
}

static int
step(struct importfmt_stream *s, char c)
{
	struct importfmt_frame *f = s->nfr ? &s->fr[s->nfr - 1] : NULL;
	int r;

	switch (s->state) {
	case S_START:
		if (ws(c))
			return 0;
		if (s->fmt == IMPORTFMT_OCSF && c != '[') {
			s->jsonl = 1;
			s->state = S_LINE;
			s->cur.line = s->line;
			s->cur.offset = s->offset;
			s->toolong = 0;
			keep_byte(s, c);
			return 0;
		}
		return value_start(s, c);
	case S_LINE:
		if (c == '\n') {
			r = line_end(s);
			s->toolong = 0;
			s->cur.line = s->line + 1;
			s->cur.offset = s->offset + 1;
			return r;
		}
		s->role = ROLE_ITEM;
		keep_byte(s, c);
		return 0;
	case S_VALUE:
		if (ws(c))
			return 0;
		return value_start(s, c);
	case S_ARR_FIRST:
		if (ws(c))
			return 0;
		if (c == ']')
			goto close;
		return value_start(s, c);
	case S_OBJ_FIRST:
		if (ws(c))
			return 0;
		if (c == '}')
			goto close;
		/* FALLTHROUGH */
	case S_KEY:
		if (ws(c))
			return 0;
		if (c != '"') {
			fail(s, "expected a key");
			return -1;
		}
		buf_reset(&s->key);
		s->esc = 0;
		s->state = S_IN_KEY;
		return 0;
	case S_IN_KEY:
		if (!s->esc && c == '"') {
			f->keylong = s->key.len >= sizeof(f->key);
			if (!f->keylong)
				memcpy(f->key, s->key.data ? s->key.data : "",
				    s->key.len + 1);
			s->state = S_COLON;
			return 0;
		}
		s->esc = !s->esc && c == '\\';
		if (buf_append(&s->key, &c, 1) != 0) {
			fail(s, "a key is longer than %d bytes", KEY_MAX);
			return -1;
		}
		return 0;
	case S_COLON:
		if (ws(c))
			return 0;
		if (c != ':') {
			fail(s, "expected ':'");
			return -1;
		}
		s->state = S_VALUE;
		return 0;
	case S_IN_VAL:
		if ((r = in_value(s, c)) == 0)
			return 0;
		if (s->role != ROLE_SKIP && deliver(s) != 0)
			return -1;
		after_value(s);
		if (r == 2)
			return step(s, c);
		return 0;
	case S_AFTER:
		if (ws(c))
			return 0;
		if (c == ',') {
			if (f->kind == '{')
				s->state = S_KEY;
			else {
				f->idx++;
				s->state = S_VALUE;
			}
			return 0;
		}
		if (c == '}' || c == ']')
			goto close;
		fail(s, "expected ',' or the end of %s", f->kind == '{' ?
		    "an object" : "an array");
		return -1;
	case S_DONE:
		if (ws(c))
			return 0;
		fail(s, "more after the end of the report");
		return -1;
	default:
		return -1;
	}
close:
	if ((c == '}') != (f->kind == '{')) {
		fail(s, "mismatched '%c'", c);
		return -1;
	}
	s->nfr--;
	after_value(s);
	return 0;
}

int
importfmt_feed(struct importfmt_stream *s, const char *p, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (s->state == S_FAILED)
			return -1;
		/* A UTF-8 byte order mark before the report (Windows tools
		 * write one) is not part of it; its bytes still count in
		 * the offsets. */
		if (s->offset < 3 && s->bom == s->offset &&
		    s->state == S_START) {
			static const char bom[] = "\xef\xbb\xbf";

			if (p[i] == bom[s->offset]) {
				s->bom++;
				s->offset++;
				continue;
			}
			if (s->bom > 0) {
				fail(s, "a broken byte order mark");
				return -1;
			}
		}
		/* Inside a JSON Lines item every byte up to the newline (or a
		 * NUL, failed below) is kept as it is: take the run at once
		 * rather than a byte at a time (a 100,000-event report spent
		 * a fifth of its CPU appending single bytes). */
		if (s->state == S_LINE && p[i] != '\n' && p[i] != '\0') {
			for (k = i; k < n && p[k] != '\n' && p[k] != '\0'; k++)
				;
			keep_run(s, p + i, k - i);
			s->offset += k - i;
			i = k - 1;
			continue;
		}
		/* A NUL inside an item (or a SARIF tool) is that item's
		 * error: kept, it fails the item's parse (deliver), and the
		 * report goes on; anywhere else the report is broken. */
		if (p[i] == '\0' && s->state == S_LINE) {
			keep_run(s, p + i, 1);
			s->offset++;
			continue;
		}
		if (p[i] == '\0' && (s->state != S_IN_VAL ||
		    s->role == ROLE_SKIP)) {
			fail(s, "a NUL byte");
			return -1;
		}
		if (step(s, p[i]) != 0)
			return -1;
		if (p[i] == '\n')
			s->line++;
		s->offset++;
	}
	return s->state == S_FAILED ? -1 : 0;
}

int
importfmt_finish(struct importfmt_stream *s)
{
	if (s->state == S_FAILED)
		return -1;
	if (s->state == S_LINE)
		return line_end(s) != 0 ? -1 : 0;
	if (s->state == S_IN_VAL && s->scalar && s->nfr == 0) {
		fail(s, "expected an object or an array");
		return -1;
	}
	if (s->state == S_START) {
		fail(s, "the report is empty");
		return -1;
	}
	if (s->state != S_DONE) {
		fail(s, "the report ends early (cut off?)");
		return -1;
	}
	/* Taken for an empty report, a full import of it would resolve
	 * every finding of its source (a SARIF file imported as vigil
	 * JSON, a key misspelt). */
	if (!s->found) {
		fail(s, "%s", s->fmt == IMPORTFMT_SARIF ?
		    "no \"runs\" array: not a SARIF log" :
		    s->fmt == IMPORTFMT_ASFF ?
		    "no \"Findings\" array and not an array of findings" :
		    s->fmt == IMPORTFMT_VIGIL ?
		    "no \"findings\" array and not an array of findings" :
		    "expected an array");
		return -1;
	}
	return 0;
}

/* --- mapping ------------------------------------------------------------- */

/* The value at a dotted path ("a.b.0.c": a number indexes an array);
 * NULL if any step is missing. */
static json_object *
jget(json_object *o, const char *path)
{
	char seg[64];
	const char *p = path, *dot;
	size_t n;
	char *end;
	long i;

	while (o != NULL && *p != '\0') {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(seg))
			return NULL;
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (json_object_is_type(o, json_type_array)) {
			i = strtol(seg, &end, 10);
			if (*end != '\0' || i < 0 ||
			    (size_t)i >= json_object_array_length(o))
				return NULL;
			o = json_object_array_get_idx(o, (size_t)i);
		} else if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, seg, &o))
			return NULL;
		p = dot ? dot + 1 : p + n;
	}
	return o;
}

/* A non-empty string (or a number, as text) at path, else NULL. */
static const char *
jstr(json_object *o, const char *path)
{
	const char *s;

	o = jget(o, path);
	if (o == NULL || !(json_object_is_type(o, json_type_string) ||
	    json_object_is_type(o, json_type_int) ||
	    json_object_is_type(o, json_type_double)))
		return NULL;
	s = json_object_get_string(o);
	return s != NULL && *s != '\0' ? s : NULL;
}

static int
jint(json_object *o, const char *path, long *out)
{
	o = jget(o, path);
	if (o == NULL || !json_object_is_type(o, json_type_int))
		return 0;
	*out = (long)json_object_get_int64(o);
	return 1;
}

/* Copy src into dst (dstsz > 0) without control characters (newline and
 * tab kept when multiline) and without cutting a UTF-8 sequence. */
static void
clean(char *dst, size_t dstsz, const char *src, int multiline)
{
	size_t i = 0, o = 0, k, n;
	const unsigned char *s = (const unsigned char *)(src ? src : "");

	while (s[i] != '\0') {
		unsigned char c = s[i];

		n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 :
		    (c >> 3) == 30 ? 4 : 1;
		for (k = 1; k < n; k++)
			if (s[i + k] == '\0')
				return (void)(dst[o] = '\0');
		if (text_control((const char *)s + i, n, multiline) != n ||
		    (n == 1 && c >= 0x80)) {
			i += n;
			if (o > 0 && dst[o - 1] != ' ' && o + 1 < dstsz)
				dst[o++] = ' ';
			continue;
		}
		if (o + n >= dstsz)
			break;
		memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
}

static char *
clean_dup(const char *src, size_t max, int multiline)
{
	char *d = malloc(max + 1);

	if (d != NULL)
		clean(d, max + 1, src, multiline);
	return d;
}

void
importfmt_slug(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	int dash = 0;

	for (; in != NULL && *in != '\0' && o + 1 < outsz; in++) {
		char c = *in;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || (c == '-' && o > 0)) {
			out[o++] = c;
			dash = c == '-';
		} else if (o > 0 && !dash) {
			out[o++] = '-';
			dash = 1;
		}
	}
	while (o > 0 && out[o - 1] == '-')
		o--;
	out[o] = '\0';
}

/* The finding id: "<provider>-<rule>-<hex of SHA-256 of the identity,
 * lowercased>" (8 hex digits for Vigil's own JSON, as the scanner's ids;
 * 16 for the other formats, whose reports hold far more resources per
 * rule), the rule cut to fit 127 characters. */
static void
make_id(struct importfmt_finding *f, const char *identity, size_t hexlen)
{
	unsigned char h[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX], *low, rule[128];
	size_t i, n = strlen(identity), room;
	struct buf b;

	if ((low = malloc(n + 1)) == NULL) {
		memset(h, 0, sizeof(h));
	} else {
		for (i = 0; i < n; i++)
			low[i] = (identity[i] >= 'A' && identity[i] <= 'Z') ?
			    (char)(identity[i] - 'A' + 'a') : identity[i];
		crypto_sha256(low, n, h);
		free(low);
	}
	crypto_hex(h, hexlen / 2, hex);
	room = FINDING_ID_MAX - 1 - strlen(f->provider) - 2 - hexlen;
	snprintf(rule, sizeof(rule) < room + 1 ? sizeof(rule) : room + 1,
	    "%s", f->rule_id);
	buf_init(&b, sizeof(f->id) - 1);
	if (strncmp(rule, f->provider, strlen(f->provider)) != 0 ||
	    rule[strlen(f->provider)] != '-')
		buf_printf(&b, "%s-", f->provider);
	buf_printf(&b, "%s-%s", rule, hex);
	memcpy(f->id, b.data ? b.data : "", b.len + 1);
	buf_free(&b);
}

/* The fingerprint of an imported finding: what it says, not when the
 * tool ran (reports carry their run's timestamps in every item). */
static void
fingerprint(struct importfmt_finding *f, const char *detail)
{
	unsigned char h[CRYPTO_SHA256_LEN];
	struct buf b;

	buf_init(&b, 64 * 1024);
	buf_printf(&b, "%s\n%s\n%s\n%s\n%s\n%s", f->rule_id, f->resource_id,
	    finding_severity_str(f->severity), f->title, f->framework,
	    detail ? detail : "");
	crypto_sha256(b.data ? b.data : "", b.len, h);
	crypto_hex(h, sizeof(h), f->fingerprint);
	buf_free(&b);
}

/* The evidence: {"format", "item"} with the raw item, or, past
 * IMPORTFMT_EVIDENCE_MAX, {"format", "truncated": true, "bytes",
 * "item_text": the first bytes}. */
static char *
evidence(enum importfmt fmt, json_object *item)
{
	json_object *ev;
	size_t len;
	const char *raw = vjson_str(item, &len);
	char *out, *cut;
	struct buf b;

	if (len <= IMPORTFMT_EVIDENCE_MAX) {
		/* The text vjson_str gives the object below, written around
		 * the item's own (already serialised once, for its length)
		 * rather than serialising the item a second time. */
		buf_init(&b, IMPORTFMT_EVIDENCE_MAX + 64);
		if (buf_printf(&b, "{\"format\":\"%s\",\"item\":",
		    importfmt_str(fmt)) != 0 || buf_append(&b, raw, len) != 0 ||
		    buf_append(&b, "}", 1) != 0) {
			buf_free(&b);
			return NULL;
		}
		return b.data;
	}
	ev = json_object_new_object();
	json_object_object_add(ev, "format",
	    json_object_new_string(importfmt_str(fmt)));
	if ((cut = malloc(IMPORTFMT_EVIDENCE_MAX + 1)) != NULL) {
		clean(cut, IMPORTFMT_EVIDENCE_MAX + 1, raw, 1);
		json_object_object_add(ev, "item_text",
		    json_object_new_string(cut));
		free(cut);
	}
	json_object_object_add(ev, "truncated", json_object_new_boolean(1));
	json_object_object_add(ev, "bytes",
	    json_object_new_int64((int64_t)len));
	out = strdup(vjson_str(ev, &len));
	json_object_put(ev);
	return out;
}

/* The resource's tags as canonical JSON: an object of strings as it is,
 * or a list of {Key, Value} (AWS), {key, value} or {name, value} (OCSF)
 * pairs, or of "key:value" strings (OCSF labels, as Prowler writes them:
 * split at the first ':', a label without one a key with an empty
 * value); what is not a string tag is left out. */
static char *
tags_of(json_object *t)
{
	json_object *o = NULL, *e;
	const char *k, *v;
	char *out = NULL, err[128];
	size_t i;

	if (t == NULL)
		return NULL;
	if (json_object_is_type(t, json_type_array)) {
		o = json_object_new_object();
		for (i = 0; i < json_object_array_length(t) && i < 256; i++) {
			e = json_object_array_get_idx(t, i);
			if (json_object_is_type(e, json_type_string)) {
				const char *l = json_object_get_string(e);
				const char *c = strchr(l, ':');
				char key[257];

				if (*l == '\0' || c == l)
					continue;
				snprintf(key, sizeof(key), "%.*s", c ? (int)(c -
				    l) : (int)strlen(l), l);
				json_object_object_add(o, key,
				    json_object_new_string(c ? c + 1 : ""));
				continue;
			}
			if ((k = jstr(e, "Key")) == NULL &&
			    (k = jstr(e, "key")) == NULL)
				k = jstr(e, "name");
			if ((v = jstr(e, "Value")) == NULL)
				v = jstr(e, "value");
			if (k != NULL && v != NULL)
				json_object_object_add(o, k,
				    json_object_new_string(v));
		}
		t = o;
	} else if (!json_object_is_type(t, json_type_object))
		return NULL;
	if (finding_tags_canonical(t, 0, &out, err, sizeof(err)) != 0)
		out = NULL;
	if (o != NULL)
		json_object_put(o);
	return out;
}

static void
set_err(char *err, size_t errsz, const char *field, const char *why)
{
	snprintf(err, errsz, "%s: %s", field, why);
}

/* Category from words in the rule id and the tool's types (README). */
static void
category_of(const char *a, const char *b, const char *dflt, char *out,
    size_t outsz)
{
	static const struct { const char *word, *cat; } t[] = {
		{ "cve-", "vulnerability" }, { "ghsa-", "vulnerability" },
		{ "vuln", "vulnerability" }, { "secret", "secrets" },
		{ "password", "identity" }, { "mfa", "identity" },
		{ "iam", "identity" }, { "identity", "identity" },
		{ "rbac", "identity" }, { "securitygroup", "network" },
		{ "nsg", "network" }, { "ingress", "network" },
		{ "firewall", "network" }, { "network", "network" },
		{ "public", "network" }, { "encrypt", "encryption" },
		{ "kms", "encryption" }, { "tls", "encryption" },
		{ "ssl", "encryption" }, { "logging", "logging" },
		{ "cloudtrail", "logging" }, { "audit", "logging" },
		{ "monitor", "logging" }, { "backup", "data" },
		{ "bucket", "data" }, { "s3_", "data" }, { "storage", "data" },
	};
	const char *in[2];
	char low[512];
	size_t i, k;

	/* every word in the rule id first, then in the types: the rule
	 * says more than a tool's broad type */
	in[0] = a;
	in[1] = b;
	for (k = 0; k < NELEM(in); k++) {
		importfmt_slug(in[k], low, sizeof(low));
		for (i = 0; i < NELEM(t); i++)
			if (strstr(low, t[i].word) != NULL)
				goto found;
	}
	snprintf(out, outsz, "%s", dflt);
	return;
found:
	snprintf(out, outsz, "%s", t[i].cat);
}

static int
sev_word(const char *s, enum finding_severity *out)
{
	static const struct { const char *w; enum finding_severity s; } t[] = {
		{ "critical", FINDING_SEV_CRITICAL }, { "fatal",
		FINDING_SEV_CRITICAL }, { "high", FINDING_SEV_HIGH },
		{ "error", FINDING_SEV_HIGH }, { "medium", FINDING_SEV_MEDIUM },
		{ "moderate", FINDING_SEV_MEDIUM }, { "warning",
		FINDING_SEV_MEDIUM }, { "low", FINDING_SEV_LOW },
		{ "note", FINDING_SEV_LOW }, { "informational",
		FINDING_SEV_INFO }, { "info", FINDING_SEV_INFO },
		{ "none", FINDING_SEV_INFO }, { "unknown", FINDING_SEV_INFO },
	};
	char low[64], *w, *save = NULL;
	size_t i;

	if (s == NULL)
		return -1;
	/* each word in turn ("Very High" is high), the first one in the
	 * table deciding */
	importfmt_slug(s, low, sizeof(low));
	for (w = strtok_r(low, "-_.", &save); w != NULL;
	    w = strtok_r(NULL, "-_.", &save))
		for (i = 0; i < NELEM(t); i++)
			if (strcmp(w, t[i].w) == 0) {
				*out = t[i].s;
				return 0;
			}
	return -1;
}

/* 1 if the list fw ("a, b, c") has the entry c whole: CWE-20 is not in
 * "CWE-200", nor "CIS-1.4 1.2" in "CIS-1.4 1.20". */
static int
fw_has(const char *fw, const char *c)
{
	size_t n = strlen(c);
	const char *p;

	for (p = fw; (p = strstr(p, c)) != NULL; p++)
		if ((p == fw || (p - fw >= 2 && p[-2] == ',' &&
		    p[-1] == ' ')) && (p[n] == '\0' || p[n] == ','))
			return 1;
	return 0;
}

/* Append "name" (and ":" ids) to a framework list, comma-separated. */
static void
fw_add(char *fw, size_t fwsz, const char *s)
{
	size_t n = strlen(fw);
	char c[256];

	clean(c, sizeof(c), s, 0);
	if (c[0] == '\0' || fw_has(fw, c))
		return;
	if (n > 0 && n + 2 < fwsz) {
		fw[n++] = ',';
		fw[n++] = ' ';
		fw[n] = '\0';
	}
	if (n + strlen(c) < fwsz)
		memcpy(fw + n, c, strlen(c) + 1);
}

static int
common_tail(enum importfmt fmt, json_object *item,
    struct importfmt_finding *f, const char *identity, const char *desc,
    const char *rec, const char *detail, char *err, size_t errsz)
{
	if (f->rule_id[0] == '\0') {
		set_err(err, errsz, "rule", "the item names no rule");
		return IMPORTFMT_BAD;
	}
	if (f->resource_id[0] == '\0' || identity == NULL ||
	    identity[0] == '\0') {
		set_err(err, errsz, "resource", "the item names no resource "
		    "and has no id of its own");
		return IMPORTFMT_BAD;
	}
	if (f->title[0] == '\0')
		clean(f->title, sizeof(f->title), f->rule_id, 0);
	f->description = clean_dup(desc ? desc : f->title, 8192, 1);
	f->recommendation = clean_dup(rec ? rec : "See the tool's report.",
	    8192, 1);
	f->evidence = evidence(fmt, item);
	if (f->description == NULL || f->recommendation == NULL ||
	    f->evidence == NULL) {
		set_err(err, errsz, "item", "out of memory");
		return IMPORTFMT_BAD;
	}
	make_id(f, identity, fmt == IMPORTFMT_VIGIL ? 8 : 16);
	fingerprint(f, detail);
	return IMPORTFMT_FINDING;
}

/* The string at path a, else at path b. */
static const char *
either(json_object *o, const char *a, const char *b)
{
	const char *s = jstr(o, a);

	return s != NULL ? s : jstr(o, b);
}

/* Where an OCSF event's resource carries its tags: Prowler's tags, its
 * metadata's, the labels. */
static const char *const ocsf_tags[] = { "resources.0.tags",
    "resources.0.data.metadata.tags", "resources.0.labels" };

/* OCSF 1.x: Detection Finding (2004), Compliance Finding (2003) and the
 * older Security Finding (2001), as Prowler writes them. */
static int
map_ocsf(json_object *item, struct importfmt_finding *f, char *err,
    size_t errsz)
{
	const char *rule, *res, *uid, *s, *status;
	char identity[1400], buf[256];
	json_object *o, *v;
	long cls = 0, cls2 = 0, sev = 0;
	size_t i;

	/* a number, and one of these: a string "2002" or no class at all
	 * is not taken for a finding */
	if (!jint(item, "class_uid", &cls) ||
	    (cls != 2001 && cls != 2003 && cls != 2004)) {
		set_err(err, errsz, "class_uid", "not a finding class (2001, "
		    "2003 or 2004)");
		return IMPORTFMT_BAD;
	}
	status = jstr(item, "status_code");
	/* Prowler's MANUAL: a check it cannot decide, not a finding. The
	 * captions in any case, and their ids where the caption is not
	 * given: status_id 3 Suppressed, 4 Resolved, 5 Archived;
	 * compliance.status_id 1 Pass. */
	if (status != NULL && (strcasecmp(status, "PASS") == 0 ||
	    strcasecmp(status, "MANUAL") == 0))
		return IMPORTFMT_PASS;
	if (((s = jstr(item, "compliance.status")) != NULL &&
	    (strcasecmp(s, "Pass") == 0 || strcasecmp(s, "Success") == 0)) ||
	    (s == NULL &&
	    jint(item, "compliance.status_id", &cls2) && cls2 == 1))
		return IMPORTFMT_PASS;
	/* Prowler 3's Security Finding (OCSF 1.0.0-rc.3): status Success
	 * for a check that passed, Failure for one that failed. */
	if (((s = jstr(item, "status")) != NULL && (strcasecmp(s,
	    "Resolved") == 0 || strcasecmp(s, "Suppressed") == 0 ||
	    strcasecmp(s, "Archived") == 0 || strcasecmp(s, "Success") ==
	    0)) || (s == NULL &&
	    jint(item, "status_id", &cls2) && cls2 >= 3 && cls2 <= 5))
		return IMPORTFMT_PASS;
	/* OCSF 1.x's finding_info, else 1.0.0-rc.3's finding (Prowler 3,
	 * whose check id is metadata.product.feature.uid). */
	uid = either(item, "finding_info.uid", "finding.uid");
	rule = jstr(item, "metadata.event_code");
	if (rule == NULL)
		rule = jstr(item, "metadata.product.feature.uid");
	if (rule == NULL)
		rule = either(item, "finding_info.types.0", "finding.types.0");
	if (rule == NULL)
		rule = either(item, "finding_info.title", "finding.title");
	importfmt_slug(rule, f->rule_id, sizeof(f->rule_id));
	res = jstr(item, "resources.0.uid");
	if (res == NULL)
		res = jstr(item, "resources.0.name");
	s = jstr(item, "cloud.provider");
	importfmt_slug(s ? s : "ocsf", f->provider, sizeof(f->provider));
	if (f->provider[0] == '\0')
		snprintf(f->provider, sizeof(f->provider), "ocsf");
	clean(f->resource_id, sizeof(f->resource_id), res ? res : uid, 0);
	clean(f->external_id, sizeof(f->external_id), uid, 0);
	clean(f->title, sizeof(f->title), either(item, "finding_info.title",
	    "finding.title"), 0);
	s = jstr(item, "cloud.account.uid");
	clean(f->subscription_id, sizeof(f->subscription_id), s, 0);
	clean(f->account, sizeof(f->account), s, 0);
	clean(f->resource_name, sizeof(f->resource_name),
	    jstr(item, "resources.0.name"), 0);
	clean(f->resource_type, sizeof(f->resource_type),
	    jstr(item, "resources.0.type"), 0);
	clean(f->resource_group, sizeof(f->resource_group),
	    jstr(item, "resources.0.group.name"), 0);
	clean(f->region, sizeof(f->region), jstr(item, "resources.0.region") ?
	    jstr(item, "resources.0.region") : jstr(item, "cloud.region"), 0);
	/* the first of these that holds a tag */
	f->tags = NULL;
	for (i = 0; i < NELEM(ocsf_tags) && (f->tags == NULL ||
	    strcmp(f->tags, "{}") == 0); i++) {
		free(f->tags);
		f->tags = tags_of(jget(item, ocsf_tags[i]));
	}
	if (!jint(item, "severity_id", &sev) || sev < 1 || sev > 6) {
		if (sev_word(jstr(item, "severity"), &f->severity) != 0)
			f->severity = FINDING_SEV_INFO;
	} else
		f->severity = sev == 1 ? FINDING_SEV_INFO : sev == 2 ?
		    FINDING_SEV_LOW : sev == 3 ? FINDING_SEV_MEDIUM : sev == 4 ?
		    FINDING_SEV_HIGH : FINDING_SEV_CRITICAL;
	/* Prowler: unmapped.compliance {"CIS-1.4": ["1.10", …], …}; OCSF
	 * 1.1+: compliance.standards and compliance.requirements. */
	if ((o = jget(item, "unmapped.compliance")) != NULL &&
	    json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, arr) {
			snprintf(buf, sizeof(buf), "%s", k);
			if (json_object_is_type(arr, json_type_array) &&
			    json_object_array_length(arr) > 0 &&
			    (v = json_object_array_get_idx(arr, 0)) != NULL &&
			    json_object_is_type(v, json_type_string))
				snprintf(buf, sizeof(buf), "%s %s", k,
				    json_object_get_string(v));
			fw_add(f->framework, sizeof(f->framework), buf);
		}
	}
	if ((o = jget(item, "compliance.standards")) != NULL &&
	    json_object_is_type(o, json_type_array))
		for (i = 0; i < json_object_array_length(o); i++)
			if ((s = json_object_get_string(
			    json_object_array_get_idx(o, i))) != NULL)
				fw_add(f->framework, sizeof(f->framework), s);
	category_of(f->rule_id, either(item, "finding_info.types.0",
	    "finding.types.0"),
	    cls == 2003 ? "compliance" : "detection", f->category,
	    sizeof(f->category));
	/* The resource names the finding; the tool's uid stands in for a
	 * finding without a resource. */
	snprintf(identity, sizeof(identity), "%s", res ? res : uid ? uid : "");
	return common_tail(IMPORTFMT_OCSF, item, f, identity,
	    either(item, "finding_info.desc", "finding.desc") ?
	    either(item, "finding_info.desc", "finding.desc") :
	    jstr(item, "message"), either(item, "remediation.desc",
	    "finding.remediation.desc"), jstr(item, "status_detail"), err,
	    errsz);
}

/* ASFF, as Security Hub and Prowler write it. */
static int
map_asff(json_object *item, struct importfmt_finding *f, char *err,
    size_t errsz)
{
	const char *rule, *res, *id, *s, *g;
	char identity[1400];
	json_object *o;
	long norm;
	size_t i;
	int by_id = 0;

	id = jstr(item, "Id");
	/* A control's result is a finding only when FAILED: PASSED,
	 * WARNING (Security Hub: not determined; Prowler: a check its
	 * user muted) and NOT_AVAILABLE are not. A finding of another
	 * product has no Compliance. */
	if ((s = jstr(item, "Compliance.Status")) != NULL &&
	    strcmp(s, "FAILED") != 0)
		return IMPORTFMT_PASS;
	if ((s = jstr(item, "RecordState")) != NULL &&
	    strcmp(s, "ARCHIVED") == 0)
		return IMPORTFMT_PASS;
	if ((s = jstr(item, "Workflow.Status")) != NULL &&
	    (strcmp(s, "RESOLVED") == 0 || strcmp(s, "SUPPRESSED") == 0))
		return IMPORTFMT_PASS;
	/* Prowler puts its check id in ProductFields and GeneratorId. */
	rule = jstr(item, "ProductFields.CheckId");
	if (rule == NULL)
		rule = jstr(item, "ProductFields.prowler/CheckId");
	if (rule == NULL)
		rule = jstr(item, "Compliance.SecurityControlId");
	g = jstr(item, "GeneratorId");
	if (rule == NULL && g != NULL && strncmp(g, "prowler-", 8) == 0)
		rule = g + 8;
	else if (rule == NULL) {
		/* Another product's finding: its vulnerability (Inspector:
		 * the CVE), else its GeneratorId unless that is an ARN (a
		 * GuardDuty detector's), else the last part of its first
		 * type ("…/Backdoor:EC2-C&CActivity.B!DNS"). */
		const char *t = jstr(item, "Types.0");

		by_id = 1;
		if ((rule = jstr(item, "Vulnerabilities.0.Id")) == NULL &&
		    (g == NULL || strncmp(g, "arn:", 4) == 0) && t != NULL)
			rule = strrchr(t, '/') != NULL ? strrchr(t, '/') + 1 : t;
		if (rule == NULL)
			rule = g;
	}
	importfmt_slug(rule, f->rule_id, sizeof(f->rule_id));
	res = jstr(item, "Resources.0.Id");
	s = jstr(item, "Resources.0.Partition");
	snprintf(f->provider, sizeof(f->provider), "aws");
	(void)s;
	clean(f->resource_id, sizeof(f->resource_id), res ? res : id, 0);
	clean(f->external_id, sizeof(f->external_id), id, 0);
	clean(f->title, sizeof(f->title), jstr(item, "Title"), 0);
	clean(f->subscription_id, sizeof(f->subscription_id),
	    jstr(item, "AwsAccountId"), 0);
	clean(f->account, sizeof(f->account), jstr(item, "AwsAccountId"), 0);
	clean(f->resource_type, sizeof(f->resource_type),
	    jstr(item, "Resources.0.Type"), 0);
	clean(f->region, sizeof(f->region), jstr(item, "Resources.0.Region") ?
	    jstr(item, "Resources.0.Region") : jstr(item, "Region"), 0);
	/* an ARN's last part names the resource */
	if (res != NULL) {
		const char *c = strrchr(res, '/'), *d = strrchr(res, ':');

		clean(f->resource_name, sizeof(f->resource_name),
		    c != NULL ? c + 1 : d != NULL ? d + 1 : res, 0);
	}
	f->tags = tags_of(jget(item, "Resources.0.Tags"));
	if (sev_word(jstr(item, "Severity.Label"), &f->severity) != 0) {
		if (jint(item, "Severity.Normalized", &norm))
			f->severity = norm >= 90 ? FINDING_SEV_CRITICAL :
			    norm >= 70 ? FINDING_SEV_HIGH : norm >= 40 ?
			    FINDING_SEV_MEDIUM : norm >= 1 ? FINDING_SEV_LOW :
			    FINDING_SEV_INFO;
		else
			f->severity = FINDING_SEV_INFO;
	}
	if ((o = jget(item, "Compliance.RelatedRequirements")) != NULL &&
	    json_object_is_type(o, json_type_array))
		for (i = 0; i < json_object_array_length(o); i++)
			if ((s = json_object_get_string(
			    json_object_array_get_idx(o, i))) != NULL)
				fw_add(f->framework, sizeof(f->framework), s);
	category_of(f->rule_id, jstr(item, "Types.0"), "configuration",
	    f->category, sizeof(f->category));
	/* A GeneratorId is often the product's (Inspector's, a GuardDuty
	 * detector's): its findings on one resource are told apart by
	 * their Id, which ASFF keeps stable across updates. */
	if (by_id && res != NULL && id != NULL)
		snprintf(identity, sizeof(identity), "%s#%s", res, id);
	else
		snprintf(identity, sizeof(identity), "%s", res ? res : id ?
		    id : "");
	return common_tail(IMPORTFMT_ASFF, item, f, identity,
	    jstr(item, "Description"), jstr(item, "Remediation.Recommendation."
	    "Text"), jstr(item, "Compliance.Status"), err, errsz);
}

/* The rule with id rule in rules (at idx first, when idx >= 0), or
 * the one at idx when rule is NULL. */
static json_object *
rule_in(json_object *rules, long idx, const char *rule)
{
	json_object *r;
	const char *id;
	size_t i, n;

	if (rules == NULL || !json_object_is_type(rules, json_type_array))
		return NULL;
	n = json_object_array_length(rules);
	if (idx >= 0 && (size_t)idx < n &&
	    (r = json_object_array_get_idx(rules, (size_t)idx)) != NULL &&
	    (rule == NULL || ((id = jstr(r, "id")) != NULL &&
	    strcmp(id, rule) == 0)))
		return r;
	for (i = 0; rule != NULL && i < n; i++) {
		r = json_object_array_get_idx(rules, i);
		if ((id = jstr(r, "id")) != NULL && strcmp(id, rule) == 0)
			return r;
	}
	return NULL;
}

/* The rule a SARIF result names, from its run's tool: the driver's
 * rules, or those of the extension its rule.toolComponent.index names
 * (CodeQL keeps its queries' rules in tool.extensions[], the driver's
 * list empty); by id, else any extension's with that id. */
static json_object *
sarif_rule(json_object *ctx, json_object *item, const char *rule)
{
	json_object *ext = jget(ctx, "extensions"), *r;
	char path[64];
	long idx = -1, comp = -1;
	size_t i;

	if (!jint(item, "ruleIndex", &idx))
		(void)jint(item, "rule.index", &idx);
	if (jint(item, "rule.toolComponent.index", &comp) && comp >= 0) {
		snprintf(path, sizeof(path), "extensions.%ld.rules", comp);
		if ((r = rule_in(jget(ctx, path), idx, rule)) != NULL)
			return r;
	}
	if ((r = rule_in(jget(ctx, "driver.rules"), comp >= 0 ? -1 : idx,
	    rule)) != NULL)
		return r;
	for (i = 0; rule != NULL && ext != NULL && json_object_is_type(ext,
	    json_type_array) && i < json_object_array_length(ext) &&
	    i < 64; i++)
		if ((r = rule_in(jget(json_object_array_get_idx(ext, i),
		    "rules"), -1, rule)) != NULL)
			return r;
	return NULL;
}

/* 1 if one of a result's suppressions is in force: SARIF's status
 * "accepted", or none given; "underReview" and "rejected" are not. */
static int
suppressed(json_object *item)
{
	json_object *o = jget(item, "suppressions");
	const char *st;
	size_t i;

	if (o == NULL || !json_object_is_type(o, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(o); i++) {
		st = jstr(json_object_array_get_idx(o, i), "status");
		if (st == NULL || strcmp(st, "accepted") == 0)
			return 1;
	}
	return 0;
}

/* 1 if a fingerprint's value is a tool's placeholder rather than one:
 * Semgrep's "requires login", written for every result when not logged
 * in, would make all of a rule's results in one file one finding. */
static int
fp_placeholder(const char *v)
{
	return strcmp(v, "requires login") == 0;
}

/* SARIF 2.1.0: a result located in a file and line (Semgrep, CodeQL,
 * Trivy). */
static int
map_sarif(json_object *item, json_object *ctx, struct importfmt_finding *f,
    char *err, size_t errsz)
{
	const char *rule, *uri, *s, *fp = NULL, *level, *kind;
	char identity[1400], ss[32];
	json_object *r, *o, *tags;
	long line = 0;
	double score;
	size_t i;

	if ((kind = jstr(item, "kind")) != NULL && (strcmp(kind, "pass") == 0 ||
	    strcmp(kind, "notApplicable") == 0))
		return IMPORTFMT_PASS;
	if (suppressed(item))
		return IMPORTFMT_PASS;
	rule = jstr(item, "ruleId");
	if (rule == NULL)
		rule = jstr(item, "rule.id");
	r = sarif_rule(ctx, item, rule);
	if (rule == NULL && r != NULL)
		rule = jstr(r, "id");
	importfmt_slug(rule, f->rule_id, sizeof(f->rule_id));
	snprintf(f->provider, sizeof(f->provider), "code");
	uri = jstr(item, "locations.0.physicalLocation.artifactLocation.uri");
	jint(item, "locations.0.physicalLocation.region.startLine", &line);
	if (uri != NULL) {
		if (line > 0)
			snprintf(identity, sizeof(identity), "%s:%ld", uri,
			    line);
		else
			snprintf(identity, sizeof(identity), "%s", uri);
		clean(f->resource_id, sizeof(f->resource_id), identity, 0);
		clean(f->resource_name, sizeof(f->resource_name), uri, 0);
		snprintf(f->resource_type, sizeof(f->resource_type), "file");
	} else {
		/* No file: a logical location (a function, a package,
		 * what the tool names), else the artifact the tool
		 * analysed, stands for the resource. */
		const char *type = "logical";

		if ((uri = either(item,
		    "locations.0.logicalLocations.0.fullyQualifiedName",
		    "locations.0.logicalLocations.0.name")) == NULL) {
			uri = jstr(item, "analysisTarget.uri");
			type = "file";
		}
		if (uri != NULL) {
			snprintf(identity, sizeof(identity), "%s", uri);
			clean(f->resource_id, sizeof(f->resource_id), uri, 0);
			clean(f->resource_name, sizeof(f->resource_name), uri,
			    0);
			snprintf(f->resource_type, sizeof(f->resource_type),
			    "%s", type);
		}
	}
	/* A fingerprint the tool gives survives the lines moving. */
	if ((o = jget(item, "partialFingerprints")) != NULL &&
	    json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (json_object_is_type(v, json_type_string) &&
			    !fp_placeholder(json_object_get_string(v))) {
				fp = json_object_get_string(v);
				break;
			}
		}
	}
	if (fp == NULL && (o = jget(item, "fingerprints")) != NULL &&
	    json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (json_object_is_type(v, json_type_string) &&
			    !fp_placeholder(json_object_get_string(v))) {
				fp = json_object_get_string(v);
				break;
			}
		}
	}
	/* Without one, the message tells two results of one rule on one
	 * line apart (Trivy: two packages of one image). */
	if (uri != NULL && fp != NULL)
		snprintf(identity, sizeof(identity), "%s#%s", uri, fp);
	else if (uri != NULL && (s = jstr(item, "message.text")) != NULL) {
		unsigned char h[CRYPTO_SHA256_LEN];
		char hex[CRYPTO_SHA256_HEX];

		crypto_sha256(s, strlen(s), h);
		crypto_hex(h, 8, hex);
		snprintf(identity + strlen(identity), sizeof(identity) -
		    strlen(identity), "#%s", hex);
	}
	clean(f->external_id, sizeof(f->external_id), fp, 0);
	s = jstr(item, "message.text");
	/* the rule's short description, unless it only repeats the rule id
	 * (Semgrep: "Semgrep Finding: <id>") */
	if (r != NULL && jstr(r, "shortDescription.text") != NULL &&
	    (rule == NULL || s == NULL || strstr(jstr(r,
	    "shortDescription.text"), rule) == NULL))
		s = jstr(r, "shortDescription.text");
	else if (s == NULL && r != NULL)
		s = jstr(r, "fullDescription.text");
	clean(f->title, sizeof(f->title), s, 0);
	/* A result of another kind than fail (open, review,
	 * informational) has the level none (SARIF 2.1.0, 3.27.10); else
	 * security-severity (CodeQL, Trivy) first, then the level. */
	s = r ? jstr(r, "properties.security-severity") : NULL;
	if (kind != NULL && strcmp(kind, "fail") != 0)
		f->severity = FINDING_SEV_INFO;
	else if (s != NULL) {
		snprintf(ss, sizeof(ss), "%s", s);
		score = strtod(ss, NULL);
		f->severity = score >= 9.0 ? FINDING_SEV_CRITICAL : score >= 7.0 ?
		    FINDING_SEV_HIGH : score >= 4.0 ? FINDING_SEV_MEDIUM :
		    score > 0.0 ? FINDING_SEV_LOW : FINDING_SEV_INFO;
	} else {
		level = jstr(item, "level");
		if (level == NULL && r != NULL)
			level = jstr(r, "defaultConfiguration.level");
		if (level == NULL)
			level = "warning";
		if (sev_word(level, &f->severity) != 0)
			f->severity = FINDING_SEV_MEDIUM;
	}
	/* CWE tags ("external/cwe/cwe-079", "CWE-79: …") as references. */
	tags = r ? jget(r, "properties.tags") : NULL;
	for (i = 0; tags != NULL && json_object_is_type(tags,
	    json_type_array) && i < json_object_array_length(tags); i++) {
		s = json_object_get_string(json_object_array_get_idx(tags, i));
		if (s == NULL)
			continue;
		if (strncmp(s, "external/cwe/cwe-", 17) == 0) {
			char c[32];

			snprintf(c, sizeof(c), "CWE-%ld", strtol(s + 17, NULL,
			    10));
			fw_add(f->framework, sizeof(f->framework), c);
		} else if (strncmp(s, "CWE-", 4) == 0) {
			char c[32];

			snprintf(c, sizeof(c), "CWE-%ld", strtol(s + 4, NULL,
			    10));
			fw_add(f->framework, sizeof(f->framework), c);
		}
	}
	category_of(f->rule_id, f->framework[0] ? "" : "", "code",
	    f->category, sizeof(f->category));
	if (strcmp(f->category, "code") != 0 &&
	    strcmp(f->category, "vulnerability") != 0 &&
	    strcmp(f->category, "secrets") != 0)
		snprintf(f->category, sizeof(f->category), "code");
	return common_tail(IMPORTFMT_SARIF, item, f, uri ? identity : NULL,
	    jstr(item, "message.text"), r ? (jstr(r, "help.text") ? jstr(r,
	    "help.text") : jstr(r, "fullDescription.text")) : NULL,
	    jstr(item, "message.text"), err, errsz);
}

static int
slug_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* Vigil's own JSON ("vigilctl findings import"): its fields as given,
 * checked as strictly as before; region may be spelt location (Azure's
 * word), not both. */
static int
map_vigil(json_object *o, struct importfmt_finding *f, char *err,
    size_t errsz)
{
	static const char *const allowed[] = { "rule_id", "provider",
	    "subscription_id", "environment", "resource_id", "title",
	    "severity", "category", "layer", "framework", "description",
	    "recommendation", "evidence", "resource_name", "resource_type",
	    "resource_group", "region", "location", "account", "tags", NULL };
	static const struct {
		const char *name;
		size_t off, max;
		int required;
	} t[] = {
		{ "rule_id", offsetof(struct importfmt_finding, rule_id), 100,
		    1 },
		{ "provider", offsetof(struct importfmt_finding, provider), 32,
		    1 },
		{ "resource_id", offsetof(struct importfmt_finding,
		    resource_id), 1024, 1 },
		{ "title", offsetof(struct importfmt_finding, title), 255, 1 },
		{ "category", offsetof(struct importfmt_finding, category), 32,
		    1 },
		{ "framework", offsetof(struct importfmt_finding, framework),
		    255, 0 },
		{ "subscription_id", offsetof(struct importfmt_finding,
		    subscription_id), 64, 0 },
		{ "environment", offsetof(struct importfmt_finding,
		    environment), 32, 0 },
		{ "layer", offsetof(struct importfmt_finding, layer), 32, 0 },
		{ "resource_name", offsetof(struct importfmt_finding,
		    resource_name), FINDING_META_MAX, 0 },
		{ "resource_type", offsetof(struct importfmt_finding,
		    resource_type), FINDING_META_MAX, 0 },
		{ "resource_group", offsetof(struct importfmt_finding,
		    resource_group), FINDING_META_MAX, 0 },
		{ "region", offsetof(struct importfmt_finding, region),
		    FINDING_REGION_MAX, 0 },
		{ "account", offsetof(struct importfmt_finding, account),
		    FINDING_META_MAX, 0 },
	};
	struct vjson_err e;
	const char *v, *desc, *rec, *sev;
	json_object *ev;
	size_t k;

	if (!json_object_is_type(o, json_type_object)) {
		set_err(err, errsz, "item", "must be an object");
		return IMPORTFMT_BAD;
	}
	if (vjson_only_keys(o, allowed, &e) != 0)
		goto bad;
	for (k = 0; k < NELEM(t); k++) {
		v = NULL;
		if (vjson_get_string(o, t[k].name, t[k].required, 1, t[k].max,
		    &v, &e) < 0)
			goto bad;
		snprintf((char *)f + t[k].off, t[k].max + 1, "%s",
		    v ? v : "");
	}
	v = NULL;
	if ((k = (size_t)vjson_get_string(o, "location", 0, 1,
	    FINDING_REGION_MAX, &v, &e)) == (size_t)-1)
		goto bad;
	if (k == 1) {
		if (f->region[0] != '\0') {
			set_err(err, errsz, "location", "give region or "
			    "location, not both");
			return IMPORTFMT_BAD;
		}
		snprintf(f->region, sizeof(f->region), "%s", v);
	}
	if (vjson_get_text(o, "description", 1, 1, 8192, &desc, &e) < 0 ||
	    vjson_get_text(o, "recommendation", 1, 1, 8192, &rec, &e) < 0 ||
	    vjson_get_string(o, "severity", 1, 1, 16, &sev, &e) < 0)
		goto bad;
	if (finding_severity_from_str(sev, &f->severity) != 0) {
		set_err(err, errsz, "severity", "must be critical, high, "
		    "medium, low or info");
		return IMPORTFMT_BAD;
	}
	if (json_object_object_get_ex(o, "evidence", &ev) &&
	    !json_object_is_type(ev, json_type_object)) {
		set_err(err, errsz, "evidence", "must be an object");
		return IMPORTFMT_BAD;
	}
	if (!slug_ok(f->provider) || !slug_ok(f->rule_id) ||
	    strlen(f->provider) + strlen(f->rule_id) + 10 >= FINDING_ID_MAX) {
		set_err(err, errsz, "rule_id", "provider and rule_id must be "
		    "lowercase letters, digits, '-', '_' or '.'");
		return IMPORTFMT_BAD;
	}
	{
		char terr[256];
		json_object *tg = NULL;

		json_object_object_get_ex(o, "tags", &tg);
		if (finding_tags_canonical(tg, 1, &f->tags, terr,
		    sizeof(terr)) != 0) {
			set_err(err, errsz, "tags", terr);
			return IMPORTFMT_BAD;
		}
	}
	if (f->account[0] == '\0')
		memcpy(f->account, f->subscription_id,
		    sizeof(f->subscription_id));
	f->description = strdup(desc);
	f->recommendation = strdup(rec);
	f->evidence = strdup(ev ? vjson_str(ev, &k) : "{}");
	if (f->description == NULL || f->recommendation == NULL ||
	    f->evidence == NULL) {
		set_err(err, errsz, "item", "out of memory");
		return IMPORTFMT_BAD;
	}
	make_id(f, f->resource_id, 8);
	fingerprint(f, f->evidence);
	return IMPORTFMT_FINDING;
bad:
	set_err(err, errsz, e.field, e.message);
	return IMPORTFMT_BAD;
}

enum importfmt_map_result
importfmt_map(enum importfmt fmt, json_object *item, json_object *ctx,
    struct importfmt_finding *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (fmt == IMPORTFMT_VIGIL)
		return map_vigil(item, out, err, errsz);
	if (!json_object_is_type(item, json_type_object)) {
		set_err(err, errsz, "item", "must be an object");
		return IMPORTFMT_BAD;
	}
	switch (fmt) {
	case IMPORTFMT_OCSF:
		return map_ocsf(item, out, err, errsz);
	case IMPORTFMT_ASFF:
		return map_asff(item, out, err, errsz);
	case IMPORTFMT_SARIF:
		return map_sarif(item, ctx, out, err, errsz);
	default:
		set_err(err, errsz, "format", "unknown");
		return IMPORTFMT_BAD;
	}
}

void
importfmt_finding_clear(struct importfmt_finding *f)
{
	free(f->description);
	free(f->recommendation);
	free(f->evidence);
	free(f->tags);
	f->description = f->recommendation = f->evidence = f->tags = NULL;
}
