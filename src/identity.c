/* identity.c — rules for users that loyaltyd and loyaltyctl share. */
#include <ctype.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "identity.h"
#include "utf8.h"

/* Crockford's base32: no I, L, O or U to mistake for others. */
/* Crockford's base32: no I, L, O or U, which read as 1, 1, 0 or V. */
const char crockford32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

const char *
email_normalise(char *email)
{
	const char	*at = strchr(email, '@');
	size_t		 len = strlen(email), i;

	/*
	 * Printable ASCII only, as the table's CHECK says: case folding and
	 * "space" beyond ASCII differ between C and PostgreSQL's locale.
	 */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)email[i];

		if (c <= ' ' || c >= 0x7f)
			return "must be printable ASCII without spaces";
		email[i] = (char)tolower(c);
	}
	if (len < 3 || len > 254)
		return "must be 3 to 254 bytes long";
	if (at == NULL || at == email || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return "must be an address: local part, @, domain";
	return NULL;
}

const char *
role_fits_tenant(enum role role, const char *tenant_id)
{
	int platform = strcmp(tenant_id, PLATFORM_TENANT) == 0;

	if (role == ROLE_NONE)
		return "must be one of viewer, operator, admin, owner, "
		    "platform_admin";
	if (platform && role != ROLE_PLATFORM)
		return "the platform's tenant holds platform_admin users only";
	if (!platform && role == ROLE_PLATFORM)
		return "platform_admin users belong to the platform's tenant";
	return NULL;
}

const char *
password_acceptable(const char *password, long min_len)
{
	size_t len = strlen(password);

	if ((long)len < min_len)
		return "is too short";
	if (len > 1024)
		return "is longer than 1024 bytes";
	if (utf8_check(password, len) != len)
		return "must be UTF-8";
	return NULL;
}

int
one_time_password(char out[ONE_TIME_PASSWORD_LEN + 1])
{
	unsigned char	raw[ONE_TIME_PASSWORD_LEN];
	int		i;

	if (crypto_random(raw, sizeof(raw)) == -1)
		return -1;
	for (i = 0; i < ONE_TIME_PASSWORD_LEN; i++)
		out[i] = crockford32[raw[i] & 31];
	out[ONE_TIME_PASSWORD_LEN] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

/*
 * 56 random bits, of which the low 50 make the characters, 5 bits each:
 * every character of the alphabet equally likely (no modulo), every code
 * one of 2^50.
 */
int
voucher_code(char out[VOUCHER_CODE_LEN + 1])
{
	unsigned char	raw[7];
	uint64_t	bits = 0;
	size_t		i;

	if (crypto_random(raw, sizeof(raw)) == -1)
		return -1;
	for (i = 0; i < sizeof(raw); i++)
		bits = bits << 8 | raw[i];
	for (i = 0; i < VOUCHER_CODE_LEN; i++, bits >>= 5)
		out[i] = crockford32[bits & 31];
	out[VOUCHER_CODE_LEN] = '\0';
	return 0;
}

int
key_generate(const char *tenant_id, const unsigned char master_key[32],
    char id[KEY_ID_LEN + 1], char secret[KEY_SECRET_LEN + 1],
    char *sealed_hex, size_t sealed_len)
{
	unsigned char	idraw[24], sraw[32];
	unsigned char	sealed[KEY_SECRET_LEN + AEAD_OVERHEAD];
	char		aad[UUID_LEN + 1 + KEY_ID_LEN + 1];
	size_t		got;
	int		rc = -1;

	uuid_bytes(tenant_id, idraw);
	if (crypto_random(idraw + 16, 8) == -1 ||
	    crypto_random(sraw, sizeof(sraw)) == -1)
		goto out;
	memcpy(id, "lk_", 3);
	memcpy(secret, "lks_", 4);
	if (b64url_encode(idraw, sizeof(idraw), id + 3, KEY_ID_LEN + 1 - 3) ==
	    -1 || b64url_encode(sraw, sizeof(sraw), secret + 4,
	    KEY_SECRET_LEN + 1 - 4) == -1)
		goto out;
	snprintf(aad, sizeof(aad), "%s/%s", tenant_id, id);
	if (aead_seal(master_key, aad, strlen(aad), secret, KEY_SECRET_LEN,
	    sealed, sizeof(sealed), &got) == -1 ||
	    sealed_len < 2 * got + 3)
		goto out;
	sealed_hex[0] = '\\';
	sealed_hex[1] = 'x';
	hex_encode(sealed, got, sealed_hex + 2);
	rc = 0;
out:
	OPENSSL_cleanse(sraw, sizeof(sraw));
	OPENSSL_cleanse(sealed, sizeof(sealed));
	return rc;
}
