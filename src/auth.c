/* auth.c — who is calling: staff tokens, machine keys, roles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "crypto.h"
#include "db.h"
#include "jwt.h"
#include "log.h"
#include "ratelimit.h"
#include "request.h"
#include "worker.h"

#define KEY_SKEW_S	300	/* signed requests: timestamp within this */
#define SIGNATURE_HEX	64
#define BAD_SIGNATURE	"the key is unknown or revoked, or the signature does " \
			"not match"

static const char *const role_names[] = {
	[ROLE_NONE] = "none",
	[ROLE_VIEWER] = "viewer",
	[ROLE_OPERATOR] = "operator",
	[ROLE_ADMIN] = "admin",
	[ROLE_OWNER] = "owner",
	[ROLE_PLATFORM] = "platform_admin",
};

const char *
role_name(enum role r)
{
	if ((unsigned)r >= sizeof(role_names) / sizeof(role_names[0]))
		return "none";
	return role_names[r];
}

enum role
role_parse(const char *name)
{
	size_t i;

	for (i = ROLE_VIEWER; i < sizeof(role_names) / sizeof(role_names[0]);
	    i++)
		if (strcmp(name, role_names[i]) == 0)
			return (enum role)i;
	return ROLE_NONE;
}

int
valid_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != UUID_LEN)
		return 0;
	for (i = 0; i < UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

void
uuid_bytes(const char *uuid, unsigned char out[16])
{
	char	hex[33];
	size_t	i, n = 0;

	for (i = 0; uuid[i] != '\0' && n < 32; i++)
		if (uuid[i] != '-')
			hex[n++] = uuid[i];
	hex[n] = '\0';
	(void)hex_decode(hex, n, out, 16);
}

void
uuid_text(const unsigned char in[16], char out[UUID_LEN + 1])
{
	char hex[33];

	hex_encode(in, 16, hex);
	snprintf(out, UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
	    hex + 12, hex + 16, hex + 20);
}

int
auth_init(struct worker *w)
{
	const char	*jwt = w->cfg->auth_jwt_key;
	const char	*master = w->cfg->auth_master_key;

	/* config.c checked both are hex of the right length. */
	w->jwt_key_len = strlen(jwt) / 2;
	if (w->jwt_key_len > sizeof(w->jwt_key) ||
	    hex_decode(jwt, strlen(jwt), w->jwt_key, w->jwt_key_len) == -1 ||
	    strlen(master) != 2 * sizeof(w->master_key) ||
	    hex_decode(master, strlen(master), w->master_key,
	    sizeof(w->master_key)) == -1) {
		log_msg(LOG_ERROR, "auth_init", "auth.jwt_key or "
		    "auth.master_key does not decode");
		return -1;
	}
	return 0;
}

/* Every request of a caller runs in one transaction, on its tenant. */
enum lerr
auth_begin_tenant(struct request *req, const char *tenant_id, int platform)
{
	struct db	*db = req->worker->db;
	enum lerr	 e;

	if ((e = db_begin(db)) != LERR_OK ||
	    (e = db_set(db, "loyalty.tenant_id", tenant_id)) != LERR_OK)
		return e;
	if (platform)
		e = db_set(db, "loyalty.platform", "on");
	return e;
}

/* The tenant's columns every authenticated request reads (tenants t). */
#define TENANT_COLUMNS	"t.timezone, t.calling_code, array_to_string(" \
			"t.currency || t.other_currencies, ','), t.rules_version"

static void
tenant_facts(struct request *req, PGresult *r, int col)
{
	struct principal *w = &req->who;

	snprintf(w->timezone, sizeof(w->timezone), "%s",
	    PQgetvalue(r, 0, col));
	snprintf(w->calling_code, sizeof(w->calling_code), "%s",
	    PQgetvalue(r, 0, col + 1));
	snprintf(w->currencies, sizeof(w->currencies), "%s",
	    PQgetvalue(r, 0, col + 2));
	w->rules_version = strtoll(PQgetvalue(r, 0, col + 3), NULL, 10);
}

static enum lerr
unauthorized(struct request *req, const char *why)
{
	return problem_set(&req->problem, req->arena, LERR_UNAUTHORIZED, "%s",
	    why);
}

/*
 * The session of a verified token is still open and its user still has a
 * role: a logout, a deleted user or a changed role take effect on the
 * next request, not when the token expires.
 */
static enum lerr
check_session(struct request *req, const struct jwt_claims *c)
{
	const char	*params[3] = { c->tid, c->sub, c->sid };
	PGresult	*r;
	enum lerr	 e;
	enum role	 role;
	int		 suspended;

	/* sql/0003's auth_session(): its join is planned once per connection. */
	if ((e = db_begin_query(req->worker->db, "loyalty.tenant_id", c->tid,
	    "SELECT * FROM auth_session($1::uuid, $2::uuid, $3::uuid)", 3,
	    params, &r)) != LERR_OK)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return unauthorized(req, "the session has ended: log in again");
	}
	role = role_parse(PQgetvalue(r, 0, 0));
	suspended = PQgetvalue(r, 0, 1)[0] == 't';
	tenant_facts(req, r, 2);
	PQclear(r);
	if (suspended)
		return problem_set(&req->problem, req->arena, LERR_FORBIDDEN,
		    "the tenant is suspended");
	req->who.kind = PRINCIPAL_USER;
	req->who.role = role;
	/* bearer() checked all three are uuids: UUID_LEN characters. */
	snprintf(req->who.tenant_id, sizeof(req->who.tenant_id), "%.*s",
	    UUID_LEN, c->tid);
	snprintf(req->who.id, sizeof(req->who.id), "%.*s", UUID_LEN, c->sub);
	snprintf(req->who.session_id, sizeof(req->who.session_id), "%.*s",
	    UUID_LEN, c->sid);
	/* The table's CHECK keeps platform_admin there; so does this. */
	if (role == ROLE_PLATFORM && strcmp(c->tid, PLATFORM_TENANT) == 0)
		return db_set(req->worker->db, "loyalty.platform", "on");
	if (role == ROLE_PLATFORM)
		req->who.role = ROLE_NONE;
	return LERR_OK;
}

