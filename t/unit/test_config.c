/* test_config.c — the key table, the INI reader, secrets and reloads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* The shipped etc/loyalty.conf, every key set explicitly. */
static const char full_conf[] =
    "# loyalty.conf\n"
    "; a comment of the other kind\n"
    "\n"
    "[server]\n"
    "listen = /run/loyalty/loyaltyd.sock\n"
    "workers = 8\n"
    "max_requests = 5000\n"
    "max_requests_jitter = 500\n"
    "request_timeout = 60\n"
    "slow_request_ms = 250\n"
    "shutdown_timeout = 20\n"
    "crash_limit = 5\n"
    "crash_window = 120\n"
    "max_body_bytes = 65536\n"
    "secrets_file = /etc/loyalty/secrets.conf\n"
    "\n"
    "[database]\n"
    "host = db.example.org\n"
    "port = 6432\n"
    "name = points\n"
    "user = points_app\n"
    "admin_user = points_admin\n"
    "connect_timeout = 3\n"
    "statement_timeout_ms = 2500\n"
    "reconnect_max_ms = 4000\n"
    "\n"
    "  [ log ]  \n"
    "\tfile = stderr \r\n"
    "level=debug";

/* Parses text as "t.conf" over the defaults; returns config_parse's rc. */
static int
parse(const char *text, struct config *cfg, struct config_errors *errs,
    enum config_file secrets)
{
	config_defaults(cfg);
	memset(errs, 0, sizeof(*errs));
	return config_parse("t.conf", text, cfg, errs, secrets);
}

/* Asserts that text fails with exactly one error, equal to want. */
static void
assert_one_error_at(const char *text, enum config_file secrets,
    const char *want,
    const char *file, int line)
{
	struct config		cfg;
	struct config_errors	errs;

	_assert_int_equal((LargestIntegralType)parse(text, &cfg, &errs,
	    secrets), (LargestIntegralType)-1, file, line);
	_assert_int_equal(errs.n, 1, file, line);
	_assert_string_equal(errs.msg[0], want, file, line);
}

#define assert_one_error(text, secrets, want) \
	assert_one_error_at((text), (secrets), (want), __FILE__, __LINE__)

