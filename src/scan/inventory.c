/* inventory.c: the inventory connector, for air-gapped users and the
 * demo. Reads a directory of Azure Resource Manager JSON exports — each
 * file one resource, a {"value":[…]} list page as ARM returns it, the
 * bare array "az resource list" prints, or an Azure Resource Graph answer
 * ({"count":…,"data":[…]}) — in a stable order, each list read as a
 * stream (armstream.c) so that a file of any size costs the memory of its
 * largest resource. Child resources exported on their own (SQL firewall
 * rules and auditing settings, NSG security rules, storage blob services,
 * web app configuration) are joined to their parent by id before the
 * parent is emitted, so the rules see the parent as if ARM (or the Azure
 * connector) had embedded them: a first pass keeps those children, and
 * only them, in a hash table by parent id; a second pass streams the
 * parents. Read-only: it cannot apply a remediation. */
#include "vigil.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "armstream.h"
#include "azure.h"
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
/* What the children held for the join may cost at most, their text and
 * bookkeeping together: a generous estate (10,000 SQL servers with ten
 * firewall rules each, 10,000 NSGs with twenty separately exported
 * security rules) holds about 150 MB. Over it the collection fails, as it
 * would for a resource over its cap, rather than grow without bound. */
#define INVENTORY_MAX_CHILDREN	((size_t)512 * 1024 * 1024)
#define INVENTORY_ORPHANS_LOGGED 20	/* orphans named in the log */

/*
 * The child resources joined into their parent, by type
 * (case-insensitive, as Resource Graph lowercases types), and where they
 * go under the parent's "properties": a list (name NULL) gets the child's
 * whole ARM object appended, as ARM embeds an NSG's securityRules and the
 * Azure connector a SQL server's firewallRules; a singleton (the one child
 * of that name) gets the child's "properties" object — or the child
 * itself when it has none, as "az … show" prints some flattened —, as the
 * Azure connector embeds auditingSettings and siteConfig. Other children
 * (a site's "appsettings" config, a database) are resources of their own,
 * as before.
 */
struct inventory_join {
	const char	*type;
	const char	*field;
	const char	*name;
};

static const struct inventory_join inventory_joins[] = {
	{ "Microsoft.Sql/servers/firewallRules", "firewallRules", NULL },
	{ "Microsoft.Sql/servers/auditingSettings", "auditingSettings",
	    "default" },
	{ "Microsoft.Network/networkSecurityGroups/securityRules",
	    "securityRules", NULL },
	{ "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
	    "defaultSecurityRules", NULL },
	{ "Microsoft.Storage/storageAccounts/blobServices", "blobServices",
	    "default" },
	{ "Microsoft.Web/sites/config", "siteConfig", "web" },
};

/* One child kept for the join: its compact JSON text. */
struct inventory_child {
	struct inventory_child		*next;
	const struct inventory_join	*join;
	char				*text;
	size_t				 len;
};

/* The children of one parent id (lowercased). */
struct inventory_parent {
	struct inventory_parent	*next;		/* in the bucket */
	char			*key;
	struct inventory_child	*head, *tail;
	size_t			 nchildren;
	size_t			 bytes;
	int			 joined;	/* its parent was seen */
};

struct inventory_table {
	struct inventory_parent	**b;
	size_t			  nb;		/* a power of two, or 0 */
	size_t			  n;		/* parents */
	size_t			  children;
	size_t			  bytes;	/* against INVENTORY_MAX_CHILDREN */
};

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

/* The type an ARM id names ("/subscriptions/S/resourceGroups/G/providers/
 * NS/T1/N1/T2/N2" → "NS/T1/T2") into b: 0, or -1 when it names none (no
 * "/providers/", or a type segment without its name). */
static int
inventory_id_type(const char *id, struct buf *b)
{
	const char	*p, *q, *seg;
	size_t		 len, i, nseg = 0;

	for (p = NULL, q = id; (q = strchr(q, '/')) != NULL; q++)
		if (strncasecmp(q, "/providers/", 11) == 0)
			p = q + 11;
	if (p == NULL)
		return -1;
	buf_reset(b);
	for (seg = p; *seg != '\0'; seg += len + (seg[len] == '/')) {
		len = strcspn(seg, "/");
		if (len == 0)
			return -1;
		/* NS, T1, N1, T2, N2, …: the names are left out. */
		i = nseg++;
		if (i == 0 || i % 2 == 1) {
			if ((i > 0 && buf_append(b, "/", 1) == -1) ||
			    buf_append(b, seg, len) == -1)
				return -1;
		}
	}
	return nseg >= 3 && nseg % 2 == 1 ? 0 : -1;
}

/* Check one resource and emit it: an object with a string "id" and a
 * string "type", or none that its id gives (inventory_complete adds it).
 * 0 or -1 with err set. */
