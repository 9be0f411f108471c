/* identity.h — rules for users that loyaltyd and loyaltyctl share. */
#ifndef LOYALTY_IDENTITY_H
#define LOYALTY_IDENTITY_H

#include <stddef.h>

#include "auth.h"

#define ONE_TIME_PASSWORD_LEN	20	/* Crockford base32: 100 bits */
#define KEY_ID_LEN		35	/* "lk_" and 32 base64url */
#define KEY_SECRET_LEN		47	/* "lks_" and 43 base64url */

/*
 * An email as accounts are stored: printable ASCII, lower-cased in place.
 * NULL when it is fine, else what is wrong with it.
 */
const char	*email_normalise(char *email);

/*
 * Whether a user of role may exist in the tenant: platform administrators
 * only in the platform's own tenant, and nothing else there.
 */
const char	*role_fits_tenant(enum role, const char *tenant_id);

/* NULL when password may be set (min_len bytes at least), else why not. */
const char	*password_acceptable(const char *password, long min_len);

/* A fresh password to show once: ONE_TIME_PASSWORD_LEN characters. */
int		 one_time_password(char out[ONE_TIME_PASSWORD_LEN + 1]);

/* Crockford's base32 alphabet: no I, L, O or U. */
extern const char crockford32[];
#define VOUCHER_CODE_LEN	10	/* 50 random bits */
/* A fresh voucher code: VOUCHER_CODE_LEN characters of crockford32. */
int		 voucher_code(char out[VOUCHER_CODE_LEN + 1]);

/*
 * A new machine key of tenant: its id (naming the tenant), its secret,
 * and the secret sealed under master_key with the tenant and id as
 * associated data, as bytea hex ("\x..."), for api_keys.secret_sealed.
 */
int		 key_generate(const char *tenant_id,
		    const unsigned char master_key[32],
		    char id[KEY_ID_LEN + 1], char secret[KEY_SECRET_LEN + 1],
		    char *sealed_hex, size_t sealed_len);

#endif
