/* h_rules.c — a tenant's rules: how events earn points (admin writes). */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "handlers.h"
#include "rules.h"
#include "worker.h"

/*
 * A checked rule (JSON text) as a row: absent fields take their defaults,
 * a per-unit action its rounding. $1 the tenant, $2 the rule. A fraction
 * of a second in valid_from/valid_until is dropped, as rule_parse() drops
 * it: PostgreSQL would round it, 9999-12-31T23:59:59.9999999Z to a year
 * 10000 that no worker could load back.
 */
#define RULE_COLUMNS "name, event_type, active, priority, valid_from, " \
	"valid_until, conditions, action, cap_per_day, cap_per_month, stop, " \
	"budget_id"
#define RULE_VALUES "j->>'name', j->>'event_type', " \
	"coalesce((j->>'active')::boolean, true), " \
	"coalesce((j->>'priority')::int, 100), " \
	"regexp_replace(j->>'valid_from', '[.][0-9]+', '')::timestamptz, " \
	"regexp_replace(j->>'valid_until', '[.][0-9]+', '')::timestamptz, " \
	"coalesce(nullif(j->'conditions', 'null'), '{}'), " \
	"CASE WHEN j->'action'->>'kind' = 'per_unit' AND NOT j->'action' ? " \
	"'rounding' THEN j->'action' || '{\"rounding\":\"down\"}' ELSE " \
	"j->'action' END, (j->>'cap_per_day')::bigint, " \
	"(j->>'cap_per_month')::bigint, coalesce((j->>'stop')::boolean, " \
	"false), (j->>'budget_id')::uuid"

/* The rule of the path, live (not deleted): NULL with a 404 in req. */
static PGresult *
target(struct request *req, int lock, enum lerr *e)
{
	const char	*id = request_path_param(req, "id");
	const char	*params[2] = { req->who.tenant_id, id };

	if (!valid_uuid(id)) {
		*e = api_not_found(req, "rule");
		return NULL;
	}
	return api_row(req, "rule", lock ? "SELECT api_rule(r)::text FROM "
	    "rules r WHERE r.tenant_id = $1 AND r.id = $2 AND r.deleted_at IS "
	    "NULL FOR UPDATE" : "SELECT api_rule(r)::text FROM rules r WHERE "
	    "r.tenant_id = $1 AND r.id = $2 AND r.deleted_at IS NULL", 2,
	    params, e);
}

/* Writes a checked rule: a budget of another tenant or none is a 422. */
static enum lerr
store(struct request *req, const char *sql, int nparams,
    const char *const *params, PGresult **r)
{
	char	state[6] = "";
	enum lerr e;

	e = db_query_expect(req->worker->db, sql, nparams, params, r, "23503",
	    state);
	if (e == LERR_CONFLICT) {
		memset(&req->problem, 0, sizeof(req->problem));
		return problem_field(&req->problem, req->arena,
		    LERR_VALIDATION, "budget_id", "no such budget");
	}
	return e;
}

/* A rule from a body, checked whole: every bad field is named. */
static enum lerr
checked(struct request *req, struct json_object *obj)
{
	struct rule rule;

	return rule_parse(obj, 0, &rule, &req->problem, req->arena);
}

/* POST /v1/rules */
enum lerr
h_rules_create(struct request *req, struct response *res)
{
	struct json_object	*body;
	const char		*params[2], *after;
	PGresult		*r;
	enum lerr		 e;

	if ((e = json_parse_body(req->body, req->body_len, &req->json,
	    &req->problem, req->arena)) != LERR_OK)
		return e;
	body = req->json;
	if (!json_object_is_type(body, json_type_object))
		return problem_field(&req->problem, req->arena,
		    LERR_BAD_REQUEST, "body", "must be a JSON object");
	if ((e = checked(req, body)) != LERR_OK)
		return e;
	params[0] = req->who.tenant_id;
	params[1] = json_object_to_json_string_ext(body,
	    JSON_C_TO_STRING_PLAIN);
	if ((e = store(req, "INSERT INTO rules (tenant_id, " RULE_COLUMNS ") "
	    "SELECT $1, " RULE_VALUES " FROM (SELECT $2::jsonb AS j) x "
	    "RETURNING id, api_rule(rules)::text", 2, params, &r)) != LERR_OK)
		return e;
	after = arena_strdup(req->arena, PQgetvalue(r, 0, 1));
	if ((e = audit(req, "rule.create", "rule", PQgetvalue(r, 0, 0), NULL,
	    after)) != LERR_OK) {
		PQclear(r);
		return e;
	}
	PQclear(r);
	response_json(res, 201);
	buf_puts(&res->body, after);
	return db_commit(req->worker->db);
}

