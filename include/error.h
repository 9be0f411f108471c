/* error.h — the closed set of outcomes, and their HTTP meaning. */
#ifndef LOYALTY_ERROR_H
#define LOYALTY_ERROR_H

/*
 * Every function that can fail returns one of these. The failure is logged
 * where it happens; callers pass the code up. Exactly one table (error.c)
 * maps a code to an HTTP status and a problem type.
 */
enum lerr {
	LERR_OK = 0,
	LERR_BAD_REQUEST,	/* malformed syntax: 400 */
	LERR_UNAUTHORIZED,	/* 401 */
	LERR_FORBIDDEN,		/* 403 */
	LERR_NOT_FOUND,		/* 404 */
	LERR_METHOD,		/* 405, with Allow */
	LERR_CONFLICT,		/* 409 */
	LERR_TOO_LARGE,		/* 413 */
	LERR_MEDIA_TYPE,	/* 415 */
	LERR_VALIDATION,	/* well-formed but invalid: 422 */
	LERR_LOCKED,		/* an account locked after failed logins: 423 */
	LERR_RATE_LIMITED,	/* 429 */
	LERR_INTERNAL,		/* a bug or a system failure: 500 */
	LERR_DB_UNAVAILABLE,	/* the database cannot be reached: 503 */
	LERR_NOT_READY,		/* a readiness check fails: 503 */
	LERR__COUNT
};

struct lerr_info {
	int		 status;
	const char	*slug;		/* last part of the problem type */
	const char	*title;
};

#define PROBLEM_TYPE_PREFIX "urn:loyalty:problem:"

const struct lerr_info	*lerr_info(enum lerr);

#endif
