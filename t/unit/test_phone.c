/* test_phone.c — phone numbers as people type them, to E.164. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "phone.h"

/* in, normalised with the tenant's country code, gives want. */
static void
assert_e164_at(const char *in, const char *country, const char *want,
    const char *file, int line)
{
	char		 out[PHONE_E164_MAX];
	const char	*why = phone_e164(in, country, out);

	if (why != NULL)
		_fail(file, line);
	_assert_string_equal(out, want, file, line);
}
#define assert_e164(in, country, want) \
	assert_e164_at((in), (country), (want), __FILE__, __LINE__)

/* in is refused, for a reason containing part. */
static void
assert_refused_at(const char *in, const char *country, const char *part,
    const char *file, int line)
{
	char		 out[PHONE_E164_MAX];
	const char	*why = phone_e164(in, country, out);

	_assert_true(why != NULL, "refused", file, line);
	_assert_true(strstr(why, part) != NULL, part, file, line);
	_assert_string_equal(out, "", file, line);
}
#define assert_refused(in, country, part) \
	assert_refused_at((in), (country), (part), __FILE__, __LINE__)

static void
test_phone_zimbabwe_as_people_write_it(void **state)
{
	(void)state;
	assert_e164("0772123456", "263", "+263772123456");
	assert_e164("0772 123 456", "263", "+263772123456");
	assert_e164("077-212-3456", "263", "+263772123456");
	assert_e164("772123456", "263", "+263772123456");
	assert_e164("+263 77 212 3456", "263", "+263772123456");
	assert_e164("00263772123456", "263", "+263772123456");
	assert_e164("(0242) 703 123", "263", "+263242703123");
	assert_e164("  0772.123.456  ", "263", "+263772123456");
	assert_e164("0772/123456", "263", "+263772123456");
}

static void
test_phone_other_countries(void **state)
{
	(void)state;
	assert_e164("+27 82 123 4567", "263", "+27821234567");
	assert_e164("082 123 4567", "27", "+27821234567");
	assert_e164("+1 (415) 555-2671", "263", "+14155552671");
	assert_e164("(415) 555-2671", "1", "+14155552671");
	assert_e164("+44 20 7946 0958", "263", "+442079460958");
	/* 15 digits, the most E.164 allows */
	assert_e164("+123456789012345", "263", "+123456789012345");
}

static void
test_phone_refuses_what_is_not_a_number(void **state)
{
	(void)state;
	assert_refused("", "263", "no digits");
	assert_refused("   ", "263", "no digits");
	assert_refused("0", "263", "no digits");
	assert_refused("+", "263", "too short");
	assert_refused("12345", "263", "too short");
	assert_refused("+1234567890123456", "263", "too long");
	assert_refused("0772123456789012", "263", "too long");
	assert_refused("0772 12a 456", "263", "only digits");
	assert_refused("0772;DROP TABLE members", "263", "only digits");
	assert_refused("+263+772123456", "263", "'+' only at the start");
	assert_refused("0772 123 456 +", "263", "'+' only at the start");
	assert_refused("+0263772123456", "263", "starting with 0");
	assert_refused("000263772123456", "263", "starting with 0");
	assert_refused("(0772 123 456", "263", "unclosed");
	assert_refused("(077) (212) 3456", "263", "only digits");
	assert_refused("0772\t123456", "263", "only digits");
	assert_refused("\xef\xbc\x90" "772123456", "263", "only digits");
	assert_refused("0772123456", "0263", "country code");
	assert_refused("0772123456", "", "country code");
	assert_refused("0772123456", "2634", "country code");
}

static void
test_phone_refuses_long_input_unread(void **state)
{
	char	in[200];

	(void)state;
	memset(in, ' ', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	in[0] = '0';
	in[1] = '7';
	assert_refused(in, "263", "too long");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone_zimbabwe_as_people_write_it),
		cmocka_unit_test(test_phone_other_countries),
		cmocka_unit_test(test_phone_refuses_what_is_not_a_number),
		cmocka_unit_test(test_phone_refuses_long_input_unread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
