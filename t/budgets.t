#!/bin/bash
# Budgets: create, read, list, change; each shows this calendar month's use
# (month, used, remaining) in the tenant's time zone. A limit below this
# month's use is refused (422 naming monthly_limit) and nothing changes,
# also when the lowering races an award that waits for the same row: a
# budget's use never exceeds its limit (SPEC §3, invariant 3). Admins
# write, viewers and keys read; hostile input is a 4xx naming the field;
# another tenant's budget is the same 404 as a missing one.
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

# app_sql TENANT SQL: SQL as the application role in TENANT's transaction,
# the way loyaltyd runs it (row-level security on).
app_sql() {
	printf "BEGIN;\nSET LOCAL ROLE loyalty;\nSET LOCAL loyalty.tenant_id = '%s';\n%s;\nCOMMIT;\n" \
		"$1" "$2" | stack_psql -At
}
# charge TENANT BUDGET POINTS: what an award charges (charge_budget());
# prints what it took.
charge() {
	app_sql "$1" "SELECT charge_budget(t, '$2', $3) FROM tenants t WHERE t.id = '$1'"
}
# names_field NAME: the last problem document names NAME in errors[].field.
names_field() {
	[[ $BODY == *'"errors":['*'{"field":"'"$1"'",'* ]]
}
# refused WANT FIELD DESC: the last response is a WANT problem naming FIELD.
refused() {
	local want=$1 field=$2 desc=$3
	if [ "$(status_type)" = "$want application/problem+json" ] && names_field "$field"; then
		pass "$desc: $want naming $field"
	else
		fail "$desc: $want naming $field" "got $STATUS: $BODY"
	fi
}
month_of() { psql_q "SELECT to_char(now() AT TIME ZONE timezone, 'YYYY-MM') FROM tenants WHERE id = '$1'"; }
# charges N NAME TENANT BUDGET POINTS: N awards of POINTS at once; prints
# how many took how much ("0x16 3x3 ").
charges() {
	local n=$1 name=$2 i pids=()
	shift 2
	for ((i = 1; i <= n; i++)); do
		charge "$@" >"$HARNESS_DIR/$name.$i" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	cat "$HARNESS_DIR/$name".* | sort -n | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' '
}

# --- create, read ---------------------------------------------------------------
api "$T_ADMIN" POST /v1/budgets '{"name":"Launch promotion","monthly_limit":1000}'
is "$STATUS" 201 "the admin creates a budget: 201"
ID=$(jq_get "$BODY" id)
like "$ID" '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "it has an id"
is "$(jq_get "$BODY" name) $(jq_get "$BODY" monthly_limit) $(jq_get "$BODY" used) $(jq_get "$BODY" remaining)" \
	"Launch promotion 1000 0 1000" "name, limit, nothing used, all remaining"
is "$(jq_get "$BODY" month)" "$(month_of "$A")" "month is this month in the tenant's time zone"
like "$(jq_get "$BODY" created_at)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "created_at is RFC 3339 UTC"
created=$BODY
is "$(psql_q "SELECT count(*) FROM audit_log WHERE tenant_id = '$A' AND action = 'budget.create'
	AND target_id = '$ID' AND after->>'monthly_limit' = '1000'")" 1 "the creation is audited"

api "$T_VIEWER" GET "/v1/budgets/$ID"
is "$STATUS $BODY" "200 $created" "the viewer reads it: the body of the creation"
as_who "$KEY" GET "/v1/budgets/$ID"
is "$STATUS" 200 "a key reads it (keys act as operators)"

# A tenant in another zone: its month is its own.
psql_q "UPDATE tenants SET timezone = 'Pacific/Kiritimati' WHERE id = '$B'" >/dev/null
api "$T_B" POST /v1/budgets '{"name":"B budget","monthly_limit":5}'
is "$STATUS $(jq_get "$BODY" month)" "201 $(month_of "$B")" "B's month is the month at UTC+14"
B_ID=$(jq_get "$BODY" id)

# --- use, shown ---------------------------------------------------------------------
is "$(charge "$A" "$ID" 400)" 400 "an award charges 400 points to it"
month=$(psql_q "SELECT month FROM budget_usage WHERE budget_id = '$ID'")
psql_q "INSERT INTO budget_slots (tenant_id, budget_id, month, slot, quota, used)
	VALUES ('$A', '$ID', date '$month' - interval '1 month', 0, 1000, 999)" >/dev/null