static int
inventory_one(json_object *res, const char *name, size_t idx, int listed,
    connector_emit emit, void *arg, char *err, size_t errsz)
{
	struct buf	 tb;
	json_object	*id, *type;
	char		 where[32] = "";
	int		 r, ok;

	buf_init(&tb, INVENTORY_PATH_MAX);
	ok = json_object_is_type(res, json_type_object) &&
	    json_object_object_get_ex(res, "id", &id) &&
	    json_object_is_type(id, json_type_string) &&
	    (json_object_object_get_ex(res, "type", &type) ?
	    json_object_is_type(type, json_type_string) :
	    inventory_id_type(json_object_get_string(id), &tb) == 0);
	buf_free(&tb);
	if (!ok) {
		if (listed)
			snprintf(where, sizeof(where), " item %zu", idx);
		snprintf(err, errsz, "%s%s: not an ARM resource (an object "
		    "with string \"id\" and \"type\")", name, where);
		return -1;
	}
	if ((r = emit(arg, res)) != 0) {
		snprintf(err, errsz, "collection stopped by the caller (%d)",
		    r);
		return -1;
	}
	return 0;
}

/* Before a resource is emitted: "type" from its id when missing (the REST
 * API specification's own list examples leave it out of NSG security
 * rules) or in ARM's spelling, "subscriptionId" from its id when missing. A child kept for the
 * join is not completed: it goes into its parent as exported, as ARM
 * embeds it. 0, or -1 out of memory. */
static int
inventory_complete(json_object *res)
{
	struct buf	 tb;
	json_object	*id, *t, *s = NULL;
	const char	*ids, *sub;
	size_t		 sublen, i;
	int		 rc = -1;

	buf_init(&tb, INVENTORY_PATH_MAX);
	json_object_object_get_ex(res, "id", &id);
	ids = json_object_get_string(id);
	/* Resource Graph lowercases types: the ones Vigil collects get ARM's
	 * spelling back, so a finding's resource_type reads the same however
	 * the estate was exported. */
	if (json_object_object_get_ex(res, "type", &t))
		for (i = 0; i < azure_napis; i++)
			if (strcasecmp(json_object_get_string(t),
			    azure_apis[i].type) == 0 &&
			    strcmp(json_object_get_string(t),
			    azure_apis[i].type) != 0) {
				if ((s = json_object_new_string(
				    azure_apis[i].type)) == NULL ||
				    json_object_object_add(res, "type", s) !=
				    0)
					goto out;
				s = NULL;
				break;
			}
	if (!json_object_object_get_ex(res, "type", NULL)) {
		if (inventory_id_type(ids, &tb) == -1 || (s =
		    json_object_new_string_len(tb.data, (int)tb.len)) == NULL ||
		    json_object_object_add(res, "type", s) != 0)
			goto out;
		s = NULL;
	}
	if (!json_object_object_get_ex(res, "subscriptionId", NULL) &&
	    strncasecmp(ids, "/subscriptions/", 15) == 0) {
		sub = ids + 15;
		sublen = strcspn(sub, "/");
		if (sublen > 0 && ((s = json_object_new_string_len(sub,
		    (int)sublen)) == NULL || json_object_object_add(res,
		    "subscriptionId", s) != 0))
			goto out;
		s = NULL;
	}
	rc = 0;
out:
	json_object_put(s);
	buf_free(&tb);
	return rc;
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
	    (json_object_object_get_ex(root, "value", &list) ||
	    json_object_object_get_ex(root, "data", &list)) &&
	    !json_object_is_type(list, json_type_array)) {
		snprintf(err, errsz, "%s: \"value\" or \"data\" is not an "
		    "array", name);
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
	const struct armstream *s;	/* its framer, when it notes each
					 * item's "type" and "id" */
};

static int
inventory_item(void *arg, json_object *res, size_t idx)
{
	struct inventory_lister	*l = arg;

	return inventory_one(res, l->name, idx, 1, l->emit, l->arg, l->err,
	    l->errsz) == -1 ? 1 : 0;
}

/* A Resource Graph answer in its table format ({"data":{"columns":…,
 * "rows":…}}) has no resources to read one by one; say how to get them. */
static const char *
inventory_list_hint(const struct armstream *s)
{
	return s->list_key != NULL && strcmp(s->list_key, "data") == 0 ?
	    " (a Resource Graph table: export with resultFormat objectArray)" :
	    "";
}

static int inventory_maybe_child(void *, const char *, size_t);
static int inventory_maybe_child_framed(void *, const char *, size_t);

/*
 * An object's file read by the first pass of the join in one read, not
 * two: as a list page, its items (those want accepts) kept by the reader
 * until the page is known to be one ({"value":[…]} without an "id", each
 * member good JSON, the whole well formed), then parsed and emitted in
 * order. Returns how many items were read, or -1 with err set as
 * inventory_stream would (an item's failure, a read error); -2 when the
 * file is not such a page or fails as one, or its kept items pass
 * ARMSTREAM_DEFER_MAX: nothing was emitted, and the caller reads it as
 * before (the framing pass first, then as its shape says), so that what it
 * says of the file is what it always said.
 */
