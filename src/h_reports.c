/* h_reports.c — what a programme did, day by day in the tenant's zone. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "handlers.h"
#include "worker.h"

#define REPORT_MAX_DAYS	366

/*
 * One row per local day from $2 to $3 (dates): the ledger's entries by
 * kind, vouchers issued and used, members with an entry that day, and
 * what budgets were charged for the day's earnings. Then the totals.
 */
static const char summary_sql[] =
	"WITH t AS (SELECT timezone AS tz FROM tenants WHERE id = $1), "
	"r AS (SELECT ($2::date::timestamp AT TIME ZONE t.tz) AS lo, "
	"    (($3::date + 1)::timestamp AT TIME ZONE t.tz) AS hi, t.tz FROM t), "
	"days AS (SELECT d::date AS day FROM generate_series("
	"    $2::date::timestamp, $3::date::timestamp, interval '1 day') d), "
	"l AS (SELECT (l.at AT TIME ZONE r.tz)::date AS day, "
	"    sum(l.points) FILTER (WHERE l.kind = 'earn') AS earned, "
	"    -sum(l.points) FILTER (WHERE l.kind = 'redeem') AS redeemed, "
	"    sum(l.points) FILTER (WHERE l.kind = 'refund') AS refunded, "
	"    -sum(l.points) FILTER (WHERE l.kind = 'expire') AS expired, "
	"    -sum(l.points) FILTER (WHERE l.kind = 'reverse') AS reversed, "
	"    sum(l.points) FILTER (WHERE l.kind = 'adjust') AS adjusted, "
	"    count(DISTINCT l.member_id) AS active "
	"    FROM ledger l, r WHERE l.tenant_id = $1 AND l.at >= r.lo "
	"    AND l.at < r.hi GROUP BY 1), "
	"b AS (SELECT (l.at AT TIME ZONE r.tz)::date AS day, "
	"    sum((c->>'points')::bigint) AS budget "
	"    FROM ledger l JOIN events e ON e.tenant_id = l.tenant_id "
	"    AND e.event_id = l.event_id, r, jsonb_array_elements(e.budgets) c "
	"    WHERE l.tenant_id = $1 AND l.kind = 'earn' AND l.at >= r.lo "
	"    AND l.at < r.hi GROUP BY 1), "
	"vi AS (SELECT (v.created_at AT TIME ZONE r.tz)::date AS day, "
	"    count(*) AS n FROM vouchers v, r WHERE v.tenant_id = $1 "
	"    AND v.created_at >= r.lo AND v.created_at < r.hi GROUP BY 1), "
	"vu AS (SELECT (v.used_at AT TIME ZONE r.tz)::date AS day, "
	"    count(*) AS n FROM vouchers v, r WHERE v.tenant_id = $1 "
	"    AND v.used_at >= r.lo AND v.used_at < r.hi GROUP BY 1), "
	"per_day AS (SELECT jsonb_build_object('date', to_char(days.day, "
	"    'YYYY-MM-DD'), "
	"    'points_issued', coalesce(l.earned, 0), "
	"    'points_redeemed', coalesce(l.redeemed, 0), "
	"    'points_refunded', coalesce(l.refunded, 0), "
	"    'points_expired', coalesce(l.expired, 0), "
	"    'points_reversed', coalesce(l.reversed, 0), "
	"    'points_adjusted', coalesce(l.adjusted, 0), "
	"    'vouchers_issued', coalesce(vi.n, 0), "
	"    'vouchers_used', coalesce(vu.n, 0), "
	"    'active_members', coalesce(l.active, 0), "
	"    'budget_used', coalesce(b.budget, 0)) AS j, days.day "
	"    FROM days LEFT JOIN l USING (day) LEFT JOIN b USING (day) "
	"    LEFT JOIN vi USING (day) LEFT JOIN vu USING (day)) "
	"SELECT jsonb_build_object('from', to_char($2::date, 'YYYY-MM-DD'), "
	"    'to', to_char($3::date, 'YYYY-MM-DD'), "
	"    'timezone', (SELECT tz FROM t), "
	"    'days', coalesce(jsonb_agg(j ORDER BY day), '[]'), "
	"    'totals', jsonb_build_object("
	"    'points_issued', coalesce(sum((j->>'points_issued')::bigint), 0), "
	"    'points_redeemed', coalesce(sum((j->>'points_redeemed')::bigint), "
	"    0), "
	"    'points_refunded', coalesce(sum((j->>'points_refunded')::bigint), "
	"    0), "
	"    'points_expired', coalesce(sum((j->>'points_expired')::bigint), 0), "
	"    'points_reversed', coalesce(sum((j->>'points_reversed')::bigint), "
	"    0), "
	"    'points_adjusted', coalesce(sum((j->>'points_adjusted')::bigint), "
	"    0), "
	"    'vouchers_issued', coalesce(sum((j->>'vouchers_issued')::bigint), "
	"    0), "
	"    'vouchers_used', coalesce(sum((j->>'vouchers_used')::bigint), 0), "
	"    'active_members', (SELECT count(DISTINCT l.member_id) FROM "
	"    ledger l, r WHERE l.tenant_id = $1 AND l.at >= r.lo "
	"    AND l.at < r.hi), "
	"    'budget_used', coalesce(sum((j->>'budget_used')::bigint), 0)))"
	"::text FROM per_day";

/* A YYYY-MM-DD date, as days since the epoch; -1 when it is not one. */
static long
parse_date(const char *s)
{
	struct tm	tm;
	char		*end;
	time_t		t;
	int		mday, mon;

	if (s == NULL || strlen(s) != 10)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0' ||
	    tm.tm_year < 70 || tm.tm_year > 8099)
		return -1;
	mday = tm.tm_mday;
	mon = tm.tm_mon;
	t = timegm(&tm);
	/* timegm() moves 2026-02-30 to March 2: refuse a date that moved. */
	if (tm.tm_mday != mday || tm.tm_mon != mon)
		return -1;
	return (long)(t / 86400);
}

/*
 * GET /v1/reports/summary?from=YYYY-MM-DD&to=YYYY-MM-DD: both local dates
 * of the tenant's zone, inclusive, at most REPORT_MAX_DAYS apart.
 */
enum lerr
h_reports_summary(struct request *req, struct response *res)
{
	const char	*from = request_query(req, "from");
	const char	*to = request_query(req, "to");
	const char	*params[3];
	long		 f = parse_date(from), t = parse_date(to);
	PGresult	*r;
	enum lerr	 e;

	if (f == -1)
		problem_field(&req->problem, req->arena, LERR_BAD_REQUEST,
		    "from", "must be a date, YYYY-MM-DD");
	if (t == -1)
		problem_field(&req->problem, req->arena, LERR_BAD_REQUEST,
		    "to", "must be a date, YYYY-MM-DD");
	if (f != -1 && t != -1 && (t < f || t - f >= REPORT_MAX_DAYS))
		problem_field(&req->problem, req->arena, LERR_BAD_REQUEST,
		    "to", "must be from 'from' to %d days after it",
		    REPORT_MAX_DAYS - 1);
	if (req->problem.code != LERR_OK)
		return req->problem.code;
	params[0] = req->who.tenant_id;
	params[1] = from;
	params[2] = to;
	if ((e = db_query(req->worker->db, summary_sql, 3, params, &r)) !=
	    LERR_OK)
		return e;
	api_one(res, 200, r);
	PQclear(r);
	return db_commit(req->worker->db);
}
