#!/bin/bash
# POST/GET /v1/rules and GET/PATCH/DELETE /v1/rules/{id} from outside
# (issue 5 item 4): create, read, list, patch, delete; a body with several
# faults is one 422 naming each; unknown fields at every level; PATCH checks
# the merged rule; a change is seen by the very next event on every worker;
# a budget of another tenant is no budget; viewers read but do not write;
# another tenant's rule is the same 404 as a missing one.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=1000 limits.tenant_burst=2000

A=$(mk_tenant shop-a) && B=$(mk_tenant shop-b) || exit 1
mk_user shop-a owner@a.example owner 'owner-a-password' >/dev/null || exit 1
mk_user shop-a admin@a.example admin 'admin-a-password' >/dev/null || exit 1
mk_user shop-a clerk@a.example viewer 'clerk-a-password' >/dev/null || exit 1
mk_user shop-a op@a.example operator 'op-a-password' >/dev/null || exit 1
mk_user shop-b owner@b.example owner 'owner-b-password' >/dev/null || exit 1
mk_key shop-a || exit 1
login admin@a.example admin-a-password
T=$TOKEN
login clerk@a.example clerk-a-password
T_VIEWER=$TOKEN
login op@a.example op-a-password
T_OP=$TOKEN
login owner@b.example owner-b-password
T_B=$TOKEN
[ -n "$T" ] && [ -n "$T_VIEWER" ] && [ -n "$T_OP" ] && [ -n "$T_B" ] || { fail "logins"; exit 1; }
WORKERS=$(worker_pids | wc -l)
cmp_num "$WORKERS" -ge 2 "the daemon runs several workers ($WORKERS)"

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
refused() {	# refused DESC FIELD: the last response is a 422 naming FIELD
	local ct
	ct=$(header Content-Type | sed 's/;.*//')
	if [ "$STATUS" = 422 ] && [ "$ct" = application/problem+json ] &&
		[[ " $(errs) " == *" $2 "* ]]; then
		pass "$1: 422 naming $2"
	else
		fail "$1: a 422 problem naming $2" "got $STATUS $ct: ${BODY:0:600}"
	fi
}
q() { psql_q "$1"; }
rules_digest() { q "SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r.id), '')) FROM rules r"; }

# --- create, read, list --------------------------------------------------------------
FULL='{"name":"Weekend double","event_type":"purchase","active":true,"priority":10,"valid_from":"2026-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z","conditions":{"amount_min":1000,"amount_max":500000,"currency":"USD","days":["sat","sun"],"hours":{"from":8,"to":20},"tiers":["gold","silver"],"attributes":{"store":"harare-cbd"}},"action":{"kind":"per_unit","points":2,"unit_minor":100,"rounding":"nearest"},"cap_per_day":500,"cap_per_month":5000,"stop":true}'
api "$T" POST /v1/rules "$FULL"
is "$STATUS $(header Content-Type)" "201 application/json" "POST /v1/rules with every field: 201"
R1=$(jv id)
like "$R1" '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "it has an id"
CREATED=$BODY
is "$(pj "$BODY" '{k: v for k, v in d.items() if k not in ("id", "created_at", "updated_at")}')" \
	"$(pj "$FULL" 'dict(d, budget_id=None)')" "the rule reads back as sent"
like "$(jv created_at)" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "created_at in RFC 3339 UTC"
api "$T" GET "/v1/rules/$R1"
is "$STATUS" 200 "GET /v1/rules/{id}"
is "$(pj "$BODY" d)" "$(pj "$CREATED" d)" "the same rule"
api "$T" POST /v1/rules '{"name":"Visit","event_type":"visit","action":{"kind":"per_unit","points":1,"unit_minor":100}}'
is "$STATUS" 201 "a minimal rule"
R2=$(jv id)
is "$(pj "$BODY" '[d["active"], d["priority"], d["stop"], d["conditions"], d["action"], d["valid_from"], d["valid_until"], d["cap_per_day"], d["cap_per_month"], d["budget_id"]]')" \
	'[true, 100, false, {}, {"kind": "per_unit", "points": 1, "rounding": "down", "unit_minor": 100}, null, null, null, null, null]' \
	"defaults: active, priority 100, no stop, no conditions, rounding down, no window, caps or budget"
