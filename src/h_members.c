/* h_members.c — a tenant's members, their ledger and manual adjustments. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "handlers.h"
#include "metrics.h"
#include "phone.h"
#include "worker.h"

#define ATTRIBUTES_MAX		32	/* keys of a member's attributes */
#define ATTRIBUTE_KEY_MAX	64
#define ATTRIBUTE_VALUE_MAX	200
#define ATTRIBUTE_KEY_CHARS	"abcdefghijklmnopqrstuvwxyz" \
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

/* A member's attributes: at most 32 keys, each naming a short string. */
static void
check_attributes(struct request *req, struct json_object *attrs)
{
	int n = 0;

	json_object_object_foreach(attrs, key, val) {
		size_t len = strlen(key);

		n++;
		/* A hostile key is not echoed back as a field name. */
		if (len == 0 || len > ATTRIBUTE_KEY_MAX ||
		    strspn(key, ATTRIBUTE_KEY_CHARS) != len)
			problem_field(&req->problem, req->arena,
			    LERR_VALIDATION, "attributes", "keys must be 1 to "
			    "%d of a-z, A-Z, 0-9, '_', '.' and '-'",
			    ATTRIBUTE_KEY_MAX);
		else if (!json_object_is_type(val, json_type_string) ||
		    json_object_get_string_len(val) > ATTRIBUTE_VALUE_MAX)
			problem_field(&req->problem, req->arena,
			    LERR_VALIDATION, arena_printf(req->arena,
			    "attributes.%s", key), "must be a string of at "
			    "most %d bytes", ATTRIBUTE_VALUE_MAX);
	}
	if (n > ATTRIBUTES_MAX)
		problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "attributes", "may have at most %d keys", ATTRIBUTES_MAX);
}

/* Whether obj has the member name, given as JSON null. */
static int
is_null(struct json_object *obj, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, name, &v) && v == NULL;
}

/* Whether obj has name with a value that is not null. */
static int
has_value(struct json_object *obj, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, name, &v) && v != NULL;
}

/*
 * The body of POST or PATCH /v1/members, checked (*out, unless NULL), and
 * as the JSON text the SQL reads (*doc): the phone in E.164, null
 * attributes as {}. In a PATCH a field given as null clears it; a field
 * left out stays.
 */
