/* secrets.c: key rotation over every sealed secret at rest. A value is
 * re-sealed with a compare-and-set on its old text, one bounded
 * transaction per batch (db_tx_run), so the API, the spooler and the scanner go on
 * reading and writing the same rows: a reader opens either form with its
 * ring, and a writer's newer value always wins over a re-seal. */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "log.h"
#include "secrets.h"

/* The tables holding sealed values; aad is always the row's id. */
static const struct {
	const char	*name;
	enum db_stmt	 page, reseal;
} tables[] = {
	{ "webhooks", SQL_SECRETS_WEBHOOKS_PAGE, SQL_SECRETS_WEBHOOKS_RESEAL },
	{ "integrations", SQL_SECRETS_INTEGRATIONS_PAGE,
	    SQL_SECRETS_INTEGRATIONS_RESEAL },
};

#define SECRETS_BATCH_MAX 10000

/* The ring key index whose id the value names, or that opens a "v1."
 * value; -1 if none (why in err). */
static int
secrets_key_of(const struct crypto_ring *r, const char *sealed,
    const char *aad, char *err, size_t errsz)
{
	char	 id[CRYPTO_KEYID_LEN], *pt;
	size_t	 i, n;
	int	 kind;

	if ((kind = crypto_sealed_key_id(sealed, id)) == -1) {
		snprintf(err, errsz, "not a sealed value");
		return -1;
	}
	for (i = 0; i < r->n; i++) {
		if (kind == 1 && strcmp(id, r->k[i].id) != 0)
			continue;
		if (kind == 1)
			return (int)i;
		if ((pt = crypto_open(r->k[i].key, sealed, aad, &n)) != NULL) {
			crypto_wipe(pt, n);
			free(pt);
			return (int)i;
		}
	}
	if (kind == 1)
		snprintf(err, errsz, "sealed with key %s, not in the ring", id);
	else
		snprintf(err, errsz, "sealed before key ids; no key in the "
		    "ring opens it");
	return -1;
}

/* One batch, as db_tx_run runs it (and runs it again on a conflict):
 * inputs, and what the body hands back, reset at each run. */
struct secrets_batch {
	const struct crypto_ring	*ring;
	size_t				 t;        /* tables[t] */
	const char			*after;    /* ids after this one */
	size_t				 batch;
	size_t				 got;      /* rows read */
	char				 last[VIGIL_ID_LEN + 64];
	size_t				 resealed, unknown;
};

/* The body: a page of values not under the current key, each opened and
 * sealed again with a compare-and-set on its old text. 0 or a DB_* code. */
static int
secrets_batch_body(struct db *db, void *arg)
{
	struct secrets_batch *b = arg;
	const struct crypto_ring *r = b->ring;
	struct db_res *res = NULL;
	unsigned long long changed;
	const char *id, *old;
	char like[CRYPTO_KEYID_LEN + 8], why[160], *pt, *sealed;
	size_t i, n;
	int rc;

	b->got = b->resealed = b->unknown = 0;
	b->last[0] = '\0';
	/* Values of the current key are "v2.<id>.…": LIKE's only wildcards
	 * are % and _, which neither the prefix nor an id holds. */
	snprintf(like, sizeof(like), "v2.%s.%%", r->k[0].id);
	if ((rc = db_exec(db, tables[b->t].page, (struct db_val[]){
	    DB_STR(b->after), DB_STR(like), DB_INT(b->batch) }, 3, &res)) != 0)
		goto out;
	for (i = 0; i < res->nrows; i++) {
		id = db_cell(res, i, 0);
		old = db_cell(res, i, 1);
		pt = crypto_ring_open(r, old, id, &n, why, sizeof(why));
		if (pt == NULL) {
			log_err("secrets: %s %s: cannot be opened: %s",
			    tables[b->t].name, id, why);
			b->unknown++;
			continue;
		}
		sealed = crypto_ring_seal(r, pt, n, id);
		crypto_wipe(pt, n);
		free(pt);
		if (sealed == NULL) {
			rc = DB_ERR;
			goto out;
		}
		rc = db_exec_affected(db, tables[b->t].reseal, (struct db_val[]){
		    DB_STR(sealed), DB_STR(id), DB_STR(old) }, 3, &changed);
		free(sealed);
		if (rc != 0)
			goto out;
		/* 0 rows: rewritten meanwhile, by a writer sealing with its
		 * own current key; nothing to undo. */
		b->resealed += changed;
	}
	b->got = res->nrows;
	if (res->nrows > 0)
		snprintf(b->last, sizeof(b->last), "%s",
		    db_cell(res, res->nrows - 1, 0));
out:
	db_res_free(res);
	return rc;
}

