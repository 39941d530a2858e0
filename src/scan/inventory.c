/* inventory.c: the inventory connector, for air-gapped users and the
 * demo. Reads a directory of Azure Resource Manager JSON exports — each
 * file one resource, a {"value":[…]} list page as ARM returns it, or the
 * bare array "az resource list" prints — in a stable order. Read-only:
 * it cannot apply a remediation. */
#include "vigil.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "connector.h"
#include "inventory.h"
#include "log.h"
#include "vjson.h"

#define INVENTORY_MAX_DEPTH	64	/* JSON nesting */
#define INVENTORY_MAX_DIRS	16	/* directory nesting */
#define INVENTORY_MAX_FILES	1000000
#define INVENTORY_PATH_MAX	4096

struct inventory {
	char	*dir;
};

/* The growing result of inventory_list. */
struct inventory_paths {
	char	**v;
	size_t	  n;
	size_t	  alloc;
};

void
inventory_paths_free(char **paths, size_t n)
{
	size_t	 i;

	if (paths == NULL)
		return;
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

static int
inventory_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
inventory_is_json(const char *name)
{
	size_t	 n = strlen(name);

	return n > 5 && strcasecmp(name + n - 5, ".json") == 0;
}

/* Add the files under top/rel to p; rel is "" at the top. */
static int
inventory_walk(const char *top, const char *rel, int depth,
    struct inventory_paths *p, char *err, size_t errsz)
{
	struct buf	 full, child;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d = NULL;
	char		**nv;
	int		 rc = -1;

	buf_init(&full, INVENTORY_PATH_MAX);
	buf_init(&child, INVENTORY_PATH_MAX);
	if (depth > INVENTORY_MAX_DIRS) {
		snprintf(err, errsz, "%s: directories nested too deeply", rel);
		goto out;
	}
	if (buf_printf(&full, "%s%s%s", top, *rel != '\0' ? "/" : "", rel)
	    == -1) {
		snprintf(err, errsz, "%s: path too long", rel);
		goto out;
	}
	if ((d = opendir(full.data)) == NULL) {
		snprintf(err, errsz, "%s: %s", *rel != '\0' ? rel : top,
		    strerror(errno));
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				snprintf(err, errsz, "%s: %s", *rel != '\0' ?
				    rel : top, strerror(errno));
				goto out;
			}
			break;
		}
		/* ".", "..", and hidden files (editor swap files, .git). */
		if (de->d_name[0] == '.')
			continue;
		buf_reset(&child);
		buf_reset(&full);
		if (buf_printf(&child, "%s%s%s", rel, *rel != '\0' ? "/" : "",
		    de->d_name) == -1 || buf_printf(&full, "%s/%s", top,
		    child.data) == -1) {
			snprintf(err, errsz, "%s: path too long", de->d_name);
			goto out;
		}
		if (lstat(full.data, &st) == -1) {
			snprintf(err, errsz, "%s: %s", child.data,
			    strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (inventory_walk(top, child.data, depth + 1, p, err,
			    errsz) == -1)
				goto out;
			continue;
		}
		if (!inventory_is_json(de->d_name))
			continue;
		/* A symlinked file is followed; a symlinked directory is
		 * not (no cycles). */
		if (S_ISLNK(st.st_mode) && (stat(full.data, &st) == -1 ||
		    !S_ISREG(st.st_mode)))
			continue;
		if (!S_ISREG(st.st_mode))
			continue;
		if (p->n >= INVENTORY_MAX_FILES) {
			snprintf(err, errsz, "more than %d files",
			    INVENTORY_MAX_FILES);
			goto out;
		}
		if (p->n == p->alloc) {
			p->alloc = p->alloc == 0 ? 64 : p->alloc * 2;
			if ((nv = realloc(p->v, p->alloc * sizeof(*nv))) ==
			    NULL) {
				snprintf(err, errsz, "out of memory");
				goto out;
			}
			p->v = nv;
		}
		if ((p->v[p->n] = buf_detach(&child, NULL)) == NULL) {
			snprintf(err, errsz, "out of memory");
			goto out;
		}
		p->n++;
	}
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	buf_free(&full);
	buf_free(&child);
	return rc;
}

