/* fuzz_jwt.c — libFuzzer target: tokens through jwt.c, and base64url. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "crypto.h"
#include "fuzz.h"
#include "jwt.h"

#define ISS	"https://loyalty.example"
#define AUD	"loyalty-api"
#define NOW	INT64_C(1700000000)
#define LEEWAY	30

/* The seed corpus's valid token is signed with this key. */
static const unsigned char key[JWT_KEY_MIN] =
    "fuzz key: 32 bytes, not a secret";

#define HEADER	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define PAYLOAD	"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u\"," \
		"\"tid\":\"t\",\"role\":\"r\",\"sid\":\"s\",\"jti\":\"j\"," \
		"\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700000900}"

/* Longer inputs are cut: a token is at most JWT_MAX_LEN anyway. */
#define INPUT_MAX	6000

/*
 * base64url decoding written apart from crypto.c, bit by bit: every
 * character in the alphabet, no length of 1 mod 4, and the bits left
 * over at the end all zero. Returns -1 or 0 and the length in *got.
 */
static int
ref_b64url_decode(const uint8_t *in, size_t n, unsigned char *out,
    size_t *got)
{
	static const char	 abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const char		*p;
	uint32_t		 acc = 0;
	size_t			 i, o = 0;
	int			 bits = 0;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((p = memchr(abc, in[i], 64)) == NULL)
			return -1;
		acc = acc << 6 | (uint32_t)(p - abc);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	*got = o;
	return 0;
}

/* The decoder agrees with the reference, and only the canonical text passes. */
static void
check_b64url(const uint8_t *data, size_t len)
{
	unsigned char	bin[INPUT_MAX], ref[INPUT_MAX];
	char		text[2 * INPUT_MAX];
	size_t		got = 0, refgot = 0;
	int		rc;

	rc = b64url_decode((const char *)data, len, bin, sizeof(bin), &got);
	CHECK(rc == ref_b64url_decode(data, len, ref, &refgot));
	if (rc == 0) {
		CHECK(got == refgot && memcmp(bin, ref, got) == 0);
		/* decode(x) == y only if encode(y) == x: one spelling each. */
		CHECK(b64url_encode(bin, got, text, sizeof(text)) == 0);
		CHECK(strlen(text) == len && memcmp(text, data, len) == 0);
	}
	/* Any bytes survive the round trip. */
	CHECK(b64url_encode(data, len, text, sizeof(text)) == 0);
	CHECK(strlen(text) == b64url_encoded_len(len));
	CHECK(b64url_decode(text, strlen(text), bin, sizeof(bin), &got) == 0);
	CHECK(got == len && memcmp(bin, data, len) == 0);
}

/* hex_decode takes exactly the even-length strings of hex digits. */
static void
check_hex(const uint8_t *data, size_t len)
{
	unsigned char	bin[INPUT_MAX / 2];
	char		text[INPUT_MAX + 1];
	size_t		i;
	int		all_hex = len % 2 == 0;

	for (i = 0; i < len && all_hex; i++)
		all_hex = data[i] != '\0' &&
		    strchr("0123456789abcdefABCDEF", data[i]) != NULL;
	CHECK((hex_decode((const char *)data, len, bin, len / 2) == 0) ==
	    all_hex);
	if (!all_hex)
		return;
	hex_encode(bin, len / 2, text);
	for (i = 0; i < len; i++)
		CHECK(text[i] == (data[i] | 0x20));	/* lower case */
}

static int
is_zero(const void *p, size_t n)
{
	const unsigned char	*s = p;

	while (n > 0)
		if (s[--n] != 0)
			return 0;
	return 1;
}