static const struct config_key *
key_named(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* A temporary file holding text with the given mode; path is filled. */
static void
write_temp(char *path, size_t len, const char *text, mode_t mode)
{
	int fd;

	snprintf(path, len, "/tmp/loyalty-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_config_defaults_match_the_table(void **state)
{
	struct config cfg;

	(void)state;
	memset(&cfg, 0xab, sizeof(cfg));
	config_defaults(&cfg);
	assert_string_equal(cfg.listen, "");
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.max_requests, 10000);
	assert_int_equal(cfg.max_requests_jitter, 1000);
	assert_int_equal(cfg.request_timeout, 30);
	assert_int_equal(cfg.slow_request_ms, 1000);
	assert_int_equal(cfg.shutdown_timeout, 25);
	assert_int_equal(cfg.crash_limit, 10);
	assert_int_equal(cfg.crash_window, 60);
	assert_int_equal(cfg.max_body_bytes, 1048576);
	assert_string_equal(cfg.secrets_file, "");
	assert_string_equal(cfg.db_host, "/var/run/postgresql");
	assert_int_equal(cfg.db_port, 5432);
	assert_string_equal(cfg.db_name, "loyalty");
	assert_string_equal(cfg.db_user, "loyalty");
	assert_string_equal(cfg.db_admin_user, "postgres");
	assert_int_equal(cfg.db_connect_timeout, 5);
	assert_int_equal(cfg.db_statement_timeout_ms, 5000);
	assert_int_equal(cfg.db_reconnect_max_ms, 2000);
	assert_string_equal(cfg.db_password, "");
	assert_string_equal(cfg.log_file, "/var/log/loyalty/loyaltyd.log");
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_string_equal(log_level_name(cfg.log_level), "info");
}

/*
 * Each key's default, written as a file would write it, parses without
 * error, lies within the key's bounds, and is what config_defaults() set.
 */
static void
test_config_every_key_default_parses_within_bounds(void **state)
{
	struct config	defs, cfg;
	size_t		i;

	(void)state;
	config_defaults(&defs);
	assert_true(config_nkeys > 0);
	for (i = 0; i < config_nkeys; i++) {
		const struct config_key	*k = &config_keys[i];
		struct config_errors	 errs;
		char			 text[512];
		const char		*got = (const char *)&defs + k->offset;

		assert_non_null(k->section);
		assert_non_null(k->name);
		assert_non_null(k->def);
		assert_ptr_equal(key_named(k->section, k->name), k);
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", k->section,
		    k->name, k->def);
		if (parse(text, &cfg, &errs, config_key_file(k)) != 0)
			fail_msg("default of %s.%s does not parse: %s",
			    k->section, k->name, errs.msg[0]);
		switch (k->type) {
		case CFG_INT: {
			char	*end;
			long	 v = strtol(k->def, &end, 10);

			assert_int_equal(*end, '\0');
			assert_true(k->min <= k->max);
			if (v < k->min || v > k->max)
				fail_msg("default of %s.%s (%ld) outside %ld..%ld",
				    k->section, k->name, v, k->min, k->max);
			assert_int_equal(*(const long *)(const void *)got, v);
			break;
		}
		case CFG_STR:
		case CFG_KEY:
			assert_true(strlen(k->def) < CONFIG_STR_MAX);
			assert_string_equal(got, k->def);
			break;
		case CFG_LEVEL:
			assert_string_equal(log_level_name(
			    *(const long *)(const void *)got), k->def);
			break;
		}
	}
}

static void
test_config_parse_accepts_a_full_valid_file(void **state)
{
	struct config		cfg;
	struct config_errors	errs;

	(void)state;
	assert_int_equal(parse(full_conf, &cfg, &errs, 0), 0);
	assert_int_equal(errs.n, 0);
	assert_string_equal(cfg.listen, "/run/loyalty/loyaltyd.sock");
	assert_int_equal(cfg.workers, 8);
	assert_int_equal(cfg.max_requests, 5000);
	assert_int_equal(cfg.max_requests_jitter, 500);
	assert_int_equal(cfg.request_timeout, 60);
	assert_int_equal(cfg.slow_request_ms, 250);
	assert_int_equal(cfg.shutdown_timeout, 20);
	assert_int_equal(cfg.crash_limit, 5);
	assert_int_equal(cfg.crash_window, 120);
	assert_int_equal(cfg.max_body_bytes, 65536);
	assert_string_equal(cfg.secrets_file, "/etc/loyalty/secrets.conf");
	assert_string_equal(cfg.db_host, "db.example.org");
	assert_int_equal(cfg.db_port, 6432);
	assert_string_equal(cfg.db_name, "points");
	assert_string_equal(cfg.db_user, "points_app");
	assert_string_equal(cfg.db_admin_user, "points_admin");
	assert_int_equal(cfg.db_connect_timeout, 3);
	assert_int_equal(cfg.db_statement_timeout_ms, 2500);
	assert_int_equal(cfg.db_reconnect_max_ms, 4000);
	/* White space and a CR around the value are trimmed. */
	assert_string_equal(cfg.log_file, "stderr");
	assert_int_equal(cfg.log_level, LOG_DEBUG);
}

/* The shipped example file, found from srcdir or this file's path. */
static void
test_config_load_accepts_the_shipped_example(void **state)
{
	struct config		cfg;
	struct config_errors	errs;
	char			path[4096], text[16384];
	const char		*srcdir = getenv("srcdir");
	FILE			*f;
	size_t			 n;

	(void)state;
	if (srcdir != NULL)
		snprintf(path, sizeof(path), "%s/etc/loyalty.conf", srcdir);
	else {
		const char	*file = __FILE__;
		const char	*t = strstr(file, "t/unit/test_config.c");

		assert_non_null(t);
		snprintf(path, sizeof(path), "%.*setc/loyalty.conf",
		    (int)(t - file), file);
	}
	/*
	 * Parsed, not loaded: the secrets file it names exists only on an
	 * installed system (the package writes it).
	 */
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("%s: cannot open", path);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	config_defaults(&cfg);
	memset(&errs, 0, sizeof(errs));
	if (config_parse(path, text, &cfg, &errs, 0) != 0)
		fail_msg("%s: %s", path, errs.n ? errs.msg[0] : "?");
	assert_int_equal(errs.n, 0);
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.db_port, 5432);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_string_equal(cfg.secrets_file, "/etc/loyalty/secrets.conf");
	assert_string_equal(cfg.db_admin_os_user, "postgres");
	assert_string_equal(cfg.backup_dir, "/var/backups/loyalty");
}

