/* h_auth.c — staff login, token refresh, logout, and who am I. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api.h"
#include "crypto.h"
#include "db.h"
#include "handlers.h"
#include "identity.h"
#include "log.h"
#include "ratelimit.h"
#include "worker.h"

#define REFRESH_RAW	48	/* tenant uuid (16) and 256 random bits */
#define REFRESH_PREFIX	"rt_"
#define REFRESH_LEN	(3 + 64)
#define WRONG		"the email or the password is wrong"

/* Emails are compared lower-cased, as they are stored. */
static char *
normal_email(struct request *req, const char *email)
{
	char	*e = arena_strdup(req->arena, email);
	char	*p;

	for (p = e; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return e;
}

/*
 * A refresh token names its tenant (so that refreshing needs no door
 * through row-level security) and carries 256 random bits; the database
 * keeps a SHA-256 of it only.
 */
static enum lerr
new_refresh(struct request *req, const char *tenant, const char *session,
    const char **token)
{
	unsigned char	 raw[REFRESH_RAW], hash[32];
	char		 hex[2 * 32 + 3], ttl[32], *out;
	const char	*params[4];
	PGresult	*r;
	enum lerr	 e;

	uuid_bytes(tenant, raw);
	if (crypto_random(raw + 16, REFRESH_RAW - 16) == -1)
		return problem_set(&req->problem, req->arena, LERR_INTERNAL,
		    "no random bytes");
	sha256(raw, sizeof(raw), hash);
	hex[0] = '\\';
	hex[1] = 'x';
	hex_encode(hash, sizeof(hash), hex + 2);
	out = arena_alloc(req->arena, REFRESH_LEN + 1);
	memcpy(out, REFRESH_PREFIX, 3);
	b64url_encode(raw, sizeof(raw), out + 3, REFRESH_LEN + 1 - 3);
	OPENSSL_cleanse(raw, sizeof(raw));
	snprintf(ttl, sizeof(ttl), "%ld", req->worker->cfg->auth_refresh_ttl_s);
	params[0] = tenant;
	params[1] = hex;
	params[2] = session;
	params[3] = ttl;
	e = db_query(req->worker->db, "INSERT INTO refresh_tokens (tenant_id, "
	    "token_hash, session_id, expires_at) VALUES ($1, $2, $3, now() + "
	    "$4::int * interval '1 second')", 4, params, &r);
	PQclear(r);
	*token = out;
	return e;
}

/* Reads a refresh token back: its tenant and the hash the table keeps. */
static int
parse_refresh(const char *token, char tenant[UUID_LEN + 1],
    char hash_hex[2 * 32 + 3])
{
	unsigned char	raw[REFRESH_RAW], hash[32];
	size_t		got;

	if (strlen(token) != REFRESH_LEN ||
	    strncmp(token, REFRESH_PREFIX, 3) != 0 ||
	    b64url_decode(token + 3, REFRESH_LEN - 3, raw, sizeof(raw),
	    &got) == -1 || got != sizeof(raw))
		return -1;
	uuid_text(raw, tenant);
	sha256(raw, sizeof(raw), hash);
	OPENSSL_cleanse(raw, sizeof(raw));
	hash_hex[0] = '\\';
	hash_hex[1] = 'x';
	hex_encode(hash, sizeof(hash), hash_hex + 2);
	return 0;
}

/*
 * {access_token, token_type, expires_in, refresh_token}. The access token
 * is signed before the caller commits, so that nothing is spent or
 * recorded for a pair that could not be made.
 */
struct pair {
	const char	*access, *refresh;
	long		 ttl;
};

static enum lerr
make_pair(struct request *req, const char *tenant, const char *user,
    const char *session, enum role role, const char *refresh, struct pair *p)
{
	p->refresh = refresh;
	return auth_issue_access(req, tenant, user, session, role, &p->access,
	    &p->ttl);
}

static enum lerr
send_pair(struct response *res, const struct pair *p)
{
	response_json(res, 200);
	buf_puts(&res->body, "{\"access_token\":");
	buf_json_str(&res->body, p->access);
	buf_printf(&res->body, ",\"token_type\":\"Bearer\",\"expires_in\":%ld,"
	    "\"refresh_token\":", p->ttl);
	buf_json_str(&res->body, p->refresh);
	buf_puts(&res->body, "}\n");
	return LERR_OK;
}

/* 423: the same answer to every attempt while an account is locked. */
static enum lerr
locked(struct request *req, long seconds)
{
	req->problem.retry_after = seconds > 0 ? (int)seconds : 1;
	return problem_set(&req->problem, req->arena, LERR_LOCKED, "the "
	    "account is locked after too many failed logins; try again in "
	    "%d s", req->problem.retry_after);
}

/* Login attempts are limited per email and per client address. */
static enum lerr
login_limits(struct request *req, const char *email)
{
	const struct config	*cfg = req->worker->cfg;
	struct rl_rule		 by_email, by_addr;
	int			 retry = 0;

	rl_rule_per_period(&by_email, cfg->limit_login_per_email,
	    cfg->limit_login_period_s);
	rl_rule_per_period(&by_addr, cfg->limit_login_per_addr,
	    cfg->limit_login_period_s);
	if (!ratelimit_take(req->worker->shm->limits, arena_printf(req->arena,
	    "la:%s", req->remote_addr), &by_addr, mono_ns(), &retry) ||
	    !ratelimit_take(req->worker->shm->limits, arena_printf(req->arena,
	    "le:%s", email), &by_email, mono_ns(), &retry)) {
		req->problem.retry_after = retry;
		return problem_set(&req->problem, req->arena, LERR_RATE_LIMITED,
		    "too many login attempts; try again in %d s", retry);
	}
	return LERR_OK;
}

/* A user the email belongs to, as login found it. */
struct candidate {
	char		 tenant[UUID_LEN + 1];
	char		 user[UUID_LEN + 1];
	enum role	 role;
	const char	*hash;
	int		 suspended;
	long		 attempts;	/* in the window, this one included */
	int		 is_locked;
};

#define MAX_CANDIDATES	8

static enum lerr
lock_account(struct request *req, const struct candidate *c)
{
	char		 lockout[32];
	const char	*params[3] = { c->tenant, c->user, lockout };
	PGresult	*r;
	enum lerr	 e;

	snprintf(lockout, sizeof(lockout), "%ld",
	    req->worker->cfg->auth_lockout_s);
	if ((e = auth_begin_tenant(req, c->tenant, 0)) != LERR_OK)
		return e;
	if ((e = db_query(req->worker->db, "UPDATE users SET locked_until = "
	    "now() + $3::int * interval '1 second', failed_logins = 0, "
	    "first_failed_at = NULL WHERE tenant_id = $1 AND id = $2", 3,
	    params, &r)) != LERR_OK)
		return e;
	PQclear(r);
	if ((e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	log_msg(LOG_WARN, "account_locked", "user %s of tenant %s is locked "
	    "for %s s after %ld failed logins", c->user, c->tenant, lockout,
	    req->worker->cfg->auth_lockout_failures);
	return LERR_OK;
}

/*
 * Counts the attempt before the password is checked, on the locked row,
 * so that guesses already in flight cannot get past the lock: a locked
 * account (or one whose window is already full) is not checked at all.
 */
static enum lerr
begin_attempt(struct request *req, struct candidate *c)
{
	const struct config	*cfg = req->worker->cfg;
	char			 window[32];
	const char		*params[3] = { c->tenant, c->user, window };
	PGresult		*r;
	enum lerr		 e;

	snprintf(window, sizeof(window), "%ld", cfg->auth_lockout_window_s);
	if ((e = auth_begin_tenant(req, c->tenant, 0)) != LERR_OK)
		return e;
	if ((e = db_query(req->worker->db, "UPDATE users SET failed_logins = "
	    "CASE WHEN first_failed_at > now() - $3::int * interval '1 second' "
	    "THEN failed_logins + 1 ELSE 1 END, first_failed_at = CASE WHEN "
	    "first_failed_at > now() - $3::int * interval '1 second' THEN "
	    "first_failed_at ELSE now() END WHERE tenant_id = $1 AND id = $2 "
	    "AND (locked_until IS NULL OR locked_until <= now()) RETURNING "
	    "failed_logins", 3, params, &r)) != LERR_OK)
		return e;
	c->is_locked = PQntuples(r) != 1;
	c->attempts = c->is_locked ? 0 : atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	if ((e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	if (!c->is_locked && c->attempts > cfg->auth_lockout_failures) {
		c->is_locked = 1;
		return lock_account(req, c);
	}
	return LERR_OK;
}

/* The attempt begin_attempt counted was no failure after all. */
static enum lerr
uncount_attempt(struct request *req, const struct candidate *c)
{
	const char	*params[2] = { c->tenant, c->user };
	PGresult	*r;
	enum lerr	 e;

	if ((e = auth_begin_tenant(req, c->tenant, 0)) != LERR_OK)
		return e;
	if ((e = db_query(req->worker->db, "UPDATE users SET failed_logins = "
	    "greatest(failed_logins - 1, 0) WHERE tenant_id = $1 AND id = $2",
	    2, params, &r)) != LERR_OK)
		return e;
	PQclear(r);
	return db_commit(req->worker->db);
}

/* A session, its first refresh token, the audit entry, the tokens. */
static enum lerr
open_session(struct request *req, struct response *res,
    const struct candidate *c, const char *rehash)
{
	char		 ttl[32];
	const char	*params[3] = { c->tenant, c->user, ttl };
	const char	*update[3] = { c->tenant, c->user, rehash };
	const char	*session, *refresh;
	struct pair	 pair;
	PGresult	*r;
	enum lerr	 e;

	snprintf(ttl, sizeof(ttl), "%ld", req->worker->cfg->auth_refresh_ttl_s);
	if ((e = auth_begin_tenant(req, c->tenant, 0)) != LERR_OK)
		return e;
	/* Not if a concurrent failure locked the account meanwhile. */
	if ((e = db_query(req->worker->db, "UPDATE users SET failed_logins = "
	    "0, first_failed_at = NULL, locked_until = NULL, last_login_at = "
	    "now(), password_hash = coalesce($3, password_hash) WHERE "
	    "tenant_id = $1 AND id = $2 AND (locked_until IS NULL OR "
	    "locked_until <= now())", 3, update, &r)) != LERR_OK)
		return e;
	if (atoi(PQcmdTuples(r)) != 1) {
		PQclear(r);
		return locked(req, req->worker->cfg->auth_lockout_s);
	}
	PQclear(r);
	if ((e = db_query(req->worker->db, "INSERT INTO sessions (tenant_id, "
	    "user_id, expires_at) VALUES ($1, $2, now() + $3::int * interval "
	    "'1 second') RETURNING id", 3, params, &r)) != LERR_OK)
		return e;
	session = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	PQclear(r);
	if ((e = new_refresh(req, c->tenant, session, &refresh)) != LERR_OK)
		return e;
	req->who.kind = PRINCIPAL_USER;
	req->who.role = c->role;
	snprintf(req->who.tenant_id, sizeof(req->who.tenant_id), "%s",
	    c->tenant);
	snprintf(req->who.id, sizeof(req->who.id), "%s", c->user);
	if ((e = audit(req, "session.create", "session", session, NULL,
	    NULL)) != LERR_OK ||
	    (e = make_pair(req, c->tenant, c->user, session, c->role, refresh,
	    &pair)) != LERR_OK ||
	    (e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	return send_pair(res, &pair);
}

/*
 * An email nobody has still "locks" after auth.lockout_failures attempts
 * in the window (a bucket in shared memory), so that 423 does not tell
 * an account that exists from one that does not.
 */
static enum lerr
unknown_email(struct request *req, const char *email, const char *password)
{
	const struct config	*cfg = req->worker->cfg;
	struct rl_rule		 rule = { cfg->auth_lockout_failures - 1,
				    cfg->auth_lockout_window_s,
				    cfg->auth_lockout_failures - 1 };
	int			 retry;

	if (rule.per > 0 && !ratelimit_take(req->worker->shm->limits,
	    arena_printf(req->arena, "lu:%s", email), &rule, mono_ns(), &retry))
		return locked(req, cfg->auth_lockout_s);
	password_dummy_verify(password);
	if (rule.per == 0)
		return locked(req, cfg->auth_lockout_s);
	return problem_set(&req->problem, req->arena, LERR_UNAUTHORIZED, WRONG);
}

/* Up to MAX_CANDIDATES users of the email, through the login door. */
static enum lerr
find_candidates(struct request *req, const char *email, const char *slug,
    struct candidate *c, int *n)
{
	const char	*params[2] = { email, slug != NULL ? slug : "" };
	PGresult	*r;
	enum lerr	 e;
	int		 i;

	if ((e = db_begin(req->worker->db)) != LERR_OK ||
	    (e = db_set(req->worker->db, "loyalty.login_email", email)) !=
	    LERR_OK)
		return e;
	if ((e = db_query(req->worker->db, "SELECT u.tenant_id, u.id, u.role, "
	    "u.password_hash, t.status = 'suspended' FROM users u JOIN tenants "
	    "t ON t.id = u.tenant_id WHERE u.email = $1 AND ($2 = '' OR t.slug "
	    "= $2) ORDER BY u.tenant_id LIMIT 8", 2, params, &r)) != LERR_OK)
		return e;
	*n = PQntuples(r);
	for (i = 0; i < *n; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		snprintf(c[i].tenant, sizeof(c[i].tenant), "%s",
		    PQgetvalue(r, i, 0));
		snprintf(c[i].user, sizeof(c[i].user), "%s", PQgetvalue(r, i, 1));
		c[i].role = role_parse(PQgetvalue(r, i, 2));
		c[i].hash = arena_strdup(req->arena, PQgetvalue(r, i, 3));
		c[i].suspended = PQgetvalue(r, i, 4)[0] == 't';
	}
	PQclear(r);
	return db_commit(req->worker->db);
}

/*
 * POST /v1/auth/login {email, password, tenant?}. An unknown email gets
 * the answers, after the work, of a wrong password. When the email has
 * accounts at several tenants and no tenant is named, the password is
 * checked against each: one match logs in; only when it matches at
 * several is the tenant's slug asked for.
 */
enum lerr
h_auth_login(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "email", JK_STRING, 1, 1, 254 },
		{ "password", JK_STRING, 1, 1, 1024 },
		{ "tenant", JK_STRING, 0, 1, 63 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct candidate	 c[MAX_CANDIDATES];
	struct json_object	*body;
	const char		*email, *password, *slug;
	char			*rehash = NULL;
	long			 limit = req->worker->cfg->auth_lockout_failures;
	enum lerr		 e;
	int			 n, i, ok, needs_rehash, matched = -1, matches = 0;
	int			 all_locked = 1;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	email = normal_email(req, api_str(req, body, "email"));
	password = api_str(req, body, "password");
	slug = api_str(req, body, "tenant");
	if ((e = login_limits(req, email)) != LERR_OK)
		return e;
	if ((e = find_candidates(req, email, slug, c, &n)) != LERR_OK)
		return e;
	if (n == 0)
		return unknown_email(req, email, password);
	for (i = 0; i < n; i++) {
		if ((e = begin_attempt(req, &c[i])) != LERR_OK)
			return e;
		if (c[i].is_locked)
			continue;
		all_locked = 0;
		needs_rehash = 0;
		ok = password_verify(password, c[i].hash, &needs_rehash);
		if (ok == -1)
			log_msg(LOG_ERROR, "password_hash", "user %s of tenant "
			    "%s has a malformed password hash", c[i].user,
			    c[i].tenant);
		if (ok != 1)
			continue;
		matches++;
		matched = i;
		if (needs_rehash) {
			rehash = arena_alloc(req->arena, PW_HASH_MAX);
			if (password_hash(password, &PW_DEFAULT, rehash,
			    PW_HASH_MAX) == -1)
				rehash = NULL;
		}
	}
	if (all_locked)
		return locked(req, req->worker->cfg->auth_lockout_s);
	if (matches == 0) {
		all_locked = 1;
		/* A failure for each: the ones at the limit lock. */
		for (i = 0; i < n; i++) {
			if (c[i].is_locked)
				continue;
			if (c[i].attempts < limit) {
				all_locked = 0;
				continue;
			}
			if ((e = lock_account(req, &c[i])) != LERR_OK)
				return e;
		}
		if (all_locked)
			return locked(req, req->worker->cfg->auth_lockout_s);
		return problem_set(&req->problem, req->arena,
		    LERR_UNAUTHORIZED, WRONG);
	}
	/*
	 * The password was right somewhere: the attempts counted on the
	 * email's other accounts were no guesses against them.
	 */
	for (i = 0; i < n; i++)
		if (!c[i].is_locked && (matches > 1 || i != matched) &&
		    (e = uncount_attempt(req, &c[i])) != LERR_OK)
			return e;
	if (matches > 1)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "tenant", "is required: this email and password belong to "
		    "accounts at more than one tenant; give the tenant's slug");
	if (c[matched].suspended)
		return problem_set(&req->problem, req->arena, LERR_FORBIDDEN,
		    "the tenant is suspended");
	return open_session(req, res, &c[matched], rehash);
}

/* The refresh token of a request body {refresh_token}. */
static enum lerr
refresh_body(struct request *req, char tenant[UUID_LEN + 1],
    char hash[2 * 32 + 3])
{
	static const struct json_field spec[] = {
		{ "refresh_token", JK_STRING, 1, 1, 256 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body;
	enum lerr		 e;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	if (parse_refresh(api_str(req, body, "refresh_token"), tenant,
	    hash) == -1)
		return problem_set(&req->problem, req->arena,
		    LERR_UNAUTHORIZED, "not a refresh token");
	return LERR_OK;
}

static enum lerr
revoke_session(struct request *req, const char *tenant, const char *session,
    const char *reason)
{
	const char	*params[3] = { tenant, session, reason };
	PGresult	*r;
	enum lerr	 e;

	e = db_query(req->worker->db, "UPDATE sessions SET revoked_at = now(), "
	    "revoked_reason = $3 WHERE tenant_id = $1 AND id = $2 AND "
	    "revoked_at IS NULL", 3, params, &r);
	PQclear(r);
	return e;
}

/*
 * The refresh token is spent, and the session lives auth.refresh_ttl_s
 * from now: a login lasts as long as it is used.
 */
static enum lerr
spend(struct request *req, const char *tenant, const char *hash,
    const char *session)
{
	char		 ttl[32];
	const char	*token[2] = { tenant, hash };
	const char	*extend[3] = { tenant, session, ttl };
	PGresult	*r;
	enum lerr	 e;

	snprintf(ttl, sizeof(ttl), "%ld", req->worker->cfg->auth_refresh_ttl_s);
	if ((e = db_query(req->worker->db, "UPDATE refresh_tokens SET used_at "
	    "= now() WHERE tenant_id = $1 AND token_hash = $2", 2, token,
	    &r)) != LERR_OK)
		return e;
	PQclear(r);
	e = db_query(req->worker->db, "UPDATE sessions SET expires_at = now() "
	    "+ $3::int * interval '1 second' WHERE tenant_id = $1 AND id = $2",
	    3, extend, &r);
	PQclear(r);
	return e;
}

/*
 * POST /v1/auth/refresh {refresh_token}: a new pair; the old refresh
 * token is spent. Presenting a spent one again means it was copied: the
 * whole session is revoked, for the thief and the owner alike.
 */
enum lerr
h_auth_refresh(struct request *req, struct response *res)
{
	char		 tenant[UUID_LEN + 1], hash[2 * 32 + 3];
	char		 session[UUID_LEN + 1], user[UUID_LEN + 1];
	const char	*params[2] = { tenant, hash }, *refresh;
	PGresult	*r;
	enum role	 role;
	enum lerr	 e;
	struct pair	 pair;
	int		 spent, live, suspended;

	if ((e = refresh_body(req, tenant, hash)) != LERR_OK)
		return e;
	if ((e = auth_begin_tenant(req, tenant, 0)) != LERR_OK)
		return e;
	/* FOR UPDATE: of two refreshes with one token, one wins. */
	if ((e = db_query(req->worker->db, "SELECT r.session_id, s.user_id, "
	    "u.role, r.used_at IS NOT NULL, r.expires_at > now() AND "
	    "s.revoked_at IS NULL AND s.expires_at > now(), t.status = "
	    "'suspended' FROM refresh_tokens r JOIN sessions s ON s.tenant_id = "
	    "r.tenant_id AND s.id = r.session_id JOIN users u ON u.tenant_id = "
	    "s.tenant_id AND u.id = s.user_id JOIN tenants t ON t.id = "
	    "r.tenant_id WHERE r.tenant_id = $1 AND r.token_hash = $2 FOR "
	    "UPDATE OF r, s", 2, params, &r)) != LERR_OK)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return problem_set(&req->problem, req->arena,
		    LERR_UNAUTHORIZED, "unknown refresh token");
	}
	snprintf(session, sizeof(session), "%s", PQgetvalue(r, 0, 0));
	snprintf(user, sizeof(user), "%s", PQgetvalue(r, 0, 1));
	role = role_parse(PQgetvalue(r, 0, 2));
	spent = PQgetvalue(r, 0, 3)[0] == 't';
	live = PQgetvalue(r, 0, 4)[0] == 't';
	suspended = PQgetvalue(r, 0, 5)[0] == 't';
	PQclear(r);
	if (spent) {
		req->who.kind = PRINCIPAL_USER;
		req->who.role = role;
		snprintf(req->who.tenant_id, sizeof(req->who.tenant_id), "%s",
		    tenant);
		snprintf(req->who.id, sizeof(req->who.id), "%s", user);
		log_msg(LOG_WARN, "refresh_reuse", "a spent refresh token of "
		    "session %s (tenant %s) came back: session revoked",
		    session, tenant);
		if ((e = revoke_session(req, tenant, session, "reuse")) !=
		    LERR_OK || (e = audit(req, "session.revoke", "session",
		    session, NULL, "{\"reason\":\"reuse\"}")) != LERR_OK ||
		    (e = db_commit(req->worker->db)) != LERR_OK)
			return e;
		return problem_set(&req->problem, req->arena,
		    LERR_UNAUTHORIZED, "this refresh token was already used: "
		    "the session is revoked; log in again");
	}
	if (!live)
		return problem_set(&req->problem, req->arena,
		    LERR_UNAUTHORIZED, "the session has ended: log in again");
	if (suspended)
		return problem_set(&req->problem, req->arena, LERR_FORBIDDEN,
		    "the tenant is suspended");
	if ((e = spend(req, tenant, hash, session)) != LERR_OK)
		return e;
	if ((e = new_refresh(req, tenant, session, &refresh)) != LERR_OK ||
	    (e = make_pair(req, tenant, user, session, role, refresh,
	    &pair)) != LERR_OK || (e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	return send_pair(res, &pair);
}

/*
 * POST /v1/auth/logout {refresh_token}: ends the session, and with it
 * every access token it issued (auth_request checks the session). 204,
 * also for a token already logged out.
 */
enum lerr
h_auth_logout(struct request *req, struct response *res)
{
	char		 tenant[UUID_LEN + 1], hash[2 * 32 + 3];
	const char	*params[2] = { tenant, hash }, *session;
	PGresult	*r;
	enum lerr	 e;

	if ((e = refresh_body(req, tenant, hash)) != LERR_OK)
		return e;
	if ((e = auth_begin_tenant(req, tenant, 0)) != LERR_OK)
		return e;
	if ((e = db_query(req->worker->db, "SELECT s.id, s.user_id, "
	    "s.revoked_at IS NULL FROM refresh_tokens r JOIN sessions s ON "
	    "s.tenant_id = r.tenant_id AND s.id = r.session_id WHERE "
	    "r.tenant_id = $1 AND r.token_hash = $2", 2, params, &r)) !=
	    LERR_OK)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return problem_set(&req->problem, req->arena,
		    LERR_UNAUTHORIZED, "unknown refresh token");
	}
	session = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	req->who.kind = PRINCIPAL_USER;
	snprintf(req->who.tenant_id, sizeof(req->who.tenant_id), "%s", tenant);
	snprintf(req->who.id, sizeof(req->who.id), "%s", PQgetvalue(r, 0, 1));
	if (PQgetvalue(r, 0, 2)[0] == 't' && ((e = revoke_session(req, tenant,
	    session, "logout")) != LERR_OK || (e = audit(req, "session.revoke",
	    "session", session, NULL, "{\"reason\":\"logout\"}")) != LERR_OK)) {
		PQclear(r);
		return e;
	}
	PQclear(r);
	if ((e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	res->status = 204;
	return LERR_OK;
}

/* GET /v1/me: the caller, its role and its tenant. */
enum lerr
h_me(struct request *req, struct response *res)
{
	const char	*params[2] = { req->who.tenant_id, req->who.id };
	PGresult	*r;
	enum lerr	 e;

	if (req->who.kind == PRINCIPAL_USER)
		e = db_query(req->worker->db, "SELECT jsonb_build_object("
		    "'type', 'user', 'role', u.role, 'user', api_user(u), "
		    "'tenant', api_tenant(t)) FROM users u JOIN tenants t ON "
		    "t.id = u.tenant_id WHERE u.tenant_id = $1 AND u.id = $2",
		    2, params, &r);
	else
		e = db_query(req->worker->db, "SELECT jsonb_build_object("
		    "'type', 'key', 'role', 'operator', 'key', api_key(k), "
		    "'tenant', api_tenant(t)) FROM api_keys k JOIN tenants t ON "
		    "t.id = k.tenant_id WHERE k.tenant_id = $1 AND k.id = $2",
		    2, params, &r);
	if (e != LERR_OK)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return problem_set(&req->problem, req->arena,
		    LERR_UNAUTHORIZED, "the caller is gone");
	}
	api_one(res, 200, r);
	PQclear(r);
	return db_commit(req->worker->db);
}

/*
 * POST /v1/me/password {current_password, new_password}: a user changes
 * their own password. The caller's other sessions end; this one stays.
 */
enum lerr
h_me_password(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "current_password", JK_STRING, 1, 1, 1024 },
		{ "new_password", JK_STRING, 1, 1, 1024 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body;
	const char		*params[3] = { req->who.tenant_id, req->who.id,
				    NULL };
	const char		*fresh, *why;
	char			*hash;
	PGresult		*r;
	enum lerr		 e;
	int			 ok;

	if ((e = api_body(req, spec, &body)) != LERR_OK)
		return e;
	if (req->who.kind != PRINCIPAL_USER)
		return problem_set(&req->problem, req->arena, LERR_FORBIDDEN,
		    "a machine key has no password");
	fresh = api_str(req, body, "new_password");
	if ((why = password_acceptable(fresh,
	    req->worker->cfg->auth_password_min_length)) != NULL)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "new_password", "%s (at least %ld bytes)", why,
		    req->worker->cfg->auth_password_min_length);
	if ((e = db_query(req->worker->db, "SELECT password_hash FROM users "
	    "WHERE tenant_id = $1 AND id = $2 FOR UPDATE", 2, params, &r)) !=
	    LERR_OK)
		return e;
	ok = PQntuples(r) == 1 && password_verify(api_str(req, body,
	    "current_password"), PQgetvalue(r, 0, 0), NULL) == 1;
	PQclear(r);
	if (!ok)
		return problem_field(&req->problem, req->arena, LERR_VALIDATION,
		    "current_password", "is not your current password");
	hash = arena_alloc(req->arena, PW_HASH_MAX);
	if (password_hash(fresh, &PW_DEFAULT, hash, PW_HASH_MAX) == -1)
		return problem_set(&req->problem, req->arena, LERR_INTERNAL,
		    "cannot hash the password");
	params[2] = hash;
	if ((e = db_query(req->worker->db, "UPDATE users SET password_hash = "
	    "$3, updated_at = now() WHERE tenant_id = $1 AND id = $2", 3,
	    params, &r)) != LERR_OK)
		return e;
	PQclear(r);
	params[2] = req->who.session_id;
	if ((e = db_query(req->worker->db, "UPDATE sessions SET revoked_at = "
	    "now(), revoked_reason = 'user_changed' WHERE tenant_id = $1 AND "
	    "user_id = $2 AND revoked_at IS NULL AND id <> $3", 3, params,
	    &r)) != LERR_OK)
		return e;
	PQclear(r);
	if ((e = audit(req, "user.password", "user", req->who.id, NULL,
	    "{\"password_changed\":true}")) != LERR_OK ||
	    (e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	res->status = 204;
	return LERR_OK;
}
