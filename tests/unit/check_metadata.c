/* check_metadata.c: a finding's resource metadata: the canonical form of
 * its tags (what a rescan compares and what an import may give) and what
 * the scanner takes from an ARM resource. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "finding.h"
#include "scan.h"
#include "vigil.h"
#include "suites.h"

/* finding_tags_canonical over JSON text; the result or NULL. */
static char *
canon(const char *json, int strict)
{
	json_object *o = json ? json_tokener_parse(json) : NULL;
	char *out = NULL, err[160];
	int rc;

	rc = finding_tags_canonical(o, strict, &out, err, sizeof(err));
	json_object_put(o);
	ck_assert_int_eq(rc == 0, out != NULL);
	return out;
}

START_TEST(test_tags_canonical)
{
	static const struct {
		const char	*in;
		const char	*lenient;	/* the scanner's */
		const char	*strict;	/* an import's; NULL: refused */
	} t[] = {
		{ NULL, "{}", "{}" },
		{ "{}", "{}", "{}" },
		/* keys sorted bytewise, whatever order they came in */
		{ "{\"b\":\"2\",\"a\":\"1\",\"B\":\"3\"}",
		    "{\"B\":\"3\",\"a\":\"1\",\"b\":\"2\"}",
		    "{\"B\":\"3\",\"a\":\"1\",\"b\":\"2\"}" },
		/* ':' and quotes and slashes kept, one line */
		{ "{\"x:y\":\"a:b/c \\\"q\\\" 100%_\"}",
		    "{\"x:y\":\"a:b/c \\\"q\\\" 100%_\"}",
		    "{\"x:y\":\"a:b/c \\\"q\\\" 100%_\"}" },
		{ "{\"e\":\"\"}", "{\"e\":\"\"}", "{\"e\":\"\"}" },
		/* what Vigil cannot store: left out, or refused */
		{ "{\"a\":1,\"b\":\"ok\"}", "{\"b\":\"ok\"}", NULL },
		{ "{\"a\":null}", "{}", NULL },
		{ "{\"a\":{\"x\":\"y\"}}", "{}", NULL },
		{ "{\"\":\"v\"}", "{}", NULL },
		{ "{\"a\":\"x\\ny\"}", "{}", NULL },
		{ "{\"a\\u001b\":\"x\"}", "{}", NULL },
		{ "[\"a\"]", "{}", NULL },
		{ "\"a\"", "{}", NULL },
	};
	size_t i;
	char *s;

	for (i = 0; i < NELEM(t); i++) {
		s = canon(t[i].in, 0);
		ck_assert_msg(s != NULL && strcmp(s, t[i].lenient) == 0,
		    "row %zu lenient: %s", i, s ? s : "(refused)");
		free(s);
		s = canon(t[i].in, 1);
		if (t[i].strict == NULL)
			ck_assert_msg(s == NULL, "row %zu strict: %s", i, s);
		else
			ck_assert_msg(s != NULL && strcmp(s, t[i].strict) == 0,
			    "row %zu strict: %s", i, s ? s : "(refused)");
		free(s);
	}
}
END_TEST

