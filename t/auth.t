#!/bin/bash
# Staff authentication end to end through nginx: login, /v1/me, refresh
# with rotation and reuse detection, logout, lockout; machine keys and
# signed requests; users, tenants and the audit trail they leave.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
# nginx's own per-address limits would answer before the daemon's.
export LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up auth.lockout_failures=3 limits.login_per_email=1000 limits.login_per_addr=1000

A=$(mk_tenant shop-a) && B=$(mk_tenant shop-b) || exit 1
OWNER=$(mk_user shop-a owner@a.example owner 'owner-a-password') || exit 1
mk_user shop-b owner@b.example owner 'owner-b-password' >/dev/null || exit 1
PADMIN=$(mk_user - root@platform.example platform_admin 'platform-password') || exit 1

# --- login, me ---------------------------------------------------------------
login owner@a.example owner-a-password
is "$STATUS" 200 "login with the right password: 200"
is "$(jq_get "$BODY" token_type)" Bearer "token_type Bearer"
is "$(jq_get "$BODY" expires_in)" 900 "expires_in 900"
like "$REFRESH" '^rt_[A-Za-z0-9_-]{64}$' "an opaque refresh token"
like "$TOKEN" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "a JWT access token"
T_OWNER=$TOKEN R_OWNER=$REFRESH
api "$T_OWNER" GET /v1/me
is "$STATUS" 200 "GET /v1/me: 200"
is "$(jq_get "$BODY" user.email)" owner@a.example "the user"
is "$(jq_get "$BODY" role)" owner "its role"
is "$(jq_get "$BODY" tenant.slug)" shop-a "its tenant"
unlike "$BODY" 'password|scrypt' "no password or hash in /v1/me"

login OWNER@A.EXAMPLE owner-a-password
is "$STATUS" 200 "emails are not case-sensitive"

login owner@a.example wrong-password-1
is "$STATUS" 401 "a wrong password: 401"
is "$(header WWW-Authenticate)" Bearer "a 401 names the scheme (WWW-Authenticate: Bearer)"
wrong=$(jq_get "$BODY" detail)
login nobody@a.example wrong-password-1
is "$STATUS" 401 "an unknown email: 401"
is "$(jq_get "$BODY" detail)" "$wrong" "with the same detail as a wrong password"

# --- lockout (auth.lockout_failures=3 here) ----------------------------------
mk_user shop-a clerk@a.example viewer 'clerk-password-1' >/dev/null
for i in 1 2; do login clerk@a.example "bad-$i-xxxxxxx"; done
is "$STATUS" 401 "two failures: still 401"
login clerk@a.example bad-3-xxxxxxx
is "$STATUS" 423 "the third failure locks the account: 423"
like "$(jq_get "$BODY" detail)" 'locked' "and says so"
cmp_num "$(header Retry-After)" -gt 800 "with Retry-After of about 15 minutes"
locked_body=$(jq_get "$BODY" detail)
login clerk@a.example clerk-password-1
is "$STATUS" 423 "while locked, even the right password gets 423"
is "$(jq_get "$BODY" detail)" "$locked_body" "with the same body as a wrong one"
unlike "$(jq_get "$BODY" detail)" 'wrong|right|correct' "without saying whether it was right"
got=''
for i in 1 2 3 4; do login ghost@nowhere.example "bad-$i-xxxxxxx"; got="$got $STATUS"; done
is "$got" " 401 401 423 423" "an email nobody has locks after as many failures (no existence oracle)"

# The same email at two tenants.
mk_user shop-a both@x.example viewer 'password-at-a' >/dev/null
mk_user shop-b both@x.example viewer 'password-at-b' >/dev/null
login both@x.example password-at-b
is "$STATUS $(api "$TOKEN" GET /v1/me >/dev/null; jq_get "$BODY" tenant.slug)" "200 shop-b" \
	"without a slug, the tenant whose account the password opens"
is "$(psql_q "SELECT max(failed_logins) FROM users WHERE email = 'both@x.example'")" 0 \
	"and no failure is counted at the other"
