/* request.c — what handlers read from a request and write to a response. */
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "request.h"

const char *
request_param(const struct request *req, const char *name)
{
	size_t			 n = strlen(name);
	char *const		*e;

	if (req->envp == NULL)
		return NULL;
	for (e = req->envp; *e != NULL; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

int
url_decode(const char *src, size_t srclen, char *dst, size_t dstlen,
    size_t *outlen)
{
	size_t i, o = 0;

	for (i = 0; i < srclen; i++) {
		char c = src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= srclen)
				return -1;
			hi = hex_digit((unsigned char)src[i + 1]);
			lo = hex_digit((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (o + 1 >= dstlen)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	*outlen = o;
	return 0;
}

const char *
request_query(struct request *req, const char *name)
{
	const char	*p = req->query;
	size_t		 n = strlen(name);

	while (p != NULL && *p != '\0') {
		size_t	 len = strcspn(p, "&");
		char	*out;
		size_t	 outlen;

		if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
			out = arena_alloc(req->arena, len);
			if (url_decode(p + n + 1, len - n - 1, out, len,
			    &outlen) == -1 || strlen(out) != outlen)
				return NULL;
			return out;
		}
		if (len == n && strncmp(p, name, n) == 0)
			return "";
		p += len;
		if (*p == '&')
			p++;
	}
	return NULL;
}

/*
 * A path segment as the client meant it: %XX decoded, as clients encode
 * what they put in a path ("till%3A7" is "till:7"); a '+' stays a '+'.
 * prepare() has refused a path with a bad escape or a NUL, CR or LF.
 */
static const char *
path_decode(const struct request *req, const char *v)
{
	char	*out, *o;
	int	 hi, lo;

	if (strchr(v, '%') == NULL)
		return v;
	o = out = arena_alloc(req->arena, strlen(v) + 1);
	for (; *v != '\0'; v++) {
		if (*v == '%' && (hi = hex_digit((unsigned char)v[1])) >= 0 &&
		    (lo = hex_digit((unsigned char)v[2])) >= 0) {
			*o++ = (char)(hi * 16 + lo);
			v += 2;
		} else
			*o++ = *v;
	}
	*o = '\0';
	return out;
}

const char *
request_path_param(const struct request *req, const char *name)
{
	size_t	n = strlen(name);
	int	i;

	for (i = 0; i < req->match.nparams; i++)
		if (strncmp(req->match.name[i], name, n) == 0 &&
		    req->match.name[i][n] == '}')
			return path_decode(req, req->match.value[i]);
	return NULL;
}

void
response_header(struct response *res, const char *name, const char *value)
{
	if (strpbrk(value, "\r\n") != NULL) {
		log_msg(LOG_ERROR, "bad_header", "header %s dropped: it holds "
		    "CR or LF", name);
		return;
	}
	if (res->nheaders >= RESPONSE_MAX_HEADERS) {
		log_msg(LOG_ERROR, "bad_header", "header %s dropped: too many",
		    name);
		return;
	}
	res->headers[res->nheaders].name = name;
	res->headers[res->nheaders].value = value;
	res->nheaders++;
}

void
response_json(struct response *res, int status)
{
	res->status = status;
	res->content_type = "application/json";
}
