/* fuzz_router.c — libFuzzer target: "METHOD PATH" through router_match(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "handlers.h"
#include "router.h"

#define N(t)	(sizeof(t) / sizeof((t)[0]))

/*
 * The real table (routes.c) needs its handlers to link; matching never
 * calls them.
 */
#define NEVER_CALLED(fn)						\
enum lerr								\
fn(struct request *req, struct response *res)				\
{									\
	(void)req, (void)res;						\
	abort();							\
}

NEVER_CALLED(h_health_live)
NEVER_CALLED(h_auth_login)
NEVER_CALLED(h_auth_refresh)
NEVER_CALLED(h_auth_logout)
NEVER_CALLED(h_me)
NEVER_CALLED(h_me_password)
NEVER_CALLED(h_tenants_create)
NEVER_CALLED(h_tenants_list)
NEVER_CALLED(h_tenants_get)
NEVER_CALLED(h_tenants_update)
NEVER_CALLED(h_users_create)
NEVER_CALLED(h_users_list)
NEVER_CALLED(h_users_get)
NEVER_CALLED(h_users_update)
NEVER_CALLED(h_users_delete)
NEVER_CALLED(h_keys_create)
NEVER_CALLED(h_keys_list)
NEVER_CALLED(h_keys_revoke)
NEVER_CALLED(h_audit_list)
NEVER_CALLED(h_settings_get)
NEVER_CALLED(h_settings_update)
NEVER_CALLED(h_members_create)
NEVER_CALLED(h_members_list)
NEVER_CALLED(h_members_get)
NEVER_CALLED(h_members_update)
NEVER_CALLED(h_members_ledger)
NEVER_CALLED(h_members_adjust)
NEVER_CALLED(h_members_redeem)
NEVER_CALLED(h_events_record)
NEVER_CALLED(h_events_get)
NEVER_CALLED(h_events_reverse)
NEVER_CALLED(h_rules_simulate)
NEVER_CALLED(h_rules_create)
NEVER_CALLED(h_rules_list)
NEVER_CALLED(h_rules_get)
NEVER_CALLED(h_rules_update)
NEVER_CALLED(h_rules_delete)
NEVER_CALLED(h_budgets_create)
NEVER_CALLED(h_budgets_list)
NEVER_CALLED(h_budgets_get)
NEVER_CALLED(h_budgets_update)
NEVER_CALLED(h_rewards_create)
NEVER_CALLED(h_rewards_list)
NEVER_CALLED(h_rewards_get)
NEVER_CALLED(h_rewards_update)
NEVER_CALLED(h_rewards_delete)
NEVER_CALLED(h_vouchers_get)
NEVER_CALLED(h_vouchers_use)
NEVER_CALLED(h_vouchers_cancel)
NEVER_CALLED(h_reports_summary)
NEVER_CALLED(h_health_ready)
NEVER_CALLED(h_health_startup)
NEVER_CALLED(h_health_version)
NEVER_CALLED(h_metrics)
NEVER_CALLED(h_status)
#ifdef LOYALTY_TEST_ENDPOINTS
NEVER_CALLED(h_test_sleep)
NEVER_CALLED(h_test_echo)
NEVER_CALLED(h_test_db)
#endif

/*
 * A table with what the API will grow into: parameters, several in a
 * row, more than ROUTE_MAX_PARAMS, a literal after a parameter, one path
 * with many methods, HEAD next to GET, duplicates, the root.
 */
static const struct route table[] = {
	{ "GET",    "/", NULL, ACCESS_ANYONE, 0 },
	{ "GET",    "/v1/members", NULL, ACCESS_ANYONE, 0 },
	{ "POST",   "/v1/members", NULL, ACCESS_ANYONE, 0 },
	{ "GET",    "/v1/members/{id}", NULL, ACCESS_ANYONE, 0 },
	{ "GET",    "/v1/members/me", NULL, ACCESS_ANYONE, 0 },
	{ "PATCH",  "/v1/members/{id}", NULL, ACCESS_ANYONE, 0 },
	{ "DELETE", "/v1/members/{id}", NULL, ACCESS_ANYONE, 0 },
	{ "PUT",    "/v1/members/{id}", NULL, ACCESS_ANYONE, 0 },
	{ "GET",    "/v1/members/{id}/ledger", NULL, ACCESS_ANYONE, 0 },
	{ "POST",   "/v1/members/{member}/vouchers/{code}", NULL,
		    ACCESS_ANYONE, 0 },
	{ "GET",    "/p/{a}/{b}/{c}/{d}", NULL, ACCESS_ANYONE, 0 },
	{ "GET",    "/q/{a}/{b}/{c}/{d}/{e}", NULL, ACCESS_ANYONE, 0 },
	{ "HEAD",   "/metrics", NULL, ACCESS_ANYONE, 0 },
	{ "GET",    "/metrics", NULL, ACCESS_ANYONE, 0 },
	{ "PUT",    "/x/{k}", NULL, ACCESS_ANYONE, 0 },
	{ "PUT",    "/x/{k}", NULL, ACCESS_ANYONE, 0 },
	{ "OPTIONS", "/{any}", NULL, ACCESS_ANYONE, 0 },
};

