/* migrate.h: apply db/migrations/NNNN_name.sql in order, once each. */
#ifndef VIGIL_MIGRATE_H
#define VIGIL_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

struct db;

/* Apply every migration in dir that schema_migrations does not list,
 * reporting each to out. 0 if all went well (or nothing was to do), -1
 * after printing which step failed and why. */
int	 migrate_run(struct db *, const char *dir, FILE *out);
/* The migrations directory: $VIGIL_MIGRATIONS or PKGDATADIR/migrations. */
const char *migrate_dir(void);

#endif
