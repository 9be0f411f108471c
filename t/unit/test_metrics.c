/* test_metrics.c — counters in shared memory, Prometheus text, /status. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <json-c/json.h>

#include "metrics.h"
#include "version.h"

static const struct route table[] = {
	{ "GET",  "/a", NULL, ACCESS_ANYONE, 0 },
	{ "POST", "/b/{id}", NULL, ACCESS_ANYONE, 0 },
	{ "GET",  "/quiet", NULL, ACCESS_ANYONE, 0 },
};
#define NROUTES	(sizeof(table) / sizeof(table[0]))

/* route numbers as metrics_request takes them: index + 1, 0 = none */
#define R_NONE	0
#define R_A	1
#define R_B	2

struct fixture {
	struct shm	*shm;
	struct arena	*a;
	char		*text;		/* the last render */
};

static int
setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->shm = calloc(1, sizeof(*f->shm));
	if (f->shm == NULL)
		return -1;
	f->a = arena_new(0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	free(f->shm);
	arena_free(f->a);
	test_free(f);
	return 0;
}

static char *
render(struct fixture *f)
{
	struct buf b;

	buf_init(&b, f->a);
	metrics_render(f->shm, table, NROUTES, &b);
	f->text = buf_cstr(&b);
	return f->text;
}

/* Asserts that text has line as one whole line. */
static void
assert_line(const char *text, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p++;
	}
	fail_msg("line not found: %s\n--- in ---\n%s", line, text);
}

static void
assert_no_line_starting(const char *text, const char *prefix)
{
	const char *p = text;

	while ((p = strstr(p, prefix)) != NULL) {
		if (p == text || p[-1] == '\n')
			fail_msg("unexpected line: %.*s", (int)strcspn(p, "\n"),
			    p);
		p++;
	}
}

static int
get_method(const char *m)
{
	return metrics_method_index(m);
}

static void
test_metrics_method_and_status_indexes(void **state)
{
	(void)state;
	assert_int_equal(metrics_method_index("GET"), 0);
	assert_int_equal(metrics_method_index("DELETE"), 5);
	assert_int_equal(metrics_method_index("BREW"), METRIC_METHODS - 1);
	assert_int_equal(metrics_method_index("get"), METRIC_METHODS - 1);
	/* Every status lands inside the table. */
	for (int s = 0; s < 1000; s++) {
		int i = metrics_status_index(s);

		assert_true(i >= 0 && i < METRIC_STATUSES);
	}
	assert_int_not_equal(metrics_status_index(200),
	    metrics_status_index(201));
	assert_int_equal(metrics_status_index(299), metrics_status_index(250));
	assert_int_not_equal(metrics_status_index(299),
	    metrics_status_index(200));
}

static void
test_metrics_requests_total_by_route_method_status(void **state)
{
	struct fixture	*f = *state;
	char		*t;
	int		 i;

	for (i = 0; i < 3; i++)
		metrics_request(f->shm, R_A, get_method("GET"), 200, 0.0004);
	metrics_request(f->shm, R_A, get_method("GET"), 404, 0.003);
	metrics_request(f->shm, R_A, get_method("HEAD"), 200, 0.001);
	metrics_request(f->shm, R_B, get_method("POST"), 201, 0.02);
	metrics_request(f->shm, R_B, get_method("POST"), 201, 0.02);
	metrics_request(f->shm, R_B, get_method("BREW"), 405, 0.0001);
	t = render(f);
	assert_line(t, "# TYPE loyalty_http_requests_total counter");
	assert_line(t, "loyalty_http_requests_total{route=\"/a\",method=\"GET\","
	    "status=\"200\"} 3");
	assert_line(t, "loyalty_http_requests_total{route=\"/a\",method=\"GET\","
	    "status=\"404\"} 1");
	assert_line(t, "loyalty_http_requests_total{route=\"/a\",method=\"HEAD\","
	    "status=\"200\"} 1");
	assert_line(t, "loyalty_http_requests_total{route=\"/b/{id}\","
	    "method=\"POST\",status=\"201\"} 2");
	assert_line(t, "loyalty_http_requests_total{route=\"/b/{id}\","
	    "method=\"OTHER\",status=\"405\"} 1");
	/* Zero series are left out. */
	assert_null(strstr(t, "route=\"/quiet\""));
	assert_null(strstr(t, "status=\"500\""));
}

