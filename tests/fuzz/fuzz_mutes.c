/* fuzz_mutes.c: libFuzzer target for the mute rules' pure half (mutes.c:
 * mutes_parse, mutes_glob, mutes_resource_group, mutes_rule_matches). The
 * input is lines: the first a POST /mute-rules body, the next ones a
 * finding to match (rule_id, source, provider, resource_id,
 * resource_group, subscription_id, environment, tags). Checks: a refused
 * body says why; an accepted one has a criterion, a
 * non-blank justification, a rule_id pattern of the allowed characters, a
 * tag key of 1-128 bytes and an expiry after now, and reads back the same
 * from its own JSON (mutes_to_json, as GET shows it); mutes_glob agrees
 * with a plain dynamic-programming matcher on every pattern and string,
 * bytes above 127 included; a resource group found in an id is one
 * non-empty segment of it; a rule that matches a finding matches it on
 * each criterion it names. The database functions mutes.c also holds are
 * stubs that must never be reached. Built by "make fuzz". */
#include "vigil.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "audit.h"
#include "db.h"
#include "findings.h"
#include "fuzz.h"
#include "lifecycle.h"
#include "log.h"
#include "mutes.h"
#include "vjson.h"

#define NOW	1767225600	/* 2026-01-01 */

/* -- what mutes.c links against and the pure half never calls ---------- */

int db_exec(struct db *d, enum db_stmt s, const struct db_val *p, size_t n,
    struct db_res **o) { (void)d; (void)s; (void)p; (void)n; (void)o;
    FUZZ_CHECK(0); return -1; }
int db_exec_affected(struct db *d, enum db_stmt s, const struct db_val *p,
    size_t n, unsigned long long *a) { (void)d; (void)s; (void)p; (void)n;
    (void)a; FUZZ_CHECK(0); return -1; }
int db_begin(struct db *d) { (void)d; FUZZ_CHECK(0); return -1; }
int db_commit(struct db *d) { (void)d; FUZZ_CHECK(0); return -1; }
int db_rollback(struct db *d) { (void)d; FUZZ_CHECK(0); return -1; }
int db_tx_run(struct db *d, int (*fn)(struct db *, void *), void *a)
    { (void)d; (void)fn; (void)a; FUZZ_CHECK(0); return -1; }
void db_res_free(struct db_res *r) { (void)r; }
const char *db_cell(const struct db_res *r, size_t i, size_t c) { (void)r;
    (void)i; (void)c; FUZZ_CHECK(0); return NULL; }
long long db_cell_int(const struct db_res *r, size_t i, size_t c) { (void)r;
    (void)i; (void)c; FUZZ_CHECK(0); return 0; }
int audit_append(struct db *d, const char *t, const char *a, const char *x,
    const char *o, json_object *j) { (void)d; (void)t; (void)a; (void)x;
    (void)o; (void)j; FUZZ_CHECK(0); return -1; }
int audit_commit(struct db *d, const char *t, const char *a, const char *x,
    const char *o, json_object *j) { (void)d; (void)t; (void)a; (void)x;
    (void)o; (void)j; FUZZ_CHECK(0); return -1; }
enum findings_outcome findings_act_mute(struct db *d, const char *t,
    const char *i, const char *g, const char *why, time_t now,
    struct lc_result *r, struct finding_row **f, int *rc) { (void)d;
    (void)t; (void)i; (void)g; (void)why; (void)now; (void)r; (void)f;
    (void)rc; FUZZ_CHECK(0); return FINDINGS_DB_ERROR; }
void lifecycle_result_free(struct lc_result *r) { (void)r; }
void findings_row_free(struct finding_row *r) { (void)r; }
void log_msg(enum log_level l, const char *fmt, ...) { (void)l; (void)fmt; }

/* -- the reference matcher ---------------------------------------------- */

/* p matches s: m[i][j] for p[i..], s[j..], filled from the ends. */
static int
ref_glob(const char *p, const char *s)
{
	size_t np = strlen(p), ns = strlen(s), i, j;
	unsigned char *m;
	int hit;

	FUZZ_CHECK((m = calloc((np + 1) * (ns + 1), 1)) != NULL);
#define M(a, b) m[(a) * (ns + 1) + (b)]
	M(np, ns) = 1;
	for (i = np; i-- > 0;)
		for (j = ns + 1; j-- > 0;) {
			if (p[i] == '*')
				M(i, j) = M(i + 1, j) || (j < ns && M(i, j + 1));
			else if (j < ns && (p[i] == '?' ||
			    tolower((unsigned char)p[i]) ==
			    tolower((unsigned char)s[j])))
				M(i, j) = M(i + 1, j + 1);
		}
	hit = M(0, 0);
#undef M
	free(m);
	return hit;
}

/* -- helpers ------------------------------------------------------------ */

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
check_group(const char *rid)
{
	char g[MUTES_GROUP_MAX + 1];
	const char *p;
	size_t len;

	if (mutes_resource_group(rid, g, sizeof(g)) != 0)
		return;
	len = strlen(g);
	FUZZ_CHECK(len > 0 && len < sizeof(g) && strchr(g, '/') == NULL);
	for (p = rid; *p != '\0'; p++)
		if (strncasecmp(p, "/resourcegroups/", 16) == 0)
			break;
	FUZZ_CHECK(*p != '\0' && strncmp(p + 16, g, len) == 0 &&
	    (p[16 + len] == '\0' || p[16 + len] == '/'));
}