static enum lerr
bearer(struct request *req, const char *token)
{
	const struct config	*cfg = req->worker->cfg;
	struct jwt_claims	 c;
	enum jwt_err		 je;

	je = jwt_verify(req->worker->jwt_key, req->worker->jwt_key_len,
	    cfg->auth_issuer, cfg->auth_audience, (int64_t)time(NULL),
	    (int)cfg->auth_leeway_s, token, strlen(token), &c);
	if (je != JWT_OK)
		return unauthorized(req, arena_printf(req->arena, "access "
		    "token refused: %s", jwt_err_text(je)));
	if (!valid_uuid(c.tid) || !valid_uuid(c.sub) || !valid_uuid(c.sid))
		return unauthorized(req, "access token refused: malformed "
		    "claims");
	return check_session(req, &c);
}

/*
 * The value of an HTTP header as FastCGI passes it, refusing one that
 * came more than once: nginx passes repeats as repeated parameters, or
 * joined with ", " (no header of ours has a comma in it).
 */
static const char *
single_header(const struct request *req, const char *param, int *dup)
{
	const char	*v = NULL;
	size_t		 n = strlen(param);
	char *const	*e;

	if (req->envp == NULL)
		return NULL;
	for (e = req->envp; *e != NULL; e++) {
		if (strncmp(*e, param, n) != 0 || (*e)[n] != '=')
			continue;
		if (v != NULL)
			*dup = 1;
		v = *e + n + 1;
	}
	if (v != NULL && strchr(v, ',') != NULL)
		*dup = 1;
	return v;
}

/*
 * A key id is "lk_" and the base64url of the tenant's uuid (16 bytes)
 * and 8 random bytes: the key names its tenant, so the lookup needs no
 * door through row-level security.
 */
static int
key_tenant(const char *key_id, char tenant[UUID_LEN + 1])
{
	unsigned char	raw[24];
	size_t		got;

	if (strncmp(key_id, "lk_", 3) != 0 || strlen(key_id) != 35 ||
	    b64url_decode(key_id + 3, 32, raw, sizeof(raw), &got) == -1 ||
	    got != sizeof(raw))
		return -1;
	uuid_text(raw, tenant);
	return 0;
}

