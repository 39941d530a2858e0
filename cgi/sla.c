/* sla.c: GET /api/v1/sla (read), PUT /api/v1/sla (admin, partial update)
 * of the tenant's SLA policy, and GET /api/v1/sla/events (read), the
 * warnings and breaches vigil-scan --due announced (src/domain/sla.c). */
#include "vigil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "page.h"
#include "reply.h"
#include "sla.h"

static void
sla_get_h(struct request *r, struct db *db)
{
	struct sla_policy p;
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	if ((rc = sla_get(db, r->auth.tenant_id, &p)) != 0) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 200, sla_to_json(&p));
}

/* The body applies to the policy as stored, so that a PUT of one field
 * leaves the others as they are. The read and the write are two
 * transactions: two admins changing different fields at once may lose one
 * change, as with any read-modify-write of a settings page. */
static void
sla_put_h(struct request *r, struct db *db)
{
	struct sla_policy p;
	char field[128], msg[256], actor[128];
	int rc;

	if (reply_unknown_params(r, NULL) != 0)
		return;
	if ((rc = sla_get(db, r->auth.tenant_id, &p)) != 0) {
		api_db_error(r, rc);
		return;
	}
	if (sla_apply(&p, r->json, field, sizeof(field), msg,
	    sizeof(msg)) != 0) {
		reply_bad(r, field, msg);
		return;
	}
	auth_actor(r, actor, sizeof(actor));
	if ((rc = sla_put(db, r->auth.tenant_id, &p, actor,
	    time(NULL))) != 0) {
		api_db_error(r, rc);
		return;
	}
	response_json(r, 200, sla_to_json(&p));
}

static void
sla_events_h(struct request *r, struct db *db)
{
	json_object *root, *events;
	char cursor[PAGE_SEQ_CURSOR_LEN] = "";
	long long before, total, last;
	long limit;
	int more, rc;

	if (params_list(r, &limit) != 0 ||
	    params_seq_cursor(r, &before) != 0)
		return;
	if ((rc = sla_events_list(db, r->auth.tenant_id, before, limit,
	    &events, &total, &more, &last)) != 0) {
		api_db_error(r, rc);
		return;
	}
	if (more)
		page_seq_cursor(last, cursor, sizeof(cursor));
	root = json_object_new_object();
	page_end(root, "events", events, total, more, cursor);
	response_json(r, 200, root);
}

const struct route sla_routes[] = {
	{ "GET", "/api/v1/sla", SCOPE_READ, 0, sla_get_h },
	{ "PUT", "/api/v1/sla", SCOPE_ADMIN, ROUTE_JSON_BODY, sla_put_h },
	{ "GET", "/api/v1/sla/events", SCOPE_READ, 0, sla_events_h },
};
const size_t sla_nroutes = NELEM(sla_routes);
