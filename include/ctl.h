/* ctl.h — loyaltyctl's sub-commands and what they share. */
#ifndef LOYALTY_CTL_H
#define LOYALTY_CTL_H

#include <signal.h>

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
	char		 cwd[4096];	/* where it was started; "" unknown */
	char		 operator_name[64];	/* who ran it, for the audit */
};

/*
 * arg as an absolute path: relative ones are taken from the directory
 * loyaltyctl was started in (ctl_become_admin moves to "/"). -1, reported,
 * when that is unknown or the result does not fit.
 */
int	ctl_path(const struct ctl *, const char *arg, char *out, size_t len);

/*
 * Connects as database.admin_user to dbname (NULL: database.name); NULL,
 * reported on stderr, on failure.
 */
PGconn	*ctl_connect_admin(const struct ctl *, const char *appname);
PGconn	*ctl_connect_admin_db(const struct ctl *, const char *dbname,
	    const char *appname);

/*
 * Started as root with database.admin_os_user set: becomes that user (and
 * its groups, home, working directory /). -1, reported, on failure.
 */
int	ctl_become_admin(const struct ctl *);

/*
 * An exclusive lock on path (created 0600 when missing), held until the
 * process exits. Returns CTL_OK, CTL_BUSY when another process holds it,
 * or CTL_FAIL (reported).
 */
int	ctl_lock(const char *path, const char *what);

/*
 * Runs argv (argv[0] found in PATH) with the admin's password in
 * PGPASSWORD when there is one; stdout to out_fd unless it is -1.
 * Returns the exit status, or -1 when it could not run or died by a
 * signal (reported).
 */
int	ctl_run(const struct ctl *, const char *const argv[], int out_fd);

/*
 * After ctl_catch_signals(), SIGINT, SIGTERM and SIGHUP do not kill
 * loyaltyctl: they set ctl_interrupted (to the signal) and reach the
 * program ctl_run is running, so a sub-command can clean up and exit.
 */
extern volatile sig_atomic_t	ctl_interrupted;
void	ctl_catch_signals(void);

/* One statement without parameters; 0 or -1 with the error on stderr. */
int	ctl_exec(PGconn *, const char *sql);
/*
 * A utility statement about databases or roles, which takes no parameters:
 * SQL text and names alternate, the names quoted as identifiers by libpq,
 * up to a NULL: ctl_exec_ident(c, "DROP DATABASE ", name, "", NULL).
 * 0 or -1 (reported).
 */
int	ctl_exec_ident(PGconn *, const char *sql, ...)
	    __attribute__((sentinel));
/*
 * 1 when sql, with name as its one parameter, returns a row; 0 when not;
 * -1 on error (reported).
 */
int	ctl_exists(PGconn *, const char *sql, const char *name);
int	ctl_database_exists(PGconn *, const char *name);
int	ctl_create_database(PGconn *, const char *name);

/* The database every cluster has, for statements about other databases. */
#define CTL_MAINTENANCE_DB	"postgres"

int	ctl_migrate(struct ctl *, int argc, char **argv);
int	ctl_setup(struct ctl *, int argc, char **argv);
int	ctl_gen_secrets(struct ctl *, int argc, char **argv);
int	ctl_backup(struct ctl *, int argc, char **argv);
int	ctl_restore(struct ctl *, int argc, char **argv);
int	ctl_check(struct ctl *, int argc, char **argv);
int	ctl_maintenance(struct ctl *, int argc, char **argv);
int	ctl_status(struct ctl *, int argc, char **argv);
int	ctl_tenant(struct ctl *, int argc, char **argv);
int	ctl_user(struct ctl *, int argc, char **argv);
int	ctl_key(struct ctl *, int argc, char **argv);
int	ctl_expire(struct ctl *, int argc, char **argv);

#endif
