#!/bin/bash
# Rules at work (issue 5 item 12), through real events: each condition
# (amount range inclusive, currency, days and hours in the tenant's zone,
# Africa/Harare = UTC+2 all year, hours wrapping midnight, tiers, attribute
# equality, the active window against occurred_at) and each action (fixed,
# per-unit with each rounding, exact at 10^12, multiplier); priority order
# and ties by id; stop-after-match; caps per member per local day and month
# across local midnight and a month boundary; a budget that fits 10 awards
# against 100 concurrent events under both budget policies; and
# POST /v1/rules/simulate answering what the event then earns, writing
# nothing.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000 \
	LOYALTY_NGINX_CONN_LIMIT=300
harness_up limits.tenant_rate=1000 limits.tenant_burst=2000

A=$(mk_tenant shop-a) || exit 1
mk_user shop-a admin@a.example admin 'admin-a-password' >/dev/null || exit 1
mk_user shop-a clerk@a.example viewer 'clerk-a-password' >/dev/null || exit 1
login admin@a.example admin-a-password
T=$TOKEN
login clerk@a.example clerk-a-password
T_VIEWER=$TOKEN
[ -n "$T" ] && [ -n "$T_VIEWER" ] || { fail "logins"; exit 1; }
q() { psql_q "$1"; }
is "$(q "SELECT timezone FROM tenants WHERE id = '$A'")" Africa/Harare "the tenant's zone is Africa/Harare"
q "UPDATE tenants SET other_currencies = '{ZWG}' WHERE id = '$A'"

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

