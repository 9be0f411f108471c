#!/bin/bash
# server.max_requests = 5 with no jitter: each worker leaves after exactly
# 5 requests and is replaced, without a single request failing. After 30
# requests through 2 workers none of the original workers is left.
. "$(dirname "$0")/lib/harness.sh"
harness_up server.workers=2 server.max_requests=5 server.max_requests_jitter=0

metric() {
	stack_curl --max-time 5 "$(stack_url /metrics)" | awk -v k="$1" '$1 == k { print $2 }'
}

# all_gone PID...: none of the PIDs is a worker any more, and there are 2.
all_gone() {
	local pids pid
	pids=$(worker_pids)
	[ "$(printf '%s\n' "$pids" | grep -c .)" -eq 2 ] || return 1
	for pid; do
		! printf '%s\n' "$pids" | grep -qx "$pid" || return 1
	done
}

original=$(worker_pids)
is "$(printf '%s\n' "$original" | grep -c .)" 2 "the pool starts with 2 workers"

codes=''
for ((i = 0; i < 30; i++)); do
	http GET /health/live
	codes+="$STATUS "
done
is "$codes" "$(printf '200 %.0s' {1..30})" "30 sequential GET /health/live all answer 200"
# shellcheck disable=SC2086 # one pid per word
check "every original worker pid is gone, 2 workers serve" wait_for 10 all_gone $original

exits=$(log_lines worker_exit | grep -F '"reason":"max_requests"')
cmp_num "$(printf '%s\n' "$exits" | grep -c .)" -ge 4 "at least 4 worker_exit lines with reason max_requests"
is "$(printf '%s\n' "$exits" | grep -vcE '"requests":5[,}]')" 0 "each of them served exactly 5 requests"
is "$(printf '%s\n' "$exits" | grep -vcE '"exit_status":0[,}]')" 0 "each of them exited with status 0"
is "$(printf '%s\n' "$exits" | grep -vc '"level":"info"')" 0 "a recycle is logged at level info"
is "$(log_lines worker_exit | grep -vc '"reason":"max_requests"')" 0 "no worker left for any other reason"

cmp_num "$(metric 'loyalty_worker_restarts_total{reason="max_requests"}')" -ge 4 \
	'metrics: loyalty_worker_restarts_total{reason="max_requests"} >= 4'
is "$(metric 'loyalty_worker_restarts_total{reason="crash"}')" 0 "metrics: no crash"
is "$(grep -vc '"status":200,' "$STACK_LOG_DIR/nginx-access.log")" 0 \
	"nginx's access log shows no status other than 200"

done_testing
