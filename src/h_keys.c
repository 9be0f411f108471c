/* h_keys.c — machine keys of the caller's tenant (admin and up). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api.h"
#include "crypto.h"
#include "db.h"
#include "handlers.h"
#include "identity.h"
#include "worker.h"

#define MAX_ACTIVE_KEYS	2	/* the one in use and its replacement */

/*
 * POST /v1/keys {name}: the id and the secret, the secret this once.
 * The tenant's row is locked first, so two requests cannot both see one
 * active key and make a third.
 */
enum lerr
h_keys_create(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "name", JK_STRING, 1, 1, 100 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body;
	char			 id[KEY_ID_LEN + 1], secret[KEY_SECRET_LEN + 1];
	char			 sealed[2 * (KEY_SECRET_LEN + AEAD_OVERHEAD) + 3];
	const char		*params[4], *key;
	PGresult		*r;
	enum lerr		 e;
	int			 active;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	params[0] = req->who.tenant_id;
	if ((e = db_query(req->worker->db, "SELECT (SELECT count(*) FROM "
	    "api_keys WHERE tenant_id = $1 AND revoked_at IS NULL) FROM "
	    "tenants WHERE id = $1 FOR UPDATE", 1, params, &r)) != LERR_OK)
		return e;
	active = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;
	PQclear(r);
	if (active >= MAX_ACTIVE_KEYS)
		return problem_set(&req->problem, req->arena, LERR_CONFLICT,
		    "the tenant has %d active keys, the most it may have: "
		    "revoke one first", active);
	if (key_generate(req->who.tenant_id, req->worker->master_key, id,
	    secret, sealed, sizeof(sealed)) == -1)
		return problem_set(&req->problem, req->arena, LERR_INTERNAL,
		    "cannot make a key");
	params[1] = id;
	params[2] = api_str(req, body, "name");
	params[3] = sealed;
	if ((e = db_query(req->worker->db, "INSERT INTO api_keys (tenant_id, "
	    "id, name, secret_sealed) VALUES ($1, $2, $3, $4) RETURNING "
	    "api_key(api_keys)::text", 4, params, &r)) != LERR_OK)
		goto out;
	key = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	PQclear(r);
	if ((e = audit(req, "key.create", "key", id, NULL, key)) != LERR_OK ||
	    (e = db_commit(req->worker->db)) != LERR_OK)
		goto out;
	response_json(res, 201);
	buf_append(&res->body, key, strlen(key) - 1);
	buf_printf(&res->body, ",\"secret\":\"%s\"}\n", secret);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	return e;
}

/* GET /v1/keys: active and revoked, never a secret. */
enum lerr
h_keys_list(struct request *req, struct response *res)
{
	return api_list_page(req, res, "SELECT api_key(k)::text, k.seq FROM "
	    "api_keys k WHERE k.tenant_id = $1 AND k.seq > $2 ORDER BY k.seq "
	    "LIMIT $3", 1);
}

/* DELETE /v1/keys/{id}: revoked from the next request on. */
enum lerr
h_keys_revoke(struct request *req, struct response *res)
{
	const char	*id = request_path_param(req, "id");
	const char	*params[2] = { req->who.tenant_id, id }, *before;
	PGresult	*r;
	enum lerr	 e;

	if ((r = api_row(req, "key", "SELECT api_key(k)::text FROM api_keys k "
	    "WHERE k.tenant_id = $1 AND k.id = $2 FOR UPDATE", 2, params,
	    &e)) == NULL)
		return e;
	before = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	PQclear(r);
	if ((e = db_query(req->worker->db, "UPDATE api_keys SET revoked_at = "
	    "coalesce(revoked_at, now()) WHERE tenant_id = $1 AND id = $2 "
	    "RETURNING api_key(api_keys)::text", 2, params, &r)) != LERR_OK)
		return e;
	if (strcmp(before, PQgetvalue(r, 0, 0)) != 0 &&
	    (e = audit(req, "key.revoke", "key", id, before,
	    PQgetvalue(r, 0, 0))) != LERR_OK) {
		PQclear(r);
		return e;
	}
	api_one(res, 200, r);
	PQclear(r);
	return db_commit(req->worker->db);
}
