/*
 * rules.c: the declarative rule language, its load-time validation and its
 * evaluation over one resource's ARM JSON. Pure except rules_load_dir,
 * which reads files.
 *
 * A rule file holds one rule object or an array of them:
 *
 *   { "id": "nsg-ssh-internet",          [a-z0-9-], no provider prefix
 *     "provider": "azure",
 *     "resource_type": "Microsoft.Network/networkSecurityGroups",
 *     "title": "...", "severity": "critical|high|medium|low|info",
 *     "category": "network|identity|storage|keyvault|compliance",
 *     "layer": "infrastructure|application|data|identity|monitoring",
 *                                        optional, default infrastructure
 *     "framework": "CIS ..., NIST 800-53 ...",
 *     "description": "...", "recommendation": "...",
 *     "condition": COND,
 *     "remediation": { "api_version": "2023-01-01", "patch": {...} },
 *                                        optional, low/medium rules only
 *     "comment": "..." }                 optional, ignored
 *
 * A rule fires on a resource whose "type" equals resource_type (ARM type
 * names are case-insensitive) when COND holds. COND is one of:
 *
 *   {"all":  [COND, ...]}    every one holds (stops at the first that fails)
 *   {"any":  [COND, ...]}    at least one holds
 *   {"none": [COND, ...]}    not one holds
 *   {"not":  COND}           COND does not hold
 *   {"each": PATH, "where": COND}
 *                            at least one element that PATH yields (it must
 *                            contain [*]) satisfies COND, which is evaluated
 *                            with paths relative to the element. Every such
 *                            element is evidence (e.g. the NSG security rule
 *                            object).
 *   a leaf: {"path": PATH or [PATH, ...], OP: ARG,
 *            "default": VALUE, "case_sensitive": BOOL}
 *
 * Any node may carry a "comment" string. PATH is dot-separated keys, each
 * optionally followed by [*] (every element of an array) or [N] (one
 * element): "properties.securityRules[*].properties.access". "@" is the
 * current node itself. A leaf with several paths pools the values of all
 * of them, which is how the singular and plural ARM fields are read
 * together: ["properties.destinationPortRange",
 * "properties.destinationPortRanges[*]"]. JSON null counts as missing.
 *
 * OP, over the values the paths yield:
 *   eq VALUE, in [VALUE, ...]   some value is equal to (one of) them
 *   ne VALUE, not_in [...]      no value is: exactly "not eq" / "not in"
 *   lt, le, gt, ge NUMBER       some value compares so; a string value
 *                               counts if it is a plain decimal ("1.2")
 *   exists BOOL, absent BOOL    some value is present / none is
 *   ports SPEC or [SPEC, ...]   port coverage: SPEC is a port (22), a
 *                               range ("20-25") or "*"; holds when the union
 *                               of the port ranges in the values ("22",
 *                               "20-25", "*", 22, "80,443") covers the whole
 *                               of some SPEC. "0-65535" means all ports.
 *   internet true|false|[CIDR, ...]
 *                               some value (true) / no value (false) is an
 *                               internet source: "*", "Internet" or "Any"
 *                               (any case), or an IPv4/IPv6 prefix that
 *                               contains one of the CIDRs given, by
 *                               default 0.0.0.0/1, 128.0.0.0/1, ::/1 and
 *                               8000::/1 -- so 0.0.0.0/0, ::/0 and
 *                               0.0.0.0/1 count, while 10.0.0.0/8,
 *                               192.168.1.0/24, a single address and
 *                               service tags such as AzureLoadBalancer or
 *                               VirtualNetwork do not.
 *
 * Strings compare case-insensitively (ASCII), because ARM treats enum
 * values such as Allow/allow that way; "case_sensitive": true makes a
 * leaf's eq/ne/in/not_in exact. Values of different JSON types are never
 * equal ("true" is not true).
 *
 * Missing fields: when no path yields a value, a leaf with "default" is
 * evaluated as if the field held that value. Without one, a missing field
 * satisfies no comparison: eq, in, lt..ge, ports and internet:true are
 * false; ne, not_in and internet:false are true; absent is true and exists
 * false. So a missing "access" is not Allow, and a missing
 * "enablePurgeProtection" is "ne": true. exists/absent take no default.
 *
 * Evidence: the elements that "each" matched, and for every leaf that held
 * outside an "each" (and outside none/not) a {"path": P, "value": V} (or
 * {"path": P, "missing": true}) object; at most RULES_MAX_EVIDENCE (256)
 * items, the first in document order. A failed "all" drops what its
 * earlier children collected.
 *
 * Validation at load rejects unknown keys and operators, wrong types, bad
 * paths, unknown severities and categories and missing fields with
 * "FILE: rule ID: PATH: what", PATH being where in the rule the problem is
 * (condition.all[2].ports).
 */
#include "vigil.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "cidr.h"
#include "rules.h"
#include "vjson.h"

#define RULES_MAX_FILE		(1024 * 1024)	/* bytes per rule file */
#define RULES_MAX_PER_FILE	1000
#define RULES_MAX_NEST		16	/* nested combinators/each/not */
#define RULES_MAX_LIST		256	/* items in all/any/none/in/ports */
#define RULES_MAX_PATHS		16	/* paths in one leaf */
#define RULES_MAX_PATH		256	/* bytes in one path */
#define RULES_MAX_STEPS		32	/* keys and indexes in one path */
#define RULES_MAX_KEY		128	/* bytes in one key */
#define RULES_MAX_DIRDEPTH	8
#define RULES_ERRPATH		256
#define RULES_MAX_EVIDENCE	256	/* items listed per finding */

enum op {
	OP_EQ, OP_NE, OP_IN, OP_NOT_IN, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_EXISTS, OP_ABSENT, OP_PORTS, OP_INTERNET, OP__N
};

static const char *const op_names[OP__N] = {
	"eq", "ne", "in", "not_in", "lt", "le", "gt", "ge",
	"exists", "absent", "ports", "internet",
};

static const char *const categories[] = {
	"network", "identity", "storage", "keyvault", "compliance", NULL,
};

static const char *const layers[] = {
	"infrastructure", "application", "data", "identity", "monitoring",
	NULL,
};

static const char *const rule_keys[] = {
	"id", "provider", "resource_type", "title", "severity", "category",
	"layer", "framework", "description", "recommendation", "condition",
	"remediation", "comment", NULL,
};

/* The default "internet" list: any prefix spanning half an address
 * family or more. */
static const char *const internet_default[] = {
	"0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1",
};

/* ------------------------------------------------------------------ */
/* Small pure helpers                                                  */

