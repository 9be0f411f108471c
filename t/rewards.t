#!/bin/bash
# Rewards, redemptions and vouchers. Admins keep rewards (cost, stock or
# unlimited, per-member limit, validity, active; a deleted one is gone
# from the API while its vouchers stay good). A redemption spends a
# member's points on a voucher whose code is 10 characters of Crockford
# base32; it is refused (422 naming the field) for too few points, no
# stock, the per-member limit, an inactive or deleted reward, a blocked
# member. 50 concurrent redemptions against a stock of 5 issue exactly 5
# (SPEC §3, invariant 4). A voucher is used once; one past its time is
# expired before the expiry run has seen it; cancelling gives the points
# back as a new lot and frees the stock. Idempotency-Key: a replay gets
# the same voucher, another body with the key a 422, concurrent twins one
# voucher. A code that is already taken is drawn again.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=10000 limits.tenant_burst=10000

A=$(mk_tenant shop-a) && B=$(mk_tenant shop-b) || exit 1
for role in viewer operator admin; do
	mk_user shop-a "$role@a.example" "$role" "$role-a-password" >/dev/null || exit 1
done
mk_user shop-b admin@b.example admin 'admin-b-password' >/dev/null || exit 1
mk_key shop-a || exit 1
KEY="key:$KEY_ID:$KEY_SECRET"
for role in viewer operator admin; do
	login "$role@a.example" "$role-a-password"
	declare "T_${role^^}=$TOKEN"
done
login admin@b.example admin-b-password
T_B=$TOKEN
CODE_RE='^[0-9A-HJKMNP-TV-Z]{10}$'

