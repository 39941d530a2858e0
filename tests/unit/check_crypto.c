/* check_crypto.c: digests, MACs, encodings and randomness. */
#include "vigil.h"

#include <check.h>
#include <string.h>

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

Suite *
crypto_suite(void)
{
	Suite	*s = suite_create("crypto");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_crypto_sha256);
	tcase_add_test(tc, test_crypto_hmac);
	tcase_add_test(tc, test_crypto_base64);
	tcase_add_test(tc, test_crypto_base64_roundtrip);
	tcase_add_test(tc, test_crypto_base64_bad);
	tcase_add_test(tc, test_crypto_random);
	tcase_add_test(tc, test_crypto_equal_wipe);
	suite_add_tcase(s, tc);
	return s;
}
