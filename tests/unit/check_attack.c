/* check_attack.c: the bundled ATT&CK technique list and its parser. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"

#ifndef VIGIL_TOP_SRCDIR
#define VIGIL_TOP_SRCDIR "."
#endif
#include "suites.h"

START_TEST(test_attack_id_form)
{
	static const char *const good[] = { "T1059", "T1059.001", "T0000" };
	static const char *const bad[] = { "", "T", "T105", "T10590",
	    "t1059", "T1059.", "T1059.01", "T1059.0011", "T1059 ", " T1059",
	    "T1059.00a", "TA0001", "1059" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++)
		ck_assert_msg(attack_id_form(good[i]), "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(!attack_id_form(bad[i]), "%s", bad[i]);
	ck_assert(!attack_id_form(NULL));
}
END_TEST

START_TEST(test_attack_parse)
{
	static const char text[] =
	    "# a comment\n"
	    "\n"
	    "T1059.001\tPowerShell\n"
	    "T1059\tCommand and Scripting Interpreter\n"
	    "T1003\tOS Credential Dumping";   /* no final newline */
	struct attack_list l;
	size_t line;

	ck_assert_int_eq(attack_parse(text, sizeof(text) - 1, &l, &line), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.t[0].id, "T1003");
	ck_assert_str_eq(attack_lookup(&l, "T1059"),
	    "Command and Scripting Interpreter");
	ck_assert_str_eq(attack_lookup(&l, "T1059.001"),
	    "Command and Scripting Interpreter: PowerShell");
	ck_assert_ptr_null(attack_lookup(&l, "T1059.002"));
	ck_assert_ptr_null(attack_lookup(&l, "T1059' OR 1=1"));
	attack_list_free(&l);
}
END_TEST

START_TEST(test_attack_parse_bad)
{
	static const struct {
		const char	*text;
		size_t		 line;
	} t[] = {
		{ "T1059\tX\n" "T1003 no tab\n", 2 },
		{ "X1059\tName\n", 1 },
		{ "T1059\t\n", 1 },
		{ "T1059\tA\tB\n", 1 },
		{ "T1059\tA\x01" "B\n", 1 },            /* control character */
		{ "T1003\tX\n" "T1059\t\xff\n", 2 },      /* not UTF-8 */
		{ "T1059\tA\nT1059\tB\n", 0 },          /* repeated */
		{ "T1059.001\tPowerShell\n", 0 },       /* no parent */
		{ "", 0 },                              /* nothing */
		{ "# only a comment\n\n", 0 },
	};
	struct attack_list l;
	size_t i, line;

	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		ck_assert_msg(attack_parse(t[i].text, strlen(t[i].text), &l,
		    &line) == -1, "%zu accepted", i);
		ck_assert_uint_eq(line, t[i].line);
		ck_assert_uint_eq(l.n, 0);
	}
}
END_TEST

/* The shipped file parses, and holds what the README says it holds. */
START_TEST(test_attack_bundled)
{
	const char *top = getenv("VIGIL_SRCDIR");
	char path[1024], *text;
	struct attack_list l;
	size_t len, line;
	long sz;
	FILE *f;

	snprintf(path, sizeof(path), "%s/data/attack-enterprise.tsv",
	    top != NULL ? top : VIGIL_TOP_SRCDIR);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	ck_assert_ptr_nonnull(text = malloc((size_t)sz));
	len = fread(text, 1, (size_t)sz, f);
	fclose(f);
	ck_assert_int_eq(attack_parse(text, len, &l, &line), 0);
	free(text);
	ck_assert_uint_eq(l.n, 691);   /* v18.1: 216 techniques, 475 subs */
	ck_assert_str_eq(attack_lookup(&l, "T1566.001"),
	    "Phishing: Spearphishing Attachment");
	ck_assert_str_eq(attack_lookup(&l, "T1486"),
	    "Data Encrypted for Impact");
	/* revoked (T1064 Scripting) and deprecated ones are left out */
	ck_assert_ptr_null(attack_lookup(&l, "T1064"));
	attack_list_free(&l);
}
END_TEST

Suite *
attack_suite(void)
{
	Suite *s = suite_create("attack");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_attack_id_form);
	tcase_add_test(tc, test_attack_parse);
	tcase_add_test(tc, test_attack_parse_bad);
	tcase_add_test(tc, test_attack_bundled);
	suite_add_tcase(s, tc);
	return s;
}
