/*
 * rules_check.c: the rule language, written once: validating a rule
 * object builds the typed condition tree (rules_check.h) that
 * rules_eval.c walks, so a rule that loads is one the evaluator
 * understands. Pure.
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
 *     "framework": [ {"framework": "cis-azure-2.0", "control": "6.2"},
 *                    {"framework": "nist-800-53-r5", "control": "SC-7"} ],
 *                                        the controls the rule checks, ids
 *                                        of the catalogue (catalog.h); the
 *                                        older free-text string is still
 *                                        read, and maps to no control
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

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "catalog.h"
#include "cidr.h"
#include "rules.h"
#include "rules_check.h"
#include "vjson.h"

#define RULES_MAX_NEST		16	/* nested combinators/each/not */
#define RULES_MAX_LIST		256	/* items in all/any/none/in/ports */
#define RULES_MAX_PATHS		16	/* paths in one leaf */
#define RULES_MAX_PATH		256	/* bytes in one path */
#define RULES_MAX_STEPS		32	/* keys and indexes in one path */
#define RULES_MAX_KEY		128	/* bytes in one key */
#define RULES_ERRPATH		256

static const char *const op_names[RULES_OP__N] = {
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

/* Where in a rule the builder is, for its error message. */
struct vctx {
	const char	*file;
	char		 rule[80];	/* the id, or "[N]" before it is known */
	char		*err;
	size_t		 errsz;
	char		 path[RULES_ERRPATH];
	size_t		 plen;
};

/* ------------------------------------------------------------------ */
/* Small pure helpers                                                  */

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

int
rules_check_port(const char *s, size_t len, struct rules_ports *r)
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

/* ------------------------------------------------------------------ */
/* Error messages                                                      */

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

/* ------------------------------------------------------------------ */
/* Paths                                                               */

/* Check a path's syntax; NULL if good, with *nsteps its steps ("@" has
 * none), else why not. */
static const char *
path_syntax(const char *s, size_t len, size_t *nsteps)
{
	size_t	 i = 0, steps = 0, k;
	int	 need_name = 0;	/* after a '.' */

	*nsteps = 0;
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
	*nsteps = steps;
	return NULL;
}

/* Split s, whose syntax path_syntax passed with n steps, into p; 0 or -1
 * (out of memory). */
static int
path_split(const char *s, size_t n, struct rules_path *p)
{
	struct rules_step	*st;
	size_t			 i = 0, k;

	if ((p->text = strdup(s)) == NULL)
		return -1;
	if (n == 0)
		return 0;
	if ((p->steps = calloc(n, sizeof(*p->steps))) == NULL)
		return -1;
	for (; p->nsteps < n; p->nsteps++) {
		st = &p->steps[p->nsteps];
		if (s[i] == '.')
			i++;
		if (s[i] == '[' && s[i + 1] == '*') {
			st->kind = RULES_STEP_EVERY;
			i += 3;
		} else if (s[i] == '[') {
			st->kind = RULES_STEP_INDEX;
			for (i++; s[i] >= '0' && s[i] <= '9'; i++)
				st->idx = st->idx * 10 + (size_t)(s[i] - '0');
			i++;
		} else {
			st->kind = RULES_STEP_KEY;
			k = strcspn(s + i, ".[");
			if ((st->key = strndup(s + i, k)) == NULL)
				return -1;
			i += k;
		}
	}
	return 0;
}

static void
path_clear(struct rules_path *p)
{
	size_t	 i;

	for (i = 0; i < p->nsteps; i++)
		free(p->steps[i].key);
	free(p->steps);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

/* A path string into p; c->path names it. 0 or -1. */
static int
check_path(struct vctx *c, json_object *v, struct rules_path *p)
{
	const char	*why;
	size_t		 n;

	if (!json_object_is_type(v, json_type_string)) {
		vfail(c, "must be a path string");
		return -1;
	}
	if ((why = path_syntax(json_object_get_string(v), jstr_len(v), &n))
	    != NULL) {
		vfail(c, "bad path \"%.80s\": %s",
		    json_object_get_string(v), why);
		return -1;
	}
	if (path_split(json_object_get_string(v), n, p) == -1) {
		vfail(c, "out of memory");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Conditions                                                          */

static int check_cond(struct vctx *, json_object *, int,
	    struct rules_node **);

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

/* An eq/ne operand, or an item of in/not_in, into *s. 0 or -1. */
static int
check_scalar(struct vctx *c, json_object *v, struct rules_scalar *s)
{
	if (v == NULL || !is_scalar(v)) {
		vfail(c, "must be a string, number or boolean "
		    "(use absent for a missing field)");
		return -1;
	}
	s->type = json_object_get_type(v);
	switch (s->type) {
	case json_type_string:
		s->len = jstr_len(v);
		if ((s->s = malloc(s->len + 1)) == NULL) {
			vfail(c, "out of memory");
			return -1;
		}
		memcpy(s->s, json_object_get_string(v), s->len);
		s->s[s->len] = '\0';
		break;
	case json_type_boolean:
		s->b = json_object_get_boolean(v) ? 1 : 0;
		break;
	case json_type_int:
		s->i = json_object_get_int64(v);
		s->d = (double)s->i;
		break;
	default:
		s->d = json_object_get_double(v);
		if (!isfinite(s->d)) {
			vfail(c, "must be a finite number");
			return -1;
		}
		break;
	}
	return 0;
}

/* One port spec of a rule (a port number or a string) into *p. */
static int
check_port(struct vctx *c, json_object *v, struct rules_ports *p)
{
	int64_t	 n;
	int	 ok = 0;

	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
		if (n >= 0 && n <= 65535) {
			p->lo = p->hi = (unsigned)n;
			ok = 1;
		}
	} else if (json_object_is_type(v, json_type_string))
		ok = rules_check_port(json_object_get_string(v), jstr_len(v),
		    p);
	if (!ok) {
		vfail(c, "must be a port (0-65535), a range \"LO-HI\" "
		    "or \"*\", or a list of them");
		return -1;
	}
	return 0;
}

/* A zeroed array of n items of size sz; NULL (with the error set) if
 * out of memory. */
static void *
vcalloc(struct vctx *c, size_t n, size_t sz)
{
	void	*p;

	if ((p = calloc(n, sz)) == NULL)
		vfail(c, "out of memory");
	return p;
}

/* The argument v of operator op into leaf l; c->path names it. 0 or -1. */
static int
check_arg(struct vctx *c, struct rules_leaf *l, json_object *v)
{
	json_object	*it;
	size_t		 i, n, old;

	switch (l->op) {
	case RULES_EQ:
	case RULES_NE:
		if ((l->vals = vcalloc(c, 1, sizeof(*l->vals))) == NULL)
			return -1;
		l->nvals = 1;
		return check_scalar(c, v, &l->vals[0]);
	case RULES_IN:
	case RULES_NOT_IN:
		if (check_array(c, v, "values") == -1)
			return -1;
		n = json_object_array_length(v);
		if ((l->vals = vcalloc(c, n, sizeof(*l->vals))) == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			old = vpush_idx(c, i);
			l->nvals++;
			if (check_scalar(c, json_object_array_get_idx(v, i),
			    &l->vals[i]) == -1)
				return -1;
			vpop(c, old);
		}
		return 0;
	case RULES_LT:
	case RULES_LE:
	case RULES_GT:
	case RULES_GE:
		if (json_object_is_type(v, json_type_int))
			l->num = (double)json_object_get_int64(v);
		else if (json_object_is_type(v, json_type_double))
			l->num = json_object_get_double(v);
		if (!is_number(v) || !isfinite(l->num)) {
			vfail(c, "must be a number");
			return -1;
		}
		return 0;
	case RULES_EXISTS:
	case RULES_ABSENT:
		if (!json_object_is_type(v, json_type_boolean)) {
			vfail(c, "must be true or false");
			return -1;
		}
		l->flag = json_object_get_boolean(v) ? 1 : 0;
		return 0;
	case RULES_PORTS:
		if (!json_object_is_type(v, json_type_array)) {
			if ((l->specs = vcalloc(c, 1,
			    sizeof(*l->specs))) == NULL)
				return -1;
			l->nspecs = 1;
			return check_port(c, v, &l->specs[0]);
		}
		if (check_array(c, v, "port specs") == -1)
			return -1;
		n = json_object_array_length(v);
		if ((l->specs = vcalloc(c, n, sizeof(*l->specs))) == NULL)
			return -1;
		l->nspecs = n;
		for (i = 0; i < n; i++) {
			it = json_object_array_get_idx(v, i);
			old = vpush_idx(c, i);
			if (json_object_is_type(it, json_type_array)) {
				vfail(c, "must be a port spec");
				return -1;
			}
			if (check_port(c, it, &l->specs[i]) == -1)
				return -1;
			vpop(c, old);
		}
		return 0;
	case RULES_INTERNET:
		if (json_object_is_type(v, json_type_boolean)) {
			l->flag = json_object_get_boolean(v) ? 1 : 0;
			n = NELEM(internet_default);
			if ((l->cidrs = vcalloc(c, n,
			    sizeof(*l->cidrs))) == NULL)
				return -1;
			for (i = 0; i < n; i++)
				if (cidr_parse(internet_default[i],
				    strlen(internet_default[i]),
				    &l->cidrs[l->ncidrs]))
					l->ncidrs++;
			return 0;
		}
		if (check_array(c, v, "CIDR strings") == -1)
			return -1;
		l->flag = 1;
		n = json_object_array_length(v);
		if ((l->cidrs = vcalloc(c, n, sizeof(*l->cidrs))) == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			it = json_object_array_get_idx(v, i);
			old = vpush_idx(c, i);
			if (!json_object_is_type(it, json_type_string) ||
			    !cidr_parse(json_object_get_string(it),
			    jstr_len(it), &l->cidrs[i])) {
				vfail(c, "must be an IPv4 or IPv6 CIDR");
				return -1;
			}
			l->ncidrs++;
			vpop(c, old);
		}
		return 0;
	default:
		vfail(c, "unknown operator");
		return -1;
	}
}

/* A leaf (an object with "path") into l. 0 or -1. */
static int
check_leaf(struct vctx *c, json_object *o, struct rules_leaf *l)
{
	struct json_object_iterator	 it, end;
	json_object			*pathv = NULL, *v;
	const char			*k;
	size_t				 i, n, old, o3;
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
			l->cs = json_object_get_boolean(v) ? 1 : 0;
		} else if (strcmp(k, "default") == 0) {
			if (v == NULL || !is_scalar(v)) {
				vfail(c, "must be a string, number or "
				    "boolean");
				return -1;
			}
			if (l->def != NULL)
				json_object_put(l->def);
			l->def = json_object_get(v);
		} else {
			for (o2 = 0; o2 < RULES_OP__N; o2++)
				if (strcmp(k, op_names[o2]) == 0)
					break;
			if (o2 == RULES_OP__N) {
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
			l->op = (enum rules_op)op;
			if (check_arg(c, l, v) == -1)
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
		if ((l->paths = vcalloc(c, n, sizeof(*l->paths))) == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			o3 = vpush_idx(c, i);
			l->npaths++;
			if (check_path(c, json_object_array_get_idx(pathv, i),
			    &l->paths[i]) == -1)
				return -1;
			vpop(c, o3);
		}
	} else {
		if ((l->paths = vcalloc(c, 1, sizeof(*l->paths))) == NULL)
			return -1;
		l->npaths = 1;
		if (check_path(c, pathv, &l->paths[0]) == -1)
			return -1;
	}
	vpop(c, old);
	if ((op == RULES_EXISTS || op == RULES_ABSENT) && l->def != NULL) {
		vpush_key(c, "default");
		vfail(c, "exists and absent take no default");
		return -1;
	}
	if (json_object_object_get_ex(o, "case_sensitive", NULL) &&
	    op != RULES_EQ && op != RULES_NE && op != RULES_IN &&
	    op != RULES_NOT_IN) {
		vpush_key(c, "case_sensitive");
		vfail(c, "only for eq, ne, in and not_in");
		return -1;
	}
	return 0;
}

/* Condition o (depth levels down) into a new node *out, which the caller
 * frees whatever the result (with node_free). 0 or -1. */
static int
check_cond(struct vctx *c, json_object *o, int depth,
    struct rules_node **out)
{
	static const char *const comb_keys[] = {
		"all", "any", "none", "not", "each", NULL,
	};
	static const enum rules_kind comb_kinds[] = {
		RULES_ALL, RULES_ANY, RULES_NONE, RULES_NOT, RULES_EACH,
	};
	static const char *const each_keys[] = {
		"each", "where", "comment", NULL,
	};
	struct rules_node	*node;
	json_object		*v = NULL, *w = NULL;
	const char		*which = NULL, *k2[3];
	size_t			 i, n, old, o2;

	*out = NULL;
	if (!json_object_is_type(o, json_type_object)) {
		vfail(c, "must be an object (all, any, none, not, each or a "
		    "leaf with path)");
		return -1;
	}
	if (depth > RULES_MAX_NEST) {
		vfail(c, "nested more than %d levels deep", RULES_MAX_NEST);
		return -1;
	}
	if ((node = *out = calloc(1, sizeof(*node))) == NULL) {
		vfail(c, "out of memory");
		return -1;
	}
	if (json_object_object_get_ex(o, "path", NULL)) {
		node->kind = RULES_LEAF;
		return check_leaf(c, o, &node->leaf);
	}
	for (i = 0; comb_keys[i] != NULL; i++) {
		if (json_object_object_get_ex(o, comb_keys[i], NULL)) {
			if (which != NULL) {
				vfail(c, "has both %s and %s", which,
				    comb_keys[i]);
				return -1;
			}
			which = comb_keys[i];
			node->kind = comb_kinds[i];
		}
	}
	if (which == NULL) {
		vfail(c, "not a condition: expected all, any, none, not, "
		    "each, or a leaf with path");
		return -1;
	}
	if (node->kind != RULES_ALL && node->kind != RULES_ANY &&
	    node->kind != RULES_NONE) {
		/* not and each have one kid: the condition, or where */
		if ((node->kids = vcalloc(c, 1, sizeof(*node->kids))) == NULL)
			return -1;
		node->nkids = 1;
	}
	if (node->kind == RULES_EACH) {
		if (check_keys(c, o, each_keys, "key") == -1)
			return -1;
		json_object_object_get_ex(o, "each", &v);
		old = vpush_key(c, "each");
		if (check_path(c, v, &node->each) == -1)
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
		if (check_cond(c, w, depth + 1, &node->kids[0]) == -1)
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
	if (node->kind == RULES_NOT) {
		if (check_cond(c, v, depth + 1, &node->kids[0]) == -1)
			return -1;
		vpop(c, old);
		return 0;
	}
	if (check_array(c, v, "conditions") == -1)
		return -1;
	n = json_object_array_length(v);
	if ((node->kids = vcalloc(c, n, sizeof(*node->kids))) == NULL)
		return -1;
	node->nkids = n;
	for (i = 0; i < n; i++) {
		o2 = vpush_idx(c, i);
		if (check_cond(c, json_object_array_get_idx(v, i),
		    depth + 1, &node->kids[i]) == -1)
			return -1;
		vpop(c, o2);
	}
	vpop(c, old);
	return 0;
}

static void
leaf_clear(struct rules_leaf *l)
{
	size_t	 i;

	for (i = 0; i < l->npaths; i++)
		path_clear(&l->paths[i]);
	free(l->paths);
	for (i = 0; i < l->nvals; i++)
		free(l->vals[i].s);
	free(l->vals);
	free(l->specs);
	free(l->cidrs);
	if (l->def != NULL)
		json_object_put(l->def);
}

static void
node_free(struct rules_node *node)
{
	size_t	 i;

	if (node == NULL)
		return;
	for (i = 0; i < node->nkids; i++)
		node_free(node->kids[i]);
	free(node->kids);
	path_clear(&node->each);
	if (node->kind == RULES_LEAF)
		leaf_clear(&node->leaf);
	free(node);
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */

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

/* The catalogue references are checked against (rules_use_catalog). */
static const struct catalog *use_catalog;

void
rules_use_catalog(const struct catalog *cat)
{
	use_catalog = cat;
}

/* The frameworks the catalogue knows, for an error message. */
static void
known_frameworks(char *out, size_t outsz)
{
	size_t	 i, len = 0;
	int	 n;

	out[0] = '\0';
	for (i = 0; use_catalog != NULL && i < use_catalog->n; i++) {
		n = snprintf(out + len, outsz - len, "%s%s", i ? ", " : "",
		    use_catalog->f[i].id);
		if (n < 0 || (size_t)n >= outsz - len)
			break;
		len += (size_t)n;
	}
}

/* The references written out for findings.framework: "fw c1, c2; fw2
 * c3", cut after the last whole reference that fits its 255 bytes (with
 * " ..." when some are left out). */
static char *
refs_text(const struct rule_ref *refs, size_t n)
{
	struct buf	 b;
	size_t		 i, keep = 0;
	char		*s;

	buf_init(&b, 4096);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(refs[i].framework,
		    refs[i - 1].framework) == 0)
			buf_printf(&b, ", %s", refs[i].control);
		else
			buf_printf(&b, "%s%s %s", i ? "; " : "",
			    refs[i].framework, refs[i].control);
		if (b.len <= RULES_FRAMEWORK_TEXT - 4)
			keep = b.len;
	}
	if (b.len > RULES_FRAMEWORK_TEXT) {
		b.len = keep;
		buf_puts(&b, " ...");
	}
	if (b.data == NULL)
		buf_puts(&b, "");
	s = buf_detach(&b, NULL);
	buf_free(&b);
	return s;
}

/* "framework": the free-text string of older rule files, or an array of
 * {"framework", "control"} checked against the catalogue in use. Sets
 * r->framework (and r->refs); 0 or -1. */
static int
check_framework(struct vctx *c, json_object *o, struct rule *r)
{
	static const char *const ref_keys[] = { "framework", "control",
	    NULL };
	const struct catalog_framework	*f;
	json_object			*v = NULL, *e;
	const char			*fw, *ctl;
	char				 known[256];
	size_t				 i, j, n, old, old2;

	old = vpush_key(c, "framework");
	if (!json_object_object_get_ex(o, "framework", &v) || v == NULL) {
		vfail(c, "missing");
		return -1;
	}
	vpop(c, old);
	if (json_object_is_type(v, json_type_string)) {
		if (check_str(c, o, "framework", 1, 1, 500, &fw) == -1)
			return -1;
		if ((r->framework = strdup(fw)) == NULL) {
			vfail(c, "out of memory");
			return -1;
		}
		return 0;
	}
	vpush_key(c, "framework");
	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) == 0 || n > RULES_MAX_REFS) {
		vfail(c, "must be an array of 1 to %d {\"framework\", "
		    "\"control\"} objects (or, in older files, a string)",
		    RULES_MAX_REFS);
		return -1;
	}
	if ((r->refs = calloc(n, sizeof(*r->refs))) == NULL) {
		vfail(c, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		old2 = vpush_idx(c, i);
		if (!json_object_is_type(e, json_type_object)) {
			vfail(c, "must be an object {\"framework\", "
			    "\"control\"}");
			return -1;
		}
		if (check_keys(c, e, ref_keys, "field") == -1 ||
		    check_str(c, e, "framework", 1, 1, 64, &fw) == -1 ||
		    check_str(c, e, "control", 1, 1, 64, &ctl) == -1)
			return -1;
		if (!catalog_framework_id_form(fw)) {
			vpush_key(c, "framework");
			vfail(c, "\"%.64s\" is not a framework id", fw);
			return -1;
		}
		if (!catalog_control_id_form(ctl)) {
			vpush_key(c, "control");
			vfail(c, "\"%.64s\" is not a control id", ctl);
			return -1;
		}
		if (use_catalog != NULL) {
			if ((f = catalog_framework(use_catalog, fw)) ==
			    NULL) {
				known_frameworks(known, sizeof(known));
				vpush_key(c, "framework");
				vfail(c, "unknown framework \"%s\" (%s)", fw,
				    known);
				return -1;
			}
			if (catalog_control(f, ctl) < 0) {
				vpush_key(c, "control");
				vfail(c, "\"%s\" is not a control of %s", ctl,
				    fw);
				return -1;
			}
		}
		for (j = 0; j < i; j++)
			if (strcmp(r->refs[j].framework, fw) == 0 &&
			    strcmp(r->refs[j].control, ctl) == 0) {
				vfail(c, "%s %s is listed twice", fw, ctl);
				return -1;
			}
		r->nrefs = i + 1;
		if ((r->refs[i].framework = strdup(fw)) == NULL ||
		    (r->refs[i].control = strdup(ctl)) == NULL) {
			vfail(c, "out of memory");
			return -1;
		}
		vpop(c, old2);
	}
	vpop(c, old);
	if ((r->framework = refs_text(r->refs, r->nrefs)) == NULL) {
		vfail(c, "out of memory");
		return -1;
	}
	return 0;
}

void
rules_check_clear(struct rule *r)
{
	size_t	 i;

	free(r->id);
	free(r->provider);
	free(r->resource_type);
	free(r->title);
	free(r->category);
	free(r->layer);
	free(r->framework);
	for (i = 0; i < r->nrefs; i++) {
		free(r->refs[i].framework);
		free(r->refs[i].control);
	}
	free(r->refs);
	free(r->description);
	free(r->recommendation);
	free(r->file);
	node_free(r->cond);
	if (r->remediation != NULL)
		json_object_put(r->remediation);
	memset(r, 0, sizeof(*r));
}

int
rules_check_rule(const char *file, json_object *o, size_t idx,
    struct rule *r, char *err, size_t errsz)
{
	struct vctx	 c0, *c = &c0;
	const char	*id, *prov, *rtype, *title, *sev, *cat, *layer;
	const char	*desc, *rec, *cmt;
	json_object	*cond = NULL, *rem = NULL;
	size_t		 plen;

	memset(c, 0, sizeof(*c));
	c->file = file;
	c->err = err;
	c->errsz = errsz;
	snprintf(c->rule, sizeof(c->rule), "[%zu]", idx);
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
	if (check_cond(c, cond, 1, &r->cond) == -1)
		return -1;
	vpop(c, 0);
	if (json_object_object_get_ex(o, "remediation", &rem) &&
	    check_remediation(c, rem, r->severity) == -1)
		return -1;
	if (check_framework(c, o, r) == -1)
		return -1;

	if ((r->id = strdup(id)) == NULL ||
	    (r->provider = strdup(prov)) == NULL ||
	    (r->resource_type = strdup(rtype)) == NULL ||
	    (r->title = strdup(title)) == NULL ||
	    (r->category = strdup(cat)) == NULL ||
	    (r->layer = strdup(layer)) == NULL ||
	    (r->description = strdup(desc)) == NULL ||
	    (r->recommendation = strdup(rec)) == NULL ||
	    (r->file = strdup(c->file)) == NULL) {
		vfail(c, "out of memory");
		return -1;
	}
	r->remediation = rem != NULL ? json_object_get(rem) : NULL;
	return 0;
}
