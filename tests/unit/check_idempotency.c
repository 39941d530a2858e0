/* check_idempotency.c: the pure parts of Idempotency-Key (which keys are
 * accepted, what a request's hashes tell apart) and of the observables
 * API (its search cursor and suppression scopes). */
#include <check.h>
#include <string.h>

#include "idempotency.h"
#include "observables.h"
#include "suites.h"

START_TEST(test_idempotency_key_valid)
{
	char k[IDEMPOTENCY_KEY_MAX + 2];

	ck_assert(idempotency_key_valid("5f0c7c1e-9d1b-4c1e-8a55-2f1d1e0b7a21"));
	ck_assert(idempotency_key_valid("a"));
	ck_assert(idempotency_key_valid("!~\"'`;--"));
	ck_assert(!idempotency_key_valid(NULL));
	ck_assert(!idempotency_key_valid(""));
	ck_assert(!idempotency_key_valid("has space"));
	ck_assert(!idempotency_key_valid("tab\there"));
	ck_assert(!idempotency_key_valid("new\nline"));
	ck_assert(!idempotency_key_valid("caf\xc3\xa9"));
	ck_assert(!idempotency_key_valid("del\x7f"));
	memset(k, 'x', IDEMPOTENCY_KEY_MAX);
	k[IDEMPOTENCY_KEY_MAX] = '\0';
	ck_assert(idempotency_key_valid(k));
	k[IDEMPOTENCY_KEY_MAX] = 'x';
	k[IDEMPOTENCY_KEY_MAX + 1] = '\0';
	ck_assert(!idempotency_key_valid(k));
}
END_TEST

START_TEST(test_idempotency_hashes)
{
	char a[65], b[65];

	idempotency_target_hash("POST", "/api/v1/scans", "", a);
	ck_assert_uint_eq(strlen(a), 64);
	idempotency_target_hash("POST", "/api/v1/scans", "", b);
	ck_assert_str_eq(a, b);
	/* Method, path and query never run into one another. */
	idempotency_target_hash("POST", "/api/v1/scans", "x=1", b);
	ck_assert_str_ne(a, b);
	idempotency_target_hash("POST", "/api/v1/scansx", "=1", a);
	ck_assert_str_ne(a, b);
	idempotency_target_hash("POS", "T/api/v1/scans", "", a);
	idempotency_target_hash("POST", "/api/v1/scans", "", b);
	ck_assert_str_ne(a, b);
	/* A body is its bytes: an absent one is the empty one. */
	idempotency_body_hash(NULL, 0, a);
	idempotency_body_hash("", 0, b);
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(a, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	idempotency_body_hash("{\"a\":1}", 7, a);
	idempotency_body_hash("{\"a\": 1}", 8, b);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_observables_cursor)
{
	long long seq;
	char kind;

	ck_assert(observables_cursor_parse("c12", &kind, &seq));
	ck_assert_int_eq(kind, 'c');
	ck_assert_int_eq(seq, 12);
	ck_assert(observables_cursor_parse("a4611686018427387904", &kind,
	    &seq));
	ck_assert_int_eq(kind, 'a');
	ck_assert(!observables_cursor_parse("a4611686018427387905", &kind,
	    &seq));
	ck_assert(!observables_cursor_parse(NULL, &kind, &seq));
	ck_assert(!observables_cursor_parse("", &kind, &seq));
	ck_assert(!observables_cursor_parse("c", &kind, &seq));
	ck_assert(!observables_cursor_parse("c0", &kind, &seq));
	ck_assert(!observables_cursor_parse("c-1", &kind, &seq));
	ck_assert(!observables_cursor_parse("c+1", &kind, &seq));
	ck_assert(!observables_cursor_parse("c1x", &kind, &seq));
	ck_assert(!observables_cursor_parse("s12", &kind, &seq));
	ck_assert(!observables_cursor_parse("a99999999999999999999", &kind,
	    &seq));
}
END_TEST

START_TEST(test_observables_scope)
{
	char s[80];

	ck_assert(observables_scope_valid("global"));
	ck_assert(observables_scope_valid("source:edr"));
	ck_assert(observables_scope_valid("source:crowdstrike-falcon.v2"));
	ck_assert(!observables_scope_valid(NULL));
	ck_assert(!observables_scope_valid(""));
	ck_assert(!observables_scope_valid("Global"));
	ck_assert(!observables_scope_valid("global "));
	ck_assert(!observables_scope_valid("source:"));
	ck_assert(!observables_scope_valid("source"));
	ck_assert(!observables_scope_valid("source:a b"));
	ck_assert(!observables_scope_valid("source:\xc3\xa9"));
	ck_assert(!observables_scope_valid("tenant:x"));
	memset(s, 'a', sizeof(s));
	memcpy(s, "source:", 7);
	s[7 + OBSERVABLES_SOURCE_MAX] = '\0';
	ck_assert(observables_scope_valid(s));
	s[7 + OBSERVABLES_SOURCE_MAX] = 'a';
	s[8 + OBSERVABLES_SOURCE_MAX] = '\0';
	ck_assert(!observables_scope_valid(s));
}
END_TEST

Suite *
idempotency_suite(void)
{
	Suite *s = suite_create("idempotency");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_idempotency_key_valid);
	tcase_add_test(tc, test_idempotency_hashes);
	tcase_add_test(tc, test_observables_cursor);
	tcase_add_test(tc, test_observables_scope);
	suite_add_tcase(s, tc);
	return s;
}
