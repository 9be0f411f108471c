/*
 * h_vouchers.c — redemptions (a member's points for a reward's voucher)
 * and the vouchers they issue: look up, use once, cancel.
 */
#include <stdint.h>
#include <string.h>

#include "api.h"
#include "crypto.h"
#include "db.h"
#include "handlers.h"
#include "identity.h"
#include "metrics.h"
#include "worker.h"

#define CODE_LEN	VOUCHER_CODE_LEN
#define CODE_TRIES	3	/* draws before a collision is a fault */

/*
 * The code of the path as stored, read the way people type it: either
 * case, a hyphen after the fifth character or none, I and L for 1, O for
 * 0 (Crockford's decoding). NULL for anything else: then the caller
 * answers as for an unknown code.
 */
static const char *
code_of_path(struct request *req)
{
	const char	*in = request_path_param(req, "code");
	char		*out = arena_alloc(req->arena, CODE_LEN + 1);
	size_t		 n = strlen(in), i, j;
	int		 c;

	if (n != CODE_LEN && (n != CODE_LEN + 1 || in[5] != '-'))
		return NULL;
	for (i = j = 0; i < n; i++) {
		if (n == CODE_LEN + 1 && i == 5)
			continue;
		c = (unsigned char)in[i];
		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (c == 'I' || c == 'L')
			c = '1';
		else if (c == 'O')
			c = '0';
		if (c == '\0' || strchr(crockford32, c) == NULL)
			return NULL;
		out[j++] = (char)c;
	}
	out[j] = '\0';
	return out;
}

/* A 422 naming field, whose message is also the detail. */
static enum lerr
refuse(struct request *req, const char *field, const char *message)
{
	problem_field(&req->problem, req->arena, LERR_VALIDATION, field, "%s",
	    message);
	return problem_set(&req->problem, req->arena, LERR_VALIDATION, "%s",
	    message);
}

/*
 * The 409 for a voucher that is no longer issued: status "used",
 * "cancelled" or "expired" (also an issued one past its time, which the
 * expiry run has not reached yet); when, if known, the time of it.
 */
static enum lerr
not_issued(struct request *req, const char *status, const char *when)
{
	const char *at = when != NULL && when[0] != '\0' ?
	    arena_printf(req->arena, " at %s", when) : "";

	if (strcmp(status, "used") == 0)
		return problem_set(&req->problem, req->arena, LERR_CONFLICT,
		    "the voucher was already used%s", at);
	if (strcmp(status, "cancelled") == 0)
		return problem_set(&req->problem, req->arena, LERR_CONFLICT,
		    "the voucher was cancelled%s", at);
	return problem_set(&req->problem, req->arena, LERR_CONFLICT,
	    "the voucher expired%s", at);
}

/* The caller as the ledger and the SQL functions record it. */
static const char *
actor_type(const struct request *req)
{
	return req->who.kind == PRINCIPAL_KEY ? "key" : "user";
}

/*
 * Runs redeem() with fresh codes until one is free: *r holds its
 * (outcome, body) row, code the code of the last draw. A taken code
 * (23505 on vouchers_pkey) fails the statement, and with it the
 * transaction, so each try runs inside a savepoint that a collision
 * rolls back to.
 */
static enum lerr
redeem(struct request *req, const char *member, const char *reward,
    char code[CODE_LEN + 1], PGresult **r)
{
	const char	*params[6] = { member, reward, code, actor_type(req),
			    req->who.id, req->request_id };
	struct db	*db = req->worker->db;
	char		 state[6];
	enum lerr	 e;
	int		 try;

	for (try = 0; try < CODE_TRIES; try++) {
		if (voucher_code(code) == -1)
			return problem_set(&req->problem, req->arena,
			    LERR_INTERNAL, "no random bytes for a voucher code");
		if ((e = db_exec(db, "SAVEPOINT voucher_code", 0, NULL)) !=
		    LERR_OK)
			return e;
		e = db_query_expect(db, "SELECT outcome, body FROM redeem("
		    "$1::uuid, $2::uuid, $3, $4, $5, $6)", 6, params, r, "23505",
		    state);
		if (e != LERR_CONFLICT)
			return e;
		if (strcmp(db_constraint(db), "vouchers_pkey") != 0)
			return problem_set(&req->problem, req->arena,
			    LERR_INTERNAL, "redeem() broke the unique key %s",
			    db_constraint(db));
		if ((e = db_exec(db, "ROLLBACK TO SAVEPOINT voucher_code", 0,
		    NULL)) != LERR_OK)
			return e;
	}
	/* 2^50 codes: three collisions in a row mean a broken generator. */
	return problem_set(&req->problem, req->arena, LERR_INTERNAL,
	    "no free voucher code in %d draws", CODE_TRIES);
}

