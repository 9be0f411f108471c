/* ctl_backup.c — loyaltyctl backup and restore: verified dumps, safe swaps. */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ctl.h"

#define PREFIX		"loyalty-"
#define SUFFIX		".dump"
#define SUM_SUFFIX	".sha256"
#define PARTIAL		".partial"
#define LOCK_NAME	".lock"
#define MIB		(1024LL * 1024)
#define LOCK_WAIT	"120s"	/* pg_dump --lock-wait-timeout */
/* A table every loyalty database has: proof an archive is one of ours. */
#define MARKER		"TABLE DATA public schema_migrations "

/* SHA-256 of a file as 64 hex digits; -1 (reported) on failure. */
static int
sha256_file(const char *path, char hex[65])
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	EVP_MD_CTX		*ctx;
	ssize_t			 n;
	int			 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "loyaltyctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	if (n == -1) {
		fprintf(stderr, "loyaltyctl: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

/*
 * Appends to argv the options pg_dump and pg_restore share: the admin's
 * connection, never prompting. Returns the new count.
 */
static int
connection_args(const struct ctl *ctl, const char *argv[], int n,
    char port[16])
{
	snprintf(port, 16, "%ld", ctl->cfg.db_port);
	argv[n++] = "--no-password";
	argv[n++] = "--host";
	argv[n++] = ctl->cfg.db_host;
	argv[n++] = "--port";
	argv[n++] = port;
	argv[n++] = "--username";
	argv[n++] = ctl->cfg.db_admin_user;
	return n;
}

/*
 * pg_restore --list reads path: CTL_OK when it is a readable archive (and,
 * with need_marker, one holding the schema_migrations table: a loyalty
 * backup), CTL_REFUSED when it is not, CTL_FAIL when the listing could not
 * be made at all (pg_restore missing, killed, no temporary file).
 */
static int
check_archive(const struct ctl *ctl, const char *path, int need_marker)
{
	const char *argv[] = { "pg_restore", "--list", path, NULL };
	char	 line[1024];
	FILE	*out;
	int	 found = 0, rc;

	if ((out = tmpfile()) == NULL) {
		fprintf(stderr, "loyaltyctl: tmpfile: %s\n", strerror(errno));
		return CTL_FAIL;
	}
	if ((rc = ctl_run(ctl, argv, fileno(out))) != 0) {
		fclose(out);
		if (rc != 1)
			return CTL_FAIL;	/* could not run, or killed */
		fprintf(stderr, "loyaltyctl: %s is not a readable archive\n",
		    path);
		return CTL_REFUSED;
	}
	rewind(out);
	while (fgets(line, sizeof(line), out) != NULL)
		if (strstr(line, MARKER) != NULL)
			found = 1;
	fclose(out);
	if (need_marker && !found) {
		fprintf(stderr, "loyaltyctl: %s is an archive without the "
		    "schema_migrations table: not a loyalty backup\n", path);
		return CTL_REFUSED;
	}
	return CTL_OK;
}

/* The size of the database in bytes, or -1 (reported). */
static long long
database_size(PGconn *c)
{
	PGresult	*r;
	long long	 size = -1;

	r = PQexec(c, "SELECT pg_database_size(current_database())");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		size = atoll(PQgetvalue(r, 0, 0));
	else
		fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(c));
	PQclear(r);
	return size;
}

static int
enough_space(const struct ctl *ctl, long long need)
{
	struct statvfs	sv;
	long long	free_bytes;

	if (statvfs(ctl->cfg.backup_dir, &sv) == -1) {
		fprintf(stderr, "loyaltyctl: backup.dir %s: %s\n",
		    ctl->cfg.backup_dir, strerror(errno));
		return 0;
	}
	free_bytes = (long long)sv.f_bavail * (long long)sv.f_frsize;
	if (free_bytes < need) {
		fprintf(stderr, "loyaltyctl: %s has %lld MiB free; a backup "
		    "needs %lld MiB (the database's size plus "
		    "backup.min_free_mb): nothing written\n",
		    ctl->cfg.backup_dir, free_bytes / MIB, need / MIB + 1);
		return 0;
	}
	return 1;
}

