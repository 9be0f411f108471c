/* metrics.c — counting into shared memory, and the Prometheus text. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "ratelimit.h"
#include "version.h"

const double hist_bounds[HIST_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5
};

static const char *const methods[METRIC_METHODS] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"
};

/* Statuses counted one by one; others fall into their class ("5xx"). */
static const int statuses[] = {
	200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 405, 406, 409,
	410, 411, 413, 414, 415, 422, 429, 431, 500, 501, 502, 503, 504
};
#define NSTATUS	(int)(sizeof(statuses) / sizeof(statuses[0]))
/* Indices NSTATUS.. NSTATUS+4 are the classes 1xx..5xx. */

#define ADD(p, n)	__atomic_fetch_add((p), (n), __ATOMIC_RELAXED)
#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)

int
metrics_method_index(const char *m)
{
	int i;

	for (i = 0; i < METRIC_METHODS - 1; i++)
		if (strcmp(m, methods[i]) == 0)
			return i;
	return METRIC_METHODS - 1;
}

int
metrics_status_index(int status)
{
	int i;

	for (i = 0; i < NSTATUS; i++)
		if (statuses[i] == status)
			return i;
	if (status < 100 || status > 599)
		status = 500;
	return NSTATUS + status / 100 - 1;
}

static void
status_label(int idx, char *out, size_t len)
{
	if (idx < NSTATUS)
		snprintf(out, len, "%d", statuses[idx]);
	else
		snprintf(out, len, "%dxx", idx - NSTATUS + 1);
}

static void
observe(struct histogram *h, double seconds)
{
	int i;

	for (i = 0; i < HIST_BUCKETS; i++)
		if (seconds <= hist_bounds[i])
			break;
	ADD(&h->bucket[i], 1);
	ADD(&h->sum_us, (uint64_t)(seconds * 1e6));
}

void
metrics_request(struct shm *s, int route, int method, int status,
    double seconds)
{
	if (route < 0 || route >= METRIC_ROUTES)
		route = 0;
	if (method < 0 || method >= METRIC_METHODS)
		method = METRIC_METHODS - 1;
	ADD(&s->requests[route][method][metrics_status_index(status)], 1);
	observe(&s->req_duration[route], seconds);
}

void
metrics_db_query(struct shm *s, double seconds)
{
	observe(&s->db_duration, seconds);
}

void
metrics_db_error(struct shm *s)
{
	ADD(&s->db_errors, 1);
}

void
metrics_db_reconnect(struct shm *s)
{
	ADD(&s->db_reconnects, 1);
}

void
metrics_restart(struct shm *s, enum restart_reason r)
{
	ADD(&s->restarts[r], 1);
}

void
metrics_biz(struct shm *s, enum biz b, uint64_t n)
{
	ADD(&s->biz[b], n);
}

void
metrics_event(struct shm *s, enum event_result r)
{
	ADD(&s->events[r], 1);
}

static const char *
route_label(const struct route *rt, size_t n, int idx)
{
	if (idx <= 0 || (size_t)idx > n)
		return "unmatched";
	return rt[idx - 1].pattern;
}

static void
render_histogram(struct buf *out, const char *name, const char *labels,
    const struct histogram *h)
{
	uint64_t	cum = 0;
	int		i;
	const char	*sep = labels[0] ? "," : "";

	for (i = 0; i < HIST_BUCKETS; i++) {
		cum += LOAD(&h->bucket[i]);
		buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
		    sep, hist_bounds[i], (unsigned long long)cum);
	}
	cum += LOAD(&h->bucket[HIST_BUCKETS]);
	buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
	    (unsigned long long)cum);
	if (labels[0]) {
		buf_printf(out, "%s_sum{%s} %.6f\n", name, labels,
		    (double)LOAD(&h->sum_us) / 1e6);
		buf_printf(out, "%s_count{%s} %llu\n", name, labels,
		    (unsigned long long)cum);
	} else {
		buf_printf(out, "%s_sum %.6f\n", name,
		    (double)LOAD(&h->sum_us) / 1e6);
		buf_printf(out, "%s_count %llu\n", name,
		    (unsigned long long)cum);
	}
}

static int
histogram_empty(const struct histogram *h)
{
	int i;

	for (i = 0; i <= HIST_BUCKETS; i++)
		if (LOAD(&h->bucket[i]) != 0)
			return 0;
	return 1;
}

