/* loyaltyd.c — the daemon's entry point: options, config, socket, master. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "listen.h"
#include "log.h"
#include "master.h"
#include "version.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: loyaltyd [-c FILE] [--listen PATH|HOST:PORT] "
	    "[--check-config] [--print-config] [--version] [--help]\n");
}

/* The effective configuration, every key, as a file would say it. */
static void
print_config(const struct config *cfg)
{
	const char	*section = "";
	size_t		 i;

	for (i = 0; i < config_nkeys; i++) {
		const struct config_key	*k = &config_keys[i];
		const char		*field = (const char *)cfg + k->offset;

		if (strcmp(section, k->section) != 0)
			printf("%s[%s]\n", i ? "\n" : "", section = k->section);
		if (k->flags & CFG_SECRET)
			printf("# %s = %s (in the secrets file)\n", k->name,
			    field[0] ? "<set>" : "<unset>");
		else if (k->flags & CFG_ADMIN)
			printf("# %s = <not read> (loyaltyctl reads it from "
			    "admin_secrets_file)\n", k->name);
		else if (k->type == CFG_STR || k->type == CFG_KEY)
			printf("%s = %s\n", k->name, field);
		else if (k->type == CFG_LEVEL)
			printf("%s = %s\n", k->name,
			    log_level_name(*(const long *)(const void *)field));
		else
			printf("%s = %ld\n", k->name,
			    *(const long *)(const void *)field);
	}
}

/*
 * Prints every error as FILE:LINE: message; 0 when there is none. To run
 * (not just to print it), the configuration must also give the secrets
 * loyaltyd cannot do without.
 */
static int
load(const char *path, struct config *cfg, int to_run)
{
	struct config_errors	errs;
	int			i;

	config_defaults(cfg);
	if (config_load(path, cfg, &errs) == 0 &&
	    (!to_run || config_check_daemon(cfg, &errs) == 0))
		return 0;
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	return -1;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 't' },
		{ "print-config", no_argument, NULL, 'p' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*path = CONFIG_DEFAULT_PATH, *listen_addr = NULL;
	struct config	 cfg;
	int		 ch, check = 0, print = 0, fd, rc;

	while ((ch = getopt_long(argc, argv, "c:l:tVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'l':
			listen_addr = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'p':
			print = 1;
			break;
		case 'V':
			printf("loyaltyd %s (commit %s, schema %d)\n",
			    LOYALTY_VERSION, LOYALTY_COMMIT,
			    LOYALTY_SCHEMA_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (load(path, &cfg, !print) == -1)
		return 1;
	if (check) {
		printf("configuration OK\n");
		return 0;
	}
	if (print) {
		print_config(&cfg);
		return 0;
	}
	if (log_open(cfg.log_file, cfg.log_level) == -1)
		return 1;
	if ((fd = listen_acquire(listen_addr, cfg.listen)) == -1)
		return 1;
	rc = master_run(&cfg, path, fd);
	explicit_bzero(&cfg, sizeof(cfg));
	return rc;
}
