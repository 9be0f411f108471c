/* h_budgets.c — monthly budgets of points and this month's use of each. */
#include <stdlib.h>

#include "api.h"
#include "db.h"
#include "handlers.h"
#include "worker.h"

/*
 * The budget b as the API shows it: with its use u in the current
 * calendar month of the tenant t's time zone (no usage row yet: nothing
 * used).
 */
#define THIS_MONTH \
	"date_trunc('month', now() AT TIME ZONE t.timezone)::date"
#define BUDGET_VIEW \
	"api_budget(b, " THIS_MONTH ", u.used)::text"
#define BUDGET_FROM \
	" FROM budgets b JOIN tenants t ON t.id = b.tenant_id" \
	" LEFT JOIN budget_usage u ON u.tenant_id = b.tenant_id" \
	" AND u.budget_id = b.id AND u.month = " THIS_MONTH

/*
 * The budget of the path, or NULL with a 404 in req. lock: row-locked
 * FOR UPDATE, which also holds back a first charge of the month (its
 * usage row's foreign key takes a key-share lock on the budget) until
 * the caller has committed.
 */
static PGresult *
target(struct request *req, int lock, enum lerr *e)
{
	const char	*params[2] = { req->who.tenant_id,
			    request_path_param(req, "id") };

	if (!valid_uuid(params[1])) {
		*e = api_not_found(req, "budget");
		return NULL;
	}
	return api_row(req, "budget", lock ? "SELECT " BUDGET_VIEW BUDGET_FROM
	    " WHERE b.tenant_id = $1 AND b.id = $2 FOR UPDATE OF b" : "SELECT "
	    BUDGET_VIEW BUDGET_FROM " WHERE b.tenant_id = $1 AND b.id = $2", 2,
	    params, e);
}

/* POST /v1/budgets {name, monthly_limit} */
enum lerr
h_budgets_create(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "name", JK_STRING, 1, 1, 100 },
		{ "monthly_limit", JK_INT, 1, 1, 1000000000000 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body, *v;
	const char		*params[3];
	PGresult		*r;
	enum lerr		 e;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	json_object_object_get_ex(body, "monthly_limit", &v);
	params[0] = req->who.tenant_id;
	params[1] = api_str(req, body, "name");
	params[2] = arena_printf(req->arena, "%lld",
	    (long long)json_object_get_int64(v));
	if ((e = db_query(req->worker->db, "INSERT INTO budgets (tenant_id, "
	    "name, monthly_limit) VALUES ($1, $2, $3::bigint) RETURNING "
	    "api_budget(budgets, (SELECT " THIS_MONTH " FROM tenants t WHERE "
	    "t.id = $1), 0)::text, id",
	    3, params, &r)) != LERR_OK)
		return e;
	return api_audited(req, res, 201, r, "budget.create", "budget",
	    PQgetvalue(r, 0, 1), NULL);
}

/* GET /v1/budgets?limit=&after= */
enum lerr
h_budgets_list(struct request *req, struct response *res)
{
	return api_list_page(req, res, "SELECT " BUDGET_VIEW ", b.seq"
	    BUDGET_FROM " WHERE b.tenant_id = $1 AND b.seq > $2 ORDER BY b.seq "
	    "LIMIT $3", 1);
}

/* GET /v1/budgets/{id} */
enum lerr
h_budgets_get(struct request *req, struct response *res)
{
	PGresult	*r;
	enum lerr	 e;

	r = target(req, 0, &e);
	return api_reply(req, res, r, e);
}

/*
 * This month's use, with every slot of the month locked (sql/0004
 * lock_budget_month()) so that no award charges the budget between the
 * comparison with a new limit and the commit. No slots yet: nothing used,
 * and the budget's own lock (target()) keeps the month's first award
 * waiting.
 */
static enum lerr
month_used(struct request *req, const char *id, long long *used)
{
	const char	*params[2] = { req->who.tenant_id, id };
	PGresult	*r;
	enum lerr	 e;

	if ((e = db_query(req->worker->db, "SELECT lock_budget_month(t, $2) "
	    "FROM tenants t WHERE t.id = $1", 2, params, &r)) != LERR_OK)
		return e;
	*used = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return LERR_OK;
}

/*
 * PATCH /v1/budgets/{id} {name?, monthly_limit?}. A limit below what
 * this month has already used is refused: a budget's use never exceeds
 * its limit (SPEC invariant 3).
 */
enum lerr
h_budgets_update(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "name", JK_STRING, 0, 1, 100 },
		{ "monthly_limit", JK_INT, 0, 1, 1000000000000 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	const struct json_field	*f;
	struct json_object	*body, *v;
	const char		*params[4], *before;
	long long		 limit = 0, used;
	PGresult		*r;
	enum lerr		 e;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	for (f = spec; f->name != NULL; f++)
		if (json_object_object_get_ex(body, f->name, &v) && v == NULL)
			problem_field(&req->problem, req->arena,
			    LERR_VALIDATION, f->name, "may not be null");
	if (req->problem.nerrors > 0)
		return req->problem.code;
	params[0] = req->who.tenant_id;
	params[1] = request_path_param(req, "id");
	params[2] = api_str(req, body, "name");
	params[3] = NULL;
	if (json_object_object_get_ex(body, "monthly_limit", &v)) {
		limit = json_object_get_int64(v);
		params[3] = arena_printf(req->arena, "%lld", limit);
	}
	if (params[2] == NULL && params[3] == NULL)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "body", "nothing to change: give name or monthly_limit");
	if ((r = target(req, 1, &e)) == NULL)
		return e;
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	PQclear(r);
	if (params[3] != NULL) {
		if ((e = month_used(req, params[1], &used)) != LERR_OK)
			return e;
		if (limit < used)
			return problem_field(&req->problem, req->arena,
			    LERR_VALIDATION, "monthly_limit", "is below this "
			    "month's use of the budget (%lld points)", used);
	}
	if ((e = db_query(req->worker->db, "UPDATE budgets b SET name = "
	    "coalesce($3, b.name), monthly_limit = coalesce($4::bigint, "
	    "b.monthly_limit), updated_at = now() FROM tenants t WHERE t.id = "
	    "b.tenant_id AND b.tenant_id = $1 AND b.id = $2 RETURNING "
	    "api_budget(b, " THIS_MONTH ", (SELECT u.used FROM budget_usage u "
	    "WHERE u.tenant_id = b.tenant_id AND u.budget_id = b.id AND "
	    "u.month = " THIS_MONTH "))::text", 4, params, &r)) != LERR_OK)
		return e;
	/* The month's slots share the new limit (its use is unchanged). */
	if (params[3] != NULL && (e = db_exec(req->worker->db,
	    "SELECT reshare_budget_month(t, $2) FROM tenants t WHERE t.id = $1",
	    2, params)) != LERR_OK) {
		PQclear(r);
		return e;
	}
	return api_audited(req, res, 200, r, "budget.update", "budget",
	    params[1], before);
}
