#!/bin/bash
# Members through the API: create, read, update and list them (filters by
# phone and external id, cursor pages); phone numbers as tills type them,
# stored in E.164 with the tenant's calling code; unique per tenant by
# external id and by phone; who may do what; the ledger, newest first, and
# manual adjustments with their Idempotency-Key; hostile input of every
# kind refused with the field named or stored verbatim; another tenant's
# member is exactly as missing as an id that does not exist.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=10000 limits.tenant_burst=10000

A=$(mk_tenant shop-a) && B=$(mk_tenant shop-b) || exit 1
for role in owner operator viewer; do
	mk_user shop-a "$role@a.example" "$role" "$role-a-password" >/dev/null || exit 1
done
mk_user shop-b owner@b.example owner 'owner-b-password' >/dev/null || exit 1
mk_key shop-a || exit 1
A_KEY=$KEY_ID A_SECRET=$KEY_SECRET
login owner@a.example owner-a-password
T_OWNER=$TOKEN
login operator@a.example operator-a-password
T_OP=$TOKEN
login viewer@a.example viewer-a-password
T_VIEW=$TOKEN
login owner@b.example owner-b-password
T_B=$TOKEN
[ -n "$T_OWNER" ] && [ -n "$T_OP" ] && [ -n "$T_VIEW" ] && [ -n "$T_B" ] ||
	{ fail "everyone logs in"; exit 1; }

# fields: the errors[].field of the last response, space-separated.
fields() {
	python3 -c 'import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    print("(not JSON)"); sys.exit()
print(" ".join(e["field"] for e in d.get("errors", [])))' "$BODY"
}
# obj NAME VALUE ...: a JSON object of string members (any bytes, escaped).
obj() {
	python3 -c 'import json, sys
print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"
}
# ids: the "id" of every item of the last list response, space-separated.
ids() {
	python3 -c 'import json, sys
print(" ".join(str(i["id"]) for i in json.loads(sys.argv[1])["items"]))' "$BODY" 2>/dev/null
}
count_rows() { psql_q "SELECT count(*) FROM $1"; }

# --- create and read --------------------------------------------------------------
api "$T_OP" POST /v1/members '{"external_id":"C-1001","phone":"0772 123 456",
	"name":"Tendai Moyo","tier":"gold","attributes":{"store":"harare-cbd"}}'
is "$STATUS" 201 "the operator creates a member: 201"
M1=$(jq_get "$BODY" id)
like "$M1" '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "it has a uuid"
is "$(jq_get "$BODY" phone)" "+263772123456" "'0772 123 456' is stored as +263772123456 (Zimbabwe by default)"
is "$(jq_get "$BODY" external_id) $(jq_get "$BODY" name) $(jq_get "$BODY" tier)" \
	"C-1001 Tendai Moyo gold" "external_id, name and tier as given"
is "$(jq_get "$BODY" attributes)" '{"store": "harare-cbd"}' "attributes as given"
is "$(jq_get "$BODY" status) $(jq_get "$BODY" balance) $(jq_get "$BODY" lifetime_points)" \
	"active 0 0" "a new member is active with no points"
is "$(psql_q "SELECT action || ' ' || actor_type || ' ' || (after->>'phone')
	FROM audit_log WHERE tenant_id = '$A' AND target_id = '$M1'")" \
	"member.create user +263772123456" "the creation is audited with the member as after"

api "$T_VIEW" GET "/v1/members/$M1"
is "$STATUS $(jq_get "$BODY" id) $(jq_get "$BODY" phone)" "200 $M1 +263772123456" "the viewer reads the member"

# The forms a till or a person types, one member each.
i=0
for form in "+263 772 123 457:+263772123457" "00263772123458:+263772123458" \
	"772123459:+263772123459" "(0772) 123-460:+263772123460" "+27 82 123 4567:+27821234567"; do
	i=$((i + 1))
	api "$T_OP" POST /v1/members "$(obj external_id "F-$i" phone "${form%%:*}")"
	is "$STATUS $(jq_get "$BODY" phone)" "201 ${form#*:}" "phone '${form%%:*}' is stored as ${form#*:}"
