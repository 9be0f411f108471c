#!/bin/bash
# The five invariants of SPEC §3 after a concurrent storm, checked by SQL.
#
# 20 clients (t/lib/storm.py: threads with keep-alive HTTPS connections,
# bearer tokens and signed requests) send 6,000 mixed requests to two
# tenants whose members, event ids and keys overlap by name: tenant A's 16
# clients events (with exact duplicates and same-id-other-body conflicts),
# reversals whole and partial, adjustments up and down (some beyond the
# balance), redemptions against rewards with and without stock and
# per-member limits, voucher uses and cancellations, Idempotency-Key
# replays with the same and with another body, and reads, all against 5
# members so that they contend; tenant B's 4 clients events of their own.
# Meanwhile, time passes for some of A's lots and vouchers (moved into the
# past by SQL, the member's row locked first as the functions do), the
# expiry run runs again and again, and busy workers are killed with
# SIGKILL: each request that died with its worker is sent again, the same
# bytes, until it has a definite answer.
#
# Then: no 5xx but the 502s of the killed requests, every answer one the
# API documents for it; every effect exactly once (each event id one row
# and at most one earn entry, each Idempotency-Key one effect); and, by SQL
# over every row: (1) balance = sum(ledger), never below -debt, lots hold
# exactly balance + debt, the ledger's running balance; (2) each event id
# processed once, as the clients were told; (3) budget use within its limit
# and equal to what the events charged less what reversals gave back; (4)
# vouchers not cancelled = issued <= stock, per-member limits kept; (5)
# every cross-reference within one tenant and one member, nothing
# half-written, B's balances exactly what B's own events earned, and
# nothing of B changes while A alone is busy.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
# Limits are not under test: nginx's and the tenants' would answer 429.
export LOYALTY_NGINX_REQ_RATE=100000r/s LOYALTY_NGINX_REQ_BURST=100000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000 \
	LOYALTY_NGINX_CONN_LIMIT=1000
WORKERS=4
KILLS=7
# crash_limit: the kills are crashes to the master; it must not give up.
harness_up server.workers=$WORKERS limits.tenant_rate=100000 \
	limits.tenant_burst=100000 server.crash_limit=64

STORM=$HARNESS_T/lib/storm.py
OUT=$HARNESS_DIR/storm
mkdir -p "$OUT"

# --- two tenants ---------------------------------------------------------------
A=$(mk_tenant storm-a) && B=$(mk_tenant storm-b) || exit 1
for t in a b; do
	mk_user "storm-$t" "admin@$t.example" admin "admin-$t-password" >/dev/null &&
		mk_user "storm-$t" "op@$t.example" operator "op-$t-password" >/dev/null ||
		exit 1
done
login admin@a.example admin-a-password
A_ADMIN=$TOKEN
login op@a.example op-a-password
A_OP=$TOKEN
login admin@b.example admin-b-password
B_ADMIN=$TOKEN
login op@b.example op-b-password
B_OP=$TOKEN
mk_key storm-a || exit 1
A_KEY=$KEY_ID A_SECRET=$KEY_SECRET
mk_key storm-b || exit 1
B_KEY=$KEY_ID B_SECRET=$KEY_SECRET
like "$A_OP $B_OP $A_KEY $B_KEY" '^[^ ]{20,} [^ ]{20,} lk_[^ ]+ lk_[^ ]+$' \
	"operators of both tenants logged in, a key for each"

# A's policies (the owner's settings, set here by SQL): lots expire after
# 30 days, a reversal beyond the balance becomes debt, a budget that
# cannot cover an award gives what fits.
psql_q "UPDATE tenants SET expiry_policy = 'days', expiry_days = 30,
	reversal_policy = 'negative', budget_policy = 'partial' WHERE id = '$A'" >/dev/null
is "$(psql_q "SELECT expiry_policy, reversal_policy FROM tenants WHERE id = '$A'")" \
	"days|negative" "A: lots expire after 30 days, reversals may leave debt"

# A: 1 point per 100 minor units, and a 5-point bonus charged to a budget
# that runs out during the storm. B: 7 points an event.
api "$A_ADMIN" POST /v1/budgets '{"name":"storm bonus","monthly_limit":3000}'
is "$STATUS" 201 "A's admin makes a budget of 3000 points a month"
BUDGET=$(jq_get "$BODY" id)
api "$A_ADMIN" POST /v1/rules '{"name":"base","event_type":"purchase","priority":10,
	"action":{"kind":"per_unit","points":1,"unit_minor":100}}'
is "$STATUS" 201 "A's base rule: 1 point per 100"
api "$A_ADMIN" POST /v1/rules "{\"name\":\"bonus\",\"event_type\":\"purchase\",
	\"priority\":20,\"action\":{\"kind\":\"fixed\",\"points\":5},\"budget_id\":\"$BUDGET\"}"
is "$STATUS" 201 "A's bonus rule: 5 points charged to the budget"
api "$B_ADMIN" POST /v1/rules '{"name":"b","event_type":"purchase","action":{"kind":"fixed","points":7}}'
is "$STATUS" 201 "B's rule: 7 points an event"