# app_sql TENANT SQL: SQL as the application role in TENANT's transaction,
# the way loyaltyd runs it (row-level security on).
app_sql() {
	printf "BEGIN;\nSET LOCAL ROLE loyalty;\nSET LOCAL loyalty.tenant_id = '%s';\n%s;\nCOMMIT;\n" \
		"$1" "$2" | stack_psql -At
}
# member TENANT EXTERNAL_ID POINTS: a new member with POINTS (through
# adjust(), the one way points are given by hand); prints its id.
member() {
	local id
	id=$(app_sql "$1" "INSERT INTO members (tenant_id, external_id) VALUES ('$1', '$2') RETURNING id")
	if [ "$3" -gt 0 ] && [ "$(app_sql "$1" "SELECT outcome FROM adjust('$id', $3, 'test points', 'user', 'test', NULL)")" != done ]; then
		fail "member $2 gets $3 points"
		return 1
	fi
	printf '%s\n' "$id"
}
balance() { psql_q "SELECT balance FROM members WHERE id = '$1'"; }
# sound MEMBER: its balance is the sum of its ledger, and its lots hold it.
sound() {
	psql_q "SELECT m.balance = (SELECT coalesce(sum(points), 0) FROM ledger l WHERE l.member_id = m.id)
		AND m.balance = (SELECT coalesce(sum(remaining), 0) FROM lots o WHERE o.member_id = m.id)
		FROM members m WHERE m.id = '$1'"
}
names_field() {
	[[ $BODY == *'"errors":['*'{"field":"'"$1"'",'* ]]
}
# refused WANT FIELD DESC: the last response is a WANT problem naming FIELD.
refused() {
	if [ "$(status_type)" = "$1 application/problem+json" ] && names_field "$2"; then
		pass "$3: $1 naming $2"
	else
		fail "$3: $1 naming $2" "got $STATUS: $BODY"
	fi
}
# reward JSON: a new reward of A, by its admin; prints its id.
reward() {
	api "$T_ADMIN" POST /v1/rewards "$1"
	[ "$STATUS" = 201 ] || { fail "reward $1 is created" "$STATUS $BODY"; return 1; }
	jq_get "$BODY" id
}
# redeem TOKEN MEMBER REWARD [curl args]: a redemption as a bearer.
redeem() {
	local token=$1 m=$2 w=$3
	shift 3
	http POST "/v1/members/$m/redemptions" -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' --data-binary "{\"reward_id\":\"$w\"}" "$@"
}
# redeem_bg OUT TOKEN MEMBER REWARD [curl args]: the same in the background,
# status in OUT.status and body in OUT.body; its pid added to BG (a bare
# wait would wait for the stack's own processes too).
BG=()
redeem_bg() {
	local out=$1 token=$2 m=$3 w=$4
	shift 4
	stack_curl -s -o "$out.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' --data-binary "{\"reward_id\":\"$w\"}" "$@" \
		"$(stack_url "/v1/members/$m/redemptions")" >"$out.status" &
	BG+=($!)
}
vouchers_of() { psql_q "SELECT count(*) FROM vouchers WHERE member_id = '$1'"; }

# --- rewards: create, read, list -------------------------------------------------
api "$T_ADMIN" POST /v1/rewards '{"name":"Free coffee","description":"Any size","cost":100,"stock":10,"per_member_limit":2,"validity_days":7,"active":true}'
is "$STATUS" 201 "the admin creates a reward: 201"
COFFEE=$(jq_get "$BODY" id)
is "$(jq_get "$BODY" name)|$(jq_get "$BODY" description)|$(jq_get "$BODY" cost)|$(jq_get "$BODY" stock)|$(jq_get "$BODY" issued)|$(jq_get "$BODY" available)|$(jq_get "$BODY" per_member_limit)|$(jq_get "$BODY" validity_days)|$(jq_get "$BODY" active)" \
	"Free coffee|Any size|100|10|0|10|2|7|true" "every field as given; none issued, all available"
created=$BODY
api "$T_ADMIN" POST /v1/rewards '{"name":"Muffin","cost":50}'
MUFFIN=$(jq_get "$BODY" id)
is "$STATUS $(jq_get "$BODY" stock) $(jq_get "$BODY" available) $(jq_get "$BODY" per_member_limit) $(jq_get "$BODY" validity_days) $(jq_get "$BODY" active) $(jq_get "$BODY" description)" \
	"201 null null null 30 true null" "the defaults: unlimited stock, no limit, 30 days, active"
is "$(psql_q "SELECT count(*) FROM audit_log WHERE tenant_id = '$A' AND action = 'reward.create'
	AND target_id IN ('$COFFEE', '$MUFFIN')")" 2 "each creation is audited"
api "$T_VIEWER" GET "/v1/rewards/$COFFEE"
is "$STATUS $BODY" "200 $created" "the viewer reads it: the body of the creation"
as_who "$KEY" GET "/v1/rewards/$MUFFIN"
is "$STATUS $(jq_get "$BODY" name)" "200 Muffin" "a key reads a reward"
api "$T_VIEWER" GET '/v1/rewards?limit=1'
is "$STATUS $(jq_get "$BODY" items.0.name)" "200 Free coffee" "the list, oldest first"
api "$T_VIEWER" GET "/v1/rewards?limit=1&after=$(jq_get "$BODY" next)"
is "$(jq_get "$BODY" items.0.name) $(jq_get "$BODY" next)" "Muffin null" "its next page"
api "$T_VIEWER" GET '/v1/rewards?limit=201'
refused 400 limit "a ?limit= above 200"

# --- rewards: change ----------------------------------------------------------------
api "$T_ADMIN" PATCH "/v1/rewards/$MUFFIN" '{"cost":60,"validity_days":14,"stock":3,"description":"Blueberry"}'
is "$STATUS $(jq_get "$BODY" cost) $(jq_get "$BODY" validity_days) $(jq_get "$BODY" stock) $(jq_get "$BODY" available) $(jq_get "$BODY" description) $(jq_get "$BODY" name)" \
	"200 60 14 3 3 Blueberry Muffin" "PATCH changes what it names and nothing else"
api "$T_ADMIN" PATCH "/v1/rewards/$MUFFIN" '{"stock":null,"description":null}'
is "$STATUS $(jq_get "$BODY" stock) $(jq_get "$BODY" description) $(jq_get "$BODY" cost)" "200 null null 60" \
	"PATCH with null: unlimited stock, no description"
is "$(psql_q "SELECT before->>'stock' || ' -> ' || coalesce(after->>'stock', 'null') FROM audit_log
	WHERE target_id = '$MUFFIN' AND action = 'reward.update' ORDER BY id DESC LIMIT 1")" "3 -> null" \
	"each change is audited with before and after"
for f in name cost validity_days active; do
	api "$T_ADMIN" PATCH "/v1/rewards/$MUFFIN" "{\"$f\":null}"
	refused 422 "$f" "PATCH $f to null"
done
api "$T_ADMIN" PATCH "/v1/rewards/$MUFFIN" '{}'
refused 422 body "PATCH with nothing to change"

# --- rewards: roles, hostile input -------------------------------------------------------
declare -A WHO=([viewer]="bearer:$T_VIEWER" [operator]="bearer:$T_OPERATOR" [key]="$KEY")
for name in viewer operator key; do
	as_who "${WHO[$name]}" POST /v1/rewards '{"name":"x","cost":1}'
	s1=$STATUS
	as_who "${WHO[$name]}" PATCH "/v1/rewards/$MUFFIN" '{"cost":1}'
	s2=$STATUS
	as_who "${WHO[$name]}" DELETE "/v1/rewards/$MUFFIN"
	is "$s1 $s2 $STATUS" "403 403 403" "the $name may not POST, PATCH or DELETE rewards"
done
digest() { psql_q "SELECT count(*) || md5(string_agg(w::text, '|' ORDER BY seq)) FROM rewards w"; }
before=$(digest)
while IFS='|' read -r want field body; do
	api "$T_ADMIN" POST /v1/rewards "$body"
	refused "$want" "$field" "POST $body"
done <<'EOF'
400|cost|{"name":"x","cost":1.5}
400|cost|{"name":"x","cost":"100"}
400|cost|{"name":"x","cost":-1}
400|cost|{"name":"x","cost":0}
400|cost|{"name":"x","cost":1000000000001}
400|cost|{"name":"x","cost":1000000001}
422|cost|{"name":"x","cost":null,"stock":1}
422|cost|{"name":"x"}
400|stock|{"name":"x","cost":1,"stock":-1}
400|stock|{"name":"x","cost":1,"stock":2.5}
400|stock|{"name":"x","cost":1,"stock":"5"}
400|stock|{"name":"x","cost":1,"stock":1000000001}
400|per_member_limit|{"name":"x","cost":1,"per_member_limit":0}
400|validity_days|{"name":"x","cost":1,"validity_days":0}
400|validity_days|{"name":"x","cost":1,"validity_days":3651}
400|active|{"name":"x","cost":1,"active":"yes"}
422|name|{"cost":1}
422|name|{"name":"","cost":1}
422|issued|{"name":"x","cost":1,"issued":0}
422|tenant_id|{"name":"x","cost":1,"tenant_id":"00000000-0000-0000-0000-000000000000"}
422|deleted_at|{"name":"x","cost":1,"deleted_at":null}
EOF
api "$T_ADMIN" POST /v1/rewards "{\"name\":\"x\",\"cost\":1,\"description\":\"$(printf 'd%.0s' {1..1001})\"}"
refused 422 description "POST a description of 1001 characters"
api "$T_ADMIN" PATCH "/v1/rewards/$MUFFIN" '{"cost":0}'
refused 400 cost "PATCH cost 0"
api "$T_ADMIN" PATCH "/v1/rewards/$MUFFIN" '{"issued":0}'
refused 422 issued "PATCH issued"
is "$(digest)" "$before" "no hostile request changed a reward"

# --- redemptions -----------------------------------------------------------------------
M1=$(member "$A" m1 250) && M2=$(member "$A" m2 50) || exit 1
redeem "$T_OPERATOR" "$M1" "$COFFEE"
is "$STATUS" 201 "the operator redeems 100 of a member's 250 points: 201"
V1=$(jq_get "$BODY" code)
like "$V1" "$CODE_RE" "the voucher's code is 10 characters of Crockford base32"
is "$(jq_get "$BODY" status) $(jq_get "$BODY" points) $(jq_get "$BODY" balance) $(jq_get "$BODY" member_id) $(jq_get "$BODY" reward_id)" \
	"issued 100 150 $M1 $COFFEE" "the voucher: issued, 100 points, the balance left, member and reward"
is "$(psql_q "SELECT expires_at - created_at FROM vouchers WHERE code = '$V1'")" "7 days" \
	"it expires after the reward's validity"
is "$(psql_q "SELECT kind || ' ' || points FROM ledger WHERE voucher_code = '$V1'")" "redeem -100" \
	"the ledger has the redemption"
is "$(sound "$M1") $(balance "$M1")" "t 150" "the balance is the ledger's sum and the lots' (150)"
is "$(psql_q "SELECT count(*) FROM audit_log WHERE action = 'voucher.issue' AND target_id = '$V1'")" 1 \
	"the issue is audited"
as_who "$KEY" POST "/v1/members/$M1/redemptions" "{\"reward_id\":\"$COFFEE\"}"
is "$STATUS $(jq_get "$BODY" balance)" "201 50" "a key redeems too"
V2=$(jq_get "$BODY" code)
isnt "$V2" "$V1" "each voucher has its own code"
api "$T_ADMIN" GET "/v1/rewards/$COFFEE"
is "$(jq_get "$BODY" issued) $(jq_get "$BODY" available)" "2 8" "the reward counts what it issued"

M3=$(member "$A" m3 1000) || exit 1
redeem "$T_OPERATOR" "$M3" "$COFFEE"
redeem "$T_OPERATOR" "$M3" "$COFFEE"
is "$STATUS" 201 "a member redeems up to the per-member limit (2)"
redeem "$T_OPERATOR" "$M3" "$COFFEE"
refused 422 reward_id "a third voucher of the reward for the member (over_limit)"
like "$BODY" 'may have \(2\)' "the refusal says the limit"
redeem "$T_OPERATOR" "$M2" "$COFFEE"
refused 422 reward_id "a member with 50 points redeeming a reward of 100 (insufficient)"
like "$BODY" 'costs 100 points and the member.s balance is 50' "the refusal says cost and balance"
is "$(balance "$M2") $(vouchers_of "$M2")" "50 0" "nothing was spent, nothing issued"

api "$T_ADMIN" PATCH "/v1/rewards/$MUFFIN" '{"active":false}'
is "$STATUS $(jq_get "$BODY" active)" "200 false" "the admin deactivates a reward"
redeem "$T_OPERATOR" "$M3" "$MUFFIN"
refused 422 reward_id "redeeming an inactive reward"
like "$BODY" 'not active' "the refusal says why"
api "$T_ADMIN" PATCH "/v1/rewards/$MUFFIN" '{"active":true}'
redeem "$T_OPERATOR" "$M3" "$MUFFIN"
is "$STATUS" 201 "active again, it redeems"
VM=$(jq_get "$BODY" code)

ONE=$(reward '{"name":"Last scarf","cost":10,"stock":1}') || exit 1
redeem "$T_OPERATOR" "$M3" "$ONE"
is "$STATUS" 201 "the one scarf is redeemed"
redeem "$T_OPERATOR" "$M3" "$ONE"
refused 422 reward_id "then it is out of stock"
like "$BODY" 'out of stock' "the refusal says so"
api "$T_ADMIN" PATCH "/v1/rewards/$COFFEE" '{"stock":3}'
refused 422 stock "PATCH a stock below the 4 issued"
like "$BODY" 'already issued \(4\)' "the refusal says how many are issued"
api "$T_ADMIN" PATCH "/v1/rewards/$COFFEE" '{"stock":4}'
is "$STATUS $(jq_get "$BODY" available)" "200 0" "a stock equal to what is issued is taken"

psql_q "UPDATE members SET status = 'blocked' WHERE id = '$M2'" >/dev/null
app_sql "$A" "SELECT outcome FROM adjust('$M2', 1000, 'test points', 'user', 'test', NULL)" >/dev/null
redeem "$T_OPERATOR" "$M2" "$MUFFIN"
refused 422 member "a blocked member redeeming"
is "$(vouchers_of "$M2")" 0 "the blocked member got no voucher"

# --- redemptions: ids and bodies that do not fit --------------------------------------
redeem "$T_OPERATOR" "$(uuid)" "$MUFFIN"
missing=$(sans_rid "$BODY")
is "$STATUS" 404 "a member that does not exist: 404"
redeem "$T_OPERATOR" not-a-member "$MUFFIN"
is "$STATUS $(sans_rid "$BODY")" "404 $missing" "a member id that is no uuid: the same 404"
redeem "$T_OPERATOR" "$M3" "$(uuid)"
refused 422 reward_id "a reward that does not exist"
like "$BODY" 'no such reward' "it says no such reward"
redeem "$T_OPERATOR" "$M3" "${MUFFIN^^}"
is "$STATUS" 201 "a reward id in capitals is the same id"
redeem "$T_OPERATOR" "$M3" "muffin"
refused 422 reward_id "a reward_id that is no uuid"
for body in '{}' '{"reward_id":7}' "{\"reward_id\":\"$MUFFIN\",\"points\":1}" "{\"reward_id\":\"$MUFFIN\",\"member_id\":\"$M1\"}" '[]'; do
	api "$T_OPERATOR" POST "/v1/members/$M3/redemptions" "$body"
	like "$STATUS $(header Content-Type)" '^4[0-9][0-9] application/problem\+json' "redemption body $body: 4xx problem"
done
api "$T_VIEWER" POST "/v1/members/$M3/redemptions" "{\"reward_id\":\"$MUFFIN\"}"
is "$STATUS" 403 "a viewer may not redeem"

# --- 50 concurrent redemptions against a stock of 5 --------------------------------
FIVE=$(reward '{"name":"Concert ticket","cost":10,"stock":5}') || exit 1
members=()
for i in $(seq 1 10); do
	members+=("$(member "$A" "crowd-$i" 100)") || exit 1
done
for i in $(seq 0 49); do
	redeem_bg "$HARNESS_DIR/c$i" "$T_OPERATOR" "${members[i % 10]}" "$FIVE"
done
wait "${BG[@]}"
BG=()
statuses=$(cat "$HARNESS_DIR"/c*.status | fold -w3 | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
is "$statuses" "201x5 422x45 " "50 concurrent redemptions of a stock of 5: exactly 5 x 201, 45 x 422"
is "$(psql_q "SELECT count(*) || ' ' || (SELECT issued FROM rewards WHERE id = '$FIVE') FROM vouchers WHERE reward_id = '$FIVE'")" \
	"5 5" "5 vouchers, and the reward says 5 issued"
is "$(cat "$HARNESS_DIR"/c*.body | grep -c 'out of stock')" 45 "each refusal says out of stock"
is "$(psql_q "SELECT sum(balance) FROM members WHERE external_id LIKE 'crowd-%'")" 950 \
	"the crowd spent exactly 5 x 10 points"
bad=0
for m in "${members[@]}"; do [ "$(sound "$m")" = t ] || bad=$((bad + 1)); done
is "$bad" 0 "every member of the crowd: balance = ledger = lots"

# --- vouchers ---------------------------------------------------------------------------
api "$T_OPERATOR" GET "/v1/vouchers/$V1"
is "$STATUS $(jq_get "$BODY" code) $(jq_get "$BODY" status)" "200 $V1 issued" "the operator reads a voucher"
lower=$(printf '%s' "$V1" | tr 'A-Z' 'a-z')
api "$T_OPERATOR" GET "/v1/vouchers/${lower:0:5}-${lower:5}"
is "$STATUS $(jq_get "$BODY" code)" "200 $V1" "in lower case with a hyphen after the fifth character"
api "$T_VIEWER" GET "/v1/vouchers/$V1"
is "$STATUS" 403 "a viewer may not read vouchers"
# A code with the characters people mistype: 0 and 1.
psql_q "INSERT INTO vouchers (tenant_id, code, reward_id, member_id, points, expires_at)
	VALUES ('$A', '01ABC0DE1F', '$MUFFIN', '$M3', 1, now() + interval '1 day')" >/dev/null
api "$T_OPERATOR" GET /v1/vouchers/oLabc-OdeIf
is "$STATUS $(jq_get "$BODY" code)" "200 01ABC0DE1F" "O reads as 0, I and L as 1 (Crockford)"
api "$T_OPERATOR" GET /v1/vouchers/ZZZZZZZZZZ
unknown=$(sans_rid "$BODY")
is "$STATUS" 404 "an unknown code: 404"
for bad in U1ABC0DE1F 01ABC0DE1 01ABC0DE1FF 01AB-C0DE1F 01ABC-0DE-1F "01ABC0DE1%20" "01ABC%2D%2D0DE1F"; do
	api "$T_OPERATOR" GET "/v1/vouchers/$bad"
	is "$STATUS $(sans_rid "$BODY")" "404 $unknown" "GET /v1/vouchers/$bad: the 404 of an unknown code"
done
api "$T_OPERATOR" GET /v1/vouchers/01ABC%2D0DE1F
is "$STATUS $(jq_get "$BODY" code)" "200 01ABC0DE1F" "a hyphen sent percent-encoded is a hyphen (paths are decoded)"

api "$T_OPERATOR" POST "/v1/vouchers/$V1/use" '{"note":"table 4"}'
refused 422 note "use with a field it does not take"
api "$T_OPERATOR" POST "/v1/vouchers/$lower/use" '{}'
is "$STATUS $(jq_get "$BODY" status)" "200 used" "the operator uses a voucher: 200, used"
like "$(jq_get "$BODY" used_at)" '^[0-9]{4}-.*Z$' "it says when"
api "$T_OPERATOR" POST "/v1/vouchers/$V1/use" '{}'
is "$(status_type)" "409 application/problem+json" "using it again: 409"
like "$BODY" 'already used' "it says already used"
is "$(psql_q "SELECT count(*) FROM audit_log WHERE action = 'voucher.use' AND target_id = '$V1'")" 1 \
	"the use is audited once"
api "$T_OPERATOR" POST "/v1/vouchers/$V1/cancel" '{}'
is "$STATUS" 409 "a used voucher cannot be cancelled: 409"
is "$(balance "$M1")" 50 "and the member got nothing back"

# Expired by its time, before any expiry run.
psql_q "UPDATE vouchers SET expires_at = now() - interval '1 second' WHERE code = '01ABC0DE1F'" >/dev/null
api "$T_OPERATOR" GET /v1/vouchers/01ABC0DE1F
is "$(jq_get "$BODY" status)" expired "GET shows a voucher past its time as expired"
api "$T_OPERATOR" POST /v1/vouchers/01ABC0DE1F/use '{}'
is "$STATUS" 409 "using it: 409"
like "$BODY" 'expired' "it says expired"
api "$T_OPERATOR" POST /v1/vouchers/01ABC0DE1F/cancel '{}'
is "$STATUS" 409 "cancelling it: 409"

# Cancel: the points come back as a new lot, the stock is free again.
lots=$(psql_q "SELECT count(*) FROM lots WHERE member_id = '$M1'")
api "$T_OPERATOR" POST "/v1/vouchers/$V2/cancel" '{}'
is "$STATUS $(jq_get "$BODY" status) $(jq_get "$BODY" balance)" "200 cancelled 150" \
	"cancelling a voucher: 200, cancelled, the 100 points back (50 -> 150)"
is "$(psql_q "SELECT kind || ' ' || points FROM ledger WHERE voucher_code = '$V2' ORDER BY id")" \
	"redeem -100
refund 100" "the ledger has the redemption and its refund"
is "$(psql_q "SELECT count(*) FROM lots WHERE member_id = '$M1'")" $((lots + 1)) "the refund is a new lot"
is "$(sound "$M1")" t "balance = ledger = lots"
api "$T_ADMIN" GET "/v1/rewards/$COFFEE"
is "$(jq_get "$BODY" issued) $(jq_get "$BODY" available)" "3 1" "the reward's stock is free again"
api "$T_OPERATOR" POST "/v1/vouchers/$V2/cancel" '{}'
like "$STATUS $BODY" '^409 .*cancelled' "cancelling it again: 409, cancelled"
api "$T_OPERATOR" POST "/v1/vouchers/$V2/use" '{}'
is "$STATUS" 409 "using a cancelled voucher: 409"
is "$(psql_q "SELECT count(*) FROM audit_log WHERE action = 'voucher.cancel' AND target_id = '$V2'")" 1 \
	"the cancel is audited once"
redeem "$T_OPERATOR" "$M1" "$COFFEE"
is "$STATUS" 201 "the member redeems again: a cancelled voucher counts against neither stock nor limit"
api "$T_OPERATOR" POST /v1/vouchers/ZZZZZZZZZZ/cancel '{}'
is "$STATUS $(sans_rid "$BODY")" "404 $unknown" "cancelling an unknown code: 404"

# --- deleted rewards ---------------------------------------------------------------------
api "$T_ADMIN" DELETE "/v1/rewards/$MUFFIN"
is "$STATUS" 204 "the admin deletes a reward: 204"
api "$T_ADMIN" GET "/v1/rewards/$MUFFIN"
is "$STATUS" 404 "then GET is 404"
api "$T_ADMIN" DELETE "/v1/rewards/$MUFFIN"
is "$STATUS" 404 "and DELETE again is 404"
api "$T_ADMIN" PATCH "/v1/rewards/$MUFFIN" '{"active":true}'
is "$STATUS" 404 "and PATCH is 404"
api "$T_VIEWER" GET '/v1/rewards?limit=200'
unlike "$BODY" "$MUFFIN" "the list does not show it"
like "$BODY" "$COFFEE" "(the list shows the others)"
redeem "$T_OPERATOR" "$M3" "$MUFFIN"
refused 422 reward_id "redeeming a deleted reward"
like "$BODY" 'no such reward' "it is no reward any more"
is "$(psql_q "SELECT count(*) FROM audit_log WHERE action = 'reward.delete' AND target_id = '$MUFFIN'
	AND before->>'name' = 'Muffin'")" 1 "the deletion is audited with what was deleted"
api "$T_OPERATOR" POST "/v1/vouchers/$VM/use" '{}'
is "$STATUS $(jq_get "$BODY" status)" "200 used" "a voucher issued before the deletion is still good"

# --- Idempotency-Key ------------------------------------------------------------------
M4=$(member "$A" m4 1000) || exit 1
KEYS=$(reward '{"name":"Key ring","cost":10}') || exit 1
redeem "$T_OPERATOR" "$M4" "$KEYS" -H 'Idempotency-Key: till-7-r-0001'
first=$BODY
is "$STATUS" 201 "a redemption with an Idempotency-Key: 201"
redeem "$T_OPERATOR" "$M4" "$KEYS" -H 'Idempotency-Key: till-7-r-0001'
is "$STATUS $(header Idempotent-Replayed)" "201 true" "the same again: replayed"
is "$BODY" "$first" "the same body: the same voucher code"
is "$(vouchers_of "$M4") $(balance "$M4")" "1 990" "one voucher, points spent once"
redeem "$T_OPERATOR" "$M4" "$COFFEE" -H 'Idempotency-Key: till-7-r-0001'
refused 422 Idempotency-Key "the key with another body"
redeem "$T_OPERATOR" "$M4" "$KEYS" -H "Idempotency-Key: $(printf 'k%.0s' {1..201})"
refused 400 Idempotency-Key "a key of 201 characters"
redeem "$T_OPERATOR" "$M4" "$KEYS" -H 'Idempotency-Key: two words'
refused 400 Idempotency-Key "a key with a space"
# B's key of the same name is B's own.
MB=$(member "$B" mb 100) || exit 1
api "$T_B" POST /v1/rewards '{"name":"B pen","cost":10}'
B_REWARD=$(jq_get "$BODY" id)
redeem "$T_B" "$MB" "$B_REWARD" -H 'Idempotency-Key: till-7-r-0001'
is "$STATUS $(header Idempotent-Replayed)" "201 " "another tenant's same key is its own: 201, no replay"
B_CODE=$(jq_get "$BODY" code)
# Concurrent twins: one voucher; each answer is it, or a 409 while in flight.
before=$(vouchers_of "$M4")
for i in $(seq 0 9); do
	redeem_bg "$HARNESS_DIR/k$i" "$T_OPERATOR" "$M4" "$KEYS" -H 'Idempotency-Key: twins-0001'
done
wait "${BG[@]}"
BG=()
is "$(vouchers_of "$M4")" $((before + 1)) "10 concurrent requests with one key: one voucher"
codes=$(for i in $(seq 0 9); do
	[ "$(cat "$HARNESS_DIR/k$i.status")" = 201 ] && jq_get "$(cat "$HARNESS_DIR/k$i.body")" code
done | sort -u)
is "$(printf '%s\n' "$codes" | grep -cE "$CODE_RE")" 1 "every 201 among them carries that one code"
others=$(cat "$HARNESS_DIR"/k?.status | fold -w3 | grep -vc '^201$\|^409$')
is "$others" 0 "the rest are 409 (in flight)"

# --- another tenant's ids ---------------------------------------------------------------
# same_404 METHOD B_PATH MISSING_PATH [JSON]: as A's admin, one 404 for both.
same_404() {
	local s1 b1
	api "$T_ADMIN" "$1" "$2" ${4:+"$4"}
	s1=$STATUS b1=$(sans_rid "$BODY")
	api "$T_ADMIN" "$1" "$3" ${4:+"$4"}
	is "$s1 $b1" "404 $(sans_rid "$BODY")" "$1 ${3%/*}/… of B: the 404 of a missing one"
}
same_404 GET "/v1/rewards/$B_REWARD" "/v1/rewards/$(uuid)"
same_404 PATCH "/v1/rewards/$B_REWARD" "/v1/rewards/$(uuid)" '{"cost":1}'
same_404 DELETE "/v1/rewards/$B_REWARD" "/v1/rewards/$(uuid)"
same_404 GET "/v1/vouchers/$B_CODE" /v1/vouchers/ZZZZZZZZZZ
same_404 POST "/v1/vouchers/$B_CODE/use" /v1/vouchers/ZZZZZZZZZZ/use '{}'
same_404 POST "/v1/vouchers/$B_CODE/cancel" /v1/vouchers/ZZZZZZZZZZ/cancel '{}'
same_404 POST "/v1/members/$MB/redemptions" "/v1/members/$(uuid)/redemptions" "{\"reward_id\":\"$KEYS\"}"
redeem "$T_OPERATOR" "$M4" "$B_REWARD"
b1=$(sans_rid "$BODY")
redeem "$T_OPERATOR" "$M4" "$(uuid)"
is "$(sans_rid "$BODY")" "$b1" "A's member and B's reward: the 422 of a missing reward"
is "$(psql_q "SELECT status FROM vouchers WHERE code = '$B_CODE'") $(psql_q "SELECT cost || ' ' || issued FROM rewards WHERE id = '$B_REWARD'") $(balance "$MB")" \
	"issued 10 1 90" "nothing of B changed"

# --- a code already taken is drawn again ----------------------------------------------
# A trigger makes the next inserts of a voucher fail as a taken code would
# (23505 on vouchers_pkey); a sequence counts them, untouched by rollbacks.
stack_psql >/dev/null <<'EOF'
CREATE SEQUENCE collide_n;
CREATE FUNCTION collide() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	IF nextval('collide_n') <= 3 THEN
		RAISE EXCEPTION 'duplicate key value violates unique constraint "vouchers_pkey"'
		    USING ERRCODE = 'unique_violation', CONSTRAINT = 'vouchers_pkey';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER collide BEFORE INSERT ON vouchers FOR EACH ROW EXECUTE FUNCTION collide();
SELECT setval('collide_n', 1);
EOF
redeem "$T_OPERATOR" "$M4" "$KEYS"
is "$STATUS" 201 "two taken codes in a row: the third draw issues the voucher"
is "$(psql_q "SELECT last_value FROM collide_n")" 4 "(three draws were made)"
code=$(jq_get "$BODY" code)
is "$(psql_q "SELECT count(*) FROM ledger WHERE member_id = '$M4' AND kind = 'redeem' AND voucher_code = '$code'")" 1 \
	"one redemption in the ledger: the failed draws left nothing"
is "$(sound "$M4")" t "balance = ledger = lots"
bal=$(balance "$M4") n=$(vouchers_of "$M4")
psql_q "SELECT setval('collide_n', 1, false)" >/dev/null
redeem "$T_OPERATOR" "$M4" "$KEYS"
is "$(status_type)" "500 application/problem+json" "three taken codes in a row: an internal error"
is "$(balance "$M4") $(vouchers_of "$M4")" "$bal $n" "and nothing was spent or issued"
psql_q "DROP TRIGGER collide ON vouchers" >/dev/null

done_testing
