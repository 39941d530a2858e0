/* check_audit.c: audit_verify_rows against a real hash chain and each
 * kind of tampering a database administrator could do to it; entries and
 * exports as the API shows them, byte for byte. */
#include "vigil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "suites.h"
#include "vjson.h"

#define NROWS 6

/* Storage for one test's chain: the rows point into these. */
struct chain {
	struct audit_row rows[NROWS];
	char		 ids[NROWS][32];
	char		 at[NROWS][24];
	char		 detail[NROWS][64];
	char		 prev[NROWS][65];
	char		 hash[NROWS][65];
	size_t		 n;
};

/* Recompute row i's hash as an attacker who knows the algorithm would. */
static void
rehash(struct chain *c, size_t i)
{
	struct audit_row *r = &c->rows[i];

	audit_hash(r->prev_hash, r->seq, r->at, r->actor, r->action,
	    r->object, r->detail, c->hash[i]);
	r->hash = c->hash[i];
}

/* A genuine chain of NROWS entries, seq 1..NROWS. */
static void
build(struct chain *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->n = NROWS;
	for (i = 0; i < NROWS; i++) {
		struct audit_row *r = &c->rows[i];

		snprintf(c->ids[i], sizeof(c->ids[i]), "aud_%zu", i + 1);
		snprintf(c->at[i], sizeof(c->at[i]), "2026-05-1%zu 10:00:00",
		    i);
		snprintf(c->detail[i], sizeof(c->detail[i]),
		    "{\"n\":%zu}", i + 1);
		snprintf(c->prev[i], sizeof(c->prev[i]), "%s",
		    i == 0 ? AUDIT_GENESIS : c->hash[i - 1]);
		r->id = c->ids[i];
		r->seq = (long long)i + 1;
		r->at = c->at[i];
		r->actor = "key:key_01";
		r->action = i % 2 ? "settings.update" : "api_key.create";
		r->object = "tnt_1";
		r->detail = c->detail[i];
		r->prev_hash = c->prev[i];
		rehash(c, i);
	}
}

/* Remove row i, as DELETE FROM audit_log WHERE id = … would. */
static void
drop(struct chain *c, size_t i)
{
	memmove(&c->rows[i], &c->rows[i + 1],
	    (c->n - i - 1) * sizeof(c->rows[0]));
	c->n--;
}

static int
verify(struct chain *c, struct audit_chain *head, struct audit_problem *p)
{
	audit_chain_init(head);
	return audit_verify_rows(head, c->rows, c->n, p);
}

START_TEST(test_intact)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;

	build(&c);
	ck_assert_int_eq(verify(&c, &head, &p), 0);
	ck_assert_int_eq(p.kind, AUDIT_INTACT);
	ck_assert_int_eq(head.seq, NROWS);
	ck_assert_str_eq(head.hash, c.hash[NROWS - 1]);
	ck_assert_str_eq(head.id, "aud_6");
}
END_TEST

START_TEST(test_empty)
{
	struct audit_chain head;
	struct audit_problem p;

	audit_chain_init(&head);
	ck_assert_int_eq(audit_verify_rows(&head, NULL, 0, &p), 0);
	ck_assert_int_eq(head.seq, 0);
	ck_assert_str_eq(head.hash, AUDIT_GENESIS);
}
END_TEST

/* The hash is the one audit_append has always written: a golden value,
 * so that a change to the hashed form cannot pass unnoticed. */
START_TEST(test_hash_golden)
{
	char h[65];

	audit_hash(AUDIT_GENESIS, 1, "2026-05-15 18:42:11", "key:k",
	    "api_key.create", "key_1", "{}", h);
	ck_assert_int_eq(strlen(h), 64);
	/* sha256 of (computed with Python's hashlib)
	 * ["000…0",1,"2026-05-15 18:42:11","key:k","api_key.create","key_1","{}"] */
	ck_assert_str_eq(h,
	    "e4d416d970d84351c9d5942974bc5e3d531662a8dea8b441d0cd5aba412ca334");
}
END_TEST

