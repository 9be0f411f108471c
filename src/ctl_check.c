/* ctl_check.c — loyaltyctl check: is the database healthy; exit 1 if not. */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "ctl.h"
#include "db.h"

#define APPNAME		"loyaltyctl check"
/*
 * Bounds every statement: a check queued behind a lock (pg_relation_size
 * waits for an ACCESS EXCLUSIVE lock a migration holds) must not hang the
 * timer that runs it.
 */
#define STATEMENT_TIMEOUT	"60s"
#define MAX_MIGRATIONS		1000
#define MAX_LONG_LISTED		20	/* long transactions named one by one */
#define MIB			(1024ULL * 1024)

enum status { ST_OK, ST_PROBLEM, ST_INFO };

static const char *const labels[] = { "ok", "PROBLEM", "info" };
static const char *const json_labels[] = { "ok", "problem", "info" };

struct report {
	json_object	*checks;	/* with --json; NULL: lines on stdout */
	int		 problems;
};

static const char SQL_CONNECTIONS[] =
    "SELECT count(*) FILTER (WHERE backend_type = 'client backend'), "
    "current_setting('max_connections')::int FROM pg_stat_activity";

static const char SQL_APP_SESSIONS[] =
    "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 "
    "AND datname = $2";

/* Never the query text: it can hold passwords and customers' data. */
static const char SQL_LONG_TRANSACTIONS[] =
    "SELECT pid, coalesce(usename, ''), coalesce(application_name, ''), "
    "extract(epoch FROM now() - xact_start)::bigint, coalesce(state, ''), "
    "coalesce(client_addr::text, 'local') FROM pg_stat_activity "
    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
    "AND xact_start < now() - $1::integer * interval '1 second' "
    "ORDER BY xact_start";

static const char SQL_DATABASE_SIZE[] =
    "SELECT current_database(), pg_database_size(current_database())";

static const char SQL_LARGEST_TABLES[] =
    "SELECT n.nspname || '.' || c.relname, "
    "pg_size_pretty(pg_total_relation_size(c.oid)) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'm', 'p') AND c.relpersistence <> 't' "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname !~ '^pg_toast' "
    "ORDER BY pg_total_relation_size(c.oid) DESC, 1 LIMIT 10";

/*
 * An index left invalid by a failed CREATE INDEX CONCURRENTLY or REINDEX
 * CONCURRENTLY (a *_ccnew one, say) is still updated by every write but
 * never used: it costs and protects nothing, and a unique one enforces
 * nothing.
 */
static const char SQL_INVALID_INDEXES[] =
    "SELECT n.nspname || '.' || c.relname FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indexrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE NOT i.indisvalid ORDER BY 1";

/*
 * A standby whose received WAL is all replayed is not behind, however
 * old its last replayed transaction: the primary may simply be idle.
 */
static const char SQL_STANDBY_LAG[] =
    "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
    "THEN 0 ELSE extract(epoch FROM now() - "
    "pg_last_xact_replay_timestamp()) END::float8";

/* replay_lag is NULL once a replica has caught up and gone quiet. */
static const char SQL_REPLICAS[] =
    "SELECT coalesce(application_name, ''), "
    "coalesce(client_addr::text, 'local'), coalesce(state, ''), "
    "coalesce(extract(epoch FROM replay_lag), 0)::float8 "
    "FROM pg_stat_replication ORDER BY 1, 2";

/*
 * Copies a message into one line of printable text: libpq's messages
 * span lines, and application_name comes from any client.
 */