static enum lerr
member_body(struct request *req, int patch, struct json_object **out,
    const char **doc)
{
	static const struct json_field spec[] = {
		{ "external_id", JK_STRING, 0, 1, 100 },
		{ "phone", JK_STRING, 0, 1, 64 },
		{ "name", JK_STRING, 0, 1, 200 },
		{ "tier", JK_STRING, 0, 1, 32 },
		{ "attributes", JK_OBJECT, 0, 0, 0 },
		{ "status", JK_STRING, 0, 1, 16 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body, *v;
	const char		*phone, *status, *why;
	char			 e164[PHONE_E164_MAX];
	enum lerr		 e;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	if (patch && json_object_object_length(body) == 0)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "body", "nothing to change");
	if ((phone = api_str(req, body, "phone")) != NULL) {
		if ((why = phone_e164(phone, req->who.calling_code, e164)) !=
		    NULL)
			problem_field(&req->problem, req->arena,
			    LERR_VALIDATION, "phone", "%s", why);
		else
			json_object_object_add(body, "phone",
			    json_object_new_string(e164));
	}
	status = api_str(req, body, "status");
	if ((status != NULL && strcmp(status, "active") != 0 &&
	    strcmp(status, "blocked") != 0) || is_null(body, "status"))
		problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "status", "must be active or blocked");
	if (json_object_object_get_ex(body, "attributes", &v)) {
		if (v == NULL)
			json_object_object_add(body, "attributes",
			    json_object_new_object());
		else
			check_attributes(req, v);
	}
	/* A member is found by one of the two: it keeps at least one. */
	if (patch ? is_null(body, "external_id") && is_null(body, "phone") :
	    !has_value(body, "external_id") && !has_value(body, "phone")) {
		why = patch ? "cannot be cleared together with" :
		    "is needed, or";
		problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "external_id", "%s phone", why);
		problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "phone", "%s external_id", why);
	}
	if (req->problem.nerrors > 0)
		return req->problem.code;
	if (out != NULL)
		*out = body;
	*doc = arena_strdup(req->arena, json_object_to_json_string_ext(body,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	return LERR_OK;
}

/* 409 for a unique key of members that an insert or update ran into. */
static enum lerr
taken(struct request *req)
{
	const char *c = db_constraint(req->worker->db);

	if (strcmp(c, "members_tenant_id_phone_key") == 0)
		return problem_field(&req->problem, req->arena, LERR_CONFLICT,
		    "phone", "another member of the tenant has this phone "
		    "number");
	if (strcmp(c, "members_tenant_id_external_id_key") == 0)
		return problem_field(&req->problem, req->arena, LERR_CONFLICT,
		    "external_id", "another member of the tenant has this "
		    "external_id");
	return problem_set(&req->problem, req->arena, LERR_CONFLICT,
	    "the member conflicts with another");
}

/*
 * The member of the path as the API shows it (row-locked when the caller
 * will change it), with whether it has an external id and a phone:
 * NULL, with a 404 in req, when there is none. An id that is not a uuid
 * is the same 404, so nothing tells a malformed id from another
 * tenant's.
 */
static PGresult *
target(struct request *req, int lock, enum lerr *e)
{
	const char	*id = request_path_param(req, "id");
	const char	*params[2] = { req->who.tenant_id, id };

	if (!valid_uuid(id)) {
		*e = api_not_found(req, "member");
		return NULL;
	}
	return api_row(req, "member", lock ? "SELECT api_member(m)::text, "
	    "m.external_id IS NOT NULL, m.phone IS NOT NULL FROM members m "
	    "WHERE m.tenant_id = $1 AND m.id = $2 FOR UPDATE" :
	    "SELECT api_member(m)::text, m.external_id IS NOT NULL, m.phone IS "
	    "NOT NULL FROM members m WHERE m.tenant_id = $1 AND m.id = $2", 2,
	    params, e);
}

/*
 * One page of a list: sql's last parameter, limit + 1, is written here;
 * its rows are as api_list takes them. Then the commit.
 */
static enum lerr
page(struct request *req, struct response *res, const char *sql,
    int nparams, const char **params, long limit)
{
	char		 lim[24];
	PGresult	*r;
	enum lerr	 e;

	snprintf(lim, sizeof(lim), "%ld", limit + 1);
	params[nparams - 1] = lim;
	if ((e = db_query(req->worker->db, sql, nparams, params, &r)) !=
	    LERR_OK)
		return e;
	api_list(res, r, limit);
	PQclear(r);
	return db_commit(req->worker->db);
}

/*
 * POST /v1/members {external_id?, phone?, name?, tier?, attributes?,
 * status?}: at least one of the first two.
 */
enum lerr
h_members_create(struct request *req, struct response *res)
{
	const char	*params[2];
	char		 state[6];
	PGresult	*r;
	enum lerr	 e;

	params[0] = req->who.tenant_id;
	if ((e = member_body(req, 0, NULL, &params[1])) != LERR_OK)
		return e;
	e = db_query_expect(req->worker->db, "INSERT INTO members (tenant_id, "
	    "external_id, phone, name, tier, attributes, status) SELECT $1, "
	    "p->>'external_id', p->>'phone', p->>'name', p->>'tier', "
	    "coalesce(p->'attributes', '{}'), coalesce(p->>'status', "
	    "'active') FROM (SELECT $2::jsonb AS p) x RETURNING "
	    "api_member(members)::text, id", 2, params, &r, "23505", state);
	if (e == LERR_CONFLICT)
		return taken(req);
	if (e != LERR_OK)
		return e;
	return api_audited(req, res, 201, r, "member.create", "member",
	    PQgetvalue(r, 0, 1), NULL);
}

/*
 * GET /v1/members?phone=&external_id=&limit=&after= : oldest first, blocked
 * ones too. The phone is read as a till would send it, like on create.
 */
enum lerr
h_members_list(struct request *req, struct response *res)
{
	const char	*phone = request_query(req, "phone");
	const char	*after, *why, *params[5];
	char		 e164[PHONE_E164_MAX];
	long		 limit;
	enum lerr	 e;

	if ((e = api_page(req, &limit, &after)) != LERR_OK)
		return e;
	/* An unescaped '+' arrives as a space (form encoding), and read so
	 * the number would be national: no number starts with a space. */
	if (phone != NULL && phone[0] == ' ')
		phone = arena_printf(req->arena, "+%s", phone + 1);
	if (phone != NULL && (why = phone_e164(phone, req->who.calling_code,
	    e164)) != NULL)
		return problem_field(&req->problem, req->arena,
		    LERR_BAD_REQUEST, "phone", "%s", why);
	params[0] = req->who.tenant_id;
	params[1] = after;
	params[2] = phone != NULL ? e164 : NULL;
	params[3] = request_query(req, "external_id");
	return page(req, res, "SELECT api_member(m)::text, m.seq FROM members "
	    "m WHERE m.tenant_id = $1 AND m.seq > $2::bigint AND ($3::text IS "
	    "NULL OR m.phone = $3) AND ($4::text IS NULL OR m.external_id = "
	    "$4) ORDER BY m.seq LIMIT $5::bigint", 5, params, limit);
}

/* GET /v1/members/{id} */
enum lerr
h_members_get(struct request *req, struct response *res)
{
	PGresult	*r;
	enum lerr	 e;

	r = target(req, 0, &e);
	return api_reply(req, res, r, e);
}

/*
 * PATCH /v1/members/{id}: any field of POST; null clears one, but a member
 * keeps an external_id or a phone. The balance is not the caller's to set.
 */
enum lerr
h_members_update(struct request *req, struct response *res)
{
	struct json_object	*body;
	const char		*params[3], *before;
	char			 state[6];
	PGresult		*r;
	enum lerr		 e;
	int			 ext, phone;

	params[0] = req->who.tenant_id;
	params[1] = request_path_param(req, "id");
	if ((e = member_body(req, 1, &body, &params[2])) != LERR_OK)
		return e;
	if ((r = target(req, 1, &e)) == NULL)
		return e;
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	ext = PQgetvalue(r, 0, 1)[0] == 't';
	phone = PQgetvalue(r, 0, 2)[0] == 't';
	PQclear(r);
	/* What the member has after the change: one of the two, at least. */
	ext = has_value(body, "external_id") || (ext && !is_null(body,
	    "external_id"));
	phone = has_value(body, "phone") || (phone && !is_null(body, "phone"));
	if (!ext && !phone)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    is_null(body, "phone") ? "phone" : "external_id",
		    "cannot be cleared: the member would have neither an "
		    "external_id nor a phone");
	e = db_query_expect(req->worker->db, "UPDATE members m SET "
	    "external_id = CASE WHEN p ? 'external_id' THEN p->>'external_id' "
	    "ELSE m.external_id END, phone = CASE WHEN p ? 'phone' THEN "
	    "p->>'phone' ELSE m.phone END, name = CASE WHEN p ? 'name' THEN "
	    "p->>'name' ELSE m.name END, tier = CASE WHEN p ? 'tier' THEN "
	    "p->>'tier' ELSE m.tier END, attributes = "
	    "coalesce(p->'attributes', m.attributes), status = "
	    "coalesce(p->>'status', m.status), "
	    "updated_at = now() FROM (SELECT $3::jsonb AS p) x WHERE "
	    "m.tenant_id = $1 AND m.id = $2 RETURNING api_member(m)::text", 3,
	    params, &r, "23505", state);
	if (e == LERR_CONFLICT)
		return taken(req);
	if (e != LERR_OK)
		return e;
	return api_audited(req, res, 200, r, "member.update", "member",
	    params[1], before);
}