done

# --- refused on create ----------------------------------------------------------------
for bad in "0772-abc-456:may contain only" "12:too short" "+0772123456:country code" \
	"0772 (123 456:unclosed" "+263 772 123 456 789 012:too long"; do
	api "$T_OP" POST /v1/members "$(obj external_id "bad-phone" phone "${bad%%:*}")"
	is "$STATUS $(fields)" "422 phone" "phone '${bad%%:*}': 422 naming phone"
	like "$(jq_get "$BODY" errors.0.message)" "${bad#*:}" "... saying why (${bad#*:})"
done
api "$T_OP" POST /v1/members '{"name":"Nobody in particular"}'
is "$STATUS $(fields)" "422 external_id phone" "neither external_id nor phone: 422 naming both"
api "$T_OP" POST /v1/members '{"external_id":null,"phone":null,"name":"x"}'
is "$STATUS $(fields)" "422 external_id phone" "both null: 422 naming both"
api "$T_OP" POST /v1/members '{"external_id":"S-1","status":"deleted"}'
is "$STATUS $(fields)" "422 status" "status other than active or blocked: 422 naming status"
is "$(count_rows "members WHERE external_id IN ('bad-phone', 'S-1')")" 0 "nothing refused was stored"

# --- unique per tenant by external id and by phone --------------------------------------
api "$T_OP" POST /v1/members '{"external_id":"C-1001","phone":"0772000001"}'
is "$STATUS $(fields)" "409 external_id" "the same external_id again: 409 naming external_id"
api "$T_OP" POST /v1/members '{"external_id":"C-1002","phone":"+263 772 123 456"}'
is "$STATUS $(fields)" "409 phone" "the same phone in another form: 409 naming phone"
api "$T_B" POST /v1/members '{"external_id":"C-1001","phone":"0772123456"}'
is "$STATUS" 201 "another tenant may have the same external_id and phone"
B_M=$(jq_get "$BODY" id)

# --- blocked members, keys, viewers ---------------------------------------------------------
api "$T_OP" POST /v1/members '{"external_id":"C-BLOCKED","status":"blocked"}'
is "$STATUS $(jq_get "$BODY" status) $(jq_get "$BODY" phone)" "201 blocked null" \
	"a member created blocked, with an external_id only"
M_BLOCKED=$(jq_get "$BODY" id)
api "$T_VIEW" GET "/v1/members/$M_BLOCKED"
is "$STATUS $(jq_get "$BODY" status)" "200 blocked" "a blocked member can be read"
api "$T_VIEW" GET "/v1/members?external_id=C-BLOCKED"
is "$STATUS $(ids)" "200 $M_BLOCKED" "and is listed"

api "$T_VIEW" POST /v1/members '{"external_id":"V-1"}'
is "$STATUS" 403 "the viewer cannot create a member (403)"
api "$T_VIEW" PATCH "/v1/members/$M1" '{"name":"x"}'
is "$STATUS" 403 "nor change one (403)"
signed "$A_KEY" "$A_SECRET" POST /v1/members '{"external_id":"K-1","phone":"0712 345 678"}'
is "$STATUS $(jq_get "$BODY" phone)" "201 +263712345678" "a machine key (signed) creates a member"
M_KEY=$(jq_get "$BODY" id)
is "$(psql_q "SELECT actor_type || ' ' || actor_id FROM audit_log WHERE target_id = '$M_KEY'")" \
	"key $A_KEY" "... audited as the key"
signed "$A_KEY" "$A_SECRET" GET "/v1/members/$M_KEY"
is "$STATUS" 200 "and reads it"