static void
one_line(char *s)
{
	char	*w = s, *r;

	for (r = s; *r != '\0'; r++) {
		unsigned char ch = (unsigned char)*r;

		if (ch < 0x20 || ch == 0x7f)
			ch = ' ';
		if (ch == ' ' && (w == s || w[-1] == ' '))
			continue;
		*w++ = (char)ch;
	}
	while (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

/* libpq's last message as one line, in buf. */
static const char *
pq_message(PGconn *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", c ? PQerrorMessage(c) : "out of memory");
	one_line(buf);
	return buf;
}

static void
say(struct report *, enum status, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
say(struct report *r, enum status st, const char *name, const char *fmt, ...)
{
	json_object	*o;
	char		 detail[1024];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	one_line(detail);
	if (st == ST_PROBLEM)
		r->problems++;
	if (r->checks == NULL) {
		printf("%s %s: %s\n", labels[st], name, detail);
		fflush(stdout);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "status",
	    json_object_new_string(json_labels[st]));
	json_object_object_add(o, "detail", json_object_new_string(detail));
	json_object_array_add(r->checks, o);
}

/* Like pg_size_pretty: 1024-based, "kB", "MB", ... */
static void
fmt_size(char *out, size_t len, unsigned long long bytes)
{
	static const char *const units[] = { "kB", "MB", "GB", "TB", "PB" };
	double	v = (double)bytes;
	int	u = -1;

	while (v >= 10240 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(out, len, "%llu bytes", bytes);
	else
		snprintf(out, len, "%.0f %s", v, units[u]);
}

/* A statement with text parameters; NULL, reported under name, on error. */
static PGresult *
query(PGconn *c, struct report *r, const char *name, const char *sql,
    int nparams, const char *const *params)
{
	PGresult	*res;
	char		 msg[512];

	res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		say(r, ST_PROBLEM, name, "the check failed: %s",
		    pq_message(c, msg, sizeof(msg)));
		PQclear(res);
		return NULL;
	}
	return res;
}

/*
 * The conninfo of ctl_connect_admin_db, for any role; the connection comes
 * back even when it failed, so the caller can report libpq's message.
 * NULL only when out of memory.
 */
static PGconn *
connect_as(const struct ctl *ctl, const char *user)
{
	PGconn	*c;
	char	*ci;

	if ((ci = db_conninfo(&ctl->cfg, user, APPNAME, 0)) == NULL)
		return NULL;
	c = PQconnectdb(ci);
	explicit_bzero(ci, strlen(ci));
	free(ci);
	return c;
}

static PGconn *
check_connectivity(const struct ctl *ctl, struct report *r)
{
	const struct config	*cfg = &ctl->cfg;
	const char		*params[1] = { STATEMENT_TIMEOUT };
	PGresult		*res;
	PGconn			*c;
	char			 msg[512];

	c = connect_as(ctl, cfg->db_admin_user);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		say(r, ST_PROBLEM, "connectivity", "cannot connect to database "
		    "%s as %s on %s port %ld: %s; check [database] in %s (see "
		    "docs/DEPLOYMENT.md)", cfg->db_name, cfg->db_admin_user,
		    cfg->db_host, cfg->db_port, pq_message(c, msg, sizeof(msg)),
		    ctl->config_path);
		PQfinish(c);
		return NULL;
	}
	res = PQexecParams(c, "SELECT set_config('statement_timeout', $1, "
	    "false)", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		say(r, ST_PROBLEM, "connectivity", "connected, but the server "
		    "does not answer: %s", pq_message(c, msg, sizeof(msg)));
		PQclear(res);
		PQfinish(c);
		return NULL;
	}
	PQclear(res);
	say(r, ST_OK, "connectivity", "database %s as %s on %s port %ld, "
	    "PostgreSQL %s", cfg->db_name, cfg->db_admin_user, cfg->db_host,
	    cfg->db_port, PQparameterStatus(c, "server_version"));
	return c;
}

/*
 * 1 when a refused login was peer authentication on a local socket:
 * only the system user of the role's name passes it, and that is
 * loyaltyd's user, not ours.
 */
static int
refused_by_peer(const struct ctl *ctl, const char *libpq_message)
{
	return ctl->cfg.db_host[0] == '/' &&
	    strstr(libpq_message, "Peer authentication failed") != NULL;
}

/*
 * Sessions of database.user prove loyaltyd can log in. Without any, a
 * login of our own: over a local socket with peer authentication (Debian's
 * default) only the system user of that name can log in as the role, so a
 * refusal there is no sign of trouble and is reported as info.
 */
static void
check_app_login(PGconn *admin, const struct ctl *ctl, struct report *r)
{
	const char	*user = ctl->cfg.db_user;
	const char	*params[2] = { user, ctl->cfg.db_name };
	PGconn		*c;
	PGresult	*res;
	char		 msg[512];
	long		 n;

	if ((res = query(admin, r, "app_login", SQL_APP_SESSIONS, 2,
	    params)) == NULL)
		return;
	n = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (n > 0) {
		say(r, ST_OK, "app_login", "role %s (database.user) has %ld "
		    "sessions open: loyaltyd is connected", user, n);
		return;
	}
	c = connect_as(ctl, user);
	if (c != NULL && PQstatus(c) == CONNECTION_OK)
		say(r, ST_OK, "app_login", "role %s (database.user) can log "
		    "in", user);
	else if (refused_by_peer(ctl, pq_message(c, msg, sizeof(msg))))
		say(r, ST_INFO, "app_login", "role %s (database.user) has no "
		    "session open and peer authentication admits only "
		    "loyaltyd's own system user as it, so it was not tried "
		    "(/health/ready shows loyaltyd's login)", user);
	else
		say(r, ST_PROBLEM, "app_login", "role %s (database.user) "
		    "cannot log in: %s", user, msg);
	PQfinish(c);
}

static void
check_connections(PGconn *c, const struct ctl *ctl, struct report *r)
{
	long		 used, max, limit = ctl->cfg.check_connections_percent;
	PGresult	*res;

	if ((res = query(c, r, "connections", SQL_CONNECTIONS, 0, NULL)) ==
	    NULL)
		return;
	used = atol(PQgetvalue(res, 0, 0));
	max = atol(PQgetvalue(res, 0, 1));
	PQclear(res);
	say(r, used * 100 > limit * max ? ST_PROBLEM : ST_OK, "connections",
	    "%ld of max_connections %ld (%ld%%; check.connections_percent "
	    "%ld%%)", used, max, max > 0 ? used * 100 / max : 0, limit);
}

static void
check_long_transactions(PGconn *c, const struct ctl *ctl, struct report *r)
{
	long		 limit = ctl->cfg.check_long_transaction_s;
	char		 secs[32];
	const char	*params[1] = { secs };
	PGresult	*res;
	int		 i, n;

	snprintf(secs, sizeof(secs), "%ld", limit);
	if ((res = query(c, r, "long_transactions", SQL_LONG_TRANSACTIONS, 1,
	    params)) == NULL)
		return;
	n = PQntuples(res);
	if (n == 0)
		say(r, ST_OK, "long_transactions", "none open longer than "
		    "%ld s (check.long_transaction_s)", limit);
	for (i = 0; i < n && i < MAX_LONG_LISTED; i++)
		say(r, ST_PROBLEM, "long_transactions", "pid %s (user %s, "
		    "application \"%.64s\", from %s) has had a transaction "
		    "open for %s s, state %s; check.long_transaction_s is %ld",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 5),
		    PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), limit);
	if (n > MAX_LONG_LISTED)
		say(r, ST_PROBLEM, "long_transactions", "and %d more",
		    n - MAX_LONG_LISTED);
	PQclear(res);
}

