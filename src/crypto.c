/* crypto.c — hashing, MACs, passwords and sealing, thin over OpenSSL. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "log.h"

/*
 * A failure that no input can cause: logged with OpenSSL's reason, and
 * the error queue emptied so that a later call is not blamed for it.
 */
static int
ossl_fail(const char *what)
{
	char		reason[256] = "no reason given";
	unsigned long	e = ERR_peek_last_error();

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	log_msg(LOG_ERROR, "crypto_error", "%s: %s", what, reason);
	ERR_clear_error();
	return -1;
}

int
crypto_random(void *buf, size_t n)
{
	if (n > INT_MAX)
		return -1;
	if (RAND_bytes(buf, (int)n) != 1)
		return ossl_fail("RAND_bytes");
	return 0;
}

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_encoded_len(size_t n)
{
	/* 4 characters per 3 bytes; a last 1 or 2 bytes take 2 or 3. */
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

int
b64url_encode(const void *in, size_t n, char *out, size_t outlen)
{
	const unsigned char	*s = in;
	size_t			 i, k, left, chars, o = 0;
	uint32_t		 v;

	if (outlen == 0 || b64url_encoded_len(n) > outlen - 1)
		return -1;
	for (i = 0; i < n; i += 3) {
		left = n - i;
		v = (uint32_t)s[i] << 16;
		if (left > 1)
			v |= (uint32_t)s[i + 1] << 8;
		if (left > 2)
			v |= s[i + 2];
		chars = left > 2 ? 4 : left + 1;
		for (k = 0; k < chars; k++)
			out[o++] = b64url_alphabet[v >> (18 - 6 * k) & 63];
	}
	out[o] = '\0';
	return 0;
}

/* The value of a base64url character, or -1. */
static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
b64url_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outlen, size_t *got)
{
	size_t		i, k, chars, bytes, o = 0;
	uint32_t	v;
	int		c;

	if (inlen % 4 == 1)
		return -1;	/* 6 bits cannot make a byte */
	if (inlen / 4 * 3 + (inlen % 4 ? inlen % 4 - 1 : 0) > outlen)
		return -1;
	for (i = 0; i < inlen; i += 4) {
		chars = inlen - i < 4 ? inlen - i : 4;
		bytes = chars - 1;
		/* A short last group is read as if padded with 'A'. */
		for (v = 0, k = 0; k < 4; k++) {
			c = k < chars ?
			    b64url_value((unsigned char)in[i + k]) : 0;
			if (c < 0)
				goto bad;
			v = v << 6 | (uint32_t)c;
		}
		/* Bits no byte takes must be zero, or a text has twins. */
		if ((v & ((1u << (8 * (3 - bytes))) - 1)) != 0)
			goto bad;
		for (k = 0; k < bytes; k++)
			out[o++] = (unsigned char)(v >> (16 - 8 * k));
	}
	*got = o;
	return 0;
bad:
	OPENSSL_cleanse(out, o);
	return -1;
}

void
hex_encode(const void *in, size_t n, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	const unsigned char	*s = in;
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[s[i] >> 4];
		out[2 * i + 1] = digits[s[i] & 15];
	}
	out[2 * n] = '\0';
}

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *in, size_t inlen, unsigned char *out, size_t outlen)
{
	size_t	i;
	int	hi, lo;

	if (inlen % 2 != 0 || inlen / 2 != outlen)
		return -1;
	for (i = 0; i < outlen; i++) {
		hi = hex_digit((unsigned char)in[2 * i]);
		lo = hex_digit((unsigned char)in[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(out, i);
			return -1;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
    unsigned char out[SHA256_LEN])
{
	size_t	got;

	/* OpenSSL refuses a NULL pointer even with a length of 0. */
	if (keylen == 0)
		key = "";
	if (msglen == 0)
		msg = "";
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, msg,
	    msglen, out, SHA256_LEN, &got) == NULL || got != SHA256_LEN)
		return ossl_fail("HMAC-SHA256");
	return 0;
}

void
sha256(const void *msg, size_t n, unsigned char out[SHA256_LEN])
{
	/*
	 * Only a lack of memory fails here. A caller that went on with a
	 * wrong digest could match two different inputs, so stop.
	 */
	if (EVP_Digest(msg, n, out, NULL, EVP_sha256(), NULL) != 1) {
		ossl_fail("SHA-256");
		_exit(70);
	}
}

int
crypto_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

int
scrypt_raw(const void *pw, size_t pwlen, const void *salt, size_t saltlen,
    uint64_t n, uint32_t r, uint32_t p, unsigned char *out, size_t outlen)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*ctx;
	OSSL_PARAM	 params[7];
	uint64_t	 maxmem = PW_MAXMEM;
	int		 ok;

	/* RFC 7914 §2. The caller's mistake, not OpenSSL's: not logged. */
	if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0)
		return -1;
	/* OSSL_PARAM's pointers are not const, but the KDF only reads. */
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(uintptr_t)(pwlen ? pw : ""), pwlen);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)(saltlen ? salt : ""), saltlen);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	/* OpenSSL's default ceiling, 32 MiB, is below PW_DEFAULT's need. */
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
	    &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if ((kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) == NULL)
		return ossl_fail("fetch SCRYPT");
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (ctx == NULL)
		return ossl_fail("SCRYPT context");
	ok = EVP_KDF_derive(ctx, out, outlen, params) == 1;
	EVP_KDF_CTX_free(ctx);
	if (!ok) {
		OPENSSL_cleanse(out, outlen);
		return ossl_fail("scrypt");
	}
	return 0;
}

