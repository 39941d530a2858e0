/* check_inventory.c: the inventory connector over a temporary directory —
 * both file shapes, order, recursion, caps, malformed files named, and
 * read-only patching. */
#include "vigil.h"

#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "armstream.h"
#include "buf.h"
#include "connector.h"
#include "crypto.h"
#include "findings.h"
#include "inventory.h"
#include "rules.h"
#include "suites.h"
#include "vjson.h"

#ifndef VIGIL_TOP_SRCDIR
#define VIGIL_TOP_SRCDIR "."
#endif

/* What the emitter saw: ids in order, and subscriptionIds. */
struct seen {
	char	 ids[64][128];
	char	 subs[64][64];
	size_t	 n;
	size_t	 stop_at;	/* non-zero: return 7 at this count */
	int	 count_only;	/* only count (more than 64 resources) */
};

static int
seen_emit(void *arg, json_object *res)
{
	struct seen	*s = arg;
	json_object	*v;

	if (s->count_only) {
		s->n++;
		return 0;
	}
	ck_assert_uint_lt(s->n, 64);
	json_object_object_get_ex(res, "id", &v);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s",
	    json_object_get_string(v));
	s->subs[s->n][0] = '\0';
	if (json_object_object_get_ex(res, "subscriptionId", &v))
		snprintf(s->subs[s->n], sizeof(s->subs[0]), "%s",
		    json_object_get_string(v));
	s->n++;
	return s->stop_at != 0 && s->n == s->stop_at ? 7 : 0;
}