static int
ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* 1 if a[0..alen) equals b[0..blen), ignoring ASCII case unless cs. */
static int
str_eq(const char *a, size_t alen, const char *b, size_t blen, int cs)
{
	size_t	 i;

	if (alen != blen)
		return 0;
	if (cs)
		return memcmp(a, b, alen) == 0;
	for (i = 0; i < alen; i++)
		if (ascii_lower((unsigned char)a[i]) !=
		    ascii_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

static size_t
jstr_len(json_object *o)
{
	int	 n = json_object_get_string_len(o);

	return n < 0 ? 0 : (size_t)n;
}

static int
is_scalar(json_object *o)
{
	return json_object_is_type(o, json_type_string) ||
	    json_object_is_type(o, json_type_int) ||
	    json_object_is_type(o, json_type_double) ||
	    json_object_is_type(o, json_type_boolean);
}

static int
is_number(json_object *o)
{
	return json_object_is_type(o, json_type_int) ||
	    json_object_is_type(o, json_type_double);
}

/* Index of s in the NULL-terminated list, or -1. */
static int
in_list(const char *const *list, const char *s)
{
	size_t	 i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return (int)i;
	return -1;
}

/* A number from a JSON number or a plain decimal string ("1.2", "-3",
 * "4e2"); 1 with *out set, 0 if it is neither. */
static int
num_of(json_object *o, double *out)
{
	const char	*s;
	char		*end;
	size_t		 i, len;
	double		 d;

	if (json_object_is_type(o, json_type_int)) {
		*out = (double)json_object_get_int64(o);
		return 1;
	}
	if (json_object_is_type(o, json_type_double)) {
		d = json_object_get_double(o);
		if (!isfinite(d))
			return 0;
		*out = d;
		return 1;
	}
	if (!json_object_is_type(o, json_type_string))
		return 0;
	s = json_object_get_string(o);
	len = jstr_len(o);
	if (len == 0 || len > 64 || strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (strchr("0123456789.+-eE", s[i]) == NULL)
			return 0;
	errno = 0;
	d = strtod(s, &end);
	if (end != s + len || errno != 0 || !isfinite(d))
		return 0;
	*out = d;
	return 1;
}

/* Equality of an actual value and a rule value (both non-NULL). */
static int
scalar_eq(json_object *a, json_object *b, int cs)
{
	double	 x, y;

	if (json_object_is_type(a, json_type_string) &&
	    json_object_is_type(b, json_type_string))
		return str_eq(json_object_get_string(a), jstr_len(a),
		    json_object_get_string(b), jstr_len(b), cs);
	if (json_object_is_type(a, json_type_boolean) &&
	    json_object_is_type(b, json_type_boolean))
		return !json_object_get_boolean(a) ==
		    !json_object_get_boolean(b);
	if (json_object_is_type(a, json_type_int) &&
	    json_object_is_type(b, json_type_int))
		return json_object_get_int64(a) == json_object_get_int64(b);
	if (is_number(a) && is_number(b) && num_of(a, &x) && num_of(b, &y))
		return x == y;
	return 0;
}

/* One port range; for the ranges found in a resource, also where. */
struct prange {
	unsigned	 lo, hi;
	size_t		 order;		/* rank of its value in the walk */
	json_object	*value;
	const char	*path;
};

static int
port_num(const char *s, size_t len, unsigned *out)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (len == 0 || len > 5)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return 0;
	*out = (unsigned)v;
	return 1;
}

/* Parse one port spec ("22", "20-25", "*", spaces around allowed). */
static int
port_spec(const char *s, size_t len, struct prange *r)
{
	const char	*dash;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 1 && *s == '*') {
		r->lo = 0;
		r->hi = 65535;
		return 1;
	}
	if ((dash = memchr(s, '-', len)) == NULL) {
		if (!port_num(s, len, &r->lo))
			return 0;
		r->hi = r->lo;
		return 1;
	}
	if (!port_num(s, (size_t)(dash - s), &r->lo) ||
	    !port_num(dash + 1, len - (size_t)(dash - s) - 1, &r->hi))
		return 0;
	return r->lo <= r->hi;
}

/* A port spec from a rule value (integer or string); 1 or 0. */
static int
port_spec_json(json_object *o, struct prange *r)
{
	int64_t	 n;

	if (json_object_is_type(o, json_type_int)) {
		n = json_object_get_int64(o);
		if (n < 0 || n > 65535)
			return 0;
		r->lo = r->hi = (unsigned)n;
		return 1;
	}
	if (json_object_is_type(o, json_type_string))
		return port_spec(json_object_get_string(o), jstr_len(o), r);
	return 0;
}

/* 1 if the string value is an internet source: a tag, or a prefix that
 * contains one of list (rule strings) or, if list is NULL, the default. */
static int
internet_str(const char *s, size_t len, json_object *list)
{
	struct cidr	 src, probe;
	json_object	*it;
	size_t		 i, n;

	if (str_eq(s, len, "*", 1, 0) || str_eq(s, len, "Internet", 8, 0) ||
	    str_eq(s, len, "Any", 3, 0))
		return 1;
	if (!cidr_parse(s, len, &src))
		return 0;
	if (list == NULL) {
		for (i = 0; i < NELEM(internet_default); i++) {
			if (cidr_parse(internet_default[i],
			    strlen(internet_default[i]), &probe) &&
			    cidr_contains(&src, &probe))
				return 1;
		}
		return 0;
	}
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		it = json_object_array_get_idx(list, i);
		if (json_object_is_type(it, json_type_string) &&
		    cidr_parse(json_object_get_string(it), jstr_len(it),
		    &probe) && cidr_contains(&src, &probe))
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */

/* Check a path's syntax; NULL if good, else why not. */
static const char *
path_syntax(const char *s, size_t len)
{
	size_t	 i = 0, steps = 0, k;
	int	 need_name = 0;	/* after a '.' */

	if (len == 0)
		return "must not be empty";
	if (len > RULES_MAX_PATH)
		return "is too long";
	if (strlen(s) != len)
		return "must not contain NUL";
	if (len == 1 && s[0] == '@')
		return NULL;
	while (i < len) {
		if (++steps > RULES_MAX_STEPS)
			return "has too many steps";
		if (s[i] == '[') {
			if (need_name)
				return "expects a key after '.'";
			if (i + 2 < len && s[i + 1] == '*' && s[i + 2] == ']')
				i += 3;
			else {
				for (k = i + 1; k < len && s[k] >= '0' &&
				    s[k] <= '9'; k++)
					;
				if (k == i + 1 || k - i - 1 > 9 || k >= len ||
				    s[k] != ']')
					return "has a bad index (use [*] or "
					    "[N])";
				i = k + 1;
			}
		} else {
			for (k = i; k < len && s[k] != '.' && s[k] != '[' &&
			    s[k] != ']'; k++)
				if ((unsigned char)s[k] < 0x20 || s[k] == ' ')
					return "has a control character or "
					    "space in a key";
			if (k == i)
				return "has an empty key";
			if (k - i > RULES_MAX_KEY)
				return "has a key that is too long";
			if (k < len && s[k] == ']')
				return "has an unbalanced ']'";
			if (steps > 1 && !need_name)
				return "expects '.' before a key";
			i = k;
		}
		need_name = 0;
		if (i < len && s[i] == '.') {
			i++;
			need_name = 1;
			if (i == len)
				return "must not end with '.'";
		}
	}
	return NULL;
}

typedef int (*visit_fn)(void *arg, json_object *value);

/* Call fn for every non-null value that path p yields from cur, in
 * document order; stop early if fn returns non-zero and return that. */
static int
path_walk(json_object *cur, const char *p, visit_fn fn, void *arg)
{
	char		 key[RULES_MAX_KEY + 1];
	json_object	*v;
	size_t		 i, n, klen, idx;
	int		 rc;

	if (p[0] == '@' && p[1] == '\0')
		return cur == NULL ? 0 : fn(arg, cur);
	for (;;) {
		if (cur == NULL)
			return 0;
		if (*p == '.')
			p++;
		if (*p == '\0')
			return fn(arg, cur);
		if (*p == '[') {
			if (!json_object_is_type(cur, json_type_array))
				return 0;
			n = json_object_array_length(cur);
			if (p[1] == '*') {
				if (p[2] != ']')
					return 0;
				for (i = 0; i < n; i++) {
					rc = path_walk(
					    json_object_array_get_idx(cur, i),
					    p + 3, fn, arg);
					if (rc != 0)
						return rc;
				}
				return 0;
			}
			idx = 0;
			for (p++; *p >= '0' && *p <= '9'; p++) {
				if (idx > 100000000)
					return 0;
				idx = idx * 10 + (size_t)(*p - '0');
			}
			if (*p != ']' || idx >= n)
				return 0;
			p++;
			cur = json_object_array_get_idx(cur, idx);
			continue;
		}
		klen = strcspn(p, ".[");
		if (klen == 0 || klen > RULES_MAX_KEY ||
		    !json_object_is_type(cur, json_type_object))
			return 0;
		memcpy(key, p, klen);
		key[klen] = '\0';
		if (!json_object_object_get_ex(cur, key, &v))
			return 0;
		cur = v;
		p += klen;
	}
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */

struct vctx {
	const char	*file;
	char		 rule[80];	/* the id, or "[N]" before it is known */
	char		*err;
	size_t		 errsz;
	char		 path[RULES_ERRPATH];
	size_t		 plen;
};

static void vfail(struct vctx *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

static void
vfail(struct vctx *c, const char *fmt, ...)
{
	char	 what[384];
	va_list	 ap;

	if (c->err == NULL || c->errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->plen > 0)
		snprintf(c->err, c->errsz, "%s: rule %s: %s: %s", c->file,
		    c->rule, c->path, what);
	else
		snprintf(c->err, c->errsz, "%s: rule %s: %s", c->file,
		    c->rule, what);
}

/* Append ".key" (or "key" at the start) to the error path, with bytes
 * that are not printable ASCII shown as '?'; returns the old length. */
static size_t
vpush_key(struct vctx *c, const char *key)
{
	size_t	 old = c->plen, i;

	if (c->plen > 0 && c->plen + 1 < sizeof(c->path))
		c->path[c->plen++] = '.';
	for (i = 0; key[i] != '\0' && c->plen + 1 < sizeof(c->path); i++)
		c->path[c->plen++] = ((unsigned char)key[i] < 0x20 ||
		    (unsigned char)key[i] > 0x7e) ? '?' : key[i];
	c->path[c->plen] = '\0';
	return old;
}

static size_t
vpush_idx(struct vctx *c, size_t i)
{
	size_t	 old = c->plen;
	int	 n;

	n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%zu]",
	    i);
	if (n > 0 && (size_t)n < sizeof(c->path) - c->plen)
		c->plen += (size_t)n;
	else
		c->path[c->plen] = '\0';
	return old;
}

static void
vpop(struct vctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* Fail on a key of o not in allowed (NULL-terminated); 0 or -1. */
static int
check_keys(struct vctx *c, json_object *o, const char *const *allowed,
    const char *what)
{
	struct json_object_iterator	 it, end;
	const char			*k;

	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it)) {
		k = json_object_iter_peek_name(&it);
		if (in_list(allowed, k) < 0) {
			vpush_key(c, k);
			vfail(c, "unknown %s", what);
			return -1;
		}
	}
	return 0;
}

/* Check that key of o is a valid string of minlen..maxlen bytes (or
 * absent and not required); 1 with *out set, 0 absent, -1 error. */
static int
check_str(struct vctx *c, json_object *o, const char *key, int required,
    size_t minlen, size_t maxlen, const char **out)
{
	json_object	*v = NULL;
	size_t		 old, len;

	*out = NULL;
	old = vpush_key(c, key);
	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		if (!required) {
			vpop(c, old);
			return 0;
		}
		vfail(c, "missing");
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		vfail(c, "must be a string");
		return -1;
	}
	len = jstr_len(v);
	if (strlen(json_object_get_string(v)) != len ||
	    !vjson_utf8_valid(json_object_get_string(v), len)) {
		vfail(c, "must be valid UTF-8 without NUL");
		return -1;
	}
	if (len < minlen || len > maxlen) {
		vfail(c, "must be %zu to %zu bytes long", minlen, maxlen);
		return -1;
	}
	vpop(c, old);
	*out = json_object_get_string(v);
	return 1;
}

