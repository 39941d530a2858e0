/* finding.c: API names of the finding enums. */
#include "vigil.h"

#include <string.h>

#include "finding.h"

/* Indexed by the enum value; NULL marks a value with no API name. */
static const char *const severity_names[] = {
	NULL, "critical", "high", "medium", "low", "info",
};
static const char *const state_names[] = {
	"open", "accepted", "resolved", "snoozed", "dismissed", "muted",
};
static const char *const remediation_names[] = {
	"none", "requested", "approved", "remediated", "failed",
};
static const char *const resolver_names[] = {
	NULL, "user", "scanner",
};

static const char *
name_of(const char *const *names, size_t n, int v)
{
	if (v < 0 || (size_t)v >= n)
		return NULL;
	return names[v];
}

/* Index of s in names[0..n), or -1. */
static int
index_of(const char *const *names, size_t n, const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *
finding_severity_str(enum finding_severity v)
{
	return name_of(severity_names, NELEM(severity_names), (int)v);
}

int
finding_severity_from_str(const char *s, enum finding_severity *out)
{
	int i = index_of(severity_names, NELEM(severity_names), s);

	if (i < 0)
		return -1;
	*out = (enum finding_severity)i;
	return 0;
}

const char *
finding_state_str(enum finding_state v)
{
	return name_of(state_names, NELEM(state_names), (int)v);
}

int
finding_state_from_str(const char *s, enum finding_state *out)
{
	int i = index_of(state_names, NELEM(state_names), s);

	if (i < 0)
		return -1;
	*out = (enum finding_state)i;
	return 0;
}

const char *
finding_remediation_str(enum finding_remediation v)
{
	return name_of(remediation_names, NELEM(remediation_names), (int)v);
}

int
finding_remediation_from_str(const char *s, enum finding_remediation *out)
{
	int i = index_of(remediation_names, NELEM(remediation_names), s);

	if (i < 0)
		return -1;
	*out = (enum finding_remediation)i;
	return 0;
}

const char *
finding_resolver_str(enum finding_resolver v)
{
	return name_of(resolver_names, NELEM(resolver_names), (int)v);
}

int
finding_resolver_from_str(const char *s, enum finding_resolver *out)
{
	int i = index_of(resolver_names, NELEM(resolver_names), s);

	if (i < 0)
		return -1;
	*out = (enum finding_resolver)i;
	return 0;
}

int
finding_id_valid(const char *id)
{
	size_t i, n = strlen(id);

	if (n < 1 || n >= FINDING_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '-' ||
		    id[i] == '_' || id[i] == '.'))
			return 0;
	return 1;
}