api "$T" POST /v1/rules '{"name":"Bonus","event_type":"purchase","action":{"kind":"multiplier","percent":150},"active":false}'
is "$STATUS" 201 "a multiplier rule, inactive"
R3=$(jv id)
api "$T_VIEWER" GET /v1/rules
is "$STATUS" 200 "a viewer lists the rules"
is "$(pj "$BODY" '[r["id"] for r in d["items"]]')" "[\"$R1\", \"$R2\", \"$R3\"]" "all three, oldest first"
is "$(jv next)" null "one page"
api "$T" GET '/v1/rules?limit=2'
is "$(pj "$BODY" '[r["id"] for r in d["items"]]')" "[\"$R1\", \"$R2\"]" "limit=2: the first two"
NEXT=$(jv next)
isnt "$NEXT" null "and a cursor"
api "$T" GET "/v1/rules?limit=2&after=$NEXT"
is "$(pj "$BODY" '[[r["id"] for r in d["items"]], d["next"]]')" "[[\"$R3\"], null]" "after it: the third, no more"
api "$T" GET '/v1/rules?limit=100000'
is "$STATUS" 400 "a huge limit: 400"
api "$T_VIEWER" GET "/v1/rules/$R1"
is "$STATUS" 200 "a viewer reads a rule"
is "$(q "SELECT count(*) FROM audit_log WHERE action = 'rule.create' AND tenant_id = '$A'")" 3 "each create is audited"

# --- who may write -------------------------------------------------------------------
before=$(rules_digest)
api "$T_VIEWER" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1}}'
is "$STATUS" 403 "a viewer cannot create: 403"
api "$T_OP" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1}}'
is "$STATUS" 403 "an operator cannot create: 403"
signed "$KEY_ID" "$KEY_SECRET" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1}}'
is "$STATUS" 403 "a key (an operator) cannot create: 403"
api "$T_VIEWER" PATCH "/v1/rules/$R1" '{"priority":1}'
is "$STATUS" 403 "a viewer cannot patch: 403"
api "$T_VIEWER" DELETE "/v1/rules/$R1"
is "$STATUS" 403 "a viewer cannot delete: 403"
signed "$KEY_ID" "$KEY_SECRET" GET /v1/rules
is "$STATUS" 200 "a key lists the rules"
is "$(rules_digest)" "$before" "no rule changed"

# --- validation: a body with several faults -----------------------------------------
before=$(rules_digest)
# (A problem lists at most 16 faults: each body below has fewer.)
api "$T" POST /v1/rules '{"name":"","event_type":"Bad Type","priority":-1,"valid_from":"yesterday","valid_until":"2026-13-01T00:00:00Z","action":{"kind":"per_unit","points":0,"rounding":"sideways"},"cap_per_day":0,"cap_per_month":1000000001,"stop":"yes","active":1,"budget_id":"not-a-uuid"}'
is "$STATUS $(header Content-Type)" "422 application/problem+json" "a body with 13 faults: one 422"
for f in name event_type priority valid_from valid_until action.points action.unit_minor action.rounding \
	cap_per_day cap_per_month stop active budget_id; do
	refused "the 13-fault body" "$f"
done
is "$(pj "$BODY" 'len(d["errors"])')" 13 "13 faults listed, no more"
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"conditions":{"amount_min":0,"amount_max":1000000000001,"currency":"usd","days":["mon","xyz","mon"],"hours":{"from":25,"to":0},"tiers":["gold",""],"attributes":{"store":7}}}'
is "$STATUS" 422 "a body with 9 faults in its conditions: one 422"
for f in conditions.amount_min conditions.amount_max conditions.currency 'conditions.days[1]' \
	'conditions.days[2]' conditions.hours.from conditions.hours.to 'conditions.tiers[1]' \
	conditions.attributes.store; do
	refused "the 9-fault conditions" "$f"
done
is "$(pj "$BODY" 'len(d["errors"])')" 9 "9 faults listed"
api "$T" POST /v1/rules '{}'
for f in name event_type action; do refused "an empty body" "$f"; done
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{}}'
refused "an action without a kind" action.kind
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"double"}}'
refused "an unknown action kind" action.kind
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed"}}'
refused "a fixed action without points" action.points
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1000000001}}'
refused "fixed points beyond 10^9" action.points
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1.5}}'
refused "fixed points 1.5" action.points
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":"5"}}'
refused "fixed points as a string" action.points
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"multiplier"}}'
refused "a multiplier without percent" action.percent
for p in 100 1001 50 150.0; do
	api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"multiplier","percent":'$p'}}'
	refused "multiplier percent $p" action.percent
