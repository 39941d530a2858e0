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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "rules.h"
#include "rules_check.h"
#include "vjson.h"

#define RULES_MAX_FILE		(1024 * 1024)	/* bytes per rule file */
#define RULES_MAX_PER_FILE	1000
#define RULES_MAX_DIRDEPTH	8

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
	for (i = 0; i < set->ninvalid; i++) {
		free(set->invalid[i].file);
		free(set->invalid[i].error);
	}
	free(set->invalid);
	set->invalid = NULL;
	set->ninvalid = 0;
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
	int	 fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((rc = buf_read_fd(b, fd)) == -1)
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
	else if (rc == -2)
		snprintf(err, errsz, "%s: larger than %d bytes", path,
		    RULES_MAX_FILE);
	close(fd);
	return rc == 0 ? 0 : -1;
}

/* Add a problem with file to set->invalid; what may start with "file: "
 * (rules_check_rule's form), which is dropped. 0 or -1 (out of memory). */
static int
invalid_add(struct ruleset *set, const char *file, const char *what)
{
	struct rules_invalid *grown;
	size_t flen = strlen(file);
	char *f, *e;

	if (strncmp(what, file, flen) == 0 && strncmp(what + flen, ": ",
	    2) == 0)
		what += flen + 2;
	if ((grown = realloc(set->invalid, (set->ninvalid + 1) *
	    sizeof(*grown))) == NULL)
		return -1;
	set->invalid = grown;
	f = strdup(file);
	e = strdup(what);
	if (f == NULL || e == NULL) {
		free(f);
		free(e);
		return -1;
	}
	set->invalid[set->ninvalid].file = f;
	set->invalid[set->ninvalid].error = e;
	set->ninvalid++;
	return 0;
}

/* Validate every rule of one file's text. All good: its rules appended to
 * good (their ids checked against prev[0..nprev) and good's), 0. Else
 * each problem added to good->invalid and no rule of the file kept, 1.
 * -1 on out of memory. */
static int
load_file(struct ruleset *good, const struct rule *prev, size_t nprev,
    const char *text, size_t len, const char *file)
{
	struct vjson_err	 jerr;
	struct rule		*tmp = NULL, *grown;
	const struct rule	*dup;
	json_object		*doc = NULL, *o;
	char			 err[512];
	size_t			 i, n = 0, count;
	int			 rc = -1, bad = 0, isarr;

	memset(&jerr, 0, sizeof(jerr));
	if ((doc = vjson_parse(text, len, VIGIL_MAX_JSON_DEPTH,
	    RULES_MAX_FILE, &jerr)) == NULL) {
		snprintf(err, sizeof(err), "invalid JSON: %s", jerr.message);
		goto bad;
	}
	isarr = json_object_is_type(doc, json_type_array);
	if (!isarr && !json_object_is_type(doc, json_type_object)) {
		snprintf(err, sizeof(err), "must hold a rule object or an "
		    "array of rules");
		goto bad;
	}
	count = isarr ? json_object_array_length(doc) : 1;
	if (count == 0 || count > RULES_MAX_PER_FILE) {
		snprintf(err, sizeof(err), "must hold 1 to %d rules",
		    RULES_MAX_PER_FILE);
		goto bad;
	}
	if ((tmp = calloc(count, sizeof(*tmp))) == NULL)
		goto out;
	/* Every rule, so that one run lists every mistake. */
	for (i = 0; i < count; i++) {
		struct rule r;

		memset(&r, 0, sizeof(r));
		o = isarr ? json_object_array_get_idx(doc, i) : doc;
		if (rules_check_rule(file, o, i, &r, err, sizeof(err)) == -1) {
			rules_check_clear(&r);
			if (invalid_add(good, file, err) == -1)
				goto out;
			bad = 1;
			continue;
		}
		if ((dup = find_id(prev, nprev, r.id)) != NULL ||
		    (dup = find_id(good->rules, good->n, r.id)) != NULL ||
		    (dup = find_id(tmp, n, r.id)) != NULL) {
			/* worded as rules_check.c words its errors */
			snprintf(err, sizeof(err), "rule %s: id: duplicate id "
			    "(also in %s)", r.id, dup->file);
			rules_check_clear(&r);
			if (invalid_add(good, file, err) == -1)
				goto out;
			bad = 1;
			continue;
		}
		tmp[n++] = r;
	}
	if (bad) {
		rc = 1;
		goto out;
	}
	if ((grown = realloc(good->rules, (good->n + n) *
	    sizeof(*grown))) == NULL)
		goto out;
	good->rules = grown;
	memcpy(good->rules + good->n, tmp, n * sizeof(*tmp));
	good->n += n;
	n = 0;		/* now owned by good */
	rc = 0;
	goto out;
bad:
	rc = invalid_add(good, file, err) == -1 ? -1 : 1;
out:
	for (i = 0; i < n; i++)
		rules_check_clear(&tmp[i]);
	free(tmp);
	if (doc != NULL)
		json_object_put(doc);
	return rc;
}

