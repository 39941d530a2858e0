/* inventory.c: the inventory connector, for air-gapped users and the
 * demo. Reads a directory of Azure Resource Manager JSON exports — each
 * file one resource, a {"value":[…]} list page as ARM returns it, or the
 * bare array "az resource list" prints — in a stable order, each list
 * read as a stream (armstream.c) so that a file of any size costs the
 * memory of its largest resource. Read-only: it cannot apply a
 * remediation. */
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

#include "armstream.h"
#include "buf.h"
#include "connector.h"
#include "inventory.h"
#include "log.h"
#include "vjson.h"

#define INVENTORY_MAX_DEPTH	64	/* JSON nesting */
#define INVENTORY_MAX_DIRS	16	/* directory nesting */
#define INVENTORY_MAX_FILES	1000000
#define INVENTORY_PATH_MAX	4096
#define INVENTORY_BLOCK		65536	/* bytes read at a time */

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

/* One whole document in text (a single resource, or a list small enough
 * to have been read whole): returns how many resources were emitted, or
 * -1 with err set (naming the file). */
static long
inventory_parse_whole(const char *text, size_t len, const char *name,
    connector_emit emit, void *arg, char *err, size_t errsz)
{
	struct vjson_err	 verr;
	json_object		*root, *list = NULL;
	size_t			 i, n;
	long			 rc = -1;

	if ((root = vjson_parse(text, len, INVENTORY_MAX_DEPTH,
	    INVENTORY_MAX_RESOURCE, &verr)) == NULL) {
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

/* An inventory file's text: in memory (fd -1) or an open file, read
 * from its start each time. */
struct inventory_src {
	const char	*text;
	size_t		 len;
	int		 fd;
	const char	*name;
};

/* Feed all of src to s and finish it: 0; -1 with err set when the file
 * could not be read; -2 when s refused it (s->err, s->stopped). */
static int
inventory_feed(const struct inventory_src *src, struct armstream *s,
    char *err, size_t errsz)
{
	char	 block[INVENTORY_BLOCK];
	ssize_t	 n;

	if (src->fd == -1) {
		if (armstream_feed(s, src->text, src->len) == -1)
			return -2;
		return armstream_finish(s) == -1 ? -2 : 0;
	}
	if (lseek(src->fd, 0, SEEK_SET) == -1)
		goto fail;
	for (;;) {
		if ((n = read(src->fd, block, sizeof(block))) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		if (armstream_feed(s, block, (size_t)n) == -1)
			return -2;
	}
	return armstream_finish(s) == -1 ? -2 : 0;
fail:
	snprintf(err, errsz, "%s: %s", src->name, strerror(errno));
	return -1;
}

/* The first byte of src that is not JSON whitespace, -1 at its end, -2
 * with err set on a read error. */
static int
inventory_first(const struct inventory_src *src, char *err, size_t errsz)
{
	char	 block[512];
	ssize_t	 n, i;
	size_t	 j;

	if (src->fd == -1) {
		for (j = 0; j < src->len; j++)
			if (strchr(" \t\r\n", src->text[j]) == NULL ||
			    src->text[j] == '\0')
				return (unsigned char)src->text[j];
		return -1;
	}
	if (lseek(src->fd, 0, SEEK_SET) == -1)
		goto fail;
	for (;;) {
		if ((n = read(src->fd, block, sizeof(block))) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			return -1;
		for (i = 0; i < n; i++)
			if (strchr(" \t\r\n", block[i]) == NULL ||
			    block[i] == '\0')
				return (unsigned char)block[i];
	}
fail:
	snprintf(err, errsz, "%s: %s", src->name, strerror(errno));
	return -2;
}

/* The whole of src into b (capped at one resource); 0 or -1 with err. */
static int
inventory_slurp(const struct inventory_src *src, struct buf *b, char *err,
    size_t errsz)
{
	struct stat	 st;
	int		 got;

	if (src->fd == -1) {
		if (src->len > b->cap)
			goto big;
		if (buf_append(b, src->text, src->len) == -1) {
			snprintf(err, errsz, "out of memory");
			return -1;
		}
		return 0;
	}
	if (fstat(src->fd, &st) == -1 || lseek(src->fd, 0, SEEK_SET) == -1) {
		snprintf(err, errsz, "%s: %s", src->name, strerror(errno));
		return -1;
	}
	if ((size_t)st.st_size > b->cap)
		goto big;
	/* The file may grow while read: the cap still holds. */
	if ((got = buf_read_fd(b, src->fd)) == -1) {
		snprintf(err, errsz, "%s: %s", src->name, strerror(errno));
		return -1;
	}
	if (got == -2)
		goto big;
	return 0;
big:
	snprintf(err, errsz, "%s: file is larger than %zu bytes", src->name,
	    b->cap);
	return -1;
}

/* What a streamed list's items go through. */
struct inventory_lister {
	const char	*name;
	connector_emit	 emit;
	void		*arg;
	char		*err;
	size_t		 errsz;
};

static int
inventory_item(void *arg, json_object *res, size_t idx)
{
	struct inventory_lister	*l = arg;

	return inventory_one(res, l->name, idx, 1, l->emit, l->arg, l->err,
	    l->errsz) == -1 ? 1 : 0;
}

/*
 * Read one inventory file as a stream, so that memory follows its largest
 * resource rather than its size: a bare array, or an object without "id"
 * whose "value" is an array (found by a first pass that only frames the
 * text), has its items parsed and emitted one by one; anything else is one
 * resource, read whole (at most INVENTORY_MAX_RESOURCE bytes). Returns how
 * many resources were emitted, or -1 with err set (naming the file).
 */
static long
inventory_stream(const struct inventory_src *src, connector_emit emit,
    void *arg, char *err, size_t errsz)
{
	struct inventory_lister	 l = { src->name, emit, arg, err, errsz };
	struct armstream	 s;
	struct buf		 text;
	long			 rc = -1;
	int			 first, r, list = 0;

	armstream_init(&s, INVENTORY_MAX_RESOURCE, INVENTORY_MAX_DEPTH,
	    ARMSTREAM_ARRAY_ROOT | ARMSTREAM_FRAME_ONLY, NULL, NULL);
	buf_init(&text, INVENTORY_MAX_RESOURCE);
	if ((first = inventory_first(src, err, errsz)) == -2)
		goto out;
	if (first == '[')
		list = 1;
	else if (first == '{') {
		if ((r = inventory_feed(src, &s, err, errsz)) == -1)
			goto out;
		if (r == -2) {
			snprintf(err, errsz, "%s: malformed JSON: %s",
			    src->name, s.err);
			goto out;
		}
		if (!s.has_id && s.has_value) {
			if (!s.value_array) {
				snprintf(err, errsz, "%s: \"value\" is not an "
				    "array", src->name);
				goto out;
			}
			list = 1;
		}
	}
	if (!list) {
		if (inventory_slurp(src, &text, err, errsz) == -1)
			goto out;
		rc = inventory_parse_whole(text.data != NULL ? text.data : "",
		    text.len, src->name, emit, arg, err, errsz);
		goto out;
	}
	armstream_free(&s);
	armstream_init(&s, INVENTORY_MAX_RESOURCE, INVENTORY_MAX_DEPTH,
	    ARMSTREAM_ARRAY_ROOT, inventory_item, &l);
	if ((r = inventory_feed(src, &s, err, errsz)) == -1)
		goto out;
	if (r == -2) {
		/* inventory_one said why it stopped. */
		if (!s.stopped)
			snprintf(err, errsz, "%s: malformed JSON: %s",
			    src->name, s.err);
		goto out;
	}
	if (s.has_id) {
		snprintf(err, errsz, "%s: changed while read", src->name);
		goto out;
	}
	rc = (long)s.items;
out:
	armstream_free(&s);
	buf_free(&text);
	return rc;
}

/* Returns how many resources were emitted, or -1 with err set. */
long
inventory_parse(const char *text, size_t len, const char *name,
    connector_emit emit, void *arg, char *err, size_t errsz)
{
	struct inventory_src	 src = { text, len, -1, name };

	return inventory_stream(&src, emit, arg, err, errsz);
}

/* Open top/rel and read it as a stream; as inventory_stream. */
static long
inventory_file(const char *top, const char *rel, connector_emit emit,
    void *arg, char *err, size_t errsz)
{
	struct inventory_src	 src = { NULL, 0, -1, rel };
	struct buf		 path;
	long			 rc = -1;

	buf_init(&path, INVENTORY_PATH_MAX);
	if (buf_printf(&path, "%s/%s", top, rel) == -1) {
		snprintf(err, errsz, "%s: path too long", rel);
		goto out;
	}
	if ((src.fd = open(path.data, O_RDONLY | O_CLOEXEC | O_NOCTTY)) ==
	    -1) {
		snprintf(err, errsz, "%s: %s", rel, strerror(errno));
		goto out;
	}
	rc = inventory_stream(&src, emit, arg, err, errsz);
out:
	if (src.fd != -1)
		close(src.fd);
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
	char		**paths = NULL;
	size_t		 n = 0, i;
	long		 got;
	int		 rc = -1;

	*total = 0;
	if (inventory_list(dir, &paths, &n, err, errsz) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if ((got = inventory_file(dir, paths[i], emit != NULL ? emit :
		    inventory_noemit, arg, err, errsz)) == -1)
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
