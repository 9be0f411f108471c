/* router.h — the route table and matching of method and path. */
#ifndef LOYALTY_ROUTER_H
#define LOYALTY_ROUTER_H

#include <stddef.h>

#include "error.h"

struct request;
struct response;

typedef enum lerr (*handler_fn)(struct request *, struct response *);

/* Route flags. */
#define ROUTE_DB	0x01	/* needs the database: 503 while it is away */
#define ROUTE_LOOPBACK	0x02	/* only from 127.0.0.0/8 or ::1 (REMOTE_ADDR) */
#define ROUTE_JSON	0x04	/* takes a JSON body (415 otherwise) */

/*
 * Who may call a route: anyone, or a caller of at least this role (the
 * values are enum role's ranks; machine keys count as operators). The
 * route table is the one place that says it; handlers never re-derive it.
 */
enum access {
	ACCESS_ANYONE = 0,
	ACCESS_VIEWER,
	ACCESS_OPERATOR,
	ACCESS_ADMIN,
	ACCESS_OWNER,
	ACCESS_PLATFORM		/* platform administrators only */
};

#define ROUTE_MAX_PARAMS	4

struct route {
	const char	*method;
	const char	*pattern;	/* "/v1/members/{id}" */
	handler_fn	 handler;
	enum access	 access;
	int		 flags;
};

struct route_match {
	int		 index;		/* into the table; -1 when none */
	int		 nparams;
	const char	*name[ROUTE_MAX_PARAMS];	/* into the pattern: ends at '}' */
	const char	*value[ROUTE_MAX_PARAMS];	/* into valbuf */
	char		 valbuf[512];
	char		 allow[64];	/* for 405 */
};

/*
 * Finds the route for method and path (the path without query string).
 * LERR_OK with m->index set; LERR_NOT_FOUND when no pattern matches the
 * path; LERR_METHOD when patterns match but not for this method, with
 * m->allow listing the methods that would have matched.
 */
enum lerr	router_match(const struct route *, size_t n, const char *method,
		    const char *path, struct route_match *m);

/* The application's table (routes.c). */
extern const struct route	routes[];
extern const size_t		nroutes;

#endif