done
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1,"percent":200}}'
refused "percent in a fixed action" action.percent
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"multiplier","percent":200,"points":1}}'
refused "points in a multiplier" action.points
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1,"unit_minor":100}}'
refused "unit_minor in a fixed action" action.unit_minor
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"valid_from":"2026-06-01T00:00:00Z","valid_until":"2026-06-01T00:00:00Z"}'
refused "valid_until equal to valid_from" valid_until
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"valid_from":"2026-06-01T00:00:00Z","valid_until":"2026-05-01T00:00:00Z"}'
refused "valid_until before valid_from" valid_until
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"conditions":{"amount_min":500,"amount_max":499}}'
refused "amount_max below amount_min" conditions.amount_max
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"conditions":{"hours":{"from":8,"to":8}}}'
refused "hours from = to" conditions.hours
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"conditions":{"hours":{"from":8}}}'
refused "hours without to" conditions.hours.to
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"conditions":{"days":[]}}'
refused "no days" conditions.days
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"conditions":{"days":"mon"}}'
refused "days as a string" conditions.days
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"conditions":{"tiers":[]}}'
refused "no tiers" conditions.tiers
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"conditions":{"tiers":["gold","gold"]}}'
refused "a repeated tier" 'conditions.tiers[1]'
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"conditions":[]}'
refused "conditions as an array" conditions
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":"fixed"}'
refused "action as a string" action
api "$T" POST /v1/rules '{"name":"'"$(printf 'n%.0s' {1..101})"'","event_type":"visit","action":{"kind":"fixed","points":1}}'
refused "a name of 101 bytes" name
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"budget_id":"'"$(uuid | tr a-f A-F)"'"}'
refused "an upper-case budget id" budget_id
api "$T" POST /v1/rules '[]'
like "$STATUS" '^4[0-9][0-9]$' "an array body: 4xx"
api "$T" POST /v1/rules '{"name":"x",'
like "$STATUS" '^4[0-9][0-9]$' "broken JSON: 4xx"

# Unknown fields at every level.
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"points":5}'
refused "an unknown top-level field" points
for f in id tenant_id created_at updated_at deleted_at seq; do
	api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"'$f'":"2026-01-01T00:00:00Z"}'
	refused "a client cannot set $f" "$f"
done
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"conditions":{"weekday":"mon"}}'
refused "an unknown condition" conditions.weekday
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"conditions":{"hours":{"from":1,"to":2,"tz":"UTC"}}}'
refused "an unknown field of hours" conditions.hours.tz
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1,"bonus":2}}'
refused "an unknown field of the action" action.bonus
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1,"bonus":2},"conditions":{"weekday":"mon","hours":{"from":1,"to":2,"tz":"UTC"}},"points":5}'
is "$(errs)" "points conditions.weekday conditions.hours.tz action.bonus" \
	"unknown fields at four levels in one body: each named"
is "$(rules_digest)" "$before" "no refused body wrote a rule"
is "$(q "SELECT count(*) FROM audit_log WHERE action LIKE 'rule.%' AND tenant_id = '$A'")" 3 "nor an audit entry"

# --- budgets: of this tenant only -------------------------------------------------------
BUD_A=$(q "INSERT INTO budgets (tenant_id, name, monthly_limit) VALUES ('$A', 'promo', 1000) RETURNING id")
BUD_B=$(q "INSERT INTO budgets (tenant_id, name, monthly_limit) VALUES ('$B', 'b promo', 1000) RETURNING id")
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"budget_id":"'"$BUD_B"'"}'
is "$STATUS" 422 "a rule charging another tenant's budget: 422"
refused "another tenant's budget" budget_id
s1=$STATUS b1=$(sans_rid "$BODY")
api "$T" POST /v1/rules '{"name":"x","event_type":"visit","action":{"kind":"fixed","points":1},"budget_id":"'"$(uuid)"'"}'
is "$s1 $b1" "422 $(sans_rid "$BODY")" "the same answer as for a budget that does not exist"
api "$T" POST /v1/rules '{"name":"promo","event_type":"visit","action":{"kind":"fixed","points":1},"budget_id":"'"$BUD_A"'"}'
is "$STATUS $(jv budget_id)" "201 $BUD_A" "a rule charging the tenant's own budget: 201"
R4=$(jv id)
api "$T" PATCH "/v1/rules/$R4" '{"budget_id":"'"$BUD_B"'"}'
refused "PATCH to another tenant's budget" budget_id
api "$T" GET "/v1/rules/$R4"
is "$(jv budget_id)" "$BUD_A" "the rule still charges its own budget"
api "$T" PATCH "/v1/rules/$R4" '{"budget_id":null}'
is "$STATUS $(jv budget_id)" "200 null" "budget_id null: charges no budget"

