#!/bin/bash
# With server.crash_limit = 3 and server.crash_window = 60, the master
# replaces the first two crashed workers and gives up at the third: it logs
# crash_limit, stops the rest of the pool and exits with a non-zero status,
# so that a supervisor (systemd) sees the failure instead of a crash loop.
. "$(dirname "$0")/lib/harness.sh"
harness_up server.workers=2 server.crash_limit=3 server.crash_window=60

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
	[ -r "/proc/$1/stat" ] && ! grep -qE '^[0-9]+ \(.*\) Z ' "/proc/$1/stat" 2>/dev/null
}

gone() {
	! alive "$1"
}

# replaced PID: the pool is back to 2 workers and PID is not one of them.
replaced() {
	local pids
	pids=$(worker_pids)
	[ "$(printf '%s\n' "$pids" | grep -c .)" -eq 2 ] &&
		! printf '%s\n' "$pids" | grep -qx "$1"
}

master=$(master_pid)

for n in 1 2; do
	victim=$(worker_pids | head -n 1)
	kill -s KILL "$victim"
	check "crash $n of 3: the worker is replaced" wait_for 10 replaced "$victim"
	check "crash $n of 3: the master keeps running" alive "$master"
done

last_pool=$(worker_pids)
victim=$(printf '%s\n' "$last_pool" | head -n 1)
kill -s KILL "$victim"
check "crash 3 of 3: the master exits" wait_for 10 gone "$master"

survivors=''
for pid in $last_pool; do
	alive "$pid" && survivors+="$pid "
done
is "$survivors" '' "no worker outlives the master"

stack_daemon_stop 5
cmp_num "$STACK_DAEMON_STATUS" -ne 0 "the master's exit status is not 0"
cmp_num "$STACK_DAEMON_STATUS" -lt 128 "the master exited by itself, not by a signal"

is "$(log_lines worker_exit | grep -c '"reason":"crash"')" 3 "three worker_exit lines with reason crash"
line=$(log_lines crash_limit)
is "$(printf '%s\n' "$line" | grep -c .)" 1 "the master logs crash_limit once"
is "$(jq_get "$line" level)" error "crash_limit is logged at level error"
like "$(jq_get "$line" msg)" '3 workers crashed within 60 s' "crash_limit names the count and the window"
is "$(jq_get "$(log_lines exit)" msg)" "loyaltyd master exiting with status 1" \
	"the exit event carries the status"

done_testing
