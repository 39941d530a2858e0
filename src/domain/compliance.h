/* compliance.h: the bundled control catalogues (CIS Microsoft Azure
 * Foundations 2.0, NIST SP 800-53 rev. 5, PCI DSS 4.0, SOC 2 TSC) and a
 * tenant's status against each: which of the tenant's rules cover which
 * controls, and whether those rules' open findings leave a control
 * passing or failing (README, "Compliance frameworks").
 *
 * Declared here, beside the domain code that calls it (reports);
 * implemented in src/scan/compliance.c, since the mapping is the rules'
 * (the scan layer's rule pack and the tenant's custom rules). */
#ifndef VIGIL_COMPLIANCE_H
#define VIGIL_COMPLIANCE_H

#include <json-c/json.h>

struct db;
struct catalog;

/* The findings shown under each failing control, at most. */
#define COMPLIANCE_FINDINGS_SHOWN	10

/* The status of one framework for one tenant: 0 and *out = the same
 * JSON object GET /api/v1/compliance/frameworks/{id} answers (a new
 * object the caller puts); 1 unknown framework (*out NULL); -1 error
 * (*out NULL). */
int	 compliance_status(struct db *, const char *tenant_id,
	    const char *framework_id, struct json_object **out);

/* compliance_status with the error told apart: 0, 1 unknown framework,
 * or a DB_* code (< 0; DB_ERR also when the catalogue or the rule pack
 * cannot be read, logged). */
int	 compliance_framework_json(struct db *, const char *tenant_id,
	    const char *framework_id, struct json_object **out);
/* GET /api/v1/compliance/frameworks: every framework with its control
 * count and the tenant's pass / fail / not_assessed counts. 0 with *out
 * a new object, or a DB_* code. */
int	 compliance_frameworks_json(struct db *, const char *tenant_id,
	    struct json_object **out);

/* The process's catalogue, read from g_conf.frameworks_dir at the first
 * call and kept; it is also the one rules_use_catalog checks rules'
 * references against from then on. NULL if it cannot be read or parsed
 * (logged; the next call tries again). */
const struct catalog *compliance_catalog(void);

#endif
