/* import.c: findings from JSON, through findings_observe and
 * findings_reconcile_absent, so that imported findings behave exactly as
 * scanned ones. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "findings.h"
#include "import.h"
#include "vjson.h"

#define IMPORT_MAX 100000

static int
slug(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* Read entry o into obs; 0, or -1 with err naming the field. */
static int
entry(json_object *o, size_t i, struct finding_obs *obs, char **tags_out,
    char *err, size_t errsz)
{
	static const char *const allowed[] = { "rule_id", "provider",
	    "subscription_id", "environment", "resource_id", "title",
	    "severity", "category", "layer", "framework", "description",
	    "recommendation", "evidence", "resource_name", "resource_type",
	    "resource_group", "region", "location", "account", "tags", NULL };
	const char *location = NULL;
	struct {
		const char	 *name;
		const char	**dst;
		int		  required;
		size_t		  max;
		int		  multiline;	/* newline and tab allowed */
	} f[] = {
		{ "rule_id", &obs->rule_id, 1, 100, 0 },
		{ "provider", &obs->provider, 1, 32, 0 },
		{ "subscription_id", &obs->subscription_id, 0, 64, 0 },
		{ "environment", &obs->environment, 0, 32, 0 },
		{ "resource_id", &obs->resource_id, 1, 1024, 0 },
		{ "title", &obs->title, 1, 255, 0 },
		{ "category", &obs->category, 1, 32, 0 },
		{ "layer", &obs->layer, 0, 32, 0 },
		{ "framework", &obs->framework, 0, 255, 0 },
		{ "description", &obs->description, 1, 8192, 1 },
		{ "recommendation", &obs->recommendation, 1, 8192, 1 },
		{ "resource_name", &obs->resource_name, 0, FINDING_META_MAX,
		    0 },
		{ "resource_type", &obs->resource_type, 0, FINDING_META_MAX,
		    0 },
		{ "resource_group", &obs->resource_group, 0, FINDING_META_MAX,
		    0 },
		{ "region", &obs->region, 0, FINDING_REGION_MAX, 0 },
		{ "location", &location, 0, FINDING_REGION_MAX, 0 },
		{ "account", &obs->account, 0, FINDING_META_MAX, 0 },
	};
	json_object *tags = NULL;
	char terr[160];
	struct vjson_err e;
	const char *sev = NULL;
	size_t k;

	*tags_out = NULL;
	memset(obs, 0, sizeof(*obs));
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errsz, "findings[%zu]: must be an object", i);
		return -1;
	}
	if (vjson_only_keys(o, allowed, &e) != 0)
		goto bad;
	for (k = 0; k < NELEM(f); k++)
		if ((f[k].multiline ? vjson_get_text : vjson_get_string)(o,
		    f[k].name, f[k].required, 1, f[k].max, f[k].dst, &e) < 0)
			goto bad;
	if (vjson_get_string(o, "severity", 1, 1, 16, &sev, &e) < 0)
		goto bad;
	if (finding_severity_from_str(sev, &obs->severity) != 0) {
		snprintf(err, errsz, "findings[%zu].severity: must be "
		    "critical, high, medium, low or info", i);
		return -1;
	}
	if (json_object_object_get_ex(o, "evidence", &obs->evidence) &&
	    !json_object_is_type(obs->evidence, json_type_object)) {
		snprintf(err, errsz, "findings[%zu].evidence: must be an "
		    "object", i);
		return -1;
	}
	/* They make up the finding id, which the API only accepts as a
	 * slug of at most 127 characters. */
	if (!slug(obs->provider) || !slug(obs->rule_id) ||
	    strlen(obs->provider) + strlen(obs->rule_id) + 10 >=
	    FINDING_ID_MAX) {
		snprintf(err, errsz, "findings[%zu].rule_id: provider and "
		    "rule_id must be lowercase letters, digits, '-', '_' or "
		    "'.', together at most %d characters", i,
		    FINDING_ID_MAX - 11);
		return -1;
	}
	/* region is Vigil's name, location Azure's: either, not both. */
	if (location != NULL) {
		if (obs->region != NULL) {
			snprintf(err, errsz, "findings[%zu].location: give "
			    "region or location, not both", i);
			return -1;
		}
		obs->region = location;
	}
	json_object_object_get_ex(o, "tags", &tags);
	if (finding_tags_canonical(tags, 1, tags_out, terr,
	    sizeof(terr)) != 0) {
		snprintf(err, errsz, "findings[%zu].tags: %s", i, terr);
		return -1;
	}
	obs->tags = *tags_out;
	/* The account of an Azure finding is its subscription. */
	if (obs->account == NULL)
		obs->account = obs->subscription_id;
	obs->source = "import";
	if (obs->subscription_id == NULL)
		obs->subscription_id = "";
	if (obs->environment == NULL)
		obs->environment = "";
	if (obs->layer == NULL)
		obs->layer = "";
	if (obs->framework == NULL)
		obs->framework = "";
	return 0;