# A's rewards: costly and unlimited; cheap with a stock that runs out
# (cancellations give it back); cheaper still, two per member.
rewards=()
for spec in '"name":"hamper","cost":500' '"name":"coffee","cost":40,"stock":25' \
	'"name":"sticker","cost":10,"per_member_limit":2'; do
	api "$A_ADMIN" POST /v1/rewards "{$spec}"
	is "$STATUS" 201 "A's admin makes a reward {$spec}"
	rewards+=("$(jq_get "$BODY" id)")
done

# Five members in each tenant, with the same external ids: A's made by
# POST /v1/members, B's enrolled by their first event; each earns once.
declare -A A_M B_M
# shellcheck disable=SC2034 # B_M is read through members_json's nameref
for i in 1 2 3 4 5; do
	api "$A_OP" POST /v1/members "{\"external_id\":\"m$i\"}"
	is "$STATUS" 201 "A: member m$i created"
	A_M[m$i]=$(jq_get "$BODY" id)
	api "$A_OP" POST /v1/events "{\"event_id\":\"warm-$i\",\"type\":\"purchase\",
		\"member\":{\"external_id\":\"m$i\"},\"amount_minor\":30000,\"currency\":\"USD\"}"
	is "$STATUS $(jq_get "$BODY" member_id) $(jq_get "$BODY" points_awarded)" \
		"201 ${A_M[m$i]} 305" "A: m$i earns 300 + 5 on a first event"
	api "$B_OP" POST /v1/events "{\"event_id\":\"warm-$i\",\"type\":\"purchase\",
		\"member\":{\"external_id\":\"m$i\"},\"amount_minor\":30000,\"currency\":\"USD\"}"
	B_M[m$i]=$(jq_get "$BODY" member_id)
	is "$STATUS $(jq_get "$BODY" points_awarded)" "201 7" \
		"B: m$i enrolled by its first event (the same event id as A's), 7 points"
done

# m1 starts the storm in debt: its points all taken by an adjustment, then
# its first event reversed (under 'negative' what was already spent
# becomes debt); its next earnings pay the debt first.
api "$A_OP" POST "/v1/members/${A_M[m1]}/adjustments" '{"points":-305,"reason":"setup: spend it all"}'
is "$STATUS $(jq_get "$BODY" balance)" "201 0" "A: m1's 305 points taken by an adjustment"
api "$A_OP" POST /v1/events/warm-1/reversal '{}'
is "$STATUS $(jq_get "$BODY" points_reversed) $(jq_get "$BODY" balance)" "201 305 -305" \
	"A: m1's first event reversed: balance -305"
is "$(psql_q "SELECT debt FROM members WHERE id = '${A_M[m1]}'")" 305 "A: m1 owes 305 points"
SETUP_ENTRY=$(psql_q "SELECT max(id) FROM ledger WHERE tenant_id = '$A'")

# members_json ARRAY: [{"id":..., "external_id":...}] of an assoc array.
members_json() {
	local -n m=$1
	local k out=''
	for k in "${!m[@]}"; do
		out+="${out:+,}{\"id\":\"${m[$k]}\",\"external_id\":\"$k\"}"
	done
	printf '[%s]' "$out"
}

# storm_config FILE PHASE: the driver's configuration (see t/lib/storm.py).
storm_config() {
	python3 - "$@" <<EOF
import json, sys
out, phase = sys.argv[1], sys.argv[2]
a_mix = {"event": 38, "dup": 5, "conflict": 2.5, "reverse": 9, "adjust": 12,
         "redeem": 13, "cancel": 6, "use": 3, "replay": 3, "mismatch": 1.5,
         "read": 2}
a = {"tenant": "$A", "members": json.loads('$(members_json A_M)'),
     "rewards": "${rewards[*]}".split(), "currency": "USD", "mix": a_mix,
     "auth": [{"bearer": "$A_OP"}, {"key": "$A_KEY", "secret": "$A_SECRET"}],
     "clients": 16}
b = {"tenant": "$B", "members": json.loads('$(members_json B_M)'),
     "rewards": [], "currency": "USD",
     "mix": {"event": 80, "dup": 10, "conflict": 5, "read": 5},
     "auth": [{"bearer": "$B_OP"}, {"key": "$B_KEY", "secret": "$B_SECRET"}],
     "clients": 4}
cfg = {"host": "127.0.0.1", "port": $STACK_HTTPS_PORT, "cafile": "$STACK_CERT",
       "retry_seconds": 60}
if phase == "1":
    a.update(requests=5200, prefix="e")
    b.update(requests=800, prefix="e")
    cfg.update(seed=1, groups=[a, b],
               kill={"master": $(master_pid), "at": [0.1 + 0.12 * i for i in range($KILLS)]})
else:
    a.update(requests=1200, prefix="f")
    cfg.update(seed=2, groups=[a])
json.dump(cfg, open(out, "w"))
EOF
}

