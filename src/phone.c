/* phone.c — phone numbers as members give them, to E.164. */
#include <string.h>

#include "phone.h"

#define PHONE_IN_MAX	64	/* longer input is refused unread */
#define E164_DIGITS_MIN	7	/* the shortest numbers in use (with code) */
#define E164_DIGITS_MAX	15
#define NATIONAL_MIN	6	/* a national number without its trunk 0 */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The tenant's calling code: 1 to 3 digits, not starting with 0. */
static int
valid_country(const char *country)
{
	size_t n = strlen(country);

	return n >= 1 && n <= 3 && strspn(country, "0123456789") == n &&
	    country[0] != '0';
}

/*
 * The digits of in, with the separators people type dropped; *plus is
 * set for a leading '+'. NULL, or what is wrong.
 */
static const char *
digits_of(const char *in, char *digits, size_t max, int *plus)
{
	const char	*p = in, *end = in + strlen(in);
	size_t		 n = 0;
	int		 open = 0, pairs = 0;

	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	*plus = p < end && *p == '+';
	if (*plus)
		p++;
	for (; p < end; p++) {
		if (is_digit(*p)) {
			if (n + 1 >= max)
				return "is too long to be a phone number";
			digits[n++] = *p;
		} else if (*p == '(' && !open && pairs == 0) {
			open = 1;
		} else if (*p == ')' && open) {
			open = 0;
			pairs++;
		} else if (*p == '+') {
			return "may have a '+' only at the start";
		} else if (!strchr(" -./", *p)) {
			return "may contain only digits, spaces and + ( ) - . /";
		}
	}
	if (open)
		return "has an unclosed '('";
	digits[n] = '\0';
	return NULL;
}

const char *
phone_e164(const char *in, const char *country, char out[PHONE_E164_MAX])
{
	char		 digits[E164_DIGITS_MAX + 4];
	const char	*why, *d = digits;
	size_t		 total;
	int		 intl;

	out[0] = '\0';
	if (!valid_country(country))
		return "cannot be read: the tenant's country code is not 1 to "
		    "3 digits";
	if (strlen(in) > PHONE_IN_MAX)
		return "is too long to be a phone number";
	if ((why = digits_of(in, digits, sizeof(digits), &intl)) != NULL)
		return why;
	if (!intl && strncmp(d, "00", 2) == 0) {	/* international prefix */
		intl = 1;
		d += 2;
	}
	if (intl) {
		if (d[0] == '0')
			return "has a country code starting with 0";
		total = strlen(d);
	} else {
		if (d[0] == '0')	/* the national trunk prefix */
			d++;
		if (d[0] == '\0')
			return "has no digits";
		if (strlen(d) < NATIONAL_MIN)
			return "is too short to be a phone number";
		total = strlen(country) + strlen(d);
	}
	if (total < E164_DIGITS_MIN)
		return "is too short to be a phone number";
	if (total > E164_DIGITS_MAX)
		return "is too long to be a phone number";
	out[0] = '+';
	out[1] = '\0';
	if (!intl)
		strcat(out, country);
	strcat(out, d);
	return NULL;
}