# rule JSON: creates a rule; RID is its id.
rule() {
	api "$T" POST /v1/rules "$1"
	RID=$(jv id)
	[ "$STATUS" = 201 ] || fail "rule $1 is created" "$STATUS $BODY"
}
# body TYPE AMOUNT|- OCCURRED [MEMBER [ATTRIBUTES [CURRENCY]]]: an event
# body with a new event id (EID).
N=0
body() {
	local amt=''
	N=$((N + 1))
	EID=ev-$N
	[ "$2" = - ] || amt=',"amount_minor":'$2',"currency":"'${6:-USD}'"'
	EV='{"event_id":"'$EID'","type":"'$1'","member":{"external_id":"'${4:-C-1}'"}'$amt',"occurred_at":"'$3'"'${5:+,\"attributes\":$5}'}'
}
# earn ARGS (as body) -- WANT DESC: the event is recorded (201) and earns WANT.
earn() {
	local args=() want desc
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	want=$2 desc=$3
	body "${args[@]}"
	api "$T" POST /v1/events "$EV"
	is "$STATUS:$(jv points_awarded)" "201:$want" "$desc"
}

# --- conditions -------------------------------------------------------------------------
rule '{"name":"range","event_type":"amt","conditions":{"amount_min":1000,"amount_max":2000},"action":{"kind":"fixed","points":7}}'
earn amt 999 2025-11-03T10:00:00Z -- 0 "amount 999 below amount_min 1000: nothing"
earn amt 1000 2025-11-03T10:00:00Z -- 7 "amount 1000 = amount_min: inclusive"
earn amt 2000 2025-11-03T10:00:00Z -- 7 "amount 2000 = amount_max: inclusive"
earn amt 2001 2025-11-03T10:00:00Z -- 0 "amount 2001 above amount_max: nothing"
earn amt - 2025-11-03T10:00:00Z -- 0 "no amount: an amount condition does not hold"

rule '{"name":"zwg","event_type":"cur","conditions":{"currency":"ZWG"},"action":{"kind":"fixed","points":3}}'
earn cur 500 2025-11-03T10:00:00Z C-1 '' ZWG -- 3 "currency ZWG: the rule's currency"
earn cur 500 2025-11-03T10:00:00Z C-1 '' USD -- 0 "currency USD: not it"
earn cur - 2025-11-03T10:00:00Z -- 0 "no currency: not it"

# 2025-11-14 is a Friday, 2025-11-15 a Saturday; Harare is UTC+2.
rule '{"name":"saturday","event_type":"day","conditions":{"days":["sat"]},"action":{"kind":"fixed","points":5}}'
earn day - 2025-11-14T21:59:59Z -- 0 "Friday 21:59:59Z = Friday 23:59:59 in Harare: not Saturday"
earn day - 2025-11-14T22:00:00Z -- 5 "Friday 22:00Z = Saturday 00:00 in Harare: Saturday"
earn day - 2025-11-15T00:30:00+02:00 -- 5 "Saturday 00:30+02:00 (Friday in UTC): Saturday"
earn day - 2025-11-15T21:59:59Z -- 5 "Saturday 21:59:59Z = Saturday 23:59:59 in Harare"
earn day - 2025-11-15T22:00:00Z -- 0 "Saturday 22:00Z = Sunday 00:00 in Harare: not Saturday"
rule '{"name":"morning","event_type":"hour","conditions":{"hours":{"from":8,"to":10}},"action":{"kind":"fixed","points":4}}'
earn hour - 2025-11-03T05:59:59Z -- 0 "05:59:59Z = 07:59:59 in Harare: before 8"
earn hour - 2025-11-03T06:00:00Z -- 4 "06:00Z = 08:00 in Harare: from 8 (inclusive)"
earn hour - 2025-11-03T07:59:59Z -- 4 "07:59:59Z = 09:59:59 in Harare: in"
earn hour - 2025-11-03T08:00:00Z -- 0 "08:00Z = 10:00 in Harare: to 10 is exclusive"
earn hour - 2025-11-03T09:00:00+01:00 -- 0 "09:00+01:00 = 10:00 in Harare: out"
rule '{"name":"night","event_type":"night","conditions":{"hours":{"from":22,"to":2}},"action":{"kind":"fixed","points":6}}'
earn night - 2025-11-03T19:59:59Z -- 0 "hours 22-2: 21:59:59 in Harare is out"
earn night - 2025-11-03T20:00:00Z -- 6 "hours 22-2: 22:00 in Harare (20:00Z) is in"
earn night - 2025-11-03T22:30:00Z -- 6 "hours 22-2: 00:30 in Harare (22:30Z) is in"
earn night - 2025-11-03T23:59:59Z -- 6 "hours 22-2: 01:59:59 in Harare (23:59:59Z) is in"
earn night - 2025-11-04T00:00:00Z -- 0 "hours 22-2: 02:00 in Harare (00:00Z, in 22-2 UTC) is out"
rule '{"name":"monday small hours","event_type":"monam","conditions":{"days":["mon"],"hours":{"from":0,"to":1}},"action":{"kind":"fixed","points":8}}'
earn monam - 2025-11-16T22:30:00Z -- 8 "Sunday 22:30Z = Monday 00:30 in Harare: day and hour both local"
earn monam - 2025-11-17T00:30:00Z -- 0 "Monday 00:30Z = Monday 02:30 in Harare: out"

# Tiers: the member's, at the time of the event.
rule '{"name":"gold","event_type":"tier","conditions":{"tiers":["gold","platinum"]},"action":{"kind":"fixed","points":9}}'
earn tier - 2025-11-03T10:00:00Z C-tier -- 0 "a member without a tier: a tier rule gives nothing"
q "UPDATE members SET tier = 'gold' WHERE external_id = 'C-tier'"
earn tier - 2025-11-03T10:00:00Z C-tier -- 9 "tier gold: 9"
q "UPDATE members SET tier = 'silver' WHERE external_id = 'C-tier'"
earn tier - 2025-11-03T10:00:00Z C-tier -- 0 "tier silver: nothing"
q "UPDATE members SET tier = 'platinum' WHERE external_id = 'C-tier'"
earn tier - 2025-11-03T10:00:00Z C-tier -- 9 "tier platinum: 9"
q "UPDATE members SET tier = 'Gold' WHERE external_id = 'C-tier'"
earn tier - 2025-11-03T10:00:00Z C-tier -- 0 "tier Gold (another case): nothing"

rule '{"name":"app at cbd","event_type":"attr","conditions":{"attributes":{"store":"cbd","channel":"app"}},"action":{"kind":"fixed","points":11}}'
earn attr - 2025-11-03T10:00:00Z C-1 '{"store":"cbd","channel":"app"}' -- 11 "attributes equal: 11"
earn attr - 2025-11-03T10:00:00Z C-1 '{"channel":"app","store":"cbd","till":"7"}' -- 11 "and more attributes: 11"
earn attr - 2025-11-03T10:00:00Z C-1 '{"store":"cbd"}' -- 0 "one of the two missing: nothing"
earn attr - 2025-11-03T10:00:00Z C-1 '{"store":"CBD","channel":"app"}' -- 0 "another case: nothing"
earn attr - 2025-11-03T10:00:00Z C-1 '{"store":"cbd ","channel":"app"}' -- 0 "a trailing space: nothing"
earn attr - 2025-11-03T10:00:00Z -- 0 "no attributes: nothing"

# The window is against occurred_at (an offline till's late sync included).
rule '{"name":"june","event_type":"win","valid_from":"2025-06-01T00:00:00Z","valid_until":"2025-07-01T00:00:00Z","action":{"kind":"fixed","points":2}}'
earn win - 2025-05-31T23:59:59Z -- 0 "one second before valid_from: nothing"
earn win - 2025-06-01T00:00:00Z -- 2 "at valid_from: inclusive"
earn win - 2025-06-30T23:59:59Z -- 2 "one second before valid_until: 2"
earn win - 2025-07-01T00:00:00Z -- 0 "at valid_until: exclusive"
earn win - 2025-07-01T02:00:00+02:00 -- 0 "at valid_until, written in Harare time: exclusive"
rule '{"name":"future","event_type":"later","valid_from":"2030-01-01T00:00:00Z","action":{"kind":"fixed","points":2}}'
earn later - "$(date -u +%Y-%m-%dT%H:%M:%SZ)" -- 0 "a rule whose window opens in 2030: nothing now"
rule '{"name":"off","event_type":"off","active":false,"action":{"kind":"fixed","points":2}}'
earn off - 2025-11-03T10:00:00Z -- 0 "an inactive rule: nothing"

# --- actions ---------------------------------------------------------------------------------
for r in down nearest up; do
	rule '{"name":"per '$r'","event_type":"pu-'$r'","action":{"kind":"per_unit","points":1,"unit_minor":100,"rounding":"'$r'"}}'
done
pu() {	# pu AMOUNT DOWN NEAREST UP
	local r i=2 got=()
	for r in down nearest up; do
		body "pu-$r" "$1" 2025-11-03T10:00:00Z C-pu
		api "$T" POST /v1/events "$EV"
		got+=("$(jv points_awarded)")
	done
	is "${got[*]}" "$2 $3 $4" "1 point per 100, amount $1: down/nearest/up $2/$3/$4"
}
pu 150 1 2 2
pu 149 1 1 2
pu 151 1 2 2
pu 100 1 1 1
pu 50 0 1 1
pu 49 0 0 1
pu 1 0 0 1
pu 1000000000000 10000000000 10000000000 10000000000
rule '{"name":"3 per 7","event_type":"pu37","action":{"kind":"per_unit","points":3,"unit_minor":7,"rounding":"nearest"}}'
earn pu37 999999999997 2025-11-03T10:00:00Z C-big -- 428571428570 \
	"3 points per 7, amount 999999999997: 428571428570.43 to nearest, exactly"
earn pu37 999999999998 2025-11-03T10:00:00Z C-big -- 428571428571 \
	"amount 999999999998: 428571428570.57 to nearest, exactly"

# Multiplier: percent 200 doubles what the rules before it gave.
rule '{"name":"early x3","event_type":"mul","priority":5,"action":{"kind":"multiplier","percent":300}}'
M0=$RID
rule '{"name":"base","event_type":"mul","priority":10,"action":{"kind":"fixed","points":10}}'
MA=$RID
rule '{"name":"double","event_type":"mul","priority":20,"action":{"kind":"multiplier","percent":200}}'
MM=$RID
rule '{"name":"after","event_type":"mul","priority":30,"action":{"kind":"fixed","points":5}}'
MC=$RID
earn mul - 2025-11-03T10:00:00Z -- 25 "fixed 10, then x2, then fixed 5: 25"
is "$(pj "$BODY" '[[r["rule_id"], r["points"]] for r in d["rules"]]')" \
	"[[\"$M0\", 0], [\"$MA\", 10], [\"$MM\", 10], [\"$MC\", 5]]" \
	"each rule's share, in order: a multiplier before any points gives 0, x2 gives 10"
rule '{"name":"odd","event_type":"mul15","priority":1,"action":{"kind":"fixed","points":7}}'
rule '{"name":"x1.5","event_type":"mul15","priority":2,"action":{"kind":"multiplier","percent":150}}'
earn mul15 - 2025-11-03T10:00:00Z -- 10 "7 x 150%: 10 (3.5 extra, rounded down)"

# Priority order, ties by id.
rule '{"name":"p30","event_type":"ord","priority":30,"action":{"kind":"fixed","points":1}}'
P30=$RID
rule '{"name":"p10","event_type":"ord","priority":10,"action":{"kind":"fixed","points":2}}'
P10=$RID
TIE=()
for i in 1 2 3 4; do
	rule '{"name":"tie '$i'","event_type":"ord","priority":20,"action":{"kind":"fixed","points":3}}'
	TIE+=("$RID")
done
want=$({ echo "$P10"; printf '%s\n' "${TIE[@]}" | LC_ALL=C sort; echo "$P30"; } |
	python3 -c 'import json, sys; print(json.dumps([l.strip() for l in sys.stdin]))')
earn ord - 2025-11-03T10:00:00Z -- 15 "six rules: 2 + 4 x 3 + 1"
is "$(pj "$BODY" '[r["rule_id"] for r in d["rules"]]')" "$want" \
	"evaluated by priority, then by id (not by creation)"

# Stop after a match; a stop rule that does not apply stops nothing.
rule '{"name":"stop","event_type":"stp","priority":1,"stop":true,"action":{"kind":"fixed","points":3}}'
S1=$RID
rule '{"name":"after stop","event_type":"stp","priority":2,"action":{"kind":"fixed","points":4}}'
earn stp - 2025-11-03T10:00:00Z -- 3 "a stop rule matched: the later rule is not applied"
is "$(pj "$BODY" '[r["rule_id"] for r in d["rules"]]')" "[\"$S1\"]" "only the stop rule is listed"
rule '{"name":"gold stop","event_type":"stpt","priority":1,"stop":true,"conditions":{"tiers":["gold"]},"action":{"kind":"fixed","points":100}}'
rule '{"name":"everyone","event_type":"stpt","priority":2,"action":{"kind":"fixed","points":4}}'
E4=$RID
earn stpt - 2025-11-03T10:00:00Z C-silver -- 4 "a new member, without a tier: the gold stop rule does not apply, 4"
q "UPDATE members SET tier = 'silver' WHERE external_id = 'C-silver'"
earn stpt - 2025-11-03T10:00:00Z C-silver -- 4 "a stop rule left out by its tier does not stop: 4"
is "$(pj "$BODY" '[r["rule_id"] for r in d["rules"]]')" "[\"$E4\"]" "and is not listed"
q "UPDATE members SET tier = 'gold' WHERE external_id = 'C-silver'"
earn stpt - 2025-11-03T10:00:00Z C-silver -- 100 "a gold member: the stop rule, 100, alone"
rule '{"name":"big stop","event_type":"stpa","priority":1,"stop":true,"conditions":{"amount_min":5000},"action":{"kind":"fixed","points":50}}'
rule '{"name":"small","event_type":"stpa","priority":2,"action":{"kind":"fixed","points":4}}'
earn stpa 4999 2025-11-03T10:00:00Z -- 4 "a stop rule whose amount does not hold stops nothing"
earn stpa 5000 2025-11-03T10:00:00Z -- 50 "and when it holds, it stops"

# --- caps per member per local day and month -------------------------------------------------
rule '{"name":"daily","event_type":"capd","cap_per_day":15,"action":{"kind":"fixed","points":10}}'
RD=$RID
earn capd - 2025-11-10T21:30:00Z C-cap -- 10 "cap 15/day: 10 on Nov 10 (23:30 in Harare)"
earn capd - 2025-11-10T21:45:00Z C-cap -- 5 "the same local day: 5 left of the cap"
earn capd - 2025-11-10T21:59:59Z C-cap -- 0 "the same local day: nothing left"
earn capd - 2025-11-10T22:00:00Z C-cap -- 10 "22:00Z, the same UTC day, is Nov 11 00:00 in Harare: a new day, 10"
earn capd - 2025-11-11T21:59:59Z C-cap -- 5 "Nov 11 21:59:59Z, another UTC day, is still Nov 11 in Harare: 5"
earn capd - 2025-11-11T22:00:00Z C-cap -- 10 "Nov 11 22:00Z is Nov 12 in Harare: 10"
earn capd - 2025-11-10T21:50:00Z C-cap2 -- 10 "caps are per member: another member on Nov 10: 10"
is "$(q "SELECT string_agg(period || '=' || points, ' ' ORDER BY period) FROM rule_usage WHERE rule_id = '$RD' AND member_id = (SELECT id FROM members WHERE external_id = 'C-cap')")" \
	"2025-11-10=15 2025-11-11=15 2025-11-12=10" "rule_usage: 15, 15 and 10 on the local days"
rule '{"name":"monthly","event_type":"capm","cap_per_month":15,"action":{"kind":"fixed","points":10}}'
earn capm - 2025-11-30T21:30:00Z C-cap -- 10 "cap 15/month: 10 on Nov 30 (23:30 in Harare)"
earn capm - 2025-11-30T21:59:59Z C-cap -- 5 "the same local month: 5"
earn capm - 2025-11-30T22:00:00Z C-cap -- 10 "Nov 30 22:00Z is Dec 1 in Harare: a new month, 10"
earn capm - 2025-12-31T21:59:59Z C-cap -- 5 "Dec 31 23:59:59 in Harare: 5 left in December"
earn capm - 2025-12-31T22:00:00Z C-cap -- 10 "Dec 31 22:00Z is Jan 1 2026 in Harare: a new month, 10"
rule '{"name":"day and month","event_type":"capdm","cap_per_day":8,"cap_per_month":20,"action":{"kind":"per_unit","points":1,"unit_minor":100}}'
earn capdm 1000 2025-11-03T10:00:00Z C-cap -- 8 "per-unit 10 with cap 8/day: 8"
earn capdm 1000 2025-11-04T10:00:00Z C-cap -- 8 "the next day: 8"
earn capdm 1000 2025-11-05T10:00:00Z C-cap -- 4 "the third day: 4, the month's 20 reached"
earn capdm 1000 2025-12-01T10:00:00Z C-cap -- 8 "December: 8 again"

# --- budgets under concurrency -------------------------------------------------------------------
# fire DIR COUNT: COUNT concurrent POST /v1/events of the bodies DIR/i.req.
fire() {
	local dir=$1 n=$2 i pids=()
	for ((i = 0; i < n; i++)); do
		stack_curl -s -o "$dir/$i.body" -w '%{http_code}\n' -X POST \
			-H "Authorization: Bearer $T" -H 'Content-Type: application/json' \
			--data-binary "@$dir/$i.req" "$(stack_url /v1/events)" >"$dir/$i.code" 2>/dev/null &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
}
# tally DIR COUNT: "points:budget_limited xN" of the answers, sorted.
tally() {
	python3 - "$1" "$2" <<'PY'
import collections, json, sys
c = collections.Counter()
for i in range(int(sys.argv[2])):
    try:
        d = json.load(open("%s/%d.body" % (sys.argv[1], i)))
        c["%s:%s" % (d["points_awarded"], str(d["budget_limited"]).lower())] += 1
    except Exception:
        c["bad:" + open("%s/%d.code" % (sys.argv[1], i)).read().strip()] += 1
print(" ".join("%sx%d" % (k, v) for k, v in sorted(c.items())))
PY
}
codes() { cat "$1"/*.code | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd ' '; }
# burst TYPE PREFIX: 100 events of TYPE at once, for members PREFIX-0 to
# PREFIX-99, ids TYPE-0 to TYPE-99; dir is left naming their answers.
burst() {
	local i
	dir=$HARNESS_DIR/$1
	mkdir -p "$dir"
	for ((i = 0; i < 100; i++)); do
		printf '{"event_id":"%s-%d","type":"%s","member":{"external_id":"%s-%d"}}' \
			"$1" "$i" "$1" "$2" "$i" >"$dir/$i.req"
	done
	fire "$dir" 100
}

q "UPDATE tenants SET budget_policy = 'nothing' WHERE id = '$A'"
BUD=$(q "INSERT INTO budgets (tenant_id, name, monthly_limit) VALUES ('$A', 'ten awards', 100) RETURNING id")
rule '{"name":"budgeted","event_type":"bud","action":{"kind":"fixed","points":10},"budget_id":"'"$BUD"'"}'
burst bud B
is "$(codes "$dir")" "201x100" "100 concurrent events against a budget of 10 awards: all 201"
is "$(tally "$dir" 100)" "0:truex90 10:falsex10" \
	"policy nothing: exactly 10 awarded 10, 90 budget-limited with 0"
is "$(q "SELECT used, limited FROM budget_usage WHERE budget_id = '$BUD'")" "100|90" \
	"budget_usage: used 100 = 10 x 10, 90 limited"
is "$(q "SELECT count(*), sum(points) FROM ledger WHERE event_id LIKE 'bud-%'")" "10|100" \
	"10 earn entries, 100 points"
is "$(q "SELECT count(*) FROM events WHERE event_id LIKE 'bud-%' AND budget_limited")" 90 \
	"90 events recorded as budget-limited"

q "UPDATE tenants SET budget_policy = 'partial' WHERE id = '$A'"
BUDP=$(q "INSERT INTO budgets (tenant_id, name, monthly_limit) VALUES ('$A', 'ninety-five', 95) RETURNING id")
rule '{"name":"partial","event_type":"budp","action":{"kind":"fixed","points":10},"budget_id":"'"$BUDP"'"}'
burst budp P
is "$(codes "$dir")" "201x100" "100 concurrent events against a budget of 95: all 201"
is "$(tally "$dir" 100)" "0:truex90 10:falsex9 5:truex1" \
	"policy partial: 9 full awards, the last one partial (5, limited), 90 with nothing"
is "$(q "SELECT used FROM budget_usage WHERE budget_id = '$BUDP'")" 95 "used 95: all of it, no more"

# A budget large enough for 16 slots (sql/0004: a limit of 16,000, 1,000
# each), 100 concurrent events of 300 points under 'nothing': each event
# charges its backend's slot in place, or a free one, or all of them when
# none has room; exactly 16,000 / 300 = 53 are awarded whatever the path.
q "UPDATE tenants SET budget_policy = 'nothing' WHERE id = '$A'"
BUDL=$(q "INSERT INTO budgets (tenant_id, name, monthly_limit) VALUES ('$A', 'sixteen slots', 16000) RETURNING id")
rule '{"name":"large","event_type":"budl","action":{"kind":"fixed","points":300},"budget_id":"'"$BUDL"'"}'
burst budl L
is "$(codes "$dir")" "201x100" "100 concurrent events against a budget of 16 slots: all 201"
is "$(tally "$dir" 100)" "0:truex47 300:falsex53" "policy nothing: exactly 53 awarded 300, 47 limited"
is "$(q "SELECT count(*) || ' ' || sum(quota) || ' ' || sum(used) || ' ' || sum(awards) || ' ' || sum(limited)
	|| ' ' || count(*) FILTER (WHERE used > quota) FROM budget_slots WHERE budget_id = '$BUDL'")" \
	"16 16000 15900 100 47 0" "16 slots, 15,900 used, 100 awards, 47 limited, no slot beyond its share"
q "UPDATE tenants SET budget_policy = 'partial' WHERE id = '$A'"
BUDS=$(q "INSERT INTO budgets (tenant_id, name, monthly_limit) VALUES ('$A', 'twenty-five', 25) RETURNING id")
rule '{"name":"partial in order","event_type":"buds","action":{"kind":"fixed","points":10},"budget_id":"'"$BUDS"'"}'
seq_got=()
for i in 1 2 3 4; do
	body buds - 2025-11-03T10:00:00Z "S-$i"
	api "$T" POST /v1/events "$EV"
	seq_got+=("$(jv points_awarded):$(jv budget_limited)")
done
is "${seq_got[*]}" "10:false 10:false 5:true 0:true" "one after the other: 10, 10, then the 5 left (limited), then 0"

# --- simulate = the real award, and writes nothing --------------------------------------------
sim_digest() {
	q "SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
		SELECT m::text AS x FROM members m
		UNION ALL SELECT e::text FROM events e
		UNION ALL SELECT l::text FROM ledger l
		UNION ALL SELECT o::text FROM lots o
		UNION ALL SELECT b::text FROM budgets b
		UNION ALL SELECT u::text FROM budget_usage u
		UNION ALL SELECT r::text FROM rule_usage r
		UNION ALL SELECT a::text FROM audit_log a) s"
}
counts() { q "SELECT (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM ledger) || ' ' || (SELECT count(*) FROM budget_usage) || ' ' || (SELECT coalesce(sum(used), 0) FROM budget_usage) || ' ' || (SELECT count(*) FROM rule_usage) || ' ' || (SELECT coalesce(sum(points), 0) FROM rule_usage) || ' ' || (SELECT count(*) FROM members)"; }
BUDS2=$(q "INSERT INTO budgets (tenant_id, name, monthly_limit) VALUES ('$A', 'fifteen', 15) RETURNING id")
rule '{"name":"sim budget","event_type":"simb","action":{"kind":"fixed","points":10},"budget_id":"'"$BUDS2"'"}'
SIMS=()
body mul - 2025-11-03T10:00:00Z; SIMS+=("$EV")
body ord - 2025-11-03T10:00:00Z C-sim-new; SIMS+=("$EV")
body capd - 2025-11-11T23:00:00Z C-cap; SIMS+=("$EV")
body capdm 950 2025-12-02T10:00:00Z C-cap; SIMS+=("$EV")
body tier - 2025-11-03T10:00:00Z C-tier; SIMS+=("$EV")
body simb - 2025-11-03T10:00:00Z C-sim-1; SIMS+=("$EV")
body pu-nearest 151 2025-11-03T10:00:00Z C-pu; SIMS+=("$EV")
body day 500 2025-11-14T22:30:00Z C-1 '{"store":"cbd"}' ZWG; SIMS+=("$EV")
q "UPDATE members SET tier = 'gold' WHERE external_id = 'C-tier'"
# Each: simulated (as a viewer), nothing written; then recorded, the same.
wrote=()
i=0
for e in "${SIMS[@]}"; do
	i=$((i + 1))
	before=$(sim_digest) before_n=$(counts)
	api "$T_VIEWER" POST /v1/rules/simulate "$e"
	sst=$STATUS sb=$BODY
	[ "$(sim_digest) $(counts)" = "$before $before_n" ] || wrote+=("$i: $before_n -> $(counts)")
	api "$T" POST /v1/events "$e"
	is "$sst $(pj "$sb" 'sorted(d)') $(jv status "$sb")" \
		'200 ["balance", "budget_limited", "member_id", "points_awarded", "rules", "status"] simulated' \
		"simulation $i: 200, status simulated, the event's fields"
	keys='[d["member_id"], d["points_awarded"], d["rules"], d["budget_limited"], d["balance"]]'
	# A member the simulation enrolled is enrolled for real only by the event.
	[[ $e == *'"C-sim-'* ]] && keys='[d["points_awarded"], d["rules"], d["budget_limited"], d["balance"]]'
	is "$(pj "$sb" "$keys")" "$(pj "$BODY" "$keys")" \
		"simulation $i = the real award ($(jv points_awarded) points, $(pj "$BODY" 'len(d["rules"])') rules)"
done
is "${wrote[*]}" "" "the ${#SIMS[@]} simulations (one enrolling a member, one charging a budget, caps) wrote nothing"
api "$T" POST /v1/rules/simulate "${SIMS[0]}"
refused_eid=$(errs)
is "$STATUS $refused_eid" "422 event_id" "simulating an event already recorded: 422 naming event_id"
body simb - 2025-11-03T10:00:00Z C-sim-2
before=$(sim_digest)
api "$T_VIEWER" POST /v1/rules/simulate "$EV"
is "$STATUS $(pj "$BODY" '[d["points_awarded"], d["budget_limited"]]')" "200 [5, true]" \
	"the budget has 5 left: simulate says 5, limited"
api "$T_VIEWER" POST /v1/rules/simulate '{"type":"simb","member":{"external_id":"C-sim-2"}}'
is "$STATUS $(jv points_awarded)" "200 5" "without an event_id: the same"
api "$T" POST /v1/events "$EV"
is "$STATUS $(pj "$BODY" '[d["points_awarded"], d["budget_limited"]]')" "201 [5, true]" "and so does the event"
api "$T_VIEWER" POST /v1/rules/simulate '{"type":"simb","member":{"external_id":"C-sim-3"},"points":5}'
is "$STATUS" 422 "simulate refuses unknown fields"
is "$(q "SELECT count(*) FROM members WHERE external_id = 'C-sim-3'")" 0 "and enrols nobody"

# --- invariants ---------------------------------------------------------------------------
is "$(q "SELECT count(*) FROM members m WHERE balance <> (SELECT coalesce(sum(points), 0) FROM ledger l
	WHERE l.tenant_id = m.tenant_id AND l.member_id = m.id)")" 0 "every balance = sum(ledger.points)"
is "$(q "SELECT count(*) FROM budget_usage u JOIN budgets b ON b.id = u.budget_id WHERE u.used > b.monthly_limit")" 0 \
	"no budget over its limit"

done_testing