START_TEST(test_tags_limits)
{
	json_object *o = json_object_new_object();
	char key[FINDING_TAG_KEY_MAX * 2 + 8], val[FINDING_TAG_VALUE_MAX + 2];
	char *out, err[160];
	json_object *back;
	int i;

	/* 256 characters of two bytes each is within the limit (characters,
	 * not bytes); 257 is not. */
	for (i = 0; i < FINDING_TAG_KEY_MAX; i++)
		memcpy(key + 2 * i, "\xc3\xa9", 2);
	key[2 * FINDING_TAG_KEY_MAX] = '\0';
	memset(val, 'v', FINDING_TAG_VALUE_MAX);
	val[FINDING_TAG_VALUE_MAX] = '\0';
	json_object_object_add(o, key, json_object_new_string(val));
	ck_assert_int_eq(finding_tags_canonical(o, 1, &out, err,
	    sizeof(err)), 0);
	free(out);
	val[FINDING_TAG_VALUE_MAX] = 'v';
	val[FINDING_TAG_VALUE_MAX + 1] = '\0';
	json_object_object_add(o, key, json_object_new_string(val));
	ck_assert_int_eq(finding_tags_canonical(o, 1, &out, err,
	    sizeof(err)), -1);
	ck_assert_ptr_null(out);
	json_object_put(o);

	/* 65 tags: an import is refused, the scanner keeps the first 64 in
	 * key order. */
	o = json_object_new_object();
	for (i = 64; i >= 0; i--) {
		snprintf(key, sizeof(key), "k%02d", i);
		json_object_object_add(o, key, json_object_new_string("v"));
	}
	ck_assert_int_eq(finding_tags_canonical(o, 1, &out, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "64"));
	ck_assert_int_eq(finding_tags_canonical(o, 0, &out, err,
	    sizeof(err)), 0);
	back = json_tokener_parse(out);
	ck_assert_int_eq(json_object_object_length(back), FINDING_TAGS_MAX);
	ck_assert(json_object_object_get_ex(back, "k00", NULL));
	ck_assert(json_object_object_get_ex(back, "k63", NULL));
	ck_assert(!json_object_object_get_ex(back, "k64", NULL));
	json_object_put(back);
	free(out);
	json_object_put(o);
}
END_TEST

START_TEST(test_meta_from_arm)
{
	static const struct {
		const char	*res;
		const char	*rid;
		const char	*name, *type, *group, *region, *tags;
	} t[] = {
		{ "{\"name\":\"st1\",\"type\":\"Microsoft.Storage/"
		    "storageAccounts\",\"location\":\"westeurope\","
		    "\"tags\":{\"z\":\"1\",\"env\":\"prod\",\"n\":2}}",
		    "/subscriptions/s/resourceGroups/RG-Prod/providers/"
		    "Microsoft.Storage/storageAccounts/st1",
		    "st1", "Microsoft.Storage/storageAccounts", "RG-Prod",
		    "westeurope", "{\"env\":\"prod\",\"z\":\"1\"}" },
		/* no name: the id's last segment; the group in any case */
		{ "{\"type\":\"Microsoft.Sql/servers/firewallRules\"}",
		    "/SUBSCRIPTIONS/s/RESOURCEGROUPS/rg-x/providers/"
		    "Microsoft.Sql/servers/sql1/firewallRules/AllowAll",
		    "AllowAll", "Microsoft.Sql/servers/firewallRules", "rg-x",
		    "", "{}" },
		/* not an ARM id; a location too long for the column */
		{ "{\"name\":\"\",\"location\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"tags\":[]}",
		    "plain", "plain", "", "", "", "{}" },
		/* a control character in the name: left empty */
		{ "{\"name\":\"a\\u0007b\",\"type\":7}", "/x/y", "", "", "",
		    "", "{}" },
	};
	struct scan_meta m;
	json_object *o;
	size_t i;

	for (i = 0; i < NELEM(t); i++) {
		o = json_tokener_parse(t[i].res);
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(scan_meta_from_arm(o, t[i].rid, &m), 0);
		ck_assert_msg(strcmp(m.name, t[i].name) == 0, "%zu name %s",
		    i, m.name);
		ck_assert_msg(strcmp(m.type, t[i].type) == 0, "%zu type %s",
		    i, m.type);
		ck_assert_msg(strcmp(m.group, t[i].group) == 0, "%zu group %s",
		    i, m.group);
		ck_assert_msg(strcmp(m.region, t[i].region) == 0,
		    "%zu region %s", i, m.region);
		ck_assert_msg(strcmp(m.tags, t[i].tags) == 0, "%zu tags %s",
		    i, m.tags);
		scan_meta_clear(&m);
		json_object_put(o);
	}
}
END_TEST

Suite *
metadata_suite(void)
{
	Suite	*s = suite_create("metadata");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_tags_canonical);
	tcase_add_test(tc, test_tags_limits);
	tcase_add_test(tc, test_meta_from_arm);
	suite_add_tcase(s, tc);
	return s;
}