static void
test_metrics_unmatched_route_label(void **state)
{
	struct fixture	*f = *state;
	char		*t;

	metrics_request(f->shm, R_NONE, get_method("GET"), 404, 0.001);
	metrics_request(f->shm, R_NONE, get_method("GET"), 404, 0.001);
	/* Out-of-range route numbers count as unmatched too. */
	metrics_request(f->shm, -5, get_method("GET"), 404, 0.001);
	metrics_request(f->shm, METRIC_ROUTES, get_method("GET"), 404, 0.001);
	t = render(f);
	assert_line(t, "loyalty_http_requests_total{route=\"unmatched\","
	    "method=\"GET\",status=\"404\"} 4");
	assert_line(t, "loyalty_http_request_duration_seconds_count"
	    "{route=\"unmatched\"} 4");
}

static void
test_metrics_unknown_status_counts_in_its_class(void **state)
{
	struct fixture	*f = *state;
	char		*t;

	metrics_request(f->shm, R_A, get_method("GET"), 299, 0.001);
	metrics_request(f->shm, R_A, get_method("GET"), 250, 0.001);
	metrics_request(f->shm, R_A, get_method("GET"), 418, 0.001);
	metrics_request(f->shm, R_A, get_method("GET"), 599, 0.001);
	metrics_request(f->shm, R_A, get_method("GET"), 103, 0.001);
	metrics_request(f->shm, R_A, get_method("GET"), 308, 0.001);
	t = render(f);
	assert_line(t, "loyalty_http_requests_total{route=\"/a\",method=\"GET\","
	    "status=\"2xx\"} 2");
	assert_line(t, "loyalty_http_requests_total{route=\"/a\",method=\"GET\","
	    "status=\"4xx\"} 1");
	assert_line(t, "loyalty_http_requests_total{route=\"/a\",method=\"GET\","
	    "status=\"5xx\"} 1");
	assert_line(t, "loyalty_http_requests_total{route=\"/a\",method=\"GET\","
	    "status=\"1xx\"} 1");
	assert_line(t, "loyalty_http_requests_total{route=\"/a\",method=\"GET\","
	    "status=\"3xx\"} 1");
	assert_null(strstr(t, "status=\"299\""));
}

static void
test_metrics_histogram_buckets_are_cumulative(void **state)
{
	struct fixture	*f = *state;
	char		*t;
	const char	*h = "loyalty_http_request_duration_seconds";
	char		 line[256];
	static const struct {
		const char	*le;
		int		 n;
	} want[] = {
		{ "0.0005", 3 }, { "0.001", 4 }, { "0.0025", 4 },
		{ "0.005", 5 }, { "0.01", 5 }, { "0.025", 5 }, { "0.05", 5 },
		{ "0.1", 5 }, { "0.25", 6 }, { "0.5", 6 }, { "1", 7 },
		{ "5", 7 }, { "+Inf", 8 },
	};
	size_t		 i;

	metrics_request(f->shm, R_A, 0, 200, 0.0001);
	metrics_request(f->shm, R_A, 0, 200, 0.0004);
	metrics_request(f->shm, R_A, 0, 200, 0.0005);	/* le is inclusive */
	metrics_request(f->shm, R_A, 0, 200, 0.001);
	metrics_request(f->shm, R_A, 0, 200, 0.004);
	metrics_request(f->shm, R_A, 0, 200, 0.25);
	metrics_request(f->shm, R_A, 0, 200, 0.75);
	metrics_request(f->shm, R_A, 0, 500, 30.0);
	t = render(f);
	assert_line(t, "# TYPE loyalty_http_request_duration_seconds histogram");
	assert_int_equal(sizeof(want) / sizeof(want[0]), HIST_BUCKETS + 1);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(line, sizeof(line), "%s_bucket{route=\"/a\",le=\"%s\"} %d",
		    h, want[i].le, want[i].n);
		assert_line(t, line);
	}
	snprintf(line, sizeof(line), "%s_count{route=\"/a\"} 8", h);
	assert_line(t, line);
	/* 0.0001+0.0004+0.0005+0.001+0.004+0.25+0.75+30 */
	snprintf(line, sizeof(line), "%s_sum{route=\"/a\"} 31.006000", h);
	assert_line(t, line);
	/* A route with no requests has no histogram. */
	assert_null(strstr(t, "_bucket{route=\"/quiet\""));
	assert_null(strstr(t, "_bucket{route=\"/b/{id}\""));
}