/* Each field an administrator might edit in place. */
START_TEST(test_modified_field)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;
	char buf[256];

	build(&c);
	switch (_i) {
	case 0: c.rows[2].detail = "{\"n\":99}"; break;
	case 1: c.rows[2].actor = "key:someone_else"; break;
	case 2: c.rows[2].action = "nothing.happened"; break;
	case 3: c.rows[2].at = "2020-01-01 00:00:00"; break;
	case 4: c.rows[2].object = "tnt_2"; break;
	case 5: c.rows[2].hash = c.hash[1]; break;
	}
	ck_assert_int_eq(verify(&c, &head, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_MODIFIED);
	ck_assert_str_eq(p.id, "aud_3");
	ck_assert_int_eq(p.seq, 3);
	/* The chain stops before the bad row. */
	ck_assert_int_eq(head.seq, 2);
	audit_problem_str(&p, buf, sizeof(buf));
	ck_assert_str_eq(buf, "entry aud_3 (seq 3) was modified");
}
END_TEST

/* Edited and re-hashed: the row is self-consistent but the next one no
 * longer links to it. */
START_TEST(test_modified_rehashed)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;

	build(&c);
	c.rows[2].detail = "{\"n\":99}";
	rehash(&c, 2);
	ck_assert_int_eq(verify(&c, &head, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_MODIFIED);
	ck_assert_str_eq(p.id, "aud_3");
	ck_assert_int_eq(p.seq, 3);
}
END_TEST

/* The same, with the edited row at the end of one batch. */
START_TEST(test_modified_rehashed_batch_edge)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;

	build(&c);
	c.rows[2].detail = "{\"n\":99}";
	rehash(&c, 2);
	audit_chain_init(&head);
	ck_assert_int_eq(audit_verify_rows(&head, c.rows, 3, &p), 0);
	ck_assert_int_eq(audit_verify_rows(&head, c.rows + 3, 3, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_MODIFIED);
	ck_assert_str_eq(p.id, "aud_3");
	ck_assert_int_eq(p.seq, 3);
}
END_TEST

/* The first entry re-hashed onto something other than the genesis. */
START_TEST(test_modified_first_link)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;

	build(&c);
	c.rows[0].prev_hash = c.hash[3];
	rehash(&c, 0);
	ck_assert_int_eq(verify(&c, &head, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_MODIFIED);
	ck_assert_str_eq(p.id, "aud_1");
}
END_TEST

START_TEST(test_deleted_middle)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;
	char buf[256];

	build(&c);
	drop(&c, 3);          /* seq 4 */
	ck_assert_int_eq(verify(&c, &head, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_DELETED);
	ck_assert_int_eq(p.missing_from, 4);
	ck_assert_int_eq(p.missing_to, 4);
	ck_assert_str_eq(p.id, "aud_5");
	audit_problem_str(&p, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "entry seq 4 was deleted (before entry aud_5, seq 5)");
}
END_TEST

START_TEST(test_deleted_several)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;

	build(&c);
	drop(&c, 1);
	drop(&c, 1);          /* seq 2 and 3 */
	ck_assert_int_eq(verify(&c, &head, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_DELETED);
	ck_assert_int_eq(p.missing_from, 2);
	ck_assert_int_eq(p.missing_to, 3);
	ck_assert_int_eq(p.seq, 4);
}
END_TEST

START_TEST(test_deleted_first)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;

	build(&c);
	drop(&c, 0);
	ck_assert_int_eq(verify(&c, &head, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_DELETED);
	ck_assert_int_eq(p.missing_from, 1);
	ck_assert_int_eq(p.missing_to, 1);
}
END_TEST

/* Deleting the newest entry leaves a valid, shorter chain: only a head
 * recorded earlier (an export's chain_head) shows it. */
START_TEST(test_deleted_last_needs_anchor)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;
	char anchor[65];

	build(&c);
	snprintf(anchor, sizeof(anchor), "%s", c.hash[NROWS - 1]);
	drop(&c, NROWS - 1);
	ck_assert_int_eq(verify(&c, &head, &p), 0);
	ck_assert_int_eq(head.seq, NROWS - 1);
	ck_assert_str_ne(head.hash, anchor);
}
END_TEST

/* Two rows swap their seq values (UPDATE … SET seq = …). */
START_TEST(test_reordered_swap)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;
	struct audit_row t;
	char buf[256];

	build(&c);
	c.rows[1].seq = 4;
	c.rows[3].seq = 2;
	t = c.rows[1];
	c.rows[1] = c.rows[3];
	c.rows[3] = t;        /* back in seq order, as SELECT … ORDER BY seq */
	ck_assert_int_eq(verify(&c, &head, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_REORDERED);
	ck_assert_str_eq(p.id, "aud_4");
	ck_assert_int_eq(p.seq, 2);
	ck_assert_int_eq(p.written_as, 4);
	audit_problem_str(&p, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "entry aud_4 (seq 2) was moved: it was written as seq 4");
}
END_TEST

