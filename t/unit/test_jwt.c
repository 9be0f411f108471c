/* test_jwt.c — HS256 tokens: what is signed verifies, every attack fails. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "jwt.h"

#define ISS	"https://loyalty.example"
#define AUD	"loyalty-api"
#define NOW	INT64_C(1700000000)

static const unsigned char key[JWT_KEY_MIN] =
    "an HS256 key of exactly 32 bytes";
static const unsigned char other_key[JWT_KEY_MIN] =
    "an HS256 key of exactly 32 byteS";

/* The header jwt_sign writes, and a payload with every claim valid. */
#define HS256	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static const char *const std_payload[][2] = {
	{ "iss", "\"" ISS "\"" }, { "aud", "\"" AUD "\"" },
	{ "sub", "\"user-1\"" }, { "tid", "\"tenant-1\"" },
	{ "role", "\"member\"" }, { "sid", "\"session-1\"" },
	{ "jti", "\"token-1\"" }, { "iat", "1700000000" },
	{ "nbf", "1700000000" }, { "exp", "1700000900" },
};

/*
 * The standard payload with name's value replaced by value (raw JSON),
 * or left out when value is NULL, or added at the end when name is not
 * a standard claim.
 */
static const char *
payload_with(const char *name, const char *value)
{
	static char	out[8192];
	size_t		i, n = 0;
	int		found = 0;

	n += (size_t)snprintf(out + n, sizeof(out) - n, "{");
	for (i = 0; i < sizeof(std_payload) / sizeof(std_payload[0]); i++) {
		const char *v = std_payload[i][1];

		if (name != NULL && strcmp(name, std_payload[i][0]) == 0) {
			found = 1;
			if ((v = value) == NULL)
				continue;
		}
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s\"%s\":%s",
		    n > 1 ? "," : "", std_payload[i][0], v);
	}
	if (name != NULL && !found)
		n += (size_t)snprintf(out + n, sizeof(out) - n, ",\"%s\":%s",
		    name, value);
	snprintf(out + n, sizeof(out) - n, "}");
	assert_true(n + 1 < sizeof(out));
	return out;
}

/*
 * header.payload.signature from any bytes, signed with k (or with an
 * empty signature when k is NULL): tokens that jwt_sign would never
 * write, but that carry a valid MAC.
 */
static const char *
forge(const char *header, const char *payload, const unsigned char *k,
    size_t klen)
{
	static char	tok[16384];
	unsigned char	mac[SHA256_LEN];
	size_t		n;

	assert_int_equal(b64url_encode(header, strlen(header), tok,
	    sizeof(tok)), 0);
	n = strlen(tok);
	tok[n++] = '.';
	assert_int_equal(b64url_encode(payload, strlen(payload), tok + n,
	    sizeof(tok) - n), 0);
	n += strlen(tok + n);
	if (k != NULL)
		assert_int_equal(hmac_sha256(k, klen, tok, n, mac), 0);
	tok[n++] = '.';
	tok[n] = '\0';
	if (k != NULL)
		assert_int_equal(b64url_encode(mac, sizeof(mac), tok + n,
		    sizeof(tok) - n), 0);
	return tok;
}

#define SIGNED(h, p)	forge((h), (p), key, sizeof(key))

/*
 * Verifies len bytes of token with the test key at NOW; whatever the
 * outcome, the claims are all zeros unless it is JWT_OK.
 */
static enum jwt_err
verify_n(const char *token, size_t len, int leeway, struct jwt_claims *c)
{
	static const struct jwt_claims	zero;
	struct jwt_claims		mine;
	enum jwt_err			e;

	if (c == NULL)
		c = &mine;
	memset(c, 0xa5, sizeof(*c));
	e = jwt_verify(key, sizeof(key), ISS, AUD, NOW, leeway, token, len, c);
	if (e != JWT_OK)
		assert_memory_equal(c, &zero, sizeof(*c));
	return e;
}

static enum jwt_err
verify(const char *token)
{
	return verify_n(token, strlen(token), 0, NULL);
}