# --- list: filters and pages ----------------------------------------------------------------
api "$T_VIEW" GET "/v1/members?phone=0772123456"
is "$STATUS $(ids)" "200 $M1" "?phone= in the national form finds the member"
api "$T_VIEW" GET "/v1/members?phone=%2B263%20772%20123%20456"
is "$STATUS $(ids)" "200 $M1" "?phone= in the international form (escaped) finds it too"
api "$T_VIEW" GET "/v1/members?phone=+263772123456"
is "$STATUS $(ids)" "200 $M1" "?phone= with its + unescaped (a space in form encoding) finds it too"
api "$T_VIEW" GET "/v1/members?phone=+263+772+123+456"
is "$STATUS $(ids)" "200 $M1" "... also with + for the spaces"
api "$T_VIEW" GET "/v1/members?external_id=C-1001"
is "$STATUS $(ids) $(jq_get "$BODY" next)" "200 $M1 null" "?external_id= finds exactly it, next null"
api "$T_VIEW" GET "/v1/members?external_id=C-1001&phone=0772123457"
is "$STATUS $(ids)" "200 " "both filters together: both must hold"
api "$T_VIEW" GET "/v1/members?external_id=nobody"
is "$STATUS $BODY" '200 {"items":[],"next":null}' "an unknown external_id: an empty page"
api "$T_VIEW" GET "/v1/members?phone=not-a-number"
is "$STATUS $(fields)" "400 phone" "?phone= that is no number: 400 naming phone"
for q in limit=0 limit=201 limit=100000000000 limit=-1 after=abc after=-1; do
	api "$T_VIEW" GET "/v1/members?$q"
	is "$STATUS $(fields)" "400 ${q%%=*}" "?$q: 400 naming ${q%%=*}"
done

want=$(psql_q "SELECT string_agg(id::text, ' ' ORDER BY seq) FROM members WHERE tenant_id = '$A'")
got='' pages=0 next=''
while :; do
	api "$T_VIEW" GET "/v1/members?limit=2${next:+&after=$next}"
	[ "$STATUS" = 200 ] || { fail "page $pages: 200" "$STATUS $BODY"; break; }
	n=$(ids)
	[ -z "$n" ] || got="${got:+$got }$n"
	cmp_num "$(printf '%s\n' $n | grep -c .)" -le 2 "page $pages holds at most 2 members"
	pages=$((pages + 1))
	next=$(jq_get "$BODY" next)
	[ "$next" != null ] && [ $pages -lt 20 ] || break
done
is "$got" "$want" "pages of 2 give every member of the tenant once, oldest first"
n=$(printf '%s\n' $want | grep -c .)
cmp_num "$n" -ge 7 "the tenant has members enough for several pages ($n)"
is "$pages" $(((n + 1) / 2)) "in $(((n + 1) / 2)) pages"
unlike "$got" "$B_M" "no member of B on A's pages"

# --- update ----------------------------------------------------------------------------------------
api "$T_OP" PATCH "/v1/members/$M1" '{"name":"Tendai M.","tier":null,"attributes":{"store":"bulawayo","lang":"sn"}}'
is "$STATUS $(jq_get "$BODY" name) $(jq_get "$BODY" tier)" "200 Tendai M. null" "PATCH changes the name, null clears the tier"
is "$(jq_get "$BODY" attributes.store) $(jq_get "$BODY" attributes.lang) $(jq_get "$BODY" phone)" \
	"bulawayo sn +263772123456" "attributes are replaced; the phone stays"
is "$(psql_q "SELECT (before->>'tier') || ' ' || coalesce(after->>'tier', 'null') || ' ' || (after->>'name')
	FROM audit_log WHERE action = 'member.update' AND target_id = '$M1'")" "gold null Tendai M." \
	"the change is audited with before and after"
api "$T_OP" PATCH "/v1/members/$M1" '{"phone":"0772 999 000","status":"blocked"}'
is "$STATUS $(jq_get "$BODY" phone) $(jq_get "$BODY" status)" "200 +263772999000 blocked" \
	"PATCH normalises a new phone and blocks"
