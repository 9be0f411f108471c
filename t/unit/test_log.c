/* test_log.c — JSON log lines: values, escapes, cuts, and the time field. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"

struct logfile {
	char	path[64];
	char	text[3 * LOG_LINE_MAX];
};

static int
setup(void **state)
{
	struct logfile	*f = calloc(1, sizeof(*f));
	int		 fd;

	if (f == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "/tmp/test_log.XXXXXX");
	if ((fd = mkstemp(f->path)) == -1)
		return -1;
	close(fd);
	if (log_open(f->path, LOG_INFO) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct logfile *f = *state;

	log_open("stderr", LOG_INFO);
	unlink(f->path);
	free(f);
	return 0;
}

/* Everything logged so far, as text. */
static const char *
contents(struct logfile *f)
{
	FILE	*fp = fopen(f->path, "r");
	size_t	 n;

	assert_non_null(fp);
	n = fread(f->text, 1, sizeof(f->text) - 1, fp);
	f->text[n] = '\0';
	fclose(fp);
	return f->text;
}

/* The only line logged so far, parsed; fails unless it is one JSON line. */
static json_object *
only_line(struct logfile *f)
{
	const char	*text = contents(f);
	size_t		 len = strlen(text);
	json_object	*obj;

	assert_true(len > 2);
	assert_int_equal(text[len - 1], '\n');
	assert_null(memchr(text, '\n', len - 1));
	obj = json_tokener_parse(text);
	assert_non_null(obj);
	return obj;
}

static json_object *
field(json_object *obj, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(obj, key, &v));
	return v;
}

static void
test_log_integers_of_every_size(void **state)
{
	struct logline	l;
	json_object	*obj;

	log_begin(&l, LOG_INFO, "ints");
	log_int(&l, "zero", 0);
	log_int(&l, "neg", -5);
	log_int(&l, "max", LLONG_MAX);
	log_int(&l, "min", LLONG_MIN);
	log_end(&l);
	obj = only_line(*state);
	assert_int_equal(json_object_get_int64(field(obj, "zero")), 0);
	assert_int_equal(json_object_get_int64(field(obj, "neg")), -5);
	assert_true(json_object_get_int64(field(obj, "max")) == LLONG_MAX);
	assert_true(json_object_get_int64(field(obj, "min")) == LLONG_MIN);
	json_object_put(obj);
}

static void
test_log_numbers_with_three_decimals(void **state)
{
	struct logline	l;
	const char	*text;

	log_begin(&l, LOG_INFO, "nums");
	log_num(&l, "a", 0.1234);
	log_num(&l, "b", -2.5);
	log_num(&l, "c", 0.0005);
	log_num(&l, "d", 12345.9999);
	log_num(&l, "e", -0.0001);
	log_num(&l, "f", 1e16);
	log_num(&l, "g", 0.0 / 0.0);
	log_end(&l);
	text = contents(*state);
	assert_non_null(strstr(text, "\"a\":0.123,"));
	assert_non_null(strstr(text, "\"b\":-2.500,"));
	assert_non_null(strstr(text, "\"c\":0.001,"));
	assert_non_null(strstr(text, "\"d\":12346.000,"));
	assert_non_null(strstr(text, "\"e\":0.000,"));
	assert_non_null(strstr(text, "\"f\":10000000000000000.000,"));
	assert_non_null(strstr(text, "\"g\":0.000}"));
	json_object_put(only_line(*state));
}

static void
test_log_strings_escaped_and_ascii_only(void **state)
{
	struct logline	l;
	json_object	*obj;

	log_begin(&l, LOG_INFO, "strs");
	log_str(&l, "s", "a\"b\\c\n\x01\x7f caf\xc3\xa9 end");
	log_end(&l);
	assert_null(strpbrk(contents(*state), "\x80\xc3\xa9\x01\x7f"));
	obj = only_line(*state);
	assert_string_equal(json_object_get_string(field(obj, "s")),
	    "a\"b\\c\n\x01\x7f caf?? end");
	json_object_put(obj);
}

static void
test_log_cuts_a_long_value_and_stays_json(void **state)
{
	struct logline	 l;
	json_object	*obj;
	char		*big = malloc(3 * LOG_LINE_MAX);
	size_t		 i;

	assert_non_null(big);
	/* Plain runs with a quote now and then, longer than a whole line. */
	for (i = 0; i < 3 * LOG_LINE_MAX - 1; i++)
		big[i] = i % 97 == 0 ? '"' : 'x';
	big[3 * LOG_LINE_MAX - 1] = '\0';
	log_begin(&l, LOG_INFO, "big");
	log_str(&l, "v", big);
	log_int(&l, "after", 1);
	log_end(&l);
	free(big);
	assert_true(strlen(contents(*state)) <= LOG_LINE_MAX);
	obj = only_line(*state);
	assert_true(strlen(json_object_get_string(field(obj, "v"))) > 1000);
	json_object_put(obj);
}

static void
test_log_line_starts_with_utc_time_in_milliseconds(void **state)
{
	struct logline	l;
	regex_t		re;
	json_object	*obj;

	log_begin(&l, LOG_WARN, "timed");
	log_end(&l);
	obj = only_line(*state);
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[01][0-9]-[0-3][0-9]T"
	    "[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z$", REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, json_object_get_string(field(obj,
	    "time")), 0, NULL, 0), 0);
	regfree(&re);
	assert_string_equal(json_object_get_string(field(obj, "level")),
	    "warn");
	assert_string_equal(json_object_get_string(field(obj, "event")),
	    "timed");
	assert_int_equal(json_object_get_int(field(obj, "pid")), getpid());
	assert_int_equal(strncmp(contents(*state), "{\"time\":\"", 9), 0);
	json_object_put(obj);
}

static void
test_log_below_the_level_writes_nothing(void **state)
{
	struct logline l;

	log_begin(&l, LOG_DEBUG, "quiet");
	log_str(&l, "k", "v");
	log_end(&l);
	assert_string_equal(contents(*state), "");
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_log_integers_of_every_size),
		T(test_log_numbers_with_three_decimals),
		T(test_log_strings_escaped_and_ascii_only),
		T(test_log_cuts_a_long_value_and_stays_json),
		T(test_log_line_starts_with_utc_time_in_milliseconds),
		T(test_log_below_the_level_writes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
