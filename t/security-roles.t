#!/bin/bash
# Who may call what: every route of the table in src/routes.c (read from the
# file, so a new route is covered the day it is added) against every kind
# of caller. No credentials: 401. A role below the route's ACCESS_* minimum:
# 403. At or above it: neither (nor a 5xx). Keys act as operators;
# ACCESS_PLATFORM routes are for platform administrators only. Health,
# metrics, status, the test endpoints and the three public /v1/auth/ routes
# are left out.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=10000 limits.tenant_burst=10000

# --- the table ------------------------------------------------------------------
table=$HARNESS_T/../src/routes.c
# "METHOD PATTERN ACCESS_X FLAGS" per route, FLAGS without spaces.
routes=$(sed -n 's/^[[:space:]]*{ *"\([A-Z]*\)", *"\([^"]*\)", *[A-Za-z0-9_]*, *\(ACCESS_[A-Z]*\), *\([^}]*\)}.*/\1 \2 \3 \4/p' "$table" |
	sed 's/ *| */|/g; s/ *$//')
cmp_num "$(printf '%s\n' "$routes" | grep -c .)" -eq "$(grep -c 'ACCESS_[A-Z]*,' "$table")" \
	"every row of the route table is read ($(printf '%s\n' "$routes" | grep -c .))"
routes=$(printf '%s\n' "$routes" |
	grep -vE '^[A-Z]+ (/health|/metrics|/status|/_test/|/v1/auth/)')
cmp_num "$(printf '%s\n' "$routes" | grep -c .)" -ge 14 "the routes under test are there"
unknown=$(printf '%s\n' "$routes" | awk '{print $3}' | sort -u |
	grep -vxE 'ACCESS_(VIEWER|OPERATOR|ADMIN|OWNER|PLATFORM)')
is "$unknown" "" "every route under test names a known minimum role"

# --- the callers --------------------------------------------------------------------
mk_tenant shop-a >/dev/null || exit 1
for role in viewer operator admin owner; do
	mk_user shop-a "$role@a.example" "$role" "$role-a-password" >/dev/null || exit 1
done
mk_user - root@platform.example platform_admin 'platform-password' >/dev/null || exit 1
mk_key shop-a || exit 1

declare -A WHO RANK
for role in viewer operator admin owner; do
	login "$role@a.example" "$role-a-password"
	is "$STATUS" 200 "the $role logs in"
	WHO[$role]="bearer:$TOKEN"
done
login root@platform.example platform-password
is "$STATUS" 200 "the platform admin logs in"
WHO[platform]="bearer:$TOKEN"
WHO[key]="key:$KEY_ID:$KEY_SECRET"
WHO[none]=none
RANK=([viewer]=1 [operator]=2 [admin]=3 [owner]=4 [key]=2 [platform]=5 [none]=0)
declare -A LEVEL=([ACCESS_VIEWER]=1 [ACCESS_OPERATOR]=2 [ACCESS_ADMIN]=3
	[ACCESS_OWNER]=4 [ACCESS_PLATFORM]=5)

# The caller must get past authorisation, not do anything: an id that does
# not exist for every {parameter} and, for a route that takes JSON, an
# empty object (refused by validation) keep every call free of effects.
while read -r -u 3 method pattern access flags; do
	path=$(printf '%s' "$pattern" | sed "s/{[^}]*}/$(uuid)/g")
	for who in none viewer operator key admin owner platform; do
		if [[ $flags == *ROUTE_JSON* ]]; then
			as_who "${WHO[$who]}" "$method" "$path" '{}'
		else
			as_who "${WHO[$who]}" "$method" "$path"
		fi
		desc="$who: $method $pattern ($access)"
		if [ "$who" = none ]; then
			is "$STATUS $(header WWW-Authenticate)" "401 Bearer" "$desc: 401 asking for a Bearer token"
		elif { [ "$access" = ACCESS_PLATFORM ] && [ "$who" != platform ]; } ||
			[ "${RANK[$who]}" -lt "${LEVEL[$access]}" ]; then
			is "$(status_type)" "403 application/problem+json" "$desc: 403"
		elif [ "$STATUS" != 401 ] && [ "$STATUS" != 403 ] && [ "$STATUS" -lt 500 ]; then
			pass "$desc: allowed ($STATUS)"
		else
			fail "$desc: allowed" "got $STATUS: $BODY"
		fi
	done
done 3<<<"$routes"

# The matrix had something to tell apart: the same caller gets through one
# route and is stopped at another.
as_who "${WHO[operator]}" GET /v1/me
is "$STATUS" 200 "the operator reads /v1/me"
as_who "${WHO[operator]}" GET /v1/users
is "$STATUS" 403 "but not /v1/users"

done_testing
