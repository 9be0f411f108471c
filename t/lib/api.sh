# shellcheck shell=bash
# t/lib/api.sh — the /v1 API from a black-box test: tenants and users made
# with loyaltyctl, logins, bearer calls and signed requests (as a till
# would sign them: openssl dgst and a few lines of shell, docs/API.md).
#
#   ctl ARGS...                           loyaltyctl on the stack's config
#   mk_tenant SLUG                        prints the new tenant's id
#   mk_user SLUG EMAIL ROLE PASSWORD      a user of tenant SLUG (SLUG "-":
#                                         a platform administrator)
#   mk_key SLUG                           sets KEY_ID and KEY_SECRET
#   login EMAIL PASSWORD [SLUG]           sets STATUS, BODY, TOKEN, REFRESH
#   api TOKEN METHOD PATH [JSON]          a bearer call: STATUS, BODY, ...
#   sign SECRET TS METHOD PATH BODY       prints the v1= signature
#   signed KEY SECRET METHOD PATH [BODY [TS]]   a signed call

ctl() { "$LOYALTYCTL" -c "$STACK_CONF" --sql-dir "$STACK_SQL_DIR" "$@"; }

mk_tenant() {
	local out
	out=$(ctl tenant create --slug "$1" --name "Tenant $1" --currency USD) ||
		{ fail "loyaltyctl tenant create $1" "$out"; return 1; }
	jq_get "$out" id
}

mk_user() {
	local out
	if [ "$1" = - ]; then
		out=$(printf '%s\n' "$4" | ctl user create --platform-admin \
			--email "$2" --password-stdin 2>&1)
	else
		out=$(printf '%s\n' "$4" | ctl user create --tenant "$1" \
			--email "$2" --role "$3" --password-stdin 2>&1)
	fi || { fail "loyaltyctl user create $2" "$out"; return 1; }
	jq_get "$out" id
}

mk_key() {
	local out
	out=$(ctl key create --tenant "$1" --name "till of $1" 2>&1) ||
		{ fail "loyaltyctl key create --tenant $1" "$out"; return 1; }
	KEY_ID=$(jq_get "$out" id)
	KEY_SECRET=$(jq_get "$out" secret)
}

login() {
	local body
	body=$(python3 -c 'import json, sys
d = {"email": sys.argv[1], "password": sys.argv[2]}
if len(sys.argv) > 3: d["tenant"] = sys.argv[3]
print(json.dumps(d))' "$@")
	http POST /v1/auth/login -H 'Content-Type: application/json' --data-binary "$body"
	TOKEN=$(jq_get "$BODY" access_token)
	REFRESH=$(jq_get "$BODY" refresh_token)
}

api() {
	local token=$1 method=$2 path=$3
	if [ $# -ge 4 ]; then
		http "$method" "$path" -H "Authorization: Bearer $token" \
			-H 'Content-Type: application/json' --data-binary "$4"
	else
		http "$method" "$path" -H "Authorization: Bearer $token"
	fi
}

# The signature of SPEC §4: HMAC-SHA256 over timestamp "." METHOD "."
# path-with-query "." raw body, in hex.
sign() {
	printf '%s.%s.%s.%s' "$2" "$3" "$4" "$5" |
		openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1
}

signed() {
	local key=$1 secret=$2 method=$3 path=$4 body=${5:-} ts=${6:-$(date +%s)}
	local -a args=(-H "X-Loyalty-Key: $key" -H "X-Loyalty-Timestamp: $ts"
		-H "X-Loyalty-Signature: v1=$(sign "$secret" "$ts" "$method" "$path" "$body")")
	[ -z "$body" ] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
	http "$method" "$path" "${args[@]}"
}

# psql_q SQL: one query as the superuser, unaligned.
psql_q() { stack_psql -At -c "$1"; }

# --- for the t/security-*.t files ---------------------------------------------
#
#   secret_of SECTION.KEY                 a value of the stack's secrets file
#   sans_rid JSON                         the document without its request_id
#   status_type                           "STATUS content-type" of the last call
#   as_who WHO METHOD PATH [JSON]         one call as WHO: "bearer:TOKEN",
#                                         "key:ID:SECRET" or "none"
#   fresh_second                          sleeps to just after a second starts
#   uuid                                  a random uuid

secret_of() {
	sed -n "/^\[${1%%.*}\]/,/^\[/s/^${1#*.} *= *//p" "$STACK_DIR/secrets.conf" |
		head -n 1
}

sans_rid() {
	printf '%s\n' "$1" |
		sed -E 's/, ?"request_id": ?"[^"]*"//; s/"request_id": ?"[^"]*", ?//'
}

status_type() {
	printf '%s %s' "$STATUS" "$(header Content-Type | sed 's/;.*//')"
}

as_who() {
	local who=$1 method=$2 path=$3 rest
	shift 3
	case $who in
	bearer:*) api "${who#bearer:}" "$method" "$path" "$@" ;;
	key:*)
		rest=${who#key:}
		signed "${rest%%:*}" "${rest#*:}" "$method" "$path" "${1:-}"
		;;
	none)
		if [ $# -ge 1 ]; then
			http "$method" "$path" -H 'Content-Type: application/json' \
				--data-binary "$1"
		else
			http "$method" "$path"
		fi
		;;
	*) fail "as_who: unknown caller $who"; return 1 ;;
	esac
}

fresh_second() {
	python3 -c 'import time; time.sleep(1.02 - time.time() % 1)'
}

uuid() { cat /proc/sys/kernel/random/uuid; }
