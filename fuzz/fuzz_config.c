/* fuzz_config.c — libFuzzer target: configuration text through config_parse(). */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define NAME	"fuzz.conf"

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static void *
field(const struct config *cfg, const struct config_key *k)
{
	return (char *)(uintptr_t)cfg + k->offset;
}

static long
int_field(const struct config *cfg, const struct config_key *k)
{
	return *(const long *)field(cfg, k);
}

/* The same value for k in both, strings compared as strings. */
static int
same(const struct config *a, const struct config *b,
    const struct config_key *k)
{
	if (k->type == CFG_STR)
		return strcmp(field(a, k), field(b, k)) == 0;
	return int_field(a, k) == int_field(b, k);
}

/* Lines as config_parse counts them: a last line needs no newline. */
static int
count_lines(const char *text)
{
	int		 n = 0;
	const char	*p;

	for (p = text; *p != '\0'; p++)
		if (*p == '\n')
			n++;
	return n + (p > text && p[-1] != '\n');
}

/* Each error is "fuzz.conf:LINE: message", LINE within the text. */
static void
check_errors(const struct config_errors *errs, int rc, int nlines)
{
	int	i;
	long	line;
	char	*end;

	CHECK((rc == 0) == (errs->n == 0));
	CHECK(rc == 0 || rc == -1);
	CHECK(errs->n >= 0 && errs->n <= CONFIG_MAX_ERRORS);
	for (i = 0; i < errs->n; i++) {
		const char *msg = errs->msg[i];

		CHECK(strnlen(msg, sizeof(errs->msg[0])) < sizeof(errs->msg[0]));
		CHECK(strncmp(msg, NAME ":", strlen(NAME ":")) == 0);
		line = strtol(msg + strlen(NAME ":"), &end, 10);
		CHECK(line >= 1 && line <= nlines);
		CHECK(end[0] == ':' && end[1] == ' ' && end[2] != '\0');
	}
}

/* A config that parsed keeps every value in its declared bounds. */
static void
check_bounds(const struct config *cfg)
{
	const struct config_key	*k;
	size_t			 i;

	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		switch (k->type) {
		case CFG_INT:
			CHECK(int_field(cfg, k) >= k->min &&
			    int_field(cfg, k) <= k->max);
			break;
		case CFG_STR:
			CHECK(strnlen(field(cfg, k), CONFIG_STR_MAX) <
			    CONFIG_STR_MAX);
			break;
		case CFG_KEY: {
			size_t len = strnlen(field(cfg, k), CONFIG_STR_MAX);

			CHECK(len == 0 || (len % 2 == 0 &&
			    len / 2 >= (size_t)k->min &&
			    len / 2 <= (size_t)k->max &&
			    strspn(field(cfg, k), "0123456789abcdefABCDEF") ==
			    len));
			break;
		}
		case CFG_LEVEL:
			CHECK(int_field(cfg, k) >= 0 && int_field(cfg, k) <
			    (long)(sizeof(level_names) / sizeof(level_names[0])));
			break;
		}
	}
}

/* Writes the keys of cfg that belong in this kind of file, as INI text. */
static void
render(const struct config *cfg, enum config_file file, char *out,
    size_t len)
{
	const struct config_key	*k;
	size_t			 i, used = 0;

	out[0] = '\0';
	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		if (config_key_file(k) != file)
			continue;
		used += snprintf(out + used, len - used, "[%s]\n%s = ",
		    k->section, k->name);
		if (k->type == CFG_STR || k->type == CFG_KEY)
			used += snprintf(out + used, len - used, "%s\n",
			    (const char *)field(cfg, k));
		else if (k->type == CFG_INT)
			used += snprintf(out + used, len - used, "%ld\n",
			    int_field(cfg, k));
		else
			used += snprintf(out + used, len - used, "%s\n",
			    level_names[int_field(cfg, k)]);
		CHECK(used < len);
	}
}

/*
 * One kind of file (main, secrets, admin secrets) over the defaults. When it parses:
 * values in bounds, only the keys that kind may set differ from the
 * defaults, writing the config out and reading it back gives the same
 * config, and a reload from the one to the other changes nothing.
 */
static void
check_parse(const char *text, int nlines, enum config_file file)
{
	static struct config	 def, cfg, again;
	static struct config_errors errs;
	static char		 out[64 * 1024];
	char			 kept[1024];
	const struct config_key	*k;
	size_t			 i;
	int			 rc;

	config_defaults(&def);
	cfg = def;
	errs.n = 0;
	rc = config_parse(NAME, text, &cfg, &errs, file);
	check_errors(&errs, rc, nlines);
	if (rc != 0)
		return;
	check_bounds(&cfg);
	for (i = 0; i < config_nkeys; i++) {
		k = &config_keys[i];
		if (config_key_file(k) != file)
			CHECK(same(&cfg, &def, k));
	}

	render(&cfg, file, out, sizeof(out));
	again = def;
	errs.n = 0;
	rc = config_parse(NAME, out, &again, &errs, file);
	CHECK(rc == 0);
	for (i = 0; i < config_nkeys; i++)
		CHECK(same(&cfg, &again, &config_keys[i]));
	CHECK(config_apply_reload(&cfg, &again, kept, sizeof(kept)) == 0);
	CHECK(kept[0] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*text;
	int	 nlines;

	/* config_load refuses a file with a NUL: the text ends at one. */
	if ((text = malloc(len + 1)) == NULL)
		return 0;
	memcpy(text, data, len);
	text[len] = '\0';
	nlines = count_lines(text);
	check_parse(text, nlines, CONFIG_MAIN);
	check_parse(text, nlines, CONFIG_SECRETS);
	check_parse(text, nlines, CONFIG_ADMIN_SECRETS);
	free(text);
	return 0;
}