static int
check_path_value(struct vctx *c, json_object *v)
{
	const char	*why;

	if (!json_object_is_type(v, json_type_string)) {
		vfail(c, "must be a path string");
		return -1;
	}
	if ((why = path_syntax(json_object_get_string(v), jstr_len(v)))
	    != NULL) {
		vfail(c, "bad path \"%.80s\": %s",
		    json_object_get_string(v), why);
		return -1;
	}
	return 0;
}

static int check_cond(struct vctx *, json_object *, int);

/* A non-empty array of at most RULES_MAX_LIST items; 0 or -1. */
static int
check_array(struct vctx *c, json_object *v, const char *what)
{
	size_t	 n;

	if (!json_object_is_type(v, json_type_array)) {
		vfail(c, "must be an array of %s", what);
		return -1;
	}
	n = json_object_array_length(v);
	if (n == 0 || n > RULES_MAX_LIST) {
		vfail(c, "must have 1 to %d %s", RULES_MAX_LIST, what);
		return -1;
	}
	return 0;
}

/* The argument of op; c->path names it. 0 or -1. */
static int
check_arg(struct vctx *c, enum op op, json_object *v)
{
	struct prange	 r;
	struct cidr	 ci;
	json_object	*it;
	size_t		 i, n, old;
	double		 d;

	switch (op) {
	case OP_EQ:
	case OP_NE:
		if (v == NULL || !is_scalar(v)) {
			vfail(c, "must be a string, number or boolean "
			    "(use absent for a missing field)");
			return -1;
		}
		if (json_object_is_type(v, json_type_double) &&
		    !isfinite(json_object_get_double(v))) {
			vfail(c, "must be a finite number");
			return -1;
		}
		return 0;
	case OP_IN:
	case OP_NOT_IN:
		if (v == NULL || check_array(c, v, "values") == -1)
			return -1;
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			old = vpush_idx(c, i);
			if (check_arg(c, OP_EQ, json_object_array_get_idx(v,
			    i)) == -1)
				return -1;
			vpop(c, old);
		}
		return 0;
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		if (v == NULL || !is_number(v) || !num_of(v, &d)) {
			vfail(c, "must be a number");
			return -1;
		}
		return 0;
	case OP_EXISTS:
	case OP_ABSENT:
		if (v == NULL || !json_object_is_type(v, json_type_boolean)) {
			vfail(c, "must be true or false");
			return -1;
		}
		return 0;
	case OP_PORTS:
		if (json_object_is_type(v, json_type_array)) {
			if (check_array(c, v, "port specs") == -1)
				return -1;
			n = json_object_array_length(v);
			for (i = 0; i < n; i++) {
				it = json_object_array_get_idx(v, i);
				old = vpush_idx(c, i);
				if (json_object_is_type(it,
				    json_type_array)) {
					vfail(c, "must be a port spec");
					return -1;
				}
				if (check_arg(c, OP_PORTS, it) == -1)
					return -1;
				vpop(c, old);
			}
			return 0;
		}
		if (v == NULL || !port_spec_json(v, &r)) {
			vfail(c, "must be a port (0-65535), a range \"LO-HI\" "
			    "or \"*\", or a list of them");
			return -1;
		}
		return 0;
	case OP_INTERNET:
		if (json_object_is_type(v, json_type_boolean))
			return 0;
		if (v == NULL || check_array(c, v, "CIDR strings") == -1)
			return -1;
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			it = json_object_array_get_idx(v, i);
			old = vpush_idx(c, i);
			if (!json_object_is_type(it, json_type_string) ||
			    !cidr_parse(json_object_get_string(it),
			    jstr_len(it), &ci)) {
				vfail(c, "must be an IPv4 or IPv6 CIDR");
				return -1;
			}
			vpop(c, old);
		}
		return 0;
	default:
		vfail(c, "unknown operator");
		return -1;
	}
}