bad:
	snprintf(err, errsz, "findings[%zu].%s: %s", i, e.field, e.message);
	return -1;
}

int
import_findings(struct db *db, const char *tenant_id, json_object *doc,
    int reconcile, time_t now, struct import_stats *st, char *err,
    size_t errsz)
{
	struct finding_obs *obs = NULL;
	json_object *arr = doc;
	char **ids = NULL, **tags = NULL, providers[8][33];
	size_t n, i, j, nprov = 0;
	int rc = 1;
	long r;

	memset(st, 0, sizeof(*st));
	if (json_object_is_type(doc, json_type_object) &&
	    !json_object_object_get_ex(doc, "findings", &arr))
		arr = NULL;
	if (arr == NULL || !json_object_is_type(arr, json_type_array)) {
		snprintf(err, errsz, "expected {\"findings\":[…]} or an array");
		return 1;
	}
	n = json_object_array_length(arr);
	if (n > IMPORT_MAX) {
		snprintf(err, errsz, "at most %d findings per import",
		    IMPORT_MAX);
		return 1;
	}
	obs = calloc(n ? n : 1, sizeof(*obs));
	ids = calloc(n ? n : 1, sizeof(*ids));
	tags = calloc(n ? n : 1, sizeof(*tags));
	if (obs == NULL || ids == NULL || tags == NULL) {
		snprintf(err, errsz, "out of memory");
		rc = DB_ERR;
		goto out;
	}
	/* Everything is checked before anything is written. */
	for (i = 0; i < n; i++) {
		if (entry(json_object_array_get_idx(arr, i), i, &obs[i],
		    &tags[i], err, errsz) != 0)
			goto out;
		for (j = 0; j < nprov; j++)
			if (strcmp(providers[j], obs[i].provider) == 0)
				break;
		if (j == nprov) {
			if (nprov == NELEM(providers)) {
				snprintf(err, errsz, "too many providers");
				goto out;
			}
			snprintf(providers[nprov++], sizeof(providers[0]),
			    "%s", obs[i].provider);
		}
	}
	for (i = 0; i < n; i++) {
		if ((ids[i] = malloc(FINDING_ID_MAX)) == NULL) {
			snprintf(err, errsz, "out of memory");
			rc = DB_ERR;
			goto out;
		}
		if ((rc = findings_observe(db, tenant_id, &obs[i], now,
		    ids[i])) != 0) {
			rc = rc > 0 ? DB_ERR : rc;
			snprintf(err, errsz, "findings[%zu]: database error",
			    i);
			goto out;
		}
		st->observed++;
	}
	if (reconcile)
		for (j = 0; j < nprov; j++) {
			r = findings_reconcile_absent(db, tenant_id, NULL,
			    providers[j], ids, n, now);
			if (r < 0) {
				rc = (int)r;
				snprintf(err, errsz, "reconcile: database "
				    "error");
				goto out;
			}
			st->resolved += r;
		}
	rc = 0;
out:
	for (i = 0; ids != NULL && i < n; i++)
		free(ids[i]);
	for (i = 0; tags != NULL && i < n; i++)
		free(tags[i]);
	free(ids);
	free(tags);
	free(obs);
	return rc;
}