int
inventory_list(const char *dir, char ***paths, size_t *n, char *err,
    size_t errsz)
{
	struct inventory_paths	 p = { NULL, 0, 0 };

	*paths = NULL;
	*n = 0;
	if (dir == NULL || *dir == '\0') {
		snprintf(err, errsz, "no inventory directory");
		return -1;
	}
	if (inventory_walk(dir, "", 0, &p, err, errsz) == -1) {
		inventory_paths_free(p.v, p.n);
		return -1;
	}
	if (p.n > 0)
		qsort(p.v, p.n, sizeof(*p.v), inventory_cmp);
	*paths = p.v;
	*n = p.n;
	return 0;
}

/* Check one resource, add subscriptionId from its id if missing, emit.
 * 0 or -1 with err set. */
static int
inventory_one(json_object *res, const char *name, size_t idx, int listed,
    connector_emit emit, void *arg, char *err, size_t errsz)
{
	json_object	*id, *type, *s;
	const char	*ids, *sub;
	char		 where[32] = "";
	size_t		 sublen;
	int		 r;

	if (listed)
		snprintf(where, sizeof(where), " item %zu", idx);
	if (!json_object_is_type(res, json_type_object) ||
	    !json_object_object_get_ex(res, "id", &id) ||
	    !json_object_is_type(id, json_type_string) ||
	    !json_object_object_get_ex(res, "type", &type) ||
	    !json_object_is_type(type, json_type_string)) {
		snprintf(err, errsz, "%s%s: not an ARM resource (an object "
		    "with string \"id\" and \"type\")", name, where);
		return -1;
	}
	ids = json_object_get_string(id);
	if (!json_object_object_get_ex(res, "subscriptionId", NULL) &&
	    strncasecmp(ids, "/subscriptions/", 15) == 0) {
		sub = ids + 15;
		sublen = strcspn(sub, "/");
		if (sublen > 0) {
			if ((s = json_object_new_string_len(sub, (int)sublen))
			    == NULL || json_object_object_add(res,
			    "subscriptionId", s) != 0) {
				json_object_put(s);
				snprintf(err, errsz, "out of memory");
				return -1;
			}
		}
	}
	if ((r = emit(arg, res)) != 0) {
		snprintf(err, errsz, "collection stopped by the caller (%d)",
		    r);
		return -1;
	}
	return 0;
}

/* Returns how many resources were emitted, or -1 with err set. */
long
inventory_parse(const char *text, size_t len, const char *name,
    connector_emit emit, void *arg, char *err, size_t errsz)
{
	struct vjson_err	 verr;
	json_object		*root, *list = NULL;
	size_t			 i, n;
	long			 rc = -1;

	if ((root = vjson_parse(text, len, INVENTORY_MAX_DEPTH,
	    INVENTORY_MAX_FILE, &verr)) == NULL) {
		snprintf(err, errsz, "%s: malformed JSON: %s", name,
		    verr.message);
		return -1;
	}
	if (json_object_is_type(root, json_type_array))
		list = root;
	else if (json_object_is_type(root, json_type_object) &&
	    !json_object_object_get_ex(root, "id", NULL) &&
	    json_object_object_get_ex(root, "value", &list) &&
	    !json_object_is_type(list, json_type_array)) {
		snprintf(err, errsz, "%s: \"value\" is not an array", name);
		goto out;
	}
	if (list != NULL) {
		n = json_object_array_length(list);
		for (i = 0; i < n; i++)
			if (inventory_one(json_object_array_get_idx(list, i),
			    name, i, 1, emit, arg, err, errsz) == -1)
				goto out;
		rc = (long)n;
	} else {
		if (inventory_one(root, name, 0, 0, emit, arg, err, errsz) ==
		    -1)
			goto out;
		rc = 1;
	}
out:
	json_object_put(root);
	return rc;
}