static long
inventory_stream_deferred(const struct inventory_src *src,
    armstream_want_fn want, const struct armprune *prune,
    struct inventory_lister *l, char *shape, char *err, size_t errsz)
{
	struct armstream	 s;
	long			 rc = -2;
	int			 r;

	armstream_init(&s, INVENTORY_MAX_RESOURCE, INVENTORY_MAX_DEPTH,
	    ARMSTREAM_ARRAY_ROOT | ARMSTREAM_DATA_LIST | ARMSTREAM_DEFER |
	    (want == inventory_maybe_child ? ARMSTREAM_TOP_KEYS : 0),
	    inventory_item, l);
	/* The framer notes each item's own members as it reads it: the
	 * child filter need not walk the item again. */
	l->s = &s;
	s.want = want == inventory_maybe_child ? inventory_maybe_child_framed :
	    want;
	s.prune = prune;
	if ((r = inventory_feed(src, &s, err, errsz)) == -1) {
		rc = -1;
		goto out;
	}
	if (r == -2 || s.has_id || !s.has_value || !s.value_array)
		goto out;
	*shape = 'l';
	rc = -1;
	if (armstream_replay(&s) == -1) {
		/* inventory_one said why it stopped. */
		if (!s.stopped)
			snprintf(err, errsz, "%s: malformed JSON: %s",
			    src->name, s.err);
		goto out;
	}
	rc = (long)s.items;
out:
	l->s = NULL;
	armstream_free(&s);
	return rc;
}

/*
 * Read one inventory file as a stream, so that memory follows its largest
 * resource rather than its size: a bare array, or an object without "id"
 * whose "value" (or Resource Graph's "data") is an array (found by a
 * first pass that only frames the text), has its items parsed and emitted
 * one by one; anything else is one resource, read whole (at most
 * INVENTORY_MAX_RESOURCE bytes). When want is set, an item (or a whole
 * file) whose text it refuses is not parsed: the first pass of the join
 * reads only what may be a child. *shape, when not 0, is what an earlier
 * read of the file found ('l' a list, 's' one resource), so the framing
 * pass is not made again; it is set when 0. Returns how many resources
 * were read, or -1 with err set (naming the file).
 */
static long
inventory_stream(const struct inventory_src *src, char *shape,
    armstream_want_fn want, const struct armprune *prune,
    connector_emit emit, void *arg, char *err, size_t errsz)
{
	struct inventory_lister	 l = { src->name, emit, arg, err, errsz,
	    NULL };
	struct armstream	 s;
	struct buf		 text;
	long			 rc = -1;
	int			 first, r, list = 0;

	armstream_init(&s, INVENTORY_MAX_RESOURCE, INVENTORY_MAX_DEPTH,
	    ARMSTREAM_ARRAY_ROOT | ARMSTREAM_DATA_LIST | ARMSTREAM_FRAME_ONLY,
	    NULL, NULL);
	buf_init(&text, INVENTORY_MAX_RESOURCE);
	if (*shape != 0)
		first = 0;
	else if ((first = inventory_first(src, err, errsz)) == -2)
		goto out;
	if (*shape == 'l' || first == '[')
		list = 1;
	else if (first == '{' && want != NULL) {
		if ((rc = inventory_stream_deferred(src, want, prune, &l,
		    shape, err, errsz)) != -2)
			goto out;
		rc = -1;
	}
	if (!list && first == '{') {
		if ((r = inventory_feed(src, &s, err, errsz)) == -1)
			goto out;
		if (r == -2) {
			snprintf(err, errsz, "%s: malformed JSON: %s",
			    src->name, s.err);
			goto out;
		}
		if (!s.has_id && s.has_value) {
			if (!s.value_array) {
				snprintf(err, errsz, "%s: \"%s\" is not an "
				    "array%s", src->name, s.list_key,
				    inventory_list_hint(&s));
				goto out;
			}
			list = 1;
		}
	}
	*shape = list ? 'l' : 's';
	if (!list) {
		if (inventory_slurp(src, &text, err, errsz) == -1)
			goto out;
		if (want != NULL && !want(NULL, text.data != NULL ? text.data :
		    "", text.len)) {
			rc = 0;
			goto out;
		}
		rc = inventory_parse_whole(text.data != NULL ? text.data : "",
		    text.len, src->name, emit, arg, err, errsz);
		goto out;
	}
	armstream_free(&s);
	armstream_init(&s, INVENTORY_MAX_RESOURCE, INVENTORY_MAX_DEPTH,
	    ARMSTREAM_ARRAY_ROOT | ARMSTREAM_DATA_LIST, inventory_item, &l);
	s.want = want;
	s.prune = prune;
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

/* -- the join ------------------------------------------------------------ */

static unsigned long
inventory_hash(const char *key)
{
	unsigned long	 h = 2166136261UL;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)tolower((unsigned char)*key);
		h *= 16777619UL;
	}
	return h;
}

