/* api.c — what the /v1 handlers share: bodies, lists, audit entries. */
#include <stdio.h>
#include <string.h>

#include "api.h"
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
api_not_found(struct request *req, const char *what)
{
	return problem_set(&req->problem, req->arena, LERR_NOT_FOUND,
	    "no such %s", what);
}