# expiry_loop: until the storm is over, time passes for one of A's
# members at a time (a few live lots and an issued voucher moved into the
# past, the member's row locked first, as the functions lock) and the
# expiry run runs; one line per run in $OUT/expiry.rc.
expiry_loop() {
	local m
	while [ ! -e "$OUT/storm.done" ]; do
		m=$(stack_psql -At -v ON_ERROR_STOP=1 2>>"$OUT/expiry.err" <<EOF
BEGIN;
SELECT id AS mid FROM members WHERE tenant_id = '$A'
	ORDER BY random() LIMIT 1 FOR UPDATE \gset
UPDATE lots SET expires_at = now() - interval '1 second'
 WHERE tenant_id = '$A' AND id IN (SELECT id FROM lots WHERE tenant_id = '$A'
	AND member_id = :'mid' AND remaining > 0 AND expires_at > now()
	ORDER BY random() LIMIT 3);
UPDATE vouchers SET expires_at = now() - interval '1 second'
 WHERE tenant_id = '$A' AND code IN (SELECT code FROM vouchers
	WHERE tenant_id = '$A' AND member_id = :'mid' AND status = 'issued'
	ORDER BY random() LIMIT 1);
COMMIT;
SELECT :'mid';
EOF
		)
		printf 'move %s %s\n' "$?" "$m" >>"$OUT/expiry.rc"
		expire_run >>"$OUT/expiry.out" 2>>"$OUT/expiry.err"
		printf 'run %s\n' "$?" >>"$OUT/expiry.rc"
		sleep 0.2
	done
}

# expire_run: the expiry run as the hourly timer runs it, loyaltyctl
# expire (every tenant); with a loyaltyctl that does not have the command
# yet, expire_due() by SQL as the application, for tenant A.
if "$LOYALTYCTL" --help 2>&1 | grep -qE '^ +expire '; then
	EXPIRE_BY="loyaltyctl expire"
	expire_run() { ctl expire; }
else
	EXPIRE_BY="expire_due() by SQL (this loyaltyctl has no expire command)"
	expire_run() {
		stack_psql -At <<EOF
BEGIN;
SET LOCAL ROLE loyalty;
SELECT set_config('loyalty.tenant_id', '$A', true);
SELECT * FROM expire_due('storm');
COMMIT;
EOF
	}
fi

# storm PHASE: one run of the driver, with the expiry loop beside it.
storm() {
	local loop rc
	storm_config "$OUT/config$1.json" "$1" || return 1
	rm -f "$OUT/storm.done"
	expiry_loop &
	loop=$!
	python3 "$STORM" "$OUT/config$1.json" "$OUT" >"$OUT/summary$1.json" 2>"$OUT/storm$1.err"
	rc=$?
	[ "$rc" -eq 0 ] || tail -n 20 "$OUT/storm$1.err"
	touch "$OUT/storm.done"
	wait "$loop"
	mv "$OUT/requests.tsv" "$OUT/requests$1.tsv" 2>/dev/null
	return $rc
}

# s PHASE EXPR: a Python expression over the summary "s" of a phase.
s() {
	python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); r = eval(sys.argv[2]); print(json.dumps(r) if isinstance(r, (dict, list)) else r)' \
		"$OUT/summary$1.json" "$2"
}

# none DESC SQL: the query finds nothing; what it finds is the failure.
none() {
	local out
	if ! out=$(psql_q "$2" 2>&1); then
		fail "$1" "SQL failed: $out"
	elif [ -n "$out" ]; then
		fail "$1" "$(printf '%s\n' "$out" | head -n 15)"
	else
		pass "$1"
	fi
}

# --- phase 1: the storm, with kills ----------------------------------------------
diag "setup took $SECONDS s"
master=$(master_pid)
start=$SECONDS
check "the storm runs to its end (t/lib/storm.py)" storm 1
diag "storm: $(s 1 '{k: s[k] for k in ("clients", "requests", "elapsed", "seen", "died", "attempt_errors", "replayed_after_death")}')"
diag "by kind and status: $(s 1 's["counts"]')"
diag "kills: $(s 1 '[(k["pid"], k["route"]) for k in s["kills"]]')"
cmp_num "$(s 1 's["clients"]')" -ge 16 "at least 16 concurrent clients"
cmp_num "$(s 1 's["requests"]')" -ge 5000 "at least 5,000 requests"
for kind in event dup conflict reverse adjust redeem cancel use replay mismatch; do
	cmp_num "$(s 1 "sum(s['counts'].get('$kind', {}).values())")" -ge 20 \
		"the mix has $kind requests"
