/* test_router.c — matching a method and a path against a route table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "router.h"

#define N(t)	(sizeof(t) / sizeof((t)[0]))

static const struct route table[] = {
	/* 0 */ { "GET",    "/health/live", NULL, ACCESS_ANYONE, 0 },
	/* 1 */ { "GET",    "/v1/members", NULL, ACCESS_ANYONE, ROUTE_DB },
	/* 2 */ { "POST",   "/v1/members", NULL, ACCESS_ANYONE, ROUTE_JSON },
	/* 3 */ { "GET",    "/v1/members/{id}", NULL, ACCESS_ANYONE, 0 },
	/* 4 */ { "PATCH",  "/v1/members/{id}", NULL, ACCESS_ANYONE, 0 },
	/* 5 */ { "GET",    "/v1/members/{id}/ledger", NULL, ACCESS_ANYONE, 0 },
	/* 6 */ { "POST",   "/v1/members/{member}/vouchers/{code}", NULL,
		    ACCESS_ANYONE, 0 },
	/* 7 */ { "DELETE", "/v1/members/{id}", NULL, ACCESS_ANYONE, 0 },
	/* 8 */ { "POST",   "/v1/events", NULL, ACCESS_ANYONE, 0 },
	/* 9 */ { "GET",    "/metrics", NULL, ACCESS_ANYONE, ROUTE_LOOPBACK },
	/* 10 */ { "HEAD",  "/metrics", NULL, ACCESS_ANYONE, ROUTE_LOOPBACK },
	/* 11 */ { "GET",   "/metrics", NULL, ACCESS_ANYONE, ROUTE_LOOPBACK },
	/* 12 */ { "GET",   "/p/{a}/{b}/{c}/{d}", NULL, ACCESS_ANYONE, 0 },
	/* 13 */ { "GET",   "/q/{a}/{b}/{c}/{d}/{e}", NULL, ACCESS_ANYONE, 0 },
	/* 14 */ { "PUT",   "/x/{k}", NULL, ACCESS_ANYONE, 0 },
	/* 15 */ { "PUT",   "/x/{k}", NULL, ACCESS_ANYONE, 0 },
};

/* True when m's parameter i is called name (names end at '}'). */
static int
param_is(const struct route_match *m, int i, const char *name)
{
	size_t n = strlen(name);

	return strncmp(m->name[i], name, n) == 0 && m->name[i][n] == '}';
}

static void
test_router_exact_match_gives_index(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "GET", "/health/live",
	    &m), LERR_OK);
	assert_int_equal(m.index, 0);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(router_match(table, N(table), "GET", "/v1/members",
	    &m), LERR_OK);
	assert_int_equal(m.index, 1);
	assert_int_equal(router_match(table, N(table), "POST", "/v1/members",
	    &m), LERR_OK);
	assert_int_equal(m.index, 2);
	assert_int_equal(router_match(table, N(table), "POST", "/v1/events",
	    &m), LERR_OK);
	assert_int_equal(m.index, 8);
}

static void
test_router_method_is_case_sensitive(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "get", "/health/live",
	    &m), LERR_METHOD);
	assert_string_equal(m.allow, "GET, HEAD");
}

static void
test_router_prefix_or_extension_does_not_match(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "GET", "/health/liveness",
	    &m), LERR_NOT_FOUND);
	assert_int_equal(m.index, -1);
	assert_int_equal(router_match(table, N(table), "GET", "/health/liv",
	    &m), LERR_NOT_FOUND);
	assert_int_equal(router_match(table, N(table), "GET", "/health",
	    &m), LERR_NOT_FOUND);
	assert_int_equal(router_match(table, N(table), "GET", "/", &m),
	    LERR_NOT_FOUND);
	assert_int_equal(router_match(table, N(table), "GET", "", &m),
	    LERR_NOT_FOUND);
	assert_int_equal(router_match(table, N(table), "GET", "/HEALTH/LIVE",
	    &m), LERR_NOT_FOUND);
}

static void
test_router_one_param_is_captured(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "GET", "/v1/members/42",
	    &m), LERR_OK);
	assert_int_equal(m.index, 3);
	assert_int_equal(m.nparams, 1);
	assert_true(param_is(&m, 0, "id"));
	assert_string_equal(m.value[0], "42");
	/* Same pattern, another method: another route, same capture. */
	assert_int_equal(router_match(table, N(table), "PATCH",
	    "/v1/members/abc-DEF_9", &m), LERR_OK);
	assert_int_equal(m.index, 4);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.value[0], "abc-DEF_9");
	/* A param followed by a literal segment. */
	assert_int_equal(router_match(table, N(table), "GET",
	    "/v1/members/7/ledger", &m), LERR_OK);
	assert_int_equal(m.index, 5);
	assert_int_equal(m.nparams, 1);
	assert_true(param_is(&m, 0, "id"));
	assert_string_equal(m.value[0], "7");
}