/* Every string claim is terminated, non-empty, and free of controls. */
static void
check_text(const char *s, size_t size)
{
	size_t	n = strnlen(s, size), i;

	CHECK(n > 0 && n < size);
	for (i = 0; i < n; i++)
		CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

/*
 * What JWT_OK promises: well-formed claims within the time window, and
 * a token that jwt_sign makes of them verifies to the same claims.
 */
static void
check_ok(const struct jwt_claims *c)
{
	struct jwt_claims	again;
	char			tok[JWT_MAX_LEN + 1];

	check_text(c->sub, sizeof(c->sub));
	check_text(c->tid, sizeof(c->tid));
	check_text(c->role, sizeof(c->role));
	check_text(c->sid, sizeof(c->sid));
	check_text(c->jti, sizeof(c->jti));
	CHECK(c->exp + LEEWAY > NOW);
	CHECK(c->nbf - LEEWAY <= NOW && c->iat - LEEWAY <= NOW);
	CHECK(c->iat >= 0 && c->nbf >= 0 && c->exp <= JWT_TIME_MAX);
	CHECK(jwt_sign(key, sizeof(key), ISS, AUD, c, tok, sizeof(tok)) == 0);
	CHECK(jwt_verify(key, sizeof(key), ISS, AUD, NOW, LEEWAY, tok,
	    strlen(tok), &again) == JWT_OK);
	CHECK(memcmp(&again, c, sizeof(again)) == 0);
}

static enum jwt_err
verify(const char *tok, size_t len, struct jwt_claims *c)
{
	enum jwt_err	e;

	e = jwt_verify(key, sizeof(key), ISS, AUD, NOW, LEEWAY, tok, len, c);
	CHECK(e >= JWT_OK && e <= JWT_CLAIMS);
	CHECK(jwt_err_text(e) != NULL && jwt_err_text(e)[0] != '\0');
	if (e == JWT_OK)
		check_ok(c);
	else
		CHECK(is_zero(c, sizeof(*c)));
	return e;
}

/* base64(header).base64(payload).HMAC, into out: a token with a valid MAC. */
static size_t
forge(const void *header, size_t hlen, const void *payload, size_t plen,
    char *out, size_t outlen)
{
	unsigned char	mac[SHA256_LEN];
	size_t		n;

	CHECK(b64url_encode(header, hlen, out, outlen) == 0);
	n = strlen(out);
	out[n++] = '.';
	CHECK(b64url_encode(payload, plen, out + n, outlen - n) == 0);
	n += strlen(out + n);
	CHECK(hmac_sha256(key, sizeof(key), out, n, mac) == 0);
	out[n++] = '.';
	CHECK(b64url_encode(mac, sizeof(mac), out + n, outlen - n) == 0);
	return strlen(out);
}

/* A claim verify returned is the one in the payload, read the lax way. */
static void
check_claim(struct json_object *o, const char *name, const char *got)
{
	struct json_object	*v;

	CHECK(json_object_object_get_ex(o, name, &v));
	CHECK(strcmp(json_object_get_string(v), got) == 0);
}

/*
 * The input as the payload of a token with a good MAC and header: the
 * header and the MAC can no longer be what fails, and a payload taken
 * has the claims verify returned.
 */
static void
check_as_payload(const uint8_t *data, size_t len)
{
	static char		 tok[3 * INPUT_MAX];
	struct jwt_claims	 c;
	struct json_object	*o, *v;
	char			*text;
	size_t			 n;
	enum jwt_err		 e;

	n = forge(HEADER, strlen(HEADER), data, len, tok, sizeof(tok));
	e = verify(tok, n, &c);
	CHECK(e != JWT_ALG && e != JWT_SIGNATURE);
	CHECK(n <= JWT_MAX_LEN || e == JWT_MALFORMED);
	if (e != JWT_OK)
		return;
	CHECK((text = strndup((const char *)data, len)) != NULL);
	CHECK(strlen(text) == len);
	o = json_tokener_parse(text);
	CHECK(o != NULL && json_object_is_type(o, json_type_object));
	check_claim(o, "iss", ISS);
	check_claim(o, "aud", AUD);
	check_claim(o, "sub", c.sub);
	check_claim(o, "tid", c.tid);
	check_claim(o, "role", c.role);
	check_claim(o, "sid", c.sid);
	check_claim(o, "jti", c.jti);
	CHECK(json_object_object_get_ex(o, "exp", &v) &&
	    json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) == c.exp);
	json_object_put(o);
	free(text);
}

/*
 * The input as the header, with a good payload and MAC: only the header
 * can fail, and a header taken is {"alg":"HS256"} and maybe "typ":"JWT".
 */
static void
check_as_header(const uint8_t *data, size_t len)
{
	static char		 tok[3 * INPUT_MAX];
	struct jwt_claims	 c;
	struct json_object	*o;
	char			*text;
	size_t			 n;
	enum jwt_err		 e;

	n = forge(data, len, PAYLOAD, strlen(PAYLOAD), tok, sizeof(tok));
	e = verify(tok, n, &c);
	CHECK(e == JWT_OK || e == JWT_MALFORMED || e == JWT_ALG);
	if (e != JWT_OK)
		return;
	CHECK((text = strndup((const char *)data, len)) != NULL);
	CHECK(strlen(text) == len);
	o = json_tokener_parse(text);
	CHECK(o != NULL && json_object_is_type(o, json_type_object));
	CHECK(json_object_object_get_ex(o, "alg", NULL));
	json_object_object_foreach(o, name, v) {
		if (strcmp(name, "alg") == 0)
			CHECK(strcmp(json_object_get_string(v), "HS256") == 0);
		else
			CHECK(strcmp(name, "typ") == 0 &&
			    strcmp(json_object_get_string(v), "JWT") == 0);
	}
	json_object_put(o);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct jwt_claims	c;

	if (len > INPUT_MAX)
		len = INPUT_MAX;
	/* As a token. It cannot forge a MAC, so OK only from the seeds. */
	if (verify((const char *)data, len, &c) == JWT_OK)
		CHECK(len <= JWT_MAX_LEN && memchr(data, '\0', len) == NULL);
	check_as_payload(data, len);
	check_as_header(data, len);
	check_b64url(data, len);
	check_hex(data, len);
	return 0;
}