static void
put_file(const char *dir, const char *rel, const char *text)
{
	char	 p[512];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void
rm_tree(const char *dir)
{
	char	 cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

#define RES(sub, name) "{\"id\":\"/subscriptions/" sub "/resourceGroups/rg/" \
	"providers/Microsoft.KeyVault/vaults/" name "\",\"type\":" \
	"\"Microsoft.KeyVault/vaults\",\"name\":\"" name "\"}"

START_TEST(test_inventory_parse)
{
	static const struct {
		const char	*text;
		long		 n;
		const char	*err;	/* substring, when n == -1 */
	} t[] = {
		{ RES("s1", "a"), 1, NULL },
		{ "{\"value\":[" RES("s1", "a") "," RES("s2", "b") "]}", 2,
		    NULL },
		{ "[" RES("s1", "a") "]", 1, NULL },
		{ "{\"value\":[]}", 0, NULL },
		{ "{\"value\":[" RES("s1", "a") "],\"nextLink\":null}", 1,
		    NULL },
		{ "{\"value\":[" RES("s1", "a") ",{\"id\":\"x\"}]}", -1,
		    "f.json item 1: not an ARM resource" },
		{ "{\"value\":[5]}", -1, "item 0" },
		{ "{\"value\":{}}", -1, "\"value\" is not an array" },
		{ "{\"name\":\"x\"}", -1, "not an ARM resource" },
		{ "{\"id\":5,\"type\":\"t\"}", -1, "not an ARM resource" },
		{ "{\"id\":\"/x\"", -1, "f.json: malformed JSON" },
		{ "", -1, "malformed JSON" },
		{ "{} {}", -1, "malformed JSON" },
		{ "null", -1, "malformed JSON" },
		{ "\"str\"", -1, "not an ARM resource" },
		/* An object with an id is one resource, even with a "value"
		 * list before the id. */
		{ "{\"value\":[" RES("s1", "a") "],\"id\":\"/subscriptions/s1/"
		    "x\",\"type\":\"t\"}", 1, NULL },
		{ "{\"nextLink\":\"n\",\"value\":[" RES("s1", "a") "]}", 1,
		    NULL },
		{ "{\"value\":[" RES("s1", "a") "],\"value\":[]}", -1,
		    "\"value\" twice" },
		{ "[" RES("s1", "a") "," RES("s1", "b") "", -1,
		    "f.json: malformed JSON: truncated" },
	};
	struct seen	 s;
	char		 err[256];
	size_t		 i;
	long		 got;

	for (i = 0; i < NELEM(t); i++) {
		memset(&s, 0, sizeof(s));
		err[0] = '\0';
		got = inventory_parse(t[i].text, strlen(t[i].text), "f.json",
		    seen_emit, &s, err, sizeof(err));
		ck_assert_msg(got == t[i].n, "%s: got %ld (%s)", t[i].text,
		    got, err);
		if (t[i].n >= 0)
			ck_assert_uint_eq(s.n, (size_t)t[i].n);
		else
			ck_assert_msg(strstr(err, t[i].err) != NULL,
			    "%s: err %s", t[i].text, err);
	}
	/* subscriptionId comes from the id unless present. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(inventory_parse("{\"value\":[" RES("s1", "a") ","
	    "{\"id\":\"/subscriptions/s2/x\",\"type\":\"t\","
	    "\"subscriptionId\":\"given\"},{\"id\":\"/tenant/x\",\"type\":"
	    "\"t\"}]}", strlen("{\"value\":[" RES("s1", "a") ","
	    "{\"id\":\"/subscriptions/s2/x\",\"type\":\"t\","
	    "\"subscriptionId\":\"given\"},{\"id\":\"/tenant/x\",\"type\":"
	    "\"t\"}]}"), "f", seen_emit, &s, err, sizeof(err)), 3);
	ck_assert_str_eq(s.subs[0], "s1");
	ck_assert_str_eq(s.subs[1], "given");
	ck_assert_str_eq(s.subs[2], "");
	/* The emitter can stop the collection. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	ck_assert_int_eq(inventory_parse("[" RES("s1", "a") "," RES("s1", "b")
	    "]", strlen("[" RES("s1", "a") "," RES("s1", "b") "]"), "f",
	    seen_emit, &s, err, sizeof(err)), -1);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_ptr_nonnull(strstr(err, "stopped"));
}
END_TEST

START_TEST(test_inventory_collect)
{
	char			 dir[] = "/tmp/vigil-invXXXXXX", p[512],
				 err[256];
	struct connector	*c;
	struct seen		 s;
	json_object		*after = (json_object *)&s, *body;
	char			**paths;
	size_t			 n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/sub2", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub2/deeper", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/.git", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	put_file(dir, "b.json", "{\"value\":[" RES("s1", "b1") ","
	    RES("s1", "b2") "]}");
	put_file(dir, "a.json", RES("s1", "a"));
	put_file(dir, "sub2/c.JSON", RES("s2", "c"));
	put_file(dir, "sub2/deeper/d.json", "[" RES("s2", "d") "]");
	put_file(dir, "notes.txt", "not json at all");
	put_file(dir, ".hidden.json", "{broken");
	put_file(dir, ".git/x.json", "{broken");
	snprintf(p, sizeof(p), "%s/loop", dir);
	ck_assert_int_eq(symlink(dir, p), 0);	/* not followed */

	ck_assert_int_eq(inventory_list(dir, &paths, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(paths[0], "a.json");
	ck_assert_str_eq(paths[1], "b.json");
	ck_assert_str_eq(paths[2], "sub2/c.JSON");
	ck_assert_str_eq(paths[3], "sub2/deeper/d.json");
	inventory_paths_free(paths, n);

	ck_assert_int_eq(connector_inventory_check(dir, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(c = connector_inventory_new(dir));
	ck_assert_str_eq(c->type, "inventory");
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(c->collect(c, seen_emit, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.n, 5);
	ck_assert_ptr_nonnull(strstr(s.ids[0], "/vaults/a"));
	ck_assert_ptr_nonnull(strstr(s.ids[1], "/vaults/b1"));
	ck_assert_ptr_nonnull(strstr(s.ids[2], "/vaults/b2"));
	ck_assert_ptr_nonnull(strstr(s.ids[3], "/vaults/c"));
	ck_assert_ptr_nonnull(strstr(s.ids[4], "/vaults/d"));
	ck_assert_str_eq(s.subs[3], "s2");

	/* Read-only. */
	body = json_tokener_parse("{\"properties\":{}}");
	ck_assert_int_eq(c->patch(c, "/subscriptions/s1/x", "2023-07-01",
	    body, &after, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "the inventory connector is read-only");
	ck_assert_ptr_null(after);
	json_object_put(body);

	/* One malformed file fails the whole collection, naming it. */
	put_file(dir, "sub2/deeper/e.json", "{\"value\":[" RES("s2", "e") ",");
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(c->collect(c, seen_emit, &s, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "sub2/deeper/e.json: malformed JSON") !=
	    NULL, "%s", err);
	ck_assert_int_eq(connector_inventory_check(dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "sub2/deeper/e.json"));
	c->free(c);

	/* Empty, missing, relative, a file. */
	rm_tree(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(connector_inventory_check(dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no *.json files"));
	put_file(dir, "a.json", RES("s1", "a"));
	snprintf(p, sizeof(p), "%s/a.json", dir);
	ck_assert_int_eq(connector_inventory_check(p, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
	ck_assert_int_eq(connector_inventory_check("etc/samples", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "absolute"));
	ck_assert_ptr_nonnull(c = connector_inventory_new("/nonexistent/inv"));
	ck_assert_int_eq(c->collect(c, seen_emit, &s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/inv"));
	c->free(c);
	rm_tree(dir);
}
END_TEST

START_TEST(test_inventory_caps)
{
	char			 dir[] = "/tmp/vigil-invXXXXXX", p[512],
				 err[256], deep[2048];
	struct connector	*c;
	struct seen		 s;
	FILE			*f;
	size_t			 i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* One resource over the cap: a sparse file, nothing real written. */
	snprintf(p, sizeof(p), "%s/huge.json", dir);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	ck_assert_int_eq(fseek(f, (long)INVENTORY_MAX_RESOURCE, SEEK_SET), 0);
	fputc('}', f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_nonnull(c = connector_inventory_new(dir));
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(c->collect(c, seen_emit, &s, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "huge.json: file is larger than") != NULL,
	    "%s", err);
	ck_assert_int_eq(unlink(p), 0);

	/* A list larger than one resource may be is read item by item;
	 * an item over the cap fails, naming the file. */
	snprintf(p, sizeof(p), "%s/big.json", dir);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs("{\"value\":[", f);
	for (i = 0; i < 60000; i++)
		fprintf(f, "%s{\"id\":\"/subscriptions/s/resourceGroups/rg/"
		    "providers/Microsoft.KeyVault/vaults/v%zu\",\"type\":"
		    "\"Microsoft.KeyVault/vaults\",\"tags\":{\"pad\":\"%0100d"
		    "\"}}", i > 0 ? "," : "", i, 0);
	fputs("]}", f);
	ck_assert_int_eq(fclose(f), 0);
	memset(&s, 0, sizeof(s));
	s.count_only = 1;
	ck_assert_msg(c->collect(c, seen_emit, &s, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(s.n, 60000);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs("[{\"id\":\"/subscriptions/s/x\",\"type\":\"t\"},"
	    "{\"id\":\"/subscriptions/s/y\",\"type\":\"t\",\"pad\":\"", f);
	for (i = 0; i < INVENTORY_MAX_RESOURCE; i += 64)
		fputs("pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp",
		    f);
	fputs("\"}]", f);
	ck_assert_int_eq(fclose(f), 0);
	memset(&s, 0, sizeof(s));
	s.count_only = 1;
	ck_assert_int_eq(c->collect(c, seen_emit, &s, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "big.json: malformed JSON: an item larger "
	    "than") != NULL, "%s", err);
	/* The first pass (children for the join) reads every file before
	 * anything is emitted, so a fault anywhere evaluates nothing. */
	ck_assert_uint_eq(s.n, 0);
	ck_assert_int_eq(unlink(p), 0);

	/* JSON nested deeper than the parser allows. */
	for (i = 0; i < 200; i++)
		deep[i] = '[';
	deep[i] = '\0';
	put_file(dir, "deep.json", deep);
	ck_assert_int_eq(c->collect(c, seen_emit, &s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "deep.json: malformed JSON"));
	c->free(c);
	rm_tree(dir);
}
END_TEST


/* Every resource emitted, as compact JSON, in order. */
struct kept {
	json_object	*all;
};

static int
kept_emit(void *arg, json_object *res)
{
	struct kept	*k = arg;

	json_object_array_add(k->all, json_object_get(res));
	return 0;
}

/* The JSON of the emitted resource with id (case-sensitive), "" if none. */
static const char *
kept_get(struct kept *k, const char *id, const char *path)
{
	json_object	*r, *v;
	size_t		 i;
	char		 seg[64];
	const char	*p, *e;

	for (i = 0; i < json_object_array_length(k->all); i++) {
		r = json_object_array_get_idx(k->all, i);
		json_object_object_get_ex(r, "id", &v);
		if (strcmp(json_object_get_string(v), id) != 0)
			continue;
		for (p = path; p != NULL && *p != '\0'; p = e) {
			e = strchr(p, '.');
			snprintf(seg, sizeof(seg), "%.*s", e != NULL ?
			    (int)(e - p) : (int)strlen(p), p);
			if (e != NULL)
				e++;
			if (!json_object_object_get_ex(r, seg, &r))
				return "";
		}
		return json_object_to_json_string_ext(r,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	}
	return "";
}

#define SQL	"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/" \
	"servers/db1"
#define NSG	"/subscriptions/s1/resourceGroups/rg/providers/" \
	"Microsoft.Network/networkSecurityGroups/n1"

START_TEST(test_inventory_join)
{
	/* One Resource Graph answer: children before and after their
	 * parents, ids and types in other cases, a child already embedded,
	 * an auditing singleton, a rule without "type", an orphan, and a
	 * site config that is not "web" (a resource of its own). */
	static const char text[] =
	    "{\"totalRecords\":7,\"count\":7,\"data\":["
	    "{\"id\":\"" SQL "/firewallRules/AllowAll\",\"name\":\"AllowAll\","
	    "\"type\":\"microsoft.sql/servers/firewallrules\",\"properties\":"
	    "{\"startIpAddress\":\"0.0.0.0\",\"endIpAddress\":"
	    "\"255.255.255.255\"}},"
	    "{\"id\":\"/SUBSCRIPTIONS/S1/resourcegroups/RG/providers/"
	    "microsoft.sql/servers/DB1/auditingSettings/Default\",\"type\":"
	    "\"Microsoft.Sql/servers/auditingSettings\",\"properties\":"
	    "{\"state\":\"Disabled\"}},"
	    "{\"id\":\"" SQL "\",\"type\":\"microsoft.sql/servers\","
	    "\"properties\":{\"firewallRules\":[{\"id\":\"" SQL
	    "/firewallRules/office\",\"name\":\"office\",\"properties\":"
	    "{\"startIpAddress\":\"1.2.3.4\",\"endIpAddress\":\"1.2.3.4\"}}]}},"
	    "{\"id\":\"" NSG "\",\"type\":"
	    "\"Microsoft.Network/networkSecurityGroups\"},"
	    "{\"id\":\"" NSG "/securityRules/ssh\",\"name\":\"ssh\","
	    "\"properties\":{\"access\":\"Allow\"}},"
	    "{\"id\":\"" SQL "/firewallRules/office\",\"name\":\"office\","
	    "\"type\":\"Microsoft.Sql/servers/firewallRules\",\"properties\":"
	    "{\"startIpAddress\":\"1.2.3.4\",\"endIpAddress\":\"1.2.3.4\"}},"
	    "{\"id\":\"/subscriptions/s1/resourceGroups/rg/providers/"
	    "Microsoft.Sql/servers/gone/firewallRules/x\",\"type\":"
	    "\"Microsoft.Sql/servers/firewallRules\"},"
	    "{\"id\":\"/subscriptions/s1/resourceGroups/rg/providers/"
	    "Microsoft.Web/sites/w/config/appsettings\",\"type\":"
	    "\"Microsoft.Web/sites/config\"}"
	    "],\"facets\":[],\"resultTruncated\":\"false\"}";
	static const char escaped[] =
	    "[{\"id\":\"" NSG "/rules/b\",\"ty\\u0070e\":\"Microsoft."
	    "Network/networkSecurityGroups/securityRules\"},"
	    "{\"id\":\"" NSG "/securityRules/c\",\"type\":\"Microsoft."
	    "Network\\/networkSecurityGroups\\/securityRules\"},"
	    "{\"properties\":{\"securityRules\":[{\"id\":\"" NSG
	    "/securityRules/a\",\"type\":\"Microsoft.Network/"
	    "networkSecurityGroups/securityRules\"}]},\"type\":"
	    "\"Microsoft.Network/networkSecurityGroups\",\"id\":\"" NSG
	    "\"}]";
	struct kept	 k;
	char		 err[256];

	k.all = json_object_new_array();
	err[0] = '\0';
	/* The parents and the appsettings config: 3 emitted. */
	ck_assert_msg(inventory_parse(text, strlen(text), "graph.json",
	    kept_emit, &k, err, sizeof(err)) == 3, "%s", err);
	ck_assert_uint_eq(json_object_array_length(k.all), 3);
	/* Embedded office kept once, AllowAll added after it. */
	ck_assert_str_eq(kept_get(&k, SQL, "properties.firewallRules"),
	    "[{\"id\":\"" SQL "/firewallRules/office\",\"name\":\"office\","
	    "\"properties\":{\"startIpAddress\":\"1.2.3.4\",\"endIpAddress\":"
	    "\"1.2.3.4\"}},{\"id\":\"" SQL "/firewallRules/AllowAll\","
	    "\"name\":\"AllowAll\",\"type\":"
	    "\"microsoft.sql/servers/firewallrules\",\"properties\":"
	    "{\"startIpAddress\":\"0.0.0.0\",\"endIpAddress\":"
	    "\"255.255.255.255\"}}]");
	/* A singleton brings its properties. */
	ck_assert_str_eq(kept_get(&k, SQL, "properties.auditingSettings"),
	    "{\"state\":\"Disabled\"}");
	/* The NSG gets a properties object and its rule, as exported (no
	 * "type" added to a joined child). */
	ck_assert_str_eq(kept_get(&k, NSG, "properties.securityRules"),
	    "[{\"id\":\"" NSG "/securityRules/ssh\",\"name\":\"ssh\","
	    "\"properties\":{\"access\":\"Allow\"}}]");
	/* The emitted resources are completed as before. */
	ck_assert_str_eq(kept_get(&k, NSG, "subscriptionId"), "\"s1\"");
	ck_assert_str_eq(kept_get(&k, "/subscriptions/s1/resourceGroups/rg/"
	    "providers/Microsoft.Web/sites/w/config/appsettings", "type"),
	    "\"Microsoft.Web/sites/config\"");
	json_object_put(k.all);

	/* A resource without "type" gets it from its id; one whose id names
	 * none is refused. */
	k.all = json_object_new_array();
	ck_assert_int_eq(inventory_parse("[{\"id\":\"" NSG "\"}]",
	    strlen("[{\"id\":\"" NSG "\"}]"), "f", kept_emit, &k, err,
	    sizeof(err)), 1);
	ck_assert_str_eq(kept_get(&k, NSG, "type"),
	    "\"Microsoft.Network/networkSecurityGroups\"");
	json_object_put(k.all);
	ck_assert_int_eq(inventory_parse("[{\"id\":\"/subscriptions/s1/"
	    "providers/Microsoft.Sql/servers\"}]", strlen("[{\"id\":\"/"
	    "subscriptions/s1/providers/Microsoft.Sql/servers\"}]"), "f",
	    seen_emit, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "f item 0: not an ARM resource"));

	/* The first pass looks at an item's own "type" without parsing it;
	 * what it cannot be sure of (an escaped key or value) is parsed, so a
	 * child is never skipped by one pass and kept by the other. Nested
	 * "type"s (embedded children) do not make the parent a child. (b's
	 * id names another type than its escaped "type" key says.) */
	k.all = json_object_new_array();
	ck_assert_msg(inventory_parse(escaped, strlen(escaped), "f", kept_emit,
	    &k, err, sizeof(err)) == 1, "%s", err);
	ck_assert_str_eq(kept_get(&k, NSG, "properties.securityRules"),
	    "[{\"id\":\"" NSG "/securityRules/a\",\"type\":\"Microsoft."
	    "Network/networkSecurityGroups/securityRules\"},{\"id\":\"" NSG
	    "/rules/b\",\"type\":\"Microsoft.Network/"
	    "networkSecurityGroups/securityRules\"},{\"id\":\"" NSG
	    "/securityRules/c\",\"type\":\"Microsoft.Network/"
	    "networkSecurityGroups/securityRules\"}]");
	json_object_put(k.all);

	/* Resource Graph's table format cannot be read one by one. */
	ck_assert_int_eq(inventory_parse("{\"count\":1,\"data\":{\"columns\":"
	    "[],\"rows\":[]}}", strlen("{\"count\":1,\"data\":{\"columns\":"
	    "[],\"rows\":[]}}"), "g.json", seen_emit, NULL, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "g.json: \"data\" is not an array (a "
	    "Resource Graph table") != NULL, "%s", err);
	ck_assert_int_eq(inventory_parse("{\"value\":[],\"data\":[]}",
	    strlen("{\"value\":[],\"data\":[]}"), "g.json", seen_emit, NULL,
	    err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "both \"value\" and \"data\"") != NULL, "%s",
	    err);
	/* A parent whose properties cannot take its children fails. */
	ck_assert_int_eq(inventory_parse("[{\"id\":\"" NSG "\",\"type\":\"t\","
	    "\"properties\":{\"securityRules\":5}},{\"id\":\"" NSG
	    "/securityRules/a\"}]", strlen("[{\"id\":\"" NSG "\",\"type\":"
	    "\"t\",\"properties\":{\"securityRules\":5}},{\"id\":\"" NSG
	    "/securityRules/a\"}]"), "f", seen_emit, NULL, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "properties.securityRules is not a list") !=
	    NULL, "%s", err);
}
END_TEST

static int
line_cmp(const void *a, const void *b)
{
	return strcmp(json_object_get_string(*(json_object *const *)a),
	    json_object_get_string(*(json_object *const *)b));
}

/* rule-id, resource id and evidence of every finding the shipped rules
 * give over dir, sorted, one per line; the reading's stats in *st. */
static char *
findings_of(const struct ruleset *rs, const char *dir,
    const struct armprune *prune, struct inventory_stats *st)
{
	struct kept	 k;
	json_object	*res, *ev, *v, *lines;
	char		 err[256], *out, line[8192];
	size_t		 i, j, n, len = 0;

	k.all = json_object_new_array();
	ck_assert_msg(inventory_read_pruned(dir, prune, kept_emit, &k, st,
	    err, sizeof(err)) == 0, "%s: %s", dir, err);
	lines = json_object_new_array();
	for (i = 0; i < json_object_array_length(k.all); i++) {
		res = json_object_array_get_idx(k.all, i);
		json_object_object_get_ex(res, "id", &v);
		for (j = 0; j < rs->n; j++) {
			ev = NULL;
			if (rules_eval(&rs->rules[j], res, &ev) != 1)
				continue;
			snprintf(line, sizeof(line), "%s %s %s\n",
			    rs->rules[j].id, json_object_get_string(v),
			    json_object_to_json_string_ext(ev,
			    JSON_C_TO_STRING_PLAIN));
			json_object_put(ev);
			json_object_array_add(lines,
			    json_object_new_string(line));
		}
	}
	n = json_object_array_length(lines);
	json_object_array_sort(lines, line_cmp);
	out = calloc(1, 65536);
	for (i = 0; i < n; i++) {
		const char *l = json_object_get_string(
		    json_object_array_get_idx(lines, i));

		ck_assert_uint_lt(len + strlen(l), 65536);
		memcpy(out + len, l, strlen(l));
		len += strlen(l);
	}
	json_object_put(lines);
	json_object_put(k.all);
	return out;
}

/* The REST API specification's examples (tests/data/inventory): the same
 * estate exported with its children on their own (Resource Graph, az
 * resource list, per-type list calls) and embedded as the Azure connector
 * embeds them gives the same findings, evidence included. */
START_TEST(test_inventory_join_fixtures)
{
	const char		*top = getenv("VIGIL_SRCDIR");
	struct ruleset		 rs = { NULL, 0, NULL, 0 };
	struct inventory_stats	 sep, emb;
	char			 p[1024], err[512], *a, *b;

	if (top == NULL || *top == '\0')
		top = VIGIL_TOP_SRCDIR;
	snprintf(p, sizeof(p), "%s/etc/rules", top);
	ck_assert_msg(rules_load_dir(&rs, p, err, sizeof(err)) == 0, "%s",
	    err);
	snprintf(p, sizeof(p), "%s/tests/data/inventory/separate", top);
	a = findings_of(&rs, p, NULL, &sep);
	snprintf(p, sizeof(p), "%s/tests/data/inventory/embedded", top);
	b = findings_of(&rs, p, NULL, &emb);
	ck_assert_str_eq(a, b);
	/* What the estate must give: every family that reads a child. */
	ck_assert_ptr_nonnull(strstr(a, "sql-firewall-allow-all "));
	ck_assert_ptr_nonnull(strstr(a, "sql-firewall-azure-services "));
	ck_assert_ptr_nonnull(strstr(a, "sql-auditing-disabled "));
	ck_assert_ptr_nonnull(strstr(a, "nsg-http-internet "));
	ck_assert_ptr_nonnull(strstr(a, "storage-blob-soft-delete "));
	/* the site's config/web replaces the siteConfig its list embeds,
	 * whose fields are null */
	ck_assert_ptr_nonnull(strstr(a, "webapp-ftp-enabled "));
	ck_assert_ptr_nonnull(strstr(a, "webapp-min-tls "));
	ck_assert_uint_eq(sep.resources, 4);
	ck_assert_uint_eq(emb.resources, 4);
	/* 5 firewall rules, the auditing settings, 1 NSG rule, the blob
	 * service, the site's config; the orphan rule of a server not
	 * exported is not. */
	ck_assert_uint_eq(sep.children, 10);
	ck_assert_uint_eq(sep.joined, 9);
	ck_assert_uint_eq(sep.orphans, 1);
	ck_assert_uint_eq(sep.orphan_parents, 1);
	ck_assert_uint_eq(emb.children, 0);
	free(a);
	free(b);
	rules_free(&rs);
}
END_TEST

#define RULE(n) "{\"id\":\"" NSG "/securityRules/" n "\",\"type\":" \
	"\"Microsoft.Network/networkSecurityGroups/securityRules\"}"

/* The first pass reads the later half of the files on a second thread:
 * a parent's children from both halves are joined in file order, as one
 * pass in order joins them, whichever half holds the parent. */
START_TEST(test_inventory_join_halves)
{
	struct inventory_stats	 st;
	struct kept		 k;
	char			 err[512], tmpl[] = "/tmp/vigil-invXXXXXX";
	char			*dir;

	ck_assert_ptr_nonnull(dir = mkdtemp(tmpl));
	put_file(dir, "a.json", "[" RULE("r1") "]");
	put_file(dir, "b.json", "[{\"id\":\"" NSG "\",\"type\":"
	    "\"Microsoft.Network/networkSecurityGroups\"}," RULE("r2") "]");
	put_file(dir, "c.json", "[" RULE("r3") "]");
	put_file(dir, "d.json", "[" RULE("r4") ",{\"id\":\"" SQL
	    "/firewallRules/f1\",\"type\":"
	    "\"Microsoft.Sql/servers/firewallRules\"}]");
	put_file(dir, "e.json", "[" RULE("r5") ",{\"id\":\"" SQL "\","
	    "\"type\":\"Microsoft.Sql/servers\"}]");
	k.all = json_object_new_array();
	ck_assert_msg(inventory_read(dir, kept_emit, &k, &st, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(json_object_array_length(k.all), 2);
	ck_assert_uint_eq(st.children, 6);
	ck_assert_uint_eq(st.joined, 6);
	ck_assert_uint_eq(st.orphans, 0);
	ck_assert_str_eq(kept_get(&k, NSG, "properties.securityRules"),
	    "[" RULE("r1") "," RULE("r2") "," RULE("r3") "," RULE("r4") ","
	    RULE("r5") "]");
	ck_assert_ptr_nonnull(strstr(kept_get(&k, SQL,
	    "properties.firewallRules"), "/firewallRules/f1"));
	json_object_put(k.all);
	rm_tree(dir);
}
END_TEST

/* The scanner parses only the members its rules read (rules_members,
 * armstream_prune): over the shipped samples as one list page, and over
 * the estate with its children exported on their own, the shipped rules
 * give the same findings, evidence included, as with every member. */
START_TEST(test_inventory_pruned)
{
	const char		*top = getenv("VIGIL_SRCDIR");
	struct ruleset		 rs = { NULL, 0, NULL, 0 };
	struct inventory_stats	 st;
	struct armprune		 pr;
	struct kept		 k;
	json_object		*page;
	char			 p[1024], err[512], tmpl[] = "/tmp/vigil-invXXXXXX";
	char			*dir, *a, *b;
	size_t			 i;

	if (top == NULL || *top == '\0')
		top = VIGIL_TOP_SRCDIR;
	snprintf(p, sizeof(p), "%s/etc/rules", top);
	ck_assert_msg(rules_load_dir(&rs, p, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(rules_members(&rs, &pr), 0);
	/* What the rules read, and what they do not. */
	for (i = 0; i < pr.nprops; i++)
		ck_assert_str_ne(pr.props[i], "provisioningState");
	ck_assert(!pr.props_whole);

	/* The samples, one resource per file or a few, as one page. */
	k.all = json_object_new_array();
	snprintf(p, sizeof(p), "%s/etc/samples/azure", top);
	ck_assert_msg(inventory_read(p, kept_emit, &k, &st, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_gt(json_object_array_length(k.all), 10);
	ck_assert_ptr_nonnull(dir = mkdtemp(tmpl));
	page = json_object_new_object();
	json_object_object_add(page, "value", k.all);
	put_file(dir, "page.json", json_object_to_json_string_ext(page,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(page);
	a = findings_of(&rs, dir, NULL, &st);
	b = findings_of(&rs, dir, &pr, &st);
	ck_assert_ptr_nonnull(strstr(a, "nsg-ssh-internet "));
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	rm_tree(dir);

	snprintf(p, sizeof(p), "%s/tests/data/inventory/separate", top);
	a = findings_of(&rs, p, NULL, &st);
	b = findings_of(&rs, p, &pr, &st);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(st.joined, 9);
	free(a);
	free(b);
	rules_members_free(&pr);
	rules_free(&rs);
}
END_TEST

/* The join's first pass reads an object's file once as a list page,
 * keeping the children for when the page is known to be one
 * (ARMSTREAM_DEFER); a file that is not such a page, or fails as one, is
 * read again as before, so what is said of a bad file is what a framing
 * pass and a list pass said: the first failure in the file's order. */
#define FWBAD(id) "{\"id\":" id ",\"type\":" \
	"\"Microsoft.Sql/servers/firewallRules\"}"
#define FWRULE "{\"id\":\"" SQL "/firewallRules/f1\",\"type\":" \
	"\"Microsoft.Sql/servers/firewallRules\",\"properties\":{\"a\":"

START_TEST(test_inventory_first_pass_once)
{
	static const struct {
		const char	*text;
		long		 n;
		const char	*err;	/* the whole message, when n == -1 */
	} t[] = {
		/* A child that is no resource, then a bad nextLink: the
		 * child's failure, the first in the file. */
		{ "{\"value\":[" RES("s1", "a") "," FWBAD("5") "],\"nextLink\":"
		    "5}", -1, "f.json item 1: not an ARM resource (an object "
		    "with string \"id\" and \"type\")" },
		{ "{\"nextLink\":5,\"value\":[" RES("s1", "a") "," FWBAD("5")
		    "]}", -1, "f.json: malformed JSON: \"nextLink\" is not a "
		    "string" },
		/* A child json-c refuses, after a good one: named by its
		 * rank, after every member was read. */
		{ "{\"value\":[" FWRULE "1}}," RES("s1", "a") "," FWRULE "01}}"
		    "],\"count\":3}", -1, "f.json: malformed JSON: item 2: body "
		    "is not valid JSON: number expected" },
		{ "{\"value\":[" FWRULE "01}}],\"count\":}", -1,
		    "f.json: malformed JSON: unexpected '}' at byte 184" },
		/* One resource with members named like a page's. */
		{ "{\"value\":\"v\",\"id\":\"/subscriptions/s1/x\",\"type\":"
		    "\"t\"}", 1, NULL },
		{ "{\"value\":[" FWBAD("5") "],\"id\":\"/subscriptions/s1/x\","
		    "\"type\":\"t\"}", 1, NULL },
		/* A page whose children join a parent in it. */
		{ "{\"value\":[" FWRULE "1}}," "{\"id\":\"" SQL "\",\"type\":"
		    "\"Microsoft.Sql/servers\"}]}", 1, NULL },
	};
	struct seen	 s;
	char		 err[256];
	size_t		 i;
	long		 got;

	for (i = 0; i < NELEM(t); i++) {
		memset(&s, 0, sizeof(s));
		err[0] = '\0';
		got = inventory_parse(t[i].text, strlen(t[i].text), "f.json",
		    seen_emit, &s, err, sizeof(err));
		ck_assert_msg(got == t[i].n, "row %zu: got %ld (%s)", i, got,
		    err);
		if (t[i].n >= 0)
			ck_assert_uint_eq(s.n, (size_t)t[i].n);
		else
			ck_assert_msg(strcmp(err, t[i].err) == 0,
			    "row %zu: err %s", i, err);
	}
}
END_TEST

/* The first pass takes an item's own "type" and "id" from the framer as
 * it reads the file in blocks (ARMSTREAM_TOP_KEYS), not from a walk over
 * the item: the key of each placed across the 64 KiB boundary at every
 * offset, nested "type"s and embedded children that do not count, an
 * escaped key, and two "type"s (the last counts, as json-c keeps it),
 * must keep exactly the children the walk keeps. */
START_TEST(test_inventory_first_pass_blocks)
{
	struct inventory_stats	 st;
	struct kept		 k;
	struct buf		 page, item;
	char			 err[512], tmpl[] = "/tmp/vigil-invXXXXXX";
	char			 name[64], srv[160], *dir;
	size_t			 q, pad, at;
	int			 f, key;

	ck_assert_ptr_nonnull(dir = mkdtemp(tmpl));
	buf_init(&page, 1 << 20);
	buf_init(&item, 1 << 16);
	f = 0;
	for (key = 0; key < 2; key++)
		for (q = 65536 - 6; q <= 65536; q++, f++) {
			snprintf(srv, sizeof(srv), "/subscriptions/s1/"
			    "resourceGroups/rg/providers/Microsoft.Sql/servers/"
			    "srv%d", f);
			/* The child: by its last "type", or (key 1) by its
			 * last id, each after one that names no child: a
			 * key read wrong at the boundary would leave the
			 * first to decide, and the child unkept. */
			buf_reset(&item);
			ck_assert_int_eq(buf_printf(&item, key == 0 ?
			    "{\"type\":\"Microsoft.Sql/servers\",\"id\":"
			    "\"%s/firewallRules/f\",\"type\":"
			    "\"Microsoft.Sql/servers/firewallRules\","
			    "\"properties\":{\"type\":\"x\"}}" : "{\"id\":"
			    "\"%s\",\"id\":\"%s/firewallRules/f\","
			    "\"properties\":{\"type\":\"x\"}}", srv, srv), 0);
			/* Where that key's opening quote lands: q. */
			at = (size_t)(strstr(item.data + 1, key == 0 ?
			    ",\"type\"" : ",\"id\"") + 1 - item.data);
			buf_reset(&page);
			ck_assert_int_eq(buf_puts(&page, "{\"value\":["
			    "{\"id\":\"/subscriptions/s1/resourceGroups/rg/"
			    "providers/Microsoft.KeyVault/vaults/pad\",\"type\":"
			    "\"Microsoft.KeyVault/vaults\",\"tags\":{\"p\":\""), 0);
			pad = q - at - page.len - strlen("\"}},");
			while (pad-- > 0)
				ck_assert_int_eq(buf_puts(&page, "x"), 0);
			ck_assert_int_eq(buf_puts(&page, "\"}},"), 0);
			ck_assert_uint_eq(page.len + at, q);
			ck_assert_int_eq(buf_printf(&page, "%s,{\"id\":\"%s\","
			    "\"type\":\"Microsoft.Sql/servers\",\"properties\":"
			    "{\"firewallRules\":[{\"id\":\"%s/firewallRules/e\","
			    "\"type\":\"Microsoft.Sql/servers/firewallRules\"}]}}"
			    "]}", item.data, srv, srv), 0);
			snprintf(name, sizeof(name), "p%02d.json", f);
			put_file(dir, name, page.data);
		}
	/* Small pages: an escaped key, two "type"s either way round, and a
	 * parent that embeds a child and names its type in a nested
	 * object. */
	put_file(dir, "q1.json", "{\"value\":[{\"ty\\u0070e\":"
	    "\"Microsoft.Sql/servers/firewallRules\",\"id\":\"" SQL
	    "/firewallRules/g1\"},"
	    "{\"type\":\"Microsoft.Sql/servers/firewallRules\",\"id\":\"" SQL
	    "/firewallRules/g2\",\"type\":\"Microsoft.Sql/servers\"},"
	    "{\"type\":\"Microsoft.Sql/servers\",\"id\":\"" SQL
	    "/firewallRules/g3\",\"type\":"
	    "\"Microsoft.Sql/servers/firewallRules\"},"
	    "{\"id\":\"" SQL "\",\"sku\":{\"type\":"
	    "\"Microsoft.Sql/servers/firewallRules\"},\"type\":"
	    "\"Microsoft.Sql/servers\"}]}");
	k.all = json_object_new_array();
	ck_assert_msg(inventory_read(dir, kept_emit, &k, &st, err,
	    sizeof(err)) == 0, "%s", err);
	/* 14 pads, 14 servers, db1's g2 (a server by its last "type"), and
	 * db1; 16 children: one per page and g1, g3. */
	ck_assert_uint_eq(st.resources, 30);
	ck_assert_uint_eq(st.children, 16);
	ck_assert_uint_eq(st.joined, 16);
	ck_assert_uint_eq(st.orphans, 0);
	ck_assert_ptr_nonnull(strstr(kept_get(&k, SQL,
	    "properties.firewallRules"), "/firewallRules/g1"));
	ck_assert_ptr_nonnull(strstr(kept_get(&k, SQL,
	    "properties.firewallRules"), "/firewallRules/g3"));
	ck_assert_ptr_null(strstr(kept_get(&k, SQL,
	    "properties.firewallRules"), "/firewallRules/g2"));
	json_object_put(k.all);
	buf_free(&page);
	buf_free(&item);
	rm_tree(dir);
}
END_TEST

/* What the scanner stores of each finding over the shipped samples, read
 * as vigil-scan reads them (pruned to what the rules read): its id, its
 * fingerprint and its evidence's bytes, pinned. Anything that makes the
 * scanner faster must leave them as they are; a change here is a change
 * of every user's findings (each would be "changed" at the next scan).
 * The pinned checksum is of the lines "id fingerprint evidence", sorted,
 * as main wrote them before the scanner's CPU work (61acaa0). */
static void
pinned_line(struct kept *k, const struct ruleset *rs, json_object *lines)
{
	json_object	*res, *ev, *v, *empty;
	const char	*text;
	char		 id[256], fp[65], line[16384];
	size_t		 i, j, len;

	for (i = 0; i < json_object_array_length(k->all); i++) {
		res = json_object_array_get_idx(k->all, i);
		json_object_object_get_ex(res, "id", &v);
		for (j = 0; j < rs->n; j++) {
			ev = NULL;
			if (rules_eval(&rs->rules[j], res, &ev) != 1)
				continue;
			empty = ev == NULL ? json_object_new_object() : NULL;
			findings_make_id(rs->rules[j].provider,
			    rs->rules[j].id, json_object_get_string(v), id,
			    sizeof(id));
			findings_fingerprint(ev != NULL ? ev : empty, fp);
			text = vjson_str(ev != NULL ? ev : empty, &len);
			ck_assert_uint_lt(len, sizeof(line) - 400);
			snprintf(line, sizeof(line), "%s %s %s\n", id, fp, text);
			json_object_put(ev);
			json_object_put(empty);
			json_object_array_add(lines,
			    json_object_new_string(line));
		}
	}
}

START_TEST(test_inventory_findings_pinned)
{
	const char		*top = getenv("VIGIL_SRCDIR");
	struct ruleset		 rs = { NULL, 0, NULL, 0 };
	struct inventory_stats	 st;
	struct armprune		 pr;
	struct kept		 k;
	json_object		*lines, *ev;
	char			 p[1024], err[512], fp[65];
	size_t			 i, n;
	struct buf		 all;

	if (top == NULL || *top == '\0')
		top = VIGIL_TOP_SRCDIR;
	snprintf(p, sizeof(p), "%s/etc/rules", top);
	ck_assert_msg(rules_load_dir(&rs, p, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(rules_members(&rs, &pr), 0);
	k.all = json_object_new_array();
	snprintf(p, sizeof(p), "%s/etc/samples/azure", top);
	ck_assert_msg(inventory_read_pruned(p, &pr, kept_emit, &k, &st, err,
	    sizeof(err)) == 0, "%s", err);
	lines = json_object_new_array();
	pinned_line(&k, &rs, lines);
	json_object_array_sort(lines, line_cmp);
	n = json_object_array_length(lines);
	buf_init(&all, 1 << 22);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(buf_puts(&all, json_object_get_string(
		    json_object_array_get_idx(lines, i))), 0);
	crypto_sha256_hex(all.data, all.len, fp);
	ck_assert_uint_eq(n, 18);
	ck_assert_str_eq(fp, "a14c32da6ddfd7bd713a0e7266671868f84d2ba951eac7421f066c32af9abb0a");
	buf_free(&all);
	json_object_put(lines);
	json_object_put(k.all);
	rules_members_free(&pr);
	rules_free(&rs);

	/* Keys and strings the fingerprint writes itself and those it
	 * leaves to json-c: '/', quotes, escapes, control characters,
	 * UTF-8, a long string, numbers, and keys out of order. */
	ev = json_tokener_parse("[{\"path\":\"properties.a/b\",\"value\":"
	    "{\"z\":\"x\\\"y\\\\z\",\"a/b\":\"/s/\",\"\\u00e9t\\u00e9\":"
	    "\"\\u00e9\\t\\u0001\\u007f\",\"n\":[1,2.5,-0.0,1e300,true,null],"
	    "\"long\":\"" "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4567890123456789012345678901234567890123456789012345678901234567"
	    "8901234567890123456789012345678901234567890123456789012345678901"
	    "2345678901234567890123456789012345678901234567890123456789012345"
	    "6789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "45678901234567890123456789/\",\"A\":{},\"\":\"\"}}]");
	ck_assert_ptr_nonnull(ev);
	findings_fingerprint(ev, fp);
	ck_assert_str_eq(fp, "2937c91497695211882657738ee36f02cc0dd2034034703b849f331369880567");
	json_object_put(ev);
}
END_TEST

Suite *
inventory_suite(void)
{
	Suite	*s = suite_create("inventory");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_inventory_parse);
	tcase_add_test(tc, test_inventory_collect);
	tcase_add_test(tc, test_inventory_caps);
	tcase_add_test(tc, test_inventory_join);
	tcase_add_test(tc, test_inventory_join_fixtures);
	tcase_add_test(tc, test_inventory_join_halves);
	tcase_add_test(tc, test_inventory_pruned);
	tcase_add_test(tc, test_inventory_first_pass_once);
	tcase_add_test(tc, test_inventory_first_pass_blocks);
	tcase_add_test(tc, test_inventory_findings_pinned);
	/* The caps test writes and reads a 60,000-resource file twice (both
	 * passes of the join): seconds under ASan on a loaded machine. */
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