login both@x.example password-at-a shop-b
is "$STATUS" 401 "with a slug, only that tenant's account"
login both@x.example password-at-a shop-a
is "$STATUS" 200 "and the right one logs in"

# --- refresh: rotation and reuse ---------------------------------------------
psql_q "UPDATE sessions SET expires_at = now() + interval '1 hour'" >/dev/null
http POST /v1/auth/refresh -H 'Content-Type: application/json' \
	--data-binary "{\"refresh_token\":\"$R_OWNER\"}"
is "$STATUS" 200 "refresh: 200"
is "$(psql_q "SELECT count(*) FROM sessions WHERE expires_at > now() + interval '29 days'")" 1 \
	"and the session lives auth.refresh_ttl_s from the refresh"
R2=$(jq_get "$BODY" refresh_token) T2=$(jq_get "$BODY" access_token)
isnt "$R2" "$R_OWNER" "a new refresh token each time"
api "$T2" GET /v1/me
is "$STATUS" 200 "the new access token works"
http POST /v1/auth/refresh -H 'Content-Type: application/json' \
	--data-binary "{\"refresh_token\":\"$R_OWNER\"}"
is "$STATUS" 401 "the spent refresh token again: 401"
like "$(jq_get "$BODY" detail)" 'already used' "it says why"
api "$T2" GET /v1/me
is "$STATUS" 401 "and the whole session is revoked: its access token fails"
http POST /v1/auth/refresh -H 'Content-Type: application/json' \
	--data-binary "{\"refresh_token\":\"$R2\"}"
is "$STATUS" 401 "so does its newest refresh token"

# --- logout --------------------------------------------------------------------
login owner@a.example owner-a-password
T_OWNER=$TOKEN R_OWNER=$REFRESH
http POST /v1/auth/logout -H 'Content-Type: application/json' \
	--data-binary "{\"refresh_token\":\"$R_OWNER\"}"
is "$STATUS" 204 "logout: 204"
api "$T_OWNER" GET /v1/me
is "$STATUS" 401 "the access token of the session is refused at once"
login owner@a.example owner-a-password
T_OWNER=$TOKEN

# --- users ----------------------------------------------------------------------
api "$T_OWNER" POST /v1/users '{"email":"Op@A.example","role":"operator"}'
is "$STATUS" 201 "an owner creates an operator: 201"
OP=$(jq_get "$BODY" id) OP_PW=$(jq_get "$BODY" password)
is "$(jq_get "$BODY" email)" op@a.example "the email is stored lower-case"
like "$OP_PW" '^[0-9A-Z]{20}$' "a one-time password, shown once"
login op@a.example "$OP_PW"
is "$STATUS" 200 "which logs in"
T_OP=$TOKEN
api "$T_OP" GET /v1/users
is "$STATUS" 403 "an operator may not list users"
api "$T_OWNER" GET /v1/users
is "$STATUS" 200 "an owner may"
is "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["items"]))' "$BODY")" \
	"$(psql_q "SELECT count(*) FROM users WHERE tenant_id = '$A'")" "every user of shop-a"
