/*
 * ctl_identity.c — loyaltyctl tenant, user and key: the first tenant, its
 * first owner and its keys on a new install, before anyone can log in.
 * Each prints its result as one JSON document on stdout, for scripts, and
 * writes an audit entry (actor "cli", the system user who ran it).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "ctl.h"
#include "identity.h"

#define APPNAME	"loyaltyctl identity"

/* Runs sql with params; prints the error (a known conflict as why). */
static PGresult *
run(PGconn *c, const char *sql, int n, const char *const *params,
    const char *conflict, int *rc)
{
	PGresult	*r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	const char	*state;

	if (PQresultStatus(r) == PGRES_TUPLES_OK ||
	    PQresultStatus(r) == PGRES_COMMAND_OK)
		return r;
	state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (conflict != NULL && state != NULL && strcmp(state, "23505") == 0) {
		fprintf(stderr, "loyaltyctl: %s\n", conflict);
		*rc = CTL_REFUSED;
	} else {
		fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(c));
		*rc = CTL_FAIL;
	}
	PQclear(r);
	return NULL;
}

static int
audit_cli(const struct ctl *ctl, PGconn *c, const char *tenant,
    const char *action, const char *type, const char *target,
    const char *after)
{
	char		 rid[64];
	const char	*params[6] = { tenant, ctl->operator_name, action, type,
			    target, after };
	PGresult	*r;
	int		 rc = CTL_OK;

	snprintf(rid, sizeof(rid), "cli-%ld-%ld", (long)getpid(),
	    (long)time(NULL));
	if ((r = run(c, "INSERT INTO audit_log (tenant_id, actor_type, "
	    "actor_id, action, target_type, target_id, after, request_id) "
	    "VALUES ($1, 'cli', $2, $3, $4, $5, $6, $7)", 7, (const char *[]){
	    params[0], params[1], params[2], params[3], params[4], params[5],
	    rid }, NULL, &rc)) != NULL)
		PQclear(r);
	return rc;
}

/* The id of the tenant with slug, or CTL_USAGE (reported). */
static int
tenant_id(PGconn *c, const char *slug, char out[UUID_LEN + 1])
{
	const char	*params[1] = { slug };
	PGresult	*r;
	int		 rc = CTL_OK;

	if ((r = run(c, "SELECT id FROM tenants WHERE slug = $1", 1, params,
	    NULL, &rc)) == NULL)
		return rc;
	if (PQntuples(r) != 1) {
		fprintf(stderr, "loyaltyctl: no tenant with slug \"%s\"\n",
		    slug);
		rc = CTL_USAGE;
	} else
		snprintf(out, UUID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

static PGconn *
begin(const struct ctl *ctl)
{
	PGconn *c;

	if ((c = ctl_connect_admin(ctl, APPNAME)) == NULL)
		return NULL;
	if (ctl_exec(c, "BEGIN") == -1) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* COMMIT, print the document, close: the exit status. */
static int
finish(PGconn *c, int rc, const char *doc)
{
	if (rc == CTL_OK && ctl_exec(c, "COMMIT") == -1)
		rc = CTL_FAIL;
	PQfinish(c);
	if (rc == CTL_OK && doc != NULL)
		printf("%s\n", doc);
	return rc;
}

/* loyaltyctl tenant create --slug S --name N [--currency C] [--timezone Z] */
static int
tenant_create(const struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "slug", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "currency", required_argument, NULL, 'c' },
		{ "timezone", required_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*p[4] = { NULL, NULL, "USD", "Africa/Harare" };
	PGresult	*r;
	PGconn		*c;
	char		*doc = NULL;
	int		 ch, rc = CTL_OK;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': p[0] = optarg; break;
		case 'n': p[1] = optarg; break;
		case 'c': p[2] = optarg; break;
		case 'z': p[3] = optarg; break;
		default: p[0] = NULL; break;
		}
	}
	if (p[0] == NULL || p[1] == NULL || optind != argc) {
		fprintf(stderr, "usage: loyaltyctl tenant create --slug SLUG "
		    "--name NAME [--currency CODE] [--timezone ZONE]\n");
		return CTL_USAGE;
	}
	if ((c = begin(ctl)) == NULL)
		return CTL_FAIL;
	if ((r = run(c, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1,
	    p + 3, NULL, &rc)) != NULL) {
		if (PQntuples(r) != 1) {
			fprintf(stderr, "loyaltyctl: --timezone: \"%s\" is not "
			    "a time zone name such as Africa/Harare\n", p[3]);
			rc = CTL_USAGE;
		}
		PQclear(r);
	}
	if (rc == CTL_OK && (r = run(c, "INSERT INTO tenants (slug, name, "
	    "currency, timezone) VALUES ($1, $2, $3, $4) RETURNING "
	    "api_tenant(tenants)::text, id", 4, p, "a tenant with this slug "
	    "exists", &rc)) != NULL) {
		doc = strdup(PQgetvalue(r, 0, 0));
		rc = audit_cli(ctl, c, PLATFORM_TENANT, "tenant.create", "tenant",
		    PQgetvalue(r, 0, 1), doc);
		PQclear(r);
	}
	rc = finish(c, rc, doc);
	free(doc);
	return rc;
}

/* A password from the first line of stdin, for --password-stdin. */
static int
read_password(char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, stdin) == NULL) {
		fprintf(stderr, "loyaltyctl: --password-stdin: nothing on "
		    "standard input\n");
		return -1;
	}
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return 0;
}

