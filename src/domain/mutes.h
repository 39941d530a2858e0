/* mutes.h: mute rules (README, Mute rules). A live rule (not expired)
 * that matches an open finding makes it muted; the scanner and the
 * importers ask mutes_match for each observation, and creation,
 * deletion and expiry pass over the tenant's open and muted findings. */
#ifndef VIGIL_MUTES_H
#define VIGIL_MUTES_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "findings.h"

struct db;
struct vjson_err;

#define MUTES_MAX_PER_TENANT	500
#define MUTES_RULE_MAX		128	/* rule_id pattern */
#define MUTES_SOURCE_MAX	64
#define MUTES_RESOURCE_MAX	1024	/* resource_id pattern */
#define MUTES_GROUP_MAX		128
#define MUTES_SUB_MAX		64
#define MUTES_ENV_MAX		32
#define MUTES_TAG_MAX		385	/* "key:value" */
#define MUTES_TEXT_MAX		4096	/* justification */
/* What a request that creates or deletes a rule does of its pass over the
 * existing findings: at most this many findings walked, and this many
 * muted or given back (each its own transaction); the rest is left to
 * vigil-scan --due (mutes_passes_due), under a lease of MUTES_PASS_LEASE
 * seconds renewed every page. */
#define MUTES_INLINE_ROWS	2048
#define MUTES_INLINE_CHANGES	256
#define MUTES_PASS_LEASE	120

/* One rule. Criteria are NULL when not given (they then match anything);
 * strings are owned by the rule when it came from the database, borrowed
 * from the request's JSON when mutes_parse filled it. */
struct mute_rule {
	char		*id;
	char		*rule_pattern;
	char		*source;
	char		*resource_pattern;
	char		*resource_group;
	char		*subscription_id;
	char		*environment;
	char		*tag_key;
	char		*tag_value;
	char		*justification;
	char		*created_by;
	time_t		 expires_at;	/* 0: never */
	time_t		 created_at;
	int		 lapsed;
};

/* What a rule is matched against: one finding or observation. A rule's
 * source holds when every import source that lists the finding is that
 * source (sources, and importing: the import at hand, which lists it
 * too); when none lists it, when source (the scan's integration) is. */
struct mute_subject {
	const char	*rule_id;
	const char	*source;	/* its source, or NULL */
	const char *const *sources;	/* its rows of finding_sources */
	size_t		 nsources;
	const char	*importing;	/* the import at hand's, or NULL */
	const char	*provider;
	const char	*resource_id;
	const char	*resource_group; /* "" or NULL: from resource_id */
	const char	*subscription_id;
	const char	*environment;
	const char	*tags;		/* JSON object text, or NULL */
};

/* A tenant's live rules, oldest first. */
struct mute_set {
	struct mute_rule *rules;
	size_t		  n;
};

/* -- pure ---------------------------------------------------------------- */

/* Glob match, '*' any run (also empty), '?' one byte; ASCII letters
 * compare without case (ARM ids are case-insensitive). Linear in
 * practice: backtracks only to the last '*'. 1 or 0. */
int	 mutes_glob(const char *pattern, const char *s);
/* The automaton mutes_glob turns to when backtracking takes too long,
 * alone (for the tests): 1, 0, or -1 out of memory. */
int	 mutes_glob_nfa(const char *pattern, const char *s);
/* The resource group named in an ARM id ("/subscriptions/S/resourceGroups/
 * G/..."), copied into out; 0, or -1 when the id names none. */
int	 mutes_resource_group(const char *resource_id, char *out,
	    size_t outsz);
/* 1 if every criterion r names holds for s. */
int	 mutes_rule_matches(const struct mute_rule *r,
	    const struct mute_subject *s);
/* The id of the first rule of set (oldest first) matching s, or NULL. */
const char *mutes_match(const struct mute_set *set,
	    const struct mute_subject *s);
/* 1 if a rule of set names a source: only then does a match need the
 * finding's sources (mutes_sources_load). */
int	 mutes_need_sources(const struct mute_set *set);
/* The subject of an observation (scanner, vigil JSON import, imports). */
void	 mutes_subject_from_obs(const struct finding_obs *obs,
	    struct mute_subject *s);
/* The live rule that mutes this observation, or NULL, for a finding no
 * import source lists (or a set that names no source). findings_observe
 * and findings_observe_batch match themselves, with the set they load in
 * their transaction and, when it names a source, the finding's sources. */
const char *mutes_match_obs(const struct mute_set *set,
	    const struct finding_obs *obs);
