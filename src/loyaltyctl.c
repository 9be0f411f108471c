/* loyaltyctl.c — the operator's tool: dispatch and what sub-commands share. */
#include <sys/file.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "ctl.h"
#include "db.h"
#include "version.h"

#ifndef LOYALTY_SQL_DIR
#define LOYALTY_SQL_DIR	"/usr/share/loyalty/sql"
#endif

#define ADMIN		0x01	/* as database.admin_os_user (ctl_become_admin) */
#define NO_CONFIG	0x02	/* runs without reading the configuration */

static const struct {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
	int		 flags;
	const char	*summary;
} commands[] = {
	{ "migrate", ctl_migrate, ADMIN, "apply, dry-run or list database migrations" },
	{ "setup", ctl_setup, ADMIN, "create the database and roles, migrate, set the password" },
	{ "backup", ctl_backup, ADMIN, "dump the database into backup.dir, verified" },
	{ "restore", ctl_restore, ADMIN, "restore a backup beside the live database, then swap" },
	{ "check", ctl_check, ADMIN, "report on the database; non-zero on a problem" },
	{ "maintenance", ctl_maintenance, ADMIN, "VACUUM ANALYZE, bloat report, reindex" },
	{ "expire", ctl_expire, ADMIN, "expire due points and vouchers of every tenant" },
	{ "gen-secrets", ctl_gen_secrets, NO_CONFIG, "write a fresh secrets file" },
	{ "status", ctl_status, 0, "the worker pool, from loyaltyd's /status" },
	{ "tenant", ctl_tenant, ADMIN, "create a tenant (JSON on stdout)" },
	{ "user", ctl_user, ADMIN, "create a staff user or platform admin" },
	{ "key", ctl_key, ADMIN, "create, list or revoke a tenant's machine keys" },
};

/* Who runs loyaltyctl, before it becomes admin_os_user: for the audit. */
static void
operator_name(char *out, size_t len)
{
	const char	*sudo = getenv("SUDO_USER");
	struct passwd	*pw = getpwuid(getuid());

	snprintf(out, len, "%s", sudo != NULL && sudo[0] != '\0' ? sudo :
	    pw != NULL ? pw->pw_name : "unknown");
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: loyaltyctl [-c FILE] [--sql-dir DIR] COMMAND [ARGS]"
	    "\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name,
		    commands[i].summary);
}

PGconn *
ctl_connect_admin_db(const struct ctl *ctl, const char *dbname,
    const char *appname)
{
	struct config	 cfg = ctl->cfg;
	PGconn		*conn;
	char		*ci;

	if (dbname != NULL)
		snprintf(cfg.db_name, sizeof(cfg.db_name), "%s", dbname);
	if ((ci = db_conninfo(&cfg, cfg.db_admin_user, appname, 0)) == NULL)
		return NULL;
	conn = PQconnectdb(ci);
	explicit_bzero(ci, strlen(ci));
	free(ci);
	explicit_bzero(&cfg, sizeof(cfg));
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "loyaltyctl: cannot connect to database %s as "
		    "%s on %s: %s", dbname ? dbname : ctl->cfg.db_name,
		    ctl->cfg.db_admin_user, ctl->cfg.db_host,
		    PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

PGconn *
ctl_connect_admin(const struct ctl *ctl, const char *appname)
{
	return ctl_connect_admin_db(ctl, NULL, appname);
}

int
ctl_become_admin(const struct ctl *ctl)
{
	const char	*name = ctl->cfg.db_admin_os_user;
	struct passwd	*pw;

	if (name[0] == '\0' || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(name)) == NULL) {
		fprintf(stderr, "loyaltyctl: database.admin_os_user: no system "
		    "user \"%s\" (is PostgreSQL installed here? for a remote "
		    "database leave admin_os_user empty)\n", name);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1) {
		fprintf(stderr, "loyaltyctl: cannot become %s: %s\n", name,
		    strerror(errno));
		return -1;
	}
	if (setenv("HOME", pw->pw_dir, 1) == -1 || setenv("USER", name, 1) ==
	    -1 || setenv("LOGNAME", name, 1) == -1 || chdir("/") == -1) {
		fprintf(stderr, "loyaltyctl: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int
ctl_path(const struct ctl *ctl, const char *arg, char *out, size_t len)
{
	int n;

	if (arg[0] == '/')
		n = snprintf(out, len, "%s", arg);
	else if (ctl->cwd[0] == '\0') {
		fprintf(stderr, "loyaltyctl: %s: the working directory is "
		    "unknown; give an absolute path\n", arg);
		return -1;
	} else
		n = snprintf(out, len, "%s/%s", ctl->cwd, arg);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "loyaltyctl: %s: path too long\n", arg);
		return -1;
	}
	return 0;
}

int
ctl_lock(const char *path, const char *what)
{
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, "loyaltyctl: %s: %s\n", path, strerror(errno));
		return CTL_FAIL;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			fprintf(stderr, "loyaltyctl: another %s is running "
			    "(%s is locked); try again when it ends\n", what,
			    path);
			close(fd);
			return CTL_BUSY;
		}
		fprintf(stderr, "loyaltyctl: flock %s: %s\n", path,
		    strerror(errno));
		close(fd);
		return CTL_FAIL;
	}
	return CTL_OK;	/* fd stays open: the lock lives as long as we do */
}

volatile sig_atomic_t	ctl_interrupted;
static volatile pid_t	running_child;

