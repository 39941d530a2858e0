/* check_lifecycle.c: the finding state machine, one table row per
 * transition of the README's lifecycle, plus the history example of
 * doc/openapi.json as a golden. */
#include "vigil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "finding.h"
#include "findings.h"
#include "lifecycle.h"
#include "suites.h"
#include "vjson.h"
#include "vtime.h"

#define DAY	86400L
#define T0	1778457600L		/* 2026-05-11T00:00:00Z */
#define NOW	(T0 + 30 * DAY)
#define USER	"[email protected]"
#define FP_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A stored finding in state st, detected and last touched at T0. */
#define F(st, sev)							\
	.id = "azure-nsg-ssh-internet-3f9a1c2b", .state = (st),	\
	.severity = FINDING_SEV_##sev, .fingerprint = FP_A,		\
	.detected_at = T0, .updated_at = T0, .last_seen_at = T0

#define ACCEPT(j, exp)	{ .kind = LC_ACCEPT, .user = USER,		\
	.u.accept = { .justification = (j), .expires_at = (exp) } }
#define RESOLVE(ev)	{ .kind = LC_RESOLVE, .user = USER,		\
	.u.resolve = { .evidence = (ev) } }
#define REMEDIATE(appr)	{ .kind = LC_REMEDIATE, .user = USER,		\
	.u.remediate = { .approval_required = (appr) } }
#define APPROVE		{ .kind = LC_APPROVE_REMEDIATION, .user = USER }
#define SNOOZE(d)	{ .kind = LC_SNOOZE, .user = USER,		\
	.u.snooze = { .days = (d) } }
#define DISMISS(r)	{ .kind = LC_DISMISS, .user = USER,		\
	.u.dismiss = { .reason = (r) } }
#define SEEN(fp)	{ .kind = LC_SEEN, .u.seen = { .fingerprint = (fp) } }
#define SEEN_SEV(fp, sev) { .kind = LC_SEEN,				\
	.u.seen = { .fingerprint = (fp), .severity = FINDING_SEV_##sev } }
#define NOT_SEEN	{ .kind = LC_NOT_SEEN }
#define REM_RESULT(succ, e) { .kind = LC_REMEDIATION_RESULT,		\
	.u.remediation = { .ok = (succ), .error = (e) } }
#define TICK		{ .kind = LC_TICK }
#define SEEN_MUTE(fp, sev, m) { .kind = LC_SEEN,			\
	.u.seen = { .fingerprint = (fp), .severity = FINDING_SEV_##sev,	\
	.mute = (m) } }
#define TICK_MUTE(m)	{ .kind = LC_TICK, .u.tick = { .mute = (m) } }
#define MUTE(r)		{ .kind = LC_MUTE, .u.mute = { .rule_id = (r) } }
#define UNMUTE(r, why)	{ .kind = LC_UNMUTE,				\
	.u.mute = { .rule_id = (r), .reason = (why) } }
#define MR		"mute_01JV7Q6B1C2D3E4F5G6H7J8K9M"
#define GONE(why)	{ .kind = LC_RULE_GONE,				\
	.u.gone = { .rule_id = "nsg-ssh-internet", .reason = (why) } }

#define REFUSE(st, c, fld) .status = (st), .code = (c), .field = (fld)

enum { CH_ANY = 0, CH_YES, CH_NO };

struct lc_case {
	const char		*name;
	int			 is_new;	/* in is ignored: a new finding */
	struct finding		 in;
	struct lc_input		 what;
	long			 at;		/* 0: NOW */
	int			 opted_in;
	/* expected; a refusal checks only status, code and field */
	int			 status;
	const char		*code;
	const char		*field;
	enum finding_state	 state;
	enum finding_remediation rem;
	enum finding_resolver	 by;
	int			 awaiting;
	long			 accepted_until;
	long			 snoozed_until;
	int			 changed;
	const char		*history[LC_MAX_HISTORY + 1];	/* "action by" */
	const char		*events[LC_MAX_EVENTS + 1];
	const char		*fields;	/* last entry's fields, JSON */
	const char		*fingerprint;	/* NULL: not checked */
};

