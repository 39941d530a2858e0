/* fuzz_attack.c: libFuzzer target for the ATT&CK technique list parser
 * (attack.c; the file vigil.conf's attack_file names). Checks: an
 * accepted list is sorted by id with no repeat, every id has the form
 * attack_id_form accepts and is found by attack_lookup with its name,
 * every name is non-empty, valid UTF-8 without control characters, and a
 * sub-technique is named after its parent ("Parent: Sub"); a refused list
 * is empty and names a line the input has (0 for a list-wide reason).
 * Built by "make fuzz". */
#include "vigil.h"

#include <string.h>

#include "attack.h"
#include "fuzz.h"
#include "text.h"
#include "vjson.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *parent;
	struct attack_list l;
	size_t i, line, lines = 1;
	char pid[6];

	for (i = 0; i < size; i++)
		lines += text[i] == '\n';
	if (attack_parse(text, size, &l, &line) != 0) {
		FUZZ_CHECK(l.n == 0 && l.t == NULL);
		FUZZ_CHECK(line <= lines);
		return 0;
	}
	for (i = 0; i < l.n; i++) {
		FUZZ_CHECK(attack_id_form(l.t[i].id));
		FUZZ_CHECK(i == 0 || strcmp(l.t[i - 1].id, l.t[i].id) < 0);
		FUZZ_CHECK(l.t[i].name[0] != '\0');
		FUZZ_CHECK(vjson_utf8_valid(l.t[i].name,
		    strlen(l.t[i].name)));
		FUZZ_CHECK(text_control(l.t[i].name, strlen(l.t[i].name), 0) ==
		    strlen(l.t[i].name));
		FUZZ_CHECK(attack_lookup(&l, l.t[i].id) == l.t[i].name);
		if (strchr(l.t[i].id, '.') != NULL) {
			memcpy(pid, l.t[i].id, 5);
			pid[5] = '\0';
			FUZZ_CHECK((parent = attack_lookup(&l, pid)) != NULL);
			FUZZ_CHECK(strncmp(l.t[i].name, parent,
			    strlen(parent)) == 0);
			FUZZ_CHECK(strncmp(l.t[i].name + strlen(parent), ": ",
			    2) == 0);
		}
	}
	attack_list_free(&l);
	return 0;
}
