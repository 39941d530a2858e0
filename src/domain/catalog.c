/* catalog.c: the compliance control catalogues (catalog.h). A framework
 * file is one JSON object:
 *
 *   { "id": "nist-800-53-r5", "name": "NIST SP 800-53 rev. 5",
 *     "version": "5.1.1", "source": "...", "source_commit": "...",
 *     "license": "...", "generated_by": "scripts/compliance-extract.py ...",
 *     "controls": [ {"id": "AC-2", "title": "Account Management"}, ... ] }
 *
 * id, name, source and controls are required; the others may be absent
 * or empty. The files hold ids and short titles only, never a control's
 * text: the source says where they were taken from and the script
 * (scripts/compliance-extract.py) that made them.
 *
 * Everything but catalog_load_dir is pure. */
#include "vigil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "vjson.h"

int
catalog_framework_id_form(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    (s[i] == '-' && i > 0)))
			return 0;
	return i > 0 && i <= CATALOG_ID_MAX && s[i - 1] != '-';
}

int
catalog_control_id_form(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '-' || s[i] == '(' || s[i] == ')'))
			return 0;
	return i > 0 && i <= CATALOG_ID_MAX;
}

static void
framework_clear(struct catalog_framework *f)
{
	size_t	 i;

	free(f->id);
	free(f->name);
	free(f->version);
	free(f->source);
	free(f->source_commit);
	free(f->license);
	free(f->generated_by);
	for (i = 0; i < f->n; i++) {
		free(f->c[i].id);
		free(f->c[i].title);
	}
	free(f->c);
	free(f->byid);
	memset(f, 0, sizeof(*f));
}

void
catalog_free(struct catalog *cat)
{
	size_t	 i;

	for (i = 0; i < cat->n; i++)
		framework_clear(&cat->f[i]);
	free(cat->f);
	cat->f = NULL;
	cat->n = 0;
}

/* qsort_r is not C11: the controls being sorted are passed through this
 * file-local pointer, set only around the one qsort call below. */
static const struct catalog_control *sorting;

static int
byid_cmp(const void *a, const void *b)
{
	return strcmp(sorting[*(const size_t *)a].id,
	    sorting[*(const size_t *)b].id);
}

static int
fw_cmp(const void *a, const void *b)
{
	return strcmp(((const struct catalog_framework *)a)->id,
	    ((const struct catalog_framework *)b)->id);
}

/* A string field of o into *out (strdup'd; "" when absent and not
 * required); 0, or -1 with err set. */
static int
field(json_object *o, const char *key, int required, size_t maxlen,
    const char *file, const char *where, char **out, char *err,
    size_t errsz)
{
	struct vjson_err	 ve;
	const char		*s = NULL;
	int			 rc;

	rc = vjson_get_string(o, key, required, required ? 1 : 0, maxlen, &s,
	    &ve);
	if (rc == -1) {
		snprintf(err, errsz, "%s: %s%s: %s", file, where, key,
		    ve.message);
		return -1;
	}
	if ((*out = strdup(s != NULL ? s : "")) == NULL) {
		snprintf(err, errsz, "%s: out of memory", file);
		return -1;
	}
	return 0;
}

