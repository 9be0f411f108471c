#!/bin/bash
# Lots: each earning is a lot with an expiry from the tenant's policy
# (never, N days, the end of the month or year of earning in the tenant's
# zone); spending takes the soonest-expiring points first, whatever order
# the lots were earned in; a lot is spendable until the instant it
# expires and not at it; the balance is always the ledger's sum and the
# lots' remainder.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=10000 limits.tenant_burst=10000

A=$(mk_tenant lots-a) || exit 1
mk_user lots-a op@a.example operator 'operator-a-password' >/dev/null || exit 1
login op@a.example operator-a-password
T=$TOKEN
[ -n "$T" ] || { fail "the operator logs in"; exit 1; }
q() { stack_psql -At -c "$1"; }

# give MEMBER POINTS: an adjustment, whose lot's id is printed.
give() {
	api "$T" POST "/v1/members/$1/adjustments" "{\"points\":$2,\"reason\":\"test\"}"
	[ "$STATUS" = 201 ] || { fail "adjustment of $2" "$STATUS $BODY"; return 1; }
	q "SELECT max(id) FROM lots WHERE tenant_id = '$A' AND member_id = '$1'"
}
# take MEMBER POINTS: a negative adjustment; sets STATUS and BODY.
take() {
	api "$T" POST "/v1/members/$1/adjustments" "{\"points\":-$2,\"reason\":\"spend\"}"
}
remaining() { q "SELECT string_agg(remaining::text, ' ' ORDER BY id) FROM lots WHERE id IN ($1)"; }
balanced() {
	is "$(q "SELECT count(*) FROM members m WHERE m.tenant_id = '$A' AND (
		m.balance <> (SELECT coalesce(sum(points), 0) FROM ledger l
			WHERE l.tenant_id = m.tenant_id AND l.member_id = m.id)
		OR m.balance <> (SELECT coalesce(sum(remaining), 0) FROM lots o
			WHERE o.tenant_id = m.tenant_id AND o.member_id = m.id) - m.debt)")" 0 \
		"$1: every balance is its ledger's sum and its lots' remainder"
}

api "$T" POST /v1/members '{"external_id":"fifo"}'
M=$(jq_get "$BODY" id)
is "$STATUS" 201 "a member"

# --- never: the default policy --------------------------------------------
l0=$(give "$M" 10)
is "$(q "SELECT expires_at IS NULL FROM lots WHERE id = $l0")" t \
	"under the default policy a lot never expires"

# --- N days ----------------------------------------------------------------
q "UPDATE tenants SET expiry_policy = 'days', expiry_days = 30 WHERE id = '$A'" >/dev/null
l1=$(give "$M" 10)
is "$(q "SELECT expires_at - created_at BETWEEN interval '30 days' AND interval '30 days 1 second'
	FROM lots WHERE id = $l1")" t "policy days 30: the lot expires 30 days after it was earned"

# --- end of month and year, in Africa/Harare (UTC+2) -------------------------
q "UPDATE tenants SET expiry_policy = 'end_of_month', expiry_days = NULL WHERE id = '$A'" >/dev/null
l2=$(give "$M" 10)
is "$(q "SELECT expires_at = (date_trunc('month', now() AT TIME ZONE 'Africa/Harare')
	+ interval '1 month') AT TIME ZONE 'Africa/Harare' FROM lots WHERE id = $l2")" t \
	"policy end_of_month: the lot expires at the first instant of next month, Harare time"
is "$(q "SELECT to_char(expires_at AT TIME ZONE 'UTC', 'DD HH24:MI') FROM lots WHERE id = $l2")" \
	"$(q "SELECT to_char(((date_trunc('month', now() AT TIME ZONE 'Africa/Harare')
		+ interval '1 month') - interval '2 hours'), 'DD HH24:MI')")" \
	"which is 22:00 UTC on the last day of this month"