static const struct lc_case cases[] = {
	/* --- mute rules --- */
	{ "new finding a mute rule matches is muted", .is_new = 1,
	  .what = SEEN_MUTE(FP_A, HIGH, MR),
	  .state = FINDING_MUTED, .changed = CH_YES,
	  .history = { "detected scanner", "muted scanner" },
	  .events = { "finding.muted" },
	  .fields = "{\"mute_rule_id\":\"" MR "\"}" },
	{ "open finding seen with a mute rule is muted",
	  .in = { F(FINDING_OPEN, HIGH) }, .what = SEEN_MUTE(FP_A, HIGH, MR),
	  .state = FINDING_MUTED, .history = { "muted scanner" },
	  .events = { "finding.muted" } },
	{ "resolved finding back under a mute rule: muted, not reopened",
	  .in = { F(FINDING_RESOLVED, HIGH), .resolved_by = FINDING_BY_SCANNER },
	  .what = SEEN_MUTE(FP_A, HIGH, MR), .state = FINDING_MUTED,
	  .history = { "reopened scanner", "muted scanner" },
	  .events = { "finding.muted" } },
	{ "muted finding seen under its rule: last_seen_at only",
	  .in = { F(FINDING_MUTED, HIGH) }, .what = SEEN_MUTE(FP_B, HIGH, MR),
	  .state = FINDING_MUTED, .changed = CH_YES, .fingerprint = FP_B },
	{ "muted finding seen with no rule matching: open again",
	  .in = { F(FINDING_MUTED, HIGH) }, .what = SEEN(FP_A),
	  .state = FINDING_OPEN, .history = { "unmuted scanner" },
	  .events = { "finding.unmuted" },
	  .fields = "{\"reason\":\"no_rule\"}" },
	{ "accepted finding keeps its acceptance under a mute rule",
	  .in = { F(FINDING_ACCEPTED, HIGH) },
	  .what = SEEN_MUTE(FP_A, HIGH, MR), .state = FINDING_ACCEPTED,
	  .changed = CH_YES },
	{ "dismissed finding is not muted",
	  .in = { F(FINDING_DISMISSED, HIGH) },
	  .what = SEEN_MUTE(FP_A, HIGH, MR), .state = FINDING_DISMISSED,
	  .changed = CH_YES },
	{ "muted finding gone from a complete scan: resolved",
	  .in = { F(FINDING_MUTED, HIGH) }, .what = NOT_SEEN,
	  .state = FINDING_RESOLVED, .by = FINDING_BY_SCANNER,
	  .history = { "resolved scanner" }, .events = { "finding.resolved" } },
	{ "a rule created mutes an open finding",
	  .in = { F(FINDING_OPEN, HIGH), .remediation = FINDING_REM_APPROVED },
	  .what = MUTE(MR), .state = FINDING_MUTED, .rem = FINDING_REM_NONE,
	  .history = { "muted system" }, .events = { "finding.muted" },
	  .fields = "{\"mute_rule_id\":\"" MR "\","
	      "\"remediation_cancelled\":true}" },
	{ "a rule created leaves a snoozed finding snoozed",
	  .in = { F(FINDING_SNOOZED, HIGH), .snoozed_until = NOW + DAY },
	  .what = MUTE(MR), .state = FINDING_SNOOZED,
	  .snoozed_until = NOW + DAY, .changed = CH_NO },
	{ "mute needs the rule's id", .in = { F(FINDING_OPEN, HIGH) },
	  .what = MUTE(NULL), REFUSE(400, "invalid_request", "rule_id") },
	{ "rule deleted: muted back to open, awaiting the next scan",
	  .in = { F(FINDING_MUTED, HIGH) }, .what = UNMUTE(MR, "deleted"),
	  .state = FINDING_OPEN, .awaiting = 1,
	  .history = { "unmuted system" }, .events = { "finding.unmuted" },
	  .fields = "{\"mute_rule_id\":\"" MR "\",\"reason\":\"deleted\"}" },
	{ "no live rule matches any more: back to open, no rule named",
	  .in = { F(FINDING_MUTED, HIGH) }, .what = UNMUTE(NULL, "no_rule"),
	  .state = FINDING_OPEN, .awaiting = 1,
	  .history = { "unmuted system" }, .events = { "finding.unmuted" },
	  .fields = "{\"reason\":\"no_rule\"}" },
	{ "unmute leaves an open finding alone",
	  .in = { F(FINDING_OPEN, HIGH) }, .what = UNMUTE(MR, "expired"),
	  .state = FINDING_OPEN, .changed = CH_NO },
	{ "a muted finding cannot be accepted",
	  .in = { F(FINDING_MUTED, HIGH) }, .what = ACCEPT("x", 0),
	  REFUSE(409, "conflict", NULL) },
	{ "a muted finding cannot be snoozed",
	  .in = { F(FINDING_MUTED, HIGH) }, .what = SNOOZE(7),
	  REFUSE(409, "conflict", NULL) },
	{ "a muted finding can be resolved",
	  .in = { F(FINDING_MUTED, HIGH) }, .what = RESOLVE(NULL),
	  .state = FINDING_RESOLVED, .by = FINDING_BY_USER, .awaiting = 1,
	  .history = { "resolved " USER }, .events = { "finding.resolved" } },
	/* --- rule settings --- */
	{ "rule disabled: an accepted finding is resolved with the reason",
	  .in = { F(FINDING_ACCEPTED, HIGH) }, .what = GONE("rule_disabled"),
	  .state = FINDING_RESOLVED, .by = FINDING_BY_SCANNER,
	  .history = { "resolved system" }, .events = { "finding.resolved" },
	  .fields = "{\"reason\":\"rule_disabled\","
	      "\"rule_id\":\"nsg-ssh-internet\"}" },
	{ "rule deleted: a muted finding is resolved",
	  .in = { F(FINDING_MUTED, HIGH) }, .what = GONE("rule_deleted"),
	  .state = FINDING_RESOLVED, .by = FINDING_BY_SCANNER,
	  .history = { "resolved system" }, .events = { "finding.resolved" } },
	{ "rule disabled: a dismissed finding stays dismissed",
	  .in = { F(FINDING_DISMISSED, HIGH) }, .what = GONE("rule_disabled"),
	  .state = FINDING_DISMISSED, .changed = CH_NO },
	{ "rule gone needs a reason", .in = { F(FINDING_OPEN, HIGH) },
	  .what = GONE(NULL), REFUSE(400, "invalid_request", "rule_id") },
	{ "a muted finding can be dismissed",
	  .in = { F(FINDING_MUTED, HIGH) }, .what = DISMISS("n/a"),
	  .state = FINDING_DISMISSED, .history = { "dismissed " USER },
	  .events = { "finding.dismissed" } },

	/* --- detection and plain rescans --- */
	{ "new finding is detected", .is_new = 1,
	  .what = SEEN_SEV(FP_A, HIGH),
	  .state = FINDING_OPEN, .changed = CH_YES,
	  .history = { "detected scanner" }, .events = { "finding.detected" },
	  .fields = "{}", .fingerprint = FP_A },
	{ "new finding needs a severity", .is_new = 1, .what = SEEN(FP_A),
	  REFUSE(400, "invalid_request", "severity") },
	{ "fingerprint must be sha-256 hex", .in = { F(FINDING_OPEN, HIGH) },
	  .what = SEEN("abc"), REFUSE(400, "invalid_request", "fingerprint") },
	{ "still present, unchanged: last_seen_at only",
	  .in = { F(FINDING_OPEN, HIGH) }, .what = SEEN(FP_A),
	  .state = FINDING_OPEN, .changed = CH_YES },
	{ "still present, same severity given: nothing new",
	  .in = { F(FINDING_OPEN, HIGH) }, .what = SEEN_SEV(FP_A, HIGH),
	  .state = FINDING_OPEN, .changed = CH_YES },
	{ "open finding's config changes: stored quietly",
	  .in = { F(FINDING_OPEN, HIGH) }, .what = SEEN(FP_B),
	  .state = FINDING_OPEN, .changed = CH_YES, .fingerprint = FP_B },
	{ "rescored by the rule: finding.updated",
	  .in = { F(FINDING_OPEN, HIGH) }, .what = SEEN_SEV(FP_A, CRITICAL),
	  .state = FINDING_OPEN, .history = { "rescored scanner" },
	  .events = { "finding.updated" },
	  .fields = "{\"previous_severity\":\"high\",\"severity\":\"critical\"}" },

	/* --- accept --- */
	{ "accept with expiry", .in = { F(FINDING_OPEN, HIGH) },
	  .what = ACCEPT("ticket #4521", NOW + DAY),
	  .state = FINDING_ACCEPTED, .accepted_until = NOW + DAY,
	  .history = { "accept_risk " USER }, .events = { "finding.accepted" },
	  .fields = "{\"justification\":\"ticket #4521\","
	      "\"expires_at\":\"2026-06-11T00:00:00Z\"}" },
	{ "accept without expiry", .in = { F(FINDING_OPEN, HIGH) },
	  .what = ACCEPT("compensating control", 0),
	  .state = FINDING_ACCEPTED, .history = { "accept_risk " USER },
	  .events = { "finding.accepted" },
	  .fields = "{\"justification\":\"compensating control\"}" },
	{ "accept without justification", .in = { F(FINDING_OPEN, HIGH) },
	  .what = ACCEPT(NULL, NOW + DAY),
	  REFUSE(400, "invalid_request", "justification") },
	{ "accept with a blank justification", .in = { F(FINDING_OPEN, HIGH) },
	  .what = ACCEPT(" \t\n", NOW + DAY),
	  REFUSE(400, "invalid_request", "justification") },
	{ "accept with invalid UTF-8", .in = { F(FINDING_OPEN, HIGH) },
	  .what = ACCEPT("ok\xff", 0),
	  REFUSE(400, "invalid_request", "justification") },
	{ "accept with a past expires_at", .in = { F(FINDING_OPEN, HIGH) },
	  .what = ACCEPT("x", NOW - 1),
	  REFUSE(400, "invalid_request", "expires_at") },
	{ "accept expiring right now", .in = { F(FINDING_OPEN, HIGH) },
	  .what = ACCEPT("x", NOW),
	  REFUSE(400, "invalid_request", "expires_at") },
	{ "accept without user", .in = { F(FINDING_OPEN, HIGH) },
	  .what = { .kind = LC_ACCEPT, .u.accept = { .justification = "x" } },
	  REFUSE(400, "invalid_request", "user") },
	{ "400 before 409", .in = { F(FINDING_DISMISSED, HIGH) },
	  .what = ACCEPT(NULL, 0),
	  REFUSE(400, "invalid_request", "justification") },
	{ "accept a dismissed finding", .in = { F(FINDING_DISMISSED, HIGH) },
	  .what = ACCEPT("x", 0), REFUSE(409, "conflict", NULL) },
	{ "accept a resolved finding",
	  .in = { F(FINDING_RESOLVED, HIGH), .resolved_by = FINDING_BY_USER },
	  .what = ACCEPT("x", 0), REFUSE(409, "conflict", NULL) },
	{ "re-accept renews the exception",
	  .in = { F(FINDING_ACCEPTED, HIGH), .accepted_until = NOW + DAY },
	  .what = ACCEPT("renewed", NOW + 60 * DAY),
	  .state = FINDING_ACCEPTED, .accepted_until = NOW + 60 * DAY,
	  .history = { "accept_risk " USER }, .events = { "finding.accepted" } },
	{ "accept a snoozed finding",
	  .in = { F(FINDING_SNOOZED, HIGH), .snoozed_until = NOW + DAY },
	  .what = ACCEPT("x", 0), .state = FINDING_ACCEPTED,
	  .history = { "accept_risk " USER }, .events = { "finding.accepted" } },
	{ "accept cancels a pending remediation",
	  .in = { F(FINDING_OPEN, LOW), .remediation = FINDING_REM_APPROVED },
	  .what = ACCEPT("x", 0), .opted_in = 1, .state = FINDING_ACCEPTED,
	  .rem = FINDING_REM_NONE, .history = { "accept_risk " USER },
	  .events = { "finding.accepted" },
	  .fields = "{\"justification\":\"x\",\"remediation_cancelled\":true}" },

	/* --- acceptance expiry and configuration change --- */
	{ "acceptance expires", .in = { F(FINDING_ACCEPTED, HIGH),
	  .accepted_until = NOW - 1 }, .what = TICK,
	  .state = FINDING_OPEN, .awaiting = 1, .changed = CH_YES,
	  .history = { "expired system" }, .events = { "finding.expired" },
	  .fields = "{}" },
	{ "acceptance expires at its second", .in = { F(FINDING_ACCEPTED, HIGH),
	  .accepted_until = NOW }, .what = TICK,
	  .state = FINDING_OPEN, .awaiting = 1,
	  .history = { "expired system" }, .events = { "finding.expired" } },
	{ "acceptance not yet due", .in = { F(FINDING_ACCEPTED, HIGH),
	  .accepted_until = NOW + 1 }, .what = TICK,
	  .state = FINDING_ACCEPTED, .accepted_until = NOW + 1,
	  .changed = CH_NO },
	{ "acceptance without expiry never expires",
	  .in = { F(FINDING_ACCEPTED, HIGH) }, .what = TICK,
	  .state = FINDING_ACCEPTED, .changed = CH_NO },
	{ "after expiry the next scan redetects",
	  .in = { F(FINDING_OPEN, HIGH), .awaiting_scan = 1 },
	  .what = SEEN(FP_A), .state = FINDING_OPEN,
	  .history = { "redetected scanner" } },
	{ "after expiry, gone at the next scan",
	  .in = { F(FINDING_OPEN, HIGH), .awaiting_scan = 1 },
	  .what = NOT_SEEN, .state = FINDING_RESOLVED,
	  .by = FINDING_BY_SCANNER, .history = { "resolved scanner" },
	  .events = { "finding.resolved" } },
	{ "scan after a missed tick: expired then redetected",
	  .in = { F(FINDING_ACCEPTED, HIGH), .accepted_until = NOW - DAY },
	  .what = SEEN(FP_A), .state = FINDING_OPEN,
	  .history = { "expired system", "redetected scanner" },
	  .events = { "finding.expired" } },
	{ "accepted, config unchanged", .in = { F(FINDING_ACCEPTED, HIGH),
	  .accepted_until = NOW + DAY }, .what = SEEN(FP_A),
	  .state = FINDING_ACCEPTED, .accepted_until = NOW + DAY,
	  .changed = CH_YES },
	{ "accepted, config changed: reopened", .in = { F(FINDING_ACCEPTED,
	  HIGH), .accepted_until = NOW + DAY }, .what = SEEN(FP_B),
	  .state = FINDING_OPEN,
	  .history = { "expired scanner", "redetected scanner" },
	  .events = { "finding.reopened" }, .fingerprint = FP_B },
	{ "accepted, gone from the scan: resolved",
	  .in = { F(FINDING_ACCEPTED, HIGH) }, .what = NOT_SEEN,
	  .state = FINDING_RESOLVED, .by = FINDING_BY_SCANNER,
	  .history = { "resolved scanner" }, .events = { "finding.resolved" } },

	/* --- resolve --- */
	{ "resolved by a user", .in = { F(FINDING_OPEN, HIGH) },
	  .what = RESOLVE("PR #4521 merged"), .state = FINDING_RESOLVED,
	  .by = FINDING_BY_USER, .awaiting = 1,
	  .history = { "resolved " USER }, .events = { "finding.resolved" },
	  .fields = "{\"evidence\":\"PR #4521 merged\"}" },
	{ "resolved without evidence", .in = { F(FINDING_OPEN, HIGH) },
	  .what = RESOLVE(NULL), .state = FINDING_RESOLVED,
	  .by = FINDING_BY_USER, .awaiting = 1, .fields = "{}",
	  .history = { "resolved " USER }, .events = { "finding.resolved" } },
	{ "resolve an accepted finding", .in = { F(FINDING_ACCEPTED, HIGH),
	  .accepted_until = NOW + DAY }, .what = RESOLVE(NULL),
	  .state = FINDING_RESOLVED, .by = FINDING_BY_USER, .awaiting = 1,
	  .history = { "resolved " USER }, .events = { "finding.resolved" } },
	{ "evidence with invalid UTF-8", .in = { F(FINDING_OPEN, HIGH) },
	  .what = RESOLVE("\xc0\xaf"),
	  REFUSE(400, "invalid_request", "evidence") },
	{ "resolve twice", .in = { F(FINDING_RESOLVED, HIGH),
	  .resolved_by = FINDING_BY_USER }, .what = RESOLVE(NULL),
	  REFUSE(409, "conflict", NULL) },
	{ "resolve a dismissed finding", .in = { F(FINDING_DISMISSED, HIGH) },
	  .what = RESOLVE(NULL), REFUSE(409, "conflict", NULL) },
	{ "user-resolved but still present: reopened",
	  .in = { F(FINDING_RESOLVED, HIGH), .resolved_by = FINDING_BY_USER,
	  .resolved_at = T0, .awaiting_scan = 1 }, .what = SEEN(FP_A),
	  .state = FINDING_OPEN, .history = { "reopened scanner" },
	  .events = { "finding.reopened" } },
	{ "user-resolved and gone: confirmed",
	  .in = { F(FINDING_RESOLVED, HIGH), .resolved_by = FINDING_BY_USER,
	  .resolved_at = T0, .awaiting_scan = 1 }, .what = NOT_SEEN,
	  .state = FINDING_RESOLVED, .by = FINDING_BY_USER,
	  .history = { "resolution_confirmed scanner" } },

	/* --- the scanner resolves and reopens --- */
	{ "open finding absent from a scan", .in = { F(FINDING_OPEN, HIGH) },
	  .what = NOT_SEEN, .state = FINDING_RESOLVED,
	  .by = FINDING_BY_SCANNER, .history = { "resolved scanner" },
	  .events = { "finding.resolved" }, .fields = "{}" },
	{ "scanner-resolved, seen again: reopened",
	  .in = { F(FINDING_RESOLVED, HIGH), .resolved_by = FINDING_BY_SCANNER,
	  .resolved_at = T0 }, .what = SEEN(FP_B), .state = FINDING_OPEN,
	  .history = { "reopened scanner" }, .events = { "finding.reopened" },
	  .fingerprint = FP_B },
	{ "scanner-resolved, still gone: nothing",
	  .in = { F(FINDING_RESOLVED, HIGH), .resolved_by = FINDING_BY_SCANNER,
	  .resolved_at = T0 }, .what = NOT_SEEN, .state = FINDING_RESOLVED,
	  .by = FINDING_BY_SCANNER, .changed = CH_NO },

	/* --- snooze --- */
	{ "snooze 0 days", .in = { F(FINDING_OPEN, HIGH) }, .what = SNOOZE(0),
	  REFUSE(400, "invalid_request", "days") },
	{ "snooze 91 days", .in = { F(FINDING_OPEN, HIGH) },
	  .what = SNOOZE(91), REFUSE(400, "invalid_request", "days") },
	{ "snooze -1 days", .in = { F(FINDING_OPEN, HIGH) },
	  .what = SNOOZE(-1), REFUSE(400, "invalid_request", "days") },
	{ "snooze 1 day", .in = { F(FINDING_OPEN, HIGH) }, .what = SNOOZE(1),
	  .state = FINDING_SNOOZED, .snoozed_until = NOW + DAY,
	  .history = { "snoozed " USER }, .events = { "finding.snoozed" },
	  .fields = "{\"days\":1,\"snoozed_until\":\"2026-06-11T00:00:00Z\"}" },
	{ "snooze 90 days", .in = { F(FINDING_OPEN, HIGH) }, .what = SNOOZE(90),
	  .state = FINDING_SNOOZED, .snoozed_until = NOW + 90 * DAY,
	  .history = { "snoozed " USER }, .events = { "finding.snoozed" } },
	{ "snooze an accepted finding", .in = { F(FINDING_ACCEPTED, HIGH) },
	  .what = SNOOZE(7), REFUSE(409, "conflict", NULL) },
	{ "snoozed until its date", .in = { F(FINDING_SNOOZED, HIGH),
	  .snoozed_until = NOW }, .what = TICK, .state = FINDING_OPEN,
	  .awaiting = 1, .history = { "snooze_expired system" },
	  .events = { "finding.reopened" } },
	/* An expiry under a live mute rule ends muted, not open. */
	{ "acceptance expires under a mute rule",
	  .in = { F(FINDING_ACCEPTED, HIGH), .accepted_until = NOW - 1 },
	  .what = TICK_MUTE(MR), .state = FINDING_MUTED, .changed = CH_YES,
	  .history = { "expired system", "muted system" },
	  .events = { "finding.expired", "finding.muted" },
	  .fields = "{\"mute_rule_id\":\"" MR "\"}" },
	{ "snooze ends under a mute rule", .in = { F(FINDING_SNOOZED, HIGH),
	  .snoozed_until = NOW }, .what = TICK_MUTE(MR),
	  .state = FINDING_MUTED, .changed = CH_YES,
	  .history = { "snooze_expired system", "muted system" },
	  .events = { "finding.muted" },
	  .fields = "{\"mute_rule_id\":\"" MR "\"}" },
	{ "acceptance not yet due, a mute rule waits",
	  .in = { F(FINDING_ACCEPTED, HIGH), .accepted_until = NOW + 1 },
	  .what = TICK_MUTE(MR), .state = FINDING_ACCEPTED,
	  .accepted_until = NOW + 1, .changed = CH_NO },
	{ "snoozed, date not reached", .in = { F(FINDING_SNOOZED, HIGH),
	  .snoozed_until = NOW + 1 }, .what = TICK, .state = FINDING_SNOOZED,
	  .snoozed_until = NOW + 1, .changed = CH_NO },
	{ "snoozed and still present", .in = { F(FINDING_SNOOZED, HIGH),
	  .snoozed_until = NOW + 1 }, .what = SEEN(FP_A),
	  .state = FINDING_SNOOZED, .snoozed_until = NOW + 1 },
	{ "snoozed and gone: resolved", .in = { F(FINDING_SNOOZED, HIGH),
	  .snoozed_until = NOW + 1 }, .what = NOT_SEEN,
	  .state = FINDING_RESOLVED, .by = FINDING_BY_SCANNER,
	  .history = { "resolved scanner" }, .events = { "finding.resolved" } },

	/* --- remediation --- */
	{ "remediate without opt-in", .in = { F(FINDING_OPEN, MEDIUM) },
	  .what = REMEDIATE(1),
	  REFUSE(403, "auto_remediate_disabled", NULL) },
	{ "remediate critical, opted in", .in = { F(FINDING_OPEN, CRITICAL) },
	  .what = REMEDIATE(1), .opted_in = 1,
	  REFUSE(403, "critical_remediation_blocked", NULL) },
	{ "remediate critical, not opted in",
	  .in = { F(FINDING_OPEN, CRITICAL) }, .what = REMEDIATE(0),
	  REFUSE(403, "critical_remediation_blocked", NULL) },
	{ "remediate critical dismissed: 403 before 409",
	  .in = { F(FINDING_DISMISSED, CRITICAL) }, .what = REMEDIATE(0),
	  .opted_in = 1, REFUSE(403, "critical_remediation_blocked", NULL) },
	{ "remediate high, opted in", .in = { F(FINDING_OPEN, HIGH) },
	  .what = REMEDIATE(1), .opted_in = 1,
	  REFUSE(403, "remediation_severity_not_allowed", NULL) },
	{ "remediate high, not opted in", .in = { F(FINDING_OPEN, HIGH) },
	  .what = REMEDIATE(1),
	  REFUSE(403, "remediation_severity_not_allowed", NULL) },
	{ "remediate info, opted in", .in = { F(FINDING_OPEN, INFO) },
	  .what = REMEDIATE(1), .opted_in = 1,
	  REFUSE(403, "remediation_severity_not_allowed", NULL) },
	{ "remediate without user: 400 first",
	  .in = { F(FINDING_OPEN, CRITICAL) },
	  .what = { .kind = LC_REMEDIATE },
	  REFUSE(400, "invalid_request", "user") },
	{ "remediate low with approval", .in = { F(FINDING_OPEN, LOW) },
	  .what = REMEDIATE(1), .opted_in = 1, .state = FINDING_OPEN,
	  .rem = FINDING_REM_REQUESTED,
	  .history = { "remediation_requested " USER },
	  .events = { "finding.updated" },
	  .fields = "{\"approval_required\":true}" },
	{ "remediate medium without approval", .in = { F(FINDING_OPEN, MEDIUM) },
	  .what = REMEDIATE(0), .opted_in = 1, .state = FINDING_OPEN,
	  .rem = FINDING_REM_APPROVED,
	  .history = { "remediation_requested " USER },
	  .events = { "finding.updated" },
	  .fields = "{\"approval_required\":false}" },
	{ "remediate again after a failure", .in = { F(FINDING_OPEN, LOW),
	  .remediation = FINDING_REM_FAILED }, .what = REMEDIATE(0),
	  .opted_in = 1, .state = FINDING_OPEN, .rem = FINDING_REM_APPROVED,
	  .history = { "remediation_requested " USER },
	  .events = { "finding.updated" } },
	{ "remediate while one is pending", .in = { F(FINDING_OPEN, LOW),
	  .remediation = FINDING_REM_REQUESTED }, .what = REMEDIATE(0),
	  .opted_in = 1, REFUSE(409, "conflict", NULL) },
	{ "remediate an accepted finding", .in = { F(FINDING_ACCEPTED, LOW) },
	  .what = REMEDIATE(0), .opted_in = 1,
	  REFUSE(409, "conflict", NULL) },
	{ "approve a requested remediation", .in = { F(FINDING_OPEN, LOW),
	  .remediation = FINDING_REM_REQUESTED }, .what = APPROVE,
	  .opted_in = 1, .state = FINDING_OPEN, .rem = FINDING_REM_APPROVED,
	  .history = { "remediation_approved " USER },
	  .events = { "finding.updated" } },
	{ "approve with nothing requested", .in = { F(FINDING_OPEN, LOW) },
	  .what = APPROVE, .opted_in = 1, REFUSE(409, "conflict", NULL) },
	{ "approve after the tenant opted out", .in = { F(FINDING_OPEN, LOW),
	  .remediation = FINDING_REM_REQUESTED }, .what = APPROVE,
	  REFUSE(403, "auto_remediate_disabled", NULL) },
	{ "remediation applied", .in = { F(FINDING_OPEN, LOW),
	  .remediation = FINDING_REM_APPROVED }, .what = REM_RESULT(1, NULL),
	  .opted_in = 1, .state = FINDING_RESOLVED,
	  .rem = FINDING_REM_REMEDIATED, .by = FINDING_BY_SCANNER,
	  .awaiting = 1, .history = { "remediated scanner" },
	  .events = { "finding.remediated" } },
	{ "remediation failed", .in = { F(FINDING_OPEN, LOW),
	  .remediation = FINDING_REM_APPROVED },
	  .what = REM_RESULT(0, "403 from ARM"), .state = FINDING_OPEN,
	  .rem = FINDING_REM_FAILED, .history = { "remediation_failed scanner" },
	  .events = { "finding.remediation_failed" },
	  .fields = "{\"error\":\"403 from ARM\"}" },
	{ "remediation result without approval", .in = { F(FINDING_OPEN, LOW),
	  .remediation = FINDING_REM_REQUESTED }, .what = REM_RESULT(1, NULL),
	  REFUSE(409, "conflict", NULL) },
	{ "remediated and gone: confirmed", .in = { F(FINDING_RESOLVED, LOW),
	  .remediation = FINDING_REM_REMEDIATED,
	  .resolved_by = FINDING_BY_SCANNER, .resolved_at = T0,
	  .awaiting_scan = 1 }, .what = NOT_SEEN, .state = FINDING_RESOLVED,
	  .rem = FINDING_REM_REMEDIATED, .by = FINDING_BY_SCANNER,
	  .history = { "resolution_confirmed scanner" } },
	{ "remediated but back: reopened", .in = { F(FINDING_RESOLVED, LOW),
	  .remediation = FINDING_REM_REMEDIATED,
	  .resolved_by = FINDING_BY_SCANNER, .resolved_at = T0,
	  .awaiting_scan = 1 }, .what = SEEN(FP_A), .state = FINDING_OPEN,
	  .rem = FINDING_REM_NONE, .history = { "reopened scanner" },
	  .events = { "finding.reopened" } },
	{ "gone with a remediation pending", .in = { F(FINDING_OPEN, LOW),
	  .remediation = FINDING_REM_APPROVED }, .what = NOT_SEEN,
	  .state = FINDING_RESOLVED, .by = FINDING_BY_SCANNER,
	  .rem = FINDING_REM_NONE, .history = { "resolved scanner" },
	  .events = { "finding.resolved" },
	  .fields = "{\"remediation_cancelled\":true}" },

	/* --- dismiss --- */
	{ "dismiss", .in = { F(FINDING_OPEN, HIGH) },
	  .what = DISMISS("false positive: test subscription"),
	  .state = FINDING_DISMISSED, .history = { "dismissed " USER },
	  .events = { "finding.dismissed" },
	  .fields = "{\"reason\":\"false positive: test subscription\"}" },
	{ "dismiss a resolved finding", .in = { F(FINDING_RESOLVED, HIGH),
	  .resolved_by = FINDING_BY_SCANNER, .resolved_at = T0 },
	  .what = DISMISS("noise"), .state = FINDING_DISMISSED,
	  .history = { "dismissed " USER }, .events = { "finding.dismissed" } },
	{ "dismiss without reason", .in = { F(FINDING_OPEN, HIGH) },
	  .what = DISMISS(NULL), REFUSE(400, "invalid_request", "reason") },
	{ "dismiss twice", .in = { F(FINDING_DISMISSED, HIGH) },
	  .what = DISMISS("again"), REFUSE(409, "conflict", NULL) },
	{ "dismissed stays dismissed when seen",
	  .in = { F(FINDING_DISMISSED, HIGH) }, .what = SEEN(FP_A),
	  .state = FINDING_DISMISSED, .changed = CH_YES },
	{ "dismissed stays dismissed when config and severity change",
	  .in = { F(FINDING_DISMISSED, HIGH) },
	  .what = SEEN_SEV(FP_B, CRITICAL), .state = FINDING_DISMISSED,
	  .fingerprint = FP_A },
	{ "dismissed stays dismissed when not seen",
	  .in = { F(FINDING_DISMISSED, HIGH) }, .what = NOT_SEEN,
	  .state = FINDING_DISMISSED, .changed = CH_NO },
	{ "dismissed ignores the clock", .in = { F(FINDING_DISMISSED, HIGH) },
	  .what = TICK, .state = FINDING_DISMISSED, .changed = CH_NO },
};

