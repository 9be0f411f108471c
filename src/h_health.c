/* h_health.c — liveness, readiness, startup, version, metrics, status. */
#include <stdio.h>
#include <string.h>

#include <json-c/json_c_version.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "db.h"
#include "handlers.h"
#include "metrics.h"
#include "version.h"
#include "worker.h"

enum lerr
h_health_live(struct request *req, struct response *res)
{
	static char	body[64];
	static int	body_pid = -1;
	static size_t	body_len;
	int		pid = (int)req->worker->slot->pid;

	if (pid != body_pid) {
		body_len = (size_t)snprintf(body, sizeof(body),
		    "{\"status\":\"ok\",\"pid\":%d}\n", pid);
		body_pid = pid;
	}
	response_json(res, 200);
	buf_append(&res->body, body, body_len);
	return LERR_OK;
}

/*
 * One round trip gives both checks: the database answers (with its
 * latency) and the schema is at the version this build expects.
 */
enum lerr
h_health_ready(struct request *req, struct response *res)
{
	struct worker	*w = req->worker;
	struct buf	 checks;
	long		 version = -1;
	double		 ms = 0;
	enum lerr	 e;
	const char	*db_status, *schema_status, *failing = NULL;

	e = db_schema_version(w->db, &version, &ms);
	db_status = e == LERR_DB_UNAVAILABLE ? "fail" : "ok";
	schema_status = e == LERR_OK && version == w->schema_expected ?
	    "ok" : "fail";
	if (e == LERR_DB_UNAVAILABLE)
		failing = "database";
	else if (strcmp(schema_status, "ok") != 0)
		failing = "schema";
	buf_init(&checks, req->arena);
	buf_printf(&checks, "\"checks\":[{\"name\":\"database\",\"status\":"
	    "\"%s\",\"latency_ms\":%.3f},{\"name\":\"schema\",\"status\":\"%s\","
	    "\"latency_ms\":%.3f,\"expected\":%ld,\"found\":%ld}]", db_status,
	    ms, schema_status, ms, w->schema_expected, version);
	if (failing != NULL) {
		req->problem.extra_json = buf_cstr(&checks);
		if (e == LERR_DB_UNAVAILABLE)
			req->problem.retry_after = db_retry_after(w->db);
		return problem_set(&req->problem, req->arena, LERR_NOT_READY,
		    "check failed: %s", failing);
	}
	(void)worker_verify_startup(w);
	response_json(res, 200);
	buf_printf(&res->body, "{\"status\":\"ok\",%s}\n", buf_cstr(&checks));
	return LERR_OK;
}

enum lerr
h_health_startup(struct request *req, struct response *res)
{
	if (!worker_verify_startup(req->worker))
		return problem_set(&req->problem, req->arena, LERR_NOT_READY,
		    "this worker has not yet verified its database and schema");
	response_json(res, 200);
	buf_puts(&res->body, "{\"status\":\"ok\"}\n");
	return LERR_OK;
}

enum lerr
h_health_version(struct request *req, struct response *res)
{
	int pq = PQlibVersion();

	(void)req;
	response_json(res, 200);
	buf_puts(&res->body, "{\"version\":");
	buf_json_str(&res->body, LOYALTY_VERSION);
	buf_puts(&res->body, ",\"commit\":");
	buf_json_str(&res->body, LOYALTY_COMMIT);
	buf_puts(&res->body, ",\"build_time\":");
	buf_json_str(&res->body, LOYALTY_BUILD_TIME);
	buf_printf(&res->body, ",\"schema_version\":%d,\"libpq\":\"%d.%d\","
	    "\"openssl\":", LOYALTY_SCHEMA_VERSION, pq / 10000, pq % 10000);
	buf_json_str(&res->body, OpenSSL_version(OPENSSL_VERSION));
	buf_puts(&res->body, ",\"json_c\":");
	buf_json_str(&res->body, json_c_version());
	buf_puts(&res->body, "}\n");
	return LERR_OK;
}

enum lerr
h_metrics(struct request *req, struct response *res)
{
	res->status = 200;
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
	metrics_render(req->worker->shm, routes, nroutes, &res->body);
	return LERR_OK;
}

enum lerr
h_status(struct request *req, struct response *res)
{
	response_json(res, 200);
	scoreboard_render(req->worker->shm, routes, nroutes, &res->body);
	return LERR_OK;
}
