/* sla.h: service-level agreements. A tenant's policy (days allowed per
 * finding severity, how many days before the due date a warning fires,
 * and hours to acknowledge and to resolve alerts and cases per severity),
 * the job that announces findings approaching and passing their due
 * dates, and the list of those announcements.
 *
 * A finding's due date itself is kept by the database (migration 0034's
 * triggers on findings), so that every writer of a finding keeps it
 * without knowing about SLAs; this module reads it. */
#ifndef VIGIL_SLA_H
#define VIGIL_SLA_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

struct db;

/* Severities in the policy's order: critical, high, medium, low, info
 * (enum finding_severity minus one). */
#define SLA_NSEV            5
#define SLA_DAYS_MAX        3650    /* ten years */
#define SLA_WARNING_MAX     365
#define SLA_HOURS_MAX       8760    /* a year */
/* The defaults, as 0034's triggers spell them too (0: no target). */
#define SLA_WARNING_DEFAULT 3

extern const char *const sla_severities[SLA_NSEV];

/* One tenant's policy; 0 in any target means "no target" (null in the
 * API). */
struct sla_policy {
	int	 days[SLA_NSEV];          /* findings: days to fix */
	int	 warning_days;            /* 0: no warning */
	int	 alert_ack[SLA_NSEV];     /* hours */
	int	 alert_resolve[SLA_NSEV];
	int	 case_ack[SLA_NSEV];
	int	 case_resolve[SLA_NSEV];
	time_t	 updated_at;              /* 0: never set (the defaults) */
};

/* The defaults: critical 7, high 30, medium 90, low 180 days, info none,
 * warning 3 days before; alerts acknowledged within 1, 4, 24, 72 hours
 * and resolved within 24, 72, 168, 336; cases acknowledged within 1, 4,
 * 24, 72 hours and resolved within 72, 168, 720, 2160; info none. Pure. */
void	 sla_defaults(struct sla_policy *);

/* The policy as GET /api/v1/sla answers it (a new object). Pure. */
json_object *sla_to_json(const struct sla_policy *);

/* Apply a PUT body (any subset of days, warning_days, alerts, cases; in
 * each, any subset of the severities, a value or null for none) to *p.
 * Pure: 0, or -1 with field (dotted path, "days.high") and msg filled and
 * *p unspecified. */
int	 sla_apply(struct sla_policy *p, json_object *body, char *field,
	    size_t fieldsz, char *msg, size_t msgsz);

/* The tenant's policy (the defaults if it never set one): 0 or a DB_*
 * code. */
int	 sla_get(struct db *, const char *tenant_id, struct sla_policy *out);

/* Store p as the tenant's policy with its sla.update audit entry (detail:
 * the policy) in one transaction; p->updated_at is set to now. 0 or a
 * DB_* code. Due dates already given are not moved (README "SLAs"). */
int	 sla_put(struct db *, const char *tenant_id, struct sla_policy *p,
	    const char *actor, time_t now);

/* The response targets of one alert or case: {acknowledge_by,
 * resolve_by, acknowledged_at, resolved_at, acknowledge_breached,
 * resolve_breached} (a new object). ack_h and res_h are the policy's
 * hours for its severity (0: none, and then *_by is null and *_breached
 * false); a target is breached when it was met late, or is still unmet at
 * now past it. opened, acked and resolved are 0 when unknown or not yet.
 * Pure. */
json_object *sla_targets_json(int ack_h, int res_h, time_t opened,
	    time_t acked, time_t resolved, time_t now);

/* The targets of the tenant's alert or case id (kind "alert" or "case"),
 * read with the policy in one statement: 1 with *out set (a new object),
 * 0 if there is no such object, or a DB_* code. */
int	 sla_object_targets(struct db *, const char *tenant_id,
	    const char *kind, const char *id, time_t now, json_object **out);

/* The cron job (vigil-scan --due): every open finding whose warning time
 * or due date has come gets finding.sla_warning or finding.sla_breached
 * -- each at most once per detection or reopening -- in its own
 * transaction with its sla_events row; at most 1000 a run. Returns the
 * number announced (*warned + *breached) or a DB_* code. */
long	 sla_run_due(struct db *, time_t now, long *warned, long *breached);

/* GET /api/v1/sla/events: a page of the tenant's SLA events, newest
 * first, before seq `before` (LLONG_MAX for the first page). *events is a
 * new array; *total every SLA event of the tenant (kept count); *last_seq
 * the seq of the last row given when *has_more. 0 or a DB_* code. */
int	 sla_events_list(struct db *, const char *tenant_id, long long before,
	    long limit, json_object **events, long long *total, int *has_more,
	    long long *last_seq);

#endif
