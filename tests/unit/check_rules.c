/* check_rules.c: the rule language (paths, operators, combinators,
 * defaults, evidence), load-time validation errors, and the shipped Azure
 * rule pack against the ARM fixtures under tests/rules (listed with their
 * expected results in tests/rules/expected.txt). */
#include "vigil.h"

#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog.h"
#include "rules.h"
#include "suites.h"
#include "tenantrules.h"
#include "vjson.h"

#ifndef VIGIL_TOP_SRCDIR
#define VIGIL_TOP_SRCDIR "."
#endif

/* The source tree: $VIGIL_SRCDIR (make check exports it), else the one
 * configure saw. */
static const char *
srcdir(void)
{
	const char	*s = getenv("VIGIL_SRCDIR");

	return s != NULL && *s != '\0' ? s : VIGIL_TOP_SRCDIR;
}

/* A copy of s with every ' turned into " (test JSON reads better so);
 * caller frees. */
static char *
dq(const char *s)
{
	char	*c, *p;

	c = strdup(s);
	ck_assert_ptr_nonnull(c);
	for (p = c; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return c;
}

/* The whole of path, NUL-terminated; caller frees. NULL if unreadable. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*data = NULL;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc((size_t)n + 1)) != NULL) {
		if (fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		} else {
			data[n] = '\0';
			if (lenp != NULL)
				*lenp = (size_t)n;
		}
	}
	fclose(f);
	return data;
}

#define HEAD \
	"'id':'r1','provider':'azure','resource_type':'Test/things'," \
	"'title':'t','severity':'low','category':'network'," \
	"'framework':'CIS x; NIST y','description':'d','recommendation':'r'"

/* Parse a one-rule text written with ' for ". 0 or -1 with err set. */
static int
parse_q(struct ruleset *set, const char *qtext, char *err, size_t errsz)
{
	char	*text = dq(qtext);
	int	 rc;

	rc = rules_parse(set, text, strlen(text), "t.json", err, errsz);
	free(text);
	return rc;
}

/* Evaluate condition cond (' for ") over resource (' for "; its type is
 * set to Test/things). Returns rules_eval's result; *evs gets the compact
 * evidence text or "" (caller frees). */
static int
try_cond(const char *cond, const char *resource, char **evs)
{
	struct ruleset	 set = { NULL, 0, NULL, 0 };
	struct buf_s {
		char	 s[8192];
	}		*b;
	char		 err[512], *rtext;
	json_object	*res, *ev = NULL;
	int		 r;

	b = malloc(sizeof(*b));
	ck_assert_ptr_nonnull(b);
	snprintf(b->s, sizeof(b->s), "{" HEAD ",'condition':%s}", cond);
	ck_assert_msg(parse_q(&set, b->s, err, sizeof(err)) == 0,
	    "%s: %s", cond, err);
	rtext = dq(resource);
	res = json_tokener_parse(rtext);
	ck_assert_msg(res != NULL, "bad test resource %s", resource);
	json_object_object_add(res, "type", json_object_new_string(
	    "test/THINGS"));
	r = rules_eval(&set.rules[0], res, &ev);
	if (evs != NULL)
		*evs = strdup(ev != NULL ? vjson_str(ev, NULL) : "");
	if (r != 1)
		ck_assert_ptr_null(ev);
	else
		ck_assert(json_object_is_type(ev, json_type_array));
	json_object_put(ev);
	json_object_put(res);
	free(rtext);
	free(b);
	rules_free(&set);
	return r;
}

struct evcase {
	const char	*cond;
	const char	*res;
	int		 want;
	const char	*ev;	/* expected evidence (' for "), or NULL */
};

static void
run_cases(const struct evcase *t, size_t n)
{
	char	*ev, *want;
	size_t	 i;
	int	 r;

	for (i = 0; i < n; i++) {
		r = try_cond(t[i].cond, t[i].res, &ev);
		ck_assert_msg(r == t[i].want, "row %zu: %s over %s gave %d",
		    i, t[i].cond, t[i].res, r);
		if (t[i].ev != NULL) {
			want = dq(t[i].ev);
			ck_assert_msg(strcmp(ev, want) == 0,
			    "row %zu: evidence %s, want %s", i, ev, want);
			free(want);
		}
		free(ev);
	}
}

START_TEST(test_rules_paths)
{
	static const struct evcase t[] = {
		{ "{'path':'a','eq':1}", "{'a':1}", 1,
		    "[{'path':'a','value':1}]" },
		{ "{'path':'a.b.c','eq':'x'}", "{'a':{'b':{'c':'x'}}}", 1,
		    "[{'path':'a.b.c','value':'x'}]" },
		{ "{'path':'a.b.c','eq':'x'}", "{'a':{'b':'c'}}", 0, NULL },
		{ "{'path':'a.b','eq':'x'}", "{'a':[{'b':'x'}]}", 0, NULL },
		{ "{'path':'a[*].b','eq':'x'}", "{'a':[{'b':'y'},{'b':'x'}]}",
		    1, "[{'path':'a[*].b','value':'x'}]" },
		{ "{'path':'a[*].b','eq':'x'}", "{'a':{'b':'x'}}", 0, NULL },
		{ "{'path':'a[*][*]','eq':3}", "{'a':[[1,2],[3]]}", 1, NULL },
		{ "{'path':'a[1].b','eq':'x'}", "{'a':[{'b':'x'},{'b':'y'}]}",
		    0, NULL },
		{ "{'path':'a[1].b','eq':'y'}", "{'a':[{'b':'x'},{'b':'y'}]}",
		    1, NULL },
		{ "{'path':'a[7]','exists':true}", "{'a':[1]}", 0, NULL },
		{ "{'path':'@','exists':true}", "{}", 1, NULL },
		/* Keys may hold characters other than . [ ]. */
		{ "{'path':'tags.cost-center','eq':'x'}",
		    "{'tags':{'cost-center':'X'}}", 1, NULL },
		/* null is missing */
		{ "{'path':'a','exists':true}", "{'a':null}", 0, NULL },
		{ "{'path':'a','ne':true}", "{'a':null}", 1,
		    "[{'path':'a','missing':true}]" },
		{ "{'path':'a.b','absent':true}", "{'a':5}", 1, NULL },
		/* several paths pool their values */
		{ "{'path':['x','y[*]'],'eq':'v'}", "{'y':['u','v']}", 1,
		    "[{'path':'y[*]','value':'v'}]" },
		{ "{'path':['x','y[*]'],'eq':'v'}", "{'x':'v','y':[]}", 1,
		    "[{'path':'x','value':'v'}]" },
		{ "{'path':['x','y[*]'],'ne':'v'}", "{'x':'u','y':['v']}", 0,
		    NULL },
	};

	run_cases(t, NELEM(t));
}
END_TEST

START_TEST(test_rules_operators)
{
	static const struct evcase t[] = {
		/* eq: strings fold ASCII case unless case_sensitive */
		{ "{'path':'a','eq':'Allow'}", "{'a':'allow'}", 1, NULL },
		{ "{'path':'a','eq':'Allow','case_sensitive':true}",
		    "{'a':'allow'}", 0, NULL },
		{ "{'path':'a','eq':'Allow','case_sensitive':true}",
		    "{'a':'Allow'}", 1, NULL },
		{ "{'path':'a','eq':'Allow'}", "{'a':'Allow '}", 0, NULL },
		{ "{'path':'a','eq':1}", "{'a':1.0}", 1, NULL },
		{ "{'path':'a','eq':1}", "{'a':'1'}", 0, NULL },
		{ "{'path':'a','eq':true}", "{'a':'true'}", 0, NULL },
		{ "{'path':'a','eq':false}", "{'a':false}", 1, NULL },
		{ "{'path':'a','eq':false}", "{'a':0}", 0, NULL },
		{ "{'path':'a','eq':'x'}", "{'a':{'x':1}}", 0, NULL },
		/* ne is "not eq" */
		{ "{'path':'a','ne':'Deny'}", "{'a':'deny'}", 0, NULL },
		{ "{'path':'a','ne':'Deny'}", "{'a':'Allow'}", 1,
		    "[{'path':'a','value':'Allow'}]" },
		{ "{'path':'a','ne':'Deny'}", "{}", 1,
		    "[{'path':'a','missing':true}]" },
		/* in / not_in */
		{ "{'path':'a','in':['Tcp','*']}", "{'a':'TCP'}", 1, NULL },
		{ "{'path':'a','in':['Tcp','*']}", "{'a':'Udp'}", 0, NULL },
		{ "{'path':'a','in':[1,'1.0',true]}", "{'a':true}", 1, NULL },
		{ "{'path':'a','not_in':['Tcp','*']}", "{'a':'Udp'}", 1,
		    NULL },
		{ "{'path':'a','not_in':['Tcp','*']}", "{'a':'*'}", 0, NULL },
		{ "{'path':'a','not_in':['Tcp']}", "{}", 1, NULL },
		/* numeric compare, numbers and plain decimal strings */
		{ "{'path':'a','lt':90}", "{'a':30}", 1, NULL },
		{ "{'path':'a','lt':90}", "{'a':90}", 0, NULL },
		{ "{'path':'a','le':90}", "{'a':90}", 1, NULL },
		{ "{'path':'a','gt':1.1}", "{'a':'1.2'}", 1, NULL },
		{ "{'path':'a','ge':1.2}", "{'a':'1.2'}", 1, NULL },
		{ "{'path':'a','ge':1.2}", "{'a':'1.1'}", 0, NULL },
		{ "{'path':'a','lt':5}", "{'a':'abc'}", 0, NULL },
		{ "{'path':'a','lt':5}", "{'a':'0x1'}", 0, NULL },
		{ "{'path':'a','lt':5}", "{'a':'nan'}", 0, NULL },
		{ "{'path':'a','lt':5}", "{'a':true}", 0, NULL },
		{ "{'path':'a','lt':5}", "{}", 0, NULL },
		{ "{'path':'a[*]','gt':10}", "{'a':[1,2,11]}", 1,
		    "[{'path':'a[*]','value':11}]" },
		/* exists / absent */
		{ "{'path':'a','exists':true}", "{'a':false}", 1,
		    "[{'path':'a','value':false}]" },
		{ "{'path':'a','exists':false}", "{'a':false}", 0, NULL },
		{ "{'path':'a','exists':false}", "{}", 1,
		    "[{'path':'a','missing':true}]" },
		{ "{'path':'a','absent':true}", "{}", 1, NULL },
		{ "{'path':'a','absent':true}", "{'a':{}}", 0, NULL },
		{ "{'path':'a','absent':false}", "{'a':{}}", 1, NULL },
	};

	run_cases(t, NELEM(t));
}
END_TEST

START_TEST(test_rules_ports)
{
	static const struct evcase t[] = {
		{ "{'path':'p','ports':22}", "{'p':'22'}", 1,
		    "[{'path':'p','value':'22'}]" },
		{ "{'path':'p','ports':22}", "{'p':22}", 1, NULL },
		{ "{'path':'p','ports':22}", "{'p':'*'}", 1, NULL },
		{ "{'path':'p','ports':22}", "{'p':'20-25'}", 1, NULL },
		{ "{'path':'p','ports':22}", "{'p':' 22 '}", 1, NULL },
		{ "{'path':'p','ports':22}", "{'p':'23-80'}", 0, NULL },
		{ "{'path':'p','ports':22}", "{'p':'2222'}", 0, NULL },
		{ "{'path':'p','ports':22}", "{'p':'80,22'}", 1, NULL },
		{ "{'path':'p','ports':22}", "{'p':'25-20'}", 0, NULL },
		{ "{'path':'p','ports':22}", "{'p':'22-'}", 0, NULL },
		{ "{'path':'p','ports':22}", "{'p':'-22'}", 0, NULL },
		{ "{'path':'p','ports':22}", "{'p':'70000'}", 0, NULL },
		{ "{'path':'p','ports':22}", "{'p':'0x16'}", 0, NULL },
		{ "{'path':'p','ports':22}", "{'p':''}", 0, NULL },
		{ "{'path':'p','ports':22}", "{'p':true}", 0, NULL },
		{ "{'path':'p','ports':22}", "{}", 0, NULL },
		{ "{'path':'p','ports':3389}", "{'p':'3380-3390'}", 1, NULL },
		{ "{'path':'p[*]','ports':3389}", "{'p':['80','3389']}", 1,
		    "[{'path':'p[*]','value':'3389'}]" },
		/* a spec that is a range must be covered as a whole, maybe by
		 * the union of several ranges */
		{ "{'path':'p[*]','ports':'0-65535'}", "{'p':['*']}", 1,
		    NULL },
		{ "{'path':'p[*]','ports':'0-65535'}",
		    "{'p':['1024-65535','0-1023']}", 1, NULL },
		{ "{'path':'p[*]','ports':'0-65535'}",
		    "{'p':['1025-65535','0-1023']}", 0, NULL },
		{ "{'path':'p[*]','ports':'0-65535'}",
		    "{'p':['0-30000','20000-65535']}", 1, NULL },
		{ "{'path':'p','ports':'0-65535'}", "{'p':'0-65534'}", 0,
		    NULL },
		/* a list of specs: any one covered */
		{ "{'path':'p','ports':[22,3389]}", "{'p':'3389'}", 1, NULL },
		{ "{'path':'p','ports':[22,'3380-3390']}", "{'p':'3385'}", 0,
		    NULL },
		{ "{'path':['p','q[*]'],'ports':22}", "{'p':'80','q':['22']}",
		    1, "[{'path':'q[*]','value':'22'}]" },
		{ "{'path':'p','ports':22,'default':'*'}", "{}", 1,
		    "[{'path':'p','missing':true,'default':'*'}]" },
	};

	run_cases(t, NELEM(t));
}
END_TEST

START_TEST(test_rules_internet)
{
	static const struct evcase t[] = {
		{ "{'path':'s','internet':true}", "{'s':'*'}", 1, NULL },
		{ "{'path':'s','internet':true}", "{'s':'Internet'}", 1, NULL },
		{ "{'path':'s','internet':true}", "{'s':'INTERNET'}", 1, NULL },
		{ "{'path':'s','internet':true}", "{'s':'any'}", 1, NULL },
		{ "{'path':'s','internet':true}", "{'s':'0.0.0.0/0'}", 1,
		    NULL },
		{ "{'path':'s','internet':true}", "{'s':'0.0.0.0/1'}", 1,
		    NULL },
		{ "{'path':'s','internet':true}", "{'s':'128.0.0.0/1'}", 1,
		    NULL },
		{ "{'path':'s','internet':true}", "{'s':'::/0'}", 1, NULL },
		{ "{'path':'s','internet':true}", "{'s':'8000::/1'}", 1, NULL },
		{ "{'path':'s','internet':true}", "{'s':'1.2.3.4/0'}", 1,
		    NULL },
		{ "{'path':'s','internet':true}", "{'s':'0.0.0.0/2'}", 0,
		    NULL },
		{ "{'path':'s','internet':true}", "{'s':'10.0.0.0/8'}", 0,
		    NULL },
		{ "{'path':'s','internet':true}", "{'s':'192.168.1.0/24'}", 0,
		    NULL },
		{ "{'path':'s','internet':true}", "{'s':'203.0.113.5'}", 0,
		    NULL },
		{ "{'path':'s','internet':true}", "{'s':'0.0.0.0'}", 0, NULL },
		{ "{'path':'s','internet':true}", "{'s':'AzureLoadBalancer'}",
		    0, NULL },
		{ "{'path':'s','internet':true}", "{'s':'VirtualNetwork'}", 0,
		    NULL },
		{ "{'path':'s','internet':true}", "{'s':'Storage.WestEurope'}",
		    0, NULL },
		{ "{'path':'s','internet':true}", "{'s':'0.0.0.0/33'}", 0,
		    NULL },
		{ "{'path':'s','internet':true}", "{'s':'0.0.0.0/'}", 0, NULL },
		{ "{'path':'s','internet':true}", "{'s':'::/129'}", 0, NULL },
		{ "{'path':'s','internet':true}", "{'s':7}", 0, NULL },
		{ "{'path':'s','internet':true}", "{}", 0, NULL },
		/* plural sources: any one counts */
		{ "{'path':['s','ss[*]'],'internet':true}",
		    "{'ss':['10.0.0.0/8','Internet']}", 1,
		    "[{'path':'ss[*]','value':'Internet'}]" },
		{ "{'path':['s','ss[*]'],'internet':true}",
		    "{'ss':['10.0.0.0/8','172.16.0.0/12']}", 0, NULL },
		/* a list of its own: the source must contain one of them */
		{ "{'path':'s','internet':['8.8.8.8/32']}", "{'s':'8.0.0.0/8'}",
		    1, NULL },
		{ "{'path':'s','internet':['8.8.8.8/32']}",
		    "{'s':'10.0.0.0/8'}", 0, NULL },
		{ "{'path':'s','internet':['8.8.8.8/32']}", "{'s':'*'}", 1,
		    NULL },
		{ "{'path':'s','internet':['8.8.8.0/24']}", "{'s':'8.8.8.8'}",
		    0, NULL },
		/* false: no value is from the internet */
		{ "{'path':'s','internet':false}", "{'s':'10.0.0.0/8'}", 1,
		    NULL },
		{ "{'path':'s','internet':false}", "{'s':'*'}", 0, NULL },
		{ "{'path':'s','internet':false}", "{}", 1, NULL },
	};

	run_cases(t, NELEM(t));
}
END_TEST

START_TEST(test_rules_defaults)
{
	static const struct evcase t[] = {
		{ "{'path':'a','eq':'Allow'}", "{}", 0, NULL },
		{ "{'path':'a','eq':'Allow','default':'Allow'}", "{}", 1,
		    "[{'path':'a','missing':true,'default':'Allow'}]" },
		{ "{'path':'a','eq':'Allow','default':'Allow'}",
		    "{'a':'Deny'}", 0, NULL },
		{ "{'path':'a','eq':'Allow','default':'Allow'}", "{'a':null}",
		    1, NULL },
		{ "{'path':'a','eq':false,'default':true}", "{}", 0, NULL },
		{ "{'path':'a','ne':true,'default':true}", "{}", 0, NULL },
		{ "{'path':'a','in':['TLS1_0'],'default':'TLS1_0'}", "{}", 1,
		    NULL },
		{ "{'path':'a','lt':3,'default':2}", "{}", 1, NULL },
		{ "{'path':'a','internet':true,'default':'*'}", "{}", 1, NULL },
		{ "{'path':['a','b[*]'],'eq':1,'default':1}", "{'b':[]}", 1,
		    "[{'path':'a','missing':true,'default':1}]" },
		{ "{'path':['a','b[*]'],'eq':1,'default':1}", "{'b':[2]}", 0,
		    NULL },
	};

	run_cases(t, NELEM(t));
}
END_TEST

START_TEST(test_rules_combinators)
{
	static const struct evcase t[] = {
		{ "{'all':[{'path':'a','eq':1},{'path':'b','eq':2}]}",
		    "{'a':1,'b':2}", 1,
		    "[{'path':'a','value':1},{'path':'b','value':2}]" },
		/* a failing all drops what its first child collected */
		{ "{'any':[{'all':[{'path':'a','eq':1},{'path':'b','eq':3}]},"
		    "{'path':'c','eq':4}]}", "{'a':1,'b':2,'c':4}", 1,
		    "[{'path':'c','value':4}]" },
		{ "{'any':[{'path':'a','eq':1},{'path':'b','eq':2}]}",
		    "{'a':0,'b':2}", 1, "[{'path':'b','value':2}]" },
		{ "{'any':[{'path':'a','eq':1},{'path':'b','eq':2}]}",
		    "{'a':1,'b':2}", 1,
		    "[{'path':'a','value':1},{'path':'b','value':2}]" },
		{ "{'any':[{'path':'a','eq':1},{'path':'b','eq':2}]}",
		    "{'a':0,'b':0}", 0, NULL },
		{ "{'none':[{'path':'a','eq':1},{'path':'b','eq':2}]}",
		    "{'a':0,'b':0}", 1, "[]" },
		{ "{'none':[{'path':'a','eq':1},{'path':'b','eq':2}]}",
		    "{'a':0,'b':2}", 0, NULL },
		{ "{'not':{'path':'a','eq':1}}", "{'a':2}", 1, "[]" },
		{ "{'not':{'path':'a','eq':1}}", "{'a':1}", 0, NULL },
		{ "{'all':[{'path':'x','exists':true},"
		    "{'none':[{'path':'y','eq':true}]}]}", "{'x':{'k':1}}", 1,
		    "[{'path':'x','value':{'k':1}}]" },
		/* each: the matching elements are the evidence */
		{ "{'each':'r[*]','where':{'path':'v','gt':2}}",
		    "{'r':[{'n':'a','v':1},{'n':'b','v':3},{'n':'c','v':5}]}",
		    1, "[{'n':'b','v':3},{'n':'c','v':5}]" },
		{ "{'each':'r[*]','where':{'path':'v','gt':9}}",
		    "{'r':[{'n':'a','v':1}]}", 0, NULL },
		{ "{'each':'r[*]','where':{'path':'v','gt':9}}", "{'r':[]}", 0,
		    NULL },
		{ "{'each':'r[*]','where':{'path':'v','gt':9}}", "{}", 0,
		    NULL },
		{ "{'each':'r[*]','where':{'path':'@','eq':'x'}}",
		    "{'r':['y','x']}", 1, "['x']" },
		/* an element found twice is evidence once */
		{ "{'any':[{'each':'r[*]','where':{'path':'v','eq':1}},"
		    "{'each':'r[*]','where':{'path':'w','eq':1}}]}",
		    "{'r':[{'v':1,'w':1}]}", 1, "[{'v':1,'w':1}]" },
		/* nested each: the outer element is the evidence */
		{ "{'each':'g[*]','where':{'each':'m[*]','where':"
		    "{'path':'@','eq':3}}}",
		    "{'g':[{'m':[1,2]},{'m':[3]}]}", 1, "[{'m':[3]}]" },
		/* all around each: a later failing leaf drops the elements */
		{ "{'all':[{'each':'r[*]','where':{'path':'v','eq':1}},"
		    "{'path':'z','eq':1}]}", "{'r':[{'v':1}],'z':0}", 0, NULL },
		{ "{'all':[{'each':'r[*]','where':{'path':'v','eq':1}},"
		    "{'path':'z','eq':1}]}", "{'r':[{'v':1}],'z':1}", 1,
		    "[{'v':1},{'path':'z','value':1}]" },
	};

	run_cases(t, NELEM(t));
}
END_TEST

/* 10,000 offending elements: the rule fires with the first 256 as
 * evidence, in document order (and without quadratic time). */
START_TEST(test_rules_evidence_cap)
{
	struct ruleset	 set = { NULL, 0, NULL, 0 };
	json_object	*res, *arr, *el, *ev = NULL, *v;
	char		 err[512];
	int		 i;

	ck_assert_int_eq(parse_q(&set, "{" HEAD ",'condition':{'any':["
	    "{'each':'r[*]','where':{'path':'v','ge':0}},"
	    "{'path':'w','eq':1}]}}", err, sizeof(err)), 0);
	res = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < 10000; i++) {
		el = json_object_new_object();
		json_object_object_add(el, "v", json_object_new_int(i));
		json_object_array_add(arr, el);
	}
	json_object_object_add(res, "r", arr);
	json_object_object_add(res, "w", json_object_new_int(1));
	json_object_object_add(res, "type",
	    json_object_new_string("Test/things"));
	ck_assert_int_eq(rules_eval(&set.rules[0], res, &ev), 1);
	ck_assert_uint_eq(json_object_array_length(ev), 256);
	ck_assert(json_object_object_get_ex(json_object_array_get_idx(ev,
	    255), "v", &v));
	ck_assert_int_eq(json_object_get_int(v), 255);
	json_object_put(ev);
	json_object_put(res);
	rules_free(&set);
}
END_TEST

