/* fuzz_phone.c — libFuzzer target: phone numbers through phone_e164(). */
#include <string.h>

#include "fuzz.h"
#include "phone.h"

static const char *const countries[] = { "263", "27", "1", "44", "260" };

/* "+", a non-zero digit, then 6 to 14 more digits. */
static int
is_e164(const char *s)
{
	size_t n = strlen(s);

	return n >= 8 && n <= 16 && s[0] == '+' && s[1] >= '1' &&
	    s[1] <= '9' && strspn(s + 1, "0123456789") == n - 1;
}

/* The digits of number, in order, are all found in in, in order. */
static int
digits_come_from(const char *number, const char *in)
{
	const char *p = in;

	for (; *number != '\0'; number++) {
		if (*number < '0' || *number > '9')
			continue;
		while (*p != '\0' && *p != *number)
			p++;
		if (*p == '\0')
			return 0;
		p++;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char		 out[PHONE_E164_MAX], again[PHONE_E164_MAX];
	const char	*country, *why;
	char		*in;

	if (len == 0)
		return 0;
	country = countries[data[0] % (sizeof(countries) /
	    sizeof(countries[0]))];
	if ((in = malloc(len)) == NULL)
		return 0;
	memcpy(in, data + 1, len - 1);
	in[len - 1] = '\0';
	memset(out, 'x', sizeof(out));
	why = phone_e164(in, country, out);
	if (why != NULL) {
		CHECK(out[0] == '\0');
		CHECK(strlen(why) > 0);
	} else {
		CHECK(is_e164(out));
		/* Its digits come from the input (after the country's). */
		CHECK(digits_come_from(out, in) ||
		    (strncmp(out + 1, country, strlen(country)) == 0 &&
		    digits_come_from(out + 1 + strlen(country), in)));
		/* A number already in E.164 is its own normal form. */
		CHECK(phone_e164(out, country, again) == NULL);
		CHECK(strcmp(out, again) == 0);
	}
	free(in);
	return 0;
}
