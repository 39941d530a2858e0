/* confcheck.h: vigilctl config check (confcheck.c). */
#ifndef VIGIL_CONFCHECK_H
#define VIGIL_CONFCHECK_H

#include <stddef.h>
#include <stdio.h>

#define CONFCHECK_MAX_USERS 8

/* Check the vigil.conf at path (loaded into g_conf as it goes), the files
 * it names as users[0..nusers) would meet them (none: "vigil" if there is
 * such a user, else whoever runs this), and the database; each problem on
 * its own line of out, then a count. The exit status: VX_OK, else
 * VX_CONFIG, VX_NOPERM or VX_DBDOWN, the first that any problem has. */
int	 confcheck_run(const char *path, const char *const *users,
	    size_t nusers, FILE *out);

#endif
