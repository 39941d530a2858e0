/* fuzz_import.c: libFuzzer target for the findings import (import.c,
 * "vigilctl findings import"). The input is read as the JSON document;
 * the database functions the import calls are stubs here that check what
 * they are given. Checks: a refused document (1) says why and wrote
 * nothing (everything is checked before anything is written); an
 * accepted one observed every entry, each with its required fields
 * within their bounds, a known severity, an object or no evidence and a
 * finding id ("provider-rule_id-xxxxxxxx") that is a slug of at most 127
 * characters, as the API accepts ids; reconciling names only providers
 * it observed. Built by "make fuzz". */
#include "vigil.h"

#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "finding.h"
#include "findings.h"
#include "fuzz.h"
#include "import.h"
#include "vjson.h"

static long	 observed, reconciled;
static char	 providers[8][33];
static size_t	 nproviders;

static void
text(const char *s, int required, size_t max)
{
	if (s == NULL) {
		FUZZ_CHECK(!required);
		return;
	}
	FUZZ_CHECK(strlen(s) <= max && vjson_utf8_valid(s, strlen(s)));
	if (required)
		FUZZ_CHECK(*s != '\0');
}

int
findings_observe(struct db *db, const char *tenant_id,
    const struct finding_obs *o, time_t now, char *id_out)
{
	char id[FINDING_ID_MAX + 64];
	size_t i;

	(void)db;
	(void)now;
	FUZZ_CHECK(reconciled == 0 && strcmp(tenant_id, "ten_fuzz") == 0);
	FUZZ_CHECK(o->integration_id == NULL);
	text(o->rule_id, 1, 100);
	text(o->provider, 1, 32);
	text(o->subscription_id, 0, 64);
	text(o->environment, 0, 32);
	text(o->resource_id, 1, 1024);
	text(o->title, 1, 255);
	text(o->category, 1, 32);
	text(o->layer, 0, 32);
	text(o->framework, 0, 255);
	text(o->description, 1, 8192);
	text(o->recommendation, 1, 8192);
	FUZZ_CHECK(o->subscription_id != NULL && o->environment != NULL &&
	    o->layer != NULL && o->framework != NULL);
	FUZZ_CHECK(finding_severity_str(o->severity) != NULL);
	FUZZ_CHECK(o->evidence == NULL ||
	    json_object_is_type(o->evidence, json_type_object));
	/* the id findings_make_id writes, with the longest form */
	snprintf(id, sizeof(id), "%s-%s-%08x", o->provider, o->rule_id, 0);
	FUZZ_CHECK(strlen(id) < FINDING_ID_MAX);
	for (i = 0; id[i] != '\0'; i++)
		FUZZ_CHECK((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '-' ||
		    id[i] == '_' || id[i] == '.');
	for (i = 0; i < nproviders; i++)
		if (strcmp(providers[i], o->provider) == 0)
			break;
	if (i == nproviders) {
		FUZZ_CHECK(nproviders < NELEM(providers));
		snprintf(providers[nproviders++], sizeof(providers[0]), "%s",
		    o->provider);
	}
	snprintf(id_out, FINDING_ID_MAX, "%s", id);
	observed++;
	return 0;
}

long
findings_reconcile_absent(struct db *db, const char *tenant_id,
    const char *integration_id, const char *provider, char *const *seen,
    size_t n, time_t now)
{
	size_t i;

	(void)db;
	(void)tenant_id;
	(void)now;
	FUZZ_CHECK(integration_id == NULL && (long)n == observed);
	for (i = 0; i < nproviders; i++)
		if (strcmp(providers[i], provider) == 0)
			break;
	FUZZ_CHECK(i < nproviders);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(seen[i] != NULL && seen[i][0] != '\0');
	reconciled++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_stats	 st;
	struct vjson_err	 e;
	json_object		*doc, *arr;
	char			 err[512];
	int			 rc, reconcile;
	size_t			 n;

	if (size < 1)
		return 0;
	reconcile = data[0] & 1;
	doc = vjson_parse((const char *)data + 1, size - 1,
	    64, size, &e);
	if (doc == NULL)
		return 0;
	observed = reconciled = 0;
	nproviders = 0;
	err[0] = '\0';
	rc = import_findings(NULL, "ten_fuzz", doc, reconcile, time(NULL),
	    &st, err, sizeof(err));
	if (rc == 1) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(observed == 0 && reconciled == 0);
		FUZZ_CHECK(st.observed == 0 && st.resolved == 0);
	} else {
		FUZZ_CHECK(rc == 0);
		arr = doc;
		if (json_object_is_type(doc, json_type_object))
			FUZZ_CHECK(json_object_object_get_ex(doc, "findings",
			    &arr));
		n = json_object_array_length(arr);
		FUZZ_CHECK(st.observed == (long)n && observed == (long)n);
		FUZZ_CHECK(reconciled == (reconcile ? (long)nproviders : 0));
		FUZZ_CHECK(st.resolved == 0);
	}
	json_object_put(doc);
	return 0;
}