/*
 * loyaltyctl user create --tenant S --email E --role R [--password-stdin]
 * loyaltyctl user create --platform-admin --email E [--password-stdin]
 */
static int
user_create(const struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "email", required_argument, NULL, 'e' },
		{ "role", required_argument, NULL, 'r' },
		{ "platform-admin", no_argument, NULL, 'P' },
		{ "password-stdin", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*slug = NULL, *rolename = NULL, *why;
	char		 tenant[UUID_LEN + 1], pw[1100], hash[PW_HASH_MAX];
	char		 email[256] = "", *doc = NULL, *shown = NULL;
	const char	*params[4];
	int		 ch, platform = 0, from_stdin = 0, bad = 0, rc;
	PGresult	*r;
	PGconn		*c;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't': slug = optarg; break;
		case 'e': snprintf(email, sizeof(email), "%s", optarg); break;
		case 'r': rolename = optarg; break;
		case 'P': platform = 1; break;
		case 'S': from_stdin = 1; break;
		default: bad = 1; break;
		}
	}
	if (bad || optind != argc || email[0] == '\0' || (platform ?
	    slug != NULL || rolename != NULL : slug == NULL ||
	    rolename == NULL)) {
		fprintf(stderr, "usage: loyaltyctl user create --tenant SLUG "
		    "--email EMAIL --role ROLE [--password-stdin]\n"
		    "       loyaltyctl user create --platform-admin --email "
		    "EMAIL [--password-stdin]\n");
		return CTL_USAGE;
	}
	if (platform)
		rolename = "platform_admin";
	if ((why = email_normalise(email)) != NULL) {
		fprintf(stderr, "loyaltyctl: --email %s\n", why);
		return CTL_USAGE;
	}
	if (from_stdin) {
		if (read_password(pw, sizeof(pw)) == -1)
			return CTL_USAGE;
		if ((why = password_acceptable(pw,
		    ctl->cfg.auth_password_min_length)) != NULL) {
			fprintf(stderr, "loyaltyctl: the password %s (at least "
			    "%ld bytes)\n", why,
			    ctl->cfg.auth_password_min_length);
			OPENSSL_cleanse(pw, sizeof(pw));
			return CTL_USAGE;
		}
	} else if (one_time_password(pw) == -1)
		return CTL_FAIL;
	rc = password_hash(pw, &PW_DEFAULT, hash, sizeof(hash)) == 0 ?
	    CTL_OK : CTL_FAIL;
	if (!from_stdin)
		shown = strdup(pw);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc != CTL_OK || (c = begin(ctl)) == NULL) {
		free(shown);
		return CTL_FAIL;
	}
	if (platform)
		snprintf(tenant, sizeof(tenant), "%s", PLATFORM_TENANT);
	else
		rc = tenant_id(c, slug, tenant);
	if (rc == CTL_OK && (why = role_fits_tenant(role_parse(rolename),
	    tenant)) != NULL) {
		fprintf(stderr, "loyaltyctl: --role %s: %s\n", rolename, why);
		rc = CTL_USAGE;
	}
	params[0] = tenant;
	params[1] = email;
	params[2] = rolename;
	params[3] = hash;
	if (rc == CTL_OK && (r = run(c, "INSERT INTO users (tenant_id, email, "
	    "role, password_hash) VALUES ($1, $2, $3, $4) RETURNING "
	    "api_user(users)::text, id", 4, params, "a user with this email "
	    "exists in the tenant", &rc)) != NULL) {
		const char *user = PQgetvalue(r, 0, 0);

		rc = audit_cli(ctl, c, tenant, "user.create", "user",
		    PQgetvalue(r, 0, 1), user);
		/* The one-time password is shown here, once. */
		if (shown != NULL && asprintf(&doc, "%.*s,\"password\":\"%s\"}",
		    (int)strlen(user) - 1, user, shown) == -1)
			doc = NULL;
		else if (shown == NULL)
			doc = strdup(user);
		PQclear(r);
	}
	rc = finish(c, rc, doc);
	if (shown != NULL)
		OPENSSL_cleanse(shown, strlen(shown));
	if (doc != NULL)
		OPENSSL_cleanse(doc, strlen(doc));
	free(shown);
	free(doc);
	return rc;
}

