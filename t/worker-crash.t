#!/bin/bash
# A worker killed (SIGKILL) in the middle of a request is replaced at once:
# the master logs which worker died, by which signal and on which route,
# counts the restart as a crash, and the service keeps answering.
. "$(dirname "$0")/lib/harness.sh"
harness_up server.workers=2

# sleeping_worker: the pid /status shows busy on /_test/sleep.
sleeping_worker() {
	local out
	out=$(stack_curl --max-time 5 "$(stack_url /status)") || return 1
	python3 -c '
import json, sys
for w in json.loads(sys.argv[1])["workers"]:
    if w.get("state") == "busy" and w.get("route") == "/_test/sleep":
        print(w["pid"])
        sys.exit(0)
sys.exit(1)' "$out"
}

# metric NAME{LABELS}: its value on /metrics.
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

master=$(master_pid)
before=$(worker_pids | sort)
is "$(printf '%s\n' "$before" | grep -c .)" 2 "the pool starts with server.workers = 2 workers"

# A request that holds one worker for 8 s; curl gives up after 15 s.
stack_curl -s -o "$HARNESS_DIR/slow.body" -w '%{http_code}' --max-time 15 \
	"$(stack_url '/_test/sleep?ms=8000')" >"$HARNESS_DIR/slow.code" 2>/dev/null &
slow_curl=$!

victim=''
for ((i = 0; i < 50; i++)); do
	victim=$(sleeping_worker) && break
	sleep 0.1
done
like "$victim" '^[0-9]+$' "/status shows a worker busy on /_test/sleep"
is "$(printf '%s\n' "$before" | grep -cx "$victim")" 1 \
	"that worker is one of the master's children (worker_pids)"

kill -s KILL "$victim"

wait "$slow_curl"
is "$(cat "$HARNESS_DIR/slow.code")" 502 "the request cut off by the crash gets 502 from nginx"
like "$(cat "$HARNESS_DIR/slow.body")" '"type":"urn:loyalty:problem:bad-gateway"' \
	"as nginx's problem+json bad-gateway document"

check "the pool replaces the killed worker (2 workers, the killed pid not among them)" \
	wait_for 10 replaced "$victim"
after=$(worker_pids | sort)
is "$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep -c .)" 1 \
	"exactly one new worker pid appears"
is "$(master_pid)" "$master" "the master is the same process"

line=$(log_lines worker_exit | grep -F "\"worker_pid\":$victim,")
is "$(printf '%s\n' "$line" | grep -c .)" 1 "one worker_exit line for the killed pid"
is "$(jq_get "$line" signal)" 9 "worker_exit: signal 9"
is "$(jq_get "$line" signal_name)" KILL "worker_exit: signal_name KILL"
is "$(jq_get "$line" reason)" crash "worker_exit: reason crash"
is "$(jq_get "$line" route)" /_test/sleep "worker_exit: the route it was serving"
is "$(jq_get "$line" level)" error "worker_exit of a crash is logged at level error"
is "$(jq_get "$line" process)" master "worker_exit is logged by the master"

codes=''
for ((i = 0; i < 20; i++)); do
	http GET /health/live
	codes+="$STATUS "
done
is "$codes" "$(printf '200 %.0s' {1..20})" "20 sequential GET /health/live all answer 200"

is "$(metric 'loyalty_worker_restarts_total{reason="crash"}')" 1 \
	"metrics: loyalty_worker_restarts_total{reason=\"crash\"} 1"
is "$(metric 'loyalty_worker_restarts_total{reason="timeout"}')" 0 \
	"metrics: the crash is not counted as a timeout"

done_testing