static enum jwt_err
verify_leeway(const char *token, int leeway)
{
	return verify_n(token, strlen(token), leeway, NULL);
}

static void
set_claims(struct jwt_claims *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->sub, "user-1");
	strcpy(c->tid, "tenant-1");
	strcpy(c->role, "member");
	strcpy(c->sid, "session-1");
	strcpy(c->jti, "token-1");
	c->iat = NOW;
	c->nbf = NOW;
	c->exp = NOW + 900;
}

static void
test_sign_then_verify_gives_back_the_claims(void **state)
{
	struct jwt_claims	c, got;
	char			tok[JWT_MAX_LEN + 1], *dot;
	unsigned char		payload[1024];
	size_t			n;

	(void)state;
	set_claims(&c);
	assert_int_equal(jwt_sign(key, sizeof(key), ISS, AUD, &c, tok,
	    sizeof(tok)), 0);
	assert_int_equal(verify_n(tok, strlen(tok), 0, &got), JWT_OK);
	assert_memory_equal(&got, &c, sizeof(c));
	/* Exactly the header and the payload of the documentation. */
	assert_int_equal(strncmp(tok,
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37), 0);
	dot = strchr(tok + 37, '.');
	assert_non_null(dot);
	assert_int_equal(b64url_decode(tok + 37, (size_t)(dot - tok - 37),
	    payload, sizeof(payload) - 1, &n), 0);
	payload[n] = '\0';
	assert_string_equal((char *)payload, payload_with(NULL, NULL));
	assert_int_equal(strlen(dot + 1), 43);
	/* The same as forging it by hand. */
	assert_string_equal(tok, SIGNED(HS256, payload_with(NULL, NULL)));
}

static void
test_sign_keeps_utf8_quotes_and_slashes(void **state)
{
	struct jwt_claims	c, got;
	char			tok[JWT_MAX_LEN + 1];

	(void)state;
	set_claims(&c);
	strcpy(c.sub, "J\xc3\xa9r\xc3\xb4me \"q\" \\ / \xe2\x82\xac");
	memset(c.jti, 'j', sizeof(c.jti) - 1);	/* the longest that fits */
	c.jti[sizeof(c.jti) - 1] = '\0';
	assert_int_equal(jwt_sign(key, sizeof(key), ISS, AUD, &c, tok,
	    sizeof(tok)), 0);
	assert_int_equal(verify_n(tok, strlen(tok), 0, &got), JWT_OK);
	assert_memory_equal(&got, &c, sizeof(c));
}

static void
test_sign_refuses_what_verify_would_refuse(void **state)
{
	struct jwt_claims	c;
	char			tok[JWT_MAX_LEN + 1], iss[3500];

	(void)state;
#define REFUSED(edit) do {						\
	set_claims(&c);							\
	edit;								\
	strcpy(tok, "x");						\
	assert_int_equal(jwt_sign(key, sizeof(key), ISS, AUD, &c, tok,	\
	    sizeof(tok)), -1);						\
	assert_string_equal(tok, "");					\
} while (0)
	REFUSED(c.sub[0] = '\0');
	REFUSED(memset(c.sub, 'a', sizeof(c.sub)));	/* no NUL */
	REFUSED(memset(c.role, 'a', sizeof(c.role)));
	REFUSED(strcpy(c.role, "mem\nber"));
	REFUSED(strcpy(c.tid, "t\x7f"));
	REFUSED(strcpy(c.sid, "s\xc2\x85"));		/* C1: NEL */
	REFUSED(strcpy(c.jti, "j\xff"));		/* not UTF-8 */
	REFUSED(strcpy(c.jti, "j\xed\xa0\x80"));	/* a surrogate */
	REFUSED(c.exp = -1);
	REFUSED(c.iat = JWT_TIME_MAX + 1);
	REFUSED(c.nbf = INT64_MIN);
