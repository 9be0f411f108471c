#!/bin/bash
# loyaltyctl tenant / user / key: a new install's first tenant, owner and
# keys without the API. Each prints one JSON document on stdout, exits
# with a status a script can act on, and leaves an audit entry.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
harness_up

out=$(ctl tenant create --slug fuel-one --name 'Fuel One' --currency ZWG --timezone Africa/Harare)
is "$?" 0 "tenant create exits 0"
is "$(jq_get "$out" slug) $(jq_get "$out" currency) $(jq_get "$out" timezone)" \
	"fuel-one ZWG Africa/Harare" "and prints the tenant as JSON"
T=$(jq_get "$out" id)
like "$T" '^[0-9a-f-]{36}$' "with its id"
out=$(ctl tenant create --slug fuel-one --name again 2>&1)
is "$?" 3 "the same slug again: exit 3"
like "$out" 'slug exists' "and says why"
out=$(ctl tenant create --slug x1 --name X --timezone Nowhere/Else 2>&1)
is "$?" 2 "an unknown time zone: exit 2"
out=$(ctl tenant create --name 'No slug' 2>&1)
is "$?" 2 "a missing --slug: exit 2"
like "$out" 'usage: loyaltyctl tenant create' "with the usage"

out=$(ctl user create --tenant fuel-one --email Owner@Fuel.example --role owner)
is "$?" 0 "user create exits 0"
is "$(jq_get "$out" email) $(jq_get "$out" role)" "owner@fuel.example owner" \
	"the user, email lower-cased"
otp=$(jq_get "$out" password)
like "$otp" '^[0-9A-Z]{20}$' "with a one-time password, printed once"
unlike "$out" 'scrypt|password_hash' "and never its hash"
login owner@fuel.example "$otp"
is "$STATUS" 200 "the one-time password logs in"

out=$(printf 'a-chosen-password\n' | ctl user create --tenant fuel-one \
	--email clerk@fuel.example --role operator --password-stdin)
is "$?" 0 "--password-stdin exits 0"
is "$(jq_get "$out" password)" null "and prints no password"
login clerk@fuel.example a-chosen-password
is "$STATUS" 200 "the password from stdin logs in"
out=$(printf 'short\n' | ctl user create --tenant fuel-one --email s@fuel.example \
	--role viewer --password-stdin 2>&1)
is "$?" 2 "a password shorter than auth.password_min_length: exit 2"
like "$out" 'too short' "and says so"
out=$(ctl user create --tenant fuel-one --email owner@fuel.example --role viewer 2>&1)
is "$?" 3 "an email twice in a tenant: exit 3"
out=$(ctl user create --tenant nowhere --email a@b.example --role viewer 2>&1)
is "$?" 2 "an unknown tenant: exit 2"
out=$(ctl user create --tenant fuel-one --email a@b.example --role platform_admin 2>&1)
is "$?" 2 "platform_admin in a merchant's tenant: exit 2"
out=$(ctl user create --tenant fuel-one --email a@b.example --role chief 2>&1)
is "$?" 2 "an unknown role: exit 2"

out=$(printf 'platform-password\n' | ctl user create --platform-admin \
	--email ops@platform.example --password-stdin)
is "$?" 0 "user create --platform-admin exits 0"
is "$(jq_get "$out" role)" platform_admin "a platform administrator"
login ops@platform.example platform-password
api "$TOKEN" GET /v1/tenants
is "$STATUS" 200 "who may list the tenants"

out=$(ctl key create --tenant fuel-one --name 'till 7')
is "$?" 0 "key create exits 0"
K=$(jq_get "$out" id) S=$(jq_get "$out" secret)
like "$K" '^lk_' "prints the key id"
like "$S" '^lks_' "and its secret, once"
signed "$K" "$S" GET /v1/me
is "$STATUS" 200 "the key signs requests"
ctl key create --tenant fuel-one >/dev/null || fail "a second key"
out=$(ctl key create --tenant fuel-one 2>&1)
is "$?" 3 "a third active key: exit 3"
like "$out" '2 active keys' "and says why"
out=$(ctl key list --tenant fuel-one)
is "$?" 0 "key list exits 0"
is "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["items"]))' "$out")" 2 \
	"and lists both keys"
unlike "$out" "$S|secret" "without their secrets"
out=$(ctl key revoke --tenant fuel-one --id "$K")
is "$?" 0 "key revoke exits 0"
is "$(jq_get "$out" status)" revoked "the key is revoked"
signed "$K" "$S" GET /v1/me
is "$STATUS" 401 "and refused on the next request"
out=$(ctl key revoke --tenant fuel-one --id lk_nothing 2>&1)
is "$?" 2 "revoking an unknown key: exit 2"

is "$(psql_q "SELECT string_agg(action, ' ' ORDER BY id) FROM audit_log
	WHERE actor_type = 'cli' AND tenant_id = '$T'")" \
	"user.create user.create key.create key.create key.revoke" \
	"each change left an audit entry in the tenant"
is "$(psql_q "SELECT count(*) FROM audit_log WHERE actor_type = 'cli'
	AND action = 'tenant.create'")" 1 "the tenant's creation too, in the platform's trail"
is "$(psql_q "SELECT DISTINCT actor_id FROM audit_log WHERE actor_type = 'cli'")" \
	"${SUDO_USER:-$(id -un)}" "naming the system user who ran loyaltyctl"

done_testing
