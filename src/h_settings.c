/* h_settings.c — the caller's tenant's settings (the owner's to change). */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "handlers.h"
#include "worker.h"

#define OTHER_CURRENCIES_MAX	8
#define UPPER			"ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* GET /v1/settings */
enum lerr
h_settings_get(struct request *req, struct response *res)
{
	const char	*params[1] = { req->who.tenant_id };
	PGresult	*r;
	enum lerr	 e;

	if ((r = api_row(req, "tenant", "SELECT api_settings(t)::text FROM "
	    "tenants t WHERE t.id = $1", 1, params, &e)) == NULL)
		return e;
	api_one(res, 200, r);
	PQclear(r);
	return db_commit(req->worker->db);
}

/* Whether s is one of the words of list (a NULL-terminated array). */
static int
one_of(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/*
 * A text field that must be one of words: a 422 naming it otherwise.
 * Absent (or null) is fine: the setting stays.
 */
static void
check_word(struct request *req, struct json_object *body, const char *field,
    const char *const *words, const char *say)
{
	const char *v = api_str(req, body, field);

	if (v != NULL && !one_of(v, words))
		problem_field(&req->problem, req->arena, LERR_VALIDATION, field,
		    "must be %s", say);
}

/* Currencies besides the tenant's own: distinct ISO 4217 codes, not it. */
static void
check_currencies(struct request *req, struct json_object *list,
    const char *own)
{
	size_t			 i, j, n = json_object_array_length(list);
	struct json_object	*v;
	const char		*c;

	if (n > OTHER_CURRENCIES_MAX) {
		problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "other_currencies", "may list at most %d currencies",
		    OTHER_CURRENCIES_MAX);
		return;
	}
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(list, i);
		c = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(c) != 3 || strspn(c, UPPER) != 3) {
			problem_field(&req->problem, req->arena,
			    LERR_VALIDATION, arena_printf(req->arena,
			    "other_currencies[%zu]", i), "must be an ISO 4217 "
			    "code such as ZWG");
			continue;
		}
		if (strcmp(c, own) == 0)
			problem_field(&req->problem, req->arena,
			    LERR_VALIDATION, arena_printf(req->arena,
			    "other_currencies[%zu]", i), "is the tenant's own "
			    "currency");
		for (j = 0; j < i; j++) {
			v = json_object_array_get_idx(list, j);
			if (json_object_is_type(v, json_type_string) &&
			    strcmp(c, json_object_get_string(v)) == 0)
				break;
		}
		if (j < i)
			problem_field(&req->problem, req->arena,
			    LERR_VALIDATION, arena_printf(req->arena,
			    "other_currencies[%zu]", i), "is listed twice");
	}
}

/*
 * Where expiry_policy and expiry_days end up: the days only with policy
 * "days" and always with it, the days kept while the policy stays. *days
 * is NULL (no days) or the number as text.
 */
static void
check_expiry(struct request *req, struct json_object *body,
    const char *policy_now, const char *days_now, const char **days)
{
	const char		*policy = api_str(req, body, "expiry_policy");
	struct json_object	*v;
	int			 given;

	given = json_object_object_get_ex(body, "expiry_days", &v) && v != NULL;
	if (policy == NULL)
		policy = policy_now;
	*days = NULL;
	if (strcmp(policy, "days") != 0) {
		if (given)
			problem_field(&req->problem, req->arena,
			    LERR_VALIDATION, "expiry_days", "is only for "
			    "expiry_policy days");
		return;
	}
	if (given)
		*days = arena_printf(req->arena, "%d", json_object_get_int(v));
	else if (days_now[0] != '\0')
		*days = days_now;
	else
		problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "expiry_days", "is required with expiry_policy days");
}

/*
 * PATCH /v1/settings: any of the settings; a field left out (or null)
 * stays. The tenant's row is locked first, so that two changes of the
 * expiry policy cannot each keep the other's days.
 */
enum lerr
h_settings_update(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "timezone", JK_STRING, 0, 1, 64 },
		{ "calling_code", JK_STRING, 0, 1, 3 },
		{ "other_currencies", JK_ARRAY, 0, 0, 0 },
		{ "auto_enrol", JK_BOOL, 0, 0, 0 },
		{ "expiry_policy", JK_STRING, 0, 1, 16 },
		{ "expiry_days", JK_INT, 0, 1, 3650 },
		{ "budget_policy", JK_STRING, 0, 1, 16 },
		{ "reversal_policy", JK_STRING, 0, 1, 16 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	static const char *const expiry[] = { "never", "days", "end_of_month",
	    "end_of_year", NULL };
	static const char *const budget[] = { "partial", "nothing", NULL };
	static const char *const reversal[] = { "shortfall", "negative", NULL };
	struct json_object	*body, *v;
	const char		*params[3], *before, *tz, *code;
	PGresult		*r;
	enum lerr		 e;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	if (json_object_object_length(body) == 0)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "body", "nothing to change");
	params[0] = req->who.tenant_id;
	if ((r = api_row(req, "tenant", "SELECT api_settings(t)::text, "
	    "t.currency, t.expiry_policy, t.expiry_days FROM tenants t WHERE "
	    "t.id = $1 FOR UPDATE", 1, params, &e)) == NULL)
		return e;
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	if (json_object_object_get_ex(body, "other_currencies", &v) &&
	    v != NULL)
		check_currencies(req, v, PQgetvalue(r, 0, 1));
	check_expiry(req, body, PQgetvalue(r, 0, 2), arena_strdup(req->arena,
	    PQgetvalue(r, 0, 3)), &params[2]);
	PQclear(r);
	code = api_str(req, body, "calling_code");
	if (code != NULL && (strspn(code, "0123456789") != strlen(code) ||
	    code[0] == '0'))
		problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "calling_code", "must be a country calling code: 1 to 3 "
		    "digits, not starting with 0, such as 263");
	check_word(req, body, "expiry_policy", expiry,
	    "never, days, end_of_month or end_of_year");
	check_word(req, body, "budget_policy", budget, "partial or nothing");
	check_word(req, body, "reversal_policy", reversal,
	    "shortfall or negative");
	if ((tz = api_str(req, body, "timezone")) != NULL &&
	    (e = api_timezone(req, tz)) != LERR_OK)
		return e;
	if (req->problem.nerrors > 0)
		return req->problem.code;
	params[1] = json_object_to_json_string_ext(body,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if ((e = db_query(req->worker->db, "UPDATE tenants t SET timezone = "
	    "coalesce(p->>'timezone', t.timezone), calling_code = "
	    "coalesce(p->>'calling_code', t.calling_code), other_currencies = "
	    "CASE WHEN jsonb_typeof(p->'other_currencies') = 'array' THEN "
	    "ARRAY(SELECT jsonb_array_elements_text(p->'other_currencies')) "
	    "ELSE t.other_currencies END, auto_enrol = "
	    "coalesce((p->>'auto_enrol')::boolean, t.auto_enrol), "
	    "expiry_policy = coalesce(p->>'expiry_policy', t.expiry_policy), "
	    "expiry_days = $3::integer, budget_policy = "
	    "coalesce(p->>'budget_policy', t.budget_policy), reversal_policy = "
	    "coalesce(p->>'reversal_policy', t.reversal_policy), updated_at = "
	    "now() FROM (SELECT $2::jsonb AS p) x WHERE t.id = $1 RETURNING "
	    "api_settings(t)::text", 3, params, &r)) != LERR_OK)
		return e;
	return api_audited(req, res, 200, r, "tenant.settings", "tenant",
	    req->who.tenant_id, before);
}
