#!/bin/bash
# The tenant's settings: everyone of the tenant reads them, only an owner
# changes them (operators, admins and keys get 403); each setting can be
# changed alone, every bad value is a 4xx naming its field and changes
# nothing, expiry_days goes with expiry_policy "days" and only with it,
# each change is audited with before and after, and one tenant's change
# is not another's.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=10000 limits.tenant_burst=10000

A=$(mk_tenant shop-a) && B=$(mk_tenant shop-b) || exit 1
for role in owner admin operator viewer; do
	mk_user shop-a "$role@a.example" "$role" "$role-a-password" >/dev/null || exit 1
done
mk_user shop-b owner@b.example owner 'owner-b-password' >/dev/null || exit 1
mk_key shop-a || exit 1
declare -A T
for role in owner admin operator viewer; do
	login "$role@a.example" "$role-a-password"
	T[$role]=$TOKEN
done
login owner@b.example owner-b-password
T_B=$TOKEN

fields() {
	python3 -c 'import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    print("(not JSON)"); sys.exit()
print(" ".join(e["field"] for e in d.get("errors", [])))' "$BODY"
}
# settings: the tenant's settings as GET shows them, without updated_at.
settings() {
	api "${T[viewer]}" GET /v1/settings
	python3 -c 'import json, sys
d = json.loads(sys.argv[1]); d.pop("updated_at", None)
print(json.dumps(d, sort_keys=True))' "$BODY"
}
audits() { psql_q "SELECT count(*) FROM audit_log WHERE tenant_id = '$A' AND action = 'tenant.settings'"; }

# --- read -------------------------------------------------------------------------------------
api "${T[viewer]}" GET /v1/settings
is "$STATUS" 200 "the viewer reads the settings"
is "$(settings)" '{"auto_enrol": true, "budget_policy": "partial", "calling_code": "263", "currency": "USD", "expiry_days": null, "expiry_policy": "never", "other_currencies": [], "reversal_policy": "shortfall", "timezone": "Africa/Harare"}' \
	"a new tenant's defaults: Zimbabwe's calling code and time zone, no expiry"
like "$(jq_get "$BODY" updated_at)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "updated_at is RFC 3339 UTC"
signed "$KEY_ID" "$KEY_SECRET" GET /v1/settings
is "$STATUS $(jq_get "$BODY" calling_code)" "200 263" "a machine key reads them too"

# --- who may change them -----------------------------------------------------------------------
for role in viewer operator admin; do
	api "${T[$role]}" PATCH /v1/settings '{"auto_enrol":false}'
	is "$STATUS $(header Content-Type)" "403 application/problem+json" "the $role cannot change the settings (403)"
done
signed "$KEY_ID" "$KEY_SECRET" PATCH /v1/settings '{"auto_enrol":false}'
is "$STATUS" 403 "nor can a key (it acts as operator)"
is "$(jq_get "$(settings)" auto_enrol) $(audits)" "true 0" "nothing changed, nothing audited"

# --- each setting ----------------------------------------------------------------------------------
before=$(settings)
api "${T[owner]}" PATCH /v1/settings '{"timezone":"Europe/London"}'
is "$STATUS $(jq_get "$BODY" timezone)" "200 Europe/London" "the owner sets the time zone"
is "$(psql_q "SELECT timezone FROM tenants WHERE id = '$A'")" Europe/London "... in the tenant's row"
api "${T[owner]}" PATCH /v1/settings '{"calling_code":"27"}'
is "$STATUS $(jq_get "$BODY" calling_code)" "200 27" "the calling code"
api "${T[owner]}" PATCH /v1/settings '{"other_currencies":["ZWG","ZAR"]}'
is "$STATUS $(jq_get "$BODY" other_currencies)" '200 ["ZWG", "ZAR"]' "other currencies"
api "${T[owner]}" PATCH /v1/settings '{"auto_enrol":false}'
is "$STATUS $(jq_get "$BODY" auto_enrol)" "200 false" "auto-enrolment"
api "${T[owner]}" PATCH /v1/settings '{"expiry_policy":"days","expiry_days":365}'
is "$STATUS $(jq_get "$BODY" expiry_policy) $(jq_get "$BODY" expiry_days)" "200 days 365" "expiry after 365 days"
api "${T[owner]}" PATCH /v1/settings '{"expiry_days":30}'
is "$STATUS $(jq_get "$BODY" expiry_policy) $(jq_get "$BODY" expiry_days)" "200 days 30" \
	"expiry_days alone while the policy is days"
api "${T[owner]}" PATCH /v1/settings '{"budget_policy":"nothing"}'
is "$STATUS $(jq_get "$BODY" budget_policy)" "200 nothing" "the budget policy"
api "${T[owner]}" PATCH /v1/settings '{"reversal_policy":"negative"}'
is "$STATUS $(jq_get "$BODY" reversal_policy)" "200 negative" "the reversal policy"
api "${T[owner]}" PATCH /v1/settings '{"expiry_policy":"end_of_month"}'
is "$STATUS $(jq_get "$BODY" expiry_policy) $(jq_get "$BODY" expiry_days)" "200 end_of_month null" \
	"another expiry policy drops the days"
