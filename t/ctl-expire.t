#!/bin/bash
# loyaltyctl expire: for each merchant tenant (or the one of --tenant), in a
# transaction of its own, lots whose time has come (expires_at <= now())
# become one 'expire' ledger entry each for what is left of them, issued
# vouchers past their date become 'expired', Idempotency-Key records older
# than 48 hours go; an audit entry when something changed. A second run
# changes nothing. Time passes by moving expires_at back with psql.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
harness_dir
stack_init "$HARNESS_DIR" && stack_pg_start && stack_createdb &&
	stack_write_config && stack_migrate || { fail "the database starts"; exit 1; }

q() { psql_q "$1"; }
# app TENANT SQL: SQL as loyaltyd would run it, as the role loyalty with
# the tenant set, so row-level security binds it; prints its rows.
app() {
	stack_psql -At <<EOF
BEGIN;
SET LOCAL ROLE loyalty;
SELECT set_config('loyalty.tenant_id', '$1', true) AS t \gset
$2;
COMMIT;
EOF
}
member() { app "$1" "INSERT INTO members (tenant_id, external_id) VALUES (app_tenant(), '$2') RETURNING id"; }
# give TENANT MEMBER POINTS: a positive adjustment, a lot; prints its id
# (nothing when adjust() did not say "done": the caller checks).
give() {
	local out
	out=$(app "$1" "SELECT outcome FROM adjust('$2', $3, 'seed', 'user', 'test', 'seed')")
	[ "$out" = done ] || { echo "adjust($2, $3): $out" >&2; return 1; }
	q "SELECT max(id) FROM lots WHERE member_id = '$2'"
}
redeem() {
	local out
	out=$(app "$1" "SELECT outcome FROM redeem('$2', '$3', '$4', 'user', 'test', 'redeem')")
	[ "$out" = done ] || fail "redeem($2, $4)" "$out"
}
# The rows an expiry run can touch, as one digest: equal digests, nothing
# changed (updated_at, balances and remaining included).
digest() {
	q "SELECT md5(concat_ws('|',
		(SELECT string_agg(m::text, ',' ORDER BY tenant_id, id) FROM members m),
		(SELECT string_agg(l::text, ',' ORDER BY tenant_id, id) FROM lots l),
		(SELECT string_agg(e::text, ',' ORDER BY tenant_id, id) FROM ledger e),
		(SELECT string_agg(v::text, ',' ORDER BY tenant_id, code) FROM vouchers v),
		(SELECT string_agg(k::text, ',' ORDER BY tenant_id, key) FROM idempotency_keys k),
		(SELECT string_agg(a::text, ',' ORDER BY tenant_id, id) FROM audit_log a)))"
}
# Every member's balance is the sum of its ledger (invariant 1).
balances_agree() {
	q "SELECT count(*) FROM members m WHERE balance <> coalesce((SELECT sum(points)
		FROM ledger e WHERE e.tenant_id = m.tenant_id AND e.member_id = m.id), 0)"
}
expires() { q "SELECT string_agg(lot_id || ':' || points, ' ' ORDER BY lot_id) FROM ledger
	WHERE tenant_id = '$1' AND kind = 'expire'"; }
remaining() { q "SELECT remaining FROM lots WHERE id = $1"; }

# --- the tenants: A and B expire after a day (B suspended), C never -------
A=$(mk_tenant exp-a) && B=$(mk_tenant exp-b) && C=$(mk_tenant exp-c) ||
	{ fail "the tenants are made"; exit 1; }
q "UPDATE tenants SET expiry_policy = 'days', expiry_days = 1 WHERE slug IN ('exp-a', 'exp-b');
	UPDATE tenants SET status = 'suspended' WHERE slug = 'exp-b'" >/dev/null

m1=$(member "$A" m1) m2=$(member "$A" m2) m3=$(member "$A" m3)
l1=$(give "$A" "$m1" 100) l2=$(give "$A" "$m1" 50) l3=$(give "$A" "$m1" 30)
l4=$(give "$A" "$m2" 40) l5=$(give "$A" "$m3" 25)
like "$m1 $m2 $m3" '^[0-9a-f-]{36} [0-9a-f-]{36} [0-9a-f-]{36}$' "three members in A"
like "$l1 $l2 $l3 $l4 $l5" '^[0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+$' "five lots, by adjust()"
# 20 spent from m1: from l1, the soonest-expiring (then the lowest id).
is "$(app "$A" "SELECT outcome FROM adjust('$m1', -20, 'spent', 'user', 'test', 'spend')")" \
	done "m1 spends 20"
is "$(remaining "$l1")" 80 "taken from its first lot"
# m2 redeems three vouchers of 10: l4 keeps 10.
w=$(app "$A" "INSERT INTO rewards (tenant_id, name, cost) VALUES (app_tenant(), 'Coffee', 10) RETURNING id")
redeem "$A" "$m2" "$w" EXPV000001
redeem "$A" "$m2" "$w" EXPV000002
redeem "$A" "$m2" "$w" EXPV000003
is "$(remaining "$l4")" 10 "m2's lot keeps 10 after three redemptions of 10"
b1=$(member "$B" b1) lb=$(give "$B" "$b1" 70)
c1=$(member "$C" c1) lc=$(give "$C" "$c1" 60)
like "$lb $lc" '^[0-9]+ [0-9]+$' "a lot in B and one in C"
is "$(q "SELECT expires_at IS NULL FROM lots WHERE id = $lc")" t "C's lot never expires"
cmp_num "$(q "SELECT count(*) FROM lots WHERE expires_at > now() + interval '23 hours'
	AND tenant_id IN ('$A', '$B')")" -eq 6 "A's and B's lots expire in a day"

# Time passes: l1 and m2's l4 are past, l2 is due at the moment psql runs,
# l3 is an hour off (l5 still a day); B's lot is past. Voucher 1 is past
# its date, 2 is not, 3 is past but was used.
q "UPDATE lots SET expires_at = now() - interval '1 hour' WHERE id IN ($l1, $l4, $lb);
	UPDATE lots SET expires_at = now() WHERE id = $l2;
	UPDATE lots SET expires_at = now() + interval '1 hour' WHERE id = $l3;
	UPDATE vouchers SET expires_at = now() - interval '1 minute' WHERE code = 'EXPV000001';
	UPDATE vouchers SET status = 'used', used_at = now(),
		expires_at = now() - interval '1 minute' WHERE code = 'EXPV000003'" >/dev/null
# Idempotency-Key records: one of 49 hours and one of 47 in A, an old one in B.
q "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response, created_at)
	VALUES ('$A', 'old', sha256('o'), 201, '{}', now() - interval '49 hours'),
	       ('$A', 'fresh', sha256('f'), 201, '{}', now() - interval '47 hours'),
	       ('$B', 'old', sha256('o'), 201, '{}', now() - interval '49 hours')" >/dev/null

# The boundary exactly, in one transaction (now() is the same throughout):
# expires_at = now() expires, one microsecond later does not. Rolled back.
out=$(stack_psql -At <<EOF
BEGIN;
SET LOCAL ROLE loyalty;
SELECT set_config('loyalty.tenant_id', '$A', true) AS t \gset
UPDATE lots SET expires_at = now() WHERE id = $l5;
UPDATE lots SET expires_at = now() + interval '1 microsecond' WHERE id = $l3;
SELECT lots_expired || ' ' || points_expired FROM expire_due('boundary');
SELECT remaining FROM lots WHERE id IN ($l5, $l3) ORDER BY id;
ROLLBACK;
EOF
)
# l1 80 + l2 50 + l4 10, and l5's 25 at exactly now(); l3 stays.
is "$(echo $out)" "4 165 30 0" "expires_at = now() expires, now() + 1 µs does not"
is "$(remaining "$l5")" 25 "(rolled back)"

# --- the first run, for A alone ---------------------------------------------
ledger_b=$(q "SELECT count(*) FROM ledger WHERE tenant_id = '$B'")
out=$(ctl expire --tenant exp-a 2>&1)
is "$?" 0 "expire --tenant exp-a exits 0"
like "$out" '(^|
)expire exp-a: 3 lots \(140 points\), 1 voucher expired' "it reports A: 3 lots, 140 points, 1 voucher"
like "$out" 'expire: 1 tenant, 3 lots \(140 points\), 1 voucher expired in [0-9]+ ms' "and the totals"
unlike "$out" 'exp-b|exp-c|platform' "and no other tenant"
is "$(expires "$A")" "$l1:-80 $l2:-50 $l4:-10" \
	"one expire entry per lot, for what was left of it (the due-now lot included)"