static void
inventory_table_free(struct inventory_table *t)
{
	struct inventory_parent	*p, *pn;
	struct inventory_child	*c, *cn;
	size_t			 i;

	for (i = 0; i < t->nb; i++)
		for (p = t->b[i]; p != NULL; p = pn) {
			pn = p->next;
			for (c = p->head; c != NULL; c = cn) {
				cn = c->next;
				free(c->text);
				free(c);
			}
			free(p->key);
			free(p);
		}
	free(t->b);
	memset(t, 0, sizeof(*t));
}

/* The entry of parent id key (ARM ids compare case-insensitively), NULL
 * when absent. */
static struct inventory_parent *
inventory_table_get(const struct inventory_table *t, const char *key)
{
	struct inventory_parent	*p;

	if (t->nb == 0)
		return NULL;
	for (p = t->b[inventory_hash(key) & (t->nb - 1)]; p != NULL;
	    p = p->next)
		if (strcasecmp(p->key, key) == 0)
			return p;
	return NULL;
}

/* Double the buckets when the parents outnumber them: 0 or -1. */
static int
inventory_table_grow(struct inventory_table *t)
{
	struct inventory_parent	**nb, *p, *pn;
	size_t			  n, i, h;

	if (t->n < t->nb)
		return 0;
	n = t->nb == 0 ? 256 : t->nb * 2;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	for (i = 0; i < t->nb; i++)
		for (p = t->b[i]; p != NULL; p = pn) {
			pn = p->next;
			h = inventory_hash(p->key) & (n - 1);
			p->next = nb[h];
			nb[h] = p;
		}
	free(t->b);
	t->b = nb;
	t->nb = n;
	return 0;
}

/* The last segment of an ARM id, and the length of its parent's id (the
 * id without its last two segments): 0, or -1 when it has no parent. */
static int
inventory_split(const char *id, const char **last, size_t *parentlen)
{
	const char	*a, *b;

	if ((a = strrchr(id, '/')) == NULL || a[1] == '\0')
		return -1;
	*last = a + 1;
	for (b = a; b > id && b[-1] != '/'; b--)
		;
	if (b <= id + 1)
		return -1;
	*parentlen = (size_t)(b - 1 - id);
	return 0;
}

/* What joins res into its parent, or NULL when it is a resource of its
 * own. res has a string "id", and a string "type" or an id that gives one
 * (inventory_one checked). */
static const struct inventory_join *
inventory_child_kind(json_object *res, const char **id, size_t *parentlen,
    struct buf *tb)
{
	json_object	*o;
	const char	*type, *last;
	size_t		 i;

	json_object_object_get_ex(res, "id", &o);
	*id = json_object_get_string(o);
	if (json_object_object_get_ex(res, "type", &o))
		type = json_object_get_string(o);
	else if (inventory_id_type(*id, tb) == 0)
		type = tb->data;
	else
		return NULL;
	for (i = 0; i < NELEM(inventory_joins); i++) {
		if (strcasecmp(type, inventory_joins[i].type) != 0)
			continue;
		if (inventory_split(*id, &last, parentlen) == -1)
			return NULL;
		if (inventory_joins[i].name != NULL &&
		    strcasecmp(last, inventory_joins[i].name) != 0)
			return NULL;
		return &inventory_joins[i];
	}
	return NULL;
}

/* 1 if type (len bytes, as written in JSON: a backslash in it means
 * "maybe") is a joined child type. */
static int
inventory_join_type(const char *type, size_t len)
{
	size_t	 i;

	if (memchr(type, '\\', len) != NULL)
		return 1;
	for (i = 0; i < NELEM(inventory_joins); i++)
		if (strlen(inventory_joins[i].type) == len &&
		    strncasecmp(type, inventory_joins[i].type, len) == 0)
			return 1;
	return 0;
}

/* May an item whose own "type" (or, without one, "id") is these bytes
 * as written in JSON (NULL: none) be a child? */
static int
inventory_maybe_kind(const char *type, size_t typelen, const char *id,
    size_t idlen)
{
	struct buf	 ib, tb;
	int		 r;

	if (type != NULL)
		return inventory_join_type(type, typelen);
	if (id == NULL || memchr(id, '\\', idlen) != NULL)
		return 1;
	/* An id too long for an ARM id is refused by the second pass. */
	buf_init(&ib, INVENTORY_PATH_MAX);
	buf_init(&tb, INVENTORY_PATH_MAX);
	r = buf_append(&ib, id, idlen) == 0 && inventory_id_type(ib.data,
	    &tb) == 0 && inventory_join_type(tb.data, tb.len);
	buf_free(&ib);
	buf_free(&tb);
	return r;
}

/*
 * armstream_want_fn of the first pass: may the item in text be a child?
 * Only its own "type" (or, without one, the type its "id" names) decides,
 * found by a walk over the members of its outer object that skips what is
 * nested, so that a parent whose embedded children name their types is not
 * parsed for nothing. What the walk cannot be sure of is parsed: the
 * check after parsing is the exact one.
 */