/* Returns the database's size in bytes, 0 when it could not be read. */
static unsigned long long
check_sizes(PGconn *c, struct report *r)
{
	unsigned long long	 size;
	PGresult		*res;
	char			 text[32], list[900];
	size_t			 used = 0;
	int			 i;

	if ((res = query(c, r, "database_size", SQL_DATABASE_SIZE, 0, NULL)) ==
	    NULL)
		return 0;
	size = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	fmt_size(text, sizeof(text), size);
	say(r, ST_INFO, "database_size", "%s is %s", PQgetvalue(res, 0, 0),
	    text);
	PQclear(res);
	if ((res = query(c, r, "largest_tables", SQL_LARGEST_TABLES, 0,
	    NULL)) == NULL)
		return size;
	list[0] = '\0';
	for (i = 0; i < PQntuples(res) && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
		    "%s%s %s", i ? ", " : "", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1));
	say(r, ST_INFO, "largest_tables", "%s", PQntuples(res) ? list :
	    "no tables");
	PQclear(res);
	return size;
}

static void
check_invalid_indexes(PGconn *c, struct report *r)
{
	PGresult	*res;
	char		 list[900];
	size_t		 used = 0;
	int		 i, n;

	if ((res = query(c, r, "invalid_indexes", SQL_INVALID_INDEXES, 0,
	    NULL)) == NULL)
		return;
	if ((n = PQntuples(res)) == 0) {
		say(r, ST_OK, "invalid_indexes", "none");
		PQclear(res);
		return;
	}
	list[0] = '\0';
	for (i = 0; i < n && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
		    "%s%s", i ? ", " : "", PQgetvalue(res, i, 0));
	say(r, ST_PROBLEM, "invalid_indexes", "%d left invalid by a "
	    "concurrent build that failed: %s; DROP INDEX CONCURRENTLY each "
	    "*_ccnew or *_ccold one, REINDEX INDEX any other", n, list);
	PQclear(res);
}