/* One row moved to the end (its seq raised past the head). */
START_TEST(test_reordered_moved_to_end)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;
	struct audit_row t;

	build(&c);
	t = c.rows[1];
	t.seq = 9;
	drop(&c, 1);
	c.rows[c.n++] = t;
	ck_assert_int_eq(verify(&c, &head, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_REORDERED);
	ck_assert_str_eq(p.id, "aud_2");
	ck_assert_int_eq(p.seq, 9);
	ck_assert_int_eq(p.written_as, 2);
}
END_TEST

/* Rows given out of seq order (never from ORDER BY seq, but the function
 * must not trust its caller). */
START_TEST(test_out_of_order_input)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;
	struct audit_row t;

	build(&c);
	t = c.rows[1];
	c.rows[1] = c.rows[2];
	c.rows[2] = t;
	ck_assert_int_eq(verify(&c, &head, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_REORDERED); /* seq 2 after seq 3 */
	ck_assert_str_eq(p.id, "aud_2");
	ck_assert_int_eq(p.written_as, 0);
	audit_chain_init(&head);
	c.rows[1] = c.rows[0];
	ck_assert_int_eq(audit_verify_rows(&head, c.rows, 2, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_REORDERED); /* seq 1 twice */
}
END_TEST

/* Batches give the same result as one walk. */
START_TEST(test_batches)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;
	size_t i;

	build(&c);
	audit_chain_init(&head);
	for (i = 0; i < NROWS; i += 2)
		ck_assert_int_eq(audit_verify_rows(&head, c.rows + i, 2, &p),
		    0);
	ck_assert_int_eq(head.seq, NROWS);
	ck_assert_str_eq(head.hash, c.hash[NROWS - 1]);
}
END_TEST

/* A NULL column (a damaged row) is reported, not dereferenced. */
START_TEST(test_null_column)
{
	struct chain c;
	struct audit_chain head;
	struct audit_problem p;

	build(&c);
	c.rows[4].detail = NULL;
	ck_assert_int_eq(verify(&c, &head, &p), 1);
	ck_assert_int_eq(p.kind, AUDIT_MODIFIED);
	ck_assert_int_eq(p.seq, 5);
}
END_TEST

/* detail is shown parsed; detail_text, in an export, is the text that
 * was hashed, escaped as a JSON string. */
START_TEST(test_entry_json)
{
	struct chain c;
	json_object *o;
	char want[512];

	build(&c);
	o = audit_entry_to_json(&c.rows[0], 0);
	snprintf(want, sizeof(want), "{\"id\":\"aud_1\",\"seq\":1,"
	    "\"at\":\"2026-05-10T10:00:00Z\",\"actor\":\"key:key_01\","
	    "\"action\":\"api_key.create\",\"object\":\"tnt_1\","
	    "\"detail\":{\"n\":1},\"prev_hash\":\"%s\",\"hash\":\"%s\"}",
	    AUDIT_GENESIS, c.hash[0]);
	ck_assert_str_eq(vjson_str(o, NULL), want);
	json_object_put(o);
}
END_TEST

START_TEST(test_entry_json_text)
{
	struct chain c;
	json_object *o;
	char want[512];

	build(&c);
	o = audit_entry_to_json(&c.rows[1], 1);
	snprintf(want, sizeof(want), "{\"id\":\"aud_2\",\"seq\":2,"
	    "\"at\":\"2026-05-11T10:00:00Z\",\"actor\":\"key:key_01\","
	    "\"action\":\"settings.update\",\"object\":\"tnt_1\","
	    "\"detail\":{\"n\":2},\"detail_text\":\"{\\\"n\\\":2}\","
	    "\"prev_hash\":\"%s\",\"hash\":\"%s\"}", c.hash[0], c.hash[1]);
	ck_assert_str_eq(vjson_str(o, NULL), want);
	json_object_put(o);
}
END_TEST

/* A row edited by hand: a detail that is not JSON is shown as its text,
 * an unreadable time as null, a missing column as "". */
