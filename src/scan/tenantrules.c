/* tenantrules.c: rules per tenant (README, Rule settings). Settings and
 * custom rules are rows keyed by tenant; a scan builds its effective rule
 * set from the server's rule pack and them, so one tenant's choices never
 * reach another's scan. Custom rules go through the same checker as the
 * rule pack's files (rules_parse), when stored and when loaded. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "findings.h"
#include "lifecycle.h"
#include "log.h"
#include "tenantrules.h"
#include "vjson.h"
#include "vtime.h"

/* SQL_RULESET_SETTINGS's and SQL_RULESET_CUSTOM's columns. */
enum { SETTINGS_C_RULE, SETTINGS_C_ENABLED, SETTINGS_C_SEVERITY };
enum { CUSTOM_C_ID, CUSTOM_C_BODY };

void
tenantrules_free(struct tenantrules *t)
{
	if (t == NULL)
		return;
	free(t->settings);
	rules_free(&t->custom);
	memset(t, 0, sizeof(*t));
}

/* Append the rules of set (taken over) to dst. 0 or -1. */
static int
absorb(struct ruleset *dst, struct ruleset *set)
{
	struct rule *p;

	if (set->n == 0)
		return 0;
	if ((p = realloc(dst->rules, (dst->n + set->n) * sizeof(*p))) == NULL)
		return -1;
	memcpy(p + dst->n, set->rules, set->n * sizeof(*p));
	dst->rules = p;
	dst->n += set->n;
	free(set->rules);
	set->rules = NULL;
	set->n = 0;
	return 0;
}

static const struct rule *
find(const struct ruleset *set, const char *id)
{
	size_t i;

	for (i = 0; set != NULL && i < set->n; i++)
		if (strcmp(set->rules[i].id, id) == 0)
			return &set->rules[i];
	return NULL;
}

int
tenantrules_load(struct db *db, const char *tenant_id,
    const struct ruleset *builtin, struct tenantrules *out)
{
	struct db_res *res = NULL;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_exec(db, SQL_RULESET_SETTINGS, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &res)) != 0)
		return rc;
	if (res->nrows > 0 && (out->settings = calloc(res->nrows,
	    sizeof(*out->settings))) == NULL) {
		db_res_free(res);
		return DB_ERR;
	}
	for (i = 0; i < res->nrows; i++) {
		struct tenantrules_setting *s = &out->settings[out->nsettings++];
		const char *sev = db_cell(res, i, SETTINGS_C_SEVERITY);

		snprintf(s->rule_id, sizeof(s->rule_id), "%s",
		    db_cell(res, i, SETTINGS_C_RULE));
		s->enabled = db_cell_int(res, i, SETTINGS_C_ENABLED) != 0;
		if (sev == NULL || finding_severity_from_str(sev,
		    &s->severity) != 0)
			s->severity = FINDING_SEV_UNSET;
	}
	db_res_free(res);
	res = NULL;
	if ((rc = db_exec(db, SQL_RULESET_CUSTOM, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &res)) != 0)
		goto fail;
	for (i = 0; i < res->nrows; i++) {
		struct ruleset one = { NULL, 0, NULL, 0 };
		const char *body = db_cell(res, i, CUSTOM_C_BODY);
		char err[512];

		if (rules_parse(&one, body, strlen(body), "custom rule", err,
		    sizeof(err)) != 0) {
			log_warn("tenant %s: custom rule %s skipped: %s",
			    tenant_id, db_cell(res, i, CUSTOM_C_ID), err);
			continue;
		}
		/* made before the rule pack gave a built-in rule its id:
		 * the built-in one is the rule of that id (the scan would
		 * otherwise observe each finding twice) */
		if (find(builtin, one.rules[0].id) != NULL) {
			log_warn("tenant %s: custom rule %s skipped: a "
			    "built-in rule has its id now; delete it (DELETE "
			    "/api/v1/rules/%s) or create it again under "
			    "another id", tenant_id, one.rules[0].id,
			    one.rules[0].id);
			rules_free(&one);
			continue;
		}
		if (absorb(&out->custom, &one) != 0) {
			rules_free(&one);
			rc = DB_ERR;
			goto fail;
		}
	}
	db_res_free(res);
	return 0;