static void
test_router_two_params_are_captured_in_order(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "POST",
	    "/v1/members/m-1/vouchers/AB-12-CD", &m), LERR_OK);
	assert_int_equal(m.index, 6);
	assert_int_equal(m.nparams, 2);
	assert_true(param_is(&m, 0, "member"));
	assert_true(param_is(&m, 1, "code"));
	assert_false(param_is(&m, 0, "mem"));
	assert_string_equal(m.value[0], "m-1");
	assert_string_equal(m.value[1], "AB-12-CD");
}

static void
test_router_four_params_fit_and_a_fifth_never_matches(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "GET", "/p/1/22/333/4444",
	    &m), LERR_OK);
	assert_int_equal(m.index, 12);
	assert_int_equal(m.nparams, ROUTE_MAX_PARAMS);
	assert_string_equal(m.value[0], "1");
	assert_string_equal(m.value[1], "22");
	assert_string_equal(m.value[2], "333");
	assert_string_equal(m.value[3], "4444");
	assert_true(param_is(&m, 3, "d"));
	/* More params than ROUTE_MAX_PARAMS: refused, never written past. */
	assert_int_equal(router_match(table, N(table), "GET", "/q/1/2/3/4/5",
	    &m), LERR_NOT_FOUND);
	assert_int_equal(m.index, -1);
}

static void
test_router_unknown_path_is_404(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "GET", "/v2/members",
	    &m), LERR_NOT_FOUND);
	assert_int_equal(m.index, -1);
	assert_int_equal(m.nparams, 0);
	assert_string_equal(m.allow, "");
	assert_int_equal(router_match(table, 0, "GET", "/health/live", &m),
	    LERR_NOT_FOUND);
}

static void
test_router_known_path_wrong_method_is_405_with_allow(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "DELETE", "/v1/members",
	    &m), LERR_METHOD);
	assert_int_equal(m.index, -1);
	assert_int_equal(m.nparams, 0);
	assert_string_equal(m.allow, "GET, HEAD, POST");
	assert_int_equal(router_match(table, N(table), "POST", "/v1/members/9",
	    &m), LERR_METHOD);
	assert_string_equal(m.allow, "GET, HEAD, PATCH, DELETE");
	/* A route without GET does not offer HEAD. */
	assert_int_equal(router_match(table, N(table), "GET", "/v1/events",
	    &m), LERR_METHOD);
	assert_string_equal(m.allow, "POST");
	assert_int_equal(router_match(table, N(table), "HEAD", "/v1/events",
	    &m), LERR_METHOD);
	assert_string_equal(m.allow, "POST");
}

static void
test_router_allow_list_is_deduplicated(void **state)
{
	struct route_match m;

	(void)state;
	/* GET, HEAD (explicit) and GET again: each listed once. */
	assert_int_equal(router_match(table, N(table), "POST", "/metrics", &m),
	    LERR_METHOD);
	assert_string_equal(m.allow, "GET, HEAD");
	/* Two PUT routes on one pattern. */
	assert_int_equal(router_match(table, N(table), "GET", "/x/1", &m),
	    LERR_METHOD);
	assert_string_equal(m.allow, "PUT");
}

static void
test_router_allow_list_is_reset_between_calls(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "DELETE", "/v1/members",
	    &m), LERR_METHOD);
	assert_string_equal(m.allow, "GET, HEAD, POST");
	assert_int_equal(router_match(table, N(table), "DELETE", "/v1/events",
	    &m), LERR_METHOD);
	assert_string_equal(m.allow, "POST");
	assert_int_equal(router_match(table, N(table), "GET", "/v1/members",
	    &m), LERR_OK);
	assert_string_equal(m.allow, "");
}

static void
test_router_head_matches_a_get_route(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "HEAD", "/health/live",
	    &m), LERR_OK);
	assert_int_equal(m.index, 0);
	assert_int_equal(router_match(table, N(table), "HEAD",
	    "/v1/members/55", &m), LERR_OK);
	assert_int_equal(m.index, 3);
	assert_string_equal(m.value[0], "55");
	/* GET never falls back to a HEAD-only route. */
	{
		static const struct route head_only[] = {
			{ "HEAD", "/h", NULL, ACCESS_ANYONE, 0 },
		};

		assert_int_equal(router_match(head_only, 1, "GET", "/h", &m),
		    LERR_METHOD);
		assert_string_equal(m.allow, "HEAD");
	}
}

