/* posture.c: GET /api/v1/risk-score and GET /api/v1/posture-summary
 * (read scope), computed from Vigil's findings.
 *
 * Only open findings count. The score is
 *
 *     score = round(100 * (1 - prod over open findings (1 - w(severity))))
 *
 * with w = critical 0.40, high 0.15, medium 0.04, low 0.01, info 0, in
 * integer fixed point; label 0-19 Low, 20-39 Medium, 40-69 High, 70-100
 * Critical. top_risks: the five open findings ordered by severity, then
 * oldest detected_at, then id. Everything here is a function of the
 * stored findings: the same data gives the same bytes (no clock is
 * read). The README's "Risk score and posture summary" section says the
 * same for users. src/domain/posture.c reads the findings and builds both
 * answers.
 */
#include "vigil.h"

#include "api.h"
#include "posture.h"
#include "reply.h"

static void
posture_risk_score(struct request *r, struct db *db)
{
	struct posture *p;
	int rc;

	/* No query parameters: a client's typo is a 400, not ignored. */
	if (reply_unknown_params(r, NULL) != 0)
		return;
	if ((rc = posture_load(db, r->auth.tenant_id, 0, &p)) != 0) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 200, posture_risk_to_json(p));
	posture_free(p);
}

static void
posture_summary_get(struct request *r, struct db *db)
{
	struct posture *p;
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	if ((rc = posture_load(db, r->auth.tenant_id, 1, &p)) != 0) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 200, posture_summary_to_json(p));
	posture_free(p);
}

const struct route posture_routes[] = {
	{ "GET", "/api/v1/risk-score", SCOPE_READ, 0, posture_risk_score },
	{ "GET", "/api/v1/posture-summary", SCOPE_READ, 0,
	    posture_summary_get },
};
const size_t posture_nroutes = NELEM(posture_routes);
