/* connector.h: where resources come from. A connector collects the ARM
 * JSON of every resource it can see and, where it can, applies a
 * remediation PATCH. */
#ifndef VIGIL_CONNECTOR_H
#define VIGIL_CONNECTOR_H

#include <stddef.h>
#include <json-c/json.h>

/* Called once per resource; resource is borrowed for the call (take a
 * reference with json_object_get to keep it). Return 0 to go on, non-zero
 * to stop collecting (the connector then fails with that reason). */
typedef int (*connector_emit)(void *arg, json_object *resource);

struct armprune;

struct connector {
	const char	*type;          /* "azure" or "inventory" */
	/* Collect everything. 0 when the collection was COMPLETE (every
	 * subscription and every list page read); -1 with err set
	 * otherwise — findings that could not be seen must not be resolved. */
	int	(*collect)(struct connector *, connector_emit emit, void *arg,
		    char *err, size_t errsz);
	/* PATCH resource_id with body at api_version, then GET it back into
	 * *after (caller puts). 0 or -1 with err set. The inventory connector
	 * always fails: "the inventory connector is read-only". */
	int	(*patch)(struct connector *, const char *resource_id,
		    const char *api_version, json_object *body,
		    json_object **after, char *err, size_t errsz);
	void	(*free)(struct connector *);
	void	*priv;
	/* Set by the scanner before collect, or NULL: the members of each
	 * resource its rules read; a connector may leave the others out of
	 * what it emits (the inventory does). Borrowed. */
	const struct armprune *prune;
};

/* Azure service principal and where to reach Azure. */
struct azure_config {
	const char	 *tenant_id;        /* Entra ID tenant (directory) id */
	const char	 *client_id;
	const char	 *client_secret;
	const char *const *subscription_ids;
	size_t		  nsubscriptions;
	const char	 *authority_url;    /* "https://login.microsoftonline.com" */
	const char	 *arm_url;          /* "https://management.azure.com" */
	long		  timeout_secs;     /* per HTTP request; default 30 */
	size_t		  max_response;     /* bytes per response; default 64 MiB */
	int		  max_retries;      /* on 429/5xx/network; default 4 */
};

/* New connectors; NULL if out of memory. Nothing is fetched yet. */
struct connector *connector_azure_new(const struct azure_config *);
struct connector *connector_inventory_new(const char *dir);
/* Validate credentials by obtaining a token (azure) or reading the
 * directory (inventory): 0, or -1 with err set. The azure check makes one
 * try of at most a few seconds (it runs on an API worker) and returns -2
 * (err set) when the authority gave no verdict in that time: no answer,
 * or a 429 or 5xx. */
int	 connector_azure_check(const struct azure_config *, char *err,
	    size_t errsz);
int	 connector_inventory_check(const char *dir, char *err, size_t errsz);

#endif
