/* test_crypto.c — known answers and refusals of crypto.c's primitives. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"

/* Hex of n bytes, in a static buffer: for comparing with known answers. */
static const char *
hex(const void *p, size_t n)
{
	static char	out[2 * 256 + 1];

	assert_true(n <= 256);
	hex_encode(p, n, out);
	return out;
}

static void
test_sha256_known_answers(void **state)
{
	unsigned char	md[SHA256_LEN];

	(void)state;
	/* FIPS 180-2 appendix B.1, and the empty message. */
	sha256("abc", 3, md);
	assert_string_equal(hex(md, sizeof(md)),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256("", 0, md);
	assert_string_equal(hex(md, sizeof(md)),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_hmac_sha256_rfc4231(void **state)
{
	unsigned char	mac[SHA256_LEN], key[131];
	static const char
	    msg6[] = "Test Using Larger Than Block-Size Key - Hash Key First";

	(void)state;
	/* Test case 2: a key shorter than the block. */
	assert_int_equal(hmac_sha256("Jefe", 4,
	    "what do ya want for nothing?", 28, mac), 0);
	assert_string_equal(hex(mac, sizeof(mac)),
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* Test case 6: a key longer than the block is hashed first. */
	memset(key, 0xaa, sizeof(key));
	assert_int_equal(hmac_sha256(key, sizeof(key), msg6,
	    sizeof(msg6) - 1, mac), 0);
	assert_string_equal(hex(mac, sizeof(mac)),
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	/* Empty key and message (NULL pointers allowed at length 0). */
	assert_int_equal(hmac_sha256(NULL, 0, NULL, 0, mac), 0);
	assert_string_equal(hex(mac, sizeof(mac)),
	    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void
test_b64url_encodes_rfc4648_vectors(void **state)
{
	static const struct {
		const char	*in, *out;
	} v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
		/* The two characters that differ from base64: - and _. */
		{ "\xfb\xff", "-_8" }, { "\xfb\xef\xbe", "----" },
		{ "\xff\xff\xff", "____" },
	};
	char		out[32];
	unsigned char	back[32];
	size_t		i, n, got;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = strlen(v[i].in);
		assert_int_equal(b64url_encoded_len(n), strlen(v[i].out));
		assert_int_equal(b64url_encode(v[i].in, n, out, sizeof(out)),
		    0);
		assert_string_equal(out, v[i].out);
		assert_int_equal(b64url_decode(out, strlen(out), back,
		    sizeof(back), &got), 0);
		assert_int_equal(got, n);
		assert_memory_equal(back, v[i].in, n);
	}
}

static void
test_b64url_encode_needs_room_for_the_nul(void **state)
{
	char	out[9];

	(void)state;
	assert_int_equal(b64url_encode("foobar", 6, out, 8), -1);
	assert_int_equal(b64url_encode("foobar", 6, out, 9), 0);
	assert_string_equal(out, "Zm9vYmFy");
	assert_int_equal(b64url_encode("fooba", 5, out, 7), -1);
	assert_int_equal(b64url_encode("fooba", 5, out, 8), 0);
	assert_string_equal(out, "Zm9vYmE");
	assert_int_equal(b64url_encode("", 0, out, 0), -1);
}

/* The decoder's refusals, as a table: each must give -1. */
static void
test_b64url_decode_refuses_all_but_the_canonical_form(void **state)
{
	static const char *const bad[] = {
		"Zg==", "Zg=", "Zm8=", "=", "Zm9v====",	/* padding */
		"Zh", "Zm9", "Zm9vYh", "_9",	/* trailing bits not zero */
		"Z", "Zm9vY", "Zm9vYmFyZ",	/* length 1 mod 4 */
		"Zm+v", "Zm/v", "Zm9v\n", "Zm 9", " Zm9v", "Zm9v.",
		"Zm\xc3\xa9v", "Zm*v",
	};
	unsigned char	out[32];
	size_t		i, got = 99;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out),
		    &got) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* A NUL inside is a character like any other that is not base64. */
	assert_int_equal(b64url_decode("Zm\0v", 4, out, sizeof(out), &got), -1);
	assert_int_equal(got, 99);	/* untouched on failure */
}

static void
test_b64url_decode_checks_the_output_size(void **state)
{
	unsigned char	out[6];
	size_t		got;

	(void)state;
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, 5, &got), -1);
	assert_int_equal(b64url_decode("Zm9vYmE", 7, out, 4, &got), -1);
	assert_int_equal(b64url_decode("Zm9vYmE", 7, out, 5, &got), 0);
	assert_int_equal(got, 5);
	assert_int_equal(b64url_decode("", 0, NULL, 0, &got), 0);
	assert_int_equal(got, 0);
}

static void
test_b64url_round_trips_every_length_and_byte(void **state)
{
	unsigned char	in[256], back[256];
	char		text[400];
	size_t		n, got;

	(void)state;
	for (n = 0; n < sizeof(in); n++)
		in[n] = (unsigned char)(255 - n);
	for (n = 0; n <= sizeof(in); n++) {
		assert_int_equal(b64url_encode(in, n, text, sizeof(text)), 0);
		assert_int_equal(strlen(text), b64url_encoded_len(n));
		assert_int_equal(b64url_decode(text, strlen(text), back,
		    sizeof(back), &got), 0);
		assert_int_equal(got, n);
		assert_memory_equal(back, in, n);
	}
}

static void
test_hex_encodes_lower_case_and_decodes_strictly(void **state)
{
	unsigned char	out[4];
	char		text[9];

	(void)state;
	hex_encode("\x00\x9f\xa0\xff", 4, text);
	assert_string_equal(text, "009fa0ff");
	assert_int_equal(hex_decode("009fA0Ff", 8, out, 4), 0);
	assert_memory_equal(out, "\x00\x9f\xa0\xff", 4);
	assert_int_equal(hex_decode("", 0, out, 0), 0);
	/* Exactly 2 * outlen digits, nothing else. */
	assert_int_equal(hex_decode("009fa0f", 7, out, 4), -1);
	assert_int_equal(hex_decode("009fa0ff00", 10, out, 4), -1);
	assert_int_equal(hex_decode("009fa0", 6, out, 4), -1);
	assert_int_equal(hex_decode("009fa0fg", 8, out, 4), -1);
	assert_int_equal(hex_decode(" 09fa0ff", 8, out, 4), -1);
	assert_int_equal(hex_decode("0x9fa0ff", 8, out, 4), -1);
	assert_int_equal(hex_decode("009f\0a0f", 8, out, 4), -1);
	/* The half written before the fault is wiped. */
	memset(out, 0x55, sizeof(out));
	assert_int_equal(hex_decode("ffffffzz", 8, out, 4), -1);
	assert_memory_equal(out, "\0\0\0\x55", 4);
}

static void
test_crypto_equal_needs_equal_length_and_content(void **state)
{
	(void)state;
	assert_int_equal(crypto_equal("abcd", 4, "abcd", 4), 1);
	assert_int_equal(crypto_equal("abcd", 4, "abce", 4), 0);
	assert_int_equal(crypto_equal("abcd", 4, "bbcd", 4), 0);
	assert_int_equal(crypto_equal("abcd", 4, "abc", 3), 0);
	assert_int_equal(crypto_equal("abc", 3, "abcd", 4), 0);
	assert_int_equal(crypto_equal("", 0, "", 0), 1);
}

static void
test_crypto_random_fills_and_differs(void **state)
{
	unsigned char	a[32], b[32], zero[32];

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(zero, 0, sizeof(zero));
	assert_int_equal(crypto_random(a, sizeof(a)), 0);
	assert_int_equal(crypto_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(crypto_random(a, 0), 0);
}

static void
test_scrypt_rfc7914_vectors(void **state)
{
	unsigned char	out[64];

	(void)state;
	/* RFC 7914 §12, the first two vectors. */
	assert_int_equal(scrypt_raw("", 0, "", 0, 16, 1, 1, out, 64), 0);
	assert_string_equal(hex(out, 64),
	    "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
	    "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
	assert_int_equal(scrypt_raw("password", 8, "NaCl", 4, 1024, 8, 16,
	    out, 64), 0);
	assert_string_equal(hex(out, 64),
	    "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
	    "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
	/* N must be a power of 2. */
	assert_int_equal(scrypt_raw("password", 8, "NaCl", 4, 1000, 8, 1,
	    out, 64), -1);
}

/* Cheap parameters for the tests that do not measure the cost. */
static const struct pw_params fast = { 10, 8, 1 };

static void
test_password_hash_has_the_documented_form(void **state)
{
	char		h[PW_HASH_MAX], h2[PW_HASH_MAX];
	unsigned char	raw[PW_HASH_LEN];
	size_t		got;

	(void)state;
	assert_int_equal(password_hash("correct horse", &fast, h,
	    sizeof(h)), 0);
	/* $scrypt$ln=10,r=8,p=1$ + 22 + $ + 43 */
	assert_int_equal(strncmp(h, "$scrypt$ln=10,r=8,p=1$", 22), 0);
	assert_int_equal(strlen(h), 22 + 22 + 1 + 43);
	assert_int_equal(h[44], '$');
	assert_int_equal(b64url_decode(h + 22, 22, raw, PW_SALT_LEN, &got), 0);
	assert_int_equal(got, PW_SALT_LEN);
	assert_int_equal(b64url_decode(h + 45, 43, raw, PW_HASH_LEN, &got), 0);
	assert_int_equal(got, PW_HASH_LEN);
	/* A fresh salt every time. */
	assert_int_equal(password_hash("correct horse", &fast, h2,
	    sizeof(h2)), 0);
	assert_string_not_equal(h, h2);
	/* The output buffer must hold it all. */
	assert_int_equal(password_hash("x", &fast, h, strlen(h2)), -1);
	assert_string_equal(h, "");
}

static void
test_password_verify_matches_only_the_password(void **state)
{
	char	h[PW_HASH_MAX];
	int	rehash = -1;

	(void)state;
	assert_int_equal(password_hash("correct horse", &fast, h,
	    sizeof(h)), 0);
	assert_int_equal(password_verify("correct horse", h, &rehash), 1);
	assert_int_equal(password_verify("correct horsf", h, &rehash), 0);
	assert_int_equal(rehash, 0);
	assert_int_equal(password_verify("correct hors", h, NULL), 0);
	assert_int_equal(password_verify("Correct horse", h, NULL), 0);
	assert_int_equal(password_verify("", h, NULL), 0);
	/* UTF-8 is bytes: é composed and decomposed are two passwords. */
	assert_int_equal(password_hash("caf\xc3\xa9", &fast, h, sizeof(h)), 0);
	assert_int_equal(password_verify("caf\xc3\xa9", h, NULL), 1);
	assert_int_equal(password_verify("cafe\xcc\x81", h, NULL), 0);
}

static void
test_password_default_parameters_round_trip(void **state)
{
	char	h[PW_HASH_MAX];
	int	rehash = -1;

	(void)state;
	assert_int_equal(password_hash("s3cret!", &PW_DEFAULT, h,
	    sizeof(h)), 0);
	assert_int_equal(strncmp(h, "$scrypt$ln=15,r=8,p=1$", 22), 0);
	assert_int_equal(password_verify("s3cret!", h, &rehash), 1);
	assert_int_equal(rehash, 0);
	assert_int_equal(password_verify("s3cret?", h, &rehash), 0);
}

static void
test_password_weaker_parameters_need_a_rehash(void **state)
{
	static const struct pw_params weaker[] = {
		{ 14, 8, 1 }, { 15, 4, 1 }, { 10, 8, 1 },
	};
	static const struct pw_params stronger = { 15, 8, 2 };
	char	h[PW_HASH_MAX];
	size_t	i;
	int	rehash;

	(void)state;
	for (i = 0; i < sizeof(weaker) / sizeof(weaker[0]); i++) {
		assert_int_equal(password_hash("pw", &weaker[i], h,
		    sizeof(h)), 0);
		rehash = 0;
		assert_int_equal(password_verify("pw", h, &rehash), 1);
		assert_int_equal(rehash, 1);
		/* Only a match says anything about the parameters. */
		rehash = 1;
		assert_int_equal(password_verify("wrong", h, &rehash), 0);
		assert_int_equal(rehash, 0);
	}
	assert_int_equal(password_hash("pw", &stronger, h, sizeof(h)), 0);
	rehash = 1;
	assert_int_equal(password_verify("pw", h, &rehash), 1);
	assert_int_equal(rehash, 0);
}

static void
test_password_hash_refuses_parameters_out_of_bounds(void **state)
{
	static const struct pw_params bad[] = {
		{ 9, 8, 1 }, { 21, 8, 1 }, { 15, 0, 8 }, { 15, 33, 1 },
		{ 15, 8, 0 }, { 15, 8, 17 }, { -1, 8, 1 },
		/* In bounds but beyond PW_MAXMEM: 128 MiB and 4 GiB. */
		{ 17, 8, 1 }, { 20, 32, 1 },
	};
	char	h[PW_HASH_MAX];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (password_hash("pw", &bad[i], h, sizeof(h)) != -1)
			fail_msg("accepted ln=%d r=%d p=%d", bad[i].ln,
			    bad[i].r, bad[i].p);
}

static void
test_password_longer_than_the_cap_is_refused(void **state)
{
	char	pw[PW_MAX_LEN + 2], h[PW_HASH_MAX];

	(void)state;
	memset(pw, 'a', PW_MAX_LEN);
	pw[PW_MAX_LEN] = '\0';
	assert_int_equal(password_hash(pw, &fast, h, sizeof(h)), 0);
	assert_int_equal(password_verify(pw, h, NULL), 1);
	pw[PW_MAX_LEN] = 'a';
	pw[PW_MAX_LEN + 1] = '\0';
	assert_int_equal(password_verify(pw, h, NULL), -1);
	assert_int_equal(password_hash(pw, &fast, h, sizeof(h)), -1);
}

/*
 * Every way a stored string can be wrong, made from a good one by
 * putting text in place of a span: all give -1, none 0 or 1.
 */
static void
test_password_verify_refuses_malformed_stored_strings(void **state)
{
	static const struct {
		size_t		 at, len;
		const char	*with;
	} edits[] = {
		{ 0, 88, "" },
		{ 0, 8, "$SCRYPT$" }, { 0, 8, "$argon2id$" }, { 0, 1, "" },
		{ 8, 2, "LN" }, { 10, 0, " " },
		{ 11, 2, "9" }, { 11, 2, "09" }, { 11, 2, "21" },
		{ 11, 2, "010" }, { 11, 2, "+10" }, { 11, 2, "" },
		{ 11, 2, "1a" }, { 11, 2, "100" },
		{ 16, 1, "0" }, { 16, 1, "33" }, { 16, 1, "08" }, { 16, 1, "" },
		{ 20, 1, "0" }, { 20, 1, "17" }, { 20, 1, "01" },
		{ 8, 13, "r=8,ln=10,p=1" }, { 13, 1, ";" }, { 21, 1, "," },
		{ 22, 22, "" }, { 22, 1, "" }, { 22, 0, "A" },
		{ 42, 2, "A=" }, { 43, 1, "B" },	/* salt, last char */
		{ 22, 1, "+" }, { 44, 1, "" }, { 44, 1, "$$" },
		{ 45, 1, "" }, { 45, 0, "A" }, { 87, 1, "=" },
		{ 87, 1, "B" },			/* hash, non-canonical */
		{ 88, 0, "$" }, { 88, 0, " " }, { 88, 0, "\n" },
		{ 87, 1, "" },
	};
	char	good[PW_HASH_MAX], bad[2 * PW_HASH_MAX];
	size_t	i;
	int	rehash;

	(void)state;
	assert_int_equal(password_hash("pw", &fast, good, sizeof(good)), 0);
	assert_int_equal(strlen(good), 88);
	/*
	 * Known positions: make the last chars of salt and hash canonical
	 * (their unused bits zero) and surely different from what they were,
	 * so that the password no longer matches (1 run in 64 kept both).
	 */
	good[43] = good[43] == 'A' ? 'Q' : 'A';
	good[87] = good[87] == 'A' ? 'E' : 'A';
	assert_int_equal(password_verify("pw", good, NULL), 0);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		snprintf(bad, sizeof(bad), "%.*s%s%s", (int)edits[i].at, good,
		    edits[i].with, good + edits[i].at + edits[i].len);
		rehash = 1;
		if (password_verify("pw", bad, &rehash) != -1)
			fail_msg("edit %zu accepted: %s", i, bad);
		assert_int_equal(rehash, 0);
	}
}

static void
test_password_verify_refuses_stored_params_beyond_the_memory_cap(void **state)
{
	char	h[PW_HASH_MAX];

	(void)state;
	assert_int_equal(password_hash("pw", &fast, h, sizeof(h)), 0);
	/* ln=20 r=32 would be 4 GiB: refused before any allocation. */
	memcpy(h, "$scrypt$ln=20,r=32,p=1", 22);
	assert_int_equal(password_verify("pw", h, NULL), -1);
}

static double
cpu_seconds(void)
{
	return (double)clock() / CLOCKS_PER_SEC;
}

/*
 * The dummy must cost what a real verify at PW_DEFAULT costs, else a
 * login's duration tells whether the account exists. CPU time, within a
 * factor of 3, so that a busy machine does not make the test flaky.
 */
static void
test_password_dummy_verify_costs_as_much_as_a_verify(void **state)
{
	char	h[PW_HASH_MAX];
	double	t0, real, dummy;

	(void)state;
	assert_int_equal(password_hash("pw", &PW_DEFAULT, h, sizeof(h)), 0);
	t0 = cpu_seconds();
	assert_int_equal(password_verify("not it", h, NULL), 0);
	real = cpu_seconds() - t0;
	t0 = cpu_seconds();
	password_dummy_verify("not it");
	dummy = cpu_seconds() - t0;
	print_message("# verify %.3f s, dummy %.3f s\n", real, dummy);
	assert_true(real > 0.005);
	assert_true(dummy > real / 3 && dummy < real * 3);
}

static const unsigned char key1[AEAD_KEY_LEN] =
    "0123456789abcdef0123456789abcdef";
static const unsigned char key2[AEAD_KEY_LEN] =
    "0123456789abcdef0123456789abcdeF";

static void
test_aead_round_trip_with_and_without_aad(void **state)
{
	static const char	msg[] = "100 points for member 42";
	unsigned char		sealed[64], sealed2[64], pt[64];
	size_t			n, n2, got;

	(void)state;
	assert_int_equal(aead_seal(key1, "ctx", 3, msg, sizeof(msg), sealed,
	    sizeof(sealed), &n), 0);
	assert_int_equal(n, sizeof(msg) + AEAD_OVERHEAD);
	assert_int_equal(AEAD_OVERHEAD, 28);
	assert_int_equal(aead_open(key1, "ctx", 3, sealed, n, pt, sizeof(pt),
	    &got), 0);
	assert_int_equal(got, sizeof(msg));
	assert_memory_equal(pt, msg, sizeof(msg));
	/* A random nonce: the same message seals differently each time. */
	assert_int_equal(aead_seal(key1, "ctx", 3, msg, sizeof(msg), sealed2,
	    sizeof(sealed2), &n2), 0);
	assert_memory_not_equal(sealed, sealed2, AEAD_NONCE_LEN);
	assert_memory_not_equal(sealed + AEAD_NONCE_LEN,
	    sealed2 + AEAD_NONCE_LEN, sizeof(msg));
	/* No aad, and an empty plaintext. */
	assert_int_equal(aead_seal(key1, NULL, 0, msg, 5, sealed,
	    sizeof(sealed), &n), 0);
	assert_int_equal(aead_open(key1, NULL, 0, sealed, n, pt, sizeof(pt),
	    &got), 0);
	assert_int_equal(got, 5);
	assert_int_equal(aead_seal(key1, "a", 1, NULL, 0, sealed,
	    sizeof(sealed), &n), 0);
	assert_int_equal(n, AEAD_OVERHEAD);
	assert_int_equal(aead_open(key1, "a", 1, sealed, n, NULL, 0, &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(aead_open(key1, "b", 1, sealed, n, NULL, 0, &got),
	    -1);
}

static void
test_aead_any_changed_byte_fails_and_leaves_no_plaintext(void **state)
{
	static const char	msg[] = "tenant secret";
	unsigned char		sealed[64], pt[64], zero[64];
	size_t			n, i, got;
	int			bit;

	(void)state;
	memset(zero, 0, sizeof(zero));
	assert_int_equal(aead_seal(key1, "aad", 3, msg, sizeof(msg), sealed,
	    sizeof(sealed), &n), 0);
	/* Every bit of the nonce, the ciphertext and the tag. */
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit++) {
			sealed[i] ^= (unsigned char)(1 << bit);
			memset(pt, 0x55, sizeof(pt));
			if (aead_open(key1, "aad", 3, sealed, n, pt,
			    sizeof(pt), &got) != -1)
				fail_msg("byte %zu bit %d changed, opened", i,
				    bit);
			assert_memory_equal(pt, zero, n - AEAD_OVERHEAD);
			sealed[i] ^= (unsigned char)(1 << bit);
		}
	}
	assert_int_equal(aead_open(key1, "aad", 3, sealed, n, pt, sizeof(pt),
	    &got), 0);
}

static void
test_aead_wrong_aad_key_or_length_fails(void **state)
{
	static const char	msg[] = "tenant secret";
	unsigned char		sealed[64], pt[64];
	size_t			n, got, len;

	(void)state;
	assert_int_equal(aead_seal(key1, "aad", 3, msg, sizeof(msg), sealed,
	    sizeof(sealed), &n), 0);
	assert_int_equal(aead_open(key1, "aae", 3, sealed, n, pt, sizeof(pt),
	    &got), -1);
	assert_int_equal(aead_open(key1, "aa", 2, sealed, n, pt, sizeof(pt),
	    &got), -1);
	assert_int_equal(aead_open(key1, NULL, 0, sealed, n, pt, sizeof(pt),
	    &got), -1);
	assert_int_equal(aead_open(key2, "aad", 3, sealed, n, pt, sizeof(pt),
	    &got), -1);
	/* Every truncation, down to nothing. */
	for (len = 0; len < n; len++)
		if (aead_open(key1, "aad", 3, sealed, len, pt, sizeof(pt),
		    &got) != -1)
			fail_msg("truncated to %zu, opened", len);
	/* One byte more is a changed tag position: fails too. */
	sealed[n] = 0;
	assert_int_equal(aead_open(key1, "aad", 3, sealed, n + 1, pt,
	    sizeof(pt), &got), -1);
	/* Buffers too small, either way. */
	assert_int_equal(aead_open(key1, "aad", 3, sealed, n, pt,
	    sizeof(msg) - 1, &got), -1);
	assert_int_equal(aead_seal(key1, "aad", 3, msg, sizeof(msg), sealed,
	    sizeof(msg) + AEAD_OVERHEAD - 1, &n), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_known_answers),
		cmocka_unit_test(test_hmac_sha256_rfc4231),
		cmocka_unit_test(test_b64url_encodes_rfc4648_vectors),
		cmocka_unit_test(test_b64url_encode_needs_room_for_the_nul),
		cmocka_unit_test(test_b64url_decode_refuses_all_but_the_canonical_form),
		cmocka_unit_test(test_b64url_decode_checks_the_output_size),
		cmocka_unit_test(test_b64url_round_trips_every_length_and_byte),
		cmocka_unit_test(test_hex_encodes_lower_case_and_decodes_strictly),
		cmocka_unit_test(test_crypto_equal_needs_equal_length_and_content),
		cmocka_unit_test(test_crypto_random_fills_and_differs),
		cmocka_unit_test(test_scrypt_rfc7914_vectors),
		cmocka_unit_test(test_password_hash_has_the_documented_form),
		cmocka_unit_test(test_password_verify_matches_only_the_password),
		cmocka_unit_test(test_password_default_parameters_round_trip),
		cmocka_unit_test(test_password_weaker_parameters_need_a_rehash),
		cmocka_unit_test(test_password_hash_refuses_parameters_out_of_bounds),
		cmocka_unit_test(test_password_longer_than_the_cap_is_refused),
		cmocka_unit_test(test_password_verify_refuses_malformed_stored_strings),
		cmocka_unit_test(test_password_verify_refuses_stored_params_beyond_the_memory_cap),
		cmocka_unit_test(test_password_dummy_verify_costs_as_much_as_a_verify),
		cmocka_unit_test(test_aead_round_trip_with_and_without_aad),
		cmocka_unit_test(test_aead_any_changed_byte_fails_and_leaves_no_plaintext),
		cmocka_unit_test(test_aead_wrong_aad_key_or_length_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
