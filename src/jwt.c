/* jwt.c — HS256 JSON Web Tokens: signed one way, verified as strictly. */
#include <stddef.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "crypto.h"
#include "jwt.h"
#include "utf8.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* base64url of {"alg":"HS256","typ":"JWT"}, the one header written. */
#define HEADER_B64	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
/* A part of a token of JWT_MAX_LEN characters decodes to at most this. */
#define PART_MAX	(JWT_MAX_LEN / 4 * 3)
/* No claim we read nests; the bound keeps a hostile payload cheap. */
#define JSON_DEPTH	8

/* The string and the time claims, in the order jwt_sign writes them. */
#define TEXT_CLAIM(f)	{ #f, offsetof(struct jwt_claims, f), \
			    sizeof(((struct jwt_claims *)NULL)->f) }
static const struct {
	const char	*name;
	size_t		 off, size;
} text_claims[] = {
	TEXT_CLAIM(sub), TEXT_CLAIM(tid), TEXT_CLAIM(role), TEXT_CLAIM(sid),
	TEXT_CLAIM(jti),
};

#define TIME_CLAIM(f)	{ #f, offsetof(struct jwt_claims, f) }
static const struct {
	const char	*name;
	size_t		 off;
} time_claims[] = {
	TIME_CLAIM(iat), TIME_CLAIM(nbf), TIME_CLAIM(exp),
};

const char *
jwt_err_text(enum jwt_err e)
{
	switch (e) {
	case JWT_OK:		return "valid token";
	case JWT_MALFORMED:	return "malformed token";
	case JWT_ALG:		return "unsupported token algorithm or header";
	case JWT_SIGNATURE:	return "invalid token signature";
	case JWT_EXPIRED:	return "token expired";
	case JWT_NOT_YET_VALID:	return "token not yet valid";
	case JWT_ISSUER:	return "wrong token issuer";
	case JWT_AUDIENCE:	return "wrong token audience";
	case JWT_CLAIMS:	return "missing or invalid token claims";
	}
	return "invalid token";
}

/*
 * A claim string: 1 to max bytes of UTF-8 without a control character,
 * C0 (NUL included), DEL or C1: what ends up in logs and SQL parameters
 * stays printable.
 */
static int
text_ok(const char *s, size_t len, size_t max)
{
	size_t	i;

	if (len == 0 || len > max || utf8_check(s, len) != len)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* U+0080..U+009F are C2 80..C2 9F. */
		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && (unsigned char)s[i + 1] < 0xa0))
			return 0;
	}
	return 1;
}

static int
time_ok(int64_t t)
{
	return t >= 0 && t <= JWT_TIME_MAX;
}

/* What jwt_verify would accept, so that jwt_sign never writes less. */
static int
claims_ok(const char *iss, const char *aud, const struct jwt_claims *c)
{
	const char	*s;
	size_t		 i, n;

	if (!text_ok(iss, strlen(iss), JWT_MAX_LEN) ||
	    !text_ok(aud, strlen(aud), JWT_MAX_LEN))
		return 0;
	for (i = 0; i < nitems(text_claims); i++) {
		s = (const char *)c + text_claims[i].off;
		n = strnlen(s, text_claims[i].size);
		if (!text_ok(s, n, text_claims[i].size - 1))
			return 0;
	}
	for (i = 0; i < nitems(time_claims); i++)
		if (!time_ok(*(const int64_t *)((const char *)c +
		    time_claims[i].off)))
			return 0;
	return 1;
}