is "$(q "SELECT string_agg(DISTINCT actor_type || '/' || actor_id, ' ') FROM ledger WHERE kind = 'expire'")" \
	"cli/$(id -un)" "the entries' actor: cli, the system user who ran it"
is "$(remaining "$l1") $(remaining "$l2") $(remaining "$l3") $(remaining "$l4") $(remaining "$l5")" \
	"0 0 30 0 25" "those lots are empty; the lots due in an hour and in a day are whole"
is "$(q "SELECT balance FROM members WHERE id = '$m1'") $(q "SELECT balance FROM members WHERE id = '$m2'")" \
	"30 0" "the balances: m1 keeps its future lot, m2 has nothing left"
is "$(balances_agree)" 0 "every balance is the sum of its ledger"
is "$(q "SELECT count(*) FROM ledger l WHERE kind = 'expire' AND balance_after <>
	(SELECT sum(points) FROM ledger p WHERE p.tenant_id = l.tenant_id
	 AND p.member_id = l.member_id AND p.id <= l.id)")" 0 "each entry's balance_after is the running sum"
is "$(q "SELECT string_agg(code || ':' || status || ':' || (expired_at IS NOT NULL), ' ' ORDER BY code) FROM vouchers")" \
	"EXPV000001:expired:true EXPV000002:issued:false EXPV000003:used:false" \
	"the voucher past its date is expired; the current one and the used one are not"