static void
test_config_boundary_values_are_accepted(void **state)
{
	struct config		cfg;
	struct config_errors	errs;

	(void)state;
	assert_int_equal(parse("[server]\nworkers = 1\n[database]\n"
	    "port = 65535\nstatement_timeout_ms = 0\n", &cfg, &errs, 0), 0);
	assert_int_equal(cfg.workers, 1);
	assert_int_equal(cfg.db_port, 65535);
	assert_int_equal(cfg.db_statement_timeout_ms, 0);
	assert_int_equal(parse("[server]\nworkers = 64\n", &cfg, &errs, 0), 0);
	assert_int_equal(cfg.workers, 64);
	/* Every level name. */
	assert_int_equal(parse("[log]\nlevel = warn\n", &cfg, &errs, 0), 0);
	assert_int_equal(cfg.log_level, LOG_WARN);
	assert_int_equal(parse("[log]\nlevel = error\n", &cfg, &errs, 0), 0);
	assert_int_equal(cfg.log_level, LOG_ERROR);
	/* A string of exactly CONFIG_STR_MAX - 1 bytes fits. */
	{
		char text[600], val[CONFIG_STR_MAX];

		memset(val, 'h', sizeof(val) - 1);
		val[sizeof(val) - 1] = '\0';
		snprintf(text, sizeof(text), "[database]\nhost = %s\n", val);
		assert_int_equal(parse(text, &cfg, &errs, 0), 0);
		assert_string_equal(cfg.db_host, val);
	}
}

static void
test_config_unknown_key_is_an_error_with_line(void **state)
{
	(void)state;
	assert_one_error("[server]\nworkers = 2\nbogus = 1\n", 0,
	    "t.conf:3: unknown key server.bogus");
	/* A key of another section is unknown in this one. */
	assert_one_error("[log]\nport = 5432\n", 0,
	    "t.conf:2: unknown key log.port");
}

static void
test_config_unknown_section_is_an_error_with_line(void **state)
{
	struct config		cfg;
	struct config_errors	errs;

	(void)state;
	/* Reported once, at the header; its keys are not reported again. */
	assert_int_equal(parse("[server]\nworkers = 2\n\n[nope]\nx = 1\ny = 2\n",
	    &cfg, &errs, 0), -1);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0], "t.conf:4: unknown section [nope]");
}

static void
test_config_key_outside_section_is_an_error(void **state)
{
	(void)state;
	assert_one_error("# header\nworkers = 4\n", 0,
	    "t.conf:2: key \"workers\" outside of a [section]");
}

static void
test_config_malformed_section_header_is_an_error(void **state)
{
	(void)state;
	assert_one_error("[server\n", 0, "t.conf:1: malformed section header");
	assert_one_error("\n[server] trailing\n", 0,
	    "t.conf:2: malformed section header");
	assert_one_error("[Server]\n", 0,
	    "t.conf:1: malformed section name \"Server\"");
	assert_one_error("[]\n", 0, "t.conf:1: malformed section name \"\"");
	assert_one_error("[a b]\n", 0,
	    "t.conf:1: malformed section name \"a b\"");
}

static void
test_config_keys_after_a_bad_section_name_are_outside_any_section(void **state)
{
	struct config		cfg;
	struct config_errors	errs;

	(void)state;
	assert_int_equal(parse("[server]\n[Bad]\nworkers = 3\n", &cfg, &errs, 0),
	    -1);
	assert_int_equal(errs.n, 2);
	assert_string_equal(errs.msg[0],
	    "t.conf:2: malformed section name \"Bad\"");
	assert_string_equal(errs.msg[1],
	    "t.conf:3: key \"workers\" outside of a [section]");
}

static void
test_config_missing_equals_is_an_error(void **state)
{
	(void)state;
	assert_one_error("[server]\nworkers 4\n", 0,
	    "t.conf:2: expected key = value");
}

