/* h_rewards.c — what points buy: cost, stock, limits, voucher validity. */
#include <stdlib.h>

#include "api.h"
#include "db.h"
#include "handlers.h"
#include "worker.h"

/*
 * A member of the checked body as a text parameter: NULL when absent or
 * null. *given (when not NULL) says whether it was there at all, null
 * included: PATCH sets a nullable field to null that way.
 */
static const char *
param(struct request *req, struct json_object *body, const char *name,
    int *given)
{
	struct json_object *v;

	if (!json_object_object_get_ex(body, name, &v)) {
		if (given != NULL)
			*given = 0;
		return NULL;
	}
	if (given != NULL)
		*given = 1;
	if (v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_int))
		return arena_printf(req->arena, "%lld",
		    (long long)json_object_get_int64(v));
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v) ? "true" : "false";
	return arena_strdup(req->arena, json_object_get_string(v));
}

/*
 * The reward of the path (not deleted), or NULL with a 404 in req. lock:
 * row-locked, so that no redemption changes what it issued meanwhile.
 */
static PGresult *
target(struct request *req, int lock, enum lerr *e)
{
	const char	*params[2] = { req->who.tenant_id,
			    request_path_param(req, "id") };

	if (!valid_uuid(params[1])) {
		*e = api_not_found(req, "reward");
		return NULL;
	}
	return api_row(req, "reward", lock ? "SELECT api_reward(w)::text, "
	    "w.issued FROM rewards w WHERE w.tenant_id = $1 AND w.id = $2 AND "
	    "w.deleted_at IS NULL FOR UPDATE" : "SELECT api_reward(w)::text "
	    "FROM rewards w WHERE w.tenant_id = $1 AND w.id = $2 AND "
	    "w.deleted_at IS NULL", 2, params, e);
}

/*
 * POST /v1/rewards {name, description?, cost, stock?, per_member_limit?,
 * validity_days?, active?}: no stock or a null one is unlimited.
 */
enum lerr
h_rewards_create(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "name", JK_STRING, 1, 1, 100 },
		{ "description", JK_STRING, 0, 0, 1000 },
		{ "cost", JK_INT, 1, 1, 1000000000 },
		{ "stock", JK_INT, 0, 0, 1000000000 },
		{ "per_member_limit", JK_INT, 0, 1, 1000000 },
		{ "validity_days", JK_INT, 0, 1, 3650 },
		{ "active", JK_BOOL, 0, 0, 0 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body;
	const char		*params[8];
	PGresult		*r;
	enum lerr		 e;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	params[0] = req->who.tenant_id;
	params[1] = param(req, body, "name", NULL);
	params[2] = param(req, body, "description", NULL);
	params[3] = param(req, body, "cost", NULL);
	params[4] = param(req, body, "stock", NULL);
	params[5] = param(req, body, "per_member_limit", NULL);
	params[6] = param(req, body, "validity_days", NULL);
	params[7] = param(req, body, "active", NULL);
	if ((e = db_query(req->worker->db, "INSERT INTO rewards (tenant_id, "
	    "name, description, cost, stock, per_member_limit, validity_days, "
	    "active) VALUES ($1, $2, $3, $4::bigint, $5::bigint, $6::int, "
	    "coalesce($7::int, 30), coalesce($8::boolean, true)) RETURNING "
	    "api_reward(rewards)::text, id", 8, params, &r)) != LERR_OK)
		return e;
	return api_audited(req, res, 201, r, "reward.create", "reward",
	    PQgetvalue(r, 0, 1), NULL);
}

/* GET /v1/rewards?limit=&after=: deleted rewards are not listed. */
enum lerr
h_rewards_list(struct request *req, struct response *res)
{
	return api_list_page(req, res, "SELECT api_reward(w)::text, w.seq FROM "
	    "rewards w WHERE w.tenant_id = $1 AND w.deleted_at IS NULL AND "
	    "w.seq > $2 ORDER BY w.seq LIMIT $3", 1);
}

/* GET /v1/rewards/{id} */
enum lerr
h_rewards_get(struct request *req, struct response *res)
{
	PGresult	*r;
	enum lerr	 e;

	r = target(req, 0, &e);
	return api_reply(req, res, r, e);
}