static void
check_case(const struct lc_case *t)
{
	const struct finding *in = t->is_new ? NULL : &t->in;
	struct lc_tenant tenant = { .allow_auto_remediate = t->opted_in };
	struct lc_result r;
	time_t now = t->at != 0 ? (time_t)t->at : (time_t)NOW;
	char got[LC_USER_MAX + 64];
	const char *s;
	size_t i, n;

	ck_assert_msg(lifecycle_apply(in, &t->what, now, &tenant, &r) == 0,
	    "%s: lifecycle_apply failed", t->name);
	ck_assert_msg(r.status == t->status, "%s: status %d, want %d",
	    t->name, r.status, t->status);
	if (t->status != 0) {
		ck_assert_msg(r.code != NULL && strcmp(r.code, t->code) == 0,
		    "%s: code %s, want %s", t->name, r.code, t->code);
		ck_assert_msg((r.field == NULL && t->field == NULL) ||
		    (r.field != NULL && t->field != NULL &&
		    strcmp(r.field, t->field) == 0), "%s: field %s, want %s",
		    t->name, r.field ? r.field : "(none)",
		    t->field ? t->field : "(none)");
		ck_assert_msg(r.message != NULL && r.message[0] != '\0',
		    "%s: refusal without a message", t->name);
		ck_assert_msg(r.nhistory == 0 && r.nevents == 0 && !r.changed,
		    "%s: a refusal left a trace", t->name);
		if (in != NULL)
			ck_assert_msg(memcmp(&r.finding, in, sizeof(*in)) == 0,
			    "%s: a refusal changed the finding", t->name);
		goto out;
	}
	ck_assert_msg(r.finding.state == t->state, "%s: state %s, want %s",
	    t->name, finding_state_str(r.finding.state),
	    finding_state_str(t->state));
	ck_assert_msg(r.finding.remediation == t->rem,
	    "%s: remediation %s, want %s", t->name,
	    finding_remediation_str(r.finding.remediation),
	    finding_remediation_str(t->rem));
	ck_assert_msg(r.finding.resolved_by == t->by,
	    "%s: resolved_by %d, want %d", t->name, r.finding.resolved_by,
	    t->by);
	ck_assert_msg((r.finding.resolved_at != 0) ==
	    (t->state == FINDING_RESOLVED), "%s: resolved_at", t->name);
	ck_assert_msg(r.finding.awaiting_scan == t->awaiting,
	    "%s: awaiting_scan %d, want %d", t->name,
	    r.finding.awaiting_scan, t->awaiting);
	ck_assert_msg((long)r.finding.accepted_until == t->accepted_until,
	    "%s: accepted_until %ld, want %ld", t->name,
	    (long)r.finding.accepted_until, t->accepted_until);
	ck_assert_msg((long)r.finding.snoozed_until == t->snoozed_until,
	    "%s: snoozed_until %ld, want %ld", t->name,
	    (long)r.finding.snoozed_until, t->snoozed_until);
	if (t->changed != CH_ANY)
		ck_assert_msg(r.changed == (t->changed == CH_YES),
		    "%s: changed %d", t->name, r.changed);
	if (t->fingerprint != NULL)
		ck_assert_msg(strcmp(r.finding.fingerprint, t->fingerprint)
		    == 0, "%s: fingerprint %s", t->name, r.finding.fingerprint);
	if (t->what.kind == LC_SEEN)
		ck_assert_msg(r.finding.last_seen_at == now,
		    "%s: last_seen_at not updated", t->name);
	else if (in != NULL)
		ck_assert_msg(r.finding.last_seen_at == in->last_seen_at,
		    "%s: last_seen_at moved without a scan", t->name);

	for (n = 0; t->history[n] != NULL; n++)
		;
	ck_assert_msg(r.nhistory == n, "%s: %zu history entries, want %zu",
	    t->name, r.nhistory, n);
	for (i = 0; i < n; i++) {
		snprintf(got, sizeof(got), "%s %s", r.history[i].action,
		    r.history[i].by);
		ck_assert_msg(strcmp(got, t->history[i]) == 0,
		    "%s: history[%zu] \"%s\", want \"%s\"", t->name, i, got,
		    t->history[i]);
		ck_assert_msg(r.history[i].timestamp == now,
		    "%s: history[%zu] timestamp", t->name, i);
	}
	if (t->fields != NULL) {
		ck_assert_msg(n > 0, "%s: fields given without history",
		    t->name);
		s = vjson_str(r.history[n - 1].fields, NULL);
		ck_assert_msg(strcmp(s, t->fields) == 0,
		    "%s: fields %s, want %s", t->name, s, t->fields);
	}
	for (n = 0; t->events[n] != NULL; n++)
		;
	ck_assert_msg(r.nevents == n, "%s: %zu events, want %zu", t->name,
	    r.nevents, n);
	for (i = 0; i < n; i++)
		ck_assert_msg(strcmp(r.events[i], t->events[i]) == 0,
		    "%s: event[%zu] %s, want %s", t->name, i, r.events[i],
		    t->events[i]);
	/* A history entry or an event always comes with a row to write,
	 * and a state change always leaves a history entry. */
	if (r.nhistory > 0 || r.nevents > 0)
		ck_assert_msg(r.changed, "%s: not marked changed", t->name);
	if (in != NULL && in->state != r.finding.state)
		ck_assert_msg(r.nhistory > 0 && r.finding.updated_at == now,
		    "%s: silent state change", t->name);
out:
	lifecycle_result_free(&r);
}

