/*
 * rules.c: loading rules: rule files and directories of them into a
 * ruleset, the set's duplicate ids, and the listing GET /rules shows.
 * Each rule object is validated, and its condition built into a tree, by
 * rules_check.c (whose opening comment is the rule language's reference);
 * rules_eval.c evaluates it. Pure except rules_load_dir, which reads
 * files.
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
#include "rules_check.h"
#include "vjson.h"

#define RULES_MAX_FILE		(1024 * 1024)	/* bytes per rule file */
#define RULES_MAX_PER_FILE	1000
#define RULES_MAX_KEY		128	/* bytes in one key */
#define RULES_MAX_DIRDEPTH	8
#define RULES_MAX_EVIDENCE	256	/* items listed per finding */

enum op {
	OP_EQ, OP_NE, OP_IN, OP_NOT_IN, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_EXISTS, OP_ABSENT, OP_PORTS, OP_INTERNET, OP__N
};

static const char *const op_names[OP__N] = {
	"eq", "ne", "in", "not_in", "lt", "le", "gt", "ge",
	"exists", "absent", "ports", "internet",
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
is_number(json_object *o)
{
	return json_object_is_type(o, json_type_int) ||
	    json_object_is_type(o, json_type_double);
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
	struct vjson_err	 jerr;
	struct rule		*tmp = NULL, *grown;
	const struct rule	*dup;
	json_object		*doc = NULL, *o;
	char			 what[384];
	size_t			 i, n = 0, count;
	int			 rc = -1, isarr;

	if (file == NULL)
		file = "-";
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	memset(&jerr, 0, sizeof(jerr));
	if ((doc = vjson_parse(text, len, VIGIL_MAX_JSON_DEPTH,
	    RULES_MAX_FILE, &jerr)) == NULL) {
		if (err != NULL)
			snprintf(err, errsz, "%s: invalid JSON: %s", file,
			    jerr.message);
		goto out;
	}
	isarr = json_object_is_type(doc, json_type_array);
	if (!isarr && !json_object_is_type(doc, json_type_object)) {
		if (err != NULL)
			snprintf(err, errsz, "%s: must hold a rule object or "
			    "an array of rules", file);
		goto out;
	}
	count = isarr ? json_object_array_length(doc) : 1;
	if (count == 0 || count > RULES_MAX_PER_FILE) {
		if (err != NULL)
			snprintf(err, errsz, "%s: must hold 1 to %d rules",
			    file, RULES_MAX_PER_FILE);
		goto out;
	}
	if ((tmp = calloc(count, sizeof(*tmp))) == NULL) {
		if (err != NULL)
			snprintf(err, errsz, "%s: out of memory", file);
		goto out;
	}
	for (n = 0; n < count; n++) {
		o = isarr ? json_object_array_get_idx(doc, n) : doc;
		if (rules_check_rule(file, o, n, &tmp[n], err, errsz) == -1) {
			n++;	/* clear the partly built one too */
			goto out;
		}
		if ((dup = find_id(set->rules, set->n, tmp[n].id)) != NULL ||
		    (dup = find_id(tmp, n, tmp[n].id)) != NULL) {
			/* worded and cut as rules_check.c words its errors */
			snprintf(what, sizeof(what), "duplicate id (also in "
			    "%s)", dup->file);
			if (err != NULL)
				snprintf(err, errsz, "%s: rule %s: id: %s",
				    file, tmp[n].id, what);
			n++;
			goto out;
		}
	}
	if (set->n + count < set->n ||
	    (grown = realloc(set->rules, (set->n + count) *
	    sizeof(*grown))) == NULL) {
		if (err != NULL)
			snprintf(err, errsz, "%s: out of memory", file);
		goto out;
	}
	set->rules = grown;
	memcpy(set->rules + set->n, tmp, count * sizeof(*tmp));
	set->n += count;
	n = 0;		/* now owned by set */
	rc = 0;
out:
	for (i = 0; i < n; i++)
		rules_check_clear(&tmp[i]);
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
		rules_check_clear(&set->rules[i]);
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
