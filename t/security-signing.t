#!/bin/bash
# Signed requests of machine keys under attack: the timestamp window
# (300 s either way), every part of the signed text (body, path, query,
# method), keys of other tenants and revoked keys, repeated, missing and
# malformed headers, and a bearer token beside a signature. Each refusal is
# 401 with a problem document; each control beside it is accepted, so the
# refusal is the tampering's doing. Uppercase hex digits in the signature
# are accepted like lowercase ones (hex is case-insensitive; the MAC is the
# same bytes), consistently for upper and mixed case.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=10000 limits.tenant_burst=10000

A=$(mk_tenant shop-a) && mk_tenant shop-b >/dev/null || exit 1
mk_user shop-a owner@a.example owner 'owner-a-password' >/dev/null || exit 1
mk_key shop-a || exit 1
K=$KEY_ID S=$KEY_SECRET
mk_key shop-a || exit 1
K2=$KEY_ID S2=$KEY_SECRET
mk_key shop-b || exit 1
KB=$KEY_ID SB=$KEY_SECRET

# raw KEY TS SIG METHOD PATH [curl args]: a request with these three headers.
raw() {
	local key=$1 ts=$2 sig=$3 method=$4 path=$5
	shift 5
	http "$method" "$path" -H "X-Loyalty-Key: $key" -H "X-Loyalty-Timestamp: $ts" \
		-H "X-Loyalty-Signature: $sig" "$@"
}
refused() { is "$(status_type)" "401 application/problem+json" "$1: 401"; }

signed "$K" "$S" GET /v1/me
is "$STATUS" 200 "control: a signed GET /v1/me"
is "$(jq_get "$BODY" key.id)" "$K" "as the key"

# --- the timestamp window ---------------------------------------------------------
now=$(date +%s)
signed "$K" "$S" GET /v1/me '' $((now - 301))
refused "a timestamp 301 s old"
signed "$K" "$S" GET /v1/me '' $((now - 299))
is "$STATUS" 200 "a timestamp 299 s old: 200"
# Just after a second starts, so the server's clock reads the same second.
fresh_second
now=$(date +%s)
signed "$K" "$S" GET /v1/me '' $((now + 301))
refused "a timestamp 301 s in the future"
signed "$K" "$S" GET /v1/me '' $((now + 299))
is "$STATUS" 200 "a timestamp 299 s in the future: 200"
ts=$(date +%s)
raw "$K" "$ts" "v1=$(sign "$S" "$ts" GET /v1/me '')" GET /v1/me
is "$STATUS" 200 "control: raw headers, as signed"
ms=$((ts * 1000))
raw "$K" "$ms" "v1=$(sign "$S" "$ms" GET /v1/me '')" GET /v1/me
refused "a timestamp in milliseconds"
raw "$K" "+$ts" "v1=$(sign "$S" "+$ts" GET /v1/me '')" GET /v1/me
refused "a timestamp with a + sign"
raw "$K" "$ts.0" "v1=$(sign "$S" "$ts.0" GET /v1/me '')" GET /v1/me
refused "a timestamp with a fraction"
raw "$K" "" "v1=$(sign "$S" "" GET /v1/me '')" GET /v1/me
refused "an empty timestamp"

