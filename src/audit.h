/* audit.h: the per-tenant audit log, each entry hashed onto the last. */
#ifndef VIGIL_AUDIT_H
#define VIGIL_AUDIT_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

struct db;

#define AUDIT_GENESIS \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* The entry hash: lowercase hex SHA-256 over the JSON array
 * [prev_hash, seq, at, actor, action, object, detail]. Pure. */
void	 audit_hash(const char *prev_hash, long long seq, const char *at,
	    const char *actor, const char *action, const char *object,
	    const char *detail, char out[65]);
/* Append an entry inside the caller's open transaction (locks the
 * tenant's chain head). detail is borrowed (may be NULL). 0 or a DB_*
 * error code. */
int	 audit_append(struct db *, const char *tenant_id, const char *actor,
	    const char *action, const char *object, json_object *detail);

#endif
