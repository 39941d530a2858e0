/* inventory.h: the pieces of the inventory connector that tests call
 * directly; the connector itself is declared in connector.h. */
#ifndef VIGIL_INVENTORY_H
#define VIGIL_INVENTORY_H

#include <stddef.h>

#include "connector.h"

/* Files are read as a stream: a list (a bare array or a {"value":[…]}
 * page) may be of any size, each of its resources at most this; a file
 * that is one resource, too. */
#define INVENTORY_MAX_RESOURCE	((size_t)8 * 1024 * 1024)

/* Every regular "*.json" file under dir (recursively; names starting
 * with "." and symlinked directories skipped), as paths relative to dir
 * in byte order, into a new array *paths of *n new strings (caller frees
 * each and the array with inventory_paths_free). 0 or -1 with err set. */
int	 inventory_list(const char *dir, char ***paths, size_t *n, char *err,
	    size_t errsz);
void	 inventory_paths_free(char **paths, size_t n);

/* Parse one file's text (name is used in messages) and emit its
 * resources as they are parsed, one by one: a single resource object, a
 * {"value":[…]} list or a bare array as "az resource list" prints. Every resource needs string "id"
 * and "type"; "subscriptionId" is added from the id when missing. Returns
 * the number emitted, or -1 with err set (naming the file). */
long	 inventory_parse(const char *text, size_t len, const char *name,
	    connector_emit emit, void *arg, char *err, size_t errsz);

#endif