done
cmp_num "$(s 1 's["counts"].get("reverse", {}).get("201", 0)')" -ge 20 "reversals succeed"
cmp_num "$(s 1 's["counts"].get("adjust", {}).get("422", 0)')" -ge 5 "some adjustments are refused (beyond the balance)"
cmp_num "$(s 1 's["counts"].get("redeem", {}).get("201", 0)')" -ge 20 "redemptions issue vouchers"
cmp_num "$(s 1 's["counts"].get("redeem", {}).get("422", 0)')" -ge 5 "some redemptions are refused (points, stock or limit)"
cmp_num "$(s 1 's["counts"].get("cancel", {}).get("200", 0)')" -ge 5 "cancellations succeed"
is "$(s 1 's["unexpected_n"]')" 0 "every answer is one the API documents for its request" ||
	diag "$(s 1 's["unexpected"][:10]')"
is "$(s 1 'sum(v for k, v in s["seen"].items() if k.startswith("5") and k != "502")')" 0 \
	"no 5xx but the 502s of killed requests"
is "$(s 1 's["seen"].get("None", 0)')" 0 "no connection to nginx breaks"
is "$(s 1 'len(s["kills"])')" "$KILLS" "$KILLS busy workers killed with SIGKILL during the storm"
cmp_num "$(s 1 's["seen"].get("502", 0)')" -le "$KILLS" "at most one 502 per kill (a worker serves one request)"
cmp_num "$(s 1 's["died_n"]')" -ge 1 "requests died with their worker (502) and were sent again"
is "$(s 1 'len(s["gave_up"])')" 0 "every request that died had a definite answer on retry" ||
	diag "$(s 1 's["gave_up"][:5]')"
is "$(s 1 's["foreign_n"]')" 0 "no answer names another tenant's member"
diag "phase 1 took $((SECONDS - start)) s"

# The pool: the same master, back to full strength; each kill logged.
replaced() { [ "$(worker_pids | grep -c .)" -eq "$WORKERS" ]; }
check "the pool is back to $WORKERS workers" wait_for 10 replaced
is "$(master_pid)" "$master" "the master is the same process"
for pid in $(s 1 '" ".join(str(k["pid"]) for k in s["kills"])'); do
	line=$(log_lines worker_exit | grep -F "\"worker_pid\":$pid,")
	is "$(jq_get "$line" signal_name)" KILL "worker $pid: worker_exit signal KILL"
done

# Expiry had work and every run succeeded.
runs=$(grep -c '^run ' "$OUT/expiry.rc")
cmp_num "$runs" -ge 3 "the expiry run ran during the storm ($runs times, $EXPIRE_BY)"
is "$(grep -v ' 0' "$OUT/expiry.rc" | grep -c .)" 0 "every expiry run and every move of time succeeded" ||
	diag "$(head -c 2000 "$OUT/expiry.err")"

# --- phase 2: A alone; nothing of B changes ----------------------------------------
b_digest() {
	psql_q "SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
		SELECT t::text AS x FROM tenants t WHERE id = '$B'
		UNION ALL SELECT m::text FROM members m WHERE tenant_id = '$B'
		UNION ALL SELECT e::text FROM events e WHERE tenant_id = '$B'
		UNION ALL SELECT l::text FROM ledger l WHERE tenant_id = '$B'
		UNION ALL SELECT l::text FROM lots l WHERE tenant_id = '$B'
		UNION ALL SELECT r::text FROM rules r WHERE tenant_id = '$B'
		UNION ALL SELECT v::text FROM vouchers v WHERE tenant_id = '$B'
		UNION ALL SELECT k::text FROM idempotency_keys k WHERE tenant_id = '$B'
		UNION ALL SELECT a::text FROM audit_log a WHERE tenant_id = '$B') q"
}
before=$(b_digest)
like "$before" '^[0-9a-f]{32}$' "B's rows digested"
check "an A-only storm runs to its end" storm 2
diag "A alone: $(s 2 '{k: s[k] for k in ("requests", "elapsed", "seen", "counts")}')"
is "$(s 2 's["unexpected_n"]') $(s 2 'sum(v for k, v in s["seen"].items() if k.startswith("5"))')" "0 0" \
	"A alone: every answer documented, no 5xx" || diag "$(s 2 's["unexpected"][:10]')"
is "$(b_digest)" "$before" "nothing of B changed while A alone was busy"

# --- what the clients were told, beside the database ------------------------------
psql_q "DROP SCHEMA IF EXISTS storm CASCADE; CREATE SCHEMA storm;
	CREATE TABLE storm.req (tenant uuid, kind text, ref text, status int,
	died boolean, replayed boolean, v1 text, v2 text);" >/dev/null
for f in "$OUT"/requests1.tsv "$OUT"/requests2.tsv; do
	stack_psql -c "\\copy storm.req FROM '$f'" ||
		fail "load $f into storm.req"
done
is "$(psql_q "SELECT count(*) FROM storm.req")" \
	"$(($(s 1 's["requests"]') + $(s 2 's["requests"]')))" "every request's answer loaded for the checks"
TENANTS="('$A', '$B')"

# (2) Each event id processed at most once, as the clients were told.
none "no event id was answered 201 twice" \
	"SELECT tenant, ref, count(*) FROM storm.req WHERE kind IN ('event', 'dup', 'conflict')
	 AND status = 201 GROUP BY 1, 2 HAVING count(*) > 1"
