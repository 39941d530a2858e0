/* findfilter.h: the filters of GET /findings (severity, state, category,
 * subscription_id, environment, since, resource_type, resource_group,
 * region, source, tag, overdue, due_before) read from any source of
 * name=value pairs: the
 * query string of the list and of GET /findings/export, or the "filters"
 * object a report stores, so that the three accept the same filters and
 * mean the same by them. Pure. */
#ifndef VIGIL_FINDFILTER_H
#define VIGIL_FINDFILTER_H

#include <stddef.h>
#include <time.h>

#include "findings.h"

/* The value of filter name, or NULL when it is absent. */
typedef const char *(*findfilter_get)(void *arg, const char *name);

/* The filter names, NULL-terminated (without limit and cursor). */
extern const char *const findfilter_names[];

/* A parsed filter: f's strings point into the source's values and into
 * tag_key, which findfilter_clear frees. */
struct findfilter {
	struct findings_filter	 f;
	char			*tag_key;
};

/* Fill ff from get (limit 500 and the first page; the caller may change
 * them): 0, or -1 with *field the filter at fault and *why a sentence
 * for the client. Without state, open; with since and without state,
 * every state (a client that polls wants what changed). overdue and
 * due_before make it a list by due date (f.due; overdue against now),
 * of open findings, with severity, category, subscription_id and
 * environment only. */
int	 findfilter_parse(findfilter_get get, void *arg, time_t now,
	    struct findfilter *ff, const char **field, const char **why);
void	 findfilter_clear(struct findfilter *);

#endif
