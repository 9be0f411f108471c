/* request.h — one HTTP request as a handler sees it, and its response. */
#ifndef LOYALTY_REQUEST_H
#define LOYALTY_REQUEST_H

#include <stddef.h>

#include "arena.h"
#include "auth.h"
#include "problem.h"
#include "router.h"

struct json_object;
struct worker;

#define RESPONSE_MAX_HEADERS	8

struct header {
	const char	*name;
	const char	*value;
};

struct request {
	struct arena		*arena;
	struct worker		*worker;
	const char		*method;
	const char		*path;		/* raw, without the query */
	const char		*query;		/* "" when none */
	const char		*request_id;
	const char		*remote_addr;
	const char		*content_type;
	const char		*body;		/* NUL-terminated copy */
	size_t			 body_len;
	const struct route	*route;
	struct route_match	 match;
	struct problem		 problem;
	struct principal	 who;		/* set by auth_request */
	struct json_object	*json;		/* api_body's; put after */
	char			*const *envp;	/* FastCGI parameters */
};

struct response {
	int		 status;
	const char	*content_type;
	int		 nheaders;
	struct header	 headers[RESPONSE_MAX_HEADERS];
	struct buf	 body;
};

/* A FastCGI parameter such as "HTTP_X_LOYALTY_KEY", or NULL. */
const char	*request_param(const struct request *, const char *name);
/* The value of a query parameter, percent-decoded; NULL when absent. */
const char	*request_query(struct request *, const char *name);
/* A path parameter of the matched route, by name. */
const char	*request_path_param(const struct request *, const char *name);

void		 response_header(struct response *, const char *name,
		    const char *value);
/* Sets status and content type application/json; the body is built after. */
void		 response_json(struct response *, int status);

/* Percent-decodes into dst (size dstlen). -1 on bad escapes or overflow. */
int		 url_decode(const char *src, size_t srclen, char *dst,
		    size_t dstlen, size_t *outlen);

#endif