api "$T_VIEWER" GET "/v1/budgets/$ID"
is "$(jq_get "$BODY" used) $(jq_get "$BODY" remaining)" "400 600" \
	"GET shows this month's use (not last month's 999) and what remains"

# --- change ---------------------------------------------------------------------------
api "$T_ADMIN" PATCH "/v1/budgets/$ID" '{"monthly_limit":399}'
refused 422 monthly_limit "PATCH to a limit below this month's use"
like "$BODY" 'use of the budget \(400 points\)' "the refusal says the use"
api "$T_ADMIN" GET "/v1/budgets/$ID"
is "$(jq_get "$BODY" monthly_limit)" 1000 "the limit did not change"
api "$T_ADMIN" PATCH "/v1/budgets/$ID" '{"monthly_limit":400}'
is "$STATUS $(jq_get "$BODY" monthly_limit) $(jq_get "$BODY" used) $(jq_get "$BODY" remaining)" \
	"200 400 400 0" "a limit equal to the use is taken: nothing remains"
is "$(charge "$A" "$ID" 50)" 0 "an award finds nothing left in the budget"
api "$T_ADMIN" PATCH "/v1/budgets/$ID" '{"name":"Festive","monthly_limit":2000}'
is "$STATUS $(jq_get "$BODY" name) $(jq_get "$BODY" monthly_limit) $(jq_get "$BODY" remaining)" \
	"200 Festive 2000 1600" "name and limit change together"
api "$T_ADMIN" PATCH "/v1/budgets/$ID" '{"name":"Festive season"}'
is "$STATUS $(jq_get "$BODY" name) $(jq_get "$BODY" monthly_limit)" "200 Festive season 2000" \
	"a name alone changes and the limit stays"
is "$(psql_q "SELECT before->>'name' || ' -> ' || (after->>'name') FROM audit_log
	WHERE target_id = '$ID' AND action = 'budget.update' ORDER BY id DESC LIMIT 1")" \
	"Festive -> Festive season" "each change is audited with before and after"
api "$T_ADMIN" PATCH "/v1/budgets/$ID" '{}'
refused 422 body "PATCH with nothing to change"
for f in name monthly_limit; do
	api "$T_ADMIN" PATCH "/v1/budgets/$ID" "{\"$f\":null}"
	refused 422 "$f" "PATCH $f to null"
done

# --- the limit lowered while an award waits for the budget's row ----------------------
# L holds the month's usage (its one slot: a limit of 1000 makes one); the
# PATCH (to 500, above the use of 400) queues for it, then an award of 300
# does. The PATCH commits first; the award
# must see its new limit, not the 2000 it may have read before waiting.
stack_psql -At >"$HARNESS_DIR/hold.out" 2>&1 <<EOF &
BEGIN;
SELECT 1 FROM budget_slots WHERE budget_id = '$ID' AND month = '$month' FOR UPDATE;
DO \$\$ BEGIN -- hold the row until both wait
	FOR i IN 1..150 LOOP
		PERFORM pg_stat_clear_snapshot();	-- else the first look stays
		EXIT WHEN (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
			AND (query LIKE 'SELECT lock_budget_month%'
			     OR query LIKE '%charge_budget%')) >= 2;
		PERFORM pg_sleep(0.02);
	END LOOP;
END \$\$;
COMMIT;
EOF
hold=$!
waiting() {
	[ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
		AND query LIKE '$1'")" -ge 1 ]
}
holding() {
	[ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'DO%pg_sleep(0.02)%'")" = 1 ]
}
check "L holds the usage row" wait_for 10 holding
stack_curl -s -o "$HARNESS_DIR/patch.out" -w '%{http_code}' -X PATCH \
	-H "Authorization: Bearer $T_ADMIN" -H 'Content-Type: application/json' \
	--data-binary '{"monthly_limit":500}' "$(stack_url "/v1/budgets/$ID")" \
	>"$HARNESS_DIR/patch.status" &
