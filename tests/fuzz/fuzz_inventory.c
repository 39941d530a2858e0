/* fuzz_inventory.c: libFuzzer target for the inventory / ARM JSON reader:
 * inventory_parse (inventory.c), which reads every inventory file (list
 * pages, bare arrays, Resource Graph answers) in two passes, joining the
 * child resources of the input to their parents in it, and
 * the pieces of the Azure connector that read ARM's answers (azure.c): a
 * list page, a token answer, an error body, a Retry-After value, a
 * resource id. Checks: every resource emitted is an object with string
 * "id" and "type", has "subscriptionId" when its id names one, and the
 * count returned is the count emitted; a collection stopped by the
 * callback fails; a page's nextLink is on the ARM origin; a token is
 * printable and its lifetime within a week; an error text is printable
 * ASCII; Retry-After is -1 or within 0..cap; an id accepted as a
 * resource id has no "..", "//", '?', '#' or '%'. Built by "make fuzz". */
#include "vigil.h"

#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "azure.h"
#include "fuzz.h"
#include "inventory.h"
#include "vjson.h"

#define ARM "https://management.azure.com"

static long	 emitted, stop_at;

static void
resource_id(const char *id)
{
	if (!azure_valid_resource_id(id))
		return;
	FUZZ_CHECK(strncasecmp(id, "/subscriptions/", 15) == 0);
	FUZZ_CHECK(strstr(id, "/..") == NULL && strstr(id, "/./") == NULL);
	FUZZ_CHECK(strstr(id, "//") == NULL);
	FUZZ_CHECK(strpbrk(id, "?#%\\ ") == NULL);
	FUZZ_CHECK(strlen(id) <= 2048);
}

static int
emit(void *arg, json_object *res)
{
	json_object *id, *type, *sub;
	const char *s;

	(void)arg;
	FUZZ_CHECK(json_object_is_type(res, json_type_object));
	FUZZ_CHECK(json_object_object_get_ex(res, "id", &id) &&
	    json_object_is_type(id, json_type_string));
	FUZZ_CHECK(json_object_object_get_ex(res, "type", &type) &&
	    json_object_is_type(type, json_type_string));
	s = json_object_get_string(id);
	if (strncasecmp(s, "/subscriptions/", 15) == 0 && s[15] != '/' &&
	    s[15] != '\0')
		FUZZ_CHECK(json_object_object_get_ex(res, "subscriptionId",
		    &sub));
	resource_id(s);
	(void)json_object_to_json_string(res);
	emitted++;
	return emitted == stop_at ? 7 : 0;
}

static void
arm(json_object *o)
{
	json_object *value;
	const char *next, *token;
	char err[256], text[128];
	long expires;
	size_t i;

	err[0] = '\0';
	if (azure_page(o, ARM, &value, &next, err, sizeof(err)) == 0) {
		FUZZ_CHECK(json_object_is_type(value, json_type_array));
		if (next != NULL) {
			FUZZ_CHECK(strncasecmp(next, ARM "/",
			    strlen(ARM) + 1) == 0);
			FUZZ_CHECK(azure_same_origin(ARM, next));
		}
	} else
		FUZZ_CHECK(err[0] != '\0' && value == NULL && next == NULL);
	if (azure_token_parse(o, &token, &expires, err, sizeof(err)) == 0) {
		FUZZ_CHECK(token != NULL && *token != '\0');
		for (i = 0; token[i] != '\0'; i++)
			FUZZ_CHECK(token[i] > ' ' && token[i] < 0x7f);
		FUZZ_CHECK(expires >= 1 && expires <= 7 * 86400);
	} else
		FUZZ_CHECK(token == NULL);
	azure_error_text(o, text, sizeof(text));
	FUZZ_CHECK(strlen(text) < sizeof(text));
	for (i = 0; text[i] != '\0'; i++)
		FUZZ_CHECK(text[i] >= ' ' && text[i] < 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vjson_err e;
	json_object *o;
	char err[512], *text;
	long rc, ra;

	/* the collection is stopped at the (size % 5)th resource, 0: never */
	emitted = 0;
	stop_at = (long)(size % 5);
	err[0] = '\0';
	rc = inventory_parse((const char *)data, size, "fuzz.json", emit,
	    NULL, err, sizeof(err));
	if (rc >= 0) {
		FUZZ_CHECK(rc == emitted && (stop_at == 0 ||
		    emitted < stop_at));
	} else {
		FUZZ_CHECK(rc == -1 && err[0] != '\0');
		FUZZ_CHECK(stop_at == 0 || emitted <= stop_at);
		if (stop_at != 0 && emitted == stop_at)
			FUZZ_CHECK(strstr(err, "stopped") != NULL);
		else
			FUZZ_CHECK(strncmp(err, "fuzz.json", 9) == 0 ||
			    strcmp(err, "out of memory") == 0);
	}
	if ((o = vjson_parse((const char *)data, size, 64, size + 1, &e))
	    != NULL) {
		arm(o);
		json_object_put(o);
	}
	if (memchr(data, '\0', size) == NULL && size < 256 &&
	    (text = strndup((const char *)data, size)) != NULL) {
		ra = azure_retry_after(text, 1700000000, 300);
		FUZZ_CHECK(ra == -1 || (ra >= 0 && ra <= 300));
		resource_id(text);
		free(text);
	}
	return 0;
}
