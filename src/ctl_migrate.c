/* ctl_migrate.c — numbered SQL files applied once each, in order. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "ctl.h"
#include "shm.h"

/* pg_advisory_lock key: "loyalty" as a number, the same in every run. */
#define MIGRATE_LOCK_KEY	"7813960851613440121"
#define MAX_MIGRATIONS		1000

struct migration {
	int	 version;
	char	 name[256];
	char	 checksum[65];
	char	*text;
	int	 applied;
	char	 applied_at[64];
};

struct plan {
	struct migration	m[MAX_MIGRATIONS];
	int			n;
};

static void
sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0, i;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* "0001_name.sql": four digits, an underscore, [a-z0-9_], ".sql". */
static int
parse_name(const char *name, int *version)
{
	size_t	len = strlen(name), i;

	if (len < 10 || strcmp(name + len - 4, ".sql") != 0 || name[4] != '_')
		return -1;
	for (i = 0; i < 4; i++)
		if (name[i] < '0' || name[i] > '9')
			return -1;
	for (i = 5; i < len - 4; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return -1;
	*version = atoi(name);
	return *version > 0 ? 0 : -1;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE	*f;
	char	*text;
	long	 size;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == -1 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1 || (text = malloc((size_t)size + 1)) ==
	    NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(text, 1, (size_t)size, f);
	fclose(f);
	text[*len] = '\0';
	return text;
}

static int
by_version(const void *a, const void *b)
{
	return ((const struct migration *)a)->version -
	    ((const struct migration *)b)->version;
}

static int
load_files(const char *dir, struct plan *p)
{
	DIR		*d;
	struct dirent	*de;
	int		 i, rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "loyaltyctl: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct migration	*m;
		char			 path[4096];
		size_t			 len;
		int			 v;

		if (de->d_name[0] == '.' || parse_name(de->d_name, &v) == -1) {
			if (de->d_name[0] != '.' &&
			    strstr(de->d_name, ".sql") != NULL) {
				fprintf(stderr, "loyaltyctl: %s: not named "
				    "NNNN_name.sql\n", de->d_name);
				rc = -1;
			}
			continue;
		}
		if (p->n == MAX_MIGRATIONS) {
			fprintf(stderr, "loyaltyctl: too many migrations\n");
			rc = -1;
			break;
		}
		m = &p->m[p->n++];
		m->version = v;
		snprintf(m->name, sizeof(m->name), "%s", de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((m->text = read_file(path, &len)) == NULL) {
			fprintf(stderr, "loyaltyctl: %s: %s\n", path,
			    strerror(errno));
			rc = -1;
			continue;
		}
		sha256_hex(m->text, len, m->checksum);
	}
	closedir(d);
	qsort(p->m, (size_t)p->n, sizeof(p->m[0]), by_version);
	for (i = 1; i < p->n; i++)
		if (p->m[i].version == p->m[i - 1].version) {
			fprintf(stderr, "loyaltyctl: %s and %s share version "
			    "%d\n", p->m[i - 1].name, p->m[i].name,
			    p->m[i].version);
			rc = -1;
		}
	return rc;
}

static struct migration *
find(struct plan *p, int version)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (p->m[i].version == version)
			return &p->m[i];
	return NULL;
}

/*
 * Marks what the database has applied. A changed file, or an applied
 * migration this build does not have, is refused: returns CTL_REFUSED.
 */
static int
load_applied(PGconn *c, struct plan *p)
{
	PGresult	*r;
	int		 i, rc = CTL_OK;

	r = PQexec(c, "SELECT to_regclass('public.schema_migrations') IS NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(c));
		PQclear(r);
		return CTL_FAIL;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
		PQclear(r);
		return CTL_OK;	/* a fresh database */
	}
	PQclear(r);
	r = PQexec(c, "SELECT version, name, checksum, "
	    "to_char(applied_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_migrations "
	    "ORDER BY version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(c));
		PQclear(r);
		return CTL_FAIL;
	}
	for (i = 0; i < PQntuples(r); i++) {
		int			 v = atoi(PQgetvalue(r, i, 0));
		struct migration	*m = find(p, v);

		if (m == NULL) {
			fprintf(stderr, "loyaltyctl: the database has migration "
			    "%s, which this build does not know: it is newer "
			    "than this build\n", PQgetvalue(r, i, 1));
			rc = CTL_REFUSED;
			continue;
		}
		if (strcmp(m->checksum, PQgetvalue(r, i, 2)) != 0) {
			fprintf(stderr, "loyaltyctl: %s was changed after it "
			    "was applied (checksum %s, applied %s): refusing "
			    "to run; restore the file or add a new "
			    "migration\n", m->name, m->checksum,
			    PQgetvalue(r, i, 2));
			rc = CTL_REFUSED;
		}
		m->applied = 1;
		snprintf(m->applied_at, sizeof(m->applied_at), "%s",
		    PQgetvalue(r, i, 3));
	}
	PQclear(r);
	return rc;
}