fail:
	db_res_free(res);
	tenantrules_free(out);
	return rc;
}

const struct tenantrules_setting *
tenantrules_setting(const struct tenantrules *t, const char *rule_id)
{
	size_t i;

	for (i = 0; t != NULL && i < t->nsettings; i++)
		if (strcmp(t->settings[i].rule_id, rule_id) == 0)
			return &t->settings[i];
	return NULL;
}

static int
add_effective(const struct tenantrules *t, const struct rule *r,
    struct ruleset *eff)
{
	const struct tenantrules_setting *s = tenantrules_setting(t, r->id);

	if (s != NULL && !s->enabled)
		return 0;
	eff->rules[eff->n] = *r;
	if (s != NULL && s->severity != FINDING_SEV_UNSET)
		eff->rules[eff->n].severity = s->severity;
	eff->n++;
	return 0;
}

int
tenantrules_effective(const struct tenantrules *t,
    const struct ruleset *builtin, struct ruleset *eff)
{
	size_t i, n = builtin->n + (t ? t->custom.n : 0);

	eff->n = 0;
	if ((eff->rules = calloc(n ? n : 1, sizeof(*eff->rules))) == NULL)
		return -1;
	for (i = 0; i < builtin->n; i++)
		add_effective(t, &builtin->rules[i], eff);
	for (i = 0; t != NULL && i < t->custom.n; i++)
		add_effective(t, &t->custom.rules[i], eff);
	return 0;
}

json_object *
tenantrules_to_json(const struct tenantrules *t, const struct rule *r,
    int custom)
{
	const struct tenantrules_setting *s = tenantrules_setting(t, r->id);
	json_object *o = rules_to_json(r);

	if (o == NULL)
		return NULL;
	if (s != NULL && s->severity != FINDING_SEV_UNSET)
		json_object_object_add(o, "severity", json_object_new_string(
		    finding_severity_str(s->severity)));
	json_object_object_add(o, "default_severity",
	    json_object_new_string(finding_severity_str(r->severity)));
	json_object_object_add(o, "enabled",
	    json_object_new_boolean(s == NULL || s->enabled));
	json_object_object_add(o, "custom", json_object_new_boolean(custom));
	return o;
}

/* -- changes ------------------------------------------------------------- */


/* Resolve the tenant's findings of rule_id that are not resolved or
 * dismissed, each in its own transaction (LC_RULE_GONE). The number
 * resolved, or DB_DOWN. */
static long
resolve_rule(struct db *db, const char *tenant_id, const char *rule_id,
    const char *reason, time_t now)
{
	struct db_res *ids = NULL;
	struct lc_input in;
	long n = 0;
	size_t i;
	int rc;

	if ((rc = db_exec(db, SQL_RULESET_FINDINGS, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(rule_id) }, 2, &ids)) != 0)
		return rc;
	memset(&in, 0, sizeof(in));
	in.kind = LC_RULE_GONE;
	in.u.gone.rule_id = rule_id;
	in.u.gone.reason = reason;
	for (i = 0; i < ids->nrows; i++) {
		struct finding_row *after = NULL;
		struct lc_result res;
		enum findings_outcome o;

		o = findings_act(db, tenant_id, db_cell(ids, i, 0), &in,
		    LC_BY_SYSTEM, now, &res, &after, &rc);
		if (o == FINDINGS_OK && res.changed)
			n++;
		lifecycle_result_free(&res);
		findings_row_free(after);
		if (o == FINDINGS_DB_ERROR && rc == DB_DOWN) {
			n = DB_DOWN;
			break;
		}
	}
	db_res_free(ids);
	return n;
}

/* One run of tenantrules_set's transaction; *disabled says whether the
 * rule went from enabled to disabled. */
