/* api.c — what the /v1 handlers share: bodies, lists, audit entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "crypto.h"
#include "db.h"
#include "worker.h"

enum lerr
api_body(struct request *req, const struct json_field *spec,
    struct json_object **out)
{
	enum lerr e;

	*out = NULL;
	if ((e = json_parse_body(req->body, req->body_len, &req->json,
	    &req->problem, req->arena)) != LERR_OK)
		return e;
	if ((e = json_check_object(req->json, spec, &req->problem,
	    req->arena)) != LERR_OK)
		return e;
	*out = req->json;
	return LERR_OK;
}

const char *
api_str(struct request *req, struct json_object *obj, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return arena_strdup(req->arena, json_object_get_string(v));
}

enum lerr
api_page(struct request *req, long *limit, const char **after)
{
	const char	*l = request_query(req, "limit");
	const char	*a = request_query(req, "after");
	char		*end;

	*limit = API_PAGE_DEFAULT;
	*after = "0";
	if (l != NULL) {
		*limit = strtol(l, &end, 10);
		if (l[0] < '0' || l[0] > '9' || *end != '\0' || strlen(l) > 4 ||
		    *limit < 1 || *limit > API_PAGE_MAX)
			return problem_field(&req->problem, req->arena,
			    LERR_BAD_REQUEST, "limit", "must be an integer "
			    "from 1 to %d", API_PAGE_MAX);
	}
	if (a != NULL) {
		if (a[0] == '\0' || strspn(a, "0123456789") != strlen(a) ||
		    strlen(a) > 18)
			return problem_field(&req->problem, req->arena,
			    LERR_BAD_REQUEST, "after", "is not a cursor this "
			    "list gave");
		*after = a;
	}
	return LERR_OK;
}

void
api_list(struct response *res, PGresult *r, long limit)
{
	int	n = PQntuples(r), i, shown = n > limit ? (int)limit : n;

	response_json(res, 200);
	buf_puts(&res->body, "{\"items\":[");
	for (i = 0; i < shown; i++) {
		if (i > 0)
			buf_putc(&res->body, ',');
		buf_puts(&res->body, PQgetvalue(r, i, 0));
	}
	buf_puts(&res->body, "],\"next\":");
	if (n > limit) {
		buf_putc(&res->body, '"');
		buf_puts(&res->body, PQgetvalue(r, shown - 1, 1));
		buf_putc(&res->body, '"');
	} else
		buf_puts(&res->body, "null");
	buf_puts(&res->body, "}\n");
}

enum lerr
api_list_page(struct request *req, struct response *res, const char *sql,
    int scoped)
{
	const char	*after, *params[3];
	char		 lim[24];
	long		 limit;
	PGresult	*r;
	enum lerr	 e;
	int		 n = 0;

	if ((e = api_page(req, &limit, &after)) != LERR_OK)
		return e;
	snprintf(lim, sizeof(lim), "%ld", limit + 1);
	if (scoped)
		params[n++] = req->who.tenant_id;
	params[n++] = after;
	params[n++] = lim;
	if ((e = db_query(req->worker->db, sql, n, params, &r)) != LERR_OK)
		return e;
	api_list(res, r, limit);
	PQclear(r);
	return db_commit(req->worker->db);
}

PGresult *
api_row(struct request *req, const char *what, const char *sql, int nparams,
    const char *const *params, enum lerr *e)
{
	PGresult *r;

	if ((*e = db_query(req->worker->db, sql, nparams, params, &r)) !=
	    LERR_OK)
		return NULL;
	if (PQntuples(r) != 1) {
		PQclear(r);
		*e = api_not_found(req, what);
		return NULL;
	}
	return r;
}

void
api_one(struct response *res, int status, PGresult *r)
{
	response_json(res, status);
	buf_puts(&res->body, PQgetvalue(r, 0, 0));
	buf_putc(&res->body, '\n');
}

enum lerr
audit(struct request *req, const char *action, const char *target_type,
    const char *target_id, const char *before, const char *after)
{
	const char	*params[9];
	PGresult	*r;
	enum lerr	 e;

	params[0] = req->who.tenant_id;
	params[1] = req->who.kind == PRINCIPAL_KEY ? "key" : "user";
	params[2] = req->who.id;
	params[3] = action;
	params[4] = target_type;
	params[5] = target_id;
	params[6] = before;
	params[7] = after;
	params[8] = req->request_id;
	e = db_query(req->worker->db, "INSERT INTO audit_log (tenant_id, "
	    "actor_type, actor_id, action, target_type, target_id, before, "
	    "after, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	    9, params, &r);
	PQclear(r);
	return e;
}

enum lerr
api_timezone(struct request *req, const char *tz)
{
	const char	*params[1] = { tz };
	PGresult	*r;
	enum lerr	 e;
	int		 known;

	if ((e = db_query(req->worker->db, "SELECT 1 FROM pg_timezone_names "
	    "WHERE name = $1", 1, params, &r)) != LERR_OK)
		return e;
	known = PQntuples(r) == 1;
	PQclear(r);
	if (!known)
		problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "timezone", "is not a time zone name such as "
		    "Africa/Harare");
	return LERR_OK;
}

enum lerr
api_not_found(struct request *req, const char *what)
{
	return problem_set(&req->problem, req->arena, LERR_NOT_FOUND,
	    "no such %s", what);
}

const char *
api_body_hash(struct request *req)
{
	unsigned char	 h[SHA256_LEN];
	char		*out = arena_alloc(req->arena, 2 * SHA256_LEN + 3);

	sha256(req->body, req->body_len, h);
	out[0] = '\\';
	out[1] = 'x';
	hex_encode(h, SHA256_LEN, out + 2);
	return out;
}

/* The key and what it was sent with: method, path and body. */
static const char *
idem_key(struct request *req, const char **hash)
{
	const char	*key = request_param(req, "HTTP_IDEMPOTENCY_KEY");
	unsigned char	 h[SHA256_LEN];
	char		*hex;
	struct buf	 msg;

	if (key == NULL)
		return NULL;
	buf_init(&msg, req->arena);
	buf_puts(&msg, req->method);
	buf_putc(&msg, ' ');
	buf_puts(&msg, req->path);
	buf_putc(&msg, '\n');
	buf_append(&msg, req->body, req->body_len);
	sha256(msg.data, msg.len, h);
	hex = arena_alloc(req->arena, 2 * SHA256_LEN + 3);
	hex[0] = '\\';
	hex[1] = 'x';
	hex_encode(h, SHA256_LEN, hex + 2);
	*hash = hex;
	return key;
}

