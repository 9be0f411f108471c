/* handlers.h — the request handlers, grouped by resource. */
#ifndef LOYALTY_HANDLERS_H
#define LOYALTY_HANDLERS_H

#include "autoconfig.h"
#include "request.h"

/* h_health.c */
enum lerr	h_health_live(struct request *, struct response *);
enum lerr	h_health_ready(struct request *, struct response *);
enum lerr	h_health_startup(struct request *, struct response *);
enum lerr	h_health_version(struct request *, struct response *);
enum lerr	h_metrics(struct request *, struct response *);
enum lerr	h_status(struct request *, struct response *);

/* h_auth.c */
enum lerr	h_auth_login(struct request *, struct response *);
enum lerr	h_auth_refresh(struct request *, struct response *);
enum lerr	h_auth_logout(struct request *, struct response *);
enum lerr	h_me(struct request *, struct response *);
enum lerr	h_me_password(struct request *, struct response *);

/* h_tenants.c */
enum lerr	h_tenants_create(struct request *, struct response *);
enum lerr	h_tenants_list(struct request *, struct response *);
enum lerr	h_tenants_get(struct request *, struct response *);
enum lerr	h_tenants_update(struct request *, struct response *);

/* h_users.c */
enum lerr	h_users_create(struct request *, struct response *);
enum lerr	h_users_list(struct request *, struct response *);
enum lerr	h_users_get(struct request *, struct response *);
enum lerr	h_users_update(struct request *, struct response *);
enum lerr	h_users_delete(struct request *, struct response *);

/* h_keys.c */
enum lerr	h_keys_create(struct request *, struct response *);
enum lerr	h_keys_list(struct request *, struct response *);
enum lerr	h_keys_revoke(struct request *, struct response *);

/* h_audit.c */
enum lerr	h_audit_list(struct request *, struct response *);

/* h_settings.c */
enum lerr	h_settings_get(struct request *, struct response *);
enum lerr	h_settings_update(struct request *, struct response *);

/* h_members.c */
enum lerr	h_members_create(struct request *, struct response *);
enum lerr	h_members_list(struct request *, struct response *);
enum lerr	h_members_get(struct request *, struct response *);
enum lerr	h_members_update(struct request *, struct response *);
enum lerr	h_members_ledger(struct request *, struct response *);
enum lerr	h_members_adjust(struct request *, struct response *);

/* h_events.c */
enum lerr	h_events_record(struct request *, struct response *);
enum lerr	h_events_get(struct request *, struct response *);
enum lerr	h_events_reverse(struct request *, struct response *);
enum lerr	h_rules_simulate(struct request *, struct response *);

/* h_rules.c */
enum lerr	h_rules_create(struct request *, struct response *);
enum lerr	h_rules_list(struct request *, struct response *);
enum lerr	h_rules_get(struct request *, struct response *);
enum lerr	h_rules_update(struct request *, struct response *);
enum lerr	h_rules_delete(struct request *, struct response *);

/* h_budgets.c */
enum lerr	h_budgets_create(struct request *, struct response *);
enum lerr	h_budgets_list(struct request *, struct response *);
enum lerr	h_budgets_get(struct request *, struct response *);
enum lerr	h_budgets_update(struct request *, struct response *);

/* h_rewards.c */
enum lerr	h_rewards_create(struct request *, struct response *);
enum lerr	h_rewards_list(struct request *, struct response *);
enum lerr	h_rewards_get(struct request *, struct response *);
enum lerr	h_rewards_update(struct request *, struct response *);
enum lerr	h_rewards_delete(struct request *, struct response *);

/* h_vouchers.c: redemptions, and the vouchers they issue */
enum lerr	h_members_redeem(struct request *, struct response *);
enum lerr	h_vouchers_get(struct request *, struct response *);
enum lerr	h_vouchers_use(struct request *, struct response *);
enum lerr	h_vouchers_cancel(struct request *, struct response *);

/* h_reports.c */
enum lerr	h_reports_summary(struct request *, struct response *);

#ifdef LOYALTY_TEST_ENDPOINTS
/* h_test.c: only in builds for the black-box tests. */
enum lerr	h_test_sleep(struct request *, struct response *);
enum lerr	h_test_echo(struct request *, struct response *);
enum lerr	h_test_db(struct request *, struct response *);
#endif

#endif