#undef REFUSED
	set_claims(&c);
	assert_int_equal(jwt_sign(key, sizeof(key) - 1, ISS, AUD, &c, tok,
	    sizeof(tok)), -1);
	assert_int_equal(jwt_sign(key, sizeof(key), "", AUD, &c, tok,
	    sizeof(tok)), -1);
	assert_int_equal(jwt_sign(key, sizeof(key), ISS, "a\tb", &c, tok,
	    sizeof(tok)), -1);
	/* Longer than JWT_MAX_LEN: verify would refuse it. */
	memset(iss, 'i', sizeof(iss) - 1);
	iss[sizeof(iss) - 1] = '\0';
	assert_int_equal(jwt_sign(key, sizeof(key), iss, AUD, &c, tok,
	    sizeof(tok)), -1);
	/* Room for the token but not its NUL. */
	assert_int_equal(jwt_sign(key, sizeof(key), ISS, AUD, &c, tok,
	    sizeof(tok)), 0);
	assert_int_equal(jwt_sign(key, sizeof(key), ISS, AUD, &c, tok,
	    strlen(tok)), -1);
}

static void
test_header_may_have_typ_in_any_order(void **state)
{
	const char	*p = payload_with(NULL, NULL);

	(void)state;
	assert_int_equal(verify(SIGNED("{\"alg\":\"HS256\"}", p)), JWT_OK);
	assert_int_equal(verify(SIGNED("{\"typ\":\"JWT\",\"alg\":\"HS256\"}",
	    p)), JWT_OK);
	assert_int_equal(verify(SIGNED("{ \"alg\" : \"HS256\" ,\n"
	    "\"typ\":\"JWT\" }", p)), JWT_OK);
}

static void
test_alg_none_is_refused_signed_or_not(void **state)
{
	const char	*p = payload_with(NULL, NULL);

	(void)state;
	assert_int_equal(verify(forge("{\"alg\":\"none\"}", p, NULL, 0)),
	    JWT_ALG);
	assert_int_equal(verify(forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", p,
	    NULL, 0)), JWT_ALG);
	assert_int_equal(verify(SIGNED("{\"alg\":\"none\"}", p)), JWT_ALG);
	/* The unsigned form of our own header is a bad signature. */
	assert_int_equal(verify(forge(HS256, p, NULL, 0)), JWT_SIGNATURE);
}

static void
test_any_other_alg_is_refused(void **state)
{
	static const char *const headers[] = {
		"{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
		"{\"alg\":\"HS384\"}",
		"{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
		"{\"alg\":\"ES256\"}",
		"{\"alg\":\"hs256\"}",
		"{\"alg\":\"HS256 \"}",
		"{\"alg\":\"HS256\\u0000\"}",
		"{\"alg\":\"\"}",
		"{\"typ\":\"JWT\"}",		/* no alg */
		"{}",
		"{\"alg\":256}",
		"{\"alg\":null}",
		"{\"alg\":true}",
		"{\"alg\":[\"HS256\"]}",
		"{\"alg\":{\"name\":\"HS256\"}}",
	};
	const char	*p = payload_with(NULL, NULL);
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (verify(SIGNED(headers[i], p)) != JWT_ALG)
			fail_msg("header %s not refused as JWT_ALG",
			    headers[i]);
}

static void
test_any_other_header_member_is_refused(void **state)
{
	static const char *const extra[] = {
		"\"crit\":[\"exp\"]", "\"kid\":\"1\"",
		"\"jku\":\"https://evil.example/keys\"", "\"jwk\":{}",
		"\"x5u\":\"https://evil.example/cert\"", "\"cty\":\"JWT\"",
		"\"b64\":false", "\"zip\":\"DEF\"",
		/* typ other than exactly "JWT". */
		"\"typ\":\"jwt\"", "\"typ\":\"JWS\"", "\"typ\":1",
		"\"typ\":null",
	};
	const char	*p = payload_with(NULL, NULL);
	char		 h[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		snprintf(h, sizeof(h), "{\"alg\":\"HS256\",%s}", extra[i]);
		if (verify(SIGNED(h, p)) != JWT_ALG)
			fail_msg("header %s not refused as JWT_ALG", h);
	}
}

