/* phone.h — phone numbers as members give them, to E.164. */
#ifndef LOYALTY_PHONE_H
#define LOYALTY_PHONE_H

#include <stddef.h>

/* "+" and at most 15 digits (ITU-T E.164), and the NUL. */
#define PHONE_E164_MAX	17

/*
 * Normalises a number as a till, a USSD gateway or a person types it into
 * E.164 ("+263772123456"), using country (the calling code's digits, such
 * as "263") for a national number. Accepted: an optional leading "+" or
 * "00" (international), or a national number (at least 6 digits) with
 * its trunk "0" or without it; spaces, '-', '.', '/' and one pair of
 * parentheses. Anything else — letters, a second '+', an empty or too short
 * or too long number, a country code starting with 0 — is refused.
 * Returns NULL and writes out, or says what is wrong.
 */
const char	*phone_e164(const char *in, const char *country,
		    char out[PHONE_E164_MAX]);

#endif