/*
 * GET /v1/members/{id}/ledger?limit=&after= : newest first. The cursor is
 * an entry's id and the next page holds the entries before it.
 */
enum lerr
h_members_ledger(struct request *req, struct response *res)
{
	const char	*after, *params[4];
	long		 limit;
	PGresult	*r;
	enum lerr	 e;

	if ((e = api_page(req, &limit, &after)) != LERR_OK)
		return e;
	if ((r = target(req, 0, &e)) == NULL)
		return e;
	PQclear(r);
	params[0] = req->who.tenant_id;
	params[1] = request_path_param(req, "id");
	params[2] = after;
	return page(req, res, "SELECT api_ledger(l)::text, l.id FROM ledger "
	    "l WHERE l.tenant_id = $1 AND l.member_id = $2 AND ($3::bigint = 0 "
	    "OR l.id < $3::bigint) ORDER BY l.id DESC LIMIT $4::bigint", 4,
	    params, limit);
}

/*
 * POST /v1/members/{id}/adjustments {points, reason}: a manual change of
 * points, by SQL adjust() (which locks the member first). Honours
 * Idempotency-Key: a retry with the same key and body gets the first
 * answer, and the points move once.
 */
enum lerr
h_members_adjust(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "points", JK_INT, 1, -1000000000, 1000000000 },
		{ "reason", JK_STRING, 1, 1, 500 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body, *v;
	const char		*id = request_path_param(req, "id");
	const char		*params[6], *outcome, *entry;
	char			 points[24];
	PGresult		*r;
	enum lerr		 e;
	int64_t			 n;
	int			 replayed;

	if (!valid_uuid(id))
		return api_not_found(req, "member");
	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	json_object_object_get_ex(body, "points", &v);
	if (json_object_get_int64(v) == 0)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "points", "must not be 0");
	if ((e = idem_begin(req, res, &replayed)) != LERR_OK)
		return e;
	if (replayed)
		return db_commit(req->worker->db);
	snprintf(points, sizeof(points), "%lld",
	    (long long)json_object_get_int64(v));
	params[0] = id;
	params[1] = points;
	params[2] = api_str(req, body, "reason");
	params[3] = req->who.kind == PRINCIPAL_KEY ? "key" : "user";
	params[4] = req->who.id;
	params[5] = req->request_id;
	if ((e = db_query(req->worker->db, "SELECT outcome, body FROM "
	    "adjust($1::uuid, $2::bigint, $3, $4, $5, $6)", 6, params, &r)) !=
	    LERR_OK)
		return e;
	outcome = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	if (strcmp(outcome, "no_member") == 0) {
		PQclear(r);
		return api_not_found(req, "member");
	}
	if (strcmp(outcome, "insufficient") == 0) {
		req->problem.extra_json = arena_printf(req->arena,
		    "\"balance\":%s", PQgetvalue(r, 0, 1));
		e = problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "points", "would take the balance below 0: it is %s",
		    PQgetvalue(r, 0, 1));
		PQclear(r);
		return e;
	}
	if (strcmp(outcome, "done") != 0) {
		PQclear(r);
		return problem_set(&req->problem, req->arena, LERR_INTERNAL,
		    "adjust() said %s", outcome);
	}
	/* The ledger entry, its member and the balance: adjust()'s body. */
	entry = arena_strdup(req->arena, PQgetvalue(r, 0, 1));
	PQclear(r);
	response_json(res, 201);
	buf_puts(&res->body, entry);
	buf_putc(&res->body, '\n');
	if ((e = audit(req, "member.adjust", "member", id, NULL, entry)) !=
	    LERR_OK || (e = idem_store(req, res)) != LERR_OK ||
	    (e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	n = api_json_int(entry, "points");
	metrics_biz(req->worker->shm, n > 0 ? BIZ_POINTS_ADJUSTED_UP :
	    BIZ_POINTS_ADJUSTED_DOWN, (uint64_t)(n > 0 ? n : -n));
	return LERR_OK;
}
