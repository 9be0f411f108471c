/* jwt.h — access tokens: JSON Web Tokens signed with HS256, nothing else. */
#ifndef LOYALTY_JWT_H
#define LOYALTY_JWT_H

#include <stddef.h>
#include <stdint.h>

/* The longest token jwt_verify reads and jwt_sign writes. */
#define JWT_MAX_LEN	4096
/* RFC 7518 §3.2: an HS256 key has at least the hash's 256 bits. */
#define JWT_KEY_MIN	32
/* Leeway for clock skew is clamped to 0..JWT_LEEWAY_MAX seconds. */
#define JWT_LEEWAY_MAX	60
/* iat, nbf and exp lie in 0..JWT_TIME_MAX (9999-12-31T23:59:59Z). */
#define JWT_TIME_MAX	INT64_C(253402300799)

/*
 * The claims the daemon uses. Strings are NUL-terminated, non-empty,
 * valid UTF-8 without control characters, and fit their arrays.
 */
struct jwt_claims {
	char	sub[64];	/* the user */
	char	tid[64];	/* the tenant */
	char	role[32];
	char	sid[64];	/* the session, for revocation */
	char	jti[64];	/* the token itself */
	int64_t	iat, nbf, exp;	/* seconds since the epoch */
};

enum jwt_err {
	JWT_OK,
	JWT_MALFORMED,		/* not three base64url parts of JSON objects */
	JWT_ALG,		/* a header other than HS256 (and typ JWT) */
	JWT_SIGNATURE,
	JWT_EXPIRED,
	JWT_NOT_YET_VALID,	/* nbf or iat in the future */
	JWT_ISSUER,
	JWT_AUDIENCE,
	JWT_CLAIMS		/* a claim missing or of the wrong form */
};

/* A short text, safe to show a client: it never quotes the token. */
const char	*jwt_err_text(enum jwt_err);

/*
 * Writes header.payload.signature with the header {"alg":"HS256",
 * "typ":"JWT"} and iss, aud, then the claims in the payload. -1 when the
 * key is shorter than JWT_KEY_MIN, a claim breaks the rules above (so
 * jwt_verify would refuse it), or the token does not fit out.
 */
int		jwt_sign(const unsigned char *key, size_t keylen,
		    const char *iss, const char *aud, const struct jwt_claims *,
		    char *out, size_t outlen);

/*
 * Checks a token of len bytes (no NUL needed) against the key, the
 * expected issuer and audience, and the time now, with leeway seconds of
 * skew either way. The header is read first, to refuse any algorithm but
 * HS256; nothing in the payload is read before the signature holds. On
 * JWT_OK *out holds the claims; otherwise it is all zeros.
 */
enum jwt_err	jwt_verify(const unsigned char *key, size_t keylen,
		    const char *iss, const char *aud, int64_t now,
		    int leeway, const char *token, size_t len,
		    struct jwt_claims *out);

#endif