api "$T_OP" PATCH "/v1/members/$M1" '{"status":"active","name":null}'
is "$STATUS $(jq_get "$BODY" status) $(jq_get "$BODY" name)" "200 active null" "and unblocks; null clears the name"
api "$T_OP" PATCH "/v1/members/$M1" '{"external_id":null}'
is "$STATUS $(jq_get "$BODY" external_id)" "200 null" "the external_id may go while a phone stays"
api "$T_OP" PATCH "/v1/members/$M1" '{"phone":null}'
is "$STATUS $(fields)" "422 phone" "then the phone may not (the member would have neither): 422"
api "$T_OP" PATCH "/v1/members/$M1" '{"phone":null,"external_id":"C-1001"}'
is "$STATUS $(jq_get "$BODY" external_id) $(jq_get "$BODY" phone)" "200 C-1001 null" \
	"swapping the phone for an external_id in one PATCH is fine"
api "$T_OP" PATCH "/v1/members/$M1" '{"phone":null,"external_id":null}'
is "$STATUS $(fields)" "422 external_id phone" "both null: 422 naming both"
api "$T_OP" PATCH "/v1/members/$M1" '{}'
is "$STATUS $(fields)" "422 body" "nothing to change: 422"
api "$T_OP" PATCH "/v1/members/$M1" '{"status":null}'
is "$STATUS $(fields)" "422 status" "status null: 422"
api "$T_OP" PATCH "/v1/members/$M1" '{"phone":"0772abc"}'
is "$STATUS $(fields)" "422 phone" "an invalid phone: 422 naming phone"
api "$T_OP" PATCH "/v1/members/$M1" '{"external_id":"F-1"}'
is "$STATUS $(fields)" "409 external_id" "PATCH to another member's external_id: 409 naming external_id"
api "$T_OP" PATCH "/v1/members/$M1" '{"phone":"+263772123457"}'
is "$STATUS $(fields)" "409 phone" "PATCH to another member's phone: 409 naming phone"
api "$T_VIEW" GET "/v1/members/$M1"
is "$(jq_get "$BODY" external_id) $(jq_get "$BODY" phone) $(jq_get "$BODY" status)" "C-1001 null active" \
	"the refused changes left the member as it was"

# --- the tenant's calling code -----------------------------------------------------------------
api "$T_OWNER" PATCH /v1/settings '{"calling_code":"27"}'
is "$STATUS $(jq_get "$BODY" calling_code)" "200 27" "the owner sets the calling code to 27"
api "$T_OP" POST /v1/members '{"external_id":"ZA-1","phone":"082 123 4568"}'
is "$STATUS $(jq_get "$BODY" phone)" "201 +27821234568" "now '082 123 4568' is +27821234568"
api "$T_VIEW" GET "/v1/members?phone=0821234567"
is "$STATUS $(jq_get "$BODY" items.0.external_id)" "200 F-5" "and ?phone= reads national numbers with it"
api "$T_OP" POST /v1/members '{"external_id":"ZW-1","phone":"+263 77 000 0001"}'
is "$STATUS $(jq_get "$BODY" phone)" "201 +263770000001" "an international number keeps its own code"
api "$T_OWNER" PATCH /v1/settings '{"calling_code":"263"}'
is "$STATUS" 200 "the calling code back to 263"

# --- hostile input ---------------------------------------------------------------------------------
api "$T_OP" POST /v1/members '{"external_id":"H-1","balance":1000000}'
is "$STATUS $(fields)" "422 balance" "balance in the body: 422 naming it"
for f in tenant_id id lifetime_points debt seq created_at enrolled_by; do
	api "$T_OP" POST /v1/members "{\"external_id\":\"H-1\",\"$f\":\"x\"}"
	is "$STATUS $(fields)" "422 $f" "$f in the body: 422 naming it"
