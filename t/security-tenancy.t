#!/bin/bash
# The wall between tenants, seen from outside: for every endpoint that takes
# an object id, tenant A's owner, A's admin and A's machine key get for
# tenant B's object exactly what they get for an id that does not exist
# (same status, same body but request_id), so nobody learns that B's object
# is there; A's lists never show B's rows; and nothing of B changes.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
# The limits of nginx and of the tenant are not under test here.
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=10000 limits.tenant_burst=10000

A=$(mk_tenant shop-a) && B=$(mk_tenant shop-b) || exit 1
A_OWNER=$(mk_user shop-a owner@a.example owner 'owner-a-password') || exit 1
mk_user shop-a admin@a.example admin 'admin-a-password' >/dev/null || exit 1
B_OWNER=$(mk_user shop-b owner@b.example owner 'owner-b-password') || exit 1
B_CLERK=$(mk_user shop-b clerk@b.example viewer 'clerk-b-password') || exit 1
mk_key shop-a || exit 1
A_KEY=$KEY_ID A_SECRET=$KEY_SECRET
mk_key shop-b || exit 1
B_KEY=$KEY_ID

login owner@a.example owner-a-password
T_OWNER=$TOKEN
login admin@a.example admin-a-password
T_ADMIN=$TOKEN
login owner@b.example owner-b-password
T_B=$TOKEN
# B leaves rows of its own through the API too: a key, audit entries.
api "$T_B" POST /v1/keys '{"name":"till 2 of b"}'
is "$STATUS" 201 "B's owner makes a second key"
B_KEY2=$(jq_get "$BODY" id)
cmp_num "$(psql_q "SELECT count(*) FROM audit_log WHERE tenant_id = '$B'")" -ge 2 \
	"B has an audit trail (so a leak of it could show)"

# Everything B has, as one digest: any change to a row of B changes it.
b_digest() {
	psql_q "SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
		SELECT t::text AS x FROM tenants t WHERE id = '$B'
		UNION ALL SELECT u::text FROM users u WHERE tenant_id = '$B'
		UNION ALL SELECT k::text FROM api_keys k WHERE tenant_id = '$B'
		UNION ALL SELECT s::text FROM sessions s WHERE tenant_id = '$B'
		UNION ALL SELECT r::text FROM refresh_tokens r WHERE tenant_id = '$B'
		UNION ALL SELECT a::text FROM audit_log a WHERE tenant_id = '$B') q"
}
before=$(b_digest)
like "$before" '^[0-9a-f]{32}$' "B's rows digested"

