/* ctl_maintenance.c — loyaltyctl maintenance: vacuum, bloat report, reindex. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "shm.h"

/* pg_advisory_lock key: migrate's ("loyalty" as a number) plus one. */
#define MAINT_LOCK_KEY	"7813960851613440122"

/* Sizes of PostgreSQL's on-disk B-tree structures (see estimate_bloat). */
#define PAGE_HEADER	24	/* PageHeaderData */
#define BTREE_SPECIAL	16	/* BTPageOpaqueData */
#define ITUPLE_HEADER	8	/* IndexTupleData */
#define LINE_POINTER	4	/* ItemIdData */
#define MAXALIGN(x)	(((x) + 7) / 8 * 8)
#define BTREE_FILLFACTOR 90	/* the default leaf fillfactor */

struct maint {
	PGconn			*c;
	const struct config	*cfg;
	int			 dry;
	int			 failed;	/* statements that failed */
	char			*pgstattuple;	/* its schema quoted, or NULL */
};

/* Ordinary tables and materialized views that this session may vacuum. */
static const char SQL_TABLES[] =
    "SELECT s.schemaname, s.relname, s.n_live_tup, s.n_dead_tup "
    "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
    "WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' "
    "ORDER BY 1, 2";

/*
 * Every valid B-tree index outside the system schemas, with what
 * estimate_bloat needs: the sum of its columns' average widths from
 * pg_stats (an expression column's statistics are filed under the index
 * itself) and how many of its columns have statistics at all.
 */
static const char SQL_INDEXES[] =
    "SELECT n.nspname, c.relname, t.relname, c.oid, pg_relation_size(c.oid), "
    "c.reltuples, current_setting('block_size')::int, "
    "coalesce((SELECT substring(o FROM '^fillfactor=([0-9]+)$')::int "
    "FROM unnest(c.reloptions) AS o WHERE o LIKE 'fillfactor=%'), 0), "
    "w.ncols, w.nstats, coalesce(w.width, 0) "
    "FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indexrelid "
    "JOIN pg_class t ON t.oid = i.indrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_am am ON am.oid = c.relam "
    "CROSS JOIN LATERAL (SELECT count(*) AS ncols, "
    "count(s.avg_width) AS nstats, sum(s.avg_width) AS width "
    "FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, pos) "
    "JOIN pg_attribute a ON a.attrelid = CASE k.attnum WHEN 0 THEN c.oid "
    "ELSE t.oid END AND a.attnum = CASE k.attnum WHEN 0 THEN k.pos::int2 "
    "ELSE k.attnum END "
    "LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = "
    "CASE k.attnum WHEN 0 THEN c.relname ELSE t.relname END "
    "AND s.attname = a.attname AND NOT s.inherited) w "
    "WHERE am.amname = 'btree' AND c.relkind = 'i' AND i.indisvalid "
    "AND c.relpersistence <> 't' "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname !~ '^pg_toast' ORDER BY 1, 2";

/* Indexes nothing has scanned that no constraint needs. */
static const char SQL_UNUSED[] =
    "SELECT s.schemaname, s.indexrelname, s.relname, "
    "pg_size_pretty(pg_relation_size(s.indexrelid)), "
    "coalesce((SELECT to_char(stats_reset AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM pg_stat_database "
    "WHERE datname = current_database()), 'the statistics began') "
    "FROM pg_stat_user_indexes s JOIN pg_index i USING (indexrelid) "
    "WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary "
    "AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
    "WHERE k.conindid = s.indexrelid) ORDER BY 1, 2";

/* pgstatindex, after the schema of pgstattuple (quoted: not a parameter). */
static const char SQL_PGSTATINDEX[] =
    ".pgstatindex($1::oid::regclass)";

/* A statement whose rows we want; NULL, reported and counted, on error. */
static PGresult *
query(struct maint *m, const char *sql, int nparams,
    const char *const *params)
{
	PGresult *res;

	res = PQexecParams(m->c, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(m->c));
		PQclear(res);
		m->failed++;
		return NULL;
	}
	return res;
}

