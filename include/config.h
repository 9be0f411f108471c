/* config.h — the configuration: one table declares every key. */
#ifndef LOYALTY_CONFIG_H
#define LOYALTY_CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_PATH	"/etc/loyalty/loyalty.conf"
#define CONFIG_STR_MAX		256

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

struct config {
	/* [server] */
	char	listen[CONFIG_STR_MAX];
	long	workers;
	long	max_requests;
	long	max_requests_jitter;
	long	request_timeout;
	long	slow_request_ms;
	long	shutdown_timeout;
	long	crash_limit;
	long	crash_window;
	long	max_body_bytes;
	char	secrets_file[CONFIG_STR_MAX];
	/* [database] */
	char	db_host[CONFIG_STR_MAX];
	long	db_port;
	char	db_name[CONFIG_STR_MAX];
	char	db_user[CONFIG_STR_MAX];
	char	db_admin_user[CONFIG_STR_MAX];
	long	db_connect_timeout;
	long	db_statement_timeout_ms;
	long	db_reconnect_max_ms;
	char	db_admin_os_user[CONFIG_STR_MAX];
	char	db_password[CONFIG_STR_MAX];	/* secrets file only */
	char	db_admin_secrets_file[CONFIG_STR_MAX];
	char	db_admin_password[CONFIG_STR_MAX];	/* admin secrets only */
	/* [auth] */
	char	auth_jwt_key[CONFIG_STR_MAX];		/* hex; secrets file */
	char	auth_master_key[CONFIG_STR_MAX];	/* hex; secrets file */
	char	auth_issuer[CONFIG_STR_MAX];
	char	auth_audience[CONFIG_STR_MAX];
	long	auth_access_ttl_s;
	long	auth_refresh_ttl_s;
	long	auth_leeway_s;
	long	auth_lockout_failures;
	long	auth_lockout_window_s;
	long	auth_lockout_s;
	long	auth_password_min_length;
	/* [limits] */
	long	limit_tenant_rate;
	long	limit_tenant_burst;
	long	limit_login_period_s;
	long	limit_login_per_email;
	long	limit_login_per_addr;
	/* [events] */
	long	event_future_s;
	/* [log] */
	char	log_file[CONFIG_STR_MAX];
	long	log_level;			/* enum log_level */
	/* [backup], [check], [maintenance]: loyaltyctl only */
	char	backup_dir[CONFIG_STR_MAX];
	long	backup_keep_days;
	long	backup_keep_min;
	long	backup_min_free_mb;
	long	check_connections_percent;
	long	check_long_transaction_s;
	long	check_replication_lag_s;
	long	check_backup_max_age_h;
	long	maint_reindex_bloat_percent;
	long	maint_reindex_min_kb;
};

enum config_type { CFG_INT, CFG_STR, CFG_LEVEL, CFG_KEY };

#define CFG_RELOAD	0x01	/* a SIGHUP may change it */
#define CFG_SECRET	0x02	/* only in the secrets file; never logged */
#define CFG_ADMIN	0x04	/* only in the admin secrets file; never logged */

/* The three kinds of file a key can be set in. */
enum config_file { CONFIG_MAIN, CONFIG_SECRETS, CONFIG_ADMIN_SECRETS };

struct config_key {
	const char		*section;
	const char		*name;
	enum config_type	 type;
	size_t			 offset;
	const char		*def;	/* default, as it would be written */
	long			 min, max;	/* CFG_INT bounds; CFG_KEY bytes */
	int			 flags;
	const char		*unit;	/* for the docs: "seconds", ... */
};

extern const struct config_key	config_keys[];
extern const size_t		config_nkeys;

/* Errors are collected, each as "FILE:LINE: message", up to a limit. */
#define CONFIG_MAX_ERRORS	32
struct config_errors {
	int	n;
	char	msg[CONFIG_MAX_ERRORS][320];
};

void	config_defaults(struct config *);
/*
 * Reads path (and the secrets file it names) over the defaults in cfg.
 * Returns 0 when there were no errors; otherwise -1 with errs filled and
 * cfg in an unspecified state (callers load into a scratch copy).
 */
int	config_load(const char *path, struct config *cfg,
	    struct config_errors *errs);
/*
 * Reads database.admin_secrets_file, if set, over cfg: for loyaltyctl,
 * before it drops root. loyaltyd never reads it, so it never holds the
 * administrator's password. Refused if group or others have any access.
 */
int	config_load_admin_secrets(struct config *cfg,
	    struct config_errors *errs);
/* The reader behind both, from a string: for tests; name is for messages. */
int	config_parse(const char *name, const char *text, struct config *,
	    struct config_errors *, enum config_file);
/* The kind of file a key may be set in. */
enum config_file config_key_file(const struct config_key *);
/*
 * What loyaltyd needs beyond a valid file: the secrets it cannot run
 * without (the token and key-sealing keys). Appends to errs; -1 if any.
 */
int	config_check_daemon(const struct config *, struct config_errors *);
/*
 * Copies into cur the keys of next that a reload may change; for each key
 * that differs but may not change, appends its name to the comma list in
 * kept (which has keptlen bytes). Returns how many were kept.
 */
int	config_apply_reload(struct config *cur, const struct config *next,
	    char *kept, size_t keptlen);
const char *log_level_name(long);

#endif
