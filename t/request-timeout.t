#!/bin/bash
# server.request_timeout = 2: a request still running after 2 s is ended by
# the master (its worker is killed and replaced), nginx answers the client
# with a problem+json 502/504 long before the handler would have finished,
# and the log names the route and how long it ran. A request under the
# limit is untouched, and an idle worker is never killed: the timeout
# applies to requests only.
. "$(dirname "$0")/lib/harness.sh"
harness_up server.workers=2 server.request_timeout=2

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

metric() {
	stack_curl --max-time 5 "$(stack_url /metrics)" | awk -v k="$1" '$1 == k { print $2 }'
}

# replaced PID: the pool is back to 2 workers and PID is not one of them.
replaced() {
	local pids
	pids=$(worker_pids)
	[ "$(printf '%s\n' "$pids" | grep -c .)" -eq 2 ] &&
		! printf '%s\n' "$pids" | grep -qx "$1"
}

http GET '/_test/sleep?ms=1000'
is "$STATUS" 200 "a 1 s request, under the limit, answers 200"

before=$(worker_pids | sort)
t0=$(now_ms)
http GET '/_test/sleep?ms=10000' --max-time 15
elapsed=$(($(now_ms) - t0))
like "$STATUS" '^50[24]$' "a 10 s request gets 502 or 504 from nginx"
like "$(header Content-Type)" '^application/problem\+json' "as a problem+json document"
like "$(jq_get "$BODY" type)" '^urn:loyalty:problem:(bad-gateway|gateway-timeout)$' "of type bad-gateway or gateway-timeout"
cmp_num "$elapsed" -ge 2000 "not before request_timeout (2 s)"
cmp_num "$elapsed" -lt 5000 "well before the handler would finish (10 s)"

line=$(log_lines request_timeout)
is "$(printf '%s\n' "$line" | grep -c .)" 1 "the master logs one request_timeout"
is "$(jq_get "$line" route)" /_test/sleep "request_timeout names the route"
cmp_num "$(jq_get "$line" elapsed_ms)" -ge 2000 "request_timeout: elapsed_ms >= 2000"
is "$(jq_get "$line" request_timeout_s)" 2 "request_timeout: the configured limit"
is "$(jq_get "$line" level)" error "request_timeout is logged at level error"
victim=$(jq_get "$line" worker_pid)
is "$(printf '%s\n' "$before" | grep -cx "$victim")" 1 "request_timeout names one of the workers"

check "the worker is replaced" wait_for 10 replaced "$victim"
exit_line=$(log_lines worker_exit | grep -F "\"worker_pid\":$victim,")
is "$(jq_get "$exit_line" reason)" timeout "worker_exit: reason timeout"
is "$(jq_get "$exit_line" route)" /_test/sleep "worker_exit: the route"
is "$(metric 'loyalty_worker_restarts_total{reason="timeout"}')" 1 \
	'metrics: loyalty_worker_restarts_total{reason="timeout"} 1'
is "$(metric 'loyalty_worker_restarts_total{reason="crash"}')" 0 \
	"metrics: not counted as a crash"

codes=''
for ((i = 0; i < 10; i++)); do
	http GET /health/live
	codes+="$STATUS "
done
is "$codes" "$(printf '200 %.0s' {1..10})" "the next 10 requests answer 200"

idle=$(worker_pids | sort)
sleep 4
is "$(worker_pids | sort)" "$idle" "idle for 4 s (twice the limit): no worker is killed"
is "$(log_lines request_timeout | grep -c .)" 1 "no further request_timeout"

done_testing