static void
test_header_that_is_no_json_object_is_malformed(void **state)
{
	static const char *const headers[] = {
		"[\"HS256\"]", "\"HS256\"", "{", "{\"alg\":\"HS256\"}x",
		"{\"alg\":\"HS256\"}{}", "{\"alg\":'HS256'}",
		"{\"alg\":\"HS256\",}", "{\"alg\":\"HS\xff\"}",
		"{\"alg\":\"HS256\",\"x\":\"\xed\xa0\x80\"}",
		"{\"alg\":\"HS256\",\"x\":[[[[[[[[[[]]]]]]]]]]}",
	};
	const char	*p = payload_with(NULL, NULL);
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (verify(SIGNED(headers[i], p)) != JWT_MALFORMED)
			fail_msg("header %s not refused as malformed",
			    headers[i]);
}

/* Re-encodes the signature of tok with bit flipped, into out. */
static void
flip_signature_bit(const char *tok, int bit, char *out, size_t outlen)
{
	const char	*sig = strrchr(tok, '.') + 1;
	unsigned char	 mac[SHA256_LEN];
	size_t		 n, prefix = (size_t)(sig - tok);

	assert_int_equal(b64url_decode(sig, strlen(sig), mac, sizeof(mac),
	    &n), 0);
	assert_int_equal(n, sizeof(mac));
	mac[bit / 8] ^= (unsigned char)(1 << (bit % 8));
	memcpy(out, tok, prefix);
	assert_int_equal(b64url_encode(mac, sizeof(mac), out + prefix,
	    outlen - prefix), 0);
}

static void
test_any_flipped_signature_bit_is_refused(void **state)
{
	char	tok[JWT_MAX_LEN + 1], bad[JWT_MAX_LEN + 1];
	int	bit;

	(void)state;
	strcpy(tok, SIGNED(HS256, payload_with(NULL, NULL)));
	assert_int_equal(verify(tok), JWT_OK);
	for (bit = 0; bit < 8 * SHA256_LEN; bit++) {
		flip_signature_bit(tok, bit, bad, sizeof(bad));
		if (verify(bad) != JWT_SIGNATURE)
			fail_msg("signature bit %d flipped, not refused", bit);
	}
}

static void
test_wrong_key_or_changed_payload_is_refused(void **state)
{
	char		 tok[JWT_MAX_LEN + 1], mixed[2 * JWT_MAX_LEN];
	const char	*sig;

	(void)state;
	assert_int_equal(verify(forge(HS256, payload_with(NULL, NULL),
	    other_key, sizeof(other_key))), JWT_SIGNATURE);
	/* The key's first 31 bytes, and a key too short to trust at all. */
	assert_int_equal(verify(forge(HS256, payload_with(NULL, NULL),
	    key, sizeof(key) - 1)), JWT_SIGNATURE);
	strcpy(tok, SIGNED(HS256, payload_with(NULL, NULL)));
	assert_int_equal(jwt_verify(key, sizeof(key) - 1, ISS, AUD, NOW, 0,
	    tok, strlen(tok), &(struct jwt_claims){ 0 }), JWT_SIGNATURE);
	/* A promotion to admin with the member's signature. */
	sig = strrchr(tok, '.');
	strcpy(mixed, SIGNED(HS256, payload_with("role", "\"admin\"")));
	strcpy(strrchr(mixed, '.'), sig);
	assert_int_equal(verify(mixed), JWT_SIGNATURE);
}

static void
test_signature_of_the_wrong_length_is_refused(void **state)
{
	char	tok[JWT_MAX_LEN + 1];
	char	*sig;

	(void)state;
	strcpy(tok, SIGNED(HS256, payload_with(NULL, NULL)));
	sig = strrchr(tok, '.') + 1;
	/* 42 chars: 31 bytes (canonical, as the last char is 'A'). */
	sig[41] = 'A';
	sig[42] = '\0';
	assert_int_equal(verify(tok), JWT_SIGNATURE);
	/* 44 chars: 33 bytes. */
	strcpy(sig + 41, "AAA");
	assert_int_equal(verify(tok), JWT_SIGNATURE);
	/* An HS512-sized signature. */
	memset(sig, 'A', 86);
	sig[86] = '\0';
	assert_int_equal(verify(tok), JWT_SIGNATURE);
}