/*
 * PATCH /v1/rewards/{id}: any field of create; description, stock and
 * per_member_limit may be set to null (stock null: unlimited). A stock
 * below the vouchers already issued is refused: they never exceed it
 * (SPEC invariant 4). A new cost or validity applies to later vouchers.
 */
enum lerr
h_rewards_update(struct request *req, struct response *res)
{
	/* Create's fields, none required (docs/openapi.yaml reads both). */
	static const struct json_field spec[] = {
		{ "name", JK_STRING, 0, 1, 100 },
		{ "description", JK_STRING, 0, 0, 1000 },
		{ "cost", JK_INT, 0, 1, 1000000000 },
		{ "stock", JK_INT, 0, 0, 1000000000 },
		{ "per_member_limit", JK_INT, 0, 1, 1000000 },
		{ "validity_days", JK_INT, 0, 1, 3650 },
		{ "active", JK_BOOL, 0, 0, 0 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	static const char *const not_null[] = { "name", "cost",
	    "validity_days", "active" };
	struct json_object	*body, *v;
	const char		*params[12], *before;
	int			 given[3];
	long long		 issued;
	size_t			 i;
	PGresult		*r;
	enum lerr		 e;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	for (i = 0; i < sizeof(not_null) / sizeof(not_null[0]); i++)
		if (json_object_object_get_ex(body, not_null[i], &v) &&
		    v == NULL)
			problem_field(&req->problem, req->arena,
			    LERR_VALIDATION, not_null[i], "may not be null");
	if (req->problem.nerrors > 0)
		return req->problem.code;
	if (json_object_object_length(body) == 0)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "body", "nothing to change: give a field of the reward");
	params[0] = req->who.tenant_id;
	params[1] = request_path_param(req, "id");
	params[2] = param(req, body, "name", NULL);
	params[3] = param(req, body, "description", &given[0]);
	params[4] = param(req, body, "cost", NULL);
	params[5] = param(req, body, "stock", &given[1]);
	params[6] = param(req, body, "per_member_limit", &given[2]);
	params[7] = param(req, body, "validity_days", NULL);
	params[8] = param(req, body, "active", NULL);
	for (i = 0; i < 3; i++)
		params[9 + i] = given[i] ? "true" : "false";
	if ((r = target(req, 1, &e)) == NULL)
		return e;
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	issued = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	if (params[5] != NULL && strtoll(params[5], NULL, 10) < issued)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "stock", "is below the number of the reward's vouchers "
		    "already issued (%lld)", issued);
	if ((e = db_query(req->worker->db, "UPDATE rewards SET name = "
	    "coalesce($3, name), description = CASE WHEN $10::boolean THEN $4 "
	    "ELSE description END, cost = coalesce($5::bigint, cost), stock = "
	    "CASE WHEN $11::boolean THEN $6::bigint ELSE stock END, "
	    "per_member_limit = CASE WHEN $12::boolean THEN $7::int ELSE "
	    "per_member_limit END, validity_days = coalesce($8::int, "
	    "validity_days), active = coalesce($9::boolean, active), "
	    "updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING "
	    "api_reward(rewards)::text", 12, params, &r)) != LERR_OK)
		return e;
	return api_audited(req, res, 200, r, "reward.update", "reward",
	    params[1], before);
}

/*
 * DELETE /v1/rewards/{id}: the reward is hidden and redeems no more; the
 * row stays for the vouchers already issued, which stay valid.
 */
enum lerr
h_rewards_delete(struct request *req, struct response *res)
{
	const char	*params[2] = { req->who.tenant_id,
			    request_path_param(req, "id") }, *before;
	PGresult	*r;
	enum lerr	 e;

	if ((r = target(req, 1, &e)) == NULL)
		return e;
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	PQclear(r);
	if ((e = db_exec(req->worker->db, "UPDATE rewards SET deleted_at = "
	    "now(), updated_at = now() WHERE tenant_id = $1 AND id = $2", 2,
	    params)) != LERR_OK ||
	    (e = audit(req, "reward.delete", "reward", params[1], before,
	    NULL)) != LERR_OK || (e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	res->status = 204;
	return LERR_OK;
}
