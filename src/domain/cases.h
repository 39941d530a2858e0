/* cases.h: a tenant's cases, the investigations that group alerts and
 * findings. Each change (open, edit, comment, escalate into, resolve,
 * reopen) writes the case, its timeline entry, its audit entry and its
 * event in one transaction that holds the tenant's row lock first, as
 * every audited writer does. A finding's own later changes reach the
 * timelines of its cases through a trigger (migration 0021). */
#ifndef VIGIL_CASES_H
#define VIGIL_CASES_H

#include <time.h>
#include <json-c/json.h>

#include "vigil.h"
#include "vjson.h"

struct db;

#define CASES_TITLE_MAX     255
#define CASES_TEXT_MAX      65535    /* description, root cause, narrative */
#define CASES_COMMENT_MAX   65535
#define CASES_ASSIGNEE_MAX  254
#define CASES_TAGS_MAX      32
#define CASES_TAG_MAX       64
#define CASES_TECHNIQUES_MAX 64
#define CASES_MENTIONS_MAX  50
/* What the full payload shows of each list; the timeline route pages
 * through the rest of the timeline. */
#define CASES_FULL_ITEMS    500
#define CASES_FULL_OBSERVABLES 1000

enum cases_outcome {
	CASES_OK = 0,
	CASES_NOT_FOUND,     /* no such case (or alert, finding): 404 */
	CASES_INVALID,       /* err names the field: 400 */
	CASES_CONFLICT,      /* err says why: 409 */
	CASES_DB_ERROR,      /* *rc holds the DB_* code: 500/503 */
};

/* What opening or editing a case takes (borrowed). For a PATCH, a NULL
 * member is left as it is; has_assignee with assignee NULL clears it. */
struct cases_input {
	const char	*title;
	const char	*description;
	const char	*severity;
	int		 has_assignee;
	const char	*assignee;
	json_object	*tags;          /* array of strings */
	json_object	*techniques;    /* array of ATT&CK ids */
};

/* Open a case (audit "case.create", event case.created). The techniques
 * must be in the bundled ATT&CK list (attack.h). On CASES_OK *out is the
 * case (cases_to_json's shape), caller puts. */
enum cases_outcome cases_create(struct db *, const char *tenant_id,
	    const struct cases_input *, const char *actor, time_t now,
	    json_object **out, struct vjson_err *err, int *rc);

/* The full payload of a case: the case, its alerts, findings,
 * observables (deduplicated across its alerts), timeline (oldest first,
 * CASES_FULL_ITEMS at most), evidence (its complete attachments, as
 * attachments_list_json gives them) and its
 * ATT&CK techniques with their names. 1 found (*out, caller puts), 0 not
 * found (a malformed id included), or a DB_* code. */
int	 cases_full(struct db *, const char *tenant_id, const char *id,
	    json_object **out);

/* GET /cases filters (borrowed; NULL: any). */
struct cases_filter {
	const char	*status;
	const char	*severity;      /* comma list, checked by the caller */
	const char	*assignee;
	const char	*tag;
};
/* Up to limit cases newest first with seq below before, into *items (a
 * new array), *total, *has_more and *last_seq (of the last shown). 0 or
 * a DB_* code. */
int	 cases_list(struct db *, const char *tenant_id,
	    const struct cases_filter *, long long before, long limit,
	    json_object **items, long long *total, int *has_more,
	    long long *last_seq);

/* Edit a case (audit "case.update", event case.updated, timeline
 * "updated" with the fields given). CASES_INVALID when nothing would be
 * set. *out as cases_create. */
enum cases_outcome cases_patch(struct db *, const char *tenant_id,
	    const char *id, const struct cases_input *, const char *actor,
	    time_t now, json_object **out, struct vjson_err *err, int *rc);

/* Add a comment (markdown, stored as given) with its mentions (an array
 * of strings, may be NULL): timeline "commented", audit "case.comment",
 * event case.commented. On CASES_OK *out is the timeline entry. */
enum cases_outcome cases_comment(struct db *, const char *tenant_id,
	    const char *id, const char *body, json_object *mentions,
	    const char *actor, time_t now, json_object **out, int *rc);

/* A page of a case's timeline, oldest first, after seq after: 1 with
 * *items (new array), *total, *has_more, *last_seq; 0 if there is no such
 * case; or a DB_* code. */
int	 cases_timeline(struct db *, const char *tenant_id, const char *id,
	    long long after, long limit, json_object **items,
	    long long *total, int *has_more, long long *last_seq);

/* Resolve an open case with a verdict ("true_positive", "false_positive",
 * "benign", "duplicate"; checked by the caller), root cause and narrative
 * (may be NULL): audit "case.resolve", event case.resolved, timeline
 * "resolved". CASES_CONFLICT if it is already resolved. */
enum cases_outcome cases_resolve(struct db *, const char *tenant_id,
	    const char *id, const char *verdict, const char *root_cause,
	    const char *narrative, const char *actor, time_t now,
	    json_object **out, struct vjson_err *err, int *rc);
/* Reopen a resolved case (its verdict cleared, kept on the timeline):
 * audit "case.reopen", event case.reopened. CASES_CONFLICT if open. */
enum cases_outcome cases_reopen(struct db *, const char *tenant_id,
	    const char *id, const char *actor, time_t now, json_object **out,
	    struct vjson_err *err, int *rc);

/* Escalate an alert: case_id NULL opens a case with the alert's title,
 * severity and observables; otherwise the alert joins that open case and
 * its observables are merged into the case's. The alert becomes
 * "escalated" (history "escalated"); audit "alert.escalate", events
 * alert.escalated and case.created or case.updated. Escalating an alert
 * into the case it is already in changes nothing and succeeds.
 * CASES_NOT_FOUND: no such alert or case (err->field says which);
 * CASES_CONFLICT: the alert is in another case, or the case is resolved.
 * On CASES_OK *out is the case and *created says whether it is new. */
enum cases_outcome cases_escalate_alert(struct db *, const char *tenant_id,
	    const char *alert_id, const char *case_id, const char *actor,
	    time_t now, json_object **out, int *created,
	    struct vjson_err *err, int *rc);
/* The same for a finding (a finding may be in several cases): case_id
 * NULL opens a case with its title and severity; audit
 * "finding.escalate", event case.created or case.updated. */
enum cases_outcome cases_escalate_finding(struct db *,
	    const char *tenant_id, const char *finding_id,
	    const char *case_id, const char *actor, time_t now,
	    json_object **out, int *created, struct vjson_err *err, int *rc);

/* 1 if s is a verdict, an open/resolved status, a severity. Pure. */
int	 cases_verdict_valid(const char *s);
int	 cases_status_valid(const char *s);
int	 cases_severity_valid(const char *s);

#endif
