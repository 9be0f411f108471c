#!/bin/bash
# GET /v1/reports/summary: per local day of the tenant's zone, the points
# issued, redeemed, refunded, expired, reversed and adjusted, vouchers
# issued and used, active members and budget use, with totals; and the
# business counters of /metrics moving with the same requests.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=10000 limits.tenant_burst=10000

A=$(mk_tenant rep-a) && B=$(mk_tenant rep-b) || exit 1
mk_user rep-a admin@a.example admin 'admin-a-password' >/dev/null || exit 1
mk_user rep-a viewer@a.example viewer 'viewer-a-password' >/dev/null || exit 1
mk_user rep-b admin@b.example admin 'admin-b-password' >/dev/null || exit 1
login admin@a.example admin-a-password
T=$TOKEN
login viewer@a.example viewer-a-password
TV=$TOKEN
login admin@b.example admin-b-password
TB=$TOKEN
[ -n "$T" ] && [ -n "$TV" ] && [ -n "$TB" ] || { fail "everyone logs in"; exit 1; }
q() { stack_psql -At -c "$1"; }
metric() {
	stack_curl -s "$(stack_url /metrics)" | awk -v m="$1" '$1 == m { print $2 }'
}
# day N: the local date (Africa/Harare) N days from today.
day() { q "SELECT to_char((now() AT TIME ZONE 'Africa/Harare')::date + $1, 'YYYY-MM-DD')"; }
# rep FIELD [DAY]: a number of the last report: a day's, or the totals.
rep() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
if len(sys.argv) > 3:
    d = [x for x in d["days"] if x["date"] == sys.argv[3]][0]
else:
    d = d["totals"]
print(d[sys.argv[2]])' "$BODY" "$@" 2>/dev/null
}

before_awarded=$(metric loyalty_points_awarded_total)
before_events=$(metric 'loyalty_events_total{result="processed"}')
before_issued=$(metric loyalty_vouchers_issued_total)

# --- a day of business in A ----------------------------------------------
api "$T" POST /v1/budgets '{"name":"December","monthly_limit":100000}'
BUD=$(jq_get "$BODY" id)
api "$T" POST /v1/rules "{\"name\":\"1 per dollar\",\"event_type\":\"purchase\",\"budget_id\":\"$BUD\",
	\"action\":{\"kind\":\"per_unit\",\"points\":1,\"unit_minor\":100}}"
is "$STATUS" 201 "a rule charging a budget"
api "$T" POST /v1/events '{"event_id":"r-1","type":"purchase","member":{"external_id":"C-1"},"amount_minor":12500,"currency":"USD"}'
is "$STATUS $(jq_get "$BODY" points_awarded)" "201 125" "an event earns 125"
M=$(jq_get "$BODY" member_id)
api "$T" POST /v1/events '{"event_id":"r-1","type":"purchase","member":{"external_id":"C-1"},"amount_minor":12500,"currency":"USD"}'
is "$STATUS" 200 "its replay"
api "$T" POST /v1/members/$M/adjustments '{"points":100,"reason":"welcome"}'
is "$STATUS" 201 "an adjustment of 100"
W=$(q "INSERT INTO rewards (tenant_id, name, cost) VALUES ('$A', 'Tea', 50) RETURNING id")
api "$T" POST /v1/members/$M/redemptions "{\"reward_id\":\"$W\"}"
is "$STATUS" 201 "a redemption of 50"
CODE=$(jq_get "$BODY" code)
api "$T" POST "/v1/vouchers/$CODE/use" '{}'
is "$STATUS" 200 "the voucher used"
api "$T" POST /v1/events/r-1/reversal '{"amount_minor":2500}'
is "$STATUS $(jq_get "$BODY" points_reversed)" "201 25" "a refund of 2500 takes back 25"
# B does business too, which A's report must not see.
api "$TB" POST /v1/events '{"event_id":"r-1","type":"purchase","member":{"external_id":"C-1"},"amount_minor":99900,"currency":"USD"}'
api "$TB" POST /v1/members/$(jq_get "$BODY" member_id)/adjustments '{"points":7,"reason":"b"}'
is "$STATUS" 201 "and B, on its own"

# The adjustment happened at 23:30 yesterday, Harare time (21:30 UTC): it
# belongs to yesterday's row, though it is today in UTC for two hours of
# every evening.
q "UPDATE ledger SET at = ((now() AT TIME ZONE 'Africa/Harare')::date - 1
	+ time '23:30') AT TIME ZONE 'Africa/Harare'
	WHERE tenant_id = '$A' AND kind = 'adjust'" >/dev/null