static int
check_leaf(struct vctx *c, json_object *o)
{
	struct json_object_iterator	 it, end;
	json_object			*pathv = NULL, *v, *arg = NULL;
	const char			*k;
	size_t				 i, n, old;
	int				 op = -1, o2;

	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it)) {
		k = json_object_iter_peek_name(&it);
		v = json_object_iter_peek_value(&it);
		old = vpush_key(c, k);
		if (strcmp(k, "path") == 0)
			pathv = v;
		else if (strcmp(k, "comment") == 0) {
			if (!json_object_is_type(v, json_type_string)) {
				vfail(c, "must be a string");
				return -1;
			}
		} else if (strcmp(k, "case_sensitive") == 0) {
			if (!json_object_is_type(v, json_type_boolean)) {
				vfail(c, "must be true or false");
				return -1;
			}
		} else if (strcmp(k, "default") == 0) {
			if (v == NULL || !is_scalar(v)) {
				vfail(c, "must be a string, number or "
				    "boolean");
				return -1;
			}
		} else {
			for (o2 = 0; o2 < OP__N; o2++)
				if (strcmp(k, op_names[o2]) == 0)
					break;
			if (o2 == OP__N) {
				vfail(c, "unknown operator (eq, ne, in, "
				    "not_in, lt, le, gt, ge, exists, absent, "
				    "ports, internet)");
				return -1;
			}
			if (op != -1) {
				vfail(c, "a leaf has one operator (also %s)",
				    op_names[op]);
				return -1;
			}
			op = o2;
			arg = v;
			if (check_arg(c, (enum op)op, arg) == -1)
				return -1;
		}
		vpop(c, old);
	}
	if (op == -1) {
		vfail(c, "no operator (eq, ne, in, not_in, lt, le, gt, ge, "
		    "exists, absent, ports, internet)");
		return -1;
	}
	old = vpush_key(c, "path");
	if (json_object_is_type(pathv, json_type_array)) {
		n = json_object_array_length(pathv);
		if (n == 0 || n > RULES_MAX_PATHS) {
			vfail(c, "must have 1 to %d paths", RULES_MAX_PATHS);
			return -1;
		}
		for (i = 0; i < n; i++) {
			size_t	 o3 = vpush_idx(c, i);

			if (check_path_value(c,
			    json_object_array_get_idx(pathv, i)) == -1)
				return -1;
			vpop(c, o3);
		}
	} else if (check_path_value(c, pathv) == -1)
		return -1;
	vpop(c, old);
	if ((op == OP_EXISTS || op == OP_ABSENT) &&
	    json_object_object_get_ex(o, "default", NULL)) {
		vpush_key(c, "default");
		vfail(c, "exists and absent take no default");
		return -1;
	}
	if (json_object_object_get_ex(o, "case_sensitive", NULL) &&
	    op != OP_EQ && op != OP_NE && op != OP_IN && op != OP_NOT_IN) {
		vpush_key(c, "case_sensitive");
		vfail(c, "only for eq, ne, in and not_in");
		return -1;
	}
	return 0;
}

static int
check_cond(struct vctx *c, json_object *o, int depth)
{
	static const char *const comb_keys[] = {
		"all", "any", "none", "not", "each", NULL,
	};
	static const char *const each_keys[] = {
		"each", "where", "comment", NULL,
	};
	json_object	*v = NULL, *w = NULL;
	const char	*which = NULL, *k2[3];
	size_t		 i, n, old;

	if (!json_object_is_type(o, json_type_object)) {
		vfail(c, "must be an object (all, any, none, not, each or a "
		    "leaf with path)");
		return -1;
	}
	if (depth > RULES_MAX_NEST) {
		vfail(c, "nested more than %d levels deep", RULES_MAX_NEST);
		return -1;
	}
	if (json_object_object_get_ex(o, "path", NULL))
		return check_leaf(c, o);
	for (i = 0; comb_keys[i] != NULL; i++) {
		if (json_object_object_get_ex(o, comb_keys[i], NULL)) {
			if (which != NULL) {
				vfail(c, "has both %s and %s", which,
				    comb_keys[i]);
				return -1;
			}
			which = comb_keys[i];
		}
	}
	if (which == NULL) {
		vfail(c, "not a condition: expected all, any, none, not, "
		    "each, or a leaf with path");
		return -1;
	}
	if (strcmp(which, "each") == 0) {
		if (check_keys(c, o, each_keys, "key") == -1)
			return -1;
		json_object_object_get_ex(o, "each", &v);
		old = vpush_key(c, "each");
		if (check_path_value(c, v) == -1)
			return -1;
		if (strstr(json_object_get_string(v), "[*]") == NULL) {
			vfail(c, "the path must contain [*]");
			return -1;
		}
		vpop(c, old);
		if (!json_object_object_get_ex(o, "where", &w)) {
			vfail(c, "each needs where");
			return -1;
		}
		old = vpush_key(c, "where");
		if (check_cond(c, w, depth + 1) == -1)
			return -1;
		vpop(c, old);
		return 0;
	}
	k2[0] = which;
	k2[1] = "comment";
	k2[2] = NULL;
	if (check_keys(c, o, k2, "key") == -1)
		return -1;
	json_object_object_get_ex(o, which, &v);
	old = vpush_key(c, which);
	if (strcmp(which, "not") == 0) {
		if (check_cond(c, v, depth + 1) == -1)
			return -1;
		vpop(c, old);
		return 0;
	}
	if (check_array(c, v, "conditions") == -1)
		return -1;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		size_t	 o2 = vpush_idx(c, i);

		if (check_cond(c, json_object_array_get_idx(v, i),
		    depth + 1) == -1)
			return -1;
		vpop(c, o2);
	}
	vpop(c, old);
	return 0;
}

/* "2023-01-01" or "2023-01-01-preview". */
static int
api_version_ok(const char *s)
{
	static const char	 pat[] = "dddd-dd-dd";
	size_t			 i;

	for (i = 0; pat[i] != '\0'; i++) {
		if (s[i] == '\0')
			return 0;
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != '-')
			return 0;
	}
	return s[i] == '\0' || strcmp(s + i, "-preview") == 0;
}