static void
test_metrics_histogram_count_equals_observations_per_route(void **state)
{
	struct fixture	*f = *state;
	char		*t;
	int		 i;

	for (i = 0; i < 17; i++)
		metrics_request(f->shm, R_B, get_method("POST"), 201,
		    (double)i / 10);
	metrics_request(f->shm, R_A, 0, 200, 0.01);
	t = render(f);
	assert_line(t, "loyalty_http_request_duration_seconds_count"
	    "{route=\"/b/{id}\"} 17");
	assert_line(t, "loyalty_http_request_duration_seconds_bucket"
	    "{route=\"/b/{id}\",le=\"+Inf\"} 17");
	assert_line(t, "loyalty_http_request_duration_seconds_count"
	    "{route=\"/a\"} 1");
	assert_line(t, "loyalty_http_request_duration_seconds_bucket"
	    "{route=\"/a\",le=\"+Inf\"} 1");
}

static void
test_metrics_in_flight_and_workers_come_from_slots(void **state)
{
	struct fixture	*f = *state;
	char		*t;

	f->shm->slots[0].state = SLOT_IDLE;
	f->shm->slots[1].state = SLOT_BUSY;
	f->shm->slots[2].state = SLOT_BUSY;
	f->shm->slots[3].state = SLOT_STARTING;
	f->shm->slots[4].state = SLOT_EXITING;
	f->shm->slots[5].state = SLOT_IDLE;
	f->shm->slots[SB_SLOTS - 1].state = SLOT_BUSY;
	f->shm->slots[70].state = SLOT_IDLE;
	f->shm->slots[71].state = 99;		/* garbage: ignored */
	f->shm->slots[72].state = -1;
	t = render(f);
	assert_line(t, "# TYPE loyalty_http_requests_in_flight gauge");
	assert_line(t, "loyalty_http_requests_in_flight 3");
	assert_line(t, "# TYPE loyalty_workers gauge");
	assert_line(t, "loyalty_workers{state=\"starting\"} 1");
	assert_line(t, "loyalty_workers{state=\"idle\"} 3");
	assert_line(t, "loyalty_workers{state=\"busy\"} 3");
	assert_line(t, "loyalty_workers{state=\"exiting\"} 1");
	assert_null(strstr(t, "state=\"free\""));
	assert_null(strstr(t, "state=\"unknown\""));
}

static void
test_metrics_empty_pool_renders_zero_gauges(void **state)
{
	struct fixture	*f = *state;
	char		*t = render(f);

	assert_line(t, "loyalty_http_requests_in_flight 0");
	assert_line(t, "loyalty_workers{state=\"idle\"} 0");
	assert_line(t, "loyalty_worker_restarts_total{reason=\"crash\"} 0");
	assert_line(t, "loyalty_db_errors_total 0");
	assert_line(t, "loyalty_db_query_duration_seconds_count 0");
	assert_line(t, "loyalty_db_query_duration_seconds_bucket{le=\"+Inf\"} 0");
	assert_no_line_starting(t, "loyalty_http_requests_total{");
	assert_no_line_starting(t, "loyalty_http_request_duration_seconds_");
}

static void
test_metrics_worker_restarts_by_reason(void **state)
{
	struct fixture	*f = *state;
	char		*t;

	metrics_restart(f->shm, RESTART_CRASH);
	metrics_restart(f->shm, RESTART_CRASH);
	metrics_restart(f->shm, RESTART_TIMEOUT);
	metrics_restart(f->shm, RESTART_MAX_REQUESTS);
	metrics_restart(f->shm, RESTART_MAX_REQUESTS);
	metrics_restart(f->shm, RESTART_MAX_REQUESTS);
	t = render(f);
	assert_line(t, "# TYPE loyalty_worker_restarts_total counter");
	assert_line(t, "loyalty_worker_restarts_total{reason=\"crash\"} 2");
	assert_line(t, "loyalty_worker_restarts_total{reason=\"max_requests\"} 3");
	assert_line(t, "loyalty_worker_restarts_total{reason=\"timeout\"} 1");
	assert_line(t, "loyalty_worker_restarts_total{reason=\"reload\"} 0");
	assert_null(strstr(t, "reason=\"none\""));
}

