/* fuzz_multipart.c: libFuzzer target for the streaming multipart/form-data
 * reader (multipart.c). The input's first line is a Content-Type value,
 * the rest the body. Checks: a boundary found is 1-70 bytes; the events
 * come in order (content only inside a part, a part ended before the next
 * begins, nothing after the closing delimiter); no more content comes out
 * than went in; and feeding the body whole, one byte at a time or in
 * pieces of a size the input chooses gives the same events, content, part
 * headers and result; and the hash an Idempotency-Key keeps for the body
 * (bodyhash.c) is the same in all three, and a form's is had only when
 * the reader read it whole. Built by "make fuzz". */
#include "vigil.h"

#include <string.h>

#include "bodyhash.h"
#include "crypto.h"
#include "fuzz.h"
#include "multipart.h"

struct trace {
	const struct multipart *m;
	unsigned long long hash;	/* FNV-1a over the events and headers */
	unsigned long long chash;	/* FNV-1a over the content */
	size_t	 content;
	int	 in_part, done, parts;
};

static void
mix(unsigned long long *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0) {
		*h ^= *b++;
		*h *= 1099511628211ULL;
	}
}

static int
on_event(void *arg, enum multipart_event ev, const char *data, size_t len)
{
	struct trace *t = arg;
	const struct multipart_part *pt = &t->m->part;
	unsigned char e = (unsigned char)ev;

	FUZZ_CHECK(!t->done);
	/* How content is cut into events depends on the pieces: only
	 * its bytes count, in chash. */
	if (ev != MULTIPART_DATA)
		mix(&t->hash, &e, 1);
	switch (ev) {
	case MULTIPART_PART:
		FUZZ_CHECK(!t->in_part);
		FUZZ_CHECK(pt->name[0] != '\0');
		FUZZ_CHECK(pt->filename_len < sizeof(pt->filename));
		FUZZ_CHECK(pt->has_filename || pt->filename_len == 0);
		mix(&t->hash, pt->name, strlen(pt->name) + 1);
		mix(&t->hash, pt->filename, pt->filename_len);
		mix(&t->hash, pt->ctype, strlen(pt->ctype) + 1);
		t->in_part = 1;
		t->parts++;
		break;
	case MULTIPART_DATA:
		FUZZ_CHECK(t->in_part && len > 0 && data != NULL);
		mix(&t->chash, data, len);
		t->content += len;
		break;
	case MULTIPART_PART_END:
		FUZZ_CHECK(t->in_part);
		t->in_part = 0;
		break;
	case MULTIPART_DONE:
		FUZZ_CHECK(!t->in_part);
		t->done = 1;
		break;
	}
	return 0;
}

static int
run(const char *boundary, const char *body, size_t len, size_t step,
    struct trace *t)
{
	struct multipart m;
	size_t off, n;
	int rc;

	memset(t, 0, sizeof(*t));
	t->hash = t->chash = 14695981039346656037ULL;
	t->m = &m;
	multipart_init(&m, boundary);
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		if ((rc = multipart_feed(&m, body + off, n, on_event, t)) != 0)
			return rc;
	}
	return multipart_finish(&m);
}

/* body_hash_end_hex of body under ct, fed step bytes at a time. */
static int
hashed(const char *ct, const char *body, size_t len, size_t step,
    char hex[CRYPTO_SHA256_HEX])
{
	struct body_hash *h;
	size_t off, n;
	int rc;

	FUZZ_CHECK((h = body_hash_begin(ct)) != NULL);
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		body_hash_update(h, body + off, n);
	}
	rc = body_hash_end_hex(h, hex);
	body_hash_free(h);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ct[512], boundary[MULTIPART_BOUNDARY_MAX + 1];
	const char *nl, *body;
	char h0[CRYPTO_SHA256_HEX], h1[CRYPTO_SHA256_HEX],
	    h2[CRYPTO_SHA256_HEX];
	struct trace whole, bytes, pieces;
	size_t ctlen, blen, step;
	int rc, rc1, rc2, ctrc;

	nl = memchr(data, '\n', size);
	ctlen = nl ? (size_t)(nl - (const char *)data) : size;
	if (ctlen >= sizeof(ct) || memchr(data, '\0', ctlen) != NULL)
		return 0;
	memcpy(ct, data, ctlen);
	ct[ctlen] = '\0';
	rc = ctrc = multipart_boundary(ct, boundary, sizeof(boundary));
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	if (rc != 1) {
		/* The body as if the boundary were "b". */
		memcpy(boundary, "b", 2);
	} else
		FUZZ_CHECK(strlen(boundary) >= 1 &&
		    strlen(boundary) <= MULTIPART_BOUNDARY_MAX);
	body = nl ? nl + 1 : "";
	blen = nl ? size - ctlen - 1 : 0;
	step = blen > 0 ? 1 + (unsigned char)body[0] % 97 : 1;
	rc = run(boundary, body, blen, blen ? blen : 1, &whole);
	rc1 = run(boundary, body, blen, 1, &bytes);
	rc2 = run(boundary, body, blen, step, &pieces);
	FUZZ_CHECK(whole.content <= blen);
	FUZZ_CHECK(rc == rc1 && rc == rc2);
	FUZZ_CHECK(whole.hash == bytes.hash && whole.hash == pieces.hash);
	FUZZ_CHECK(whole.chash == bytes.chash && whole.chash == pieces.chash);
	FUZZ_CHECK(whole.content == bytes.content &&
	    whole.content == pieces.content);
	FUZZ_CHECK(whole.parts == bytes.parts && whole.done == bytes.done);
	FUZZ_CHECK(rc != 0 || whole.done);

	rc = hashed(ct, body, blen, blen ? blen : 1, h0);
	FUZZ_CHECK(rc == hashed(ct, body, blen, 1, h1));
	FUZZ_CHECK(rc == hashed(ct, body, blen, step, h2));
	FUZZ_CHECK(rc >= 0);
	/* Not a form: always a hash; a form: one if it was read whole. */
	FUZZ_CHECK(rc == (ctrc == 1 && (rc1 != 0 || !whole.done)));
	if (rc == 0)
		FUZZ_CHECK(strcmp(h0, h1) == 0 && strcmp(h0, h2) == 0);
	return 0;
}
