/* h_users.c — staff accounts of the caller's tenant (admin and up). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api.h"
#include "crypto.h"
#include "db.h"
#include "handlers.h"
#include "identity.h"
#include "worker.h"

/*
 * The user of the path (row-locked when the caller will change it): NULL,
 * with a 404 in req, when there is none.
 */
static PGresult *
target(struct request *req, int lock, enum lerr *e)
{
	const char	*id = request_path_param(req, "id");
	const char	*params[2] = { req->who.tenant_id, id };

	if (!valid_uuid(id)) {
		*e = api_not_found(req, "user");
		return NULL;
	}
	return api_row(req, "user", lock ? "SELECT api_user(u)::text, u.role "
	    "FROM users u WHERE u.tenant_id = $1 AND u.id = $2 FOR UPDATE" :
	    "SELECT api_user(u)::text, u.role FROM users u WHERE u.tenant_id "
	    "= $1 AND u.id = $2", 2, params, e);
}

/* A tenant keeps an owner: the last one may not go or step down. */
static enum lerr
keep_an_owner(struct request *req, const char *user_id)
{
	const char	*params[2] = { req->who.tenant_id, user_id };
	PGresult	*r;
	enum lerr	 e;
	int		 others;

	/* The tenant's row first: two owners demoting each other wait. */
	if ((e = db_query(req->worker->db, "SELECT 1 FROM tenants WHERE id = $1 "
	    "FOR UPDATE", 1, params, &r)) != LERR_OK)
		return e;
	PQclear(r);
	if ((e = db_query(req->worker->db, "SELECT count(*) FROM users WHERE "
	    "tenant_id = $1 AND role = 'owner' AND id <> $2", 2, params, &r))
	    != LERR_OK)
		return e;
	others = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (strcmp(req->who.tenant_id, PLATFORM_TENANT) != 0 && others == 0)
		return problem_set(&req->problem, req->arena, LERR_CONFLICT,
		    "this is the tenant's last owner");
	return LERR_OK;
}

/* The role a caller may give: a known one, no higher than its own. */
static enum lerr
check_role(struct request *req, const char *name, enum role *out)
{
	const char *why;

	*out = role_parse(name);
	if ((why = role_fits_tenant(*out, req->who.tenant_id)) != NULL)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "role", "%s", why);
	if (*out > req->who.role)
		return problem_set(&req->problem, req->arena, LERR_FORBIDDEN,
		    "you cannot give a role above your own (%s)",
		    role_name(req->who.role));
	return LERR_OK;
}

/* Hashes password (or a fresh one-time password, into otp) for storage. */
static enum lerr
hash_for(struct request *req, const char *password, char otp[], char **out)
{
	const char *why;

	if (password == NULL) {
		if (one_time_password(otp) == -1)
			return problem_set(&req->problem, req->arena,
			    LERR_INTERNAL, "no random bytes");
		password = otp;
	} else if ((why = password_acceptable(password,
	    req->worker->cfg->auth_password_min_length)) != NULL)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "password", "%s (at least %ld bytes)", why,
		    req->worker->cfg->auth_password_min_length);
	*out = arena_alloc(req->arena, PW_HASH_MAX);
	if (password_hash(password, &PW_DEFAULT, *out, PW_HASH_MAX) == -1)
		return problem_set(&req->problem, req->arena, LERR_INTERNAL,
		    "cannot hash the password");
	return LERR_OK;
}

/* A new password ends the user's sessions, but not the caller's own. */
static enum lerr
end_sessions(struct request *req, const char *user_id)
{
	const char	*params[3] = { req->who.tenant_id, user_id,
			    req->who.session_id[0] ? req->who.session_id :
			    NULL };
	PGresult	*r;
	enum lerr	 e;

	e = db_query(req->worker->db, "UPDATE sessions SET revoked_at = now(), "
	    "revoked_reason = 'user_changed' WHERE tenant_id = $1 AND user_id "
	    "= $2 AND revoked_at IS NULL AND id IS DISTINCT FROM $3::uuid", 3,
	    params, &r);
	PQclear(r);
	return e;
}

/* POST /v1/users {email, role, password?} */
enum lerr
h_users_create(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "email", JK_STRING, 1, 1, 254 },
		{ "role", JK_STRING, 1, 1, 32 },
		{ "password", JK_STRING, 0, 1, 1024 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body;
	char			*email, *hash, otp[ONE_TIME_PASSWORD_LEN + 1];
	const char		*why, *password, *params[4], *user;
	char			 state[6];
	PGresult		*r;
	enum role		 role;
	enum lerr		 e;

	otp[0] = '\0';
	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	email = arena_strdup(req->arena, api_str(req, body, "email"));
	if ((why = email_normalise(email)) != NULL)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "email", "%s", why);
	if ((e = check_role(req, api_str(req, body, "role"), &role)) !=
	    LERR_OK)
		return e;
	password = api_str(req, body, "password");
	if ((e = hash_for(req, password, otp, &hash)) != LERR_OK)
		return e;
	params[0] = req->who.tenant_id;
	params[1] = email;
	params[2] = role_name(role);
	params[3] = hash;
	e = db_query_expect(req->worker->db, "INSERT INTO users (tenant_id, "
	    "email, role, password_hash) VALUES ($1, $2, $3, $4) RETURNING "
	    "api_user(users)::text, id", 4, params, &r, "23505,23514", state);
	if (e == LERR_CONFLICT && strcmp(state, "23514") == 0)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "email", "is not an address the table accepts");
	if (e == LERR_CONFLICT)
		return problem_field(&req->problem, req->arena, LERR_CONFLICT,
		    "email", "a user with this email exists in the tenant");
	if (e != LERR_OK)
		return e;
	user = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	if ((e = audit(req, "user.create", "user", PQgetvalue(r, 0, 1), NULL,
	    user)) != LERR_OK || (e = db_commit(req->worker->db)) != LERR_OK) {
		PQclear(r);
		return e;
	}
	PQclear(r);
	response_json(res, 201);
	/* The one-time password is shown here, once, and never stored. */
	if (otp[0] != '\0') {
		buf_append(&res->body, user, strlen(user) - 1);
		buf_printf(&res->body, ",\"password\":\"%s\"}\n", otp);
		OPENSSL_cleanse(otp, sizeof(otp));
	} else
		buf_printf(&res->body, "%s\n", user);
	return LERR_OK;
}