patch=$!
check "the PATCH waits for the usage row" wait_for 10 waiting 'SELECT lock_budget_month%'
charge "$A" "$ID" 300 >"$HARNESS_DIR/charge.out" 2>&1 &
award=$!
wait $patch $award $hold
is "$(cat "$HARNESS_DIR/patch.status") $(jq_get "$(cat "$HARNESS_DIR/patch.out")" monthly_limit)" \
	"200 500" "the PATCH to 500 (use 400) went through"
is "$(cat "$HARNESS_DIR/charge.out")" 100 "the award after it took what the new limit left (100 of 300)"
is "$(psql_q "SELECT u.used <= b.monthly_limit FROM budget_usage u JOIN budgets b ON b.id = u.budget_id
	WHERE u.budget_id = '$ID' AND u.month = '$month'")" t "this month's use does not exceed the limit"
api "$T_VIEWER" GET "/v1/budgets/$ID"
is "$(jq_get "$BODY" used) $(jq_get "$BODY" remaining)" "500 0" "GET shows it all used"

# 20 awards of 3 points at once against a limit of 10: 3 + 3 + 3 + the
# 1 left (policy partial), then nothing; the row lock serialises them.
api "$T_ADMIN" POST /v1/budgets '{"name":"Small","monthly_limit":10}'
SMALL=$(jq_get "$BODY" id)
is "$(charges 20 small "$A" "$SMALL" 3)" \
	"0x16 1x1 3x3 " "20 concurrent awards of 3 against a limit of 10: 3, 3, 3, 1 and nothing"
api "$T_VIEWER" GET "/v1/budgets/$SMALL"
is "$(jq_get "$BODY" used) $(jq_get "$BODY" remaining)" "10 0" "the budget is used to its limit, not beyond"
api "$T_ADMIN" PATCH "/v1/budgets/$SMALL" '{"name":"Small budget"}'
is "$STATUS $(jq_get "$BODY" used)" "200 10" "a rename keeps the use"

# --- list -----------------------------------------------------------------------
for n in 2 3 4; do
	api "$T_ADMIN" POST /v1/budgets "{\"name\":\"Budget $n\",\"monthly_limit\":$n}"
	[ "$STATUS" = 201 ] || fail "budget $n is created" "$STATUS $BODY"
done
# page AFTER: GET one page of 2 as the viewer; prints "names... | next".
page() {
	api "$T_VIEWER" GET "/v1/budgets?limit=2${1:+&after=$1}"
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
print(" ".join(i["name"] for i in d["items"]), "|", d["next"])' "$BODY"
}
p1=$(page)
is "${p1% | *}" "Festive season Small budget" "the first page of the list, oldest first"
like "${p1#* | }" '^[0-9]+$' "it has a next cursor"
p2=$(page "${p1#* | }")
is "${p2% | *}" "Budget 2 Budget 3" "the second page"
p3=$(page "${p2#* | }")
is "$p3" "Budget 4 | None" "the third page ends the list"
all="$p1 $p2 $p3"
unlike "$all" "B budget" "A's list shows nothing of B"
api "$T_VIEWER" GET '/v1/budgets?limit=100000'
refused 400 limit "a huge ?limit="
api "$T_VIEWER" GET "/v1/budgets?after=1%20OR%201=1"
refused 400 after "an ?after= that is no cursor"

# --- roles ------------------------------------------------------------------------
api "$T_VIEWER" POST /v1/budgets '{"name":"x","monthly_limit":1}'
is "$STATUS" 403 "a viewer may not create a budget"
api "$T_OPERATOR" POST /v1/budgets '{"name":"x","monthly_limit":1}'
is "$STATUS" 403 "an operator may not create a budget"
as_who "$KEY" POST /v1/budgets '{"name":"x","monthly_limit":1}'
is "$STATUS" 403 "a key may not create a budget"
api "$T_OPERATOR" PATCH "/v1/budgets/$ID" '{"monthly_limit":100000}'
is "$STATUS" 403 "an operator may not change a budget"
as_who "$KEY" PATCH "/v1/budgets/$ID" '{"monthly_limit":100000}'
is "$STATUS" 403 "a key may not change a budget"