/* The 4xx for a redemption redeem() refused with outcome. */
static enum lerr
refusal(struct request *req, const char *reward, const char *outcome,
    const char *balance)
{
	const char	*params[2] = { req->who.tenant_id, reward };
	PGresult	*r;
	enum lerr	 e;

	if (strcmp(outcome, "no_member") == 0)
		return api_not_found(req, "member");
	if (strcmp(outcome, "no_reward") == 0)
		return refuse(req, "reward_id", "no such reward");
	if (strcmp(outcome, "blocked") == 0)
		return refuse(req, "member", "the member is blocked: a blocked "
		    "member redeems nothing");
	if (strcmp(outcome, "inactive") == 0)
		return refuse(req, "reward_id", "the reward is not active");
	if (strcmp(outcome, "out_of_stock") == 0)
		return refuse(req, "reward_id", "the reward is out of stock");
	if (strcmp(outcome, "insufficient") != 0 &&
	    strcmp(outcome, "over_limit") != 0)
		return problem_set(&req->problem, req->arena, LERR_INTERNAL,
		    "redeem() answered %s", outcome);
	/* What the message needs, read as redeem() read it. */
	if ((e = db_query(req->worker->db, "SELECT cost, per_member_limit FROM "
	    "rewards WHERE tenant_id = $1 AND id = $2", 2, params, &r)) !=
	    LERR_OK)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return refuse(req, "reward_id", "no such reward");
	}
	e = strcmp(outcome, "insufficient") == 0 ? refuse(req, "reward_id",
	    arena_printf(req->arena, "the reward costs %s points and the "
	    "member's balance is %s", PQgetvalue(r, 0, 0), balance)) :
	    refuse(req, "reward_id", arena_printf(req->arena, "the member has "
	    "the most vouchers of this reward one member may have (%s)",
	    PQgetvalue(r, 0, 1)));
	PQclear(r);
	return e;
}

/*
 * POST /v1/members/{id}/redemptions {reward_id}: the member's points,
 * soonest-expiring first, for a voucher of the reward: 201 with the
 * voucher and the new balance. Honours Idempotency-Key.
 */