static void
test_metrics_db_counters_and_histogram(void **state)
{
	struct fixture	*f = *state;
	char		*t;

	metrics_db_query(f->shm, 0.001);
	metrics_db_query(f->shm, 0.001);
	metrics_db_query(f->shm, 0.3);
	metrics_db_error(f->shm);
	metrics_db_error(f->shm);
	metrics_db_error(f->shm);
	metrics_db_reconnect(f->shm);
	t = render(f);
	assert_line(t, "# TYPE loyalty_db_query_duration_seconds histogram");
	assert_line(t, "loyalty_db_query_duration_seconds_bucket{le=\"0.0005\"} 0");
	assert_line(t, "loyalty_db_query_duration_seconds_bucket{le=\"0.001\"} 2");
	assert_line(t, "loyalty_db_query_duration_seconds_bucket{le=\"0.25\"} 2");
	assert_line(t, "loyalty_db_query_duration_seconds_bucket{le=\"0.5\"} 3");
	assert_line(t, "loyalty_db_query_duration_seconds_bucket{le=\"+Inf\"} 3");
	assert_line(t, "loyalty_db_query_duration_seconds_count 3");
	assert_line(t, "loyalty_db_query_duration_seconds_sum 0.302000");
	assert_line(t, "# TYPE loyalty_db_errors_total counter");
	assert_line(t, "loyalty_db_errors_total 3");
	assert_line(t, "# TYPE loyalty_db_reconnects_total counter");
	assert_line(t, "loyalty_db_reconnects_total 1");
	/* Database time is not request time. */
	assert_no_line_starting(t, "loyalty_http_request_duration_seconds_");
}

static void
test_metrics_build_info_present(void **state)
{
	struct fixture	*f = *state;
	char		 line[256];

	snprintf(line, sizeof(line), "loyalty_build_info{version=\"%s\","
	    "commit=\"%s\",schema=\"%d\"} 1", LOYALTY_VERSION, LOYALTY_COMMIT,
	    LOYALTY_SCHEMA_VERSION);
	assert_line(render(f), line);
	assert_line(f->text, "# TYPE loyalty_build_info gauge");
}

/*
 * Every line is a comment (HELP or TYPE) or a sample, each family has its
 * HELP and TYPE before its samples, and the text ends with a newline.
 */
static void
test_metrics_output_is_well_formed_exposition(void **state)
{
	struct fixture	*f = *state;
	regex_t		 sample, comment;
	char		*t, *line, *save = NULL;
	char		 typed[64][80];
	int		 ntyped = 0, nsamples = 0;

	metrics_request(f->shm, R_A, 0, 200, 0.01);
	metrics_request(f->shm, R_NONE, 1, 404, 0.01);
	metrics_db_query(f->shm, 0.002);
	f->shm->slots[3].state = SLOT_BUSY;
	t = render(f);
	assert_true(strlen(t) > 0);
	assert_int_equal(t[strlen(t) - 1], '\n');
	assert_int_equal(regcomp(&sample, "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
	    "(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\\})? "
	    "[0-9]+(\\.[0-9]+)?$", REG_EXTENDED), 0);
	assert_int_equal(regcomp(&comment, "^# (HELP|TYPE) ([a-z_]+) ",
	    REG_EXTENDED), 0);
	t = arena_strdup(f->a, t);
	for (line = strtok_r(t, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		regmatch_t	m[3];
		char		name[80];
		int		i, found = 0;

		if (regexec(&comment, line, 3, m, 0) == 0) {
			if (strncmp(line, "# TYPE", 6) == 0) {
				assert_true(ntyped < 64);
				snprintf(typed[ntyped++], sizeof(typed[0]),
				    "%.*s", (int)(m[2].rm_eo - m[2].rm_so),
				    line + m[2].rm_so);
			}
			continue;
		}
		if (regexec(&sample, line, 2, m, 0) != 0)
			fail_msg("malformed line: %s", line);
		nsamples++;
		snprintf(name, sizeof(name), "%.*s",
		    (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
		for (i = 0; i < ntyped && !found; i++) {
			size_t n = strlen(typed[i]);

			found = strncmp(name, typed[i], n) == 0 &&
			    (name[n] == '\0' || strcmp(name + n, "_bucket") == 0 ||
			    strcmp(name + n, "_sum") == 0 ||
			    strcmp(name + n, "_count") == 0);
		}
		if (!found)
			fail_msg("sample before its TYPE: %s", line);
	}
	regfree(&sample);
	regfree(&comment);
	assert_true(nsamples > 20);
	assert_true(ntyped >= 9);
}

static void
test_metrics_counters_accumulate_across_renders(void **state)
{
	struct fixture	*f = *state;

	metrics_request(f->shm, R_A, 0, 200, 0.01);
	assert_line(render(f), "loyalty_http_requests_total{route=\"/a\","
	    "method=\"GET\",status=\"200\"} 1");
	metrics_request(f->shm, R_A, 0, 200, 0.01);
	assert_line(render(f), "loyalty_http_requests_total{route=\"/a\","
	    "method=\"GET\",status=\"200\"} 2");
	assert_int_equal(f->shm->requests[R_A][0][metrics_status_index(200)], 2);
}

/* ---- /status ---- */

static struct json_object *
parse_json(const char *s)
{
	struct json_tokener	*tok = json_tokener_new();
	struct json_object	*o;

	assert_non_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)strlen(s));
	if (json_tokener_get_error(tok) != json_tokener_success)
		fail_msg("not JSON: %s", s);
	json_tokener_free(tok);
	return o;
}

static int64_t
get_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\"", key);
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