none "every event the clients saw recorded (200/201) has its row, with its body's hash and points" \
	"SELECT q.tenant, q.ref, q.status FROM storm.req q LEFT JOIN events e
	   ON e.tenant_id = q.tenant AND e.event_id = q.ref
	 WHERE q.kind = 'event' AND q.status IN (200, 201)
	   AND (e.event_id IS NULL OR encode(e.request_hash, 'hex') <> q.v1
	        OR e.points::text <> q.v2)"
none "no event row the clients were not told of" \
	"SELECT e.tenant_id, e.event_id FROM events e WHERE e.tenant_id IN $TENANTS
	   AND e.event_id NOT LIKE 'warm-%' AND NOT EXISTS (SELECT 1 FROM storm.req q
	   WHERE q.tenant = e.tenant_id AND q.ref = e.event_id AND q.kind = 'event'
	   AND q.status IN (200, 201))"
is "$(psql_q "SELECT count(*) FILTER (WHERE v2 <> 'same'), count(*) FROM storm.req WHERE kind = 'dup'")" \
	"0|$(psql_q "SELECT count(*) FROM storm.req WHERE kind = 'dup'")" \
	"every exact duplicate got the first answer's body"
none "the ledger has at most one earn entry per event id" \
	"SELECT tenant_id, event_id, count(*) FROM ledger WHERE kind = 'earn'
	 GROUP BY 1, 2 HAVING count(*) > 1"
none "every earn entry has its event: same tenant, member and points" \
	"SELECT l.tenant_id, l.id, l.event_id FROM ledger l LEFT JOIN events e
	   ON e.tenant_id = l.tenant_id AND e.event_id = l.event_id
	 WHERE l.kind = 'earn' AND (e.event_id IS NULL OR e.member_id <> l.member_id
	   OR e.points <> l.points)"
none "every event with points has exactly one earn entry; one without, none" \
	"SELECT e.tenant_id, e.event_id, e.points, count(l.id) FROM events e
	 LEFT JOIN ledger l ON l.tenant_id = e.tenant_id AND l.event_id = e.event_id
	   AND l.kind = 'earn'
	 GROUP BY 1, 2, 3 HAVING count(l.id) <> (e.points > 0)::int"

# (1) Balances.
none "(1) every balance = the sum of its ledger entries" \
	"SELECT m.tenant_id, m.id, m.balance, coalesce(sum(l.points), 0) FROM members m
	 LEFT JOIN ledger l ON l.tenant_id = m.tenant_id AND l.member_id = m.id
	 GROUP BY 1, 2, 3 HAVING m.balance <> coalesce(sum(l.points), 0)"
none "(1) no balance below -debt; none negative without debt" \
	"SELECT tenant_id, id, balance, debt FROM members
	 WHERE balance < -debt OR (debt = 0 AND balance < 0)"
none "(1) lots hold exactly balance + debt (what can be spent)" \
	"SELECT m.tenant_id, m.id, m.balance, m.debt, coalesce(sum(o.remaining), 0) FROM members m
	 LEFT JOIN lots o ON o.tenant_id = m.tenant_id AND o.member_id = m.id
	 GROUP BY 1, 2, 3, 4 HAVING coalesce(sum(o.remaining), 0) - m.debt <> m.balance"
none "(1) each ledger entry's balance_after is the running sum of the member's entries" \
	"SELECT tenant_id, member_id, id, balance_after, run FROM (SELECT *, sum(points)
	 OVER (PARTITION BY tenant_id, member_id ORDER BY id) AS run FROM ledger) x
	 WHERE balance_after <> run"
none "(1) lifetime points = the sum of earn entries" \
	"SELECT m.tenant_id, m.id, m.lifetime_points FROM members m
	 WHERE m.lifetime_points <> (SELECT coalesce(sum(points), 0) FROM ledger l
	   WHERE l.tenant_id = m.tenant_id AND l.member_id = m.id AND l.kind = 'earn')"
diag "A's members: $(psql_q "SELECT string_agg(external_id || ' balance ' || balance || ' debt ' || debt, ', ' ORDER BY external_id) FROM members WHERE tenant_id = '$A'");" \
	"ledger entries that left a balance below zero (debt): $(psql_q "SELECT count(*) FROM ledger WHERE tenant_id = '$A' AND balance_after < 0")"

cmp_num "$(psql_q "SELECT count(*) FROM ledger WHERE tenant_id = '$A' AND member_id = '${A_M[m1]}'
	AND kind = 'earn' AND id > $SETUP_ENTRY")" -ge 1 "m1 earned again after its debt (which its earnings pay first)"

# Expiry: entries for lots whose time had come, one per lot.
cmp_num "$(psql_q "SELECT count(*) FROM ledger WHERE tenant_id = '$A' AND kind = 'expire'")" -ge 1 \
	"expiry took points from lots whose time had come"
