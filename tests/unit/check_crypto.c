/* check_crypto.c: digests, MACs, encodings, randomness and sealing. */
#include "vigil.h"

#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "suites.h"

START_TEST(test_crypto_sha256)
{
	static const struct {
		const char	*in;
		const char	*hex;
	} t[] = {
		{ "abc", "ba7816bf8f01cfea414140de5dae2223"
		    "b00361a396177a9cb410ff61f20015ad" },
		{ "", "e3b0c44298fc1c149afbf4c8996fb924"
		    "27ae41e4649b934ca495991b7852b855" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		    "248d6a61d20638b8e5c026930c3e6039"
		    "a33ce45964ff2167f6ecedd419db06c1" },
	};
	unsigned char	 md[CRYPTO_SHA256_LEN];
	char		 hex[CRYPTO_SHA256_HEX], hex2[CRYPTO_SHA256_HEX];
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		crypto_sha256_hex(t[i].in, strlen(t[i].in), hex);
		ck_assert_str_eq(hex, t[i].hex);
		crypto_sha256(t[i].in, strlen(t[i].in), md);
		crypto_hex(md, sizeof(md), hex2);
		ck_assert_str_eq(hex2, t[i].hex);
	}
}
END_TEST

/* The digest of bytes given in pieces is the digest of the whole,
 * wherever they are cut (a streamed body arrives as it arrives). */
START_TEST(test_crypto_sha256_pieces)
{
	static const char in[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	struct crypto_sha256_ctx *c;
	char	 hex[CRYPTO_SHA256_HEX];
	size_t	 cut, step, at, n;

	for (cut = 0; cut <= sizeof(in) - 1; cut++)
		for (step = 1; step <= 7; step += 3) {
			ck_assert_ptr_nonnull(c = crypto_sha256_begin());
			crypto_sha256_update(c, in, cut);
			for (at = cut; at < sizeof(in) - 1; at += n) {
				n = sizeof(in) - 1 - at < step ?
				    sizeof(in) - 1 - at : step;
				crypto_sha256_update(c, in + at, n);
			}
			ck_assert_int_eq(crypto_sha256_end_hex(c, hex), 0);
			ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039"
			    "a33ce45964ff2167f6ecedd419db06c1");
			crypto_sha256_free(c);
		}
	/* Nothing given: the digest of no bytes. */
	ck_assert_ptr_nonnull(c = crypto_sha256_begin());
	ck_assert_int_eq(crypto_sha256_end_hex(c, hex), 0);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	crypto_sha256_free(c);
	crypto_sha256_free(NULL);
}
END_TEST

START_TEST(test_crypto_hmac)
{
	/* RFC 4231 test cases 1, 2 and 6. */
	static unsigned char	 key1[20], key6[131];
	static const struct {
		const unsigned char	*key;
		size_t			 keylen;
		const char		*data;
		const char		*hex;
	} t[] = {
		{ key1, sizeof(key1), "Hi There",
		    "b0344c61d8db38535ca8afceaf0bf12b"
		    "881dc200c9833da726e9376c2e32cff7" },
		{ (const unsigned char *)"Jefe", 4,
		    "what do ya want for nothing?",
		    "5bdcc146bf60754e6a042426089575c7"
		    "5a003f089d2739839dec58b964ec3843" },
		{ key6, sizeof(key6),
		    "Test Using Larger Than Block-Size Key - Hash Key First",
		    "60e431591ee0b67f0d8a26aacbf5b77f"
		    "8e0bc6213728c5140546040f0ee37f54" },
	};
	unsigned char	 mac[CRYPTO_SHA256_LEN];
	char		 hex[CRYPTO_SHA256_HEX];
	size_t		 i;

	memset(key1, 0x0b, sizeof(key1));
	memset(key6, 0xaa, sizeof(key6));
	for (i = 0; i < NELEM(t); i++) {
		ck_assert_int_eq(crypto_hmac_sha256(t[i].key, t[i].keylen,
		    t[i].data, strlen(t[i].data), mac), 0);
		crypto_hex(mac, sizeof(mac), hex);
		ck_assert_str_eq(hex, t[i].hex);
	}
}
END_TEST