START_TEST(test_lifecycle_table)
{
	check_case(&cases[_i]);
}
END_TEST

/* Still present and unchanged: only last_seen_at moves. */
START_TEST(test_lifecycle_seen_unchanged)
{
	struct finding in = { F(FINDING_OPEN, HIGH) }, want;
	struct lc_input what = SEEN(FP_A);
	struct lc_result r;

	ck_assert_int_eq(lifecycle_apply(&in, &what, NOW, NULL, &r), 0);
	want = in;
	want.last_seen_at = NOW;
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(r.changed, 1);
	ck_assert(memcmp(&r.finding, &want, sizeof(want)) == 0);
	ck_assert_uint_eq(r.nhistory, 0);
	ck_assert_uint_eq(r.nevents, 0);
	lifecycle_result_free(&r);
}
END_TEST

/* A refusal after a lapsed snooze discards the expiry as well. */
START_TEST(test_lifecycle_refusal_discards_expiry)
{
	struct finding in = { F(FINDING_SNOOZED, LOW),
	    .snoozed_until = NOW - DAY };
	struct lc_input what = APPROVE;
	struct lc_tenant tenant = { .allow_auto_remediate = 1 };
	struct lc_result r;

	ck_assert_int_eq(lifecycle_apply(&in, &what, NOW, &tenant, &r), 0);
	ck_assert_int_eq(r.status, 409);
	ck_assert_uint_eq(r.nhistory, 0);
	ck_assert_uint_eq(r.nevents, 0);
	ck_assert(memcmp(&r.finding, &in, sizeof(in)) == 0);
	lifecycle_result_free(&r);
}
END_TEST

