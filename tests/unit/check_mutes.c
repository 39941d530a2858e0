/* check_mutes.c: mute rules' pure parts: the glob, the resource group of
 * an ARM id, matching a rule against a finding, and the POST body's
 * validation. */
#include "vigil.h"

#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mutes.h"
#include "suites.h"
#include "vjson.h"

#define RID "/subscriptions/f623a36c-87b5-48e4-a3d4-1c6dc182eb43/" \
	"resourceGroups/RG-Sandbox/providers/Microsoft.Storage/" \
	"storageAccounts/stdata01"
#define NOW 1778457600L

START_TEST(test_mutes_glob)
{
	ck_assert_int_eq(mutes_glob("nsg-ssh-internet", "nsg-ssh-internet"), 1);
	ck_assert_int_eq(mutes_glob("nsg-*", "nsg-ssh-internet"), 1);
	ck_assert_int_eq(mutes_glob("*-internet", "nsg-ssh-internet"), 1);
	ck_assert_int_eq(mutes_glob("nsg-?" "?" "?-internet", "nsg-ssh-internet"), 1);
	ck_assert_int_eq(mutes_glob("nsg-?" "?-internet", "nsg-ssh-internet"), 0);
	ck_assert_int_eq(mutes_glob("storage-*", "nsg-ssh-internet"), 0);
	ck_assert_int_eq(mutes_glob("*", ""), 1);
	ck_assert_int_eq(mutes_glob("", "x"), 0);
	ck_assert_int_eq(mutes_glob("a*b*c", "aXXbYYc"), 1);
	ck_assert_int_eq(mutes_glob("a*b*c", "aXXbYY"), 0);
	/* ARM ids compare without case. */
	ck_assert_int_eq(mutes_glob("*/RESOURCEGROUPS/rg-sandbox/*", RID), 1);
	/* No exponential backtracking on a hostile pattern. */
	ck_assert_int_eq(mutes_glob("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    0);
	ck_assert_int_eq(mutes_glob(NULL, "x"), 0);
}
END_TEST

/* A reference: the glob's definition, recursively (small inputs). */
static int
ref_glob(const char *p, const char *s)
{
	if (*p == '\0')
		return *s == '\0';
	if (*p == '*')
		return ref_glob(p + 1, s) || (*s != '\0' && ref_glob(p, s + 1));
	if (*s == '\0')
		return 0;
	if (*p != '?' && tolower((unsigned char)*p) !=
	    tolower((unsigned char)*s))
		return 0;
	return ref_glob(p + 1, s + 1);
}

/* The automaton and the backtracking give the definition's answer on
 * random patterns and ids; a pattern that makes backtracking retry at
 * every byte (one star, then 511 bytes that almost match a 1,023-byte
 * id) goes to the automaton and gives the same answers. */
START_TEST(test_mutes_glob_automaton)
{
	static const char pa[] = "aAb?**", sa[] = "aAbB";
	char p[16], s[24], *hp, *hs;
	unsigned seed = 12345;
	int i, k, n, want;

	for (i = 0; i < 20000; i++) {
		n = (int)((seed = seed * 1103515245 + 12345) >> 16) % 12;
		for (k = 0; k < n; k++)
			p[k] = pa[((seed = seed * 1103515245 + 12345) >> 16) %
			    (sizeof(pa) - 1)];
		p[n] = '\0';
		n = (int)((seed = seed * 1103515245 + 12345) >> 16) % 20;
		for (k = 0; k < n; k++)
			s[k] = sa[((seed = seed * 1103515245 + 12345) >> 16) %
			    (sizeof(sa) - 1)];
		s[n] = '\0';
		want = ref_glob(p, s);
		ck_assert_msg(mutes_glob_nfa(p, s) == want, "nfa %s %s", p, s);
		ck_assert_msg(mutes_glob(p, s) == want, "glob %s %s", p, s);
	}
	ck_assert_int_eq(mutes_glob_nfa("", ""), 1);
	ck_assert_int_eq(mutes_glob_nfa("**", ""), 1);
	ck_assert_int_eq(mutes_glob_nfa("*/RESOURCEGROUPS/rg-sandbox/*", RID),
	    1);
	hp = malloc(514);
	hs = malloc(1025);
	ck_assert(hp != NULL && hs != NULL);
	hp[0] = '*';
	memset(hp + 1, 'a', 511);
	hp[512] = 'b';
	hp[513] = '\0';
	memset(hs, 'a', 1023);
	hs[1023] = '\0';
	ck_assert_int_eq(mutes_glob(hp, hs), 0);
	hs[1022] = 'B';
	ck_assert_int_eq(mutes_glob(hp, hs), 1);
	hp[300] = '?';
	ck_assert_int_eq(mutes_glob(hp, hs), 1);
	ck_assert_int_eq(mutes_glob_nfa(hp, hs), 1);
	free(hp);
	free(hs);
}
END_TEST

START_TEST(test_mutes_resource_group)
{
	char g[64];

	ck_assert_int_eq(mutes_resource_group(RID, g, sizeof(g)), 0);
	ck_assert_str_eq(g, "RG-Sandbox");
	ck_assert_int_eq(mutes_resource_group("/subscriptions/x/resourcegroups/"
	    "rg1", g, sizeof(g)), 0);
	ck_assert_str_eq(g, "rg1");
	ck_assert_int_eq(mutes_resource_group("/subscriptions/x", g,
	    sizeof(g)), -1);
	ck_assert_int_eq(mutes_resource_group("/subscriptions/x/"
	    "resourceGroups//p", g, sizeof(g)), -1);
	ck_assert_int_eq(mutes_resource_group(RID, g, 4), -1);
}
END_TEST

START_TEST(test_mutes_match)
{
	const char *tags =
	    "{\"Environment\":\"sandbox\",\"owner\":\"team-a\"}";
	struct mute_rule rules[2];
	struct mute_set set = { rules, 2 };
	struct mute_subject s = { .rule_id = "storage-min-tls",
	    .provider = "azure", .resource_id = RID,
	    .subscription_id = "F623A36C-87B5-48E4-A3D4-1C6DC182EB43",
	    .environment = "SANDBOX", .tags = tags };

	memset(rules, 0, sizeof(rules));
	rules[0].id = "mute_a";
	rules[0].rule_pattern = "nsg-*";
	rules[1].id = "mute_b";
	rules[1].rule_pattern = "storage-*";
	rules[1].resource_group = "rg-sandbox";
	rules[1].subscription_id = "f623a36c-87b5-48e4-a3d4-1c6dc182eb43";
	rules[1].environment = "sandbox";
	rules[1].source = "AZURE";
	rules[1].tag_key = "environment";
	rules[1].tag_value = "sandbox";
	ck_assert_str_eq(mutes_match(&set, &s), "mute_b");
	/* Every criterion must hold. */
	rules[1].tag_value = "Sandbox";		/* values are exact */
	ck_assert_ptr_null(mutes_match(&set, &s));
	rules[1].tag_value = "sandbox";
	rules[1].resource_group = "rg-prod";
	ck_assert_ptr_null(mutes_match(&set, &s));
	rules[1].resource_group = NULL;
	rules[1].resource_pattern = "*/storageAccounts/stdata0?";
	ck_assert_str_eq(mutes_match(&set, &s), "mute_b");
	s.tags = NULL;				/* no tags: a tag rule misses */
	ck_assert_ptr_null(mutes_match(&set, &s));
	rules[1].tag_key = NULL;
	ck_assert_str_eq(mutes_match(&set, &s), "mute_b");
	s.rule_id = "nsg-ssh-internet";		/* first match wins */
	ck_assert_str_eq(mutes_match(&set, &s), "mute_a");
	ck_assert_ptr_null(mutes_match(NULL, &s));
	/* An import's source is matched rather than its provider. */
	rules[0].source = "prowler-aws";
	s.source = "Prowler-AWS";
	ck_assert_str_eq(mutes_match(&set, &s), "mute_a");
	s.source = "";
	ck_assert_ptr_null(mutes_match(&set, &s));
	rules[0].source = "azure";		/* or its provider */
	ck_assert_str_eq(mutes_match(&set, &s), "mute_a");
}
END_TEST

/* A rule's source against the import sources that list a finding: each
 * case one subject, and whether a rule naming "prowler-aws" matches. */
START_TEST(test_mutes_match_sources)
{
	static const char *const a[] = { "prowler-aws" };
	static const char *const ab[] = { "prowler-aws", "securityhub" };
	static const char *const aa[] = { "Prowler-AWS", "prowler-aws" };
	static const struct {
		const char		*source;	/* the field */
		const char *const	*sources;
		size_t			 n;
		const char		*importing;
		const char		*provider;
		int			 match;
	} cases[] = {
		/* no import lists it: its source field, as before */
		{ "prowler-aws", NULL, 0, NULL, "aws", 1 },
		{ "int_scan", NULL, 0, NULL, "aws", 0 },
		{ NULL, NULL, 0, NULL, "aws", 0 },
		/* only the named source lists it, any case */
		{ "prowler-aws", a, 1, NULL, "aws", 1 },
		{ "int_scan", a, 1, NULL, "aws", 1 },
		{ "prowler-aws", aa, 2, NULL, "aws", 1 },
		/* a second source lists it: whichever imports last */
		{ "prowler-aws", ab, 2, NULL, "aws", 0 },
		{ "securityhub", ab, 2, NULL, "aws", 0 },
		{ "prowler-aws", a, 1, "securityhub", "aws", 0 },
		{ "securityhub", NULL, 0, "securityhub", "aws", 0 },
		/* the import at hand is the named source */
		{ "prowler-aws", NULL, 0, "prowler-aws", "aws", 1 },
		{ "prowler-aws", a, 1, "PROWLER-AWS", "aws", 1 },
	};
	struct mute_rule r;
	struct mute_subject s;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.id = "mute_src";
	r.source = "prowler-aws";
	for (i = 0; i < NELEM(cases); i++) {
		memset(&s, 0, sizeof(s));
		s.rule_id = "s3_bucket_public_access";
		s.resource_id = "arn:aws:s3:::bucket-1";
		s.source = cases[i].source;
		s.sources = cases[i].sources;
		s.nsources = cases[i].n;
		s.importing = cases[i].importing;
		s.provider = cases[i].provider;
		ck_assert_msg(mutes_rule_matches(&r, &s) == cases[i].match,
		    "case %zu", i);
	}
	/* The provider names every source of its kind: both sources. */
	r.source = "AWS";
	s.sources = ab;
	s.nsources = 2;
	s.importing = "securityhub";
	ck_assert_int_eq(mutes_rule_matches(&r, &s), 1);
	/* A rule without a source does not look at them. */
	r.source = NULL;
	r.rule_pattern = "s3_*";
	ck_assert_int_eq(mutes_rule_matches(&r, &s), 1);
	ck_assert_int_eq(mutes_need_sources(&(struct mute_set){ &r, 1 }), 0);
	r.source = "x";
	ck_assert_int_eq(mutes_need_sources(&(struct mute_set){ &r, 1 }), 1);
	ck_assert_int_eq(mutes_need_sources(NULL), 0);
}
END_TEST

/* parse: 0, or -1 with err.field == field. */
static void
parse(const char *body, int ok, const char *field)
{
	json_object *o = json_tokener_parse(body);
	struct mute_rule r;
	struct vjson_err err;
	char tag[MUTES_TAG_MAX + 2];
	int rc;

	memset(&err, 0, sizeof(err));
	ck_assert_ptr_nonnull(o);
	rc = mutes_parse(o, NOW, &r, tag, sizeof(tag), &err);
	ck_assert_msg(rc == (ok ? 0 : -1), "%s: rc %d (%s: %s)", body, rc,
	    err.field, err.message);
	if (!ok)
		ck_assert_msg(strcmp(err.field, field) == 0, "%s: field %s, "
		    "want %s", body, err.field, field);
	json_object_put(o);
}

START_TEST(test_mutes_parse)
{
	parse("{\"rule_id\":\"nsg-*\",\"justification\":\"lab\"}", 1, NULL);
	parse("{\"tag\":\"env:sandbox\",\"justification\":\"lab\","
	    "\"expires_at\":\"2030-01-01T00:00:00Z\"}", 1, NULL);
	parse("{\"justification\":\"lab\"}", 0, "rule_id");
	parse("{\"rule_id\":\"nsg-*\"}", 0, "justification");
	parse("{\"rule_id\":\"nsg-*\",\"justification\":\"  \"}", 0,
	    "justification");
	parse("{\"rule_id\":\"NSG-[a]\",\"justification\":\"x\"}", 0,
	    "rule_id");
	parse("{\"rule_id\":\"x' OR 1=1 --\",\"justification\":\"x\"}", 0,
	    "rule_id");
	parse("{\"rule_id\":7,\"justification\":\"x\"}", 0, "rule_id");
	parse("{\"rule_id\":\"\",\"justification\":\"x\"}", 0, "rule_id");
	parse("{\"tag\":\"novalue\",\"justification\":\"x\"}", 0, "tag");
	parse("{\"tag\":\":v\",\"justification\":\"x\"}", 0, "tag");
	parse("{\"resource_group\":\"a/b\",\"justification\":\"x\"}", 0,
	    "resource_group");
	parse("{\"rule_id\":\"a\",\"justification\":\"x\","
	    "\"expires_at\":\"2020-01-01T00:00:00Z\"}", 0, "expires_at");
	parse("{\"rule_id\":\"a\",\"justification\":\"x\","
	    "\"expires_at\":\"tomorrow\"}", 0, "expires_at");
	parse("{\"rule_id\":\"a\",\"justification\":\"x\",\"extra\":1}", 0,
	    "extra");
	parse("{\"environment\":\"PROD\\u0007\",\"justification\":\"x\"}", 0,
	    "environment");
}
END_TEST

Suite *
mutes_suite(void)
{
	Suite *s = suite_create("mutes");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_mutes_glob);
	tcase_add_test(tc, test_mutes_glob_automaton);
	tcase_add_test(tc, test_mutes_resource_group);
	tcase_add_test(tc, test_mutes_match);
	tcase_add_test(tc, test_mutes_match_sources);
	tcase_add_test(tc, test_mutes_parse);
	suite_add_tcase(s, tc);
	return s;
}