/* "HEX  NAME\n", as sha256sum(1) writes and checks it. */
static int
write_sum(const char *dump_path, const char *name, const char *hex)
{
	char	 path[4096 + 16], tmp[4096 + 32];
	FILE	*f;

	snprintf(path, sizeof(path), "%s" SUM_SUFFIX, dump_path);
	snprintf(tmp, sizeof(tmp), "%s" PARTIAL, path);
	if ((f = fopen(tmp, "we")) == NULL ||
	    fprintf(f, "%s  %s\n", hex, name) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0 || fclose(f) != 0 ||
	    rename(tmp, path) == -1) {
		fprintf(stderr, "loyaltyctl: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * Dumps dbname into backup.dir as PREFIX<UTC time><tag>.dump with its
 * checksum beside it; the caller holds the lock. The dump is written under
 * a .partial name, listed with pg_restore, then renamed: a file with the
 * final name is always a complete, readable archive.
 */
static int
backup_one(const struct ctl *ctl, const char *dbname, const char *tag,
    char *out, size_t outlen)
{
	char		 name[256], path[4096], tmp[4096 + 16], hex[65], port[16];
	const char	*argv[16];
	struct tm	 tm;
	time_t		 now;
	PGconn		*c;
	long long	 size;
	int		 n = 0, tries;

	if ((c = ctl_connect_admin_db(ctl, dbname, "loyaltyctl backup")) ==
	    NULL)
		return CTL_FAIL;
	size = database_size(c);
	PQfinish(c);
	if (size < 0)
		return CTL_FAIL;
	if (!enough_space(ctl, size + ctl->cfg.backup_min_free_mb * MIB))
		return CTL_FAIL;
	/* Names are by the second: a second backup in the same one waits. */
	for (tries = 0;; tries++) {
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(name, sizeof(name), PREFIX "%Y%m%dT%H%M%SZ", &tm);
		snprintf(name + strlen(name), sizeof(name) - strlen(name),
		    "%s" SUFFIX, tag);
		snprintf(path, sizeof(path), "%s/%s", ctl->cfg.backup_dir, name);
		if (access(path, F_OK) != 0 || tries == 2)
			break;
		sleep(1);
	}
	snprintf(tmp, sizeof(tmp), "%s" PARTIAL, path);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "loyaltyctl: %s exists already\n", path);
		return CTL_FAIL;
	}
	argv[n++] = "pg_dump";
	argv[n++] = "--format=custom";
	/* Behind a migration's exclusive lock: fail, not wait for ever. */
	argv[n++] = "--lock-wait-timeout=" LOCK_WAIT;
	n = connection_args(ctl, argv, n, port);
	argv[n++] = "--file";
	argv[n++] = tmp;
	argv[n++] = "--dbname";
	argv[n++] = dbname;
	argv[n] = NULL;
	if (ctl_run(ctl, argv, -1) != 0 || ctl_interrupted) {
		fprintf(stderr, "loyaltyctl: pg_dump of %s failed; nothing "
		    "kept\n", dbname);
		unlink(tmp);
		return CTL_FAIL;
	}
	/*
	 * Our own dump must list; the marker is not required of it, so that a
	 * safety backup is taken even of a database loyalty never migrated.
	 */
	if (check_archive(ctl, tmp, 0) != CTL_OK ||
	    sha256_file(tmp, hex) == -1) {
		unlink(tmp);
		return CTL_FAIL;
	}
	if (rename(tmp, path) == -1 || write_sum(path, name, hex) == -1) {
		fprintf(stderr, "loyaltyctl: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		unlink(path);
		return CTL_FAIL;
	}
	snprintf(out, outlen, "%s", path);
	printf("backup %s (%lld bytes of database, sha256 %s)\n", path, size,
	    hex);
	return CTL_OK;
}

struct entry {
	char	name[256];
	time_t	mtime;
};

static int
newest_first(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? 1 : -1;
	return strcmp(y->name, x->name);
}

static int
is_backup_name(const char *name, const char *suffix)
{
	size_t len = strlen(name), slen = strlen(suffix);

	return strncmp(name, PREFIX, strlen(PREFIX)) == 0 && len > slen &&
	    strcmp(name + len - slen, suffix) == 0;
}

/*
 * Deletes backups older than keep_days, keeping the newest keep_min
 * whatever their age, and the .partial files of runs that died. Errors
 * are reported and counted, never fatal to the backup just taken.
 */
static int
prune(const struct ctl *ctl)
{
	struct entry	*list = NULL;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 path[4096];
	time_t		 cutoff = time(NULL) - ctl->cfg.backup_keep_days * 86400;
	size_t		 n = 0, cap = 0, i;
	int		 errors = 0;

	if ((d = opendir(ctl->cfg.backup_dir)) == NULL)
		return 1;
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", ctl->cfg.backup_dir,
		    de->d_name);
		if (is_backup_name(de->d_name, PARTIAL)) {
			unlink(path);	/* under our lock: nobody writes it */
			continue;
		}
		if (!is_backup_name(de->d_name, SUFFIX) ||
		    stat(path, &st) == -1)
			continue;
		if (n == cap) {
			struct entry *grown;

			cap = cap ? cap * 2 : 64;
			if ((grown = realloc(list, cap * sizeof(*list))) ==
			    NULL) {
				errors++;
				break;
			}
			list = grown;
		}
		snprintf(list[n].name, sizeof(list[n].name), "%s", de->d_name);
		list[n++].mtime = st.st_mtime;
	}
	closedir(d);
	if (n > 0)
		qsort(list, n, sizeof(*list), newest_first);
	for (i = (size_t)ctl->cfg.backup_keep_min; i < n; i++) {
		if (list[i].mtime >= cutoff)
			continue;
		snprintf(path, sizeof(path), "%s/%s", ctl->cfg.backup_dir,
		    list[i].name);
		if (unlink(path) == -1) {
			fprintf(stderr, "loyaltyctl: %s: %s\n", path,
			    strerror(errno));
			errors++;
			continue;
		}
		strncat(path, SUM_SUFFIX, sizeof(path) - strlen(path) - 1);
		unlink(path);
		printf("deleted %s/%s (older than %ld days)\n",
		    ctl->cfg.backup_dir, list[i].name, ctl->cfg.backup_keep_days);
	}
	free(list);
	return errors;
}