START_TEST(test_lifecycle_misuse)
{
	struct lc_input what = ACCEPT("x", 0);
	struct lc_result r;

	ck_assert_int_eq(lifecycle_apply(NULL, &what, NOW, NULL, &r), -1);
	ck_assert_uint_eq(r.nhistory, 0);
	lifecycle_result_free(&r);
}
END_TEST

static time_t
ts(const char *s)
{
	time_t t = 0;

	ck_assert_int_eq(vtime_parse_rfc3339(s, &t), 0);
	return t;
}

/* The history example of doc/openapi.json, replayed through the
 * lifecycle, must come out byte for byte (its "by" is "[email protected]",
 * so that is the user here too). */
START_TEST(test_lifecycle_history_example)
{
	static const char want_text[] =
	    "{ \"finding_id\": \"azure-nsg-prod-vnet-rule1-abc123\","
	    "  \"history\": ["
	    "    { \"action\": \"detected\",     \"timestamp\": \"2026-05-10T12:00:00Z\", \"by\": \"scanner\" },"
	    "    { \"action\": \"accept_risk\",  \"timestamp\": \"2026-05-11T09:15:22Z\", \"by\": \"[email protected]\", \"justification\": \"Approved exception, ticket #4521\", \"expires_at\": \"2026-08-11T00:00:00Z\" },"
	    "    { \"action\": \"expired\",      \"timestamp\": \"2026-08-11T00:00:01Z\", \"by\": \"system\" },"
	    "    { \"action\": \"redetected\",   \"timestamp\": \"2026-08-11T00:05:00Z\", \"by\": \"scanner\" }"
	    "  ] }";
	struct lc_input steps[] = {
		SEEN_SEV(FP_A, CRITICAL),
		{ .kind = LC_ACCEPT, .user = "[email protected]",
		  .u.accept = {
		    .justification = "Approved exception, ticket #4521" } },
		TICK,
		SEEN(FP_A),
	};
	const char *at[] = { "2026-05-10T12:00:00Z", "2026-05-11T09:15:22Z",
	    "2026-08-11T00:00:01Z", "2026-08-11T00:05:00Z" };
	const enum finding_state states[] = { FINDING_OPEN, FINDING_ACCEPTED,
	    FINDING_OPEN, FINDING_OPEN };
	struct finding f;
	struct lc_result r;
	json_object *got, *hist, *want, *h;
	size_t i, j;

	steps[1].u.accept.expires_at = ts("2026-08-11T00:00:00Z");
	got = json_object_new_object();
	hist = json_object_new_array();
	json_object_object_add(got, "finding_id",
	    json_object_new_string("azure-nsg-prod-vnet-rule1-abc123"));
	json_object_object_add(got, "history", hist);
	for (i = 0; i < NELEM(steps); i++) {
		ck_assert_int_eq(lifecycle_apply(i == 0 ? NULL : &f, &steps[i],
		    ts(at[i]), NULL, &r), 0);
		ck_assert_int_eq(r.status, 0);
		ck_assert_int_eq(r.finding.state, states[i]);
		ck_assert_uint_eq(r.nhistory, 1);
		f = r.finding;
		for (j = 0; j < r.nhistory; j++) {
			h = lifecycle_history_json(&r.history[j]);
			ck_assert_ptr_nonnull(h);
			json_object_array_add(hist, h);
		}
		lifecycle_result_free(&r);
	}
	want = json_tokener_parse(want_text);
	ck_assert_ptr_nonnull(want);
	ck_assert_str_eq(vjson_str(got, NULL), vjson_str(want, NULL));
	json_object_put(want);
	json_object_put(got);
}
END_TEST