/* Validate a POST body into *out (strings borrowed from body). 0, or -1
 * with err naming the field. now: expires_at must be after it. */
int	 mutes_parse(json_object *body, time_t now, struct mute_rule *out,
	    char *tag_buf, size_t tag_bufsz, struct vjson_err *err);
json_object *mutes_to_json(const struct mute_rule *);

/* -- the database ---------------------------------------------------------- */

void	 mutes_rule_free(struct mute_rule *);	/* the strings, not r */
void	 mutes_set_free(struct mute_set *);
/* The tenant's live rules at now. 0 or a DB_* code. */
int	 mutes_load_live(struct db *, const char *tenant_id, time_t now,
	    struct mute_set *out);

/* The import sources that list some findings (finding_sources), read in
 * one statement, for their subjects. */
struct mute_sources {
	struct db_res	 *res;
	const char	**names;	/* res's sources, by finding id */
	const char	**ids;		/* their findings' ids, sorted */
	size_t		  n;
};

/* The sources of ids[0..n) (n at most DB_MANY) into *out (free with
 * mutes_sources_free). 0 or a DB_* code. */
int	 mutes_sources_load(struct db *, const char *tenant_id,
	    const char *const *ids, size_t n, struct mute_sources *out);
/* Point s's sources at those of finding id in ms (none: nsources 0);
 * they live as long as ms. */
void	 mutes_sources_of(const struct mute_sources *ms, const char *id,
	    struct mute_subject *s);
void	 mutes_sources_free(struct mute_sources *);

enum mutes_outcome {
	MUTES_OK = 0,
	MUTES_NOT_FOUND,
	MUTES_TOO_MANY,		/* MUTES_MAX_PER_TENANT live rules */
	MUTES_ERROR,		/* rc holds the DB_* code */
};

/* How a rule's pass over the existing findings stands: pending until it
 * walked every open and muted finding; muted and unmuted so far. */
struct mutes_pass {
	int	 pending;
	long	 muted;
	long	 unmuted;
};

/* Store rule (as parsed) with its audit entry mute_rule.create and its
 * pass (one transaction), then mute the tenant's open findings it
 * matches, each finding its own transaction, as far as
 * MUTES_INLINE_ROWS / MUTES_INLINE_CHANGES allow: *ps says how far.
 * *out: the stored rule (free with mutes_rule_free and free). */
enum mutes_outcome mutes_create(struct db *, const char *tenant_id,
	    const struct mute_rule *rule, const char *actor, time_t now,
	    struct mute_rule **out, struct mutes_pass *ps, int *rc);
/* 1 found (*out set), 0 not found, or a DB_* code. */
int	 mutes_get(struct db *, const char *tenant_id, const char *id,
	    struct mute_rule **out);
/* A page of rules, by id; after "" for the first. */
int	 mutes_list(struct db *, const char *tenant_id, const char *after,
	    long limit, struct mute_rule ***out, size_t *n, long long *total,
	    int *has_more);
/* Delete (audit mute_rule.delete, and its pass, one transaction), then
 * give back the findings no live rule matches any more (unmuted {reason:
 * deleted}), as far as the inline bounds allow: *ps says how far. */
enum mutes_outcome mutes_delete(struct db *, const char *tenant_id,
	    const char *id, const char *actor, time_t now,
	    struct mutes_pass *ps, int *rc);
/* The pass of rule id's creation: 1 with *ps, 0 none (a rule stored
 * before passes were kept: its pass ran in its request), or a DB_*. */
int	 mutes_pass_get(struct db *, const char *tenant_id, const char *id,
	    struct mutes_pass *ps);
/* vigil-scan --due: every pending pass whose lease is free (its request
 * stopped at a bound, or its worker died), walked to the end. How many
 * were finished, or a DB_* code. */
long	 mutes_passes_due(struct db *, time_t now);
/* Pass over the tenant's open and muted findings, newest first, a page of
 * FINDINGS_BATCH at a time: mute the open ones a live rule matches,
 * unmute the muted ones none does (reason, e.g. "deleted"). The number
 * muted and unmuted, or a DB_* code. */
long	 mutes_reapply(struct db *, const char *tenant_id, time_t now,
	    const char *gone_rule, const char *reason, long *muted,
	    long *unmuted);
/* The cron job (vigilctl findings expire): rules whose expires_at has
 * passed give their findings back (unmuted {reason: expired}), at most
 * 100 rules a run. The number of findings unmuted, or a DB_* code. */
long	 mutes_expire_due(struct db *, time_t now);

#endif
