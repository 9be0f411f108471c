/* fuzz_query.c — libFuzzer target: paths and query strings through request.c. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "request.h"

/* A hex digit's value, or -1. */
static int
hex_digit(char c)
{
	static const char	digits[] = "0123456789abcdef0123456789ABCDEF";
	const char		*p;

	if (c == '\0' || (p = strchr(digits, c)) == NULL)
		return -1;
	return (int)(p - digits) % 16;
}

/*
 * The specification of url_decode, written apart from request.c: "%XX"
 * with two hex digits is that byte, '+' is a space, a '%' without two hex
 * digits is an error. Returns the decoded length or -1; out has room for
 * len bytes.
 */
static long
ref_decode(const char *s, size_t len, char *out)
{
	size_t	i, o = 0;
	int	hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[o++] = s[i] == '+' ? ' ' : s[i];
			continue;
		}
		if (len - i < 3)
			return -1;
		if ((hi = hex_digit(s[i + 1])) == -1 ||
		    (lo = hex_digit(s[i + 2])) == -1)
			return -1;
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	return (long)o;
}

/*
 * url_decode into a buffer of exactly dstlen bytes (so AddressSanitizer
 * sees one byte too many): it succeeds when the escapes are good and the
 * result fits with its NUL, and then gives what ref_decode gives.
 */
static void
check_decode(const char *src, size_t len, const char *want, long wantlen,
    size_t dstlen)
{
	char	*dst;
	size_t	 outlen = (size_t)-1;
	int	 rc;

	if ((dst = malloc(dstlen)) == NULL)
		return;
	rc = url_decode(src, len, dst, dstlen, &outlen);
	if (wantlen < 0 || (size_t)wantlen + 1 > dstlen) {
		CHECK(rc == -1);
	} else {
		CHECK(rc == 0);
		CHECK(outlen == (size_t)wantlen);
		CHECK(memcmp(dst, want, outlen) == 0 && dst[outlen] == '\0');
	}
	free(dst);
}

/*
 * request_query for name: the first "name=value" or bare "name" pair
 * decides; a value that does not decode, or decodes to a NUL, is absent.
 */
static void
check_query(struct request *req, const char *name)
{
	const char	*p, *got;
	char		*want;
	size_t		 n = strlen(name), plen;
	long		 wantlen = -1;
	int		 found = 0;

	if ((want = malloc(strlen(req->query) + 1)) == NULL)
		return;
	for (p = req->query; *p != '\0'; p += plen + (p[plen] == '&')) {
		plen = strcspn(p, "&");
		if (plen == n && memcmp(p, name, n) == 0) {
			found = 1, wantlen = 0;
			break;
		}
		if (plen > n && memcmp(p, name, n) == 0 && p[n] == '=') {
			found = 1;
			wantlen = ref_decode(p + n + 1, plen - n - 1, want);
			if (wantlen >= 0 && memchr(want, '\0', wantlen) != NULL)
				wantlen = -1;
			break;
		}
	}
	got = request_query(req, name);
	if (!found || wantlen < 0) {
		CHECK(got == NULL);
	} else {
		CHECK(got != NULL);
		CHECK(strlen(got) == (size_t)wantlen);
		CHECK(memcmp(got, want, wantlen) == 0);
	}
	free(want);
}

/*
 * The input is a REQUEST_URI: the part before '?' is decoded like the
 * worker decodes a path, the rest is the query string, looked up by the
 * name of its first pair, by "ms" and by the empty name.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct request	 req;
	char		*uri, *q, *want, *name;
	size_t		 plen;
	long		 wantlen;

	if ((uri = malloc(len + 1)) == NULL)
		return 0;
	memcpy(uri, data, len);
	uri[len] = '\0';
	q = strchr(uri, '?');
	plen = q != NULL ? (size_t)(q - uri) : strlen(uri);
	if ((want = malloc(plen + 1)) != NULL) {
		wantlen = ref_decode(uri, plen, want);
		check_decode(uri, plen, want, wantlen, plen + 1);
		check_decode(uri, plen, want, wantlen, plen / 2 + 1);
		free(want);
	}

	memset(&req, 0, sizeof(req));
	req.arena = arena_new(0);
	req.query = q != NULL ? q + 1 : "";
	if ((name = strdup(req.query)) != NULL) {
		name[strcspn(name, "=&")] = '\0';
		check_query(&req, name);
		free(name);
	}
	check_query(&req, "ms");
	check_query(&req, "");
	arena_free(req.arena);
	free(uri);
	return 0;
}