/*
 * The stored answer of the key in params (tenant, key, request hash): sets
 * *replayed and res when there is one for this request; a 422 when it was
 * another request's; LERR_OK with *replayed 0 when there is none.
 */
static enum lerr
idem_stored(struct request *req, struct response *res,
    const char *const params[3], int *replayed)
{
	PGresult	*r;
	enum lerr	 e;

	if ((e = db_query(req->worker->db, "SELECT request_hash = $3::bytea, "
	    "status, response FROM idempotency_keys WHERE tenant_id = $1 AND "
	    "key = $2", 3, params, &r)) != LERR_OK)
		return e;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return LERR_OK;
	}
	if (PQgetvalue(r, 0, 0)[0] != 't') {
		PQclear(r);
		return problem_field(&req->problem, req->arena,
		    LERR_VALIDATION, "Idempotency-Key", "was used with another "
		    "request; use a new key for a new request");
	}
	response_json(res, atoi(PQgetvalue(r, 0, 1)));
	buf_puts(&res->body, PQgetvalue(r, 0, 2));
	response_header(res, "Idempotent-Replayed", "true");
	PQclear(r);
	*replayed = 1;
	return LERR_OK;
}

enum lerr
idem_begin(struct request *req, struct response *res, int *replayed)
{
	const char	*hash = NULL, *key = idem_key(req, &hash);
	const char	*params[3] = { req->who.tenant_id, key, hash };
	struct db	*db = req->worker->db;
	PGresult	*r;
	enum lerr	 e;
	size_t		 i, n;

	*replayed = 0;
	if (key == NULL)
		return LERR_OK;
	n = strlen(key);
	for (i = 0; i < n; i++)
		if (key[i] < '!' || key[i] > '~')
			break;
	if (n == 0 || n > 200 || i < n)
		return problem_field(&req->problem, req->arena,
		    LERR_BAD_REQUEST, "Idempotency-Key", "must be 1 to 200 "
		    "printable ASCII characters, without spaces");
	/*
	 * A key already stored is answered without a lock: two replays of a
	 * finished request (or a replay and another body) may run at once.
	 * Else the key is locked to the end of the transaction, so that a
	 * second request with it finds it taken while the first runs, and
	 * looked up once more: its first request may have committed between
	 * the look and the lock.
	 */
	if ((e = idem_stored(req, res, params, replayed)) != LERR_OK ||
	    *replayed)
		return e;
	if ((e = db_query(db, "SELECT pg_try_advisory_xact_lock("
	    "hashtextextended($1 || '/' || $2, 0))", 2, params, &r)) != LERR_OK)
		return e;
	i = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!i)
		return problem_set(&req->problem, req->arena, LERR_CONFLICT,
		    "a request with this Idempotency-Key is in progress; try "
		    "again when it has finished");
	return idem_stored(req, res, params, replayed);
}

enum lerr
idem_store(struct request *req, const struct response *res)
{
	const char	*hash = NULL, *key = idem_key(req, &hash);
	const char	*params[5];
	char		 status[8];

	if (key == NULL)
		return LERR_OK;
	snprintf(status, sizeof(status), "%d", res->status);
	params[0] = req->who.tenant_id;
	params[1] = key;
	params[2] = hash;
	params[3] = status;
	params[4] = arena_strndup(req->arena, res->body.data, res->body.len);
	return db_exec(req->worker->db, "INSERT INTO idempotency_keys "
	    "(tenant_id, key, request_hash, status, response) VALUES ($1, $2, "
	    "$3::bytea, $4::int, $5)", 5, params);
}

int64_t
api_json_int(const char *text, const char *name)
{
	struct json_object	*o = json_tokener_parse(text), *v;
	int64_t			 n = 0;

	if (o != NULL && json_object_object_get_ex(o, name, &v))
		n = json_object_get_int64(v);
	json_object_put(o);
	return n;
}

enum lerr
api_audited(struct request *req, struct response *res, int status,
    PGresult *r, const char *action, const char *target_type,
    const char *target_id, const char *before)
{
	enum lerr e;

	if ((e = audit(req, action, target_type, target_id, before,
	    PQgetvalue(r, 0, 0))) == LERR_OK)
		api_one(res, status, r);
	PQclear(r);
	return e != LERR_OK ? e : db_commit(req->worker->db);
}

enum lerr
api_reply(struct request *req, struct response *res, PGresult *r,
    enum lerr e)
{
	if (r == NULL)
		return e;
	api_one(res, 200, r);
	PQclear(r);
	return db_commit(req->worker->db);
}