static void
test_expiry_within_and_beyond_leeway(void **state)
{
	const char	*tok;

	(void)state;
	tok = SIGNED(HS256, payload_with("exp", "1699999990"));
	assert_int_equal(verify_leeway(tok, 0), JWT_EXPIRED);
	assert_int_equal(verify_leeway(tok, 10), JWT_EXPIRED);
	assert_int_equal(verify_leeway(tok, 11), JWT_OK);
	/* exp is the first second it is no longer valid. */
	tok = SIGNED(HS256, payload_with("exp", "1700000000"));
	assert_int_equal(verify_leeway(tok, 0), JWT_EXPIRED);
	assert_int_equal(verify_leeway(tok, -30), JWT_EXPIRED);
	tok = SIGNED(HS256, payload_with("exp", "1700000001"));
	assert_int_equal(verify_leeway(tok, 0), JWT_OK);
	assert_int_equal(verify_leeway(tok, -30), JWT_OK);
	/* Leeway is clamped to 60 s. */
	tok = SIGNED(HS256, payload_with("exp", "1699999941"));
	assert_int_equal(verify_leeway(tok, 1000), JWT_OK);
	tok = SIGNED(HS256, payload_with("exp", "1699999940"));
	assert_int_equal(verify_leeway(tok, 1000), JWT_EXPIRED);
	assert_int_equal(verify_leeway(tok, 60), JWT_EXPIRED);
}

static void
test_nbf_or_iat_in_the_future_is_refused(void **state)
{
	const char	*tok;

	(void)state;
	tok = SIGNED(HS256, payload_with("nbf", "1700000001"));
	assert_int_equal(verify_leeway(tok, 0), JWT_NOT_YET_VALID);
	assert_int_equal(verify_leeway(tok, 1), JWT_OK);
	tok = SIGNED(HS256, payload_with("nbf", "1700000061"));
	assert_int_equal(verify_leeway(tok, 1000), JWT_NOT_YET_VALID);
	tok = SIGNED(HS256, payload_with("iat", "1700000005"));
	assert_int_equal(verify_leeway(tok, 0), JWT_NOT_YET_VALID);
	assert_int_equal(verify_leeway(tok, 4), JWT_NOT_YET_VALID);
	assert_int_equal(verify_leeway(tok, 5), JWT_OK);
	tok = SIGNED(HS256, payload_with("iat", "0"));
	assert_int_equal(verify_leeway(tok, 0), JWT_OK);
}

static void
test_wrong_issuer_or_audience_is_refused(void **state)
{
	(void)state;
	assert_int_equal(verify(SIGNED(HS256, payload_with("iss",
	    "\"https://evil.example\""))), JWT_ISSUER);
	assert_int_equal(verify(SIGNED(HS256, payload_with("iss",
	    "\"https://loyalty.example.evil\""))), JWT_ISSUER);
	assert_int_equal(verify(SIGNED(HS256, payload_with("iss",
	    "\"https://loyalty.exampl\""))), JWT_ISSUER);
	assert_int_equal(verify(SIGNED(HS256, payload_with("aud",
	    "\"loyalty-admin\""))), JWT_AUDIENCE);
	assert_int_equal(verify(SIGNED(HS256, payload_with("aud",
	    "\"LOYALTY-API\""))), JWT_AUDIENCE);
	/* Only a string: RFC 7519 allows an array, this API does not. */
	assert_int_equal(verify(SIGNED(HS256, payload_with("aud",
	    "[\"loyalty-api\"]"))), JWT_CLAIMS);
	/* A NUL would let a prefix pass a C string comparison. */
	assert_int_equal(verify(SIGNED(HS256, payload_with("iss",
	    "\"https://loyalty.example\\u0000.evil\""))), JWT_CLAIMS);
}