done
api "$T_OP" PATCH "/v1/members/$M1" '{"balance":5}'
is "$STATUS $(fields)" "422 balance" "balance in a PATCH: 422 naming it"
for bad in '"external_id":123' '"phone":772123456' '"name":["x"]' '"tier":true' \
	'"attributes":"store"' '"attributes":["a"]' '"status":1'; do
	f=${bad%%\":*}
	f=${f#\"}
	if [ "$f" = external_id ]; then
		api "$T_OP" POST /v1/members "{$bad}"
	else
		api "$T_OP" POST /v1/members "{\"external_id\":\"H-2\",$bad}"
	fi
	is "$STATUS $(fields)" "400 $f" "{$bad}: 400 naming $f"
done
api "$T_OP" POST /v1/members '{"external_id":"H-3","attributes":{"store":5}}'
is "$STATUS $(fields)" "422 attributes.store" "an attribute that is no string: 422 naming it"
api "$T_OP" POST /v1/members '{"external_id":"H-3","attributes":{"bad key\"<>":"x"}}'
is "$STATUS $(fields)" "422 attributes" "an attribute key of odd characters: 422 naming attributes"
many=$(python3 -c 'import json; print(json.dumps({"external_id": "H-3",
	"attributes": {"k%d" % i: "v" for i in range(33)}}))')
api "$T_OP" POST /v1/members "$many"
is "$STATUS $(fields)" "422 attributes" "33 attributes: 422"
api "$T_OP" POST /v1/members "$(obj external_id "$(printf 'x%.0s' {1..101})")"
is "$STATUS $(fields)" "422 external_id" "an external_id of 101 bytes: 422"
api "$T_OP" POST /v1/members '{"external_id":""}'
is "$STATUS $(fields)" "422 external_id" "an empty external_id: 422"
api "$T_OP" POST /v1/members '["external_id"]'
is "$STATUS $(fields)" "400 body" "a body that is no object: 400"
api "$T_OP" POST /v1/members '{"external_id":"H-4"'
is "$STATUS" 400 "a body that is no JSON: 400"
is "$(count_rows "members WHERE external_id LIKE 'H-%'")" 0 "nothing of the hostile bodies was stored"

SQLI_EXT="x'); DROP TABLE members; --"
SQLI_NAME="Robert'); DELETE FROM ledger WHERE ('1'='1"
api "$T_OP" POST /v1/members "$(obj external_id "$SQLI_EXT" name "$SQLI_NAME" tier "' OR 1=1 --")"
is "$STATUS" 201 "SQL-injection strings are accepted as text"
M_SQL=$(jq_get "$BODY" id)
api "$T_VIEW" GET "/v1/members/$M_SQL"
is "$(jq_get "$BODY" external_id)|$(jq_get "$BODY" name)|$(jq_get "$BODY" tier)" \
	"$SQLI_EXT|$SQLI_NAME|' OR 1=1 --" "... and stored verbatim"
api "$T_VIEW" GET "/v1/members?external_id=$(python3 -c 'import sys, urllib.parse
print(urllib.parse.quote(sys.argv[1], safe=""))' "$SQLI_EXT")"
is "$STATUS $(ids)" "200 $M_SQL" "... and found by them verbatim"
cmp_num "$(count_rows members)" -ge 10 "the members table is still there"

# Another tenant's member, a uuid that exists nowhere and a malformed id:
# the same 404 (but for the request id) for each route that takes an id.
NO=$(uuid)
for route in "GET /v1/members/{id}" "PATCH /v1/members/{id} {\"name\":\"taken\"}" \
	"GET /v1/members/{id}/ledger" "POST /v1/members/{id}/adjustments {\"points\":5,\"reason\":\"x\"}"; do
	read -r method tmpl json <<<"$route"
	api "$T_OWNER" "$method" "${tmpl/\{id\}/$B_M}" ${json:+"$json"}
	s1=$STATUS b1=$(sans_rid "$BODY")
	api "$T_OWNER" "$method" "${tmpl/\{id\}/$NO}" ${json:+"$json"}
	s2=$STATUS b2=$(sans_rid "$BODY")
	api "$T_OWNER" "$method" "${tmpl/\{id\}/not-a-uuid}" ${json:+"$json"}
	s3=$STATUS b3=$(sans_rid "$BODY")
	is "$s1 $s2 $s3" "404 404 404" "$method $tmpl: 404 for B's member, a missing and a malformed id"
	is "$b1" "$b2" "$method $tmpl: B's member gets the body of a missing id"
	is "$b3" "$b2" "$method $tmpl: a malformed id gets it too"