none "each expire entry names a lot of its member, emptied, expired, once" \
	"SELECT l.tenant_id, l.id, l.lot_id FROM ledger l LEFT JOIN lots o
	   ON o.tenant_id = l.tenant_id AND o.id = l.lot_id
	 WHERE l.kind = 'expire' AND (o.id IS NULL OR o.member_id <> l.member_id
	   OR o.remaining <> 0 OR o.expires_at > l.at OR (SELECT count(*) FROM ledger x
	   WHERE x.tenant_id = l.tenant_id AND x.lot_id = l.lot_id AND x.kind = 'expire') <> 1)"

# (3) Budgets.
none "(3) no budget's use in a month exceeds its limit" \
	"SELECT u.budget_id, u.month, u.used, b.monthly_limit FROM budget_usage u
	 JOIN budgets b ON b.tenant_id = u.tenant_id AND b.id = u.budget_id
	 WHERE u.used > b.monthly_limit"
cmp_num "$(psql_q "SELECT count(*) FROM events WHERE tenant_id = '$A' AND budget_limited")" -ge 1 \
	"(3) awards the budget could not cover say budget_limited"
none "(3) budget use = what events charged less what their reversals gave back" \
	"SELECT u.budget_id, u.month, u.used, x.net FROM budget_usage u LEFT JOIN (
	   SELECT e.tenant_id, (b->>'budget_id')::uuid AS budget_id, (b->>'month')::date AS month,
	     sum((b->>'points')::bigint - (b->>'points')::bigint * e.reversed_points / e.points) AS net
	   FROM events e, jsonb_array_elements(e.budgets) b GROUP BY 1, 2, 3) x
	   ON x.tenant_id = u.tenant_id AND x.budget_id = u.budget_id AND x.month = u.month
	 WHERE u.used <> coalesce(x.net, 0)"

# (4) Rewards and vouchers.
none "(4) each reward: vouchers not cancelled = issued <= stock" \
	"SELECT w.tenant_id, w.name, w.issued, w.stock, (SELECT count(*) FROM vouchers v
	   WHERE v.tenant_id = w.tenant_id AND v.reward_id = w.id AND v.status <> 'cancelled') AS n
	 FROM rewards w WHERE w.issued <> (SELECT count(*) FROM vouchers v
	   WHERE v.tenant_id = w.tenant_id AND v.reward_id = w.id AND v.status <> 'cancelled')
	   OR w.issued > coalesce(w.stock, w.issued)"
diag "redemptions refused: $(psql_q "SELECT string_agg(n || ' ' || why, ', ') FROM (SELECT
	CASE WHEN v1 ILIKE '%stock%' THEN 'out of stock' WHEN v1 ILIKE '%balance%' THEN 'insufficient'
	WHEN v1 ILIKE '%most%' THEN 'over the limit' ELSE v1 END AS why, count(*) AS n
	FROM storm.req WHERE kind = 'redeem' AND status = 422 GROUP BY 1) x")"
cmp_num "$(psql_q "SELECT count(*) FROM storm.req WHERE kind = 'redeem' AND status = 422
	AND v2 = '${rewards[1]}' AND v1 ILIKE '%stock%'")" -ge 1 \
	"(4) the reward with a stock of 25 ran out: redemptions of it refused for stock"
none "(4) no member holds more of a reward than its per-member limit" \
	"SELECT v.member_id, w.name, count(*) FROM vouchers v JOIN rewards w
	   ON w.tenant_id = v.tenant_id AND w.id = v.reward_id
	 WHERE v.status <> 'cancelled' AND w.per_member_limit IS NOT NULL
	 GROUP BY v.member_id, w.name, w.per_member_limit HAVING count(*) > w.per_member_limit"
none "(4) the vouchers are exactly those the redemptions answered 201 with, at the reward's cost" \
	"SELECT coalesce(v.code, q.v1), v.status, q.status FROM
	   (SELECT v.*, w.cost FROM vouchers v JOIN rewards w ON w.tenant_id = v.tenant_id
	    AND w.id = v.reward_id WHERE v.tenant_id IN $TENANTS) v
	 FULL JOIN (SELECT * FROM storm.req WHERE kind = 'redeem' AND status = 201) q
	   ON q.tenant = v.tenant_id AND q.v1 = v.code
	 WHERE v.code IS NULL OR q.v1 IS NULL OR v.points <> v.cost OR v.reward_id::text <> q.v2"
# (A cancel or use that died may have done its work before the retry was
# told the voucher is no longer issued.)
none "cancelled and used vouchers are those the clients cancelled and used" \
	"SELECT q.kind, q.ref, v.status FROM storm.req q JOIN vouchers v
	   ON v.tenant_id = q.tenant AND v.code = q.ref
	 WHERE q.kind IN ('cancel', 'use') AND q.status = 200
	   AND v.status <> CASE q.kind WHEN 'cancel' THEN 'cancelled' ELSE 'used' END
	 UNION ALL SELECT 'nobody did', v.code, v.status FROM vouchers v
	 WHERE v.tenant_id IN $TENANTS AND v.status IN ('cancelled', 'used')
	   AND NOT EXISTS (SELECT 1 FROM storm.req q WHERE q.tenant = v.tenant_id
	   AND q.ref = v.code AND (q.status = 200 OR q.died)
	   AND q.kind = CASE v.status WHEN 'cancelled' THEN 'cancel' ELSE 'use' END)"
