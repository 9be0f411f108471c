/* routes.c — every route of the API, in one table. */
#include "handlers.h"
#include "router.h"

/*
 * Method, path pattern, handler, who may call it, and what it needs. The
 * route index (+1) labels metrics, so append rather than reorder when in
 * doubt; the metrics arrays hold METRIC_ROUTES - 1 routes.
 */
const struct route routes[] = {
	{ "GET", "/health/live", h_health_live, ACCESS_ANYONE, 0 },
	{ "GET", "/health/ready", h_health_ready, ACCESS_ANYONE, 0 },
	{ "GET", "/health", h_health_ready, ACCESS_ANYONE, 0 },
	{ "GET", "/health/startup", h_health_startup, ACCESS_ANYONE, 0 },
	{ "GET", "/health/version", h_health_version, ACCESS_ANYONE, 0 },
	{ "GET", "/metrics", h_metrics, ACCESS_ANYONE, ROUTE_LOOPBACK },
	{ "GET", "/status", h_status, ACCESS_ANYONE, ROUTE_LOOPBACK },
#ifdef LOYALTY_TEST_ENDPOINTS
	{ "GET", "/_test/sleep", h_test_sleep, ACCESS_ANYONE, 0 },
	{ "POST", "/_test/echo", h_test_echo, ACCESS_ANYONE, ROUTE_JSON },
	{ "GET", "/_test/db", h_test_db, ACCESS_ANYONE, ROUTE_DB },
#endif
};
const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
