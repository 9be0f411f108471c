/* db.c — one PostgreSQL connection per worker: connect, query, recover. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "metrics.h"

struct db {
	const struct config	*cfg;
	struct shm		*shm;
	PGconn			*conn;
	int			 slot;
	int			 failures;	/* consecutive failed connects */
	int			 ever_connected;
	int64_t			 next_try_ns;	/* back-off: not before */
	char			 appname[64];
	char			 constraint[64];	/* of the last expected error */
};

/* Appends key='value' with libpq quoting. */
static void
kv(char *out, size_t len, const char *key, const char *val)
{
	size_t used = strlen(out);

	if (used + strlen(key) + 4 >= len)
		return;
	used += (size_t)snprintf(out + used, len - used, "%s%s='", used ? " " :
	    "", key);
	for (; *val != '\0' && used + 3 < len; val++) {
		if (*val == '\'' || *val == '\\')
			out[used++] = '\\';
		out[used++] = *val;
	}
	out[used++] = '\'';
	out[used] = '\0';
}

char *
db_conninfo(const struct config *cfg, const char *user, const char *appname,
    int with_timeout)
{
	char	*ci;
	char	 num[64];
	size_t	 len = 4096;

	if ((ci = calloc(1, len)) == NULL)
		return NULL;
	kv(ci, len, "host", cfg->db_host);
	snprintf(num, sizeof(num), "%ld", cfg->db_port);
	kv(ci, len, "port", num);
	kv(ci, len, "dbname", cfg->db_name);
	kv(ci, len, "user", user);
	if (cfg->db_password[0] != '\0' && strcmp(user, cfg->db_user) == 0)
		kv(ci, len, "password", cfg->db_password);
	else if (cfg->db_admin_password[0] != '\0' &&
	    strcmp(user, cfg->db_admin_user) == 0)
		kv(ci, len, "password", cfg->db_admin_password);
	snprintf(num, sizeof(num), "%ld", cfg->db_connect_timeout);
	kv(ci, len, "connect_timeout", num);
	kv(ci, len, "application_name", appname);
	kv(ci, len, "keepalives_idle", "30");
	/*
	 * statement_timeout travels as a startup option, not a SET: nothing
	 * session-level is left behind that PgBouncer could hand to another
	 * client. Behind PgBouncer list "options" in ignore_startup_parameters
	 * and set the timeout on the role instead (docs/DEPLOYMENT.md).
	 */
	if (with_timeout && cfg->db_statement_timeout_ms > 0) {
		snprintf(num, sizeof(num), "-c statement_timeout=%ld",
		    cfg->db_statement_timeout_ms);
		kv(ci, len, "options", num);
	}
	return ci;
}

struct db *
db_new(const struct config *cfg, int slot, struct shm *shm)
{
	struct db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->cfg = cfg;
	db->shm = shm;
	db->slot = slot;
	snprintf(db->appname, sizeof(db->appname), "loyaltyd worker %d", slot);
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db);
}

static void
set_slot_db(struct db *db, int ok)
{
	if (db->shm != NULL)
		__atomic_store_n(&db->shm->slots[db->slot].db_ok, ok,
		    __ATOMIC_RELAXED);
}

static void
drop(struct db *db, const char *why)
{
	if (db->conn == NULL)
		return;
	log_msg(LOG_WARN, "db_lost", "database connection lost: %.*s",
	    (int)strcspn(why, "\n"), why);
	PQfinish(db->conn);
	db->conn = NULL;
	db->next_try_ns = 0;	/* try again at once, then back off */
	set_slot_db(db, 0);
}

/* Back-off doubles from 100 ms up to reconnect_max_ms. */
static int64_t
backoff_ms(const struct db *db)
{
	int64_t ms = 100;
	int	i;

	for (i = 1; i < db->failures && ms < db->cfg->db_reconnect_max_ms; i++)
		ms *= 2;
	return ms < db->cfg->db_reconnect_max_ms ? ms :
	    db->cfg->db_reconnect_max_ms;
}