cmp_num "$(psql_q "SELECT count(*) FROM vouchers WHERE tenant_id = '$A' AND status = 'expired'")" -ge 1 \
	"vouchers past their date expired"

# (5) and nothing half-written: every cross-reference.
none "every redeem entry has its voucher (same member, its points) and each voucher one" \
	"SELECT coalesce(v.code, l.voucher_code) FROM (SELECT * FROM ledger WHERE kind = 'redeem') l
	 FULL JOIN vouchers v ON v.tenant_id = l.tenant_id AND v.code = l.voucher_code
	 WHERE l.id IS NULL OR v.code IS NULL OR v.member_id <> l.member_id OR -l.points <> v.points"
none "every refund entry has a cancelled voucher and each cancelled voucher one" \
	"SELECT coalesce(v.code, l.voucher_code), v.status FROM (SELECT * FROM ledger WHERE kind = 'refund') l
	 FULL JOIN (SELECT * FROM vouchers WHERE status = 'cancelled') v
	   ON v.tenant_id = l.tenant_id AND v.code = l.voucher_code
	 WHERE l.id IS NULL OR v.code IS NULL OR v.member_id <> l.member_id OR l.points <> v.points"
none "every reverse entry names an event of its member; they add up to its reversed points" \
	"SELECT e.tenant_id, e.event_id, e.reversed_points, -sum(l.points) FROM events e
	 LEFT JOIN ledger l ON l.tenant_id = e.tenant_id AND l.event_id = e.event_id
	   AND l.kind = 'reverse' AND l.member_id = e.member_id
	 GROUP BY 1, 2, 3 HAVING e.reversed_points <> coalesce(-sum(l.points), 0)
	 UNION ALL SELECT l.tenant_id, l.event_id, NULL, l.id FROM ledger l
	 WHERE l.kind = 'reverse' AND NOT EXISTS (SELECT 1 FROM events e
	   WHERE e.tenant_id = l.tenant_id AND e.event_id = l.event_id AND e.member_id = l.member_id)"
none "each event's reversed amount = the sum of the reversals answered 201 (each key once)" \
	"SELECT e.event_id, e.reversed_minor, coalesce(q.sum, 0) FROM events e LEFT JOIN
	   (SELECT tenant, v1, sum(v2::bigint) FROM storm.req WHERE kind = 'reverse'
	    AND status = 201 GROUP BY 1, 2) q ON q.tenant = e.tenant_id AND q.v1 = e.event_id
	 WHERE e.tenant_id IN $TENANTS AND e.event_id NOT LIKE 'warm-%'
	   AND e.reversed_minor <> coalesce(q.sum, 0)"
none "the adjust entries are exactly the adjustments answered 201, each once, with their points" \
	"SELECT coalesce(l.reason, q.v1), l.points, q.v2 FROM
	   (SELECT * FROM ledger WHERE kind = 'adjust' AND tenant_id IN $TENANTS
	    AND reason NOT LIKE 'setup: %') l
	 FULL JOIN (SELECT * FROM storm.req WHERE kind = 'adjust' AND status = 201) q
	   ON q.tenant = l.tenant_id AND q.v1 = l.reason
	 WHERE l.id IS NULL OR q.ref IS NULL OR l.points::text <> q.v2"
none "no adjustment (each with a reason of its own) took effect twice" \
	"SELECT tenant_id, reason, count(*) FROM ledger WHERE kind = 'adjust'
	 GROUP BY 1, 2 HAVING count(*) > 1"
none "the Idempotency-Keys stored are exactly those of the requests that succeeded" \
	"SELECT coalesce(k.key, q.ref) FROM (SELECT * FROM idempotency_keys WHERE tenant_id IN $TENANTS) k
	 FULL JOIN (SELECT * FROM storm.req WHERE kind IN ('reverse', 'adjust', 'redeem')
	   AND status BETWEEN 200 AND 299) q ON q.tenant = k.tenant_id AND q.ref = k.key
	 WHERE k.key IS NULL OR q.ref IS NULL"
is "$(psql_q "SELECT count(*) FILTER (WHERE v1 <> 'same') FROM storm.req WHERE kind = 'replay'")" 0 \
	"every replay of a key answered the first answer, status and body, Idempotent-Replayed"
is "$(psql_q "SELECT count(*) FILTER (WHERE status <> 422 OR v1 <> 'named') FROM storm.req WHERE kind = 'mismatch'")" 0 \
	"every key sent with another body refused, 422 naming Idempotency-Key"
