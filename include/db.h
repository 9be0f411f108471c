/* db.h — a worker's one PostgreSQL connection. */
#ifndef LOYALTY_DB_H
#define LOYALTY_DB_H

#include <libpq-fe.h>

#include "config.h"
#include "error.h"
#include "shm.h"

struct db;

/* Does not connect; db_ensure() does. */
struct db	*db_new(const struct config *, int slot, struct shm *);
void		 db_free(struct db *);

/*
 * Makes sure the connection is up: connects when it is not and the
 * back-off allows. LERR_DB_UNAVAILABLE while it cannot; then
 * db_retry_after() says when to try again, in seconds.
 */
enum lerr	 db_ensure(struct db *);
int		 db_retry_after(const struct db *);
int		 db_connected(const struct db *);

/*
 * Runs one statement with bound text parameters (never formatted into the
 * SQL). On LERR_OK *res holds a result the caller clears with PQclear. A
 * broken connection gives LERR_DB_UNAVAILABLE and is dropped, so the next
 * call reconnects; an SQL error gives LERR_INTERNAL, logged here with its
 * SQLSTATE.
 */
/* A statement whose result is not needed. */
enum lerr	 db_exec(struct db *, const char *sql, int nparams,
		    const char *const *params);
enum lerr	 db_query(struct db *, const char *sql, int nparams,
		    const char *const *params, PGresult **res);

/*
 * Like db_query, but an SQL error whose SQLSTATE is listed in expect (a
 * comma list such as "23505,23503") is no bug: it comes back as
 * LERR_CONFLICT with its code in state, and is not logged.
 */
enum lerr	 db_query_expect(struct db *, const char *sql, int nparams,
		    const char *const *params, PGresult **res,
		    const char *expect, char state[6]);
/*
 * The constraint the error of the last db_query_expect named (a unique
 * key, a check), when it was one it expected; "" otherwise.
 */
const char	*db_constraint(const struct db *);

/*
 * A request's transaction. db_set is set_config(name, value, true): the
 * setting lives only as long as the transaction, so nothing is left on
 * the connection (or on another client's, behind PgBouncer).
 */
enum lerr	 db_begin(struct db *);
enum lerr	 db_set(struct db *, const char *name, const char *value);
/*
 * BEGIN, db_set(name, value) and sql in one round trip (libpq's pipeline
 * mode): how every authenticated request starts. *res holds sql's rows.
 */
enum lerr	 db_begin_query(struct db *, const char *name,
		    const char *value, const char *sql, int nparams,
		    const char *const *params, PGresult **res);
enum lerr	 db_commit(struct db *);
/*
 * sql and COMMIT in one round trip, for a request whose last statement
 * is its only write: *res holds sql's rows once committed. expect, state
 * and db_constraint() as db_query_expect's. On an error nothing is
 * committed and the transaction is left aborted (the caller rolls back).
 */
enum lerr	 db_query_commit(struct db *, const char *sql, int nparams,
		    const char *const *params, PGresult **res,
		    const char *expect, char state[6]);

/*
 * After each request: roll back anything left open, quietly when the
 * request failed (its handler just returned), with a warning otherwise
 * (a handler forgot to commit).
 */
void		 db_after_request(struct db *, int failed);

/*
 * The schema version recorded by migrations (0 when none), and how long
 * the round trip took. LERR_INTERNAL when the table cannot be read.
 */
enum lerr	 db_schema_version(struct db *, long *version,
		    double *latency_ms);

/* Builds a libpq conninfo string; password may be NULL. */
char		*db_conninfo(const struct config *, const char *user,
		    const char *application_name, int with_timeout);

#endif