/* Read top/rel into b (capped); 0 or -1 with err naming rel. */
static int
inventory_read(const char *top, const char *rel, struct buf *b, char *err,
    size_t errsz)
{
	struct buf	 path;
	struct stat	 st;
	int		 fd = -1, rc = -1, got;

	buf_init(&path, INVENTORY_PATH_MAX);
	buf_reset(b);
	if (buf_printf(&path, "%s/%s", top, rel) == -1) {
		snprintf(err, errsz, "%s: path too long", rel);
		goto out;
	}
	if ((fd = open(path.data, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errsz, "%s: %s", rel, strerror(errno));
		goto out;
	}
	if ((size_t)st.st_size > b->cap) {
		snprintf(err, errsz, "%s: file is larger than %zu bytes", rel,
		    b->cap);
		goto out;
	}
	/* The file may grow while read: the cap still holds. */
	if ((got = buf_read_fd(b, fd)) == -1) {
		snprintf(err, errsz, "%s: %s", rel, strerror(errno));
		goto out;
	}
	if (got == -2) {
		snprintf(err, errsz, "%s: file is larger than %zu bytes", rel,
		    b->cap);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	buf_free(&path);
	return rc;
}

static int
inventory_noemit(void *arg, json_object *res)
{
	(void)arg;
	(void)res;
	return 0;
}

/* Parse every file (emitting when emit is set); count in *total. */
static int
inventory_run(const char *dir, connector_emit emit, void *arg,
    size_t *total, char *err, size_t errsz)
{
	struct buf	 text;
	char		**paths = NULL;
	size_t		 n = 0, i;
	long		 got;
	int		 rc = -1;

	*total = 0;
	buf_init(&text, INVENTORY_MAX_FILE);
	if (inventory_list(dir, &paths, &n, err, errsz) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (inventory_read(dir, paths[i], &text, err, errsz) == -1)
			goto out;
		if ((got = inventory_parse(text.data != NULL ? text.data : "",
		    text.len, paths[i], emit != NULL ? emit : inventory_noemit,
		    arg, err, errsz)) == -1)
			goto out;
		*total += (size_t)got;
	}
	rc = 0;
	if (n == 0) {
		snprintf(err, errsz, "no *.json files in %s", dir);
		rc = -1;
	}
out:
	inventory_paths_free(paths, n);
	buf_free(&text);
	return rc;
}

static int
inventory_collect(struct connector *c, connector_emit emit, void *arg,
    char *err, size_t errsz)
{
	struct inventory	*inv = c->priv;
	size_t			 total;

	if (inventory_run(inv->dir, emit, arg, &total, err, errsz) == -1) {
		log_warn("inventory: %s", err);
		return -1;
	}
	log_info("inventory: %zu resources read from %s", total, inv->dir);
	return 0;
}

static int
inventory_patch(struct connector *c, const char *resource_id,
    const char *api_version, json_object *body, json_object **after,
    char *err, size_t errsz)
{
	(void)c;
	(void)resource_id;
	(void)api_version;
	(void)body;
	*after = NULL;
	snprintf(err, errsz, "the inventory connector is read-only");
	return -1;
}

static void
inventory_free(struct connector *c)
{
	struct inventory	*inv;

	if (c == NULL)
		return;
	if ((inv = c->priv) != NULL) {
		free(inv->dir);
		free(inv);
	}
	free(c);
}

/* A new connector over dir (copied; caller calls ->free), or NULL if out
 * of memory. */
struct connector *
connector_inventory_new(const char *dir)
{
	struct connector	*c = NULL;
	struct inventory	*inv = NULL;

	if (dir == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (inv = calloc(1, sizeof(*inv))) == NULL ||
	    (inv->dir = strdup(dir)) == NULL) {
		free(inv);
		free(c);
		return NULL;
	}
	c->type = "inventory";
	c->collect = inventory_collect;
	c->patch = inventory_patch;
	c->free = inventory_free;
	c->priv = inv;
	return c;
}

/* The directory must be absolute (the scanner runs from cron), readable,
 * hold at least one *.json file, and every file must parse. */
int
connector_inventory_check(const char *dir, char *err, size_t errsz)
{
	struct stat	 st;
	size_t		 total;

	if (dir == NULL || dir[0] != '/') {
		snprintf(err, errsz, "path must be an absolute directory path");
		return -1;
	}
	if (stat(dir, &st) == -1) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "%s: not a directory", dir);
		return -1;
	}
	return inventory_run(dir, NULL, NULL, &total, err, errsz);
}
