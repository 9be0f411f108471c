#!/bin/bash
# Mass assignment: a client cannot set what it must not. tenant_id, role
# (where the endpoint takes none), password_hash, id, seq, created_at,
# locked_until and their kin, in the body of POST/PATCH /v1/users,
# POST /v1/keys and POST/PATCH /v1/tenants, are refused with 422 naming the
# field in errors[].field — and nothing in the database changes. Each body
# is accepted once the field is taken out, so the field is the reason.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=10000 limits.tenant_burst=10000

A=$(mk_tenant shop-a) && B=$(mk_tenant shop-b) || exit 1
mk_user shop-a owner@a.example owner 'owner-a-password' >/dev/null || exit 1
CLERK=$(mk_user shop-a clerk@a.example viewer 'clerk-a-password') || exit 1
mk_user - root@platform.example platform_admin 'platform-password' >/dev/null || exit 1
login owner@a.example owner-a-password
T_OWNER=$TOKEN
login root@platform.example platform-password
T_PA=$TOKEN

# Every row the API can write, as one digest.
digest() {
	psql_q "SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
		SELECT t::text AS x FROM tenants t
		UNION ALL SELECT u::text FROM users u
		UNION ALL SELECT k::text FROM api_keys k
		UNION ALL SELECT s::text FROM sessions s
		UNION ALL SELECT r::text FROM refresh_tokens r
		UNION ALL SELECT a::text FROM audit_log a) q"
}
before=$(digest)

# with JSON NAME VALUE: the JSON object with one more member.
with() { printf '%s,"%s":%s}' "${1%\}}" "$2" "$3"; }
# names_field NAME: yes when the last response names NAME in errors[].field
# (problem documents are written compactly).
names_field() {
	case $BODY in
	*'"errors":['*'{"field":"'"$1"'",'*) echo yes ;;
	*) echo no ;;
	esac
}

# The forbidden fields and a value each would like to set.
declare -A VALUE=(
	[tenant_id]="\"$B\""
	[role]='"owner"'
	[password_hash]='"$scrypt$ln=1,r=8,p=1$c2FsdA$aGFzaA"'
	[id]="\"$(uuid)\""
	[seq]='1'
	[created_at]='"2000-01-01T00:00:00Z"'
	[updated_at]='"2000-01-01T00:00:00Z"'
	[locked_until]='"2099-01-01T00:00:00Z"'
	[failed_logins]='0'
	[last_login_at]='"2000-01-01T00:00:00Z"'
	[email]='"boss@a.example"'
	[kind]='"platform"'
	[slug]='"shop-b"'
	[secret]='"lks_chosen-by-the-client-aaaaaaaaaaaaaaaaaaaaaa"'
	[secret_sealed]='"\\x00"'
	[revoked_at]='null'
	[status]='"revoked"'
)
COMMON="tenant_id password_hash id seq created_at updated_at"

# refuse WHO METHOD PATH BASE FIELD...: BASE plus each FIELD is a 422
# naming it.
refuse() {
	local who=$1 method=$2 path=$3 base=$4 f shown
	shift 4
	shown=${path/$CLERK/\{clerk\}}
	shown=${shown/$A/\{A\}}
	for f; do
		api "$who" "$method" "$path" "$(with "$base" "$f" "${VALUE[$f]}")"
		is "$STATUS $(names_field "$f")" "422 yes" "$method $shown with $f: 422 naming $f"
	done
}

U_BASE='{"email":"new@a.example","role":"viewer"}'
refuse "$T_OWNER" POST /v1/users "$U_BASE" $COMMON locked_until failed_logins last_login_at
refuse "$T_OWNER" PATCH "/v1/users/$CLERK" '{"role":"operator"}' \
	$COMMON locked_until failed_logins last_login_at email
refuse "$T_OWNER" POST /v1/keys '{"name":"till"}' $COMMON role locked_until secret \
	secret_sealed status