enum lerr
db_ensure(struct db *db)
{
	char	*ci;
	int64_t	 now;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return LERR_OK;
	if (db->conn != NULL)
		drop(db, PQerrorMessage(db->conn));
	now = mono_ns();
	if (now < db->next_try_ns)
		return LERR_DB_UNAVAILABLE;
	if ((ci = db_conninfo(db->cfg, db->cfg->db_user, db->appname, 1)) ==
	    NULL)
		return LERR_DB_UNAVAILABLE;
	db->conn = PQconnectdb(ci);
	explicit_bzero(ci, strlen(ci));
	free(ci);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", db->conn ?
		    PQerrorMessage(db->conn) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		db->failures++;
		db->next_try_ns = mono_ns() + backoff_ms(db) * 1000000;
		if (db->failures == 1 || db->failures % 50 == 0)
			log_msg(LOG_WARN, "db_connect_failed",
			    "cannot connect (attempt %d, next in %lld ms): %s",
			    db->failures, (long long)backoff_ms(db), msg);
		if (db->conn != NULL)
			PQfinish(db->conn);
		db->conn = NULL;
		return LERR_DB_UNAVAILABLE;
	}
	if (db->ever_connected && db->shm != NULL)
		metrics_db_reconnect(db->shm);
	log_msg(LOG_INFO, db->ever_connected ? "db_reconnected" : "db_connected",
	    "connected to %s as %s (server %d)", db->cfg->db_name,
	    db->cfg->db_user, PQserverVersion(db->conn));
	db->ever_connected = 1;
	db->failures = 0;
	set_slot_db(db, 1);
	return LERR_OK;
}

int
db_retry_after(const struct db *db)
{
	int64_t ms = (db->next_try_ns - mono_ns()) / 1000000;

	return ms <= 1000 ? 1 : (int)((ms + 999) / 1000);
}

int
db_connected(const struct db *db)
{
	return db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK;
}

/* state is one of the comma-separated codes in list. */
static int
listed(const char *list, const char *state)
{
	size_t n = strlen(state);

	if (list == NULL || n != 5)
		return 0;
	for (; *list != '\0'; list += strcspn(list, ","),
	    list += *list == ',')
		if (strncmp(list, state, n) == 0 && (list[n] == ',' ||
		    list[n] == '\0'))
			return 1;
	return 0;
}