/* --tenant SLUG [--name N] [--id KEY] for the key commands. */
struct key_args {
	const char	*slug, *name, *id;
};

static int
key_args(int argc, char **argv, struct key_args *a)
{
	static const struct option opts[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "id", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't': a->slug = optarg; break;
		case 'n': a->name = optarg; break;
		case 'i': a->id = optarg; break;
		default: return -1;
		}
	}
	return optind == argc && a->slug != NULL ? 0 : -1;
}

static int
key_create(const struct ctl *ctl, const struct key_args *a)
{
	char		 tenant[UUID_LEN + 1], id[KEY_ID_LEN + 1];
	char		 secret[KEY_SECRET_LEN + 1];
	char		 sealed[2 * (KEY_SECRET_LEN + AEAD_OVERHEAD) + 3];
	unsigned char	 master[32];
	const char	*params[4];
	char		*doc = NULL;
	PGresult	*r;
	PGconn		*c;
	int		 rc;

	if (strlen(ctl->cfg.auth_master_key) != 64 ||
	    hex_decode(ctl->cfg.auth_master_key, 64, master, 32) == -1) {
		fprintf(stderr, "loyaltyctl: auth.master_key is not set in the "
		    "secrets file: `loyaltyctl gen-secrets --add-missing` adds "
		    "it\n");
		return CTL_USAGE;
	}
	if ((c = begin(ctl)) == NULL)
		return CTL_FAIL;
	if ((rc = tenant_id(c, a->slug, tenant)) != CTL_OK)
		return finish(c, rc, NULL);
	params[0] = tenant;
	if ((r = run(c, "SELECT (SELECT count(*) FROM api_keys WHERE "
	    "tenant_id = $1 AND revoked_at IS NULL) FROM tenants WHERE id = $1 "
	    "FOR UPDATE", 1, params, NULL, &rc)) == NULL)
		return finish(c, rc, NULL);
	if (atoi(PQgetvalue(r, 0, 0)) >= 2) {
		fprintf(stderr, "loyaltyctl: tenant %s has 2 active keys, the "
		    "most it may have: revoke one first\n", a->slug);
		rc = CTL_REFUSED;
	}
	PQclear(r);
	if (rc == CTL_OK && key_generate(tenant, master, id, secret, sealed,
	    sizeof(sealed)) == -1)
		rc = CTL_FAIL;
	OPENSSL_cleanse(master, sizeof(master));
	params[1] = id;
	params[2] = a->name != NULL ? a->name : "loyaltyctl";
	params[3] = sealed;
	if (rc == CTL_OK && (r = run(c, "INSERT INTO api_keys (tenant_id, id, "
	    "name, secret_sealed) VALUES ($1, $2, $3, $4) RETURNING "
	    "api_key(api_keys)::text", 4, params, NULL, &rc)) != NULL) {
		const char *key = PQgetvalue(r, 0, 0);

		rc = audit_cli(ctl, c, tenant, "key.create", "key", id, key);
		if (asprintf(&doc, "%.*s,\"secret\":\"%s\"}",
		    (int)strlen(key) - 1, key, secret) == -1)
			doc = NULL;
		PQclear(r);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	rc = finish(c, rc, doc);
	if (doc != NULL)
		OPENSSL_cleanse(doc, strlen(doc));
	free(doc);
	return rc;
}

static int
key_list(const struct ctl *ctl, const struct key_args *a)
{
	char		 tenant[UUID_LEN + 1];
	const char	*params[1] = { tenant };
	PGresult	*r;
	PGconn		*c;
	int		 rc;

	if ((c = begin(ctl)) == NULL)
		return CTL_FAIL;
	if ((rc = tenant_id(c, a->slug, tenant)) != CTL_OK)
		return finish(c, rc, NULL);
	if ((r = run(c, "SELECT jsonb_build_object('items', coalesce("
	    "jsonb_agg(api_key(k) ORDER BY k.seq), '[]'))::text FROM api_keys "
	    "k WHERE k.tenant_id = $1", 1, params, NULL, &rc)) == NULL)
		return finish(c, rc, NULL);
	rc = finish(c, rc, PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

static int
key_revoke(const struct ctl *ctl, const struct key_args *a)
{
	char		 tenant[UUID_LEN + 1];
	const char	*params[2] = { tenant, a->id };
	char		*doc = NULL;
	PGresult	*r;
	PGconn		*c;
	int		 rc;

	if (a->id == NULL) {
		fprintf(stderr, "usage: loyaltyctl key revoke --tenant SLUG "
		    "--id KEY\n");
		return CTL_USAGE;
	}
	if ((c = begin(ctl)) == NULL)
		return CTL_FAIL;
	if ((rc = tenant_id(c, a->slug, tenant)) != CTL_OK)
		return finish(c, rc, NULL);
	if ((r = run(c, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, "
	    "now()) WHERE tenant_id = $1 AND id = $2 RETURNING "
	    "api_key(api_keys)::text", 2, params, NULL, &rc)) == NULL)
		return finish(c, rc, NULL);
	if (PQntuples(r) != 1) {
		fprintf(stderr, "loyaltyctl: tenant %s has no key %s\n",
		    a->slug, a->id);
		rc = CTL_USAGE;
	} else {
		doc = strdup(PQgetvalue(r, 0, 0));
		rc = audit_cli(ctl, c, tenant, "key.revoke", "key", a->id, doc);
	}
	PQclear(r);
	rc = finish(c, rc, doc);
	free(doc);
	return rc;
}

int
ctl_tenant(struct ctl *ctl, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "create") == 0)
		return tenant_create(ctl, argc - 1, argv + 1);
	fprintf(stderr, "usage: loyaltyctl tenant create --slug SLUG --name "
	    "NAME [--currency CODE] [--timezone ZONE]\n");
	return CTL_USAGE;
}

int
ctl_user(struct ctl *ctl, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "create") == 0)
		return user_create(ctl, argc - 1, argv + 1);
	fprintf(stderr, "usage: loyaltyctl user create (--tenant SLUG --role "
	    "ROLE | --platform-admin) --email EMAIL [--password-stdin]\n");
	return CTL_USAGE;
}

int
ctl_key(struct ctl *ctl, int argc, char **argv)
{
	struct key_args a;

	if (argc >= 2 && key_args(argc - 1, argv + 1, &a) == 0) {
		if (strcmp(argv[1], "create") == 0)
			return key_create(ctl, &a);
		if (strcmp(argv[1], "list") == 0)
			return key_list(ctl, &a);
		if (strcmp(argv[1], "revoke") == 0)
			return key_revoke(ctl, &a);
	}
	fprintf(stderr, "usage: loyaltyctl key create --tenant SLUG [--name "
	    "NAME]\n       loyaltyctl key list --tenant SLUG\n"
	    "       loyaltyctl key revoke --tenant SLUG --id KEY\n");
	return CTL_USAGE;
}