static void
check_standby(PGconn *c, const struct ctl *ctl, struct report *r)
{
	long		 limit = ctl->cfg.check_replication_lag_s;
	PGresult	*res;
	double		 lag;

	if ((res = query(c, r, "replication", SQL_STANDBY_LAG, 0, NULL)) ==
	    NULL)
		return;
	if (PQgetisnull(res, 0, 0)) {
		say(r, ST_PROBLEM, "replication", "this server is a standby "
		    "that has not replayed any transaction yet");
	} else {
		lag = atof(PQgetvalue(res, 0, 0));
		say(r, lag > (double)limit ? ST_PROBLEM : ST_OK, "replication",
		    "this server is a standby %.1f s behind its primary "
		    "(check.replication_lag_s %ld)", lag, limit);
	}
	PQclear(res);
}

static void
check_replication(PGconn *c, const struct ctl *ctl, struct report *r)
{
	long		 limit = ctl->cfg.check_replication_lag_s;
	PGresult	*res;
	double		 lag;
	int		 i;

	if ((res = query(c, r, "replication", "SELECT pg_is_in_recovery()", 0,
	    NULL)) == NULL)
		return;
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		PQclear(res);
		check_standby(c, ctl, r);
		return;
	}
	PQclear(res);
	if ((res = query(c, r, "replication", SQL_REPLICAS, 0, NULL)) == NULL)
		return;
	if (PQntuples(res) == 0)
		say(r, ST_INFO, "replication", "no replicas");
	for (i = 0; i < PQntuples(res); i++) {
		lag = atof(PQgetvalue(res, i, 3));
		say(r, lag > (double)limit ? ST_PROBLEM : ST_OK, "replication",
		    "replica \"%.64s\" from %s, %s, replay lag %.1f s "
		    "(check.replication_lag_s %ld)", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), lag, limit);
	}
	PQclear(res);
}

/* The version of a migration file named NNNN_name.sql, or 0. */
static int
migration_version(const char *name)
{
	size_t	len = strlen(name);

	if (len < 10 || strcmp(name + len - 4, ".sql") != 0 ||
	    name[4] != '_' || strspn(name, "0123456789") != 4)
		return 0;
	return atoi(name);
}

static int
by_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Versions of the migration files in dir, sorted; -1 (errno) on error. */
static int
file_versions(const char *dir, int *v, int max)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && n < max)
		if ((v[n] = migration_version(de->d_name)) > 0)
			n++;
	closedir(d);
	qsort(v, (size_t)n, sizeof(v[0]), by_int);
	return n;
}

static int
contains(const int *v, int n, int x)
{
	return bsearch(&x, v, (size_t)n, sizeof(x), by_int) != NULL;
}

/*
 * Applied migrations against the files of the SQL directory: pending files
 * or a database newer than them are problems. Checksums are migrate's job.
 */
static void
check_schema(PGconn *c, const struct ctl *ctl, struct report *r)
{
	static int	 files[MAX_MIGRATIONS], applied[MAX_MIGRATIONS];
	PGresult	*res;
	int		 nf, na = 0, i, pending = 0, unknown = 0;

	if ((nf = file_versions(ctl->sql_dir, files, MAX_MIGRATIONS)) == -1) {
		say(r, ST_PROBLEM, "schema", "cannot read the SQL directory "
		    "%s: %s", ctl->sql_dir, strerror(errno));
		return;
	}
	if ((res = query(c, r, "schema", "SELECT to_regclass("
	    "'public.schema_migrations') IS NOT NULL", 0, NULL)) == NULL)
		return;
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		PQclear(res);
		if ((res = query(c, r, "schema", "SELECT version FROM "
		    "schema_migrations ORDER BY version", 0, NULL)) == NULL)
			return;
		for (na = 0; na < PQntuples(res) && na < MAX_MIGRATIONS; na++)
			applied[na] = atoi(PQgetvalue(res, na, 0));
	}
	PQclear(res);
	for (i = 0; i < nf; i++)
		pending += !contains(applied, na, files[i]);
	for (i = 0; i < na; i++)
		unknown += !contains(files, nf, applied[i]);
	if (unknown > 0)
		say(r, ST_PROBLEM, "schema", "the database has %d migration(s) "
		    "that %s lacks (highest applied %d): it is newer than this "
		    "build", unknown, ctl->sql_dir, applied[na - 1]);
	if (pending > 0)
		say(r, ST_PROBLEM, "schema", "%d of %d migrations in %s are "
		    "not applied: run loyaltyctl migrate", pending, nf,
		    ctl->sql_dir);
	if (unknown == 0 && pending == 0)
		say(r, ST_OK, "schema", "version %d, all %d migrations in %s "
		    "applied", na ? applied[na - 1] : 0, nf, ctl->sql_dir);
}

