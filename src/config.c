/* config.c — the configuration table, the INI reader and reload rules. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

#define OFF(f)	offsetof(struct config, f)
#define R	CFG_RELOAD

/*
 * Every key, once. loyalty.conf(5) lists the same keys; a test compares
 * the two. Defaults are text, parsed by the same code as the file.
 */
const struct config_key config_keys[] = {
	{ "server", "listen", CFG_STR, OFF(listen), "", 0, 0, 0, "path or host:port" },
	{ "server", "workers", CFG_INT, OFF(workers), "4", 1, 64, R, "processes" },
	{ "server", "max_requests", CFG_INT, OFF(max_requests), "10000", 0, 100000000, R, "requests, 0 = never" },
	{ "server", "max_requests_jitter", CFG_INT, OFF(max_requests_jitter), "1000", 0, 100000000, R, "requests" },
	{ "server", "request_timeout", CFG_INT, OFF(request_timeout), "30", 1, 3600, R, "seconds" },
	{ "server", "slow_request_ms", CFG_INT, OFF(slow_request_ms), "1000", 0, 3600000, R, "milliseconds, 0 = off" },
	{ "server", "shutdown_timeout", CFG_INT, OFF(shutdown_timeout), "25", 1, 3600, R, "seconds" },
	{ "server", "crash_limit", CFG_INT, OFF(crash_limit), "10", 1, 64, R, "exits" },
	{ "server", "crash_window", CFG_INT, OFF(crash_window), "60", 1, 86400, R, "seconds" },
	{ "server", "max_body_bytes", CFG_INT, OFF(max_body_bytes), "1048576", 1024, 67108864, R, "bytes" },
	{ "server", "secrets_file", CFG_STR, OFF(secrets_file), "", 0, 0, R, "path" },
	{ "database", "host", CFG_STR, OFF(db_host), "/var/run/postgresql", 0, 0, R, "host or socket directory" },
	{ "database", "port", CFG_INT, OFF(db_port), "5432", 1, 65535, R, "port" },
	{ "database", "name", CFG_STR, OFF(db_name), "loyalty", 0, 0, R, "database" },
	{ "database", "user", CFG_STR, OFF(db_user), "loyalty", 0, 0, R, "role" },
	{ "database", "admin_user", CFG_STR, OFF(db_admin_user), "postgres", 0, 0, R, "role" },
	{ "database", "connect_timeout", CFG_INT, OFF(db_connect_timeout), "5", 1, 60, R, "seconds" },
	{ "database", "statement_timeout_ms", CFG_INT, OFF(db_statement_timeout_ms), "5000", 0, 3600000, R, "milliseconds, 0 = none" },
	{ "database", "reconnect_max_ms", CFG_INT, OFF(db_reconnect_max_ms), "2000", 100, 60000, R, "milliseconds" },
	{ "database", "admin_os_user", CFG_STR, OFF(db_admin_os_user), "", 0, 0, R, "system user" },
	{ "database", "password", CFG_STR, OFF(db_password), "", 0, 0, R | CFG_SECRET, "secret" },
	{ "database", "admin_secrets_file", CFG_STR, OFF(db_admin_secrets_file), "", 0, 0, R, "path" },
	{ "database", "admin_password", CFG_STR, OFF(db_admin_password), "", 0, 0, R | CFG_ADMIN, "secret" },
	{ "auth", "jwt_key", CFG_KEY, OFF(auth_jwt_key), "", 32, 64, R | CFG_SECRET, "hex, 32 to 64 bytes" },
	{ "auth", "master_key", CFG_KEY, OFF(auth_master_key), "", 32, 32, R | CFG_SECRET, "hex, 32 bytes" },
	{ "auth", "issuer", CFG_STR, OFF(auth_issuer), "loyalty", 0, 0, R, "JWT iss" },
	{ "auth", "audience", CFG_STR, OFF(auth_audience), "loyalty-api", 0, 0, R, "JWT aud" },
	{ "auth", "access_ttl_s", CFG_INT, OFF(auth_access_ttl_s), "900", 60, 86400, R, "seconds" },
	{ "auth", "refresh_ttl_s", CFG_INT, OFF(auth_refresh_ttl_s), "2592000", 3600, 31536000, R, "seconds" },
	{ "auth", "leeway_s", CFG_INT, OFF(auth_leeway_s), "30", 0, 60, R, "seconds" },
	{ "auth", "lockout_failures", CFG_INT, OFF(auth_lockout_failures), "10", 1, 1000, R, "failed logins" },
	{ "auth", "lockout_window_s", CFG_INT, OFF(auth_lockout_window_s), "900", 1, 86400, R, "seconds" },
	{ "auth", "lockout_s", CFG_INT, OFF(auth_lockout_s), "900", 1, 86400, R, "seconds" },
	{ "auth", "password_min_length", CFG_INT, OFF(auth_password_min_length), "10", 8, 1024, R, "characters" },
	{ "limits", "tenant_rate", CFG_INT, OFF(limit_tenant_rate), "50", 1, 100000, R, "requests per second" },
	{ "limits", "tenant_burst", CFG_INT, OFF(limit_tenant_burst), "100", 1, 1000000, R, "requests" },
	{ "limits", "login_period_s", CFG_INT, OFF(limit_login_period_s), "900", 1, 86400, R, "seconds" },
	{ "limits", "login_per_email", CFG_INT, OFF(limit_login_per_email), "20", 1, 100000, R, "attempts per period" },
	{ "limits", "login_per_addr", CFG_INT, OFF(limit_login_per_addr), "100", 1, 1000000, R, "attempts per period" },
	{ "events", "future_s", CFG_INT, OFF(event_future_s), "300", 0, 604800, R, "seconds" },
	{ "log", "file", CFG_STR, OFF(log_file), "/var/log/loyalty/loyaltyd.log", 0, 0, R, "path or stderr" },
	{ "log", "level", CFG_LEVEL, OFF(log_level), "info", 0, 0, R, "debug, info, warn, error" },
	{ "backup", "dir", CFG_STR, OFF(backup_dir), "/var/backups/loyalty", 0, 0, R, "directory" },
	{ "backup", "keep_days", CFG_INT, OFF(backup_keep_days), "14", 1, 3650, R, "days" },
	{ "backup", "keep_min", CFG_INT, OFF(backup_keep_min), "7", 1, 1000, R, "backups" },
	{ "backup", "min_free_mb", CFG_INT, OFF(backup_min_free_mb), "256", 0, 1048576, R, "MiB" },
	{ "check", "connections_percent", CFG_INT, OFF(check_connections_percent), "80", 1, 100, R, "percent of max_connections" },
	{ "check", "long_transaction_s", CFG_INT, OFF(check_long_transaction_s), "300", 1, 86400, R, "seconds" },
	{ "check", "replication_lag_s", CFG_INT, OFF(check_replication_lag_s), "60", 1, 86400, R, "seconds" },
	{ "check", "backup_max_age_h", CFG_INT, OFF(check_backup_max_age_h), "26", 0, 8760, R, "hours, 0 = not checked" },
	{ "maintenance", "reindex_bloat_percent", CFG_INT, OFF(maint_reindex_bloat_percent), "30", 1, 100, R, "percent" },
	{ "maintenance", "reindex_min_kb", CFG_INT, OFF(maint_reindex_min_kb), "1024", 0, 104857600, R, "KiB" },
};
const size_t config_nkeys = sizeof(config_keys) / sizeof(config_keys[0]);

