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

/* What reading an inventory found. */
struct inventory_stats {
	size_t	 resources;	/* emitted (children joined are not) */
	size_t	 children;	/* exported on their own, kept for the join */
	size_t	 joined;	/* … put into their parent */
	size_t	 orphans;	/* … whose parent is not in the inventory
				 * (or that appeared between the passes):
				 * not evaluated, logged */
	size_t	 orphan_parents; /* the absent parents */
};

/* Parse one file's text (name is used in messages) and emit its
 * resources as they are parsed, one by one: a single resource object, a
 * {"value":[…]} list, a bare array as "az resource list" prints, or a
 * Resource Graph answer {"data":[…]}. Every resource needs string "id"
 * and "type" ("type" is derived from the id when missing);
 * "subscriptionId" is added from the id when missing. Child resources
 * exported on their own (SQL firewallRules and auditingSettings/default,
 * NSG securityRules and defaultSecurityRules, storage blobServices/default,
 * web app config/web) are not emitted: they are joined into their parent
 * (by id, case-insensitively) before it is. Returns the number emitted, or
 * -1 with err set (naming the file). */
long	 inventory_parse(const char *text, size_t len, const char *name,
	    connector_emit emit, void *arg, char *err, size_t errsz);
/* Every file under dir as inventory_parse reads one, the children of one
 * file joined to the parents of any other; emit may be NULL (only
 * check). 0, or -1 with err set. */
int	 inventory_read(const char *dir, connector_emit emit, void *arg,
	    struct inventory_stats *st, char *err, size_t errsz);
/* inventory_read, each resource emitted without the members prune does
 * not keep (armstream_prune; children joined into a parent are kept
 * whole); prune NULL keeps all. */
struct armprune;
int	 inventory_read_pruned(const char *dir, const struct armprune *prune,
	    connector_emit emit, void *arg, struct inventory_stats *st,
	    char *err, size_t errsz);

#endif