# --- hostile input ------------------------------------------------------------------
count() { psql_q "SELECT count(*) || ':' || md5(string_agg(b::text, '|' ORDER BY seq)) FROM budgets b"; }
before=$(count)
# WANT|FIELD|BODY|DESC|also PATCH (the body less "name":"x",)
while IFS='|' read -r want field body desc patch; do
	api "$T_ADMIN" POST /v1/budgets "$body"
	refused "$want" "$field" "POST $desc"
	if [ "$patch" = y ]; then
		api "$T_ADMIN" PATCH "/v1/budgets/$ID" "${body/\"name\":\"x\",/}"
		refused "$want" "$field" "PATCH $desc"
	fi
done <<'EOF'
400|monthly_limit|{"name":"x","monthly_limit":1.5}|a float limit|y
400|monthly_limit|{"name":"x","monthly_limit":1e3}|a limit in exponent form|y
400|monthly_limit|{"name":"x","monthly_limit":"1000"}|a limit as a string|y
400|monthly_limit|{"name":"x","monthly_limit":-5}|a negative limit|y
400|monthly_limit|{"name":"x","monthly_limit":0}|a zero limit|y
400|monthly_limit|{"name":"x","monthly_limit":1000000000001}|a limit above 10^12|y
400|monthly_limit|{"name":"x","monthly_limit":99999999999999999999999}|a limit beyond 64 bits|y
400|monthly_limit|{"name":"x","monthly_limit":true}|a boolean limit|y
422|monthly_limit|{"name":"x"}|without a limit|n
422|name|{"monthly_limit":5}|without a name|n
422|name|{"name":"","monthly_limit":5}|an empty name|n
400|name|{"name":7,"monthly_limit":5}|a number as name|n
422|used|{"name":"x","monthly_limit":5,"used":0}|setting used|y
422|tenant_id|{"name":"x","monthly_limit":5,"tenant_id":"00000000-0000-0000-0000-000000000000"}|setting tenant_id|y
422|id|{"name":"x","monthly_limit":5,"id":"00000000-0000-0000-0000-000000000001"}|setting id|y
400|body|["name","x"]|an array body|y
EOF
api "$T_ADMIN" POST /v1/budgets "{\"name\":\"$(printf 'n%.0s' {1..101})\",\"monthly_limit\":5}"
refused 422 name "POST a name of 101 characters"
http POST /v1/budgets -H "Authorization: Bearer $T_ADMIN" -H 'Content-Type: application/json' \
	--data-binary '{"name":"x","monthly_limit":5'
is "$(status_type)" "400 application/problem+json" "POST of broken JSON: 400 problem"
is "$(count)" "$before" "no hostile request changed a budget"
api "$T_ADMIN" POST /v1/budgets '{"name":"x'"'"'); DROP TABLE budgets; --","monthly_limit":1000000000000}'
is "$STATUS $(jq_get "$BODY" name) $(jq_get "$BODY" monthly_limit)" \
	"201 x'); DROP TABLE budgets; -- 1000000000000" "SQL in a name is stored verbatim; 10^12 is the top limit"

# --- ids that are not A's -------------------------------------------------------
# same_404 METHOD [JSON]: B's budget and a missing id, as A's admin: one 404.
same_404() {
	local s1 b1
	api "$T_ADMIN" "$1" "/v1/budgets/$B_ID" ${2:+"$2"}
	s1=$STATUS b1=$(sans_rid "$BODY")
	api "$T_ADMIN" "$1" "/v1/budgets/$(uuid)" ${2:+"$2"}
	is "$s1 $b1" "404 $(sans_rid "$BODY")" "$1 on B's budget: the 404 of a missing id"
}
same_404 GET
same_404 PATCH '{"monthly_limit":1000}'
same_404 PATCH '{"name":"taken over"}'
for bad in not-a-uuid "${ID^^}" "$ID%27" "$ID-1"; do
	api "$T_ADMIN" GET "/v1/budgets/$bad"
	is "$(status_type)" "404 application/problem+json" "GET /v1/budgets/$bad: 404"
done
is "$(psql_q "SELECT name || ' ' || monthly_limit FROM budgets WHERE id = '$B_ID'")" "B budget 5" \
	"B's budget did not change"

