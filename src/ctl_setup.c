/* ctl_setup.c — loyaltyctl setup: database, roles, migrations, password. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/*
 * ALTER ROLE takes no parameters either. The password is hashed here
 * (SCRAM-SHA-256, by libpq) so that only the verifier travels, quoted as
 * a literal by libpq; the server never sees or logs the password.
 */
static int
set_password(PGconn *c, const char *role, const char *password)
{
	char	*verifier, *ident = NULL, *lit = NULL, *sql = NULL;
	size_t	 len;
	int	 rc = -1;

	verifier = PQencryptPasswordConn(c, password, role, "scram-sha-256");
	if (verifier == NULL) {
		fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(c));
		return -1;
	}
	ident = PQescapeIdentifier(c, role, strlen(role));
	lit = PQescapeLiteral(c, verifier, strlen(verifier));
	if (ident != NULL && lit != NULL) {
		len = strlen(ident) + strlen(lit) + 32;
		if ((sql = malloc(len)) != NULL) {
			snprintf(sql, len, "ALTER ROLE %s PASSWORD %s", ident,
			    lit);
			rc = ctl_exec(c, sql);
			free(sql);
		}
	} else
		fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(c));
	PQfreemem(verifier);
	PQfreemem(ident);
	PQfreemem(lit);
	return rc;
}

int
ctl_setup(struct ctl *ctl, int argc, char **argv)
{
	char	*migrate_argv[] = { "migrate", NULL };
	PGconn	*c;
	int	 found, rc;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: loyaltyctl setup\n");
		return CTL_USAGE;
	}
	if ((c = ctl_connect_admin_db(ctl, CTL_MAINTENANCE_DB,
	    "loyaltyctl setup")) == NULL) {
		fprintf(stderr, "loyaltyctl: no database server to set up: "
		    "set [database] in %s (docs/DEPLOYMENT.md), then run "
		    "`loyaltyctl setup` again\n", ctl->config_path);
		return CTL_FAIL;
	}
	if ((found = ctl_database_exists(c, ctl->cfg.db_name)) == -1)
		goto fail;
	if (!found) {
		if (ctl_create_database(c, ctl->cfg.db_name) == -1)
			goto fail;
		printf("created database %s\n", ctl->cfg.db_name);
	}
	if ((rc = ctl_migrate(ctl, 1, migrate_argv)) != CTL_OK) {
		PQfinish(c);
		return rc;
	}
	if ((found = ctl_exists(c, "SELECT 1 FROM pg_roles WHERE rolname = $1",
	    ctl->cfg.db_user)) == -1)
		goto fail;
	if (!found) {
		fprintf(stderr, "loyaltyctl: database.user \"%s\" is not a role: "
		    "the migrations create \"loyalty\"; use that name\n",
		    ctl->cfg.db_user);
		PQfinish(c);
		return CTL_USAGE;
	}
	if (ctl->cfg.db_password[0] != '\0') {
		if (set_password(c, ctl->cfg.db_user, ctl->cfg.db_password) ==
		    -1)
			goto fail;
		printf("set the password of role %s from the secrets file\n",
		    ctl->cfg.db_user);
	}
	PQfinish(c);
	printf("database %s is set up\n", ctl->cfg.db_name);
	return CTL_OK;
fail:
	PQfinish(c);
	return CTL_FAIL;
}