q "UPDATE tenants SET expiry_policy = 'end_of_year' WHERE id = '$A'" >/dev/null
l3=$(give "$M" 10)
like "$(q "SELECT to_char(expires_at AT TIME ZONE 'Africa/Harare', 'MM-DD HH24:MI:SS')
	FROM lots WHERE id = $l3")" '^01-01 00:00:00$' \
	"policy end_of_year: the lot expires at midnight of 1 January, Harare time"
balanced "after four earnings"

# --- FIFO by expiry, not by age ------------------------------------------------
# Earned in the order f1, f2, f3; they expire f2 first, then f3, then f1
# (never). The first lots above are emptied first, so only these count.
api "$T" POST /v1/members '{"external_id":"fifo-2"}'
N=$(jq_get "$BODY" id)
f1=$(give "$N" 100) f2=$(give "$N" 100) f3=$(give "$N" 100)
q "UPDATE lots SET expires_at = NULL WHERE id = $f1;
   UPDATE lots SET expires_at = now() + interval '2 days' WHERE id = $f2;
   UPDATE lots SET expires_at = now() + interval '5 days' WHERE id = $f3" >/dev/null
take "$N" 60
is "$STATUS" 201 "spend 60"
is "$(remaining "$f1,$f2,$f3")" "100 40 100" "taken from the lot that expires soonest, though earned second"
take "$N" 90
is "$(remaining "$f1,$f2,$f3")" "100 0 50" "then the rest of it and on to the next soonest"
take "$N" 100
is "$(remaining "$f1,$f2,$f3")" "50 0 0" "the lot that never expires is spent last"
balanced "after FIFO spending"

# --- the boundary: a lot is spendable before its instant, not at it -------
api "$T" POST /v1/members '{"external_id":"edge"}'
E=$(jq_get "$BODY" id)
e1=$(give "$E" 40) e2=$(give "$E" 60)
q "UPDATE lots SET expires_at = now() + interval '1 hour' WHERE id = $e2" >/dev/null
# e1 reaches its instant: expires_at = now() of the next transaction is past.
q "UPDATE lots SET expires_at = now() WHERE id = $e1" >/dev/null
take "$E" 70
is "$STATUS" 422 "70 cannot be spent: the lot of 40 expired at its instant"
like "$BODY" '"balance":60' "the refusal gives the balance left after the expiry (60)"
is "$(q "SELECT count(*) FROM ledger WHERE member_id = '$E' AND kind = 'expire'")" 0 \
	"a refused spend writes nothing, not even the expiry it found"
take "$E" 60
is "$STATUS" 201 "60 can: the lot that is not due yet"
is "$(q "SELECT string_agg(kind || ' ' || points, ',' ORDER BY id) FROM ledger
	WHERE member_id = '$E' AND kind IN ('expire', 'adjust') AND points < 0")" \
	"expire -40,adjust -60" "the spend wrote the due lot's expiry entry first, in its transaction"
is "$(remaining "$e1,$e2")" "0 0" "both lots are empty"
balanced "after the boundary"

# --- a redemption spends the same way -----------------------------------------
api "$T" POST /v1/members '{"external_id":"redeemer"}'
R=$(jq_get "$BODY" id)
r1=$(give "$R" 30) r2=$(give "$R" 30)
q "UPDATE lots SET expires_at = now() + interval '3 days' WHERE id = $r1;
   UPDATE lots SET expires_at = now() + interval '1 day' WHERE id = $r2" >/dev/null
w=$(q "INSERT INTO rewards (tenant_id, name, cost) VALUES ('$A', 'Tea', 40) RETURNING id")
api "$T" POST "/v1/members/$R/redemptions" "{\"reward_id\":\"$w\"}"
is "$STATUS" 201 "a redemption of 40"
is "$(remaining "$r1,$r2")" "20 0" "it took the soonest lot whole, then 10 of the other"
balanced "after the redemption"

done_testing