int
rules_load_dir(struct ruleset *set, const char *dir, char *err,
    size_t errsz)
{
	struct ruleset	 tmp = { NULL, 0, NULL, 0 };
	struct names	 ns;
	struct buf	 b;
	struct rule	*grown;
	struct rules_invalid *ig;
	char		 scratch[1], why[512];
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
	for (i = 0; i < ns.n; i++) {
		buf_reset(&b);
		if (read_file(ns.v[i], &b, why, sizeof(why)) == -1) {
			if (invalid_add(&tmp, ns.v[i], why) == -1)
				goto oom;
			continue;
		}
		/* Ids already in set count as duplicates too. */
		if (load_file(&tmp, set->rules, set->n, b.data != NULL ?
		    b.data : "", b.len, ns.v[i]) == -1)
			goto oom;
	}
	if ((grown = realloc(set->rules, (set->n + tmp.n) *
	    sizeof(*grown))) == NULL)
		goto oom;
	set->rules = grown;
	if ((ig = realloc(set->invalid, (set->ninvalid + tmp.ninvalid) *
	    sizeof(*ig))) == NULL && set->ninvalid + tmp.ninvalid > 0)
		goto oom;
	set->invalid = ig;
	if (tmp.n > 0)
		memcpy(set->rules + set->n, tmp.rules,
		    tmp.n * sizeof(*tmp.rules));
	set->n += tmp.n;
	if (tmp.ninvalid > 0)
		memcpy(set->invalid + set->ninvalid, tmp.invalid,
		    tmp.ninvalid * sizeof(*tmp.invalid));
	set->ninvalid += tmp.ninvalid;
	free(tmp.rules);
	free(tmp.invalid);
	memset(&tmp, 0, sizeof(tmp));
	rc = 0;
	goto out;
oom:
	snprintf(err, errsz, "%s: out of memory", dir);
out:
	rules_free(&tmp);
	buf_free(&b);
	names_free(&ns);
	return rc;
}

/* A new object for GET /rules; NULL if out of memory. */
json_object *
rules_to_json(const struct rule *r)
{
	json_object	*o, *arr, *ref;
	size_t		 i;

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
	if ((arr = json_object_new_array()) != NULL) {
		for (i = 0; i < r->nrefs; i++) {
			if ((ref = json_object_new_object()) == NULL)
				continue;
			json_object_object_add(ref, "framework",
			    json_object_new_string(r->refs[i].framework));
			json_object_object_add(ref, "control",
			    json_object_new_string(r->refs[i].control));
			json_object_array_add(arr, ref);
		}
		json_object_object_add(o, "controls", arr);
	}
	json_object_object_add(o, "description",
	    json_object_new_string(r->description));
	json_object_object_add(o, "recommendation",
	    json_object_new_string(r->recommendation));
	json_object_object_add(o, "has_remediation",
	    json_object_new_boolean(r->remediation != NULL));
	return o;
}
