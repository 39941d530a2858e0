/* finding.c: API names of the finding enums, and the canonical form of
 * a finding's tags. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finding.h"
#include "text.h"
#include "vjson.h"

/* Indexed by the enum value; NULL marks a value with no API name. */
static const char *const severity_names[] = {
	NULL, "critical", "high", "medium", "low", "info",
};
static const char *const state_names[] = {
	"open", "accepted", "resolved", "snoozed", "dismissed",
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

size_t
finding_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* 1 if s is fit to be a tag's key (key set) or value. */
static int
tag_ok(const char *s, size_t len, int key)
{
	if (key && len == 0)
		return 0;
	if (!vjson_utf8_valid(s, len) || text_control(s, len, 0) != len)
		return 0;
	return finding_utf8_chars(s) <= (key ? FINDING_TAG_KEY_MAX :
	    FINDING_TAG_VALUE_MAX);
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
finding_tags_canonical(json_object *tags, int strict, char **out, char *err,
    size_t errsz)
{
	const char **keys = NULL;
	json_object *sorted = NULL, *v;
	size_t n = 0, i, kept = 0;
	int rc = -1;

	*out = NULL;
	if (tags != NULL && !json_object_is_type(tags, json_type_object)) {
		if (strict) {
			snprintf(err, errsz, "must be an object of strings");
			return -1;
		}
		tags = NULL;
	}
	if (tags != NULL && (n = (size_t)json_object_object_length(tags)) > 0) {
		if (strict && n > FINDING_TAGS_MAX) {
			snprintf(err, errsz, "at most %d tags", FINDING_TAGS_MAX);
			return -1;
		}
		if ((keys = calloc(n, sizeof(*keys))) == NULL)
			goto oom;
		i = 0;
		json_object_object_foreach(tags, k, val) {
			const char *s;

			if (i == n)
				break;
			s = json_object_is_type(val, json_type_string) ?
			    json_object_get_string(val) : NULL;
			if (s == NULL || !tag_ok(k, strlen(k), 1) ||
			    !tag_ok(s, (size_t)json_object_get_string_len(val),
			    0)) {
				if (strict) {
					snprintf(err, errsz, "tag \"%.64s\": a "
					    "key of 1 to %d characters and a "
					    "string value of at most %d, without "
					    "control characters", k,
					    FINDING_TAG_KEY_MAX,
					    FINDING_TAG_VALUE_MAX);
					goto out;
				}
				continue;
			}
			keys[i++] = k;
		}
		n = i;
		qsort(keys, n, sizeof(*keys), cmp_key);
	}
	if ((sorted = json_object_new_object()) == NULL)
		goto oom;
	for (i = 0; i < n && kept < FINDING_TAGS_MAX; i++, kept++) {
		json_object_object_get_ex(tags, keys[i], &v);
		if (json_object_object_add(sorted, keys[i],
		    json_object_get(v)) != 0)
			goto oom;
	}
	if ((*out = strdup(json_object_to_json_string_ext(sorted,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))) == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	snprintf(err, errsz, "out of memory");
out:
	json_object_put(sorted);
	free(keys);
	return rc;
}