static void
test_config_non_integer_is_an_error(void **state)
{
	(void)state;
	assert_one_error("[server]\nworkers = four\n", 0,
	    "t.conf:2: server.workers: \"four\" is not an integer");
	assert_one_error("[server]\nworkers = 4x\n", 0,
	    "t.conf:2: server.workers: \"4x\" is not an integer");
	assert_one_error("[server]\nworkers = 4.0\n", 0,
	    "t.conf:2: server.workers: \"4.0\" is not an integer");
	assert_one_error("[server]\nworkers = +4\n", 0,
	    "t.conf:2: server.workers: \"+4\" is not an integer");
	assert_one_error("[server]\nworkers =\n", 0,
	    "t.conf:2: server.workers: \"\" is not an integer");
	assert_one_error("[server]\nworkers = 0x10\n", 0,
	    "t.conf:2: server.workers: \"0x10\" is not an integer");
	/* Beyond long: not silently saturated. */
	assert_one_error("[server]\nworkers = 99999999999999999999\n", 0,
	    "t.conf:2: server.workers: \"99999999999999999999\" is not an integer");
}

static void
test_config_out_of_range_low_is_an_error(void **state)
{
	(void)state;
	assert_one_error("[server]\nworkers = 0\n", 0,
	    "t.conf:2: server.workers: 0 is out of range (1 to 64)");
	assert_one_error("[server]\nmax_body_bytes = 1023\n", 0,
	    "t.conf:2: server.max_body_bytes: 1023 is out of range "
	    "(1024 to 67108864)");
	assert_one_error("[database]\nport = -1\n", 0,
	    "t.conf:2: database.port: -1 is out of range (1 to 65535)");
}

static void
test_config_out_of_range_high_is_an_error(void **state)
{
	(void)state;
	assert_one_error("[server]\nworkers = 65\n", 0,
	    "t.conf:2: server.workers: 65 is out of range (1 to 64)");
	assert_one_error("[database]\nport = 65536\n", 0,
	    "t.conf:2: database.port: 65536 is out of range (1 to 65535)");
}

static void
test_config_bad_log_level_is_an_error(void **state)
{
	(void)state;
	assert_one_error("[log]\nlevel = loud\n", 0,
	    "t.conf:2: log.level: \"loud\" is not one of debug, info, warn, "
	    "error");
	assert_one_error("[log]\nlevel = INFO\n", 0,
	    "t.conf:2: log.level: \"INFO\" is not one of debug, info, warn, "
	    "error");
}

static void
test_config_string_too_long_is_an_error(void **state)
{
	char	text[700], val[CONFIG_STR_MAX + 1];

	(void)state;
	memset(val, 'x', CONFIG_STR_MAX);
	val[CONFIG_STR_MAX] = '\0';
	snprintf(text, sizeof(text), "[log]\nfile = %s\n", val);
	assert_one_error(text, 0,
	    "t.conf:2: log.file: value longer than 255 bytes");
}

static void
test_config_line_too_long_is_an_error(void **state)
{
	struct config		cfg;
	struct config_errors	errs;
	char			text[3000];
	size_t			n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "[log]\nfile = ");
	memset(text + n, 'y', 2000);
	snprintf(text + n + 2000, sizeof(text) - n - 2000,
	    "\nlevel = debug\n");
	assert_int_equal(parse(text, &cfg, &errs, 0), -1);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0], "t.conf:2: line too long");
	/* The reader carries on after the long line. */
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(cfg.log_file, "/var/log/loyalty/loyaltyd.log");
}

static void
test_config_secret_key_in_main_file_is_refused(void **state)
{
	struct config		cfg;
	struct config_errors	errs;

	(void)state;
	assert_int_equal(parse("[database]\npassword = hunter2\n", &cfg, &errs,
	    0), -1);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0],
	    "t.conf:2: database.password is a secret: put it in the "
	    "secrets_file");
	/* The secret is neither stored nor echoed in the message. */
	assert_string_equal(cfg.db_password, "");
	assert_null(strstr(errs.msg[0], "hunter2"));
}