unlike "$BODY" 'password_hash|scrypt' "never a hash in the list"
api "$T_OWNER" GET "/v1/users?limit=1"
next=$(jq_get "$BODY" next)
like "$next" '^[0-9]+$' "a page of one has a next cursor"
api "$T_OWNER" GET "/v1/users?limit=1&after=$next"
is "$STATUS" 200 "the next page: 200"
api "$T_OWNER" PATCH "/v1/users/$OWNER" '{"role":"admin"}'
is "$STATUS" 403 "nobody changes their own role"
api "$T_OWNER" PATCH "/v1/users/$OP" '{"role":"admin"}'
is "$STATUS" 200 "the owner makes the operator an admin"
is "$(jq_get "$BODY" role)" admin "now admin"
login op@a.example "$OP_PW"
T_ADM=$TOKEN
api "$T_ADM" POST /v1/users '{"email":"boss@a.example","role":"owner"}'
is "$STATUS" 403 "an admin cannot create an owner"
api "$T_ADM" PATCH "/v1/users/$OWNER" '{"role":"viewer"}'
is "$STATUS" 403 "nor change one"
api "$T_OWNER" POST /v1/users '{"email":"x@a.example","role":"viewer","tenant_id":"'"$B"'"}'
is "$STATUS" 422 "tenant_id in the body is refused (422)"
is "$(jq_get "$BODY" errors.0.field)" tenant_id "naming the field"
api "$T_OWNER" POST /v1/users '{"email":"y@a.example","role":"platform_admin"}'
is "$STATUS" 422 "a merchant cannot have a platform_admin"
api "$T_OWNER" POST /v1/users '{"email":"op@a.example","role":"viewer"}'
is "$STATUS" 409 "an email twice in a tenant: 409"
api "$T_OWNER" DELETE "/v1/users/$OWNER"
is "$STATUS" 403 "nobody deletes themselves"
api "$T_OWNER" POST /v1/users '{"email":"\u00c9l\u00e8ve@a.example","role":"viewer"}'
is "$STATUS" 422 "a non-ASCII email: 422, not 500"
is "$(jq_get "$BODY" errors.0.field)" email "naming the field"
api "$T_OWNER" PATCH "/v1/users/$OP" '{"password":"a-new-password-1"}'
is "$STATUS" 200 "an owner sets a user's password"
api "$T_OWNER" GET "/v1/audit?limit=1"
is "$(jq_get "$BODY" items.0.after.password_changed)" true "the audit entry says the password changed"
unlike "$BODY" 'a-new-password-1' "without the password"
OP_PW=a-new-password-1
login op@a.example "$OP_PW"
T_ADM=$TOKEN
like "$(psql_q "INSERT INTO users (tenant_id, email, role, password_hash)
	VALUES ('$A', 'p@a.example', 'platform_admin', '\$scrypt\$x')" 2>&1)" 'violates check constraint' \
	"the table refuses a platform_admin outside the platform's tenant"

# --- one's own password --------------------------------------------------------
mk_user shop-a self@a.example viewer 'self-password-1' >/dev/null
login self@a.example self-password-1
T_SELF1=$TOKEN
login self@a.example self-password-1
T_SELF2=$TOKEN
api "$T_SELF2" POST /v1/me/password '{"current_password":"not-it-at-all","new_password":"self-password-2"}'
is "$STATUS $(jq_get "$BODY" errors.0.field)" "422 current_password" "a wrong current password: 422 naming it"
api "$T_SELF2" POST /v1/me/password '{"current_password":"self-password-1","new_password":"short"}'
is "$STATUS $(jq_get "$BODY" errors.0.field)" "422 new_password" "a short new password: 422 naming it"
api "$T_SELF2" POST /v1/me/password '{"current_password":"self-password-1","new_password":"self-password-2"}'
is "$STATUS" 204 "a viewer changes their own password: 204"
api "$T_SELF2" GET /v1/me
is "$STATUS" 200 "the session that changed it goes on"
api "$T_SELF1" GET /v1/me
is "$STATUS" 401 "the user's other sessions end"
login self@a.example self-password-1
is "$STATUS" 401 "the old password no longer works"
login self@a.example self-password-2
is "$STATUS" 200 "the new one does"