# --- what is signed -----------------------------------------------------------------
# A body on a GET: curl sends it, nginx passes it, and it is signed.
ts=$(date +%s)
sig=v1=$(sign "$S" "$ts" GET /v1/me '{"a":1}')
raw "$K" "$ts" "$sig" GET /v1/me --data-binary '{"a":1}'
is "$STATUS" 200 "control: GET /v1/me with a signed body"
raw "$K" "$ts" "$sig" GET /v1/me --data-binary '{"a":2}'
refused "the body changed"
raw "$K" "$ts" "$sig" GET /v1/me --data-binary '{"a":1} '
refused "a byte added to the body"
raw "$K" "$ts" "$sig" GET /v1/me
refused "the body left out"
raw "$K" "$ts" "v1=$(sign "$S" "$ts" GET /v1/me '')" GET /v1/me --data-binary '{"a":1}'
refused "a body added to a request signed without one"
# A POST: keys may not create keys (403), but only once the signature holds.
body='{"name":"till 3"}'
sig=v1=$(sign "$S" "$ts" POST /v1/keys "$body")
raw "$K" "$ts" "$sig" POST /v1/keys -H 'Content-Type: application/json' --data-binary "$body"
is "$STATUS" 403 "control: a signed POST /v1/keys reaches the role check (403)"
raw "$K" "$ts" "$sig" POST /v1/keys -H 'Content-Type: application/json' \
	--data-binary '{"name":"till 4"}'
refused "a POST with its body changed"

sig=v1=$(sign "$S" "$ts" GET /v1/keys '')
raw "$K" "$ts" "$sig" GET /v1/keys
is "$STATUS" 403 "control: a signed GET /v1/keys reaches the role check (403)"
raw "$K" "$ts" "$sig" GET /v1/me
refused "the path changed (/v1/keys signed, /v1/me sent)"
raw "$K" "$ts" "v1=$(sign "$S" "$ts" GET /v1/me '')" GET /v1/users
refused "the path changed (/v1/me signed, /v1/users sent)"
raw "$K" "$ts" "v1=$(sign "$S" "$ts" GET /V1/ME '')" GET /v1/me
refused "the path signed in another case"

sig=v1=$(sign "$S" "$ts" GET '/v1/me?x=1' '')
raw "$K" "$ts" "$sig" GET '/v1/me?x=1'
is "$STATUS" 200 "control: a signed query string"
raw "$K" "$ts" "$sig" GET '/v1/me?x=2'
refused "the query string changed"
raw "$K" "$ts" "$sig" GET '/v1/me?x=1&y=2'
refused "a parameter added to the query string"
raw "$K" "$ts" "$sig" GET /v1/me
refused "the query string left out"
raw "$K" "$ts" "v1=$(sign "$S" "$ts" GET /v1/me '')" GET '/v1/me?x=1'
refused "a query string added"

raw "$K" "$ts" "v1=$(sign "$S" "$ts" POST /v1/me '')" GET /v1/me
refused "the method changed (POST signed, GET sent)"
raw "$K" "$ts" "v1=$(sign "$S" "$ts" get /v1/me '')" GET /v1/me
refused "the method signed in lower case"
http HEAD /v1/me -I -H "X-Loyalty-Key: $K" -H "X-Loyalty-Timestamp: $ts" \
	-H "X-Loyalty-Signature: v1=$(sign "$S" "$ts" GET /v1/me '')"
is "$STATUS" 401 "the method changed (GET signed, HEAD sent): 401"