static enum tenantrules_outcome
set_once(struct db *db, const char *tenant_id,
    const struct ruleset *builtin, const char *rule_id, int enabled_set,
    int enabled, int sev_set, enum finding_severity sev, const char *actor,
    time_t now, int *disabled, int *rc)
{
	struct tenantrules t;
	const struct tenantrules_setting *s;
	const struct rule *r;
	json_object *detail;
	char at[VTIME_SQL_LEN];
	int was_enabled, now_enabled;
	enum finding_severity now_sev;

	*disabled = 0;
	/* The setting is read under the tenant's lock, which every writer
	 * of rule settings takes first: read before it, a change made
	 * meanwhile (a disable) was merged back over (enabled again). */
	if ((*rc = db_begin(db)) != 0)
		return TENANTRULES_ERROR;
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = tenantrules_load(db, tenant_id, builtin, &t)) != 0) {
		db_rollback(db);
		return TENANTRULES_ERROR;
	}
	if ((r = find(builtin, rule_id)) == NULL &&
	    (r = find(&t.custom, rule_id)) == NULL) {
		tenantrules_free(&t);
		db_rollback(db);
		return TENANTRULES_NOT_FOUND;
	}
	s = tenantrules_setting(&t, rule_id);
	was_enabled = s == NULL || s->enabled;
	now_enabled = enabled_set ? enabled : was_enabled;
	now_sev = sev_set ? sev : (s ? s->severity : FINDING_SEV_UNSET);
	tenantrules_free(&t);
	vtime_sql(now, at, sizeof(at));
	detail = json_object_new_object();
	json_object_object_add(detail, "enabled",
	    json_object_new_boolean(now_enabled));
	json_object_object_add(detail, "severity", now_sev == FINDING_SEV_UNSET
	    ? NULL : json_object_new_string(finding_severity_str(now_sev)));
	if ((*rc = db_exec(db, SQL_RULESET_SET, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(rule_id), DB_INT(now_enabled),
	    now_sev == FINDING_SEV_UNSET ? DB_NUL :
	    DB_STR(finding_severity_str(now_sev)), DB_STR(at),
	    DB_STR(actor) }, 6, NULL)) != 0) {
		json_object_put(detail);
		db_rollback(db);
		return TENANTRULES_ERROR;
	}
	if ((*rc = audit_commit(db, tenant_id, actor, "rule.update", rule_id,
	    detail)) != 0) {
		db_rollback(db);
		return TENANTRULES_ERROR;
	}
	/* Disabled by this request, or disabled again: the resolve of a
	 * first disable that stopped midway (the database gone) is
	 * finished by sending it again; it finds nothing left otherwise. */
	*disabled = enabled_set && !now_enabled;
	return TENANTRULES_OK;
}

static enum tenantrules_outcome
create_once(struct db *db, const char *tenant_id,
    const struct ruleset *builtin, const char *text, size_t len,
    const char *actor, time_t now, char *id_out, size_t id_outsz,
    char *err, size_t errsz, int *rc)
{
	struct ruleset one = { NULL, 0, NULL, 0 };
	struct db_res *cnt = NULL;
	json_object *doc = NULL;
	enum tenantrules_outcome o = TENANTRULES_INVALID;
	char at[VTIME_SQL_LEN];

	*rc = 0;
	err[0] = '\0';
	/* One rule object, checked as a rule file is. */
	doc = json_tokener_parse(text);
	if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
		snprintf(err, errsz, "rule: must be one rule object");
		goto out;
	}
	if (json_object_object_get_ex(doc, "remediation", NULL)) {
		snprintf(err, errsz, "rule: remediation: a custom rule cannot "
		    "carry a remediation");
		goto out;
	}
	if (rules_parse(&one, text, len, "rule", err, errsz) != 0)
		goto out;
	snprintf(id_out, id_outsz, "%s", one.rules[0].id);
	if (find(builtin, one.rules[0].id) != NULL) {
		snprintf(err, errsz, "rule: id: %s is a built-in rule",
		    one.rules[0].id);
		o = TENANTRULES_CONFLICT;
		goto out;
	}
	vtime_sql(now, at, sizeof(at));
	o = TENANTRULES_ERROR;
	if ((*rc = db_begin(db)) != 0)
		goto out;
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec(db, SQL_RULESET_CUSTOM_COUNT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, &cnt)) != 0)
		goto fail;
	if (db_cell_int(cnt, 0, 0) >= TENANTRULES_MAX_CUSTOM) {
		snprintf(err, errsz, "the tenant has %d custom rules, the most "
		    "allowed", TENANTRULES_MAX_CUSTOM);
		o = TENANTRULES_CONFLICT;
		goto fail;
	}
	*rc = db_exec(db, SQL_RULESET_CUSTOM_INSERT, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(one.rules[0].id), DB_STRN(text, len),
	    DB_STR(at), DB_STR(actor) }, 5, NULL);
	if (*rc == DB_DUP) {
		snprintf(err, errsz, "rule: id: the tenant already has a rule "
		    "%s", one.rules[0].id);
		o = TENANTRULES_CONFLICT;
		goto fail;
	}
	if (*rc != 0 ||
	    (*rc = audit_commit(db, tenant_id, actor, "rule.create",
	    one.rules[0].id, json_tokener_parse(text))) != 0)
		goto fail;
	o = TENANTRULES_OK;
	goto out;
