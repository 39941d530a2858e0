/*
 * rules_eval.c: a rule's condition tree (rules_check.h) evaluated over one
 * resource's ARM JSON, and the evidence that shows why it fired. What each
 * node means is in rules_check.c's opening comment; the tree holds every
 * operand already parsed, so nothing here reads rule JSON. Pure.
 */
#include "vigil.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "armstream.h"
#include "cidr.h"
#include "rules.h"
#include "rules_check.h"

#define RULES_MAX_EVIDENCE	256	/* items listed per finding */

/* A port range found in a resource, and where. */
struct prange {
	unsigned	 lo, hi;
	size_t		 order;		/* rank of its value in the walk */
	json_object	*value;
	const char	*path;
};

/* The state of one leaf while its paths are walked. */
struct leaf {
	const struct rules_leaf	*lf;
	size_t		 nvals;
	json_object	*first;		/* the first value seen */
	const char	*first_path;
	json_object	*match;		/* the first value that matched */
	const char	*match_path;
	const char	*cur_path;
	struct prange	*ranges;	/* ports: every range seen */
	size_t		 nranges, aranges;
	int		 oom;
};

/* The evidence array, and an each's state while its elements are
 * walked. */
struct each {
	const struct rules_node	*where;
	json_object	*ev;
	int		 collect;
	int		 hit;
	int		 err;
};

typedef int (*visit_fn)(void *arg, json_object *value);

static int cond_eval(const struct rules_node *, json_object *,
	    json_object *, int);

/* ------------------------------------------------------------------ */
/* Values                                                              */

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

/* Equality of an actual value a (non-NULL) and a rule's operand b: values
 * of different JSON types are never equal, numbers aside. */
static int
scalar_eq(json_object *a, const struct rules_scalar *b, int cs)
{
	double	 x;

	switch (json_object_get_type(a)) {
	case json_type_string:
		return b->type == json_type_string &&
		    str_eq(json_object_get_string(a), jstr_len(a), b->s,
		    b->len, cs);
	case json_type_boolean:
		return b->type == json_type_boolean &&
		    !json_object_get_boolean(a) == !b->b;
	case json_type_int:
		if (b->type == json_type_int)
			return json_object_get_int64(a) == b->i;
		/* FALLTHROUGH */
	case json_type_double:
		return (b->type == json_type_int ||
		    b->type == json_type_double) && num_of(a, &x) &&
		    x == b->d;
	default:
		return 0;
	}
}

/* 1 if the string value is an internet source: a tag, or a prefix that
 * contains one of the leaf's CIDRs. */