/* requested -> approved -> applied -> confirmed, one input at a time. */
START_TEST(test_lifecycle_remediation_chain)
{
	static const struct {
		struct lc_input		 what;
		enum finding_state	 state;
		enum finding_remediation rem;
		int			 due;
		const char		*action, *event;
	} steps[] = {
		{ REMEDIATE(1), FINDING_OPEN, FINDING_REM_REQUESTED, 0,
		  "remediation_requested", "finding.updated" },
		{ APPROVE, FINDING_OPEN, FINDING_REM_APPROVED, 1,
		  "remediation_approved", "finding.updated" },
		{ REM_RESULT(1, NULL), FINDING_RESOLVED,
		  FINDING_REM_REMEDIATED, 0, "remediated",
		  "finding.remediated" },
		{ NOT_SEEN, FINDING_RESOLVED, FINDING_REM_REMEDIATED, 0,
		  "resolution_confirmed", NULL },
		{ NOT_SEEN, FINDING_RESOLVED, FINDING_REM_REMEDIATED, 0,
		  NULL, NULL },
	};
	struct finding f = { F(FINDING_OPEN, MEDIUM) };
	struct lc_tenant tenant = { .allow_auto_remediate = 1 };
	struct lc_result r;
	size_t i;

	ck_assert_int_eq(lifecycle_remediation_due(&f, &tenant), 0);
	for (i = 0; i < NELEM(steps); i++) {
		ck_assert_int_eq(lifecycle_apply(&f, &steps[i].what,
		    NOW + (time_t)i, &tenant, &r), 0);
		ck_assert_int_eq(r.status, 0);
		ck_assert_int_eq(r.finding.state, steps[i].state);
		ck_assert_int_eq(r.finding.remediation, steps[i].rem);
		ck_assert_uint_eq(r.nhistory, steps[i].action ? 1 : 0);
		if (steps[i].action != NULL)
			ck_assert_str_eq(r.history[0].action, steps[i].action);
		ck_assert_uint_eq(r.nevents, steps[i].event ? 1 : 0);
		if (steps[i].event != NULL)
			ck_assert_str_eq(r.events[0], steps[i].event);
		f = r.finding;
		lifecycle_result_free(&r);
		ck_assert_int_eq(lifecycle_remediation_due(&f, &tenant),
		    steps[i].due);
	}
	/* Due only for an opted-in tenant. */
	f.state = FINDING_OPEN;
	f.remediation = FINDING_REM_APPROVED;
	ck_assert_int_eq(lifecycle_remediation_due(&f, &tenant), 1);
	ck_assert_int_eq(lifecycle_remediation_due(&f, NULL), 0);
	f.severity = FINDING_SEV_HIGH;
	ck_assert_int_eq(lifecycle_remediation_due(&f, &tenant), 0);
}
END_TEST

