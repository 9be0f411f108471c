#!/bin/bash
# Secrets never leak. After a mix of requests — logins good and bad,
# malformed ones, refreshes, a refresh reused, logout, users with
# one-time and chosen passwords, password changes, keys made by the API
# and by loyaltyctl, signed requests good and bad — no log of the stack
# (loyaltyd's at log.level=debug, nginx's, PostgreSQL's) holds any password
# used, any key secret, any refresh or access token, the jwt_key or the
# master_key, or a password hash; and GET /v1/users, /v1/keys, /v1/audit
# and /v1/me never show a hash, a secret or a refresh token.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up log.level=debug auth.lockout_failures=3

SECRETS=() LABELS=()	# every secret this file sees, for the searches at the end
# keep LABEL SECRET...: SECRET is looked for at the end, named LABEL.
keep() {
	local label=$1 s
	shift
	for s; do
		if [ -z "$s" ] || [ "$s" = null ]; then
			fail "a secret to look for: $label" "it is empty"
			continue
		fi
		SECRETS+=("$s")
		LABELS+=("$label")
	done
}

mk_tenant shop-a >/dev/null || exit 1
keep 'a password given to loyaltyctl' 'owner-a-password' 'clerk-a-password' 'platform-password'
mk_user shop-a owner@a.example owner 'owner-a-password' >/dev/null || exit 1
CLERK=$(mk_user shop-a clerk@a.example viewer 'clerk-a-password') || exit 1
mk_user - root@platform.example platform_admin 'platform-password' >/dev/null || exit 1
mk_key shop-a || exit 1
K1=$KEY_ID S1=$KEY_SECRET
keep "the secret of a key made by loyaltyctl" "$S1"

# --- the mix --------------------------------------------------------------------
login owner@a.example owner-a-password
is "$STATUS" 200 "the owner logs in"
T_OWNER=$TOKEN
keep "an access token" "$TOKEN"
keep "a refresh token" "$REFRESH"
http POST /v1/auth/refresh -H 'Content-Type: application/json' \
	--data-binary "{\"refresh_token\":\"$REFRESH\"}"
is "$STATUS" 200 "a refresh"
R1=$REFRESH R2=$(jq_get "$BODY" refresh_token) T2=$(jq_get "$BODY" access_token)
keep "a refresh token" "$R2"
keep "an access token" "$T2"
http POST /v1/auth/refresh -H 'Content-Type: application/json' \
	--data-binary "{\"refresh_token\":\"$R1\"}"
is "$STATUS" 401 "the spent refresh token again (reuse: the session is revoked)"
login owner@a.example owner-a-password
T_OWNER=$TOKEN
keep "an access token" "$TOKEN"
keep "a refresh token" "$REFRESH"
http POST /v1/auth/logout -H 'Content-Type: application/json' \
	--data-binary "{\"refresh_token\":\"$REFRESH\"}"
is "$STATUS" 204 "a logout"
login owner@a.example owner-a-password
T_OWNER=$TOKEN R_OWNER=$REFRESH
keep "an access token" "$TOKEN"
keep "a refresh token" "$REFRESH"
login root@platform.example platform-password
T_PA=$TOKEN
keep "an access token" "$TOKEN"
keep "a refresh token" "$REFRESH"

keep 'a wrong password' 'wrong-guess-aaaa1' 'wrong-guess-bbbb2' 'wrong-guess-cccc3' 'wrong-guess-dddd4' 'no-such-user-pw-5'
for pw in wrong-guess-aaaa1 wrong-guess-bbbb2 wrong-guess-cccc3 wrong-guess-dddd4; do
	login clerk@a.example "$pw"
done
is "$STATUS" 423 "failed logins until the clerk is locked"
login nobody@a.example no-such-user-pw-5
is "$STATUS" 401 "an unknown email"
# Bodies that fail to parse, with a password in them.
keep 'a password in a refused body' 'malformed-body-pw-6' 'wrong-type-pw-7'
http POST /v1/auth/login -H 'Content-Type: application/json' \
	--data-binary '{"email":"owner@a.example","password":"malformed-body-pw-6",}'
is "$STATUS" 400 "a malformed login body: 400"
http POST /v1/auth/login -H 'Content-Type: application/json' \
	--data-binary '{"email":"owner@a.example","password":"wrong-type-pw-7","extra":1}'
is "$STATUS" 422 "a login body with an unknown field: 422"
http POST /v1/auth/refresh -H 'Content-Type: application/json' \
	--data-binary "{\"refresh_token\":\"${R_OWNER}x\"}"
is "$STATUS" 401 "a damaged refresh token: 401"