START_TEST(test_rules_eval_type)
{
	struct ruleset	 set = { NULL, 0, NULL, 0 };
	json_object	*res, *ev = (json_object *)1;
	char		 err[512];

	ck_assert_int_eq(parse_q(&set, "{" HEAD ",'condition':"
	    "{'path':'a','eq':1}}", err, sizeof(err)), 0);
	/* Another type, no type, not an object: never fires. */
	res = json_tokener_parse("{\"type\":\"Test/other\",\"a\":1}");
	ck_assert_int_eq(rules_eval(&set.rules[0], res, &ev), 0);
	ck_assert_ptr_null(ev);
	json_object_put(res);
	res = json_tokener_parse("{\"a\":1}");
	ck_assert_int_eq(rules_eval(&set.rules[0], res, &ev), 0);
	json_object_put(res);
	res = json_tokener_parse("[{\"type\":\"Test/things\",\"a\":1}]");
	ck_assert_int_eq(rules_eval(&set.rules[0], res, &ev), 0);
	json_object_put(res);
	ck_assert_int_eq(rules_eval(&set.rules[0], NULL, &ev), 0);
	res = json_tokener_parse("{\"type\":\"TEST/Things\",\"a\":1}");
	ck_assert_int_eq(rules_eval(&set.rules[0], res, &ev), 1);
	ck_assert_str_eq(vjson_str(ev, NULL), "[{\"path\":\"a\",\"value\":1}]");
	json_object_put(ev);
	json_object_put(res);
	rules_free(&set);
}
END_TEST