static double
ms_since(int64_t t0)
{
	return (double)(mono_ns() - t0) / 1e6;
}

/* The schema pgstattuple is installed in, quoted; NULL when it is not. */
static char *
find_pgstattuple(struct maint *m)
{
	PGresult	*res;
	char		*quoted = NULL;

	res = query(m, "SELECT n.nspname FROM pg_extension e JOIN "
	    "pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = "
	    "'pgstattuple'", 0, NULL);
	if (res == NULL)
		return NULL;
	if (PQntuples(res) == 1)
		quoted = PQescapeIdentifier(m->c, PQgetvalue(res, 0, 0),
		    strlen(PQgetvalue(res, 0, 0)));
	PQclear(res);
	return quoted;
}

/* Dead rows per table, as the statistics saw them before the vacuum. */
static void
report_tables(PGresult *tables)
{
	int i;

	for (i = 0; i < PQntuples(tables); i++) {
		double live = atof(PQgetvalue(tables, i, 2));
		double dead = atof(PQgetvalue(tables, i, 3));
		double pct = live + dead > 0 ? 100 * dead / (live + dead) : 0;

		printf("bloat table %s.%s: %.0f live, %.0f dead rows (%.0f%% "
		    "dead)\n", PQgetvalue(tables, i, 0), PQgetvalue(tables, i,
		    1), live, dead, pct);
	}
}

static void
vacuum(struct maint *m, PGresult *tables)
{
	int64_t	t0 = mono_ns(), t;
	int	i, n = PQntuples(tables);

	for (i = 0; i < n; i++) {
		const char *schema = PQgetvalue(tables, i, 0);
		const char *table = PQgetvalue(tables, i, 1);

		if (m->dry) {
			printf("would vacuum (analyze) %s.%s\n", schema, table);
			continue;
		}
		fflush(stdout);
		t = mono_ns();
		if (ctl_exec_ident(m->c, "VACUUM (ANALYZE) ", schema, ".",
		    table, "", NULL) == -1) {
			fprintf(stderr, "loyaltyctl: VACUUM of %s.%s failed\n",
			    schema, table);
			m->failed++;
			continue;
		}
		printf("vacuum (analyze) %s.%s: %.0f ms\n", schema, table,
		    ms_since(t));
	}
	if (!m->dry)
		printf("vacuum: %d tables in %.0f ms\n", n, ms_since(t0));
}

/*
 * Estimated bloat of a B-tree index in percent of its size, from the
 * planner's statistics alone: the approach of ioguix's btree_bloat.sql
 * (github.com/ioguix/pgsql-bloat-estimation), simplified. A leaf tuple
 * takes an 8-byte header plus its columns' average widths, rounded up to
 * 8 bytes, plus a 4-byte line pointer; a page has block_size less its
 * 24-byte header and the 16-byte B-tree special space, filled to the
 * fillfactor when the index is built. reltuples tuples then need that many
 * leaf pages, plus the meta page; what the index has beyond that is bloat.
 * Internal pages (about 1% of a B-tree) and null bitmaps are ignored, and
 * deduplication (PostgreSQL 13+) can make an index smaller than this:
 * both make the estimate err towards less bloat, never towards a
 * needless rebuild. -1 when the statistics are missing.
 */
static double
estimate_bloat(double size, double reltuples, double width, int ff, int bs)
{
	double	tuple, per_page, pages, expected;

	if (reltuples < 0 || size <= 0 || bs <= 0)
		return -1;
	if (ff <= 0)
		ff = BTREE_FILLFACTOR;
	tuple = MAXALIGN(ITUPLE_HEADER + (long)ceil(width)) + LINE_POINTER;
	per_page = floor((bs - PAGE_HEADER - BTREE_SPECIAL) * ff / 100.0 /
	    tuple);
	if (per_page < 1)
		per_page = 1;
	pages = size / bs;
	expected = 1 + ceil(reltuples / per_page);
	return pages > expected ? 100 * (pages - expected) / pages : 0;
}

