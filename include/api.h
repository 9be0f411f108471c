/* api.h — what the /v1 handlers share: bodies, lists, audit entries. */
#ifndef LOYALTY_API_H
#define LOYALTY_API_H

#include <libpq-fe.h>

#include "json.h"
#include "request.h"

#define API_PAGE_DEFAULT	50
#define API_PAGE_MAX		200

/*
 * The request body as a JSON object checked against spec (unknown fields
 * are 422). The object belongs to the request: the worker puts it.
 */
enum lerr	 api_body(struct request *, const struct json_field *spec,
		    struct json_object **out);
/* A string member of obj, or NULL when absent (copied to the arena). */
const char	*api_str(struct request *, struct json_object *,
		    const char *name);

/*
 * ?limit= (1 to API_PAGE_MAX, default API_PAGE_DEFAULT) and ?after= (a
 * cursor from a previous page's "next": digits). 400 naming the field.
 */
enum lerr	 api_page(struct request *, long *limit, const char **after);

/*
 * {"items":[...],"next":...} from the rows of r: column 0 the item as
 * JSON text, column 1 its cursor. r holds up to limit + 1 rows: one more
 * than the page says there is a next page.
 */
void		 api_list(struct response *, PGresult *r, long limit);
/*
 * A whole list request: the page from ?limit= and ?after=, then sql with
 * the caller's tenant as $1 when scoped, the cursor and limit + 1 as the
 * last two parameters; the rows as api_list says; the commit.
 */
enum lerr	 api_list_page(struct request *, struct response *,
		    const char *sql, int scoped);
/*
 * The one row sql finds, or NULL: then *e holds the error, a 404 naming
 * what (api_not_found) when there is no row.
 */
PGresult	*api_row(struct request *, const char *what, const char *sql,
		    int nparams, const char *const *params, enum lerr *e);
/*
 * A lookup's answer: r (from api_row) as a 200 and the commit, or e when
 * there is no r.
 */
enum lerr	 api_reply(struct request *, struct response *, PGresult *r,
		    enum lerr e);
/* The JSON text in row 0, column 0 of r as the body, with status. */
void		 api_one(struct response *, int status, PGresult *r);

/*
 * An audit entry for the caller's change, in the request's transaction,
 * in the caller's tenant. before and after are JSON texts (NULL: none)
 * that never hold a secret.
 */
enum lerr	 audit(struct request *, const char *action,
		    const char *target_type, const char *target_id,
		    const char *before, const char *after);
/*
 * A change's answer: the audit entry (after: r's row 0, column 0), that
 * JSON as the body with status, and the commit. Clears r (after the
 * audit: target_id may point into it).
 */
enum lerr	 api_audited(struct request *, struct response *, int status,
		    PGresult *r, const char *action, const char *target_type,
		    const char *target_id, const char *before);

/*
 * Adds a 422 for the field "timezone" to the problem when tz is no time
 * zone PostgreSQL knows by name (Africa/Harare); an error only when the
 * database cannot say.
 */
enum lerr	 api_timezone(struct request *, const char *tz);

/* A 404 that says nothing about whether the id exists elsewhere. */
enum lerr	 api_not_found(struct request *, const char *what);

/*
 * Idempotency-Key on a POST that creates (redemptions, adjustments,
 * reversals). Without the header: *replayed = 0, nothing else. With it:
 * 400 when it is not 1 to 200 printable ASCII characters; 409 while a
 * request with the same key is in flight; the response stored for the
 * key written to res, with Idempotent-Replayed: true and *replayed = 1,
 * when it came with this same request (method, path and body); 422 when
 * it came with another. Keys belong to the caller's tenant.
 */
enum lerr	 idem_begin(struct request *, struct response *, int *replayed);
/*
 * Stores res under the request's key in the request's transaction, so
 * that the key and the change commit together (nothing without a key).
 */
enum lerr	 idem_store(struct request *, const struct response *);

/* An integer member of a JSON text (0 when it has none or no such text). */
int64_t		 api_json_int(const char *text, const char *name);

/* SHA-256 of the request body as PostgreSQL's bytea hex ("\\x..."). */
const char	*api_body_hash(struct request *);

#endif