enum lerr
db_query_expect(struct db *db, const char *sql, int nparams,
    const char *const *params, PGresult **res, const char *expect,
    char state[6])
{
	ExecStatusType	st;
	int64_t		t0;
	enum lerr	e;
	const char	*code;

	*res = NULL;
	if (state != NULL)
		state[0] = '\0';
	db->constraint[0] = '\0';
	if ((e = db_ensure(db)) != LERR_OK)
		return e;
	t0 = mono_ns();
	*res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (db->shm != NULL)
		metrics_db_query(db->shm, (double)(mono_ns() - t0) / 1e9);
	st = *res ? PQresultStatus(*res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return LERR_OK;
	if (PQstatus(db->conn) != CONNECTION_OK) {
		if (db->shm != NULL)
			metrics_db_error(db->shm);
		PQclear(*res);
		*res = NULL;
		drop(db, PQerrorMessage(db->conn));
		return LERR_DB_UNAVAILABLE;
	}
	code = *res ? PQresultErrorField(*res, PG_DIAG_SQLSTATE) : NULL;
	if (code != NULL && listed(expect, code)) {
		if (state != NULL)
			snprintf(state, 6, "%s", code);
		code = PQresultErrorField(*res, PG_DIAG_CONSTRAINT_NAME);
		snprintf(db->constraint, sizeof(db->constraint), "%s",
		    code != NULL ? code : "");
		PQclear(*res);
		*res = NULL;
		return LERR_CONFLICT;
	}
	if (db->shm != NULL)
		metrics_db_error(db->shm);
	{
		struct logline l;

		log_begin(&l, LOG_ERROR, "db_error");
		log_str(&l, "sqlstate", code ? code : "");
		log_str(&l, "msg", *res ? PQresultErrorMessage(*res) :
		    PQerrorMessage(db->conn));
		log_end(&l);
	}
	PQclear(*res);
	*res = NULL;
	return LERR_INTERNAL;
}

const char *
db_constraint(const struct db *db)
{
	return db->constraint;
}

enum lerr
db_query(struct db *db, const char *sql, int nparams,
    const char *const *params, PGresult **res)
{
	return db_query_expect(db, sql, nparams, params, res, NULL, NULL);
}

enum lerr
db_exec(struct db *db, const char *sql, int nparams,
    const char *const *params)
{
	PGresult	*r;
	enum lerr	 e;

	e = db_query(db, sql, nparams, params, &r);
	PQclear(r);
	return e;
}

enum lerr
db_begin(struct db *db)
{
	return db_exec(db, "BEGIN", 0, NULL);
}

/*
 * The first error of a pipeline: an SQLSTATE listed in expect is
 * LERR_CONFLICT with its code in state, unlogged; any other is logged as
 * db_query_expect logs one.
 */
static enum lerr
pipeline_error(struct db *db, PGresult *r, const char *expect, char state[6])
{
	struct logline	l;
	const char	*code = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	if (code != NULL && listed(expect, code)) {
		if (state != NULL)
			snprintf(state, 6, "%s", code);
		code = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
		snprintf(db->constraint, sizeof(db->constraint), "%s",
		    code != NULL ? code : "");
		return LERR_CONFLICT;
	}
	if (db->shm != NULL)
		metrics_db_error(db->shm);
	log_begin(&l, LOG_ERROR, "db_error");
	log_str(&l, "sqlstate", code ? code : "");
	log_str(&l, "msg", PQresultErrorMessage(r));
	log_end(&l);
	return LERR_INTERNAL;
}

struct stmt {
	const char		*sql;
	int			 nparams;
	const char *const	*params;
};

/*
 * The n statements in one round trip (libpq's pipeline mode, one Sync);
 * *res holds the rows of statement keep. After an error PostgreSQL skips
 * the rest up to the Sync: the first error is the answer.
 */
static enum lerr
pipeline(struct db *db, const struct stmt *s, int n, int keep,
    PGresult **res, const char *expect, char state[6])
{
	PGconn		*c;
	PGresult	*r;
	ExecStatusType	 st;
	enum lerr	 e = LERR_OK;
	int64_t		 t0;
	int		 i, q = 0;

	*res = NULL;
	if (state != NULL)
		state[0] = '\0';
	db->constraint[0] = '\0';
	if ((e = db_ensure(db)) != LERR_OK)
		return e;
	c = db->conn;
	t0 = mono_ns();
	if (PQenterPipelineMode(c) != 1)
		goto lost;
	for (i = 0; i < n; i++)
		if (PQsendQueryParams(c, s[i].sql, s[i].nparams, NULL,
		    s[i].params, NULL, NULL, 0) != 1)
			goto lost;
	if (PQpipelineSync(c) != 1)
		goto lost;
	/* Each statement's result, then NULL; the sync's result last. */
	for (;;) {
		if ((r = PQgetResult(c)) == NULL) {
			if (PQstatus(c) != CONNECTION_OK || ++q > n)
				goto lost;
			continue;
		}
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (q == keep && st == PGRES_TUPLES_OK && e == LERR_OK)
			*res = r;
		else {
			if (st == PGRES_FATAL_ERROR && e == LERR_OK)
				e = pipeline_error(db, r, expect, state);
			PQclear(r);
		}
	}
	if (PQexitPipelineMode(c) != 1)
		goto lost;
	if (db->shm != NULL)
		metrics_db_query(db->shm, (double)(mono_ns() - t0) / 1e9);
	if (e == LERR_OK && *res == NULL)
		e = LERR_INTERNAL;
	if (e != LERR_OK && *res != NULL) {
		PQclear(*res);
		*res = NULL;
	}
	return e;
lost:
	PQclear(*res);
	*res = NULL;
	if (db->shm != NULL)
		metrics_db_error(db->shm);
	drop(db, PQerrorMessage(c));
	return LERR_DB_UNAVAILABLE;
}

enum lerr
db_begin_query(struct db *db, const char *name, const char *value,
    const char *sql, int nparams, const char *const *params, PGresult **res)
{
	const char		*set[2] = { name, value };
	const struct stmt	 s[3] = {
		{ "BEGIN", 0, NULL },
		{ "SELECT set_config($1, $2, true)", 2, set },
		{ sql, nparams, params },
	};

	return pipeline(db, s, 3, 2, res, NULL, NULL);
}

enum lerr
db_query_commit(struct db *db, const char *sql, int nparams,
    const char *const *params, PGresult **res, const char *expect,
    char state[6])
{
	const struct stmt s[2] = {
		{ sql, nparams, params },
		{ "COMMIT", 0, NULL },
	};

	return pipeline(db, s, 2, 0, res, expect, state);
}

enum lerr
db_set(struct db *db, const char *name, const char *value)
{
	const char *params[2] = { name, value };

	return db_exec(db, "SELECT set_config($1, $2, true)", 2, params);
}

enum lerr
db_commit(struct db *db)
{
	return db_exec(db, "COMMIT", 0, NULL);
}

void
db_after_request(struct db *db, int failed)
{
	PGresult *r;

	if (db->conn == NULL)
		return;
	switch (PQtransactionStatus(db->conn)) {
	case PQTRANS_IDLE:
		return;
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		if (!failed)
			log_msg(LOG_WARN, "db_rollback", "transaction left "
			    "open by a request: rolled back");
		r = PQexec(db->conn, "ROLLBACK");
		PQclear(r);
		if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
			return;
		/* FALLTHROUGH */
	default:
		drop(db, "connection not idle after a request");
	}
}

enum lerr
db_schema_version(struct db *db, long *version, double *latency_ms)
{
	PGresult	*r;
	int64_t		 t0 = mono_ns();
	enum lerr	 e;

	*version = -1;
	e = db_query(db, "SELECT coalesce(max(version), 0) "
	    "FROM schema_migrations", 0, NULL, &r);
	*latency_ms = (double)(mono_ns() - t0) / 1e6;
	if (e != LERR_OK)
		return e;
	if (PQntuples(r) == 1)
		*version = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return LERR_OK;
}