START_TEST(test_finding_enums)
{
	static const char *const sev[] = { "critical", "high", "medium",
	    "low", "info" };
	static const char *const st[] = { "open", "accepted", "resolved",
	    "snoozed", "dismissed", "muted" };
	static const char *const rem[] = { "none", "requested", "approved",
	    "remediated", "failed" };
	static const char *const bad[] = { "", "Critical", "unset", "open ",
	    "none", "user", "expired" };
	enum finding_severity sv;
	enum finding_state s;
	enum finding_remediation rm;
	enum finding_resolver rs;
	size_t i;

	for (i = 0; i < NELEM(sev); i++) {
		ck_assert_int_eq(finding_severity_from_str(sev[i], &sv), 0);
		ck_assert_int_eq(sv, (int)i + 1);
		ck_assert_str_eq(finding_severity_str(sv), sev[i]);
	}
	for (i = 0; i < NELEM(st); i++) {
		ck_assert_int_eq(finding_state_from_str(st[i], &s), 0);
		ck_assert_int_eq(s, (int)i);
		ck_assert_str_eq(finding_state_str(s), st[i]);
	}
	for (i = 0; i < NELEM(rem); i++) {
		ck_assert_int_eq(finding_remediation_from_str(rem[i], &rm), 0);
		ck_assert_int_eq(rm, (int)i);
		ck_assert_str_eq(finding_remediation_str(rm), rem[i]);
	}
	ck_assert_int_eq(finding_resolver_from_str("user", &rs), 0);
	ck_assert_int_eq(rs, FINDING_BY_USER);
	ck_assert_int_eq(finding_resolver_from_str("scanner", &rs), 0);
	ck_assert_str_eq(finding_resolver_str(rs), "scanner");
	ck_assert_ptr_null(finding_resolver_str(FINDING_BY_NONE));
	ck_assert_ptr_null(finding_severity_str(FINDING_SEV_UNSET));
	ck_assert_ptr_null(finding_severity_str((enum finding_severity)99));
	ck_assert_ptr_null(finding_state_str((enum finding_state)-1));
	for (i = 0; i < NELEM(bad); i++) {
		ck_assert_int_eq(finding_severity_from_str(bad[i], &sv), -1);
		ck_assert_int_eq(finding_state_from_str(bad[i], &s), -1);
	}
	ck_assert_int_eq(finding_remediation_from_str("user", &rm), -1);
	ck_assert_int_eq(finding_resolver_from_str("none", &rs), -1);
	ck_assert_int_eq(finding_severity_from_str(NULL, &sv), -1);
}
END_TEST