/*
 * The same from pgstatindex's measurement, which reads the whole index:
 * its leaf pages' contents repacked at the fillfactor, plus the internal
 * pages and the meta page, against its size. -1 when it failed.
 */
static double
measure_bloat(struct maint *m, const char *oid, int ff, int bs)
{
	const char	*params[1] = { oid };
	char		 sql[512];
	PGresult	*res;
	double		 leaf, internal, density, pages, expected;

	snprintf(sql, sizeof(sql), "SELECT leaf_pages, internal_pages, "
	    "avg_leaf_density, index_size FROM %s%s", m->pgstattuple,
	    SQL_PGSTATINDEX);
	if ((res = query(m, sql, 1, params)) == NULL)
		return -1;
	leaf = atof(PQgetvalue(res, 0, 0));
	internal = atof(PQgetvalue(res, 0, 1));
	density = atof(PQgetvalue(res, 0, 2));	/* "NaN" without leaves */
	pages = atof(PQgetvalue(res, 0, 3)) / bs;
	PQclear(res);
	if (ff <= 0)
		ff = BTREE_FILLFACTOR;
	if (isnan(density))
		density = 0;
	expected = 1 + internal + ceil(leaf * density / ff);
	return pages > expected ? 100 * (pages - expected) / pages : 0;
}

static int
worth_reindexing(const struct maint *m, double bloat, double size)
{
	const struct config *cfg = m->cfg;

	return bloat >= 0 &&
	    bloat >= (double)cfg->maint_reindex_bloat_percent &&
	    size >= (double)cfg->maint_reindex_min_kb * 1024;
}

/*
 * Identifiers cannot be parameters, so ctl_exec_ident quotes the schema
 * and index names with PQescapeIdentifier; the size after is read with
 * the names as parameters.
 */
static void
reindex(struct maint *m, const char *schema, const char *index, double size,
    double bloat)
{
	const char	*params[2] = { schema, index };
	PGresult	*res;
	int64_t		 t0 = mono_ns();
	double		 ms;

	if (m->dry) {
		printf("would reindex %s.%s (%.0f kB, estimated bloat "
		    "%.0f%%)\n", schema, index, size / 1024, bloat);
		return;
	}
	fflush(stdout);
	if (ctl_exec_ident(m->c, "REINDEX INDEX CONCURRENTLY ", schema, ".",
	    index, "", NULL) == -1) {
		fprintf(stderr, "loyaltyctl: REINDEX of %s.%s failed; it may "
		    "leave an invalid index %s_ccnew behind: drop it\n", schema,
		    index, index);
		m->failed++;
		return;
	}
	ms = ms_since(t0);
	res = query(m, "SELECT pg_relation_size(format('%I.%I', $1::text, "
	    "$2::text)::regclass) / 1024", 2, params);
	printf("reindex %s.%s: %.0f kB -> %s kB in %.0f ms\n", schema, index,
	    size / 1024, res ? PQgetvalue(res, 0, 0) : "?", ms);
	PQclear(res);
}

/*
 * The bloat report of every B-tree index, and a rebuild of those at least
 * maintenance.reindex_bloat_percent bloated and reindex_min_kb large.
 */