/* Each bad rule and the error it must give (' for "). */
START_TEST(test_rules_validation)
{
	static const struct {
		const char	*text;
		const char	*err;
	} t[] = {
		{ "{" HEAD ",'condition':{'all':[{'path':'a','eq':1},"
		    "{'path':'b','eq':2},{'path':'c','eqq':3}]}}",
		    "t.json: rule r1: condition.all[2].eqq: unknown operator" },
		{ "{" HEAD ",'condition':{'all':[{'path':'a','eq':1},"
		    "{'path':'b','eq':2},{'path':'c','ports':'ssh'}]}}",
		    "t.json: rule r1: condition.all[2].ports: must be a port" },
		{ "{" HEAD ",'condition':{'path':'c','ports':70000}}",
		    "t.json: rule r1: condition.ports: must be a port" },
		{ "{" HEAD ",'condition':{'path':'c','ports':[22,[1]]}}",
		    "t.json: rule r1: condition.ports[1]: must be a port spec" },
		{ "{" HEAD ",'condition':{'path':'c','ports':'30-20'}}",
		    "condition.ports: must be a port" },
		{ "{" HEAD ",'condition':{'path':'c','ports':[]}}",
		    "condition.ports: must have 1 to 256 port specs" },
		{ "{" HEAD ",'condition':{'path':'a..b','eq':1}}",
		    "t.json: rule r1: condition.path: bad path \"a..b\"" },
		{ "{" HEAD ",'condition':{'path':'a[x]','eq':1}}",
		    "condition.path: bad path \"a[x]\": has a bad index" },
		{ "{" HEAD ",'condition':{'path':'a.','eq':1}}",
		    "condition.path: bad path \"a.\": must not end with '.'" },
		{ "{" HEAD ",'condition':{'path':'','eq':1}}",
		    "condition.path: bad path \"\": must not be empty" },
		{ "{" HEAD ",'condition':{'path':'a]','eq':1}}",
		    "condition.path: bad path" },
		{ "{" HEAD ",'condition':{'path':'a[*]b','eq':1}}",
		    "condition.path: bad path \"a[*]b\": expects '.' before" },
		{ "{" HEAD ",'condition':{'path':'a b','eq':1}}",
		    "condition.path: bad path" },
		{ "{" HEAD ",'condition':{'path':['a','b.[*]'],'eq':1}}",
		    "condition.path[1]: bad path \"b.[*]\"" },
		{ "{" HEAD ",'condition':{'path':[],'eq':1}}",
		    "condition.path: must have 1 to 16 paths" },
		{ "{" HEAD ",'condition':{'path':7,'eq':1}}",
		    "condition.path: must be a path string" },
		{ "{" HEAD ",'condition':{'eq':1}}",
		    "t.json: rule r1: condition: not a condition" },
		{ "{" HEAD ",'condition':{'path':'a'}}",
		    "t.json: rule r1: condition: no operator" },
		{ "{" HEAD ",'condition':{'path':'a','eq':1,'ne':2}}",
		    "condition.ne: a leaf has one operator (also eq)" },
		{ "{" HEAD ",'condition':{'path':'a','eq':null}}",
		    "condition.eq: must be a string, number or boolean" },
		{ "{" HEAD ",'condition':{'path':'a','eq':[1]}}",
		    "condition.eq: must be a string, number or boolean" },
		{ "{" HEAD ",'condition':{'path':'a','in':[]}}",
		    "condition.in: must have 1 to 256 values" },
		{ "{" HEAD ",'condition':{'path':'a','in':null}}",
		    "condition.in: must be an array of values" },
		{ "{" HEAD ",'condition':{'path':'a','not_in':null}}",
		    "condition.not_in: must be an array of values" },
		{ "{" HEAD ",'condition':{'path':'a','internet':null}}",
		    "condition.internet: must be an array of CIDR strings" },
		{ "{" HEAD ",'condition':{'path':'a','in':['x',{}]}}",
		    "condition.in[1]: must be a string, number or boolean" },
		{ "{" HEAD ",'condition':{'path':'a','lt':'5'}}",
		    "condition.lt: must be a number" },
		{ "{" HEAD ",'condition':{'path':'a','exists':1}}",
		    "condition.exists: must be true or false" },
		{ "{" HEAD ",'condition':{'path':'a','exists':true,"
		    "'default':1}}",
		    "condition.default: exists and absent take no default" },
		{ "{" HEAD ",'condition':{'path':'a','eq':1,'default':{}}}",
		    "condition.default: must be a string, number or boolean" },
		{ "{" HEAD ",'condition':{'path':'a','lt':1,"
		    "'case_sensitive':true}}",
		    "condition.case_sensitive: only for eq, ne, in and not_in" },
		{ "{" HEAD ",'condition':{'path':'a','internet':['10.0.0.0/33']"
		    "}}", "condition.internet[0]: must be an IPv4 or IPv6 CIDR" },
		{ "{" HEAD ",'condition':{'path':'a','internet':'yes'}}",
		    "condition.internet: must be an array of CIDR strings" },
		{ "{" HEAD ",'condition':{'all':[]}}",
		    "condition.all: must have 1 to 256 conditions" },
		{ "{" HEAD ",'condition':{'all':{'path':'a','eq':1}}}",
		    "condition.all: must be an array of conditions" },
		{ "{" HEAD ",'condition':{'all':[{'path':'a','eq':1}],"
		    "'any':[]}}", "condition: has both all and any" },
		{ "{" HEAD ",'condition':{'all':[{'path':'a','eq':1}],"
		    "'where':1}}", "condition.where: unknown key" },
		{ "{" HEAD ",'condition':{'any':[1]}}",
		    "condition.any[0]: must be an object" },
		{ "{" HEAD ",'condition':{'not':[{'path':'a','eq':1}]}}",
		    "condition.not: must be an object" },
		{ "{" HEAD ",'condition':{'each':'r','where':"
		    "{'path':'a','eq':1}}}",
		    "condition.each: the path must contain [*]" },
		{ "{" HEAD ",'condition':{'each':'r[*]'}}",
		    "t.json: rule r1: condition: each needs where" },
		{ "{" HEAD ",'condition':{'each':'r[*]','where':{'path':'a',"
		    "'eq':1},'what':1}}", "condition.what: unknown key" },
		{ "{" HEAD ",'condition':{'each':'r[*]','where':{'all':[{'path'"
		    ":'a','gt':'x'}]}}}", "condition.where.all[0].gt: must be "
		    "a number" },
		{ "{" HEAD ",'condition':{'not':{'not':{'not':{'not':{'not':{"
		    "'not':{'not':{'not':{'not':{'not':{'not':{'not':{'not':{"
		    "'not':{'not':{'not':{'path':'a','eq':1}}}}}}}}}}}}}}}}}}",
		    "nested more than 16 levels deep" },
		{ "{" HEAD "}", "t.json: rule r1: condition: missing" },
		{ "{" HEAD ",'condition':[]}",
		    "t.json: rule r1: condition: must be an object" },
		/* rule fields */
		{ "{'provider':'azure'}", "t.json: rule [0]: id: missing" },
		{ "{'id':'Bad_Id'}", "t.json: rule [0]: id: must be lowercase" },
		{ "{'id':'-x'}", "t.json: rule [0]: id: must be lowercase" },
		{ "{'id':7}", "t.json: rule [0]: id: must be a string" },
		{ "{'id':'azure-nsg','provider':'azure','resource_type':'A/b',"
		    "'title':'t','severity':'low','category':'network',"
		    "'framework':'f','description':'d','recommendation':'r',"
		    "'condition':{'path':'a','eq':1}}",
		    "t.json: rule azure-nsg: id: must not start with the "
		    "provider" },
		{ "{'id':'r1','provider':'azure','resource_type':'A/b',"
		    "'severity':'low','category':'network',"
		    "'framework':'f','description':'d','recommendation':'r',"
		    "'condition':{'path':'a','eq':1}}",
		    "t.json: rule r1: title: missing" },
		{ "{'id':'r1','provider':'azure','resource_type':'A/b',"
		    "'title':'','severity':'low','category':'network',"
		    "'framework':'f','description':'d','recommendation':'r',"
		    "'condition':{'path':'a','eq':1}}",
		    "t.json: rule r1: title: must be 1 to 200 bytes long" },
		{ "{'id':'r1','provider':'azure','resource_type':'Abc',"
		    "'title':'t','severity':'low','category':'network',"
		    "'framework':'f','description':'d','recommendation':'r',"
		    "'condition':{'path':'a','eq':1}}",
		    "t.json: rule r1: resource_type: must be an ARM type" },
		{ "{'id':'r1','provider':'azure','resource_type':'A/b',"
		    "'title':'t','severity':'severe','category':'network',"
		    "'framework':'f','description':'d','recommendation':'r',"
		    "'condition':{'path':'a','eq':1}}",
		    "t.json: rule r1: severity: unknown severity \"severe\"" },
		{ "{'id':'r1','provider':'azure','resource_type':'A/b',"
		    "'title':'t','severity':'High','category':'network',"
		    "'framework':'f','description':'d','recommendation':'r',"
		    "'condition':{'path':'a','eq':1}}",
		    "t.json: rule r1: severity: unknown severity \"High\"" },
		{ "{'id':'r1','provider':'azure','resource_type':'A/b',"
		    "'title':'t','severity':'low','category':'cost',"
		    "'framework':'f','description':'d','recommendation':'r',"
		    "'condition':{'path':'a','eq':1}}",
		    "t.json: rule r1: category: unknown category \"cost\"" },
		{ "{" HEAD ",'layer':'kernel','condition':{'path':'a','eq':1}}",
		    "t.json: rule r1: layer: unknown layer \"kernel\"" },
		{ "{" HEAD ",'severty':'low','condition':{'path':'a','eq':1}}",
		    "t.json: rule r1: severty: unknown field" },
		{ "{" HEAD ",'description':'x','condition':{'path':'a','eq':1}"
		    "}", NULL },	/* json-c keeps the last duplicate key */
		/* remediation */
		{ "{'id':'r1','provider':'azure','resource_type':'A/b',"
		    "'title':'t','severity':'high','category':'network',"
		    "'framework':'f','description':'d','recommendation':'r',"
		    "'condition':{'path':'a','eq':1},'remediation':{"
		    "'api_version':'2023-01-01','patch':{'a':2}}}",
		    "t.json: rule r1: remediation: only low and medium rules" },
		{ "{" HEAD ",'condition':{'path':'a','eq':1},'remediation':{"
		    "'api_version':'2023-01-01','patch':[]}}",
		    "t.json: rule r1: remediation.patch: must be a non-empty "
		    "object" },
		{ "{" HEAD ",'condition':{'path':'a','eq':1},'remediation':{"
		    "'api_version':'2023-01-01','patch':{}}}",
		    "remediation.patch: must be a non-empty object" },
		{ "{" HEAD ",'condition':{'path':'a','eq':1},'remediation':{"
		    "'api_version':'2023-01-01'}}",
		    "remediation.patch: missing" },
		{ "{" HEAD ",'condition':{'path':'a','eq':1},'remediation':{"
		    "'api_version':'latest','patch':{'a':1}}}",
		    "remediation.api_version: must look like 2023-01-01" },
		{ "{" HEAD ",'condition':{'path':'a','eq':1},'remediation':{"
		    "'patch':{'a':1}}}", "remediation.api_version: missing" },
		{ "{" HEAD ",'condition':{'path':'a','eq':1},'remediation':{"
		    "'api_version':'2023-01-01','patch':{'a':1},'method':'PUT'"
		    "}}", "remediation.method: unknown key" },
		{ "{" HEAD ",'condition':{'path':'a','eq':1},"
		    "'remediation':'PATCH'}", "remediation: must be an object" },
		/* files */
		{ "{", "t.json: invalid JSON" },
		{ "[]", "t.json: must hold 1 to 1000 rules" },
		{ "7", "t.json: must hold a rule object or an array of rules" },
		{ "[{" HEAD ",'condition':{'path':'a','eq':1}},"
		    "{" HEAD ",'condition':{'path':'a','eq':1}}]",
		    "t.json: rule r1: id: duplicate id (also in t.json)" },
		{ "[{" HEAD ",'condition':{'path':'a','eq':1}},{'id':'r2'}]",
		    "t.json: rule r2: provider: missing" },
		{ "[{" HEAD ",'condition':{'path':'a','eq':1}},5]",
		    "t.json: rule [1]: must be an object" },
	};
	struct ruleset	 set = { NULL, 0, NULL, 0 };
	char		 err[512];
	size_t		 i;
	int		 r;

	for (i = 0; i < NELEM(t); i++) {
		const char	*want = t[i].err;

		err[0] = '\0';
		r = parse_q(&set, t[i].text, err, sizeof(err));
		if (want == NULL) {
			ck_assert_msg(r == 0, "row %zu: %s", i, err);
			rules_free(&set);
			continue;
		}
		ck_assert_msg(r == -1, "row %zu parsed", i);
		ck_assert_msg(strstr(err, want) != NULL,
		    "row %zu: got \"%s\", want \"%s\"", i, err, want);
		/* A failed parse leaves the set as it was. */
		ck_assert_uint_eq(set.n, 0);
		ck_assert_ptr_null(set.rules);
	}
}
END_TEST