/* GET /v1/rules: live rules, oldest first. */
enum lerr
h_rules_list(struct request *req, struct response *res)
{
	return api_list_page(req, res, "SELECT api_rule(r)::text, r.seq FROM "
	    "rules r WHERE r.tenant_id = $1 AND r.deleted_at IS NULL AND r.seq "
	    "> $2 ORDER BY r.seq LIMIT $3", 1);
}

/* GET /v1/rules/{id} */
enum lerr
h_rules_get(struct request *req, struct response *res)
{
	PGresult	*r;
	enum lerr	 e;

	r = target(req, 0, &e);
	return api_reply(req, res, r, e);
}

/*
 * PATCH /v1/rules/{id}: the fields given replace the rule's (conditions
 * and action whole); the result is checked as a new rule would be.
 */
enum lerr
h_rules_update(struct request *req, struct response *res)
{
	struct json_object	*patch, *rule;
	const char		*params[3], *before, *after;
	PGresult		*r;
	enum lerr		 e;

	if ((e = json_parse_body(req->body, req->body_len, &req->json,
	    &req->problem, req->arena)) != LERR_OK)
		return e;
	patch = req->json;
	if (!json_object_is_type(patch, json_type_object))
		return problem_field(&req->problem, req->arena,
		    LERR_BAD_REQUEST, "body", "must be a JSON object");
	if ((r = target(req, 1, &e)) == NULL)
		return e;
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	PQclear(r);
	rule = json_tokener_parse(before);
	json_object_object_del(rule, "id");
	json_object_object_del(rule, "created_at");
	json_object_object_del(rule, "updated_at");
	json_object_object_foreach(patch, key, val)
		json_object_object_add(rule, key, json_object_get(val));
	if ((e = checked(req, rule)) != LERR_OK) {
		json_object_put(rule);
		return e;
	}
	params[0] = req->who.tenant_id;
	params[1] = request_path_param(req, "id");
	params[2] = arena_strdup(req->arena, json_object_to_json_string_ext(
	    rule, JSON_C_TO_STRING_PLAIN));
	json_object_put(rule);
	if ((e = store(req, "UPDATE rules SET (" RULE_COLUMNS ", updated_at) "
	    "= (SELECT " RULE_VALUES ", now() FROM (SELECT $3::jsonb AS j) x) "
	    "WHERE tenant_id = $1 AND id = $2 RETURNING api_rule(rules)::text",
	    3, params, &r)) != LERR_OK)
		return e;
	after = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	PQclear(r);
	if ((e = audit(req, "rule.update", "rule", params[1], before, after))
	    != LERR_OK)
		return e;
	response_json(res, 200);
	buf_puts(&res->body, after);
	return db_commit(req->worker->db);
}

/*
 * DELETE /v1/rules/{id}: gone from evaluation and from the API; the row
 * stays, because events name the rules that gave them points.
 */
enum lerr
h_rules_delete(struct request *req, struct response *res)
{
	const char	*params[2] = { req->who.tenant_id,
			    request_path_param(req, "id") };
	const char	*before;
	PGresult	*r;
	enum lerr	 e;

	if ((r = target(req, 1, &e)) == NULL)
		return e;
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	PQclear(r);
	if ((e = db_exec(req->worker->db, "UPDATE rules SET deleted_at = "
	    "now(), active = false, updated_at = now() WHERE tenant_id = $1 "
	    "AND id = $2", 2, params)) != LERR_OK ||
	    (e = audit(req, "rule.delete", "rule", params[1], before, NULL)) !=
	    LERR_OK)
		return e;
	res->status = 204;
	return db_commit(req->worker->db);
}