/* Backups and restores exclude each other through one lock file. */
static int
lock_backups(const struct ctl *ctl, const char *what)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/" LOCK_NAME, ctl->cfg.backup_dir);
	return ctl_lock(path, what);
}

int
ctl_backup(struct ctl *ctl, int argc, char **argv)
{
	char	path[4096];
	int	rc;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: loyaltyctl backup\n");
		return CTL_USAGE;
	}
	umask(077);	/* a backup holds every tenant's data */
	ctl_catch_signals();
	if ((rc = lock_backups(ctl, "backup or restore")) != CTL_OK)
		return rc;
	if ((rc = backup_one(ctl, ctl->cfg.db_name, "", path,
	    sizeof(path))) != CTL_OK)
		return rc;
	if (prune(ctl) != 0)
		return CTL_FAIL;
	return CTL_OK;
}

/* The file's checksum equals the one in FILE.sha256 beside it. */
static int
checksum_ok(const char *path)
{
	char	 sumpath[4096 + 16], line[4096], hex[65];
	FILE	*f;

	snprintf(sumpath, sizeof(sumpath), "%s" SUM_SUFFIX, path);
	if ((f = fopen(sumpath, "re")) == NULL) {
		fprintf(stderr, "loyaltyctl: %s: %s: a backup is restored only "
		    "with its checksum file\n", sumpath, strerror(errno));
		return 0;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	if (sha256_file(path, hex) == -1)
		return 0;
	if (strlen(line) < 64 || strncmp(line, hex, 64) != 0) {
		fprintf(stderr, "loyaltyctl: %s does not match its checksum "
		    "in %s: the file is damaged or not the one backed up\n",
		    path, sumpath);
		return 0;
	}
	return 1;
}

static void
drop_database(PGconn *c, const char *name)
{
	if (ctl_exec_ident(c, "DROP DATABASE IF EXISTS ", name,
	    " WITH (FORCE)", NULL) == -1)
		fprintf(stderr, "loyaltyctl: could not drop %s; drop it by "
		    "hand: dropdb %s\n", name, name);
}

/* Restores path into the new, empty database fresh. */
static int
restore_into(const struct ctl *ctl, const char *path, const char *fresh)
{
	const char	*argv[16];
	char		 port[16];
	int		 n = 0;

	argv[n++] = "pg_restore";
	argv[n++] = "--exit-on-error";
	argv[n++] = "--single-transaction";
	n = connection_args(ctl, argv, n, port);
	argv[n++] = "--dbname";
	argv[n++] = fresh;
	argv[n++] = path;
	argv[n] = NULL;
	if (ctl_run(ctl, argv, -1) != 0) {
		fprintf(stderr, "loyaltyctl: pg_restore of %s failed\n", path);
		return CTL_FAIL;
	}
	return CTL_OK;
}

/* Brings fresh up to this build's schema; CTL_REFUSED when it is newer. */
static int
migrate_fresh(const struct ctl *ctl, const char *fresh)
{
	struct ctl	 other = *ctl;
	char		*argv[] = { "migrate", NULL };
	int		 rc;

	snprintf(other.cfg.db_name, sizeof(other.cfg.db_name), "%s", fresh);
	rc = ctl_migrate(&other, 1, argv);
	explicit_bzero(&other, sizeof(other));
	if (rc == CTL_REFUSED)
		fprintf(stderr, "loyaltyctl: the backup's schema is newer than "
		    "this build (or its migrations differ): upgrade loyalty "
		    "before restoring it\n");
	return rc;
}

/* Number of sessions connected to the database, or -1 (reported). */
static int
sessions(PGconn *c, const char *name)
{
	const char	*params[1] = { name };
	PGresult	*r;
	int		 n = -1;

	r = PQexecParams(c, "SELECT count(*) FROM pg_stat_activity WHERE "
	    "datname = $1 AND pid <> pg_backend_pid()", 1, NULL, params, NULL,
	    NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		n = atoi(PQgetvalue(r, 0, 0));
	else
		fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(c));
	PQclear(r);
	return n;
}

/*
 * live becomes old and fresh becomes live. Connections to live are closed
 * and refused meanwhile (loyaltyd's workers reconnect with back-off, and
 * find the restored database). On any failure live is left as it was.
 */
static int
swap(PGconn *c, const char *live, const char *fresh, const char *old,
    int have_live)
{
	const char	*params[1] = { live };
	PGresult	*r;
	int		 i, n = -1;

	if (!have_live)
		return ctl_exec_ident(c, "ALTER DATABASE ", fresh,
		    " RENAME TO ", live, "", NULL) == 0 ? CTL_OK : CTL_FAIL;
	if (ctl_exec_ident(c, "ALTER DATABASE ", live,
	    " WITH ALLOW_CONNECTIONS false", NULL) == -1)
		return CTL_FAIL;
	for (i = 0; i < 50; i++) {
		r = PQexecParams(c, "SELECT pg_terminate_backend(pid) FROM "
		    "pg_stat_activity WHERE datname = $1 AND pid <> "
		    "pg_backend_pid()", 1, NULL, params, NULL, NULL, 0);
		PQclear(r);
		if ((n = sessions(c, live)) <= 0)
			break;
		usleep(100000);
	}
	if (n != 0 || ctl_exec_ident(c, "ALTER DATABASE ", live,
	    " RENAME TO ", old, "", NULL) == -1) {
		fprintf(stderr, "loyaltyctl: could not take %s out of use; it "
		    "is unchanged\n", live);
		ctl_exec_ident(c, "ALTER DATABASE ", live,
		    " WITH ALLOW_CONNECTIONS true", NULL);
		return CTL_FAIL;
	}
	if (ctl_exec_ident(c, "ALTER DATABASE ", fresh, " RENAME TO ", live,
	    "", NULL) == -1) {
		ctl_exec_ident(c, "ALTER DATABASE ", old, " RENAME TO ", live,
		    "", NULL);
		ctl_exec_ident(c, "ALTER DATABASE ", live,
		    " WITH ALLOW_CONNECTIONS true", NULL);
		return CTL_FAIL;
	}
	/* The old one stays, for the operator to inspect or drop. */
	ctl_exec_ident(c, "ALTER DATABASE ", old,
	    " WITH ALLOW_CONNECTIONS true", NULL);
	return CTL_OK;
}

/*
 * Creates the database fresh, restores path into it and migrates it, on a
 * connection of its own each time: a restore can take long enough for an
 * idle connection opened before it to be gone.
 */
static int
restore_fresh(const struct ctl *ctl, const char *path, const char *fresh)
{
	PGconn	*c;
	int	 rc;

	if ((c = ctl_connect_admin_db(ctl, CTL_MAINTENANCE_DB,
	    "loyaltyctl restore")) == NULL)
		return CTL_FAIL;
	rc = ctl_create_database(c, fresh) == 0 ? CTL_OK : CTL_FAIL;
	PQfinish(c);
	if (rc != CTL_OK)
		return rc;
	if (!ctl_interrupted)
		rc = restore_into(ctl, path, fresh);
	if (rc == CTL_OK && !ctl_interrupted)
		rc = migrate_fresh(ctl, fresh);
	if (rc == CTL_OK && ctl_interrupted) {
		fprintf(stderr, "loyaltyctl: interrupted\n");
		rc = CTL_FAIL;
	}
	return rc;
}

int
ctl_restore(struct ctl *ctl, int argc, char **argv)
{
	const char	*live = ctl->cfg.db_name;
	char		 path[4096], fresh[64], old[64], stamp[16];
	char		 safety[4096];
	struct tm	 tm;
	time_t		 now = time(NULL);
	PGconn		*c;
	int		 rc, have_live;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: loyaltyctl restore FILE\n");
		return CTL_USAGE;
	}
	/* Relative to where loyaltyctl was started, not to "/". */
	if (ctl_path(ctl, argv[1], path, sizeof(path)) == -1)
		return CTL_USAGE;
	umask(077);
	ctl_catch_signals();
	if ((rc = lock_backups(ctl, "backup or restore")) != CTL_OK)
		return rc;
	if (!checksum_ok(path))
		return CTL_REFUSED;
	if ((rc = check_archive(ctl, path, 1)) != CTL_OK)
		return rc;
	if ((c = ctl_connect_admin_db(ctl, CTL_MAINTENANCE_DB,
	    "loyaltyctl restore")) == NULL)
		return CTL_FAIL;
	have_live = ctl_database_exists(c, live);
	PQfinish(c);
	if (have_live == -1)
		return CTL_FAIL;
	if (have_live && (rc = backup_one(ctl, live, "-pre-restore", safety,
	    sizeof(safety))) != CTL_OK) {
		fprintf(stderr, "loyaltyctl: no safety backup, no restore\n");
		return rc;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	snprintf(fresh, sizeof(fresh), "%.30s_restore_%.14s", live, stamp);
	snprintf(old, sizeof(old), "%.30s_before_restore_%.14s", live, stamp);
	rc = restore_fresh(ctl, path, fresh);
	if ((c = ctl_connect_admin_db(ctl, CTL_MAINTENANCE_DB,
	    "loyaltyctl restore")) == NULL) {
		fprintf(stderr, "loyaltyctl: restore of %s not finished; "
		    "database %s is as it was; drop %s by hand: dropdb %s\n",
		    path, live, fresh, fresh);
		return CTL_FAIL;
	}
	if (rc == CTL_OK)
		rc = swap(c, live, fresh, old, have_live);
	if (rc != CTL_OK) {
		drop_database(c, fresh);
		fprintf(stderr, "loyaltyctl: restore of %s failed; database %s "
		    "is as it was\n", path, live);
		PQfinish(c);
		return rc;
	}
	PQfinish(c);
	printf("restored %s into database %s\n", path, live);
	if (have_live)
		printf("the database before the restore is kept as %s (and "
		    "backed up in %s); drop it when done: dropdb %s\n", old,
		    safety, old);
	return CTL_OK;
}
