/* lifecycle.c: the finding state machine (README, Lifecycle). Pure: the
 * caller loads the finding, passes the clock, and stores the result, its
 * history and its events in one transaction.
 *
 * Inputs are checked in this order, and the first failure is the answer:
 *   1. 400 invalid_request, naming the field (the input is malformed);
 *   2. 403 remediation policy (remediate / approve only): critical ->
 *      critical_remediation_blocked; high or info ->
 *      remediation_severity_not_allowed; tenant not opted in ->
 *      auto_remediate_disabled;
 *   3. lapsed time: an acceptance whose accepted_until, or a snooze whose
 *      snoozed_until, is <= now is expired first (history "expired" /
 *      "snooze_expired" by system), so the input meets the state the
 *      finding is really in;
 *   4. 409 conflict when the input makes no sense in that state (table);
 *   5. the transition. A refusal changes nothing: no history, no events,
 *      not even the expiry of step 3 (the clock tick will record it).
 *
 * User actions (by the user). "-" = 409 conflict.
 *
 *   state \ action  accept    resolve   remediate  approve    snooze   dismiss
 *   open            accepted  resolved  open [1]   open [2]   snoozed  dismissed
 *   accepted        accepted  resolved  -          -          -        dismissed
 *   snoozed         accepted  resolved  -          -          snoozed  dismissed
 *   resolved        -         -         -          -          -        dismissed
 *   dismissed       -         -         -          -          -        -
 *
 *   accept   history accept_risk {justification, expires_at?}, event
 *            finding.accepted. Re-accepting renews the exception; accepting
 *            a snoozed finding turns the snooze into an exception.
 *   resolve  history resolved {evidence?}, finding.resolved; resolved_by
 *            user; the next scan confirms it or reopens it.
 *   [1] remediate: remediation none|failed -> requested (approval_required)
 *            or approved (not required); pending -> 409. History
 *            remediation_requested {approval_required}, finding.updated.
 *   [2] approve: remediation requested -> approved, else 409. History
 *            remediation_approved, finding.updated.
 *   snooze   days 1-90; history snoozed {days, snoozed_until},
 *            finding.snoozed. Re-snoozing sets a new date from now.
 *   dismiss  history dismissed {reason}, finding.dismissed. Final: scans
 *            no longer change it.
 *   accept, resolve, snooze and dismiss cancel a pending (requested or
 *   approved) remediation, and say so with "remediation_cancelled": true.
 *
 * Scan observations (by scanner) and the clock (by system).
 *
 *   state      seen, same config     seen, config changed  not seen
 *   (new)      open: detected, finding.detected
 *   open       last_seen_at only     fingerprint stored    resolved by
 *                                    quietly               scanner,
 *                                                          finding.resolved
 *   open, after an expiry            redetected [3]        resolved, as above
 *   accepted   last_seen_at only     open: expired {reason:
 *                                    configuration_changed}
 *                                    + redetected,
 *                                    finding.reopened      resolved [4]
 *   snoozed    last_seen_at only     fingerprint stored    resolved [4]
 *   resolved   open: reopened, finding.reopened            by a user or a
 *                                                          remediation:
 *                                                          resolution_confirmed
 *                                                          [3]; else nothing
 *   dismissed  last_seen_at only     last_seen_at only     nothing
 *
 *   [3] no event: the state does not change.
 *   [4] the problem is gone, so the exception or snooze has nothing left
 *       to cover: resolved by scanner, finding.resolved.
 *   A seen with a new severity (not for dismissed findings) also records
 *   rescored {previous_severity, severity} and finding.updated.
 *
 *   remediation result (open and approved only, else 409): success ->
 *   remediated, finding.remediated, state resolved by scanner awaiting
 *   the next scan's confirmation; failure -> remediation_failed {error?},
 *   finding.remediation_failed, state unchanged (the user may retry).
 *
 *   tick: step 3 only. Acceptance expiry -> open, history expired,
 *   finding.expired; snooze expiry -> open, history snooze_expired,
 *   finding.reopened. Either way the next scan records redetected or
 *   resolves the finding. With a live mute rule (u.tick.mute) a finding
 *   open after its expiry is muted at once (history muted {mute_rule_id}
 *   after expired; finding.muted after finding.expired, or instead of
 *   finding.reopened), as a scan would mute it.
 *
 * Mute rules (README, Mute rules). "muted" is a state beside open: a
 * finding a live mute rule matches would be open, and is muted instead.
 * Only the open state is muted: accepted, snoozed, resolved and dismissed
 * findings already say what a person decided, and keep it.
 *
 *   seen with a mute rule (u.seen.mute): a finding that ends the
 *     observation open (new, reopened, redetected, plain open) is muted:
 *     history muted {mute_rule_id} after the observation's own entries;
 *     its event is finding.muted instead of finding.detected or
 *     finding.reopened (a subscriber is told of open risk only when it is
 *     open). A muted finding seen again: last_seen_at only.
 *   seen without one: a muted finding is open again (unmuted {reason:
 *     no_rule}, finding.unmuted).
 *   not seen: muted -> resolved by scanner, finding.resolved.
 *   LC_MUTE {rule_id}: open -> muted (muted, finding.muted); any other
 *     state: nothing.
 *   LC_UNMUTE {rule_id, reason}: muted -> open (unmuted {mute_rule_id,
 *     reason}, finding.unmuted), awaiting the next scan's verdict as after
 *     an expiry; any other state: nothing.
 *   User actions on a muted finding: resolve and dismiss as on open;
 *     accept, snooze, remediate and approve are 409 (it is not open).
 *   A pending remediation is cancelled when a finding is muted.
 *
 * Rule settings (README, Rule settings): LC_RULE_GONE {rule_id, reason}:
 *   the tenant disabled (or deleted its custom) rule. Open, accepted,
 *   snoozed and muted -> resolved by scanner (nothing looks for the
 *   problem any more): history resolved {reason, rule_id} by system,
 *   finding.resolved. Resolved and dismissed: nothing. Re-enabled, the
 *   next scan that finds the problem reopens it.
 */