START_TEST(test_crypto_base64)
{
	static const struct {
		const char	*in;
		const char	*b64;
	} t[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
		{ "\xff\xfe\xfd", "//79" },
		{ "\xfb\xef", "++8=" },
	};
	char		 enc[64];
	unsigned char	 dec[64];
	size_t		 i, n;
	long		 got;

	for (i = 0; i < NELEM(t); i++) {
		n = strlen(t[i].in);
		ck_assert_uint_eq(crypto_base64((const unsigned char *)t[i].in,
		    n, enc), strlen(t[i].b64));
		ck_assert_str_eq(enc, t[i].b64);
		memset(dec, 0x55, sizeof(dec));
		got = crypto_unbase64(t[i].b64, strlen(t[i].b64), dec,
		    sizeof(dec));
		ck_assert_int_eq(got, (long)n);
		ck_assert_int_eq(memcmp(dec, t[i].in, n), 0);
		/* Padding must not be written out as zero bytes. */
		ck_assert_int_eq(dec[n], 0x55);
		/* Exactly the decoded length fits; one byte less does not. */
		ck_assert_int_eq(crypto_unbase64(t[i].b64, strlen(t[i].b64),
		    dec, n), (long)n);
		if (n > 0)
			ck_assert_int_eq(crypto_unbase64(t[i].b64,
			    strlen(t[i].b64), dec, n - 1), -1);
	}
}
END_TEST

START_TEST(test_crypto_base64_roundtrip)
{
	unsigned char	 in[300], out[300];
	char		 enc[4 * 100 + 1];
	size_t		 n, len;

	for (n = 0; n < 300; n++)
		in[n] = (unsigned char)(n * 37 + 11);
	for (n = 0; n <= 300; n += n < 8 ? 1 : 73) {
		len = crypto_base64(in, n, enc);
		ck_assert_uint_eq(len, 4 * ((n + 2) / 3));
		ck_assert_uint_eq(strlen(enc), len);
		ck_assert_int_eq(crypto_unbase64(enc, len, out, sizeof(out)),
		    (long)n);
		ck_assert_int_eq(memcmp(in, out, n), 0);
	}
}
END_TEST