api "${T[owner]}" PATCH /v1/settings '{"expiry_policy":"end_of_year","other_currencies":[],"auto_enrol":true}'
is "$STATUS $(jq_get "$BODY" expiry_policy) $(jq_get "$BODY" other_currencies) $(jq_get "$BODY" auto_enrol)" \
	"200 end_of_year [] true" "several settings at once; an empty list of currencies"
is "$(audits)" 10 "each change is audited (10)"
is "$(psql_q "SELECT (before->>'expiry_policy') || ' ' || (after->>'expiry_policy') || ' ' ||
	actor_type || ' ' || target_type || ' ' || target_id FROM audit_log WHERE tenant_id = '$A'
	AND action = 'tenant.settings' ORDER BY id DESC LIMIT 1")" "end_of_month end_of_year user tenant $A" \
	"the entry has before, after, the owner and the tenant"
api "${T[owner]}" GET /v1/settings
is "$(jq_get "$BODY" timezone) $(jq_get "$BODY" calling_code) $(jq_get "$BODY" budget_policy) $(jq_get "$BODY" reversal_policy)" \
	"Europe/London 27 nothing negative" "GET shows what was set"
api "$T_B" GET /v1/settings
is "$(jq_get "$BODY" timezone) $(jq_get "$BODY" calling_code) $(jq_get "$BODY" expiry_policy)" \
	"Africa/Harare 263 never" "tenant B's settings are its own, untouched"
api "${T[owner]}" PATCH /v1/settings '{"expiry_policy":"never","timezone":"Africa/Harare","calling_code":"263"}'
is "$STATUS" 200 "back to never, Harare and 263"

# --- bad values --------------------------------------------------------------------------------------
now=$(settings)
n=$(audits)
while IFS='|' read -r body want; do
	api "${T[owner]}" PATCH /v1/settings "$body"
	is "$STATUS $(fields)" "$want" "$body: $want"
done <<'EOF'
{"timezone":"Mars/Olympus_Mons"}|422 timezone
{"timezone":"'; DROP TABLE tenants; --"}|422 timezone
{"timezone":""}|422 timezone
{"timezone":5}|400 timezone
{"calling_code":"0"}|422 calling_code
{"calling_code":"2a"}|422 calling_code
{"calling_code":"+27"}|422 calling_code
{"calling_code":"1234"}|422 calling_code
{"calling_code":27}|400 calling_code
{"other_currencies":["usd"]}|422 other_currencies[0]
{"other_currencies":["ZWG","USD"]}|422 other_currencies[1]
{"other_currencies":["ZWG","ZWG"]}|422 other_currencies[1]
{"other_currencies":["ZWG",1,null]}|422 other_currencies[1] other_currencies[2]
{"other_currencies":["AAA","BBB","CCC","DDD","EEE","FFF","GGG","HHH","III"]}|422 other_currencies
{"other_currencies":"ZWG"}|400 other_currencies
{"auto_enrol":"yes"}|400 auto_enrol
{"auto_enrol":1}|400 auto_enrol
{"expiry_policy":"weekly"}|422 expiry_policy
{"expiry_policy":"days"}|422 expiry_days
{"expiry_days":30}|422 expiry_days
{"expiry_policy":"end_of_month","expiry_days":30}|422 expiry_days
{"expiry_policy":"days","expiry_days":0}|400 expiry_days
{"expiry_policy":"days","expiry_days":3651}|400 expiry_days
{"expiry_policy":"days","expiry_days":1.5}|400 expiry_days
{"budget_policy":"everything"}|422 budget_policy
{"reversal_policy":"forgive"}|422 reversal_policy
{"currency":"ZWG"}|422 currency
{"tenant_id":"00000000-0000-0000-0000-000000000000"}|422 tenant_id
{"rules_version":0}|422 rules_version
{"timezone":"UTC","name":"Renamed"}|422 name
{}|422 body
[]|400 body
EOF
is "$(settings)" "$now" "no bad value changed anything"
is "$(audits)" "$n" "nor wrote an audit entry"
is "$(psql_q "SELECT name || ' ' || currency FROM tenants WHERE id = '$A'")" "Tenant shop-a USD" \
	"the tenant's name and currency are not settings"

# The boundaries that are allowed.
api "${T[owner]}" PATCH /v1/settings '{"expiry_policy":"days","expiry_days":3650,"calling_code":"1"}'
is "$STATUS $(jq_get "$BODY" expiry_days) $(jq_get "$BODY" calling_code)" "200 3650 1" "3650 days and calling code 1"
api "${T[owner]}" PATCH /v1/settings '{"expiry_days":1,"other_currencies":["AAA","BBB","CCC","DDD","EEE","FFF","GGG","HHH"]}'
is "$STATUS $(jq_get "$BODY" expiry_days) $(jq_get "$BODY" other_currencies.7)" "200 1 HHH" "1 day and 8 other currencies"

done_testing