START_TEST(test_entry_json_damaged)
{
	struct audit_row r = { .id = "aud_9", .seq = 9, .at = "yesterday",
	    .actor = NULL, .action = "x", .object = "o", .detail = "{oops",
	    .prev_hash = "p", .hash = "h" };
	json_object *o;

	o = audit_entry_to_json(&r, 1);
	ck_assert_str_eq(vjson_str(o, NULL), "{\"id\":\"aud_9\","
	    "\"seq\":9,\"at\":null,\"actor\":\"\",\"action\":\"x\","
	    "\"object\":\"o\",\"detail\":\"{oops\","
	    "\"detail_text\":\"{oops\",\"prev_hash\":\"p\","
	    "\"hash\":\"h\"}");
	json_object_put(o);
}
END_TEST

START_TEST(test_export_json)
{
	struct chain c;
	struct audit_export x;
	json_object *o, *e;
	char want[256];

	build(&c);
	memset(&x, 0, sizeof(x));
	x.rows = &c.rows[2];
	x.n = 2;
	x.truncated = 1;
	x.head_seq = NROWS;
	snprintf(x.head_hash, sizeof(x.head_hash), "%s", c.hash[NROWS - 1]);
	/* 2026-05-15T18:42:11Z */
	o = audit_export_to_json(&x, "tnt_1", 1778870531);
	e = json_object_object_get(o, "entries");
	ck_assert_uint_eq(json_object_array_length(e), 2);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(
	    json_object_array_get_idx(e, 1), "seq")), 4);
	/* Entries in an export carry detail_text. */
	ck_assert_ptr_nonnull(json_object_object_get(
	    json_object_array_get_idx(e, 0), "detail_text"));
	/* Everything but the entries, in order. */
	json_object_object_add(o, "entries", json_object_new_array());
	snprintf(want, sizeof(want), "{\"exported_at\":"
	    "\"2026-05-15T18:42:11Z\",\"tenant_id\":\"tnt_1\","
	    "\"total_entries\":2,\"truncated\":true,\"entries\":[],"
	    "\"chain_head\":{\"seq\":%d,\"hash\":\"%s\"}}", NROWS,
	    c.hash[NROWS - 1]);
	ck_assert_str_eq(vjson_str(o, NULL), want);
	json_object_put(o);
}
END_TEST

/* An empty log: no entries, and the head is the genesis. */
START_TEST(test_export_json_empty)
{
	struct audit_export x;
	json_object *o;

	memset(&x, 0, sizeof(x));
	snprintf(x.head_hash, sizeof(x.head_hash), "%s", AUDIT_GENESIS);
	o = audit_export_to_json(&x, "tnt_1", 1778870531);
	ck_assert_str_eq(vjson_str(o, NULL), "{\"exported_at\":"
	    "\"2026-05-15T18:42:11Z\",\"tenant_id\":\"tnt_1\","
	    "\"total_entries\":0,\"truncated\":false,\"entries\":[],"
	    "\"chain_head\":{\"seq\":0,\"hash\":\"" AUDIT_GENESIS "\"}}");
	json_object_put(o);
}
END_TEST

Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("verify");

	tcase_add_test(tc, test_intact);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_hash_golden);
	tcase_add_loop_test(tc, test_modified_field, 0, 6);
	tcase_add_test(tc, test_modified_rehashed);
	tcase_add_test(tc, test_modified_rehashed_batch_edge);
	tcase_add_test(tc, test_modified_first_link);
	tcase_add_test(tc, test_deleted_middle);
	tcase_add_test(tc, test_deleted_several);
	tcase_add_test(tc, test_deleted_first);
	tcase_add_test(tc, test_deleted_last_needs_anchor);
	tcase_add_test(tc, test_reordered_swap);
	tcase_add_test(tc, test_reordered_moved_to_end);
	tcase_add_test(tc, test_out_of_order_input);
	tcase_add_test(tc, test_batches);
	tcase_add_test(tc, test_null_column);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_test(tc, test_entry_json);
	tcase_add_test(tc, test_entry_json_text);
	tcase_add_test(tc, test_entry_json_damaged);
	tcase_add_test(tc, test_export_json);
	tcase_add_test(tc, test_export_json_empty);
	suite_add_tcase(s, tc);
	return s;
}