/* Opens the key's sealed secret: NULL (reported in req) when it fails. */
static char *
key_secret(struct request *req, const char *tenant, const char *key_id,
    const char *sealed_hex)
{
	size_t		 hexlen = strlen(sealed_hex), slen, got;
	unsigned char	*sealed;
	char		*secret, *aad;

	/* PostgreSQL writes bytea as \x and hex. */
	if (hexlen < 2 || (hexlen - 2) % 2 != 0)
		return NULL;
	slen = (hexlen - 2) / 2;
	sealed = arena_alloc(req->arena, slen + 1);
	secret = arena_alloc(req->arena, slen + 1);
	aad = arena_printf(req->arena, "%s/%s", tenant, key_id);
	if (hex_decode(sealed_hex + 2, hexlen - 2, sealed, slen) == -1 ||
	    aead_open(req->worker->master_key, aad, strlen(aad), sealed, slen,
	    (unsigned char *)secret, slen, &got) == -1) {
		log_msg(LOG_ERROR, "key_unseal", "key %s cannot be opened "
		    "with auth.master_key", key_id);
		return NULL;
	}
	secret[got] = '\0';
	return secret;
}

/* HMAC-SHA256(secret, timestamp "." METHOD "." path-with-query "." body) */
static int
signature_ok(struct request *req, const char *secret, const char *ts,
    const char *sig_hex)
{
	const char	*uri = request_param(req, "REQUEST_URI");
	unsigned char	 mac[32], want[32];
	struct buf	 msg;
	int		 ok;

	if (uri == NULL || hex_decode(sig_hex, SIGNATURE_HEX, want,
	    sizeof(want)) == -1)
		return 0;
	buf_init(&msg, req->arena);
	buf_puts(&msg, ts);
	buf_putc(&msg, '.');
	buf_puts(&msg, req->method);
	buf_putc(&msg, '.');
	buf_puts(&msg, uri);
	buf_putc(&msg, '.');
	buf_append(&msg, req->body, req->body_len);
	if (hmac_sha256(secret, strlen(secret), msg.data, msg.len, mac) == -1)
		return 0;
	ok = crypto_equal(mac, sizeof(mac), want, sizeof(want));
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

static enum lerr
signed_request(struct request *req, const char *key_id, const char *ts,
    const char *sig)
{
	char		 tenant[UUID_LEN + 1];
	const char	*params[2];
	PGresult	*r;
	char		*secret, *end;
	long long	 when;
	enum lerr	 e;
	int		 ok, suspended;

	if (key_tenant(key_id, tenant) == -1)
		return unauthorized(req, "X-Loyalty-Key is not a key id");
	when = strtoll(ts, &end, 10);
	if (ts[0] < '0' || ts[0] > '9' || *end != '\0' || strlen(ts) > 12)
		return unauthorized(req, "X-Loyalty-Timestamp must be unix "
		    "seconds");
	if (llabs(when - (long long)time(NULL)) > KEY_SKEW_S)
		return unauthorized(req, "X-Loyalty-Timestamp is more than 300 "
		    "seconds away from the server's clock");
	if (strncmp(sig, "v1=", 3) != 0 || strlen(sig + 3) != SIGNATURE_HEX)
		return unauthorized(req, "X-Loyalty-Signature must be v1= and "
		    "64 hex digits");
	params[0] = tenant;
	params[1] = key_id;
	if ((e = db_begin_query(req->worker->db, "loyalty.tenant_id", tenant,
	    "SELECT k.secret_sealed, t.status = 'suspended', " TENANT_COLUMNS
	    " FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE "
	    "k.tenant_id = $1 AND k.id = $2 AND k.revoked_at IS NULL", 2,
	    params, &r)) != LERR_OK)
		return e;
	/* One answer whether the key is unknown or the signature wrong. */
	if (PQntuples(r) != 1) {
		PQclear(r);
		return unauthorized(req, BAD_SIGNATURE);
	}
	secret = key_secret(req, tenant, key_id, PQgetvalue(r, 0, 0));
	suspended = PQgetvalue(r, 0, 1)[0] == 't';
	tenant_facts(req, r, 2);
	PQclear(r);
	/* Unsealable: auth.master_key changed since the key was made. */
	if (secret == NULL)
		return unauthorized(req, BAD_SIGNATURE);
	ok = signature_ok(req, secret, ts, sig + 3);
	OPENSSL_cleanse(secret, strlen(secret));
	if (!ok)
		return unauthorized(req, BAD_SIGNATURE);
	if (suspended)
		return problem_set(&req->problem, req->arena, LERR_FORBIDDEN,
		    "the tenant is suspended");
	req->who.kind = PRINCIPAL_KEY;
	req->who.role = ROLE_OPERATOR;
	snprintf(req->who.tenant_id, sizeof(req->who.tenant_id), "%s", tenant);
	snprintf(req->who.id, sizeof(req->who.id), "%s", key_id);
	return LERR_OK;
}

/*
 * Each tenant's users and keys share one token bucket, in shared memory:
 * all workers of this loyaltyd count against it (limits.tenant_rate and
 * tenant_burst); each machine has its own.
 */
static enum lerr
tenant_limit(struct request *req)
{
	const struct config	*cfg = req->worker->cfg;
	struct rl_rule		 rule = { cfg->limit_tenant_rate, 1,
				    cfg->limit_tenant_burst };
	int			 retry = 0;

	if (ratelimit_take(req->worker->shm->limits, arena_printf(req->arena,
	    "t:%s", req->who.tenant_id), &rule, mono_ns(), &retry))
		return LERR_OK;
	req->problem.retry_after = retry;
	return problem_set(&req->problem, req->arena, LERR_RATE_LIMITED,
	    "the tenant's request rate is over its limit; try again in %d s",
	    retry);
}

enum lerr
auth_request(struct request *req)
{
	const char	*authz, *key, *ts, *sig;
	int		 dup = 0;
	enum lerr	 e;

	authz = single_header(req, "HTTP_AUTHORIZATION", &dup);
	key = single_header(req, "HTTP_X_LOYALTY_KEY", &dup);
	ts = single_header(req, "HTTP_X_LOYALTY_TIMESTAMP", &dup);
	sig = single_header(req, "HTTP_X_LOYALTY_SIGNATURE", &dup);
	if (dup)
		return unauthorized(req, "a credential header is repeated");
	if (authz != NULL && (key != NULL || ts != NULL || sig != NULL))
		return unauthorized(req, "send either a bearer token or a "
		    "signature, not both");
	if (authz != NULL) {
		if (strncasecmp(authz, "Bearer ", 7) != 0)
			return unauthorized(req, "Authorization must be "
			    "\"Bearer\" and an access token");
		e = bearer(req, authz + 7);
	} else if (key != NULL || ts != NULL || sig != NULL) {
		if (key == NULL || ts == NULL || sig == NULL)
			return unauthorized(req, "a signed request needs "
			    "X-Loyalty-Key, X-Loyalty-Timestamp and "
			    "X-Loyalty-Signature");
		e = signed_request(req, key, ts, sig);
	} else
		return unauthorized(req, "authentication required: a bearer "
		    "token or a signed request");
	if (e != LERR_OK)
		return e;
	if ((e = tenant_limit(req)) != LERR_OK)
		return e;
	if (req->route->access == ACCESS_PLATFORM ?
	    req->who.role != ROLE_PLATFORM :
	    (int)req->who.role < (int)req->route->access)
		return problem_set(&req->problem, req->arena, LERR_FORBIDDEN,
		    "this needs the role %s; you are %s",
		    role_name((enum role)req->route->access),
		    role_name(req->who.role));
	return LERR_OK;
}

enum lerr
auth_issue_access(struct request *req, const char *tenant_id,
    const char *user_id, const char *session_id, enum role role,
    const char **out, long *ttl)
{
	const struct config	*cfg = req->worker->cfg;
	struct jwt_claims	 c;
	unsigned char		 jti[16];
	char			*token;
	size_t			 len = 2048;
	int64_t			 now = (int64_t)time(NULL);

	memset(&c, 0, sizeof(c));
	snprintf(c.sub, sizeof(c.sub), "%s", user_id);
	snprintf(c.tid, sizeof(c.tid), "%s", tenant_id);
	snprintf(c.role, sizeof(c.role), "%s", role_name(role));
	snprintf(c.sid, sizeof(c.sid), "%s", session_id);
	if (crypto_random(jti, sizeof(jti)) == -1)
		return problem_set(&req->problem, req->arena, LERR_INTERNAL,
		    "no random bytes");
	b64url_encode(jti, sizeof(jti), c.jti, sizeof(c.jti));
	c.iat = c.nbf = now;
	c.exp = now + cfg->auth_access_ttl_s;
	token = arena_alloc(req->arena, len);
	if (jwt_sign(req->worker->jwt_key, req->worker->jwt_key_len,
	    cfg->auth_issuer, cfg->auth_audience, &c, token, len) == -1)
		return problem_set(&req->problem, req->arena, LERR_INTERNAL,
		    "cannot sign the access token");
	*out = token;
	*ttl = cfg->auth_access_ttl_s;
	return LERR_OK;
}