/* What matching one pattern should give, found segment by segment. */
struct ref {
	int	 matches;
	int	 nparams;
	char	 value[ROUTE_MAX_PARAMS][sizeof(((struct route_match *)0)->valbuf)];
};

/*
 * The specification, written apart from router.c: the same number of
 * '/'-separated segments, a "{name}" segment takes any non-empty one,
 * others are equal byte for byte; a route with more than
 * ROUTE_MAX_PARAMS parameters, or whose values (each with its NUL) do
 * not fit in valbuf, never matches.
 */
static void
ref_match(const char *pattern, const char *path, struct ref *r)
{
	const char	*p = pattern, *s = path;
	size_t		 used = 0, plen, slen;

	r->matches = 0;
	r->nparams = 0;
	for (;;) {
		plen = strcspn(p, "/");
		slen = strcspn(s, "/");
		if (plen > 1 && p[0] == '{' && p[plen - 1] == '}') {
			if (slen == 0 || r->nparams == ROUTE_MAX_PARAMS)
				return;
			used += slen + 1;
			if (used > sizeof(r->value[0]))
				return;
			memcpy(r->value[r->nparams], s, slen);
			r->value[r->nparams][slen] = '\0';
			r->nparams++;
		} else if (plen != slen || memcmp(p, s, plen) != 0)
			return;
		p += plen, s += slen;
		if (*p == '\0' || *s == '\0')
			break;
		p++, s++;
	}
	r->matches = *p == '\0' && *s == '\0';
}

static int
method_fits(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 ||
	    (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Adds m to the ", " list in allow unless it is there. */
static void
ref_allow(char *allow, size_t len, const char *m)
{
	char	want[32];
	char	list[128];

	snprintf(list, sizeof(list), ", %s, ", allow);
	snprintf(want, sizeof(want), ", %s, ", m);
	if (strstr(list, want) != NULL)
		return;
	snprintf(allow + strlen(allow), len - strlen(allow), "%s%s",
	    allow[0] ? ", " : "", m);
}

/* router_match on tab must agree with ref_match in every detail. */
static void
check_table(const struct route *tab, size_t n, const char *method,
    const char *path)
{
	struct route_match	 m;
	struct ref		 r;
	char			 allow[128] = "";
	enum lerr		 rc;
	size_t			 i;
	int			 want = -1, path_found = 0, k;

	for (i = 0; i < n; i++) {
		ref_match(tab[i].pattern, path, &r);
		if (!r.matches)
			continue;
		if (method_fits(tab[i].method, method)) {
			want = (int)i;
			break;
		}
		path_found = 1;
		ref_allow(allow, sizeof(allow), tab[i].method);
		if (strcmp(tab[i].method, "GET") == 0)
			ref_allow(allow, sizeof(allow), "HEAD");
	}
	memset(&m, 0xa5, sizeof(m));
	rc = router_match(tab, n, method, path, &m);
	if (want >= 0) {
		CHECK(rc == LERR_OK);
		CHECK(m.index == want);
		CHECK(m.nparams == r.nparams);
		for (k = 0; k < m.nparams; k++) {
			const char *name = m.name[k];

			/* name points into the pattern, just after '{'. */
			CHECK(name > tab[want].pattern && name[-1] == '{');
			CHECK(strchr(name, '}') != NULL);
			CHECK(m.value[k] >= m.valbuf && m.value[k] <
			    m.valbuf + sizeof(m.valbuf));
			CHECK(strcmp(m.value[k], r.value[k]) == 0);
		}
		return;
	}
	CHECK(m.index == -1);
	CHECK(m.nparams == 0);
	if (!path_found) {
		CHECK(rc == LERR_NOT_FOUND);
		CHECK(m.allow[0] == '\0');
		return;
	}
	/* 405: Allow lists each method once, none cut short. */
	CHECK(rc == LERR_METHOD);
	CHECK(strcmp(m.allow, allow) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*line, *method, *path, *sp;

	/* FastCGI parameters are C strings: the input ends at a NUL. */
	if ((line = malloc(len + 1)) == NULL)
		return 0;
	memcpy(line, data, len);
	line[len] = '\0';
	method = line;
	if ((sp = strchr(line, ' ')) != NULL) {
		*sp = '\0';
		path = sp + 1;
	} else
		path = line + strlen(line);
	check_table(routes, nroutes, method, path);
	check_table(table, N(table), method, path);
	free(line);
	return 0;
}