# --- whose key ------------------------------------------------------------------------
raw "$KB" "$ts" "v1=$(sign "$S" "$ts" GET /v1/me '')" GET /v1/me
refused "B's key id with A's secret"
raw "$K" "$ts" "v1=$(sign "$SB" "$ts" GET /v1/me '')" GET /v1/me
refused "A's key id with B's secret"
raw "$K" "$ts" "v1=$(sign "$S2" "$ts" GET /v1/me '')" GET /v1/me
refused "A's key id with the secret of A's other key"
raw "$KB" "$ts" "v1=$(sign "$SB" "$ts" GET /v1/me '')" GET /v1/me
is "$STATUS/$(jq_get "$BODY" tenant.slug)" 200/shop-b "control: B's key with B's secret is B"
forged=$(python3 -c 'import base64, os, sys, uuid
raw = uuid.UUID(sys.argv[1]).bytes + os.urandom(8)
print("lk_" + base64.urlsafe_b64encode(raw).decode().rstrip("="))' "$A")
raw "$forged" "$ts" "v1=$(sign "$S" "$ts" GET /v1/me '')" GET /v1/me
refused "a made-up key id naming tenant A, with A's secret"
raw "${K}x" "$ts" "v1=$(sign "$S" "$ts" GET /v1/me '')" GET /v1/me
refused "a key id with a character more"

signed "$K2" "$S2" GET /v1/me
is "$STATUS" 200 "control: A's second key works"
check "loyaltyctl revokes it" ctl key revoke --tenant shop-a --id "$K2"
is "$(psql_q "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = '$K2'")" t "it is revoked"
signed "$K2" "$S2" GET /v1/me
refused "a revoked key"

# --- the headers ----------------------------------------------------------------------
ts=$(date +%s)
sig=v1=$(sign "$S" "$ts" GET /v1/me '')
for h in Key Timestamp Signature; do
	case $h in
	Key) v=$K ;;
	Timestamp) v=$ts ;;
	Signature) v=$sig ;;
	esac
	raw "$K" "$ts" "$sig" GET /v1/me -H "X-Loyalty-$h: $v"
	refused "X-Loyalty-$h twice, the same value both times"
	args=()
	[ $h = Key ] || args+=(-H "X-Loyalty-Key: $K")
	[ $h = Timestamp ] || args+=(-H "X-Loyalty-Timestamp: $ts")
	[ $h = Signature ] || args+=(-H "X-Loyalty-Signature: $sig")
	http GET /v1/me "${args[@]}"
	refused "X-Loyalty-$h missing"
done
raw "$K" "$ts" "$sig" GET /v1/me --http1.1 -H "X-Loyalty-Signature: v1=$(printf '0%.0s' {1..64})"
refused "X-Loyalty-Signature twice over HTTP/1.1, good and bad"
raw "$K" "$ts" "$sig, $sig" GET /v1/me
refused "X-Loyalty-Signature with two values joined by a comma"

upper=$(printf '%s' "${sig#v1=}" | tr a-f A-F)
raw "$K" "$ts" "v1=$upper" GET /v1/me
is "$STATUS" 200 "uppercase hex in the signature: accepted"
mixed=$(printf '%s' "${sig#v1=}" | sed 's/\([a-f]\)\([0-9a-f]\)/\U\1\E\2/g')
isnt "$mixed" "${sig#v1=}" "a mixed-case signature differs from the lowercase one"
raw "$K" "$ts" "v1=$mixed" GET /v1/me
is "$STATUS" 200 "mixed-case hex in the signature: accepted as well"
raw "$K" "$ts" "V1=${sig#v1=}" GET /v1/me
refused "V1= instead of v1="
raw "$K" "$ts" "v2=${sig#v1=}" GET /v1/me
refused "v2= instead of v1="
raw "$K" "$ts" "${sig#v1=}" GET /v1/me
refused "no v1= prefix"
raw "$K" "$ts" "${sig%?}" GET /v1/me
refused "63 hex digits"
raw "$K" "$ts" "${sig}0" GET /v1/me
refused "65 hex digits"
raw "$K" "$ts" "v1=$(printf '%s' "${sig#v1=}" | tr 0-9a-f g-v)" GET /v1/me
refused "64 characters that are not hex"
raw "$K" "$ts" "v1=$(openssl rand -base64 32)" GET /v1/me
refused "a base64 signature"

login owner@a.example owner-a-password
raw "$K" "$ts" "$sig" GET /v1/me -H "Authorization: Bearer $TOKEN"
refused "a good signature and a good bearer token together"
http GET /v1/me -H "Authorization: Bearer $TOKEN" -H "X-Loyalty-Key: $K"
refused "a bearer token with an X-Loyalty-Key beside it"
api "$TOKEN" GET /v1/me
is "$STATUS" 200 "control: the bearer token alone"
signed "$K" "$S" GET /v1/me
is "$STATUS" 200 "control: the key alone still works"

done_testing