/* One batch of table t after *after in one transaction (db_tx_run: run
 * again on a deadlock or a certification failure); once committed,
 * *after moves past it, *got is the rows read (fewer than batch: the
 * table is done) and tl counts them. 0 or a DB_* code. */
static int
secrets_batch(struct db *db, const struct crypto_ring *r, size_t t,
    char *after, size_t aftersz, size_t batch, size_t *got,
    struct secrets_tally *tl)
{
	struct secrets_batch b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.ring = r;
	b.t = t;
	b.after = after;
	b.batch = batch;
	*got = 0;
	if ((rc = db_tx_run(db, secrets_batch_body, &b)) != 0)
		return rc;
	*got = b.got;
	if (b.got > 0)
		snprintf(after, aftersz, "%s", b.last);
	tl->resealed += b.resealed;
	tl->unknown += b.unknown;
	return 0;
}

int
secrets_rotate(struct db *db, const struct crypto_ring *r, size_t batch,
    size_t max, struct secrets_tally *tl)
{
	struct secrets_tally census;
	char after[VIGIL_ID_LEN + 64];
	size_t t, got, want;
	int rc;

	memset(tl, 0, sizeof(*tl));
	if (batch == 0 || batch > SECRETS_BATCH_MAX)
		batch = 100;
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		after[0] = '\0';
		do {
			want = batch;
			if (max > 0 && max - tl->resealed < want)
				want = max - tl->resealed;
			if (want == 0)
				break;
			if ((rc = secrets_batch(db, r, t, after, sizeof(after),
			    want, &got, tl)) != 0)
				return rc;
		} while (got == want);
	}
	/* What is left for the next run, or for retiring the old key. */
	if ((rc = secrets_census(db, r, &census)) != 0)
		return rc;
	tl->left = census.unknown;
	for (t = 1; t < r->n; t++)
		tl->left += census.by_key[t];
	tl->unknown = census.unknown;
	return 0;
}

int
secrets_census(struct db *db, const struct crypto_ring *r,
    struct secrets_tally *tl)
{
	struct db_res *res = NULL;
	char after[VIGIL_ID_LEN + 64], why[160];
	const size_t batch = 500;
	size_t t, i, got;
	int rc = 0, k;

	memset(tl, 0, sizeof(*tl));
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		after[0] = '\0';
		do {
			/* NOT LIKE '' holds for every value: all of them. */
			if ((rc = db_exec(db, tables[t].page, (struct db_val[]){
			    DB_STR(after), DB_STR(""), DB_INT(batch) }, 3,
			    &res)) != 0)
				return rc;
			for (i = 0; i < res->nrows; i++) {
				snprintf(after, sizeof(after), "%s",
				    db_cell(res, i, 0));
				k = secrets_key_of(r, db_cell(res, i, 1),
				    db_cell(res, i, 0), why, sizeof(why));
				if (k >= 0) {
					tl->by_key[k]++;
					continue;
				}
				log_warn("secrets: %s %s: %s", tables[t].name,
				    db_cell(res, i, 0), why);
				tl->unknown++;
			}
			got = res->nrows;
			db_res_free(res);
			res = NULL;
		} while (got == batch);
	}
	return 0;
}
