#!/bin/bash
# Rate limits reached and recovered from, with four workers sharing them:
# a burst from one tenant (limits.tenant_rate=1, tenant_burst=3 here) gets
# 429 with Retry-After and a problem document, while another tenant's
# requests at the same moment go through, and the tenant's users and keys
# share one bucket; logins are limited per email (3 per 6 s) and per client
# address (10 per 6 s). After waiting, requests succeed again. Each burst is
# fired in parallel and served by several workers, and what got through
# stays within one shared bucket (per-worker buckets would let in four
# times as much).
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
# nginx's own limits are not under test: only loyaltyd's.
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up server.workers=4 limits.tenant_rate=1 limits.tenant_burst=3 \
	limits.login_per_email=3 limits.login_per_addr=10 limits.login_period_s=6

mk_tenant shop-a >/dev/null && mk_tenant shop-b >/dev/null || exit 1
mk_user shop-a owner@a.example owner 'owner-a-password' >/dev/null || exit 1
mk_user shop-a clerk@a.example viewer 'clerk-a-password' >/dev/null || exit 1
mk_user shop-b owner@b.example owner 'owner-b-password' >/dev/null || exit 1
mk_key shop-a || exit 1
is "$(ps -o pid= --ppid "$STACK_DAEMON_PID" | wc -l)" 4 "four workers"

# raw_login EMAIL PASSWORD: a login without python3 (0.2 s to start) in the way.
raw_login() {
	http POST /v1/auth/login -H 'Content-Type: application/json' \
		--data-binary "{\"email\":\"$1\",\"password\":\"$2\"}"
}
raw_login owner@a.example owner-a-password
T_A=$(jq_get "$BODY" access_token)
raw_login owner@b.example owner-b-password
T_B=$(jq_get "$BODY" access_token)
like "$T_A$T_B" '^ey.*ey' "the owners of A and B log in (logins are not the tenant's)"

# --- parallel bursts ------------------------------------------------------------------
BURST=$HARNESS_DIR/burst
mkdir -p "$BURST"
PIDS=()
# fire TAG CURL_ARGS...: one request in the background; its status, headers
# and body go to $BURST/TAG.{status,hdr,body}.
fire() {
	local tag=$1
	shift
	stack_curl -s -o "$BURST/$tag.body" -D "$BURST/$tag.hdr" -w '%{http_code}\n' \
		"$@" >"$BURST/$tag.status" 2>&1 &
	PIDS+=($!)
}
# landed: waits for the fired requests (by pid: nginx and loyaltyd are jobs
# of this shell too) and sets BURST_S to the seconds since BURST_T0.
landed() {
	local p
	for p in "${PIDS[@]}"; do wait "$p"; done
	PIDS=()
	BURST_S=$(python3 -c 'import sys, time; print(time.time() - float(sys.argv[1]))' "$BURST_T0")
}
# count PREFIX STATUS: how many fired requests PREFIX* answered STATUS.
count() { cat "$BURST/$1"*.status 2>/dev/null | grep -c "^$2\$"; }
# bad_429s PREFIX DETAIL: the 429s of PREFIX* without Retry-After, without a
# problem document, or with another detail.
bad_429s() {
	local f n=0
	for f in "$BURST/$1"*.status; do
		[ "$(cat "$f")" = 429 ] || continue
		f=${f%.status}
		grep -qiE '^retry-after: *[1-9][0-9]*' "$f.hdr" &&
			grep -qi '^content-type: application/problem+json' "$f.hdr" &&
			grep -q "\"status\":429,\"detail\":\"$2" "$f.body" || n=$((n + 1))
	done
	echo "$n"
}
# workers PREFIX: how many worker processes served PREFIX*, by request id.
workers() {
	local ids
	ids=$(cat "$BURST/$1"*.hdr | tr -d '\r' | sed -n 's/^x-request-id: //Ip' | paste -sd'|' -)
	grep -E "\"request_id\":\"($ids)\"" "$STACK_LOG_DIR/loyaltyd.log" |
		grep -o '"pid":[0-9]*' | sort -u | wc -l
}

# --- the tenant's bucket -----------------------------------------------------------------
BURST_T0=$(date +%s.%N)
for i in $(seq 1 12); do
	fire "a-$i" -H "Authorization: Bearer $T_A" "$(stack_url /v1/me)"
	# B's requests go out in the middle of A's burst.
	[ "$i" != 6 ] || fire b-1 -H "Authorization: Bearer $T_B" "$(stack_url /v1/me)"