static const char *
get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\"", key);
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static void
fill_slot(struct shm *s, int i, int state, pid_t pid, uint64_t requests)
{
	int64_t now = mono_ns();

	s->slots[i].state = state;
	s->slots[i].pid = pid;
	s->slots[i].generation = 2;
	s->slots[i].requests = requests;
	s->slots[i].last_status = 200;
	s->slots[i].db_ok = 1;
	s->slots[i].started_ns = now - 5 * (int64_t)1000000000;
}

static void
test_scoreboard_render_is_json_with_totals_from_slots(void **state)
{
	static const int	 want_slot[] = { 0, 1, 2, 7, 9, 10 };
	struct fixture		*f = *state;
	struct json_object	*doc, *workers, *w, *v;
	struct buf		 b;
	int64_t			 now = mono_ns();
	size_t			 i;

	f->shm->master_pid = 1000;
	f->shm->master_started_ns = now - 90 * (int64_t)1000000000;
	fill_slot(f->shm, 0, SLOT_IDLE, 1001, 10);
	fill_slot(f->shm, 1, SLOT_BUSY, 1002, 20);
	f->shm->slots[1].route = R_B;
	f->shm->slots[1].method = get_method("POST");
	f->shm->slots[1].req_start_ns = now - 2 * (int64_t)1000000000;
	fill_slot(f->shm, 2, SLOT_STARTING, 1003, 0);
	f->shm->slots[2].db_ok = 0;
	fill_slot(f->shm, 7, SLOT_IDLE, 1008, 5);
	fill_slot(f->shm, 9, SLOT_EXITING, 1010, 10000);
	fill_slot(f->shm, 10, SLOT_BUSY, 1011, 1);
	f->shm->slots[10].route = R_NONE;
	f->shm->slots[10].req_start_ns = now;

	buf_init(&b, f->a);
	scoreboard_render(f->shm, table, NROUTES, &b);
	doc = parse_json(buf_cstr(&b));
	assert_int_equal(get_int(doc, "master_pid"), 1000);
	assert_true(get_int(doc, "uptime_seconds") >= 90);
	assert_int_equal(get_int(doc, "total"), 6);
	assert_int_equal(get_int(doc, "active"), 2);
	assert_int_equal(get_int(doc, "idle"), 2);
	assert_true(json_object_object_get_ex(doc, "workers", &workers));
	assert_int_equal(json_object_array_length(workers), 6);

	/* Slots appear in order, free ones left out. */
	for (i = 0; i < 6; i++)
		assert_int_equal(get_int(json_object_array_get_idx(workers, i),
		    "slot"), want_slot[i]);

	w = json_object_array_get_idx(workers, 0);
	assert_int_equal(get_int(w, "pid"), 1001);
	assert_int_equal(get_int(w, "generation"), 2);
	assert_string_equal(get_str(w, "state"), "idle");
	assert_int_equal(get_int(w, "requests"), 10);
	assert_int_equal(get_int(w, "last_status"), 200);
	assert_true(json_object_object_get_ex(w, "db", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(get_int(w, "uptime_seconds") >= 5);
	assert_false(json_object_object_get_ex(w, "route", &v));

	w = json_object_array_get_idx(workers, 1);
	assert_string_equal(get_str(w, "state"), "busy");
	assert_string_equal(get_str(w, "route"), "/b/{id}");
	assert_string_equal(get_str(w, "method"), "POST");
	assert_true(get_int(w, "elapsed_ms") >= 2000);

	w = json_object_array_get_idx(workers, 2);
	assert_string_equal(get_str(w, "state"), "starting");
	assert_true(json_object_object_get_ex(w, "db", &v));
	assert_false(json_object_get_boolean(v));

	w = json_object_array_get_idx(workers, 4);
	assert_string_equal(get_str(w, "state"), "exiting");
	assert_int_equal(get_int(w, "requests"), 10000);

	w = json_object_array_get_idx(workers, 5);
	assert_string_equal(get_str(w, "route"), "unmatched");
	assert_string_equal(get_str(w, "method"), "GET");
	json_object_put(doc);
}

static void
test_scoreboard_render_of_empty_pool(void **state)
{
	struct fixture		*f = *state;
	struct json_object	*doc, *workers;
	struct buf		 b;

	f->shm->master_pid = 42;
	f->shm->master_started_ns = mono_ns();
	buf_init(&b, f->a);
	scoreboard_render(f->shm, table, NROUTES, &b);
	doc = parse_json(buf_cstr(&b));
	assert_int_equal(get_int(doc, "total"), 0);
	assert_int_equal(get_int(doc, "active"), 0);
	assert_int_equal(get_int(doc, "idle"), 0);
	assert_true(json_object_object_get_ex(doc, "workers", &workers));
	assert_int_equal(json_object_array_length(workers), 0);
	json_object_put(doc);
}

static void
test_scoreboard_render_with_every_slot_busy(void **state)
{
	struct fixture		*f = *state;
	struct json_object	*doc, *workers;
	struct buf		 b;
	int			 i;

	f->shm->master_started_ns = mono_ns();
	for (i = 0; i < SB_SLOTS; i++) {
		fill_slot(f->shm, i, SLOT_BUSY, 2000 + i, (uint64_t)i);
		f->shm->slots[i].route = 1 + i % (int)NROUTES;
		f->shm->slots[i].req_start_ns = mono_ns();
	}
	buf_init(&b, f->a);
	scoreboard_render(f->shm, table, NROUTES, &b);
	doc = parse_json(buf_cstr(&b));
	assert_int_equal(get_int(doc, "total"), SB_SLOTS);
	assert_int_equal(get_int(doc, "active"), SB_SLOTS);
	assert_int_equal(get_int(doc, "idle"), 0);
	assert_true(json_object_object_get_ex(doc, "workers", &workers));
	assert_int_equal(json_object_array_length(workers), SB_SLOTS);
	json_object_put(doc);
	/* And the Prometheus gauge agrees with /status. */
	assert_line(render(f), "loyalty_http_requests_in_flight 128");
}

static void
test_shm_create_is_zeroed_and_state_names(void **state)
{
	struct shm	*s = shm_create();
	size_t		 i;
	const unsigned char *p = (const unsigned char *)s;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < sizeof(*s); i += 4096)
		assert_int_equal(p[i], 0);
	assert_int_equal(s->slots[SB_SLOTS - 1].state, SLOT_FREE);
	assert_string_equal(slot_state_name(SLOT_FREE), "free");
	assert_string_equal(slot_state_name(SLOT_BUSY), "busy");
	assert_string_equal(slot_state_name(SLOT__COUNT), "unknown");
	assert_string_equal(slot_state_name(-1), "unknown");
	assert_string_equal(restart_reason_name(RESTART_CRASH), "crash");
	assert_string_equal(restart_reason_name(RESTART__COUNT), "unknown");
	assert_true(mono_ns() > 0);
	assert_int_equal(munmap(s, sizeof(*s)), 0);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_method_and_status_indexes),
		T(test_metrics_requests_total_by_route_method_status),
		T(test_metrics_unmatched_route_label),
		T(test_metrics_unknown_status_counts_in_its_class),
		T(test_metrics_histogram_buckets_are_cumulative),
		T(test_metrics_histogram_count_equals_observations_per_route),
		T(test_metrics_in_flight_and_workers_come_from_slots),
		T(test_metrics_empty_pool_renders_zero_gauges),
		T(test_metrics_worker_restarts_by_reason),
		T(test_metrics_db_counters_and_histogram),
		T(test_metrics_build_info_present),
		T(test_metrics_output_is_well_formed_exposition),
		T(test_metrics_counters_accumulate_across_renders),
		T(test_scoreboard_render_is_json_with_totals_from_slots),
		T(test_scoreboard_render_of_empty_pool),
		T(test_scoreboard_render_with_every_slot_busy),
		cmocka_unit_test(test_shm_create_is_zeroed_and_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