static int
inventory_maybe_child(void *arg, const char *text, size_t len)
{
	const char	*key = NULL, *str = NULL, *type = NULL, *id = NULL;
	size_t		 i, keylen = 0, typelen = 0, idlen = 0, depth = 0;
	int		 c, in_str = 0, esc = 0, want_key = 0;

	(void)arg;
	for (i = 0; i < len; i++) {
		c = (unsigned char)text[i];
		if (in_str) {
			if (!esc && c != '"' && c != '\\') {
				i += armstream_str_run(text + i, len - i);
				if (i == len)
					break;
				c = (unsigned char)text[i];
			}
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"') {
				in_str = 0;
				if (depth != 1)
					continue;
				if (want_key) {
					key = str;
					keylen = (size_t)(text + i - str);
					want_key = 0;
					/* "ty\u0070e" is "type" to json-c. */
					if (memchr(key, '\\', keylen) != NULL)
						return 1;
				} else if (key != NULL) {
					if (keylen == 4 &&
					    memcmp(key, "type", 4) == 0) {
						type = str;
						typelen = (size_t)(text + i -
						    str);
					} else if (keylen == 2 &&
					    memcmp(key, "id", 2) == 0) {
						id = str;
						idlen = (size_t)(text + i -
						    str);
					}
					key = NULL;
				}
			}
			continue;
		}
		if (c == '"') {
			in_str = 1;
			str = text + i + 1;
		} else if (c == '{' || c == '[') {
			if (++depth == 1)
				want_key = c == '{';
		} else if (c == '}' || c == ']') {
			if (depth > 0)
				depth--;
		} else if (depth == 1 && c == ',') {
			want_key = 1;
			key = NULL;
		}
	}
	return inventory_maybe_kind(type, typelen, id, idlen);
}

/* inventory_maybe_child from what the framer noted of the item's own
 * members as it read it (ARMSTREAM_TOP_KEYS): the same answer, without
 * walking the item again. */
static int
inventory_maybe_child_framed(void *arg, const char *text, size_t len)
{
	const struct armstream_top	*t = &((struct inventory_lister *)
					    arg)->s->top;

	(void)len;
	if (t->esc_key)
		return 1;
	return inventory_maybe_kind(t->has_type ? text + t->type_off : NULL,
	    t->type_len, t->has_id ? text + t->id_off : NULL, t->id_len);
}

/* One pass over every source. */
struct inventory_pass {
	int			 keep;		/* 1: the first pass */
	struct inventory_table	*t;
	connector_emit		 emit;		/* the second pass's */
	void			*arg;
	const struct armprune	*prune;		/* the second pass's */
	const char		*name;		/* the source being read */
	size_t			 emitted;
	size_t			 joined;	/* children into parents */
	size_t			 unkept;	/* children only the second
						 * pass saw */
	char			 err[512];	/* why the pass stopped it */
};

/* Keep child res, of kind j, under its parent's id. 0 or -1 (p->err). */
static int
inventory_keep(struct inventory_pass *p, json_object *res,
    const struct inventory_join *j, const char *id, size_t parentlen)
{
	struct inventory_table	*t = p->t;
	struct inventory_parent	*par;
	struct inventory_child	*c = NULL;
	const char		*text;
	char			*key = NULL;
	size_t			 len, cost;

	if ((key = strndup(id, parentlen)) == NULL)
		goto oom;
	text = json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	len = text != NULL ? strlen(text) : 0;
	if (text == NULL)
		goto oom;
	cost = len + sizeof(*c);
	if ((par = inventory_table_get(t, key)) == NULL)
		cost += sizeof(*par) + parentlen + 1;
	if (cost > INVENTORY_MAX_CHILDREN - t->bytes) {
		snprintf(p->err, sizeof(p->err), "%s: the child resources "
		    "exported on their own take more than %zu MiB to join "
		    "(split the estate into several integrations)", p->name,
		    INVENTORY_MAX_CHILDREN >> 20);
		free(key);
		return -1;
	}
	if (par != NULL && len > INVENTORY_MAX_RESOURCE - par->bytes) {
		snprintf(p->err, sizeof(p->err), "%s: the children of "
		    "%.200s are larger than %zu bytes together", p->name, key,
		    INVENTORY_MAX_RESOURCE);
		free(key);
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->text = strdup(text)) == NULL)
		goto oom;
	c->len = len;
	c->join = j;
	if (par == NULL) {
		if (inventory_table_grow(t) == -1 ||
		    (par = calloc(1, sizeof(*par))) == NULL)
			goto oom;
		par->key = key;
		key = NULL;
		par->next = t->b[inventory_hash(par->key) & (t->nb - 1)];
		t->b[inventory_hash(par->key) & (t->nb - 1)] = par;
		t->n++;
	}
	if (par->tail != NULL)
		par->tail->next = c;
	else
		par->head = c;
	par->tail = c;
	par->nchildren++;
	par->bytes += len;
	t->children++;
	t->bytes += cost;
	free(key);
	return 0;
oom:
	if (c != NULL)
		free(c->text);
	free(c);
	free(key);
	snprintf(p->err, sizeof(p->err), "out of memory");
	return -1;
}