/* Within the bounds a stored string may have, and within PW_MAXMEM. */
static int
params_ok(const struct pw_params *pp)
{
	uint64_t	n;

	if (pp->ln < PW_LN_MIN || pp->ln > PW_LN_MAX ||
	    pp->r < 1 || pp->r > PW_R_MAX || pp->p < 1 || pp->p > PW_P_MAX)
		return 0;
	n = (uint64_t)1 << pp->ln;
	/* What OpenSSL allocates: B, 128 r p bytes, and V, 128 r (N + 2). */
	return 128 * (uint64_t)pp->r * ((uint64_t)pp->p + n + 2) <= PW_MAXMEM;
}

static int
derive(const char *password, const struct pw_params *pp,
    const unsigned char salt[PW_SALT_LEN], unsigned char out[PW_HASH_LEN])
{
	size_t	len = strnlen(password, PW_MAX_LEN + 1);

	if (len > PW_MAX_LEN || !params_ok(pp))
		return -1;
	return scrypt_raw(password, len, salt, PW_SALT_LEN,
	    (uint64_t)1 << pp->ln, (uint32_t)pp->r, (uint32_t)pp->p, out,
	    PW_HASH_LEN);
}

static int
format_stored(char *out, size_t outlen, const struct pw_params *pp,
    const unsigned char salt[PW_SALT_LEN],
    const unsigned char hash[PW_HASH_LEN])
{
	char	salt64[PW_HASH_MAX], hash64[PW_HASH_MAX];
	int	n;

	b64url_encode(salt, PW_SALT_LEN, salt64, sizeof(salt64));
	b64url_encode(hash, PW_HASH_LEN, hash64, sizeof(hash64));
	n = snprintf(out, outlen, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", pp->ln,
	    pp->r, pp->p, salt64, hash64);
	OPENSSL_cleanse(hash64, sizeof(hash64));
	if (n < 0 || (size_t)n >= outlen) {
		OPENSSL_cleanse(out, outlen);
		return -1;
	}
	return 0;
}