static void
test_every_missing_claim_is_refused(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(std_payload) / sizeof(std_payload[0]); i++)
		if (verify(SIGNED(HS256, payload_with(std_payload[i][0],
		    NULL))) != JWT_CLAIMS)
			fail_msg("no %s, not refused", std_payload[i][0]);
}

static void
test_claims_of_the_wrong_form_are_refused(void **state)
{
	static const char *const bad[][2] = {
		{ "exp", "\"1700000900\"" }, { "exp", "1700000900.0" },
		{ "exp", "1.7000009e9" }, { "exp", "-1" }, { "exp", "true" },
		{ "exp", "null" }, { "exp", "[1700000900]" },
		{ "exp", "99999999999999999999" },
		{ "exp", "18446744073709551615" },
		{ "exp", "253402300800" }, { "iat", "-1700000000" },
		{ "nbf", "\"now\"" }, { "nbf", "1e3" },
		{ "sub", "\"\"" }, { "sub", "5" }, { "sub", "{}" },
		{ "sub", "null" },
		{ "sub", "\"0123456789012345678901234567890123456789"
		    "012345678901234567890123\"" },	/* 64 */
		{ "role", "\"0123456789012345678901234567890x\"" }, /* 32 */
		{ "sub", "\"a\\nb\"" }, { "sub", "\"a\\u0000b\"" },
		{ "sub", "\"a\\u007fb\"" }, { "sub", "\"a\\u0085b\"" },
		{ "sid", "\"a\tb\"" },
		{ "jti", "[\"j\"]" }, { "iss", "\"\"" }, { "aud", "\"\"" },
		{ "iss", "null" },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (verify(SIGNED(HS256, payload_with(bad[i][0],
		    bad[i][1]))) != JWT_CLAIMS)
			fail_msg("%s: %s not refused", bad[i][0], bad[i][1]);
}

static void
test_claims_at_their_limits_are_accepted(void **state)
{
	struct jwt_claims	c;
	const char		*tok;

	(void)state;
	tok = SIGNED(HS256, payload_with("sub",
	    "\"0123456789012345678901234567890123456789"
	    "01234567890123456789012\""));		/* 63 */
	assert_int_equal(verify_n(tok, strlen(tok), 0, &c), JWT_OK);
	assert_int_equal(strlen(c.sub), 63);
	tok = SIGNED(HS256, payload_with("role",
	    "\"0123456789012345678901234567890\""));	/* 31 */
	assert_int_equal(verify_n(tok, strlen(tok), 0, &c), JWT_OK);
	assert_int_equal(strlen(c.role), 31);
	tok = SIGNED(HS256, payload_with("exp", "253402300799"));
	assert_int_equal(verify_n(tok, strlen(tok), 0, &c), JWT_OK);
	assert_true(c.exp == JWT_TIME_MAX);
	/* Escapes are decoded: \u00e9 is é. */
	tok = SIGNED(HS256, payload_with("sub", "\"Ren\\u00e9\""));
	assert_int_equal(verify_n(tok, strlen(tok), 0, &c), JWT_OK);
	assert_string_equal(c.sub, "Ren\xc3\xa9");
}

static void
test_unknown_payload_members_are_ignored(void **state)
{
	(void)state;
	assert_int_equal(verify(SIGNED(HS256, payload_with("scope",
	    "[\"read\",\"write\"]"))), JWT_OK);
	assert_int_equal(verify(SIGNED(HS256, payload_with("ext",
	    "{\"a\":{\"b\":1.5}}"))), JWT_OK);
}

static void
test_signed_payload_that_is_no_json_object_is_malformed(void **state)
{
	static const char *const payloads[] = {
		"[]", "null", "\"x\"", "1700000000", "{", "{}x",
		"{\"iss\":\"" ISS "\",}",
		"{\"a\":[[[[[[[[[[[[]]]]]]]]]]]]}",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++)
		if (verify(SIGNED(HS256, payloads[i])) != JWT_MALFORMED)
			fail_msg("payload %s not malformed", payloads[i]);
	/* An empty object is JSON; it lacks every claim. */
	assert_int_equal(verify(SIGNED(HS256, "{}")), JWT_CLAIMS);
}

static void
test_not_three_parts_is_malformed(void **state)
{
	char	tok[JWT_MAX_LEN + 8], *dot;

	(void)state;
	strcpy(tok, SIGNED(HS256, payload_with(NULL, NULL)));
	strcat(tok, ".AAAA");		/* four parts */
	assert_int_equal(verify(tok), JWT_MALFORMED);
	*strrchr(tok, '.') = '\0';
	dot = strrchr(tok, '.');
	*dot = '\0';			/* two parts */
	assert_int_equal(verify(tok), JWT_MALFORMED);
	*strchr(tok, '.') = '\0';	/* one part */
	assert_int_equal(verify(tok), JWT_MALFORMED);
	assert_int_equal(verify(""), JWT_MALFORMED);
	assert_int_equal(verify("."), JWT_MALFORMED);
	assert_int_equal(verify(".."), JWT_MALFORMED);
	assert_int_equal(verify("..."), JWT_MALFORMED);
	/* Empty header or payload. */
	assert_int_equal(verify(SIGNED("", payload_with(NULL, NULL))),
	    JWT_MALFORMED);
	assert_int_equal(verify(SIGNED(HS256, "")), JWT_MALFORMED);
}

static void
test_base64_other_than_canonical_base64url_is_malformed(void **state)
{
	char	tok[JWT_MAX_LEN + 8], *sig, *p;

	(void)state;
	strcpy(tok, SIGNED(HS256, payload_with(NULL, NULL)));
	assert_int_equal(verify(tok), JWT_OK);
	strcat(tok, "=");		/* padding */
	assert_int_equal(verify(tok), JWT_MALFORMED);
	strcpy(tok, SIGNED(HS256, payload_with(NULL, NULL)));
	p = strchr(tok, '.');
	memmove(p + 1, p, strlen(p) + 1);
	*p = '=';			/* padding in the header */
	assert_int_equal(verify(tok), JWT_MALFORMED);
	/* The same bits spelt another way: the last char's low bits set. */
	strcpy(tok, SIGNED(HS256, payload_with(NULL, NULL)));
	sig = strrchr(tok, '.') + 1;
	sig[42] = sig[42] == 'A' ? 'B' : (char)(sig[42] + 1);
	assert_int_equal(verify(tok), JWT_MALFORMED);
	/* Standard base64's characters. */
	strcpy(tok, SIGNED(HS256, payload_with(NULL, NULL)));
	tok[0] = '+';
	assert_int_equal(verify(tok), JWT_MALFORMED);
	strcpy(tok, SIGNED(HS256, payload_with(NULL, NULL)));
	tok[5] = '/';
	assert_int_equal(verify(tok), JWT_MALFORMED);
}

static void
test_garbage_is_malformed(void **state)
{
	static const char *const garbage[] = {
		"garbage", "eyJ", "Bearer x.y.z", "x.y.z", "a b.c d.e f",
		"\xff\xfe\xfd.\x80\x81.\x01\x02",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.\n",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		if (verify(garbage[i]) != JWT_MALFORMED)
			fail_msg("garbage %zu not malformed", i);
}

static void
test_token_length_is_capped_at_4096(void **state)
{
	char		 filler[4096], tok[8192];
	const char	*t;
	size_t		 n;
	int		 at_limit = 0;

	(void)state;
	/* A validly signed token of every length around the limit. */
	for (n = 2800; n < 2840; n++) {
		memset(filler, 'f', n);
		filler[0] = filler[n - 1] = '"';
		filler[n] = '\0';
		t = SIGNED(HS256, payload_with("pad", filler));
		if (strlen(t) <= JWT_MAX_LEN) {
			at_limit |= strlen(t) == JWT_MAX_LEN;
			assert_int_equal(verify(t), JWT_OK);
		} else
			assert_int_equal(verify(t), JWT_MALFORMED);
	}
	assert_true(at_limit);
	/* 5000 bytes, signed. */
	memset(filler, 'f', 3496);
	filler[0] = filler[3495] = '"';
	filler[3496] = '\0';
	strcpy(tok, SIGNED(HS256, payload_with("pad", filler)));
	assert_true(strlen(tok) > 4990 && strlen(tok) < 5010);
	assert_int_equal(verify(tok), JWT_MALFORMED);
}

static void
test_nul_inside_or_after_is_malformed(void **state)
{
	char	tok[JWT_MAX_LEN + 8];
	size_t	len, at;

	(void)state;
	strcpy(tok, SIGNED(HS256, payload_with(NULL, NULL)));
	len = strlen(tok);
	/* The terminating NUL counted in the length. */
	assert_int_equal(verify_n(tok, len + 1, 0, NULL), JWT_MALFORMED);
	/* A NUL in each part. */
	for (at = 5; at < len; at += len / 4) {
		memmove(tok + at + 1, tok + at, len - at + 1);
		tok[at] = '\0';
		assert_int_equal(verify_n(tok, len + 1, 0, NULL),
		    JWT_MALFORMED);
		memmove(tok + at, tok + at + 1, len - at + 1);
	}
	assert_int_equal(verify_n(tok, len, 0, NULL), JWT_OK);
	/* The length given is what counts, not the NUL. */
	assert_int_not_equal(verify_n(tok, len - 1, 0, NULL), JWT_OK);
	assert_int_equal(verify_n(tok, 0, 0, NULL), JWT_MALFORMED);
}

static void
test_error_texts_are_short_distinct_and_total(void **state)
{
	enum jwt_err	e, f;

	(void)state;
	for (e = JWT_OK; e <= JWT_CLAIMS; e++) {
		assert_non_null(jwt_err_text(e));
		assert_true(strlen(jwt_err_text(e)) > 0);
		assert_true(strlen(jwt_err_text(e)) < 64);
		for (f = JWT_OK; f < e; f++)
			assert_string_not_equal(jwt_err_text(e),
			    jwt_err_text(f));
	}
	assert_string_equal(jwt_err_text((enum jwt_err)99), "invalid token");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_then_verify_gives_back_the_claims),
		cmocka_unit_test(test_sign_keeps_utf8_quotes_and_slashes),
		cmocka_unit_test(test_sign_refuses_what_verify_would_refuse),
		cmocka_unit_test(test_header_may_have_typ_in_any_order),
		cmocka_unit_test(test_alg_none_is_refused_signed_or_not),
		cmocka_unit_test(test_any_other_alg_is_refused),
		cmocka_unit_test(test_any_other_header_member_is_refused),
		cmocka_unit_test(test_header_that_is_no_json_object_is_malformed),
		cmocka_unit_test(test_any_flipped_signature_bit_is_refused),
		cmocka_unit_test(test_wrong_key_or_changed_payload_is_refused),
		cmocka_unit_test(test_signature_of_the_wrong_length_is_refused),
		cmocka_unit_test(test_expiry_within_and_beyond_leeway),
		cmocka_unit_test(test_nbf_or_iat_in_the_future_is_refused),
		cmocka_unit_test(test_wrong_issuer_or_audience_is_refused),
		cmocka_unit_test(test_every_missing_claim_is_refused),
		cmocka_unit_test(test_claims_of_the_wrong_form_are_refused),
		cmocka_unit_test(test_claims_at_their_limits_are_accepted),
		cmocka_unit_test(test_unknown_payload_members_are_ignored),
		cmocka_unit_test(test_signed_payload_that_is_no_json_object_is_malformed),
		cmocka_unit_test(test_not_three_parts_is_malformed),
		cmocka_unit_test(test_base64_other_than_canonical_base64url_is_malformed),
		cmocka_unit_test(test_garbage_is_malformed),
		cmocka_unit_test(test_token_length_is_capped_at_4096),
		cmocka_unit_test(test_nul_inside_or_after_is_malformed),
		cmocka_unit_test(test_error_texts_are_short_distinct_and_total),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
