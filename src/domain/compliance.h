/* compliance.h: the bundled control catalogues (CIS Microsoft Azure
 * Foundations 2.0, NIST SP 800-53 rev. 5, PCI DSS 4.0, SOC 2 TSC) and a
 * tenant's status against each: which rules cover which controls, and
 * whether those rules' findings leave a control passing or failing. */
#ifndef VIGIL_COMPLIANCE_H
#define VIGIL_COMPLIANCE_H

#include <json-c/json.h>

struct db;

/* The status of one framework for one tenant: 0 and *out = the same
 * JSON object GET /api/v1/compliance/frameworks/{id} answers (a new
 * object the caller puts); 1 unknown framework (*out NULL); -1 error
 * (*out NULL). */
int	 compliance_status(struct db *, const char *tenant_id,
	    const char *framework_id, struct json_object **out);

#endif
