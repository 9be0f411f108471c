#!/bin/bash
# /metrics counts the whole pool: totals equal the requests sent, whichever
# worker served them, and promtool accepts the exposition.
. "$(dirname "$0")/lib/harness.sh"
harness_up server.workers=3

# metric NAME_AND_LABELS: its value in the current exposition (0 if absent).
metric() {
	local v
	v=$(printf '%s\n' "$METRICS" | grep -v '^#' | grep -F "$1 " | head -n 1 | awk '{print $NF}')
	printf '%s\n' "${v:-0}"
}
scrape() {
	METRICS=$(stack_curl -s "$(stack_url /metrics)")
}

scrape
live0=$(metric 'loyalty_http_requests_total{route="/health/live",method="GET",status="200"}')
count0=$(metric 'loyalty_http_request_duration_seconds_count{route="/health/live"}')
nf0=$(metric 'loyalty_http_requests_total{route="unmatched",method="GET",status="404"}')
q0=$(metric 'loyalty_db_query_duration_seconds_count')

# Six at a time, so several workers share the work. (A bare "wait" would
# also wait for the stack's servers, which are this shell's children too.)
n=60
for ((i = 0; i < n; i += 6)); do
	pids=()
	for ((j = 0; j < 6; j++)); do
		stack_curl -s -o /dev/null "$(stack_url /health/live)" &
		pids+=($!)
	done
	wait "${pids[@]}"
done
for ((i = 0; i < 7; i++)); do
	stack_curl -s -o /dev/null "$(stack_url /nowhere/$i)"
done
for ((i = 0; i < 5; i++)); do
	stack_curl -s -o /dev/null "$(stack_url /health/ready)"
done

scrape
is "$(metric 'loyalty_http_requests_total{route="/health/live",method="GET",status="200"}')" \
	$((live0 + n)) "requests_total for /health/live rose by exactly $n"
is "$(metric 'loyalty_http_request_duration_seconds_count{route="/health/live"}')" \
	$((count0 + n)) "the duration histogram counted $n more"
is "$(metric 'loyalty_http_request_duration_seconds_bucket{route="/health/live",le="+Inf"}')" \
	"$(metric 'loyalty_http_request_duration_seconds_count{route="/health/live"}')" \
	"the +Inf bucket equals the count"
is "$(metric 'loyalty_http_requests_total{route="unmatched",method="GET",status="404"}')" \
	$((nf0 + 7)) "404s are counted under route=\"unmatched\""
cmp_num "$(metric 'loyalty_db_query_duration_seconds_count')" -ge $((q0 + 5)) \
	"each readiness check timed a database query"
is "$(metric 'loyalty_http_requests_in_flight')" 1 "in flight: only the scrape itself"
is "$(metric 'loyalty_workers{state="idle"}')" 2 "workers: 2 idle while one scrapes"
is "$(metric 'loyalty_workers{state="busy"}')" 1 "workers: 1 busy (the scrape)"
is "$(metric 'loyalty_worker_restarts_total{reason="crash"}')" 0 "no restarts"
like "$METRICS" 'loyalty_db_errors_total [0-9]+' "db errors exported"
like "$METRICS" 'loyalty_db_reconnects_total [0-9]+' "db reconnects exported"
like "$METRICS" 'loyalty_ratelimit_evictions_total 0' "rate-limit evictions exported (none yet)"
like "$METRICS" 'loyalty_build_info\{version="[^"]+",commit="[^"]+",schema="[0-9]+"\} 1' \
	"build info exported"

# Requests served by different workers all count: the scoreboard says who.
served=$(stack_curl -s "$(stack_url /status)" | python3 -c '
import json, sys
print(sum(1 for w in json.load(sys.stdin)["workers"] if w["requests"] > 0))')
cmp_num "$served" -ge 2 "more than one worker served requests"

printf '%s\n' "$METRICS" >"$HARNESS_DIR/metrics.txt"
out=$(promtool check metrics <"$HARNESS_DIR/metrics.txt" 2>&1)
is "$?" 0 "promtool check metrics accepts the exposition"
[ -z "$out" ] || diag "$out"

done_testing
