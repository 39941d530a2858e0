/* integrations.h: where a tenant's resources come from (an Azure
 * subscription set or a directory of inventory exports). The rules a new
 * integration must meet, its row and its audit entry are here, so that
 * POST /api/v1/integrations and vigilctl apply the same ones. */
#ifndef VIGIL_INTEGRATIONS_H
#define VIGIL_INTEGRATIONS_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

struct db;

/* Column order of INTEGRATION_COLS in db.c (SQL_INTEGRATION_GET, _GET_TENANT,
 * _LIST): the one naming of those columns, for this module and the scanner. */
enum {
	INTEGRATION_C_ID, INTEGRATION_C_TENANT, INTEGRATION_C_TYPE,
	INTEGRATION_C_NAME, INTEGRATION_C_CONFIG, INTEGRATION_C_SECRET,
	INTEGRATION_C_CREATED, INTEGRATION_C_DELETED, INTEGRATION_C_LAST_SCAN
};

/* Longest name, in characters (code points) of UTF-8. */
#define INTEGRATIONS_NAME_CHARS 100

/* A stored integration (owned strings). The sealed client secret is not
 * loaded: only the scanner opens it. */
struct integration {
	char	*id;
	char	*tenant_id;
	char	*type;          /* "azure" or "inventory" */
	char	*name;
	char	*config;        /* JSON text, never holding the secret */
	char	*created_at;    /* DATETIME text */
	char	*deleted_at;    /* NULL while live */
	char	*last_scan_at;  /* NULL if never scanned */
};

/* The same for a live integration of any tenant (vigil-scan's command
 * line names one by id alone). */
int	 integrations_find(struct db *, const char *id,
	    struct integration **out);
void	 integrations_free(struct integration *);

/* One page of a tenant's live integrations in id order. */
struct integrations_page {
	struct integration **items;
	size_t		 n;
	long long	 total;      /* live integrations of the tenant */
	int		 has_more;   /* then items[n - 1]->id is the cursor */
};

/* The page after id after ("" for the first), at most limit items:
 * 0 (*out set, free with integrations_page_free) or a DB_* code. */
int	 integrations_list(struct db *, const char *tenant_id,
	    const char *after, long limit, struct integrations_page **out);
void	 integrations_page_free(struct integrations_page *);

/* The API representation, without secrets: a new object the caller
 * puts. */
json_object *integrations_to_json(const struct integration *);

/* What a new integration is made of. All borrowed. */
struct integrations_new {
	const char	*tenant_id;
	const char	*type;      /* checked: "azure" or "inventory" */
	const char	*name;      /* checked: 1 to 100 characters */
	json_object	*config;    /* checked per type; NULL: absent */
	const char	*actor;     /* recorded in the audit log */
	const char	*log_ctx;   /* prefixes log lines ("req=…") */
	time_t		 now;
};

enum integrations_outcome {
	INTEGRATIONS_OK = 0,
	INTEGRATIONS_INVALID,      /* a rule refused the input: see err */
	INTEGRATIONS_NO_VERDICT,   /* Azure did not judge the credentials in
	                            * time: nothing stored, try again */
	INTEGRATIONS_NOT_FOUND,
	INTEGRATIONS_ERROR,        /* *rc holds the DB_* code */
};

/* Why INTEGRATIONS_INVALID (or NO_VERDICT): the field to name and a
 * message for the person who sent it (never the secret). */
struct integrations_err {
	const char	*field;
	char		 message[256];
};

/* Pure: 1 if name may name an integration (valid UTF-8, no control
 * character, 1 to INTEGRATIONS_NAME_CHARS characters), else 0 with err
 * set (field "name"): integrations_create's rule, for vigilctl to check
 * before it connects. */
int	 integrations_name_ok(const char *name, struct integrations_err *err);

/* Check a new integration (name; the inventory directory is read as a
 * scan would; Azure credentials must get a token, within the connector's
 * bounded time), seal an Azure client secret under secret_key_file, and
 * write the row and its audit entry (integration.create) in one
 * transaction. On INTEGRATIONS_OK *out is the stored integration (caller
 * frees with integrations_free). */
enum integrations_outcome integrations_create(struct db *,
	    const struct integrations_new *, struct integrations_err *err,
	    struct integration **out, int *rc);

/* Soft delete a live integration of a tenant, with its audit entry
 * (integration.delete), in one transaction: it stops being scanned; its
 * findings and scans stay. INTEGRATIONS_OK, _NOT_FOUND or _ERROR. */
enum integrations_outcome integrations_delete(struct db *,
	    const char *tenant_id, const char *id, const char *actor,
	    time_t now, int *rc);

#endif