static void
test_router_trailing_slash_does_not_match(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "GET", "/health/live/",
	    &m), LERR_NOT_FOUND);
	assert_int_equal(router_match(table, N(table), "GET", "/v1/members/",
	    &m), LERR_NOT_FOUND);
	assert_int_equal(router_match(table, N(table), "GET",
	    "/v1/members/42/", &m), LERR_NOT_FOUND);
	assert_int_equal(router_match(table, N(table), "GET",
	    "/v1/members/42/ledger/", &m), LERR_NOT_FOUND);
}

static void
test_router_empty_segment_does_not_match(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "GET", "//health/live",
	    &m), LERR_NOT_FOUND);
	assert_int_equal(router_match(table, N(table), "GET", "/health//live",
	    &m), LERR_NOT_FOUND);
	assert_int_equal(router_match(table, N(table), "GET", "/v1//members",
	    &m), LERR_NOT_FOUND);
}

static void
test_router_param_does_not_match_an_empty_segment(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(table, N(table), "GET",
	    "/v1/members//ledger", &m), LERR_NOT_FOUND);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(router_match(table, N(table), "POST",
	    "/v1/members/1/vouchers/", &m), LERR_NOT_FOUND);
	assert_int_equal(router_match(table, N(table), "POST",
	    "/v1/members//vouchers/X", &m), LERR_NOT_FOUND);
	/* A param never swallows a '/'. */
	assert_int_equal(router_match(table, N(table), "GET",
	    "/v1/members/1/2", &m), LERR_NOT_FOUND);
}

static void
test_router_overlong_param_fails_to_match_without_overflow(void **state)
{
	struct route_match	m;
	char			path[4096], big[1024];

	(void)state;
	memset(big, 'v', 600);
	big[600] = '\0';
	snprintf(path, sizeof(path), "/v1/members/%s", big);
	memset(&m, 0x55, sizeof(m));
	assert_int_equal(router_match(table, N(table), "GET", path, &m),
	    LERR_NOT_FOUND);
	assert_int_equal(m.index, -1);
	assert_int_equal(m.nparams, 0);

	/* Two params that only together exceed the buffer. */
	memset(big, 'w', 300);
	big[300] = '\0';
	snprintf(path, sizeof(path), "/v1/members/%s/vouchers/%s", big, big);
	assert_int_equal(router_match(table, N(table), "POST", path, &m),
	    LERR_NOT_FOUND);

	/* The largest value that fits (with its NUL) is accepted whole. */
	memset(big, 'z', sizeof(m.valbuf) - 1);
	big[sizeof(m.valbuf) - 1] = '\0';
	snprintf(path, sizeof(path), "/v1/members/%s", big);
	assert_int_equal(router_match(table, N(table), "GET", path, &m),
	    LERR_OK);
	assert_int_equal(m.index, 3);
	assert_int_equal(strlen(m.value[0]), sizeof(m.valbuf) - 1);
	assert_string_equal(m.value[0], big);

	/* One byte more does not. */
	snprintf(path, sizeof(path), "/v1/members/%sz", big);
	assert_int_equal(router_match(table, N(table), "GET", path, &m),
	    LERR_NOT_FOUND);
}

static void
test_router_first_matching_route_wins(void **state)
{
	static const struct route t[] = {
		{ "GET", "/a/{x}", NULL, ACCESS_ANYONE, 0 },
		{ "GET", "/a/b", NULL, ACCESS_ANYONE, 0 },
	};
	struct route_match m;

	(void)state;
	assert_int_equal(router_match(t, N(t), "GET", "/a/b", &m), LERR_OK);
	assert_int_equal(m.index, 0);
	assert_string_equal(m.value[0], "b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router_exact_match_gives_index),
		cmocka_unit_test(test_router_method_is_case_sensitive),
		cmocka_unit_test(test_router_prefix_or_extension_does_not_match),
		cmocka_unit_test(test_router_one_param_is_captured),
		cmocka_unit_test(test_router_two_params_are_captured_in_order),
		cmocka_unit_test(test_router_four_params_fit_and_a_fifth_never_matches),
		cmocka_unit_test(test_router_unknown_path_is_404),
		cmocka_unit_test(test_router_known_path_wrong_method_is_405_with_allow),
		cmocka_unit_test(test_router_allow_list_is_deduplicated),
		cmocka_unit_test(test_router_allow_list_is_reset_between_calls),
		cmocka_unit_test(test_router_head_matches_a_get_route),
		cmocka_unit_test(test_router_trailing_slash_does_not_match),
		cmocka_unit_test(test_router_empty_segment_does_not_match),
		cmocka_unit_test(test_router_param_does_not_match_an_empty_segment),
		cmocka_unit_test(test_router_overlong_param_fails_to_match_without_overflow),
		cmocka_unit_test(test_router_first_matching_route_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
