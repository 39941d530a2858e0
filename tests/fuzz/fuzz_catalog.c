/* fuzz_catalog.c: libFuzzer target for the compliance control catalogue
 * parser (catalog.c; one file of vigil.conf's frameworks_dir). Checks: a
 * refused file adds nothing and its error names the file; an accepted
 * one adds one framework whose id has the form catalog_framework_id_form
 * accepts and is found by catalog_framework, whose controls' ids have the
 * form catalog_control_id_form accepts, are all different and are each
 * found at their own index by catalog_control, with non-empty titles that
 * are valid UTF-8; the same text a second time is refused (the framework
 * is defined twice). Built by "make fuzz". */
#include "vigil.h"

#include <string.h>

#include "catalog.h"
#include "fuzz.h"
#include "vjson.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct catalog_framework *f;
	struct catalog cat = { NULL, 0 };
	const char *text = (const char *)data;
	char err[512];
	size_t i;

	if (catalog_parse(&cat, text, size, "f.json", err, sizeof(err)) !=
	    0) {
		FUZZ_CHECK(cat.n == 0 && cat.f == NULL);
		FUZZ_CHECK(strncmp(err, "f.json: ", 8) == 0);
		return 0;
	}
	FUZZ_CHECK(cat.n == 1);
	f = &cat.f[0];
	FUZZ_CHECK(catalog_framework_id_form(f->id));
	FUZZ_CHECK(catalog_framework(&cat, f->id) == f);
	FUZZ_CHECK(f->n > 0 && f->n <= CATALOG_MAX_CONTROLS);
	for (i = 0; i < f->n; i++) {
		FUZZ_CHECK(catalog_control_id_form(f->c[i].id));
		FUZZ_CHECK(catalog_control(f, f->c[i].id) == (long)i);
		FUZZ_CHECK(f->c[i].title[0] != '\0');
		FUZZ_CHECK(vjson_utf8_valid(f->c[i].title,
		    strlen(f->c[i].title)));
	}
	FUZZ_CHECK(catalog_parse(&cat, text, size, "g.json", err,
	    sizeof(err)) == -1);
	FUZZ_CHECK(cat.n == 1);
	catalog_free(&cat);
	return 0;
}