static int
check_remediation(struct vctx *c, json_object *o, enum finding_severity sev)
{
	static const char *const keys[] = {
		"api_version", "patch", "comment", NULL,
	};
	json_object	*patch = NULL;
	const char	*ver;
	size_t		 old;

	old = vpush_key(c, "remediation");
	if (!json_object_is_type(o, json_type_object)) {
		vfail(c, "must be an object {\"api_version\", \"patch\"}");
		return -1;
	}
	if (sev != FINDING_SEV_LOW && sev != FINDING_SEV_MEDIUM) {
		vfail(c, "only low and medium rules can carry a remediation "
		    "(critical and high findings are never auto-remediated)");
		return -1;
	}
	if (check_keys(c, o, keys, "key") == -1)
		return -1;
	if (check_str(c, o, "api_version", 1, 1, 32, &ver) == -1)
		return -1;
	if (!api_version_ok(ver)) {
		vpush_key(c, "api_version");
		vfail(c, "must look like 2023-01-01 (or 2023-01-01-preview)");
		return -1;
	}
	vpush_key(c, "patch");
	if (!json_object_object_get_ex(o, "patch", &patch)) {
		vfail(c, "missing");
		return -1;
	}
	if (!json_object_is_type(patch, json_type_object) ||
	    json_object_object_length(patch) == 0) {
		vfail(c, "must be a non-empty object (the ARM PATCH body)");
		return -1;
	}
	vpop(c, old);
	return 0;
}

static int
id_ok(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || (s[i] == '-' && i > 0)))
			return 0;
	return i > 0 && s[i - 1] != '-';
}

static void
rule_clear(struct rule *r)
{
	free(r->id);
	free(r->provider);
	free(r->resource_type);
	free(r->title);
	free(r->category);
	free(r->layer);
	free(r->framework);
	free(r->description);
	free(r->recommendation);
	free(r->file);
	if (r->condition != NULL)
		json_object_put(r->condition);
	if (r->remediation != NULL)
		json_object_put(r->remediation);
	memset(r, 0, sizeof(*r));
}

/* Validate rule object o (number idx in its file) into *r, which the
 * caller clears with rule_clear on any result. 0 or -1 with err set. */
static int
rule_build(struct vctx *c, json_object *o, size_t idx, struct rule *r)
{
	const char	*id, *prov, *rtype, *title, *sev, *cat, *layer;
	const char	*fw, *desc, *rec, *cmt;
	json_object	*cond = NULL, *rem = NULL;
	size_t		 plen;

	snprintf(c->rule, sizeof(c->rule), "[%zu]", idx);
	vpop(c, 0);
	if (!json_object_is_type(o, json_type_object)) {
		vfail(c, "must be an object");
		return -1;
	}
	if (check_str(c, o, "id", 1, 1, 64, &id) == -1)
		return -1;
	if (!id_ok(id)) {
		vpush_key(c, "id");
		vfail(c, "must be lowercase letters, digits and inner "
		    "hyphens");
		return -1;
	}
	snprintf(c->rule, sizeof(c->rule), "%s", id);
	if (check_keys(c, o, rule_keys, "field") == -1)
		return -1;
	if (check_str(c, o, "provider", 1, 1, 32, &prov) == -1)
		return -1;
	if (!id_ok(prov)) {
		vpush_key(c, "provider");
		vfail(c, "must be lowercase letters, digits and hyphens");
		return -1;
	}
	plen = strlen(prov);
	if (strncmp(id, prov, plen) == 0 && id[plen] == '-') {
		vpush_key(c, "id");
		vfail(c, "must not start with the provider (\"%s-\"): "
		    "finding ids add it", prov);
		return -1;
	}
	if (check_str(c, o, "resource_type", 1, 3, 256, &rtype) == -1)
		return -1;
	if (strchr(rtype, '/') == NULL) {
		vpush_key(c, "resource_type");
		vfail(c, "must be an ARM type such as "
		    "Microsoft.Storage/storageAccounts");
		return -1;
	}
	if (check_str(c, o, "title", 1, 1, 200, &title) == -1 ||
	    check_str(c, o, "severity", 1, 1, 16, &sev) == -1 ||
	    check_str(c, o, "category", 1, 1, 32, &cat) == -1 ||
	    check_str(c, o, "layer", 0, 1, 32, &layer) == -1 ||
	    check_str(c, o, "framework", 1, 1, 500, &fw) == -1 ||
	    check_str(c, o, "description", 1, 1, 4000, &desc) == -1 ||
	    check_str(c, o, "recommendation", 1, 1, 4000, &rec) == -1 ||
	    check_str(c, o, "comment", 0, 0, 4000, &cmt) == -1)
		return -1;
	if (finding_severity_from_str(sev, &r->severity) == -1) {
		vpush_key(c, "severity");
		vfail(c, "unknown severity \"%.32s\" (critical, high, medium, "
		    "low, info)", sev);
		return -1;
	}
	if (in_list(categories, cat) < 0) {
		vpush_key(c, "category");
		vfail(c, "unknown category \"%.32s\" (network, identity, "
		    "storage, keyvault, compliance)", cat);
		return -1;
	}
	if (layer == NULL)
		layer = "infrastructure";
	else if (in_list(layers, layer) < 0) {
		vpush_key(c, "layer");
		vfail(c, "unknown layer \"%.32s\" (infrastructure, "
		    "application, data, identity, monitoring)", layer);
		return -1;
	}
	if (!json_object_object_get_ex(o, "condition", &cond) ||
	    cond == NULL) {
		vpush_key(c, "condition");
		vfail(c, "missing");
		return -1;
	}
	vpush_key(c, "condition");
	if (check_cond(c, cond, 1) == -1)
		return -1;
	vpop(c, 0);
	if (json_object_object_get_ex(o, "remediation", &rem) &&
	    check_remediation(c, rem, r->severity) == -1)
		return -1;

	if ((r->id = strdup(id)) == NULL ||
	    (r->provider = strdup(prov)) == NULL ||
	    (r->resource_type = strdup(rtype)) == NULL ||
	    (r->title = strdup(title)) == NULL ||
	    (r->category = strdup(cat)) == NULL ||
	    (r->layer = strdup(layer)) == NULL ||
	    (r->framework = strdup(fw)) == NULL ||
	    (r->description = strdup(desc)) == NULL ||
	    (r->recommendation = strdup(rec)) == NULL ||
	    (r->file = strdup(c->file)) == NULL) {
		vfail(c, "out of memory");
		return -1;
	}
	r->condition = json_object_get(cond);
	r->remediation = rem != NULL ? json_object_get(rem) : NULL;
	return 0;
}

/* The rule with this id in set[0..n), or NULL. */
static const struct rule *
find_id(const struct rule *rules, size_t n, const char *id)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(rules[i].id, id) == 0)
			return &rules[i];
	return NULL;
}