/* What an accepted rule must be, and that its JSON reads back as it. */
static void
check_rule(const struct mute_rule *r)
{
	json_object *o, *back;
	struct mute_rule again;
	struct vjson_err err;
	char tag[MUTES_TAG_MAX + 1];
	const char *p;

	FUZZ_CHECK(r->rule_pattern || r->source || r->resource_pattern ||
	    r->resource_group || r->subscription_id || r->environment ||
	    r->tag_key);
	FUZZ_CHECK(r->justification != NULL);
	for (p = r->justification; isspace((unsigned char)*p); p++)
		;
	FUZZ_CHECK(*p != '\0');
	for (p = r->rule_pattern; p != NULL && *p != '\0'; p++)
		FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyz0123456789-_.*?",
		    *p) != NULL);
	if (r->tag_key != NULL)
		FUZZ_CHECK(*r->tag_key != '\0' && strlen(r->tag_key) <= 128 &&
		    r->tag_value != NULL);
	if (r->resource_group != NULL)
		FUZZ_CHECK(strchr(r->resource_group, '/') == NULL);
	FUZZ_CHECK(r->expires_at == 0 || r->expires_at > NOW);

	/* GET's shape, less what the server adds, is a body POST takes. */
	o = mutes_to_json(r);
	json_object_object_del(o, "id");
	json_object_object_del(o, "expired");
	json_object_object_del(o, "created_at");
	json_object_object_del(o, "created_by");
	{
		static const char *const k[] = { "rule_id", "source",
		    "resource_id", "resource_group", "subscription_id",
		    "environment", "tag", "expires_at" };
		size_t i;

		for (i = 0; i < NELEM(k); i++)
			if (json_object_object_get(o, k[i]) == NULL)
				json_object_object_del(o, k[i]);
	}
	back = json_tokener_parse(json_object_to_json_string(o));
	FUZZ_CHECK(back != NULL);
	memset(&err, 0, sizeof(err));
	FUZZ_CHECK(mutes_parse(back, NOW, &again, tag, sizeof(tag),
	    &err) == 0);
	FUZZ_CHECK(same(again.rule_pattern, r->rule_pattern));
	FUZZ_CHECK(same(again.source, r->source));
	FUZZ_CHECK(same(again.resource_pattern, r->resource_pattern));
	FUZZ_CHECK(same(again.resource_group, r->resource_group));
	FUZZ_CHECK(same(again.subscription_id, r->subscription_id));
	FUZZ_CHECK(same(again.environment, r->environment));
	FUZZ_CHECK(same(again.tag_key, r->tag_key));
	FUZZ_CHECK(same(again.tag_value, r->tag_value));
	FUZZ_CHECK(same(again.justification, r->justification));
	FUZZ_CHECK(again.expires_at == r->expires_at);
	json_object_put(back);
	json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *line[9], *p, tag[MUTES_TAG_MAX + 1];
	struct mute_subject s;
	struct mute_rule r;
	struct vjson_err err;
	json_object *body;
	size_t n = 0;
	int rc;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* NUL bytes end a line early, as they end a C string */
	for (p = text; n < NELEM(line); n++) {
		line[n] = p;
		if ((p = strchr(p, '\n')) == NULL)
			break;
		*p++ = '\0';
	}
	if (n < NELEM(line))
		n++;
	for (; n < NELEM(line); n++)
		line[n] = NULL;

	/* the glob on any bytes: the second line against the third */
	if (line[1] != NULL && line[2] != NULL)
		FUZZ_CHECK(mutes_glob(line[1], line[2]) ==
		    ref_glob(line[1], line[2]));
	if (line[4] != NULL)
		check_group(line[4]);

	memset(&err, 0, sizeof(err));
	body = vjson_parse(line[0], strlen(line[0]), 32, 1 << 20, &err);
	rc = mutes_parse(body, NOW, &r, tag, sizeof(tag), &err);
	if (rc != 0) {
		/* the field may be "", when the unknown key is "" */
		FUZZ_CHECK(err.message[0] != '\0');
		goto out;
	}
	check_rule(&r);
	memset(&s, 0, sizeof(s));
	s.rule_id = line[1] ? line[1] : "";
	s.source = line[2];
	s.provider = line[3] ? line[3] : "";
	s.resource_id = line[4] ? line[4] : "";
	s.resource_group = line[5];
	s.subscription_id = line[6];
	s.environment = line[7];
	s.tags = line[8];
	if (mutes_rule_matches(&r, &s)) {
		struct mute_set set = { &r, 1 };

		r.id = (char *)"mute_fuzz";

		if (r.rule_pattern != NULL)
			FUZZ_CHECK(ref_glob(r.rule_pattern, s.rule_id));
		if (r.resource_pattern != NULL)
			FUZZ_CHECK(ref_glob(r.resource_pattern,
			    s.resource_id));
		if (r.source != NULL)
			FUZZ_CHECK((s.source != NULL && strcasecmp(r.source,
			    s.source) == 0) || strcasecmp(r.source,
			    s.provider) == 0);
		if (r.subscription_id != NULL)
			FUZZ_CHECK(s.subscription_id != NULL &&
			    strcasecmp(r.subscription_id,
			    s.subscription_id) == 0);
		if (r.environment != NULL)
			FUZZ_CHECK(s.environment != NULL &&
			    strcasecmp(r.environment, s.environment) == 0);
		if (r.tag_key != NULL)
			FUZZ_CHECK(s.tags != NULL);
		FUZZ_CHECK(mutes_match(&set, &s) == r.id);
	}
out:
	if (body != NULL)
		json_object_put(body);
	free(text);
	return 0;
}
