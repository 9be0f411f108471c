/* h_tenants.c — merchants' programmes (platform administrators only). */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "handlers.h"
#include "worker.h"

#define DEFAULT_CURRENCY	"USD"
#define DEFAULT_TIMEZONE	"Africa/Harare"

/* Syntax of what a tenant holds; adds each fault to the problem. */
static void
check_fields(struct request *req, const char *slug, const char *currency)
{
	size_t i, n;

	if (slug != NULL) {
		n = strlen(slug);
		for (i = 0; i < n; i++)
			if (!((slug[i] >= 'a' && slug[i] <= 'z') ||
			    (slug[i] >= '0' && slug[i] <= '9') ||
			    (slug[i] == '-' && i > 0)))
				break;
		if (n < 2 || n > 63 || i < n)
			problem_field(&req->problem, req->arena, LERR_VALIDATION,
			    "slug", "must be 2 to 63 of a-z, 0-9 and -, not "
			    "starting with -");
	}
	if (currency != NULL && (strlen(currency) != 3 ||
	    strspn(currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3))
		problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "currency", "must be an ISO 4217 code such as USD or ZWG");
}

/* POST /v1/tenants {slug, name, currency?, timezone?} */
enum lerr
h_tenants_create(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "slug", JK_STRING, 1, 1, 63 },
		{ "name", JK_STRING, 1, 1, 200 },
		{ "currency", JK_STRING, 0, 1, 3 },
		{ "timezone", JK_STRING, 0, 1, 64 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body;
	const char		*params[4];
	char			 state[6];
	PGresult		*r;
	enum lerr		 e;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	params[0] = api_str(req, body, "slug");
	params[1] = api_str(req, body, "name");
	params[2] = api_str(req, body, "currency");
	params[3] = api_str(req, body, "timezone");
	if (params[2] == NULL)
		params[2] = DEFAULT_CURRENCY;
	if (params[3] == NULL)
		params[3] = DEFAULT_TIMEZONE;
	check_fields(req, params[0], params[2]);
	if ((e = api_timezone(req, params[3])) != LERR_OK)
		return e;
	if (req->problem.nerrors > 0)
		return req->problem.code;
	e = db_query_expect(req->worker->db, "INSERT INTO tenants (slug, name, "
	    "currency, timezone) VALUES ($1, $2, $3, $4) RETURNING "
	    "api_tenant(tenants)::text, id", 4, params, &r, "23505", state);
	if (e == LERR_CONFLICT)
		return problem_field(&req->problem, req->arena, LERR_CONFLICT,
		    "slug", "a tenant with this slug exists");
	if (e != LERR_OK)
		return e;
	return api_audited(req, res, 201, r, "tenant.create", "tenant",
	    PQgetvalue(r, 0, 1), NULL);
}

/* GET /v1/tenants: the merchants, not the platform's own tenant. */
enum lerr
h_tenants_list(struct request *req, struct response *res)
{
	return api_list_page(req, res, "SELECT api_tenant(t)::text, t.seq FROM "
	    "tenants t WHERE t.kind = 'merchant' AND t.seq > $1 ORDER BY t.seq "
	    "LIMIT $2", 0);
}

/* The tenant of the path (row-locked for a change), or NULL and a 404. */
static PGresult *
target(struct request *req, int lock, enum lerr *e)
{
	const char	*id = request_path_param(req, "id");
	const char	*params[1] = { id };

	if (!valid_uuid(id)) {
		*e = api_not_found(req, "tenant");
		return NULL;
	}
	return api_row(req, "tenant", lock ? "SELECT api_tenant(t)::text FROM "
	    "tenants t WHERE t.id = $1 AND t.kind = 'merchant' FOR UPDATE" :
	    "SELECT api_tenant(t)::text FROM tenants t WHERE t.id = $1 AND "
	    "t.kind = 'merchant'", 1, params, e);
}

/* GET /v1/tenants/{id} */
enum lerr
h_tenants_get(struct request *req, struct response *res)
{
	PGresult	*r;
	enum lerr	 e;

	r = target(req, 0, &e);
	return api_reply(req, res, r, e);
}

/* PATCH /v1/tenants/{id} {name?, currency?, timezone?, status?} */
enum lerr
h_tenants_update(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "name", JK_STRING, 0, 1, 200 },
		{ "currency", JK_STRING, 0, 1, 3 },
		{ "timezone", JK_STRING, 0, 1, 64 },
		{ "status", JK_STRING, 0, 1, 16 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body;
	const char		*params[5], *before;
	PGresult		*r;
	enum lerr		 e;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	params[0] = request_path_param(req, "id");
	params[1] = api_str(req, body, "name");
	params[2] = api_str(req, body, "currency");
	params[3] = api_str(req, body, "timezone");
	params[4] = api_str(req, body, "status");
	if (params[1] == NULL && params[2] == NULL && params[3] == NULL &&
	    params[4] == NULL)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "body", "nothing to change");
	check_fields(req, NULL, params[2]);
	if (params[4] != NULL && strcmp(params[4], "active") != 0 &&
	    strcmp(params[4], "suspended") != 0)
		problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "status", "must be active or suspended");
	if (params[3] != NULL && (e = api_timezone(req, params[3])) !=
	    LERR_OK)
		return e;
	if (req->problem.nerrors > 0)
		return req->problem.code;
	if ((r = target(req, 1, &e)) == NULL)
		return e;
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	PQclear(r);
	if ((e = db_query(req->worker->db, "UPDATE tenants SET name = "
	    "coalesce($2, name), currency = coalesce($3, currency), timezone = "
	    "coalesce($4, timezone), status = coalesce($5, status), "
	    "updated_at = now() WHERE id = $1 RETURNING "
	    "api_tenant(tenants)::text", 5, params, &r)) != LERR_OK)
		return e;
	return api_audited(req, res, 200, r, "tenant.update", "tenant",
	    params[0], before);
}