api "$T_OWNER" POST /v1/users '{"email":"otp@a.example","role":"operator"}'
is "$STATUS" 201 "a user with a one-time password"
OTP=$(jq_get "$BODY" password)
keep "a one-time password" "$OTP"
keep 'a password chosen by an owner' 'chosen-password-8'
api "$T_OWNER" POST /v1/users '{"email":"chosen@a.example","role":"viewer","password":"chosen-password-8"}'
is "$STATUS" 201 "a user with a chosen password"
keep 'a password too short' 'short-9'
api "$T_OWNER" POST /v1/users '{"email":"short@a.example","role":"viewer","password":"short-9"}'
is "$STATUS" 422 "a password too short: 422"
keep 'a changed password' 'changed-password-10'
api "$T_OWNER" PATCH "/v1/users/$CLERK" '{"password":"changed-password-10"}'
is "$STATUS" 200 "a password changed (lifts the lockout)"
login clerk@a.example changed-password-10
is "$STATUS" 200 "the clerk logs in with it"
keep "an access token" "$TOKEN"
keep "a refresh token" "$REFRESH"
login otp@a.example "$OTP"
is "$STATUS" 200 "the one-time password logs in"
keep "an access token" "$TOKEN"
keep "a refresh token" "$REFRESH"

api "$T_OWNER" POST /v1/keys '{"name":"till 2"}'
is "$STATUS" 201 "a key made by the API"
K2=$(jq_get "$BODY" id) S2=$(jq_get "$BODY" secret)
keep "the secret of a key made by the API" "$S2"
signed "$K1" "$S1" GET '/v1/me?x=1'
is "$STATUS" 200 "a signed request"
signed "$K2" "$S2" GET /v1/me '{"a":1}'
is "$STATUS" 200 "a signed request with a body"
signed "$K1" "$S2" GET /v1/me
is "$STATUS" 401 "a signed request with the wrong secret"
api "$T_OWNER" DELETE "/v1/keys/$K2"
is "$STATUS" 200 "a key revoked"
signed "$K2" "$S2" GET /v1/me
is "$STATUS" 401 "the revoked key refused"
api "garbage.$T_OWNER" GET /v1/me
is "$STATUS" 401 "a broken bearer token"

# --- responses ------------------------------------------------------------------------
# hashes and secrets: never in a response listing or describing what holds them.
pattern=$(printf '%s\n' "${SECRETS[@]}" | sed 's/[][\.*^$+?(){}|/]/\\&/g' | paste -sd'|' -)
pattern="scrypt|password_hash|secret|$pattern"
for path in /v1/me /v1/users /v1/keys '/v1/audit?limit=200'; do
	api "$T_OWNER" GET "$path"
	is "$STATUS" 200 "GET $path as the owner: 200"
	unlike "$BODY" "$pattern" "GET $path shows no hash, no secret, no refresh token, no password"
done
signed "$K1" "$S1" GET /v1/me
is "$STATUS" 200 "GET /v1/me as the key: 200"
unlike "$BODY" "$pattern" "GET /v1/me as the key shows no secret"
api "$T_PA" GET /v1/tenants
unlike "$BODY" "$pattern" "GET /v1/tenants shows nothing secret"
api "$T_OWNER" GET '/v1/audit?limit=200'
like "$BODY" '"action": ?"user\.update".*"action": ?"user\.create".*"action": ?"key\.create"' \
	"the audit trail searched holds the password change and the creations"

# --- logs ---------------------------------------------------------------------------------
# Let the daemon and nginx write everything out.
sleep 0.5
stack_nginx_stop
stack_daemon_stop
keep auth.jwt_key "$(secret_of auth.jwt_key)"
keep auth.master_key "$(secret_of auth.master_key)"
keep database.password "$(secret_of database.password)"
cmp_num "${#SECRETS[@]}" -ge 30 "the secrets to look for (${#SECRETS[@]})"
for f in loyaltyd.log nginx-access.log; do
	cmp_num "$(wc -l <"$STACK_LOG_DIR/$f")" -ge 30 "$f logged the requests"
done
LOGS=$(ls "$STACK_LOG_DIR"/loyaltyd.* "$STACK_LOG_DIR"/nginx* 2>/dev/null)
like "$LOGS" 'loyaltyd.log' "loyaltyd's log is searched"
like "$LOGS" 'nginx-access.log' "nginx's access log is searched"
like "$LOGS" 'nginx-error.log' "nginx's error log is searched"
# shellcheck disable=SC2086
like "$(grep -lF -- "$K2" $LOGS | xargs -r -n1 basename | paste -sd' ' -)" 'loyaltyd\.log.*nginx-access\.log|nginx-access\.log.*loyaltyd\.log' \
	"control: the search finds what is there (a key id, in the path of DELETE /v1/keys/{id})"
for i in "${!SECRETS[@]}"; do
	# shellcheck disable=SC2086 # one file per word
	found=$(grep -lF -- "${SECRETS[$i]}" $LOGS "$STACK_LOG_DIR/postgresql.log" 2>/dev/null |
		xargs -r -n1 basename | paste -sd' ' -)
	is "$found" "" "not in any log: ${LABELS[$i]} (${#SECRETS[$i]} characters)"
done
# shellcheck disable=SC2086
is "$(grep -lF 'scrypt$' $LOGS "$STACK_LOG_DIR/postgresql.log" 2>/dev/null | xargs -r -n1 basename)" "" \
	"no password hash (scrypt\$) in any log"

done_testing
