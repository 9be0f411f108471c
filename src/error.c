/* error.c — the one table from outcome to HTTP status and problem type. */
#include "error.h"

static const struct lerr_info table[LERR__COUNT] = {
	[LERR_OK]		= { 200, "ok", "OK" },
	[LERR_BAD_REQUEST]	= { 400, "bad-request", "Bad request" },
	[LERR_UNAUTHORIZED]	= { 401, "unauthorized", "Unauthorized" },
	[LERR_FORBIDDEN]	= { 403, "forbidden", "Forbidden" },
	[LERR_NOT_FOUND]	= { 404, "not-found", "Not found" },
	[LERR_METHOD]		= { 405, "method-not-allowed",
				    "Method not allowed" },
	[LERR_CONFLICT]		= { 409, "conflict", "Conflict" },
	[LERR_TOO_LARGE]	= { 413, "payload-too-large",
				    "Payload too large" },
	[LERR_MEDIA_TYPE]	= { 415, "unsupported-media-type",
				    "Unsupported media type" },
	[LERR_VALIDATION]	= { 422, "validation", "Validation failed" },
	[LERR_LOCKED]		= { 423, "account-locked", "Account locked" },
	[LERR_RATE_LIMITED]	= { 429, "rate-limited", "Too many requests" },
	[LERR_INTERNAL]		= { 500, "internal-error",
				    "Internal server error" },
	[LERR_DB_UNAVAILABLE]	= { 503, "database-unavailable",
				    "Database unavailable" },
	[LERR_NOT_READY]	= { 503, "not-ready", "Not ready" },
};

const struct lerr_info *
lerr_info(enum lerr e)
{
	if ((unsigned)e >= LERR__COUNT)
		e = LERR_INTERNAL;
	return &table[e];
}
