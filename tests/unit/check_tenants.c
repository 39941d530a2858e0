/* check_tenants.c: the tenant name rule tenants.c applies. */
#include <check.h>

#include "tenants.h"
#include "vigil.h"
#include "suites.h"

START_TEST(test_tenants_name_valid)
{
	static const struct {
		const char	*s;
		int		 ok;
	} t[] = {
		{ "acme", 1 },
		{ "a", 1 },
		{ "0day", 1 },
		{ "acme-eu_2", 1 },
		{ "abcdefghijklmnopqrstuvwxyz0123456789"
		    "abcdefghijklmnopqrstuvwxyz0", 1 },         /* 63 */
		{ "abcdefghijklmnopqrstuvwxyz0123456789"
		    "abcdefghijklmnopqrstuvwxyz01", 0 },        /* 64 */
		{ "", 0 },
		{ "Acme", 0 },
		{ "-acme", 0 },
		{ "_acme", 0 },
		{ "a b", 0 },
		{ "a'b", 0 },
		{ "caf\xc3\xa9", 0 },
	};
	size_t i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_msg(tenants_name_valid(t[i].s) == t[i].ok, "row %zu",
		    i);
}
END_TEST

Suite *
tenants_suite(void)
{
	Suite	*s = suite_create("tenants");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_tenants_name_valid);
	suite_add_tcase(s, tc);
	return s;
}