# revoked_at: null is still a field the endpoint does not take.
refuse "$T_OWNER" POST /v1/keys '{"name":"till"}' revoked_at
T_BASE='{"slug":"new-shop","name":"New shop"}'
refuse "$T_PA" POST /v1/tenants "$T_BASE" $COMMON role locked_until kind status
refuse "$T_PA" PATCH "/v1/tenants/$A" '{"name":"Renamed"}' $COMMON role locked_until \
	kind slug

# Several at once: each is named.
api "$T_OWNER" POST /v1/users "$(with "$(with "$U_BASE" tenant_id "\"$B\"")" role_id '1')"
is "$STATUS $(names_field tenant_id) $(names_field role_id)" "422 yes yes" \
	"two unknown fields in one body: 422 naming both"
# A null does not sneak a field past the check.
api "$T_OWNER" POST /v1/users "$(with "$U_BASE" tenant_id null)"
is "$STATUS $(names_field tenant_id)" "422 yes" "tenant_id: null is refused too"
# Nor does an escape in the name.
api "$T_OWNER" POST /v1/users '{"email":"new@a.example","role":"viewer","tenant\u005fid":"'"$B"'"}'
is "$STATUS $(names_field tenant_id)" "422 yes" "tenant\\u005fid is tenant_id, refused"
# Roles a caller may not give are not a mass assignment but a 403/422 of their own.
api "$T_OWNER" PATCH "/v1/users/$CLERK" '{"role":"platform_admin"}'
is "$STATUS $(names_field role)" "422 yes" "a merchant's user cannot become a platform admin"

is "$(digest)" "$before" "nothing in the database changed"
is "$(psql_q "SELECT role, locked_until IS NULL FROM users WHERE id = '$CLERK'")" \
	"viewer|t" "the clerk is still an unlocked viewer"
is "$(psql_q "SELECT count(*) FROM users WHERE email = 'new@a.example'")" 0 "no user was made"
is "$(psql_q "SELECT count(*) FROM api_keys")" 0 "no key was made"
is "$(psql_q "SELECT count(*) FROM tenants WHERE slug = 'new-shop' OR kind = 'platform' AND slug <> 'platform'")" 0 \
	"no tenant was made"

# --- the same bodies without the field are accepted ------------------------------
api "$T_OWNER" POST "/v1/users?tenant_id=$B" "$U_BASE"
is "$STATUS" 201 "POST /v1/users without the field: 201 (a tenant_id in the query is ignored)"
is "$(psql_q "SELECT tenant_id FROM users WHERE email = 'new@a.example'")" "$A" \
	"the user is in the caller's tenant"
api "$T_OWNER" PATCH "/v1/users/$CLERK" '{"role":"operator"}'
is "$STATUS" 200 "PATCH /v1/users without the field: 200"
api "$T_OWNER" POST /v1/keys '{"name":"till"}'
is "$STATUS" 201 "POST /v1/keys without the field: 201"
api "$T_PA" POST /v1/tenants "$T_BASE"
is "$STATUS" 201 "POST /v1/tenants without the field: 201"
is "$(psql_q "SELECT kind FROM tenants WHERE slug = 'new-shop'")" merchant "a merchant"
api "$T_PA" PATCH "/v1/tenants/$A" '{"name":"Renamed"}'
is "$STATUS" 200 "PATCH /v1/tenants without the field: 200"
isnt "$(digest)" "$before" "and those changes show in the digest"

# --- what validation lets through must not trip the database's checks (500) ---
# users.email must equal lower(email) and hold no [[:space:]], both in the
# database's Unicode sense; email_normalise lowers and checks ASCII only.
api "$T_OWNER" POST /v1/users '{"email":"\u00c9mile@a.example","role":"viewer"}'
like "$STATUS" '^(201|422)$' "an email with a non-ASCII capital (U+00C9): 201 or 422, not a 5xx (got $STATUS)"
api "$T_OWNER" POST /v1/users '{"email":"em\u2003ile@a.example","role":"viewer"}'
is "$STATUS $(names_field email)" "422 yes" "an email with a Unicode space (U+2003): 422 naming email"
is "$(log_lines db_error)" "" "no database error in loyaltyd's log"

done_testing