static void
test_config_non_secret_key_in_secrets_file_is_refused(void **state)
{
	struct config		cfg;
	struct config_errors	errs;

	(void)state;
	assert_int_equal(parse("[database]\npassword = s3cret\nport = 6543\n",
	    &cfg, &errs, 1), -1);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0],
	    "t.conf:3: database.port does not belong in the secrets file");
	assert_int_equal(cfg.db_port, 5432);
	assert_string_equal(cfg.db_password, "s3cret");
}

static void
test_config_secrets_file_sets_password(void **state)
{
	struct config		cfg;
	struct config_errors	errs;

	(void)state;
	assert_int_equal(parse("# secrets\n[database]\npassword = p=a ss\n",
	    &cfg, &errs, 1), 0);
	/* Only the first '=' splits; inner white space is kept. */
	assert_string_equal(cfg.db_password, "p=a ss");
}

static void
test_config_collects_multiple_errors_with_line_numbers(void **state)
{
	struct config		cfg;
	struct config_errors	errs;

	(void)state;
	assert_int_equal(parse(
	    "orphan = 1\n"			/* 1 */
	    "[server]\n"			/* 2 */
	    "workers = many\n"			/* 3 */
	    "max_requests = 10\n"		/* 4: fine */
	    "request_timeout = 0\n"		/* 5 */
	    "# comment\n"			/* 6 */
	    "[database]\n"			/* 7 */
	    "port\n"				/* 8 */
	    "colour = blue\n"			/* 9 */
	    "[log]\n"				/* 10 */
	    "level = verbose\n",		/* 11 */
	    &cfg, &errs, 0), -1);
	assert_int_equal(errs.n, 6);
	assert_string_equal(errs.msg[0],
	    "t.conf:1: key \"orphan\" outside of a [section]");
	assert_string_equal(errs.msg[1],
	    "t.conf:3: server.workers: \"many\" is not an integer");
	assert_string_equal(errs.msg[2],
	    "t.conf:5: server.request_timeout: 0 is out of range (1 to 3600)");
	assert_string_equal(errs.msg[3], "t.conf:8: expected key = value");
	assert_string_equal(errs.msg[4], "t.conf:9: unknown key database.colour");
	assert_string_equal(errs.msg[5],
	    "t.conf:11: log.level: \"verbose\" is not one of debug, info, "
	    "warn, error");
	/* The valid line in between still took effect. */
	assert_int_equal(cfg.max_requests, 10);
}

static void
test_config_errors_stop_at_the_limit(void **state)
{
	struct config		cfg;
	struct config_errors	errs;
	char			text[4096];
	size_t			len = 0;
	int			i;

	(void)state;
	len += (size_t)snprintf(text, sizeof(text), "[server]\n");
	for (i = 0; i < CONFIG_MAX_ERRORS + 10; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "bad%d = 1\n", i);
	assert_int_equal(parse(text, &cfg, &errs, 0), -1);
	assert_int_equal(errs.n, CONFIG_MAX_ERRORS);
	assert_string_equal(errs.msg[0], "t.conf:2: unknown key server.bad0");
	assert_string_equal(errs.msg[CONFIG_MAX_ERRORS - 1],
	    "t.conf:33: unknown key server.bad31");
}

static void
test_config_load_of_missing_file_is_an_error(void **state)
{
	struct config		cfg;
	struct config_errors	errs;

	(void)state;
	config_defaults(&cfg);
	errs.n = 99;	/* config_load starts a fresh list */
	assert_int_equal(config_load("/nonexistent/loyalty.conf", &cfg, &errs),
	    -1);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0],
	    "/nonexistent/loyalty.conf: cannot open: No such file or directory");
}

static void
test_config_load_reports_errors_under_the_file_name(void **state)
{
	struct config		cfg;
	struct config_errors	errs;
	char			path[64], want[160];

	(void)state;
	write_temp(path, sizeof(path), "[server]\n\nworkers = 0\n", 0644);
	config_defaults(&cfg);
	assert_int_equal(config_load(path, &cfg, &errs), -1);
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want),
	    "%s:3: server.workers: 0 is out of range (1 to 64)", path);
	assert_string_equal(errs.msg[0], want);
	assert_int_equal(unlink(path), 0);
}