fail:
	db_rollback(db);
out:
	db_res_free(cnt);
	json_object_put(doc);
	rules_free(&one);
	return o;
}

static enum tenantrules_outcome
delete_once(struct db *db, const char *tenant_id,
    const struct ruleset *builtin, const char *rule_id, const char *actor,
    int *rc)
{
	unsigned long long deleted = 0;

	*rc = 0;
	if ((*rc = db_begin(db)) != 0)
		return TENANTRULES_ERROR;
	/* The tenant's custom rule of that id first: one the rule pack
	 * has since given a built-in id to is set aside, and deleted here
	 * like any other (its setting stays: it is the built-in rule's
	 * now). */
	if ((*rc = db_exec(db, SQL_KEY_LOCK_TENANT, (struct db_val[]){
	    DB_STR(tenant_id) }, 1, NULL)) != 0 ||
	    (*rc = db_exec_affected(db, SQL_RULESET_CUSTOM_DELETE,
	    (struct db_val[]){ DB_STR(tenant_id), DB_STR(rule_id) }, 2,
	    &deleted)) != 0)
		goto fail;
	if (deleted == 0) {
		db_rollback(db);
		return find(builtin, rule_id) != NULL ? TENANTRULES_CONFLICT :
		    TENANTRULES_NOT_FOUND;
	}
	if ((find(builtin, rule_id) == NULL &&
	    (*rc = db_exec(db, SQL_RULESET_SETTING_DELETE, (struct db_val[]){
	    DB_STR(tenant_id), DB_STR(rule_id) }, 2, NULL)) != 0) ||
	    (*rc = audit_commit(db, tenant_id, actor, "rule.delete", rule_id,
	    NULL)) != 0)
		goto fail;
	return TENANTRULES_OK;
fail:
	db_rollback(db);
	return TENANTRULES_ERROR;
}

/* A tenant's rule changes run in db_tx_run (the *_once functions are its
 * body; their begin, rollback and commit join its transaction), replayed
 * whole after a deadlock or a certification failure. Resolving the
 * findings of a rule disabled or deleted follows the commit, in
 * transactions of its own. */
enum tr_kind { TR_SET, TR_CREATE, TR_DELETE };

struct tr_tx {
	enum tr_kind		 kind;
	const char		*tenant_id, *rule_id, *actor, *text;
	const struct ruleset	*builtin;
	int			 enabled_set, enabled, sev_set, disabled;
	enum finding_severity	 sev;
	size_t			 len, id_outsz, errsz;
	char			*id_out, *err;
	time_t			 now;
	enum tenantrules_outcome o;
	int			 rc;
};