START_TEST(test_crypto_base64_bad)
{
	static const char *const bad[] = {
		"Zg=", "Zg", "Z", "Zm9vY", "Zg==Zg==", "Z===", "====",
		"Zm9v\n", " Zm9v", "Zm9v ", "Zm-v", "Zm_v", "Zm9\x80",
		"Zh==",		/* stray bits in the padding */
		"Zm9=",		/* ditto */
		"=Zm9", "Zm=v",
	};
	unsigned char	 out[16];
	size_t		 i;

	for (i = 0; i < NELEM(bad); i++)
		ck_assert_msg(crypto_unbase64(bad[i], strlen(bad[i]), out,
		    sizeof(out)) == -1, "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_crypto_random)
{
	static const size_t	 lens[] = { 0, 1, 40, 200 };
	char			 a[201], b[201];
	unsigned char		 r1[32], r2[32];
	size_t			 i, j;
	int			 seen[62] = { 0 }, distinct = 0;

	for (i = 0; i < NELEM(lens); i++) {
		memset(a, 'x', sizeof(a));
		ck_assert_int_eq(crypto_random_base62(a, lens[i]), 0);
		ck_assert_uint_eq(strlen(a), lens[i]);
		for (j = 0; j < lens[i]; j++)
			ck_assert_ptr_nonnull(strchr("0123456789"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz", a[j]));
	}
	ck_assert_int_eq(crypto_random_base62(b, 200), 0);
	ck_assert_str_ne(a, b);
	/* 400 draws from 62 symbols touch nearly all of them. */
	for (j = 0; j < 200; j++) {
		seen[a[j] <= '9' ? a[j] - '0' : a[j] <= 'Z' ? a[j] - 'A' + 10 :
		    a[j] - 'a' + 36] = 1;
		seen[b[j] <= '9' ? b[j] - '0' : b[j] <= 'Z' ? b[j] - 'A' + 10 :
		    b[j] - 'a' + 36] = 1;
	}
	for (j = 0; j < 62; j++)
		distinct += seen[j];
	ck_assert_int_gt(distinct, 50);

	ck_assert_int_eq(crypto_random(r1, sizeof(r1)), 0);
	ck_assert_int_eq(crypto_random(r2, sizeof(r2)), 0);
	ck_assert_int_ne(memcmp(r1, r2, sizeof(r1)), 0);
}
END_TEST

START_TEST(test_crypto_equal_wipe)
{
	static const struct {
		const char	*a, *b;
		size_t		 n;
		int		 want;
	} t[] = {
		{ "abcdef", "abcdef", 6, 1 },
		{ "abcdef", "abcdeg", 6, 0 },
		{ "abcdef", "bbcdef", 6, 0 },
		{ "abcdef", "abcdeg", 5, 1 },
		{ "", "", 0, 1 },
	};
	unsigned char	 secret[16];
	size_t		 i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_int_eq(crypto_equal(t[i].a, t[i].b, t[i].n),
		    t[i].want);
	memset(secret, 0xa5, sizeof(secret));
	crypto_wipe(secret, sizeof(secret));
	for (i = 0; i < sizeof(secret); i++)
		ck_assert_int_eq(secret[i], 0);
}
END_TEST

static const unsigned char seal_key[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

START_TEST(test_crypto_seal_roundtrip)
{
	static const char *const pts[] = {
		"", "x", "client-secret~with.symbols_0123456789",
		"a longer secret that spans more than one AES block of data",
	};
	char	*s1, *s2, *pt;
	size_t	 i, n;

	for (i = 0; i < NELEM(pts); i++) {
		s1 = crypto_seal(seal_key, pts[i], strlen(pts[i]), "int_1");
		ck_assert_ptr_nonnull(s1);
		ck_assert_int_eq(strncmp(s1, "v1.", 3), 0);
		/* 12-byte nonce + plaintext + 16-byte tag, base64. */
		ck_assert_uint_eq(strlen(s1),
		    3 + 4 * ((12 + strlen(pts[i]) + 16 + 2) / 3));
		if (strlen(pts[i]) > 8)
			ck_assert_ptr_null(strstr(s1, pts[i]));
		/* A fresh nonce each time: the same input seals differently. */
		s2 = crypto_seal(seal_key, pts[i], strlen(pts[i]), "int_1");
		ck_assert_ptr_nonnull(s2);
		ck_assert_str_ne(s1, s2);
		pt = crypto_open(seal_key, s1, "int_1", &n);
		ck_assert_ptr_nonnull(pt);
		ck_assert_uint_eq(n, strlen(pts[i]));
		ck_assert_str_eq(pt, pts[i]);
		crypto_wipe(pt, n);
		free(pt);
		pt = crypto_open(seal_key, s2, "int_1", NULL);
		ck_assert_ptr_nonnull(pt);
		ck_assert_str_eq(pt, pts[i]);
		free(pt);
		free(s1);
		free(s2);
	}
	/* No aad: NULL and "" are the same (nothing authenticated). */
	s1 = crypto_seal(seal_key, "abc", 3, NULL);
	ck_assert_ptr_nonnull(s1);
	pt = crypto_open(seal_key, s1, NULL, &n);
	ck_assert_ptr_nonnull(pt);
	ck_assert_str_eq(pt, "abc");
	free(pt);
	ck_assert_ptr_null(crypto_open(seal_key, s1, "int_1", &n));
	free(s1);
	/* Binary plaintext with a NUL inside survives with its length. */
	s1 = crypto_seal(seal_key, "a\0b", 3, "x");
	pt = crypto_open(seal_key, s1, "x", &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(memcmp(pt, "a\0b", 4), 0);
	free(pt);
	free(s1);
}
END_TEST

START_TEST(test_crypto_seal_tamper)
{
	unsigned char	 other[32], raw[128];
	char		*s, *t, enc[200];
	size_t		 n, i, len;
	long		 rawlen;

	memcpy(other, seal_key, sizeof(other));
	other[31] ^= 0x01;
	s = crypto_seal(seal_key, "hunter2-secret", 14, "int_1");
	ck_assert_ptr_nonnull(s);
	n = 99;
	ck_assert_ptr_null(crypto_open(other, s, "int_1", &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(crypto_open(seal_key, s, "int_2", NULL));
	ck_assert_ptr_null(crypto_open(seal_key, s, NULL, NULL));
	ck_assert_ptr_null(crypto_open(seal_key, s, "int_1x", NULL));

	/* Flip one bit of every byte in turn: nonce (0..11), ciphertext
	 * (12..25) and tag (26..41) are all covered. */
	len = strlen(s + 3);
	rawlen = crypto_unbase64(s + 3, len, raw, sizeof(raw));
	ck_assert_int_eq(rawlen, 12 + 14 + 16);
	for (i = 0; i < (size_t)rawlen; i++) {
		raw[i] ^= 0x80;
		memcpy(enc, "v1.", 3);
		crypto_base64(raw, (size_t)rawlen, enc + 3);
		ck_assert_msg(crypto_open(seal_key, enc, "int_1", NULL) ==
		    NULL, "byte %zu flipped but opened", i);
		raw[i] ^= 0x80;
	}
	/* Truncated: drop the last tag byte, and shorter than nonce+tag. */
	memcpy(enc, "v1.", 3);
	crypto_base64(raw, (size_t)rawlen - 1, enc + 3);
	ck_assert_ptr_null(crypto_open(seal_key, enc, "int_1", NULL));
	crypto_base64(raw, 27, enc + 3);
	ck_assert_ptr_null(crypto_open(seal_key, enc, "int_1", NULL));
	crypto_base64(raw, 0, enc + 3);
	ck_assert_ptr_null(crypto_open(seal_key, enc, "int_1", NULL));
	/* Truncated text (no longer valid base64). */
	t = strdup(s);
	t[strlen(t) - 1] = '\0';
	ck_assert_ptr_null(crypto_open(seal_key, t, "int_1", NULL));
	free(t);
	/* Bad prefixes and garbage. */
	ck_assert_ptr_null(crypto_open(seal_key, s + 3, "int_1", NULL));
	t = strdup(s);
	t[1] = '2';
	ck_assert_ptr_null(crypto_open(seal_key, t, "int_1", NULL));
	t[0] = 'V';
	t[1] = '1';
	ck_assert_ptr_null(crypto_open(seal_key, t, "int_1", NULL));
	free(t);
	ck_assert_ptr_null(crypto_open(seal_key, "", NULL, NULL));
	ck_assert_ptr_null(crypto_open(seal_key, "v1.", NULL, NULL));
	ck_assert_ptr_null(crypto_open(seal_key, "v1.!!!!", NULL, NULL));
	ck_assert_ptr_null(crypto_open(seal_key, NULL, NULL, NULL));
	/* The untouched original still opens. */
	t = crypto_open(seal_key, s, "int_1", NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t, "hunter2-secret");
	free(t);
	free(s);
}
END_TEST

/* Write content to a fresh file in dir with mode; returns its path in p. */
static void
write_key_file(const char *dir, const char *name, const void *content,
    size_t n, mode_t mode, char *p, size_t psz)
{
	FILE	*f;

	snprintf(p, psz, "%s/%s", dir, name);
	f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(content, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(p, mode), 0);
}

START_TEST(test_crypto_load_key)
{
	static const struct {
		const char	*name;
		const char	*content;	/* NULL: the raw key */
		mode_t		 mode;
		int		 want;
	} t[] = {
		{ "raw", NULL, 0600, 0 },
		{ "raw400", NULL, 0400, 0 },
		{ "hex", "000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1f", 0600, 0 },
		{ "hexnl", "000102030405060708090A0B0C0D0E0F"
		    "101112131415161718191A1B1C1D1E1F\n", 0600, 0 },
		{ "hexcrlf", "000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1f\r\n", 0600, 0 },
		{ "b64", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0600,
		    0 },
		{ "b64nl", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		    0600, 0 },
		{ "grp", "000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1f", 0640, -1 },
		{ "oth", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0604,
		    -1 },
		{ "rawgrp", NULL, 0660, -1 },
		{ "short", "0001020304", 0600, -1 },
		{ "badhex", "000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1g", 0600, -1 },
		{ "hex63", "000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1", 0600, -1 },
		{ "b64short", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",
		    0600, -1 },
		{ "long", "000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1f00", 0600, -1 },
		{ "empty", "", 0600, -1 },
	};
	char		 dir[] = "/tmp/vigil-keyXXXXXX", p[256], err[256];
	unsigned char	 key[32];
	size_t		 i;
	int		 rc;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (i = 0; i < NELEM(t); i++) {
		if (t[i].content == NULL)
			write_key_file(dir, t[i].name, seal_key,
			    sizeof(seal_key), t[i].mode, p, sizeof(p));
		else
			write_key_file(dir, t[i].name, t[i].content,
			    strlen(t[i].content), t[i].mode, p, sizeof(p));
		memset(key, 0xee, sizeof(key));
		err[0] = '\0';
		rc = crypto_load_key(p, key, err, sizeof(err));
		ck_assert_msg(rc == t[i].want, "%s: rc %d (%s)", t[i].name,
		    rc, err);
		if (rc == 0)
			ck_assert_int_eq(memcmp(key, seal_key, 32), 0);
		else {
			ck_assert_msg(err[0] != '\0', "%s: no error",
			    t[i].name);
			ck_assert_ptr_nonnull(strstr(err, t[i].name));
		}
		if (t[i].mode & 077)
			ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
		unlink(p);
	}
	ck_assert_int_eq(crypto_load_key("/nonexistent/vigil.key", key, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/vigil.key"));
	/* A directory is not a key file. */
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(crypto_load_key(dir, key, err, sizeof(err)), -1);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A ring seals under its current key with that key's id, opens values of
 * every key it holds (and "v1." values sealed before ids), and names the
 * key of a value it cannot open. */
START_TEST(test_crypto_ring)
{
	static const char	 kold[] = "000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f\n";
	static const char	 knew[] = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
	    "e0e1e2e3e4e5e6e7e8e9eaebecedeeef\n";
	struct crypto_ring	 oldr, both, newr;
	char			 dir[] = "/tmp/vigil-ringXXXXXX", po[256],
				 pn[256], pb[256], prev[600], err[256],
				 id[CRYPTO_KEYID_LEN], *v1, *v2o, *v2n, *pt;
	size_t			 n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_key_file(dir, "old", kold, strlen(kold), 0600, po, sizeof(po));
	write_key_file(dir, "new", knew, strlen(knew), 0600, pn, sizeof(pn));
	write_key_file(dir, "bad", "short", 5, 0600, pb, sizeof(pb));
	ck_assert_int_eq(crypto_ring_load(&oldr, po, NULL, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(oldr.n, 1);
	/* new current, old previous (twice, and commas: kept once) */
	snprintf(prev, sizeof(prev), " %s,%s ", po, po);
	ck_assert_int_eq(crypto_ring_load(&both, pn, prev, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(both.n, 2);
	ck_assert_str_eq(both.k[1].id, oldr.k[0].id);
	ck_assert_str_ne(both.k[0].id, oldr.k[0].id);
	ck_assert_int_eq(crypto_ring_load(&newr, pn, "", err,
	    sizeof(err)), 0);
	/* A bad previous key fails the whole ring, naming the file. */
	snprintf(prev, sizeof(prev), "%s %s", po, pb);
	ck_assert_int_eq(crypto_ring_load(&oldr, pn, prev, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, pb));
	ck_assert_int_eq(crypto_ring_load(&oldr, "/nonexistent/k", NULL, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(crypto_ring_load(&oldr, po, NULL, err,
	    sizeof(err)), 0);

	v1 = crypto_seal(oldr.k[0].key, "s3cret", 6, "wh_1");
	v2o = crypto_ring_seal(&oldr, "s3cret", 6, "wh_1");
	v2n = crypto_ring_seal(&both, "s3cret", 6, "wh_1");
	ck_assert_ptr_nonnull(v1);
	ck_assert_ptr_nonnull(v2o);
	ck_assert_ptr_nonnull(v2n);
	ck_assert_int_eq(crypto_sealed_key_id(v1, id), 0);
	ck_assert_int_eq(crypto_sealed_key_id(v2o, id), 1);
	ck_assert_str_eq(id, oldr.k[0].id);
	ck_assert_int_eq(crypto_sealed_key_id(v2n, id), 1);
	ck_assert_str_eq(id, both.k[0].id);
	ck_assert_int_eq(crypto_sealed_key_id("v2.zz.abc", id), -1);
	ck_assert_int_eq(crypto_sealed_key_id("v3.", id), -1);

	/* The ring mid-rotation opens all three. */
	pt = crypto_ring_open(&both, v1, "wh_1", &n, err, sizeof(err));
	ck_assert_ptr_nonnull(pt);
	ck_assert_str_eq(pt, "s3cret");
	free(pt);
	pt = crypto_ring_open(&both, v2o, "wh_1", &n, err, sizeof(err));
	ck_assert_ptr_nonnull(pt);
	ck_assert_uint_eq(n, 6);
	free(pt);
	pt = crypto_ring_open(&both, v2n, "wh_1", &n, err, sizeof(err));
	ck_assert_ptr_nonnull(pt);
	free(pt);
	/* Another row's aad: refused, with the key named. */
	ck_assert_ptr_null(crypto_ring_open(&both, v2n, "wh_2", &n, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, both.k[0].id));
	/* The old key alone cannot open the new value: its id is named as
	 * not in the ring. */
	ck_assert_ptr_null(crypto_ring_open(&oldr, v2n, "wh_1", &n, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, both.k[0].id));
	ck_assert_ptr_nonnull(strstr(err, "previous_key_files"));
	/* The new key alone (old retired too early) opens neither old
	 * form. */
	ck_assert_ptr_null(crypto_ring_open(&newr, v2o, "wh_1", &n, err,
	    sizeof(err)));
	ck_assert_ptr_null(crypto_ring_open(&newr, v1, "wh_1", &n, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "no key"));
	ck_assert_ptr_null(crypto_ring_open(&newr, "garbage", "wh_1", &n,
	    err, sizeof(err)));
	ck_assert_ptr_null(crypto_ring_open(&newr, NULL, "wh_1", &n, NULL,
	    0));

	free(v1);
	free(v2o);
	free(v2n);
	crypto_ring_wipe(&oldr);
	crypto_ring_wipe(&both);
	crypto_ring_wipe(&newr);
	unlink(po);
	unlink(pn);
	unlink(pb);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

Suite *
crypto_suite(void)
{
	Suite	*s = suite_create("crypto");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_crypto_sha256);
	tcase_add_test(tc, test_crypto_sha256_pieces);
	tcase_add_test(tc, test_crypto_hmac);
	tcase_add_test(tc, test_crypto_base64);
	tcase_add_test(tc, test_crypto_base64_roundtrip);
	tcase_add_test(tc, test_crypto_base64_bad);
	tcase_add_test(tc, test_crypto_random);
	tcase_add_test(tc, test_crypto_equal_wipe);
	tcase_add_test(tc, test_crypto_seal_roundtrip);
	tcase_add_test(tc, test_crypto_seal_tamper);
	tcase_add_test(tc, test_crypto_load_key);
	tcase_add_test(tc, test_crypto_ring);
	suite_add_tcase(s, tc);
	return s;
}
