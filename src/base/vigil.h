/* vigil.h: definitions shared by every part of Vigil. */
#ifndef VIGIL_H
#define VIGIL_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

#define VIGIL_VERSION PACKAGE_VERSION

/* Hard limits that every part agrees on. */
#define VIGIL_MAX_BODY      (1024 * 1024)   /* request body, 1 MiB */
#define VIGIL_MAX_JSON_DEPTH 32
#define VIGIL_ID_LEN        64              /* buffer size for any prefixed id */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* What an API key may do: independent bits, not levels. */
enum scope { SCOPE_NONE = 0, SCOPE_READ = 1, SCOPE_WRITE = 2, SCOPE_ADMIN = 4,
    SCOPE_INGEST = 8 };
/* SCOPE_INGEST as a route's scope: the ingest routes, which a key with
 * ingest or write may call (an ingest key counted in its own class). */

/* Who is calling: an API key and its tenant, filled by authentication
 * (the API's request carries one; the keys domain fills it). */
struct auth {
	char	 key_id[VIGIL_ID_LEN];
	char	 tenant_id[VIGIL_ID_LEN];
	char	 tenant_name[128];
	unsigned scopes;               /* SCOPE_* bits */
};

#endif