# --- PATCH --------------------------------------------------------------------------------
api "$T" PATCH "/v1/rules/$R2" '{"priority":5,"name":"Visit, renamed"}'
is "$STATUS" 200 "PATCH: 200"
is "$(pj "$BODY" '[d["priority"], d["name"], d["event_type"], d["action"]]')" \
	'[5, "Visit, renamed", "visit", {"kind": "per_unit", "points": 1, "rounding": "down", "unit_minor": 100}]' \
	"the fields given change, the others stay"
api "$T" GET "/v1/rules/$R2"
is "$(jv priority)" 5 "GET sees the change"
is "$(q "SELECT count(*) FROM audit_log WHERE action = 'rule.update' AND target_id = '$R2'")" 1 "the change is audited"
before=$(rules_digest)
api "$T" PATCH "/v1/rules/$R2" '{"action":{"kind":"fixed"}}'
refused "PATCH: the merged rule is checked (a fixed action needs points)" action.points
api "$T" PATCH "/v1/rules/$R1" '{"valid_from":"2027-06-01T00:00:00Z"}'
refused "PATCH valid_from after the rule's valid_until" valid_until
api "$T" PATCH "/v1/rules/$R1" '{"conditions":{"amount_min":10,"amount_max":5}}'
refused "PATCH conditions with amount_max below amount_min" conditions.amount_max
api "$T" PATCH "/v1/rules/$R1" '{"id":"'"$(uuid)"'"}'
refused "PATCH id" id
api "$T" PATCH "/v1/rules/$R1" '{"created_at":"2000-01-01T00:00:00Z"}'
refused "PATCH created_at" created_at
api "$T" PATCH "/v1/rules/$R1" '{"priority":"high","bogus":1,"conditions":{"days":["funday"]}}'
is "$(errs)" "bogus priority conditions.days[0]" "PATCH with three faults: each named"
api "$T" PATCH "/v1/rules/$R1" '[]'
like "$STATUS" '^4[0-9][0-9]$' "PATCH with an array: 4xx"
is "$(rules_digest)" "$before" "refused PATCHes changed nothing"
api "$T" PATCH "/v1/rules/$R1" '{"conditions":{}}'
is "$STATUS $(jq_get "$BODY" conditions)" "200 {}" "PATCH replaces conditions whole"
api "$T" PATCH "/v1/rules/$R1" '{"action":{"kind":"fixed","points":3}}'
is "$STATUS $(jq_get "$BODY" action)" '200 {"kind": "fixed", "points": 3}' "and the action whole"

# A fraction of a second is dropped, as for events: a rule valid until the
# last second of 9999 (written with a fraction) is stored and applies.
api "$T" POST /v1/rules '{"name":"forever","event_type":"forever","valid_from":"2020-01-01T00:00:00.5Z","valid_until":"9999-12-31T23:59:59.9999999Z","action":{"kind":"fixed","points":4}}'
is "$STATUS $(jv valid_from) $(jv valid_until)" "201 2020-01-01T00:00:00Z 9999-12-31T23:59:59Z" \
	"valid_until 9999-12-31T23:59:59.9999999Z: 201, read back without the fraction"
api "$T" POST /v1/events '{"event_id":"forever-1","type":"forever","member":{"external_id":"C-forever"}}'
is "$STATUS $(jv points_awarded)" "201 4" "and the rule applies to an event now"
is "$(log_lines rule_load | wc -l)" 0 "no stored rule failed to load"