int
catalog_parse(struct catalog *cat, const char *text, size_t len,
    const char *file, char *err, size_t errsz)
{
	static const char *const top_keys[] = { "id", "name", "version",
	    "source", "source_commit", "license", "generated_by", "controls",
	    NULL };
	static const char *const ctl_keys[] = { "id", "title", NULL };
	struct catalog_framework	 f, *grown;
	struct vjson_err		 ve;
	json_object			*root = NULL, *arr = NULL, *c;
	char				 where[64];
	size_t				 i, n;
	int				 rc = -1;

	memset(&f, 0, sizeof(f));
	if ((root = vjson_parse_unique(text, len, 8, CATALOG_FILE_MAX,
	    &ve)) == NULL) {
		snprintf(err, errsz, "%s: %s", file, ve.message);
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errsz, "%s: must be a JSON object", file);
		goto out;
	}
	if (vjson_only_keys(root, top_keys, &ve) != 0) {
		snprintf(err, errsz, "%s: %s: unknown field", file, ve.field);
		goto out;
	}
	if (field(root, "id", 1, CATALOG_ID_MAX, file, "", &f.id, err,
	    errsz) != 0 ||
	    field(root, "name", 1, 200, file, "", &f.name, err, errsz) != 0 ||
	    field(root, "version", 0, 64, file, "", &f.version, err,
	    errsz) != 0 ||
	    field(root, "source", 1, 1000, file, "", &f.source, err,
	    errsz) != 0 ||
	    field(root, "source_commit", 0, 64, file, "", &f.source_commit,
	    err, errsz) != 0 ||
	    field(root, "license", 0, 1000, file, "", &f.license, err,
	    errsz) != 0 ||
	    field(root, "generated_by", 0, 1000, file, "", &f.generated_by,
	    err, errsz) != 0)
		goto out;
	if (!catalog_framework_id_form(f.id)) {
		snprintf(err, errsz, "%s: id: must be lowercase letters, "
		    "digits, dots and inner hyphens", file);
		goto out;
	}
	if (catalog_framework(cat, f.id) != NULL) {
		snprintf(err, errsz, "%s: id: framework %s is defined twice",
		    file, f.id);
		goto out;
	}
	if (!json_object_object_get_ex(root, "controls", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0 ||
	    n > CATALOG_MAX_CONTROLS) {
		snprintf(err, errsz, "%s: controls: must be an array of 1 to "
		    "%d controls", file, CATALOG_MAX_CONTROLS);
		goto out;
	}
	if ((f.c = calloc(n, sizeof(*f.c))) == NULL ||
	    (f.byid = calloc(n, sizeof(*f.byid))) == NULL) {
		snprintf(err, errsz, "%s: out of memory", file);
		goto out;
	}
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(arr, i);
		snprintf(where, sizeof(where), "controls[%zu].", i);
		if (!json_object_is_type(c, json_type_object)) {
			snprintf(err, errsz, "%s: controls[%zu]: must be an "
			    "object", file, i);
			goto out;
		}
		if (vjson_only_keys(c, ctl_keys, &ve) != 0) {
			snprintf(err, errsz, "%s: %s%s: unknown field", file,
			    where, ve.field);
			goto out;
		}
		f.n = i + 1;
		if (field(c, "id", 1, CATALOG_ID_MAX, file, where, &f.c[i].id,
		    err, errsz) != 0 ||
		    field(c, "title", 1, 300, file, where, &f.c[i].title, err,
		    errsz) != 0)
			goto out;
		if (!catalog_control_id_form(f.c[i].id)) {
			snprintf(err, errsz, "%s: %sid: must be letters, "
			    "digits, '.', '-', '(' and ')'", file, where);
			goto out;
		}
		f.byid[i] = i;
	}
	sorting = f.c;
	qsort(f.byid, f.n, sizeof(*f.byid), byid_cmp);
	sorting = NULL;
	for (i = 1; i < f.n; i++)
		if (strcmp(f.c[f.byid[i - 1]].id, f.c[f.byid[i]].id) == 0) {
			snprintf(err, errsz, "%s: controls[%zu].id: control %s "
			    "is listed twice", file, f.byid[i],
			    f.c[f.byid[i]].id);
			goto out;
		}
	if (cat->n >= CATALOG_MAX_FRAMEWORKS) {
		snprintf(err, errsz, "%s: more than %d frameworks", file,
		    CATALOG_MAX_FRAMEWORKS);
		goto out;
	}
	if ((grown = realloc(cat->f, (cat->n + 1) * sizeof(*grown))) ==
	    NULL) {
		snprintf(err, errsz, "%s: out of memory", file);
		goto out;
	}
	cat->f = grown;
	cat->f[cat->n++] = f;
	memset(&f, 0, sizeof(f));
	qsort(cat->f, cat->n, sizeof(*cat->f), fw_cmp);
	rc = 0;
out:
	framework_clear(&f);
	if (root != NULL)
		json_object_put(root);
	return rc;
}

const struct catalog_framework *
catalog_framework(const struct catalog *cat, const char *id)
{
	size_t	 lo = 0, hi = cat->n, mid;
	int	 d;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((d = strcmp(id, cat->f[mid].id)) == 0)
			return &cat->f[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

long
catalog_control(const struct catalog_framework *f, const char *id)
{
	size_t	 lo = 0, hi = f->n, mid;
	int	 d;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((d = strcmp(id, f->c[f->byid[mid]].id)) == 0)
			return (long)f->byid[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
catalog_load_dir(struct catalog *cat, const char *dir, char *err,
    size_t errsz)
{
	struct catalog	 tmp = { NULL, 0 };
	struct dirent	*de;
	struct buf	 path, b;
	DIR		*d = NULL;
	char		**names = NULL, **grown;
	size_t		 n = 0, i, len;
	int		 fd, rc = -1, r;

	buf_init(&path, 4096);
	buf_init(&b, CATALOG_FILE_MAX);
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (n >= CATALOG_MAX_FRAMEWORKS ||
		    (grown = realloc(names, (n + 1) * sizeof(*names))) ==
		    NULL) {
			snprintf(err, errsz, "%s: too many files", dir);
			goto out;
		}
		names = grown;
		if ((names[n] = strdup(de->d_name)) == NULL) {
			snprintf(err, errsz, "%s: out of memory", dir);
			goto out;
		}
		n++;
	}
	if (n == 0) {
		snprintf(err, errsz, "%s: no *.json framework files", dir);
		goto out;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		buf_reset(&path);
		buf_reset(&b);
		if (buf_printf(&path, "%s/%s", dir, names[i]) == -1) {
			snprintf(err, errsz, "%s: out of memory", dir);
			goto out;
		}
		if ((fd = open(path.data, O_RDONLY | O_CLOEXEC)) == -1) {
			snprintf(err, errsz, "%s: %s", path.data,
			    strerror(errno));
			goto out;
		}
		r = buf_read_fd(&b, fd);
		close(fd);
		if (r != 0) {
			snprintf(err, errsz, "%s: %s", path.data, r == -2 ?
			    "too large" : strerror(errno));
			goto out;
		}
		if (catalog_parse(&tmp, b.data != NULL ? b.data : "", b.len,
		    path.data, err, errsz) != 0)
			goto out;
	}
	catalog_free(cat);
	*cat = tmp;
	memset(&tmp, 0, sizeof(tmp));
	rc = 0;
out:
	catalog_free(&tmp);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d != NULL)
		closedir(d);
	buf_free(&path);
	buf_free(&b);
	return rc;
}