done
api "$T_B" GET "/v1/members/$B_M"
is "$STATUS $(jq_get "$BODY" name)" "200 null" "B's member is there, unchanged"
is "$(count_rows "ledger WHERE tenant_id = '$B'")" 0 "and has no ledger entry from A"
api "$T_VIEW" GET "/v1/members?external_id=C-1001"
is "$(ids)" "$M1" "A's ?external_id= does not find B's member of the same external_id"

# --- adjustments and the ledger -------------------------------------------------------------------
adjust() { api "${3:-$T_OP}" POST "/v1/members/$1/adjustments" "$2"; }
adjust "$M_KEY" '{"points":100,"reason":"welcome bonus"}'
is "$STATUS $(jq_get "$BODY" kind) $(jq_get "$BODY" points) $(jq_get "$BODY" balance)" "201 adjust 100 100" \
	"+100: 201, an adjust entry, balance 100"
is "$(jq_get "$BODY" reason) $(jq_get "$BODY" member_id) $(jq_get "$BODY" actor.type)" \
	"welcome bonus $M_KEY user" "it says why, whose, and who"
E1=$(jq_get "$BODY" id)
adjust "$M_KEY" '{"points":-30,"reason":"correction"}'
is "$STATUS $(jq_get "$BODY" points) $(jq_get "$BODY" balance_after) $(jq_get "$BODY" balance)" "201 -30 70 70" \
	"-30: 201, balance 70"
E2=$(jq_get "$BODY" id)
adjust "$M_KEY" '{"points":-71,"reason":"too much"}'
is "$STATUS $(fields) $(jq_get "$BODY" balance)" "422 points 70" "-71 of 70: 422 naming points, with the balance"
like "$(jq_get "$BODY" detail)" "70" "... the detail says the balance"
for bad in '{"points":0,"reason":"zero"}:422 points' '{"points":1.5,"reason":"float"}:400 points' \
	'{"points":"10","reason":"string"}:400 points' '{"points":1000000001,"reason":"big"}:400 points' \
	'{"points":-1000000001,"reason":"big"}:400 points' '{"points":1e3,"reason":"exp"}:400 points' \
	'{"points":10}:422 reason' '{"points":10,"reason":""}:422 reason' \
	'{"points":10,"reason":5}:400 reason' '{"reason":"no points"}:422 points' \
	'{"points":10,"reason":"x","balance":0}:422 balance' '{"points":null,"reason":"x"}:422 points' \
	'{"points":99999999999999999999,"reason":"huge"}:400 points'; do
	adjust "$M_KEY" "${bad%:*}"
	is "$STATUS $(fields)" "${bad##*:}" "adjustment ${bad%:*}: ${bad##*:}"
done
adjust "$M_KEY" "$(python3 -c 'import json; print(json.dumps({"points": 1, "reason": "r" * 501}))')"
is "$STATUS $(fields)" "422 reason" "a reason of 501 bytes: 422"
adjust "$M_KEY" '{"points":5,"reason":"viewer"}' "$T_VIEW"
is "$STATUS" 403 "the viewer cannot adjust (403)"
adjust "$NO" '{"points":5,"reason":"nobody"}'
is "$STATUS" 404 "adjusting a missing member: 404"
is "$(psql_q "SELECT balance || ' ' || (SELECT sum(points) FROM ledger l WHERE l.tenant_id = m.tenant_id
	AND l.member_id = m.id) FROM members m WHERE id = '$M_KEY'")" "70 70" \
	"the balance is 70 and equals the sum of the ledger"
