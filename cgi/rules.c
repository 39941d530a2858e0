/* rules.c: GET /api/v1/rules, the rules vigil-scan evaluates, read once
 * per worker from vigil.conf's rules_dir (a worker that could not read
 * them answers 500 and tries again on the next request). */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "conf.h"
#include "finding.h"
#include "log.h"
#include "page.h"
#include "reply.h"
#include "rules.h"

/* The worker's rules: loaded on first use, kept until exit. */
static struct ruleset loaded;
static int loaded_ok;

static int
rules_ready(void)
{
	char err[1024];

	if (loaded_ok)
		return 0;
	if (rules_load_dir(&loaded, g_conf.rules_dir, err, sizeof(err)) != 0) {
		log_err("rules: %s", err);
		return -1;
	}
	loaded_ok = 1;
	return 0;
}

/* GET /rules?severity=&category=&limit=&cursor= (the cursor is the last
 * rule id of the previous page, in the load order: by file name). */
static void
rules_list(struct request *r, struct db *db)
{
	static const char *const known[] = { "severity", "category", "limit",
	    "cursor", NULL };
	const char *sev = request_param(r, "severity");
	const char *cat = request_param(r, "category");
	const char *cursor = request_param(r, "cursor"), *last = NULL;
	enum finding_severity want = FINDING_SEV_UNSET;
	json_object *root, *arr;
	long limit, total = 0, shown = 0;
	size_t i, start = 0;
	int more = 0;

	(void)db;
	if (reply_unknown_params(r, known) != 0)
		return;
	if (sev != NULL && finding_severity_from_str(sev, &want) != 0) {
		reply_bad(r, "severity", "severity must be one of critical, high, "
		    "medium, low, info.");
		return;
	}
	if (params_limit(r, &limit) != 0)
		return;
	if (rules_ready() != 0) {
		response_error(r, 500, "internal_error",
		    "The rules could not be loaded.", NULL);
		return;
	}
	if (cursor != NULL) {
		for (i = 0; i < loaded.n; i++)
			if (strcmp(loaded.rules[i].id, cursor) == 0)
				break;
		if (i == loaded.n) {
			reply_bad(r, "cursor", "cursor is not valid.");
			return;
		}
		start = i + 1;
	}
	root = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < loaded.n; i++) {
		const struct rule *ru = &loaded.rules[i];

		if ((want != FINDING_SEV_UNSET && ru->severity != want) ||
		    (cat != NULL && strcmp(ru->category, cat) != 0))
			continue;
		total++;
		if (i < start)
			continue;
		if (shown == limit) {
			more = 1;
			continue;
		}
		json_object_array_add(arr, rules_to_json(ru));
		last = ru->id;
		shown++;
	}
	page_end(root, "rules", arr, total, more, last);
	response_json(r, 200, root);
}

const struct route rules_routes[] = {
	{ "GET", "/api/v1/rules", SCOPE_READ, 0, rules_list },
};
const size_t rules_nroutes = NELEM(rules_routes);
