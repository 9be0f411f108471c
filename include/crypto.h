/* crypto.h — the primitives the daemon needs, thin over OpenSSL's EVP. */
#ifndef LOYALTY_CRYPTO_H
#define LOYALTY_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every function that can fail returns -1 and leaves no partial secret in
 * its output. A failure inside OpenSSL (out of memory, a missing
 * algorithm) is logged where it happens; bad input is not, since input
 * comes from clients.
 */

#define SHA256_LEN	32

/* OpenSSL's CSPRNG; n must fit an int. */
int	crypto_random(void *buf, size_t n);

/*
 * base64url (RFC 4648 §5) without padding. The decoder takes only the
 * one canonical spelling of a byte string: no '=', nothing outside
 * [A-Za-z0-9_-], no length of 1 mod 4, and the unused low bits of the
 * last character zero. So two different texts never decode to the same
 * bytes, and decode(x) == y implies encode(y) == x.
 */
size_t	b64url_encoded_len(size_t n);	/* without the NUL */
/* out takes b64url_encoded_len(n) + 1 bytes; it is NUL-terminated. */
int	b64url_encode(const void *in, size_t n, char *out, size_t outlen);
/* *got is the number of bytes written, set only on success. */
int	b64url_decode(const char *in, size_t inlen, unsigned char *out,
	    size_t outlen, size_t *got);

/* Lower case; out takes 2 * n + 1 bytes and is NUL-terminated. */
void	hex_encode(const void *in, size_t n, char *out);
/* in must be exactly 2 * outlen hex digits, either case, nothing else. */
/* The value of one hex digit (either case), or -1. */
int	hex_digit(int c);
int	hex_decode(const char *in, size_t inlen, unsigned char *out,
	    size_t outlen);

int	hmac_sha256(const void *key, size_t keylen, const void *msg,
	    size_t msglen, unsigned char out[SHA256_LEN]);
/* Cannot fail but for lack of memory, which ends the worker like arena.c. */
void	sha256(const void *msg, size_t n, unsigned char out[SHA256_LEN]);

/*
 * 1 when both lengths and contents are equal, else 0. The time depends
 * on the lengths but not on the contents: for MACs and hashes, whose
 * length is public.
 */
int	crypto_equal(const void *a, size_t alen, const void *b, size_t blen);

/*
 * Password hashing with scrypt, stored as the self-describing string
 *	$scrypt$ln=15,r=8,p=1$<salt>$<hash>
 * (N = 2^ln; salt 16 random bytes, hash 32 bytes, both base64url), so
 * the cost can rise later and old hashes still verify.
 */
struct pw_params {
	int	ln, r, p;
};

/* ~0.1 s and 32 MiB per hash on current hardware. */
#define PW_DEFAULT	((const struct pw_params){ 15, 8, 1 })
#define PW_SALT_LEN	16
#define PW_HASH_LEN	32
/* A longer password is refused (-1): it bounds the work per attempt. */
#define PW_MAX_LEN	1024
/* The longest string password_hash writes, NUL included, fits here. */
#define PW_HASH_MAX	96
/*
 * The most memory one hash may take: PW_DEFAULT needs 32 MiB, ln=16 with
 * r=8 just under 65 MiB. Anything dearer is refused (-1) rather than let
 * a stored string make a worker allocate gigabytes.
 */
#define PW_MAXMEM	((uint64_t)65 << 20)

/* Bounds a stored string must respect; password_hash takes the same. */
#define PW_LN_MIN	10
#define PW_LN_MAX	20
#define PW_R_MAX	32
#define PW_P_MAX	16

int	password_hash(const char *password, const struct pw_params *,
	    char *out, size_t outlen);
/*
 * 1 on a match, 0 on none, -1 when stored is not a string password_hash
 * could have written (or asks for more than PW_MAXMEM, or the password is
 * too long, or OpenSSL failed).
 * *needs_rehash (when not NULL) is set on a match whose parameters are
 * weaker than PW_DEFAULT in any of ln, r, p, and cleared otherwise.
 */
int	password_verify(const char *password, const char *stored,
	    int *needs_rehash);
/*
 * The work of a password_verify against a PW_DEFAULT hash, for a login
 * whose account does not exist: it then takes as long as a wrong
 * password, and its duration does not tell whether the account exists.
 */
void	password_dummy_verify(const char *password);
/* scrypt itself (RFC 7914), for the known-answer tests; N a power of 2. */
int	scrypt_raw(const void *pw, size_t pwlen, const void *salt,
	    size_t saltlen, uint64_t n, uint32_t r, uint32_t p,
	    unsigned char *out, size_t outlen);

/*
 * AES-256-GCM with a random 96-bit nonce: sealed = nonce || ciphertext
 * || tag, AEAD_OVERHEAD bytes longer than the plaintext. A random nonce
 * is safe for up to 2^32 seals under one key (NIST SP 800-38D §8.3).
 * The output buffer must not overlap the input.
 */
#define AEAD_KEY_LEN	32
#define AEAD_NONCE_LEN	12
#define AEAD_TAG_LEN	16
#define AEAD_OVERHEAD	(AEAD_NONCE_LEN + AEAD_TAG_LEN)

int	aead_seal(const unsigned char key[AEAD_KEY_LEN], const void *aad,
	    size_t aadlen, const void *pt, size_t ptlen, unsigned char *out,
	    size_t outlen, size_t *outgot);
/*
 * -1 when the input is truncated, or was not sealed with this key and
 * this aad, or was changed since: then pt holds zeros, never plaintext
 * that failed authentication.
 */
int	aead_open(const unsigned char key[AEAD_KEY_LEN], const void *aad,
	    size_t aadlen, const unsigned char *in, size_t inlen,
	    unsigned char *pt, size_t ptlen, size_t *ptgot);

#endif