static void
render_business(const struct shm *s, struct buf *out)
{
	static const char *const results[EV__COUNT] = {
		[EV_PROCESSED] = "processed", [EV_REPLAYED] = "replayed",
		[EV_CONFLICT] = "conflict", [EV_REFUSED] = "refused",
		[EV_INVALID] = "invalid",
	};
	static const struct {
		const char	*name, *help;
	} biz[BIZ__COUNT] = {
		[BIZ_RULES_MATCHED] = { "loyalty_rules_matched_total",
		    "Rules that gave an event points." },
		[BIZ_POINTS_AWARDED] = { "loyalty_points_awarded_total",
		    "Points earned by events." },
		[BIZ_POINTS_REDEEMED] = { "loyalty_points_redeemed_total",
		    "Points spent on rewards." },
		[BIZ_POINTS_REVERSED] = { "loyalty_points_reversed_total",
		    "Points clawed back by event reversals." },
		[BIZ_POINTS_ADJUSTED_UP] = {
		    "loyalty_points_adjusted_up_total",
		    "Points added by manual adjustments." },
		[BIZ_POINTS_ADJUSTED_DOWN] = {
		    "loyalty_points_adjusted_down_total",
		    "Points taken by manual adjustments." },
		[BIZ_VOUCHERS_ISSUED] = { "loyalty_vouchers_issued_total",
		    "Vouchers issued by redemptions." },
		[BIZ_VOUCHERS_USED] = { "loyalty_vouchers_used_total",
		    "Vouchers used at a counter." },
		[BIZ_VOUCHERS_CANCELLED] = {
		    "loyalty_vouchers_cancelled_total",
		    "Vouchers cancelled (their points refunded)." },
		[BIZ_BUDGET_LIMITED] = { "loyalty_budget_limited_awards_total",
		    "Awards a budget cut short or to nothing." },
		[BIZ_RULE_LOADS] = { "loyalty_rule_loads_total",
		    "Times a worker compiled a tenant's rules." },
	};
	int i;

	buf_puts(out, "# HELP loyalty_events_total Events received, by "
	    "result.\n# TYPE loyalty_events_total counter\n");
	for (i = 0; i < EV__COUNT; i++)
		buf_printf(out, "loyalty_events_total{result=\"%s\"} %llu\n",
		    results[i], (unsigned long long)LOAD(&s->events[i]));
	for (i = 0; i < BIZ__COUNT; i++)
		buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
		    biz[i].name, biz[i].help, biz[i].name, biz[i].name,
		    (unsigned long long)LOAD(&s->biz[i]));
}

void
metrics_render(const struct shm *s, const struct route *rt, size_t n,
    struct buf *out)
{
	int	states[SLOT__COUNT] = { 0 };
	int	r, m, st, in_flight = 0, i;
	char	label[16], labels[256];

	buf_puts(out, "# HELP loyalty_http_requests_total HTTP requests "
	    "answered by the pool.\n# TYPE loyalty_http_requests_total counter\n");
	for (r = 0; r <= (int)n && r < METRIC_ROUTES; r++)
		for (m = 0; m < METRIC_METHODS; m++)
			for (st = 0; st < METRIC_STATUSES; st++) {
				uint64_t v = LOAD(&s->requests[r][m][st]);

				if (v == 0)
					continue;
				status_label(st, label, sizeof(label));
				buf_printf(out, "loyalty_http_requests_total{"
				    "route=\"%s\",method=\"%s\",status=\"%s\"} "
				    "%llu\n", route_label(rt, n, r), methods[m],
				    label, (unsigned long long)v);
			}

	buf_puts(out, "# HELP loyalty_http_request_duration_seconds Time from "
	    "accept to the last byte of the response.\n"
	    "# TYPE loyalty_http_request_duration_seconds histogram\n");
	for (r = 0; r <= (int)n && r < METRIC_ROUTES; r++) {
		if (histogram_empty(&s->req_duration[r]))
			continue;
		snprintf(labels, sizeof(labels), "route=\"%s\"",
		    route_label(rt, n, r));
		render_histogram(out, "loyalty_http_request_duration_seconds",
		    labels, &s->req_duration[r]);
	}

	for (i = 0; i < SB_SLOTS; i++) {
		int state = LOAD(&s->slots[i].state);

		if (state <= SLOT_FREE || state >= SLOT__COUNT)
			continue;
		states[state]++;
		if (state == SLOT_BUSY)
			in_flight++;
	}
	buf_printf(out, "# HELP loyalty_http_requests_in_flight Requests being "
	    "served now.\n# TYPE loyalty_http_requests_in_flight gauge\n"
	    "loyalty_http_requests_in_flight %d\n", in_flight);
	buf_puts(out, "# HELP loyalty_workers Worker processes by state.\n"
	    "# TYPE loyalty_workers gauge\n");
	for (i = SLOT_STARTING; i < SLOT__COUNT; i++)
		buf_printf(out, "loyalty_workers{state=\"%s\"} %d\n",
		    slot_state_name(i), states[i]);