static void
test_config_load_refuses_world_readable_secrets_file(void **state)
{
	struct config		cfg;
	struct config_errors	errs;
	char			secrets[64], main_path[64], text[200], want[200];

	(void)state;
	write_temp(secrets, sizeof(secrets), "[database]\npassword = pw0644\n",
	    0644);
	snprintf(text, sizeof(text), "[server]\nsecrets_file = %s\n", secrets);
	write_temp(main_path, sizeof(main_path), text, 0644);
	config_defaults(&cfg);
	assert_int_equal(config_load(main_path, &cfg, &errs), -1);
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want),
	    "%s: secrets_file is accessible by others (mode 0644); "
	    "chmod 0640 it", secrets);
	assert_string_equal(errs.msg[0], want);
	assert_non_null(strstr(errs.msg[0], "0644"));
	assert_string_equal(cfg.db_password, "");
	assert_int_equal(unlink(secrets), 0);
	assert_int_equal(unlink(main_path), 0);
}

static void
test_config_load_accepts_0640_secrets_file_and_reads_password(void **state)
{
	struct config		cfg;
	struct config_errors	errs;
	char			secrets[64], main_path[64], text[200];

	(void)state;
	write_temp(secrets, sizeof(secrets),
	    "# generated\n[database]\npassword = c0rrect-h0rse\n", 0640);
	snprintf(text, sizeof(text), "[server]\nworkers = 2\nsecrets_file = %s\n"
	    "[database]\nuser = app\n", secrets);
	write_temp(main_path, sizeof(main_path), text, 0644);
	config_defaults(&cfg);
	if (config_load(main_path, &cfg, &errs) != 0)
		fail_msg("%s", errs.n ? errs.msg[0] : "?");
	assert_int_equal(errs.n, 0);
	assert_string_equal(cfg.db_password, "c0rrect-h0rse");
	assert_string_equal(cfg.db_user, "app");
	assert_int_equal(cfg.workers, 2);
	assert_int_equal(unlink(secrets), 0);
	assert_int_equal(unlink(main_path), 0);
}

static void
test_config_load_reports_errors_in_the_secrets_file(void **state)
{
	struct config		cfg;
	struct config_errors	errs;
	char			secrets[64], main_path[64], text[200], want[200];

	(void)state;
	write_temp(secrets, sizeof(secrets),
	    "[database]\npassword = x\nhost = elsewhere\n", 0600);
	snprintf(text, sizeof(text), "[server]\nsecrets_file = %s\n", secrets);
	write_temp(main_path, sizeof(main_path), text, 0644);
	config_defaults(&cfg);
	assert_int_equal(config_load(main_path, &cfg, &errs), -1);
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want),
	    "%s:3: database.host does not belong in the secrets file", secrets);
	assert_string_equal(errs.msg[0], want);
	assert_int_equal(unlink(secrets), 0);
	assert_int_equal(unlink(main_path), 0);
}

static void
test_config_admin_password_belongs_only_in_the_admin_secrets(void **state)
{
	struct config		cfg;
	struct config_errors	errs;

	(void)state;
	assert_one_error("[database]\nadmin_password = x\n", CONFIG_MAIN,
	    "t.conf:2: database.admin_password is the administrator's "
	    "secret: put it in database.admin_secrets_file");
	assert_one_error("[database]\nadmin_password = x\n", CONFIG_SECRETS,
	    "t.conf:2: database.admin_password is the administrator's "
	    "secret: put it in database.admin_secrets_file");
	assert_one_error("[database]\npassword = x\n", CONFIG_ADMIN_SECRETS,
	    "t.conf:2: database.password is a secret: put it in the "
	    "secrets_file");
	assert_one_error("[database]\nhost = h\n", CONFIG_ADMIN_SECRETS,
	    "t.conf:2: database.host does not belong in the admin secrets "
	    "file");
	assert_int_equal(parse("[database]\nadmin_password = a=b\n", &cfg,
	    &errs, CONFIG_ADMIN_SECRETS), 0);
	assert_string_equal(cfg.db_admin_password, "a=b");
}

/*
 * loyaltyd loads with config_load: the administrator's password stays
 * out of it even when the file that holds it is named and readable.
 */