static const char *const levels[] = { "debug", "info", "warn", "error" };

static void
add_error(struct config_errors *errs, const char *name, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
add_error(struct config_errors *errs, const char *name, int line,
    const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	if (errs->n >= CONFIG_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(errs->msg[errs->n], sizeof(errs->msg[0]), "%s:%d: %s",
		    name, line, msg);
	else
		snprintf(errs->msg[errs->n], sizeof(errs->msg[0]), "%s: %s",
		    name, msg);
	errs->n++;
}

/* Parses a decimal integer with nothing else around it. */
static int
parse_long(const char *s, long *out)
{
	char	*end;
	long	 v;

	if (*s == '\0' || (!isdigit((unsigned char)*s) && *s != '-'))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/*
 * A key in hex: empty (not set), or an even number of hex digits giving
 * min to max bytes. Never echoes the value: it is a secret.
 */
static const char *
set_key(const struct config_key *k, char *field, const char *val, char *msg,
    size_t msglen)
{
	size_t	len = strlen(val);

	if (len > 0 && (strspn(val, "0123456789abcdefABCDEF") != len ||
	    len % 2 != 0)) {
		snprintf(msg, msglen, "%s.%s: not an even number of hex digits",
		    k->section, k->name);
		return msg;
	}
	if (len > 0 && (len / 2 < (size_t)k->min || len / 2 > (size_t)k->max)) {
		snprintf(msg, msglen, "%s.%s: %zu bytes; it must have %ld to "
		    "%ld (%ld to %ld hex digits)", k->section, k->name, len / 2,
		    k->min, k->max, 2 * k->min, 2 * k->max);
		return msg;
	}
	snprintf(field, CONFIG_STR_MAX, "%s", val);
	return NULL;
}

/* Sets one key from its text; returns an error message or NULL. */
static const char *
set_value(const struct config_key *k, struct config *cfg, const char *val,
    char *msg, size_t msglen)
{
	char	*field = (char *)cfg + k->offset;
	long	 v;
	size_t	 i;

	switch (k->type) {
	case CFG_INT:
		if (parse_long(val, &v) == -1) {
			snprintf(msg, msglen, "%s.%s: \"%s\" is not an integer",
			    k->section, k->name, val);
			return msg;
		}
		if (v < k->min || v > k->max) {
			snprintf(msg, msglen,
			    "%s.%s: %ld is out of range (%ld to %ld)",
			    k->section, k->name, v, k->min, k->max);
			return msg;
		}
		*(long *)(void *)field = v;
		return NULL;
	case CFG_STR:
		if (strlen(val) >= CONFIG_STR_MAX) {
			snprintf(msg, msglen, "%s.%s: value longer than %d bytes",
			    k->section, k->name, CONFIG_STR_MAX - 1);
			return msg;
		}
		snprintf(field, CONFIG_STR_MAX, "%s", val);
		return NULL;
	case CFG_KEY:
		return set_key(k, field, val, msg, msglen);
	case CFG_LEVEL:
		for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
			if (strcmp(val, levels[i]) == 0) {
				*(long *)(void *)field = (long)i;
				return NULL;
			}
		}
		snprintf(msg, msglen,
		    "%s.%s: \"%s\" is not one of debug, info, warn, error",
		    k->section, k->name, val);
		return msg;
	}
	return "unknown type";
}

void
config_defaults(struct config *cfg)
{
	char	msg[256];
	size_t	i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < config_nkeys; i++)
		(void)set_value(&config_keys[i], cfg, config_keys[i].def, msg,
		    sizeof(msg));
}

static const struct config_key *
find_key(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

static int
known_section(const char *section)
{
	size_t i;

	for (i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].section, section) == 0)
			return 1;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int
valid_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '_')
			return 0;
	return 1;
}