# --- a large budget: its month in slots -------------------------------------------
# A limit of 16,000 makes 16 slots of 1,000; 100 awards of 300 at once
# (30,000 asked) under the 'nothing' policy: each slot takes three whole
# awards on its own (48), then the awards that find no slot with room lock
# them all and spread over the 100 left in each: five more, 53 in all
# (16,000 / 300), 15,900 used, never more than a slot's share.
psql_q "UPDATE tenants SET budget_policy = 'nothing' WHERE id = '$A'" >/dev/null
api "$T_ADMIN" POST /v1/budgets '{"name":"Large","monthly_limit":16000}'
LARGE=$(jq_get "$BODY" id)
is "$(charge "$A" "$LARGE" 300)" 300 "the month's first award charges the large budget"
is "$(psql_q "SELECT count(*) || ' ' || sum(quota) || ' ' || min(quota) || ' ' || max(quota) || ' ' || sum(used)
	FROM budget_slots WHERE budget_id = '$LARGE'")" "16 16000 1000 1000 300" \
	"it made 16 slots whose quotas add up to the limit"
is "$(charges 99 large "$A" "$LARGE" 300)" \
	"0x47 300x52 " "99 more concurrent awards of 300: 52 whole (53 with the first), 47 nothing"
is "$(psql_q "SELECT sum(used) || ' ' || sum(awards) || ' ' || sum(limited) || ' ' || count(*) FILTER (WHERE used > quota)
	FROM budget_slots WHERE budget_id = '$LARGE'")" "15900 100 47 0" \
	"15,900 used of 16,000; 100 awards, 47 limited; no slot beyond its share"
api "$T_VIEWER" GET "/v1/budgets/$LARGE"
is "$(jq_get "$BODY" used) $(jq_get "$BODY" remaining)" "15900 100" "GET sums the slots"
api "$T_ADMIN" PATCH "/v1/budgets/$LARGE" '{"monthly_limit":15899}'
refused 422 monthly_limit "PATCH below the use summed over the slots"
# A lower limit above the use: the slots share it anew and the use moves
# so that each stays within its share.
api "$T_ADMIN" PATCH "/v1/budgets/$LARGE" '{"monthly_limit":15950}'
is "$STATUS $(jq_get "$BODY" used) $(jq_get "$BODY" remaining)" "200 15900 50" \
	"PATCH to 15,950: the use stays, 50 remain"
is "$(psql_q "SELECT count(*) || ' ' || sum(quota) || ' ' || sum(used) || ' ' || count(*) FILTER (WHERE used > quota)
	FROM budget_slots WHERE budget_id = '$LARGE'")" "16 15950 15900 0" \
	"the 16 slots share 15,950 and hold the 15,900 used, none beyond its share"
is "$(charge "$A" "$LARGE" 51)" 0 "51 points do not fit the 50 left ('nothing')"
is "$(charge "$A" "$LARGE" 50)" 50 "50 do: the last slot with room takes them"
is "$(psql_q "SELECT sum(used) || ' ' || count(*) FILTER (WHERE used > quota) FROM budget_slots
	WHERE budget_id = '$LARGE'")" "15950 0" "the budget is used to its new limit, no slot beyond its share"
api "$T_ADMIN" PATCH "/v1/budgets/$LARGE" '{"monthly_limit":1000000}'
is "$STATUS $(jq_get "$BODY" remaining)" "200 984050" "raising the limit shares the new room"
is "$(charge "$A" "$LARGE" 5000)" 5000 "an award of 5,000 fits a slot of the new share"
# A reversal's give-back (give_back_budget()) takes from the slots, highest first.
app_sql "$A" "SELECT give_back_budget(t, '$LARGE', '$month', 4000) FROM tenants t WHERE t.id = '$A'" >/dev/null
is "$(psql_q "SELECT sum(used) || ' ' || count(*) FILTER (WHERE used < 0 OR used > quota) FROM budget_slots
	WHERE budget_id = '$LARGE'")" "16950 0" "4,000 given back: 16,950 used"
app_sql "$A" "SELECT give_back_budget(t, '$LARGE', '$month', 1000000) FROM tenants t WHERE t.id = '$A'" >/dev/null
is "$(psql_q "SELECT sum(used) FROM budget_slots WHERE budget_id = '$LARGE'")" 0 \
	"giving back more than was used leaves nothing used, not less"
psql_q "UPDATE tenants SET budget_policy = 'partial' WHERE id = '$A'" >/dev/null

done_testing