/* 1 if list arr already holds an object whose "id" is id. */
static int
inventory_has_id(json_object *arr, const char *id)
{
	json_object	*e, *v;
	size_t		 i, n = json_object_array_length(arr);

	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		if (json_object_object_get_ex(e, "id", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    strcasecmp(json_object_get_string(v), id) == 0)
			return 1;
	}
	return 0;
}

/* Put par's children into res as ARM (or the Azure connector) embeds
 * them. What res already embeds stays: a listed child with the same id is
 * not added twice, a singleton already there is not replaced. 0 or -1
 * (p->err). */
static int
inventory_join_into(struct inventory_pass *p, json_object *res,
    struct inventory_parent *par)
{
	struct vjson_err	 verr;
	struct inventory_child	*c;
	json_object		*props, *child, *slot, *v, *cid;
	const char		*id;

	if (json_object_object_get_ex(res, "properties", &props) &&
	    props != NULL) {
		if (!json_object_is_type(props, json_type_object)) {
			snprintf(p->err, sizeof(p->err), "%s: %.200s: "
			    "\"properties\" is not an object", p->name,
			    par->key);
			return -1;
		}
	} else if ((props = json_object_new_object()) == NULL ||
	    json_object_object_add(res, "properties", props) != 0)
		goto oom;
	for (c = par->head; c != NULL; c = c->next) {
		if ((child = vjson_parse(c->text, c->len, INVENTORY_MAX_DEPTH,
		    INVENTORY_MAX_RESOURCE, &verr)) == NULL)
			goto oom;
		slot = NULL;
		json_object_object_get_ex(props, c->join->field, &slot);
		if (c->join->name == NULL) {
			if (slot == NULL) {
				if ((slot = json_object_new_array()) == NULL ||
				    json_object_object_add(props,
				    c->join->field, slot) != 0) {
					json_object_put(child);
					goto oom;
				}
			} else if (!json_object_is_type(slot,
			    json_type_array)) {
				json_object_put(child);
				snprintf(p->err, sizeof(p->err), "%s: %.200s: "
				    "properties.%s is not a list", p->name,
				    par->key, c->join->field);
				return -1;
			}
			json_object_object_get_ex(child, "id", &cid);
			id = json_object_get_string(cid);
			if (inventory_has_id(slot, id)) {
				json_object_put(child);
				continue;
			}
			if (json_object_array_add(slot, child) != 0) {
				json_object_put(child);
				goto oom;
			}
		} else {
			/* The child exported on its own replaces what its
			 * parent embeds, as the Azure connector's own GET of
			 * it does: a list or a GET of sites embeds a
			 * siteConfig with most fields null, config/web has
			 * them (json_object_object_add replaces the key). */
			if (json_object_object_get_ex(child, "properties", &v) &&
			    json_object_is_type(v, json_type_object))
				v = json_object_get(v);
			else
				v = json_object_get(child);
			json_object_put(child);
			if (json_object_object_add(props, c->join->field, v) !=
			    0) {
				json_object_put(v);
				goto oom;
			}
		}
		p->joined++;
	}
	par->joined = 1;
	return 0;
oom:
	snprintf(p->err, sizeof(p->err), "out of memory");
	return -1;
}

/* connector_emit of both passes. */
static int
inventory_pass_item(void *arg, json_object *res)
{
	struct inventory_pass		*p = arg;
	const struct inventory_join	*j;
	struct inventory_parent		*par;
	struct buf			 tb;
	const char			*id;
	char				*key;
	size_t				 parentlen;
	int				 r;

	buf_init(&tb, INVENTORY_PATH_MAX);
	j = inventory_child_kind(res, &id, &parentlen, &tb);
	buf_free(&tb);
	if (p->keep)
		return j != NULL && inventory_keep(p, res, j, id, parentlen) ==
		    -1 ? 1 : 0;
	/* A child was kept by the first pass: it is evaluated as part of
	 * its parent, never on its own. One the first pass did not keep (the
	 * file changed in between) is not dropped unsaid either. */
	if (j != NULL) {
		if ((key = strndup(id, parentlen)) == NULL) {
			snprintf(p->err, sizeof(p->err), "out of memory");
			return 1;
		}
		if (inventory_table_get(p->t, key) == NULL) {
			p->unkept++;
			log_warn("inventory: %s: %.200s not evaluated: it was "
			    "not there when the inventory was first read",
			    p->name, id);
		}
		free(key);
		return 0;
	}
	if (inventory_complete(res) == -1) {
		snprintf(p->err, sizeof(p->err), "out of memory");
		return 1;
	}
	if ((par = inventory_table_get(p->t, id)) != NULL &&
	    inventory_join_into(p, res, par) == -1)
		return 1;
	if ((r = p->emit(p->arg, res)) != 0)
		return r;
	p->emitted++;
	return 0;
}

