#!/bin/bash
# POST /v1/events, GET /v1/events/{event_id} and POST .../reversal from
# outside (issue 5 items 2 and 3, SPEC §4 "Recording an event"): the 201
# body exactly; replays byte for byte with Idempotent-Replayed; 409 for the
# same id with another body; 50 concurrent identical requests processed
# once; signed requests; hostile amounts, currencies, times, members and
# fields refused naming the field, with nothing written; injection strings
# stored verbatim; another tenant's event the same 404 as a missing one;
# reversals whole, partial (in proportion, adding up to the whole exactly),
# under both policies for points already spent, giving budget use back,
# with Idempotency-Key; and balance = sum(ledger) for every member at the
# end.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
# Rate limits are not under test here; 50 concurrent requests must pass.
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000 \
	LOYALTY_NGINX_CONN_LIMIT=300
harness_up limits.tenant_rate=1000 limits.tenant_burst=2000

A=$(mk_tenant shop-a) && B=$(mk_tenant shop-b) || exit 1
mk_user shop-a owner@a.example owner 'owner-a-password' >/dev/null || exit 1
mk_user shop-a clerk@a.example viewer 'clerk-a-password' >/dev/null || exit 1
mk_user shop-b owner@b.example owner 'owner-b-password' >/dev/null || exit 1
mk_key shop-a || exit 1
login owner@a.example owner-a-password
T=$TOKEN
login clerk@a.example clerk-a-password
T_VIEWER=$TOKEN
login owner@b.example owner-b-password
T_B=$TOKEN
[ -n "$T" ] && [ -n "$T_VIEWER" ] && [ -n "$T_B" ] || { fail "logins"; exit 1; }

