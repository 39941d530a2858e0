/* fuzz_vjson.c: libFuzzer target for JSON body validation (vjson.c): the
 * capped parse every request body and every file Vigil reads goes
 * through, and the typed getters handlers check fields with. Checks: a
 * body that parses re-serialises to text that parses again, at the same
 * depth limit, to the same text; a rejected body says why; a getter
 * answers 1 with a value that meets its bounds, 0 only for an absent or
 * null optional field, -1 with the field named. Built by "make fuzz". */
#include "vigil.h"

#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "vjson.h"

/* Fields handlers read, and some the dictionary offers. */
static const char *const fields[] = { "name", "url", "events", "secret",
    "scopes", "enabled", "limit", "reason", "expires_in_days", "state",
    "finding_ids", "x", "" };
static const char *const allowed[] = { "name", "url", "events", "secret",
    "scopes", NULL };

static int
depth(json_object *o)
{
	int d = 0, k;
	size_t i, n;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, v) {
			(void)key;
			if ((k = depth(v)) > d)
				d = k;
		}
		return d + 1;
	}
	if (json_object_is_type(o, json_type_array)) {
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if ((k = depth(json_object_array_get_idx(o, i))) > d)
				d = k;
		return d + 1;
	}
	return 0;
}

static void
getters(json_object *o)
{
	struct vjson_err	 e;
	const char		*s;
	json_object		*arr;
	int64_t			 n;
	size_t			 i, k;
	int			 b, rc, req;

	for (i = 0; i < NELEM(fields); i++) {
		for (req = 0; req <= 1; req++) {
			memset(&e, 0, sizeof(e));
			s = NULL;
			rc = vjson_get_string(o, fields[i], req, 1, 8, &s, &e);
			FUZZ_CHECK(rc >= -1 && rc <= 1);
			if (rc == 1)
				FUZZ_CHECK(s != NULL && strlen(s) >= 1 &&
				    strlen(s) <= 8 &&
				    vjson_utf8_valid(s, strlen(s)));
			if (rc == 0)
				FUZZ_CHECK(!req);
			if (rc == -1)
				FUZZ_CHECK(e.message[0] != '\0');
			rc = vjson_get_int(o, fields[i], req, -5, 500, &n, &e);
			if (rc == 1)
				FUZZ_CHECK(n >= -5 && n <= 500);
			if (rc == 0)
				FUZZ_CHECK(!req);
			rc = vjson_get_bool(o, fields[i], req, &b, &e);
			if (rc == 1)
				FUZZ_CHECK(b == 0 || b == 1);
			arr = NULL;
			rc = vjson_get_string_array(o, fields[i], req, 4, 16,
			    &arr, &e);
			if (rc == 1) {
				FUZZ_CHECK(json_object_is_type(arr,
				    json_type_array));
				FUZZ_CHECK(json_object_array_length(arr) <= 4);
				for (k = 0; k < json_object_array_length(arr);
				    k++)
					FUZZ_CHECK(json_object_get_string_len(
					    json_object_array_get_idx(arr, k))
					    <= 16);
			}
		}
	}
	memset(&e, 0, sizeof(e));
	if (vjson_only_keys(o, allowed, &e) == 0) {
		json_object_object_foreach(o, key, v) {
			(void)v;
			for (i = 0; allowed[i] != NULL; i++)
				if (strcmp(allowed[i], key) == 0)
					break;
			FUZZ_CHECK(allowed[i] != NULL);
		}
	} else
		FUZZ_CHECK(e.field[0] != '\0' || !json_object_is_type(o,
		    json_type_object) || json_object_object_get_ex(o, "",
		    NULL));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vjson_err	 e;
	json_object		*o, *again;
	const char		*s1, *s2;
	size_t			 l1, l2;
	char			*copy;
	int			 maxdepth;

	/* the first byte sets the depth limit, 1..32 */
	if (size < 1)
		return 0;
	maxdepth = 1 + data[0] % VIGIL_MAX_JSON_DEPTH;
	data++;
	size--;
	memset(&e, 0, sizeof(e));
	o = vjson_parse((const char *)data, size, maxdepth, VIGIL_MAX_BODY,
	    &e);
	if (o == NULL) {
		FUZZ_CHECK(strcmp(e.field, "body") == 0 &&
		    e.message[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(vjson_utf8_valid((const char *)data, size));
	/* the documented rule: containers nest at most maxdepth deep,
	 * whether the innermost is empty or not */
	FUZZ_CHECK(depth(o) <= maxdepth);
	s1 = vjson_str(o, &l1);
	FUZZ_CHECK(s1 != NULL && strlen(s1) == l1);
	copy = strndup(s1, l1);
	FUZZ_CHECK(copy != NULL);
	again = vjson_parse(copy, l1, maxdepth, VIGIL_MAX_BODY, &e);
	if (again == NULL)
		fprintf(stderr, "re-parse of %s: %s\n", copy, e.message);
	FUZZ_CHECK(again != NULL);
	s2 = vjson_str(again, &l2);
	FUZZ_CHECK(l1 == l2 && memcmp(copy, s2, l1) == 0);
	json_object_put(again);
	/* vjson_parse_unique: what json-c writes back holds no key twice, so
	 * it must pass; the input itself passes, or is refused naming where
	 * a key repeats (the field is the
	 * key's path, which is "" for the empty key at the top) */
	again = vjson_parse_unique(copy, l1, maxdepth, VIGIL_MAX_BODY, &e);
	FUZZ_CHECK(again != NULL);
	json_object_put(again);
	memset(&e, 0, sizeof(e));
	again = vjson_parse_unique((const char *)data, size, maxdepth,
	    VIGIL_MAX_BODY, &e);
	if (again == NULL)
		FUZZ_CHECK(strstr(e.message, "more than once") != NULL);
	getters(o);
	free(copy);
	json_object_put(again);
	json_object_put(o);
	return 0;
}
