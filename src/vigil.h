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

#endif
