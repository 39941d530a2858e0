/* health.c: GET /healthz, for load balancers and monitoring. */
#include "vigil.h"

#include "api.h"
#include "db.h"

static void
health_get(struct request *r, struct db *db)
{
	json_object *o = json_object_new_object();
	int ok = db_ping(db) == 0;

	json_object_object_add(o, "status",
	    json_object_new_string(ok ? "ok" : "degraded"));
	json_object_object_add(o, "db",
	    json_object_new_string(ok ? "ok" : "unreachable"));
	json_object_object_add(o, "version",
	    json_object_new_string(VIGIL_VERSION));
	response_json(r, ok ? 200 : 503, o);
}

const struct route health_routes[] = {
	{ "GET", "/healthz", SCOPE_NONE, 0, health_get },
};
const size_t health_nroutes = NELEM(health_routes);
