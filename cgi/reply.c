/* reply.c: the 400s every handler shares (a bad field, an unknown query
 * parameter, a timestamp that is not RFC 3339) and the reply of a
 * DELETE, each written once so that the wording cannot drift between
 * resources. */
#include "vigil.h"

#include <stdio.h>
#include <string.h>

#include "reply.h"
#include "request.h"
#include "vtime.h"

void
reply_bad(struct request *r, const char *field, const char *msg)
{
	response_error(r, 400, "invalid_request", msg, field);
}

int
reply_unknown_params(struct request *r, const char *const *known)
{
	size_t i, j;

	for (i = 0; i < r->nparams; i++) {
		for (j = 0; known != NULL && known[j] != NULL; j++)
			if (strcmp(r->params[i].name, known[j]) == 0)
				break;
		if (known == NULL || known[j] == NULL) {
			reply_bad(r, r->params[i].name,
			    "Unknown query parameter.");
			return -1;
		}
	}
	return 0;
}

int
reply_time(struct request *r, const char *field, const char *s,
    time_t *out)
{
	char msg[160];

	*out = 0;
	if (s == NULL)
		return 0;
	if (vtime_parse_rfc3339(s, out) == 0)
		return 1;
	snprintf(msg, sizeof(msg), "%s must be an RFC 3339 timestamp.",
	    field);
	reply_bad(r, field, msg);
	return -1;
}

int
reply_since(struct request *r, const char *name, time_t *out)
{
	return reply_time(r, name, request_param(r, name), out);
}

void
reply_deleted(struct request *r, const char *key, const char *id,
    time_t when)
{
	json_object *root = json_object_new_object();
	char at[VTIME_RFC3339_LEN];

	vtime_rfc3339(when, at, sizeof(at));
	json_object_object_add(root, key, json_object_new_string(id));
	json_object_object_add(root, "deleted", json_object_new_boolean(1));
	json_object_object_add(root, "deleted_at", json_object_new_string(at));
	response_json(r, 200, root);
}