/* Remembers the signal and passes it on to the program ctl_run runs. */
static void
on_interrupt(int sig)
{
	pid_t child = running_child;

	ctl_interrupted = sig;
	if (child > 0)
		kill(child, sig);
}

void
ctl_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* execvp wants char *const []: copies, in the child about to exec. */
static char **
exec_args(const char *const argv[])
{
	char	**copy;
	size_t	  n = 0, i;

	while (argv[n] != NULL)
		n++;
	if ((copy = calloc(n + 1, sizeof(*copy))) == NULL)
		_exit(127);
	for (i = 0; i < n; i++)
		if ((copy[i] = strdup(argv[i])) == NULL)
			_exit(127);
	return copy;
}

int
ctl_run(const struct ctl *ctl, const char *const argv[], int out_fd)
{
	sigset_t	block, old;
	pid_t		pid;
	char		timeout[32];
	int		status;

	/*
	 * The signals stay blocked from before the fork until running_child
	 * is set, so that one arriving in between is passed on, not lost;
	 * the child takes the default actions back before it unblocks them.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (ctl_interrupted) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		fprintf(stderr, "loyaltyctl: interrupted; %s not started\n",
		    argv[0]);
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		fprintf(stderr, "loyaltyctl: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (ctl->cfg.db_admin_password[0] != '\0')
			setenv("PGPASSWORD", ctl->cfg.db_admin_password, 1);
		snprintf(timeout, sizeof(timeout), "%ld",
		    ctl->cfg.db_connect_timeout);
		setenv("PGCONNECT_TIMEOUT", timeout, 1);
		if (out_fd != -1 && dup2(out_fd, STDOUT_FILENO) == -1)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[0], exec_args(argv));
		fprintf(stderr, "loyaltyctl: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	running_child = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			fprintf(stderr, "loyaltyctl: waitpid: %s\n",
			    strerror(errno));
			running_child = 0;
			return -1;
		}
	running_child = 0;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "loyaltyctl: %s was killed by signal %d\n",
		    argv[0], WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status);
}

int
ctl_exists(PGconn *c, const char *sql, const char *name)
{
	const char	*params[1] = { name };
	PGresult	*r;
	int		 found;

	r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	found = PQntuples(r) > 0;
	PQclear(r);
	return found;
}

int
ctl_database_exists(PGconn *c, const char *name)
{
	return ctl_exists(c, "SELECT 1 FROM pg_database WHERE datname = $1",
	    name);
}

int
ctl_exec_ident(PGconn *c, const char *sql, ...)
{
	struct buf	 b;
	struct arena	*a = arena_new(0);
	const char	*part;
	va_list		 ap;
	int		 ident = 1, rc = 0;

	buf_init(&b, a);
	buf_puts(&b, sql);
	va_start(ap, sql);
	while ((part = va_arg(ap, const char *)) != NULL) {
		char *quoted;

		if (!ident) {
			buf_puts(&b, part);
		} else if ((quoted = PQescapeIdentifier(c, part,
		    strlen(part))) != NULL) {
			buf_puts(&b, quoted);
			PQfreemem(quoted);
		} else {
			fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(c));
			rc = -1;
			break;
		}
		ident = !ident;
	}
	va_end(ap);
	if (rc == 0)
		rc = ctl_exec(c, buf_cstr(&b));
	arena_free(a);
	return rc;
}

int
ctl_create_database(PGconn *c, const char *name)
{
	return ctl_exec_ident(c, "CREATE DATABASE ", name,
	    " TEMPLATE template0 ENCODING 'UTF8'", NULL);
}

int
ctl_exec(PGconn *c, const char *sql)
{
	PGresult	*r = PQexec(c, sql);
	int		 ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
			    PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -1;
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
	static char		sql_dir[4096];
	struct ctl		ctl;
	struct config_errors	errs;
	size_t			i;
	int			ch;

	memset(&ctl, 0, sizeof(ctl));
	if (getcwd(ctl.cwd, sizeof(ctl.cwd)) == NULL)
		ctl.cwd[0] = '\0';
	operator_name(ctl.operator_name, sizeof(ctl.operator_name));
	ctl.config_path = CONFIG_DEFAULT_PATH;
	ctl.sql_dir = LOYALTY_SQL_DIR;
	/* "+": stop at the command, whose options are its own. */
	while ((ch = getopt_long(argc, argv, "+c:s:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl.config_path = optarg;
			break;
		case 's':
			/* Kept absolute: ctl_become_admin moves to "/". */
			if (ctl_path(&ctl, optarg, sql_dir,
			    sizeof(sql_dir)) == -1)
				return CTL_USAGE;
			ctl.sql_dir = sql_dir;
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
		if (!(commands[i].flags & NO_CONFIG) &&
		    config_load(ctl.config_path, &ctl.cfg, &errs) == -1) {
			int k;

			for (k = 0; k < errs.n; k++)
				fprintf(stderr, "%s\n", errs.msg[k]);
			return CTL_USAGE;
		}
		if ((commands[i].flags & ADMIN) &&
		    config_load_admin_secrets(&ctl.cfg, &errs) == -1) {
			int k;

			for (k = 0; k < errs.n; k++)
				fprintf(stderr, "%s\n", errs.msg[k]);
			return CTL_USAGE;
		}
		if ((commands[i].flags & ADMIN) && ctl_become_admin(&ctl) == -1)
			return CTL_FAIL;
		return commands[i].fn(&ctl, argc - optind, argv + optind);
	}
	fprintf(stderr, "loyaltyctl: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return CTL_USAGE;
}