int
password_hash(const char *password, const struct pw_params *pp, char *out,
    size_t outlen)
{
	unsigned char	salt[PW_SALT_LEN], hash[PW_HASH_LEN];
	int		rc;

	if (outlen > 0)
		out[0] = '\0';
	if (crypto_random(salt, sizeof(salt)) == -1 ||
	    derive(password, pp, salt, hash) == -1)
		return -1;
	rc = format_stored(out, outlen, pp, salt, hash);
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

/*
 * The parsers below take the text at s, or NULL when an earlier step
 * failed, and return what follows what they read, or NULL: a chain of
 * them reads a stored string and fails as a whole.
 */
static const char *
expect(const char *s, const char *literal)
{
	size_t	n = strlen(literal);

	return s != NULL && strncmp(s, literal, n) == 0 ? s + n : NULL;
}

/* One or two digits, no leading zero, from min to max. */
static const char *
parse_param(const char *s, int min, int max, int *out)
{
	int	v = 0, digits = 0;

	if (s == NULL || s[0] == '0')
		return NULL;
	while (digits < 3 && s[digits] >= '0' && s[digits] <= '9')
		v = v * 10 + s[digits++] - '0';
	if (digits == 0 || digits > 2 || v < min || v > max)
		return NULL;
	*out = v;
	return s + digits;
}

/* Exactly the characters that encode n bytes, canonically. */
static const char *
parse_b64(const char *s, unsigned char *out, size_t n)
{
	size_t	chars = b64url_encoded_len(n), got;

	if (s == NULL || strnlen(s, chars) < chars ||
	    b64url_decode(s, chars, out, n, &got) == -1 || got != n)
		return NULL;
	return s + chars;
}

static int
parse_stored(const char *s, struct pw_params *pp,
    unsigned char salt[PW_SALT_LEN], unsigned char hash[PW_HASH_LEN])
{
	s = parse_param(expect(s, "$scrypt$ln="), PW_LN_MIN, PW_LN_MAX,
	    &pp->ln);
	s = parse_param(expect(s, ",r="), 1, PW_R_MAX, &pp->r);
	s = parse_param(expect(s, ",p="), 1, PW_P_MAX, &pp->p);
	s = parse_b64(expect(s, "$"), salt, PW_SALT_LEN);
	s = parse_b64(expect(s, "$"), hash, PW_HASH_LEN);
	return s != NULL && *s == '\0' ? 0 : -1;
}

int
password_verify(const char *password, const char *stored, int *needs_rehash)
{
	struct pw_params	pp;
	unsigned char		salt[PW_SALT_LEN];
	unsigned char		want[PW_HASH_LEN], got[PW_HASH_LEN];
	int			match = -1;

	if (needs_rehash != NULL)
		*needs_rehash = 0;
	if (parse_stored(stored, &pp, salt, want) == 0 &&
	    derive(password, &pp, salt, got) == 0) {
		match = crypto_equal(got, sizeof(got), want, sizeof(want));
		OPENSSL_cleanse(got, sizeof(got));
	}
	OPENSSL_cleanse(want, sizeof(want));
	if (match == 1 && needs_rehash != NULL)
		*needs_rehash = pp.ln < PW_DEFAULT.ln || pp.r < PW_DEFAULT.r ||
		    pp.p < PW_DEFAULT.p;
	return match;
}

void
password_dummy_verify(const char *password)
{
	static const unsigned char	zero[PW_HASH_LEN];
	char				dummy[PW_HASH_MAX];

	/*
	 * An all-zero hash: well-formed, and no one knows a password that
	 * hashes to it. Built from PW_DEFAULT so it follows the default.
	 */
	if (format_stored(dummy, sizeof(dummy), &PW_DEFAULT, zero, zero) == 0)
		(void)password_verify(password, dummy, NULL);
}

int
aead_seal(const unsigned char key[AEAD_KEY_LEN], const void *aad,
    size_t aadlen, const void *pt, size_t ptlen, unsigned char *out,
    size_t outlen, size_t *outgot)
{
	EVP_CIPHER_CTX	*ctx;
	unsigned char	*nonce = out, *ct = out + AEAD_NONCE_LEN;
	int		 n, ok;

	/* EVP counts in int. */
	if (aadlen > INT_MAX || ptlen > INT_MAX - AEAD_OVERHEAD ||
	    outlen < ptlen + AEAD_OVERHEAD)
		return -1;
	if (crypto_random(nonce, AEAD_NONCE_LEN) == -1)
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return ossl_fail("EVP_CIPHER_CTX_new");
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
	    nonce) == 1 &&
	    (aadlen == 0 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1) &&
	    (ptlen == 0 || (EVP_EncryptUpdate(ctx, ct, &n, pt,
	    (int)ptlen) == 1 && n == (int)ptlen)) &&
	    EVP_EncryptFinal_ex(ctx, ct + ptlen, &n) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_LEN,
	    ct + ptlen) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		OPENSSL_cleanse(out, ptlen + AEAD_OVERHEAD);
		return ossl_fail("AES-256-GCM seal");
	}
	*outgot = ptlen + AEAD_OVERHEAD;
	return 0;
}

int
aead_open(const unsigned char key[AEAD_KEY_LEN], const void *aad,
    size_t aadlen, const unsigned char *in, size_t inlen, unsigned char *pt,
    size_t ptlen, size_t *ptgot)
{
	EVP_CIPHER_CTX		*ctx;
	const unsigned char	*nonce = in, *ct = in + AEAD_NONCE_LEN, *tag;
	unsigned char		 none[AEAD_TAG_LEN];
	size_t			 ctlen;
	int			 n, ok;

	if (inlen < AEAD_OVERHEAD || inlen - AEAD_OVERHEAD > INT_MAX ||
	    aadlen > INT_MAX || ptlen < inlen - AEAD_OVERHEAD)
		return -1;
	ctlen = inlen - AEAD_OVERHEAD;
	tag = ct + ctlen;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return ossl_fail("EVP_CIPHER_CTX_new");
	/*
	 * SET_TAG wants a writable pointer but only reads. The final call
	 * checks the tag and writes nothing in GCM; none gives it a place.
	 */
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
	    nonce) == 1 &&
	    (aadlen == 0 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1) &&
	    (ctlen == 0 || (EVP_DecryptUpdate(ctx, pt, &n, ct,
	    (int)ctlen) == 1 && n == (int)ctlen)) &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AEAD_TAG_LEN,
	    (void *)(uintptr_t)tag) == 1 &&
	    EVP_DecryptFinal_ex(ctx, none, &n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		/* A forgery or a wrong key, not a fault of ours: not logged. */
		ERR_clear_error();
		if (ctlen > 0)
			OPENSSL_cleanse(pt, ctlen);
		return -1;
	}
	*ptgot = ctlen;
	return 0;
}
