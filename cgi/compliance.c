/* compliance.c: GET /api/v1/compliance/frameworks and
 * GET /api/v1/compliance/frameworks/{id} (read scope): the bundled
 * control catalogues and the tenant's pass / fail / not_assessed status
 * against each, computed by src/scan/compliance.c (README, "Compliance
 * frameworks"). */
#include "vigil.h"

#include "api.h"
#include "compliance.h"
#include "reply.h"

static void
compliance_list_h(struct request *r, struct db *db)
{
	json_object *out;
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	if ((rc = compliance_frameworks_json(db, r->auth.tenant_id,
	    &out)) != 0) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 200, out);
}

static void
compliance_get_h(struct request *r, struct db *db)
{
	json_object *out;
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	rc = compliance_framework_json(db, r->auth.tenant_id, r->pathvars[0],
	    &out);
	if (rc == 1) {
		response_error(r, 404, "not_found", "No such framework.",
		    "id");
		return;
	}
	if (rc != 0) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 200, out);
}

const struct route compliance_routes[] = {
	{ "GET", "/api/v1/compliance/frameworks", SCOPE_READ, 0,
	    compliance_list_h },
	{ "GET", "/api/v1/compliance/frameworks/{id}", SCOPE_READ, 0,
	    compliance_get_h },
};
const size_t compliance_nroutes = NELEM(compliance_routes);