static void
test_config_load_leaves_the_admin_secrets_to_loyaltyctl(void **state)
{
	struct config		cfg;
	struct config_errors	errs;
	char			admin[64], main_path[64], text[200], want[240];

	(void)state;
	write_temp(admin, sizeof(admin), "[database]\nadmin_password = "
	    "adm1n\n", 0640);
	snprintf(text, sizeof(text), "[database]\nadmin_secrets_file = %s\n",
	    admin);
	write_temp(main_path, sizeof(main_path), text, 0644);
	config_defaults(&cfg);
	if (config_load(main_path, &cfg, &errs) != 0)
		fail_msg("%s", errs.n ? errs.msg[0] : "?");
	assert_string_equal(cfg.db_admin_secrets_file, admin);
	assert_string_equal(cfg.db_admin_password, "");

	/* Group-readable: refused, not read. */
	assert_int_equal(config_load_admin_secrets(&cfg, &errs), -1);
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want), "%s: admin_secrets_file is accessible by "
	    "group or others (mode 0640); chmod 0600 it", admin);
	assert_string_equal(errs.msg[0], want);
	assert_string_equal(cfg.db_admin_password, "");

	assert_int_equal(chmod(admin, 0600), 0);
	assert_int_equal(config_load_admin_secrets(&cfg, &errs), 0);
	assert_int_equal(errs.n, 0);
	assert_string_equal(cfg.db_admin_password, "adm1n");
	assert_int_equal(unlink(admin), 0);
	assert_int_equal(unlink(main_path), 0);
}

static void
test_config_load_admin_secrets_without_a_file_is_a_no_op(void **state)
{
	struct config		cfg;
	struct config_errors	errs;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_load_admin_secrets(&cfg, &errs), 0);
	assert_int_equal(errs.n, 0);
	assert_string_equal(cfg.db_admin_password, "");
	snprintf(cfg.db_admin_secrets_file, sizeof(cfg.db_admin_secrets_file),
	    "/nonexistent/admin.conf");
	assert_int_equal(config_load_admin_secrets(&cfg, &errs), -1);
	assert_string_equal(errs.msg[0], "/nonexistent/admin.conf: "
	    "admin_secrets_file: No such file or directory");
}

static void
test_config_load_of_missing_secrets_file_is_an_error(void **state)
{
	struct config		cfg;
	struct config_errors	errs;
	char			main_path[64];

	(void)state;
	write_temp(main_path, sizeof(main_path),
	    "[server]\nsecrets_file = /nonexistent/secrets.conf\n", 0644);
	config_defaults(&cfg);
	assert_int_equal(config_load(main_path, &cfg, &errs), -1);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0], "/nonexistent/secrets.conf: "
	    "secrets_file: No such file or directory");
	assert_int_equal(unlink(main_path), 0);
}

static void
test_config_apply_reload_copies_reloadable_and_keeps_listen(void **state)
{
	struct config	cur, next;
	char		kept[256];

	(void)state;
	config_defaults(&cur);
	snprintf(cur.listen, sizeof(cur.listen), "/run/loyalty/loyaltyd.sock");
	next = cur;
	snprintf(next.listen, sizeof(next.listen), "127.0.0.1:9000");
	next.workers = 9;
	next.request_timeout = 7;
	next.log_level = LOG_ERROR;
	snprintf(next.db_password, sizeof(next.db_password), "new-secret");
	snprintf(next.db_host, sizeof(next.db_host), "db2");

	assert_int_equal(config_apply_reload(&cur, &next, kept, sizeof(kept)),
	    1);
	assert_string_equal(kept, "server.listen");
	assert_string_equal(cur.listen, "/run/loyalty/loyaltyd.sock");
	assert_int_equal(cur.workers, 9);
	assert_int_equal(cur.request_timeout, 7);
	assert_int_equal(cur.log_level, LOG_ERROR);
	assert_string_equal(cur.db_password, "new-secret");
	assert_string_equal(cur.db_host, "db2");
}

static void
test_config_apply_reload_with_no_change_keeps_nothing(void **state)
{
	struct config	cur, next;
	char		kept[64];

	(void)state;
	config_defaults(&cur);
	config_defaults(&next);
	memset(kept, 'z', sizeof(kept));
	assert_int_equal(config_apply_reload(&cur, &next, kept, sizeof(kept)),
	    0);
	assert_string_equal(kept, "");
	/* Only listen changes: reported even with no room for the list. */
	snprintf(next.listen, sizeof(next.listen), "/tmp/x.sock");
	assert_int_equal(config_apply_reload(&cur, &next, NULL, 0), 1);
	assert_string_equal(cur.listen, "");
}