/* Open top/rel and read it as a stream; as inventory_stream. */
static long
inventory_file(const char *top, const char *rel, char *shape,
    armstream_want_fn want, const struct armprune *prune,
    connector_emit emit, void *arg, char *err, size_t errsz)
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
	rc = inventory_stream(&src, shape, want, prune, emit, arg, err,
	    errsz);
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

/* One pass over the files paths[0..n) of dir, or over the text mem,
 * shapes[i] the shape of each as inventory_stream keeps it. 0, or -1 with
 * err set. */
static int
inventory_pass_run(const char *dir, char **paths, size_t n,
    const struct inventory_src *mem, char *shapes, struct inventory_pass *p,
    char *err, size_t errsz)
{
	armstream_want_fn	 want = p->keep ? inventory_maybe_child : NULL;
	/* Children are kept whole by the first pass: they are evidence. */
	const struct armprune	*prune = p->keep ? NULL : p->prune;
	size_t			 i;
	long			 got;

	for (i = 0; i < (mem != NULL ? 1 : n); i++) {
		p->name = mem != NULL ? mem->name : paths[i];
		p->err[0] = '\0';
		got = mem != NULL ? inventory_stream(mem, &shapes[i], want,
		    prune, inventory_pass_item, p, err, errsz) :
		    inventory_file(dir, paths[i], &shapes[i], want, prune,
		    inventory_pass_item, p, err, errsz);
		if (got == -1) {
			/* The join's own reason rather than "stopped". */
			if (p->err[0] != '\0')
				snprintf(err, errsz, "%s", p->err);
			return -1;
		}
	}
	return 0;
}

/* The first pass over the later files, on a thread of its own, into a
 * table of its own (inventory_first_pass). */
struct inventory_half {
	const char		*dir;
	char			**paths;
	size_t			 n;
	char			*shapes;
	struct inventory_table	 t;
	struct inventory_pass	 p;
	int			 rc;
	char			 err[512];
};

static void *
inventory_half_main(void *arg)
{
	struct inventory_half	*h = arg;

	h->rc = inventory_pass_run(h->dir, h->paths, h->n, NULL, h->shapes,
	    &h->p, h->err, sizeof(h->err));
	return NULL;
}

/* Move the children of t2, kept from files read after t1's, into t1: each
 * parent's go after those t1 holds, as one pass in file order puts them.
 * 0, or -1 (t1 untouched) when the two together pass a cap inventory_keep
 * enforces or memory runs out: then the caller reads t2's files again
 * into t1, so that the failure is the one pass's, naming its file. */
static int
inventory_table_merge(struct inventory_table *t1, struct inventory_table *t2)
{
	struct inventory_parent	*p2, *pn, *par;
	size_t			 i, bytes = t1->bytes + t2->bytes, n = t1->n;

	if (t2->n == 0)
		return 0;
	for (i = 0; i < t2->nb; i++)
		for (p2 = t2->b[i]; p2 != NULL; p2 = p2->next) {
			if ((par = inventory_table_get(t1, p2->key)) == NULL) {
				n++;
				continue;
			}
			if (p2->bytes > INVENTORY_MAX_RESOURCE - par->bytes)
				return -1;
			/* One parent's entry, not two. */
			bytes -= sizeof(*p2) + strlen(p2->key) + 1;
		}
	if (bytes > INVENTORY_MAX_CHILDREN)
		return -1;
	/* Buckets for every parent first, so that nothing below fails. */
	while (t1->nb < n || t1->nb == 0) {
		size_t keep = t1->n;

		t1->n = t1->nb;
		if (inventory_table_grow(t1) == -1) {
			t1->n = keep;
			return -1;
		}
		t1->n = keep;
	}
	for (i = 0; i < t2->nb; i++) {
		for (p2 = t2->b[i]; p2 != NULL; p2 = pn) {
			pn = p2->next;
			if ((par = inventory_table_get(t1, p2->key)) == NULL) {
				size_t h = inventory_hash(p2->key) &
				    (t1->nb - 1);

				p2->next = t1->b[h];
				t1->b[h] = p2;
				t1->n++;
				continue;
			}
			par->tail->next = p2->head;
			par->tail = p2->tail;
			par->nchildren += p2->nchildren;
			par->bytes += p2->bytes;
			free(p2->key);
			free(p2);
		}
		t2->b[i] = NULL;
	}
	t1->children += t2->children;
	t1->bytes = bytes;
	inventory_table_free(t2);
	return 0;
}

/* The first pass, which keeps the children: over many files, the later
 * half is read by a second thread into a table of its own and merged
 * after, so that the pass, during which the scan has nothing else to do,
 * takes half the time on two cores. Whatever that thread meets that one
 * pass would not have (a failure, a cap passed once merged), the later
 * half is read again here, as one pass would. 0, or -1 with err set. */