done
fire b-2 -H "Authorization: Bearer $T_B" "$(stack_url /v1/me)"
landed
ok=$(count a- 200) limited=$(count a- 429)
diag "tenant burst: $ok x 200, $limited x 429 in ${BURST_S:0:5} s"
is "$((ok + limited))" 12 "every request of A's burst got 200 or 429"
cmp_num "$limited" -ge 1 "A's burst of 12 is limited: some 429"
cmp_num "$ok" -ge 3 "the first tenant_burst=3 go through"
max=$(python3 -c 'import sys; print(int(3 + float(sys.argv[1]) * 1 + 1))' "$BURST_S")
cmp_num "$ok" -le "$max" "at most burst + rate * time (+1) got through: one bucket for all workers"
is "$(bad_429s a- "the tenant's request rate is over its limit")" 0 \
	"every 429 has Retry-After and is a problem document"
cmp_num "$(workers a-)" -ge 2 "the burst was served by more than one worker"
is "$(count b- 200)" 2 "B's requests in the middle of A's burst: 200"

# Users and keys of a tenant share its bucket.
python3 -c 'import time; time.sleep(4.2)'	# the bucket fills again (1/s, 3)
for i in 1 2 3; do
	signed "$KEY_ID" "$KEY_SECRET" GET /v1/me
	is "$STATUS" 200 "A's key, request $i of 3: 200"
done
api "$T_A" GET /v1/me
is "$(status_type)" "429 application/problem+json" "A's owner right after: 429, the key used the bucket up"
retry=$(header Retry-After)
like "$retry" '^[1-3]$' "with Retry-After of 1 to 3 s ($retry)"
api "$T_B" GET /v1/me
is "$STATUS" 200 "B at the same moment: 200"
python3 -c 'import sys, time; time.sleep(float(sys.argv[1]) + 0.1)' "$retry"
api "$T_A" GET /v1/me
is "$STATUS" 200 "after Retry-After seconds, A's owner gets 200 again"

# --- logins per email ---------------------------------------------------------------------
for i in 1 2 3; do
	raw_login clerk@a.example "wrong-password-$i"
	is "$STATUS" 401 "clerk: wrong password $i of login_per_email=3: 401"
done
raw_login clerk@a.example clerk-a-password
is "$(status_type)" "429 application/problem+json" "the 4th login for the email, right password: 429"
like "$(jq_get "$BODY" detail)" '^too many login attempts' "saying why"
retry=$(header Retry-After)
like "$retry" '^[1-6]$' "with Retry-After ($retry)"
raw_login owner@a.example owner-a-password
is "$STATUS" 200 "another email from the same address at the same moment: 200"
raw_login CLERK@A.EXAMPLE clerk-a-password
is "$STATUS" 429 "the email in upper case is the same email: 429"
python3 -c 'import sys, time; time.sleep(float(sys.argv[1]) + 0.2)' "$retry"
raw_login clerk@a.example clerk-a-password
is "$STATUS" 200 "after Retry-After seconds the clerk logs in"

# --- logins per address ---------------------------------------------------------------------
python3 -c 'import time; time.sleep(6.2)'	# every login bucket is full again
BURST_T0=$(date +%s.%N)
for i in $(seq 1 20); do
	# Headers that claim another client address change nothing.
	fire "l-$i" -H 'Content-Type: application/json' \
		-H "X-Forwarded-For: 10.0.0.$i" -H "X-Real-IP: 10.0.0.$i" -H "Forwarded: for=10.0.0.$i" \
		--data-binary "{\"email\":\"nobody-$i@a.example\",\"password\":\"guess-$i\"}" \
		"$(stack_url /v1/auth/login)"
done
landed
ok=$(count l- 401) limited=$(count l- 429)
diag "login burst: $ok x 401, $limited x 429 in ${BURST_S:0:5} s"
is "$((ok + limited))" 20 "every login of the burst got 401 or 429"
cmp_num "$limited" -ge 1 "20 logins from one address, each for another email and claiming another address: some 429"
max=$(python3 -c 'import sys; print(int(10 + float(sys.argv[1]) / 0.6 + 1))' "$BURST_S")
cmp_num "$ok" -le "$max" "at most login_per_addr + refill (+1) were tried: one bucket for all workers"
is "$(bad_429s l- "too many login attempts")" 0 "every 429 has Retry-After and is a problem document"
cmp_num "$(workers l-)" -ge 2 "the burst was served by more than one worker"
retry=$(for f in "$BURST"/l-*.hdr; do tr -d '\r' <"$f" | sed -n 's/^retry-after: //Ip'; done | sort -n | tail -n 1)
python3 -c 'import sys, time; time.sleep(float(sys.argv[1]) + 0.2)' "${retry:-1}"
raw_login owner@b.example owner-b-password
is "$STATUS" 200 "after Retry-After seconds, a login from the address works again"

done_testing
