/* auth.h — who is calling: staff tokens, machine keys, roles. */
#ifndef LOYALTY_AUTH_H
#define LOYALTY_AUTH_H

#include <stddef.h>

#include "error.h"

struct request;
struct worker;

/* Ranked: each role may do what the ones below it may. */
enum role {
	ROLE_NONE = 0,
	ROLE_VIEWER,
	ROLE_OPERATOR,
	ROLE_ADMIN,
	ROLE_OWNER,
	ROLE_PLATFORM		/* only in the platform's own tenant */
};

#define UUID_LEN	36
/* The platform's own tenant, made by the migration. */
#define PLATFORM_TENANT	"00000000-0000-0000-0000-000000000000"

enum principal_kind { PRINCIPAL_NONE, PRINCIPAL_USER, PRINCIPAL_KEY };

struct principal {
	enum principal_kind	kind;
	enum role		role;
	char			tenant_id[UUID_LEN + 1];
	char			id[64];		/* user uuid or key id */
	char			session_id[UUID_LEN + 1];
	/*
	 * The caller's tenant, read by the same query that checks the
	 * credential: what events and members need without another trip.
	 */
	char			timezone[65];
	char			calling_code[4];
	char			currencies[40];	/* "USD" or "USD,ZWG,..." */
	long long		rules_version;
};

const char	*role_name(enum role);
/* ROLE_NONE when name is none of the roles' names. */
enum role	 role_parse(const char *name);

/* Syntax only: 8-4-4-4-12 lowercase hex, as PostgreSQL writes a uuid. */
int		 valid_uuid(const char *);
/* A valid uuid's 16 bytes, and back. */
void		 uuid_bytes(const char *uuid, unsigned char out[16]);
void		 uuid_text(const unsigned char in[16], char out[UUID_LEN + 1]);

/*
 * The worker's keys, decoded from the configuration once at start:
 * -1 (logged) when they do not decode.
 */
int		 auth_init(struct worker *);

/*
 * Establishes req->who from an Authorization: Bearer token or a signed
 * request (X-Loyalty-Key, -Timestamp, -Signature), checks it against the
 * route's minimum role, and opens the request's transaction with the
 * caller's tenant set: the handler runs inside it and commits. 401 for
 * no or bad credentials, 403 for a role below the route's.
 */
enum lerr	 auth_request(struct request *);

/*
 * Opens a transaction for tenant (and, for a platform administrator, the
 * platform door): what auth_request does once it knows the caller, for
 * handlers that find the tenant themselves (login, refresh).
 */
enum lerr	 auth_begin_tenant(struct request *, const char *tenant_id,
		    int platform);

/*
 * Signs a fresh access token for a user's session into out (arena);
 * its lifetime in seconds in *ttl.
 */
enum lerr	 auth_issue_access(struct request *, const char *tenant_id,
		    const char *user_id, const char *session_id,
		    enum role role, const char **out, long *ttl);

#endif