static int
internet_str(const char *s, size_t len, const struct rules_leaf *lf)
{
	struct cidr	 src;
	size_t		 i;

	if (str_eq(s, len, "*", 1, 0) || str_eq(s, len, "Internet", 8, 0) ||
	    str_eq(s, len, "Any", 3, 0))
		return 1;
	if (!cidr_parse(s, len, &src))
		return 0;
	for (i = 0; i < lf->ncidrs; i++)
		if (cidr_contains(&src, &lf->cidrs[i]))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */

/* Call fn for every non-null value that the n steps s yield from cur, in
 * document order; stop early if fn returns non-zero and return that. */
static int
path_walk(json_object *cur, const struct rules_step *s, size_t n,
    visit_fn fn, void *arg)
{
	json_object	*v;
	size_t		 i, len;
	int		 rc;

	for (;; s++, n--) {
		if (cur == NULL)
			return 0;
		if (n == 0)
			return fn(arg, cur);
		switch (s->kind) {
		case RULES_STEP_EVERY:
			if (!json_object_is_type(cur, json_type_array))
				return 0;
			len = json_object_array_length(cur);
			for (i = 0; i < len; i++) {
				rc = path_walk(json_object_array_get_idx(cur,
				    i), s + 1, n - 1, fn, arg);
				if (rc != 0)
					return rc;
			}
			return 0;
		case RULES_STEP_INDEX:
			if (!json_object_is_type(cur, json_type_array) ||
			    s->idx >= json_object_array_length(cur))
				return 0;
			cur = json_object_array_get_idx(cur, s->idx);
			break;
		default:
			if (!json_object_is_type(cur, json_type_object) ||
			    !json_object_object_get_ex(cur, s->key, &v))
				return 0;
			cur = v;
			break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Leaves                                                              */

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

/* 1 if value v passes the positive form of the leaf's test (eq for ne,
 * in for not_in). Ports are collected, not tested, here. */
static int
leaf_test(struct leaf *l, json_object *v)
{
	const struct rules_leaf	*lf = l->lf;
	double			 x;
	size_t			 i;

	switch (lf->op) {
	case RULES_EQ:
	case RULES_NE:
	case RULES_IN:
	case RULES_NOT_IN:
		for (i = 0; i < lf->nvals; i++)
			if (scalar_eq(v, &lf->vals[i], lf->cs))
				return 1;
		return 0;
	case RULES_LT:
	case RULES_LE:
	case RULES_GT:
	case RULES_GE:
		if (!num_of(v, &x))
			return 0;
		return lf->op == RULES_LT ? x < lf->num :
		    lf->op == RULES_LE ? x <= lf->num :
		    lf->op == RULES_GT ? x > lf->num : x >= lf->num;
	case RULES_INTERNET:
		if (!json_object_is_type(v, json_type_string))
			return 0;
		return internet_str(json_object_get_string(v), jstr_len(v),
		    lf);
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
	struct rules_ports	 p;
	struct prange		 r;
	const char		*s, *comma;
	size_t			 len, part;
	int64_t			 n;
	int			 any = 0;

	memset(&r, 0, sizeof(r));
	r.order = l->nvals;
	r.value = v;
	r.path = l->cur_path;
	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
		if (n < 0 || n > 65535)
			return 0;
		r.lo = r.hi = (unsigned)n;
		return range_add(l, r) == -1 ? -1 : 1;
	}
	if (!json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	len = jstr_len(v);
	while (len > 0) {
		comma = memchr(s, ',', len);
		part = comma != NULL ? (size_t)(comma - s) : len;
		if (rules_check_port(s, part, &p)) {
			r.lo = p.lo;
			r.hi = p.hi;
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
	if (l->lf->op == RULES_EXISTS || l->lf->op == RULES_ABSENT)
		return 0;
	if (l->lf->op == RULES_PORTS)
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
ports_cover(struct leaf *l, const struct rules_ports *spec)
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

/* 1 if the collected ranges cover some spec of the leaf. */
static int
ports_holds(struct leaf *l)
{
	size_t	 i;

	if (l->nranges == 0)
		return 0;
	qsort(l->ranges, l->nranges, sizeof(*l->ranges), range_cmp);
	for (i = 0; i < l->lf->nspecs; i++)
		if (ports_cover(l, &l->lf->specs[i]))
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
leaf_eval(const struct rules_leaf *lf, json_object *cur, json_object *evs,
    int collect)
{
	struct leaf	 l;
	json_object	*ev;
	const char	*p0 = lf->paths[0].text;
	size_t		 i;
	int		 res = 0, positive, rc = -1, used_default = 0;

	memset(&l, 0, sizeof(l));
	l.lf = lf;
	for (i = 0; i < lf->npaths; i++) {
		l.cur_path = lf->paths[i].text;
		if (path_walk(cur, lf->paths[i].steps, lf->paths[i].nsteps,
		    leaf_visit, &l) != 0 || l.oom)
			goto out;
	}
	if (l.nvals == 0 && lf->def != NULL) {
		used_default = 1;
		l.cur_path = p0;
		if (leaf_visit(&l, lf->def) != 0 || l.oom)
			goto out;
	}

	positive = 1;
	switch (lf->op) {
	case RULES_EXISTS:
		res = lf->flag ? l.nvals > 0 : l.nvals == 0;
		positive = lf->flag;
		break;
	case RULES_ABSENT:
		res = lf->flag ? l.nvals == 0 : l.nvals > 0;
		positive = !lf->flag;
		break;
	case RULES_NE:
	case RULES_NOT_IN:
		res = l.match == NULL;
		positive = 0;
		break;
	case RULES_INTERNET:
		if (!lf->flag) {
			res = l.match == NULL;
			positive = 0;
		} else
			res = l.match != NULL;
		break;
	case RULES_PORTS:
		res = ports_holds(&l);
		break;
	default:
		res = l.match != NULL;
		break;
	}

	if (res && collect &&
	    json_object_array_length(evs) < RULES_MAX_EVIDENCE) {
		if (used_default)
			ev = leaf_evidence(p0, NULL, lf->def);
		else if (positive && lf->op != RULES_EXISTS &&
		    lf->op != RULES_ABSENT)
			ev = leaf_evidence(l.match_path, l.match, NULL);
		else if (l.first != NULL)
			ev = leaf_evidence(l.first_path, l.first, NULL);
		else
			ev = leaf_evidence(p0, NULL, NULL);
		if (ev == NULL || json_object_array_add(evs, ev) != 0) {
			json_object_put(ev);
			goto out;
		}
	}
	rc = res;
out:
	free(l.ranges);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Conditions                                                          */

static int
each_visit(void *arg, json_object *elem)
{
	struct each	*e = arg;
	int		 r;

	if ((r = cond_eval(e->where, elem, e->ev, 0)) == -1) {
		e->err = 1;
		return 1;
	}
	if (r == 0)
		return 0;
	e->hit = 1;
	if (!e->collect)
		return 1;	/* one is enough */
	if (ev_add(e->ev, elem) == -1) {
		e->err = 1;
		return 1;
	}
	return 0;
}

/* 1 if node holds on cur, 0 if not, -1 on an internal error. Evidence is
 * appended to ev when collect is set. */
static int
cond_eval(const struct rules_node *node, json_object *cur, json_object *ev,
    int collect)
{
	struct each	 e;
	size_t		 i, mark;
	int		 r, res;

	switch (node->kind) {
	case RULES_LEAF:
		return leaf_eval(&node->leaf, cur, ev, collect);
	case RULES_ALL:
		mark = json_object_array_length(ev);
		for (i = 0; i < node->nkids; i++) {
			r = cond_eval(node->kids[i], cur, ev, collect);
			if (r != 1) {
				ev_truncate(ev, mark);
				return r;
			}
		}
		return 1;
	case RULES_ANY:
		res = 0;
		for (i = 0; i < node->nkids; i++) {
			r = cond_eval(node->kids[i], cur, ev, collect);
			if (r == -1)
				return -1;
			if (r == 1) {
				res = 1;
				if (!collect)
					break;
			}
		}
		return res;
	case RULES_NONE:
		for (i = 0; i < node->nkids; i++) {
			r = cond_eval(node->kids[i], cur, ev, 0);
			if (r != 0)
				return r == 1 ? 0 : -1;
		}
		return 1;
	case RULES_NOT:
		r = cond_eval(node->kids[0], cur, ev, 0);
		return r == -1 ? -1 : !r;
	case RULES_EACH:
		memset(&e, 0, sizeof(e));
		e.where = node->kids[0];
		e.ev = ev;
		e.collect = collect;
		path_walk(cur, node->each.steps, node->each.nsteps, each_visit,
		    &e);
		return e.err ? -1 : e.hit;
	default:
		return 0;
	}
}

int
rules_eval(const struct rule *rule, json_object *resource,
    json_object **evidence)
{
	json_object	*type = NULL, *ev;
	int		 r;

	*evidence = NULL;
	if (rule == NULL || rule->cond == NULL ||
	    !json_object_is_type(resource, json_type_object) ||
	    !json_object_object_get_ex(resource, "type", &type) ||
	    !json_object_is_type(type, json_type_string) ||
	    !str_eq(json_object_get_string(type), jstr_len(type),
	    rule->resource_type, strlen(rule->resource_type), 0))
		return 0;
	if ((ev = json_object_new_array()) == NULL)
		return -1;
	r = cond_eval(rule->cond, resource, ev, 1);
	if (r == 1)
		*evidence = ev;
	else
		json_object_put(ev);
	return r;
}

/* ------------------------------------------------------------------ */
/* The members rules read                                              */

/* Add name to the list *v of *n unless there; 0 or -1. */
static int
members_add(char ***v, size_t *n, const char *name)
{
	char	**grown;
	size_t	  i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], name) == 0)
			return 0;
	if ((grown = realloc(*v, (*n + 1) * sizeof(*grown))) == NULL)
		return -1;
	*v = grown;
	if ((grown[*n] = strdup(name)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* A path from the resource itself: what it reads at the first two
 * levels. 0, 1 when it reads the whole resource, -1 out of memory. */
static int
members_path(const struct rules_path *rp, struct armprune *pr)
{
	const struct rules_step	*st = rp->steps;

	if (rp->nsteps == 0)
		return 1;			/* "@": all of it */
	if (st[0].kind != RULES_STEP_KEY)
		return 0;			/* a resource is an object */
	if (strcmp(st[0].key, "properties") != 0)
		return members_add(&pr->top, &pr->ntop, st[0].key);
	if (rp->nsteps == 1 || st[1].kind != RULES_STEP_KEY) {
		pr->props_whole = 1;
		return 0;
	}
	return members_add(&pr->props, &pr->nprops, st[1].key);
}

/* The paths of node that start at the resource (an each's where starts at
 * its elements, which are kept whole with the member holding them). */
static int
members_node(const struct rules_node *node, struct armprune *pr)
{
	size_t	 i;
	int	 r;

	switch (node->kind) {
	case RULES_LEAF:
		for (i = 0; i < node->leaf.npaths; i++)
			if ((r = members_path(&node->leaf.paths[i], pr)) != 0)
				return r;
		return 0;
	case RULES_EACH:
		return members_path(&node->each, pr);
	default:
		for (i = 0; i < node->nkids; i++)
			if ((r = members_node(node->kids[i], pr)) != 0)
				return r;
		return 0;
	}
}

int
rules_members(const struct ruleset *rs, struct armprune *pr)
{
	/* What the scanner reads of every resource besides the rules: its
	 * identity, metadata and tags. */
	static const char *const always[] = { "id", "type", "name",
	    "location", "tags", "subscriptionId" };
	size_t	 i;
	int	 r;

	memset(pr, 0, sizeof(*pr));
	for (i = 0; i < NELEM(always); i++)
		if (members_add(&pr->top, &pr->ntop, always[i]) == -1)
			goto fail;
	for (i = 0; i < rs->n; i++) {
		if (rs->rules[i].cond == NULL)
			continue;
		if ((r = members_node(rs->rules[i].cond, pr)) == -1)
			goto fail;
		if (r == 1) {
			rules_members_free(pr);
			return 1;
		}
	}
	return 0;
fail:
	rules_members_free(pr);
	return -1;
}

void
rules_members_free(struct armprune *pr)
{
	size_t	 i;

	for (i = 0; i < pr->ntop; i++)
		free(pr->top[i]);
	for (i = 0; i < pr->nprops; i++)
		free(pr->props[i]);
	free(pr->top);
	free(pr->props);
	memset(pr, 0, sizeof(*pr));
}