# --- keys and signed requests ------------------------------------------------
api "$T_OWNER" POST /v1/keys '{"name":"till 1"}'
is "$STATUS" 201 "an owner creates a key: 201"
K1=$(jq_get "$BODY" id) S1=$(jq_get "$BODY" secret)
like "$K1" '^lk_[A-Za-z0-9_-]{32}$' "its id"
like "$S1" '^lks_[A-Za-z0-9_-]{43}$' "and its secret, once"
api "$T_OWNER" GET /v1/keys
unlike "$BODY" "$S1" "the list never shows the secret"
unlike "$BODY" 'secret' "nor any secret field"
signed "$K1" "$S1" GET /v1/me
is "$STATUS" 200 "a signed request with the key: 200"
is "$(jq_get "$BODY" type)" key "as the key"
is "$(jq_get "$BODY" role)" operator "acting as operator"
api "$T_OWNER" POST /v1/keys '{"name":"till 2"}'
K2=$(jq_get "$BODY" id) S2=$(jq_get "$BODY" secret)
signed "$K2" "$S2" GET /v1/me
is "$STATUS" 200 "both active keys verify"
api "$T_OWNER" POST /v1/keys '{"name":"till 3"}'
is "$STATUS" 409 "a third active key: 409"
signed "$K1" "$S1" GET /v1/users
is "$STATUS" 403 "a key (operator) may not manage users"
signed "$K1" "$S1" POST /v1/me/password '{"current_password":"x","new_password":"yyyyyyyyyyyy"}'
is "$STATUS" 403 "nor has a password to change"
api "$T_OWNER" DELETE "/v1/keys/$K1"
is "$STATUS" 200 "revoke: 200"
is "$(jq_get "$BODY" status)" revoked "the key is revoked"
signed "$K1" "$S1" GET /v1/me
is "$STATUS" 401 "the revoked key is refused on the next request"
is "$(psql_q "SELECT count(*) FROM api_keys WHERE position('$S2' in encode(secret_sealed, 'escape')) > 0")" 0 \
	"the database holds no secret in clear"

# --- tenants (platform admin) ----------------------------------------------------
login owner@b.example owner-b-password
T_B=$TOKEN R_B=$REFRESH
login root@platform.example platform-password
T_PA=$TOKEN
api "$T_PA" PATCH "/v1/tenants/$B" '{"status":"suspended"}'
is "$STATUS" 200 "a platform admin suspends shop-b"
api "$T_B" GET /v1/me
is "$STATUS" 403 "its owner's access token gets 403 at once"
http POST /v1/auth/refresh -H 'Content-Type: application/json' \
	--data-binary "{\"refresh_token\":\"$R_B\"}"
is "$STATUS" 403 "so does its refresh token"
login owner@b.example owner-b-password
is "$STATUS" 403 "and its login"
api "$T_PA" PATCH "/v1/tenants/$B" '{"status":"active"}'
api "$T_B" GET /v1/me
is "$STATUS" 200 "active again, the same token works"
api "$T_PA" POST /v1/tenants '{"slug":"pharma","name":"Pharma Group","currency":"ZWG"}'
is "$STATUS" 201 "a platform admin creates a tenant: 201"
is "$(jq_get "$BODY" timezone)" Africa/Harare "in Africa/Harare by default"
api "$T_PA" GET /v1/tenants
is "$(python3 -c 'import json,sys; print(" ".join(sorted(t["slug"] for t in json.loads(sys.argv[1])["items"])))' "$BODY")" \
	"pharma shop-a shop-b" "it lists the merchants"
api "$T_OWNER" GET /v1/tenants
is "$STATUS" 403 "an owner may not"
api "$T_PA" PATCH "/v1/tenants/$B" '{"name":null}'
is "$STATUS" 422 "a PATCH of nulls changes nothing: 422"
api "$T_PA" PATCH "/v1/tenants/$B" '{"timezone":"Mars/Olympus"}'
is "$STATUS" 422 "an unknown time zone: 422"
is "$(jq_get "$BODY" errors.0.field)" timezone "naming it"

# --- audit ------------------------------------------------------------------------
api "$T_OWNER" GET /v1/audit
is "$STATUS" 200 "the audit trail: 200"
actions=$(python3 -c 'import json,sys; print(" ".join(a["action"] for a in json.loads(sys.argv[1])["items"]))' "$BODY")
like "$actions" '^key.revoke ' "newest first"
like "$actions" 'user.update' "role changes are there"
like "$actions" 'user.create' "creations too"
unlike "$BODY" "$S1|$S2|scrypt|$OP_PW" "without a secret, a hash or a password"
api "$T_ADM" GET /v1/audit
is "$STATUS" 200 "an admin reads it too"

done_testing