static void
indexes(struct maint *m)
{
	PGresult	*res;
	int		 i, rebuilt = 0;

	if ((res = query(m, SQL_INDEXES, 0, NULL)) == NULL)
		return;
	for (i = 0; i < PQntuples(res); i++) {
		const char	*schema = PQgetvalue(res, i, 0);
		const char	*index = PQgetvalue(res, i, 1);
		double		 size = atof(PQgetvalue(res, i, 4));
		int		 bs = atoi(PQgetvalue(res, i, 6));
		int		 ff = atoi(PQgetvalue(res, i, 7));
		double		 bloat;

		if (m->pgstattuple != NULL)
			bloat = measure_bloat(m, PQgetvalue(res, i, 3), ff, bs);
		else if (atoi(PQgetvalue(res, i, 9)) < atoi(PQgetvalue(res, i,
		    8)))
			bloat = -1;	/* a column without statistics */
		else
			bloat = estimate_bloat(size, atof(PQgetvalue(res, i,
			    5)), atof(PQgetvalue(res, i, 10)), ff, bs);
		if (bloat < 0)
			printf("bloat index %s.%s on %s: %.0f kB, no estimate "
			    "(no statistics yet)\n", schema, index,
			    PQgetvalue(res, i, 2), size / 1024);
		else
			printf("bloat index %s.%s on %s: %.0f kB, bloat %.0f%% "
			    "(%s)\n", schema, index, PQgetvalue(res, i, 2),
			    size / 1024, bloat, m->pgstattuple ? "pgstatindex" :
			    "estimated from statistics");
		if (worth_reindexing(m, bloat, size)) {
			reindex(m, schema, index, size, bloat);
			rebuilt++;
		}
	}
	if (rebuilt == 0)
		printf("reindex: none needed (bloat >= %ld%% and size >= "
		    "%ld kB)\n", m->cfg->maint_reindex_bloat_percent,
		    m->cfg->maint_reindex_min_kb);
	PQclear(res);
}

/* Reported so an operator can judge them; never dropped here. */
static void
unused_indexes(struct maint *m)
{
	PGresult	*res;
	int		 i;

	if ((res = query(m, SQL_UNUSED, 0, NULL)) == NULL)
		return;
	for (i = 0; i < PQntuples(res); i++)
		printf("unused index %s.%s on %s: %s, no scan since %s; not "
		    "dropped, review it\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
		    PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
	if (PQntuples(res) == 0)
		printf("unused indexes: none\n");
	PQclear(res);
}

/* Session-level on purpose: held across VACUUM, which runs outside. */
static int
lock(struct maint *m)
{
	PGresult	*res;
	int		 got;

	res = PQexec(m->c, "SELECT pg_try_advisory_lock(" MAINT_LOCK_KEY ")");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "loyaltyctl: %s", PQerrorMessage(m->c));
		PQclear(res);
		return CTL_FAIL;
	}
	got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!got) {
		fprintf(stderr, "loyaltyctl: another maintenance is running "
		    "(advisory lock " MAINT_LOCK_KEY " is held); try again "
		    "when it ends\n");
		return CTL_BUSY;
	}
	return CTL_OK;
}

static void
run(struct maint *m)
{
	PGresult *tables;

	if ((tables = query(m, SQL_TABLES, 0, NULL)) == NULL)
		return;
	report_tables(tables);
	vacuum(m, tables);
	PQclear(tables);
	m->pgstattuple = find_pgstattuple(m);
	indexes(m);
	unused_indexes(m);
}

int
ctl_maintenance(struct ctl *ctl, int argc, char **argv)
{
	struct maint	m;
	int64_t		t0 = mono_ns();
	int		i, rc;

	memset(&m, 0, sizeof(m));
	m.cfg = &ctl->cfg;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") != 0) {
			fprintf(stderr, "usage: loyaltyctl maintenance "
			    "[--dry-run]\n");
			return CTL_USAGE;
		}
		m.dry = 1;
	}
	if ((m.c = ctl_connect_admin(ctl, "loyaltyctl maintenance")) == NULL)
		return CTL_FAIL;
	if ((rc = lock(&m)) == CTL_OK) {
		run(&m);
		rc = m.failed ? CTL_FAIL : CTL_OK;
		if (m.failed)
			fprintf(stderr, "loyaltyctl: maintenance: %d "
			    "statement%s failed\n", m.failed, m.failed == 1 ?
			    "" : "s");
		else
			printf("maintenance: done in %.0f ms%s\n", ms_since(t0),
			    m.dry ? " (dry run: nothing changed)" : "");
	}
	if (m.pgstattuple != NULL)
		PQfreemem(m.pgstattuple);
	PQfinish(m.c);
	return rc;
}