/* Room in backup.dir for a dump of the database plus min_free_mb. */
static void
check_backup_space(const struct config *cfg, unsigned long long dbsize,
    struct report *r)
{
	unsigned long long	need, avail;
	struct statvfs		sv;
	char			a[32], n[32], d[32];

	if (statvfs(cfg->backup_dir, &sv) == -1) {
		say(r, ST_PROBLEM, "backup_space", "backup.dir %s: %s%s",
		    cfg->backup_dir, strerror(errno), errno == ENOENT ?
		    " (create it, or set backup.dir)" : "");
		return;
	}
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	need = dbsize + (unsigned long long)cfg->backup_min_free_mb * MIB;
	fmt_size(a, sizeof(a), avail);
	fmt_size(n, sizeof(n), need);
	fmt_size(d, sizeof(d), dbsize);
	say(r, avail < need ? ST_PROBLEM : ST_OK, "backup_space", "%s free "
	    "in %s; a backup needs about %s (the database's %s plus "
	    "backup.min_free_mb %ld MB)", a, cfg->backup_dir, n, d,
	    cfg->backup_min_free_mb);
}

/* The newest loyalty-*.dump in backup.dir is recent enough. */
static void
check_backup_age(const struct config *cfg, struct report *r)
{
	long		 limit = cfg->check_backup_max_age_h;
	char		 newest[256] = "";
	time_t		 mtime = 0;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	double		 hours;

	if (limit == 0) {
		say(r, ST_INFO, "backup_age", "not checked "
		    "(check.backup_max_age_h = 0)");
		return;
	}
	if ((d = opendir(cfg->backup_dir)) == NULL) {
		say(r, ST_PROBLEM, "backup_age", "cannot read backup.dir %s: "
		    "%s", cfg->backup_dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (strncmp(de->d_name, "loyalty-", 8) != 0 || len < 13 ||
		    strcmp(de->d_name + len - 5, ".dump") != 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(st.st_mode) || st.st_mtime <= mtime)
			continue;
		mtime = st.st_mtime;
		snprintf(newest, sizeof(newest), "%s", de->d_name);
	}
	closedir(d);
	if (newest[0] == '\0') {
		say(r, ST_PROBLEM, "backup_age", "no backup (loyalty-*.dump) "
		    "in %s: run loyaltyctl backup", cfg->backup_dir);
		return;
	}
	hours = difftime(time(NULL), mtime) / 3600;
	if (hours < 0)
		hours = 0;
	say(r, hours > (double)limit ? ST_PROBLEM : ST_OK, "backup_age",
	    "newest backup %s is %.1f h old (check.backup_max_age_h %ld)",
	    newest, hours, limit);
}

static void
run_checks(const struct ctl *ctl, struct report *r)
{
	unsigned long long	 dbsize;
	PGconn			*c;

	if ((c = check_connectivity(ctl, r)) == NULL)
		return;
	/* Before the second login, whose backend may linger as it exits. */
	check_connections(c, ctl, r);
	check_app_login(c, ctl, r);
	check_long_transactions(c, ctl, r);
	dbsize = check_sizes(c, r);
	check_invalid_indexes(c, r);
	check_replication(c, ctl, r);
	check_schema(c, ctl, r);
	PQfinish(c);
	check_backup_space(&ctl->cfg, dbsize, r);
	check_backup_age(&ctl->cfg, r);
}

int
ctl_check(struct ctl *ctl, int argc, char **argv)
{
	struct report	 r;
	json_object	*doc;
	int		 i, json = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0) {
			fprintf(stderr, "usage: loyaltyctl check [--json]\n");
			return CTL_USAGE;
		}
		json = 1;
	}
	memset(&r, 0, sizeof(r));
	if (json)
		r.checks = json_object_new_array();
	run_checks(ctl, &r);
	if (json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "ok",
		    json_object_new_boolean(r.problems == 0));
		json_object_object_add(doc, "checks", r.checks);
		printf("%s\n", json_object_to_json_string_ext(doc,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
	}
	if (r.problems > 0)
		fprintf(stderr, "loyaltyctl: check found %d problem%s\n",
		    r.problems, r.problems == 1 ? "" : "s");
	return r.problems > 0 ? CTL_FAIL : CTL_OK;
}
