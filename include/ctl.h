/* ctl.h — loyaltyctl's sub-commands and what they share. */
#ifndef LOYALTY_CTL_H
#define LOYALTY_CTL_H

#include <libpq-fe.h>

#include "config.h"

/* Exit statuses, the same for every sub-command (loyaltyctl(8)). */
#define CTL_OK		0
#define CTL_FAIL	1	/* the operation failed */
#define CTL_USAGE	2	/* bad command line or configuration */
#define CTL_REFUSED	3	/* refused to protect the data */
#define CTL_BUSY	75	/* another run holds the lock: try later */

struct ctl {
	struct config	 cfg;
	const char	*config_path;
	const char	*sql_dir;
};

/* Connects as database.admin_user; NULL (reported) on failure. */
PGconn	*ctl_connect_admin(const struct ctl *, const char *appname);

int	ctl_migrate(struct ctl *, int argc, char **argv);

#endif
