/*
 * ctl_expire.c — loyaltyctl expire: the expiry run of every merchant
 * tenant (or one), hourly by loyalty-expire.timer. Each tenant is one
 * transaction running expire_due() (sql/0003_loyalty.sql) as the
 * application role, so that row-level security binds it even when the
 * administrator is a superuser; a tenant where something expired gets an
 * audit entry in the same transaction. A second run at once finds nothing
 * due and changes nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "shm.h"

#define APPNAME		"loyaltyctl expire"
/* pg_advisory_lock key: migrate's ("loyalty" as a number) plus two. */
#define EXPIRE_LOCK_KEY	"7813960851613440123"

/*
 * Merchant tenants of any status, read as the application with the
 * platform's door open (the one tenant with --tenant; NULL: all of them).
 */
static const char SQL_TENANTS[] =
    "SELECT id, slug FROM tenants WHERE kind = 'merchant' "
    "AND ($1::text IS NULL OR slug = $1::text) ORDER BY slug";

static const char SQL_EXPIRE[] =
    "SELECT lots_expired, points_expired, vouchers_expired "
    "FROM expire_due($1::text)";

static const char SQL_AUDIT[] =
    "INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, "
    "target_type, target_id, after, request_id) VALUES ($1::uuid, 'cli', "
    "$2::text, 'points.expire', 'tenant', $1::text, jsonb_build_object("
    "'lots_expired', $3::bigint, 'points_expired', $4::bigint, "
    "'vouchers_expired', $5::bigint), $6::text)";

/* What expire_due() did; the same three for a tenant and for the total. */
struct counts {
	long long	lots, points, vouchers;
};

struct run {
	PGconn		*c;
	const struct ctl *ctl;
	char		 request_id[64];	/* of every audit entry */
	struct counts	 total;
	int		 tenants, failed;
	json_object	*items, *failures;	/* with --json, else NULL */
};

/* One statement with parameters; NULL on error, with the error printed. */
static PGresult *
query(PGconn *c, const char *sql, int n, const char *const *params,
    const char *what)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) == PGRES_TUPLES_OK ||
	    PQresultStatus(r) == PGRES_COMMAND_OK)
		return r;
	fprintf(stderr, "loyaltyctl: expire: %s: %s", what,
	    PQerrorMessage(c));
	PQclear(r);
	return NULL;
}

/*
 * BEGIN, then the application's role for the rest of the transaction:
 * row-level security binds it as it binds loyaltyd, whatever the
 * administrator may bypass. 0 or -1 (reported).
 */
static int
begin_as_app(PGconn *c)
{
	if (ctl_exec(c, "BEGIN") == -1)
		return -1;
	if (ctl_exec(c, "SET LOCAL ROLE loyalty") == -1) {
		ctl_exec(c, "ROLLBACK");
		return -1;
	}
	return 0;
}

/* Session-level, like maintenance's: released when we disconnect. */
static int
lock(PGconn *c)
{
	PGresult	*r;
	int		 got;

	if ((r = query(c, "SELECT pg_try_advisory_lock(" EXPIRE_LOCK_KEY ")",
	    0, NULL, "the lock")) == NULL)
		return CTL_FAIL;
	got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!got) {
		fprintf(stderr, "loyaltyctl: another expire is running "
		    "(advisory lock " EXPIRE_LOCK_KEY " is held); try again "
		    "when it ends\n");
		return CTL_BUSY;
	}
	return CTL_OK;
}

/* The tenants to run, or NULL with *rc set (an unknown slug is usage). */
static PGresult *
tenants(PGconn *c, const char *slug, int *rc)
{
	const char	*params[1] = { slug };
	PGresult	*r;

	*rc = CTL_FAIL;
	if (begin_as_app(c) == -1)
		return NULL;
	if (ctl_exec(c, "SELECT set_config('loyalty.platform', 'on', true)")
	    == -1 || (r = query(c, SQL_TENANTS, 1, params,
	    "listing the tenants")) == NULL) {
		ctl_exec(c, "ROLLBACK");
		return NULL;
	}
	if (ctl_exec(c, "COMMIT") == -1) {
		PQclear(r);
		return NULL;
	}
	if (slug != NULL && PQntuples(r) == 0) {
		fprintf(stderr, "loyaltyctl: no merchant tenant with slug "
		    "\"%s\"\n", slug);
		PQclear(r);
		*rc = CTL_USAGE;
		return NULL;
	}
	*rc = CTL_OK;
	return r;
}

/*
 * One tenant's expiry and, when it changed something, its audit entry,
 * committed together. 0, with *n filled, or -1 (reported, rolled back).
 */
static int
expire_tenant(struct run *run, const char *id, const char *slug,
    struct counts *n)
{
	const char	*set[1] = { id };
	const char	*who[1] = { run->ctl->operator_name };
	char		 lots[24], points[24], vouchers[24];
	const char	*audit[6] = { id, run->ctl->operator_name, lots, points,
			    vouchers, run->request_id };
	PGresult	*r;

