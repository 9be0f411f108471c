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
	{ "POST", "/v1/auth/login", h_auth_login, ACCESS_ANYONE, ROUTE_DB | ROUTE_JSON },
	{ "POST", "/v1/auth/refresh", h_auth_refresh, ACCESS_ANYONE, ROUTE_DB | ROUTE_JSON },
	{ "POST", "/v1/auth/logout", h_auth_logout, ACCESS_ANYONE, ROUTE_DB | ROUTE_JSON },
	{ "GET", "/v1/me", h_me, ACCESS_VIEWER, 0 },
	{ "POST", "/v1/me/password", h_me_password, ACCESS_VIEWER, ROUTE_JSON },
	{ "POST", "/v1/tenants", h_tenants_create, ACCESS_PLATFORM, ROUTE_JSON },
	{ "GET", "/v1/tenants", h_tenants_list, ACCESS_PLATFORM, 0 },
	{ "GET", "/v1/tenants/{id}", h_tenants_get, ACCESS_PLATFORM, 0 },
	{ "PATCH", "/v1/tenants/{id}", h_tenants_update, ACCESS_PLATFORM, ROUTE_JSON },
	{ "POST", "/v1/users", h_users_create, ACCESS_ADMIN, ROUTE_JSON },
	{ "GET", "/v1/users", h_users_list, ACCESS_ADMIN, 0 },
	{ "GET", "/v1/users/{id}", h_users_get, ACCESS_ADMIN, 0 },
	{ "PATCH", "/v1/users/{id}", h_users_update, ACCESS_ADMIN, ROUTE_JSON },
	{ "DELETE", "/v1/users/{id}", h_users_delete, ACCESS_ADMIN, 0 },
	{ "POST", "/v1/keys", h_keys_create, ACCESS_ADMIN, ROUTE_JSON },
	{ "GET", "/v1/keys", h_keys_list, ACCESS_ADMIN, 0 },
	{ "DELETE", "/v1/keys/{id}", h_keys_revoke, ACCESS_ADMIN, 0 },
	{ "GET", "/v1/audit", h_audit_list, ACCESS_ADMIN, 0 },
	{ "GET", "/v1/settings", h_settings_get, ACCESS_VIEWER, 0 },
	{ "PATCH", "/v1/settings", h_settings_update, ACCESS_OWNER, ROUTE_JSON },
	{ "POST", "/v1/members", h_members_create, ACCESS_OPERATOR, ROUTE_JSON },
	{ "GET", "/v1/members", h_members_list, ACCESS_VIEWER, 0 },
	{ "GET", "/v1/members/{id}", h_members_get, ACCESS_VIEWER, 0 },
	{ "PATCH", "/v1/members/{id}", h_members_update, ACCESS_OPERATOR, ROUTE_JSON },
	{ "GET", "/v1/members/{id}/ledger", h_members_ledger, ACCESS_VIEWER, 0 },
	{ "POST", "/v1/members/{id}/adjustments", h_members_adjust, ACCESS_OPERATOR, ROUTE_JSON },
	{ "POST", "/v1/members/{id}/redemptions", h_members_redeem, ACCESS_OPERATOR, ROUTE_JSON },
	{ "POST", "/v1/events", h_events_record, ACCESS_OPERATOR, ROUTE_JSON },
	{ "GET", "/v1/events/{event_id}", h_events_get, ACCESS_VIEWER, 0 },
	{ "POST", "/v1/events/{event_id}/reversal", h_events_reverse, ACCESS_OPERATOR, ROUTE_JSON },
	{ "POST", "/v1/rules/simulate", h_rules_simulate, ACCESS_VIEWER, ROUTE_JSON },
	{ "POST", "/v1/rules", h_rules_create, ACCESS_ADMIN, ROUTE_JSON },
	{ "GET", "/v1/rules", h_rules_list, ACCESS_VIEWER, 0 },
	{ "GET", "/v1/rules/{id}", h_rules_get, ACCESS_VIEWER, 0 },
	{ "PATCH", "/v1/rules/{id}", h_rules_update, ACCESS_ADMIN, ROUTE_JSON },
	{ "DELETE", "/v1/rules/{id}", h_rules_delete, ACCESS_ADMIN, 0 },
	{ "POST", "/v1/budgets", h_budgets_create, ACCESS_ADMIN, ROUTE_JSON },
	{ "GET", "/v1/budgets", h_budgets_list, ACCESS_VIEWER, 0 },
	{ "GET", "/v1/budgets/{id}", h_budgets_get, ACCESS_VIEWER, 0 },
	{ "PATCH", "/v1/budgets/{id}", h_budgets_update, ACCESS_ADMIN, ROUTE_JSON },
	{ "POST", "/v1/rewards", h_rewards_create, ACCESS_ADMIN, ROUTE_JSON },
	{ "GET", "/v1/rewards", h_rewards_list, ACCESS_VIEWER, 0 },
	{ "GET", "/v1/rewards/{id}", h_rewards_get, ACCESS_VIEWER, 0 },
	{ "PATCH", "/v1/rewards/{id}", h_rewards_update, ACCESS_ADMIN, ROUTE_JSON },
	{ "DELETE", "/v1/rewards/{id}", h_rewards_delete, ACCESS_ADMIN, 0 },
	{ "GET", "/v1/vouchers/{code}", h_vouchers_get, ACCESS_OPERATOR, 0 },
	{ "POST", "/v1/vouchers/{code}/use", h_vouchers_use, ACCESS_OPERATOR, ROUTE_JSON },
	{ "POST", "/v1/vouchers/{code}/cancel", h_vouchers_cancel, ACCESS_OPERATOR, ROUTE_JSON },
	{ "GET", "/v1/reports/summary", h_reports_summary, ACCESS_VIEWER, 0 },
#ifdef LOYALTY_TEST_ENDPOINTS
	{ "GET", "/_test/sleep", h_test_sleep, ACCESS_ANYONE, 0 },
	{ "POST", "/_test/echo", h_test_echo, ACCESS_ANYONE, ROUTE_JSON },
	{ "GET", "/_test/db", h_test_db, ACCESS_ANYONE, ROUTE_DB },
#endif
};
const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