#include "vigil.h"

#include <stdio.h>
#include <string.h>

#include "finding.h"
#include "lifecycle.h"
#include "vjson.h"
#include "vtime.h"

#define DAY_SECONDS 86400L

struct lc_ctx {
	const struct lc_input	*what;
	struct lc_result	*out;
	struct finding		*f;
	time_t			 now;
	int			 oom;
};

/* Add v (taken over, may be NULL from a failed constructor) to o. */
static int
add(json_object *o, const char *k, json_object *v)
{
	if (v == NULL || json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int
refuse(struct lc_result *out, int status, const char *code,
    const char *field, const char *message)
{
	out->status = status;
	out->code = code;
	out->field = field;
	out->message = message;
	return 1;
}

/* 1 if s is acceptable text of minlen..maxlen bytes (NULL counts as
 * empty); required text must also be more than blanks. */
static int
text_ok(const char *s, size_t minlen, size_t maxlen)
{
	size_t len, i;

	if (s == NULL)
		return minlen == 0;
	len = strlen(s);
	if (len < minlen || len > maxlen || !vjson_utf8_valid(s, len))
		return 0;
	if (minlen == 0)
		return 1;
	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
		    s[i] != '\n')
			return 1;
	return 0;
}

static int
fingerprint_ok(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != FINDING_FINGERPRINT_LEN - 1)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
is_user_action(enum lc_kind k)
{
	return k == LC_ACCEPT || k == LC_RESOLVE || k == LC_REMEDIATE ||
	    k == LC_APPROVE_REMEDIATION || k == LC_SNOOZE || k == LC_DISMISS;
}

/* Step 1: the 400s. Returns 1 (and fills out) on a refusal. */
static int
validate(const struct finding *in, const struct lc_input *w, time_t now,
    struct lc_result *out)
{
	if (is_user_action(w->kind) && !text_ok(w->user, 1, LC_USER_MAX))
		return refuse(out, 400, LC_ERR_INVALID, "user",
		    "user is required (1-254 bytes of UTF-8)");
	switch (w->kind) {
	case LC_ACCEPT:
		if (!text_ok(w->u.accept.justification, 1, LC_TEXT_MAX))
			return refuse(out, 400, LC_ERR_INVALID,
			    "justification", "justification is required "
			    "(1-4096 bytes of UTF-8)");
		if (w->u.accept.expires_at != 0 &&
		    w->u.accept.expires_at <= now)
			return refuse(out, 400, LC_ERR_INVALID, "expires_at",
			    "expires_at must be in the future");
		break;
	case LC_RESOLVE:
		if (!text_ok(w->u.resolve.evidence, 0, LC_TEXT_MAX))
			return refuse(out, 400, LC_ERR_INVALID, "evidence",
			    "evidence must be at most 4096 bytes of UTF-8");
		break;
	case LC_SNOOZE:
		if (w->u.snooze.days < LC_SNOOZE_MIN ||
		    w->u.snooze.days > LC_SNOOZE_MAX)
			return refuse(out, 400, LC_ERR_INVALID, "days",
			    "days must be between 1 and 90");
		break;
	case LC_DISMISS:
		if (!text_ok(w->u.dismiss.reason, 1, LC_TEXT_MAX))
			return refuse(out, 400, LC_ERR_INVALID, "reason",
			    "reason is required (1-4096 bytes of UTF-8)");
		break;
	case LC_SEEN:
		if (!fingerprint_ok(w->u.seen.fingerprint))
			return refuse(out, 400, LC_ERR_INVALID, "fingerprint",
			    "fingerprint must be 64 lowercase hex digits");
		if (finding_severity_str(w->u.seen.severity) == NULL &&
		    (in == NULL || w->u.seen.severity != FINDING_SEV_UNSET))
			return refuse(out, 400, LC_ERR_INVALID, "severity",
			    "severity must be one of critical, high, medium, "
			    "low, info");
		break;
	case LC_MUTE:
		if (!text_ok(w->u.mute.rule_id, 1, LC_USER_MAX))
			return refuse(out, 400, LC_ERR_INVALID, "rule_id",
			    "rule_id is required");
		break;
	case LC_UNMUTE:
		/* no rule when none is gone (no live rule matches any
		 * more): the history entry then names none */
		if (w->u.mute.rule_id != NULL &&
		    !text_ok(w->u.mute.rule_id, 1, LC_USER_MAX))
			return refuse(out, 400, LC_ERR_INVALID, "rule_id",
			    "rule_id must be text");
		break;
	case LC_RULE_GONE:
		if (!text_ok(w->u.gone.rule_id, 1, LC_USER_MAX) ||
		    !text_ok(w->u.gone.reason, 1, LC_USER_MAX))
			return refuse(out, 400, LC_ERR_INVALID, "rule_id",
			    "rule_id and reason are required");
		break;
	case LC_REMEDIATION_RESULT:
		if (!text_ok(w->u.remediation.error, 0, LC_TEXT_MAX))
			return refuse(out, 400, LC_ERR_INVALID, "error",
			    "error must be at most 4096 bytes of UTF-8");
		break;
	default:
		break;
	}
	return 0;
}

/* Step 2: may this finding be remediated for this tenant at all? */
static int
remediation_policy(const struct finding *f, const struct lc_tenant *t,
    struct lc_result *out)
{
	if (f->severity == FINDING_SEV_CRITICAL)
		return refuse(out, 403, LC_ERR_REM_CRITICAL, NULL,
		    "critical severity findings are never auto-remediated");
	if (f->severity != FINDING_SEV_MEDIUM && f->severity != FINDING_SEV_LOW)
		return refuse(out, 403, LC_ERR_REM_SEVERITY, NULL,
		    "only low and medium severity findings can be "
		    "auto-remediated");
	if (t == NULL || !t->allow_auto_remediate)
		return refuse(out, 403, LC_ERR_REM_DISABLED, NULL,
		    "auto-remediation is not enabled for this tenant");
	return 0;
}

static int
conflict(struct lc_ctx *c, const char *message)
{
	return refuse(c->out, 409, LC_ERR_CONFLICT, NULL, message);
}

/* Append a history entry stamped now; NULL (and c->oom) on failure. */
static struct lc_history *
hist(struct lc_ctx *c, const char *action, const char *by)
{
	struct lc_history *h;

	if (c->out->nhistory >= LC_MAX_HISTORY) {
		c->oom = 1;
		return NULL;
	}
	h = &c->out->history[c->out->nhistory];
	if ((h->fields = json_object_new_object()) == NULL) {
		c->oom = 1;
		return NULL;
	}
	h->action = action;
	h->timestamp = c->now;
	snprintf(h->by, sizeof(h->by), "%s", by);
	c->out->nhistory++;
	return h;
}

/* Add v (taken over) as field k of h; with h NULL (an earlier failure)
 * v is just released. */
static void
field(struct lc_ctx *c, struct lc_history *h, const char *k, json_object *v)
{
	if (h == NULL) {
		json_object_put(v);
		return;
	}
	if (add(h->fields, k, v) != 0)
		c->oom = 1;
}

static void
field_time(struct lc_ctx *c, struct lc_history *h, const char *k, time_t t)
{
	char ts[VTIME_RFC3339_LEN];

	vtime_rfc3339(t, ts, sizeof(ts));
	field(c, h, k, json_object_new_string(ts));
}

static void
event(struct lc_ctx *c, const char *name)
{
	if (c->out->nevents >= LC_MAX_EVENTS) {
		c->oom = 1;
		return;
	}
	c->out->events[c->out->nevents++] = name;
}

/* A pending remediation is dropped when the finding leaves open. */
static void
cancel_remediation(struct lc_ctx *c, struct lc_history *h)
{
	if (c->f->remediation != FINDING_REM_REQUESTED &&
	    c->f->remediation != FINDING_REM_APPROVED)
		return;
	c->f->remediation = FINDING_REM_NONE;
	field(c, h, "remediation_cancelled", json_object_new_boolean(1));
}

/* Back to open, clearing what belonged to the previous state. */
static void
to_open(struct lc_ctx *c)
{
	c->f->state = FINDING_OPEN;
	c->f->accepted_until = 0;
	c->f->snoozed_until = 0;
	c->f->resolved_by = FINDING_BY_NONE;
	c->f->resolved_at = 0;
}

/* Drop event name from the result (a muting replaces it). */
static void
event_drop(struct lc_ctx *c, const char *name)
{
	size_t i, j;

	for (i = j = 0; i < c->out->nevents; i++)
		if (strcmp(c->out->events[i], name) != 0)
			c->out->events[j++] = c->out->events[i];
	c->out->nevents = j;
}

/* An open finding that a live mute rule matches is muted. */
static void
mute_as(struct lc_ctx *c, const char *rule_id, const char *by)
{
	struct lc_history *h;

	h = hist(c, "muted", by);
	field(c, h, "mute_rule_id", json_object_new_string(rule_id));
	cancel_remediation(c, h);
	c->f->state = FINDING_MUTED;
	c->f->awaiting_scan = 0;
	event_drop(c, "finding.detected");
	event_drop(c, "finding.reopened");
	event(c, "finding.muted");
}

/* A muted finding no live rule matches is open again. */
static void
unmute_as(struct lc_ctx *c, const char *rule_id, const char *reason,
    const char *by, int awaiting)
{
	struct lc_history *h;

	h = hist(c, "unmuted", by);
	if (rule_id != NULL)
		field(c, h, "mute_rule_id", json_object_new_string(rule_id));
	field(c, h, "reason", json_object_new_string(reason));
	to_open(c);
	c->f->awaiting_scan = awaiting;
	event(c, "finding.unmuted");
}

static void
resolve_as(struct lc_ctx *c, enum finding_resolver by, int awaiting)
{
	to_open(c);
	c->f->state = FINDING_RESOLVED;
	c->f->resolved_by = by;
	c->f->resolved_at = c->now;
	c->f->awaiting_scan = awaiting;
}

/* Step 3. */
static void
settle(struct lc_ctx *c)
{
	struct finding *f = c->f;

	if (f->state == FINDING_ACCEPTED && f->accepted_until != 0 &&
	    c->now >= f->accepted_until) {
		hist(c, "expired", LC_BY_SYSTEM);
		event(c, "finding.expired");
	} else if (f->state == FINDING_SNOOZED && f->snoozed_until != 0 &&
	    c->now >= f->snoozed_until) {
		hist(c, "snooze_expired", LC_BY_SYSTEM);
		event(c, "finding.reopened");
	} else
		return;
	to_open(c);
	f->awaiting_scan = 1;
}

static int
do_accept(struct lc_ctx *c)
{
	struct finding *f = c->f;
	struct lc_history *h;
	time_t until = c->what->u.accept.expires_at;

	if (f->state != FINDING_OPEN && f->state != FINDING_ACCEPTED &&
	    f->state != FINDING_SNOOZED)
		return conflict(c, "only an open, accepted or snoozed finding "
		    "can be accepted");
	h = hist(c, "accept_risk", c->what->user);
	field(c, h, "justification",
	    json_object_new_string(c->what->u.accept.justification));
	if (until != 0)
		field_time(c, h, "expires_at", until);
	cancel_remediation(c, h);
	to_open(c);
	f->state = FINDING_ACCEPTED;
	f->accepted_until = until;
	f->awaiting_scan = 0;
	event(c, "finding.accepted");
	return 0;
}

static int
do_resolve(struct lc_ctx *c)
{
	struct lc_history *h;
	const char *evidence = c->what->u.resolve.evidence;

	if (c->f->state == FINDING_RESOLVED ||
	    c->f->state == FINDING_DISMISSED)
		return conflict(c, "the finding is already resolved or "
		    "dismissed");
	h = hist(c, "resolved", c->what->user);
	if (evidence != NULL && evidence[0] != '\0')
		field(c, h, "evidence", json_object_new_string(evidence));
	cancel_remediation(c, h);
	resolve_as(c, FINDING_BY_USER, 1);
	event(c, "finding.resolved");
	return 0;
}

static int
do_remediate(struct lc_ctx *c)
{
	struct lc_history *h;
	int approval = c->what->u.remediate.approval_required != 0;

	if (c->f->state != FINDING_OPEN)
		return conflict(c, "only an open finding can be remediated");
	if (c->f->remediation == FINDING_REM_REQUESTED ||
	    c->f->remediation == FINDING_REM_APPROVED)
		return conflict(c, "a remediation is already pending");
	h = hist(c, "remediation_requested", c->what->user);
	field(c, h, "approval_required", json_object_new_boolean(approval));
	c->f->remediation = approval ? FINDING_REM_REQUESTED :
	    FINDING_REM_APPROVED;
	event(c, "finding.updated");
	return 0;
}

static int
do_approve(struct lc_ctx *c)
{
	if (c->f->state != FINDING_OPEN ||
	    c->f->remediation != FINDING_REM_REQUESTED)
		return conflict(c, "no remediation is waiting for approval");
	hist(c, "remediation_approved", c->what->user);
	c->f->remediation = FINDING_REM_APPROVED;
	event(c, "finding.updated");
	return 0;
}

static int
do_snooze(struct lc_ctx *c)
{
	struct lc_history *h;
	time_t until = c->now + (time_t)(c->what->u.snooze.days * DAY_SECONDS);

	if (c->f->state != FINDING_OPEN && c->f->state != FINDING_SNOOZED)
		return conflict(c, "only an open or snoozed finding can be "
		    "snoozed");
	h = hist(c, "snoozed", c->what->user);
	field(c, h, "days", json_object_new_int64(c->what->u.snooze.days));
	field_time(c, h, "snoozed_until", until);
	cancel_remediation(c, h);
	to_open(c);
	c->f->state = FINDING_SNOOZED;
	c->f->snoozed_until = until;
	c->f->awaiting_scan = 0;
	event(c, "finding.snoozed");
	return 0;
}

static int
do_dismiss(struct lc_ctx *c)
{
	struct lc_history *h;

	if (c->f->state == FINDING_DISMISSED)
		return conflict(c, "the finding is already dismissed");
	h = hist(c, "dismissed", c->what->user);
	field(c, h, "reason",
	    json_object_new_string(c->what->u.dismiss.reason));
	cancel_remediation(c, h);
	to_open(c);
	c->f->state = FINDING_DISMISSED;
	c->f->awaiting_scan = 0;
	event(c, "finding.dismissed");
	return 0;
}

static void
detect(struct lc_ctx *c)
{
	struct finding *f = c->f;

	memset(f, 0, sizeof(*f));
	f->severity = c->what->u.seen.severity;
	f->state = FINDING_OPEN;
	snprintf(f->fingerprint, sizeof(f->fingerprint), "%s",
	    c->what->u.seen.fingerprint);
	f->detected_at = f->last_seen_at = c->now;
	hist(c, "detected", LC_BY_SCANNER);
	event(c, "finding.detected");
	if (c->what->u.seen.mute != NULL)
		mute_as(c, c->what->u.seen.mute, LC_BY_SCANNER);
}

static int
do_seen(struct lc_ctx *c)
{
	struct finding *f = c->f;
	struct lc_history *h;
	const char *fp = c->what->u.seen.fingerprint;
	enum finding_severity sev = c->what->u.seen.severity;
	int changed;

	f->last_seen_at = c->now;
	if (f->state == FINDING_DISMISSED)
		return 0;
	/* An empty stored fingerprint is unknown, not different. */
	changed = f->fingerprint[0] != '\0' && strcmp(f->fingerprint, fp) != 0;
	switch (f->state) {
	case FINDING_ACCEPTED:
		if (!changed)
			break;
		h = hist(c, "expired", LC_BY_SCANNER);
		field(c, h, "reason",
		    json_object_new_string("configuration_changed"));
		hist(c, "redetected", LC_BY_SCANNER);
		to_open(c);
		event(c, "finding.reopened");
		break;
	case FINDING_RESOLVED:
		hist(c, "reopened", LC_BY_SCANNER);
		to_open(c);
		f->awaiting_scan = 0;
		if (f->remediation == FINDING_REM_REMEDIATED)
			f->remediation = FINDING_REM_NONE;
		event(c, "finding.reopened");
		break;
	case FINDING_OPEN:
		if (f->awaiting_scan) {
			hist(c, "redetected", LC_BY_SCANNER);
			f->awaiting_scan = 0;
		}
		break;
	default:
		break;
	}
	snprintf(f->fingerprint, sizeof(f->fingerprint), "%s", fp);
	if (sev != FINDING_SEV_UNSET && sev != f->severity) {
		h = hist(c, "rescored", LC_BY_SCANNER);
		field(c, h, "previous_severity",
		    json_object_new_string(finding_severity_str(f->severity) ?
		    finding_severity_str(f->severity) : "unset"));
		field(c, h, "severity",
		    json_object_new_string(finding_severity_str(sev)));
		f->severity = sev;
		event(c, "finding.updated");
	}
	if (f->state == FINDING_OPEN && c->what->u.seen.mute != NULL)
		mute_as(c, c->what->u.seen.mute, LC_BY_SCANNER);
	else if (f->state == FINDING_MUTED && c->what->u.seen.mute == NULL)
		unmute_as(c, NULL, "no_rule", LC_BY_SCANNER, 0);
	return 0;
}

static int
do_mute(struct lc_ctx *c)
{
	if (c->f->state == FINDING_OPEN)
		mute_as(c, c->what->u.mute.rule_id, LC_BY_SYSTEM);
	return 0;
}

static int
do_unmute(struct lc_ctx *c)
{
	const char *reason = c->what->u.mute.reason;

	if (c->f->state == FINDING_MUTED)
		unmute_as(c, c->what->u.mute.rule_id,
		    reason != NULL ? reason : "no_rule", LC_BY_SYSTEM, 1);
	return 0;
}

static int
do_not_seen(struct lc_ctx *c)
{
	struct lc_history *h;

	switch (c->f->state) {
	case FINDING_OPEN:
	case FINDING_ACCEPTED:
	case FINDING_SNOOZED:
	case FINDING_MUTED:
		h = hist(c, "resolved", LC_BY_SCANNER);
		cancel_remediation(c, h);
		resolve_as(c, FINDING_BY_SCANNER, 0);
		event(c, "finding.resolved");
		break;
	case FINDING_RESOLVED:
		if (c->f->awaiting_scan) {
			hist(c, "resolution_confirmed", LC_BY_SCANNER);
			c->f->awaiting_scan = 0;
		}
		break;
	default:
		break;
	}
	return 0;
}

static int
do_rule_gone(struct lc_ctx *c)
{
	struct lc_history *h;

	switch (c->f->state) {
	case FINDING_OPEN:
	case FINDING_ACCEPTED:
	case FINDING_SNOOZED:
	case FINDING_MUTED:
		h = hist(c, "resolved", LC_BY_SYSTEM);
		field(c, h, "reason",
		    json_object_new_string(c->what->u.gone.reason));
		field(c, h, "rule_id",
		    json_object_new_string(c->what->u.gone.rule_id));
		cancel_remediation(c, h);
		resolve_as(c, FINDING_BY_SCANNER, 0);
		event(c, "finding.resolved");
		break;
	default:
		break;
	}
	return 0;
}

static int
do_remediation_result(struct lc_ctx *c)
{
	struct lc_history *h;
	const char *err = c->what->u.remediation.error;

	if (c->f->state != FINDING_OPEN ||
	    c->f->remediation != FINDING_REM_APPROVED)
		return conflict(c, "no approved remediation to apply");
	if (c->what->u.remediation.ok) {
		hist(c, "remediated", LC_BY_SCANNER);
		c->f->remediation = FINDING_REM_REMEDIATED;
		resolve_as(c, FINDING_BY_SCANNER, 1);
		event(c, "finding.remediated");
	} else {
		h = hist(c, "remediation_failed", LC_BY_SCANNER);
		if (err != NULL && err[0] != '\0')
			field(c, h, "error", json_object_new_string(err));
		c->f->remediation = FINDING_REM_FAILED;
		event(c, "finding.remediation_failed");
	}
	return 0;
}

/* 1 if a and b differ in anything but last_seen_at and updated_at. */
static int
differs(const struct finding *a, const struct finding *b)
{
	return strcmp(a->id, b->id) != 0 ||
	    strcmp(a->fingerprint, b->fingerprint) != 0 ||
	    a->severity != b->severity || a->state != b->state ||
	    a->remediation != b->remediation ||
	    a->resolved_by != b->resolved_by ||
	    a->awaiting_scan != b->awaiting_scan ||
	    a->detected_at != b->detected_at ||
	    a->resolved_at != b->resolved_at ||
	    a->accepted_until != b->accepted_until ||
	    a->snoozed_until != b->snoozed_until;
}

int
lifecycle_apply(const struct finding *in, const struct lc_input *what,
    time_t now, const struct lc_tenant *tenant, struct lc_result *out)
{
	struct lc_ctx c;
	int rc = -1, refused;

	memset(out, 0, sizeof(*out));
	if (in != NULL)
		out->finding = *in;
	if (what == NULL || (in == NULL && what->kind != LC_SEEN))
		goto out;
	memset(&c, 0, sizeof(c));
	c.what = what;
	c.out = out;
	c.f = &out->finding;
	c.now = now;

	if (validate(in, what, now, out)) {
		rc = 0;
		goto out;
	}
	if (in == NULL) {
		detect(&c);
		out->finding.updated_at = now;
		out->changed = 1;
		rc = c.oom ? -1 : 0;
		goto out;
	}
	if ((what->kind == LC_REMEDIATE ||
	    what->kind == LC_APPROVE_REMEDIATION) &&
	    remediation_policy(in, tenant, out)) {
		rc = 0;
		goto out;
	}

	settle(&c);
	switch (what->kind) {
	case LC_ACCEPT:
		refused = do_accept(&c);
		break;
	case LC_RESOLVE:
		refused = do_resolve(&c);
		break;
	case LC_REMEDIATE:
		refused = do_remediate(&c);
		break;
	case LC_APPROVE_REMEDIATION:
		refused = do_approve(&c);
		break;
	case LC_SNOOZE:
		refused = do_snooze(&c);
		break;
	case LC_DISMISS:
		refused = do_dismiss(&c);
		break;
	case LC_SEEN:
		refused = do_seen(&c);
		break;
	case LC_NOT_SEEN:
		refused = do_not_seen(&c);
		break;
	case LC_REMEDIATION_RESULT:
		refused = do_remediation_result(&c);
		break;
	case LC_TICK:
		if (c.f->state == FINDING_OPEN && what->u.tick.mute != NULL)
			mute_as(&c, what->u.tick.mute, LC_BY_SYSTEM);
		refused = 0;
		break;
	case LC_MUTE:
		refused = do_mute(&c);
		break;
	case LC_UNMUTE:
		refused = do_unmute(&c);
		break;
	case LC_RULE_GONE:
		refused = do_rule_gone(&c);
		break;
	default:
		goto out;
	}
	if (c.oom)
		goto out;
	rc = 0;
	if (refused) {
		/* Step 5: a refusal leaves no trace, not even the expiry. */
		lifecycle_result_free(out);
		out->nevents = 0;
		out->finding = *in;
		goto out;
	}
	if (differs(in, &out->finding))
		out->finding.updated_at = now;
	out->changed = differs(in, &out->finding) ||
	    in->last_seen_at != out->finding.last_seen_at ||
	    in->updated_at != out->finding.updated_at;
out:
	if (rc != 0) {
		/* Keep the promise that out is consistent on failure. */
		lifecycle_result_free(out);
		out->nevents = 0;
		if (in != NULL)
			out->finding = *in;
		out->changed = 0;
	}
	return rc;
}

void
lifecycle_result_free(struct lc_result *r)
{
	size_t i;

	for (i = 0; i < r->nhistory; i++) {
		json_object_put(r->history[i].fields);
		r->history[i].fields = NULL;
	}
	r->nhistory = 0;
}

json_object *
lifecycle_history_json(const struct lc_history *h)
{
	json_object *o;
	char ts[VTIME_RFC3339_LEN];
	int rc = -1;

	if ((o = json_object_new_object()) == NULL)
		goto out;
	vtime_rfc3339(h->timestamp, ts, sizeof(ts));
	if (add(o, "action", json_object_new_string(h->action)) != 0 ||
	    add(o, "timestamp", json_object_new_string(ts)) != 0 ||
	    add(o, "by", json_object_new_string(h->by)) != 0)
		goto out;
	if (h->fields != NULL) {
		json_object_object_foreach(h->fields, k, val) {
			if (add(o, k, json_object_get(val)) != 0)
				goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

int
lifecycle_remediation_due(const struct finding *f,
    const struct lc_tenant *tenant)
{
	return f->state == FINDING_OPEN &&
	    f->remediation == FINDING_REM_APPROVED &&
	    (f->severity == FINDING_SEV_LOW ||
	    f->severity == FINDING_SEV_MEDIUM) &&
	    tenant != NULL && tenant->allow_auto_remediate;
}