is "$(q "SELECT count(*) FROM ledger WHERE voucher_code = 'EXPV000001' AND kind = 'refund'")" 0 \
	"an expired voucher's points are not returned"
is "$(q "SELECT string_agg(tenant_id || ':' || key, ' ' ORDER BY tenant_id = '$A' DESC, key)
	FROM idempotency_keys")" "$A:fresh $B:old" \
	"A's Idempotency-Key record of 49 hours is gone, the one of 47 is kept; B's is not touched"
is "$(remaining "$lb") $(q "SELECT count(*) FROM ledger WHERE tenant_id = '$B'")" "70 $ledger_b" \
	"B's due lot is untouched by A's run"
audit=$(q "SELECT actor_type || ' ' || actor_id || ' ' || action || ' ' || target_type || ' ' ||
	target_id || ' ' || after::text FROM audit_log WHERE tenant_id = '$A' AND action = 'points.expire'")
is "$audit" "cli $(id -un) points.expire tenant $A {\"lots_expired\": 3, \"points_expired\": 140, \"vouchers_expired\": 1}" \
	"one audit entry for A, with what expired"

# --- again: nothing changes ---------------------------------------------------
before=$(digest)
out=$(ctl expire --tenant exp-a 2>&1)
is "$?" 0 "the second run exits 0"
like "$out" 'expire exp-a: 0 lots \(0 points\), 0 vouchers expired' "and reports nothing expired"
is "$(digest)" "$before" "it changed nothing: no ledger entry, lot, balance, voucher or audit entry"

# --- every tenant, as JSON ------------------------------------------------------
out=$(ctl expire --json)
is "$?" 0 "expire --json exits 0"
is "$(python3 -c 'import json, sys
d = json.loads(sys.argv[1])
print(" ".join("%s:%d:%d:%d" % (t["slug"], t["lots_expired"], t["points_expired"],
	t["vouchers_expired"]) for t in d["tenants"]),
	"totals:%(lots_expired)d:%(points_expired)d:%(vouchers_expired)d" % d["totals"],
	"failed:%d" % len(d["failed"]))' "$out" 2>&1)" \
	"exp-a:0:0:0 exp-b:1:70:0 exp-c:0:0:0 totals:1:70:0 failed:0" \
	"the JSON parses: every merchant tenant (the suspended B too, not the platform), the totals"
is "$(expires "$B") $(remaining "$lb")" "$lb:-70 0" "B's lot expired"
is "$(remaining "$lc")" 60 "C's lot, which never expires, is whole"
is "$(q "SELECT count(*) FROM idempotency_keys WHERE tenant_id = '$B'")" 0 "B's old Idempotency-Key record is gone"
is "$(q "SELECT count(*) FROM audit_log WHERE action = 'points.expire'")" 2 \
	"audit entries only where something changed: A's first run and B's"
before=$(digest)
out=$(ctl expire --json)
is "$?" 0 "and again"
is "$(jq_get "$out" totals.lots_expired) $(jq_get "$out" totals.vouchers_expired)" "0 0" "nothing expired"
is "$(digest)" "$before" "nothing changed"
is "$(balances_agree)" 0 "every balance is still the sum of its ledger"

# --- bad command lines ------------------------------------------------------------
out=$(ctl expire --bogus 2>&1)
is "$?" 2 "an unknown option: exit 2"
like "$out" 'usage: loyaltyctl expire \[--tenant SLUG\] \[--json\]' "with the usage"
out=$(ctl expire extra 2>&1)
is "$?" 2 "an argument: exit 2"
out=$(ctl expire --tenant nosuch 2>&1)
is "$?" 2 "an unknown tenant: exit 2"
like "$out" 'no merchant tenant with slug "nosuch"' "says so"
out=$(ctl expire --tenant platform 2>&1)
is "$?" 2 "the platform's tenant is not a merchant's: exit 2"

# --- a tenant that fails is rolled back; the others still run -------------------
q "UPDATE lots SET expires_at = now() - interval '1 minute' WHERE id = $l3" >/dev/null
lb2=$(give "$B" "$b1" 15)
like "$lb2" '^[0-9]+$' "another lot in B"
q "UPDATE lots SET expires_at = now() - interval '1 minute' WHERE id = $lb2" >/dev/null
mkfifo "$HARNESS_DIR/hold"
( (printf 'BEGIN;\nSELECT 1 FROM members WHERE id = %s FOR UPDATE;\n' "'$m1'"
	cat "$HARNESS_DIR/hold") | stack_psql >/dev/null 2>&1) &
holder=$!
row_locked() {
	[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'
		AND query LIKE '%FOR UPDATE%'")" = 1 ]
}
wait_for 20 row_locked || fail "another session locks m1's row"
before_a=$(q "SELECT count(*) FROM ledger WHERE tenant_id = '$A'")
out=$(PGOPTIONS='-c lock_timeout=300ms' ctl expire --json 2>"$HARNESS_DIR/err")
is "$?" 1 "m1's row locked elsewhere (lock_timeout): exit 1"
err=$(cat "$HARNESS_DIR/err")
like "$err" 'expire: exp-a: .*lock timeout' "the message names the tenant and the cause"
like "$err" 'expire failed for 1 tenant' "and counts the failure"
is "$(python3 -c 'import json, sys
d = json.loads(sys.argv[1])
print(" ".join("%s:%d" % (t["slug"], t["points_expired"]) for t in d["tenants"]),
	"failed:" + ",".join(d["failed"]))' "$out" 2>&1)" "exp-b:15 exp-c:0 failed:exp-a" \
	"the JSON: B and C still ran, A is listed as failed"
is "$(remaining "$l3") $(q "SELECT count(*) FROM ledger WHERE tenant_id = '$A'")" "30 $before_a" \
	"nothing of A's failed run is left"
echo 'ROLLBACK;' >"$HARNESS_DIR/hold"
wait "$holder"
out=$(ctl expire --tenant exp-a 2>&1)
is "$?" 0 "once the row is free, A's run succeeds"
like "$out" 'expire exp-a: 1 lot \(30 points\), 0 vouchers expired' "and expires m1's last lot"
is "$(q "SELECT balance FROM members WHERE id = '$m1'") $(balances_agree)" "0 0" \
	"m1 is at 0, and every balance is the sum of its ledger"

# --- one run at a time ---------------------------------------------------------------
( (printf 'SELECT pg_advisory_lock(7813960851613440123);\n'; cat "$HARNESS_DIR/hold") |
	stack_psql >/dev/null 2>&1) &
holder=$!
advisory() {
	[ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 1 ]
}
wait_for 20 advisory || fail "another session holds the lock"
out=$(timeout 20 "$LOYALTYCTL" -c "$STACK_CONF" expire 2>&1)
is "$?" 75 "a concurrent run exits 75"
like "$out" 'another expire is running \(advisory lock 7813960851613440123 is held\)' "and says why"
echo >"$HARNESS_DIR/hold"
wait "$holder"
out=$(ctl expire 2>&1)
is "$?" 0 "once the lock is free it runs"

# --- as the application role, not the administrator -----------------------------
# Row-level security binds loyalty, not a superuser: the run sets its role,
# which shows when that role may not call expire_due() (a superuser could).
q 'REVOKE EXECUTE ON FUNCTION expire_due(text) FROM PUBLIC' >/dev/null
out=$(ctl expire --tenant exp-a 2>&1)
is "$?" 1 "expire_due() not executable by loyalty: exit 1"
like "$out" 'expire: exp-a: .*permission denied for function expire_due' "so it runs as loyalty"
q 'GRANT EXECUTE ON FUNCTION expire_due(text) TO PUBLIC' >/dev/null

# --- no database ------------------------------------------------------------------------
stack_pg_stop
out=$(ctl expire 2>&1)
is "$?" 1 "PostgreSQL stopped: exit 1"
like "$out" 'cannot connect to database' "with the reason"

done_testing
