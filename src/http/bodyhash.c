/* bodyhash.c: see bodyhash.h. A form's hash is the SHA-256 of, for each
 * part in order: its name, filename and Content-Type, each as an 8-byte
 * big-endian length and its bytes (a part without a filename parameter
 * has the length 2^64 - 1 and no bytes, unlike an empty one), then its
 * content's length (8 bytes) and the hex SHA-256 of its content (64
 * bytes). Everything is counted, so no two forms give the same bytes to
 * hash. The whole is preceded by "multipart/form-data". (A body of
 * another type is hashed as its raw bytes, unprefixed, so one whose
 * bytes are exactly a form's encoding would hash alike: a key is
 * compared only with the same API key's same operation, so only a
 * client confusing itself could meet that.) */
#include "vigil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodyhash.h"
#include "crypto.h"
#include "multipart.h"

#define FORM_PREFIX "multipart/form-data"
#define FAILED_FORM 1	/* malformed: no hash */
#define FAILED_SSL  2	/* OpenSSL or memory: -1 */

struct body_hash {
	struct crypto_sha256_ctx *all;	/* the bytes', or the form's */
	struct crypto_sha256_ctx *part;	/* the current part's content */
	struct multipart	*mp;	/* NULL: not a form */
	uint64_t		 partlen;
	int			 failed;	/* FAILED_FORM, FAILED_SSL */
};

static void
put_len(struct crypto_sha256_ctx *c, uint64_t n)
{
	unsigned char b[8];
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(n & 0xff);
		n >>= 8;
	}
	crypto_sha256_update(c, b, sizeof(b));
}

static void
put_field(struct crypto_sha256_ctx *c, const char *s, size_t len)
{
	put_len(c, len);
	crypto_sha256_update(c, s, len);
}

static int
on_event(void *arg, enum multipart_event ev, const char *data, size_t len)
{
	struct body_hash *h = arg;
	const struct multipart_part *pt = &h->mp->part;
	char hex[CRYPTO_SHA256_HEX];

	switch (ev) {
	case MULTIPART_PART:
		put_field(h->all, pt->name, strlen(pt->name));
		if (pt->has_filename)
			put_field(h->all, pt->filename, pt->filename_len);
		else
			put_len(h->all, UINT64_MAX);
		put_field(h->all, pt->ctype, strlen(pt->ctype));
		if ((h->part = crypto_sha256_begin()) == NULL)
			return FAILED_SSL;
		h->partlen = 0;
		break;
	case MULTIPART_DATA:
		crypto_sha256_update(h->part, data, len);
		h->partlen += len;
		break;
	case MULTIPART_PART_END:
		if (crypto_sha256_end_hex(h->part, hex) != 0)
			return FAILED_SSL;
		crypto_sha256_free(h->part);
		h->part = NULL;
		put_len(h->all, h->partlen);
		crypto_sha256_update(h->all, hex, CRYPTO_SHA256_HEX - 1);
		break;
	case MULTIPART_DONE:
		break;
	}
	return 0;
}

struct body_hash *
body_hash_begin(const char *content_type)
{
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	struct body_hash *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->all = crypto_sha256_begin()) == NULL)
		goto fail;
	if (content_type != NULL && multipart_boundary(content_type,
	    boundary, sizeof(boundary)) == 1) {
		if ((h->mp = malloc(sizeof(*h->mp))) == NULL)
			goto fail;
		multipart_init(h->mp, boundary);
		crypto_sha256_update(h->all, FORM_PREFIX,
		    sizeof(FORM_PREFIX) - 1);
	}
	return h;
fail:
	body_hash_free(h);
	return NULL;
}

int
body_hash_is_form(const struct body_hash *h)
{
	return h->mp != NULL;
}

void
body_hash_update(struct body_hash *h, const void *data, size_t len)
{
	int rc;

	if (len == 0 || h->failed)
		return;
	if (h->mp == NULL)
		crypto_sha256_update(h->all, data, len);
	else if ((rc = multipart_feed(h->mp, data, len, on_event, h)) != 0)
		h->failed = rc == FAILED_SSL ? FAILED_SSL : FAILED_FORM;
}

int
body_hash_end_hex(struct body_hash *h, char out[65])
{
	if (h->failed == FAILED_SSL)
		return -1;
	if (h->mp != NULL && (h->failed || multipart_finish(h->mp) != 0))
		return 1;
	return crypto_sha256_end_hex(h->all, out) == 0 ? 0 : -1;
}

void
body_hash_free(struct body_hash *h)
{
	if (h == NULL)
		return;
	crypto_sha256_free(h->all);
	crypto_sha256_free(h->part);
	free(h->mp);
	free(h);
}