static int
tr_tx(struct db *db, void *arg)
{
	struct tr_tx *t = arg;

	t->rc = 0;
	switch (t->kind) {
	case TR_SET:
		t->o = set_once(db, t->tenant_id, t->builtin, t->rule_id,
		    t->enabled_set, t->enabled, t->sev_set, t->sev, t->actor,
		    t->now, &t->disabled, &t->rc);
		break;
	case TR_CREATE:
		t->o = create_once(db, t->tenant_id, t->builtin, t->text,
		    t->len, t->actor, t->now, t->id_out, t->id_outsz, t->err,
		    t->errsz, &t->rc);
		break;
	case TR_DELETE:
		t->o = delete_once(db, t->tenant_id, t->builtin, t->rule_id,
		    t->actor, &t->rc);
		break;
	}
	if (t->o == TENANTRULES_OK)
		return 0;
	if (t->o == TENANTRULES_ERROR)
		return t->rc != 0 ? t->rc : DB_ERR;
	return 1;
}

static enum tenantrules_outcome
tr_run(struct db *db, struct tr_tx *t, int *rc)
{
	int r;

	t->o = TENANTRULES_ERROR;
	r = db_tx_run(db, tr_tx, t);
	*rc = r < 0 ? r : 0;
	return r < 0 ? TENANTRULES_ERROR : t->o;
}

/* After the commit: nothing will look for the problem any more. */
static void
resolve_after(struct db *db, const char *tenant_id, const char *rule_id,
    const char *why, time_t now, long *resolved)
{
	long n;

	if ((n = resolve_rule(db, tenant_id, rule_id, why, now)) < 0)
		log_warn("rules: resolving %s's findings stopped (%ld)",
		    rule_id, n);
	else
		*resolved = n;
}

enum tenantrules_outcome
tenantrules_set(struct db *db, const char *tenant_id,
    const struct ruleset *builtin, const char *rule_id, int enabled_set,
    int enabled, int sev_set, enum finding_severity sev, const char *actor,
    time_t now, long *resolved, int *rc)
{
	struct tr_tx t;
	enum tenantrules_outcome o;

	*resolved = 0;
	memset(&t, 0, sizeof(t));
	t.kind = TR_SET;
	t.tenant_id = tenant_id;
	t.builtin = builtin;
	t.rule_id = rule_id;
	t.enabled_set = enabled_set;
	t.enabled = enabled;
	t.sev_set = sev_set;
	t.sev = sev;
	t.actor = actor;
	t.now = now;
	if ((o = tr_run(db, &t, rc)) == TENANTRULES_OK && t.disabled)
		resolve_after(db, tenant_id, rule_id, "rule_disabled", now,
		    resolved);
	return o;
}

enum tenantrules_outcome
tenantrules_create(struct db *db, const char *tenant_id,
    const struct ruleset *builtin, const char *text, size_t len,
    const char *actor, time_t now, char *id_out, size_t id_outsz,
    char *err, size_t errsz, int *rc)
{
	struct tr_tx t;

	memset(&t, 0, sizeof(t));
	t.kind = TR_CREATE;
	t.tenant_id = tenant_id;
	t.builtin = builtin;
	t.text = text;
	t.len = len;
	t.actor = actor;
	t.now = now;
	t.id_out = id_out;
	t.id_outsz = id_outsz;
	t.err = err;
	t.errsz = errsz;
	return tr_run(db, &t, rc);
}

enum tenantrules_outcome
tenantrules_delete(struct db *db, const char *tenant_id,
    const struct ruleset *builtin, const char *rule_id, const char *actor,
    time_t now, long *resolved, int *rc)
{
	struct tr_tx t;
	enum tenantrules_outcome o;

	*resolved = 0;
	memset(&t, 0, sizeof(t));
	t.kind = TR_DELETE;
	t.tenant_id = tenant_id;
	t.builtin = builtin;
	t.rule_id = rule_id;
	t.actor = actor;
	t.now = now;
	/* A custom rule set aside for a built-in one of its id leaves its
	 * findings to that rule, which goes on evaluating them. */
	if ((o = tr_run(db, &t, rc)) == TENANTRULES_OK &&
	    find(builtin, rule_id) == NULL)
		resolve_after(db, tenant_id, rule_id, "rule_deleted", now,
		    resolved);
	return o;
}