/* GET /v1/users?limit=&after= */
enum lerr
h_users_list(struct request *req, struct response *res)
{
	return api_list_page(req, res, "SELECT api_user(u)::text, u.seq FROM "
	    "users u WHERE u.tenant_id = $1 AND u.seq > $2 ORDER BY u.seq "
	    "LIMIT $3", 1);
}

/* GET /v1/users/{id} */
enum lerr
h_users_get(struct request *req, struct response *res)
{
	PGresult	*r;
	enum lerr	 e;

	r = target(req, 0, &e);
	return api_reply(req, res, r, e);
}

/*
 * PATCH /v1/users/{id} {role?, password?}. Nobody changes their own role
 * or anyone above them; a new password ends the user's other sessions
 * and lifts a lockout.
 */
enum lerr
h_users_update(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "role", JK_STRING, 0, 1, 32 },
		{ "password", JK_STRING, 0, 1, 1024 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body;
	const char		*id = request_path_param(req, "id");
	const char		*newrole, *password, *params[4], *before;
	char			*hash = NULL, otp[ONE_TIME_PASSWORD_LEN + 1];
	PGresult		*r;
	enum role		 role, current;
	enum lerr		 e;
	int			 self;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	newrole = api_str(req, body, "role");
	password = api_str(req, body, "password");
	if (newrole == NULL && password == NULL)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "body", "nothing to change: give role or password");
	if ((r = target(req, 1, &e)) == NULL)
		return e;
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	current = role_parse(PQgetvalue(r, 0, 1));
	PQclear(r);
	self = strcmp(id, req->who.id) == 0 && req->who.kind == PRINCIPAL_USER;
	if (current > req->who.role)
		return problem_set(&req->problem, req->arena, LERR_FORBIDDEN,
		    "you cannot change a user above your role");
	if (newrole != NULL) {
		if ((e = check_role(req, newrole, &role)) != LERR_OK)
			return e;
		if (self && role != current)
			return problem_set(&req->problem, req->arena,
			    LERR_FORBIDDEN, "you cannot change your own role");
		if (current == ROLE_OWNER && role != ROLE_OWNER &&
		    (e = keep_an_owner(req, id)) != LERR_OK)
			return e;
	} else
		role = current;
	if (password != NULL && (e = hash_for(req, password, otp, &hash)) !=
	    LERR_OK)
		return e;
	params[0] = req->who.tenant_id;
	params[1] = id;
	params[2] = role_name(role);
	params[3] = hash;
	if ((e = db_query(req->worker->db, "UPDATE users SET role = $3, "
	    "password_hash = coalesce($4, password_hash), failed_logins = "
	    "CASE WHEN $4 IS NULL THEN failed_logins ELSE 0 END, "
	    "locked_until = CASE WHEN $4 IS NULL THEN locked_until END, "
	    "updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING "
	    "api_user(users)::text", 4, params, &r)) != LERR_OK)
		return e;
	/* The new password is no fact of the row: the entry says it. */
	if ((e = audit(req, "user.update", "user", id, before, hash == NULL ?
	    PQgetvalue(r, 0, 0) : arena_printf(req->arena, "%.*s,"
	    "\"password_changed\":true}", (int)strlen(PQgetvalue(r, 0, 0)) - 1,
	    PQgetvalue(r, 0, 0)))) != LERR_OK) {
		PQclear(r);
		return e;
	}
	api_one(res, 200, r);
	PQclear(r);
	if (hash != NULL && (e = end_sessions(req, id)) != LERR_OK)
		return e;
	return db_commit(req->worker->db);
}

/* DELETE /v1/users/{id}: not oneself, not above one's role, not the last owner. */
enum lerr
h_users_delete(struct request *req, struct response *res)
{
	const char	*id = request_path_param(req, "id");
	const char	*params[2] = { req->who.tenant_id, id }, *before;
	PGresult	*r;
	enum role	 current;
	enum lerr	 e;

	if ((r = target(req, 1, &e)) == NULL)
		return e;
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	current = role_parse(PQgetvalue(r, 0, 1));
	PQclear(r);
	if (strcmp(id, req->who.id) == 0)
		return problem_set(&req->problem, req->arena, LERR_FORBIDDEN,
		    "you cannot delete yourself");
	if (current > req->who.role)
		return problem_set(&req->problem, req->arena, LERR_FORBIDDEN,
		    "you cannot delete a user above your role");
	if (current == ROLE_OWNER && (e = keep_an_owner(req, id)) != LERR_OK)
		return e;
	if ((e = db_query(req->worker->db, "DELETE FROM users WHERE tenant_id "
	    "= $1 AND id = $2", 2, params, &r)) != LERR_OK)
		return e;
	PQclear(r);
	if ((e = audit(req, "user.delete", "user", id, before, NULL)) !=
	    LERR_OK || (e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	res->status = 204;
	return LERR_OK;
}