int
rules_parse(struct ruleset *set, const char *text, size_t len,
    const char *file, char *err, size_t errsz)
{
	struct vctx		 c;
	struct vjson_err	 jerr;
	struct rule		*tmp = NULL, *grown;
	const struct rule	*dup;
	json_object		*doc = NULL, *o;
	size_t			 i, n = 0, count;
	int			 rc = -1, isarr;

	memset(&c, 0, sizeof(c));
	c.file = file != NULL ? file : "-";
	c.err = err;
	c.errsz = errsz;
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	memset(&jerr, 0, sizeof(jerr));
	if ((doc = vjson_parse(text, len, VIGIL_MAX_JSON_DEPTH,
	    RULES_MAX_FILE, &jerr)) == NULL) {
		if (err != NULL)
			snprintf(err, errsz, "%s: invalid JSON: %s", c.file,
			    jerr.message);
		goto out;
	}
	isarr = json_object_is_type(doc, json_type_array);
	if (!isarr && !json_object_is_type(doc, json_type_object)) {
		if (err != NULL)
			snprintf(err, errsz, "%s: must hold a rule object or "
			    "an array of rules", c.file);
		goto out;
	}
	count = isarr ? json_object_array_length(doc) : 1;
	if (count == 0 || count > RULES_MAX_PER_FILE) {
		if (err != NULL)
			snprintf(err, errsz, "%s: must hold 1 to %d rules",
			    c.file, RULES_MAX_PER_FILE);
		goto out;
	}
	if ((tmp = calloc(count, sizeof(*tmp))) == NULL) {
		if (err != NULL)
			snprintf(err, errsz, "%s: out of memory", c.file);
		goto out;
	}
	for (n = 0; n < count; n++) {
		o = isarr ? json_object_array_get_idx(doc, n) : doc;
		if (rule_build(&c, o, n, &tmp[n]) == -1) {
			n++;	/* clear the partly built one too */
			goto out;
		}
		if ((dup = find_id(set->rules, set->n, tmp[n].id)) != NULL ||
		    (dup = find_id(tmp, n, tmp[n].id)) != NULL) {
			vpush_key(&c, "id");
			vfail(&c, "duplicate id (also in %s)", dup->file);
			n++;
			goto out;
		}
	}
	if (set->n + count < set->n ||
	    (grown = realloc(set->rules, (set->n + count) *
	    sizeof(*grown))) == NULL) {
		if (err != NULL)
			snprintf(err, errsz, "%s: out of memory", c.file);
		goto out;
	}
	set->rules = grown;
	memcpy(set->rules + set->n, tmp, count * sizeof(*tmp));
	set->n += count;
	n = 0;		/* now owned by set */
	rc = 0;
out:
	for (i = 0; i < n; i++)
		rule_clear(&tmp[i]);
	free(tmp);
	if (doc != NULL)
		json_object_put(doc);
	return rc;
}

void
rules_free(struct ruleset *set)
{
	size_t	 i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		rule_clear(&set->rules[i]);
	free(set->rules);
	set->rules = NULL;
	set->n = 0;
}

/* ------------------------------------------------------------------ */
/* Loading a directory (the one function here that does I/O)          */

struct names {
	char	**v;
	size_t	  n, alloc;
};