# pj JSON EXPR: a Python expression over the document d, printed as JSON
# for lists and objects, lower-case for booleans, "null" for None.
pj() {
	python3 -c 'import json, sys
try:
    d = json.loads(sys.argv[1])
    r = eval(sys.argv[2])
except Exception as e:
    print("<%s>" % e); sys.exit()
print(json.dumps(r, sort_keys=True) if isinstance(r, (dict, list)) else
      "null" if r is None else str(r).lower() if isinstance(r, bool) else r)' "$1" "$2"
}
# jv NAME [JSON]: the first value of member NAME in JSON (default $BODY): a
# number, true, false, null or a string without escapes, as it is written.
# Enough for the flat bodies here, and no Python to start for each.
jv() {
	local re='"'"$1"'"[[:space:]]*:[[:space:]]*("([^"\\]*)"|-?[0-9]+|true|false|null)'
	[[ ${2-$BODY} =~ $re ]] || return 0
	if [[ ${BASH_REMATCH[1]} == \"* ]]; then
		printf '%s\n' "${BASH_REMATCH[2]}"
	else
		printf '%s\n' "${BASH_REMATCH[1]}"
	fi
}
# errs: the fields the last response names in errors[], space separated.
errs() { grep -o '"field":"[^"]*"' <<<"$BODY" | cut -d'"' -f4 | paste -sd' '; }
# refused DESC FIELD [STATUS]: the last response is a problem naming FIELD,
# with STATUS (default: any 4xx).
refused() {
	local ct want=${3:-4[0-9][0-9]}
	ct=$(header Content-Type | sed 's/;.*//')
	if [[ $STATUS =~ ^($want)$ ]] && [ "$ct" = application/problem+json ] &&
		[[ " $(errs) " == *" $2 "* ]]; then
		pass "$1: $STATUS naming $2"
	else
		fail "$1: ${3:-a 4xx} problem naming $2" "got $STATUS $ct: ${BODY:0:600}"
	fi
}
ev() { api "$T" POST /v1/events "$1"; }
q() { psql_q "$1"; }
balance_of() { q "SELECT balance FROM members WHERE id = '$1'"; }
# spend MEMBER POINTS: the member spends points elsewhere (as the
# application would, through adjust(), as the app role with the tenant set).
spend() {
	stack_psql -At -c "BEGIN" -c "SET LOCAL ROLE loyalty" \
		-c "SELECT set_config('loyalty.tenant_id', '$A', true)" \
		-c "SELECT outcome FROM adjust('$1'::uuid, -$2, 'spent elsewhere', 'user', 'evtests', 'evtests')" \
		-c "COMMIT" | tail -n 1
}
# reverse EVENT_ID JSON [curl args]: POST .../reversal as the owner (the id
# as it goes in the path); REVERSALS counts those done (201, not replayed).
REVERSALS=0
reverse() {
	local id=$1 body=$2
	shift 2
	http POST "/v1/events/$id/reversal" -H "Authorization: Bearer $T" \
		-H 'Content-Type: application/json' "$@" --data-binary "$body"
	[ "$STATUS" != 201 ] || [ -n "$(header Idempotent-Replayed)" ] || REVERSALS=$((REVERSALS + 1))
}
# digest: every row an event or a reversal writes, as one value.
digest() {
	q "SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
		SELECT m::text AS x FROM members m
		UNION ALL SELECT e::text FROM events e
		UNION ALL SELECT l::text FROM ledger l
		UNION ALL SELECT o::text FROM lots o
		UNION ALL SELECT u::text FROM budget_usage u
		UNION ALL SELECT r::text FROM rule_usage r
		UNION ALL SELECT i::text FROM idempotency_keys i) s"
}

# The tenant's earning rule: 1 point per 100 minor units of a purchase.
api "$T" POST /v1/rules '{"name":"a point a dollar","event_type":"purchase","action":{"kind":"per_unit","points":1,"unit_minor":100}}'
is "$STATUS" 201 "a per-unit rule for purchases"
RULE=$(jv id)

# --- 201, the body exactly, replays, conflicts --------------------------------------
E1='{"event_id":"till-7-000123","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":12500,"currency":"USD","occurred_at":"2025-11-20T09:15:00Z","attributes":{"store":"harare-cbd"}}'
ev "$E1"
is "$STATUS $(header Content-Type)" "201 application/json" "first receipt: 201 JSON"
FIRST=$BODY
is "$(pj "$BODY" 'sorted(d)')" \
	'["balance", "budget_limited", "event_id", "member_id", "points_awarded", "rules", "status"]' \
	"the body has exactly the documented fields"
is "$(jv event_id) $(jv status) $(jv points_awarded) $(jv balance) $(jv budget_limited)" \
	'till-7-000123 processed 125 125 false' \
	"event_id, status processed, 125 points for 12500, balance 125, budget_limited false"
is "$(pj "$BODY" 'd["rules"]')" "[{\"points\": 125, \"rule_id\": \"$RULE\"}]" \
	"rules: [{rule_id, points}] and nothing else"
M1=$(jv member_id)
is "$(q "SELECT external_id, enrolled_by FROM members WHERE id = '$M1'")" "C-1001|event" \
	"member_id is the member enrolled by external_id"
is "$(header Idempotent-Replayed)" "" "a first receipt is not marked replayed"

ev "$E1"
is "$STATUS" 200 "the same event again: 200"
is "$(header Idempotent-Replayed)" true "Idempotent-Replayed: true"
is "$BODY" "$FIRST" "the replayed body is byte-identical"
ev "$E1"
is "$STATUS $BODY" "200 $FIRST" "and again, the same"

ev "${E1/12500/12600}"
is "$STATUS $(header Content-Type)" "409 application/problem+json" "same event_id, another amount: 409"
ev "${E1/C-1001/C-1002}"
is "$STATUS" 409 "same event_id, another member: 409"
ev "${E1/harare-cbd/bulawayo}"
is "$STATUS" 409 "same event_id, another attribute: 409"
is "$(q "SELECT count(*), sum(points) FROM ledger WHERE event_id = 'till-7-000123'")" "1|125" \
	"one ledger entry for the event, whatever came after"
is "$(q "SELECT count(*) FROM members WHERE external_id = 'C-1002'")" 0 \
	"the conflicting request enrolled nobody"
is "$(balance_of "$M1")" 125 "the balance is 125"

# --- 50 concurrent identical requests --------------------------------------------
CONC='{"event_id":"conc-0001","type":"purchase","member":{"external_id":"C-conc"},"amount_minor":4000,"currency":"USD","occurred_at":"2025-11-21T10:00:00Z"}'
dir=$HARNESS_DIR/conc
mkdir -p "$dir"
pids=()
for ((i = 0; i < 50; i++)); do
	stack_curl -s -D "$dir/$i.hdr" -o "$dir/$i.body" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $T" -H 'Content-Type: application/json' \
		--data-binary "$CONC" "$(stack_url /v1/events)" >"$dir/$i.code" 2>/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
is "$(for f in "$dir"/*.code; do cat "$f"; echo; done | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd ' ')" "200x49 201x1" \
	"50 concurrent identical events: one 201, 49 x 200"
is "$(cat "$dir"/*.body | sort -u | wc -l)" 1 "all 50 bodies are byte-identical"
is "$(grep -lis '^idempotent-replayed: true' "$dir"/*.hdr | wc -l)" 49 "49 say Idempotent-Replayed"
CB=$(cat "$dir/0.body")
MC=$(jv member_id "$CB")
is "$(jv points_awarded "$CB") $(jv balance "$CB")" "40 40" "the body: 40 points, balance 40"
is "$(q "SELECT count(*) FROM ledger WHERE event_id = 'conc-0001' AND kind = 'earn'")" 1 "one ledger earn row"
is "$(q "SELECT count(*) FROM events WHERE event_id = 'conc-0001'")" 1 "one event row"
is "$(q "SELECT count(*) FROM members WHERE external_id = 'C-conc'")" 1 "one member enrolled"
is "$(balance_of "$MC")" 40 "the balance is right: 40"

# The same event id at once for 20 different members: one wins, the others
# are told it was recorded with another body, and enrol nobody.
dir=$HARNESS_DIR/race
mkdir -p "$dir"
pids=()
for ((i = 0; i < 20; i++)); do
	stack_curl -s -o "$dir/$i.body" -w '%{http_code}\n' -X POST \
		-H "Authorization: Bearer $T" -H 'Content-Type: application/json' \
		--data-binary '{"event_id":"race-1","type":"purchase","member":{"external_id":"C-race-'$i'"},"amount_minor":1000,"currency":"USD"}' \
		"$(stack_url /v1/events)" >"$dir/$i.code" 2>/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
is "$(cat "$dir"/*.code | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd ' ')" "201x1 409x19" \
	"one event id, 20 members at once: one 201, 19 x 409"
is "$(q "SELECT count(*) FROM events WHERE event_id = 'race-1'")|$(q "SELECT count(*) FROM members WHERE external_id LIKE 'C-race-%'")" \
	"1|1" "one event, one member enrolled (the losers' enrolments rolled back)"

# --- signed requests (a till's key) -----------------------------------------------
SB='{"event_id":"till-9-1","type":"purchase","member":{"id":"'$M1'"},"amount_minor":1000,"currency":"USD"}'
signed "$KEY_ID" "$KEY_SECRET" POST /v1/events "$SB"
is "$STATUS $(jv points_awarded) $(jv balance)" "201 10 135" \
	"a signed event: 201, 10 points, balance 135"
signed "$KEY_ID" "$KEY_SECRET" POST /v1/events "$SB"
is "$STATUS $(header Idempotent-Replayed)" "200 true" "a signed replay: 200 replayed"
is "$(q "SELECT actor_type FROM events WHERE event_id = 'till-9-1'")" key "the event's actor is the key"
signed "$KEY_ID" "$KEY_SECRET" GET /v1/events/till-9-1
is "$STATUS $(jv points_awarded)" "200 10" "a signed GET of the event"
signed "$KEY_ID" "${KEY_SECRET}x" POST /v1/events "${SB/till-9-1/till-9-2}"
is "$STATUS" 401 "a bad signature: 401"
api "$T_VIEWER" POST /v1/events "${SB/till-9-1/till-9-3}"
is "$STATUS" 403 "a viewer cannot record events: 403"
api "$T_VIEWER" GET /v1/events/till-9-1
is "$STATUS" 200 "a viewer can read one"
is "$(q "SELECT count(*) FROM events WHERE event_id IN ('till-9-2', 'till-9-3')")" 0 \
	"the refused ones wrote nothing"

# --- amounts and currencies --------------------------------------------------------
before=$(digest)
base='{"event_id":"amt-1","type":"purchase","member":{"external_id":"C-1001"},"currency":"USD","amount_minor":'
for a in 125.5 1.0 1e3 '"12500"' -1 -12500 0 1000000000001 99999999999999999999 true '[1]' '{}'; do
	ev "$base$a}"
	refused "amount_minor $a" amount_minor
done
is "$(digest)" "$before" "none of the refused amounts wrote anything"
ev '{"event_id":"amt-1","type":"purchase","member":{"external_id":"C-1001"},"currency":"USD","amount_minor":1000000000000}'
is "$STATUS $(jv points_awarded)" "201 10000000000" "amount_minor 10^12 is the most: accepted"
q "UPDATE tenants SET other_currencies = '{ZWG}' WHERE id = '$A'"
before=$(digest)
for c in '"EUR"' '"usd"' '"ZW"' '"ZWGX"' '""' null; do
	ev '{"event_id":"cur-1","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":100,"currency":'"$c"'}'
	refused "currency $c" currency 422
done
ev '{"event_id":"cur-1","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":100,"currency":840}'
refused "currency 840 (a number)" currency
ev '{"event_id":"cur-2","type":"purchase","member":{"external_id":"C-1001"},"currency":"USD"}'
refused "currency without amount_minor" amount_minor 422
ev '{"event_id":"cur-3","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":100}'
refused "amount_minor without currency" currency 422
is "$(digest)" "$before" "none of the refused events wrote anything"
ev '{"event_id":"cur-4","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":700,"currency":"ZWG"}'
is "$STATUS $(jv points_awarded)" "201 7" "ZWG, one of the tenant's other currencies: accepted"
ev '{"event_id":"cur-5","type":"purchase","member":{"external_id":"C-1001"}}'
is "$STATUS $(jv points_awarded)" "201 0" "an event without an amount earns no per-unit points"
api "$T_B" POST /v1/events '{"event_id":"cur-6","type":"purchase","member":{"external_id":"X"},"amount_minor":700,"currency":"ZWG"}'
refused "ZWG at tenant B, which does not take it" currency

# --- occurred_at --------------------------------------------------------------------
at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
ev '{"event_id":"time-1","type":"purchase","member":{"external_id":"C-1001"},"occurred_at":"'"$(at '+400 seconds')"'"}'
refused "occurred_at 400 s ahead (events.future_s is 300)" occurred_at 422
ev '{"event_id":"time-2","type":"purchase","member":{"external_id":"C-1001"},"occurred_at":"'"$(at '+1 day')"'"}'
refused "occurred_at a day ahead" occurred_at 422
ev '{"event_id":"time-3","type":"purchase","member":{"external_id":"C-1001"},"occurred_at":"'"$(at '+200 seconds')"'"}'
is "$STATUS" 201 "occurred_at 200 s ahead: inside the window, accepted"
ev '{"event_id":"time-4","type":"purchase","member":{"external_id":"C-1001"},"occurred_at":"2020-02-29T23:59:59Z"}'
is "$STATUS" 201 "an old occurred_at (2020, an offline till) is accepted"
api "$T" GET /v1/events/time-4
is "$(jv occurred_at)" 2020-02-29T23:59:59Z "and kept as sent"
ev '{"event_id":"time-5","type":"purchase","member":{"external_id":"C-1001"},"occurred_at":"2020-03-01T01:00:00+02:00"}'
api "$T" GET /v1/events/time-5
is "$(jv occurred_at)" 2020-02-29T23:00:00Z "an offset is turned into UTC"
for t in yesterday 2020-02-30T00:00:00Z 2020-01-01 '2020-01-01 00:00:00Z' 2020-01-01T24:00:00Z 1969-12-31T23:59:59Z; do
	ev '{"event_id":"time-6","type":"purchase","member":{"external_id":"C-1001"},"occurred_at":"'"$t"'"}'
	refused "occurred_at $t" occurred_at
done
ev '{"event_id":"time-6","type":"purchase","member":{"external_id":"C-1001"},"occurred_at":1700000000}'
refused "occurred_at as a number" occurred_at

# --- the member --------------------------------------------------------------------
ev '{"event_id":"mem-1","type":"purchase","member":{"id":"'"$M1"'"},"amount_minor":100,"currency":"USD"}'
is "$STATUS $(jv member_id)" "201 $M1" "member by id"
ev '{"event_id":"mem-2","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":100,"currency":"USD"}'
is "$STATUS $(jv member_id)" "201 $M1" "member by external_id"
ev '{"event_id":"mem-3","type":"purchase","member":{"phone":"0772 123 456"},"amount_minor":100,"currency":"USD"}'
is "$STATUS" 201 "member by a national phone number, 0772 123 456: enrolled"
MP=$(jv member_id)
is "$(q "SELECT phone, external_id IS NULL FROM members WHERE id = '$MP'")" "+263772123456|t" \
	"the member's phone is +263772123456 (E.164 with the tenant's code)"
ev '{"event_id":"mem-4","type":"purchase","member":{"phone":"+263 77 212 3456"},"amount_minor":100,"currency":"USD"}'
is "$STATUS $(jv member_id)" "201 $MP" "the same number in international form: the same member"
ev '{"event_id":"mem-5","type":"purchase","member":{"phone":"0772123456"},"amount_minor":100,"currency":"USD"}'
is "$STATUS $(jv member_id) $(jv balance)" "201 $MP 3" \
	"and without spaces: the same member, balance 3"
before=$(digest)
ev '{"event_id":"mem-6","type":"purchase","member":{"id":"'"$M1"'","external_id":"C-1001"}}'
refused "id and external_id" member 422
ev '{"event_id":"mem-6","type":"purchase","member":{"external_id":"C-1001","phone":"0772123456"}}'
refused "external_id and phone" member 422
ev '{"event_id":"mem-6","type":"purchase","member":{}}'
refused "a member named by nothing" member
ev '{"event_id":"mem-6","type":"purchase"}'
refused "no member at all" member
ev '{"event_id":"mem-6","type":"purchase","member":"C-1001"}'
refused "member as a string" member
ev '{"event_id":"mem-6","type":"purchase","member":{"phone":"12"}}'
refused "a phone number that is not one" member.phone
ev '{"event_id":"mem-6","type":"purchase","member":{"id":"not-a-uuid"}}'
refused "a member id that is not a uuid" member.id
ev '{"event_id":"mem-6","type":"purchase","member":{"id":"'"$(uuid)"'"}}'
refused "a member id that does not exist (ids are never enrolled)" member 422
ev '{"event_id":"mem-6","type":"purchase","member":{"external_id":""}}'
refused "an empty external_id" member.external_id
is "$(digest)" "$before" "none of the refused members wrote anything"

# auto_enrol off: an unknown member is refused; a known one still earns.
q "UPDATE tenants SET auto_enrol = false WHERE id = '$A'"
before=$(digest)
ev '{"event_id":"enrol-1","type":"purchase","member":{"external_id":"C-new"},"amount_minor":100,"currency":"USD"}'
is "$STATUS" 422 "auto_enrol off: an unknown external_id is 422"
refused "auto_enrol off" member
ev '{"event_id":"enrol-2","type":"purchase","member":{"phone":"0712 000 001"},"amount_minor":100,"currency":"USD"}'
refused "auto_enrol off, an unknown phone" member 422
is "$(digest)" "$before" "nothing written, nobody enrolled"
ev '{"event_id":"enrol-3","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":100,"currency":"USD"}'
is "$STATUS" 201 "auto_enrol off: a known member still earns"
q "UPDATE tenants SET auto_enrol = true WHERE id = '$A'"
ev '{"event_id":"enrol-1","type":"purchase","member":{"external_id":"C-new"},"amount_minor":100,"currency":"USD"}'
is "$STATUS" 201 "auto_enrol back on: the refused event id is free and the member enrolled"

# A blocked member earns nothing and nothing is written.
q "UPDATE members SET status = 'blocked' WHERE id = '$M1'"
before=$(digest)
ev '{"event_id":"blk-1","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":5000,"currency":"USD"}'
is "$STATUS" 422 "a blocked member's event: 422"
refused "a blocked member" member
like "$BODY" 'blocked' "the problem says the member is blocked"
signed "$KEY_ID" "$KEY_SECRET" POST /v1/events '{"event_id":"blk-2","type":"purchase","member":{"id":"'"$M1"'"},"amount_minor":5000,"currency":"USD"}'
refused "a blocked member, signed, by id" member 422
is "$(digest)" "$before" "nothing written for a blocked member"
ev "$E1"
is "$STATUS $BODY" "200 $FIRST" "an event recorded before the block still replays"
q "UPDATE members SET status = 'active' WHERE id = '$M1'"
ev '{"event_id":"blk-1","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":5000,"currency":"USD"}'
is "$STATUS $(jv points_awarded)" "201 50" "unblocked: the same event id is new and earns"

# --- unknown and malformed fields ---------------------------------------------------
before=$(digest)
good='{"event_id":"unk-1","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":100,"currency":"USD"'
for f in '"points":500' '"points_awarded":500' '"balance":1' '"tenant_id":"'"$B"'"' '"status":"processed"' '"rules":[]'; do
	ev "$good,$f}"
	refused "unknown field ${f%%:*}" "$(tr -d '"' <<<"${f%%:*}")" 422
done
ev '{"event_id":"unk-1","type":"purchase","member":{"external_id":"C-1001","tier":"gold"}}'
refused "unknown field member.tier" member.tier 422
ev '{"event_id":"unk-1","type":"purchase","member":{"external_id":"C-1001"},"attributes":{"store":5}}'
refused "a number as an attribute value" attributes.store
ev '{"event_id":"unk-1","type":"purchase","member":{"external_id":"C-1001"},"attributes":{"store":{"a":"b"}}}'
refused "an object as an attribute value" attributes.store
ev '{"event_id":"unk-1","type":"purchase","member":{"external_id":"C-1001"},"attributes":["store"]}'
refused "attributes as an array" attributes
ev '{"event_id":"unk-1","type":"purchase","member":{"external_id":"C-1001"},"attributes":{'"$(for i in $(seq 1 33); do printf '"a%d":"v",' "$i"; done | sed 's/,$//')"'}}'
refused "33 attributes (at most 32)" attributes 422
ev '{"event_id":"unk-1","type":"purchase","member":{"external_id":"C-1001"},"attributes":{"a":"'"$(printf 'v%.0s' {1..201})"'"}}'
refused "an attribute value of 201 bytes" attributes.a
ev '{"event_id":"unk-1","type":"Purchase","member":{"external_id":"C-1001"}}'
refused "an upper-case type" type
ev '{"event_id":"unk-1","member":{"external_id":"C-1001"}}'
refused "no type" type
ev '{"event_id":"unk-1","type":"purchase","member":{"external_id":"C-1001"},"points":1,"balance":2}'
is "$(errs)" "points balance" "two unknown fields: both named"
is "$(digest)" "$before" "none of the refused bodies wrote anything"
api "$T" POST /v1/events '[]'
like "$STATUS" '^4[0-9][0-9]$' "an array body: 4xx"

# Nulls count as absent, as everywhere in the API (or are refused): never
# a 5xx. A crash here shows as 502 from nginx.
nulls() {
	ev "$1"
	like "$STATUS" "$2" "$3 ($STATUS)"
}
nulls '{"event_id":"null-1","type":"purchase","member":{"external_id":"C-1001"},"attributes":null}' \
	'^(201|4[0-9][0-9])$' '"attributes": null is absent or refused, not a crash'
nulls '{"event_id":"null-2","type":"purchase","member":{"external_id":"C-1001","phone":null}}' \
	'^(201|4[0-9][0-9])$' '"member": {"external_id", "phone": null} is one member or refused, not a crash'
nulls '{"event_id":"null-3","type":"purchase","member":{"external_id":null}}' \
	'^4[0-9][0-9]$' '"member": {"external_id": null} names no member: refused, not a 500'
nulls '{"event_id":"null-4","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":null,"currency":"USD"}' \
	'^4[0-9][0-9]$' '"amount_minor": null with a currency is refused (a currency without an amount), not a 500'
wait_for 10 stack_curl -sf "$(stack_url /health/ready)"
is "$(q "SELECT count(*) FROM events WHERE amount_minor IS NULL AND currency IS NOT NULL")" 0 \
	"no event has a currency without an amount"

# --- injection strings: stored verbatim, or refused --------------------------------
# Event ids go into paths as they are: letters, digits and . _ ~ : @ + -
# only. Anything else is refused, an injection attempt included.
before=$(digest)
# Each a JSON string, as it goes into the body.
mapfile -t BAD <<'EOF'
"x'OR'1'='1';--"
"x\";DELETE/**/FROM/**/ledger;--"
"till 7"
" x"
"x "
"a\tb"
"\u00e9"
""
"a/b"
"a?b"
"a#b"
"a%41"
"a\\b"
"../x"
EOF
for bad in "${BAD[@]}"; do
	ev '{"event_id":'"$bad"',"type":"purchase","member":{"external_id":"C-1001"}}'
	refused "event_id $bad" event_id 422
done
ev '{"event_id":"'"$(printf 'x%.0s' {1..101})"'","type":"purchase","member":{"external_id":"C-1001"}}'
refused "an event_id of 101 characters" event_id
is "$(digest)" "$before" "refused event ids wrote nothing"
INJ_EXT="Robert'); DROP TABLE members; --"
INJ_BODY=$(python3 - "$INJ_EXT" <<'PY'
import json, sys
print(json.dumps({"event_id": "inj-1", "type": "purchase",
    "member": {"external_id": sys.argv[1]},
    "attributes": {"note": "' OR 1=1 --", "k'ey\"": "\"; DELETE FROM ledger; --",
                   "x": "$1 \\ %s \u00e9 \u202e"}}))
PY
)
ev "$INJ_BODY"
is "$STATUS" 201 "an event with injection strings in external_id and attributes: 201"
api "$T" GET /v1/events/inj-1
is "$STATUS" 200 "GET it: 200"
is "$(pj "$BODY" 'd["attributes"]')" "$(pj "$INJ_BODY" 'd["attributes"]')" "attributes stored verbatim"
is "$(q "SELECT count(*) FROM members WHERE external_id = \$\$$INJ_EXT\$\$ AND id = '$(jv member_id)'")" 1 \
	"external_id stored verbatim"
is "$(q "SELECT count(*) > 0 FROM members")$(q "SELECT count(*) > 0 FROM ledger")" tt \
	"members and ledger are still there"
# Every character an event id may have, in a path as it is and as a client
# that encodes all but the unreserved ones (encodeURIComponent) sends it.
PUNCT='till.7_a~b:c@d+e-F9'
ev '{"event_id":"'"$PUNCT"'","type":"purchase","member":{"external_id":"C-1001"}}'
is "$STATUS $(jv event_id)" "201 $PUNCT" "an event id with . _ ~ : @ + -: 201, verbatim"
api "$T" GET "/v1/events/$PUNCT"
is "$STATUS $(jv event_id)" "200 $PUNCT" "GET with it in the path as it is: 200"
PUNCT_ENC='till.7_a~b%3Ac%40d%2Be-F9'
api "$T" GET "/v1/events/$PUNCT_ENC"
is "$STATUS $(jv event_id)" "200 $PUNCT" "GET with it percent-encoded ($PUNCT_ENC): the same event"
reverse "$PUNCT_ENC" '{}'
is "$STATUS" 409 "and its reversal, percent-encoded, finds it (409, not 404: it earned nothing, so nothing is left to reverse)"

# --- GET, and another tenant's event ------------------------------------------------
api "$T" GET /v1/events/till-7-000123
is "$STATUS" 200 "GET /v1/events/{event_id}"
is "$(pj "$BODY" '[d["event_id"], d["type"], d["member_id"], d["amount_minor"], d["currency"], d["occurred_at"], d["attributes"], d["points_awarded"], d["rules"]]')" \
	"[\"till-7-000123\", \"purchase\", \"$M1\", 12500, \"USD\", \"2025-11-20T09:15:00Z\", {\"store\": \"harare-cbd\"}, 125, [{\"points\": 125, \"rule_id\": \"$RULE\"}]]" \
	"the event as recorded and what it earned"
api "$T_B" GET /v1/events/till-7-000123
s1=$STATUS b1=$(sans_rid "$BODY")
api "$T_B" GET /v1/events/no-such-event
is "$s1 $b1" "404 $(sans_rid "$BODY")" "B's owner: A's event id = a missing one (404, same body)"
api "$T_B" POST /v1/events/till-7-000123/reversal '{}'
s1=$STATUS b1=$(sans_rid "$BODY")
api "$T_B" POST /v1/events/no-such-event/reversal '{}'
is "$s1 $b1" "404 $(sans_rid "$BODY")" "B's owner: reversing A's event = reversing a missing one (404)"
api "$T_B" POST /v1/events '{"event_id":"till-7-000123","type":"purchase","member":{"external_id":"C-1001"},"amount_minor":100,"currency":"USD"}'
is "$STATUS" 201 "B records the same event id for itself: 201 (ids are per tenant)"
is "$(balance_of "$M1")" "$(q "SELECT sum(points) FROM ledger WHERE member_id = '$M1'")" "and A's member is untouched"

# --- reversals ------------------------------------------------------------------------
# Whole.
ev '{"event_id":"rev-1","type":"purchase","member":{"external_id":"C-rev"},"amount_minor":12500,"currency":"USD"}'
MR=$(jv member_id)
reverse rev-1 '{"reason":"returned"}'
is "$STATUS" 201 "a whole reversal: 201"
is "$(jv event_id) $(jv amount_minor) $(jv points_reversed) $(jv shortfall) $(jv member_id) $(jv balance)" \
	"rev-1 12500 125 0 $MR 0" "12500 refunded, 125 points back, balance 0"
is "$(q "SELECT kind, points, reason FROM ledger WHERE event_id = 'rev-1' ORDER BY id" | paste -sd ' ')" \
	"earn|125| reverse|-125|returned" "a reverse entry of -125 with the reason given"
reverse rev-1 '{}'
is "$STATUS" 409 "a wholly reversed event: 409"
reverse rev-1 '{"amount_minor":1}'
is "$STATUS" 409 "and a part of it: 409"
reverse no-such-event '{}'
is "$STATUS" 404 "reversing a missing event: 404"

# Partial, in proportion, adding up to the whole exactly.
ev '{"event_id":"rev-2","type":"purchase","member":{"external_id":"C-rev"},"amount_minor":12500,"currency":"USD"}'
reverse rev-2 '{"amount_minor":2500}'
is "$STATUS $(jv points_reversed) $(jv balance)" "201 25 100" \
	"refund 2500 of 12500: 25 of 125 points back"
reverse rev-2 '{"amount_minor":2500}'
is "$STATUS $(jv points_reversed)" "201 25" "another 2500: 25"
reverse rev-2 '{"amount_minor":7501}'
refused "7501 when 7500 is left" amount_minor 422
reverse rev-2 '{"amount_minor":3333}'
is "$STATUS $(jv points_reversed)" "201 33" "3333 more: 33 (83 of 125 for 8333)"
reverse rev-2 '{"amount_minor":4168}'
refused "4168 when 4167 is left" amount_minor 422
reverse rev-2 '{"amount_minor":4167}'
is "$STATUS $(jv points_reversed) $(jv balance)" "201 42 0" \
	"the last 4167: 42, the parts add up to 125 exactly"
is "$(q "SELECT reversed_minor, reversed_points, shortfall FROM events WHERE event_id = 'rev-2'")" "12500|125|0" \
	"the event: 12500 and 125 reversed"
reverse rev-2 '{"amount_minor":1}'
is "$STATUS" 409 "nothing left: 409"
ev '{"event_id":"rev-3","type":"purchase","member":{"external_id":"C-rev"},"amount_minor":999,"currency":"USD"}'
before=$(digest)
for a in 0 -1 1.5 '"100"' 1000000000001 true; do
	reverse rev-3 '{"amount_minor":'"$a"'}'
	refused "reversal amount_minor $a" amount_minor
done
reverse rev-3 '{"amount_minor":1000}'
refused "reversal of 1000 of 999" amount_minor 422
reverse rev-3 '{"points":9}'
refused "reversal with an unknown field" points 422
reverse rev-3 '{"reason":""}'
refused "an empty reason" reason
is "$(digest)" "$before" "refused reversals wrote nothing"
reverse rev-3 '{"amount_minor":null}'
is "$STATUS $(jv points_reversed)" "201 9" \
	'"amount_minor": null is absent: the whole event (9 points) is reversed'
api "$T_VIEWER" POST /v1/events/rev-3/reversal '{}'
is "$STATUS" 403 "a viewer cannot reverse: 403"
# An event without an amount: whole only.
api "$T" POST /v1/rules '{"name":"visit","event_type":"visit","action":{"kind":"fixed","points":7}}'
ev '{"event_id":"rev-4","type":"visit","member":{"external_id":"C-rev"}}'
is "$(jv points_awarded)" 7 "a visit earns 7"
reverse rev-4 '{"amount_minor":1}'
refused "a part of an event without an amount" amount_minor 422
signed "$KEY_ID" "$KEY_SECRET" POST /v1/events/rev-4/reversal '{}'
is "$STATUS $(jv points_reversed)" "201 7" "signed, whole: 7 back"
[ "$STATUS" != 201 ] || REVERSALS=$((REVERSALS + 1))
signed "$KEY_ID" "$KEY_SECRET" POST /v1/events/rev-4/reversal '{}'
is "$STATUS" 409 "and again: 409"

# Policy 'shortfall' (the default): what was spent is recorded, never negative.
is "$(q "SELECT reversal_policy FROM tenants WHERE id = '$A'")" shortfall "the default policy is shortfall"
ev '{"event_id":"sf-1","type":"purchase","member":{"external_id":"C-sf"},"amount_minor":12500,"currency":"USD"}'
MS=$(jv member_id)
is "$(spend "$MS" 100)" "done" "the member spends 100 of 125"
reverse sf-1 '{}'
is "$STATUS $(jv points_reversed) $(jv shortfall) $(jv balance)" "201 25 100 0" \
	"shortfall: 25 taken back, 100 recorded as shortfall, balance 0"
is "$(q "SELECT balance, debt FROM members WHERE id = '$MS'")" "0|0" "balance 0, no debt"
is "$(q "SELECT reversed_points, shortfall FROM events WHERE event_id = 'sf-1'")" "25|100" \
	"the event records 25 reversed and 100 short"
reverse sf-1 '{}'
is "$STATUS" 409 "a reversal with a shortfall is whole: 409 after"
ev '{"event_id":"sf-2","type":"purchase","member":{"external_id":"C-sf"},"amount_minor":10000,"currency":"USD"}'
is "$(spend "$MS" 90)" "done" "100 earned, 90 spent"
reverse sf-2 '{"amount_minor":5000}'
is "$STATUS $(jv points_reversed) $(jv shortfall) $(jv balance)" "201 10 40 0" \
	"half refunded: 10 taken, 40 short"
reverse sf-2 '{"amount_minor":5000}'
is "$STATUS $(jv points_reversed) $(jv shortfall) $(jv balance)" "201 0 50 0" \
	"the other half: nothing left to take, 50 short"
is "$(q "SELECT min(balance_after) FROM ledger WHERE member_id = '$MS'")" 0 "the balance never went below 0"

# Policy 'negative': the balance goes negative by the unclaimed part only.
q "UPDATE tenants SET reversal_policy = 'negative' WHERE id = '$A'"
ev '{"event_id":"neg-1","type":"purchase","member":{"external_id":"C-neg"},"amount_minor":12500,"currency":"USD"}'
MN=$(jv member_id)
is "$(spend "$MN" 100)" "done" "the member spends 100 of 125"
reverse neg-1 '{"amount_minor":2500}'
is "$STATUS $(jv points_reversed) $(jv shortfall) $(jv balance)" "201 25 0 0" \
	"negative: 25 of the 25 left taken, balance 0"
reverse neg-1 '{}'
is "$STATUS $(jv points_reversed) $(jv shortfall) $(jv balance)" "201 100 0 -100" \
	"the rest: 100 taken although spent, balance -100"
is "$(q "SELECT balance, debt FROM members WHERE id = '$MN'")" "-100|100" "member.debt is 100"
is "$(spend "$MN" 1)" insufficient "a member in debt cannot spend"
ev '{"event_id":"neg-2","type":"purchase","member":{"external_id":"C-neg"},"amount_minor":12500,"currency":"USD"}'
is "$STATUS $(jv points_awarded) $(jv balance)" "201 125 25" \
	"a later event earns 125: the debt is paid first, balance 25"
is "$(q "SELECT debt FROM members WHERE id = '$MN'")" 0 "no debt left"
is "$(q "SELECT sum(remaining) FROM lots WHERE member_id = '$MN'")" 25 "25 spendable points in lots"
q "UPDATE tenants SET reversal_policy = 'shortfall' WHERE id = '$A'"

# Budget use is given back.
BUD=$(q "INSERT INTO budgets (tenant_id, name, monthly_limit) VALUES ('$A', 'promo', 100000) RETURNING id")
api "$T" POST /v1/rules '{"name":"promo","event_type":"promo","action":{"kind":"fixed","points":50},"budget_id":"'"$BUD"'"}'
is "$STATUS" 201 "a fixed 50-point rule charging a budget"
used() { q "SELECT coalesce(sum(used), 0) FROM budget_usage WHERE budget_id = '$BUD'"; }
ev '{"event_id":"bud-1","type":"promo","member":{"external_id":"C-bud"},"amount_minor":1000,"currency":"USD"}'
is "$STATUS $(jv points_awarded) $(used)" "201 50 50" "the promo earns 50, the budget's use is 50"
reverse bud-1 '{"amount_minor":500}'
is "$STATUS $(jv points_reversed) $(used)" "201 25 25" "half refunded: 25 back, use 25"
reverse bud-1 '{}'
is "$STATUS $(jv points_reversed) $(used)" "201 25 0" "the rest: use 0"

# Idempotency-Key on reversals.
ev '{"event_id":"idem-1","type":"purchase","member":{"external_id":"C-idem"},"amount_minor":10000,"currency":"USD"}'
reverse idem-1 '{"amount_minor":2500}' -H 'Idempotency-Key: refund-1'
is "$STATUS $(jv points_reversed)" "201 25" "a reversal with an Idempotency-Key"
R1=$BODY
reverse idem-1 '{"amount_minor":2500}' -H 'Idempotency-Key: refund-1'
is "$STATUS $(header Idempotent-Replayed)" "201 true" "the same key and body: the stored response, replayed"
is "$BODY" "$R1" "byte-identical"
is "$(q "SELECT reversed_minor, reversed_points FROM events WHERE event_id = 'idem-1'")" "2500|25" \
	"reversed once"
reverse idem-1 '{"amount_minor":2600}' -H 'Idempotency-Key: refund-1'
refused "the same key, another body" Idempotency-Key
is "$STATUS" 422 "that is a 422"
# While another session holds a key's lock (a request with it in flight,
# or a replay of it: both lock it), a stored key is still answered — a
# replay replays, another body is refused — and a new key is 409.
hold_key() {
	printf "SELECT pg_advisory_lock(hashtextextended('%s' || '/' || '%s', 0));\nSELECT pg_sleep(30);\n" \
		"$A" "$1" | stack_psql -At >/dev/null 2>&1 &
	HOLDER=$!
	for _ in $(seq 1 100); do
		[ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" -ge 1 ] && return 0
		sleep 0.05
	done
	fail "another session holds the lock of key $1"
}
# release_key: ends the holding session (the backend that holds the lock).
release_key() {
	q "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted" >/dev/null
	wait "$HOLDER" 2>/dev/null
	for _ in $(seq 1 100); do
		[ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0 ] && return 0
		sleep 0.05
	done
	fail "the lock of the key is released"
}
hold_key refund-1
reverse idem-1 '{"amount_minor":2500}' -H 'Idempotency-Key: refund-1'
is "$STATUS $(header Idempotent-Replayed) $BODY" "201 true $R1" \
	"a stored key whose lock another session holds: still the replay, not 409"
reverse idem-1 '{"amount_minor":2600}' -H 'Idempotency-Key: refund-1'
is "$STATUS" 422 "and another body under it: still 422"
release_key
hold_key refund-2
reverse idem-1 '{"amount_minor":2500}' -H 'Idempotency-Key: refund-2'
is "$(status_type)" "409 application/problem+json" "a new key whose lock is held (its first request in flight): 409"
like "$BODY" 'Idempotency-Key is in progress' "saying so"
release_key
reverse idem-1 '{"amount_minor":2500}' -H 'Idempotency-Key: refund-2'
is "$STATUS $(jv points_reversed)" "201 25" "another key: another reversal"
is "$(q "SELECT reversed_minor FROM events WHERE event_id = 'idem-1'")" 5000 "5000 reversed in all"

# --- the invariants -----------------------------------------------------------------
is "$(q "SELECT count(*) FROM members m WHERE balance <> (SELECT coalesce(sum(points), 0) FROM ledger l
	WHERE l.tenant_id = m.tenant_id AND l.member_id = m.id)")" 0 "every balance = sum(ledger.points)"
is "$(q "SELECT count(*) FROM members m WHERE balance + debt <> (SELECT coalesce(sum(remaining), 0) FROM lots o
	WHERE o.tenant_id = m.tenant_id AND o.member_id = m.id)")" 0 "every balance + debt = what its lots hold"
is "$(q "SELECT count(*) FROM members WHERE balance < -debt OR (debt = 0 AND balance < 0)")" 0 \
	"no balance below zero but by a debt"
is "$(q "SELECT count(*) FROM events e WHERE points <> (SELECT coalesce(sum(points), 0) FROM ledger l
	WHERE l.tenant_id = e.tenant_id AND l.event_id = e.event_id AND kind = 'earn')")" 0 \
	"every event's points = its earn entry"
is "$(q "SELECT count(*) FROM events e WHERE reversed_points <> -(SELECT coalesce(sum(points), 0) FROM ledger l
	WHERE l.tenant_id = e.tenant_id AND l.event_id = e.event_id AND kind = 'reverse')")" 0 \
	"every event's reversed points = its reverse entries"
is "$(q "SELECT count(*) FROM audit_log WHERE action = 'event.reverse' AND tenant_id = '$A'")" "$REVERSALS" \
	"each reversal is in the audit log, once"

done_testing
