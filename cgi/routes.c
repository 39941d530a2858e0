/* routes.c: every resource's routes in one table. */
#include "vigil.h"

#include <string.h>

#include "api.h"

#define ROUTES_MAX 256

static struct route table[ROUTES_MAX];
static size_t ntable;

static void
add(const struct route *r, size_t n)
{
	size_t i;

	for (i = 0; i < n && ntable < ROUTES_MAX; i++)
		table[ntable++] = r[i];
}

/* The route table, assembled on first use from each resource's list. */
const struct route *
routes_table(size_t *n)
{
	if (ntable == 0) {
		add(health_routes, health_nroutes);
		add(metrics_routes, metrics_nroutes);
		add(openapi_routes, openapi_nroutes);
		add(apikeys_routes, apikeys_nroutes);
		add(findings_routes, findings_nroutes);
		add(settings_routes, settings_nroutes);
		add(posture_routes, posture_nroutes);
		add(auditapi_routes, auditapi_nroutes);
		add(integrations_routes, integrations_nroutes);
		add(scans_routes, scans_nroutes);
		add(rules_routes, rules_nroutes);
		add(webhooks_routes, webhooks_nroutes);
		add(alerts_routes, alerts_nroutes);
		add(attachments_routes, attachments_nroutes);
		add(observables_routes, observables_nroutes);
		add(imports_routes, imports_nroutes);
		add(mutes_routes, mutes_nroutes);
		add(cases_routes, cases_nroutes);
		add(reports_routes, reports_nroutes);
		add(compliance_routes, compliance_nroutes);
		add(sla_routes, sla_nroutes);
		add(channels_routes, channels_nroutes);
	}
	*n = ntable;
	return table;
}