Y=$(day -1) D=$(day 0)
api "$TV" GET "/v1/reports/summary?from=$Y&to=$D"
is "$STATUS" 200 "a viewer reads the report"
is "$(jq_get "$BODY" timezone) $(jq_get "$BODY" from) $(jq_get "$BODY" to)" "Africa/Harare $Y $D" \
	"it names the zone and the dates"
is "$(python3 -c 'import json,sys; print(" ".join(d["date"] for d in json.loads(sys.argv[1])["days"]))' "$BODY")" \
	"$Y $D" "one row per local day, in order"
is "$(rep points_adjusted "$Y") $(rep points_adjusted "$D")" "100 0" \
	"the adjustment at 23:30 local is yesterday's, not today's"
is "$(rep points_issued "$D") $(rep points_redeemed "$D") $(rep points_reversed "$D")" "125 50 25" \
	"today: 125 issued, 50 redeemed, 25 reversed"
is "$(rep vouchers_issued "$D") $(rep vouchers_used "$D") $(rep points_expired "$D") $(rep points_refunded "$D")" \
	"1 1 0 0" "a voucher issued and used, nothing expired or refunded"
is "$(rep budget_used "$D")" 125 "the budget charged for the day's earnings"
is "$(rep active_members "$D") $(rep active_members "$Y") $(rep active_members)" "1 1 1" \
	"one active member each day, and one over the period (counted once)"
is "$(rep points_issued) $(rep points_adjusted) $(rep points_redeemed)" "125 100 50" \
	"the totals add the days up; B's business is not in A's report"

# --- expiry and refunds show on their day ---------------------------------
q "UPDATE tenants SET expiry_policy = 'days', expiry_days = 30 WHERE id = '$A'" >/dev/null
api "$T" POST /v1/members/$M/adjustments '{"points":40,"reason":"to expire"}'
q "UPDATE lots SET expires_at = now() - interval '1 minute' WHERE tenant_id = '$A'
	AND id = (SELECT max(id) FROM lots WHERE tenant_id = '$A')" >/dev/null
ctl expire >/dev/null 2>&1
is "$?" 0 "loyaltyctl expire"
api "$T" POST /v1/members/$M/redemptions "{\"reward_id\":\"$W\"}"
api "$T" POST "/v1/vouchers/$(jq_get "$BODY" code)/cancel" '{}'
is "$STATUS" 200 "a voucher cancelled"
api "$TV" GET "/v1/reports/summary?from=$D&to=$D"
is "$(rep points_expired "$D") $(rep points_refunded "$D") $(rep vouchers_issued "$D")" "40 50 2" \
	"40 expired, 50 refunded, 2 vouchers issued today"

# --- bad requests ---------------------------------------------------------
for qs in "from=$D" "to=$D" "from=2026-02-30&to=2026-03-01" "from=$D&to=$Y" \
	"from=2025-01-01&to=2026-12-31" "from=x&to=y" "from=2026-1-1&to=2026-01-02"; do
	api "$TV" GET "/v1/reports/summary?$qs"
	is "$STATUS $(header Content-Type)" "400 application/problem+json" "?$qs: 400"
done
api "$TV" GET "/v1/reports/summary?from=2026-02-30&to=2026-03-01"
like "$BODY" '"field":"from"' "the field at fault is named"
api "$TV" GET "/v1/reports/summary?from=2025-01-01&to=2025-12-31"
is "$STATUS" 200 "a year (365 days) is allowed"
http GET "/v1/reports/summary?from=$D&to=$D"
is "$STATUS" 401 "without a token: 401"

# --- the business counters of /metrics -----------------------------------
after_awarded=$(metric loyalty_points_awarded_total)
cmp_num $((after_awarded - before_awarded)) -eq 125 \
	"loyalty_points_awarded_total counts the points events awarded (B has no rule)"
cmp_num $(( $(metric 'loyalty_events_total{result="processed"}') - before_events )) -eq 2 \
	"loyalty_events_total{result=processed} counts the two first receipts"
cmp_num "$(metric 'loyalty_events_total{result="replayed"}')" -ge 1 "and replays apart"
cmp_num $(( $(metric loyalty_vouchers_issued_total) - before_issued )) -eq 2 \
	"loyalty_vouchers_issued_total counts the vouchers"
is "$(metric loyalty_vouchers_used_total) $(metric loyalty_vouchers_cancelled_total)" "1 1" \
	"vouchers used and cancelled"
is "$(metric loyalty_points_redeemed_total) $(metric loyalty_points_reversed_total)" "100 25" \
	"points redeemed and reversed"
is "$(metric loyalty_points_adjusted_up_total)" 147 "points adjusted up (100 + 7 + 40)"
cmp_num "$(metric loyalty_rules_matched_total)" -eq 1 "rules matched: the one that gave points"

done_testing