none "every ledger entry's lot, event and voucher are its own member's" \
	"SELECT l.tenant_id, l.id, l.kind FROM ledger l WHERE
	   (l.lot_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lots o WHERE o.tenant_id = l.tenant_id
	     AND o.id = l.lot_id AND o.member_id = l.member_id))
	OR (l.event_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = l.tenant_id
	     AND e.event_id = l.event_id AND e.member_id = l.member_id))
	OR (l.voucher_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM vouchers v WHERE v.tenant_id = l.tenant_id
	     AND v.code = l.voucher_code AND v.member_id = l.member_id))"
none "(5) every member's event, lot, ledger entry and voucher is in the member's tenant" \
	"SELECT 'event', x.tenant_id, x.member_id FROM events x WHERE NOT EXISTS (SELECT 1 FROM members m
	   WHERE m.tenant_id = x.tenant_id AND m.id = x.member_id)
	 UNION ALL SELECT 'lot', x.tenant_id, x.member_id FROM lots x WHERE NOT EXISTS (SELECT 1
	   FROM members m WHERE m.tenant_id = x.tenant_id AND m.id = x.member_id)
	 UNION ALL SELECT 'ledger', x.tenant_id, x.member_id FROM ledger x WHERE NOT EXISTS (SELECT 1
	   FROM members m WHERE m.tenant_id = x.tenant_id AND m.id = x.member_id)
	 UNION ALL SELECT 'voucher', x.tenant_id, x.member_id FROM vouchers x WHERE NOT EXISTS (SELECT 1
	   FROM members m WHERE m.tenant_id = x.tenant_id AND m.id = x.member_id)
	 UNION ALL SELECT 'voucher reward', x.tenant_id, x.reward_id FROM vouchers x WHERE NOT EXISTS
	   (SELECT 1 FROM rewards w WHERE w.tenant_id = x.tenant_id AND w.id = x.reward_id)"
none "every event's lot is its member's" \
	"SELECT e.tenant_id, e.event_id FROM events e WHERE e.lot_id IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM lots o WHERE o.tenant_id = e.tenant_id
	   AND o.id = e.lot_id AND o.member_id = e.member_id)"
# B: only its own events, 7 points each, whatever A did with the same ids.
none "(5) each of B's members has exactly 7 points per event of its own, and only earn entries" \
	"SELECT m.external_id, m.balance, (SELECT count(*) FROM events e WHERE e.tenant_id = m.tenant_id
	   AND e.member_id = m.id) FROM members m WHERE m.tenant_id = '$B'
	   AND (m.balance <> 7 * (SELECT count(*) FROM events e WHERE e.tenant_id = m.tenant_id
	   AND e.member_id = m.id) OR EXISTS (SELECT 1 FROM ledger l WHERE l.tenant_id = m.tenant_id
	   AND l.member_id = m.id AND l.kind <> 'earn'))"
is "$(psql_q "SELECT count(*) FROM members WHERE tenant_id = '$B'")" 5 "B still has its 5 members, no more"
shared=$(psql_q "SELECT count(*) FROM events a JOIN events b ON b.event_id = a.event_id
	WHERE a.tenant_id = '$A' AND b.tenant_id = '$B'")
cmp_num "$shared" -ge 100 "both tenants recorded events under the same ids ($shared), each its own"

# Exactly once, for the requests that died with a worker in particular.
diag "died and retried: $(psql_q "SELECT string_agg(kind || ' ' || ref || ' -> ' || status
	|| CASE WHEN replayed THEN ' (replayed)' ELSE '' END, '; ') FROM storm.req WHERE died")"
none "each died-and-retried request took effect exactly once" \
	"SELECT q.kind, q.ref, q.status FROM storm.req q WHERE q.died AND NOT CASE q.kind
	 WHEN 'event' THEN (SELECT count(*) FROM events e WHERE e.tenant_id = q.tenant
	   AND e.event_id = q.ref) = 1 AND (SELECT count(*) FROM ledger l WHERE l.tenant_id = q.tenant
	   AND l.event_id = q.ref AND l.kind = 'earn') <= 1
	 WHEN 'adjust' THEN (SELECT count(*) FROM ledger l WHERE l.tenant_id = q.tenant
	   AND l.reason = q.v1) = (q.status = 201)::int
	 WHEN 'redeem' THEN (SELECT count(*) FROM idempotency_keys k WHERE k.tenant_id = q.tenant
	   AND k.key = q.ref) = (q.status = 201)::int AND (q.status <> 201 OR EXISTS (SELECT 1
	   FROM vouchers v WHERE v.tenant_id = q.tenant AND v.code = q.v1))
	 WHEN 'reverse' THEN (SELECT count(*) FROM idempotency_keys k WHERE k.tenant_id = q.tenant
	   AND k.key = q.ref) = (q.status = 201)::int
	 WHEN 'cancel' THEN (SELECT count(*) FROM ledger l WHERE l.tenant_id = q.tenant
	   AND l.voucher_code = q.ref AND l.kind = 'refund') <= 1
	 ELSE true END"

diag "storm.t took $SECONDS s"
done_testing