# --- another tenant's rule: the same 404 as a missing one ------------------------------
NO_RULE=$(uuid)
for m in GET PATCH DELETE; do
	body=()
	[ "$m" = PATCH ] && body=('{"priority":1}')
	api "$T_B" "$m" "/v1/rules/$R1" "${body[@]}"
	s1=$STATUS b1=$(sans_rid "$BODY")
	api "$T_B" "$m" "/v1/rules/$NO_RULE" "${body[@]}"
	is "$s1 $b1" "404 $(sans_rid "$BODY")" "B's owner: $m on A's rule = on a missing one (404)"
done
api "$T_B" GET /v1/rules
is "$(jq_get "$BODY" items)" "[]" "B's list is empty"
api "$T" GET /v1/rules/not-a-uuid
is "$STATUS" 404 "a malformed id: 404"

# --- a change is seen by the next event, on every worker --------------------------------
# Each step sends several events (new ids) so that both workers answer
# after the change; each must see it.
N=0
GOT=''
earns() {	# earns TYPE COUNT: GOT = status:points of COUNT new events of TYPE
	local i out=()
	for ((i = 0; i < $2; i++)); do
		N=$((N + 1))
		api "$T" POST /v1/events '{"event_id":"seen-'$N'","type":"'"$1"'","member":{"external_id":"C-seen"},"amount_minor":1000,"currency":"USD"}'
		out+=("$STATUS:$(jv points_awarded)")
	done
	GOT="${out[*]}"
}
times() { local i out=(); for ((i = 0; i < $2; i++)); do out+=("$1"); done; echo "${out[*]}"; }
earns coffee 6
is "$GOT" "$(times 201:0 6)" "no coffee rule: coffee earns nothing (both workers cache that)"
api "$T" POST /v1/rules '{"name":"Coffee","event_type":"coffee","action":{"kind":"fixed","points":10}}'
RC=$(jv id)
earns coffee 6
is "$GOT" "$(times 201:10 6)" "after POST: every next event earns 10"
api "$T" PATCH "/v1/rules/$RC" '{"action":{"kind":"fixed","points":20}}'
earns coffee 6
is "$GOT" "$(times 201:20 6)" "after PATCH points 20: every next event earns 20"
api "$T" PATCH "/v1/rules/$RC" '{"active":false}'
earns coffee 6
is "$GOT" "$(times 201:0 6)" "after PATCH active false: nothing"
api "$T" PATCH "/v1/rules/$RC" '{"active":true,"conditions":{"amount_min":1001}}'
earns coffee 6
is "$GOT" "$(times 201:0 6)" "after PATCH amount_min above the amount: nothing"
api "$T" PATCH "/v1/rules/$RC" '{"conditions":{}}'
earns coffee 6
is "$GOT" "$(times 201:20 6)" "conditions cleared: 20 again"
api "$T" DELETE "/v1/rules/$RC"
is "$STATUS" 204 "DELETE: 204"
earns coffee 6
is "$GOT" "$(times 201:0 6)" "after DELETE: every next event earns nothing"
is "$(log_lines request | grep -F '"path":"/v1/events"' | sed -n 's/.*"pid":\([0-9]*\).*/\1/p' | sort -u | wc -l)" \
	"$WORKERS" "the events were answered by every worker"
api "$T" GET "/v1/rules/$RC"
is "$STATUS" 404 "a deleted rule: 404"
api "$T" PATCH "/v1/rules/$RC" '{"priority":1}'
is "$STATUS" 404 "PATCH a deleted rule: 404"
api "$T" DELETE "/v1/rules/$RC"
is "$STATUS" 404 "DELETE it again: 404"
api "$T" GET /v1/rules
is "$(pj "$BODY" '"'"$RC"'" in [r["id"] for r in d["items"]]')" false "it is gone from the list"
is "$(q "SELECT deleted_at IS NOT NULL FROM rules WHERE id = '$RC'")" t \
	"the row stays (events name the rules that gave them points)"
api "$T" GET /v1/events/seen-7
is "$(pj "$BODY" 'd["rules"]')" "[{\"points\": 10, \"rule_id\": \"$RC\"}]" "an old event still names the deleted rule"
is "$(q "SELECT count(*) FROM audit_log WHERE action = 'rule.delete' AND target_id = '$RC'")" 1 "the delete is audited"

done_testing