# Ids that exist nowhere: a uuid, and a well-formed key id naming tenant B.
NO_USER=$(uuid)
NO_KEY=$(python3 -c 'import base64, os, sys, uuid
raw = uuid.UUID(sys.argv[1]).bytes + os.urandom(8)
print("lk_" + base64.urlsafe_b64encode(raw).decode().rstrip("="))' "$B")
like "$NO_KEY" '^lk_[A-Za-z0-9_-]{32}$' "a key id that names B but does not exist"

# --- objects: B's id against an id that does not exist --------------------------
# same_as_missing WHO WANT METHOD TEMPLATE WHAT B_ID MISSING_ID [JSON]
same_as_missing() {
	local who=$1 want=$2 method=$3 tmpl=$4 what=$5 b_id=$6 none_id=$7
	local name=${who%%:*} s1 b1 s2 b2
	shift 7
	[ "$who" = "bearer:$T_OWNER" ] && name="owner"
	[ "$who" = "bearer:$T_ADMIN" ] && name="admin"
	[ "${who%%:*}" = key ] && name="key"
	as_who "$who" "$method" "${tmpl/\{id\}/$b_id}" "$@"
	s1=$STATUS b1=$(sans_rid "$BODY")
	as_who "$who" "$method" "${tmpl/\{id\}/$none_id}" "$@"
	s2=$STATUS b2=$(sans_rid "$BODY")
	is "$s1 $s2 $b1" "$want $want $b2" \
		"A's $name: $method $tmpl${1:+ $1} on B's $what = on a missing id ($want)"
}

for who in "bearer:$T_OWNER" "bearer:$T_ADMIN" "key:$A_KEY:$A_SECRET"; do
	want=404
	[ "${who%%:*}" != key ] || want=403	# keys act as operator
	for target in "viewer $B_CLERK" "owner $B_OWNER"; do
		set -- ${target% *} ${target#* }
		same_as_missing "$who" $want GET '/v1/users/{id}' "$1" "$2" "$NO_USER"
		same_as_missing "$who" $want PATCH '/v1/users/{id}' "$1" "$2" "$NO_USER" '{"role":"viewer"}'
		same_as_missing "$who" $want PATCH '/v1/users/{id}' "$1" "$2" "$NO_USER" \
			'{"password":"taken-over-password"}'
		same_as_missing "$who" $want DELETE '/v1/users/{id}' "$1" "$2" "$NO_USER"
	done
	same_as_missing "$who" $want DELETE '/v1/keys/{id}' "key (ctl)" "$B_KEY" "$NO_KEY"
	same_as_missing "$who" $want DELETE '/v1/keys/{id}' "key (API)" "$B_KEY2" "$NO_KEY"
done

# --- lists ----------------------------------------------------------------------
B_MARKS="$B|$B_OWNER|$B_CLERK|$B_KEY|$B_KEY2|b\\.example|shop-b"
# ids_of JSON: the "id" of every item of a list, one per line.
ids_of() {
	python3 -c 'import json, sys
for item in json.loads(sys.argv[1])["items"]:
    print(item["id"])' "$1" 2>/dev/null
}
for who in "bearer:$T_OWNER" "bearer:$T_ADMIN"; do
	name="owner"
	[ "$who" = "bearer:$T_OWNER" ] || name="admin"
	for q in '' '?limit=200&after=0' "?tenant_id=$B&tenant=shop-b"; do
		as_who "$who" GET "/v1/users$q"
		q=${q/$B/B}
		is "$STATUS" 200 "A's $name: GET /v1/users$q: 200"
		unlike "$BODY" "$B_MARKS" "A's $name: GET /v1/users$q shows nothing of B"
		is "$(ids_of "$BODY" | sort | tr '\n' ' ')" "$(psql_q "SELECT id FROM users
			WHERE tenant_id = '$A'" | sort | tr '\n' ' ')" \
			"A's $name: GET /v1/users$q shows exactly A's users"
	done
	as_who "$who" GET /v1/keys
	is "$STATUS" 200 "A's $name: GET /v1/keys: 200"
	is "$(ids_of "$BODY" | tr '\n' ' ')" "$A_KEY " "A's $name: GET /v1/keys shows A's key only"
	as_who "$who" GET '/v1/audit?limit=200'
	is "$STATUS" 200 "A's $name: GET /v1/audit: 200"
	unlike "$BODY" "$B_MARKS" "A's $name: GET /v1/audit shows nothing of B"
	ids=$(ids_of "$BODY" | paste -sd, -)
	like "$ids" '^[0-9]' "A's $name: A's audit trail is not empty"
	is "$(psql_q "SELECT count(*) FROM audit_log WHERE id IN (${ids:-0}) AND tenant_id <> '$A'")" 0 \
		"A's $name: every audit entry listed is A's"
done
for path in /v1/users /v1/keys /v1/audit; do
	as_who "key:$A_KEY:$A_SECRET" GET "$path"
	is "$STATUS" 403 "A's key: GET $path: 403 (keys act as operator)"
	unlike "$BODY" "$B_MARKS" "A's key: GET $path shows nothing of B"
done
as_who "key:$A_KEY:$A_SECRET" GET /v1/me
is "$(jq_get "$BODY" tenant.id)" "$A" "A's key is A's, whatever it asks"

# --- nothing of B changed -----------------------------------------------------
is "$(b_digest)" "$before" "no row of B changed (tenant, users, keys, sessions, tokens, audit)"
is "$(psql_q "SELECT string_agg(role, ' ' ORDER BY email) FROM users WHERE tenant_id = '$B'")" \
	"viewer owner" "B's users are there with their roles"
is "$(psql_q "SELECT count(*) FROM api_keys WHERE tenant_id = '$B' AND revoked_at IS NULL")" 2 \
	"B's keys are active"
api "$T_B" GET /v1/me
is "$STATUS" 200 "B's owner is still logged in (no password was changed)"

# Logging in at B with A's credentials is just a wrong password.
login owner@a.example wrong-password-x
wrong=$(sans_rid "$BODY")
login owner@a.example owner-a-password shop-b
is "$STATUS $(sans_rid "$BODY")" "401 $wrong" "A's owner logging in at tenant shop-b: the 401 of a wrong password"

# The comparison above can tell: A's own objects do answer.
api "$T_OWNER" GET "/v1/users/$A_OWNER"
is "$STATUS" 200 "A's owner reads its own user: 200"

done_testing
