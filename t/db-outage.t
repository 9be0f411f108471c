#!/bin/bash
# PostgreSQL goes away and comes back. Meanwhile readiness and the routes
# that need the database answer 503 problem+json with Retry-After, liveness
# stays 200, and no process crashes. Once PostgreSQL is back, the workers
# reconnect by themselves (nobody touches loyaltyd) within 5 s.
. "$(dirname "$0")/lib/harness.sh"
harness_up server.workers=2

metric() {
	stack_curl --max-time 5 "$(stack_url /metrics)" | awk -v k="$1" '$1 == k { print $2 }'
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

master=$(master_pid)
workers=$(worker_pids | sort)
http GET /health/ready
is "$STATUS" 200 "GET /health/ready answers 200 with the database up"

stack_pg_stop

# Several requests each, so that both workers meet the outage.
ready='' db='' live='' retry_ready='' retry_db='' types=''
for ((i = 0; i < 4; i++)); do
	http GET /health/ready
	ready+="$STATUS "
	[[ $(header Retry-After) =~ ^[1-9][0-9]*$ ]] || retry_ready+="[$(header Retry-After)] "
	if [ "$i" -eq 0 ]; then
		ready_body=$BODY
		ready_type=$(header Content-Type)
	fi
	http GET /_test/db
	db+="$STATUS "
	[[ $(header Retry-After) =~ ^[1-9][0-9]*$ ]] || retry_db+="[$(header Retry-After)] "
	[[ $(header Content-Type) == application/problem+json* ]] || types+="[$(header Content-Type)] "
	[ "$(jq_get "$BODY" type)" = urn:loyalty:problem:database-unavailable ] ||
		slugs+="[$(jq_get "$BODY" type)] "
	http GET /health/live
	live+="$STATUS "
done
is "$ready" "503 503 503 503 " "database down: GET /health/ready answers 503 (4 times)"
is "$retry_ready" '' "/health/ready: every 503 has a Retry-After of whole seconds"
like "$ready_type" '^application/problem\+json' "/health/ready: a problem+json document"
like "$(jq_get "$ready_body" detail)" 'database' "/health/ready: the detail names the database check"
is "$(jq_get "$ready_body" checks.0.name)" database "/health/ready: first check is the database"
is "$(jq_get "$ready_body" checks.0.status)" fail "/health/ready: database check fails"
is "$db" "503 503 503 503 " "database down: GET /_test/db answers 503 (4 times)"
is "$retry_db" '' "/_test/db: every 503 has a Retry-After of whole seconds"
is "$types" '' "/_test/db: every 503 is a problem+json document"
is "${slugs:-}" '' "/_test/db: every 503 is of type database-unavailable"
is "$live" "200 200 200 200 " "database down: GET /health/live still answers 200"

# 3 s more of outage under steady traffic: the workers' reconnect back-off
# grows to its maximum (database.reconnect_max_ms, 2 s) before the return.
t0=$(now_ms)
codes=''
while [ $(($(now_ms) - t0)) -lt 3000 ]; do
	codes+=$(stack_curl -o /dev/null -w '%{http_code} ' --max-time 5 "$(stack_url /_test/db)")
	sleep 0.1
done
like "$codes" '^(503 )+$' "3 s of GET /_test/db during the outage: every one 503"

is "$(master_pid)" "$master" "the master is the same process"
is "$(worker_pids | sort)" "$workers" "the workers are the same processes (none crashed)"
is "$(log_lines worker_exit | grep -c .)" 0 "no worker_exit logged"

stack_pg_start
t0=$(now_ms)
code=''
while [ $(($(now_ms) - t0)) -lt 10000 ]; do
	code=$(stack_curl -o /dev/null -w '%{http_code}' --max-time 5 "$(stack_url /health/ready)")
	[ "$code" = 200 ] && break
	sleep 0.1
done
elapsed=$(($(now_ms) - t0))
is "$code" 200 "database back: GET /health/ready answers 200 again"
cmp_num "$elapsed" -le 5000 "within 5 s of PostgreSQL's start, without touching loyaltyd"
# Each worker reconnects on its own back-off (at most 2 s): within the same
# 5 s, GET /_test/db answers 200 six times in a row.
streak=0
while [ "$streak" -lt 6 ] && [ $(($(now_ms) - t0)) -lt 5000 ]; do
	code=$(stack_curl -o /dev/null -w '%{http_code}' --max-time 5 "$(stack_url /_test/db)")
	if [ "$code" = 200 ]; then streak=$((streak + 1)); else streak=0; sleep 0.1; fi
done
is "$streak" 6 "database back: within 5 s, GET /_test/db answers 200 six times in a row"
is "$(master_pid)" "$master" "the master is still the same process"
is "$(worker_pids | sort)" "$workers" "the workers are still the same processes"

log=$STACK_LOG_DIR/loyaltyd.log
lost_at=$(grep -nE '"event":"(db_lost|db_connect_failed)"' "$log" | cut -d: -f1 | head -n 1)
back_at=$(grep -n '"event":"db_reconnected"' "$log" | cut -d: -f1 | tail -n 1)
like "$lost_at" '^[0-9]+$' "the log has db_lost or db_connect_failed"
like "$back_at" '^[0-9]+$' "the log has db_reconnected"
cmp_num "${back_at:-0}" -gt "${lost_at:-999999}" "db_reconnected comes after the loss"
is "$(grep -E '"event":"db_(lost|connect_failed)"' "$log" | grep -vc '"level":"warn"')" 0 \
	"the loss is logged at level warn"
cmp_num "$(metric loyalty_db_reconnects_total)" -ge 1 "metrics: loyalty_db_reconnects_total >= 1"

done_testing
