/* lifecycle.h: the finding state machine, a pure function of
 * (finding, input, now, tenant settings). No database, no clock. */
#ifndef VIGIL_LIFECYCLE_H
#define VIGIL_LIFECYCLE_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "finding.h"

#define LC_MAX_HISTORY	5	/* entries one input can produce */
#define LC_MAX_EVENTS	4	/* events one input can produce */
#define LC_USER_MAX	254	/* "user": an e-mail address or a name */
#define LC_TEXT_MAX	4096	/* justification, evidence, reason, error */
#define LC_SNOOZE_MIN	1	/* days */
#define LC_SNOOZE_MAX	90

/* Actor names for entries not made by a user. */
#define LC_BY_SCANNER	"scanner"
#define LC_BY_SYSTEM	"system"	/* the clock: expiries */

/*
 * Error codes of refusals (lc_result.code). The API's codes, plus:
 * a high-severity (or info) finding may not be auto-remediated: the API
 * allows low and medium only. That refusal is 403
 * "remediation_severity_not_allowed", checked after the critical check
 * (critical keeps its own "critical_remediation_blocked") and
 * before the tenant opt-in, so that the answer does not depend on the
 * setting: a critical or high finding is refused the same way whether the
 * tenant opted in or not.
 */
#define LC_ERR_INVALID		"invalid_request"		/* 400 */
#define LC_ERR_REM_DISABLED	"auto_remediate_disabled"	/* 403 */
#define LC_ERR_REM_CRITICAL	"critical_remediation_blocked"	/* 403 */
#define LC_ERR_REM_SEVERITY	"remediation_severity_not_allowed" /* 403 */
#define LC_ERR_CONFLICT		"conflict"			/* 409 */

enum lc_kind {
	/* user actions: user is required */
	LC_ACCEPT,
	LC_RESOLVE,
	LC_REMEDIATE,
	LC_APPROVE_REMEDIATION,
	LC_SNOOZE,
	LC_DISMISS,
	/* scan observations: by "scanner" */
	LC_SEEN,		/* the rule fires for the resource */
	LC_NOT_SEEN,		/* a complete scan no longer finds it */
	LC_REMEDIATION_RESULT,	/* the scanner applied an approved fix */
	/* the clock: by "system" */
	LC_TICK,
	/* mute rules (by "system"): a live rule matches an open finding;
	 * no live rule matches a muted one any more */
	LC_MUTE,
	LC_UNMUTE,
	/* the tenant disabled or deleted the rule (by "system"): u.gone */
	LC_RULE_GONE,
};

/* One input. Strings are borrowed for the duration of the call. */
struct lc_input {
	enum lc_kind	 kind;
	const char	*user;	/* user actions only: 1..LC_USER_MAX bytes */
	union {
		struct {
			const char	*justification;	/* required */
			time_t		 expires_at;	/* 0: none; else > now */
		} accept;
		struct {
			const char	*evidence;	/* optional */
		} resolve;
		struct {
			int		 approval_required;
		} remediate;
		struct {
			long		 days;		/* 1..90 */
		} snooze;
		struct {
			const char	*reason;	/* required */
		} dismiss;
		struct {
			const char	*fingerprint;	/* required, 1..64 */
			/* The rule's current severity; UNSET keeps the
			 * stored one (required for a new finding). */
			enum finding_severity severity;
			/* The live mute rule that matches the finding, or
			 * NULL: an open finding becomes muted, a muted one
			 * that no rule matches is open again. */
			const char	*mute;
		} seen;
		struct {
			const char	*rule_id;	/* required */
			/* LC_UNMUTE: why ("deleted", "expired"). */
			const char	*reason;
		} mute;
		struct {
			/* The live mute rule that matches the finding, or
			 * NULL: one its expiry makes open is muted. */
			const char	*mute;
		} tick;
		struct {
			const char	*rule_id;	/* required */
			/* "rule_disabled" or "rule_deleted" */
			const char	*reason;	/* required */
		} gone;
		struct {
			int		 ok;
			const char	*error;		/* optional, on failure */
		} remediation;
	} u;
};

/* Tenant settings the lifecycle depends on. */
struct lc_tenant {
	int	 allow_auto_remediate;
};

/* One history row: the API's {action, timestamp, by, ...fields}. */
struct lc_history {
	const char	*action;	/* static string */
	time_t		 timestamp;
	char		 by[LC_USER_MAX + 1];
	json_object	*fields;	/* owned by the lc_result; never NULL */
};

struct lc_result {
	/* 0: applied. Otherwise the refusal: HTTP status, error code,
	 * message and (400 only) the offending field, all static strings;
	 * finding is then a copy of the input and nothing else is set. */
	int		 status;
	const char	*code;
	const char	*message;
	const char	*field;
	/* 1 if the stored row must be written (finding differs from the
	 * input, or the input was a new detection). */
	int		 changed;
	struct finding	 finding;
	size_t		 nhistory;
	struct lc_history history[LC_MAX_HISTORY];
	size_t		 nevents;
	const char	*events[LC_MAX_EVENTS];	/* "finding.…", static */
};

/*
 * Decide what input `what` does to finding `in` at time `now`. `in` is
 * NULL for a finding not stored yet; only LC_SEEN accepts that (a new
 * detection), and the caller then sets out->finding.id. tenant may be
 * NULL (no opt-in). Before the input itself, an acceptance or snooze
 * whose time has passed is expired, so the result never depends on
 * whether the clock tick ran first.
 * Returns 0 when a decision was made (out->status says applied or
 * refused), -1 on misuse or out of memory. Either way `out` is
 * initialised and the caller must call lifecycle_result_free(out).
 */
int	 lifecycle_apply(const struct finding *in, const struct lc_input *what,
	    time_t now, const struct lc_tenant *tenant, struct lc_result *out);

/* Release the history fields held by r; r may be reused afterwards. */
void	 lifecycle_result_free(struct lc_result *r);

/* A new object in the API's history shape: action, timestamp (RFC 3339),
 * by, then the entry's own fields. The caller puts it; NULL if out of
 * memory. h is not modified. */
json_object *lifecycle_history_json(const struct lc_history *h);

/* 1 if the scanner may apply the remediation of f now (open, approved,
 * low or medium severity, tenant opted in), 0 otherwise. */
int	 lifecycle_remediation_due(const struct finding *f,
	    const struct lc_tenant *tenant);

#endif