START_TEST(test_rules_parse_appends)
{
	struct ruleset	 set = { NULL, 0, NULL, 0 };
	char		 err[512];

	ck_assert_int_eq(parse_q(&set, "[{" HEAD ",'condition':{'path':'a',"
	    "'eq':1}},{" HEAD ",'id':'r2','condition':{'path':'a','eq':1}}]",
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(set.n, 2);
	ck_assert_str_eq(set.rules[1].id, "r2");
	ck_assert_str_eq(set.rules[0].layer, "infrastructure");
	ck_assert_str_eq(set.rules[0].file, "t.json");
	/* r1 again: a duplicate of the set, and the set is unchanged */
	ck_assert_int_eq(parse_q(&set, "{" HEAD ",'id':'r1','condition':"
	    "{'path':'a','eq':1}}", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "rule r1: id: duplicate id"));
	ck_assert_uint_eq(set.n, 2);
	ck_assert_int_eq(parse_q(&set, "{" HEAD ",'id':'r3','layer':'data',"
	    "'condition':{'path':'a','eq':1},'comment':'why'}", err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_str_eq(set.rules[2].layer, "data");
	rules_free(&set);
	ck_assert_uint_eq(set.n, 0);
	rules_free(&set);	/* twice is harmless */
}
END_TEST

START_TEST(test_rules_to_json)
{
	struct ruleset	 set = { NULL, 0, NULL, 0 };
	json_object	*o, *v;
	char		 err[512];

	ck_assert_int_eq(parse_q(&set, "[{" HEAD ",'condition':{'path':'a',"
	    "'eq':1},'remediation':{'api_version':'2023-01-01-preview',"
	    "'patch':{'properties':{'a':2}}}},{" HEAD ",'id':'r2',"
	    "'severity':'critical','condition':{'path':'a','eq':1}}]", err,
	    sizeof(err)), 0);
	o = rules_to_json(&set.rules[0]);
	ck_assert_str_eq(vjson_str(o, NULL),
	    "{\"id\":\"r1\",\"provider\":\"azure\",\"title\":\"t\","
	    "\"severity\":\"low\",\"category\":\"network\","
	    "\"layer\":\"infrastructure\",\"resource_type\":\"Test/things\","
	    "\"framework\":\"CIS x; NIST y\",\"controls\":[],"
	    "\"description\":\"d\","
	    "\"recommendation\":\"r\",\"has_remediation\":true}");
	json_object_put(o);
	o = rules_to_json(&set.rules[1]);
	ck_assert(json_object_object_get_ex(o, "has_remediation", &v));
	ck_assert(!json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(o, "severity", &v));
	ck_assert_str_eq(json_object_get_string(v), "critical");
	json_object_put(o);
	ck_assert_str_eq(vjson_str(set.rules[0].remediation, NULL),
	    "{\"api_version\":\"2023-01-01-preview\","
	    "\"patch\":{\"properties\":{\"a\":2}}}");
	rules_free(&set);
}
END_TEST

/* A tenant's effective rules: the pack without what it disabled, with
 * its severities, then its own enabled custom rules; nothing else. */
START_TEST(test_tenantrules_effective)
{
	struct ruleset	 pack = { NULL, 0, NULL, 0 }, eff = { NULL, 0, NULL, 0 };
	struct tenantrules_setting st[2];
	struct tenantrules t;
	json_object	*o, *v;
	char		 err[512];

	ck_assert_int_eq(parse_q(&pack, "[{" HEAD ",'condition':{'path':'a',"
	    "'eq':1}},{" HEAD ",'id':'r2','condition':{'path':'a','eq':1}},{"
	    HEAD ",'id':'r3','condition':{'path':'a','eq':1}}]", err,
	    sizeof(err)), 0);
	memset(&t, 0, sizeof(t));
	memset(st, 0, sizeof(st));
	ck_assert_int_eq(parse_q(&t.custom, "{" HEAD ",'id':'mine',"
	    "'condition':{'path':'a','eq':1}}", err, sizeof(err)), 0);
	snprintf(st[0].rule_id, sizeof(st[0].rule_id), "r2");
	st[0].enabled = 0;
	snprintf(st[1].rule_id, sizeof(st[1].rule_id), "r3");
	st[1].enabled = 1;
	st[1].severity = FINDING_SEV_CRITICAL;
	t.settings = st;
	t.nsettings = 2;
	ck_assert_int_eq(tenantrules_effective(&t, &pack, &eff), 0);
	ck_assert_uint_eq(eff.n, 3);
	ck_assert_str_eq(eff.rules[0].id, "r1");
	ck_assert_str_eq(eff.rules[1].id, "r3");
	ck_assert_int_eq(eff.rules[1].severity, FINDING_SEV_CRITICAL);
	ck_assert_int_eq(pack.rules[2].severity, FINDING_SEV_LOW);
	ck_assert_str_eq(eff.rules[2].id, "mine");
	free(eff.rules);
	o = tenantrules_to_json(&t, &pack.rules[2], 0);
	ck_assert(json_object_object_get_ex(o, "severity", &v));
	ck_assert_str_eq(json_object_get_string(v), "critical");
	ck_assert(json_object_object_get_ex(o, "default_severity", &v));
	ck_assert_str_eq(json_object_get_string(v), "low");
	json_object_put(o);
	o = tenantrules_to_json(&t, &pack.rules[1], 0);
	ck_assert(json_object_object_get_ex(o, "enabled", &v));
	ck_assert(!json_object_get_boolean(v));
	json_object_put(o);
	/* Another tenant: no settings, no custom rules, the whole pack. */
	ck_assert_int_eq(tenantrules_effective(NULL, &pack, &eff), 0);
	ck_assert_uint_eq(eff.n, 3);
	ck_assert_int_eq(eff.rules[2].severity, FINDING_SEV_LOW);
	free(eff.rules);
	rules_free(&t.custom);
	rules_free(&pack);
}
END_TEST

/* Write text into dir/name. */
static void
put_file(const char *dir, const char *name, const char *qtext)
{
	char	 path[1024], *text = dq(qtext);
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	free(text);
}

START_TEST(test_rules_load_dir)
{
	struct ruleset	 set = { NULL, 0, NULL, 0 };
	char		 tmpl[] = "/tmp/vigil-rules-XXXXXX", sub[256], sub2[256];
	char		 err[1024], cmd[512];
	const char	*dir;

	ck_assert_ptr_nonnull(dir = mkdtemp(tmpl));
	/* empty: an error, so a misconfigured rules directory never means
	 * "no findings" */
	ck_assert_int_eq(rules_load_dir(&set, dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no *.json rule files"));
	snprintf(sub, sizeof(sub), "%s/b", dir);
	snprintf(sub2, sizeof(sub2), "%s/a", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(mkdir(sub2, 0700), 0);
	put_file(sub, "z.json", "{" HEAD ",'id':'z1','condition':"
	    "{'path':'a','eq':1}}");
	put_file(sub2, "y.json", "[{" HEAD ",'id':'y1','condition':"
	    "{'path':'a','eq':1}},{" HEAD ",'id':'y2','condition':"
	    "{'path':'a','eq':1}}]");
	put_file(dir, "README.txt", "not a rule");
	put_file(dir, ".hidden.json", "broken");
	ck_assert_int_eq(rules_load_dir(&set, dir, err, sizeof(err)), 0);
	ck_assert_uint_eq(set.n, 3);
	/* sorted by path: a/y.json before b/z.json */
	ck_assert_str_eq(set.rules[0].id, "y1");
	ck_assert_str_eq(set.rules[2].id, "z1");
	ck_assert_ptr_nonnull(strstr(set.rules[2].file, "/b/z.json"));
	/* loading again: every id is a duplicate, so every file is skipped
	 * and listed, one entry per rule; the set's rules are unchanged */
	ck_assert_int_eq(rules_load_dir(&set, dir, err, sizeof(err)), 0);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_uint_eq(set.ninvalid, 3);
	ck_assert_ptr_nonnull(strstr(set.invalid[0].file, "/a/y.json"));
	ck_assert_ptr_nonnull(strstr(set.invalid[1].error, "rule y2: id: "
	    "duplicate id (also in "));
	rules_free(&set);
	/* a duplicate across files: the later file is skipped, named with
	 * the rule and the path of the error; the others load */
	put_file(sub, "x.json", "{" HEAD ",'id':'y2','condition':"
	    "{'path':'a','eq':1}}");
	ck_assert_int_eq(rules_load_dir(&set, dir, err, sizeof(err)), 0);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_uint_eq(set.ninvalid, 1);
	ck_assert_ptr_nonnull(strstr(set.invalid[0].file, "/b/x.json"));
	ck_assert_ptr_nonnull(strstr(set.invalid[0].error, "rule y2: id: "
	    "duplicate id (also in "));
	rules_free(&set);
	/* a bad rule and broken JSON: each file skipped with its problem,
	 * every bad rule of a file listed, never stopping the other files */
	put_file(sub, "x.json", "[{" HEAD ",'id':'x1','condition':"
	    "{'path':'a','op':1}},{" HEAD ",'id':'x2','condition':"
	    "{'path':'a','eq':1}},{" HEAD ",'id':'x3','severity':'bad',"
	    "'condition':{'path':'a','eq':1}}]");
	put_file(sub, "w.json", "{\"id\": ");
	ck_assert_int_eq(rules_load_dir(&set, dir, err, sizeof(err)), 0);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_str_eq(set.rules[0].id, "y1");
	ck_assert_str_eq(set.rules[2].id, "z1");
	ck_assert_uint_eq(set.ninvalid, 3);
	ck_assert_ptr_nonnull(strstr(set.invalid[0].file, "/b/w.json"));
	ck_assert_ptr_nonnull(strstr(set.invalid[0].error, "invalid JSON"));
	ck_assert_ptr_nonnull(strstr(set.invalid[1].file, "/b/x.json"));
	ck_assert_ptr_eq(strstr(set.invalid[1].error, "rule x1: condition.op: "
	    "unknown operator"), set.invalid[1].error);
	ck_assert_ptr_nonnull(strstr(set.invalid[2].error, "rule x3: "
	    "severity: "));
	rules_free(&set);
	snprintf(sub, sizeof(sub), "%s/missing", dir);
	ck_assert_int_eq(rules_load_dir(&set, sub, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/missing: No such file"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The shipped pack, its references checked against the shipped
 * catalogue. */
static void
load_pack(struct ruleset *set)
{
	static struct catalog	 cat;
	char			 dir[1024], err[1024];

	snprintf(dir, sizeof(dir), "%s/data/frameworks", srcdir());
	ck_assert_msg(catalog_load_dir(&cat, dir, err, sizeof(err)) == 0,
	    "%s", err);
	rules_use_catalog(&cat);
	snprintf(dir, sizeof(dir), "%s/etc/rules/azure", srcdir());
	ck_assert_msg(rules_load_dir(set, dir, err, sizeof(err)) == 0,
	    "%s", err);
	rules_use_catalog(NULL);
	catalog_free(&cat);
}

static int
has_ref(const struct rule *r, const char *fw)
{
	size_t	 i;

	for (i = 0; i < r->nrefs; i++)
		if (strcmp(r->refs[i].framework, fw) == 0)
			return 1;
	return 0;
}

/* A catalogue of two small frameworks, for the reference checks. */
static void
tiny_catalog(struct catalog *cat)
{
	char	 err[256], *a, *b;

	a = dq("{'id':'fw-a','name':'A','source':'test','controls':["
	    "{'id':'1.1','title':'one'},{'id':'SC-7(3)','title':'two'}]}");
	b = dq("{'id':'fw-b','name':'B','source':'test','controls':["
	    "{'id':'CC6.1','title':'x'}]}");
	memset(cat, 0, sizeof(*cat));
	ck_assert_msg(catalog_parse(cat, a, strlen(a), "a.json", err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_msg(catalog_parse(cat, b, strlen(b), "b.json", err,
	    sizeof(err)) == 0, "%s", err);
	free(a);
	free(b);
}

#define HEAD_NOFW \
	"'id':'r1','provider':'azure','resource_type':'Test/things'," \
	"'title':'t','severity':'low','category':'network'," \
	"'description':'d','recommendation':'r','condition':{'path':'a'," \
	"'eq':1}"

/* The framework field: the old free text, or references checked against
 * the catalogue in use, each error naming its place. */
START_TEST(test_rules_framework_refs)
{
	static const struct {
		const char	*fw;	/* ' for " */
		const char	*err;	/* NULL: accepted */
	} cases[] = {
		{ "'CIS Azure 6.1'", NULL },
		{ "[{'framework':'fw-a','control':'1.1'},"
		  "{'framework':'fw-a','control':'SC-7(3)'},"
		  "{'framework':'fw-b','control':'CC6.1'}]", NULL },
		{ "[]", "t.json: rule r1: framework: must be an array of 1 "
		  "to 64" },
		{ "3", "t.json: rule r1: framework: must be an array" },
		{ "['x']", "t.json: rule r1: framework[0]: must be an object" },
		{ "[{'framework':'fw-a','control':'1.1'},"
		  "{'framework':'fw-a','control':'9.9'}]",
		  "t.json: rule r1: framework[1].control: \"9.9\" is not a "
		  "control of fw-a" },
		{ "[{'framework':'nist','control':'AC-1'}]",
		  "t.json: rule r1: framework[0].framework: unknown framework "
		  "\"nist\" (fw-a, fw-b)" },
		{ "[{'framework':'fw-a'}]",
		  "t.json: rule r1: framework[0].control: missing" },
		{ "[{'framework':'fw-a','control':'1.1','note':1}]",
		  "t.json: rule r1: framework[0].note: unknown field" },
		{ "[{'framework':'FW A','control':'1.1'}]",
		  "t.json: rule r1: framework[0].framework: \"FW A\" is not "
		  "a framework id" },
		{ "[{'framework':'fw-a','control':'1 1'}]",
		  "t.json: rule r1: framework[0].control: \"1 1\" is not a "
		  "control id" },
		{ "[{'framework':'fw-a','control':'1.1'},"
		  "{'framework':'fw-a','control':'1.1'}]",
		  "t.json: rule r1: framework[1]: fw-a 1.1 is listed twice" },
	};
	struct catalog	 cat;
	struct ruleset	 set;
	char		 q[1024], err[512];
	size_t		 i;
	int		 rc;

	tiny_catalog(&cat);
	rules_use_catalog(&cat);
	for (i = 0; i < NELEM(cases); i++) {
		memset(&set, 0, sizeof(set));
		snprintf(q, sizeof(q), "{" HEAD_NOFW ",'framework':%s}",
		    cases[i].fw);
		rc = parse_q(&set, q, err, sizeof(err));
		if (cases[i].err == NULL)
			ck_assert_msg(rc == 0, "case %zu: %s", i, err);
		else {
			ck_assert_msg(rc == -1, "case %zu accepted", i);
			ck_assert_msg(strncmp(err, cases[i].err,
			    strlen(cases[i].err)) == 0, "case %zu: %s", i,
			    err);
		}
		rules_free(&set);
	}
	/* The references written out, grouped by framework. */
	memset(&set, 0, sizeof(set));
	ck_assert_int_eq(parse_q(&set, "{" HEAD_NOFW ",'framework':["
	    "{'framework':'fw-a','control':'1.1'},"
	    "{'framework':'fw-a','control':'SC-7(3)'},"
	    "{'framework':'fw-b','control':'CC6.1'}]}", err, sizeof(err)), 0);
	ck_assert_str_eq(set.rules[0].framework,
	    "fw-a 1.1, SC-7(3); fw-b CC6.1");
	ck_assert_uint_eq(set.rules[0].nrefs, 3);
	rules_free(&set);
	/* Without a catalogue only the form is checked. */
	rules_use_catalog(NULL);
	memset(&set, 0, sizeof(set));
	ck_assert_int_eq(parse_q(&set, "{" HEAD_NOFW ",'framework':["
	    "{'framework':'other','control':'Z.1'}]}", err, sizeof(err)), 0);
	rules_free(&set);
	catalog_free(&cat);
}
END_TEST

/* A catalogue file: its errors name the file and the place. */
START_TEST(test_catalog_parse)
{
	static const struct {
		const char	*text;	/* ' for " */
		const char	*err;
	} bad[] = {
		{ "[]", "c.json: must be a JSON object" },
		{ "{'name':'n','source':'s','controls':[{'id':'1','title':'t'}]}",
		  "c.json: id:" },
		{ "{'id':'Bad Id','name':'n','source':'s','controls':"
		  "[{'id':'1','title':'t'}]}", "c.json: id: must be lowercase" },
		{ "{'id':'a','name':'n','source':'s','controls':[]}",
		  "c.json: controls: must be an array of 1 to" },
		{ "{'id':'a','name':'n','source':'s','controls':"
		  "[{'id':'1','title':'t'},{'id':'1','title':'u'}]}",
		  "c.json: controls[1].id: control 1 is listed twice" },
		{ "{'id':'a','name':'n','source':'s','controls':"
		  "[{'id':'1','title':'t','text':'x'}]}",
		  "c.json: controls[0].text: unknown field" },
		{ "{'id':'a','name':'n','source':'s','extra':1,'controls':"
		  "[{'id':'1','title':'t'}]}", "c.json: extra: unknown field" },
		{ "{'id':'a','name':'n','source':'s','controls':"
		  "[{'id':'1'}]}", "c.json: controls[0].title:" },
	};
	struct catalog	 cat;
	const struct catalog_framework *f;
	char		*t, err[512], dir[1024];
	size_t		 i;

	for (i = 0; i < NELEM(bad); i++) {
		memset(&cat, 0, sizeof(cat));
		t = dq(bad[i].text);
		ck_assert_int_eq(catalog_parse(&cat, t, strlen(t), "c.json",
		    err, sizeof(err)), -1);
		ck_assert_msg(strncmp(err, bad[i].err, strlen(bad[i].err)) ==
		    0, "case %zu: %s", i, err);
		ck_assert_uint_eq(cat.n, 0);
		free(t);
	}
	/* A framework defined twice. */
	tiny_catalog(&cat);
	t = dq("{'id':'fw-a','name':'n','source':'s','controls':"
	    "[{'id':'1','title':'t'}]}");
	ck_assert_int_eq(catalog_parse(&cat, t, strlen(t), "c.json", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "c.json: id: framework fw-a is defined twice");
	free(t);
	ck_assert_ptr_null(catalog_framework(&cat, "fw-c"));
	f = catalog_framework(&cat, "fw-a");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(catalog_control(f, "SC-7(3)"), 1);
	ck_assert_int_eq(catalog_control(f, "1.1"), 0);
	ck_assert_int_eq(catalog_control(f, "1.2"), -1);
	catalog_free(&cat);
	/* The shipped catalogue: the four frameworks, each naming its
	 * source and the script that made it. */
	snprintf(dir, sizeof(dir), "%s/data/frameworks", srcdir());
	ck_assert_msg(catalog_load_dir(&cat, dir, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(cat.n, 4);
	ck_assert_str_eq(cat.f[0].id, "cis-azure-2.0");
	ck_assert_str_eq(cat.f[1].id, "nist-800-53-r5");
	ck_assert_str_eq(cat.f[2].id, "pci-dss-4.0");
	ck_assert_str_eq(cat.f[3].id, "soc2");
	for (i = 0; i < cat.n; i++) {
		ck_assert_msg(cat.f[i].source[0] != '\0', "%s", cat.f[i].id);
		ck_assert_msg(strstr(cat.f[i].generated_by,
		    "scripts/compliance-extract.py") != NULL, "%s",
		    cat.f[i].id);
	}
	ck_assert_int_ge(catalog_control(&cat.f[1], "SC-7"), 0);
	ck_assert_int_ge(catalog_control(&cat.f[0], "6.2"), 0);
	/* SOC 2 is the whole TSC 2017, not only the criteria a cloud check
	 * names: a rule may map to CC1.1 or a privacy criterion. */
	ck_assert_uint_eq(cat.f[3].n, 61);
	ck_assert_str_eq(cat.f[3].c[0].id, "CC1.1");
	ck_assert_str_eq(cat.f[3].c[0].title,
	    "Control Environment (COSO Principle 1)");
	ck_assert_int_ge(catalog_control(&cat.f[3], "CC9.1"), 0);
	ck_assert_int_ge(catalog_control(&cat.f[3], "P6.7"), 0);
	ck_assert_str_eq(cat.f[3].c[60].id, "P8.1");
	ck_assert_int_eq(catalog_control(&cat.f[3], "CC9.3"), -1);
	/* PCI DSS has its twelve requirements and every x.y under them
	 * besides the x.y.z the mappings name, so a rule can map to 5.4. */
	ck_assert_uint_eq(cat.f[2].n, 185);
	ck_assert_str_eq(cat.f[2].c[0].id, "1");
	ck_assert_int_ge(catalog_control(&cat.f[2], "5.4"), 0);
	ck_assert_int_ge(catalog_control(&cat.f[2], "12.10"), 0);
	ck_assert_int_ge(catalog_control(&cat.f[2], "1.2.5"), 0);
	ck_assert_int_eq(catalog_control(&cat.f[2], "12.11"), -1);
	catalog_free(&cat);
	/* No file at all is an error, so a wrong path is not an empty
	 * catalogue. */
	ck_assert_int_eq(catalog_load_dir(&cat, "/nonexistent-vigil-dir",
	    err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_rules_pack)
{
	static const char *const required[] = {
		"nsg-ssh-internet", "nsg-rdp-internet", "nsg-udp-internet",
		"nsg-http-internet", "nsg-all-ports-internet",
		"storage-secure-transfer", "storage-public-blob-access",
		"storage-min-tls", "storage-default-network-allow",
		"keyvault-soft-delete", "keyvault-purge-protection",
		"keyvault-public-network-access", "sql-firewall-allow-all",
		"sql-auditing-disabled", "webapp-https-only",
		"webapp-min-tls", "webapp-ftp-enabled",
		"vm-disk-unencrypted", "vm-unmanaged-disks",
	};
	static const char *const patched[] = {
		"storage-secure-transfer", "storage-min-tls",
		"webapp-https-only", "webapp-min-tls", "webapp-ftp-enabled",
	};
	static const char *const cats[] = {
		"network", "identity", "storage", "keyvault", "compliance",
	};
	struct ruleset	 set = { NULL, 0, NULL, 0 };
	size_t		 i, j;
	int		 found;

	load_pack(&set);
	ck_assert_uint_ge(set.n, 20);
	for (i = 0; i < NELEM(required); i++) {
		found = 0;
		for (j = 0; j < set.n; j++)
			if (strcmp(set.rules[j].id, required[i]) == 0)
				found = 1;
		ck_assert_msg(found, "%s is not in the pack", required[i]);
	}
	for (i = 0; i < set.n; i++) {
		const struct rule *r = &set.rules[i];

		ck_assert_str_eq(r->provider, "azure");
		ck_assert_msg(strncmp(r->id, "azure-", 6) != 0, "%s", r->id);
		ck_assert_msg(has_ref(r, "cis-azure-2.0"), "%s: no CIS "
		    "reference", r->id);
		ck_assert_msg(has_ref(r, "nist-800-53-r5"), "%s: no NIST "
		    "reference", r->id);
		ck_assert_msg(has_ref(r, "soc2"), "%s: no SOC 2 reference",
		    r->id);
		ck_assert_msg(strlen(r->framework) <= RULES_FRAMEWORK_TEXT,
		    "%s: framework text too long", r->id);
		ck_assert_msg(strncmp(r->resource_type, "Microsoft.", 10) == 0,
		    "%s", r->id);
		ck_assert_msg(r->remediation == NULL ||
		    r->severity == FINDING_SEV_LOW ||
		    r->severity == FINDING_SEV_MEDIUM, "%s", r->id);
	}
	for (i = 0; i < NELEM(patched); i++)
		for (j = 0; j < set.n; j++)
			if (strcmp(set.rules[j].id, patched[i]) == 0)
				ck_assert_msg(set.rules[j].remediation != NULL,
				    "%s has no remediation", patched[i]);
	for (i = 0; i < NELEM(cats); i++) {
		found = 0;
		for (j = 0; j < set.n; j++)
			if (strcmp(set.rules[j].category, cats[i]) == 0)
				found = 1;
		ck_assert_msg(found, "no rule in category %s", cats[i]);
	}
	rules_free(&set);
}
END_TEST

/* One line of tests/rules/expected.txt. */
struct expect {
	char	 file[256];	/* RULE-ID/NAME.json */
	char	 rule[128];
	int	 fires;
	char	 evidence[512];	/* "-" or names/paths, comma-separated */
	int	 seen;		/* found on disk */
};

static size_t
read_expected(struct expect **out)
{
	struct expect	*e = NULL;
	char		 path[1024], *text, *line, *next, *hash, *slash;
	char		 res[16];
	size_t		 n = 0;

	snprintf(path, sizeof(path), "%s/tests/rules/expected.txt",
	    srcdir());
	ck_assert_msg((text = slurp(path, NULL)) != NULL, "%s", path);
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		if (strspn(line, " \t") == strlen(line))
			continue;
		ck_assert_ptr_nonnull(e = realloc(e, (n + 1) * sizeof(*e)));
		memset(&e[n], 0, sizeof(e[n]));
		ck_assert_msg(sscanf(line, "%255s %15s %511s", e[n].file, res,
		    e[n].evidence) == 3, "expected.txt: bad line: %s", line);
		ck_assert_msg(strcmp(res, "fire") == 0 ||
		    strcmp(res, "pass") == 0, "expected.txt: %s", line);
		e[n].fires = strcmp(res, "fire") == 0;
		ck_assert_ptr_nonnull(slash = strchr(e[n].file, '/'));
		snprintf(e[n].rule, sizeof(e[n].rule), "%.*s",
		    (int)(slash - e[n].file), e[n].file);
		/* the name says what it must give */
		ck_assert_msg(strncmp(slash + 1, res, 4) == 0 &&
		    slash[5] == '-', "%s is listed as %s", e[n].file, res);
		ck_assert_msg(e[n].fires ? strcmp(e[n].evidence, "-") != 0 :
		    strcmp(e[n].evidence, "-") == 0, "%s: evidence %s",
		    e[n].file, e[n].evidence);
		n++;
	}
	free(text);
	*out = e;
	return n;
}

/* "name" of each evidence item, or its "path", comma-separated. */
static void
evidence_names(json_object *ev, char *out, size_t outsz)
{
	json_object	*it, *v;
	size_t		 i, n, len = 0;

	out[0] = '\0';
	n = json_object_array_length(ev);
	for (i = 0; i < n; i++) {
		it = json_object_array_get_idx(ev, i);
		if (!json_object_object_get_ex(it, "name", &v) &&
		    !json_object_object_get_ex(it, "path", &v))
			v = NULL;
		len += (size_t)snprintf(out + len, outsz - len, "%s%s",
		    i > 0 ? "," : "", v != NULL ? json_object_get_string(v) :
		    "?");
		ck_assert_uint_lt(len, outsz);
	}
}

START_TEST(test_rules_fixtures)
{
	struct ruleset		 set = { NULL, 0, NULL, 0 };
	struct expect		*e = NULL;
	const struct rule	*r;
	json_object		*res, *ev;
	struct vjson_err	 jerr;
	char			 path[1024], names[1024], *text;
	size_t			 i, j, n, len, nfire = 0, npass = 0;
	int			 got;

	load_pack(&set);
	n = read_expected(&e);
	ck_assert_uint_gt(n, 0);
	for (i = 0; i < n; i++) {
		r = NULL;
		for (j = 0; j < set.n; j++)
			if (strcmp(set.rules[j].id, e[i].rule) == 0)
				r = &set.rules[j];
		ck_assert_msg(r != NULL, "%s: no rule %s", e[i].file,
		    e[i].rule);
		snprintf(path, sizeof(path), "%s/tests/rules/%s", srcdir(),
		    e[i].file);
		ck_assert_msg((text = slurp(path, &len)) != NULL, "%s", path);
		res = vjson_parse(text, len, VIGIL_MAX_JSON_DEPTH,
		    VIGIL_MAX_BODY, &jerr);
		ck_assert_msg(res != NULL, "%s: %s", path, jerr.message);
		got = rules_eval(r, res, &ev);
		ck_assert_msg(got == e[i].fires, "%s: rules_eval gave %d",
		    e[i].file, got);
		if (got == 1) {
			evidence_names(ev, names, sizeof(names));
			ck_assert_msg(strcmp(names, e[i].evidence) == 0,
			    "%s: evidence %s, want %s (%s)", e[i].file, names,
			    e[i].evidence, vjson_str(ev, NULL));
			nfire++;
		} else {
			ck_assert_ptr_null(ev);
			npass++;
		}
		json_object_put(ev);
		json_object_put(res);
		free(text);
	}
	ck_assert_uint_gt(nfire, 0);
	ck_assert_uint_gt(npass, 0);
	free(e);
	rules_free(&set);
}
END_TEST

/* Every rule has a firing and a passing fixture, and every fixture on
 * disk is listed (so none is silently skipped). */
START_TEST(test_rules_fixtures_complete)
{
	struct ruleset	 set = { NULL, 0, NULL, 0 };
	struct expect	*e = NULL;
	struct dirent	*de, *fe;
	DIR		*d, *fd;
	char		 path[1024], file[512];
	size_t		 i, j, n;
	int		 fire, pass, listed;

	load_pack(&set);
	n = read_expected(&e);
	for (i = 0; i < set.n; i++) {
		fire = pass = 0;
		for (j = 0; j < n; j++) {
			if (strcmp(e[j].rule, set.rules[i].id) != 0)
				continue;
			if (e[j].fires)
				fire++;
			else
				pass++;
		}
		ck_assert_msg(fire > 0 && pass > 0, "rule %s has %d firing "
		    "and %d passing fixtures in tests/rules/expected.txt "
		    "(it needs one of each)", set.rules[i].id, fire, pass);
	}
	snprintf(path, sizeof(path), "%s/tests/rules", srcdir());
	ck_assert_msg((d = opendir(path)) != NULL, "%s", path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    strcmp(de->d_name, "expected.txt") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/tests/rules/%s", srcdir(),
		    de->d_name);
		ck_assert_msg((fd = opendir(path)) != NULL, "%s: not a "
		    "directory", path);
		while ((fe = readdir(fd)) != NULL) {
			if (fe->d_name[0] == '.')
				continue;
			snprintf(file, sizeof(file), "%s/%s", de->d_name,
			    fe->d_name);
			listed = 0;
			for (j = 0; j < n; j++)
				if (strcmp(e[j].file, file) == 0) {
					listed = 1;
					e[j].seen++;
				}
			ck_assert_msg(listed, "tests/rules/%s is not in "
			    "expected.txt", file);
		}
		closedir(fd);
	}
	closedir(d);
	for (j = 0; j < n; j++)
		ck_assert_msg(e[j].seen == 1, "%s: listed, not on disk",
		    e[j].file);
	free(e);
	rules_free(&set);
}
END_TEST

Suite *
rules_suite(void)
{
	Suite	*s = suite_create("rules");
	TCase	*tc = tcase_create("engine"), *tp = tcase_create("pack");

	tcase_add_test(tc, test_rules_paths);
	tcase_add_test(tc, test_rules_operators);
	tcase_add_test(tc, test_rules_ports);
	tcase_add_test(tc, test_rules_internet);
	tcase_add_test(tc, test_rules_defaults);
	tcase_add_test(tc, test_rules_combinators);
	tcase_add_test(tc, test_rules_eval_type);
	tcase_add_test(tc, test_rules_evidence_cap);
	tcase_add_test(tc, test_rules_validation);
	tcase_add_test(tc, test_rules_parse_appends);
	tcase_add_test(tc, test_rules_to_json);
	tcase_add_test(tc, test_tenantrules_effective);
	tcase_add_test(tc, test_rules_load_dir);
	tcase_add_test(tc, test_rules_framework_refs);
	tcase_add_test(tc, test_catalog_parse);
	suite_add_tcase(s, tc);
	tcase_add_test(tp, test_rules_pack);
	tcase_add_test(tp, test_rules_fixtures);
	tcase_add_test(tp, test_rules_fixtures_complete);
	suite_add_tcase(s, tp);
	return s;
}