/* Add "dir/name" (or dir itself if name is NULL); 0 or -1. */
static int
names_add(struct names *ns, const char *dir, const char *name)
{
	struct buf	 b;
	char		**grown;
	int		 rc = -1;

	buf_init(&b, 4096);
	if ((name != NULL ? buf_printf(&b, "%s/%s", dir, name) :
	    buf_puts(&b, dir)) == -1)
		goto out;
	if (ns->n == ns->alloc) {
		size_t	 na = ns->alloc ? ns->alloc * 2 : 32;

		if ((grown = realloc(ns->v, na * sizeof(*grown))) == NULL)
			goto out;
		ns->v = grown;
		ns->alloc = na;
	}
	ns->v[ns->n++] = buf_detach(&b, NULL);
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

static void
names_free(struct names *ns)
{
	size_t	 i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add every *.json under dir (skipping dot files) to ns; 0 or -1. */
static int
collect(struct names *ns, const char *dir, int depth, char *err,
    size_t errsz)
{
	struct names	 sub;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d = NULL;
	size_t		 i, len;
	int		 rc = -1;

	memset(&sub, 0, sizeof(sub));
	if (depth > RULES_MAX_DIRDEPTH) {
		snprintf(err, errsz, "%s: directories nested too deeply",
		    dir);
		goto out;
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (names_add(&sub, dir, de->d_name) == -1) {
			snprintf(err, errsz, "%s: out of memory", dir);
			goto out;
		}
	}
	if (sub.n > 1)
		qsort(sub.v, sub.n, sizeof(*sub.v), name_cmp);
	for (i = 0; i < sub.n; i++) {
		if (stat(sub.v[i], &st) == -1) {
			snprintf(err, errsz, "%s: %s", sub.v[i],
			    strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (collect(ns, sub.v[i], depth + 1, err, errsz) == -1)
				goto out;
			continue;
		}
		len = strlen(sub.v[i]);
		if (!S_ISREG(st.st_mode) || len < 5 ||
		    strcmp(sub.v[i] + len - 5, ".json") != 0)
			continue;
		if (names_add(ns, sub.v[i], NULL) == -1) {
			snprintf(err, errsz, "%s: out of memory", dir);
			goto out;
		}
	}
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	names_free(&sub);
	return rc;
}

/* Read at most RULES_MAX_FILE bytes of path into b; 0 or -1. */
static int
read_file(const char *path, struct buf *b, char *err, size_t errsz)
{
	char	 chunk[8192];
	ssize_t	 r;
	int	 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (buf_append(b, chunk, (size_t)r) == -1) {
			snprintf(err, errsz, "%s: larger than %d bytes", path,
			    RULES_MAX_FILE);
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int
rules_load_dir(struct ruleset *set, const char *dir, char *err,
    size_t errsz)
{
	struct ruleset	 tmp = { NULL, 0 };
	struct names	 ns;
	struct buf	 b;
	struct rule	*grown;
	char		 scratch[1];
	size_t		 i;
	int		 rc = -1;

	memset(&ns, 0, sizeof(ns));
	buf_init(&b, RULES_MAX_FILE);
	if (err == NULL || errsz == 0) {
		err = scratch;
		errsz = sizeof(scratch);
	}
	err[0] = '\0';
	if (collect(&ns, dir, 0, err, errsz) == -1)
		goto out;
	if (ns.n == 0) {
		snprintf(err, errsz, "%s: no *.json rule files", dir);
		goto out;
	}
	/* Ids already in set count as duplicates too. */
	for (i = 0; i < ns.n; i++) {
		buf_reset(&b);
		if (read_file(ns.v[i], &b, err, errsz) == -1)
			goto out;
		if (rules_parse(&tmp, b.data != NULL ? b.data : "", b.len,
		    ns.v[i], err, errsz) == -1)
			goto out;
	}
	for (i = 0; i < tmp.n; i++) {
		const struct rule *d = find_id(set->rules, set->n,
		    tmp.rules[i].id);

		if (d != NULL) {
			snprintf(err, errsz, "%s: rule %s: id: duplicate id "
			    "(also in %s)", tmp.rules[i].file,
			    tmp.rules[i].id, d->file);
			goto out;
		}
	}
	if ((grown = realloc(set->rules, (set->n + tmp.n) *
	    sizeof(*grown))) == NULL) {
		snprintf(err, errsz, "%s: out of memory", dir);
		goto out;
	}
	set->rules = grown;
	memcpy(set->rules + set->n, tmp.rules, tmp.n * sizeof(*tmp.rules));
	set->n += tmp.n;
	free(tmp.rules);
	tmp.rules = NULL;
	tmp.n = 0;
	rc = 0;
out:
	rules_free(&tmp);
	buf_free(&b);
	names_free(&ns);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */

struct ectx {
	json_object	*ev;	/* the evidence array */
};

/* Append o (a new reference is taken) unless it is already there or the
 * array is full (the first RULES_MAX_EVIDENCE items in document order are
 * listed; the rule fires all the same). */
static int
ev_add(json_object *ev, json_object *o)
{
	size_t	 i, n = json_object_array_length(ev);

	if (n >= RULES_MAX_EVIDENCE)
		return 0;
	for (i = 0; i < n; i++)
		if (json_object_array_get_idx(ev, i) == o)
			return 0;
	if (json_object_array_add(ev, json_object_get(o)) != 0) {
		json_object_put(o);
		return -1;
	}
	return 0;
}

static void
ev_truncate(json_object *ev, size_t mark)
{
	size_t	 n = json_object_array_length(ev);

	if (n > mark)
		json_object_array_del_idx(ev, mark, n - mark);
}

/* The state of one leaf while its paths are walked. */
struct leaf {
	enum op		 op;
	json_object	*arg;
	int		 cs;
	size_t		 nvals;
	json_object	*first;		/* the first value seen */
	const char	*first_path;
	json_object	*match;		/* the first value that matched */
	const char	*match_path;
	const char	*cur_path;
	struct prange	*ranges;	/* OP_PORTS: every range seen */
	size_t		 nranges, aranges;
	int		 oom;
};

/* 1 if value v passes the positive form of the leaf's test (eq for ne,
 * in for not_in). Ports are collected, not tested, here. */
static int
leaf_test(struct leaf *l, json_object *v)
{
	json_object	*it;
	double		 x, y;
	size_t		 i, n;

	switch (l->op) {
	case OP_EQ:
	case OP_NE:
		return scalar_eq(v, l->arg, l->cs);
	case OP_IN:
	case OP_NOT_IN:
		n = json_object_array_length(l->arg);
		for (i = 0; i < n; i++)
			if ((it = json_object_array_get_idx(l->arg, i)) !=
			    NULL && scalar_eq(v, it, l->cs))
				return 1;
		return 0;
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		if (!num_of(v, &x) || !num_of(l->arg, &y))
			return 0;
		return l->op == OP_LT ? x < y : l->op == OP_LE ? x <= y :
		    l->op == OP_GT ? x > y : x >= y;
	case OP_INTERNET:
		if (!json_object_is_type(v, json_type_string))
			return 0;
		return internet_str(json_object_get_string(v), jstr_len(v),
		    json_object_is_type(l->arg, json_type_array) ?
		    l->arg : NULL);
	default:
		return 0;
	}
}

static int
range_add(struct leaf *l, struct prange r)
{
	struct prange	*grown;
	size_t		 na;

	if (l->nranges == l->aranges) {
		na = l->aranges ? l->aranges * 2 : 16;
		if ((grown = realloc(l->ranges, na * sizeof(*grown))) ==
		    NULL) {
			l->oom = 1;
			return -1;
		}
		l->ranges = grown;
		l->aranges = na;
	}
	l->ranges[l->nranges++] = r;
	return 0;
}

/* Add the port ranges in value v ("22", "20-25", "*", "80,443", 22). */
static int
ports_collect(struct leaf *l, json_object *v)
{
	struct prange	 r;
	const char	*s, *comma;
	size_t		 len, part;
	int		 any = 0;

	memset(&r, 0, sizeof(r));
	if (json_object_is_type(v, json_type_int)) {
		if (!port_spec_json(v, &r))
			return 0;
		r.order = l->nvals;
		r.value = v;
		r.path = l->cur_path;
		return range_add(l, r) == -1 ? -1 : 1;
	}
	if (!json_object_is_type(v, json_type_string))
		return 0;
	r.order = l->nvals;
	r.value = v;
	r.path = l->cur_path;
	s = json_object_get_string(v);
	len = jstr_len(v);
	while (len > 0) {
		comma = memchr(s, ',', len);
		part = comma != NULL ? (size_t)(comma - s) : len;
		if (port_spec(s, part, &r)) {
			if (range_add(l, r) == -1)
				return -1;
			any = 1;
		}
		if (comma == NULL)
			break;
		len -= part + 1;
		s = comma + 1;
	}
	return any;
}

static int
leaf_visit(void *arg, json_object *v)
{
	struct leaf	*l = arg;

	if (l->nvals++ == 0) {
		l->first = v;
		l->first_path = l->cur_path;
	}
	if (l->op == OP_EXISTS || l->op == OP_ABSENT)
		return 0;
	if (l->op == OP_PORTS)
		return ports_collect(l, v) == -1 ? -1 : 0;
	if (l->match == NULL && leaf_test(l, v)) {
		l->match = v;
		l->match_path = l->cur_path;
	}
	return 0;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct prange	*x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* 1 if the union of the collected (sorted) ranges covers all of spec;
 * then the first value in document order that overlaps spec becomes the
 * leaf's match. */
static int
ports_cover(struct leaf *l, const struct prange *spec)
{
	const struct prange	*best = NULL;
	size_t			 i;
	unsigned long		 cur = spec->lo;

	for (i = 0; i < l->nranges; i++) {
		if (l->ranges[i].lo > cur)
			break;
		if (l->ranges[i].hi >= cur)
			cur = (unsigned long)l->ranges[i].hi + 1;
		if (cur > spec->hi)
			break;
	}
	if (cur <= spec->hi)
		return 0;
	for (i = 0; i < l->nranges; i++)
		if (l->ranges[i].lo <= spec->hi &&
		    l->ranges[i].hi >= spec->lo &&
		    (best == NULL || l->ranges[i].order < best->order))
			best = &l->ranges[i];
	if (best != NULL) {
		l->match = best->value;
		l->match_path = best->path;
	}
	return 1;
}

static int
ports_holds(struct leaf *l)
{
	struct prange	 spec;
	size_t		 i, n;

	if (l->nranges == 0)
		return 0;
	qsort(l->ranges, l->nranges, sizeof(*l->ranges), range_cmp);
	if (!json_object_is_type(l->arg, json_type_array))
		return port_spec_json(l->arg, &spec) && ports_cover(l, &spec);
	n = json_object_array_length(l->arg);
	for (i = 0; i < n; i++)
		if (port_spec_json(json_object_array_get_idx(l->arg, i),
		    &spec) && ports_cover(l, &spec))
			return 1;
	return 0;
}

/* A new {"path": p, "value": v} or {"path": p, "missing": true}. */
static json_object *
leaf_evidence(const char *p, json_object *v, json_object *def)
{
	json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "path", json_object_new_string(p));
	if (v != NULL)
		json_object_object_add(o, "value", json_object_get(v));
	else
		json_object_object_add(o, "missing",
		    json_object_new_boolean(1));
	if (def != NULL)
		json_object_object_add(o, "default", json_object_get(def));
	return o;
}

static int
leaf_eval(json_object *node, json_object *cur, struct ectx *x, int collect)
{
	struct json_object_iterator	 it, end;
	struct leaf			 l;
	json_object			*pathv = NULL, *def = NULL, *v, *ev;
	json_object			*p0;
	const char			*k;
	size_t				 i, n;
	int				 res = 0, o, positive, rc = -1;
	int				 used_default = 0, isarr;

	memset(&l, 0, sizeof(l));
	l.op = OP__N;
	it = json_object_iter_begin(node);
	end = json_object_iter_end(node);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it)) {
		k = json_object_iter_peek_name(&it);
		v = json_object_iter_peek_value(&it);
		if (strcmp(k, "path") == 0)
			pathv = v;
		else if (strcmp(k, "default") == 0)
			def = v;
		else if (strcmp(k, "case_sensitive") == 0)
			l.cs = json_object_get_boolean(v);
		else if (strcmp(k, "comment") != 0) {
			for (o = 0; o < OP__N; o++)
				if (strcmp(k, op_names[o]) == 0) {
					l.op = (enum op)o;
					l.arg = v;
				}
		}
	}
	if (l.op == OP__N || pathv == NULL)
		return 0;

	isarr = json_object_is_type(pathv, json_type_array);
	n = isarr ? json_object_array_length(pathv) : 1;
	p0 = isarr ? json_object_array_get_idx(pathv, 0) : pathv;
	if (!json_object_is_type(p0, json_type_string))
		return 0;
	for (i = 0; i < n; i++) {
		v = isarr ? json_object_array_get_idx(pathv, i) : pathv;
		if (!json_object_is_type(v, json_type_string))
			continue;
		l.cur_path = json_object_get_string(v);
		if (path_walk(cur, l.cur_path, leaf_visit, &l) != 0 || l.oom)
			goto out;
	}
	if (l.nvals == 0 && def != NULL) {
		used_default = 1;
		l.cur_path = json_object_get_string(p0);
		if (leaf_visit(&l, def) != 0 || l.oom)
			goto out;
	}

	positive = 1;
	switch (l.op) {
	case OP_EXISTS:
		res = json_object_get_boolean(l.arg) ? l.nvals > 0 :
		    l.nvals == 0;
		positive = json_object_get_boolean(l.arg);
		break;
	case OP_ABSENT:
		res = json_object_get_boolean(l.arg) ? l.nvals == 0 :
		    l.nvals > 0;
		positive = !json_object_get_boolean(l.arg);
		break;
	case OP_NE:
	case OP_NOT_IN:
		res = l.match == NULL;
		positive = 0;
		break;
	case OP_INTERNET:
		if (json_object_is_type(l.arg, json_type_boolean) &&
		    !json_object_get_boolean(l.arg)) {
			res = l.match == NULL;
			positive = 0;
		} else
			res = l.match != NULL;
		break;
	case OP_PORTS:
		res = ports_holds(&l);
		break;
	default:
		res = l.match != NULL;
		break;
	}

	if (res && collect &&
	    json_object_array_length(x->ev) < RULES_MAX_EVIDENCE) {
		if (used_default)
			ev = leaf_evidence(json_object_get_string(p0), NULL,
			    def);
		else if (positive && l.op != OP_EXISTS && l.op != OP_ABSENT)
			ev = leaf_evidence(l.match_path, l.match, NULL);
		else if (l.first != NULL)
			ev = leaf_evidence(l.first_path, l.first, NULL);
		else
			ev = leaf_evidence(json_object_get_string(p0), NULL,
			    NULL);
		if (ev == NULL || json_object_array_add(x->ev, ev) != 0) {
			json_object_put(ev);
			goto out;
		}
	}
	rc = res;
out:
	free(l.ranges);
	return rc;
}

static int cond_eval(json_object *, json_object *, struct ectx *, int);

struct each {
	json_object	*where;
	struct ectx	*x;
	int		 collect;
	int		 hit;
	int		 err;
};

static int
each_visit(void *arg, json_object *elem)
{
	struct each	*e = arg;
	int		 r;

	if ((r = cond_eval(e->where, elem, e->x, 0)) == -1) {
		e->err = 1;
		return 1;
	}
	if (r == 0)
		return 0;
	e->hit = 1;
	if (!e->collect)
		return 1;	/* one is enough */
	if (ev_add(e->x->ev, elem) == -1) {
		e->err = 1;
		return 1;
	}
	return 0;
}

/* 1 if node holds on cur, 0 if not, -1 on an internal error. Evidence is
 * appended to x->ev when collect is set. */
static int
cond_eval(json_object *node, json_object *cur, struct ectx *x, int collect)
{
	struct each	 e;
	json_object	*v;
	size_t		 i, n, mark;
	int		 r, res;

	if (!json_object_is_type(node, json_type_object))
		return 0;
	if (json_object_object_get_ex(node, "path", NULL))
		return leaf_eval(node, cur, x, collect);
	if (json_object_object_get_ex(node, "all", &v)) {
		mark = json_object_array_length(x->ev);
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			r = cond_eval(json_object_array_get_idx(v, i), cur, x,
			    collect);
			if (r != 1) {
				ev_truncate(x->ev, mark);
				return r;
			}
		}
		return 1;
	}
	if (json_object_object_get_ex(node, "any", &v)) {
		res = 0;
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			r = cond_eval(json_object_array_get_idx(v, i), cur, x,
			    collect);
			if (r == -1)
				return -1;
			if (r == 1) {
				res = 1;
				if (!collect)
					break;
			}
		}
		return res;
	}
	if (json_object_object_get_ex(node, "none", &v)) {
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			r = cond_eval(json_object_array_get_idx(v, i), cur, x,
			    0);
			if (r != 0)
				return r == 1 ? 0 : -1;
		}
		return 1;
	}
	if (json_object_object_get_ex(node, "not", &v)) {
		r = cond_eval(v, cur, x, 0);
		return r == -1 ? -1 : !r;
	}
	if (json_object_object_get_ex(node, "each", &v) &&
	    json_object_is_type(v, json_type_string)) {
		memset(&e, 0, sizeof(e));
		if (!json_object_object_get_ex(node, "where", &e.where))
			return 0;
		e.x = x;
		e.collect = collect;
		path_walk(cur, json_object_get_string(v), each_visit, &e);
		return e.err ? -1 : e.hit;
	}
	return 0;
}

int
rules_eval(const struct rule *rule, json_object *resource,
    json_object **evidence)
{
	struct ectx	 x;
	json_object	*type = NULL;
	int		 r;

	*evidence = NULL;
	if (rule == NULL || rule->condition == NULL ||
	    !json_object_is_type(resource, json_type_object) ||
	    !json_object_object_get_ex(resource, "type", &type) ||
	    !json_object_is_type(type, json_type_string) ||
	    !str_eq(json_object_get_string(type), jstr_len(type),
	    rule->resource_type, strlen(rule->resource_type), 0))
		return 0;
	if ((x.ev = json_object_new_array()) == NULL)
		return -1;
	r = cond_eval(rule->condition, resource, &x, 1);
	if (r == 1)
		*evidence = x.ev;
	else
		json_object_put(x.ev);
	return r;
}

/* A new object for GET /rules; NULL if out of memory. */
json_object *
rules_to_json(const struct rule *r)
{
	json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "provider",
	    json_object_new_string(r->provider));
	json_object_object_add(o, "title", json_object_new_string(r->title));
	json_object_object_add(o, "severity",
	    json_object_new_string(finding_severity_str(r->severity)));
	json_object_object_add(o, "category",
	    json_object_new_string(r->category));
	json_object_object_add(o, "layer", json_object_new_string(r->layer));
	json_object_object_add(o, "resource_type",
	    json_object_new_string(r->resource_type));
	json_object_object_add(o, "framework",
	    json_object_new_string(r->framework));
	json_object_object_add(o, "description",
	    json_object_new_string(r->description));
	json_object_object_add(o, "recommendation",
	    json_object_new_string(r->recommendation));
	json_object_object_add(o, "has_remediation",
	    json_object_new_boolean(r->remediation != NULL));
	return o;
}
