/* loyaltyctl.c — the operator's tool: options and sub-command dispatch. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "db.h"
#include "version.h"

#ifndef LOYALTY_SQL_DIR
#define LOYALTY_SQL_DIR	"/usr/share/loyalty/sql"
#endif

static const struct {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
	const char	*summary;
} commands[] = {
	{ "migrate", ctl_migrate, "apply, dry-run or list database migrations" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: loyaltyctl [-c FILE] [--sql-dir DIR] COMMAND [ARGS]"
	    "\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
		    commands[i].summary);
}

PGconn *
ctl_connect_admin(const struct ctl *ctl, const char *appname)
{
	PGconn	*conn;
	char	*ci;

	if ((ci = db_conninfo(&ctl->cfg, ctl->cfg.db_admin_user, appname,
	    0)) == NULL)
		return NULL;
	conn = PQconnectdb(ci);
	free(ci);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "loyaltyctl: cannot connect to database %s as "
		    "%s: %s", ctl->cfg.db_name, ctl->cfg.db_admin_user,
		    PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "sql-dir", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl		ctl;
	struct config_errors	errs;
	size_t			i;
	int			ch;

	memset(&ctl, 0, sizeof(ctl));
	ctl.config_path = CONFIG_DEFAULT_PATH;
	ctl.sql_dir = LOYALTY_SQL_DIR;
	/* "+": stop at the command, whose options are its own. */
	while ((ch = getopt_long(argc, argv, "+c:s:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl.config_path = optarg;
			break;
		case 's':
			ctl.sql_dir = optarg;
			break;
		case 'V':
			printf("loyaltyctl %s (commit %s, schema %d)\n",
			    LOYALTY_VERSION, LOYALTY_COMMIT,
			    LOYALTY_SCHEMA_VERSION);
			return CTL_OK;
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		config_defaults(&ctl.cfg);
		if (config_load(ctl.config_path, &ctl.cfg, &errs) == -1) {
			int k;

			for (k = 0; k < errs.n; k++)
				fprintf(stderr, "%s\n", errs.msg[k]);
			return CTL_USAGE;
		}
		return commands[i].fn(&ctl, argc - optind, argv + optind);
	}
	fprintf(stderr, "loyaltyctl: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return CTL_USAGE;
}