static void
test_config_only_listen_is_not_reloadable(void **state)
{
	size_t	i;
	int	fixed = 0;

	(void)state;
	for (i = 0; i < config_nkeys; i++) {
		if (config_keys[i].flags & CFG_RELOAD)
			continue;
		fixed++;
		assert_string_equal(config_keys[i].section, "server");
		assert_string_equal(config_keys[i].name, "listen");
	}
	assert_int_equal(fixed, 1);
	/* The secrets are the database password and the two auth keys. */
	assert_true(key_named("database", "password")->flags & CFG_SECRET);
	assert_true(key_named("auth", "jwt_key")->flags & CFG_SECRET);
	assert_true(key_named("auth", "master_key")->flags & CFG_SECRET);
	assert_false(key_named("database", "user")->flags & CFG_SECRET);
}

static void
test_config_log_level_names(void **state)
{
	(void)state;
	assert_string_equal(log_level_name(LOG_DEBUG), "debug");
	assert_string_equal(log_level_name(LOG_INFO), "info");
	assert_string_equal(log_level_name(LOG_WARN), "warn");
	assert_string_equal(log_level_name(LOG_ERROR), "error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults_match_the_table),
		cmocka_unit_test(test_config_every_key_default_parses_within_bounds),
		cmocka_unit_test(test_config_parse_accepts_a_full_valid_file),
		cmocka_unit_test(test_config_load_accepts_the_shipped_example),
		cmocka_unit_test(test_config_boundary_values_are_accepted),
		cmocka_unit_test(test_config_unknown_key_is_an_error_with_line),
		cmocka_unit_test(test_config_unknown_section_is_an_error_with_line),
		cmocka_unit_test(test_config_key_outside_section_is_an_error),
		cmocka_unit_test(test_config_malformed_section_header_is_an_error),
		cmocka_unit_test(test_config_keys_after_a_bad_section_name_are_outside_any_section),
		cmocka_unit_test(test_config_missing_equals_is_an_error),
		cmocka_unit_test(test_config_non_integer_is_an_error),
		cmocka_unit_test(test_config_out_of_range_low_is_an_error),
		cmocka_unit_test(test_config_out_of_range_high_is_an_error),
		cmocka_unit_test(test_config_bad_log_level_is_an_error),
		cmocka_unit_test(test_config_string_too_long_is_an_error),
		cmocka_unit_test(test_config_line_too_long_is_an_error),
		cmocka_unit_test(test_config_secret_key_in_main_file_is_refused),
		cmocka_unit_test(test_config_non_secret_key_in_secrets_file_is_refused),
		cmocka_unit_test(test_config_secrets_file_sets_password),
		cmocka_unit_test(test_config_collects_multiple_errors_with_line_numbers),
		cmocka_unit_test(test_config_errors_stop_at_the_limit),
		cmocka_unit_test(test_config_load_of_missing_file_is_an_error),
		cmocka_unit_test(test_config_load_reports_errors_under_the_file_name),
		cmocka_unit_test(test_config_load_refuses_world_readable_secrets_file),
		cmocka_unit_test(test_config_load_accepts_0640_secrets_file_and_reads_password),
		cmocka_unit_test(test_config_load_reports_errors_in_the_secrets_file),
		cmocka_unit_test(test_config_load_of_missing_secrets_file_is_an_error),
		cmocka_unit_test(test_config_admin_password_belongs_only_in_the_admin_secrets),
		cmocka_unit_test(test_config_load_leaves_the_admin_secrets_to_loyaltyctl),
		cmocka_unit_test(test_config_load_admin_secrets_without_a_file_is_a_no_op),
		cmocka_unit_test(test_config_apply_reload_copies_reloadable_and_keeps_listen),
		cmocka_unit_test(test_config_apply_reload_with_no_change_keeps_nothing),
		cmocka_unit_test(test_config_only_listen_is_not_reloadable),
		cmocka_unit_test(test_config_log_level_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