/* Why a key may not be set in this file: where it belongs instead. */
static const char *
misplaced(enum config_file belongs, enum config_file here)
{
	if (belongs == CONFIG_SECRETS)
		return "is a secret: put it in the secrets_file";
	if (belongs == CONFIG_ADMIN_SECRETS)
		return "is the administrator's secret: put it in "
		    "database.admin_secrets_file";
	return here == CONFIG_SECRETS ? "does not belong in the secrets file" :
	    "does not belong in the admin secrets file";
}

enum config_file
config_key_file(const struct config_key *k)
{
	if (k->flags & CFG_ADMIN)
		return CONFIG_ADMIN_SECRETS;
	return k->flags & CFG_SECRET ? CONFIG_SECRETS : CONFIG_MAIN;
}

int
config_parse(const char *name, const char *text, struct config *cfg,
    struct config_errors *errs, enum config_file file)
{
	char		 section[64] = "";
	char		 line[1024], msg[256];
	const char	*p = text, *nl;
	int		 lineno = 0, before = errs->n;

	while (*p != '\0') {
		size_t	 n;
		char	*s, *eq, *key, *val;
		const struct config_key *k;

		lineno++;
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n >= sizeof(line)) {
			add_error(errs, name, lineno, "line too long");
			p += n + (nl != NULL);
			continue;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl != NULL);
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (end == NULL || end[1] != '\0') {
				add_error(errs, name, lineno,
				    "malformed section header");
				continue;
			}
			*end = '\0';
			s = trim(s + 1);
			if (!valid_name(s) || strlen(s) >= sizeof(section)) {
				add_error(errs, name, lineno,
				    "malformed section name \"%s\"", s);
				section[0] = '\0';
				continue;
			}
			snprintf(section, sizeof(section), "%s", s);
			if (!known_section(section))
				add_error(errs, name, lineno,
				    "unknown section [%s]", section);
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL) {
			add_error(errs, name, lineno, "expected key = value");
			continue;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (key[0] == '\0') {
			add_error(errs, name, lineno, "missing key before '='");
			continue;
		}
		if (section[0] == '\0') {
			add_error(errs, name, lineno,
			    "key \"%s\" outside of a [section]", key);
			continue;
		}
		if ((k = find_key(section, key)) == NULL) {
			if (known_section(section))
				add_error(errs, name, lineno,
				    "unknown key %s.%s", section, key);
			continue;	/* an unknown section was reported */
		}
		if (config_key_file(k) != file) {
			add_error(errs, name, lineno, "%s.%s %s", section, key,
			    misplaced(config_key_file(k), file));
			continue;
		}
		if (set_value(k, cfg, val, msg, sizeof(msg)) != NULL)
			add_error(errs, name, lineno, "%s", msg);
	}
	return errs->n == before ? 0 : -1;
}

