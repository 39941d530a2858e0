/* check_page.c: the list shape every list answers (page.c): field order,
 * has_more and next_cursor from a limit + 1 result, the seq cursor. */
#include "vigil.h"

#include <check.h>
#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "page.h"
#include "suites.h"

static const char *
text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

START_TEST(test_page_end)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "scan_id", json_object_new_string("scn_1"));
	page_end(o, "results", json_object_new_array(), 7, 1, "s42");
	ck_assert_str_eq(text(o), "{\"scan_id\":\"scn_1\",\"results\":[],"
	    "\"total\":7,\"has_more\":true,\"next_cursor\":\"s42\"}");
	json_object_put(o);
	/* No next page: the cursor given is not shown. */
	o = json_object_new_object();
	page_end(o, "rules", json_object_new_array(), 0, 0, "x");
	ck_assert_str_eq(text(o), "{\"rules\":[],\"total\":0,"
	    "\"has_more\":false,\"next_cursor\":null}");
	json_object_put(o);
}
END_TEST

/* A one-column result of n rows "a", "b", ... (NULL where null_at). */
static struct db_res *
rows(size_t n, size_t null_at)
{
	static char names[8][2];
	struct db_res *r = calloc(1, sizeof(*r));
	size_t i;

	ck_assert_ptr_nonnull(r);
	r->nrows = n;
	r->ncols = 1;
	r->cells = calloc(n ? n : 1, sizeof(*r->cells));
	r->lens = calloc(n ? n : 1, sizeof(*r->lens));
	for (i = 0; i < n; i++) {
		names[i][0] = (char)('a' + i);
		r->cells[i] = i == null_at ? NULL : names[i];
	}
	return r;
}

static void
res_free(struct db_res *r)
{
	free(r->cells);
	free(r->lens);
	free(r);
}

START_TEST(test_page_end_res)
{
	struct db_res *r;
	json_object *o;

	/* limit + 1 rows: a next page, its cursor the last row shown. */
	r = rows(3, 99);
	ck_assert_uint_eq(page_rows(r, 2), 2);
	o = json_object_new_object();
	page_end_res(o, "scans", json_object_new_array(), r, 2, 9, 0);
	ck_assert_str_eq(text(o), "{\"scans\":[],\"total\":9,"
	    "\"has_more\":true,\"next_cursor\":\"b\"}");
	json_object_put(o);
	/* limit rows or fewer: the last page. */
	ck_assert_uint_eq(page_rows(r, 3), 3);
	ck_assert_uint_eq(page_rows(r, 500), 3);
	o = json_object_new_object();
	page_end_res(o, "scans", json_object_new_array(), r, 3, 3, 0);
	ck_assert_str_eq(text(o), "{\"scans\":[],\"total\":3,"
	    "\"has_more\":false,\"next_cursor\":null}");
	json_object_put(o);
	res_free(r);
	/* A NULL cursor cell is "", never a crash. */
	r = rows(2, 0);
	o = json_object_new_object();
	page_end_res(o, "x", json_object_new_array(), r, 1, 2, 0);
	ck_assert_str_eq(text(o), "{\"x\":[],\"total\":2,"
	    "\"has_more\":true,\"next_cursor\":\"\"}");
	json_object_put(o);
	res_free(r);
	/* No rows at all. */
	r = rows(0, 99);
	ck_assert_uint_eq(page_rows(r, 1), 0);
	o = json_object_new_object();
	page_end_res(o, "x", json_object_new_array(), r, 1, 0, 0);
	ck_assert_str_eq(text(o), "{\"x\":[],\"total\":0,"
	    "\"has_more\":false,\"next_cursor\":null}");
	json_object_put(o);
	res_free(r);
}
END_TEST

START_TEST(test_page_end_seq)
{
	static char *seqs[] = { "17", "12", "9" };
	struct db_res r;
	size_t lens[3] = { 0 };
	json_object *o;

	memset(&r, 0, sizeof(r));
	r.ncols = 1;
	r.cells = seqs;
	r.lens = lens;
	/* limit + 1 rows: the "s<seq>" cursor of the last row shown. */
	r.nrows = 3;
	o = json_object_new_object();
	page_end_seq(o, "imports", json_object_new_array(), &r, 2, 5, 0);
	ck_assert_str_eq(text(o), "{\"imports\":[],\"total\":5,"
	    "\"has_more\":true,\"next_cursor\":\"s12\"}");
	json_object_put(o);
	/* The last page, and no rows at all: no cursor. */
	o = json_object_new_object();
	page_end_seq(o, "reports", json_object_new_array(), &r, 3, 3, 0);
	ck_assert_str_eq(text(o), "{\"reports\":[],\"total\":3,"
	    "\"has_more\":false,\"next_cursor\":null}");
	json_object_put(o);
	r.nrows = 0;
	o = json_object_new_object();
	page_end_seq(o, "x", json_object_new_array(), &r, 1, 0, 0);
	ck_assert_str_eq(text(o), "{\"x\":[],\"total\":0,"
	    "\"has_more\":false,\"next_cursor\":null}");
	json_object_put(o);
}
END_TEST

START_TEST(test_page_seq_cursor)
{
	char c[PAGE_SEQ_CURSOR_LEN];

	page_seq_cursor(42, c, sizeof(c));
	ck_assert_str_eq(c, "s42");
	page_seq_cursor((1LL << 62) - 1, c, sizeof(c));
	ck_assert_str_eq(c, "s4611686018427387903");
}
END_TEST

Suite *
page_suite(void)
{
	Suite	*s = suite_create("page");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_page_end);
	tcase_add_test(tc, test_page_end_res);
	tcase_add_test(tc, test_page_end_seq);
	tcase_add_test(tc, test_page_seq_cursor);
	suite_add_tcase(s, tc);
	return s;
}
