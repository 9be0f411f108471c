/* h_test.c — endpoints for the black-box tests; never in a release. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "handlers.h"
#include "json.h"
#include "worker.h"

/* GET /_test/sleep?ms=N: holds the worker busy, for timeout tests. */
enum lerr
h_test_sleep(struct request *req, struct response *res)
{
	const char	*ms = request_query(req, "ms");
	long		 n;
	struct timespec	 ts;

	if (ms == NULL || strspn(ms, "0123456789") != strlen(ms) ||
	    strlen(ms) == 0 || strlen(ms) > 7)
		return problem_field(&req->problem, req->arena,
		    LERR_BAD_REQUEST, "ms", "must be 0 to 9999999");
	n = strtol(ms, NULL, 10);
	ts.tv_sec = n / 1000;
	ts.tv_nsec = (n % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1)
		;
	response_json(res, 200);
	buf_printf(&res->body, "{\"slept_ms\":%ld}\n", n);
	return LERR_OK;
}

/* GET /_test/db: one statement, as every database route will run them. */
enum lerr
h_test_db(struct request *req, struct response *res)
{
	PGresult	*r;
	enum lerr	 e;

	if ((e = db_query(req->worker->db, "SELECT 1", 0, NULL, &r)) != LERR_OK)
		return e;
	PQclear(r);
	response_json(res, 200);
	buf_puts(&res->body, "{\"db\":\"ok\"}\n");
	return LERR_OK;
}

/* POST /_test/echo: the JSON checks on a small document. */
enum lerr
h_test_echo(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "name", JK_STRING, 1, 1, 64 },
		{ "count", JK_INT, 1, 0, 1000000 },
		{ "amount_minor", JK_INT, 0, -1000000000000LL, 1000000000000LL },
		{ "flag", JK_BOOL, 0, 0, 0 },
		{ "attributes", JK_OBJECT, 0, 0, 0 },
		{ "tags", JK_ARRAY, 0, 0, 0 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*doc, *v;
	enum lerr		 e;

	if ((e = json_parse_body(req->body, req->body_len, &doc, &req->problem,
	    req->arena)) != LERR_OK)
		return e;
	if ((e = json_check_object(doc, spec, &req->problem, req->arena)) !=
	    LERR_OK) {
		json_object_put(doc);
		return e;
	}
	response_json(res, 200);
	json_object_object_get_ex(doc, "name", &v);
	buf_puts(&res->body, "{\"name\":");
	buf_json_str(&res->body, json_object_get_string(v));
	json_object_object_get_ex(doc, "count", &v);
	buf_printf(&res->body, ",\"count\":%lld}\n",
	    (long long)json_object_get_int64(v));
	json_object_put(doc);
	return LERR_OK;
}