static int
exec_ok(PGconn *c, const char *sql)
{
	PGresult	*r = PQexec(c, sql);
	int		 ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
			    PQresultStatus(r) == PGRES_TUPLES_OK;

	PQclear(r);
	return ok;
}

/* One file, one transaction, run as loyalty_owner once that exists. */
static int
apply(PGconn *c, struct migration *m)
{
	PGresult	*r;
	char		 version[16], ms[32];
	const char	*params[4];
	int64_t		 t0 = mono_ns();

	if (!exec_ok(c, "BEGIN"))
		goto fail;
	r = PQexec(c, "SELECT 1 FROM pg_roles WHERE rolname = 'loyalty_owner'");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    !exec_ok(c, "SET LOCAL ROLE loyalty_owner")) {
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (!exec_ok(c, m->text))
		goto fail;
	snprintf(version, sizeof(version), "%d", m->version);
	snprintf(ms, sizeof(ms), "%lld", (long long)((mono_ns() - t0) /
	    1000000));
	params[0] = version;
	params[1] = m->name;
	params[2] = m->checksum;
	params[3] = ms;
	r = PQexecParams(c, "INSERT INTO schema_migrations (version, name, "
	    "checksum, duration_ms) VALUES ($1, $2, $3, $4)", 4, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (!exec_ok(c, "COMMIT"))
		goto fail;
	printf("applied %s (%s ms)\n", m->name, ms);
	return 0;
fail:
	fprintf(stderr, "loyaltyctl: %s failed: %s", m->name,
	    PQerrorMessage(c));
	exec_ok(c, "ROLLBACK");
	return -1;
}

static int
status(struct plan *p)
{
	int i, pending = 0;

	printf("%-7s %-40s %-8s %s\n", "VERSION", "NAME", "STATE", "APPLIED");
	for (i = 0; i < p->n; i++) {
		printf("%-7d %-40s %-8s %s\n", p->m[i].version, p->m[i].name,
		    p->m[i].applied ? "applied" : "pending",
		    p->m[i].applied ? p->m[i].applied_at : "-");
		pending += !p->m[i].applied;
	}
	printf("%d applied, %d pending\n", p->n - pending, pending);
	return CTL_OK;
}

int
ctl_migrate(struct ctl *ctl, int argc, char **argv)
{
	struct plan	*p;
	PGconn		*c = NULL;
	PGresult	*r;
	int		 i, dry = 0, show = 0, rc = CTL_OK, done = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry = 1;
		else if (strcmp(argv[i], "status") == 0)
			show = 1;
		else {
			fprintf(stderr, "usage: loyaltyctl migrate [--dry-run] "
			    "| migrate status\n");
			return CTL_USAGE;
		}
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return CTL_FAIL;
	if (load_files(ctl->sql_dir, p) == -1) {
		rc = CTL_FAIL;
		goto out;
	}
	if ((c = ctl_connect_admin(ctl, "loyaltyctl migrate")) == NULL) {
		rc = CTL_FAIL;
		goto out;
	}
	/* Session-level on purpose: held across the per-file transactions. */
	r = PQexec(c, "SELECT pg_try_advisory_lock(" MIGRATE_LOCK_KEY ")");
	if (PQresultStatus(r) != PGRES_TUPLES_OK ||
	    strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		fprintf(stderr, "loyaltyctl: another migration is running "
		    "(advisory lock held); try again when it ends\n");
		PQclear(r);
		rc = CTL_BUSY;
		goto out;
	}
	PQclear(r);
	if ((rc = load_applied(c, p)) != CTL_OK)
		goto out;
	if (show) {
		rc = status(p);
		goto out;
	}
	for (i = 0; i < p->n; i++) {
		if (p->m[i].applied)
			continue;
		if (dry) {
			printf("would apply %s\n", p->m[i].name);
			done++;
			continue;
		}
		if (apply(c, &p->m[i]) == -1) {
			rc = CTL_FAIL;
			goto out;
		}
		done++;
	}
	if (done == 0)
		printf("database is up to date (schema version %d)\n",
		    p->n ? p->m[p->n - 1].version : 0);
out:
	if (c != NULL)
		PQfinish(c);
	for (i = 0; i < p->n; i++)
		free(p->m[i].text);
	free(p);
	return rc;
}
