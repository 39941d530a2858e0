/* tenantrules.h: rules per tenant (README, Rule settings): a tenant's
 * settings on the rules it sees (disabled, severity overridden) and its
 * own custom rules, and the effective rule set a scan of the tenant
 * evaluates. */
#ifndef VIGIL_TENANTRULES_H
#define VIGIL_TENANTRULES_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "finding.h"
#include "rules.h"

struct db;

#define TENANTRULES_MAX_CUSTOM	200
#define TENANTRULES_MAX_BODY	65536	/* one custom rule's JSON */

struct tenantrules_setting {
	char			 rule_id[65];
	int			 enabled;
	enum finding_severity	 severity;	/* UNSET: the rule's own */
};

/* A tenant's view: its settings and its custom rules (parsed). */
struct tenantrules {
	struct tenantrules_setting *settings;
	size_t			 nsettings;
	struct ruleset		 custom;
};

/* Load the tenant's settings and custom rules. 0, or a DB_* code (a
 * stored custom rule that no longer passes the checker is skipped with a
 * log line, and so is one whose id builtin now gives a built-in rule: a
 * rule pack upgraded after it was made; it can still be deleted). */
int	 tenantrules_load(struct db *, const char *tenant_id,
	    const struct ruleset *builtin, struct tenantrules *out);
void	 tenantrules_free(struct tenantrules *);
/* The setting of rule id, or NULL. */
const struct tenantrules_setting *tenantrules_setting(
	    const struct tenantrules *, const char *rule_id);
/* The rules a scan of the tenant evaluates: builtin's enabled rules with
 * their severity overridden, then the tenant's enabled custom rules, as
 * shallow copies (free eff->rules only, never rules_free(eff)). 0 or -1. */
int	 tenantrules_effective(const struct tenantrules *,
	    const struct ruleset *builtin, struct ruleset *eff);
/* A rule as GET /rules shows it to the tenant: rules_to_json plus
 * enabled, severity (effective), default_severity and custom. */
json_object *tenantrules_to_json(const struct tenantrules *,
	    const struct rule *, int custom);

enum tenantrules_outcome {
	TENANTRULES_OK = 0,
	TENANTRULES_NOT_FOUND,
	TENANTRULES_INVALID,	/* err says what (and where) */
	TENANTRULES_CONFLICT,	/* id taken; a built-in rule deleted */
	TENANTRULES_ERROR,	/* rc holds the DB_* code */
};

/* PUT /rules/{id}: set enabled and/or severity (sev_set with UNSET:
 * back to the rule's own). A rule that goes from enabled to disabled has
 * the tenant's open, accepted, snoozed and muted findings of it resolved
 * (LC_RULE_GONE "rule_disabled"); *resolved counts them. Audited
 * (rule.update). */
enum tenantrules_outcome tenantrules_set(struct db *, const char *tenant_id,
	    const struct ruleset *builtin, const char *rule_id,
	    int enabled_set, int enabled, int sev_set,
	    enum finding_severity sev, const char *actor, time_t now,
	    long *resolved, int *rc);
/* POST /rules: a custom rule from its JSON text, checked by the rule
 * checker (err names the place: "rule: rule x: condition.all[0]: ...").
 * Audited (rule.create). */
enum tenantrules_outcome tenantrules_create(struct db *,
	    const char *tenant_id, const struct ruleset *builtin,
	    const char *text, size_t len, const char *actor, time_t now,
	    char *id_out, size_t id_outsz, char *err, size_t errsz, int *rc);
/* DELETE /rules/{id}: a custom rule only (a built-in one: CONFLICT); its
 * findings are resolved (LC_RULE_GONE "rule_deleted"). Audited
 * (rule.delete). */
enum tenantrules_outcome tenantrules_delete(struct db *,
	    const char *tenant_id, const struct ruleset *builtin,
	    const char *rule_id, const char *actor, time_t now,
	    long *resolved, int *rc);

#endif