enum lerr
h_members_redeem(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "reward_id", JK_STRING, 1, 1, 64 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body;
	const char		*member = request_path_param(req, "id");
	char			*reward, code[CODE_LEN + 1];
	PGresult		*r;
	enum lerr		 e;
	int			 replayed;
	size_t			 i;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	if (!valid_uuid(member))
		return api_not_found(req, "member");
	reward = arena_strdup(req->arena, api_str(req, body, "reward_id"));
	for (i = 0; reward[i] != '\0'; i++)
		if (reward[i] >= 'A' && reward[i] <= 'F')
			reward[i] += 'a' - 'A';
	if (!valid_uuid(reward))
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "reward_id", "must be a reward's id (a uuid)");
	if ((e = idem_begin(req, res, &replayed)) != LERR_OK)
		return e;
	if (replayed)
		return db_commit(req->worker->db);
	if ((e = redeem(req, member, reward, code, &r)) != LERR_OK)
		return e;
	if (strcmp(PQgetvalue(r, 0, 0), "done") != 0) {
		e = refusal(req, reward, PQgetvalue(r, 0, 0),
		    PQgetvalue(r, 0, 1));
		PQclear(r);
		return e;
	}
	response_json(res, 201);
	buf_puts(&res->body, PQgetvalue(r, 0, 1));
	buf_putc(&res->body, '\n');
	e = audit(req, "voucher.issue", "voucher", code, NULL,
	    PQgetvalue(r, 0, 1));
	PQclear(r);
	if (e != LERR_OK || (e = idem_store(req, res)) != LERR_OK ||
	    (e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	metrics_biz(req->worker->shm, BIZ_VOUCHERS_ISSUED, 1);
	metrics_biz(req->worker->shm, BIZ_POINTS_REDEEMED,
	    (uint64_t)api_json_int(res->body.data, "points"));
	return LERR_OK;
}

/*
 * A voucher as GET shows it: an issued one past its time is "expired"
 * before the expiry run has marked it so.
 */
#define VOUCHER_VIEW \
	"(api_voucher(v) || CASE WHEN v.status = 'issued' AND " \
	"v.expires_at <= now() THEN '{\"status\":\"expired\"}'::jsonb " \
	"ELSE '{}' END)::text"

/* GET /v1/vouchers/{code} */
enum lerr
h_vouchers_get(struct request *req, struct response *res)
{
	const char	*params[2] = { req->who.tenant_id, code_of_path(req) };
	PGresult	*r;
	enum lerr	 e;

	if (params[1] == NULL)
		return api_not_found(req, "voucher");
	if ((r = api_row(req, "voucher", "SELECT " VOUCHER_VIEW " FROM "
	    "vouchers v WHERE v.tenant_id = $1 AND v.code = $2", 2, params,
	    &e)) == NULL)
		return e;
	api_one(res, 200, r);
	PQclear(r);
	return db_commit(req->worker->db);
}

/*
 * POST /v1/vouchers/{code}/use {}: once, while it is issued and not past
 * its time. The row lock makes a second, concurrent use wait and then
 * find it used.
 */
enum lerr
h_vouchers_use(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body;
	const char		*params[2] = { req->who.tenant_id, NULL };
	const char		*before;
	PGresult		*r;
	enum lerr		 e;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	if ((params[1] = code_of_path(req)) == NULL)
		return api_not_found(req, "voucher");
	if ((r = api_row(req, "voucher", "SELECT api_voucher(v)::text, CASE "
	    "WHEN v.status = 'issued' AND v.expires_at <= now() THEN 'expired' "
	    "ELSE v.status END, rfc3339(coalesce(v.used_at, v.cancelled_at, "
	    "v.expires_at)) FROM vouchers v WHERE v.tenant_id = $1 AND v.code "
	    "= $2 FOR UPDATE", 2, params, &e)) == NULL)
		return e;
	if (strcmp(PQgetvalue(r, 0, 1), "issued") != 0) {
		e = not_issued(req, PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
		PQclear(r);
		return e;
	}
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	PQclear(r);
	if ((e = db_query(req->worker->db, "UPDATE vouchers v SET status = "
	    "'used', used_at = now() WHERE v.tenant_id = $1 AND v.code = $2 "
	    "RETURNING api_voucher(v)::text", 2, params, &r)) != LERR_OK)
		return e;
	if ((e = audit(req, "voucher.use", "voucher", params[1], before,
	    PQgetvalue(r, 0, 0))) != LERR_OK) {
		PQclear(r);
		return e;
	}
	api_one(res, 200, r);
	PQclear(r);
	if ((e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	metrics_biz(req->worker->shm, BIZ_VOUCHERS_USED, 1);
	return LERR_OK;
}

/*
 * POST /v1/vouchers/{code}/cancel {}: an issued voucher's points come
 * back to the member as a new lot and its reward's stock is freed: 200
 * with the voucher and the new balance.
 */
enum lerr
h_vouchers_cancel(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body;
	const char		*params[4];
	PGresult		*r;
	enum lerr		 e;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	if ((params[0] = code_of_path(req)) == NULL)
		return api_not_found(req, "voucher");
	params[1] = actor_type(req);
	params[2] = req->who.id;
	params[3] = req->request_id;
	if ((e = db_query(req->worker->db, "SELECT outcome, body FROM "
	    "cancel_voucher($1, $2, $3, $4)", 4, params, &r)) != LERR_OK)
		return e;
	if (strcmp(PQgetvalue(r, 0, 0), "done") != 0) {
		e = strcmp(PQgetvalue(r, 0, 0), "no_voucher") == 0 ?
		    api_not_found(req, "voucher") :
		    not_issued(req, PQgetvalue(r, 0, 1), NULL);
		PQclear(r);
		return e;
	}
	if ((e = audit(req, "voucher.cancel", "voucher", params[0], NULL,
	    PQgetvalue(r, 0, 1))) != LERR_OK) {
		PQclear(r);
		return e;
	}
	response_json(res, 200);
	buf_puts(&res->body, PQgetvalue(r, 0, 1));
	buf_putc(&res->body, '\n');
	PQclear(r);
	if ((e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	metrics_biz(req->worker->shm, BIZ_VOUCHERS_CANCELLED, 1);
	return LERR_OK;
}
