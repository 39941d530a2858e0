/* findfilter.c: the list filters of GET /findings from name=value pairs
 * (findfilter.h). */
#include "vigil.h"

#include <stdlib.h>
#include <string.h>

#include "finding.h"
#include "findfilter.h"
#include "vtime.h"

const char *const findfilter_names[] = { "severity", "category",
    "subscription_id", "environment", "state", "since", "resource_type",
    "resource_group", "region", "source", "tag", "overdue", "due_before",
    NULL };

static const char *const severities[] = { "critical", "high", "medium",
    "low", "info" };
static const char *const states[] = { "open", "accepted", "resolved",
    "snoozed", "dismissed", "muted" };

/* Split a comma list of enum names into vals (deduplicated, pointing at
 * names[]); -1 on an unknown or empty name. */
static int
parse_list(const char *s, const char *const *names, size_t nnames,
    const char **vals, size_t *nvals)
{
	const char *p = s;
	size_t i;

	*nvals = 0;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		int found = -1;

		for (i = 0; i < nnames; i++)
			if (strlen(names[i]) == len &&
			    strncmp(p, names[i], len) == 0)
				found = (int)i;
		if (found < 0)
			return -1;
		for (i = 0; i < *nvals; i++)
			if (vals[i] == names[found])
				break;
		if (i == *nvals)
			vals[(*nvals)++] = names[found];
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

/* A string filter: absent (NULL) or 1..max bytes. */
static int
str_filter(findfilter_get get, void *arg, const char *name, size_t max,
    const char **out)
{
	const char *v = get(arg, name);

	*out = v;
	return v != NULL && (*v == '\0' || strlen(v) > max) ? -1 : 0;
}

/* overdue=true|false and due_before=RFC 3339 (0034's due dates): a list
 * by due date, of open findings only. 0, or -1 with field and why. */
static int
due_filters(findfilter_get get, void *arg, struct findings_filter *f,
    time_t now, const char **field, const char **why)
{
	const char *ov = get(arg, "overdue"), *db = get(arg, "due_before"),
	    *st = get(arg, "state");
	time_t before = 0;

	if (ov != NULL && strcmp(ov, "true") != 0 && strcmp(ov, "false") != 0) {
		*field = "overdue";
		*why = "overdue must be true or false.";
		return -1;
	}
	if (db != NULL && vtime_parse_rfc3339(db, &before) != 0) {
		*field = "due_before";
		*why = "due_before must be an RFC 3339 timestamp.";
		return -1;
	}
	if (ov == NULL && db == NULL)
		return 0;
	/* Only an open finding has a due date: any other state would be
	 * a question with no answer but an empty page. */
	if (st != NULL && strcmp(st, "open") != 0) {
		*field = "state";
		*why = "overdue and due_before list open findings: leave state "
		    "out or set it to open.";
		return -1;
	}
	if (get(arg, "since") != NULL || get(arg, "resource_type") != NULL ||
	    get(arg, "resource_group") != NULL || get(arg, "region") != NULL ||
	    get(arg, "source") != NULL || get(arg, "tag") != NULL) {
		*field = ov != NULL ? "overdue" : "due_before";
		*why = "overdue and due_before combine with severity, category, "
		    "subscription_id and environment only.";
		return -1;
	}
	f->due = 1;
	f->due_to = before;
	if (ov != NULL && strcmp(ov, "true") == 0) {
		/* Due at or before now: the earlier of the two bounds. */
		if (f->due_to == 0 || now + 1 < f->due_to)
			f->due_to = now + 1;
	} else if (ov != NULL)
		f->due_from = now + 1;
	return 0;
}

int
findfilter_parse(findfilter_get get, void *arg, time_t now,
    struct findfilter *ff, const char **field, const char **why)
{
	static const struct { const char *name; size_t max; size_t off; }
	    strs[] = {
		{ "category", 32, offsetof(struct findings_filter, category) },
		{ "subscription_id", 64,
		    offsetof(struct findings_filter, subscription_id) },
		{ "environment", 32,
		    offsetof(struct findings_filter, environment) },
		{ "resource_type", FINDING_META_MAX,
		    offsetof(struct findings_filter, resource_type) },
		{ "resource_group", FINDING_META_MAX,
		    offsetof(struct findings_filter, resource_group) },
		{ "region", FINDING_REGION_MAX,
		    offsetof(struct findings_filter, region) },
		{ "source", FINDING_SOURCE_MAX,
		    offsetof(struct findings_filter, source) },
	};
	struct findings_filter *f = &ff->f;
	const char *s, *colon;
	size_t i;

	memset(ff, 0, sizeof(*ff));
	memcpy(f->severity, severities, sizeof(f->severity));
	f->nseverity = NELEM(severities);
	f->state[0] = "open";
	f->nstate = 1;
	f->before = 1LL << 62;
	f->limit = 500;
	if ((s = get(arg, "severity")) != NULL && parse_list(s, severities,
	    NELEM(severities), f->severity, &f->nseverity) != 0) {
		*field = "severity";
		*why = "severity must be one or a comma list of critical, "
		    "high, medium, low, info.";
		return -1;
	}
	if ((s = get(arg, "state")) != NULL) {
		if (strcmp(s, "all") == 0) {
			memcpy(f->state, states, sizeof(f->state));
			f->nstate = NELEM(states);
		} else if (parse_list(s, states, NELEM(states), f->state,
		    &f->nstate) != 0) {
			*field = "state";
			*why = "state must be all, or one or a comma list of "
			    "open, accepted, resolved, snoozed, dismissed, "
			    "muted.";
			return -1;
		}
	}
	for (i = 0; i < NELEM(strs); i++)
		if (str_filter(get, arg, strs[i].name, strs[i].max,
		    (const char **)(void *)((char *)f + strs[i].off)) != 0) {
			*field = strs[i].name;
			*why = "The filter must not be empty or longer than the "
			    "field.";
			return -1;
		}
	if ((s = get(arg, "since")) != NULL &&
	    vtime_parse_rfc3339(s, &f->since) != 0) {
		*field = "since";
		*why = "since must be an RFC 3339 timestamp.";
		return -1;
	}
	if (due_filters(get, arg, f, now, field, why) != 0)
		return -1;
	/* given, not nonzero: since=1970-01-01T00:00:00Z is 0 */
	if (get(arg, "since") != NULL && get(arg, "state") == NULL) {
		memcpy(f->state, states, sizeof(f->state));
		f->nstate = NELEM(states);
	}
	/* tag=key:value, split at the first ':'. A key or value longer
	 * than a stored one can hold matches nothing: 400 like the other
	 * filters. */
	if ((s = get(arg, "tag")) != NULL) {
		if ((colon = strchr(s, ':')) == NULL || colon == s ||
		    (ff->tag_key = strndup(s, (size_t)(colon - s))) == NULL ||
		    finding_utf8_chars(ff->tag_key) > FINDING_TAG_KEY_MAX ||
		    finding_utf8_chars(colon + 1) > FINDING_TAG_VALUE_MAX) {
			free(ff->tag_key);
			ff->tag_key = NULL;
			*field = "tag";
			*why = "tag must be key:value, a key of 1 to 256 "
			    "characters without ':' and a value of at most 256.";
			return -1;
		}
		f->tag_key = ff->tag_key;
		f->tag_value = colon + 1;
	}
	return 0;
}

void
findfilter_clear(struct findfilter *ff)
{
	free(ff->tag_key);
	ff->tag_key = NULL;
}
