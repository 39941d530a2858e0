/* finding.h: the finding record as the lifecycle sees it, and its enums. */
#ifndef VIGIL_FINDING_H
#define VIGIL_FINDING_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#define FINDING_ID_MAX		128	/* deterministic slug, with NUL */
#define FINDING_FINGERPRINT_LEN	65	/* SHA-256 hex, with NUL */

/* Severities, most severe first. 0 is "not given" so that a zeroed
 * struct or observation never silently means "critical". */
enum finding_severity {
	FINDING_SEV_UNSET = 0,
	FINDING_SEV_CRITICAL,
	FINDING_SEV_HIGH,
	FINDING_SEV_MEDIUM,
	FINDING_SEV_LOW,
	FINDING_SEV_INFO,
};

/*
 * Where a finding stands. "expired" is not a state: an acceptance or a
 * snooze that runs out puts the finding back to open and leaves an
 * "expired" / "snooze_expired" history entry. Remediation is orthogonal
 * and kept in its own field (enum finding_remediation).
 */
enum finding_state {
	FINDING_OPEN = 0,
	FINDING_ACCEPTED,
	FINDING_RESOLVED,
	FINDING_SNOOZED,
	FINDING_DISMISSED,
};

/* requested -> (approved) -> applied by a scan -> remediated | failed. */
enum finding_remediation {
	FINDING_REM_NONE = 0,
	FINDING_REM_REQUESTED,	/* waiting for approval */
	FINDING_REM_APPROVED,	/* queued for the next scan */
	FINDING_REM_REMEDIATED,
	FINDING_REM_FAILED,
};

/* Who resolved a resolved finding. */
enum finding_resolver {
	FINDING_BY_NONE = 0,
	FINDING_BY_USER,
	FINDING_BY_SCANNER,
};

/*
 * The lifecycle fields of a finding; descriptive columns (title,
 * resource_id, ...) live elsewhere. Times are Unix seconds, 0 = unset.
 * Holds no pointers: copy it by assignment, nothing to free.
 */
struct finding {
	char			 id[FINDING_ID_MAX];
	enum finding_severity	 severity;
	enum finding_state	 state;
	enum finding_remediation remediation;
	enum finding_resolver	 resolved_by;	/* when state is resolved */
	/*
	 * Set when the state was last decided by a person or the clock
	 * rather than by a scan (user resolve, remediation applied,
	 * acceptance or snooze expiry): the next scan then records its
	 * verdict ("redetected", "reopened" or "resolution_confirmed").
	 */
	int			 awaiting_scan;
	char			 fingerprint[FINDING_FINGERPRINT_LEN];
	time_t			 detected_at;
	time_t			 updated_at;	/* last change of anything below */
	time_t			 last_seen_at;	/* last scan that saw it */
	time_t			 resolved_at;
	time_t			 accepted_until; /* 0: accepted without expiry */
	time_t			 snoozed_until;
};

/* Enum <-> API string. The _str functions return a static string, or
 * NULL for a value outside the enum. The _from_str functions return 0
 * and store the value, or -1 for NULL or an unknown string (exact,
 * case-sensitive match; "unset" is not accepted for severity). */
const char *finding_severity_str(enum finding_severity);
int	 finding_severity_from_str(const char *, enum finding_severity *);
const char *finding_state_str(enum finding_state);
int	 finding_state_from_str(const char *, enum finding_state *);
const char *finding_remediation_str(enum finding_remediation);
int	 finding_remediation_from_str(const char *, enum finding_remediation *);
const char *finding_resolver_str(enum finding_resolver);
int	 finding_resolver_from_str(const char *, enum finding_resolver *);

/*
 * Resource metadata (issue 13): the limits of the columns of 0026, in
 * characters. Tags are an object of string to string, kept canonical
 * (keys sorted bytewise, one line) so that equal tags are equal text and
 * a rescan compares them with strcmp.
 */
#define FINDING_META_MAX	255	/* resource_name, _type, _group, account */
#define FINDING_REGION_MAX	64
#define FINDING_SOURCE_MAX	64
#define FINDING_TAGS_MAX	64	/* tags per finding (Azure allows 50) */
#define FINDING_TAG_KEY_MAX	256	/* finding_tags' key fits InnoDB's */
#define FINDING_TAG_VALUE_MAX	256

/*
 * tags (NULL, or a JSON object whose values are strings) as canonical
 * JSON text in *out (malloc'd; "{}" for NULL or an empty object). With
 * strict (an import), a value that is not a string, an empty key, a key
 * or value over its limit or not UTF-8 or holding a control character,
 * or more than FINDING_TAGS_MAX tags, is -1 with err naming the tag;
 * without (the scanner's ARM tags, which Vigil does not control) such a
 * tag is left out, and past FINDING_TAGS_MAX the first keys in sorted
 * order are kept. Returns 0, or -1 (err set; *out NULL). Pure.
 */
int	 finding_tags_canonical(json_object *tags, int strict, char **out,
	    char *err, size_t errsz);

/* The number of UTF-8 characters in s (bytes that do not continue a
 * sequence). Pure. */
size_t	 finding_utf8_chars(const char *s);

/* 1 if id can name a finding: 1 to FINDING_ID_MAX - 1 of a-z, 0-9, '-',
 * '_' and '.' (what findings_make_id writes); 0 otherwise. */
int	 finding_id_valid(const char *id);

#endif