	buf_puts(out, "# HELP loyalty_worker_restarts_total Workers replaced, "
	    "by reason.\n# TYPE loyalty_worker_restarts_total counter\n");
	for (i = RESTART_CRASH; i < RESTART__COUNT; i++)
		buf_printf(out, "loyalty_worker_restarts_total{reason=\"%s\"} "
		    "%llu\n", restart_reason_name(i),
		    (unsigned long long)LOAD(&s->restarts[i]));

	buf_puts(out, "# HELP loyalty_db_query_duration_seconds Time of each "
	    "database statement.\n"
	    "# TYPE loyalty_db_query_duration_seconds histogram\n");
	render_histogram(out, "loyalty_db_query_duration_seconds", "",
	    &s->db_duration);
	buf_printf(out, "# HELP loyalty_db_errors_total Statements that failed."
	    "\n# TYPE loyalty_db_errors_total counter\n"
	    "loyalty_db_errors_total %llu\n",
	    (unsigned long long)LOAD(&s->db_errors));
	buf_printf(out, "# HELP loyalty_db_reconnects_total Connections "
	    "re-established after a failure.\n"
	    "# TYPE loyalty_db_reconnects_total counter\n"
	    "loyalty_db_reconnects_total %llu\n",
	    (unsigned long long)LOAD(&s->db_reconnects));
	/* Buckets dropped while still refilling: the table is too small. */
	if (s->limits != NULL)
		buf_printf(out, "# HELP loyalty_ratelimit_evictions_total Rate "
		    "limit buckets forgotten before they were full again.\n"
		    "# TYPE loyalty_ratelimit_evictions_total counter\n"
		    "loyalty_ratelimit_evictions_total %llu\n",
		    (unsigned long long)ratelimit_evictions(s->limits));
	render_business(s, out);
	buf_printf(out, "# HELP loyalty_build_info The running build.\n"
	    "# TYPE loyalty_build_info gauge\n"
	    "loyalty_build_info{version=\"%s\",commit=\"%s\",schema=\"%d\"} 1\n",
	    LOYALTY_VERSION, LOYALTY_COMMIT, LOYALTY_SCHEMA_VERSION);
}

void
scoreboard_render(const struct shm *s, const struct route *rt, size_t n,
    struct buf *out)
{
	int64_t	now = mono_ns();
	int	i, first = 1, active = 0, idle = 0, total = 0;

	buf_printf(out, "{\"master_pid\":%d,\"uptime_seconds\":%lld,"
	    "\"workers\":[", (int)s->master_pid,
	    (long long)((now - s->master_started_ns) / 1000000000));
	for (i = 0; i < SB_SLOTS; i++) {
		const struct sb_slot	*sl = &s->slots[i];
		int			 state = LOAD(&sl->state);
		int64_t			 start = LOAD(&sl->req_start_ns);

		if (state == SLOT_FREE)
			continue;
		total++;
		if (state == SLOT_BUSY)
			active++;
		else if (state == SLOT_IDLE)
			idle++;
		buf_printf(out, "%s{\"slot\":%d,\"pid\":%d,\"generation\":%u,"
		    "\"state\":\"%s\",\"requests\":%llu,\"last_status\":%d,"
		    "\"db\":%s,\"uptime_seconds\":%lld", first ? "" : ",", i,
		    (int)LOAD(&sl->pid), (unsigned)LOAD(&sl->generation),
		    slot_state_name(state),
		    (unsigned long long)LOAD(&sl->requests),
		    LOAD(&sl->last_status), LOAD(&sl->db_ok) ? "true" : "false",
		    (long long)((now - LOAD(&sl->started_ns)) / 1000000000));
		if (state == SLOT_BUSY && start != 0) {
			buf_puts(out, ",\"route\":");
			buf_json_str(out, route_label(rt, n, LOAD(&sl->route)));
			buf_printf(out, ",\"method\":\"%s\",\"elapsed_ms\":%lld",
			    methods[LOAD(&sl->method) & 7],
			    (long long)((now - start) / 1000000));
		}
		buf_putc(out, '}');
		first = 0;
	}
	buf_printf(out, "],\"total\":%d,\"active\":%d,\"idle\":%d}\n", total,
	    active, idle);
}
