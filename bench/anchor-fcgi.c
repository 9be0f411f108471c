/*
 * anchor-fcgi.c — the ceiling of bench/events' post/sql ratio: the
 * smallest libfcgi prefork program that records an event, by calling the
 * anchor's record_event() (../shared/bench/anchor-record-event) with libpq,
 * as the anchor's README measured such a program. It answers the requests
 * bench/events.lua sends: it parses the body (json-c), takes event_id,
 * member.external_id and amount_minor, makes the one call, and answers 201
 * {"status", "points", "balance"}. No routing, authentication, logging or
 * metrics; GET /health/live answers 200 so that scripts/lib/stack.sh can
 * start it in loyaltyd's place (it also accepts and ignores loyaltyd's
 * "-c FILE" and "--check-config").
 *
 * A master takes the listening socket on fd 0 (from spawn-fcgi), forks
 * ANCHOR_WORKERS (default 8) workers that share it, and waits; SIGTERM or
 * SIGINT stops the workers and then the master. Each worker holds one
 * connection, made from libpq's PG* environment (bench/events sets
 * PGHOST, PGPORT, PGUSER and PGDATABASE).
 *
 *   cc -O2 -o anchor-fcgi anchor-fcgi.c $(pkg-config --cflags --libs fcgi
 *       libpq json-c)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#define MAX_WORKERS	64
#define MAX_BODY	4096

static volatile sig_atomic_t	stop_flag;

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
reply(FCGX_Request *rq, int status, const char *body)
{
	FCGX_FPrintF(rq->out, "Status: %d\r\nContent-Type: application/json\r\n"
	    "Content-Length: %d\r\nCache-Control: no-store\r\n\r\n%s", status,
	    (int)strlen(body), body);
}

/* The string at a.b of a JSON object (b may be NULL), or NULL. */
static const char *
str_at(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b != NULL && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_is_type(v, json_type_null) ? NULL :
	    json_object_get_string(v);
}

static void
record(FCGX_Request *rq, PGconn *db)
{
	static const char sql[] = "SELECT status, points, balance FROM "
	    "record_event(1, $1, $2, $3::bigint, '{\"sku\":\"SKU-1\","
	    "\"store\":\"s-1\",\"channel\":\"pos\"}'::jsonb)";
	char			 buf[MAX_BODY + 1], out[256];
	const char		*params[3];
	struct json_object	*body;
	PGresult		*r;
	int			 n, len = 0;

	while (len < MAX_BODY && (n = FCGX_GetStr(buf + len, MAX_BODY - len,
	    rq->in)) > 0)
		len += n;
	buf[len] = '\0';
	if ((body = json_tokener_parse(buf)) == NULL) {
		reply(rq, 400, "{\"error\":\"body\"}");
		return;
	}
	params[0] = str_at(body, "event_id", NULL);
	params[1] = str_at(body, "member", "external_id");
	params[2] = str_at(body, "amount_minor", NULL);
	if (params[0] == NULL || params[1] == NULL || params[2] == NULL) {
		json_object_put(body);
		reply(rq, 422, "{\"error\":\"fields\"}");
		return;
	}
	r = PQexecParams(db, sql, 3, NULL, params, NULL, NULL, 0);
	json_object_put(body);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		fprintf(stderr, "anchor-fcgi: %s", PQerrorMessage(db));
		reply(rq, 500, "{\"error\":\"database\"}");
	} else {
		snprintf(out, sizeof(out), "{\"status\":\"%s\",\"points\":%s,"
		    "\"balance\":%s}", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
		    PQgetvalue(r, 0, 2));
		reply(rq, 201, out);
	}
	PQclear(r);
}

static int
worker(void)
{
	FCGX_Request	 rq;
	PGconn		*db;
	const char	*uri;

	db = PQconnectdb("");
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "anchor-fcgi: %s", PQerrorMessage(db));
		return 1;
	}
	FCGX_InitRequest(&rq, 0, 0);
	while (!stop_flag && FCGX_Accept_r(&rq) == 0) {
		uri = FCGX_GetParam("REQUEST_URI", rq.envp);
		if (uri != NULL && strncmp(uri, "/health", 7) == 0)
			reply(&rq, 200, "{\"status\":\"live\"}");
		else
			record(&rq, db);
		FCGX_Finish_r(&rq);
	}
	PQfinish(db);
	return 0;
}

int
main(int argc, char **argv)
{
	pid_t		 pids[MAX_WORKERS];
	const char	*w = getenv("ANCHOR_WORKERS");
	int		 i, n = w != NULL ? atoi(w) : 8;
	struct sigaction sa;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--check-config") == 0)
			return 0;
	if (n < 1 || n > MAX_WORKERS)
		n = 8;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (FCGX_Init() != 0)
		return 1;
	for (i = 0; i < n; i++) {
		if ((pids[i] = fork()) == 0)
			_exit(worker());
		if (pids[i] < 0) {
			perror("anchor-fcgi: fork");
			n = i;
			break;
		}
	}
	while (!stop_flag)
		pause();
	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