/* Adds v, which is NULL after a failed allocation, as o[name]. */
static int
add(struct json_object *o, const char *name, struct json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(o, name, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static struct json_object *
payload_object(const char *iss, const char *aud, const struct jwt_claims *c)
{
	struct json_object	*o;
	const char		*at = (const char *)c;
	size_t			 i;
	int			 ok;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	ok = add(o, "iss", json_object_new_string(iss)) == 0 &&
	    add(o, "aud", json_object_new_string(aud)) == 0;
	for (i = 0; ok && i < nitems(text_claims); i++)
		ok = add(o, text_claims[i].name,
		    json_object_new_string(at + text_claims[i].off)) == 0;
	for (i = 0; ok && i < nitems(time_claims); i++)
		ok = add(o, time_claims[i].name, json_object_new_int64(
		    *(const int64_t *)(at + time_claims[i].off))) == 0;
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Writes the token into out, which the caller made sure is big enough. */
static int
assemble(const unsigned char *key, size_t keylen, const char *payload,
    char *out, size_t outlen)
{
	size_t		hlen = sizeof(HEADER_B64) - 1, signed_len;
	unsigned char	mac[SHA256_LEN];

	memcpy(out, HEADER_B64 ".", hlen + 1);
	if (b64url_encode(payload, strlen(payload), out + hlen + 1,
	    outlen - hlen - 1) == -1)
		return -1;
	signed_len = strlen(out);
	if (hmac_sha256(key, keylen, out, signed_len, mac) == -1)
		return -1;
	out[signed_len] = '.';
	return b64url_encode(mac, sizeof(mac), out + signed_len + 1,
	    outlen - signed_len - 1);
}

int
jwt_sign(const unsigned char *key, size_t keylen, const char *iss,
    const char *aud, const struct jwt_claims *c, char *out, size_t outlen)
{
	struct json_object	*o;
	const char		*payload;
	size_t			 len;
	int			 rc = -1;

	if (outlen > 0)
		out[0] = '\0';
	if (keylen < JWT_KEY_MIN || !claims_ok(iss, aud, c) ||
	    (o = payload_object(iss, aud, c)) == NULL)
		return -1;
	payload = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (payload != NULL) {
		len = sizeof(HEADER_B64) - 1 + 1 +
		    b64url_encoded_len(strlen(payload)) + 1 +
		    b64url_encoded_len(SHA256_LEN);
		if (len <= JWT_MAX_LEN && len < outlen)
			rc = assemble(key, keylen, payload, out, outlen);
	}
	json_object_put(o);
	if (rc == -1 && outlen > 0)
		out[0] = '\0';
	return rc;
}

/* Finds the two dots of a token, and refuses a third one. */
static int
split(const char *token, size_t len, const char **dot1, const char **dot2)
{
	const char	*end = token + len;

	if (len == 0 || len > JWT_MAX_LEN ||
	    (*dot1 = memchr(token, '.', len)) == NULL ||
	    (*dot2 = memchr(*dot1 + 1, '.',
	    (size_t)(end - *dot1 - 1))) == NULL ||
	    memchr(*dot2 + 1, '.', (size_t)(end - *dot2 - 1)) != NULL)
		return -1;
	return 0;
}

/*
 * One JSON object and nothing after it. json-c would stop at a NUL and
 * let UTF-8 encoded surrogates through, so both are refused first.
 */
static struct json_object *
parse_object(const unsigned char *s, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	int			 ok;

	if (len == 0 || memchr(s, '\0', len) != NULL ||
	    utf8_check((const char *)s, len) != len)
		return NULL;
	if ((tok = json_tokener_new_ex(JSON_DEPTH)) == NULL)
		return NULL;
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, (const char *)s, (int)len);
	ok = json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) == len &&
	    json_object_is_type(o, json_type_object);
	json_tokener_free(tok);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* v is the JSON string lit exactly: no prefix, no trailing NUL. */
static int
string_is(struct json_object *v, const char *lit)
{
	return json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) == strlen(lit) &&
	    memcmp(json_object_get_string(v), lit, strlen(lit)) == 0;
}

/*
 * "alg" must be "HS256", "typ" if present "JWT", and nothing else may be
 * there: "crit", "kid", "jku" and the like ask for processing this code
 * does not do, so a token carrying them is not for us.
 */
static enum jwt_err
check_header(struct json_object *h)
{
	int	has_alg = 0;

	json_object_object_foreach(h, name, v) {
		if (strcmp(name, "alg") == 0 && string_is(v, "HS256"))
			has_alg = 1;
		else if (strcmp(name, "typ") != 0 || !string_is(v, "JWT"))
			return JWT_ALG;
	}
	return has_alg ? JWT_OK : JWT_ALG;
}

/* o[name] when it is a claim string of at most max bytes, else NULL. */
static const char *
get_text(struct json_object *o, const char *name, size_t max)
{
	struct json_object	*v;
	const char		*s;

	if (!json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	return text_ok(s, (size_t)json_object_get_string_len(v), max) ?
	    s : NULL;
}

/*
 * o[name] when it is a JSON integer in 0..JWT_TIME_MAX: not a double,
 * not a string, and not beyond int64, which json-c would saturate.
 */
static int
get_time(struct json_object *o, const char *name, int64_t *out)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return time_ok(*out) ? 0 : -1;
}

static enum jwt_err
check_payload(struct json_object *p, const char *iss, const char *aud,
    int64_t now, int leeway, struct jwt_claims *c)
{
	const char	*got_iss, *got_aud, *s;
	size_t		 i;

	got_iss = get_text(p, "iss", JWT_MAX_LEN);
	got_aud = get_text(p, "aud", JWT_MAX_LEN);
	if (got_iss == NULL || got_aud == NULL)
		return JWT_CLAIMS;
	for (i = 0; i < nitems(text_claims); i++) {
		s = get_text(p, text_claims[i].name, text_claims[i].size - 1);
		if (s == NULL)
			return JWT_CLAIMS;
		memcpy((char *)c + text_claims[i].off, s, strlen(s) + 1);
	}
	for (i = 0; i < nitems(time_claims); i++)
		if (get_time(p, time_claims[i].name,
		    (int64_t *)((char *)c + time_claims[i].off)) == -1)
			return JWT_CLAIMS;
	if (strcmp(got_iss, iss) != 0)
		return JWT_ISSUER;
	if (strcmp(got_aud, aud) != 0)
		return JWT_AUDIENCE;
	/* Leeway goes on the claims: they are bounded, so nothing overflows. */
	if (c->exp + leeway <= now)
		return JWT_EXPIRED;
	if (c->nbf - leeway > now || c->iat - leeway > now)
		return JWT_NOT_YET_VALID;
	return JWT_OK;
}

static enum jwt_err
verify(const unsigned char *key, size_t keylen, const char *iss,
    const char *aud, int64_t now, int leeway, const char *token, size_t len,
    struct jwt_claims *c)
{
	const char		*dot1, *dot2;
	unsigned char		 head[PART_MAX], body[PART_MAX], sig[PART_MAX];
	unsigned char		 mac[SHA256_LEN];
	size_t			 headlen, bodylen, siglen;
	struct json_object	*o;
	enum jwt_err		 e;
	int			 good;

	if (split(token, len, &dot1, &dot2) == -1 ||
	    b64url_decode(token, (size_t)(dot1 - token), head, sizeof(head),
	    &headlen) == -1 ||
	    b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), body,
	    sizeof(body), &bodylen) == -1 ||
	    b64url_decode(dot2 + 1, (size_t)(token + len - dot2 - 1), sig,
	    sizeof(sig), &siglen) == -1)
		return JWT_MALFORMED;

	/* The algorithm first: "none" or RS256 must not reach the MAC. */
	if ((o = parse_object(head, headlen)) == NULL)
		return JWT_MALFORMED;
	e = check_header(o);
	json_object_put(o);
	if (e != JWT_OK)
		return e;

	if (keylen < JWT_KEY_MIN || hmac_sha256(key, keylen, token,
	    (size_t)(dot2 - token), mac) == -1)
		return JWT_SIGNATURE;
	good = crypto_equal(mac, sizeof(mac), sig, siglen);
	/* The right MAC for a forged token would be a forgery: forget it. */
	OPENSSL_cleanse(mac, sizeof(mac));
	if (!good)
		return JWT_SIGNATURE;

	if ((o = parse_object(body, bodylen)) == NULL)
		return JWT_MALFORMED;
	if (leeway < 0)
		leeway = 0;
	if (leeway > JWT_LEEWAY_MAX)
		leeway = JWT_LEEWAY_MAX;
	e = check_payload(o, iss, aud, now, leeway, c);
	json_object_put(o);
	return e;
}

enum jwt_err
jwt_verify(const unsigned char *key, size_t keylen, const char *iss,
    const char *aud, int64_t now, int leeway, const char *token, size_t len,
    struct jwt_claims *out)
{
	struct jwt_claims	c;
	enum jwt_err		e;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	if ((e = verify(key, keylen, iss, aud, now, leeway, token, len,
	    &c)) == JWT_OK)
		*out = c;
	return e;
}