/* Reads a whole file (at most 1 MiB) into a NUL-terminated buffer. */
static char *
slurp(const char *path, struct config_errors *errs)
{
	FILE	*f;
	char	*text;
	size_t	 n;

	if ((f = fopen(path, "re")) == NULL) {
		add_error(errs, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if ((text = malloc(1024 * 1024 + 1)) == NULL) {
		fclose(f);
		add_error(errs, path, 0, "out of memory");
		return NULL;
	}
	n = fread(text, 1, 1024 * 1024, f);
	if (ferror(f) || !feof(f)) {
		add_error(errs, path, 0, ferror(f) ? "read error" :
		    "larger than 1 MiB");
		fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	text[n] = '\0';
	if (strlen(text) != n) {
		add_error(errs, path, 0, "contains a NUL byte");
		free(text);
		return NULL;
	}
	return text;
}

/*
 * A secrets file: refused when others (or, for the admin secrets, also the
 * group) have any access to it; its text is erased once parsed.
 */
static int
load_secrets(const char *path, enum config_file file, struct config *cfg,
    struct config_errors *errs)
{
	const char	*key = file == CONFIG_SECRETS ? "secrets_file" :
			    "admin_secrets_file";
	mode_t		 deny = file == CONFIG_SECRETS ? 0007 : 0077;
	struct stat	 st;
	char		*text;
	int		 rc;

	if (stat(path, &st) == -1) {
		add_error(errs, path, 0, "%s: %s", key, strerror(errno));
		return -1;
	}
	if (st.st_mode & deny) {
		add_error(errs, path, 0, "%s is accessible by %s (mode %04o); "
		    "chmod %s it", key, file == CONFIG_SECRETS ? "others" :
		    "group or others", (unsigned)(st.st_mode & 07777),
		    file == CONFIG_SECRETS ? "0640" : "0600");
		return -1;
	}
	if ((text = slurp(path, errs)) == NULL)
		return -1;
	rc = config_parse(path, text, cfg, errs, file);
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

int
config_load_admin_secrets(struct config *cfg, struct config_errors *errs)
{
	errs->n = 0;
	if (cfg->db_admin_secrets_file[0] == '\0')
		return 0;
	return load_secrets(cfg->db_admin_secrets_file, CONFIG_ADMIN_SECRETS,
	    cfg, errs);
}

int
config_load(const char *path, struct config *cfg, struct config_errors *errs)
{
	char	*text;
	int	 rc;

	errs->n = 0;
	if ((text = slurp(path, errs)) == NULL)
		return -1;
	rc = config_parse(path, text, cfg, errs, CONFIG_MAIN);
	free(text);
	if (cfg->secrets_file[0] != '\0' &&
	    load_secrets(cfg->secrets_file, CONFIG_SECRETS, cfg, errs) == -1)
		rc = -1;
	return rc;
}

int
config_check_daemon(const struct config *cfg, struct config_errors *errs)
{
	static const struct {
		const char	*name;
		size_t		 offset;
	} needed[] = {
		{ "auth.jwt_key", offsetof(struct config, auth_jwt_key) },
		{ "auth.master_key", offsetof(struct config, auth_master_key) },
	};
	const char	*where = cfg->secrets_file[0] != '\0' ?
			    cfg->secrets_file : "the secrets file";
	size_t		 i;
	int		 before = errs->n;

	for (i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (((const char *)cfg + needed[i].offset)[0] == '\0')
			add_error(errs, where, 0, "%s is not set: `loyaltyctl "
			    "gen-secrets --add-missing --output FILE` adds it",
			    needed[i].name);
	return errs->n == before ? 0 : -1;
}

int
config_apply_reload(struct config *cur, const struct config *next,
    char *kept, size_t keptlen)
{
	size_t	i;
	int	nkept = 0;

	if (keptlen > 0)
		kept[0] = '\0';
	for (i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		int str = k->type == CFG_STR || k->type == CFG_KEY;
		size_t size = str ? CONFIG_STR_MAX : sizeof(long);
		char *dst = (char *)cur + k->offset;
		const char *src = (const char *)next + k->offset;

		/* A string ends at its NUL: what follows is an older value. */
		if (str ? strcmp(dst, src) == 0 : memcmp(dst, src, size) == 0)
			continue;
		if (k->flags & CFG_RELOAD) {
			memcpy(dst, src, size);
			continue;
		}
		if (keptlen > 0) {
			size_t len = strlen(kept);

			snprintf(kept + len, keptlen - len, "%s%s.%s",
			    nkept ? ", " : "", k->section, k->name);
		}
		nkept++;
	}
	return nkept;
}