signed "$A_KEY" "$A_SECRET" POST "/v1/members/$M_KEY/adjustments" '{"points":1000000000,"reason":"till"}'
is "$STATUS $(jq_get "$BODY" actor.type) $(jq_get "$BODY" balance)" "201 key 1000000070" "a key adjusts 10^9 (the most)"
E3=$(jq_get "$BODY" id)
is "$(psql_q "SELECT count(*) FROM audit_log WHERE action = 'member.adjust' AND target_id = '$M_KEY'
	AND after->>'reason' IS NOT NULL")" 3 "each adjustment is audited with its entry as after"

api "$T_VIEW" GET "/v1/members/$M_KEY/ledger"
is "$STATUS $(ids) $(jq_get "$BODY" next)" "200 $E3 $E2 $E1 null" "the ledger, newest first"
api "$T_VIEW" GET "/v1/members/$M_KEY/ledger?limit=2"
is "$(ids) $(jq_get "$BODY" next)" "$E3 $E2 $E2" "limit=2: the two newest, next is the older's id"
api "$T_VIEW" GET "/v1/members/$M_KEY/ledger?limit=2&after=$E2"
is "$(ids) $(jq_get "$BODY" next)" "$E1 null" "after it: the oldest, and no next"
api "$T_VIEW" GET "/v1/members/$M1/ledger"
is "$STATUS $BODY" '200 {"items":[],"next":null}' "a member without entries: an empty ledger"
api "$T_VIEW" GET "/v1/members/$M_KEY/ledger?limit=500"
is "$STATUS $(fields)" "400 limit" "?limit=500 on the ledger: 400"

# --- Idempotency-Key -----------------------------------------------------------------------------
idem() { http POST "/v1/members/$1/adjustments" -H "Authorization: Bearer ${4:-$T_OP}" \
	-H 'Content-Type: application/json' -H "Idempotency-Key: $2" --data-binary "$3"; }
idem "$M1" key-0001 '{"points":5,"reason":"idem"}'
first="$STATUS $BODY"
is "$STATUS $(header Idempotent-Replayed)" "201 " "first with a key: 201, not replayed"
idem "$M1" key-0001 '{"points":5,"reason":"idem"}'
is "$STATUS $BODY" "$first" "the same key and body again: the same status and body"
is "$(header Idempotent-Replayed)" true "... with Idempotent-Replayed: true"
api "$T_VIEW" GET "/v1/members/$M1/ledger"
is "$(python3 -c 'import json, sys
print(len(json.loads(sys.argv[1])["items"]))' "$BODY")" 1 "... and ONE ledger entry"
api "$T_VIEW" GET "/v1/members/$M1"
is "$(jq_get "$BODY" balance)" 5 "the balance moved once"
idem "$M1" key-0001 '{"points":6,"reason":"idem"}'
is "$STATUS $(fields)" "422 Idempotency-Key" "the same key with another body: 422 naming it"
idem "$M1" key-0002 '{"points":5,"reason":"idem"}'
is "$STATUS $(header Idempotent-Replayed)" "201 " "a new key with the first body: a new adjustment"
idem "$B_M" key-0001 '{"points":5,"reason":"idem"}' "$T_B"
is "$STATUS $(header Idempotent-Replayed) $(jq_get "$BODY" member_id)" "201  $B_M" \
	"tenant B's key-0001 is its own: applied, not A's replayed"
idem "$M1" 'bad key' '{"points":5,"reason":"idem"}'
is "$STATUS $(fields)" "400 Idempotency-Key" "a key with a space: 400"
is "$(psql_q "SELECT count(*) FROM ledger WHERE tenant_id = '$A' AND member_id = '$M1'")" 2 \
	"A's member has exactly the two keyed entries"
is "$(psql_q "SELECT string_agg(balance::text || '=' || s::text, ' ') FROM (SELECT m.balance,
	(SELECT coalesce(sum(points), 0) FROM ledger l WHERE l.tenant_id = m.tenant_id
	 AND l.member_id = m.id) AS s FROM members m WHERE m.balance <> 0 ORDER BY m.seq) q")" \
	"10=10 5=5 1000000070=1000000070" "every balance equals the sum of its ledger"

done_testing