	if (begin_as_app(run->c) == -1)
		return -1;
	if ((r = query(run->c, "SELECT set_config('loyalty.tenant_id', $1, "
	    "true)", 1, set, slug)) == NULL)
		goto fail;
	PQclear(r);
	if ((r = query(run->c, SQL_EXPIRE, 1, who, slug)) == NULL)
		goto fail;
	n->lots = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	n->points = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	n->vouchers = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	if (n->lots > 0 || n->vouchers > 0) {
		snprintf(lots, sizeof(lots), "%lld", n->lots);
		snprintf(points, sizeof(points), "%lld", n->points);
		snprintf(vouchers, sizeof(vouchers), "%lld", n->vouchers);
		if ((r = query(run->c, SQL_AUDIT, 6, audit, slug)) == NULL)
			goto fail;
		PQclear(r);
	}
	if (ctl_exec(run->c, "COMMIT") == -1) {
		fprintf(stderr, "loyaltyctl: expire: %s: not committed\n",
		    slug);
		return -1;
	}
	return 0;
fail:
	ctl_exec(run->c, "ROLLBACK");
	return -1;
}

static json_object *
counts_json(const struct counts *n)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "lots_expired",
	    json_object_new_int64(n->lots));
	json_object_object_add(o, "points_expired",
	    json_object_new_int64(n->points));
	json_object_object_add(o, "vouchers_expired",
	    json_object_new_int64(n->vouchers));
	return o;
}

static void
report(struct run *run, const char *slug, const struct counts *n)
{
	json_object *o;

	if (run->items == NULL) {
		printf("expire %s: %lld lot%s (%lld points), %lld voucher%s "
		    "expired\n", slug, n->lots, n->lots == 1 ? "" : "s",
		    n->points, n->vouchers, n->vouchers == 1 ? "" : "s");
		fflush(stdout);		/* the journal shows it as it goes */
		return;
	}
	o = counts_json(n);
	json_object_object_add(o, "slug", json_object_new_string(slug));
	json_object_array_add(run->items, o);
}

static void
count_failure(struct run *run, const char *slug)
{
	run->failed++;
	if (run->failures != NULL)
		json_object_array_add(run->failures,
		    json_object_new_string(slug));
}

/* Every tenant in turn: one that fails is counted and the others run. */
static void
run_all(struct run *run, PGresult *list)
{
	struct counts	n;
	int		i;

	for (i = 0; i < PQntuples(list); i++) {
		const char *slug = PQgetvalue(list, i, 1);

		if (PQstatus(run->c) != CONNECTION_OK) {
			fprintf(stderr, "loyaltyctl: expire: %s: not run: "
			    "the connection is lost\n", slug);
			count_failure(run, slug);
			continue;
		}
		if (expire_tenant(run, PQgetvalue(list, i, 0), slug,
		    &n) == -1) {
			count_failure(run, slug);
			continue;
		}
		run->tenants++;
		run->total.lots += n.lots;
		run->total.points += n.points;
		run->total.vouchers += n.vouchers;
		report(run, slug, &n);
	}
}

static void
summary(struct run *run, int64_t t0)
{
	json_object *doc;

	if (run->items == NULL) {
		printf("expire: %d tenant%s, %lld lot%s (%lld points), %lld "
		    "voucher%s expired in %.0f ms\n", run->tenants,
		    run->tenants == 1 ? "" : "s", run->total.lots,
		    run->total.lots == 1 ? "" : "s", run->total.points,
		    run->total.vouchers, run->total.vouchers == 1 ? "" : "s",
		    (double)(mono_ns() - t0) / 1e6);
		return;
	}
	doc = json_object_new_object();
	json_object_object_add(doc, "tenants", run->items);
	json_object_object_add(doc, "totals", counts_json(&run->total));
	json_object_object_add(doc, "failed", run->failures);
	printf("%s\n", json_object_to_json_string_ext(doc,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
}

int
ctl_expire(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct run	 run;
	const char	*slug = NULL;
	PGresult	*list;
	int64_t		 t0 = mono_ns();
	int		 ch, json = 0, bad = 0, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't': slug = optarg; break;
		case 'j': json = 1; break;
		default: bad = 1; break;
		}
	}
	if (bad || optind != argc) {
		fprintf(stderr, "usage: loyaltyctl expire [--tenant SLUG] "
		    "[--json]\n");
		return CTL_USAGE;
	}
	memset(&run, 0, sizeof(run));
	run.ctl = ctl;
	snprintf(run.request_id, sizeof(run.request_id), "cli-%ld-%ld",
	    (long)getpid(), (long)time(NULL));
	if ((run.c = ctl_connect_admin(ctl, APPNAME)) == NULL)
		return CTL_FAIL;
	if ((rc = lock(run.c)) != CTL_OK ||
	    (list = tenants(run.c, slug, &rc)) == NULL) {
		PQfinish(run.c);
		return rc;
	}
	if (json) {
		run.items = json_object_new_array();
		run.failures = json_object_new_array();
	}
	run_all(&run, list);
	PQclear(list);
	PQfinish(run.c);
	summary(&run, t0);
	if (run.failed > 0) {
		fprintf(stderr, "loyaltyctl: expire failed for %d tenant%s\n",
		    run.failed, run.failed == 1 ? "" : "s");
		return CTL_FAIL;
	}
	return CTL_OK;
}