static int
inventory_first_pass(const char *dir, char **paths, size_t n,
    const struct inventory_src *mem, char *shapes, struct inventory_pass *p,
    char *err, size_t errsz)
{
	struct inventory_half	 h;
	pthread_t		 th;
	size_t			 k = n / 2;
	int			 rc;

	if (mem != NULL || n < 2)
		return inventory_pass_run(dir, paths, n, mem, shapes, p, err,
		    errsz);
	memset(&h, 0, sizeof(h));
	h.dir = dir;
	h.paths = paths + k;
	h.n = n - k;
	h.shapes = shapes + k;
	h.p = *p;
	h.p.t = &h.t;
	h.rc = -1;
	if (pthread_create(&th, NULL, inventory_half_main, &h) != 0)
		return inventory_pass_run(dir, paths, n, mem, shapes, p, err,
		    errsz);
	rc = inventory_pass_run(dir, paths, k, NULL, shapes, p, err, errsz);
	pthread_join(th, NULL);
	if (rc == 0 && (h.rc != 0 || inventory_table_merge(p->t, &h.t) != 0)) {
		memset(shapes + k, 0, n - k);
		rc = inventory_pass_run(dir, paths + k, n - k, NULL, shapes + k,
		    p, err, errsz);
	}
	inventory_table_free(&h.t);
	return rc;
}

/* Both passes of the join, then the orphans counted and logged. */
static int
inventory_join_run(const char *dir, char **paths, size_t n,
    const struct inventory_src *mem, const struct armprune *prune,
    connector_emit emit, void *arg, struct inventory_stats *st, char *err,
    size_t errsz)
{
	struct inventory_table	 t;
	struct inventory_pass	 p;
	struct inventory_parent	*par;
	char			*shapes;
	size_t			 i;
	int			 rc = -1;

	memset(&t, 0, sizeof(t));
	memset(&p, 0, sizeof(p));
	memset(st, 0, sizeof(*st));
	if ((shapes = calloc(n > 0 ? n : 1, 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	p.t = &t;
	p.emit = emit != NULL ? emit : inventory_noemit;
	p.arg = arg;
	p.prune = prune;
	p.keep = 1;
	if (inventory_first_pass(dir, paths, n, mem, shapes, &p, err, errsz) ==
	    -1)
		goto out;
	p.keep = 0;
	if (inventory_pass_run(dir, paths, n, mem, shapes, &p, err, errsz) ==
	    -1)
		goto out;
	st->resources = p.emitted;
	st->children = t.children;
	st->joined = p.joined;
	for (i = 0; i < t.nb; i++)
		for (par = t.b[i]; par != NULL; par = par->next) {
			if (par->joined)
				continue;
			st->orphans += par->nchildren;
			if (st->orphan_parents++ < INVENTORY_ORPHANS_LOGGED)
				log_warn("inventory: %zu child resource(s) of "
				    "%s not evaluated: that parent is not in "
				    "the inventory", par->nchildren, par->key);
		}
	st->orphans += p.unkept;
	if (st->orphans > 0)
		log_warn("inventory: %zu child resource(s) of %zu absent "
		    "parent(s) not evaluated", st->orphans, st->orphan_parents);
	rc = 0;
out:
	free(shapes);
	inventory_table_free(&t);
	return rc;
}

/* Returns how many resources were emitted, or -1 with err set. */
long
inventory_parse(const char *text, size_t len, const char *name,
    connector_emit emit, void *arg, char *err, size_t errsz)
{
	struct inventory_src	 src = { text, len, -1, name };
	struct inventory_stats	 st;

	if (inventory_join_run(NULL, NULL, 0, &src, NULL, emit, arg, &st, err,
	    errsz) == -1)
		return -1;
	return (long)st.resources;
}

int
inventory_read(const char *dir, connector_emit emit, void *arg,
    struct inventory_stats *st, char *err, size_t errsz)
{
	return inventory_read_pruned(dir, NULL, emit, arg, st, err, errsz);
}

int
inventory_read_pruned(const char *dir, const struct armprune *prune,
    connector_emit emit, void *arg, struct inventory_stats *st, char *err,
    size_t errsz)
{
	char		**paths = NULL;
	size_t		 n = 0;
	int		 rc = -1;

	memset(st, 0, sizeof(*st));
	if (inventory_list(dir, &paths, &n, err, errsz) == -1)
		goto out;
	if (n == 0) {
		snprintf(err, errsz, "no *.json files in %s", dir);
		goto out;
	}
	rc = inventory_join_run(dir, paths, n, NULL, prune, emit, arg, st,
	    err, errsz);
out:
	inventory_paths_free(paths, n);
	return rc;
}

static int
inventory_collect(struct connector *c, connector_emit emit, void *arg,
    char *err, size_t errsz)
{
	struct inventory	*inv = c->priv;
	struct inventory_stats	 st;

	if (inventory_read_pruned(inv->dir, c->prune, emit, arg, &st, err,
	    errsz) == -1) {
		log_warn("inventory: %s", err);
		return -1;
	}
	log_info("inventory: %zu resources read from %s (%zu child "
	    "resources joined into them, %zu without their parent)",
	    st.resources, inv->dir, st.joined, st.orphans);
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
	struct inventory_stats	 ist;
	struct stat		 st;

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
	return inventory_read(dir, NULL, NULL, &ist, err, errsz);
}