/* The seqs a scan marked seen (findings_seqs_add), which reconcile does
 * not read: sorted, disjoint, merged where they meet or touch, new
 * findings (seq 0) left out, and dropped whole (full) past
 * FINDINGS_SEQS_MAX ranges, never kept in part. */
static void
seqs_feed(struct findings_seqs *q, const long long *v, size_t n)
{
	struct findings_seen it[8];
	size_t i;

	ck_assert_uint_le(n, NELEM(it));
	memset(it, 0, sizeof(it));
	for (i = 0; i < n; i++)
		it[i].seq = v[i];
	findings_seqs_add(q, it, n);
}

START_TEST(test_findings_seqs)
{
	static const long long a[] = { 7, 5, 6, 0, 20, 9 };
	static const long long b[] = { 8, 19, 3, 30, 21, 4 };
	static const long long c[] = { 10, 18 };
	struct findings_seqs q;
	long long i;

	memset(&q, 0, sizeof(q));
	seqs_feed(&q, a, NELEM(a));
	ck_assert_uint_eq(q.n, 3);
	ck_assert(q.r[0][0] == 5 && q.r[0][1] == 7);
	ck_assert(q.r[1][0] == 9 && q.r[1][1] == 9);
	ck_assert(q.r[2][0] == 20 && q.r[2][1] == 20);
	seqs_feed(&q, b, NELEM(b));
	ck_assert_uint_eq(q.n, 3);
	ck_assert(q.r[0][0] == 3 && q.r[0][1] == 9);
	ck_assert(q.r[1][0] == 19 && q.r[1][1] == 21);
	ck_assert(q.r[2][0] == 30 && q.r[2][1] == 30);
	/* Seqs next to a range extend it (twice: the same again). */
	seqs_feed(&q, c, NELEM(c));
	seqs_feed(&q, c, NELEM(c));
	ck_assert_uint_eq(q.n, 3);
	ck_assert(q.r[0][0] == 3 && q.r[0][1] == 10);
	ck_assert(q.r[1][0] == 18 && q.r[1][1] == 21);
	/* The gap between two filled: one range. */
	for (i = 11; i < 18; i++)
		seqs_feed(&q, &i, 1);
	ck_assert_uint_eq(q.n, 2);
	ck_assert(q.r[0][0] == 3 && q.r[0][1] == 21);
	ck_assert(!q.full);
	findings_seqs_free(&q);
	/* Past the cap the whole set is dropped. */
	for (i = 0; i <= FINDINGS_SEQS_MAX; i++) {
		long long v = 1 + 2 * i;

		seqs_feed(&q, &v, 1);
		if (i < FINDINGS_SEQS_MAX)
			ck_assert_uint_eq(q.n, (size_t)i + 1);
	}
	ck_assert(q.full);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_ptr_null(q.r);
	i = 2;
	seqs_feed(&q, &i, 1);
	ck_assert(q.full && q.n == 0);
	findings_seqs_free(&q);
}
END_TEST

Suite *
lifecycle_suite(void)
{
	Suite	*s = suite_create("lifecycle");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_lifecycle_table, 0, (int)NELEM(cases));
	tcase_add_test(tc, test_lifecycle_seen_unchanged);
	tcase_add_test(tc, test_lifecycle_refusal_discards_expiry);
	tcase_add_test(tc, test_lifecycle_misuse);
	tcase_add_test(tc, test_lifecycle_history_example);
	tcase_add_test(tc, test_lifecycle_remediation_chain);
	tcase_add_test(tc, test_finding_enums);
	tcase_add_test(tc, test_findings_seqs);
	suite_add_tcase(s, tc);
	return s;
}
